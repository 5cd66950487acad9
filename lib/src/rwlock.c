// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rwlock.c - futex-based reader-writer lock, three kinds.
 *
 * What each kind promises is written in <syncfix/rwlock.h>.
 *
 * State
 * -----
 * __word, the lock word, is the futex every waiter sleeps on:
 *
 *	bits 0..28  R        number of read locks held (at most 2^29 - 1)
 *	bit 29      RWAIT    readers may be sleeping on __word
 *	bit 30      WWAIT    a writer waits; new readers must wait (only in
 *	                     the writer-preferring kinds; never set otherwise)
 *	bit 31      WLOCKED  write-locked (then R == 0)
 *
 * __wwaiters counts the writers inside the write-lock slow path: a writer
 * increments it before it first looks at __word and decrements it when it
 * leaves (with the lock, or timed out).  It is the exact answer to "must a
 * release wake a writer?".  WWAIT is only the gate for readers: it is set by
 * a counted writer before it sleeps, and cleared by the write-unlock or the
 * timed-out writer that finds __wwaiters == 0.
 *
 * __writer holds the tid of the write owner (0 otherwise); only the owner
 * writes it, so a thread that reads its own tid there holds the write lock
 * (EDEADLK instead of deadlocking, EPERM for a foreign unlock).
 * __kind is at byte 48, where glibc keeps __flags, so that glibc's static
 * initializers select the same kind (0 prefer-reader, 2 nonrecursive).
 *
 * Admission
 * ---------
 * A reader enters by CAS(w, w + 1) when w has none of the bits of its
 * "block mask": WLOCKED for prefer-reader, and for a reader on a
 * PREFER_WRITER lock that already holds a read lock on such a lock (the
 * recursive exception, tracked per thread in rd_held_pw); WLOCKED|WWAIT
 * otherwise.  A writer enters by CAS(w, w | WLOCKED) when w has neither
 * WLOCKED nor readers; it keeps RWAIT/WWAIT as they are.
 *
 * Waiters sleep in three futex classes on the same word: writers, readers,
 * recursive readers (futex bitsets), so a release wakes exactly one writer
 * or all readers of the classes that can now enter.
 *
 * Ordering
 * --------
 * 1. Readers never wait on a stale value (glibc bug 23861).  Every iteration
 *    of the reader loop reloads __word; if the reader must wait it makes
 *    sure RWAIT is in the word it saw, by CAS (C) when it is missing, and
 *    sleeps on exactly the value it saw or stored:
 *
 *	reader R                          releaser U
 *	w = load(word)                    CAS/xadd(word) clears the blocking
 *	blocked: CAS(w, w|RWAIT)  (C)       bit, and clears RWAIT  (B)
 *	futex_wait(word, w|RWAIT)         if RWAIT was set: wake readers
 *
 *    (B) and (C) are read-modify-writes of the same word, so one of them is
 *    first.  (B) first: (C) fails or sees the release; R reloads.  (C)
 *    first: (B) sees RWAIT and wakes; the kernel compares word with
 *    w|RWAIT atomically with queueing R, so R either sees the change and
 *    returns, or is queued before U wakes.  Should the word come back to
 *    w|RWAIT before R sleeps, that value has RWAIT and a blocking bit set,
 *    so the next release that unblocks readers wakes R.  glibc 2.28 slept
 *    on the value from before setting its waiting flag: it spun while the
 *    word held the flag, and slept forever once the word returned to the
 *    old value after the wakeup had been sent.
 *
 * 2. Writers and the releases that free the lock (a Dekker pair across two
 *    words):
 *
 *	writer W                          releaser U (last reader / writer)
 *	xadd(wwaiters, +1)        (A)     xadd/CAS(word) frees the lock (B)
 *	w = load(word)                    n = load(wwaiters)           (D)
 *	held: futex_wait(word, w)         n > 0: wake one writer
 *
 *    (A) and (B) are locked instructions (full barriers) and the loads are
 *    sequentially consistent.  If W's load missed (B), then (A) preceded
 *    (B), so (D) sees n > 0 and U wakes a writer; W's futex_wait either
 *    finds the word changed or is queued first.  If the word went back to
 *    w before W slept, it is held again, and that holder's release runs
 *    (B)/(D) itself.  A woken writer that loses the race goes back to
 *    sleep on a fresh value; its rival's release wakes again.
 *
 * 3. WWAIT (writer-preferring kinds).  A counted writer sets it before
 *    sleeping, so while it is set at least one writer has been counted.
 *    The write-unlock keeps it when __wwaiters > 0 (handing the lock to a
 *    writer: readers stay out, one writer is woken, and only recursive
 *    readers are woken) and clears it, waking readers, otherwise.  A writer
 *    that times out with __wwaiters == 0 clears it and wakes readers.
 *    Should a writer arrive just as WWAIT is cleared it sets it again
 *    before sleeping; the race costs fairness, never a lost wakeup.
 *
 * All acquiring operations are full-barrier read-modify-writes of __word
 * (acquire), all releasing ones too (release).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <syncfix/rwlock.h>

