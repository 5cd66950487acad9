// SPDX-License-Identifier: GPL-2.0
/* Description: /dev/syncfix WAIT and WAKE semantics: pairs, -EAGAIN, timeouts, signals, counts, bitsets, buckets, order, exit, isolation between address spaces (over shared buckets), CLONE_VM, counters; ANNOUNCE/RETRACT of waits made elsewhere: fields, listing, owners in other processes, release, exited threads */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "syncfix_util.h"

#define MS		1000000LL
#define MANY		64

struct waiter {
	int fd;
	volatile uint32_t *addr;
	uint32_t val;
	uint32_t bitset;
	uint32_t tag;
	uint32_t flags;
	int64_t timeout;
	int ret;			/* result of dev_wait() */
	int order;			/* position among the returns */
	pid_t tid;
	atomic_bool done;
	pthread_t thread;
};

static atomic_int returns;

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->tid = gettid();
	w->ret = dev_wait(w->fd, w->addr, w->val, w->bitset, w->tag, w->flags,
			  w->timeout);
	w->order = atomic_fetch_add(&returns, 1);
	atomic_store(&w->done, true);
	return NULL;
}

static void start(struct waiter *w, int fd, volatile uint32_t *addr,
		  uint32_t val, uint32_t bitset)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->addr = addr;
	w->val = val;
	w->bitset = bitset;
	pthread_create(&w->thread, NULL, waiter_main, w);
}

static void noop_handler(int sig)
{
}

FIXTURE(dev) {
	int fd;
	long long base;		/* "waiters" counter at the start */
};

FIXTURE_SETUP(dev)
{
	self->fd = dev_open();
	ASSERT_LE(0, self->fd) {
		TH_LOG("%s: %s (is the module loaded?)", SYNCFIX_DEV,
		       strerror(-self->fd));
	}
	self->base = status_counter("waiters");
	ASSERT_LE(0, self->base);
	atomic_store(&returns, 0);
}

FIXTURE_TEARDOWN(dev)
{
	/* No test leaves a waiter behind. */
	EXPECT_TRUE(waiters_drop(self->base));
	close(self->fd);
}

TEST_F(dev, get_info)
{
	struct syncfix_info info;
	char buf[256];
	unsigned int i;

	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, SYNCFIX_IOC_GET_INFO, &info));
	EXPECT_EQ(SYNCFIX_ABI_VERSION, (int)info.abi_version);
	EXPECT_LT(0U, info.nr_buckets);
	EXPECT_EQ(0U, info.nr_buckets & (info.nr_buckets - 1));
	EXPECT_TRUE(!!(info.features & SYNCFIX_FEAT_WAIT_WAKE));
	EXPECT_TRUE(!!(info.features & SYNCFIX_FEAT_BITSET));
	EXPECT_TRUE(!!(info.features & SYNCFIX_FEAT_TIMEOUT));
	EXPECT_TRUE(!!(info.features & SYNCFIX_FEAT_OWNER));
	EXPECT_EQ(0U, info.pad);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0U, info.reserved[i]);
	EXPECT_EQ(0U, info.relevant & ~info.errata);
	ASSERT_EQ(0, sysfs_read("mitigation", buf, sizeof(buf)));
	EXPECT_STREQ(buf, info.mitigation == SYNCFIX_MITIGATION_AUTO ? "auto" :
		     info.mitigation == SYNCFIX_MITIGATION_ON ? "on" : "off");
	EXPECT_EQ(hotpatch_patched(), !!(info.state & SYNCFIX_STATE_PATCHED));
	/* struct sizes are 8-byte multiples and fixed. */
	EXPECT_EQ(80U, sizeof(struct syncfix_info));
	EXPECT_EQ(48U, sizeof(struct syncfix_wait));
	EXPECT_EQ(40U, sizeof(struct syncfix_wake));
}

TEST_F(dev, eagain_on_changed_value)
{
	uint32_t word = 5;
	long long before = status_counter("eagain");

	EXPECT_EQ(-EAGAIN, dev_wait(self->fd, &word, 4, 0, 0, 0, 0));
	EXPECT_EQ(-EAGAIN, dev_wait(self->fd, &word, 6, 0, 0,
				    SYNCFIX_WAIT_TIMEOUT, 1000 * MS));
	EXPECT_EQ(before + 2, status_counter("eagain"));
}

/* A WAIT with owner fields; -EAGAIN when they are valid (word is 5). */
static int wait_owner(int fd, uint32_t flags, uint64_t owner, uint64_t self,
		      uint32_t tag)
{
	uint32_t word = 5;
	struct syncfix_wait w = {
		.addr = (uintptr_t)&word, .val = 4, .flags = flags, .tag = tag,
		.owner = owner, .self = self,
	};

	return ioctl(fd, SYNCFIX_IOC_WAIT, &w) ? -errno : 0;
}

