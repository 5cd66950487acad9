// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: locking thread killed at every point of its protocol (MySQL bug #48930), each driven deterministically by sync points and repeated 1,000 times; release runs exactly once iff acquire succeeded; kill and finish never hang */
/*
 * Usage: lockthread-killpoints [CASE]...   (default: every case)
 *
 * Each case stops the helper (and, where it matters, an owner thread) at
 * named sync points of lib/lockthread/lockthread.c with dsync, kills or finishes
 * at that moment, and checks: the result of kill/finish/wait_held, how
 * often acquire and release ran, and the final state.  Each case is
 * repeated LOCKTHREAD_ITERS times (default 1,000) under the hang
 * watchdog (LOCKTHREAD_WATCHDOG seconds, default 10).  Under TSAN, to stay
 * well under 20 s on a loaded machine, each case runs a quarter as often
 * (250), and the cases that start threads of their own per iteration an
 * eighth as often (125); in make check's ASAN run (SF_TEST_VARIANT=asan)
 * half (500) and a quarter (250).  The plain build runs every case 1,000
 * times.
 *
 * lockthread-broken runs this program with the seed's bugs put back
 * (SF_TEST_BROKEN=error-exit, two-mutexes, hook-removal) and expects the
 * cases named there to hang or fail.
 */
#include "test.h"

#include <sched.h>
#include <sys/syscall.h>

#include <syncfix.h>

#include "testhooks.h"

enum acq_mode {
	ACQ_OK,		/* return 0 */
	ACQ_FAIL,	/* return EDEADLK */
	ACQ_SLEEP,	/* sf_lockthread_sleep() until cancelled */
	ACQ_POLL,	/* poll sf_lockthread_testcancel() */
	ACQ_MUTEX,	/* sf_lockthread_timedlock() on a mutex main holds */
	ACQ_HOOK,	/* a request of a fake lock manager, killed by the hook */
	ACQ_POINT,	/* stop at "test:in-acquire", then return ECANCELED */
	ACQ_SET_HOOK,	/* ...and set the interrupt hook before returning */
};

/*
 * A minimal stand-in for the lock manager's kill: it cancels a request
 * only if one is pending when it is called (like sf_lockmgr_kill), so a
 * kill that comes before the request waits is lost unless redelivered.
 * glibc primitives: independent of the code under test.
 */
struct fake_mgr {
	pthread_mutex_t m;
	pthread_cond_t c;
	int pending, killed;
	unsigned long kills, lost;
};

struct ctx {
	enum acq_mode mode;
	int acquires, releases, release_saw_killed;
	sf_mutex_t mutex;
	struct fake_mgr mgr;
};

static int fake_kill(void *arg, uint64_t id);

static int acquire(struct sf_lockthread *lt, void *arg)
{
	struct ctx *c = arg;
	struct fake_mgr *g = &c->mgr;
	int r;

	__atomic_fetch_add(&c->acquires, 1, __ATOMIC_RELAXED);
	switch (c->mode) {
	case ACQ_OK:
		return 0;
	case ACQ_FAIL:
		return EDEADLK;
	case ACQ_SLEEP:
		return sf_lockthread_sleep(lt, CLOCK_MONOTONIC, NULL);
	case ACQ_POLL:
		while (!(r = sf_lockthread_testcancel(lt)))
			sched_yield();
		return r;
	case ACQ_MUTEX:
		return sf_lockthread_timedlock(lt, &c->mutex, CLOCK_MONOTONIC,
					       NULL);
	case ACQ_HOOK:
		/* stopped here, the first hook call finds nothing pending */
		SF_SYNC_POINT("test:before-request", c);
		pthread_mutex_lock(&g->m);
		g->pending = 1;
		while (!g->killed)
			pthread_cond_wait(&g->c, &g->m);
		g->pending = 0;
		pthread_mutex_unlock(&g->m);
		return ECANCELED;
	case ACQ_POINT:
	case ACQ_SET_HOOK:
		SF_SYNC_POINT("test:in-acquire", c);
		if (c->mode == ACQ_SET_HOOK)
			sf_lockthread_set_interrupt(lt, fake_kill, g, 43);
		return ECANCELED;
	}
	return EINVAL;
}

