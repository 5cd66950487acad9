// SPDX-License-Identifier: GPL-2.0
/* Description: who waits for whom: the owner column of mutex, rwlock, condition variable, lock manager and locking-thread waiters; syncfixctl deadlocks names an ABBA (in one process, and across two on process-shared mutexes), seed 000's locking-thread hang (broken build) and a transaction cycle across two lock managers, to root and the owning user but not to another user; a chain ending at a running thread, and a stale owner, are not deadlocks */
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <syncfix.h>

#include "kselftest_harness.h"
#include "syncfix_util.h"

#define NOBODY		65534
#define OTHER		65533
#define SYNCFIXCTL_DEFAULT	"/bin/syncfixctl"

/*
 * The test-hook build of the library (lib/base/testhooks.h): this program
 * links it, for seed 000's broken protocol (SF_TEST_BROKEN=two-mutexes)
 * and the sync points that make its hang certain.
 */
extern long (*sf_test_hook)(const char *point, const void *obj, uint64_t val);
#define SF_HOOK_NONE	(-1L)

static const char *ctl_path(void)
{
	const char *p = getenv("SYNCFIXCTL");

	return p && *p ? p : SYNCFIXCTL_DEFAULT;
}

#define SKIP_WITHOUT_CTL_OR_DEVICE()					\
	do {								\
		if (!path_exists(ctl_path()))				\
			SKIP(return, "%s missing", ctl_path());		\
		if (!path_exists(SYNCFIX_DEV))				\
			SKIP(return, SYNCFIX_DEV " missing");		\
	} while (0)

/* ---- the scenarios: each runs in a child process of its own --------- */

/* A scenario tells the test what it built, one "key value" line each. */
static pthread_mutex_t say_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *key, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&say_lock);
	printf("%s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&say_lock);
}

static void say_tid(const char *key)
{
	say(key, "%d", gettid());
}

static void say_addr(const char *key, const void *p)
{
	say(key, "0x%016lx", (unsigned long)p);
}

static sf_mutex_t mx_a = SF_MUTEX_INITIALIZER, mx_b = SF_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;

/* ABBA: t1 holds A and wants B, t2 holds B and wants A. */
static void *abba_thread(void *arg)
{
	bool first = arg != NULL;

	sf_mutex_lock(first ? &mx_a : &mx_b);
	say_tid(first ? "t1" : "t2");
	pthread_barrier_wait(&barrier);
	sf_mutex_lock(first ? &mx_b : &mx_a);
	return NULL;
}

static void scenario_abba(void)
{
	pthread_t t1, t2;

	say_addr("a", &mx_a);
	say_addr("b", &mx_b);
	pthread_barrier_init(&barrier, NULL, 2);
	pthread_create(&t1, NULL, abba_thread, (void *)1);
	pthread_create(&t2, NULL, abba_thread, NULL);
}

/*
 * ABBA across two processes, on two process-shared mutexes in a shared
 * mapping (at the same address in both): t1 in this process holds A and
 * wants B, t2 in a child holds B and wants A.  Their waits sleep in
 * futex and are listed through ANNOUNCE.  With @mixed, the child uses
 * futex only (SYNCFIX_WAIT=futex: unlisted) and t1 only waits for B,
 * which the child releases after "go" arrives on stdin: a wake across
 * the two choices of backend.
 */
struct shared_pair {
	sf_mutex_t a, b;
	pthread_barrier_t held;
};

static void shared_abba(bool mixed)
{
	struct shared_pair *sp;
	pthread_barrierattr_t ba;
	sf_mutexattr_t ma;
	char go[8];
	pid_t child;

	sp = mmap(NULL, sizeof(*sp), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sp == MAP_FAILED)
		_exit(1);
	sf_mutexattr_init(&ma);
	sf_mutexattr_setpshared(&ma, SF_PROCESS_SHARED);
	sf_mutex_init(&sp->a, &ma);
	sf_mutex_init(&sp->b, &ma);
	pthread_barrierattr_init(&ba);
	pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
	pthread_barrier_init(&sp->held, &ba, 2);
	say_addr("a", &sp->a);
	say_addr("b", &sp->b);
	child = fork();
	if (!child) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (mixed)
			setenv("SYNCFIX_WAIT", "futex", 1);
		sf_mutex_lock(&sp->b);
		say_tid("t2");
		pthread_barrier_wait(&sp->held);
		if (mixed) {
			if (read(STDIN_FILENO, go, sizeof(go)) <= 0)
				_exit(1);
			sf_mutex_unlock(&sp->b);
			_exit(0);
		}
		sf_mutex_lock(&sp->a);
		_exit(0);
	}
	if (!mixed)
		sf_mutex_lock(&sp->a);
	say_tid("t1");
	pthread_barrier_wait(&sp->held);
	sf_mutex_lock(&sp->b);
	say("got", "b");
	if (mixed)
		waitpid(child, NULL, 0);
}