/* Every owner field checked: at most one kind, each in its range. */
TEST_F(dev, owner_fields)
{
	static const struct {
		uint32_t flags;
		uint64_t owner, self;
		uint32_t tag;
		int want;
	} c[] = {
		{ 0, 0, 0, SYNCFIX_TAG_LOCKTHREAD_HELD, -EAGAIN },
		{ 0, 0, 0, SYNCFIX_TAG_MAX + 1, -EINVAL },
		{ 0, 1, 0, 0, -EINVAL },		/* owner without a kind */
		{ 0, 0, 1, 0, -EINVAL },		/* self without an id */
		{ SYNCFIX_WAIT_OWNER_TID, 1, 0, 0, -EAGAIN },
		{ SYNCFIX_WAIT_OWNER_TID, INT_MAX, 0, 0, -EAGAIN },
		{ SYNCFIX_WAIT_OWNER_TID, 0, 0, 0, -EINVAL },
		{ SYNCFIX_WAIT_OWNER_TID, (uint64_t)INT_MAX + 1, 0, 0, -EINVAL },
		{ SYNCFIX_WAIT_OWNER_TID, ~0ULL, 0, 0, -EINVAL },
		{ SYNCFIX_WAIT_OWNER_TID, 1, 1, 0, -EINVAL },
		{ SYNCFIX_WAIT_OWNER_READERS, 0, 0, 0, -EAGAIN },
		{ SYNCFIX_WAIT_OWNER_READERS, UINT32_MAX, 0, 0, -EAGAIN },
		{ SYNCFIX_WAIT_OWNER_READERS, (uint64_t)UINT32_MAX + 1, 0, 0,
		  -EINVAL },
		{ SYNCFIX_WAIT_OWNER_ID, 0, 0, SYNCFIX_TAG_LOCKMGR, -EAGAIN },
		{ SYNCFIX_WAIT_OWNER_ID, ~0ULL, ~0ULL, SYNCFIX_TAG_LOCKMGR,
		  -EAGAIN },
		{ SYNCFIX_WAIT_OWNER_LOCK, 8, 0, SYNCFIX_TAG_COND, -EAGAIN },
		{ SYNCFIX_WAIT_OWNER_LOCK, 0, 0, SYNCFIX_TAG_COND, -EINVAL },
		{ SYNCFIX_WAIT_OWNER_LOCK, 6, 0, SYNCFIX_TAG_COND, -EINVAL },
		{ SYNCFIX_WAIT_OWNER_LOCK, 8, 1, SYNCFIX_TAG_COND, -EINVAL },
		{ SYNCFIX_WAIT_OWNER_TID | SYNCFIX_WAIT_OWNER_READERS, 1, 0, 0,
		  -EINVAL },
		{ SYNCFIX_WAIT_OWNER_ID | SYNCFIX_WAIT_OWNER_LOCK, 8, 0, 0,
		  -EINVAL },
		{ SYNCFIX_WAIT_OWNER_MASK, 8, 0, 0, -EINVAL },
		{ SYNCFIX_WAIT_OWNER_LOCK << 1, 0, 0, 0, -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++)
		EXPECT_EQ(c[i].want, wait_owner(self->fd, c[i].flags,
						c[i].owner, c[i].self,
						c[i].tag)) {
			TH_LOG("case %u: flags 0x%x owner %llu self %llu tag %u",
			       i, c[i].flags, (unsigned long long)c[i].owner,
			       (unsigned long long)c[i].self, c[i].tag);
		}
}

/* Thread @tid's owner and self columns in /proc/syncfix/waiters. */
static bool owner_of(pid_t tid, char *owner, char *selfcol)
{
	struct waiter_line l;

	if (!waiter_line(tid, &l))
		return false;
	strcpy(owner, l.owner);
	strcpy(selfcol, l.self);
	return true;
}

struct owned {
	int fd;
	uint32_t word, flags;
	uint64_t owner, self;
	pid_t tid;
	int ret;
};

static void *owned_main(void *arg)
{
	struct owned *o = arg;
	struct syncfix_wait w = {
		.addr = (uintptr_t)&o->word, .val = 0, .flags = o->flags,
		.tag = SYNCFIX_TAG_MUTEX, .owner = o->owner, .self = o->self,
	};

	__atomic_store_n(&o->tid, gettid(), __ATOMIC_SEQ_CST);
	o->ret = ioctl(o->fd, SYNCFIX_IOC_WAIT, &w) ? -errno : 0;
	return NULL;
}

/*
 * What the owner column shows: a live thread of the waiter's process by
 * its tid; a thread id of another process, or of no thread, as exited
 * (the owner of a private lock is always in the waiter's address space);
 * readers, ids, a lock.
 */
TEST_F(dev, owner_column)
{
	struct {
		uint32_t flags;
		uint64_t owner, self;
		const char *want_owner, *want_self;
	} c[] = {
		{ SYNCFIX_WAIT_OWNER_TID, 0, 0, "tid:", "-" },	/* our tid */
		{ SYNCFIX_WAIT_OWNER_TID, 0, 0, "exited:", "-" }, /* a child */
		{ SYNCFIX_WAIT_OWNER_READERS, 3, 0, "readers:3", "-" },
		{ SYNCFIX_WAIT_OWNER_READERS, 0, 0, "readers", "-" },
		{ SYNCFIX_WAIT_OWNER_ID, 202, 101, "id:202", "id:101" },
		{ SYNCFIX_WAIT_OWNER_LOCK, 0x1000, 0, "lock:0x0000000000001000",
		  "-" },
		{ 0, 0, 0, "-", "-" },
	};
	char owner[32], selfcol[32], want[48];
	struct owned o;
	pthread_t t;
	unsigned int i;
	pid_t child;
	int st;

	child = fork();
	if (!child) {
		pause();
		_exit(0);
	}
	ASSERT_LT(0, child);
	c[0].owner = (uint64_t)gettid();
	c[1].owner = (uint64_t)child;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		memset(&o, 0, sizeof(o));
		o.fd = self->fd;
		o.flags = c[i].flags;
		o.owner = c[i].owner;
		o.self = c[i].self;
		ASSERT_EQ(0, pthread_create(&t, NULL, owned_main, &o));
		ASSERT_TRUE(waiters_reach(self->base + 1));
		ASSERT_TRUE(owner_of(__atomic_load_n(&o.tid, __ATOMIC_SEQ_CST),
				     owner, selfcol));
		snprintf(want, sizeof(want), "%s", c[i].want_owner);
		if (i < 2)
			snprintf(want, sizeof(want), "%s%llu", c[i].want_owner,
				 (unsigned long long)c[i].owner);
		EXPECT_STREQ(want, owner) TH_LOG("case %u", i);
		EXPECT_STREQ(c[i].want_self, selfcol) TH_LOG("case %u", i);
		o.word = 1;
		EXPECT_EQ(1, dev_wake(self->fd, &o.word, 1, 0));
		pthread_join(t, NULL);
		EXPECT_EQ(0, o.ret);
		ASSERT_TRUE(waiters_drop(self->base));
	}
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
}

