/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * syncfix/rwlock.h - reader-writer lock.
 *
 * Functions return 0 or a positive errno value; errno is not changed.
 *
 * Kinds (what each promises):
 *
 * SF_RWLOCK_PREFER_READER (default)
 *	A read lock is granted whenever no thread holds the write lock, even
 *	while writers wait.  Recursive read locks always work.  Writers can
 *	starve under a stream of overlapping readers (no bound).  Same as
 *	glibc's PTHREAD_RWLOCK_PREFER_READER_NP (and its PREFER_WRITER_NP,
 *	which glibc implements as prefer-reader).
 *
 * SF_RWLOCK_PREFER_WRITER
 *	While a writer waits, new read locks are refused to threads that hold
 *	no read lock, so a waiting writer waits only for the readers already
 *	inside (plus read locks taken by those same threads).  A thread that
 *	already holds a read lock on any PREFER_WRITER rwlock is still
 *	admitted, so recursive read locking never deadlocks.  Readers can
 *	starve under a continuous stream of writers.  This is the classic
 *	meaning of "prefer writer"; it is stronger than glibc's
 *	PTHREAD_RWLOCK_PREFER_WRITER_NP, which does not hold readers back.
 *
 * SF_RWLOCK_PREFER_WRITER_NONRECURSIVE
 *	While a writer waits, every new read lock waits, including one asked
 *	for by a thread that already holds a read lock: such a recursive read
 *	lock deadlocks (as with glibc's PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP).
 *	A waiting writer waits only for the readers already inside.
 *
 * For all kinds: writers are not queued in FIFO order; a writer releasing
 * the lock while other writers wait hands it to one of them before readers
 * in the writer-preferring kinds.  Try-operations never wait and obey the
 * same admission rule (a tryrdlock refused because a writer waits returns
 * EBUSY).
 *
 * The layout fits in (and is compatible with the static initializers of)
 * glibc's pthread_rwlock_t on x86-64: 56 bytes, the kind at byte 48.
 */
#ifndef SYNCFIX_RWLOCK_H
#define SYNCFIX_RWLOCK_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <syncfix/mutex.h>	/* SF_PROCESS_PRIVATE, SF_PROCESS_SHARED */

#ifdef __cplusplus
extern "C" {
#endif

#define SF_RWLOCK_PREFER_READER			0
#define SF_RWLOCK_PREFER_WRITER			1
#define SF_RWLOCK_PREFER_WRITER_NONRECURSIVE	2

/* Private fields; the encoding is documented in the library's rwlock.c. */
typedef struct sf_rwlock {
	uint32_t __word;		/* 0: lock state */
	uint32_t __wwaiters;		/* 4: writers in the slow path */
	int32_t __writer;		/* 8: tid of the write owner */
	uint32_t __flags;		/* 12: process-shared, backend */
	uint32_t __reserved[8];		/* 16 */
	uint32_t __kind;		/* 48: SF_RWLOCK_PREFER_* */
	uint32_t __reserved2;		/* 52 */
} sf_rwlock_t;

#define SF__RWLOCK_INIT(kind) \
	{ 0, 0, 0, 0, { 0, 0, 0, 0, 0, 0, 0, 0 }, (kind), 0 }
#define SF_RWLOCK_INITIALIZER \
	SF__RWLOCK_INIT(SF_RWLOCK_PREFER_READER)
#define SF_RWLOCK_PREFER_WRITER_INITIALIZER \
	SF__RWLOCK_INIT(SF_RWLOCK_PREFER_WRITER)
#define SF_RWLOCK_PREFER_WRITER_NONRECURSIVE_INITIALIZER \
	SF__RWLOCK_INIT(SF_RWLOCK_PREFER_WRITER_NONRECURSIVE)

typedef struct sf_rwlockattr {
	int __kind;
	int __pshared;
	int __backend;
	int __reserved;
} sf_rwlockattr_t;

int sf_rwlockattr_init(sf_rwlockattr_t *attr);
int sf_rwlockattr_destroy(sf_rwlockattr_t *attr);
/* EINVAL unless @kind is one of SF_RWLOCK_PREFER_*. */
int sf_rwlockattr_setkind(sf_rwlockattr_t *attr, int kind);
int sf_rwlockattr_getkind(const sf_rwlockattr_t *attr, int *kind);
/* EINVAL unless @pshared is SF_PROCESS_PRIVATE or SF_PROCESS_SHARED. */
int sf_rwlockattr_setpshared(sf_rwlockattr_t *attr, int pshared);
int sf_rwlockattr_getpshared(const sf_rwlockattr_t *attr, int *pshared);
/* EINVAL unless @backend is one of SF_BACKEND_* (see syncfix/mutex.h). */
int sf_rwlockattr_setbackend(sf_rwlockattr_t *attr, int backend);
int sf_rwlockattr_getbackend(const sf_rwlockattr_t *attr, int *backend);

/* @attr may be NULL (prefer-reader, private).  EINVAL for a bad attr. */
int sf_rwlock_init(sf_rwlock_t *l, const sf_rwlockattr_t *attr);
/*
 * EBUSY if held or waited for by a writer.  An unlocked rwlock may be
 * destroyed (and its memory freed) at once, even while the thread that
 * unlocked it has not yet returned from sf_rwlock_unlock().
 */
int sf_rwlock_destroy(sf_rwlock_t *l);

/*
 * Read lock.  EDEADLK: the caller holds the write lock.  EAGAIN: too many
 * read locks (2^27 are held).
 */
int sf_rwlock_rdlock(sf_rwlock_t *l);
/* EBUSY: not immediately available (see the kinds above). */
int sf_rwlock_tryrdlock(sf_rwlock_t *l);
/*
 * Read lock with an absolute deadline on @clockid (CLOCK_MONOTONIC or
 * CLOCK_REALTIME).  ETIMEDOUT; EINVAL for another clock or a tv_nsec
 * outside [0, 1e9) (checked first); EDEADLK, EAGAIN as sf_rwlock_rdlock().
 */
int sf_rwlock_timedrdlock(sf_rwlock_t *l, clockid_t clockid,
			  const struct timespec *abstime);

/* Write lock.  EDEADLK: the caller holds the write lock. */
int sf_rwlock_wrlock(sf_rwlock_t *l);
/* EBUSY: held by anyone (the caller included). */
int sf_rwlock_trywrlock(sf_rwlock_t *l);
/* As sf_rwlock_timedrdlock(), for the write lock. */
int sf_rwlock_timedwrlock(sf_rwlock_t *l, clockid_t clockid,
			  const struct timespec *abstime);

/*
 * Release the caller's read lock or write lock.  EPERM: the lock is not
 * held, or it is write-locked by another thread.
 */
int sf_rwlock_unlock(sf_rwlock_t *l);

#ifdef __cplusplus
}
#endif

#endif /* SYNCFIX_RWLOCK_H */
