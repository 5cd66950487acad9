// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: the mutex unlock that releases with a plain store: a waiter that sleeps between the unlock's load and its store is woken (SF_TEST_BROKEN=mutex-no-notify must fail), several sleepers all get the mutex (mutex-acquire-no-s must fail), a timed-out waiter retracts its announcement (mutex-no-retract must fail), a waiter on another mutex of the owner; the same with SYNCFIX_MEMBARRIER=off; a stress run that reports lost wakeups without the membarrier */
/*
 * Usage: mutex-notify [overwrite|sleepers|retract|other-lock|fork|
 *                      broken|fallback|stress|stress-run]...   (default: all but
 *                      stress-run)
 *
 * The protocol is in locks/mutex.c ("Ordering, the fast path").  The
 * interleavings are forced at its sync points (test-hook build).  U, the
 * owner, holds two mutexes A and B:
 *
 * overwrite   W1 sleeps on A.  U's unlock of B stops after loading the
 *             word (U, no S): "mutex:unlock-loaded".  W2 sets S on B,
 *             announces on U's slot and sleeps.  U goes on: its store
 *             overwrites S, and its load of its notify (2: W1 and W2)
 *             wakes B.  W2 must get B; W1 sleeps on until U unlocks A.
 * sleepers    three threads sleep on A; U unlocks it.  Each must get A:
 *             each woken one holds A with S, so its unlock wakes the next.
 * retract     W's timed lock of A gives up while U holds it; U's unlock
 *             of B (plain) then reads 0 in its notify: W took its
 *             announcement back.
 * other-lock  W sleeps on B; U's unlock of A reads W's announcement (one
 *             count per owner) and wakes A for nothing; W sleeps on, and
 *             U's unlock of B wakes it.
 * fork        overwrite in the child of fork(), whose membarrier() must
 *             not fail.
 * broken      overwrite, sleepers and retract again, each with the
 *             broken protocol named above: each must fail.
 * fallback    the four cases with SYNCFIX_MEMBARRIER=off (every unlock
 *             the locked exchange): must pass.
 * stress      stress-run in a child without (M), the membarrier
 *             (SF_TEST_BROKEN=mutex-no-membarrier): reports how many
 *             wakeups were lost, asserts nothing about it (the StoreLoad
 *             reordering it needs cannot be forced; see mutex.c); then
 *             stress-run with the protocol as built: no wakeup lost.
 *
 * Whether the unlocks take the plain store is the library's decision
 * (membarrier registered at load, SYNCFIX_MEMBARRIER); the test expects
 * it where the kernel offers MEMBARRIER_CMD_PRIVATE_EXPEDITED and checks
 * which path ran by the hits of "mutex:unlock-notify".
 */
#include "test.h"

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <syncfix.h>

static sf_mutex_t ma, mb;

/* The unlocks take the plain store: membarrier there, not switched off. */
static int expect_plain(void)
{
	const char *e = getenv("SYNCFIX_MEMBARRIER");
	long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (e && !strcmp(e, "off"))
		return 0;
	return q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}

/* U: locks A and B, then unlocks @first and @second when told. */
struct owner {
	sf_mutex_t *first, *second;
};

static void *owner_main(void *p)
{
	struct owner *o = p;

	dsync_thread("U");
	sf_mutex_lock(&ma);
	sf_mutex_lock(&mb);
	dsync_signal("u-locked");
	dsync_wait_for("u-unlock-1", 10000);
	sf_mutex_unlock(o->first);
	dsync_signal("u-unlocked-1");
	dsync_wait_for("u-unlock-2", 10000);
	sf_mutex_unlock(o->second);
	return NULL;
}

struct waiter {
	sf_mutex_t *m;
	const char *sig;	/* raised once it holds @m */
	pid_t tid;
	int got;
	long timeout_ms;	/* > 0: a timed lock */
	int result;
};

static void *waiter_main(void *p)
{
	struct waiter *w = p;
	struct timespec dl;
	int r;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	if (w->timeout_ms > 0) {
		dl = deadline_ms(CLOCK_MONOTONIC, w->timeout_ms);
		r = sf_mutex_timedlock(w->m, CLOCK_MONOTONIC, &dl);
	} else {
		r = sf_mutex_lock(w->m);
	}
	w->result = r;
	if (r == 0) {
		__atomic_store_n(&w->got, 1, __ATOMIC_RELEASE);
		dsync_signal(w->sig);
		sf_mutex_unlock(w->m);
	}
	return NULL;
}