/* An ANNOUNCE on @fd of the word at @addr.  Returns 0 or -errno. */
static int announce(int fd, const void *addr, uint32_t flags, uint64_t owner,
		    uint64_t self, uint32_t tag, int64_t timeout)
{
	struct syncfix_wait w = {
		.addr = (uintptr_t)addr, .val = 4, .flags = flags, .tag = tag,
		.timeout_ns = timeout, .owner = owner, .self = self,
	};

	return ioctl(fd, SYNCFIX_IOC_ANNOUNCE, &w) ? -errno : 0;
}

static int retract(int fd)
{
	return ioctl(fd, SYNCFIX_IOC_RETRACT, 0) ? -errno : 0;
}

/* Is thread @tid listed (with owner column @owner when not NULL)? */
static bool announced(pid_t tid, const char *owner)
{
	struct waiter_line l;

	return waiter_line(tid, &l) && (!owner || !strcmp(owner, l.owner));
}

/*
 * ANNOUNCE checks the fields as WAIT does (every case of owner_fields),
 * refuses a timeout, one announcement per thread and file; a refused
 * one lists nothing; RETRACT ends it, once.
 */
TEST_F(dev, announce_fields)
{
	static const struct {
		uint32_t flags;
		uint64_t owner, self;
		uint32_t tag;
		int64_t timeout;
		int want;
	} c[] = {
		{ 0, 0, 0, SYNCFIX_TAG_LOCKTHREAD_HELD, 0, 0 },
		{ 0, 0, 0, SYNCFIX_TAG_MAX + 1, 0, -EINVAL },
		{ 0, 1, 0, 0, 0, -EINVAL },
		{ 0, 0, 1, 0, 0, -EINVAL },
		{ SYNCFIX_WAIT_OWNER_TID, 1, 0, 0, 0, 0 },
		{ SYNCFIX_WAIT_OWNER_TID, 0, 0, 0, 0, -EINVAL },
		{ SYNCFIX_WAIT_OWNER_TID, (uint64_t)INT_MAX + 1, 0, 0, 0,
		  -EINVAL },
		{ SYNCFIX_WAIT_OWNER_READERS, (uint64_t)UINT32_MAX + 1, 0, 0, 0,
		  -EINVAL },
		{ SYNCFIX_WAIT_OWNER_ID, ~0ULL, ~0ULL, SYNCFIX_TAG_LOCKMGR, 0, 0 },
		{ SYNCFIX_WAIT_OWNER_LOCK, 6, 0, SYNCFIX_TAG_COND, 0, -EINVAL },
		{ SYNCFIX_WAIT_OWNER_TID | SYNCFIX_WAIT_OWNER_READERS, 1, 0, 0, 0,
		  -EINVAL },
		{ SYNCFIX_WAIT_OWNER_LOCK << 1, 0, 0, 0, 0, -EINVAL },
		/* No timeout: it belongs to the wait made elsewhere. */
		{ SYNCFIX_WAIT_TIMEOUT, 0, 0, 0, 1000, -EINVAL },
		{ SYNCFIX_WAIT_TIMEOUT | SYNCFIX_WAIT_ABSTIME, 0, 0, 0, 1000,
		  -EINVAL },
		{ 0, 0, 0, 0, 1000, -EINVAL },
	};
	uint32_t word = 5;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].want, announce(self->fd, &word, c[i].flags,
					      c[i].owner, c[i].self, c[i].tag,
					      c[i].timeout)) TH_LOG("case %u", i);
		EXPECT_EQ(!c[i].want, announced(gettid(), NULL))
			TH_LOG("case %u", i);
		EXPECT_EQ(c[i].want ? -ENOENT : 0, retract(self->fd))
			TH_LOG("case %u", i);
	}
	EXPECT_EQ(-EINVAL, announce(self->fd, NULL, 0, 0, 0, 0, 0));
	EXPECT_EQ(-EINVAL, announce(self->fd, (char *)&word + 1, 0, 0, 0, 0, 0));
	EXPECT_EQ(-EFAULT, announce(self->fd, (void *)(~0UL & ~7UL), 0, 0, 0, 0,
				    0));
	EXPECT_FALSE(announced(gettid(), NULL));

	ASSERT_EQ(0, announce(self->fd, &word, 0, 0, 0, SYNCFIX_TAG_MUTEX, 0));
	EXPECT_EQ(-EBUSY, announce(self->fd, &word, 0, 0, 0, 0, 0));
	EXPECT_EQ(-EINVAL, ioctl(self->fd, SYNCFIX_IOC_RETRACT, 1) ? -errno : 0);
	EXPECT_TRUE(announced(gettid(), NULL));
	EXPECT_EQ(0, retract(self->fd));
	EXPECT_EQ(-ENOENT, retract(self->fd));
	EXPECT_FALSE(announced(gettid(), NULL));
}

