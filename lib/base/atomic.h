/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * atomic.h - the library's only atomic read-modify-write operations.
 *
 * Every locked instruction the library executes is emitted here.  On
 * x86-64 each one is followed by a 3-byte NOP (0f 1f 00) whose address is
 * recorded in the ELF section "sf_lfence_slots".  At load time lfence.c
 * may overwrite every such NOP with an lfence (0f ae e8), which is the
 * workaround for AMD erratum 147: on family 0xF parts before revision F a
 * later unlocked read-modify-write can be performed before an earlier
 * locked instruction.  See lfence.c for the decision and the patching.
 *
 * All read-modify-writes here are full barriers (x86 locked instructions;
 * __ATOMIC_SEQ_CST elsewhere).  Loads and stores are plain
 * __atomic_load_n/__atomic_store_n with the order the caller names: they
 * are never locked, so they need no slot.  They are typed, one family per
 * kind of shared word, so that a caller cannot mix them up: sf_load_*()
 * and sf_store_*() for 32-bit words, sf_load64_*() and sf_store64_*() for
 * 64-bit counters and positions, sf_load_tid()/sf_store_tid() for owner
 * thread ids, sf_load_ptr_acquire()/sf_store_ptr_release() for pointers
 * published to other threads.  The library's .c files use these and no
 * __atomic builtin of their own.
 *
 * Builds without slots, where the operations are __atomic builtins:
 *  - other architectures;
 *  - ThreadSanitizer builds: TSAN cannot see inline asm, so the builtins
 *    keep every access visible to it (the slot table is then empty and
 *    sf_lfence_status() reports zero slots);
 *  - -DSF_NO_LFENCE_SLOTS (used by the benchmarks to measure the slots).
 */
#ifndef SF_SRC_ATOMIC_H
#define SF_SRC_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__SANITIZE_THREAD__)
#define SF_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SF_TSAN 1
#endif
#endif

#if defined(__x86_64__) && !defined(SF_TSAN) && !defined(SF_NO_LFENCE_SLOTS)
#define SF_HAVE_LFENCE_SLOTS 1
#endif

#define sf_likely(x)	__builtin_expect(!!(x), 1)
#define sf_unlikely(x)	__builtin_expect(!!(x), 0)

/*
 * sf_load_relaxed(), sf_load_acquire(), sf_store_relaxed(),
 * sf_store_release() on uint32_t; the same with "64" after "load" or
 * "store" on uint64_t.
 */
#define SF_LOAD_STORE(sfx, type)					\
static inline type sf_load##sfx##_relaxed(const type *p)		\
{									\
	return __atomic_load_n(p, __ATOMIC_RELAXED);			\
}									\
static inline type sf_load##sfx##_acquire(const type *p)		\
{									\
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);			\
}									\
static inline void sf_store##sfx##_relaxed(type *p, type v)		\
{									\
	__atomic_store_n(p, v, __ATOMIC_RELAXED);			\
}									\
static inline void sf_store##sfx##_release(type *p, type v)		\
{									\
	__atomic_store_n(p, v, __ATOMIC_RELEASE);			\
}
SF_LOAD_STORE(, uint32_t)
SF_LOAD_STORE(64, uint64_t)
#undef SF_LOAD_STORE

/* A load ordered with every other seq_cst operation (a full fence's pair). */
static inline uint32_t sf_load_seq_cst(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

/*
 * An owner's thread id, read by other threads only to answer "is it me?"
 * (a thread sees its own stores): relaxed.
 */
static inline int32_t sf_load_tid(const int32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void sf_store_tid(int32_t *p, int32_t tid)
{
	__atomic_store_n(p, tid, __ATOMIC_RELAXED);
}

/*
 * A pointer published to other threads, and its reader (macros: any
 * object pointer type, which C cannot pass as void ** without a cast).
 */
#define sf_load_ptr_acquire(pp)		__atomic_load_n((pp), __ATOMIC_ACQUIRE)
#define sf_store_ptr_release(pp, v)	__atomic_store_n((pp), (v), __ATOMIC_RELEASE)

/*
 * The light half of an asymmetric fence: orders nothing on the CPU, only
 * keeps the compiler from moving accesses across it.  Correct only where
 * the other side of the protocol issues membarrier(), which makes every
 * thread of the process pass a full barrier (locks/mutex.c, (F)).
 */
static inline void sf_light_fence(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void sf_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

#ifdef SF_HAVE_LFENCE_SLOTS

/*
 * SF_LFENCE_SLOT - the 3 bytes that follow a locked instruction.
 * "661" is a local label; "661b" names the one just defined even when the
 * asm is inlined many times in one function.  The table section is
 * writable ("aw") so that its absolute addresses may carry dynamic
 * relocations in a shared object, and its name is a C identifier so that
 * the linker defines __start_sf_lfence_slots/__stop_sf_lfence_slots and
 * keeps the section (no -z start-stop-gc is used).
 */
#define SF_LFENCE_SLOT							\
	"661:\n\t"							\
	".byte 0x0f, 0x1f, 0x00\n\t"					\
	".pushsection sf_lfence_slots, \"aw\"\n\t"			\
	".balign 8\n\t"							\
	".quad 661b\n\t"						\
	".popsection\n\t"

/**
 * sf_cas() - compare-and-swap a 32-bit word.
 * @p:        the word
 * @expected: in: value expected at @p; out: value found there
 * @desired:  value stored when *@p == *@expected
 *
 * Return: true if @desired was stored.  Full barrier either way.
 */
static inline bool sf_cas(uint32_t *p, uint32_t *expected, uint32_t desired)
{
	bool ok;

	__asm__ __volatile__("lock cmpxchgl %[d], %[m]\n\t"
			     SF_LFENCE_SLOT
			     : "=@ccz"(ok), [m] "+m"(*p), "+a"(*expected)
			     : [d] "r"(desired)
			     : "memory");
	return ok;
}

/** sf_xchg() - store @v into *@p; Return: the previous value.  Full barrier. */
static inline uint32_t sf_xchg(uint32_t *p, uint32_t v)
{
	__asm__ __volatile__("xchgl %[v], %[m]\n\t"
			     SF_LFENCE_SLOT
			     : [v] "+r"(v), [m] "+m"(*p)
			     :
			     : "memory");
	return v;
}

/** sf_fetch_add() - add @v to *@p; Return: the previous value.  Full barrier. */
static inline uint32_t sf_fetch_add(uint32_t *p, uint32_t v)
{
	__asm__ __volatile__("lock xaddl %[v], %[m]\n\t"
			     SF_LFENCE_SLOT
			     : [v] "+r"(v), [m] "+m"(*p)
			     :
			     : "memory", "cc");
	return v;
}

#else /* !SF_HAVE_LFENCE_SLOTS */

static inline bool sf_cas(uint32_t *p, uint32_t *expected, uint32_t desired)
{
	return __atomic_compare_exchange_n(p, expected, desired, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static inline uint32_t sf_xchg(uint32_t *p, uint32_t v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

static inline uint32_t sf_fetch_add(uint32_t *p, uint32_t v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}

#endif /* SF_HAVE_LFENCE_SLOTS */

static inline uint32_t sf_fetch_sub(uint32_t *p, uint32_t v)
{
	return sf_fetch_add(p, (uint32_t)0 - v);
}

#endif /* SF_SRC_ATOMIC_H */