static void release(struct sf_lockthread *lt, void *arg)
{
	struct ctx *c = arg;
	struct sf_lockthread_status st;

	__atomic_fetch_add(&c->releases, 1, __ATOMIC_RELAXED);
	if (!sf_lockthread_status(lt, &st) && st.killed)
		__atomic_store_n(&c->release_saw_killed, 1, __ATOMIC_RELAXED);
	if (c->mode == ACQ_MUTEX)
		sf_mutex_unlock(&c->mutex);
}

static int fake_kill(void *arg, uint64_t id)
{
	struct fake_mgr *g = arg;
	int r = 0;

	(void)id;
	pthread_mutex_lock(&g->m);
	g->kills++;
	if (g->pending) {
		g->killed = 1;
		pthread_cond_broadcast(&g->c);
	} else {
		g->lost++;
		r = ENOENT;
	}
	pthread_mutex_unlock(&g->m);
	dsync_signal("hook-called");
	return r;
}

/* ---- one iteration ------------------------------------------------------ */

static struct ctx C;
static struct sf_lockthread *LT;
static char why[256];

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			snprintf(why, sizeof(why), __VA_ARGS__);	\
			return 0;					\
		}							\
	} while (0)

static void setup(enum acq_mode mode)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

	dsync_reset();
	memset(&C, 0, sizeof(C));
	C.mode = mode;
	C.mgr.m = m;
	C.mgr.c = cv;
	sf_mutex_init(&C.mutex, NULL);
	if (sf_lockthread_create(&LT, acquire, release, &C))
		LT = NULL;
}

/* The end of every iteration: counts and final state. */
static int verify(int want_acq, int want_rel)
{
	struct sf_lockthread_status st;
	int acq = __atomic_load_n(&C.acquires, __ATOMIC_RELAXED);
	int rel = __atomic_load_n(&C.releases, __ATOMIC_RELAXED);

	CHECK(!sf_lockthread_status(LT, &st), "status failed");
	CHECK(st.state == SF_LOCKTHREAD_JOINED, "final state %d, want JOINED",
	      st.state);
	CHECK(acq == want_acq, "acquire ran %d times, want %d", acq, want_acq);
	CHECK(rel == want_rel, "release ran %d times, want %d", rel, want_rel);
	CHECK(st.release_called == (rel > 0), "status.release_called %d",
	      st.release_called);
	sf_lockthread_destroy(LT);
	LT = NULL;
	return 1;
}

static int kill_expect(int want)
{
	int r = sf_lockthread_kill(LT);

	CHECK(r == want, "kill returned %d (%s), want %d", r, strerror(r), want);
	return 1;
}

/* Stop the helper at @point until the owner's kill/finish has marked. */
static void stop_helper_until_marked(const char *point)
{
	dsync_arm(point, NULL, "helper-stopped", "marked", 1);
	dsync_arm("lockthread:end-marked", NULL, "marked", NULL, 1);
}

static int start_and_wait(const char *sig)
{
	int r = sf_lockthread_start(LT);

	CHECK(r == 0, "start returned %d", r);
	CHECK(dsync_wait_for(sig, 10000), "no \"%s\" within 10 s", sig);
	return 1;
}

/* ---- threads for the cases with a second and third caller --------------- */

struct caller {
	pthread_t t;
	pid_t tid;
	const char *name;
	int (*fn)(struct sf_lockthread *);
	int r;		/* -1 until fn returned */
};

static void *caller_main(void *p)
{
	struct caller *k = p;

	dsync_thread(k->name);
	__atomic_store_n(&k->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	__atomic_store_n(&k->r, k->fn(LT), __ATOMIC_RELEASE);
	return NULL;
}

static int wait_held_forever(struct sf_lockthread *lt)
{
	return sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, NULL);
}

static void caller_start(struct caller *k, const char *name,
			 int (*fn)(struct sf_lockthread *))
{
	k->name = name;
	k->fn = fn;
	k->r = -1;
	k->tid = 0;
	pthread_create(&k->t, NULL, caller_main, k);
}

/*
 * Run @a (thread @an) until the signal @a_sig is raised, then @b (thread
 * @bn) beside it; both must return @want.
 */
