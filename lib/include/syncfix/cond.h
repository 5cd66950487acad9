/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * syncfix/cond.h - condition variable, waited on with an sf_mutex.
 *
 * Functions return 0 or a positive errno value; errno is not changed.
 * The protocol (why no wakeup is lost) is at the top of the library's
 * locks/cond.c.
 */
#ifndef SYNCFIX_COND_H
#define SYNCFIX_COND_H

#include <stdint.h>
#include <time.h>

#include <syncfix/mutex.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * sf_cond_t - 48 bytes (the size of pthread_cond_t), 4-byte aligned.  The
 * fields are private; the reserved words are zero, room for later.
 */
typedef struct sf_cond {
	uint32_t __seq;			/* bumped by every signal, broadcast */
	uint32_t __waiters;		/* threads inside a wait */
	uint32_t __flags;		/* process-shared, backend: set at init */
	uint32_t __reserved[9];
} sf_cond_t;

/* A process-private condition variable with the default backend. */
#define SF_COND_INITIALIZER	{ 0, 0, 0, { 0 } }

typedef struct sf_condattr {
	int __pshared;			/* SF_PROCESS_PRIVATE (default) */
	int __backend;			/* SF_BACKEND_DEFAULT */
} sf_condattr_t;

int sf_condattr_init(sf_condattr_t *attr);
int sf_condattr_destroy(sf_condattr_t *attr);
/* EINVAL unless @pshared is SF_PROCESS_PRIVATE or SF_PROCESS_SHARED. */
int sf_condattr_setpshared(sf_condattr_t *attr, int pshared);
int sf_condattr_getpshared(const sf_condattr_t *attr, int *pshared);
/* EINVAL for an unknown backend. */
int sf_condattr_setbackend(sf_condattr_t *attr, int backend);
int sf_condattr_getbackend(const sf_condattr_t *attr, int *backend);

/*
 * sf_cond_init() - @attr NULL: the defaults (as SF_COND_INITIALIZER).
 * Return: 0; EINVAL for a bad attribute, or SF_BACKEND_IOCTL with
 * SF_PROCESS_SHARED.
 */
int sf_cond_init(sf_cond_t *cond, const sf_condattr_t *attr);

/*
 * sf_cond_destroy() - Return: 0, after which @cond may be freed; EBUSY
 * while a thread is inside sf_cond_wait() or sf_cond_timedwait() on it,
 * including one that was woken and has not yet returned (nothing is
 * changed: broadcast, let the waiters return, then destroy).
 */
int sf_cond_destroy(sf_cond_t *cond);

/*
 * sf_cond_wait() - release @mutex, which the caller holds, sleep until
 * @cond is signalled, then take @mutex again.  A wakeup may also come
 * without a signal (spurious): wait in a loop on the caller's predicate.
 * Return: 0, with @mutex held; EPERM (an error-checking @mutex that the
 * caller does not hold: nothing waited, nothing released).
 */
int sf_cond_wait(sf_cond_t *cond, sf_mutex_t *mutex);

/*
 * sf_cond_timedwait() - sf_cond_wait() until the absolute deadline
 * @abstime on @clockid (CLOCK_MONOTONIC or CLOCK_REALTIME).
 * Return: 0; ETIMEDOUT (the deadline passed; @mutex is held again);
 * EINVAL (bad clock, @abstime NULL or its tv_nsec out of range: checked
 * first, nothing released); EPERM as sf_cond_wait().
 */
int sf_cond_timedwait(sf_cond_t *cond, sf_mutex_t *mutex, clockid_t clockid,
		      const struct timespec *abstime);

/*
 * sf_cond_signal() - wake at least one thread waiting on @cond, if any
 * (the one waiting longest, with both backends); sf_cond_broadcast() -
 * wake all of them.  Neither needs the mutex held, but a thread that
 * changes the waiters' predicate must hold it while it does, or a waiter
 * may check the old predicate and sleep through the change.
 * Return: 0.
 */
int sf_cond_signal(sf_cond_t *cond);
int sf_cond_broadcast(sf_cond_t *cond);

#ifdef __cplusplus
}
#endif

#endif /* SYNCFIX_COND_H */