static void scenario_shared_abba(void)
{
	shared_abba(false);
}

static void scenario_shared_mixed(void)
{
	shared_abba(true);
}

/* A chain: t1 holds A and blocks in read(); t2 waits for A. */
static int never[2];

static void *chain_holder(void *arg)
{
	char c;

	sf_mutex_lock(&mx_a);
	say_tid("t1");
	pthread_barrier_wait(&barrier);
	return read(never[0], &c, 1) < 0 ? arg : NULL;
}

static void *chain_waiter(void *arg)
{
	pthread_barrier_wait(&barrier);
	say_tid("t2");
	sf_mutex_lock(&mx_a);
	return arg;
}

static void scenario_chain(void)
{
	pthread_t t1, t2;

	if (pipe(never))
		exit(1);
	say_addr("a", &mx_a);
	pthread_barrier_init(&barrier, NULL, 2);
	pthread_create(&t1, NULL, chain_holder, NULL);
	pthread_create(&t2, NULL, chain_waiter, NULL);
}

/* A stale owner: t1 locks A and exits; t2 waits for A. */
static void *stale_holder(void *arg)
{
	sf_mutex_lock(&mx_a);
	say_tid("t1");
	return arg;
}

static void scenario_stale(void)
{
	pthread_t t1, t2;

	say_addr("a", &mx_a);
	pthread_create(&t1, NULL, stale_holder, NULL);
	pthread_join(t1, NULL);
	pthread_barrier_init(&barrier, NULL, 1);
	pthread_create(&t2, NULL, chain_waiter, NULL);
}

/*
 * Owners of the other primitives: a condition variable's waiter (the
 * mutex it takes again), a writer behind a reader, a mutex waiter whose
 * owner is the main thread.
 */
static sf_cond_t cv = SF_COND_INITIALIZER;
static sf_rwlock_t rw = SF_RWLOCK_INITIALIZER;

static void *cond_waiter(void *arg)
{
	sf_mutex_lock(&mx_b);
	say_tid("tc");
	for (;;)
		sf_cond_wait(&cv, &mx_b);
	return arg;
}

static void *rw_writer(void *arg)
{
	say_tid("tw");
	sf_rwlock_wrlock(&rw);
	return arg;
}

static void scenario_owners(void)
{
	pthread_t tc, tw, tm;

	say_addr("a", &mx_a);
	say_addr("b", &mx_b);
	say_addr("rw", &rw);
	say_tid("main");
	sf_mutex_lock(&mx_a);
	sf_rwlock_rdlock(&rw);
	pthread_barrier_init(&barrier, NULL, 1);
	pthread_create(&tc, NULL, cond_waiter, NULL);
	pthread_create(&tw, NULL, rw_writer, NULL);
	pthread_create(&tm, NULL, chain_waiter, NULL);	/* says t2 */
}

/*
 * Seed 000: the locking thread of the broken build (two mutexes).  The
 * helper stops between its check for a release request and its read of
 * the event word until its owner's kill has been made; it then sleeps on
 * the new value and never sees the kill, and the owner waits for it
 * forever.  With the fixed protocol the same schedule ends at once.
 */
static uint32_t at_held_wait, end_marked;

static long lt_hook(const char *point, const void *obj, uint64_t val)
{
	(void)obj, (void)val;
	if (!strcmp(point, "lockthread:held-wait") &&
	    !__atomic_exchange_n(&at_held_wait, 1, __ATOMIC_SEQ_CST)) {
		while (!__atomic_load_n(&end_marked, __ATOMIC_SEQ_CST))
			usleep(1000);
	} else if (!strcmp(point, "lockthread:end-marked")) {
		__atomic_store_n(&end_marked, 1, __ATOMIC_SEQ_CST);
	}
	return SF_HOOK_NONE;
}