/* Has @w gone to sleep (in the futex) without the mutex?  Polls 2 s. */
static int asleep(struct waiter *w)
{
	pid_t t;
	int i;

	for (i = 0; i < 400; i++) {
		t = __atomic_load_n(&w->tid, __ATOMIC_ACQUIRE);
		if (t && tid_sleeping(t) && !__atomic_load_n(&w->got, __ATOMIC_ACQUIRE))
			return 1;
		sleep_ms(5);
	}
	return 0;
}

/* What the plain unlock of each mutex read in its notify, last time. */
static uint64_t seen_notify_a = ~0ull, seen_notify_b = ~0ull;

static long record_notify(const char *point, const void *obj, uint64_t val)
{
	if (!strcmp(point, "mutex:unlock-notify")) {
		if (obj == &ma)
			__atomic_store_n(&seen_notify_a, val, __ATOMIC_RELAXED);
		else if (obj == &mb)
			__atomic_store_n(&seen_notify_b, val, __ATOMIC_RELAXED);
	}
	return SF_HOOK_NONE;
}

static void start(pthread_t *u, struct owner *o)
{
	sf_mutex_init(&ma, NULL);
	sf_mutex_init(&mb, NULL);
	seen_notify_a = seen_notify_b = ~0ull;
	dsync_reset();
	dsync_own = record_notify;
	pthread_create(u, NULL, owner_main, o);
	dsync_wait_for("u-locked", 5000);
}

static void finish(const char *name)
{
	ok(sf_mutex_destroy(&ma) == 0 && sf_mutex_destroy(&mb) == 0,
	   "%s: both mutexes free at the end", name);
}

static void case_overwrite(void)
{
	struct owner o = { &mb, &ma };
	struct waiter w1 = { .m = &ma, .sig = "w1-locked" };
	struct waiter w2 = { .m = &mb, .sig = "w2-locked" };
	pthread_t u, t1, t2;
	unsigned long plain0;
	int woken;

	phase("overwrite");
	start(&u, &o);
	pthread_create(&t1, NULL, waiter_main, &w1);
	ok(asleep(&w1), "overwrite: W1 sleeps on A");
	dsync_arm("mutex:unlock-loaded", "U", "u-loaded", "go", 1);
	dsync_signal("u-unlock-1");
	if (!ok(dsync_wait_for("u-loaded", 5000),
		"overwrite: U's unlock of B stopped after loading the word"))
		return;
	pthread_create(&t2, NULL, waiter_main, &w2);
	ok(asleep(&w2), "overwrite: W2 went to sleep on B in between");
	plain0 = dsync_hits("mutex:unlock-notify");
	dsync_signal("go");
	woken = dsync_wait_for("w2-locked", 3000);
	ok(woken, "overwrite: the unlock of B wakes W2, and it takes B");
	if (!woken) {
		diag("W2 sleeps on 3 s after the unlock: the store overwrote its S "
		     "and the unlock did not see its announcement");
		pthread_detach(u);	/* W2 sleeps on; the process ends with it */
		pthread_detach(t1);
		pthread_detach(t2);
		return;
	}
	ok(dsync_wait_for("u-unlocked-1", 3000) &&
	   dsync_hits("mutex:unlock-notify") - plain0 == (unsigned long)expect_plain(),
	   "overwrite: the unlock of B took the %s path",
	   expect_plain() ? "plain-store" : "exchange");
	ok(!__atomic_load_n(&w1.got, __ATOMIC_ACQUIRE) && asleep(&w1),
	   "overwrite: W1 sleeps on A on");
	dsync_signal("u-unlock-2");
	ok(dsync_wait_for("w1-locked", 3000), "overwrite: the unlock of A wakes W1");
	pthread_join(u, NULL);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	finish("overwrite");
}

#define NSLEEPERS 3

static void case_sleepers(void)
{
	static const char *const sig[NSLEEPERS] = { "s0", "s1", "s2" };
	struct owner o = { &ma, &mb };
	struct waiter w[NSLEEPERS];
	pthread_t u, t[NSLEEPERS];
	int i, n, all = 1;

	phase("sleepers");
	start(&u, &o);
	for (i = 0; i < NSLEEPERS; i++) {
		w[i] = (struct waiter){ .m = &ma, .sig = sig[i] };
		pthread_create(&t[i], NULL, waiter_main, &w[i]);
		all &= asleep(&w[i]);
	}
	ok(all, "sleepers: %d threads sleep on A", NSLEEPERS);
	dsync_signal("u-unlock-1");
	for (i = 0, n = 0; i < NSLEEPERS; i++)
		n += dsync_wait_for(sig[i], 3000);
	ok(n == NSLEEPERS, "sleepers: every sleeper got A after one unlock (%d of %d)",
	   n, NSLEEPERS);
	if (n != NSLEEPERS) {
		diag("a woken thread took A without S: its unlock woke nobody");
		for (i = 0; i < NSLEEPERS; i++)	/* no join: some sleep on */
			pthread_detach(t[i]);
		pthread_detach(u);
		return;
	}
	dsync_signal("u-unlock-2");
	pthread_join(u, NULL);
	for (i = 0; i < NSLEEPERS; i++)
		pthread_join(t[i], NULL);
	finish("sleepers");
}

