/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * syncfix/mutex.h - mutual exclusion lock.
 *
 * Functions return 0 or a positive errno value; errno is not changed.
 */
#ifndef SYNCFIX_MUTEX_H
#define SYNCFIX_MUTEX_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Mutex types (sf_mutexattr_settype). */
#define SF_MUTEX_NORMAL		0	/* relock by the owner deadlocks */
#define SF_MUTEX_ERRORCHECK	1	/* owner tid kept: EDEADLK, EPERM */

/* Process sharing (sf_mutexattr_setpshared, sf_rwlockattr_setpshared). */
#define SF_PROCESS_PRIVATE	0
#define SF_PROCESS_SHARED	1

/*
 * Wait backends (sf_mutexattr_setbackend, sf_rwlockattr_setbackend): where
 * a lock's slow path sleeps.  Fixed when the lock is initialized; a lock
 * never has waiters in both.
 *   SF_BACKEND_DEFAULT  the process-wide choice, made on first use from
 *                       SYNCFIX_WAIT=futex|ioctl|auto (unset: auto)
 *   SF_BACKEND_FUTEX    the futex system call
 *   SF_BACKEND_IOCTL    /dev/syncfix (syncfix.ko): waiters are listed in
 *                       /proc/syncfix/waiters.  When the device cannot be
 *                       opened or speaks another ABI version, futex (the
 *                       lock works the same, it is only not listed).
 *                       Not for process-shared locks (EINVAL at init).
 */
#define SF_BACKEND_DEFAULT	0
#define SF_BACKEND_FUTEX	1
#define SF_BACKEND_IOCTL	2

/*
 * The backend, "futex" or "ioctl", that a lock initialized with @backend
 * uses in this process (decides the process-wide choice, or opens the
 * device, if that was not done yet).  NULL for an unknown @backend.
 */
const char *sf_backend_name(int backend);

/*
 * sf_mutex_t - 16 bytes, 4-byte aligned.  The fields are private; the
 * state-word encoding is documented in the library's mutex.c.
 */
typedef struct sf_mutex {
	uint32_t __state;
	uint32_t __flags;
	int32_t __owner;
	uint32_t __reserved;
} sf_mutex_t;

/* A normal, process-private mutex; same as sf_mutex_init(m, NULL). */
#define SF_MUTEX_INITIALIZER			{ 0, 0, 0, 0 }
/* An error-checking, process-private mutex. */
#define SF_MUTEX_ERRORCHECK_INITIALIZER		{ 0, SF_MUTEX_ERRORCHECK, 0, 0 }

typedef struct sf_mutexattr {
	int __type;
	int __pshared;
	int __backend;
	int __reserved;
} sf_mutexattr_t;

int sf_mutexattr_init(sf_mutexattr_t *attr);
int sf_mutexattr_destroy(sf_mutexattr_t *attr);
/* EINVAL unless @type is SF_MUTEX_NORMAL or SF_MUTEX_ERRORCHECK. */
int sf_mutexattr_settype(sf_mutexattr_t *attr, int type);
int sf_mutexattr_gettype(const sf_mutexattr_t *attr, int *type);
/* EINVAL unless @pshared is SF_PROCESS_PRIVATE or SF_PROCESS_SHARED. */
int sf_mutexattr_setpshared(sf_mutexattr_t *attr, int pshared);
int sf_mutexattr_getpshared(const sf_mutexattr_t *attr, int *pshared);
/* EINVAL unless @backend is one of SF_BACKEND_*. */
int sf_mutexattr_setbackend(sf_mutexattr_t *attr, int backend);
int sf_mutexattr_getbackend(const sf_mutexattr_t *attr, int *backend);

/*
 * @attr may be NULL (normal, private, default backend).  EINVAL for a bad
 * attribute, or for SF_BACKEND_IOCTL with SF_PROCESS_SHARED.
 */
int sf_mutex_init(sf_mutex_t *m, const sf_mutexattr_t *attr);
/*
 * EBUSY if the mutex is locked.  An unlocked mutex may be destroyed (and
 * its memory freed) at once, even while the thread that unlocked it has not
 * yet returned from sf_mutex_unlock().
 */
int sf_mutex_destroy(sf_mutex_t *m);

/*
 * Lock; sleeps (after a short bounded spin) while another thread holds it.
 * EDEADLK: error-checking mutex already held by the caller.
 */
int sf_mutex_lock(sf_mutex_t *m);
/* EBUSY if held (by anyone, the caller included). */
int sf_mutex_trylock(sf_mutex_t *m);
/*
 * Lock, giving up at the absolute time @abstime on clock @clockid
 * (CLOCK_MONOTONIC or CLOCK_REALTIME).  ETIMEDOUT when the deadline passed
 * without the lock; EINVAL for another clock or tv_nsec outside
 * [0, 1e9) (checked before trying); EDEADLK as sf_mutex_lock().
 */
int sf_mutex_timedlock(sf_mutex_t *m, clockid_t clockid,
		       const struct timespec *abstime);
/*
 * Unlock.  EPERM: the mutex is not locked, or (error-checking) the caller
 * is not its owner.  Unlocking a normal mutex held by another thread is
 * undefined.
 */
int sf_mutex_unlock(sf_mutex_t *m);

#ifdef __cplusplus
}
#endif

#endif /* SYNCFIX_MUTEX_H */