#include "internal.h"
#include "wait.h"

#define RW_READERS	0x1fffffffu
#define RW_RWAIT	0x20000000u
#define RW_WWAIT	0x40000000u
#define RW_WLOCKED	0x80000000u

#define RW_PSHARED	0x1u

#define CLASS_WRITER	SF_WAIT_CLASS(0)
#define CLASS_READER	SF_WAIT_CLASS(1)
#define CLASS_RREADER	SF_WAIT_CLASS(2)	/* recursive readers */

#define RW_SPIN		100

_Static_assert(sizeof(sf_rwlock_t) == 56, "sf_rwlock_t must fit pthread_rwlock_t");
_Static_assert(offsetof(sf_rwlock_t, __kind) == 48, "kind at glibc's __flags");

#ifdef SF_TEST_HOOKS
sf_test_hook_fn sf_test_hook;
#endif

/* Read locks this thread holds on PREFER_WRITER rwlocks. */
static __thread unsigned int rd_held_pw __attribute__((tls_model("initial-exec")));

static inline uint32_t load_sc(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static inline unsigned int wflags(const sf_rwlock_t *l)
{
	return (l->__flags & RW_PSHARED) ? SF_WAIT_SHARED : 0;
}

static inline pid_t writer_of(const sf_rwlock_t *l)
{
	return __atomic_load_n(&l->__writer, __ATOMIC_RELAXED);
}

/* The bits that keep the calling thread's read lock out. */
static inline uint32_t rd_block(const sf_rwlock_t *l)
{
	uint32_t k = l->__kind;

	if (k == SF_RWLOCK_PREFER_READER)
		return RW_WLOCKED;
	if (k == SF_RWLOCK_PREFER_WRITER && rd_held_pw)
		return RW_WLOCKED;
	return RW_WLOCKED | RW_WWAIT;
}

/* Return: 0 (read lock taken), EBUSY (blocked) or EAGAIN (too many). */
static inline int rd_try(sf_rwlock_t *l, uint32_t block)
{
	uint32_t w = sf_load_relaxed(&l->__word);

	while (!(w & block)) {
		if ((w & RW_READERS) == RW_READERS)
			return EAGAIN;
		if (sf_cas(&l->__word, &w, w + 1))
			return 0;
	}
	return EBUSY;
}

/* Return: 0 (write lock taken) or EBUSY. */
static inline int wr_try(sf_rwlock_t *l)
{
	uint32_t w = sf_load_relaxed(&l->__word);

	while (!(w & (RW_WLOCKED | RW_READERS)))
		if (sf_cas(&l->__word, &w, w | RW_WLOCKED))
			return 0;
	return EBUSY;
}

/*
 * __rdlock_slow() - wait for a read lock.  See "Ordering" 1 above.
 * Return: 0, ETIMEDOUT, EDEADLK or EAGAIN.
 */
static int __rdlock_slow(sf_rwlock_t *l, uint32_t block, clockid_t clk,
			 const struct timespec *abs)
{
	unsigned int cls = (block & RW_WWAIT) ? CLASS_READER : CLASS_RREADER;
	unsigned int wf = wflags(l) | cls;
	uint32_t w;
	int i, r;
#ifdef SF_TEST_BROKEN_STALE_WAIT
	bool have_stale = false;
	uint32_t stale = 0;
#endif

	if ((sf_load_relaxed(&l->__word) & RW_WLOCKED) && writer_of(l) == sf_tid())
		return EDEADLK;

	for (i = 0; i < RW_SPIN; i++) {
		r = rd_try(l, block);
		if (r != EBUSY)
			return r;
		sf_cpu_relax();
	}

	for (;;) {
		w = sf_load_relaxed(&l->__word);	/* fresh, every time */
		if (!(w & block)) {
			if ((w & RW_READERS) == RW_READERS)
				return EAGAIN;
			if (sf_cas(&l->__word, &w, w + 1))
				return 0;
			continue;
		}
		if (!(w & RW_RWAIT)) {
			if (!sf_cas(&l->__word, &w, w | RW_RWAIT))	/* (C) */
				continue;
#ifdef SF_TEST_BROKEN_STALE_WAIT
			if (!have_stale) {
				stale = w;	/* the copy from before (C) */
				have_stale = true;
			}
#endif
			w |= RW_RWAIT;
		}
#ifdef SF_TEST_BROKEN_STALE_WAIT
		/*
		 * Deliberately wrong, for tests only: glibc 2.28's
		 * nonrecursive rdlock slept on the value it loaded before
		 * setting its waiting flag.
		 */
		if (have_stale)
			w = stale;
#endif
		SF_TEST_HOOK(SF_TP_RDLOCK_BEFORE_WAIT, l, w);
		if (sf_wait(&l->__word, w, abs, clk, wf) == ETIMEDOUT)
			return ETIMEDOUT;
	}
}

/*
 * __wr_timeout_leave() - a writer gives up.  If it was the last counted
 * writer, WWAIT must not outlive it ("Ordering" 3); otherwise pass on a
 * wakeup in case the lock is free and the others sleep.
 */
static void __wr_timeout_leave(sf_rwlock_t *l)
{
	unsigned int wf = wflags(l);
	uint32_t w, n, nw;

	n = sf_fetch_sub(&l->__wwaiters, 1) - 1;
	w = sf_load_relaxed(&l->__word);
	if (n == 0) {
		while ((w & RW_WWAIT) && load_sc(&l->__wwaiters) == 0) {
			bool wake_r = (w & RW_RWAIT) && !(w & RW_WLOCKED);

			nw = w & ~RW_WWAIT;
			if (wake_r)
				nw &= ~RW_RWAIT;
			if (sf_cas(&l->__word, &w, nw)) {
				if (wake_r)
					sf_wake(&l->__word, INT_MAX,
						wf | CLASS_READER | CLASS_RREADER);
				break;
			}
		}
	} else if (!(w & (RW_WLOCKED | RW_READERS))) {
		sf_wake(&l->__word, 1, wf | CLASS_WRITER);
	}
}

/*
 * __wrlock_slow() - wait for the write lock.  See "Ordering" 2 and 3.
 * Return: 0, ETIMEDOUT or EDEADLK.
 */
static int __wrlock_slow(sf_rwlock_t *l, clockid_t clk,
			 const struct timespec *abs)
{
	bool pref_writer = l->__kind != SF_RWLOCK_PREFER_READER;
	unsigned int wf = wflags(l) | CLASS_WRITER;
	uint32_t w;
	int i;

	if (writer_of(l) == sf_tid())
		return EDEADLK;

	for (i = 0; i < RW_SPIN; i++) {
		if (wr_try(l) == 0)
			return 0;
		sf_cpu_relax();
	}

	sf_fetch_add(&l->__wwaiters, 1);			/* (A) */
	for (;;) {
		w = load_sc(&l->__word);
		if (!(w & (RW_WLOCKED | RW_READERS))) {
			if (sf_cas(&l->__word, &w, w | RW_WLOCKED))
				break;
			continue;
		}
		if (pref_writer && !(w & RW_WWAIT)) {
			if (!sf_cas(&l->__word, &w, w | RW_WWAIT))
				continue;
			w |= RW_WWAIT;
		}
		if (sf_wait(&l->__word, w, abs, clk, wf) == ETIMEDOUT) {
			__wr_timeout_leave(l);
			return ETIMEDOUT;
		}
	}
	sf_fetch_sub(&l->__wwaiters, 1);
	return 0;
}

static void __rd_unlock(sf_rwlock_t *l)
{
	uint32_t old;

	if (l->__kind == SF_RWLOCK_PREFER_WRITER && rd_held_pw)
		rd_held_pw--;
	old = sf_fetch_sub(&l->__word, 1);			/* (B) */
	if ((old & RW_READERS) == 1 && load_sc(&l->__wwaiters))	/* (D) */
		sf_wake(&l->__word, 1, wflags(l) | CLASS_WRITER);
}

static void __wr_unlock(sf_rwlock_t *l)
{
	unsigned int wf = wflags(l), wake_r;
	uint32_t w, nw, n;

	__atomic_store_n(&l->__writer, 0, __ATOMIC_RELAXED);
	n = load_sc(&l->__wwaiters);
	w = sf_load_relaxed(&l->__word);
	do {
		nw = w & ~(RW_WLOCKED | RW_RWAIT);
		if (!n)
			nw &= ~RW_WWAIT;
		wake_r = 0;
		if (w & RW_RWAIT) {
			if (!(nw & RW_WWAIT)) {
				wake_r = CLASS_READER | CLASS_RREADER;
			} else {
				/* Handing over to a writer: readers stay out. */
				nw |= RW_RWAIT;
				wake_r = CLASS_RREADER;
			}
		}
	} while (!sf_cas(&l->__word, &w, nw));			/* (B) */
	if (load_sc(&l->__wwaiters))				/* (D) */
		sf_wake(&l->__word, 1, wf | CLASS_WRITER);
	if (wake_r)
		sf_wake(&l->__word, INT_MAX, wf | wake_r);
}

SF_EXPORT int sf_rwlockattr_init(sf_rwlockattr_t *attr)
{
	attr->__kind = SF_RWLOCK_PREFER_READER;
	attr->__pshared = SF_PROCESS_PRIVATE;
	return 0;
}

SF_EXPORT int sf_rwlockattr_destroy(sf_rwlockattr_t *attr)
{
	(void)attr;
	return 0;
}

static inline bool kind_valid(int k)
{
	return k == SF_RWLOCK_PREFER_READER || k == SF_RWLOCK_PREFER_WRITER ||
	       k == SF_RWLOCK_PREFER_WRITER_NONRECURSIVE;
}

SF_EXPORT int sf_rwlockattr_setkind(sf_rwlockattr_t *attr, int kind)
{
	if (!kind_valid(kind))
		return EINVAL;
	attr->__kind = kind;
	return 0;
}

SF_EXPORT int sf_rwlockattr_getkind(const sf_rwlockattr_t *attr, int *kind)
{
	*kind = attr->__kind;
	return 0;
}

SF_EXPORT int sf_rwlockattr_setpshared(sf_rwlockattr_t *attr, int pshared)
{
	if (pshared != SF_PROCESS_PRIVATE && pshared != SF_PROCESS_SHARED)
		return EINVAL;
	attr->__pshared = pshared;
	return 0;
}

SF_EXPORT int sf_rwlockattr_getpshared(const sf_rwlockattr_t *attr, int *pshared)
{
	*pshared = attr->__pshared;
	return 0;
}

SF_EXPORT int sf_rwlock_init(sf_rwlock_t *l, const sf_rwlockattr_t *attr)
{
	static const sf_rwlock_t zero = SF_RWLOCK_INITIALIZER;
	int kind = SF_RWLOCK_PREFER_READER, pshared = SF_PROCESS_PRIVATE;

	if (attr) {
		kind = attr->__kind;
		pshared = attr->__pshared;
		if (!kind_valid(kind) || (pshared != SF_PROCESS_PRIVATE &&
					  pshared != SF_PROCESS_SHARED))
			return EINVAL;
	}
	*l = zero;
	l->__kind = (uint32_t)kind;
	l->__flags = pshared == SF_PROCESS_SHARED ? RW_PSHARED : 0;
	sf_tsan_create(l, 0);
	return 0;
}

SF_EXPORT int sf_rwlock_destroy(sf_rwlock_t *l)
{
	if ((sf_load_relaxed(&l->__word) & (RW_WLOCKED | RW_WWAIT | RW_READERS)) ||
	    sf_load_relaxed(&l->__wwaiters))
		return EBUSY;
	sf_tsan_destroy(l, 0);
	return 0;
}

/*
 * In TSAN builds a self-deadlock is refused before TSAN is told about a
 * blocking lock, so that its lock model never sees the impossible acquire.
 */
static inline int tsan_self_deadlock(const sf_rwlock_t *l)
{
#ifdef SF_TSAN
	if (writer_of(l) == sf_tid())
		return EDEADLK;
#else
	(void)l;
#endif
	return 0;
}

static inline void rd_acquired(const sf_rwlock_t *l)
{
	if (l->__kind == SF_RWLOCK_PREFER_WRITER)
		rd_held_pw++;
}

SF_EXPORT int sf_rwlock_rdlock(sf_rwlock_t *l)
{
	uint32_t block;
	int r;

	r = tsan_self_deadlock(l);
	if (r)
		return r;
	sf_tsan_pre_lock(l, SF_TSAN_READ);
	block = rd_block(l);
	r = rd_try(l, block);
	if (sf_unlikely(r == EBUSY))
		r = __rdlock_slow(l, block, CLOCK_MONOTONIC, NULL);
	if (sf_likely(r == 0))
		rd_acquired(l);
	sf_tsan_post_lock(l, SF_TSAN_READ | (r ? SF_TSAN_TRY_FAILED : 0), 0);
	return r;
}

SF_EXPORT int sf_rwlock_tryrdlock(sf_rwlock_t *l)
{
	int r;

	sf_tsan_pre_lock(l, SF_TSAN_READ | SF_TSAN_TRY);
	r = rd_try(l, rd_block(l));
	if (r == 0)
		rd_acquired(l);
	sf_tsan_post_lock(l, SF_TSAN_READ | SF_TSAN_TRY |
			  (r ? SF_TSAN_TRY_FAILED : 0), 0);
	return r;
}

SF_EXPORT int sf_rwlock_timedrdlock(sf_rwlock_t *l, clockid_t clockid,
				    const struct timespec *abstime)
{
	uint32_t block;
	int r;

	if (!abstime || !sf_clock_valid(clockid) || !sf_timespec_valid(abstime))
		return EINVAL;
	sf_tsan_pre_lock(l, SF_TSAN_READ | SF_TSAN_TRY);
	block = rd_block(l);
	r = rd_try(l, block);
	if (r == EBUSY)
		r = __rdlock_slow(l, block, clockid, abstime);
	if (r == 0)
		rd_acquired(l);
	sf_tsan_post_lock(l, SF_TSAN_READ | SF_TSAN_TRY |
			  (r ? SF_TSAN_TRY_FAILED : 0), 0);
	return r;
}

SF_EXPORT int sf_rwlock_wrlock(sf_rwlock_t *l)
{
	uint32_t w = 0;
	int r;

	r = tsan_self_deadlock(l);
	if (r)
		return r;
	sf_tsan_pre_lock(l, 0);
	if (sf_unlikely(!sf_cas(&l->__word, &w, RW_WLOCKED)))
		r = __wrlock_slow(l, CLOCK_MONOTONIC, NULL);
	if (sf_likely(r == 0))
		__atomic_store_n(&l->__writer, sf_tid(), __ATOMIC_RELAXED);
	sf_tsan_post_lock(l, r ? SF_TSAN_TRY_FAILED : 0, 0);
	return r;
}

SF_EXPORT int sf_rwlock_trywrlock(sf_rwlock_t *l)
{
	int r;

	sf_tsan_pre_lock(l, SF_TSAN_TRY);
	r = wr_try(l);
	if (r == 0)
		__atomic_store_n(&l->__writer, sf_tid(), __ATOMIC_RELAXED);
	sf_tsan_post_lock(l, SF_TSAN_TRY | (r ? SF_TSAN_TRY_FAILED : 0), 0);
	return r;
}

SF_EXPORT int sf_rwlock_timedwrlock(sf_rwlock_t *l, clockid_t clockid,
				    const struct timespec *abstime)
{
	int r;

	if (!abstime || !sf_clock_valid(clockid) || !sf_timespec_valid(abstime))
		return EINVAL;
	sf_tsan_pre_lock(l, SF_TSAN_TRY);
	r = wr_try(l);
	if (r == EBUSY)
		r = __wrlock_slow(l, clockid, abstime);
	if (r == 0)
		__atomic_store_n(&l->__writer, sf_tid(), __ATOMIC_RELAXED);
	sf_tsan_post_lock(l, SF_TSAN_TRY | (r ? SF_TSAN_TRY_FAILED : 0), 0);
	return r;
}

SF_EXPORT int sf_rwlock_unlock(sf_rwlock_t *l)
{
	uint32_t w = sf_load_relaxed(&l->__word);

	if (w & RW_WLOCKED) {
		if (writer_of(l) != sf_tid())
			return EPERM;
		sf_tsan_pre_unlock(l, 0);
		__wr_unlock(l);
		sf_tsan_post_unlock(l, 0);
		return 0;
	}
	if (!(w & RW_READERS))
		return EPERM;
	sf_tsan_pre_unlock(l, SF_TSAN_READ);
	__rd_unlock(l);
	sf_tsan_post_unlock(l, SF_TSAN_READ);
	return 0;
}
