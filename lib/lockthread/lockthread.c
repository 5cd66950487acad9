// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lockthread.c - a helper thread that takes locks for its owner and can be
 * stopped at any moment (MySQL bug #48930 done right).
 *
 * The failure this prevents.  MySQL's backup driver started a "locking
 * thread" that took table locks and held them for the backup.  When the
 * backup was killed at the wrong moment, both threads hung: (1) the
 * helper's error exit left lock_state at LOCK_ERROR while the owner
 * waited for LOCK_DONE; (2) lock_state was written under two different
 * mutexes, so the helper could check "not killed", miss the owner's kill
 * and sleep forever.  The fix: one mutex for all state, the error in a
 * field of its own, a final state reached on every path, and a kill that
 * waits for the helper itself.  That is this file.
 *
 * Shared state.  Every field of struct sf_lockthread below @mutex is read
 * and written only with @mutex held, with two exceptions that are still
 * only *written* under @mutex:
 *   - @event, a futex word bumped (store-release) with every change of
 *     state or request; threads that wait for a change read it under
 *     @mutex, unlock, and sf_wait() on the value they read;
 *   - @cancel, 0 or 1, read without the mutex (load-acquire) by
 *     sf_lockthread_testcancel(), _sleep() and _timedlock(), which sleep
 *     on it; it only goes 0 -> 1.
 * The acquire error is @error, never folded into @state.
 *
 * State machine (@state; S = start, H = helper, E = kill/finish):
 *
 *   INIT --T1--> STARTING --H1--> ACQUIRING --H2--> HELD --H3--> RELEASING
 *     |             |                 |                             |
 *     E1            H1c               H2e                           H4
 *     v             |                 v                             v
 *   JOINED          +-------------> DONE <--------------------------+
 *                                     |
 *                                     E3 (the one reaper joins the thread)
 *                                     v
 *                                   JOINED
 *
 *   T1   start: INIT and not cancelled -> STARTING, pthread_create() with
 *        @mutex held (a failure goes back to INIT unseen).
 *   E1   kill/finish in INIT: cancel, INIT -> JOINED (no thread ever).
 *   H1   helper, first thing under @mutex: cancelled -> DONE (H1c,
 *        acquire never called); else -> ACQUIRING.
 *   H2   acquire returned 0: -> HELD.
 *   H2e  acquire returned an error: @error = it, -> DONE.  Every exit
 *        from acquire reaches DONE or HELD; HELD always goes on to DONE.
 *   H3   in HELD the helper sleeps until @release_req or @cancel; the
 *        check and the read of @event are under @mutex, the same mutex
 *        under which E2 sets them and bumps @event, so a request made
 *        after the check changes @event and the sleep returns at once.
 *        -> RELEASING.
 *   H4   release returned: -> DONE.  release runs once, only after H2.
 *   E2   kill (any state) or finish (state before HELD): @cancel = 1;
 *        both: @release_req = 1; bump @event, wake @event and @cancel.
 *   E3   kill/finish wait until DONE; the first of them to see DONE
 *        becomes the reaper (@reaping), joins the thread without @mutex,
 *        then sets JOINED; the others wait for JOINED.  While the helper
 *        is in ACQUIRING and cancelled, the waiting ends call the
 *        interrupt hook, without @mutex, at once and again after
 *        SF_LOCKTHREAD_INTERRUPT_RETRY_MS, then at doubling intervals
 *        up to SF_LOCKTHREAD_INTERRUPT_RETRY_MAX_MS.
 *   I1   set_interrupt waits until no call of the hook is in progress
 *        (@intr_calls, counted under @mutex), so that when it returns the
 *        old hook's argument may be freed; the end whose call brings the
 *        count to 0 bumps @event and wakes it.
 *   I2   a hook that returns 0 has delivered the interruption for good
 *        (it cancelled a wait in progress, or the kill stays in force, as
 *        sf_lockmgr_kill_client()'s): @intr_done is set under @mutex and
 *        the hook is not called again, unless set_interrupt installed
 *        another hook during the call (@intr_gen changed), which clears
 *        @intr_done and is called in turn.
 *
 * Why kill and finish never hang.  After E2, every path of the helper
 * reaches DONE as long as acquire and release return: H1 checks @cancel
 * under @mutex; acquire is told through @cancel (set before @mutex is
 * released, woken after) and the hook (repeated until it returns 0, so a
 * hook that only interrupts a wait already in progress and found none is
 * delivered again after acquire starts to wait); H3 cannot miss E2 (same
 * mutex, @event read under it); release is not interrupted and must
 * return.  Every change of state
 * bumps @event under @mutex before the wake, and every waiter reads
 * @event under @mutex before it sleeps, so no waiter sleeps through a
 * change (sf_wait compares atomically).  Exactly one end joins; the
 * others wait for JOINED, which the reaper sets after pthread_join()
 * returned, so no thread reads the object after the helper's last access
 * without the join having ordered it.
 *
 * What the waits say (/proc/syncfix/waiters, wait.h's sf_wait_tid()): the
 * helper in H3 waits tagged lockthread-held with its owner (T1's caller)
 * as the holder, kill and finish in E3 tagged lockthread-end with the
 * helper as the holder, wait_held with the helper as the holder; so a
 * helper and an owner that wait for each other, as in the seed, show as a
 * cycle in syncfixctl deadlocks.
 *
 * Sync points (test-hook build): "lockthread:NAME" between every pair of
 * steps, named in the code below; the tests in lib/lockthread/tests/lockthread*.c
 * stop threads there.
 *
 * Deliberately broken protocols, for the tests that prove the tests catch
 * the seed's bugs (test-hook build only, SF_TEST_BROKEN=name; testhooks.h):
 *   error-exit    SF_BROKEN(ERROR_EXIT): H2e ends the thread without
 *                 reaching DONE
 *   two-mutexes   SF_BROKEN(TWO_MUTEXES): H2/H3 run under a second mutex
 *                 that the owner never takes, and the sleep's value is
 *                 read after the check
 *   hook-removal  SF_BROKEN(HOOK_REMOVAL): set_interrupt does not wait for
 *                 a call of the old hook in progress (no I1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "wait.h"
#include <syncfix/lockthread.h>

struct sf_lockthread {
	sf_lockthread_acquire_fn acquire;	/* constant after create */
	sf_lockthread_release_fn release;
	void *arg;

	sf_mutex_t mutex;
	uint32_t event;		/* futex word: bumped on every change */
	uint32_t cancel;	/* futex word: 0 -> 1 on cancel (E2) */
	int state;		/* enum sf_lockthread_state */
	int error;		/* acquire's return value */
	unsigned int release_req : 1;	/* E2 */
	unsigned int killed : 1;	/* sf_lockthread_kill() was called */
	unsigned int reaping : 1;	/* E3: an end is joining the thread */
	unsigned int acquire_called : 1;
	unsigned int release_called : 1;
	unsigned int started : 1;	/* T1 happened */
	pthread_t thread;	/* valid from T1 to JOINED */
	pid_t owner_tid;	/* T1's caller, set at T1 */
	pid_t helper_tid;	/* the helper's tid, set by H1 (0 before) */
	sf_lockthread_interrupt_fn intr_fn;
	void *intr_arg;
	uint64_t intr_id;
	unsigned long interrupts;
	unsigned int intr_calls;	/* hook calls in progress */
	unsigned int intr_gen;		/* bumped by every set_interrupt */
	unsigned int intr_done : 1;	/* I2: the hook returned 0 */
#ifdef SF_TEST_HOOKS
	sf_mutex_t thr_mutex;		/* SF_BROKEN(TWO_MUTEXES) only */
#endif
};

/* The object whose callbacks run on this thread (EDEADLK checks). */
static __thread struct sf_lockthread *lt_self;
/* The object whose interrupt hook this thread is calling. */
static __thread struct sf_lockthread *lt_in_hook;

/* With @mutex held: publish a new state (or request) to the waiters. */
static void lt_changed(struct sf_lockthread *lt)
{
	sf_store_release(&lt->event, sf_load_relaxed(&lt->event) + 1);
}

static void lt_set_state(struct sf_lockthread *lt, int state)
{
	lt->state = state;
	lt_changed(lt);
}

/* Without @mutex: wake everything that waits for a change. */
static void lt_wake(struct sf_lockthread *lt)
{
	sf_wake(&lt->event, INT_MAX, 0);
}

static void lt_lock(struct sf_lockthread *lt)
{
	sf_mutex_lock(&lt->mutex);
}

static void lt_unlock(struct sf_lockthread *lt)
{
	sf_mutex_unlock(&lt->mutex);
}

/*
 * Without @mutex: sleep until @event differs from @ev or @abs passes.
 * @tag and @tid (read under @mutex; 0 if none) say in /proc/syncfix/waiters
 * what the sleeper waits for: the helper holding for its owner, the owner
 * ending it, or anything else (0).
 */
static int lt_sleep(struct sf_lockthread *lt, uint32_t ev, clockid_t clk,
		    const struct timespec *abs, unsigned int tag, pid_t tid)
{
	return sf_wait_tid(&lt->event, ev, abs, clk, tag, tid);
}

/* H3: hold until told to release.  Called and returns with @mutex held. */
static void lt_hold(struct sf_lockthread *lt)
{
	uint32_t ev;

#ifdef SF_TEST_HOOKS
	if (SF_BROKEN(TWO_MUTEXES)) {
		/*
		 * The seed's second mutex: HELD is published, and the
		 * requests checked, under a mutex E2 never takes.  A kill
		 * that lands between the check and the read of @event is
		 * slept through.
		 */
		lt_unlock(lt);
		sf_mutex_lock(&lt->thr_mutex);
		lt_set_state(lt, SF_LOCKTHREAD_HELD);
		lt_wake(lt);
		while (!lt->release_req && !lt->cancel) {
			SF_SYNC_POINT("lockthread:held-wait", lt);
			ev = sf_load_acquire(&lt->event);
			sf_mutex_unlock(&lt->thr_mutex);
			lt_sleep(lt, ev, CLOCK_MONOTONIC, NULL,
				 SF_WAIT_TAG_LT_HELD, lt->owner_tid);
			sf_mutex_lock(&lt->thr_mutex);
		}
		sf_mutex_unlock(&lt->thr_mutex);
		lt_lock(lt);
		return;
	}
#endif
	lt_set_state(lt, SF_LOCKTHREAD_HELD);			/* H2 */
	while (!lt->release_req && !lt->cancel) {		/* H3 */
		pid_t owner = lt->owner_tid;

		ev = sf_load_relaxed(&lt->event);
		lt_unlock(lt);
		lt_wake(lt);
		SF_SYNC_POINT("lockthread:held-wait", lt);
		lt_sleep(lt, ev, CLOCK_MONOTONIC, NULL, SF_WAIT_TAG_LT_HELD,
			 owner);
		lt_lock(lt);
	}
}

static void *lt_helper(void *p)
{
	struct sf_lockthread *lt = p;
	int r;

	lt_self = lt;
	pthread_setname_np(pthread_self(), "sf-lockthread");
	SF_SYNC_POINT("lockthread:helper-begin", lt);
	lt_lock(lt);
	lt->helper_tid = sf_tid();
	if (lt->cancel) {					/* H1c */
		lt_set_state(lt, SF_LOCKTHREAD_DONE);
		goto out;
	}
	lt->acquire_called = 1;
	lt_set_state(lt, SF_LOCKTHREAD_ACQUIRING);		/* H1 */
	lt_unlock(lt);
	lt_wake(lt);

	SF_SYNC_POINT("lockthread:before-acquire", lt);
	r = lt->acquire(lt, lt->arg);
	if (r < 0)
		r = r == INT_MIN ? EINVAL : -r;
	SF_SYNC_POINT("lockthread:after-acquire", lt);

	lt_lock(lt);
	lt->error = r;
	if (r) {						/* H2e */
		if (SF_BROKEN(ERROR_EXIT)) {
			/* The seed's error exit: the thread ends, the state stays. */
			lt_changed(lt);
			lt_unlock(lt);
			lt_wake(lt);
			return NULL;
		}
		lt_set_state(lt, SF_LOCKTHREAD_DONE);
		goto out;
	}
	lt_hold(lt);						/* H2, H3 */
	lt->release_called = lt->release != NULL;
	lt_set_state(lt, SF_LOCKTHREAD_RELEASING);
	lt_unlock(lt);
	lt_wake(lt);

	SF_SYNC_POINT("lockthread:before-release", lt);
	if (lt->release)
		lt->release(lt, lt->arg);
	SF_SYNC_POINT("lockthread:after-release", lt);

	lt_lock(lt);
	lt_set_state(lt, SF_LOCKTHREAD_DONE);			/* H4 */
out:
	lt_unlock(lt);
	lt_wake(lt);
	SF_SYNC_POINT("lockthread:helper-end", lt);
	return NULL;
}

SF_EXPORT int sf_lockthread_create(struct sf_lockthread **ltp,
				   sf_lockthread_acquire_fn acquire,
				   sf_lockthread_release_fn release, void *arg)
{
	struct sf_lockthread *lt;

	if (!ltp || !acquire)
		return EINVAL;
	lt = calloc(1, sizeof(*lt));
	if (!lt)
		return ENOMEM;
	lt->acquire = acquire;
	lt->release = release;
	lt->arg = arg;
	sf_mutex_init(&lt->mutex, NULL);
#ifdef SF_TEST_HOOKS
	sf_mutex_init(&lt->thr_mutex, NULL);
#endif
	lt->state = SF_LOCKTHREAD_INIT;
	*ltp = lt;
	return 0;
}

SF_EXPORT int sf_lockthread_start(struct sf_lockthread *lt)
{
	sigset_t all, old;
	int r;

	if (!lt)
		return EINVAL;
	lt_lock(lt);
	if (lt->state != SF_LOCKTHREAD_INIT) {
		r = lt->started ? EBUSY : ECANCELED;
		lt_unlock(lt);
		return r;
	}
	/* T1: the helper inherits a mask with every signal blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	lt->owner_tid = sf_tid();
	r = pthread_create(&lt->thread, NULL, lt_helper, lt);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!r) {
		lt->started = 1;
		lt_set_state(lt, SF_LOCKTHREAD_STARTING);
	}
	lt_unlock(lt);
	if (!r)
		lt_wake(lt);
	SF_SYNC_POINT("lockthread:start-created", lt);
	return r;
}

/* With @mutex held: the locks are held and nobody asked for them back. */
static int lt_holding(const struct sf_lockthread *lt)
{
	return lt->state == SF_LOCKTHREAD_HELD && !lt->release_req &&
	       !lt->cancel;
}

SF_EXPORT int sf_lockthread_wait_held(struct sf_lockthread *lt,
				      clockid_t clockid,
				      const struct timespec *abstime)
{
	uint32_t ev;
	int r = 0;

	if (!lt || (abstime && (!sf_clock_valid(clockid) ||
				!sf_timespec_valid(abstime))))
		return EINVAL;
	if (lt_self == lt)
		return EDEADLK;
	lt_lock(lt);
	if (lt->state == SF_LOCKTHREAD_INIT) {
		lt_unlock(lt);
		return EINVAL;
	}
	while (lt->state < SF_LOCKTHREAD_HELD && r != ETIMEDOUT) {
		pid_t helper = lt->helper_tid;

		ev = sf_load_relaxed(&lt->event);
		lt_unlock(lt);
		SF_SYNC_POINT("lockthread:wait-held-wait", lt);
		r = lt_sleep(lt, ev, clockid, abstime, 0, helper);
		lt_lock(lt);
	}
	if (lt->state < SF_LOCKTHREAD_HELD)
		r = ETIMEDOUT;
	else if (lt_holding(lt))
		r = 0;
	else
		r = lt->error ? lt->error : ECANCELED;
	lt_unlock(lt);
	return r;
}

/* The time @ms from now on @clk. */
static struct timespec lt_after_ms(clockid_t clk, long ms)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_nsec += ms * 1000000L;
	while (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* E3, with @mutex held on entry and on return: wait for JOINED. */
static void lt_wait_end(struct sf_lockthread *lt)
{
	struct timespec next, *dl;
	long delay = SF_LOCKTHREAD_INTERRUPT_RETRY_MS;
	sf_lockthread_interrupt_fn fn;
	unsigned int gen;
	void *arg;
	uint64_t id;
	uint32_t ev;
	pid_t helper;
	pthread_t t;
	int r;

	while (lt->state != SF_LOCKTHREAD_JOINED) {
		if (lt->state == SF_LOCKTHREAD_DONE && !lt->reaping) {
			lt->reaping = 1;
			t = lt->thread;
			lt_unlock(lt);
			SF_SYNC_POINT("lockthread:before-join", lt);
			pthread_join(t, NULL);
			lt_lock(lt);
			lt_set_state(lt, SF_LOCKTHREAD_JOINED);
			lt_unlock(lt);
			lt_wake(lt);
			SF_SYNC_POINT("lockthread:joined", lt);
			lt_lock(lt);
			break;
		}
		dl = NULL;
		if (lt->state == SF_LOCKTHREAD_ACQUIRING && lt->cancel &&
		    lt->intr_fn && !lt->intr_done) {
			fn = lt->intr_fn;
			arg = lt->intr_arg;
			id = lt->intr_id;
			gen = lt->intr_gen;
			lt->interrupts++;
			lt->intr_calls++;
			lt_unlock(lt);
			SF_SYNC_POINT("lockthread:before-interrupt", lt);
			lt_in_hook = lt;
			r = fn(arg, id);
			lt_in_hook = NULL;
			next = lt_after_ms(CLOCK_MONOTONIC, delay);
			if (delay < SF_LOCKTHREAD_INTERRUPT_RETRY_MAX_MS)
				delay *= 2;
			dl = &next;
			lt_lock(lt);
			/* I2: delivered for good, unless replaced meanwhile */
			if (!r && gen == lt->intr_gen)
				lt->intr_done = 1;
			if (!--lt->intr_calls) {		/* I1 */
				lt_changed(lt);
				lt_unlock(lt);
				lt_wake(lt);
				lt_lock(lt);
			}
			/* the state may have changed during the hook */
			if (lt->state != SF_LOCKTHREAD_ACQUIRING)
				continue;
		}
		helper = lt->helper_tid;
		ev = sf_load_relaxed(&lt->event);
		lt_unlock(lt);
		SF_SYNC_POINT("lockthread:end-wait", lt);
		lt_sleep(lt, ev, CLOCK_MONOTONIC, dl, SF_WAIT_TAG_LT_END, helper);
		lt_lock(lt);
	}
}

/* Kill (@kill) or finish: E1/E2, then E3. */
static int lt_end(struct sf_lockthread *lt, int kill)
{
	int r;

	if (!lt)
		return EINVAL;
	if (lt_self == lt)
		return EDEADLK;
	lt_lock(lt);
	if (kill)
		lt->killed = 1;
	if ((kill || lt->state < SF_LOCKTHREAD_HELD) && !lt->cancel)
		sf_store_release(&lt->cancel, 1);		/* E2 */
	lt->release_req = 1;
	if (lt->state == SF_LOCKTHREAD_INIT)			/* E1 */
		lt->state = SF_LOCKTHREAD_JOINED;
	lt_changed(lt);
	lt_unlock(lt);
	sf_wake(&lt->cancel, INT_MAX, 0);
	lt_wake(lt);
	SF_SYNC_POINT("lockthread:end-marked", lt);

	lt_lock(lt);
	lt_wait_end(lt);					/* E3 */
	r = lt->error;
	lt_unlock(lt);
	return r;
}

SF_EXPORT int sf_lockthread_finish(struct sf_lockthread *lt)
{
	return lt_end(lt, 0);
}

SF_EXPORT int sf_lockthread_kill(struct sf_lockthread *lt)
{
	return lt_end(lt, 1);
}

SF_EXPORT void sf_lockthread_destroy(struct sf_lockthread *lt)
{
	if (!lt || lt_self == lt)	/* from a callback: cannot end */
		return;
	lt_end(lt, 1);
	sf_mutex_destroy(&lt->mutex);
	free(lt);
}

SF_EXPORT int sf_lockthread_set_interrupt(struct sf_lockthread *lt,
					  sf_lockthread_interrupt_fn fn,
					  void *arg, uint64_t id)
{
	uint32_t ev;

	if (!lt)
		return EINVAL;
	lt_lock(lt);
	/* I1: no call of the old hook may outlast this function. */
	while (lt->intr_calls && lt_in_hook != lt && !SF_BROKEN(HOOK_REMOVAL)) {
		ev = sf_load_relaxed(&lt->event);
		lt_unlock(lt);
		SF_SYNC_POINT("lockthread:set-interrupt-wait", lt);
		lt_sleep(lt, ev, CLOCK_MONOTONIC, NULL, 0, 0);
		lt_lock(lt);
	}
	lt->intr_fn = fn;
	lt->intr_arg = arg;
	lt->intr_id = id;
	lt->intr_gen++;
	lt->intr_done = 0;
	lt_changed(lt);		/* a waiting end calls the new hook at once */
	lt_unlock(lt);
	lt_wake(lt);
	return 0;
}

SF_EXPORT int sf_lockthread_testcancel(const struct sf_lockthread *lt)
{
	if (!lt)
		return EINVAL;
	return sf_load_acquire(&lt->cancel) ? ECANCELED : 0;
}

SF_EXPORT int sf_lockthread_sleep(struct sf_lockthread *lt, clockid_t clockid,
				  const struct timespec *abstime)
{
	if (!lt || (abstime && (!sf_clock_valid(clockid) ||
				!sf_timespec_valid(abstime))))
		return EINVAL;
	for (;;) {
		if (sf_load_acquire(&lt->cancel))
			return ECANCELED;
		if (sf_wait(&lt->cancel, 0, abstime, clockid, 0) == ETIMEDOUT)
			return sf_load_acquire(&lt->cancel) ? ECANCELED :
							      ETIMEDOUT;
	}
}

/* a < b */
static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

SF_EXPORT int sf_lockthread_timedlock(struct sf_lockthread *lt, sf_mutex_t *m,
				      clockid_t clockid,
				      const struct timespec *abstime)
{
	struct timespec slice;
	int r, last;

	if (!lt || !m || !sf_clock_valid(clockid) ||
	    (abstime && !sf_timespec_valid(abstime)))
		return EINVAL;
	for (;;) {
		if (sf_load_acquire(&lt->cancel))
			return ECANCELED;
		slice = lt_after_ms(clockid, SF_LOCKTHREAD_SLICE_MS);
		last = abstime && !ts_before(&slice, abstime);
		r = sf_mutex_timedlock(m, clockid, last ? abstime : &slice);
		if (r != ETIMEDOUT)
			return r;
		if (last)
			return sf_load_acquire(&lt->cancel) ? ECANCELED :
							      ETIMEDOUT;
	}
}

SF_EXPORT int sf_lockthread_status(struct sf_lockthread *lt,
				   struct sf_lockthread_status *st)
{
	if (!lt || !st)
		return EINVAL;
	*st = (struct sf_lockthread_status){ 0 };
	lt_lock(lt);
	st->state = lt->state;
	st->error = lt->error;
	st->acquire_called = lt->acquire_called;
	st->release_called = lt->release_called;
	st->killed = lt->killed;
	st->cancelled = lt->cancel != 0;
	st->interrupts = lt->interrupts;
	lt_unlock(lt);
	return 0;
}