/*
 * The listing of an announced wait: its fields, an owner in another
 * process shown alive (a shared lock's holder may be anywhere) and as
 * exited once it is gone; it ends with RETRACT, with the release of its
 * file, and with its thread.
 */
TEST_F(dev, announce_listed)
{
	struct waiter_line l;
	uint32_t word = 5;
	char want[48];
	pid_t child;
	int fd2, st;

	child = fork();
	if (!child) {
		pause();
		_exit(0);
	}
	ASSERT_LT(0, child);
	ASSERT_EQ(0, announce(self->fd, &word, SYNCFIX_WAIT_OWNER_TID,
			      (uint64_t)child, 0, SYNCFIX_TAG_MUTEX, 0));
	ASSERT_TRUE(waiter_line(gettid(), &l));
	EXPECT_EQ(getpid(), l.pid);
	EXPECT_STREQ("mutex", l.tag);
	EXPECT_EQ(4U, l.expected);
	snprintf(want, sizeof(want), "0x%016lx", (unsigned long)&word);
	EXPECT_STREQ(want, l.addr);
	snprintf(want, sizeof(want), "tid:%d", child);
	EXPECT_STREQ(want, l.owner);
	/* Listed, but nothing waits in the queue and no WAKE finds it. */
	EXPECT_EQ(self->base, status_counter("waiters"));
	EXPECT_EQ(0, dev_wake(self->fd, &word, 1, 0));
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	snprintf(want, sizeof(want), "exited:%d", child);
	EXPECT_TRUE(announced(gettid(), want));
	EXPECT_EQ(0, retract(self->fd));

	/* Closing the file ends its announcements. */
	fd2 = dev_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, announce(fd2, &word, 0, 0, 0, 0, 0));
	ASSERT_EQ(0, announce(self->fd, &word, 0, 0, 0, 0, 0));
	close(fd2);
	EXPECT_TRUE(announced(gettid(), NULL));	/* self->fd's */
	EXPECT_EQ(0, retract(self->fd));
	EXPECT_FALSE(announced(gettid(), NULL));	/* fd2's went too */
}

static void *announce_and_exit(void *arg)
{
	static uint32_t word = 5;

	return (void *)(long)announce(*(int *)arg, &word, 0, 0, 0, 0, 0);
}

/*
 * Threads that exit announced (a cancelled wait) are not listed, and do
 * not use up their file: more of them than SYNCFIX_ANNOUNCE_MAX, then
 * one more announcement still succeeds.
 */
TEST_F(dev, announce_dead_threads)
{
	uint32_t word = 5;
	pthread_t t;
	void *ret;
	pid_t tid;
	int i;

	for (i = 0; i < SYNCFIX_ANNOUNCE_MAX + 8; i++) {
		ASSERT_EQ(0, pthread_create(&t, NULL, announce_and_exit,
					    &self->fd));
		ASSERT_EQ(0, pthread_join(t, &ret));
		ASSERT_EQ(0, (long)ret) TH_LOG("thread %d", i);
	}
	tid = gettid();
	EXPECT_EQ(0, announce(self->fd, &word, 0, 0, 0, 0, 0));
	EXPECT_TRUE(announced(tid, NULL));
	EXPECT_EQ(0, retract(self->fd));
}

TEST_F(dev, wake_without_waiters)
{
	uint32_t word = 0;

	EXPECT_EQ(0, dev_wake(self->fd, &word, 1, 0));
	EXPECT_EQ(0, dev_wake(self->fd, &word, UINT32_MAX, 0));
	EXPECT_EQ(0, dev_wake(self->fd, &word, 0, 0));
}

TEST_F(dev, wait_wake_pair)
{
	static volatile uint32_t word;
	long long waits = status_counter("waits");
	long long woken = status_counter("woken");
	struct waiter w;
	int i;

	for (i = 0; i < 20; i++) {
		word = 0;
		start(&w, self->fd, &word, 0, 0);
		ASSERT_TRUE(waiters_reach(self->base + 1));
		/* count 0 wakes nobody. */
		EXPECT_EQ(0, dev_wake(self->fd, &word, 0, 0));
		word = 1;
		EXPECT_EQ(1, dev_wake(self->fd, &word, 1, 0));
		pthread_join(w.thread, NULL);
		EXPECT_EQ(0, w.ret);
		EXPECT_TRUE(waiters_drop(self->base));
	}
	EXPECT_EQ(waits + 20, status_counter("waits"));
	EXPECT_EQ(woken + 20, status_counter("woken"));
}

