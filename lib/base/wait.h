/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wait.h - the one interface through which the library sleeps and wakes.
 *
 * Two backends: the futex system call, and the /dev/syncfix ioctls of
 * syncfix.ko.  Each lock fixes its backend at init (attribute, or the
 * process-wide SYNCFIX_WAIT=futex|ioctl|auto); see wait.c.
 * Keep every wait/wake behind these two calls.
 */
#ifndef SF_SRC_WAIT_H
#define SF_SRC_WAIT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <syncfix/mutex.h>	/* SF_BACKEND_*, SF_PROCESS_* */

/* The word is in memory shared between processes (no FUTEX_PRIVATE_FLAG). */
#define SF_WAIT_SHARED		0x1u
/*
 * The lock's backend attribute (SF_BACKEND_*): neither bit follows the
 * process-wide choice.  Ignored with SF_WAIT_SHARED (always futex).
 */
#define SF_WAIT_USE_FUTEX	0x2u
#define SF_WAIT_USE_IOCTL	0x4u

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
/* Shown only by modules with SYNCFIX_FEAT_OWNER (else as "user"): */
#define SF_WAIT_TAG_LOCKMGR	SF_WAIT_TAG(4)
#define SF_WAIT_TAG_COND	SF_WAIT_TAG(5)
#define SF_WAIT_TAG_LT_END	SF_WAIT_TAG(6)
#define SF_WAIT_TAG_LT_HELD	SF_WAIT_TAG(7)

/*
 * What holds the lock a waiter waits for, as the waiter saw it just
 * before the wait: passed to the ioctl backend (SYNCFIX_WAIT_OWNER_*,
 * with a module that has SYNCFIX_FEAT_OWNER), which shows it in
 * /proc/syncfix/waiters so that syncfixctl can follow who waits for
 * whom.  Advisory only: it never changes what the wait does, and the
 * futex backend ignores it.
 */
enum sf_waitfor_kind {
	SF_WAITFOR_NONE,
	SF_WAITFOR_TID,		/* @owner: the holder's tid */
	SF_WAITFOR_READERS,	/* @owner: read locks held (0: unknown) */
	SF_WAITFOR_ID,		/* @owner: the holder's id, @self: ours */
	SF_WAITFOR_LOCK,	/* @owner: the lock retaken after the wait */
};

struct sf_waitfor {
	enum sf_waitfor_kind kind;
	uint64_t owner;
	uint64_t self;
};

/**
 * sf_wait_backend() - "ioctl" or "futex": the process-wide choice for
 * locks with the default backend attribute, decided on the first call.
 */
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

/** sf_wait_for() - sf_wait() that says what holds the lock (or NULL). */
int sf_wait_for(uint32_t *addr, uint32_t expected, const struct timespec *abs,
		clockid_t clk, unsigned int flags, const struct sf_waitfor *who);

/** sf_wait_tid() - sf_wait_for() a lock held by thread @tid (0: unknown). */
static inline int sf_wait_tid(uint32_t *addr, uint32_t expected,
			      const struct timespec *abs, clockid_t clk,
			      unsigned int flags, int32_t tid)
{
	struct sf_waitfor who = { SF_WAITFOR_TID, (uint64_t)tid, 0 };

	return sf_wait_for(addr, expected, abs, clk, flags,
			   tid > 0 ? &who : NULL);
}

/**
 * sf_wake() - wake up to @n waiters of the classes in @flags on @addr.
 * @flags: SF_WAIT_SHARED, SF_WAIT_CLASS() bits (none: every class)
 */
void sf_wake(uint32_t *addr, int n, unsigned int flags);

/**
 * sf_backend_wait_flags() - the wait flags of a lock's backend attribute.
 * @backend: SF_BACKEND_DEFAULT, SF_BACKEND_FUTEX or SF_BACKEND_IOCTL
 * @pshared: SF_PROCESS_PRIVATE or SF_PROCESS_SHARED
 * @wf:      set to 0, SF_WAIT_USE_FUTEX or SF_WAIT_USE_IOCTL
 *
 * Return: 0, or EINVAL for an unknown backend or for the ioctl on a
 * process-shared lock (the device's queues are private to one address
 * space).
 */
