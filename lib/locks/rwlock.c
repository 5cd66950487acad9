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
 *	bit 0       WLOCKED  write-locked
 *	bit 1       WSLEEP   writers may be sleeping on __word.  Set by a
 *	                     writer before it sleeps (E); cleared only by a
 *	                     read-modify-write that also wakes one writer
 *	bit 2       WWAIT    a writer waits, so new readers wait too (only in
 *	                     the writer-preferring kinds; never set otherwise)
 *	bit 3       RWAIT    readers may be sleeping on __word; cleared only by
 *	                     a read-modify-write that also wakes them
 *	bits 4..31  R        read locks held, plus read locks being taken back
 *	                     by refused readers (see Admission); one read lock
 *	                     is RW_READER (16).  At most 2^27 are granted, so R
 *	                     never carries out of bit 31.
 *
 * Whom a release must wake is in __word, and the releasing read-modify-
 * write returns it ("Ordering" 1).
 *
 * __wwaiters counts the writers inside the write-lock slow path: a writer
 * increments it (A) before it first looks at __word and decrements it when
 * it leaves (with the lock, or timed out).  It is never what decides that a
 * release wakes someone.  It decides whether a write unlock hands the lock
 * to a writer (keeps WWAIT) and whether a woken writer must put WSLEEP
 * back for others (G).
 *
 * __writer holds the tid of the write owner (0 otherwise); only the owner
 * writes it, and clears it before its releasing RMW, so a thread that reads
 * its own tid there holds the write lock (EDEADLK instead of deadlocking,
 * EPERM for a foreign unlock).
 * __kind is at byte 48, where glibc keeps __flags, so that glibc's static
 * initializers select the same kind (0 prefer-reader, 2 nonrecursive).
 * __kind and __flags are written only by init; an unlock reads them before
 * its releasing RMW.
 *
 * Admission
 * ---------
 * A reader's "block mask" is WLOCKED for prefer-reader, and for a reader on
 * a PREFER_WRITER lock that already holds a read lock on such a lock (the
 * recursive exception, tracked per thread in rd_held_pw); WLOCKED|WWAIT
 * otherwise.  A reader enters with one xadd(word, +RW_READER) (F) and looks
 * at the value it replaced: none of its block mask and R < 2^27 means it
 * holds a read lock.  Otherwise it was refused and gives the increment back
 * through the read release (B), exactly as a read unlock does, so R may
 * briefly count refused readers, even while WLOCKED is set.  Spinning and
 * waiting readers only add to the word by CAS when it shows no blocking
 * bit.  A writer enters by CAS(w, w | WLOCKED) when w has neither WLOCKED
 * nor R; it keeps the other bits as they are.
 *
 * Waiters sleep in three futex classes on the same word: writers, readers,
 * recursive readers (futex bitsets), so a release wakes exactly one writer
 * or all readers of the classes that can now enter.
 *
 * Ordering
 * --------
 * The labelled points (all locked instructions, so full barriers; loads of
 * __wwaiters are sequentially consistent):
 *	(A)  writer: xadd(__wwaiters, +1), before it first loads __word
 *	(B)  a release: read release (a read unlock, or a refused reader
 *	     giving back its increment): CAS(w, w - RW_READER - WSLEEP) when
 *	     it is the last reader and WSLEEP is set, xadd(word, -RW_READER)
 *	     otherwise; write unlock: CAS (in the fast path from WLOCKED
 *	     alone to 0, which wakes nobody, else wr_unlock()'s CAS loop)
 *	(C)  reader: CAS(w, w | RWAIT) before sleeping
 *	(D)  write unlock: load of __wwaiters, before its (B), when WWAIT is set
 *	(E)  writer: CAS(w, w | WSLEEP [| WWAIT]) before sleeping
 *	(F)  reader: xadd(word, +RW_READER), the fast-path read lock
 *	(G)  writer that has slept takes the lock: CAS(w, w | WLOCKED), with
 *	     WSLEEP added when __wwaiters counts another writer
 *
 * 1. Nothing after the release.  Once (B) has freed the lock, another
 *    thread may lock it, unlock it, destroy it and free or unmap its memory
 *    before the releasing thread runs again (POSIX allows destroying an
 *    unlocked rwlock at once).  So an unlock decides everything before or
 *    by (B): __kind and __flags (futex flags) are read before it (the fast
 *    write unlock, which wakes nobody, needs neither), __writer is cleared
 *    before it, (D) is read before it, and whom to wake follows from the
 *    value (B) replaced.  After (B) the unlock only calls
 *    sf_wake() on the address: the kernel tolerates a futex wake on freed
 *    or unmapped memory (EFAULT, or a wake nobody waits for).
 *    - read release: one writer iff it left R == 0, no WLOCKED, WSLEEP;
 *    - write unlock: one writer iff WSLEEP was set; readers iff RWAIT was
 *      set (which classes: see 4).  Its fast path decides "nobody" from
 *      the word it loaded, WLOCKED alone, and so releases only by a CAS
 *      that expects exactly that value: a waiter that set WSLEEP or RWAIT
 *      since the load makes the CAS fail, and the unlock goes on in
 *      wr_unlock() with the word as it is (rwlock-wrunlock forces this).
 *
 * 2. Readers never wait on a stale value (glibc bug 23861).  Every iteration
 *    of the reader loop reloads __word; if the reader must wait it makes
 *    sure RWAIT is in the word it saw, by CAS (C) when it is missing, and
 *    sleeps on exactly the value it saw or stored:
 *
 *	reader R                          releaser U
 *	w = load(word)                    CAS(word) clears the blocking bit
 *	blocked: CAS(w, w|RWAIT)  (C)       and RWAIT                    (B)
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
 * 3. Writers, the same way, with WSLEEP:
 *
 *	writer W                          releaser U (last reader / writer)
 *	(A); w = load(word): held         old = (B) frees the lock, clears
 *	no WSLEEP: CAS(w, w|WSLEEP)  (E)    WSLEEP
 *	futex_wait(word, w|WSLEEP)        old had WSLEEP: wake one writer
 *
 *    W sleeps only on a held value with WSLEEP.  (B) and (E) are RMWs of
 *    the same word: (B) first, (E) fails and W reloads; (E) first, (B)
 *    replaces a value with WSLEEP and U wakes a writer, and the kernel's
 *    compare-and-queue makes W either see the change or be queued before
 *    the wake.  If W found WSLEEP already set, whatever RMW set it plays
 *    the part of (E).  A read release that leaves readers inside changes
 *    the word and wakes nobody: the lock is still held, with WSLEEP, and
 *    the release that frees it wakes.
 *
 *    The release clears WSLEEP as it wakes one writer: otherwise, until
 *    the woken writer is scheduled, every release would wake again (in
 *    prefer-reader at every last read unlock) with futex calls that find
 *    nobody.  Other writers may still sleep.  Invariant: while a writer
 *    sleeps, WSLEEP is set or a woken writer has not yet reached (E) or
 *    (G).  The woken writer restores WSLEEP for them: at (E) if the lock
 *    is held, at (G) if __wwaiters counts another writer.  That count is
 *    sound here: the writers left asleep by the clearing RMW were counted
 *    (A) before they slept, so before that RMW, so before the woken
 *    writer's load of __wwaiters, which follows its wakeup.  A writer that
 *    goes to sleep later sets WSLEEP itself (E).  A writer that wakes and
 *    then times out has passed (E) in its last iteration.  The only other
 *    clearer, the last timed-out writer, wakes one writer too.  The read
 *    release clears WSLEEP by CAS when its load shows it is the last
 *    reader and WSLEEP is set; should its xadd find that state after all
 *    (a writer's (E) came in between), it wakes and leaves WSLEEP set,
 *    which costs at most a wake that finds nobody.
 *
 *    Why the count cannot decide a release's wakeup: it may only be read
 *    before the release (see 1), and then this loses W, since the count
 *    changes without the word changing and the kernel compares only the
 *    word:
 *
 *	U: n = load(wwaiters) = 0;  W: (A), load(word): held, futex_wait;
 *	U: (B), n == 0: no wake
 *
 *    (E) puts every sleeping writer into the word, where (B) sees it
 *    atomically with the release.
 *
 * 4. WWAIT, the gate for readers (writer-preferring kinds).  (E) sets it
 *    with WSLEEP.  A write unlock keeps it when (D) finds a counted writer:
 *    the lock goes to a writer, readers stay out (only recursive readers
 *    are woken, RWAIT stays).  When (D) finds none it clears WWAIT and
 *    RWAIT and wakes all readers.  (D) is reloaded whenever (B) fails.  A
 *    stale (D) costs fairness, never a wakeup (wakeups follow WSLEEP):
 *    - a writer counted just after (D) may see WWAIT cleared; it sets it
 *      again (E) before it sleeps;
 *    - a writer that times out just after (D) (n > 0) finds, when it
 *      leaves, WWAIT set and the count 0: it clears WWAIT (and WSLEEP,
 *      waking one writer if it was set) and, unless the lock is
 *      write-held, wakes the readers.  Its CAS and the unlock's (B) are
 *      RMWs of the same word, so either (B) fails and reloads (D), or the
 *      leaver sees the word (B) stored.
 *    So WWAIT does not outlive the counted writers: each leaves through an
 *    unlock that reads (D) after its own decrement, or through the timeout
 *    path.  While WWAIT is set, new readers of the writer-preferring kinds
 *    wait, so a waiting writer waits for the readers already inside (and,
 *    for PREFER_WRITER, their recursive read locks), as the header
 *    promises; a refused reader's increment lasts a few instructions.
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

#define RW_WLOCKED	0x1u
#define RW_WSLEEP	0x2u
#define RW_WWAIT	0x4u
#define RW_RWAIT	0x8u
#define RW_READER	0x10u		/* one read lock */
#define RW_READERS	0xfffffff0u	/* R */
#define RW_R_LIMIT	0x80000000u	/* R >= 2^27: no more read locks */

#define RW_PSHARED	0x1u	/* __flags; with the backend's: sf_lock_flags() */

#define CLASS_WRITER	SF_WAIT_CLASS(0)
#define CLASS_READER	SF_WAIT_CLASS(1)
#define CLASS_RREADER	SF_WAIT_CLASS(2)	/* recursive readers */

#ifndef RW_SPIN
#define RW_SPIN	100
#endif

_Static_assert(sizeof(sf_rwlock_t) == 56, "sf_rwlock_t must fit pthread_rwlock_t");
_Static_assert(offsetof(sf_rwlock_t, __kind) == 48, "kind at glibc's __flags");

/* Read locks this thread holds on PREFER_WRITER rwlocks. */
static __thread unsigned int rd_held_pw __attribute__((tls_model("initial-exec")));

/* Futex flags; __flags is immutable after init (read before any release). */
static inline unsigned int wait_flags(const sf_rwlock_t *l)
{
	return sf_lock_wait_flags(l->__flags, RW_PSHARED);
}

static inline pid_t writer_of(const sf_rwlock_t *l)
{
	return sf_load_tid(&l->__writer);
}

/*
 * Sleep on @w (as sf_wait()), saying what holds the lock in @w: the write
 * owner's tid, or the read locks (R may count refused readers for a
 * moment: it is a hint, as everything sf_wait_for() is told).
 */
static int rw_wait(sf_rwlock_t *l, uint32_t w, const struct timespec *abs,
		   clockid_t clk, unsigned int flags)
{
	struct sf_waitfor who = { SF_WAITFOR_NONE, 0, 0 };

	if (w & RW_WLOCKED) {
		who.owner = (uint64_t)writer_of(l);
		who.kind = who.owner ? SF_WAITFOR_TID : SF_WAITFOR_NONE;
	} else if (w & RW_READERS) {
		who.kind = SF_WAITFOR_READERS;
		who.owner = (w & RW_READERS) / RW_READER;
	}
	return sf_wait_for(&l->__word, w, abs, clk, flags, &who);
}

/* The bits that keep the calling thread's read lock out. */
static inline uint32_t rd_block(uint32_t kind)
{
	/*
	 * A waiting writer keeps a reader out, unless the kind prefers
	 * readers or the thread already holds a read lock of a
	 * PREFER_WRITER lock (it may be recursive).  Without branches: the
	 * kinds take no different paths through the fast path.
	 */
	uint32_t let_in = (kind == SF_RWLOCK_PREFER_READER) |
			  ((kind == SF_RWLOCK_PREFER_WRITER) & (rd_held_pw != 0));

	return RW_WLOCKED | (RW_WWAIT & (let_in - 1));
}

/* A read release that leaves R == 0, no writer, and a writer asleep. */
static inline bool rd_last_with_sleeper(uint32_t w)
{
	return (w & (RW_READERS | RW_WLOCKED | RW_WSLEEP)) ==
	       (RW_READER | RW_WSLEEP);
}

/* Called after a release (B): only the wake, on the address. */
static __attribute__((noinline)) int rd_wake_writer(sf_rwlock_t *l,
						     unsigned int wf)
{
	sf_wake(&l->__word, 1, wf | CLASS_WRITER);
	return 0;
}

/* The last reader, with WSLEEP set: clear it as it wakes a writer. */
static __attribute__((noinline)) int rd_release_last(sf_rwlock_t *l,
						      uint32_t w, unsigned int wf)
{
	do {
		if (sf_cas(&l->__word, &w, w - RW_READER - RW_WSLEEP)) {	/* (B) */
			SF_SYNC_POINT_VAL("rwlock:rdunlock-released", l, w);
			return rd_wake_writer(l, wf);
		}
	} while (rd_last_with_sleeper(w));
	w = sf_fetch_sub(&l->__word, RW_READER);		/* (B) */
	SF_SYNC_POINT_VAL("rwlock:rdunlock-released", l, w);
	if (rd_last_with_sleeper(w))
		return rd_wake_writer(l, wf);
	return 0;
}

/*
 * rd_release() - give back one read lock: a read unlock, or a refused
 * reader taking back its increment.  Whom to wake comes from the value the
 * releasing RMW replaced ("Ordering" 1 and 3); after it the lock may
 * already be freed by another thread, so @l is only passed to sf_wake().
 * @w: the word, loaded just before; @wf: the futex flags.  Return: 0.
 */
static inline int rd_release(sf_rwlock_t *l, uint32_t w, unsigned int wf)
{
	if (sf_unlikely(rd_last_with_sleeper(w)))
		return rd_release_last(l, w, wf);
	w = sf_fetch_sub(&l->__word, RW_READER);		/* (B) */
	SF_SYNC_POINT_VAL("rwlock:rdunlock-released", l, w);
	/* A writer went to sleep since the load: wake it, WSLEEP stays. */
	if (sf_unlikely(rd_last_with_sleeper(w)))
		return rd_wake_writer(l, wf);
	return 0;
}

/*
 * rd_try_cas() - take a read lock only if the word, as loaded, admits it:
 * the spinning and waiting readers never add to a blocked word.
 * Return: 0, EBUSY or EAGAIN.
 */
static inline int rd_try_cas(sf_rwlock_t *l, uint32_t block)
{
	uint32_t w = sf_load_relaxed(&l->__word);

	while (!(w & block)) {
		if (w & RW_R_LIMIT)
			return EAGAIN;
		if (sf_cas(&l->__word, &w, w + RW_READER))
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
 * rdlock_slow() - wait for a read lock.  See "Ordering" 2 above.
 * Return: 0, ETIMEDOUT, EDEADLK or EAGAIN.
 */
static int rdlock_slow(sf_rwlock_t *l, uint32_t block, clockid_t clk,
			 const struct timespec *abs)
{
	unsigned int cls = (block & RW_WWAIT) ? CLASS_READER : CLASS_RREADER;
	unsigned int wf = wait_flags(l) | cls;
	uint32_t w;
	int i, r;
	bool have_stale = false;		/* SF_BROKEN(STALE_WAIT) only */
	uint32_t stale = 0;

	if ((sf_load_relaxed(&l->__word) & RW_WLOCKED) && writer_of(l) == sf_tid())
		return EDEADLK;

	for (i = 0; i < RW_SPIN; i++) {
		r = rd_try_cas(l, block);
		if (r != EBUSY)
			return r;
		sf_cpu_relax();
	}

	for (;;) {
		w = sf_load_relaxed(&l->__word);	/* fresh, every time */
		if (!(w & block)) {
			if (w & RW_R_LIMIT)
				return EAGAIN;
			if (sf_cas(&l->__word, &w, w + RW_READER))
				return 0;
			continue;
		}
		if (!(w & RW_RWAIT)) {
			if (!sf_cas(&l->__word, &w, w | RW_RWAIT))	/* (C) */
				continue;
			if (SF_BROKEN(STALE_WAIT) && !have_stale) {
				stale = w;	/* the copy from before (C) */
				have_stale = true;
			}
			w |= RW_RWAIT;
		}
		/*
		 * Deliberately wrong, for tests only: glibc 2.28's
		 * nonrecursive rdlock slept on the value it loaded before
		 * setting its waiting flag.
		 */
		if (SF_BROKEN(STALE_WAIT) && have_stale)
			w = stale;
		SF_SYNC_POINT_VAL("rwlock:rdlock-before-wait", l, w);
		if (rw_wait(l, w, abs, clk, wf | SF_WAIT_TAG_RWLOCK_READ) ==
		    ETIMEDOUT)
			return ETIMEDOUT;
	}
}

/*
 * wr_timeout_leave() - a writer gives up ("Ordering" 3 and 4).  If it was
 * the last counted writer, neither WWAIT nor WSLEEP may outlive it: clear
 * them, waking one writer if WSLEEP was set (one may have gone to sleep
 * since the count was read) and the readers that WWAIT kept out.
 * Otherwise pass on a wakeup in case the lock is free and the others sleep.
 */
static void wr_timeout_leave(sf_rwlock_t *l, unsigned int wf)
{
	uint32_t w, n, nw;
	bool wake_r;

	n = sf_fetch_sub(&l->__wwaiters, 1) - 1;
	w = sf_load_relaxed(&l->__word);
	if (n == 0) {
		while ((w & (RW_WWAIT | RW_WSLEEP)) &&
		       sf_load_seq_cst(&l->__wwaiters) == 0) {
			wake_r = (w & (RW_WWAIT | RW_RWAIT | RW_WLOCKED)) ==
				 (RW_WWAIT | RW_RWAIT);
			nw = w & ~(RW_WWAIT | RW_WSLEEP);
			if (wake_r)
				nw &= ~RW_RWAIT;
			if (sf_cas(&l->__word, &w, nw)) {
				if (w & RW_WSLEEP)
					sf_wake(&l->__word, 1, wf | CLASS_WRITER);
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
 * wrlock_slow() - wait for the write lock.  See "Ordering" 3 and 4.
 * Return: 0, ETIMEDOUT or EDEADLK.
 */
static int wrlock_slow(sf_rwlock_t *l, clockid_t clk,
			 const struct timespec *abs)
{
	uint32_t mark = RW_WSLEEP;
	unsigned int wf = wait_flags(l);
	bool slept = false;
	uint32_t w, add;
	int i;

	if (writer_of(l) == sf_tid())
		return EDEADLK;

	for (i = 0; i < RW_SPIN; i++) {
		if (wr_try(l) == 0)
			return 0;
		sf_cpu_relax();
	}

	if (l->__kind != SF_RWLOCK_PREFER_READER)
		mark |= RW_WWAIT;
	sf_fetch_add(&l->__wwaiters, 1);			/* (A) */
	for (;;) {
		w = sf_load_relaxed(&l->__word);
		if (!(w & (RW_WLOCKED | RW_READERS))) {
			/*
			 * A writer that slept may have been woken by a
			 * release that cleared WSLEEP while others slept
			 * on: it puts WSLEEP back for them (G).
			 */
			add = RW_WLOCKED;
			if (slept && sf_load_seq_cst(&l->__wwaiters) > 1)
				add |= RW_WSLEEP;
			if (sf_cas(&l->__word, &w, w | add))	/* (G) */
				break;
			continue;
		}
		if ((w & mark) != mark) {
			if (!sf_cas(&l->__word, &w, w | mark))	/* (E) */
				continue;
			w |= mark;
		}
		slept = true;
		if (rw_wait(l, w, abs, clk,
			    wf | CLASS_WRITER | SF_WAIT_TAG_RWLOCK_WRITE) ==
		    ETIMEDOUT) {
			wr_timeout_leave(l, wf);
			return ETIMEDOUT;
		}
	}
	sf_fetch_sub(&l->__wwaiters, 1);
	return 0;
}

/*
 * wr_unlock() - release the write lock ("Ordering" 1, 3, 4).  @wf (futex
 * flags) was read before; nothing of *@l is read after the CAS (B).
 */
static void wr_unlock(sf_rwlock_t *l, unsigned int wf)
{
	unsigned int wake_r;
	uint32_t w, nw;

	sf_store_tid(&l->__writer, 0);
	w = sf_load_relaxed(&l->__word);
	do {
		/* Hand over to a counted writer?  (WWAIT: writer-preferring.) */
		bool to_writer = (w & RW_WWAIT) &&
				 sf_load_seq_cst(&l->__wwaiters) != 0;	/* (D) */

		nw = w & ~(RW_WLOCKED | RW_WSLEEP | RW_WWAIT | RW_RWAIT);
		wake_r = 0;
		if (to_writer) {
			nw |= RW_WWAIT;
			/* Readers stay out; recursive ones may enter. */
			if (w & RW_RWAIT) {
				nw |= RW_RWAIT;
				wake_r = CLASS_RREADER;
			}
		} else if (w & RW_RWAIT) {
			wake_r = CLASS_READER | CLASS_RREADER;
		}
	} while (!sf_cas(&l->__word, &w, nw));			/* (B) */
	SF_SYNC_POINT_VAL("rwlock:wrunlock-released", l, w);
	if (w & RW_WSLEEP)
		sf_wake(&l->__word, 1, wf | CLASS_WRITER);
	if (wake_r)
		sf_wake(&l->__word, INT_MAX, wf | wake_r);
}

SF_EXPORT int sf_rwlockattr_init(sf_rwlockattr_t *attr)
{
	attr->__kind = SF_RWLOCK_PREFER_READER;
	attr->__pshared = SF_PROCESS_PRIVATE;
	attr->__backend = SF_BACKEND_DEFAULT;
	attr->__reserved = 0;
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

SF_ATTR_PSHARED_BACKEND(sf_rwlockattr, sf_rwlockattr_t)

SF_EXPORT int sf_rwlock_init(sf_rwlock_t *l, const sf_rwlockattr_t *attr)
{
	static const sf_rwlock_t zero = SF_RWLOCK_INITIALIZER;
	int kind = SF_RWLOCK_PREFER_READER;
	uint32_t flags = 0;

	if (attr) {
		kind = attr->__kind;
		if (!kind_valid(kind) ||
		    sf_lock_flags(attr->__pshared, attr->__backend, RW_PSHARED,
				  &flags))
			return EINVAL;
	}
	*l = zero;
	l->__kind = (uint32_t)kind;
	l->__flags = flags;
	sf_tsan_create(l, 0);
	return 0;
}

SF_EXPORT int sf_rwlock_destroy(sf_rwlock_t *l)
{
	if ((sf_load_relaxed(&l->__word) & (RW_WLOCKED | RW_READERS)) ||
	    sf_load_relaxed(&l->__wwaiters))
		return EBUSY;
	sf_tsan_destroy(l, 0);
	return 0;
}

/*
 * Under TSAN (@tsan) a self-deadlock is refused before TSAN is told about
 * a blocking lock, so that its lock model never sees the impossible
 * acquire.
 */
static inline int tsan_self_deadlock(const sf_rwlock_t *l, bool tsan)
{
	if (tsan && writer_of(l) == sf_tid())
		return EDEADLK;
	return 0;
}

static inline void rd_acquired(uint32_t kind)
{
	if (kind == SF_RWLOCK_PREFER_WRITER)
		rd_held_pw++;
}

/*
 * rdlock_refused() - the fast path's xadd (F) returned @old, which has a
 * bit of @block or R at its limit: give the increment back, then wait
 * (@try: return EBUSY instead) unless the limit was the reason (EAGAIN).
 * Ends the TSAN annotation begun by the caller with @tsan_flags.
 */
static __attribute__((noinline)) int
rdlock_refused(sf_rwlock_t *l, uint32_t old, uint32_t block, bool try,
		 clockid_t clk, const struct timespec *abs, unsigned int tsan_flags)
{
	int r;

	(void)tsan_flags;	/* only TSAN builds annotate */
	rd_release(l, sf_load_relaxed(&l->__word), wait_flags(l));
	r = (old & block) ? EBUSY : EAGAIN;
	if (r == EBUSY && !try)
		r = rdlock_slow(l, block, clk, abs);
	if (r == 0)
		rd_acquired(l->__kind);
	sf_tsan_post_lock(l, tsan_flags | (r ? SF_TSAN_TRY_FAILED : 0), 0);
	return r;
}

/*
 * The read-lock fast path of every entry point: one xadd (F); a refusal
 * goes out of line.  Always inline, so that each entry point is one frame
 * with constants for @try, @clk, @tsan (internal.h) and @tsan_flags.
 */
static inline __attribute__((always_inline)) int
rd_lock(sf_rwlock_t *l, bool try, clockid_t clk, const struct timespec *abs,
	bool tsan, unsigned int tsan_flags)
{
	uint32_t kind = l->__kind, block, old;

	sf_tsan_pre_lock_if(tsan, l, tsan_flags);
	block = rd_block(kind);
	old = sf_fetch_add(&l->__word, RW_READER);		/* (F) */
	if (sf_unlikely(old & (block | RW_R_LIMIT)))
		return rdlock_refused(l, old, block, try, clk, abs, tsan_flags);
	rd_acquired(kind);
	sf_tsan_post_lock_if(tsan, l, tsan_flags);
	return 0;
}

static inline __attribute__((always_inline)) int
rdlock_fast(sf_rwlock_t *l, bool tsan)
{
	int r = tsan_self_deadlock(l, tsan);

	if (r)
		return r;
	return rd_lock(l, false, CLOCK_MONOTONIC, NULL, tsan, SF_TSAN_READ);
}

static inline __attribute__((always_inline)) int
tryrdlock_fast(sf_rwlock_t *l, bool tsan)
{
	return rd_lock(l, true, CLOCK_MONOTONIC, NULL, tsan,
		       SF_TSAN_READ | SF_TSAN_TRY);
}

/* The write lock after a failed fast CAS: wait, then as wrlock_fast(). */
static __attribute__((noinline)) int wrlock_contended(sf_rwlock_t *l, bool tsan)
{
	int r = wrlock_slow(l, CLOCK_MONOTONIC, NULL);

	if (r == 0)
		sf_store_tid(&l->__writer, sf_tid());
	sf_tsan_post_lock_if(tsan, l, r ? SF_TSAN_TRY_FAILED : 0);
	return r;
}

static inline __attribute__((always_inline)) int
wrlock_fast(sf_rwlock_t *l, bool tsan)
{
	uint32_t w = 0;
	int r;

	r = tsan_self_deadlock(l, tsan);
	if (r)
		return r;
	sf_tsan_pre_lock_if(tsan, l, 0);
	if (sf_unlikely(!sf_cas(&l->__word, &w, RW_WLOCKED)))
		return wrlock_contended(l, tsan);
	sf_store_tid(&l->__writer, sf_tid());
	sf_tsan_post_lock_if(tsan, l, 0);
	return 0;
}

static inline __attribute__((always_inline)) int
trywrlock_fast(sf_rwlock_t *l, bool tsan)
{
	int r;

	sf_tsan_pre_lock_if(tsan, l, SF_TSAN_TRY);
	r = wr_try(l);
	if (r == 0)
		sf_store_tid(&l->__writer, sf_tid());
	sf_tsan_post_lock_if(tsan, l, SF_TSAN_TRY | (r ? SF_TSAN_TRY_FAILED : 0));
	return r;
}

/*
 * The exported sf_rwlock_rdlock(), _tryrdlock(), _wrlock(), _trywrlock()
 * and _unlock(): each NAME_fast() body, and in the shipped library its
 * annotated copy NAME_tsan() for a process with the TSAN runtime
 * (internal.h).
 */
#if SF_TSAN_BUILD
#define RW_ENTRY(name)							\
SF_EXPORT int sf_rwlock_##name(sf_rwlock_t *l)				\
{									\
	return name##_fast(l, true);					\
}
#else
#define RW_ENTRY(name)							\
static __attribute__((noinline)) int name##_tsan(sf_rwlock_t *l)	\
{									\
	return name##_fast(l, true);					\
}									\
SF_EXPORT int sf_rwlock_##name(sf_rwlock_t *l)				\
{									\
	return SF_TSAN_PICK(name##_tsan(l), name##_fast(l, false));	\
}
#endif
RW_ENTRY(rdlock)
RW_ENTRY(tryrdlock)
RW_ENTRY(wrlock)
RW_ENTRY(trywrlock)

SF_EXPORT int sf_rwlock_timedrdlock(sf_rwlock_t *l, clockid_t clockid,
				    const struct timespec *abstime)
{
	if (!abstime || !sf_clock_valid(clockid) || !sf_timespec_valid(abstime))
		return EINVAL;
	return rd_lock(l, false, clockid, abstime, SF_TSAN_PRESENT,
		       SF_TSAN_READ | SF_TSAN_TRY);
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
		r = wrlock_slow(l, clockid, abstime);
	if (r == 0)
		sf_store_tid(&l->__writer, sf_tid());
	sf_tsan_post_lock(l, SF_TSAN_TRY | (r ? SF_TSAN_TRY_FAILED : 0), 0);
	return r;
}

/*
 * A write unlock that the fast path below did not finish: the owner
 * check (unless @checked: done, and __writer already cleared), then
 * wr_unlock(), which decides whom to wake from the word it replaces.
 */
static __attribute__((noinline)) int rwlock_wrunlock_slow(sf_rwlock_t *l,
							    bool tsan, bool checked)
{
	if (!checked) {
		if (writer_of(l) != sf_tid())
			return EPERM;
		sf_tsan_pre_unlock_if(tsan, l, 0);
	}
	wr_unlock(l, wait_flags(l));	/* the flags before its (B) */
	sf_tsan_post_unlock_if(tsan, l, 0);
	return 0;
}

/*
 * A write unlock: EPERM unless the caller is the writer.  When the word
 * (@w, just loaded) is WLOCKED alone, one CAS to 0 is the release (B) and
 * nobody is to be woken; any other bit, or a CAS that fails because a
 * waiter has just set one, goes to wr_unlock(), which reads __flags
 * before its own (B): the fast release needs no flags, since it wakes
 * nobody.  The writer's tid is in its cache (wrlock stored it); an empty
 * cache takes the slow check.
 */
static inline __attribute__((always_inline)) int
rwlock_wrunlock(sf_rwlock_t *l, uint32_t w, bool tsan)
{
	pid_t me = sf_tid_cache;

	if (sf_unlikely(w != RW_WLOCKED || !me || writer_of(l) != me))
		return rwlock_wrunlock_slow(l, tsan, false);
	sf_tsan_pre_unlock_if(tsan, l, 0);
	sf_store_tid(&l->__writer, 0);
	SF_SYNC_POINT_VAL("rwlock:wrunlock-loaded", l, w);
	/*
	 * Deliberately wrong, for tests only: the release decided from the
	 * word loaded above, not from the one it replaces, so a writer that
	 * set WSLEEP in between is left asleep.
	 */
	if (SF_BROKEN(WRUNLOCK_LOADED)) {
		sf_xchg(&l->__word, 0);
		sf_tsan_post_unlock_if(tsan, l, 0);
		return 0;
	}
	if (sf_likely(sf_cas(&l->__word, &w, 0))) {		/* (B) */
		SF_SYNC_POINT_VAL("rwlock:wrunlock-released", l, w);
		sf_tsan_post_unlock_if(tsan, l, 0);
		return 0;
	}
	return rwlock_wrunlock_slow(l, tsan, true);
}

/*
 * Unlock.  __kind and __flags are read first: once the releasing RMW is
 * done the lock may be gone ("Ordering" 1).
 */
static inline __attribute__((always_inline)) int
unlock_fast(sf_rwlock_t *l, bool tsan)
{
	uint32_t w = sf_load_relaxed(&l->__word);
	uint32_t kind;
	unsigned int wf;
	int r;

	if (sf_unlikely(w & RW_WLOCKED))
		return rwlock_wrunlock(l, w, tsan);
	kind = l->__kind;
	wf = wait_flags(l);
	if (sf_unlikely(!(w & RW_READERS)))
		return EPERM;
	sf_tsan_pre_unlock_if(tsan, l, SF_TSAN_READ);
	if (kind == SF_RWLOCK_PREFER_WRITER && rd_held_pw)
		rd_held_pw--;
	r = rd_release(l, w, wf);
	sf_tsan_post_unlock_if(tsan, l, SF_TSAN_READ);
	return r;
}

RW_ENTRY(unlock)