static int lt_acquire(struct sf_lockthread *lt, void *arg)
{
	(void)lt, (void)arg;
	say_tid("helper");
	return 0;
}

static void scenario_lockthread(void)
{
	struct sf_lockthread *lt;

	say_tid("owner");
	if (sf_lockthread_create(&lt, lt_acquire, NULL, NULL))
		exit(1);
	sf_test_hook = lt_hook;
	if (sf_lockthread_start(lt))
		exit(1);
	while (!__atomic_load_n(&at_held_wait, __ATOMIC_SEQ_CST))
		usleep(1000);
	say("ready", "1");
	sf_lockthread_kill(lt);		/* hangs with the broken protocol */
	sf_lockthread_destroy(lt);
	say("done", "1");
	exit(0);
}

/*
 * Two lock managers in one process (two engines of one server), one
 * transaction id space: T1 (101) holds k1 in the first and waits in the
 * second for k2, which T2 (202) holds; T2 waits in the first for k1.
 * Neither manager sees the cycle; T2 gives up after 8 s (the victim),
 * and T1 gets k2.
 */
static struct sf_locktree *tree1, *tree2;

static void *txn_thread(void *arg)
{
	bool t1 = arg != NULL;
	struct sf_lockkey k1 = SF_LOCKKEY_INIT("k1", 2);
	struct sf_lockkey k2 = SF_LOCKKEY_INIT("k2", 2);
	struct timespec dl;
	int r;

	r = sf_lock_acquire(t1 ? tree1 : tree2, t1 ? 101 : 202, 1,
			    SF_LOCK_WRITE, t1 ? &k1 : &k2, t1 ? &k1 : &k2,
			    CLOCK_MONOTONIC, NULL);
	if (r)
		exit(1);
	say_tid(t1 ? "t1" : "t2");
	pthread_barrier_wait(&barrier);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += t1 ? 60 : 8;
	r = sf_lock_acquire(t1 ? tree2 : tree1, t1 ? 101 : 202, 1,
			    SF_LOCK_WRITE, t1 ? &k2 : &k1, t1 ? &k2 : &k1,
			    CLOCK_MONOTONIC, &dl);
	say(t1 ? "r1" : "r2", "%d", r);
	sf_lock_release_all(tree1, t1 ? 101 : 202);
	sf_lock_release_all(tree2, t1 ? 101 : 202);
	return NULL;
}

static void scenario_lockmgr(void)
{
	struct sf_lockmgr *m1, *m2;
	pthread_t t1, t2;

	if (sf_lockmgr_create(&m1, NULL) || sf_lockmgr_create(&m2, NULL) ||
	    sf_locktree_create(m1, &tree1, NULL, NULL) ||
	    sf_locktree_create(m2, &tree2, NULL, NULL))
		exit(1);
	pthread_barrier_init(&barrier, NULL, 2);
	pthread_create(&t1, NULL, txn_thread, (void *)1);
	pthread_create(&t2, NULL, txn_thread, NULL);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	say("done", "1");
	exit(0);
}

static const struct {
	const char *name;
	void (*run)(void);
} scenarios[] = {
	{ "abba", scenario_abba },
	{ "chain", scenario_chain },
	{ "stale", scenario_stale },
	{ "owners", scenario_owners },
	{ "lockthread", scenario_lockthread },
	{ "lockmgr", scenario_lockmgr },
	{ "shared-abba", scenario_shared_abba },
	{ "shared-mixed", scenario_shared_mixed },
};

struct scen {
	pid_t pid;
	int fd, in;	/* its stdout, its stdin */
	char info[4096];
	size_t len;
};

/*
 * Start scenario @name as @uid (0: root), on the ioctl backend, with
 * SF_TEST_BROKEN=@broken when not NULL.  Its reports collect in s->info.
 */