static void case_retract(void)
{
	struct owner o = { &mb, &ma };
	struct waiter w = { .m = &ma, .sig = "w-locked", .timeout_ms = 200 };
	pthread_t u, t;

	phase("retract");
	start(&u, &o);
	pthread_create(&t, NULL, waiter_main, &w);
	pthread_join(t, NULL);
	ok_err(w.result, ETIMEDOUT, "retract: W's timed lock of A gave up");
	dsync_signal("u-unlock-1");
	dsync_wait_for("u-unlocked-1", 3000);
	if (expect_plain())
		ok(seen_notify_b == 0,
		   "retract: U's unlock of B read 0 in its notify: W retracted "
		   "(read %lld)", (long long)seen_notify_b);
	else
		ok(seen_notify_b == ~0ull, "retract: no plain unlock without the fence");
	dsync_signal("u-unlock-2");
	pthread_join(u, NULL);
	finish("retract");
}

static void case_other_lock(void)
{
	struct owner o = { &ma, &mb };
	struct waiter w = { .m = &mb, .sig = "w-locked" };
	pthread_t u, t;

	phase("other-lock");
	start(&u, &o);
	pthread_create(&t, NULL, waiter_main, &w);
	ok(asleep(&w), "other-lock: W sleeps on B");
	dsync_signal("u-unlock-1");
	dsync_wait_for("u-unlocked-1", 3000);
	if (expect_plain())
		ok(seen_notify_a == 1,
		   "other-lock: U's unlock of A read W's announcement on B (%lld)",
		   (long long)seen_notify_a);
	else
		ok(seen_notify_a == ~0ull, "other-lock: no plain unlock without the fence");
	sleep_ms(50);
	ok(asleep(&w), "other-lock: W sleeps on after the unlock of A");
	dsync_signal("u-unlock-2");
	ok(dsync_wait_for("w-locked", 3000), "other-lock: the unlock of B wakes W");
	pthread_join(u, NULL);
	pthread_join(t, NULL);
	finish("other-lock");
}

/*
 * The child of fork(): a new address space, whose membarrier
 * registration it inherits (mutex.c, "The fence").  Run overwrite there:
 * it must take the plain-store path and its membarrier() must succeed
 * ("mutex:fence-lost" never reached).
 */
static void case_fork(void)
{
	int st, failed0;
	pid_t pid;

	phase("fork");
#ifdef TEST_TSAN
	/* TSAN does not start threads in the child of a threaded process. */
	diag("fork: skipped under ThreadSanitizer");
	return;
#endif
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		t_indent = "    ";
		failed0 = t_failed;
		case_overwrite();
		ok(dsync_hits("mutex:fence-lost") == 0,
		   "fork: every membarrier() of the child succeeded");
		fflush(stdout);
		_exit(t_failed != failed0);
	}
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	   WEXITSTATUS(st) == 0,
	   "fork: overwrite passes in the child of fork()");
}

static void one_broken(const char *arg, const char *broken, const char *want)
{
	char *args[] = { (char *)arg, NULL };

	ok(self_fails_broken("mutex-notify", args, broken, want),
	   "broken: %s with SF_TEST_BROKEN=%s fails", arg, broken);
}

static void case_broken(void)
{
	phase("broken");
	if (!expect_plain()) {
		diag("broken: the plain-store unlock is off here: only sleepers");
	} else {
		one_broken("overwrite", "mutex-no-notify", "wakes W2");
		one_broken("retract", "mutex-no-retract", "W retracted");
	}
	one_broken("sleepers", "mutex-acquire-no-s", "every sleeper");
}

