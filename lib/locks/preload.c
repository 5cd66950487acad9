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
 * provides it.  Return codes are glibc's: the deadline is validated before
 * trying (EINVAL), EDEADLK for a lock the caller holds for writing, EBUSY
 * from the try functions.
 *
 * PTHREAD_RWLOCK_PREFER_WRITER_NP maps to SF_RWLOCK_PREFER_WRITER, which
 * really prefers writers (with the recursive-reader exception); glibc's
 * does not.  See <syncfix/rwlock.h>.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
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
	int r;

	sf_rwlockattr_init(&a);
	if (attr) {
		r = sf_rwlockattr_setkind(&a, CATTR(attr)->lockkind);
		if (!r)
			r = sf_rwlockattr_setpshared(&a, CATTR(attr)->pshared);
		if (r)
			return r;
	}
	return sf_rwlock_init(RW(l), &a);
}

SF_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
	return sf_rwlock_destroy(RW(l));
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
	return sf_rwlock_timedrdlock(RW(l), CLOCK_REALTIME, abstime);
}

SF_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clockid,
					 const struct timespec *abstime)
{
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
	return sf_rwlock_timedwrlock(RW(l), CLOCK_REALTIME, abstime);
}

SF_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clockid,
					 const struct timespec *abstime)
{
	return sf_rwlock_timedwrlock(RW(l), clockid, abstime);
}

SF_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	return sf_rwlock_unlock(RW(l));
}