static int scen_start(struct scen *s, const char *name, uid_t uid,
		      const char *broken)
{
	int p[2], q[2];
	size_t i;

	memset(s, 0, sizeof(*s));
	if (pipe(p) || pipe(q))
		return -errno;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (!s->pid) {
		close(p[0]);
		close(q[1]);
		dup2(p[1], STDOUT_FILENO);
		dup2(q[0], STDIN_FILENO);
		setenv("SYNCFIX_WAIT", "ioctl", 1);
		if (broken)
			setenv("SF_TEST_BROKEN", broken, 1);
		if (uid && (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)))
			_exit(1);
		for (i = 0; i < ARRAY_SIZE(scenarios); i++)
			if (!strcmp(scenarios[i].name, name))
				scenarios[i].run();
		for (;;)
			pause();
	}
	close(p[1]);
	close(q[0]);
	s->fd = p[0];
	s->in = q[1];
	return 0;
}

/* Read reports until "@key " arrives, for up to 20 s.  Returns its value. */
static const char *scen_get(struct scen *s, const char *key)
{
	static char val[64];
	char pat[32];
	const char *at;
	int64_t end = mono_ns() + 20 * 1000000000LL;
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	ssize_t r;

	snprintf(pat, sizeof(pat), "%s ", key);
	for (;;) {
		s->info[s->len] = 0;
		for (at = s->info; at; at = strchr(at, '\n')) {
			if (*at == '\n')
				at++;
			if (!strncmp(at, pat, strlen(pat))) {
				sscanf(at + strlen(pat), "%63s", val);
				return val;
			}
		}
		if (mono_ns() > end || poll(&pfd, 1, 100) < 0)
			return NULL;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		r = read(s->fd, s->info + s->len, sizeof(s->info) - 1 - s->len);
		if (r <= 0)
			return NULL;
		s->len += r;
	}
}

static void scen_stop(struct scen *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	close(s->fd);
	close(s->in);
}

/* ---- reading the list, running syncfixctl --------------------------- */

/* The fields of thread @tid's line in /proc/syncfix/waiters, or false. */
static bool line_of(const char *tid, char *tag, char *addr, char *owner,
		    char *self)
{
	struct waiter_line l;

	if (!waiter_line(atoi(tid), &l))
		return false;
	strcpy(tag, l.tag);
	strcpy(addr, l.addr);
	strcpy(owner, l.owner);
	strcpy(self, l.self);
	return true;
}

/* Wait up to 20 s for thread @tid to be listed with @tag. */
static bool listed(const char *tid, const char *tag)
{
	char t[32], addr[32], owner[32], self[32];
	int i;

	for (i = 0; i < 2000; i++) {
		if (line_of(tid, t, addr, owner, self) && !strcmp(t, tag))
			return true;
		usleep(10000);
	}
	return false;
}

/* Run "syncfixctl ARGS" as @uid; its stdout in @out.  Its exit status. */
static int ctl_as(uid_t uid, const char *args, char *out, size_t size)
{
	char cmd[512];
	int p[2], st;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "%s %s", ctl_path(), args);
	if (pipe(p))
		return -1;
	pid = fork();
	if (!pid) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		if (uid && (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)))
			_exit(126);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < size && (r = read(p[0], out + n, size - 1 - n)) > 0)
		n += r;
	out[n] = 0;
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Does @out hold "tid T" for each thread of @tids and each word of @addrs? */
static bool names_all(const char *out, const char *const *tids,
		      const char *const *addrs)
{
	char pat[64];

	for (; *tids; tids++) {
		snprintf(pat, sizeof(pat), "tid %s ", *tids);
		if (!strstr(out, pat))
			return false;
	}
	for (; addrs && *addrs; addrs++)
		if (!strstr(out, *addrs))
			return false;
	return true;
}

/*
 * syncfixctl deadlocks as root, as @owner_uid (the scenario's user) and as
 * a third user: the first two name the cycle (exit 5), the third sees no
 * deadlock (exit 0).  JSON too, for root.
 */
