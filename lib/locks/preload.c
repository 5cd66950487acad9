// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * preload.c - libsyncfix-preload.so: pthread_rwlock_* on top of sf_rwlock.
 *
 *	LD_PRELOAD=libsyncfix-preload.so ./unmodified-program
 *
 * sf_rwlock_t has the size of glibc's pthread_rwlock_t on x86-64 (56
 * bytes) and keeps its kind at byte 48 where glibc keeps __flags, so a
 * pthread_rwlock_t is used in place, and glibc's static initializers
 * (PTHREAD_RWLOCK_INITIALIZER: all zero, prefer-reader;
 * PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP: __flags = 2) select
 * the same kinds.  Attributes keep glibc's layout ({ int kind; int
 * pshared; }) so that every pthread_rwlockattr_* agrees whichever object
 * provides it.
 *
 * Every function answers what glibc 2.36 answers, case by case, with one
 * exception (EAGAIN, last below); tests/preload-diff.c runs the same
 * script against both:
 * - init never fails.  glibc keeps readers out while a writer waits only
 *   for PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP; every other kind
 *   (PREFER_WRITER_NP and values no setter accepts included) behaves as
 *   prefer-reader, so it is SF_RWLOCK_PREFER_READER here, and any pshared
 *   value but PTHREAD_PROCESS_PRIVATE is shared;
 * - destroy returns 0 and changes nothing, held or waited on (sf_rwlock's
 *   EBUSY): holders and waiters carry on as if it had not been called;
 * - unlock returns 0 where sf_rwlock says EPERM (not held, or write-locked
 *   by another thread) and leaves the lock as it was;
 * - a timed lock with a NULL deadline waits without one (its clock is not
 *   checked), as glibc's does;
 * - otherwise sf_rwlock's codes are glibc's: EINVAL for a bad clock or
 *   tv_nsec before anything else, EDEADLK for the write owner's wrlock and
 *   rdlock (timed or not), EBUSY from the try functions, ETIMEDOUT (also
 *   for tv_sec < 0), and EAGAIN at the read-lock limit, which is
 *   sf_rwlock's (2^27 read locks; glibc's is 2^28 - 1).
 * See "Preload" in sf_rwlock(3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <syncfix/rwlock.h>

#include "internal.h"

_Static_assert(sizeof(pthread_rwlock_t) >= sizeof(sf_rwlock_t),
	       "sf_rwlock_t must fit in pthread_rwlock_t");
_Static_assert(_Alignof(pthread_rwlock_t) >= _Alignof(sf_rwlock_t),
	       "alignment");
#ifdef __x86_64__
_Static_assert(offsetof(pthread_rwlock_t, __data.__flags) ==
	       offsetof(sf_rwlock_t, __kind), "kind where glibc keeps __flags");
#endif
_Static_assert(PTHREAD_RWLOCK_PREFER_READER_NP == SF_RWLOCK_PREFER_READER &&
	       PTHREAD_RWLOCK_PREFER_WRITER_NP == SF_RWLOCK_PREFER_WRITER &&
	       PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP ==
	       SF_RWLOCK_PREFER_WRITER_NONRECURSIVE, "kind values");
_Static_assert(PTHREAD_PROCESS_PRIVATE == SF_PROCESS_PRIVATE &&
	       PTHREAD_PROCESS_SHARED == SF_PROCESS_SHARED, "pshared values");

/* glibc's struct pthread_rwlockattr. */
struct glibc_rwlockattr {
	int lockkind;
	int pshared;
};
_Static_assert(sizeof(pthread_rwlockattr_t) >= sizeof(struct glibc_rwlockattr),
	       "attr layout");

#define ATTR(a) ((struct glibc_rwlockattr *)(a))
#define CATTR(a) ((const struct glibc_rwlockattr *)(a))
#define RW(l) ((sf_rwlock_t *)(l))

/*
 * pthread.h declares the deadline nonnull, which lets the compiler drop a
 * test for NULL; glibc makes that test (NULL: no deadline), so it is made
 * on a copy the compiler knows nothing about.
 */
static inline bool no_deadline(const struct timespec *abstime)
{
	__asm__("" : "+r"(abstime));
	return sf_unlikely(!abstime);
}

SF_EXPORT int pthread_rwlockattr_init(pthread_rwlockattr_t *attr)
{
	ATTR(attr)->lockkind = PTHREAD_RWLOCK_DEFAULT_NP;
	ATTR(attr)->pshared = PTHREAD_PROCESS_PRIVATE;
	return 0;
}

SF_EXPORT int pthread_rwlockattr_destroy(pthread_rwlockattr_t *attr)
{
	(void)attr;
	return 0;
}

SF_EXPORT int pthread_rwlockattr_setkind_np(pthread_rwlockattr_t *attr, int pref)
{
	if (pref != PTHREAD_RWLOCK_PREFER_READER_NP &&
	    pref != PTHREAD_RWLOCK_PREFER_WRITER_NP &&
	    pref != PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP)
		return EINVAL;
	ATTR(attr)->lockkind = pref;
	return 0;
}

SF_EXPORT int pthread_rwlockattr_getkind_np(const pthread_rwlockattr_t *attr,
					    int *pref)
{
	*pref = CATTR(attr)->lockkind;
	return 0;
}

SF_EXPORT int pthread_rwlockattr_setpshared(pthread_rwlockattr_t *attr,
					    int pshared)
{
	if (pshared != PTHREAD_PROCESS_PRIVATE &&
	    pshared != PTHREAD_PROCESS_SHARED)
		return EINVAL;
	ATTR(attr)->pshared = pshared;
	return 0;
}

SF_EXPORT int pthread_rwlockattr_getpshared(const pthread_rwlockattr_t *attr,
					    int *pshared)
{
	*pshared = CATTR(attr)->pshared;
	return 0;
}

SF_EXPORT int pthread_rwlock_init(pthread_rwlock_t *l,
				  const pthread_rwlockattr_t *attr)
{
	sf_rwlockattr_t a;

	sf_rwlockattr_init(&a);
	if (attr) {
		if (CATTR(attr)->lockkind ==
		    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP)
			sf_rwlockattr_setkind(&a,
					      SF_RWLOCK_PREFER_WRITER_NONRECURSIVE);
		if (CATTR(attr)->pshared != PTHREAD_PROCESS_PRIVATE)
			sf_rwlockattr_setpshared(&a, SF_PROCESS_SHARED);
	}
	sf_rwlock_init(RW(l), &a);	/* valid attributes: cannot fail */
	return 0;
}

SF_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
	sf_rwlock_destroy(RW(l));	/* EBUSY: glibc's 0, nothing changed */
	return 0;
}

