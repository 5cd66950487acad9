/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * internal.h - declarations shared by the library's sources; never installed.
 */
#ifndef SF_SRC_INTERNAL_H
#define SF_SRC_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "atomic.h"

/* The library is built with -fvisibility=hidden; this marks the public API. */
#define SF_EXPORT __attribute__((visibility("default")))

/*
 * Thread ids.  The kernel tid identifies the owner of an error-checking
 * mutex and the writer of a rwlock; it is unique across processes, which
 * process-shared locks need.  It is cached per thread (initial-exec TLS:
 * one %fs-relative load) and the cache is reset in the child of fork().
 */
extern __thread pid_t sf_tid_cache __attribute__((tls_model("initial-exec")));
pid_t sf_tid_slow(void);

static inline pid_t sf_tid(void)
{
	pid_t t = sf_tid_cache;

	return sf_likely(t) ? t : sf_tid_slow();
}

/* CLOCK_MONOTONIC in nanoseconds: the one clock of statistics and limits. */
static inline uint64_t sf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * ThreadSanitizer annotations.  TSAN cannot see futex sleeps, and in the
 * shipped library not even the lock words; these calls tell it which
 * operations acquire and release a lock, so that it checks the data a
 * program accesses under the locks and the order in which it takes them
 * (lock-order inversions), and, with sf_tsan_release()/sf_tsan_acquire()
 * on one address, each other happens-before the library promises (a
 * grant after a wait, a handoff, a commit made visible).
 *
 * The TSAN build of the library (SF_TSAN: compiled with
 * -fsanitize=thread) calls them always.  The shipped library calls them
 * through weak references, only when the TSAN runtime is in the process:
 * a program built with -fsanitize=thread against the installed library
 * needs no other build and no suppression file.  Whether it is there is
 * decided once, by the dynamic linker (a weak undefined symbol's address
 * is 0 when nothing defines it).
 *
 * Two forms.  sf_tsan_pre_lock() and the others test that address at
 * each call: for slow paths.  A fast path (lock, trylock, unlock) is an
 * always-inline body with a constant @tsan, whose annotations are
 * sf_tsan_*_if(tsan, ...): the exported function is
 * SF_TSAN_PICK(copy, body): an out-of-line copy of the body with @tsan
 * true when the runtime is there, otherwise the body with SF_TSAN_BUILD,
 * 0 in the shipped library.  So the fast path of a
 * program without TSAN costs one load and a branch that always goes the
 * same way, and keeps no stack frame for the annotation calls.  In the
 * TSAN build SF_TSAN_BUILD is 1 and there is no detour.
 */
#include <sanitizer/tsan_interface.h>
#ifdef SF_TSAN
#define SF_TSAN_BUILD			1
#define SF_TSAN_PRESENT			1
#define SF_TSAN_PICK(copy, body)	(body)
#else
#pragma weak __tsan_mutex_create
#pragma weak __tsan_mutex_destroy
#pragma weak __tsan_mutex_pre_lock
#pragma weak __tsan_mutex_post_lock
#pragma weak __tsan_mutex_pre_unlock
#pragma weak __tsan_mutex_post_unlock
#pragma weak __tsan_acquire
#pragma weak __tsan_release
#define SF_TSAN_BUILD			0
#define SF_TSAN_PRESENT			sf_unlikely(&__tsan_mutex_pre_lock != NULL)
#define SF_TSAN_PICK(copy, body)	(SF_TSAN_PRESENT ? (copy) : (body))
#endif
#define sf_tsan_if(t, call)	((void)((t) && ((call), 1)))
#define SF_TSAN_CALL(call)	sf_tsan_if(SF_TSAN_PRESENT, call)
#define sf_tsan_create(a, f)	SF_TSAN_CALL(__tsan_mutex_create((a), (f)))
#define sf_tsan_destroy(a, f)	SF_TSAN_CALL(__tsan_mutex_destroy((a), (f)))
#define sf_tsan_pre_lock(a, f)	SF_TSAN_CALL(__tsan_mutex_pre_lock((a), (f)))
#define sf_tsan_post_lock(a, f, r) \
	SF_TSAN_CALL(__tsan_mutex_post_lock((a), (f), (r)))
#define sf_tsan_pre_unlock(a, f) \
	SF_TSAN_CALL((void)__tsan_mutex_pre_unlock((a), (f)))
#define sf_tsan_post_unlock(a, f) \
	SF_TSAN_CALL(__tsan_mutex_post_unlock((a), (f)))
#define sf_tsan_pre_lock_if(t, a, f) \
	sf_tsan_if(t, __tsan_mutex_pre_lock((a), (f)))
#define sf_tsan_post_lock_if(t, a, f) \
	sf_tsan_if(t, __tsan_mutex_post_lock((a), (f), 0))
#define sf_tsan_pre_unlock_if(t, a, f) \
	sf_tsan_if(t, (void)__tsan_mutex_pre_unlock((a), (f)))
#define sf_tsan_post_unlock_if(t, a, f) \
	sf_tsan_if(t, __tsan_mutex_post_unlock((a), (f)))
#define sf_tsan_acquire(a)	SF_TSAN_CALL(__tsan_acquire((void *)(a)))
#define sf_tsan_release(a)	SF_TSAN_CALL(__tsan_release((void *)(a)))
#define SF_TSAN_READ		__tsan_mutex_read_lock
#define SF_TSAN_TRY		__tsan_mutex_try_lock
#define SF_TSAN_TRY_FAILED	__tsan_mutex_try_lock_failed

/* Test-only hooks and broken protocols: nothing without SF_TEST_HOOKS. */
#include "testhooks.h"

/* Are the @n reserved words at @p all zero?  (A caller's input struct.) */
static inline int sf_reserved_zero_n(const unsigned int *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}
/* ... of the array @a: SF_RESERVED_ZERO(opt->reserved) */
#define SF_RESERVED_ZERO(a)	sf_reserved_zero_n((a), sizeof(a) / sizeof((a)[0]))

#endif /* SF_SRC_INTERNAL_H */