static int two_callers(int (*a)(struct sf_lockthread *), const char *an,
		       const char *a_sig, int (*b)(struct sf_lockthread *),
		       const char *bn, int want)
{
	struct caller x, y;
	int reached;

	caller_start(&x, an, a);
	reached = dsync_wait_for(a_sig, 10000);
	caller_start(&y, bn, b);
	pthread_join(x.t, NULL);
	pthread_join(y.t, NULL);
	CHECK(reached, "no \"%s\" from %s", a_sig, an);
	CHECK(x.r == want && y.r == want, "%s returned %d, %s returned %d",
	      an, x.r, bn, y.r);
	return 1;
}

/* Start and wait until the locks are held. */
static int start_held(void)
{
	int r = sf_lockthread_start(LT);

	CHECK(r == 0, "start returned %d", r);
	r = sf_lockthread_wait_held(LT, CLOCK_MONOTONIC, NULL);
	CHECK(r == 0, "wait_held returned %d", r);
	return 1;
}

/* ---- the cases ---------------------------------------------------------- */

/* Killed before sf_lockthread_start(): the helper never runs. */
static int c_before_start(void)
{
	int r;

	setup(ACQ_OK);
	if (!kill_expect(0))
		return 0;
	r = sf_lockthread_start(LT);
	CHECK(r == ECANCELED, "start after kill returned %d", r);
	r = sf_lockthread_wait_held(LT, CLOCK_MONOTONIC, NULL);
	CHECK(r == ECANCELED, "wait_held returned %d", r);
	return verify(0, 0);
}

/* Killed after start, before the helper thread took the mutex (H1c). */
static int c_before_helper_runs(void)
{
	int r;

	setup(ACQ_OK);
	stop_helper_until_marked("lockthread:helper-begin");
	if (!start_and_wait("helper-stopped") || !kill_expect(0))
		return 0;
	r = sf_lockthread_wait_held(LT, CLOCK_MONOTONIC, NULL);
	CHECK(r == ECANCELED, "wait_held returned %d", r);
	return verify(0, 0);
}

/* Killed while acquire blocks; @mode is how acquire learns of it. */
static int during_acquire(enum acq_mode mode)
{
	setup(mode);
	if (mode == ACQ_MUTEX)
		sf_mutex_lock(&C.mutex);
	if (mode == ACQ_HOOK)
		sf_lockthread_set_interrupt(LT, fake_kill, &C.mgr, 42);
	dsync_arm("lockthread:before-acquire", NULL, "in-acquire", NULL, 1);
	if (!start_and_wait("in-acquire") || !kill_expect(ECANCELED))
		return 0;
	if (mode == ACQ_MUTEX)
		sf_mutex_unlock(&C.mutex);
	return verify(1, 0);
}

static int c_acquire_sleep(void) { return during_acquire(ACQ_SLEEP); }
static int c_acquire_poll(void) { return during_acquire(ACQ_POLL); }
static int c_acquire_mutex(void) { return during_acquire(ACQ_MUTEX); }
static int c_acquire_hook(void) { return during_acquire(ACQ_HOOK); }

/*
 * The hook's first call comes before acquire's request is pending (so it
 * is lost, as sf_lockmgr_kill on a request not yet made); the kill must
 * deliver it again.
 */
static int c_acquire_hook_early(void)
{
	struct sf_lockthread_status st;

	setup(ACQ_HOOK);
	sf_lockthread_set_interrupt(LT, fake_kill, &C.mgr, 42);
	dsync_arm("test:before-request", NULL, "in-acquire", "hook-called", 1);
	if (!start_and_wait("in-acquire") || !kill_expect(ECANCELED))
		return 0;
	sf_lockthread_status(LT, &st);
	CHECK(C.mgr.lost >= 1 && st.interrupts >= 2,
	      "hook calls %lu, lost %lu: the early kill was not redelivered",
	      st.interrupts, C.mgr.lost);
	return verify(1, 0);
}