TEST_F(dev, timeout_relative)
{
	long long timeouts = status_counter("timeouts");
	uint32_t word = 3;
	int64_t t0, t1;

	t0 = mono_ns();
	EXPECT_EQ(-ETIMEDOUT, dev_wait(self->fd, &word, 3, 0, 0,
				       SYNCFIX_WAIT_TIMEOUT, 50 * MS));
	t1 = mono_ns();
	EXPECT_LE(50 * MS, t1 - t0);
	EXPECT_GT(5000 * MS, t1 - t0);
	/* Zero: compare, then time out at once. */
	EXPECT_EQ(-ETIMEDOUT, dev_wait(self->fd, &word, 3, 0, 0,
				       SYNCFIX_WAIT_TIMEOUT, 0));
	EXPECT_EQ(-EAGAIN, dev_wait(self->fd, &word, 2, 0, 0,
				    SYNCFIX_WAIT_TIMEOUT, 0));
	EXPECT_EQ(timeouts + 2, status_counter("timeouts"));
}

TEST_F(dev, timeout_absolute)
{
	uint32_t word = 3;
	int64_t deadline, t1;

	deadline = mono_ns() + 50 * MS;
	EXPECT_EQ(-ETIMEDOUT, dev_wait(self->fd, &word, 3, 0, 0,
				       SYNCFIX_WAIT_TIMEOUT |
				       SYNCFIX_WAIT_ABSTIME, deadline));
	t1 = mono_ns();
	EXPECT_LE(deadline, t1);
	/* A deadline in the past, and the epoch of CLOCK_MONOTONIC. */
	EXPECT_EQ(-ETIMEDOUT, dev_wait(self->fd, &word, 3, 0, 0,
				       SYNCFIX_WAIT_TIMEOUT |
				       SYNCFIX_WAIT_ABSTIME, t1 - MS));
	EXPECT_EQ(-ETIMEDOUT, dev_wait(self->fd, &word, 3, 0, 0,
				       SYNCFIX_WAIT_TIMEOUT |
				       SYNCFIX_WAIT_ABSTIME, 0));
}

/* A timed waiter woken before its deadline returns 0, not -ETIMEDOUT. */
TEST_F(dev, wake_before_timeout)
{
	static volatile uint32_t word;
	struct waiter w;

	memset(&w, 0, sizeof(w));
	w.fd = self->fd;
	w.addr = &word;
	w.flags = SYNCFIX_WAIT_TIMEOUT;
	w.timeout = 20000 * MS;
	word = 0;
	pthread_create(&w.thread, NULL, waiter_main, &w);
	ASSERT_TRUE(waiters_reach(self->base + 1));
	word = 1;
	EXPECT_EQ(1, dev_wake(self->fd, &word, 1, 0));
	pthread_join(w.thread, NULL);
	EXPECT_EQ(0, w.ret);
}

/*
 * A signal interrupts a wait and the waiter leaves the queue: -EINTR
 * without SA_RESTART; with SA_RESTART a wait without timeout restarts
 * and is still there to be woken, a relative one fails with -EINTR.
 */
TEST_F(dev, signal_interrupts)
{
	static volatile uint32_t word;
	long long signals = status_counter("signals");
	struct sigaction sa = { .sa_handler = noop_handler };
	struct waiter w;

	word = 0;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));

	start(&w, self->fd, &word, 0, 0);
	ASSERT_TRUE(waiters_reach(self->base + 1));
	pthread_kill(w.thread, SIGUSR1);
	pthread_join(w.thread, NULL);
	EXPECT_EQ(-EINTR, w.ret);
	EXPECT_TRUE(waiters_drop(self->base));
	EXPECT_EQ(0, dev_wake(self->fd, &word, 1, 0));

	sa.sa_flags = SA_RESTART;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	start(&w, self->fd, &word, 0, 0);
	ASSERT_TRUE(waiters_reach(self->base + 1));
	pthread_kill(w.thread, SIGUSR1);
	usleep(100000);
	EXPECT_FALSE(atomic_load(&w.done));
	ASSERT_TRUE(waiters_reach(self->base + 1));
	word = 1;
	EXPECT_EQ(1, dev_wake(self->fd, &word, 1, 0));
	pthread_join(w.thread, NULL);
	EXPECT_EQ(0, w.ret);

	word = 0;
	memset(&w, 0, sizeof(w));
	w.fd = self->fd;
	w.addr = &word;
	w.flags = SYNCFIX_WAIT_TIMEOUT;
	w.timeout = 20000 * MS;
	pthread_create(&w.thread, NULL, waiter_main, &w);
	ASSERT_TRUE(waiters_reach(self->base + 1));
	pthread_kill(w.thread, SIGUSR1);
	pthread_join(w.thread, NULL);
	EXPECT_EQ(-EINTR, w.ret);
	EXPECT_TRUE(waiters_drop(self->base));
	EXPECT_EQ(signals + 3, status_counter("signals"));
	signal(SIGUSR1, SIG_DFL);
}

