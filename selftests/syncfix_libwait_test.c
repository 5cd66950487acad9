// SPDX-License-Identifier: GPL-2.0
/* Description: libsyncfix-user on the /dev/syncfix wait backend: blocked mutex, reader and writer waiters listed with their tags, the per-lock backend attribute, contended locks correct */
#include <pthread.h>
#include <syncfix.h>

#include "kselftest_harness.h"
#include "syncfix_util.h"

/* The library's own query (lib/base/wait.h): "ioctl" or "futex". */
const char *sf_wait_backend(void);

/* Force the ioctl backend; call before the process's first lock wait. */
static bool use_ioctl_backend(void)
{
	setenv("SYNCFIX_WAIT", "ioctl", 1);
	return !strcmp(sf_wait_backend(), "ioctl");
}

#define SKIP_WITHOUT_DEVICE()						\
	do {								\
		if (!path_exists(SYNCFIX_DEV))				\
			SKIP(return, SYNCFIX_DEV " missing (module not loaded)"); \
	} while (0)

/*
 * The line of thread tid in /proc/syncfix/waiters: its pid and tag.
 * Returns 1 if found, 0 if not, -errno.
 */
static int waiter_of(int tid, int *pid, char *tag, size_t tagsz)
{
	static char buf[65536];
	char comm[32], t[32];
	unsigned long long addr;
	unsigned int expected, bitset;
	double ms;
	int p, id, len;
	const char *s;

	len = read_file(SYNCFIX_WAITERS, buf, sizeof(buf));
	if (len < 0)
		return len;
	/* The first line is the header. */
	for (s = strchr(buf, '\n'); s && s[1]; s = strchr(s + 1, '\n')) {
		if (sscanf(s + 1, "%d %d %31s 0x%llx %u %31s 0x%x %lf", &p, &id,
			   comm, &addr, &expected, t, &bitset, &ms) != 8)
			return -EINVAL;
		if (id == tid) {
			*pid = p;
			snprintf(tag, tagsz, "%s", t);
			return 1;
		}
	}
	return 0;
}

/* Poll for thread tid's line, up to 10 s.  Returns 1, 0 or -errno. */
static int wait_for_waiter(int tid, int *pid, char *tag, size_t tagsz)
{
	int i, r = 0;

	for (i = 0; i < 10000; i++) {
		r = waiter_of(tid, pid, tag, tagsz);
		if (r)
			return r;
		usleep(1000);
	}
	return r;
}

enum op { OP_MUTEX, OP_RDLOCK, OP_WRLOCK };

struct blocked {
	sf_mutex_t m;
	sf_rwlock_t l;
	enum op op;
	volatile int tid;
	volatile int got;	/* the waiter holds (or held) the lock */
	int ret;
};

static void *blocked_thread(void *arg)
{
	struct blocked *b = arg;

	b->tid = gettid();
	switch (b->op) {
	case OP_MUTEX:
		b->ret = sf_mutex_lock(&b->m);
		__atomic_store_n(&b->got, 1, __ATOMIC_SEQ_CST);
		if (!b->ret)
			b->ret = sf_mutex_unlock(&b->m);
		break;
	case OP_RDLOCK:
	case OP_WRLOCK:
		b->ret = b->op == OP_RDLOCK ? sf_rwlock_rdlock(&b->l) :
					      sf_rwlock_wrlock(&b->l);
		__atomic_store_n(&b->got, 1, __ATOMIC_SEQ_CST);
		if (!b->ret)
			b->ret = sf_rwlock_unlock(&b->l);
		break;
	}
	return NULL;
}

/* Is thread @tid asleep (state S or D)? */
static bool tid_asleep(int tid)
{
	char path[64], buf[256], *p;
	int len;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	len = read_file(path, buf, sizeof(buf));
	if (len <= 0)
		return false;
	p = strrchr(buf, ')');
	return p && (p[2] == 'S' || p[2] == 'D');
}

/*
 * Hold the lock (write-locked for OP_RDLOCK, read-locked for OP_WRLOCK),
 * created with the backend attribute @backend, block a thread on it, and
 * check that the thread is listed in the waiters with the tag @want, or
 * (@want NULL) that it sleeps without being listed (it is in futex).  Then
 * release and check that it got the lock.
 */