static inline int sf_backend_wait_flags(int backend, int pshared,
					unsigned int *wf)
{
	switch (backend) {
	case SF_BACKEND_DEFAULT:
		*wf = 0;
		return 0;
	case SF_BACKEND_FUTEX:
		*wf = SF_WAIT_USE_FUTEX;
		return 0;
	case SF_BACKEND_IOCTL:
		*wf = SF_WAIT_USE_IOCTL;
		return pshared == SF_PROCESS_SHARED ? EINVAL : 0;
	}
	return EINVAL;
}

/*
 * A lock's flags word (immutable after init) keeps what its waits need:
 * one bit of the lock's choosing for process-shared, and the backend's
 * SF_WAIT_USE_* at SF_LOCK_WF_SHIFT.  The mutex and the rwlock both use
 * these two helpers.
 */
#define SF_LOCK_WF_SHIFT	8

/**
 * sf_lock_flags() - the flags word bits for a lock's attributes.
 * @pshared:     SF_PROCESS_PRIVATE or SF_PROCESS_SHARED
 * @backend:     SF_BACKEND_*
 * @pshared_bit: the lock's own process-shared bit, below SF_LOCK_WF_SHIFT
 * @flags:       set to the bits
 *
 * Return: 0, or EINVAL for an unknown @pshared or @backend, or the ioctl
 * backend on a process-shared lock; @flags is then unchanged.
 */
static inline int sf_lock_flags(int pshared, int backend, uint32_t pshared_bit,
				uint32_t *flags)
{
	unsigned int wf;

	if ((pshared != SF_PROCESS_PRIVATE && pshared != SF_PROCESS_SHARED) ||
	    sf_backend_wait_flags(backend, pshared, &wf))
		return EINVAL;
	*flags = (pshared == SF_PROCESS_SHARED ? pshared_bit : 0) |
		 wf << SF_LOCK_WF_SHIFT;
	return 0;
}

/** sf_lock_wait_flags() - the sf_wait()/sf_wake() flags of a flags word. */
static inline unsigned int sf_lock_wait_flags(uint32_t flags,
					      uint32_t pshared_bit)
{
	return ((flags & pshared_bit) ? SF_WAIT_SHARED : 0) |
	       ((flags >> SF_LOCK_WF_SHIFT) &
		(SF_WAIT_USE_FUTEX | SF_WAIT_USE_IOCTL));
}

/* Store @v in an attribute's field when @valid.  Return: 0 or EINVAL. */
static inline int sf_attr_set(int *field, int v, bool valid)
{
	if (!valid)
		return EINVAL;
	*field = v;
	return 0;
}

static inline bool sf_pshared_valid(int pshared)
{
	return pshared == SF_PROCESS_PRIVATE || pshared == SF_PROCESS_SHARED;
}

static inline bool sf_backend_valid(int backend)
{
	unsigned int wf;

	return !sf_backend_wait_flags(backend, SF_PROCESS_PRIVATE, &wf);
}

/*
 * SF_ATTR_PSHARED_BACKEND(prefix, type) - the four attribute functions
 * every lock has, PREFIX_setpshared/getpshared/setbackend/getbackend, for
 * an attribute struct @type with fields __pshared and __backend: one
 * definition for the mutex, the rwlock and the cond (their headers
 * declare them).
 */
#define SF_ATTR_FIELD(prefix, type, name)				\
SF_EXPORT int prefix##_set##name(type *attr, int name)			\
{									\
	return sf_attr_set(&attr->__##name, name, sf_##name##_valid(name)); \
}									\
SF_EXPORT int prefix##_get##name(const type *attr, int *name)		\
{									\
	*name = attr->__##name;						\
	return 0;							\
}
#define SF_ATTR_PSHARED_BACKEND(prefix, type)				\
	SF_ATTR_FIELD(prefix, type, pshared)				\
	SF_ATTR_FIELD(prefix, type, backend)

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