TEST_F(dev, wake_counts)
{
	static volatile uint32_t word;
	struct waiter w[MANY];
	int i, n;

	word = 0;
	for (i = 0; i < MANY; i++)
		start(&w[i], self->fd, &word, 0, 0);
	ASSERT_TRUE(waiters_reach(self->base + MANY));
	word = 1;
	EXPECT_EQ(3, dev_wake(self->fd, &word, 3, 0));
	ASSERT_TRUE(waiters_drop(self->base + MANY - 3));
	EXPECT_EQ(1, dev_wake(self->fd, &word, 1, 0));
	n = dev_wake(self->fd, &word, UINT32_MAX, 0);
	EXPECT_EQ(MANY - 4, n);
	EXPECT_EQ(0, dev_wake(self->fd, &word, UINT32_MAX, 0));
	for (i = 0; i < MANY; i++) {
		pthread_join(w[i].thread, NULL);
		EXPECT_EQ(0, w[i].ret);
	}
	EXPECT_EQ(MANY, atomic_load(&returns));
}

TEST_F(dev, bitsets)
{
	static volatile uint32_t word;
	struct waiter a, b, c;

	word = 0;
	start(&a, self->fd, &word, 0, 0x1);
	start(&b, self->fd, &word, 0, 0x2);
	start(&c, self->fd, &word, 0, 0);	/* 0: every bit */
	ASSERT_TRUE(waiters_reach(self->base + 3));
	word = 1;
	/* Only c (any) matches 0x4. */
	EXPECT_EQ(1, dev_wake(self->fd, &word, UINT32_MAX, 0x4));
	pthread_join(c.thread, NULL);
	EXPECT_EQ(0, dev_wake(self->fd, &word, UINT32_MAX, 0x4 << 8));
	/* Then b (0x2); a does not match. */
	EXPECT_EQ(1, dev_wake(self->fd, &word, UINT32_MAX, 0x2 | 0x8));
	pthread_join(b.thread, NULL);
	usleep(50000);
	EXPECT_FALSE(atomic_load(&a.done));
	EXPECT_EQ(1, dev_wake(self->fd, &word, UINT32_MAX, 0x1));
	pthread_join(a.thread, NULL);
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(0, b.ret);
	EXPECT_EQ(0, c.ret);
}

/* More words than buckets: some share a bucket, none wakes another's. */
TEST_F(dev, colliding_buckets)
{
	struct syncfix_info info;
	struct waiter *w;
	uint32_t *words;
	unsigned int n, i;

	ASSERT_EQ(0, ioctl(self->fd, SYNCFIX_IOC_GET_INFO, &info));
	n = info.nr_buckets + 8;
	words = calloc(n, 64);
	w = calloc(n, sizeof(*w));
	ASSERT_TRUE(words && w);
	for (i = 0; i < n; i++) {
		pthread_attr_t attr;

		memset(&w[i], 0, sizeof(w[i]));
		w[i].fd = self->fd;
		w[i].addr = &words[i * 16];
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 << 10);
		ASSERT_EQ(0, pthread_create(&w[i].thread, &attr, waiter_main,
					    &w[i]));
		pthread_attr_destroy(&attr);
	}
	ASSERT_TRUE(waiters_reach(self->base + n));
	for (i = 0; i < n; i++) {
		w[i].addr[0] = 1;
		/* The neighbour word inside the same cache line: nobody. */
		EXPECT_EQ(0, dev_wake(self->fd, &words[i * 16 + 1],
				      UINT32_MAX, 0));
		EXPECT_EQ(1, dev_wake(self->fd, w[i].addr, UINT32_MAX, 0));
		pthread_join(w[i].thread, NULL);
		EXPECT_EQ(0, w[i].ret);
	}
	free(words);
	free(w);
}

/*
 * Two threads hand a word back and forth through WAIT and WAKE, with no
 * user-space shortcut: every handoff depends on the kernel not losing a
 * wakeup.  A lost one leaves both asleep until their timeouts, while the
 * word says it is their turn.
 */
#define PINGPONG	20000

struct player {
	int fd;
	uint32_t parity;
	int lost;
	pthread_t thread;
};

static volatile uint32_t ball;

static void *player_main(void *arg)
{
	struct player *p = arg;
	uint32_t v;
	int i, r;

	for (i = 0; i < PINGPONG; i++) {
		while (((v = __atomic_load_n(&ball, __ATOMIC_ACQUIRE)) & 1) !=
		       p->parity) {
			r = dev_wait(p->fd, &ball, v, 0, 0,
				     SYNCFIX_WAIT_TIMEOUT, 2000 * MS);
			if (r == -ETIMEDOUT) {
				p->lost++;
				if (p->lost > 3)
					return NULL;
			}
		}
		__atomic_store_n(&ball, v + 1, __ATOMIC_RELEASE);
		dev_wake(p->fd, &ball, 1, 0);
	}
	return NULL;
}