static void check_blocked_on(struct __test_metadata *_metadata, enum op op,
			     int backend, const char *want)
{
	struct blocked b = { .op = op };
	sf_mutexattr_t ma;
	sf_rwlockattr_t ra;
	char tag[32] = "";
	pthread_t th;
	int i, pid = 0;

	ASSERT_EQ(0, sf_mutexattr_init(&ma));
	ASSERT_EQ(0, sf_mutexattr_setbackend(&ma, backend));
	ASSERT_EQ(0, sf_mutex_init(&b.m, &ma));
	ASSERT_EQ(0, sf_rwlockattr_init(&ra));
	ASSERT_EQ(0, sf_rwlockattr_setkind(&ra, SF_RWLOCK_PREFER_WRITER_NONRECURSIVE));
	ASSERT_EQ(0, sf_rwlockattr_setbackend(&ra, backend));
	ASSERT_EQ(0, sf_rwlock_init(&b.l, &ra));
	switch (op) {
	case OP_MUTEX:
		ASSERT_EQ(0, sf_mutex_lock(&b.m));
		break;
	case OP_RDLOCK:
		ASSERT_EQ(0, sf_rwlock_wrlock(&b.l));
		break;
	case OP_WRLOCK:
		ASSERT_EQ(0, sf_rwlock_rdlock(&b.l));
		break;
	}
	ASSERT_EQ(0, pthread_create(&th, NULL, blocked_thread, &b));
	while (!b.tid)
		usleep(100);

	if (want) {
		EXPECT_EQ(1, wait_for_waiter(b.tid, &pid, tag, sizeof(tag)));
		EXPECT_EQ(getpid(), pid);
		EXPECT_STREQ(want, tag);
	} else {
		/* Asleep for 200 ms in a row, and never listed. */
		for (i = 0; i < 10000 && !tid_asleep(b.tid); i++)
			usleep(1000);
		for (i = 0; i < 200; i++) {
			EXPECT_TRUE(tid_asleep(b.tid));
			EXPECT_EQ(0, waiter_of(b.tid, &pid, tag, sizeof(tag)));
			usleep(1000);
		}
	}
	EXPECT_EQ(0, __atomic_load_n(&b.got, __ATOMIC_SEQ_CST));

	if (op == OP_MUTEX) {
		EXPECT_EQ(0, sf_mutex_unlock(&b.m));
	} else {
		EXPECT_EQ(0, sf_rwlock_unlock(&b.l));
	}
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(1, b.got);
	EXPECT_EQ(0, b.ret);
	EXPECT_EQ(0, waiter_of(b.tid, &pid, tag, sizeof(tag)));
	EXPECT_EQ(0, sf_mutex_destroy(&b.m));
	EXPECT_EQ(0, sf_rwlock_destroy(&b.l));
}

static void check_blocked(struct __test_metadata *_metadata, enum op op,
			  const char *want)
{
	check_blocked_on(_metadata, op, SF_BACKEND_DEFAULT, want);
	EXPECT_STREQ("ioctl", sf_wait_backend());
}

TEST(blocked_mutex_tagged)
{
	SKIP_WITHOUT_DEVICE();
	ASSERT_TRUE(use_ioctl_backend());
	check_blocked(_metadata, OP_MUTEX, "mutex");
}

TEST(blocked_reader_tagged)
{
	SKIP_WITHOUT_DEVICE();
	ASSERT_TRUE(use_ioctl_backend());
	check_blocked(_metadata, OP_RDLOCK, "rwlock-read");
}

TEST(blocked_writer_tagged)
{
	SKIP_WITHOUT_DEVICE();
	ASSERT_TRUE(use_ioctl_backend());
	check_blocked(_metadata, OP_WRLOCK, "rwlock-write");
}

/*
 * The per-lock attribute overrides the process-wide choice, in both
 * directions, and each lock stays on its own backend.
 */
TEST(attr_ioctl_in_futex_process)
{
	SKIP_WITHOUT_DEVICE();
	setenv("SYNCFIX_WAIT", "futex", 1);
	ASSERT_STREQ("futex", sf_wait_backend());
	EXPECT_STREQ("ioctl", sf_backend_name(SF_BACKEND_IOCTL));
	EXPECT_STREQ("futex", sf_backend_name(SF_BACKEND_DEFAULT));
	check_blocked_on(_metadata, OP_MUTEX, SF_BACKEND_IOCTL, "mutex");
	check_blocked_on(_metadata, OP_RDLOCK, SF_BACKEND_IOCTL, "rwlock-read");
	check_blocked_on(_metadata, OP_WRLOCK, SF_BACKEND_IOCTL, "rwlock-write");
	/* Default locks of this process sleep in futex: never listed. */
	check_blocked_on(_metadata, OP_MUTEX, SF_BACKEND_DEFAULT, NULL);
	check_blocked_on(_metadata, OP_RDLOCK, SF_BACKEND_DEFAULT, NULL);
}

