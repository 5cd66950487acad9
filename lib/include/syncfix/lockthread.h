/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * syncfix/lockthread.h - a helper thread that takes locks for its owner
 * and can be stopped at any moment.
 *
 * The owner creates the object with two callbacks and an argument and
 * starts it.  The helper thread calls acquire (which may block for a long
 * time), then holds what it acquired until it is told to release, then
 * calls release and ends.  The owner may
 *
 *   - wait until the locks are held, with a deadline:
 *     sf_lockthread_wait_held() returns 0, or acquire's error;
 *   - end it normally: sf_lockthread_finish() releases and waits;
 *   - kill it at any moment -- before it was started, before the helper
 *     runs, while acquire blocks, once the locks are held, after acquire
 *     failed, during release -- and wait for its end: sf_lockthread_kill().
 *
 * Kill and finish never hang (as long as acquire honours a kill by one of
 * the three means below, and release returns), may be called any number
 * of times, from any thread and concurrently, and return acquire's error
 * (0 if acquire succeeded or never ran).  release runs exactly once when,
 * and only when, acquire returned 0.  When kill or finish returns, the
 * helper thread has ended and been joined.
 *
 * Interrupting an acquire that blocks.  Kill (and finish before the locks
 * are held) cancels the acquisition; acquire learns of it by:
 *
 *   (a) polling: sf_lockthread_testcancel() returns ECANCELED;
 *   (b) waiting through the object: sf_lockthread_sleep() and
 *       sf_lockthread_timedlock() return ECANCELED at once when the helper
 *       is killed (an sf_mutex is taken in slices of
 *       SF_LOCKTHREAD_SLICE_MS, so a kill is seen within one slice);
 *   (c) an interrupt hook for a helper blocked in another subsystem:
 *       sf_lockthread_set_interrupt(lt, fn, arg, id).  Kill calls
 *       fn(arg, id) without holding any lock of the object, at once,
 *       then again after SF_LOCKTHREAD_INTERRUPT_RETRY_MS and at doubling
 *       intervals up to SF_LOCKTHREAD_INTERRUPT_RETRY_MAX_MS, for as long
 *       as the helper stays inside acquire and fn returns non-zero.  The
 *       repetition covers a hook that only interrupts a wait already in
 *       progress: a kill that came just before acquire started to wait is
 *       delivered again.  fn returns 0 once the interruption is delivered
 *       for good (it cancelled a wait in progress, or it made a kill that
 *       stays in force), and is then not called again; anything else (no
 *       wait found) asks for the next call.  fn must be harmless when
 *       nothing is waiting, and when called more than once.
 *
 * With the lock manager (<syncfix/lockmgr.h>): a helper whose acquire
 * requests locks as client @client of manager @mgr is interrupted by
 *
 *	static int kill_client(void *mgr, uint64_t client)
 *	{
 *		int e = sf_lockmgr_kill_client(mgr, client);
 *
 *		return e == EALREADY ? 0 : e;
 *	}
 *	...
 *	sf_lockthread_set_interrupt(lt, kill_client, mgr, client);
 *
 * set before sf_lockthread_start() or from acquire itself: one call, and
 * every request of @client fails with ECANCELED, the one about to wait
 * too; acquire returns that as an error.  Whoever reuses the client id
 * afterwards calls sf_lockmgr_clear_kill() first.  (A hook that returns
 * sf_lockmgr_kill(mgr, client) works too, with the repetition above
 * covering a request that was not waiting yet, provided acquire checks
 * sf_lockthread_testcancel() before each new request.)
 *
 * With a wait of one's own built on sf_wait() (inside the library): the
 * hook stores a "cancelled" value into the waited word and wakes it.  With
 * sf_mutex_timedlock(): sf_lockthread_timedlock() does the slicing.
 *
 * The helper thread runs with every signal blocked and is named
 * "sf-lockthread".  Callbacks run on the helper thread and must not call
 * sf_lockthread_kill(), _finish() or _wait_held() on their own object
 * (EDEADLK).
 *
 * Functions return 0 or a positive errno value; errno is not changed.
 */
#ifndef SYNCFIX_LOCKTHREAD_H
#define SYNCFIX_LOCKTHREAD_H

#include <stdint.h>
#include <time.h>

#include <syncfix/mutex.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sf_lockthread;

/*
 * Called once on the helper thread.  Return 0 when the locks are held, or
 * a positive errno value (a negative one is taken as its opposite).
 */
typedef int (*sf_lockthread_acquire_fn)(struct sf_lockthread *lt, void *arg);
/* Called once on the helper thread, only after acquire returned 0. */
typedef void (*sf_lockthread_release_fn)(struct sf_lockthread *lt, void *arg);
/* The interrupt hook: 0 when delivered for good, else called again. */
typedef int (*sf_lockthread_interrupt_fn)(void *arg, uint64_t id);

/* Slice of sf_lockthread_timedlock(); intervals of the interrupt hook. */
#define SF_LOCKTHREAD_SLICE_MS			2
#define SF_LOCKTHREAD_INTERRUPT_RETRY_MS	1
#define SF_LOCKTHREAD_INTERRUPT_RETRY_MAX_MS	100