SF_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	return sf_rwlock_rdlock(RW(l));
}

SF_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
	return sf_rwlock_tryrdlock(RW(l));
}

SF_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l,
					 const struct timespec *abstime)
{
	if (no_deadline(abstime))
		return sf_rwlock_rdlock(RW(l));
	return sf_rwlock_timedrdlock(RW(l), CLOCK_REALTIME, abstime);
}

SF_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clockid,
					 const struct timespec *abstime)
{
	if (no_deadline(abstime))
		return sf_rwlock_rdlock(RW(l));
	return sf_rwlock_timedrdlock(RW(l), clockid, abstime);
}

SF_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	return sf_rwlock_wrlock(RW(l));
}

SF_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
	return sf_rwlock_trywrlock(RW(l));
}

SF_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l,
					 const struct timespec *abstime)
{
	if (no_deadline(abstime))
		return sf_rwlock_wrlock(RW(l));
	return sf_rwlock_timedwrlock(RW(l), CLOCK_REALTIME, abstime);
}

SF_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clockid,
					 const struct timespec *abstime)
{
	if (no_deadline(abstime))
		return sf_rwlock_wrlock(RW(l));
	return sf_rwlock_timedwrlock(RW(l), clockid, abstime);
}

SF_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	sf_rwlock_unlock(RW(l));	/* EPERM: glibc's 0, nothing changed */
	return 0;
}