/* Slow on the debug kernel under TCG: well over the default 30 s there. */
TEST_F_TIMEOUT(dev, no_lost_wakeup, 300)
{
	struct player p[2] = {
		{ .fd = self->fd, .parity = 0 },
		{ .fd = self->fd, .parity = 1 },
	};
	int64_t t0 = mono_ns();

	ball = 0;
	pthread_create(&p[0].thread, NULL, player_main, &p[0]);
	pthread_create(&p[1].thread, NULL, player_main, &p[1]);
	pthread_join(p[0].thread, NULL);
	pthread_join(p[1].thread, NULL);
	TH_LOG("%d handoffs in %lld ms", 2 * PINGPONG,
	       (long long)(mono_ns() - t0) / 1000000);
	EXPECT_EQ(0, p[0].lost + p[1].lost) {
		TH_LOG("lost wakeups: the ball stayed at %u", ball);
	}
}

/* WAKE with count 1 wakes the oldest waiter first. */
TEST_F(dev, wake_one_fifo)
{
	static volatile uint32_t word;
	struct waiter w[8];
	int i;

	word = 0;
	for (i = 0; i < 8; i++) {
		start(&w[i], self->fd, &word, 0, 0);
		ASSERT_TRUE(waiters_reach(self->base + i + 1));
	}
	word = 1;
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(1, dev_wake(self->fd, &word, 1, 0));
		pthread_join(w[i].thread, NULL);
		EXPECT_EQ(i, w[i].order);
	}
}

/* A waiting process that dies leaves nothing in the queue. */
TEST_F(dev, waiter_exit)
{
	long long waits = status_counter("waits");
	pid_t pid[4];
	int i, st;

	for (i = 0; i < 4; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i]) {
			uint32_t word = 0;

			_exit(dev_wait(self->fd, &word, 0, 0, 0, 0, 0) ? 1 : 0);
		}
	}
	ASSERT_TRUE(waiters_reach(self->base + 4));
	EXPECT_LE(waits + 4, status_counter("waits"));
	EXPECT_LE(self->base + 4, status_counter("peak waiters"));
	for (i = 0; i < 4; i++) {
		kill(pid[i], i & 1 ? SIGKILL : SIGTERM);
		ASSERT_EQ(pid[i], waitpid(pid[i], &st, 0));
		EXPECT_TRUE(WIFSIGNALED(st));
	}
	EXPECT_TRUE(waiters_drop(self->base));
	EXPECT_EQ(self->base, status_counter("waiters"));
}

/*
 * Processes cannot wake each other's waiters, even on the same address,
 * and even in memory they share: the queue is private to an address
 * space.  Two processes waiting on one address almost never share a
 * hash bucket (the key hashes the address space with the address), so a
 * lookup that forgot to compare the address space would still pass a
 * test of two processes.  Here ISO_PROCS processes each wait on
 * ISO_WORDS words (half in a private array, half in a MAP_SHARED
 * mapping, the same addresses in every process), and ISO_WAKERS other
 * processes, all alive at once so that their address spaces differ,
 * each WAKE every one of those words: about ISO_WAKERS * ISO_PROCS *
 * ISO_WORDS / nr_buckets of the lookups (32 here) meet a waiter of
 * another process in their bucket.  Not one may be woken.  Then each
 * waiting process wakes its own words, one waiter each.
 */
#define ISO_PROCS	4
#define ISO_WORDS	32
#define ISO_WAKERS	64

static volatile uint32_t iso_private[ISO_WORDS / 2 * 16];
static volatile uint32_t *iso_shared;

static volatile uint32_t *iso_word(int i)
{
	return i < ISO_WORDS / 2 ? &iso_private[i * 16] :
				   &iso_shared[(i - ISO_WORDS / 2) * 16];
}

/* Waits on every word until told (one byte on @go), then wakes them. */
static int iso_waiter_proc(int fd, int go)
{
	struct waiter w[ISO_WORDS];
	int i, bad = 0;
	char c;

	for (i = 0; i < ISO_WORDS; i++) {
		pthread_attr_t attr;

		memset(&w[i], 0, sizeof(w[i]));
		w[i].fd = fd;
		w[i].addr = iso_word(i);
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 << 10);
		if (pthread_create(&w[i].thread, &attr, waiter_main, &w[i]))
			return 3;
		pthread_attr_destroy(&attr);
	}
	if (read(go, &c, 1) != 1)
		return 4;
	for (i = 0; i < ISO_WORDS; i++)
		bad += atomic_load(&w[i].done);
	if (bad)
		return 2;	/* woken by another process */
	for (i = 0; i < ISO_WORDS; i++) {
		if (dev_wake(fd, iso_word(i), UINT32_MAX, 0) != 1)
			bad++;
		pthread_join(w[i].thread, NULL);
		bad += w[i].ret != 0;
	}
	return bad ? 5 : 0;
}

/* Wakes every word once told; exits with how many it woke (at most 99). */
static int iso_waker_proc(int fd, int go)
{
	int i, r, woken = 0;
	char c;

	if (read(go, &c, 1) != 1)
		return 100;
	for (i = 0; i < ISO_WORDS; i++) {
		r = dev_wake(fd, iso_word(i), UINT32_MAX, 0);
		if (r < 0)
			return 101;
		woken += r;
	}
	return woken > 99 ? 99 : woken;
}

static pid_t iso_fork(int (*fn)(int, int), int fd, int go)
{
	pid_t pid = fork();

	if (!pid)
		_exit(fn(fd, go));
	return pid;
}