/* acquire succeeded; killed before the helper published HELD. */
static int c_after_acquire(void)
{
	int r;

	setup(ACQ_OK);
	stop_helper_until_marked("lockthread:after-acquire");
	if (!start_and_wait("helper-stopped") || !kill_expect(0))
		return 0;
	r = sf_lockthread_wait_held(LT, CLOCK_MONOTONIC, NULL);
	CHECK(r == ECANCELED, "wait_held after kill returned %d", r);
	CHECK(C.release_saw_killed, "release did not see the kill");
	return verify(1, 1);
}

/*
 * HELD published, the helper has checked for requests and not yet slept:
 * the window of the seed's two-mutex race.
 */
static int c_held_window(void)
{
	setup(ACQ_OK);
	stop_helper_until_marked("lockthread:held-wait");
	if (!start_and_wait("helper-stopped") || !kill_expect(0))
		return 0;
	return verify(1, 1);
}

/* Killed (or finished) once the owner saw the locks held. */
static int held_then(int kill)
{
	int r;

	setup(ACQ_OK);
	if (!start_held())
		return 0;
	r = kill ? sf_lockthread_kill(LT) : sf_lockthread_finish(LT);
	CHECK(r == 0, "%s returned %d", kill ? "kill" : "finish", r);
	CHECK(C.release_saw_killed == kill, "release saw killed = %d",
	      C.release_saw_killed);
	return verify(1, 1);
}

static int c_held_kill(void) { return held_then(1); }
static int c_held_finish(void) { return held_then(0); }

/* acquire failed and the owner saw the error, then kills. */
static int c_after_error(void)
{
	int r;

	setup(ACQ_FAIL);
	r = sf_lockthread_start(LT);
	CHECK(r == 0, "start returned %d", r);
	r = sf_lockthread_wait_held(LT, CLOCK_MONOTONIC, NULL);
	CHECK(r == EDEADLK, "wait_held returned %d, want EDEADLK", r);
	if (!kill_expect(EDEADLK))
		return 0;
	return verify(1, 0);
}

/* acquire failed; killed before the helper took the error exit. */
static int c_error_exit(void)
{
	setup(ACQ_FAIL);
	stop_helper_until_marked("lockthread:after-acquire");
	if (!start_and_wait("helper-stopped") || !kill_expect(EDEADLK))
		return 0;
	return verify(1, 0);
}

/*
 * The seed's scenario (backup_interruption): the driver starts the
 * locking thread, the owner is killed before it waits for the lock state,
 * and destroys the helper, whose acquire is interrupted and fails.
 */
static int c_seed(void)
{
	struct ctx *c = &C;

	setup(ACQ_SLEEP);
	dsync_arm("lockthread:before-acquire", NULL, "in-acquire", NULL, 1);
	if (!start_and_wait("in-acquire"))
		return 0;
	sf_lockthread_destroy(LT);	/* must not hang */
	LT = NULL;
	CHECK(c->acquires == 1 && c->releases == 0,
	      "acquire %d, release %d times", c->acquires, c->releases);
	return 1;
}

/* finish in another thread is inside release when a kill comes. */
static int c_during_release(void)
{
	setup(ACQ_OK);
	dsync_arm("lockthread:before-release", NULL, "in-release", "k-waiting",
		  1);
	dsync_arm("lockthread:end-wait", "K", "k-waiting", NULL, 1);
	if (!start_held() ||
	    !two_callers(sf_lockthread_finish, "F", "in-release",
			 sf_lockthread_kill, "K", 0))
		return 0;
	return verify(1, 1);
}

/*
 * Two kills in a row during acquire (the second after the end), then a
 * finish; then two kills at once from two threads while held, the first
 * stopped before its join while the second waits.
 */
static int c_double_kill(void)
{
	int r;

	setup(ACQ_SLEEP);
	dsync_arm("lockthread:before-acquire", NULL, "in-acquire", NULL, 1);
	if (!start_and_wait("in-acquire") || !kill_expect(ECANCELED) ||
	    !kill_expect(ECANCELED))
		return 0;
	r = sf_lockthread_finish(LT);
	CHECK(r == ECANCELED, "finish after kill returned %d", r);
	if (!verify(1, 0))
		return 0;

	setup(ACQ_OK);
	dsync_arm("lockthread:before-join", "killer1", "killer1-joining",
		  "killer2-waiting", 1);
	dsync_arm("lockthread:end-wait", "killer2", "killer2-waiting", NULL, 1);
	if (!start_held() ||
	    !two_callers(sf_lockthread_kill, "killer1", "killer1-joining",
			 sf_lockthread_kill, "killer2", 0))
		return 0;
	return verify(1, 1);
}