static void case_fallback(void)
{
	char *argv[] = { NULL, "overwrite", "sleepers", "retract", "other-lock", NULL };
	char path[4200];
	int r;

	phase("fallback");
	beside_self("mutex-notify", path, sizeof(path));
	argv[0] = path;
	setenv("SYNCFIX_MEMBARRIER", "off", 1);
	r = run_tap_child(argv, NULL, NULL);
	unsetenv("SYNCFIX_MEMBARRIER");
	ok(r == CHILD_PASSED, "fallback: the cases pass with SYNCFIX_MEMBARRIER=off");
}

/*
 * stress-run: NSTRESS threads lock and unlock one mutex (futex backend)
 * with short critical sections; a monitor that sees no progress for
 * 300 ms while the word is 0 and every worker sleeps counts a lost wakeup
 * (nobody will take the free mutex) and rescues the sleepers with a futex
 * wake of its own.
 */

#define NSTRESS 4
#ifdef TEST_TSAN
#define STRESS_SECS 1.0
#else
#define STRESS_SECS 3.0
#endif

static long stress_ops;
static int stress_stop;
static pid_t stress_tid[NSTRESS];

static int all_asleep(void)
{
	for (int i = 0; i < NSTRESS; i++) {
		pid_t t = __atomic_load_n(&stress_tid[i], __ATOMIC_ACQUIRE);

		if (!t || !tid_sleeping(t))
			return 0;
	}
	return 1;
}

static void *stress_worker(void *p)
{
	long n = 0;

	__atomic_store_n((pid_t *)p, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stress_stop, __ATOMIC_RELAXED)) {
		sf_mutex_lock(&ma);
		for (int i = 0; i < 20; i++)
			sf_cpu_relax_test();
		sf_mutex_unlock(&ma);
		n++;
		__atomic_fetch_add(&stress_ops, 1, __ATOMIC_RELAXED);
	}
	return (void *)n;
}

static void case_stress_run(void)
{
	pthread_t t[NSTRESS];
	long last = -1, now, lost = 0;
	double end = now_mono() + STRESS_SECS, quiet = 0;
	int i;

	sf_mutexattr_t at;

	phase("stress-run");
	sf_mutexattr_init(&at);
	sf_mutexattr_setbackend(&at, SF_BACKEND_FUTEX);
	sf_mutex_init(&ma, &at);
	for (i = 0; i < NSTRESS; i++)
		pthread_create(&t[i], NULL, stress_worker, &stress_tid[i]);
	while (now_mono() < end) {
		sleep_ms(10);
		progress();
		now = __atomic_load_n(&stress_ops, __ATOMIC_RELAXED);
		if (now != last) {
			last = now;
			quiet = now_mono();
			continue;
		}
		if (now_mono() - quiet > 0.3 &&
		    __atomic_load_n(&ma.__state, __ATOMIC_RELAXED) == 0 &&
		    all_asleep()) {
			lost++;
			syscall(SYS_futex, &ma.__state, FUTEX_WAKE_PRIVATE, NSTRESS,
				NULL, NULL, 0);
			quiet = now_mono();
		}
	}
	__atomic_store_n(&stress_stop, 1, __ATOMIC_RELAXED);
	for (;;) {
		int left = 0;

		for (i = 0; i < NSTRESS; i++)
			left += pthread_tryjoin_np(t[i], NULL) == EBUSY;
		if (!left)
			break;
		syscall(SYS_futex, &ma.__state, FUTEX_WAKE_PRIVATE, NSTRESS,
			NULL, NULL, 0);
		sleep_ms(10);
	}
	diag("stress-run: %ld lock+unlock, lost %ld", stress_ops, lost);
	ok(lost == 0, "stress-run: no wakeup lost (%ld)", lost);
}

static void case_stress(void)
{
	char *argv[] = { NULL, "stress-run", NULL };
	char path[4200];
	int r;

	phase("stress");
	beside_self("mutex-notify", path, sizeof(path));
	argv[0] = path;
	r = run_tap_child(argv, "mutex-no-membarrier", NULL);
	diag("stress: without the membarrier the run %s (a report, not a check)",
	     r == CHILD_PASSED ? "lost no wakeup" :
	     r == CHILD_FAILED ? "LOST wakeups" : "did not finish");
	case_stress_run();
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		{ "overwrite", case_overwrite, 0 },
		{ "sleepers", case_sleepers, 0 },
		{ "retract", case_retract, 0 },
		{ "other-lock", case_other_lock, 0 },
		{ "fork", case_fork, 0 },
		{ "broken", case_broken, 0 },
		{ "fallback", case_fallback, 0 },
		{ "stress", case_stress, 0 },
		{ "stress-run", case_stress_run, 1 },
	};

	watchdog_start(60);
	run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
	return done_testing();
}