TEST_F(dev, isolation)
{
	pid_t waiters[ISO_PROCS], wakers[ISO_WAKERS];
	int wgo[2], kgo[2], i, st, woken = 0, failed = 0;
	char go[ISO_WAKERS];

	iso_shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, iso_shared);
	ASSERT_EQ(0, pipe(wgo));
	ASSERT_EQ(0, pipe(kgo));
	for (i = 0; i < ISO_PROCS; i++) {
		waiters[i] = iso_fork(iso_waiter_proc, self->fd, wgo[0]);
		ASSERT_LT(0, waiters[i]);
	}
	ASSERT_TRUE(waiters_reach(self->base + ISO_PROCS * ISO_WORDS));
	for (i = 0; i < ISO_WAKERS; i++) {
		wakers[i] = iso_fork(iso_waker_proc, self->fd, kgo[0]);
		ASSERT_LT(0, wakers[i]);
	}
	/* Every waker is alive now: as many address spaces, all at once. */
	memset(go, 'x', sizeof(go));
	ASSERT_EQ(ISO_WAKERS, write(kgo[1], go, ISO_WAKERS));
	for (i = 0; i < ISO_WAKERS; i++) {
		ASSERT_EQ(wakers[i], waitpid(wakers[i], &st, 0));
		ASSERT_TRUE(WIFEXITED(st));
		if (WEXITSTATUS(st) > 99)
			failed++;
		else
			woken += WEXITSTATUS(st);
	}
	/* And the test process itself, a fourth kind of neighbour. */
	for (i = 0; i < ISO_WORDS; i++)
		woken += dev_wake(self->fd, iso_word(i), UINT32_MAX, 0);
	EXPECT_EQ(0, failed);
	EXPECT_EQ(0, woken) {
		TH_LOG("%d waiters woken by other processes", woken);
	}
	EXPECT_EQ(self->base + ISO_PROCS * ISO_WORDS,
		  status_counter("waiters"));

	ASSERT_EQ(ISO_PROCS, write(wgo[1], go, ISO_PROCS));
	for (i = 0; i < ISO_PROCS; i++) {
		ASSERT_EQ(waiters[i], waitpid(waiters[i], &st, 0));
		EXPECT_TRUE(WIFEXITED(st));
		EXPECT_EQ(0, WEXITSTATUS(st)) {
			TH_LOG("waiting process %d: %s", i,
			       WEXITSTATUS(st) == 2 ? "woken by another process" :
			       "its own wakes failed");
		}
	}
	munmap((void *)iso_shared, 4096);
	close(wgo[0]);
	close(wgo[1]);
	close(kgo[0]);
	close(kgo[1]);
}

/*
 * The other half of the rule: a process created with CLONE_VM (and not
 * CLONE_THREAD) shares the address space, so it wakes the waiters of its
 * parent's words, as it would a private futex.
 */
static struct {
	int fd;
	volatile uint32_t *word;
	atomic_int woken;
} clone_vm;

static int clone_vm_waker(void *arg)
{
	struct syncfix_wake w = {
		.addr = (uintptr_t)clone_vm.word, .count = 1,
	};

	*clone_vm.word = 1;
	atomic_store(&clone_vm.woken,
		     syscall(SYS_ioctl, clone_vm.fd, SYNCFIX_IOC_WAKE, &w));
	return 0;
}

TEST_F(dev, clone_vm_shares_queue)
{
	static volatile uint32_t word;
	size_t stack_size = 64 << 10;
	struct waiter w;
	char *stack;
	pid_t pid;
	int st;

	word = 0;
	clone_vm.fd = self->fd;
	clone_vm.word = &word;
	atomic_store(&clone_vm.woken, -1);
	start(&w, self->fd, &word, 0, 0);
	ASSERT_TRUE(waiters_reach(self->base + 1));
	stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	ASSERT_NE(MAP_FAILED, stack);
	pid = clone(clone_vm_waker, stack + stack_size, CLONE_VM | SIGCHLD,
		    NULL);
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_NE(getpid(), pid);
	EXPECT_EQ(1, atomic_load(&clone_vm.woken));
	pthread_join(w.thread, NULL);
	EXPECT_EQ(0, w.ret);
	munmap(stack, stack_size);
}

/* The word's page is faulted in outside the bucket lock. */
TEST_F(dev, fault_in)
{
	uint32_t *page;

	page = mmap(NULL, 4096 * 4, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	/* Never touched: the zero page is mapped in by the wait. */
	EXPECT_EQ(-EAGAIN, dev_wait(self->fd, page, 1, 0, 0, 0, 0));
	EXPECT_EQ(-ETIMEDOUT, dev_wait(self->fd, page + 1024, 0, 0, 0,
				       SYNCFIX_WAIT_TIMEOUT, MS));
	/* Swapped out or discarded: faulted in again. */
	page[2048] = 7;
	ASSERT_EQ(0, madvise(page, 4096 * 4, MADV_DONTNEED));
	EXPECT_EQ(-EAGAIN, dev_wait(self->fd, page + 2048, 7, 0, 0, 0, 0));
	munmap(page, 4096 * 4);
}

TEST_HARNESS_MAIN
