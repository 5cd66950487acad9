// SPDX-License-Identifier: GPL-2.0
/* Description: every file and the device of syncfix.ko are read and opened on one CPU while the other CPU loads and unloads the module hundreds of times, preempted at random points: no entry point is reachable before what it reads exists */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "syncfix_util.h"

/*
 * The module's init creates its entry points in dependency order
 * (kmod/main.c).  A module that made a file reachable before the state it
 * reads is set up (/proc/syncfix/waiters before the wait queue's buckets,
 * say) crashes a reader that comes in between; the window is a few
 * microseconds wide.  To land in it, the loader runs on CPU 1 next to a
 * SCHED_FIFO thread that wakes at random times and keeps the CPU for a
 * random while (with full preemption, which the VM boots with, it
 * preempts the loader at any point of init), while readers on CPU 0
 * keep opening every file and the device.  Whenever the loader stops
 * inside a window, a reader is there.
 */
#define CYCLES		300
#define LOADER_CPU	1
#define READER_CPU	0

static const char * const files[] = {
	SYNCFIX_STATUS, SYNCFIX_WAITERS,
	SYNCFIX_SYSFS "/errata", SYNCFIX_SYSFS "/cpu",
	SYNCFIX_SYSFS "/hotpatch", SYNCFIX_SYSFS "/mitigation",
	SYNCFIX_SYSFS "/version",
};

static atomic_bool stop;
static atomic_long reads_ok, opens_ok, ioctls_ok, bad;

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static unsigned int rnd(unsigned int *seed, unsigned int max)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 8) % max;
}

/* Every file, in a loop: absent or readable, nothing else. */
static void *file_reader(void *arg)
{
	char buf[16384];
	unsigned int i = 0;
	int r;

	pin(READER_CPU);
	while (!atomic_load(&stop)) {
		const char *f = files[i++ % ARRAY_SIZE(files)];

		r = read_file(f, buf, sizeof(buf));
		if (r > 0) {
			atomic_fetch_add(&reads_ok, 1);
			if (!strcmp(f, SYNCFIX_WAITERS) && strncmp(buf, "pid ", 4))
				atomic_fetch_add(&bad, 1);
		} else if (r != -ENOENT && r != -ENODEV && r != -EIO && r != 0) {
			/* EIO: read of a proc file whose entry is being removed. */
			atomic_fetch_add(&bad, 1);
		}
		if (!strcmp(f, SYNCFIX_SYSFS "/mitigation") && !(i & 63))
			/* A write, the one entry point that switches things. */
			write_str(f, "auto\n");
	}
	return NULL;
}

/* The device, in a loop: open, GET_INFO, a WAIT that returns, a WAKE. */
static void *dev_opener(void *arg)
{
	static volatile uint32_t word = 1;
	struct syncfix_info info;
	int fd;

	pin(READER_CPU);
	while (!atomic_load(&stop)) {
		fd = dev_open();
		if (fd < 0) {
			if (fd != -ENOENT && fd != -ENODEV && fd != -ENXIO)
				atomic_fetch_add(&bad, 1);
			continue;
		}
		atomic_fetch_add(&opens_ok, 1);
		if (!ioctl(fd, SYNCFIX_IOC_GET_INFO, &info) &&
		    info.abi_version == SYNCFIX_ABI_VERSION &&
		    dev_wait(fd, &word, 0, 0, 0, 0, 0) == -EAGAIN &&
		    dev_wake(fd, &word, 1, 0) == 0)
			atomic_fetch_add(&ioctls_ok, 1);
		else
			atomic_fetch_add(&bad, 1);
		close(fd);
	}
	return NULL;
}

/* The loader's CPU, taken away at random points for random times. */
static void *preempter(void *arg)
{
	struct sched_param sp = { .sched_priority = 50 };
	unsigned int seed = 0x5eed;
	int *ok = arg;

	pin(LOADER_CPU);
	*ok = !pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	while (!atomic_load(&stop)) {
		struct timespec ts = { 0, 20000 + rnd(&seed, 400000) };
		int64_t until;

		nanosleep(&ts, NULL);
		until = mono_ns() + 20000 + rnd(&seed, 1000000);
		while (mono_ns() < until)
			;
	}
	return NULL;
}

FIXTURE(reload) {
};

FIXTURE_SETUP(reload)
{
}

FIXTURE_TEARDOWN(reload)
{
}

/* Slow under TCG, slower on the debug kernel: far above the default 30 s. */
TEST_F_TIMEOUT(reload, load_unload_race, 600)
{
	pthread_t readers[2], hog;
	int i, err, hog_fifo = 0, loads = 0;
	int64_t t0 = mono_ns();

	if (access(syncfix_ko(), R_OK))
		SKIP(return, "%s: %s (set SYNCFIX_KO)", syncfix_ko(),
		     strerror(errno));
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	if (module_loaded())
		ASSERT_EQ(0, module_unload());
	ASSERT_EQ(0, pin(LOADER_CPU));

	ASSERT_EQ(0, pthread_create(&hog, NULL, preempter, &hog_fifo));
	ASSERT_EQ(0, pthread_create(&readers[0], NULL, file_reader, NULL));
	ASSERT_EQ(0, pthread_create(&readers[1], NULL, dev_opener, NULL));

	for (i = 0; i < CYCLES; i++) {
		err = module_load("");
		if (err) {
			TH_LOG("cycle %d: load: %s", i, strerror(-err));
			break;
		}
		loads++;
		err = module_unload();
		if (err) {
			TH_LOG("cycle %d: unload: %s", i, strerror(-err));
			break;
		}
	}
	atomic_store(&stop, true);
	pthread_join(readers[0], NULL);
	pthread_join(readers[1], NULL);
	pthread_join(hog, NULL);

	TH_LOG("%d load/unload cycles in %lld ms (preempter %s): %ld reads, %ld opens, %ld ioctl rounds",
	       loads, (long long)(mono_ns() - t0) / 1000000,
	       hog_fifo ? "SCHED_FIFO" : "SCHED_OTHER",
	       atomic_load(&reads_ok), atomic_load(&opens_ok),
	       atomic_load(&ioctls_ok));
	EXPECT_EQ(CYCLES, loads);
	EXPECT_TRUE(hog_fifo);
	EXPECT_EQ(0, atomic_load(&bad));
	/* The readers met the module loaded, so the race was run. */
	EXPECT_LT(0, atomic_load(&reads_ok));
	EXPECT_LT(0, atomic_load(&ioctls_ok));
}

/* Whatever happened, leave the module loaded (in its default "auto" mode). */
static void __attribute__((destructor)) leave_loaded(void)
{
	if (!module_loaded() && !access(syncfix_ko(), R_OK))
		module_load("");
}

TEST_HARNESS_MAIN