/*
 * Kill and finish from two threads: F becomes the reaper and is stopped
 * before its join while K waits for the end; then the other way round
 * with the helper blocked in acquire.
 */
static int c_kill_finish_threads(void)
{
	setup(ACQ_OK);
	dsync_arm("lockthread:before-join", "F", "f-joining", "k-waiting", 1);
	dsync_arm("lockthread:end-wait", "K", "k-waiting", NULL, 1);
	if (!start_held() ||
	    !two_callers(sf_lockthread_finish, "F", "f-joining",
			 sf_lockthread_kill, "K", 0) ||
	    !verify(1, 1))
		return 0;

	setup(ACQ_SLEEP);
	dsync_arm("lockthread:before-acquire", NULL, "in-acquire", NULL, 1);
	dsync_arm("lockthread:before-join", "K", "k-joining", "f-waiting", 1);
	dsync_arm("lockthread:end-wait", "F", "f-waiting", NULL, 1);
	if (!start_and_wait("in-acquire") ||
	    !two_callers(sf_lockthread_kill, "K", "k-joining",
			 sf_lockthread_finish, "F", ECANCELED))
		return 0;
	return verify(1, 0);
}

static int nop_hook(void *arg, uint64_t id)
{
	(void)arg;
	(void)id;
	return 0;
}

static int clear_hook(struct sf_lockthread *lt)
{
	return sf_lockthread_set_interrupt(lt, NULL, NULL, 0);
}

/*
 * I1: K is about to call the hook when S removes it; S must not return
 * (it sleeps) until K's call is over, so that S's caller may free the
 * hook's argument.
 */
static int c_hook_removal_waits(void)
{
	struct caller k, s;
	int reached, blocked = 0, early = 0;
	pid_t tid;

	setup(ACQ_POINT);
	sf_lockthread_set_interrupt(LT, nop_hook, &C, 1);
	dsync_arm("test:in-acquire", NULL, "in-acquire", "acq-go", 1);
	dsync_arm("lockthread:before-interrupt", "K", "k-hook", "go", 1);
	if (!start_and_wait("in-acquire"))
		return 0;
	caller_start(&k, "K", sf_lockthread_kill);
	reached = dsync_wait_for("k-hook", 10000);
	caller_start(&s, "S", clear_hook);
	for (double t0 = now_mono(); !blocked && !early &&
	     now_mono() - t0 < 10;) {
		tid = __atomic_load_n(&s.tid, __ATOMIC_ACQUIRE);
		early = __atomic_load_n(&s.r, __ATOMIC_ACQUIRE) != -1;
		blocked = tid && !early && tid_sleeping(tid);
		if (!blocked && !early)
			sched_yield();
	}
	dsync_signal("go");
	dsync_signal("acq-go");
	pthread_join(k.t, NULL);
	pthread_join(s.t, NULL);
	CHECK(reached, "K did not reach the hook");
	CHECK(!early, "set_interrupt returned during a call of the old hook");
	CHECK(blocked, "S never slept");
	CHECK(k.r == ECANCELED && s.r == 0, "kill %d, set_interrupt %d",
	      k.r, s.r);
	return verify(1, 0);
}

/*
 * I1 from acquire: the helper replaces the hook while K is calling it and
 * sleeps until K's call is over; K must wake it.
 */
static int c_hook_set_during_call(void)
{
	struct caller k;
	int reached;

	setup(ACQ_SET_HOOK);
	sf_lockthread_set_interrupt(LT, nop_hook, &C, 1);
	dsync_arm("test:in-acquire", NULL, "in-acquire", "k-hook", 1);
	dsync_arm("lockthread:before-interrupt", "K", "k-hook",
		  "helper-waiting", 1);
	dsync_arm("lockthread:set-interrupt-wait", NULL, "helper-waiting",
		  NULL, 1);
	if (!start_and_wait("in-acquire"))
		return 0;
	caller_start(&k, "K", sf_lockthread_kill);
	reached = dsync_wait_for("helper-waiting", 10000);
	pthread_join(k.t, NULL);
	CHECK(reached, "the helper did not wait for the hook call");
	CHECK(k.r == ECANCELED, "kill returned %d", k.r);
	return verify(1, 0);
}