static void expect_deadlock(struct __test_metadata *_metadata, uid_t owner_uid,
			    const char *const *tids, const char *const *addrs)
{
	static char out[65536];
	char pat[64];
	int rc;

	rc = ctl_as(0, "deadlocks", out, sizeof(out));
	TH_LOG("syncfixctl deadlocks (exit %d):\n%s", rc, out);
	EXPECT_EQ(5, rc);
	EXPECT_TRUE(names_all(out, tids, addrs));
	EXPECT_NE(NULL, strstr(out, "1 deadlock\n"));

	rc = ctl_as(0, "--json deadlocks --settle 50", out, sizeof(out));
	EXPECT_EQ(5, rc);
	snprintf(pat, sizeof(pat), "\"tid\":%s,", tids[0]);
	EXPECT_NE(NULL, strstr(out, pat)) TH_LOG("%s", out);
	snprintf(pat, sizeof(pat), "\"tid\":%s,", tids[1]);
	EXPECT_NE(NULL, strstr(out, pat)) TH_LOG("%s", out);

	rc = ctl_as(0, "waiters --graph", out, sizeof(out));
	EXPECT_EQ(0, rc);
	EXPECT_NE(NULL, strstr(out, ": DEADLOCK\n")) TH_LOG("%s", out);

	if (owner_uid) {
		rc = ctl_as(owner_uid, "deadlocks", out, sizeof(out));
		EXPECT_EQ(5, rc) TH_LOG("as the owner:\n%s", out);
		EXPECT_TRUE(names_all(out, tids, addrs));
	}
	rc = ctl_as(OTHER, "deadlocks", out, sizeof(out));
	EXPECT_EQ(0, rc) TH_LOG("as another user:\n%s", out);
	EXPECT_NE(NULL, strstr(out, "0 deadlocks\n"));
	EXPECT_EQ(NULL, strstr(out, tids[0]));
}

static void abba(struct __test_metadata *_metadata, uid_t uid,
		 const char *name)
{
	struct scen s;
	char t1[16], t2[16], a[32], b[32];
	const char *tids[] = { t1, t2, NULL }, *addrs[] = { a, b, NULL };
	char tag[32], addr[32], owner[32], self[32], want[48];

	ASSERT_EQ(0, scen_start(&s, name, uid, NULL));
	ASSERT_NE(NULL, scen_get(&s, "a"));
	snprintf(a, sizeof(a), "%s", scen_get(&s, "a"));
	snprintf(b, sizeof(b), "%s", scen_get(&s, "b"));
	snprintf(t1, sizeof(t1), "%s", scen_get(&s, "t1") ?: "?");
	snprintf(t2, sizeof(t2), "%s", scen_get(&s, "t2") ?: "?");
	ASSERT_TRUE(listed(t1, "mutex"));
	ASSERT_TRUE(listed(t2, "mutex"));

	/* Each names the other as the owner, on the other's lock. */
	ASSERT_TRUE(line_of(t1, tag, addr, owner, self));
	EXPECT_STREQ(b, addr);
	snprintf(want, sizeof(want), "tid:%s", t2);
	EXPECT_STREQ(want, owner);
	EXPECT_STREQ("-", self);
	ASSERT_TRUE(line_of(t2, tag, addr, owner, self));
	EXPECT_STREQ(a, addr);
	snprintf(want, sizeof(want), "tid:%s", t1);
	EXPECT_STREQ(want, owner);

	expect_deadlock(_metadata, uid, tids, addrs);
	scen_stop(&s);
}

TEST(abba_root)
{
	SKIP_WITHOUT_CTL_OR_DEVICE();
	if (getuid())
		SKIP(return, "needs root to switch users");
	abba(_metadata, 0, "abba");
}

TEST(abba_user)
{
	SKIP_WITHOUT_CTL_OR_DEVICE();
	if (getuid())
		SKIP(return, "needs root to switch users");
	abba(_metadata, NOBODY, "abba");
}

/*
 * The same across two processes, on process-shared mutexes: the owner
 * of each wait is a thread of the other process, and the cycle is named.
 */
TEST(shared_abba_user)
{
	SKIP_WITHOUT_CTL_OR_DEVICE();
	if (getuid())
		SKIP(return, "needs root to switch users");
	abba(_metadata, NOBODY, "shared-abba");
}

/*
 * A process that waits on the ioctl default and one that uses futex
 * only share a lock: the first is listed with the second's thread as
 * the owner, and is woken by its unlock.
 */
