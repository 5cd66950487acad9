// SPDX-License-Identifier: GPL-2.0
/* Description: /proc/syncfix/waiters lists every blocked waiter with its tag, no kernel pointers, and only a reader's own waiters unless root */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "syncfix_util.h"

#define NOBODY		65534
#define OTHER		65533

struct line {
	int pid, tid;
	char comm[32];
	unsigned long long addr;
	unsigned int expected;
	char tag[32];
	unsigned int bitset;
	double waited_ms;
};

/* Find the line of thread tid; returns 1 if found, 0 if not, -errno. */
static int find_waiter(const char *buf, int tid, struct line *l)
{
	const char *p;

	for (p = strchr(buf, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
		if (sscanf(p + 1, "%d %d %31s 0x%llx %u %31s 0x%x %lf", &l->pid,
			   &l->tid, l->comm, &l->addr, &l->expected, l->tag,
			   &l->bitset, &l->waited_ms) != 8)
			return -EINVAL;
		if (l->tid == tid)
			return 1;
	}
	return 0;
}

static int count_lines(const char *buf)
{
	int n = 0;

	for (; *buf; buf++)
		n += *buf == '\n';
	return n;
}

/* A process that waits forever on a word of its own, as user uid. */
static pid_t spawn_waiter(uid_t uid, uint32_t tag, uint32_t val)
{
	pid_t pid = fork();

	if (!pid) {
		static uint32_t word;
		int fd;

		word = val;
		if (uid && setresuid(uid, uid, uid))
			_exit(10);
		fd = dev_open();
		if (fd < 0)
			_exit(11);
		dev_wait(fd, &word, val, 0, tag, 0, 0);
		_exit(12);
	}
	return pid;
}

/* Read the waiters file as user uid; returns the number of lines. */
static int read_as(uid_t uid, char *buf, size_t size)
{
	int pipefd[2], st, n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(pipefd))
		return -errno;
	pid = fork();
	if (!pid) {
		int len;

		close(pipefd[0]);
		if (uid && setresuid(uid, uid, uid))
			_exit(1);
		len = read_file(SYNCFIX_WAITERS, buf, size);
		if (len < 0 || write(pipefd[1], buf, len) != len)
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	while ((size_t)n + 1 < size &&
	       (r = read(pipefd[0], buf + n, size - 1 - n)) > 0)
		n += r;
	buf[n] = '\0';
	close(pipefd[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -EIO;
}

static int fd;

static struct {
	volatile uint32_t word;
	uint32_t tag;
	int tid;
} tw;

static void *tag_waiter(void *arg)
{
	tw.tid = gettid();
	dev_wait(fd, &tw.word, 7, 0x4, tw.tag, 0, 0);
	return NULL;
}

TEST(lists_waiter_with_tag)
{
	static const char * const names[] = {
		"user", "mutex", "rwlock-read", "rwlock-write",
	};
	long long base = status_counter("waiters");
	char buf[65536];
	struct line l;
	pthread_t t;
	uint32_t tag;
	struct stat st;

	ASSERT_EQ(0, stat(SYNCFIX_WAITERS, &st));
	EXPECT_EQ((unsigned int)(S_IFREG | 0444), st.st_mode & (S_IFMT | 07777));
	fd = dev_open();
	ASSERT_LE(0, fd);
	for (tag = 0; tag <= SYNCFIX_TAG_MAX; tag++) {
		tw.word = 7;
		tw.tag = tag;
		ASSERT_EQ(0, pthread_create(&t, NULL, tag_waiter, NULL));
		ASSERT_TRUE(waiters_reach(base + 1));
		usleep(tag == SYNCFIX_TAG_RWLOCK_READ ? 200000 : 0);
		ASSERT_LE(0, read_file(SYNCFIX_WAITERS, buf, sizeof(buf)));
		EXPECT_EQ(0, strncmp(buf, "pid ", 4));
		ASSERT_EQ(1, find_waiter(buf, tw.tid, &l)) {
			TH_LOG("tid %d not in:\n%s", tw.tid, buf);
		}
		EXPECT_EQ(getpid(), l.pid);
		EXPECT_EQ((uintptr_t)&tw.word, l.addr);
		EXPECT_EQ(7U, l.expected);
		EXPECT_STREQ(names[tag], l.tag);
		EXPECT_EQ(0x4U, l.bitset);
		EXPECT_STREQ("syncfix_waiters", l.comm);
		if (tag == SYNCFIX_TAG_RWLOCK_READ)
			EXPECT_LE(200.0, l.waited_ms);
		/* User addresses only: nothing in the kernel half. */
		EXPECT_EQ(NULL, strstr(buf, "0xffff"));
		tw.word = 8;
		EXPECT_EQ(1, dev_wake(fd, &tw.word, 1, 0));
		pthread_join(t, NULL);
		ASSERT_TRUE(waiters_drop(base));
		ASSERT_LE(0, read_file(SYNCFIX_WAITERS, buf, sizeof(buf)));
		EXPECT_EQ(0, find_waiter(buf, tw.tid, &l));
	}
	close(fd);
}

/* Root sees every waiter, a user only the waiters of its own uid. */
TEST(uid_filter)
{
	long long base = status_counter("waiters");
	char buf[65536];
	struct line l;
	pid_t root_w, user_w;
	int st;

	if (getuid())
		SKIP(return, "needs root to switch users");
	root_w = spawn_waiter(0, SYNCFIX_TAG_MUTEX, 1);
	ASSERT_LT(0, root_w);
	user_w = spawn_waiter(NOBODY, SYNCFIX_TAG_RWLOCK_WRITE, 2);
	ASSERT_LT(0, user_w);
	ASSERT_TRUE(waiters_reach(base + 2));

	ASSERT_EQ(0, read_as(0, buf, sizeof(buf)));
	EXPECT_EQ(1, find_waiter(buf, root_w, &l));
	EXPECT_STREQ("mutex", l.tag);
	EXPECT_EQ(1, find_waiter(buf, user_w, &l));
	EXPECT_STREQ("rwlock-write", l.tag);

	ASSERT_EQ(0, read_as(NOBODY, buf, sizeof(buf)));
	EXPECT_EQ(0, find_waiter(buf, root_w, &l)) {
		TH_LOG("nobody sees root's waiter:\n%s", buf);
	}
	EXPECT_EQ(1, find_waiter(buf, user_w, &l));
	EXPECT_EQ(2U, l.expected);

	ASSERT_EQ(0, read_as(OTHER, buf, sizeof(buf)));
	EXPECT_EQ(0, find_waiter(buf, root_w, &l));
	EXPECT_EQ(0, find_waiter(buf, user_w, &l));
	EXPECT_EQ(1, count_lines(buf)) {
		TH_LOG("uid %d sees lines:\n%s", OTHER, buf);
	}

	kill(root_w, SIGKILL);
	kill(user_w, SIGKILL);
	waitpid(root_w, &st, 0);
	waitpid(user_w, &st, 0);
	EXPECT_TRUE(waiters_drop(base));
}

TEST_HARNESS_MAIN
