// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mutex.c - futex-based mutex.
 *
 * State word (sf_mutex_t.__state), as in Drepper's "Futexes Are Tricky",
 * mutex 3:
 *
 *	0	unlocked
 *	1	locked, no thread sleeps in the futex
 *	2	locked, threads may sleep in the futex (the unlocker must wake)
 *
 * The other fields:
 *	__flags	SF_MUTEX_ERRORCHECK | MUTEX_PSHARED | the backend's wait flags
 *		(sf_lock_flags(), wait.h); set at init, then read-only
 *	__owner	tid of the owner, 0 when free or not yet stored, for every
 *		type (one store on each side, as glibc's __owner).  Written
 *		only by the owner (after acquiring, before releasing), so a
 *		thread that reads its own tid there really owns the mutex:
 *		error-checking mutexes answer EDEADLK and EPERM from it.
 *		A waiter passes what it read there to the wait
 *		(sf_wait_tid(), wait.h), for /proc/syncfix/waiters; what it
 *		reads is the owner or 0, never decides anything.
 *
 * Lock: one CAS 0 -> 1.  If that fails, spin a bounded number of times
 * while the state is 1 (an owner that runs will release soon; state 2
 * means others already sleep, so spinning is pointless), then announce
 * ourselves with xchg(state, 2) and sleep while the state is 2.  Whoever
 * acquires the mutex through the slow path leaves 2 in the word, so its
 * unlock wakes the next sleeper: no wakeup is ever lost even if there were
 * more sleepers than wakes (at worst one wake finds nobody).
 *
 * Unlock: xchg(state, 0); if the old value was 2, wake one sleeper.
 *
 * Nothing after the release.  Once (B) below has stored 0, another thread
 * may lock, unlock, destroy and free the mutex before the unlocking thread
 * runs again (POSIX allows destroying an unlocked mutex at once).  So the
 * unlock reads __flags (immutable after init, it gives the futex flags)
 * and clears __owner before (B), decides from the value (B) returned, and
 * after (B) only calls sf_wake() on the address, which the kernel
 * tolerates on freed or unmapped memory.
 *
 * Ordering.  Locker L and unlocker U:
 *
 *	L				U
 *	c = xchg(state, 2)  (A)		c = xchg(state, 0)  (B)
 *	if c != 0:			if c == 2:
 *	  futex_wait(state, 2)		  futex_wake(state, 1)
 *
 * (A) and (B) are locked instructions, so one of them is first.  If (B) is
 * first, (A) returns 0 and L owns the mutex without sleeping.  If (A) is
 * first, (B) returns 2 and U calls futex_wake; the kernel checks that the
 * state is still 2 atomically with queueing L, so either L's futex_wait
 * sees 0 (returns at once, L retries (A)) or L is queued before U's wake
 * looks at the queue.  L never sleeps on a value it did not just see: it
 * waits for "2", the value it stored itself in (A).
 *
 * The acquiring RMW (CAS or xchg) is a full barrier and the releasing xchg
 * is a full barrier, so the critical section cannot leak out of the lock
 * in either direction.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>

#include <syncfix/mutex.h>

#include "internal.h"
#include "wait.h"

#define MUTEX_PSHARED	0x80u
#ifndef MUTEX_SPIN
#define MUTEX_SPIN	100
#endif

static inline unsigned int wait_flags(uint32_t flags)
{
	return sf_lock_wait_flags(flags, MUTEX_PSHARED);
}

SF_EXPORT int sf_mutexattr_init(sf_mutexattr_t *attr)
{
	attr->__type = SF_MUTEX_NORMAL;
	attr->__pshared = SF_PROCESS_PRIVATE;
	attr->__backend = SF_BACKEND_DEFAULT;
	attr->__reserved = 0;
	return 0;
}

SF_EXPORT int sf_mutexattr_destroy(sf_mutexattr_t *attr)
{
	(void)attr;
	return 0;
}

SF_EXPORT int sf_mutexattr_settype(sf_mutexattr_t *attr, int type)
{
	if (type != SF_MUTEX_NORMAL && type != SF_MUTEX_ERRORCHECK)
		return EINVAL;
	attr->__type = type;
	return 0;
}

SF_EXPORT int sf_mutexattr_gettype(const sf_mutexattr_t *attr, int *type)
{
	*type = attr->__type;
	return 0;
}

SF_ATTR_PSHARED_BACKEND(sf_mutexattr, sf_mutexattr_t)

SF_EXPORT int sf_mutex_init(sf_mutex_t *m, const sf_mutexattr_t *attr)
{
	uint32_t flags = 0;

	if (attr) {
		if ((attr->__type != SF_MUTEX_NORMAL &&
		     attr->__type != SF_MUTEX_ERRORCHECK) ||
		    sf_lock_flags(attr->__pshared, attr->__backend,
				  MUTEX_PSHARED, &flags))
			return EINVAL;
		flags |= (uint32_t)attr->__type;
	}
	m->__state = 0;
	m->__flags = flags;
	m->__owner = 0;
	m->__reserved = 0;
	sf_tsan_create(m, 0);
	return 0;
}

SF_EXPORT int sf_mutex_destroy(sf_mutex_t *m)
{
	if (sf_load_relaxed(&m->__state) != 0)
		return EBUSY;
	sf_tsan_destroy(m, 0);
	return 0;
}

/*
 * mutex_lock_slow() - the contended path: bounded spin, then sleep.
 * Return: 0 with the mutex held (state left at 2 if we ever slept or
 * announced ourselves), or ETIMEDOUT.
 */
static int mutex_lock_slow(sf_mutex_t *m, clockid_t clk,
			     const struct timespec *abs)
{
	unsigned int wf = wait_flags(m->__flags);
	uint32_t c;
	int i;

	for (i = 0; i < MUTEX_SPIN; i++) {
		c = sf_load_relaxed(&m->__state);
		if (c == 0) {
			if (sf_cas(&m->__state, &c, 1))
				return 0;
		} else if (c == 2) {
			break;
		}
		sf_cpu_relax();
	}

	/* (A): see the ordering essay at the top of this file. */
	c = sf_xchg(&m->__state, 2);
	while (c != 0) {
		/* Waits for the value stored by (A) just above, never older. */
		if (sf_wait_tid(&m->__state, 2, abs, clk, wf | SF_WAIT_TAG_MUTEX,
				sf_load_tid(&m->__owner)) == ETIMEDOUT)
			return ETIMEDOUT;
		c = sf_xchg(&m->__state, 2);		/* (A) again */
	}
	return 0;
}

static inline void owner_set(sf_mutex_t *m)
{
	sf_store_tid(&m->__owner, sf_tid());
}

/* The out-of-line parts, so that the fast paths need no stack frame. */
static __attribute__((noinline)) int mutex_lock_contended(sf_mutex_t *m)
{
	mutex_lock_slow(m, CLOCK_MONOTONIC, NULL);
	owner_set(m);
	sf_tsan_post_lock(m, 0, 0);
	return 0;
}

static __attribute__((noinline)) int mutex_lock_errorcheck(sf_mutex_t *m)
{
	uint32_t c = 0;

	if (sf_load_tid(&m->__owner) == sf_tid())
		return EDEADLK;
	sf_tsan_pre_lock(m, 0);
	if (!sf_cas(&m->__state, &c, 1))
		return mutex_lock_contended(m);
	owner_set(m);
	sf_tsan_post_lock(m, 0, 0);
	return 0;
}

/* The fast paths, with annotations when @tsan (internal.h). */
static inline __attribute__((always_inline)) int
mutex_lock_fast(sf_mutex_t *m, bool tsan)
{
	uint32_t c = 0;

	sf_tsan_pre_lock_if(tsan, m, 0);
	if (sf_unlikely(!sf_cas(&m->__state, &c, 1)))
		return mutex_lock_contended(m);
	owner_set(m);
	sf_tsan_post_lock_if(tsan, m, 0);
	return 0;
}

static inline __attribute__((always_inline)) int
mutex_trylock_fast(sf_mutex_t *m, bool tsan)
{
	uint32_t c = 0;

	sf_tsan_pre_lock_if(tsan, m, SF_TSAN_TRY);
	if (!sf_cas(&m->__state, &c, 1)) {
		sf_tsan_post_lock_if(tsan, m, SF_TSAN_TRY | SF_TSAN_TRY_FAILED);
		return EBUSY;
	}
	owner_set(m);
	sf_tsan_post_lock_if(tsan, m, SF_TSAN_TRY);
	return 0;
}

#if !SF_TSAN_BUILD
static __attribute__((noinline)) int mutex_lock_tsan(sf_mutex_t *m)
{
	return mutex_lock_fast(m, true);
}

static __attribute__((noinline)) int mutex_trylock_tsan(sf_mutex_t *m)
{
	return mutex_trylock_fast(m, true);
}
#endif

SF_EXPORT int sf_mutex_lock(sf_mutex_t *m)
{
	if (sf_unlikely(m->__flags & SF_MUTEX_ERRORCHECK))
		return mutex_lock_errorcheck(m);
	return SF_TSAN_PICK(mutex_lock_tsan(m),
			    mutex_lock_fast(m, SF_TSAN_BUILD));
}

SF_EXPORT int sf_mutex_trylock(sf_mutex_t *m)
{
	return SF_TSAN_PICK(mutex_trylock_tsan(m),
			    mutex_trylock_fast(m, SF_TSAN_BUILD));
}

SF_EXPORT int sf_mutex_timedlock(sf_mutex_t *m, clockid_t clockid,
				 const struct timespec *abstime)
{
	uint32_t c = 0;
	int r;

	if (!abstime || !sf_clock_valid(clockid) || !sf_timespec_valid(abstime))
		return EINVAL;
	if ((m->__flags & SF_MUTEX_ERRORCHECK) &&
	    sf_load_tid(&m->__owner) == sf_tid())
		return EDEADLK;
	sf_tsan_pre_lock(m, SF_TSAN_TRY);
	r = 0;
	if (!sf_cas(&m->__state, &c, 1))
		r = mutex_lock_slow(m, clockid, abstime);
	if (r) {
		sf_tsan_post_lock(m, SF_TSAN_TRY | SF_TSAN_TRY_FAILED, 0);
		return r;
	}
	owner_set(m);
	sf_tsan_post_lock(m, SF_TSAN_TRY, 0);
	return 0;
}

/* After the release: only the futex wake on the address, see the essay. */
static __attribute__((noinline)) int mutex_unlock_wake(sf_mutex_t *m,
							 unsigned int wf)
{
	sf_wake(&m->__state, 1, wf);
	sf_tsan_post_unlock(m, 0);
	return 0;
}

/*
 * (B) and what may follow it.  @flags was read before (B).  Annotated
 * when @tsan (the wake's post_unlock tests for the runtime itself).
 */
static inline __attribute__((always_inline)) int
mutex_release(sf_mutex_t *m, uint32_t flags, bool tsan)
{
	uint32_t c;

	sf_tsan_pre_unlock_if(tsan, m, 0);
	sf_store_tid(&m->__owner, 0);
	c = sf_xchg(&m->__state, 0);			/* (B) */
	SF_SYNC_POINT_VAL("mutex:unlock-released", m, c);
	if (sf_unlikely(c == 2))
		return mutex_unlock_wake(m, wait_flags(flags));
	sf_tsan_post_unlock_if(tsan, m, 0);
	return 0;
}

#if !SF_TSAN_BUILD
static __attribute__((noinline)) int mutex_release_tsan(sf_mutex_t *m,
							 uint32_t flags)
{
	return mutex_release(m, flags, true);
}
#endif

static __attribute__((noinline)) int mutex_unlock_errorcheck(sf_mutex_t *m,
								uint32_t flags)
{
	if (sf_load_tid(&m->__owner) != sf_tid())
		return EPERM;
	return mutex_release(m, flags, SF_TSAN_PRESENT);
}

SF_EXPORT int sf_mutex_unlock(sf_mutex_t *m)
{
	uint32_t flags = m->__flags;	/* before (B): see the essay */

	if (sf_unlikely(flags & SF_MUTEX_ERRORCHECK))
		return mutex_unlock_errorcheck(m, flags);
	if (sf_unlikely(sf_load_relaxed(&m->__state) == 0))
		return EPERM;
	return SF_TSAN_PICK(mutex_release_tsan(m, flags),
			    mutex_release(m, flags, SF_TSAN_BUILD));
}
