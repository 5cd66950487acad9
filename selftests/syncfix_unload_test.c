// SPDX-License-Identifier: GPL-2.0
/* Description: syncfix.ko cannot be unloaded while /dev/syncfix is open, even with a waiter in it, and unloads after close, 100 times */
#include <pthread.h>

#include "kselftest_harness.h"
#include "syncfix_util.h"

#define CYCLES		100

static int try_unload_once(void)
{
	return syscall(SYS_delete_module, "syncfix", O_NONBLOCK) ? -errno : 0;
}

static volatile uint32_t word;
static int wfd;

static void *waiter(void *arg)
{
	return (void *)(long)dev_wait(wfd, &word, 0, 0, 0, 0, 0);
}

TEST(unload_refused_while_open)
{
	pthread_t t;
	void *ret;
	int i, fd, err;

	if (access(syncfix_ko(), R_OK))
		SKIP(return, "%s: %s (set SYNCFIX_KO)", syncfix_ko(),
		     strerror(errno));
	if (!module_loaded())
		ASSERT_EQ(0, module_load(""));

	for (i = 0; i < CYCLES; i++) {
		fd = dev_open();
		ASSERT_LE(0, fd) {
			TH_LOG("cycle %d: open: %s", i, strerror(-fd));
		}
		if (i == 0) {
			/* A task asleep in the device pins it too. */
			word = 0;
			wfd = dup(fd);
			ASSERT_EQ(0, pthread_create(&t, NULL, waiter, NULL));
			ASSERT_TRUE(waiters_reach(1));
			close(fd);
			err = try_unload_once();
			EXPECT_TRUE(err == -EWOULDBLOCK || err == -EBUSY) {
				TH_LOG("unload with a waiter: %s", strerror(-err));
			}
			ASSERT_TRUE(module_loaded());
			word = 1;
			EXPECT_EQ(1, dev_wake(wfd, &word, 1, 0));
			pthread_join(t, &ret);
			EXPECT_EQ(0, (long)ret);
			fd = wfd;
		}
		err = try_unload_once();
		ASSERT_TRUE(err == -EWOULDBLOCK || err == -EBUSY) {
			TH_LOG("cycle %d: unload while open: %s", i,
			       err ? strerror(-err) : "succeeded");
		}
		ASSERT_TRUE(module_loaded());
		ASSERT_TRUE(path_exists(SYNCFIX_DEV));
		close(fd);
		ASSERT_EQ(0, module_unload()) {
			TH_LOG("cycle %d: unload after close failed", i);
		}
		ASSERT_FALSE(path_exists(SYNCFIX_DEV));
		ASSERT_EQ(0, module_load(""));
		ASSERT_TRUE(path_exists(SYNCFIX_DEV));
	}
}

/* Whatever happened, leave the module loaded (in its default "auto" mode). */
static void __attribute__((destructor)) leave_loaded(void)
{
	if (!module_loaded() && !access(syncfix_ko(), R_OK))
		module_load("");
}

TEST_HARNESS_MAIN