TEST(shared_mixed_backends)
{
	char t1[16], t2[16], tag[32], addr[32], owner[32], self[32], want[48];
	struct scen s;

	SKIP_WITHOUT_CTL_OR_DEVICE();
	ASSERT_EQ(0, scen_start(&s, "shared-mixed", 0, NULL));
	snprintf(t2, sizeof(t2), "%s", scen_get(&s, "t2") ?: "?");
	snprintf(t1, sizeof(t1), "%s", scen_get(&s, "t1") ?: "?");
	ASSERT_TRUE(listed(t1, "mutex"));
	ASSERT_TRUE(line_of(t1, tag, addr, owner, self));
	snprintf(want, sizeof(want), "tid:%s", t2);
	EXPECT_STREQ(want, owner);
	EXPECT_FALSE(line_of(t2, tag, addr, owner, self));
	ASSERT_EQ(3, write(s.in, "go\n", 3));
	EXPECT_NE(NULL, scen_get(&s, "got"));
	scen_stop(&s);
}

/* Seed 000 with the broken locking thread: a cycle of owner and helper. */
TEST(lockthread_seed000)
{
	char owner_tid[16], helper[16], tag[32], addr[32], owner[32], self[32];
	const char *tids[] = { owner_tid, helper, NULL };
	char want[48];
	struct scen s;

	SKIP_WITHOUT_CTL_OR_DEVICE();
	if (getuid())
		SKIP(return, "needs root to switch users");
	ASSERT_EQ(0, scen_start(&s, "lockthread", NOBODY, "two-mutexes"));
	snprintf(owner_tid, sizeof(owner_tid), "%s", scen_get(&s, "owner") ?: "?");
	snprintf(helper, sizeof(helper), "%s", scen_get(&s, "helper") ?: "?");
	ASSERT_NE(NULL, scen_get(&s, "ready"));
	ASSERT_TRUE(listed(owner_tid, "lockthread-end"));
	ASSERT_TRUE(listed(helper, "lockthread-held"));
	ASSERT_TRUE(line_of(owner_tid, tag, addr, owner, self));
	snprintf(want, sizeof(want), "tid:%s", helper);
	EXPECT_STREQ(want, owner);
	ASSERT_TRUE(line_of(helper, tag, addr, owner, self));
	snprintf(want, sizeof(want), "tid:%s", owner_tid);
	EXPECT_STREQ(want, owner);
	expect_deadlock(_metadata, NOBODY, tids, NULL);
	scen_stop(&s);

	/* The fixed protocol under the same schedule: no hang. */
	ASSERT_EQ(0, scen_start(&s, "lockthread", NOBODY, NULL));
	EXPECT_NE(NULL, scen_get(&s, "done"));
	scen_stop(&s);
}

/* A waits for B, B waits for I/O: a chain, not a deadlock. */
TEST(chain_is_not_deadlock)
{
	static char out[65536];
	char t1[16], t2[16], pat[64];
	struct scen s;
	int rc;

	SKIP_WITHOUT_CTL_OR_DEVICE();
	ASSERT_EQ(0, scen_start(&s, "chain", 0, NULL));
	snprintf(t1, sizeof(t1), "%s", scen_get(&s, "t1") ?: "?");
	snprintf(t2, sizeof(t2), "%s", scen_get(&s, "t2") ?: "?");
	ASSERT_TRUE(listed(t2, "mutex"));
	rc = ctl_as(0, "deadlocks", out, sizeof(out));
	EXPECT_EQ(0, rc) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "0 deadlocks\n"));
	rc = ctl_as(0, "waiters --graph", out, sizeof(out));
	EXPECT_EQ(0, rc);
	snprintf(pat, sizeof(pat), "held by tid %s, not blocked in syncfix", t1);
	EXPECT_NE(NULL, strstr(out, pat)) TH_LOG("%s", out);
	rc = ctl_as(0, "--json waiters --graph", out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "\"end\":\"running\"")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"deadlocks\":0}"));
	scen_stop(&s);
}

/* A thread exited holding the mutex: its waiter names a stale owner. */
TEST(stale_owner)
{
	static char out[65536];
	char t1[16], t2[16], tag[32], addr[32], owner[32], self[32], want[48];
	struct scen s;

	SKIP_WITHOUT_CTL_OR_DEVICE();
	ASSERT_EQ(0, scen_start(&s, "stale", 0, NULL));
	snprintf(t1, sizeof(t1), "%s", scen_get(&s, "t1") ?: "?");
	snprintf(t2, sizeof(t2), "%s", scen_get(&s, "t2") ?: "?");
	ASSERT_TRUE(listed(t2, "mutex"));
	ASSERT_TRUE(line_of(t2, tag, addr, owner, self));
	snprintf(want, sizeof(want), "exited:%s", t1);
	EXPECT_STREQ(want, owner);
	EXPECT_EQ(0, ctl_as(0, "deadlocks", out, sizeof(out)));
	EXPECT_EQ(0, ctl_as(0, "waiters --graph", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "which exited holding it (stale owner)"))
		TH_LOG("%s", out);
	scen_stop(&s);
}