TEST(attr_futex_in_ioctl_process)
{
	long long waits0;

	SKIP_WITHOUT_DEVICE();
	ASSERT_TRUE(use_ioctl_backend());
	EXPECT_STREQ("futex", sf_backend_name(SF_BACKEND_FUTEX));
	EXPECT_STREQ("ioctl", sf_backend_name(SF_BACKEND_DEFAULT));
	EXPECT_EQ(NULL, sf_backend_name(3));
	waits0 = status_counter("waits");
	check_blocked_on(_metadata, OP_MUTEX, SF_BACKEND_FUTEX, NULL);
	check_blocked_on(_metadata, OP_RDLOCK, SF_BACKEND_FUTEX, NULL);
	check_blocked_on(_metadata, OP_WRLOCK, SF_BACKEND_FUTEX, NULL);
	/* The module saw none of these waits. */
	EXPECT_EQ(waits0, status_counter("waits"));
	check_blocked_on(_metadata, OP_WRLOCK, SF_BACKEND_DEFAULT, "rwlock-write");
	EXPECT_LT(waits0, status_counter("waits"));
}

#define THREADS		4
#define ITERS		20000

static struct {
	sf_mutex_t m;
	sf_rwlock_t l;
	long mcount;		/* under m */
	int minside;		/* under m: threads inside, must be 1 */
	long wcount;		/* under l, written by writers */
	long wcopy;		/* under l: always equal to wcount */
	int winside;		/* writers inside l */
	int rinside;		/* readers inside l */
	long wdone[THREADS];	/* write locks taken by each thread */
	volatile int bad;
} v = {
	.m = SF_MUTEX_INITIALIZER,
	.l = SF_RWLOCK_PREFER_WRITER_NONRECURSIVE_INITIALIZER,
};

static void note_bad(void)
{
	__atomic_store_n(&v.bad, 1, __ATOMIC_RELAXED);
}

static void *validate_thread(void *arg)
{
	long id = (long)arg;
	unsigned int seed = 0x9e3779b9u * (unsigned int)(id + 1);
	int i;

	for (i = 0; i < ITERS && !v.bad; i++) {
		unsigned int r = rand_r(&seed);

		if (sf_mutex_lock(&v.m)) {
			note_bad();
			break;
		}
		if (++v.minside != 1)
			note_bad();
		v.mcount++;
		/* Now and then hold it long enough for the others to sleep. */
		if (!(r & 63))
			usleep(50);
		v.minside--;
		sf_mutex_unlock(&v.m);

		if (r & 0x300) {
			if (sf_rwlock_rdlock(&v.l)) {
				note_bad();
				break;
			}
			__atomic_add_fetch(&v.rinside, 1, __ATOMIC_RELAXED);
			if (__atomic_load_n(&v.winside, __ATOMIC_RELAXED) ||
			    __atomic_load_n(&v.wcount, __ATOMIC_RELAXED) !=
			    __atomic_load_n(&v.wcopy, __ATOMIC_RELAXED))
				note_bad();
			if (!(r & 0x7c00))
				usleep(20);
			__atomic_sub_fetch(&v.rinside, 1, __ATOMIC_RELAXED);
			sf_rwlock_unlock(&v.l);
		} else {
			if (sf_rwlock_wrlock(&v.l)) {
				note_bad();
				break;
			}
			if (__atomic_add_fetch(&v.winside, 1, __ATOMIC_RELAXED) != 1 ||
			    __atomic_load_n(&v.rinside, __ATOMIC_RELAXED))
				note_bad();
			__atomic_store_n(&v.wcount, v.wcount + 1, __ATOMIC_RELAXED);
			if (!(r & 0x1800))
				usleep(50);
			__atomic_store_n(&v.wcopy, v.wcopy + 1, __ATOMIC_RELAXED);
			v.wdone[id]++;
			__atomic_sub_fetch(&v.winside, 1, __ATOMIC_RELAXED);
			sf_rwlock_unlock(&v.l);
		}
	}
	return NULL;
}

TEST(contended_validate)
{
	pthread_t th[THREADS];
	long long waits0, waits1;
	long writes = 0;
	long i;

	SKIP_WITHOUT_DEVICE();
	ASSERT_TRUE(use_ioctl_backend());
	waits0 = status_counter("waits");
	ASSERT_LE(0, waits0);

	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, validate_thread,
					    (void *)i));
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_join(th[i], NULL));

	waits1 = status_counter("waits");
	for (i = 0; i < THREADS; i++)
		writes += v.wdone[i];
	EXPECT_EQ(0, v.bad);
	EXPECT_EQ((long)THREADS * ITERS, v.mcount);
	EXPECT_EQ(writes, v.wcount);
	EXPECT_EQ(writes, v.wcopy);
	EXPECT_EQ(0, v.minside);
	EXPECT_EQ(0, v.winside);
	EXPECT_EQ(0, v.rinside);
	/* Blocked threads slept in the module, not in futex. */
	EXPECT_LT(waits0, waits1);
	EXPECT_STREQ("ioctl", sf_wait_backend());
	TH_LOG("%lld waits on /dev/syncfix, %ld write locks", waits1 - waits0,
	       writes);
	EXPECT_EQ(0, sf_mutex_destroy(&v.m));
	EXPECT_EQ(0, sf_rwlock_destroy(&v.l));
}

TEST_HARNESS_MAIN