/* States, as reported by sf_lockthread_status(). */
enum sf_lockthread_state {
	SF_LOCKTHREAD_INIT = 0,		/* created, not started */
	SF_LOCKTHREAD_STARTING = 1,	/* thread created, not yet running */
	SF_LOCKTHREAD_ACQUIRING = 2,	/* inside acquire */
	SF_LOCKTHREAD_HELD = 3,		/* acquire returned 0 */
	SF_LOCKTHREAD_RELEASING = 4,	/* inside release */
	SF_LOCKTHREAD_DONE = 5,		/* the helper's final state */
	SF_LOCKTHREAD_JOINED = 6,	/* ...and its thread was joined */
};

struct sf_lockthread_status {
	int state;		/* enum sf_lockthread_state */
	int error;		/* what acquire returned (0: success or not run) */
	int acquire_called;	/* 1: acquire was called */
	int release_called;	/* 1: release was called */
	int killed;		/* 1: sf_lockthread_kill() was called */
	int cancelled;		/* 1: the acquisition or hold was cancelled */
	unsigned long interrupts;	/* calls of the interrupt hook */
	unsigned long reserved[4];
};

/*
 * Allocate an object in state INIT.  @release may be NULL (nothing to
 * release).  EINVAL: @ltp or @acquire is NULL.  ENOMEM.
 */
int sf_lockthread_create(struct sf_lockthread **ltp,
			 sf_lockthread_acquire_fn acquire,
			 sf_lockthread_release_fn release, void *arg);

/*
 * Start the helper thread.  EINVAL: @lt is NULL; EBUSY: already started;
 * ECANCELED: killed (or finished) before it was started; EAGAIN (or the
 * error of pthread_create): no thread, the object stays in INIT.
 */
int sf_lockthread_start(struct sf_lockthread *lt);

/*
 * Wait until acquire has returned, at most until the absolute deadline
 * @abstime on @clockid (NULL: no deadline).  0: the locks are held, and
 * stay held until kill or finish is called.  Otherwise acquire's error,
 * or ECANCELED: the helper was killed or finished before it held the
 * locks, or has already released them.  ETIMEDOUT: still acquiring at
 * the deadline.  EINVAL: @lt NULL, not started, bad clock or timespec.
 * EDEADLK: called from a callback of @lt.
 */
int sf_lockthread_wait_held(struct sf_lockthread *lt, clockid_t clockid,
			    const struct timespec *abstime);

/*
 * Normal end: release the locks and wait until the helper thread has
 * ended.  If the locks are not held yet, the acquisition is cancelled as
 * by kill (but status.killed stays 0).  Return: acquire's error, 0 if it
 * succeeded or never ran.  EINVAL: @lt NULL.  EDEADLK: from a callback.
 */
int sf_lockthread_finish(struct sf_lockthread *lt);

/*
 * Kill: cancel whatever the helper is doing (interrupting acquire: see
 * above), release the locks if acquire succeeded, and wait until the
 * helper thread has ended.  Before sf_lockthread_start(), the helper will
 * never run.  Return: acquire's error, 0 if it succeeded or never ran.
 * EINVAL: @lt NULL.  EDEADLK: from a callback.
 */
int sf_lockthread_kill(struct sf_lockthread *lt);

/*
 * Kill (as sf_lockthread_kill) and free.  NULL is allowed.  No other call
 * on @lt may be in progress or follow.  From a callback of @lt it does
 * nothing (the helper cannot wait for its own end).
 */
void sf_lockthread_destroy(struct sf_lockthread *lt);

/*
 * Register the interrupt hook (see above); @fn NULL removes it.  May be
 * called at any time, from acquire too.  Waits until no call of the
 * previous hook is in progress (except when called from that hook), so
 * that its argument may be freed once this returns.  EINVAL: @lt NULL.
 */
int sf_lockthread_set_interrupt(struct sf_lockthread *lt,
				sf_lockthread_interrupt_fn fn, void *arg,
				uint64_t id);

/* For acquire: ECANCELED when cancelled, else 0.  EINVAL: @lt NULL. */
int sf_lockthread_testcancel(const struct sf_lockthread *lt);

/*
 * For acquire: sleep until the absolute deadline @abstime on @clockid
 * (NULL: until cancelled).  ECANCELED: cancelled (checked first, and
 * returned at once when the cancel comes during the sleep).  ETIMEDOUT:
 * the deadline passed.  EINVAL: bad @lt, clock or timespec.
 */
int sf_lockthread_sleep(struct sf_lockthread *lt, clockid_t clockid,
			const struct timespec *abstime);

/*
 * For acquire: lock @m, giving up at @abstime on @clockid (NULL: no
 * deadline) or when cancelled.  0: @m is locked.  ECANCELED, ETIMEDOUT;
 * EINVAL for bad arguments; any error of sf_mutex_timedlock().
 */
int sf_lockthread_timedlock(struct sf_lockthread *lt, sf_mutex_t *m,
			    clockid_t clockid, const struct timespec *abstime);

/* Snapshot of the object's state.  EINVAL: @lt or @st NULL. */
int sf_lockthread_status(struct sf_lockthread *lt,
			 struct sf_lockthread_status *st);

#ifdef __cplusplus
}
#endif

#endif /* SYNCFIX_LOCKTHREAD_H */