/* An owner thread blocked in wait_held is released by a kill. */
static int c_kill_wakes_waiter(void)
{
	struct caller o;

	setup(ACQ_SLEEP);
	dsync_arm("lockthread:before-acquire", NULL, "in-acquire", NULL, 1);
	dsync_arm("lockthread:wait-held-wait", "O", "o-waiting", NULL, 1);
	if (!start_and_wait("in-acquire"))
		return 0;
	caller_start(&o, "O", wait_held_forever);
	CHECK(dsync_wait_for("o-waiting", 10000), "O did not wait");
	if (!kill_expect(ECANCELED))
		return 0;
	pthread_join(o.t, NULL);
	CHECK(o.r == ECANCELED, "wait_held returned %d", o.r);
	return verify(1, 0);
}

/* ---- driver ------------------------------------------------------------- */

struct tcase {
	const char *name;
	int (*fn)(void);
	int threads;	/* starts threads of its own: fewer under TSAN */
};

static const struct tcase cases[] = {
	{ "before-start", c_before_start, 0 },
	{ "before-helper-runs", c_before_helper_runs, 0 },
	{ "acquire-sleep", c_acquire_sleep, 0 },
	{ "acquire-poll", c_acquire_poll, 0 },
	{ "acquire-mutex", c_acquire_mutex, 0 },
	{ "acquire-hook", c_acquire_hook, 0 },
	{ "acquire-hook-early", c_acquire_hook_early, 0 },
	{ "after-acquire", c_after_acquire, 0 },
	{ "held-window", c_held_window, 0 },
	{ "held-kill", c_held_kill, 0 },
	{ "held-finish", c_held_finish, 0 },
	{ "after-error", c_after_error, 0 },
	{ "error-exit", c_error_exit, 0 },
	{ "seed", c_seed, 0 },
	{ "during-release", c_during_release, 1 },
	{ "double-kill", c_double_kill, 1 },
	{ "kill-finish-threads", c_kill_finish_threads, 1 },
	{ "kill-wakes-waiter", c_kill_wakes_waiter, 1 },
	{ "hook-removal-waits", c_hook_removal_waits, 1 },
	{ "hook-set-during-call", c_hook_set_during_call, 1 },
};

static void run_case(const struct tcase *tc, long iters)
{
	double t0 = now_mono();
	long i;

	phase(tc->name);
#ifdef TEST_TSAN
	iters /= tc->threads ? 8 : 4;
#else
	const char *v = getenv("SF_TEST_VARIANT");	/* set by make check */

	if (v && !strcmp(v, "asan"))
		iters /= tc->threads ? 4 : 2;
#endif
	if (iters < 1)
		iters = 1;
	for (i = 0; i < iters; i++) {
		why[0] = 0;
		if (!tc->fn()) {
			ok(0, "%s: iteration %ld of %ld: %s", tc->name, i + 1,
			   iters, why);
			return;
		}
		progress();
	}
	ok(1, "%s: %ld iterations in %.2f s", tc->name, iters,
	   now_mono() - t0);
}

int main(int argc, char **argv)
{
	const char *e = getenv("LOCKTHREAD_ITERS");
	const char *w = getenv("LOCKTHREAD_WATCHDOG");
	long iters = e ? atol(e) : 1000;
	size_t i;
	int a, found;

	/*
	 * Only finished iterations count as progress: a kill that calls its
	 * interrupt hook again and again passes a sync point each time.
	 */
	dsync_progress = 0;
	watchdog_start(w ? atoi(w) : 10);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		found = argc < 2;
		for (a = 1; a < argc; a++)
			found |= !strcmp(argv[a], cases[i].name);
		if (found)
			run_case(&cases[i], iters > 0 ? iters : 1);
	}
	return done_testing();
}
