// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cond.c - condition variable over a 32-bit sequence word.
 *
 * State (sf_cond_t):
 *	__seq		bumped by every signal and broadcast; waiters sleep on
 *			it (it wraps: 2^32 signals between a waiter's read
 *			and its sleep would be needed to lose a wakeup)
 *	__waiters	threads between (C2) and (C5): a signal without
 *			waiters makes no system call
 *	__flags		COND_PSHARED and the backend's wait flags
 *			(sf_lock_flags(), wait.h); set at init, then read-only
 *
 * Ordering
 * --------
 *   wait(c, m), m held:                   signal(c):
 *     (C1) seq = load(c->seq)               (S1) n = load(c->waiters)
 *     (C2) fetch_add(c->waiters, 1)         (S2) fetch_add(c->seq, 1)
 *     (C3) unlock(m)                        (S3) if n: wake(&c->seq, 1)
 *     (C4) sf_wait(&c->seq, seq)
 *     (C5) fetch_sub(c->waiters, 1)
 *     (C6) lock(m)
 *
 * The lost wakeup is a signal that comes after the waiter checked its
 * predicate and before it sleeps, and wakes nobody.  The waiter checks
 * the predicate with m held and holds m until (C3); a signaller changes
 * the predicate with m held, so the change comes after (C3), and the
 * signal after the change.  So (C2) happens before (S1), through m, and
 * (S1) sees n > 0; (C1) happens before (S2), so it read the value
 * before (S2)'s increment, and:
 *  - if (C4) compares after (S2), the value differs: no sleep;
 *  - if it compares before (S2), the waiter is asleep, queued, and (S3)
 *    wakes.  Both backends wake the longest waiter first (the futex
 *    queue in FIFO order among equal priorities, the device's oldest
 *    first), so the one woken was waiting at the signal.
 * The waiters are read before the increment, not after: a waiter woken
 * by (S2) alone may return, and its thread destroy and free the cond,
 * while the signaller is still in (S3), which only passes the address to
 * sf_wake().
 * SF_BROKEN(COND_STALE_SEQ) reads the sequence after (C3), as a waiter
 * that takes its value too late does: a signal between (C3) and that
 * read is slept through (lib/locks/tests/cond.c, "lost-wakeup").
 *
 * Destroy: EBUSY while waiters > 0.  A woken waiter touches the cond
 * only until (C5); the signaller touches nothing after (S2) but passes
 * the address to sf_wake(), which never dereferences it.  So after a
 * destroy that returned 0 the memory may be freed, even while a signal
 * that made the last waiter return is still in (S3).
 *
 * ThreadSanitizer: (C3) and (C6) are the mutex's own annotated unlock
 * and lock; a signal also releases, and a return from (C4) acquires, on
 * the cond's address (internal.h).
 *
 * (C4) says, for /proc/syncfix/waiters, that the waiter waits for a signal
 * and will take @m again (SF_WAITFOR_LOCK): a tag, never a decision.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdbool.h>

#include <syncfix/cond.h>

#include "internal.h"
#include "wait.h"

#define COND_PSHARED	0x1u

_Static_assert(sizeof(sf_cond_t) == 48, "sf_cond_t is pthread_cond_t's size");

SF_EXPORT int sf_condattr_init(sf_condattr_t *attr)
{
	attr->__pshared = SF_PROCESS_PRIVATE;
	attr->__backend = SF_BACKEND_DEFAULT;
	return 0;
}

SF_EXPORT int sf_condattr_destroy(sf_condattr_t *attr)
{
	(void)attr;
	return 0;
}

SF_ATTR_PSHARED_BACKEND(sf_condattr, sf_condattr_t)

SF_EXPORT int sf_cond_init(sf_cond_t *cond, const sf_condattr_t *attr)
{
	static const sf_cond_t zero = SF_COND_INITIALIZER;
	uint32_t flags = 0;

	if (attr && sf_lock_flags(attr->__pshared, attr->__backend,
				  COND_PSHARED, &flags))
		return EINVAL;
	*cond = zero;
	cond->__flags = flags;
	return 0;
}

SF_EXPORT int sf_cond_destroy(sf_cond_t *cond)
{
	return sf_load_acquire(&cond->__waiters) ? EBUSY : 0;
}

/* (C1)-(C6); @abs NULL: no deadline.  Return: 0, ETIMEDOUT or EPERM. */
static int cond_wait(sf_cond_t *c, sf_mutex_t *m, clockid_t clk,
		     const struct timespec *abs)
{
	unsigned int wf = sf_lock_wait_flags(c->__flags, COND_PSHARED);
	/* Shown in /proc/syncfix/waiters: the mutex (C6) takes again. */
	struct sf_waitfor who = { SF_WAITFOR_LOCK, (uintptr_t)&m->__state, 0 };
	uint32_t seq = 0;
	int r;

	if (!SF_BROKEN(COND_STALE_SEQ))
		seq = sf_load_relaxed(&c->__seq);		/* (C1) */
	sf_fetch_add(&c->__waiters, 1);				/* (C2) */
	r = sf_mutex_unlock(m);					/* (C3) */
	if (r) {
		sf_fetch_sub(&c->__waiters, 1);
		return r;
	}
	SF_SYNC_POINT("cond:unlocked", c);
	if (SF_BROKEN(COND_STALE_SEQ))
		seq = sf_load_relaxed(&c->__seq);	/* too late: see the top */
	r = sf_wait_for(&c->__seq, seq, abs, clk, wf | SF_WAIT_TAG_COND,
			&who);					/* (C4) */
	sf_tsan_acquire(c);
	sf_fetch_sub(&c->__waiters, 1);				/* (C5) */
	sf_mutex_lock(m);					/* (C6) */
	return r == ETIMEDOUT ? ETIMEDOUT : 0;
}

SF_EXPORT int sf_cond_wait(sf_cond_t *cond, sf_mutex_t *mutex)
{
	return cond_wait(cond, mutex, CLOCK_MONOTONIC, NULL);
}

SF_EXPORT int sf_cond_timedwait(sf_cond_t *cond, sf_mutex_t *mutex,
				clockid_t clockid,
				const struct timespec *abstime)
{
	if (!abstime || !sf_clock_valid(clockid) || !sf_timespec_valid(abstime))
		return EINVAL;
	return cond_wait(cond, mutex, clockid, abstime);
}

/* (S1)-(S3): wake up to @n waiters. */
static int cond_wake(sf_cond_t *c, int n)
{
	unsigned int wf = sf_lock_wait_flags(c->__flags, COND_PSHARED);
	uint32_t waiters = sf_load_acquire(&c->__waiters);	/* (S1) */

	sf_tsan_release(c);
	sf_fetch_add(&c->__seq, 1);				/* (S2) */
	if (waiters)						/* (S3) */
		sf_wake(&c->__seq, n, wf);
	return 0;
}

SF_EXPORT int sf_cond_signal(sf_cond_t *cond)
{
	return cond_wake(cond, 1);
}

SF_EXPORT int sf_cond_broadcast(sf_cond_t *cond)
{
	return cond_wake(cond, INT_MAX);
}