/* The owner column of a condvar waiter, a writer behind a reader, a mutex. */
TEST(owners)
{
	char tc[16], tw[16], tm[16], main_tid[16], b[32], rwa[32];
	char tag[32], addr[32], owner[32], self[32], want[48];
	struct scen s;

	SKIP_WITHOUT_CTL_OR_DEVICE();
	ASSERT_EQ(0, scen_start(&s, "owners", 0, NULL));
	snprintf(b, sizeof(b), "%s", scen_get(&s, "b") ?: "?");
	snprintf(rwa, sizeof(rwa), "%s", scen_get(&s, "rw") ?: "?");
	snprintf(main_tid, sizeof(main_tid), "%s", scen_get(&s, "main") ?: "?");
	snprintf(tc, sizeof(tc), "%s", scen_get(&s, "tc") ?: "?");
	snprintf(tw, sizeof(tw), "%s", scen_get(&s, "tw") ?: "?");
	snprintf(tm, sizeof(tm), "%s", scen_get(&s, "t2") ?: "?");

	ASSERT_TRUE(listed(tc, "cond"));
	ASSERT_TRUE(line_of(tc, tag, addr, owner, self));
	snprintf(want, sizeof(want), "lock:%s", b);
	EXPECT_STREQ(want, owner);

	ASSERT_TRUE(listed(tw, "rwlock-write"));
	ASSERT_TRUE(line_of(tw, tag, addr, owner, self));
	EXPECT_STREQ(rwa, addr);
	EXPECT_STREQ("readers:1", owner);

	ASSERT_TRUE(listed(tm, "mutex"));
	ASSERT_TRUE(line_of(tm, tag, addr, owner, self));
	snprintf(want, sizeof(want), "tid:%s", main_tid);
	EXPECT_STREQ(want, owner);
	scen_stop(&s);
}

/* A transaction cycle across two managers, until the victim gives up. */
TEST(lockmgr_cycle)
{
	static char out[65536];
	char t1[16], t2[16], tag[32], addr[32], owner[32], self[32];
	const char *tids[] = { t1, t2, NULL };
	struct scen s;
	const char *r;

	SKIP_WITHOUT_CTL_OR_DEVICE();
	if (getuid())
		SKIP(return, "needs root to switch users");
	ASSERT_EQ(0, scen_start(&s, "lockmgr", NOBODY, NULL));
	snprintf(t1, sizeof(t1), "%s", scen_get(&s, "t1") ?: "?");
	snprintf(t2, sizeof(t2), "%s", scen_get(&s, "t2") ?: "?");
	ASSERT_TRUE(listed(t1, "lockmgr"));
	ASSERT_TRUE(listed(t2, "lockmgr"));
	ASSERT_TRUE(line_of(t1, tag, addr, owner, self));
	EXPECT_STREQ("id:202", owner);
	EXPECT_STREQ("id:101", self);
	ASSERT_TRUE(line_of(t2, tag, addr, owner, self));
	EXPECT_STREQ("id:101", owner);
	EXPECT_STREQ("id:202", self);
	expect_deadlock(_metadata, NOBODY, tids, NULL);
	EXPECT_EQ(5, ctl_as(0, "deadlocks", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "as id 101")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "as id 202"));

	/* T2 times out (the victim), T1 gets its lock: no deadlock left. */
	r = scen_get(&s, "r2");
	ASSERT_NE(NULL, r);
	EXPECT_EQ(ETIMEDOUT, atoi(r));
	r = scen_get(&s, "r1");
	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, atoi(r));
	EXPECT_NE(NULL, scen_get(&s, "done"));
	EXPECT_EQ(0, ctl_as(0, "deadlocks", out, sizeof(out))) TH_LOG("%s", out);
	scen_stop(&s);
}

TEST_HARNESS_MAIN
