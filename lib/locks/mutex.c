// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mutex.c - futex-based mutex whose uncontended unlock has no locked
 * instruction.
 *
 * State word (sf_mutex_t.__state):
 *
 *	0		unlocked
 *	O		locked by owner O, no thread sleeps in the futex
 *	O | S		locked, threads may sleep in the futex (S = MX_S,
 *			bit 31: the unlocker must see to a wake)
 *
 * The owner field O (bits 0-30) is never 0.  In a process-private mutex
 * it is the owner thread's slot id (below); in a process-shared one it is
 * always 1 (MX_PSHARED_LOCKED: slot ids mean nothing to another process),
 * which makes the word 0 / 1 / 1|S: Drepper's "Futexes Are Tricky" mutex
 * 3 with 2 spelled 1|S.
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
 *		reads is the owner or 0, never decides anything.  (The slot
 *		id in the word is no substitute: slots are reused at once,
 *		and a thread that exited holding the mutex must still be
 *		named as its owner.)
 *
 * Slots.  Every thread that locks a private mutex takes a slot, once: an
 * entry of a table that is allocated in chunks and never freed
 * (mx_chunks), found by id; the thread keeps its id and slot in
 * initial-exec TLS and gives the slot back at exit (a pthread key
 * destructor), to be reused by a later thread.  (The shared library is
 * linked with -z nodelete: a dlclose() unmaps neither the table nor the
 * destructor.)  A slot holds one counter, notify: the number of waiters
 * that announced, at (A2), that they are about to sleep on a mutex held
 * by this slot's thread (on any mutex: one count per owner, not per
 * mutex).  A thread that cannot get a slot of its own (no memory, 2^21
 * threads alive) shares slot MX_ANON with every other such thread: a
 * waiter then announces on the slot that all of them read at (C).
 *
 * Lock: one CAS 0 -> O (O: our slot id, or 1).  If that fails, spin a
 * bounded number of times while S is clear (an owner that runs will
 * release soon; with S others already sleep, spinning is pointless), then
 * loop: on a free word take the mutex with CAS 0 -> O|S; on O' without S
 * set S with CAS O' -> O'|S (A1); then sleep while the word is O'|S.  The
 * thread that takes the mutex in this loop leaves S in the word, slept or
 * not (Drepper's state 2), so its unlock wakes the next sleeper.  In a
 * private mutex with the fence on (below), the sleep is:
 *
 *	fetch_add(slots[O'].notify, 1)		(A2) announce
 *	membarrier(PRIVATE_EXPEDITED)		(M)
 *	futex_wait(word, O'|S)			(A3)
 *	fetch_sub(slots[O'].notify, 1)		retract, woken or timed out
 *
 * Unlock, the fast path: a private mutex whose word is exactly our own
 * slot id (so S is clear), with the fence on:
 *
 *	store_release(word, 0)			(B)
 *	compiler barrier			(F)
 *	n = slots[ours].notify			(C)
 *	if n != 0: futex_wake(word, 1)
 *
 * Otherwise (S set, a process-shared mutex, the fence off, an unlock by
 * another thread than the one of the owner field): the classic path,
 * c = xchg(word, 0) (B'), and futex_wake(word, 1) when c had S.
 *
 * The fence.  membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) makes every
 * running thread of the process execute a full barrier, and a thread that
 * does not run has passed one (a context switch); it needs the process
 * to have registered, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, which
 * the library's constructor does (mx_init) before main() or, for dlopen,
 * before any function of the library can be called.  It sets mx_fence
 * when the registration succeeded; the fast path of unlock reads it, so
 * no unlock takes (B) unless every waiter announces and fences.  The
 * registration is per address space: the child of fork() inherits it
 * (Linux copies it with the mm; the child handler registers again all
 * the same, and turns the fence off if that fails, alone in the child).
 * SYNCFIX_MEMBARRIER=off, a kernel without membarrier, or a registration
 * refused (seccomp) leave mx_fence 0: every unlock then takes (B') and
 * every wait skips (A2)/(M), Drepper's protocol on this word.  So does
 * every process-shared mutex: a private membarrier covers only this
 * process.
 *
 * Nothing after the release.  Once (B) or (B') has stored 0, another
 * thread may lock, unlock, destroy and free the mutex before the
 * unlocking thread runs again (POSIX allows destroying an unlocked mutex
 * at once).  So the unlock reads __flags (immutable after init, it gives
 * the futex flags) and the word, and clears __owner, before the release,
 * decides from what it read before or got back from (B'), and after the
 * release reads only its own slot (C), which is never freed, and calls
 * sf_wake() on the address, which the kernel tolerates on freed or
 * unmapped memory.
 *
 * Ordering, the classic path.  Waiter W and unlocker U, W having read the
 * word as c (with or without S):
 *
 *	W				U
 *	CAS(word, c, c|S)  (A1)		c' = xchg(word, 0)  (B')
 *	futex_wait(word, c|S)  (A3)	if c' has S: futex_wake(word, 1)
 *
 * (A1) and (B') are locked instructions, so one of them is first.  If
 * (B') is first, (A1) fails and W tries again.  If (A1) is first, (B')
 * returns S and U wakes; the kernel compares the word with c|S
 * atomically with queueing W, so either W's futex_wait sees another
 * value and returns at once, or W is queued before U's wake looks at the
 * queue.  W never sleeps on a value it did not just read or store.
 *
 * Ordering, the fast path.  Between U's load of the word (it reads O, no
 * S) and (B), only a waiter can change the word, and only by (A1) from O
 * to O|S: every other change starts from 0 (or is an unlock by a thread
 * that does not hold the mutex, which no program may do while its owner
 * unlocks it).  (B) overwrites that S, and
 * U decides at (C) instead.  Such a waiter read O, U's own id, so it
 * announces on U's own slot:
 *
 *	W				U
 *	fetch_add(notify[U], 1)  (A2)	store_release(word, 0)  (B)
 *	membarrier()  (M)		compiler barrier  (F)
 *	futex_wait(word, O|S)  (A3)	n = notify[U]  (C)
 *					if n: futex_wake(word, 1)
 *
 * This is Dekker's pattern with an asymmetric fence: W's (A2) is a full
 * barrier and (M) puts a full barrier into U's program at some point,
 * wherever U is; (F) only keeps the compiler from moving (C) above (B).
 * If that point is before (B), U's (C) comes after W's (A2) and sees
 * n != 0.  If it is after (B), W's (A3) comes after (B) and the kernel
 * reads 0 or a later value.  So: U wakes, or W does not sleep on the word
 * (B) overwrote.  If U wakes before W is queued, W's futex_wait reads the
 * word after (B) (the kernel's futex_wake has a full barrier before it
 * looks at its queue, the /dev/syncfix wake takes the bucket lock first)
 * and returns at once.  A later value equal to O|S again (U locked again
 * and someone set S anew) is a real state with S set, which the next
 * unlock of U sees.  The StoreLoad reordering of (B) and (C) that (M)
 * rules out cannot be forced by a sync point (it happens inside the CPU's
 * store buffer); tests/mutex-notify.c reports, without asserting, whether
 * a variant without (M) loses wakeups under stress.
 *
 * No wakeup is lost.  Claim: while a thread sleeps on the word, S is in
 * the word, or a wake of the word will come, or a thread that was woken
 * (or returned from its wait) has not yet run the loop again.  S leaves
 * the word only at (B'), which wakes one, or at (B), which wakes one when
 * it overwrote an S that anybody sleeps on (above: each such sleeper
 * announced, and a sleeper that did not sleep on the overwritten word is
 * no sleeper of it).  A woken thread runs the loop again and either takes
 * the mutex with S (so its own unlock is classic and wakes the next) or
 * sets S before it sleeps.  The cases:
 *  - several sleepers: one wake per release; the woken one carries S on.
 *  - a waiter on another mutex of the same owner: it counts in the same
 *    notify, so U's unlocks of other mutexes see n != 0 and wake those
 *    mutexes for nothing (a spurious wake, a futex call) until it
 *    retracts; its own mutex has S, or is woken by the argument above.
 *  - the owner exited and its slot was reused: a waiter that announced
 *    on a mutex of the old owner retracts from the same slot; the new
 *    thread reads a count that is too high and makes spurious wakes only.
 *    A count is never reset: each (A2) is matched by one retract.
 *  - a timed-out waiter: retracts and returns; the kernel's futex and
 *    /dev/syncfix waits return 0, not ETIMEDOUT, for a waiter that a wake
 *    dequeued, so no wake is swallowed by a timeout.  S stays in the word
 *    (one spurious wake at worst).
 *  - a slot that a waiter cannot find (its chunk pointer not yet visible,
 *    or a word that is not a slot id: an uninitialized mutex), or a
 *    membarrier() that fails after the registration succeeded (the kernel
 *    gives no such error; mx_fence_lost): the waiter sleeps at most
 *    MX_POLL_NS at a time and looks again, so such a wait is late, never
 *    lost; after a failure mx_fence is turned off for later unlocks.
 *
 * The cost.  An uncontended lock is one locked CAS and an uncontended
 * unlock none.  Every sleep costs a membarrier() (an interrupt on every
 * CPU that runs a thread of the process), and an unlock by a thread that
 * waiters announced on, for another mutex, one futex call.
 *
 * The acquiring CAS is a full barrier and (B) a release store, (B') a
 * full barrier, so the critical section cannot leak out of the lock in
 * either direction.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <syncfix/mutex.h>

#include "internal.h"
#include "wait.h"

#define MUTEX_PSHARED	0x80u
/* Error-checking or process-shared: out-of-line lock, trylock, unlock. */
#define MUTEX_OUT_OF_LINE	(SF_MUTEX_ERRORCHECK | MUTEX_PSHARED)
#ifndef MUTEX_SPIN
#define MUTEX_SPIN	100
#endif

#define MX_S			0x80000000u	/* sleepers */
#define MX_PSHARED_LOCKED	1u		/* owner field, process-shared */
#define MX_ANON			2u		/* the shared slot */
#define MX_CHUNK_SLOTS		64u
#define MX_CHUNKS		32768u		/* 2^21 slot ids */
#define MX_POLL_NS		10000000L	/* a wait that cannot announce */

/* One thread's slot, alone on its cache line (read by its every unlock). */
struct mx_slot {
	uint32_t notify;
	uint32_t next_free;	/* under mx_alloc_lock, while on the free list */
} __attribute__((aligned(64)));

static struct mx_slot mx_chunk0[MX_CHUNK_SLOTS];	/* ids 0, 1: unused */
static struct mx_slot *mx_chunks[MX_CHUNKS];
/*
 * The allocator's lock: a spin lock on sf_cas(), not a pthread mutex.
 * ThreadSanitizer intercepts pthread_mutex_*, and the order it would see
 * between a thread that gives its slot back at exit and the next one
 * that takes a slot would hide the races of a program built with
 * -fsanitize=thread against the shipped library (whose own atomics TSAN
 * does not see); scripts/check-tsan-user.sh checks they are reported.
 */
static uint32_t mx_alloc_lock;
static uint32_t mx_next_id = MX_ANON + 1;	/* under mx_alloc_lock */
static uint32_t mx_free_head;			/* under mx_alloc_lock */
static pthread_key_t mx_key;
static int mx_key_ok;
static uint32_t mx_fence;	/* registered: unlocks may take (B) */
static uint32_t mx_fence_lost;	/* a membarrier() failed: waits poll */

static __thread uint32_t mx_self_id __attribute__((tls_model("initial-exec")));
static __thread struct mx_slot *mx_self __attribute__((tls_model("initial-exec")));

static inline unsigned int wait_flags(uint32_t flags)
{
	return sf_lock_wait_flags(flags, MUTEX_PSHARED);
}

/* The slot of @id, or NULL for an id that is no slot (or not visible). */
static struct mx_slot *mx_slot_of(uint32_t id)
{
	struct mx_slot *c;

	if (id < MX_ANON || id / MX_CHUNK_SLOTS >= MX_CHUNKS)
		return NULL;
	c = sf_load_ptr_acquire(&mx_chunks[id / MX_CHUNK_SLOTS]);
	return c ? &c[id % MX_CHUNK_SLOTS] : NULL;
}

/*
 * A free slot id, or 0.  Under mx_alloc_lock.  Chunk 0 is static, so the
 * first take cannot fail: MX_ANON's chunk is published before any thread
 * has to fall back to it.
 */
static uint32_t mx_slot_take_locked(void)
{
	struct mx_slot *c;
	uint32_t id = mx_free_head;

	if (id) {
		mx_free_head = mx_slot_of(id)->next_free;
		return id;
	}
	if (mx_next_id / MX_CHUNK_SLOTS >= MX_CHUNKS)
		return 0;
	c = mx_chunks[mx_next_id / MX_CHUNK_SLOTS];
	if (!c) {
		c = mx_next_id < MX_CHUNK_SLOTS ? mx_chunk0 :
			aligned_alloc(64, MX_CHUNK_SLOTS * sizeof(*c));
		if (!c)
			return 0;
		memset(c, 0, MX_CHUNK_SLOTS * sizeof(*c));
		sf_store_ptr_release(&mx_chunks[mx_next_id / MX_CHUNK_SLOTS], c);
	}
	return mx_next_id++;
}

static void mx_alloc_take(void)
{
	uint32_t c = 0;

	while (!sf_cas(&mx_alloc_lock, &c, 1)) {
		c = 0;
		sched_yield();
	}
}

static void mx_alloc_drop(void)
{
	sf_store_release(&mx_alloc_lock, 0);
}

/* The calling thread's first private lock: take a slot.  Return: its id. */
static __attribute__((noinline)) uint32_t mx_self_slow(void)
{
	struct mx_slot *s;
	uint32_t id;

	mx_alloc_take();
	id = mx_slot_take_locked();
	mx_alloc_drop();
	if (!id)
		id = MX_ANON;
	s = mx_slot_of(id);
	/* Without the destructor the slot is only never reused. */
	if (id != MX_ANON && mx_key_ok)
		pthread_setspecific(mx_key, s);
	mx_self = s;
	mx_self_id = id;
	return id;
}

static inline uint32_t mx_me(void)
{
	uint32_t id = mx_self_id;

	return sf_likely(id) ? id : mx_self_slow();
}

/* Thread exit: the slot goes back, its count as it is (see the essay). */
static void mx_slot_release(void *p)
{
	struct mx_slot *s = p;

	mx_alloc_take();
	s->next_free = mx_free_head;
	mx_free_head = mx_self_id;
	mx_alloc_drop();
	mx_self = NULL;
	mx_self_id = 0;
}

static int mx_membarrier(int cmd)
{
	return (int)syscall(SYS_membarrier, cmd, 0, 0);
}

static void mx_atfork_prepare(void)
{
	mx_alloc_take();
}

static void mx_atfork_parent(void)
{
	mx_alloc_drop();
}

/* Alone in the child: the fence is checked. */
static void mx_atfork_child(void)
{
	mx_alloc_drop();
	if (sf_load_relaxed(&mx_fence) &&
	    mx_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
		sf_store_relaxed(&mx_fence, 0);
}

__attribute__((constructor)) static void mx_init(void)
{
	const char *e = secure_getenv("SYNCFIX_MEMBARRIER");

	mx_key_ok = !pthread_key_create(&mx_key, mx_slot_release);
	pthread_atfork(mx_atfork_prepare, mx_atfork_parent, mx_atfork_child);
	if (e && !strcmp(e, "off"))
		return;
	if (!mx_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
		sf_store_relaxed(&mx_fence, 1);
}

/* What the owner field of a lock by this thread holds. */
static inline uint32_t mutex_mine(uint32_t flags)
{
	return (flags & MUTEX_PSHARED) ? MX_PSHARED_LOCKED : mx_me();
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
 * mutex_wait_poll() - sf_wait_tid() for at most MX_POLL_NS: a wait that
 * could not announce (see the essay).  Return: 0 or ETIMEDOUT (@abs).
 */
static int mutex_wait_poll(sf_mutex_t *m, uint32_t c, clockid_t clk,
			   const struct timespec *abs, unsigned int wf,
			   int32_t tid)
{
	struct timespec cap;

	if (!abs)
		clk = CLOCK_MONOTONIC;
	clock_gettime(clk, &cap);
	cap.tv_nsec += MX_POLL_NS;
	if (cap.tv_nsec >= 1000000000L) {
		cap.tv_sec++;
		cap.tv_nsec -= 1000000000L;
	}
	if (abs && (abs->tv_sec < cap.tv_sec ||
		    (abs->tv_sec == cap.tv_sec && abs->tv_nsec <= cap.tv_nsec)))
		return sf_wait_tid(&m->__state, c, abs, clk, wf, tid);
	sf_wait_tid(&m->__state, c, &cap, clk, wf, tid);
	return 0;
}

/*
 * mutex_sleep() - sleep while the word is @c (with S): (A2), (M), (A3)
 * and the retract in a private mutex with the fence on, else (A3) alone.
 * Return: 0 (look again) or ETIMEDOUT.
 */
static int mutex_sleep(sf_mutex_t *m, uint32_t c, clockid_t clk,
		       const struct timespec *abs, unsigned int wf)
{
	bool private = !(m->__flags & MUTEX_PSHARED);
	struct mx_slot *o = private ? mx_slot_of(c & ~MX_S) : NULL;
	int32_t tid = sf_load_tid(&m->__owner);
	int r;

	wf |= SF_WAIT_TAG_MUTEX;
	if (private && sf_unlikely(sf_load_relaxed(&mx_fence_lost)))
		return mutex_wait_poll(m, c, clk, abs, wf, tid);
	if (!private || !sf_load_acquire(&mx_fence))
		return sf_wait_tid(&m->__state, c, abs, clk, wf, tid);
	if (!o)
		return mutex_wait_poll(m, c, clk, abs, wf, tid);
	sf_fetch_add(&o->notify, 1);				/* (A2) */
	SF_SYNC_POINT_VAL("mutex:announced", m, c);
	if (SF_BROKEN(MUTEX_NO_MEMBARRIER))
		r = sf_wait_tid(&m->__state, c, abs, clk, wf, tid);
	else if (sf_likely(!mx_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)))
		r = sf_wait_tid(&m->__state, c, abs, clk, wf, tid);  /* (A3) */
	else {
		SF_SYNC_POINT("mutex:fence-lost", m);
		sf_store_relaxed(&mx_fence_lost, 1);
		sf_store_release(&mx_fence, 0);
		r = mutex_wait_poll(m, c, clk, abs, wf, tid);
	}
	if (!SF_BROKEN(MUTEX_NO_RETRACT))
		sf_fetch_sub(&o->notify, 1);
	return r;
}

/*
 * mutex_lock_slow() - the contended path: bounded spin, then sleep.
 * @mine: the owner field of our lock (mutex_mine())
 * Return: 0 with the mutex held (S left in the word if we got past the
 * spin), or ETIMEDOUT.
 */
static int mutex_lock_slow(sf_mutex_t *m, uint32_t mine, clockid_t clk,
			   const struct timespec *abs)
{
	unsigned int wf = wait_flags(m->__flags);
	uint32_t c, s = SF_BROKEN(MUTEX_ACQUIRE_NO_S) ? 0 : MX_S;
	int i;

	for (i = 0; i < MUTEX_SPIN; i++) {
		c = sf_load_relaxed(&m->__state);
		if (c == 0) {
			if (sf_cas(&m->__state, &c, mine))
				return 0;
		} else if (c & MX_S) {
			break;
		}
		sf_cpu_relax();
	}
	for (;;) {
		c = sf_load_relaxed(&m->__state);
		if (c == 0) {
			if (sf_cas(&m->__state, &c, mine | s))
				return 0;
			continue;
		}
		/* (A1): see the ordering essay at the top of this file. */
		if (!(c & MX_S) && !sf_cas(&m->__state, &c, c | MX_S))
			continue;
		/* Waits for the value just read or stored, never older. */
		if (mutex_sleep(m, c | MX_S, clk, abs, wf) == ETIMEDOUT)
			return ETIMEDOUT;
	}
}

static inline void owner_set(sf_mutex_t *m)
{
	sf_store_tid(&m->__owner, sf_tid());
}

/* The out-of-line parts, so that the fast paths need no stack frame. */
static __attribute__((noinline)) int mutex_lock_contended(sf_mutex_t *m,
							    uint32_t mine)
{
	mutex_lock_slow(m, mine, CLOCK_MONOTONIC, NULL);
	owner_set(m);
	sf_tsan_post_lock(m, 0, 0);
	return 0;
}

static __attribute__((noinline)) int mutex_lock_other(sf_mutex_t *m,
							  uint32_t flags)
{
	uint32_t c = 0, mine;

	if ((flags & SF_MUTEX_ERRORCHECK) && sf_load_tid(&m->__owner) == sf_tid())
		return EDEADLK;
	mine = mutex_mine(flags);
	sf_tsan_pre_lock(m, 0);
	if (!sf_cas(&m->__state, &c, mine))
		return mutex_lock_contended(m, mine);
	owner_set(m);
	sf_tsan_post_lock(m, 0, 0);
	return 0;
}

/* The fast paths, with annotations when @tsan (internal.h). */
static inline __attribute__((always_inline)) int
mutex_lock_fast(sf_mutex_t *m, bool tsan)
{
	uint32_t c = 0, mine = mx_me();

	sf_tsan_pre_lock_if(tsan, m, 0);
	if (sf_unlikely(!sf_cas(&m->__state, &c, mine)))
		return mutex_lock_contended(m, mine);
	owner_set(m);
	sf_tsan_post_lock_if(tsan, m, 0);
	return 0;
}

static inline __attribute__((always_inline)) int
mutex_trylock_fast(sf_mutex_t *m, uint32_t mine, bool tsan)
{
	uint32_t c = 0;

	sf_tsan_pre_lock_if(tsan, m, SF_TSAN_TRY);
	if (!sf_cas(&m->__state, &c, mine)) {
		sf_tsan_post_lock_if(tsan, m, SF_TSAN_TRY | SF_TSAN_TRY_FAILED);
		return EBUSY;
	}
	owner_set(m);
	sf_tsan_post_lock_if(tsan, m, SF_TSAN_TRY);
	return 0;
}

static __attribute__((noinline)) int mutex_trylock_other(sf_mutex_t *m,
							     uint32_t flags)
{
	return mutex_trylock_fast(m, mutex_mine(flags), SF_TSAN_PRESENT);
}

#if !SF_TSAN_BUILD
static __attribute__((noinline)) int mutex_lock_tsan(sf_mutex_t *m)
{
	return mutex_lock_fast(m, true);
}

static __attribute__((noinline)) int mutex_trylock_tsan(sf_mutex_t *m)
{
	return mutex_trylock_fast(m, mx_me(), true);
}
#endif

SF_EXPORT int sf_mutex_lock(sf_mutex_t *m)
{
	uint32_t flags = m->__flags;

	if (sf_unlikely(flags & MUTEX_OUT_OF_LINE))
		return mutex_lock_other(m, flags);
	return SF_TSAN_PICK(mutex_lock_tsan(m),
			    mutex_lock_fast(m, SF_TSAN_BUILD));
}

SF_EXPORT int sf_mutex_trylock(sf_mutex_t *m)
{
	uint32_t flags = m->__flags;

	if (sf_unlikely(flags & MUTEX_OUT_OF_LINE))
		return mutex_trylock_other(m, flags);
	return SF_TSAN_PICK(mutex_trylock_tsan(m),
			    mutex_trylock_fast(m, mx_me(), SF_TSAN_BUILD));
}

SF_EXPORT int sf_mutex_timedlock(sf_mutex_t *m, clockid_t clockid,
				 const struct timespec *abstime)
{
	uint32_t c = 0, flags = m->__flags, mine;
	int r;

	if (!abstime || !sf_clock_valid(clockid) || !sf_timespec_valid(abstime))
		return EINVAL;
	if ((flags & SF_MUTEX_ERRORCHECK) &&
	    sf_load_tid(&m->__owner) == sf_tid())
		return EDEADLK;
	mine = mutex_mine(flags);
	sf_tsan_pre_lock(m, SF_TSAN_TRY);
	r = 0;
	if (!sf_cas(&m->__state, &c, mine))
		r = mutex_lock_slow(m, mine, clockid, abstime);
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
 * The release, (B) or (B'), and what may follow it.  @flags and @w (the
 * word, which we hold) were read before it.  Annotated when @tsan (the
 * wake's post_unlock tests for the runtime itself).
 */
static inline __attribute__((always_inline)) int
mutex_release(sf_mutex_t *m, uint32_t flags, uint32_t w, bool tsan)
{
	uint32_t c;

	sf_tsan_pre_unlock_if(tsan, m, 0);
	sf_store_tid(&m->__owner, 0);
	SF_SYNC_POINT_VAL("mutex:unlock-loaded", m, w);
	if (sf_likely(w == mx_self_id) && sf_likely(sf_load_relaxed(&mx_fence))) {
		sf_store_release(&m->__state, 0);		/* (B) */
		SF_SYNC_POINT_VAL("mutex:unlock-released", m, 0);
		sf_light_fence();				/* (F) */
		c = sf_load_relaxed(&mx_self->notify);		/* (C) */
		SF_SYNC_POINT_VAL("mutex:unlock-notify", m, c);
		if (sf_unlikely(c) && !SF_BROKEN(MUTEX_NO_NOTIFY))
			return mutex_unlock_wake(m, wait_flags(flags));
		sf_tsan_post_unlock_if(tsan, m, 0);
		return 0;
	}
	c = sf_xchg(&m->__state, 0);				/* (B') */
	SF_SYNC_POINT_VAL("mutex:unlock-released", m, c);
	if (sf_unlikely(c & MX_S))
		return mutex_unlock_wake(m, wait_flags(flags));
	sf_tsan_post_unlock_if(tsan, m, 0);
	return 0;
}

#if !SF_TSAN_BUILD
static __attribute__((noinline)) int mutex_release_tsan(sf_mutex_t *m,
							 uint32_t flags,
							 uint32_t w)
{
	return mutex_release(m, flags, w, true);
}
#endif

static __attribute__((noinline)) int mutex_unlock_other(sf_mutex_t *m,
							    uint32_t flags)
{
	uint32_t w = sf_load_relaxed(&m->__state);

	if ((flags & SF_MUTEX_ERRORCHECK) ? sf_load_tid(&m->__owner) != sf_tid()
					  : w == 0)
		return EPERM;
	return mutex_release(m, flags, w, SF_TSAN_PRESENT);
}

SF_EXPORT int sf_mutex_unlock(sf_mutex_t *m)
{
	uint32_t flags = m->__flags;	/* before the release: see the essay */
	uint32_t w;

	if (sf_unlikely(flags & MUTEX_OUT_OF_LINE))
		return mutex_unlock_other(m, flags);
	w = sf_load_relaxed(&m->__state);
	if (sf_unlikely(w == 0))
		return EPERM;
	return SF_TSAN_PICK(mutex_release_tsan(m, flags, w),
			    mutex_release(m, flags, w, SF_TSAN_BUILD));
}
