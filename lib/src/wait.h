/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wait.h - the one interface through which the library sleeps and wakes.
 *
 * Two backends, chosen once per process in wait.c: the futex system call,
 * and the /dev/syncfix ioctls of syncfix.ko (SYNCFIX_WAIT=futex|ioctl|auto).
 * Keep every wait/wake behind these two calls.
 */
#ifndef SF_SRC_WAIT_H
#define SF_SRC_WAIT_H

#include <stdint.h>
#include <time.h>

/* The word is in memory shared between processes (no FUTEX_PRIVATE_FLAG). */
#define SF_WAIT_SHARED		0x1u

/*
 * Waiter classes.  A waiter sleeps in one class; a wake names the classes it
 * wakes (futex bitsets).  No class bit means "any class".
 */
#define SF_WAIT_CLASS_SHIFT	8
#define SF_WAIT_CLASS(n)	(1u << (SF_WAIT_CLASS_SHIFT + (n)))
#define SF_WAIT_CLASS_MASK	(0xffu << SF_WAIT_CLASS_SHIFT)

/*
 * What a waiter waits for, shown in /proc/syncfix/waiters by the ioctl
 * backend (SYNCFIX_TAG_* values).  Without a tag, the class decides:
 * SF_WAIT_CLASS(0) is rwlock-write, another class rwlock-read, no class
 * "user".
 */
#define SF_WAIT_TAG_SHIFT	16
#define SF_WAIT_TAG(n)		((unsigned int)(n) << SF_WAIT_TAG_SHIFT)
#define SF_WAIT_TAG_MASK	(0xfu << SF_WAIT_TAG_SHIFT)
#define SF_WAIT_TAG_MUTEX	SF_WAIT_TAG(1)
#define SF_WAIT_TAG_RWLOCK_READ	SF_WAIT_TAG(2)
#define SF_WAIT_TAG_RWLOCK_WRITE SF_WAIT_TAG(3)

/** sf_wait_backend() - "ioctl" or "futex", decided on the first call. */
const char *sf_wait_backend(void);

/**
 * sf_wait() - sleep while *@addr == @expected.
 * @addr:     the word to wait on
 * @expected: the value the caller has just read (or just stored) in @addr
 *            and found to mean "must wait"; never an older copy
 * @abs:      absolute deadline on clock @clk, or NULL to wait forever
 * @clk:      CLOCK_MONOTONIC or CLOCK_REALTIME (ignored when @abs is NULL)
 * @flags:    SF_WAIT_SHARED, one SF_WAIT_CLASS(), one SF_WAIT_TAG_*
 *
 * The comparison and the sleep are atomic with respect to sf_wake() on the
 * same word.  A return of 0 proves nothing about the word: the caller must
 * reload it and decide again (spurious wakeups, changed value, signals).
 *
 * Return: 0 or ETIMEDOUT (also for a deadline with tv_sec < 0).  The
 * deadline must already have been validated (0 <= tv_nsec < 1e9).
 */
int sf_wait(uint32_t *addr, uint32_t expected, const struct timespec *abs,
	    clockid_t clk, unsigned int flags);

/**
 * sf_wake() - wake up to @n waiters of the classes in @flags on @addr.
 * @flags: SF_WAIT_SHARED, SF_WAIT_CLASS() bits (none: every class)
 */
void sf_wake(uint32_t *addr, int n, unsigned int flags);

/** sf_timespec_valid() - 0 <= tv_nsec < 1e9.  Return: nonzero if valid. */
static inline int sf_timespec_valid(const struct timespec *ts)
{
	return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

/** sf_clock_valid() - the clocks a deadline may be given on. */
static inline int sf_clock_valid(clockid_t clk)
{
	return clk == CLOCK_MONOTONIC || clk == CLOCK_REALTIME;
}

#endif /* SF_SRC_WAIT_H */
