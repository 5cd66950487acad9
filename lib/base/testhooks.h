/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * testhooks.h - test-only injection points and deliberately broken
 * protocols, for deterministic interleaving tests and for the proof that
 * those tests can fail.
 *
 * Both exist only in the test-hook build (SF_TEST_HOOKS, the library's
 * sources compiled once more for the tests); in the shipped library every
 * macro below is a constant or nothing, with no cost and no symbol.
 * internal.h includes this file.
 *
 * Injection points
 * ----------------
 * One mechanism for every component.  SF_SYNC_POINT("component:step",
 * obj) marks a place between two steps of a protocol, SF_SYNC_POINT_VAL()
 * passes a value along (the lock word a reader is about to sleep on,
 * say), and SF_FAULT() asks for a fault to inject (the commit log's I/O).
 * Each calls sf_test_hook, when a test installed one, on the calling
 * thread: the test can stop that thread there and let others run (as
 * MySQL's DEBUG_SYNC does: signal a name, wait for a name; see dsync in
 * lib/base/tests/test.h), look at @val, or answer a fault point.  @obj
 * lets a test tell instances apart.  The hook returns SF_HOOK_NONE for
 * "nothing to inject"; only fault points look at what it returns.
 *
 * Broken protocols
 * ----------------
 * SF_BROKEN(NAME) is true when the earlier bug SF_BROKEN_NAME is put back.
 * It is the constant 0 in the shipped library, so the broken branch is
 * compiled out; in the test-hook build it is a bit read once from the
 * environment, SF_TEST_BROKEN=name[,name...] (the names of
 * sf_broken_names[] in thread.c: "stale-wait", "no-flush", ...).  A test
 * that must fail against a broken protocol runs the same binary with the
 * switch set (run_broken() in test.h).  An unknown name aborts the
 * program: a misspelt switch must not quietly test the correct code.
 */
#ifndef SF_SRC_TESTHOOKS_H
#define SF_SRC_TESTHOOKS_H

#include <stdint.h>

#include "atomic.h"

/* locks/rwlock.c: a reader sleeps on the word it loaded before (C). */
#define SF_BROKEN_STALE_WAIT			(1ull << 0)
/* lockmgr/lockmgr.c: without S4, S3b, and a retry while retrying. */
#define SF_BROKEN_RELEASE_BEFORE_WAIT		(1ull << 1)
#define SF_BROKEN_RETRY_WHILE_RETRY		(1ull << 2)
#define SF_BROKEN_KILL_BEFORE_WAIT		(1ull << 3)
/* lockthread/lockthread.c: the seed's bugs and a hook removal race. */
#define SF_BROKEN_ERROR_EXIT			(1ull << 4)
#define SF_BROKEN_TWO_MUTEXES			(1ull << 5)
#define SF_BROKEN_HOOK_REMOVAL			(1ull << 6)
/* commit/: Falcon's order, its first patch, gathering, the flush. */
#define SF_BROKEN_VISIBLE_BEFORE_DURABLE	(1ull << 7)
#define SF_BROKEN_APPLY_EARLY			(1ull << 8)
#define SF_BROKEN_NO_GATHER			(1ull << 9)
#define SF_BROKEN_GATHER_ALL			(1ull << 10)
#define SF_BROKEN_NO_FLUSH			(1ull << 11)
/* locks/cond.c: a waiter reads the sequence after releasing the mutex. */
#define SF_BROKEN_COND_STALE_SEQ		(1ull << 12)
/* commit/commit.c: a failed batch reported failed though its cut failed. */
#define SF_BROKEN_CUT_IGNORED			(1ull << 13)
/* lockmgr/lockmgr.c: the memory limit checked, then the counter raised. */
#define SF_BROKEN_MEM_UNRESERVED		(1ull << 14)
/* lockmgr/lockmgr.c: a new waiter's blockers recorded after L; every
 * grantable waiter granted by the pass while it sleeps (the old hand-off). */
#define SF_BROKEN_EDGES_LATE			(1ull << 15)
#define SF_BROKEN_ALWAYS_HANDOFF		(1ull << 16)
/* lockmgr/lockmgr.c: a listing copied in two sections of the tree's L. */
#define SF_BROKEN_LISTING_TORN			(1ull << 17)

/* locks/rwlock.c: a write unlock releases by the word it loaded. */
#define SF_BROKEN_WRUNLOCK_LOADED		(1ull << 18)
/* commit/commit-status.c: a status read not checked against a reused slot. */
#define SF_BROKEN_STATUS_NO_RECHECK		(1ull << 19)
/* commit/commit.c: ids handed out with no durable reservation (I1). */
#define SF_BROKEN_IDS_UNRESERVED		(1ull << 20)
/* commit/commit.c: a committer waits for applier room before its commit. */
#define SF_BROKEN_QUEUE_WAIT_EARLY		(1ull << 21)
/* commit/commit-segment.c: a segment used before it is durable (P1); a
 * checkpoint recycles below its lsn, not its scan_from (C1, C3). */
#define SF_BROKEN_SWITCH_UNFLUSHED		(1ull << 22)
#define SF_BROKEN_RECYCLE_EARLY			(1ull << 23)
/* commit/commit.c: an async commit visible ahead of an unfinished commit
 * (A2); a prepare that returns before its record is durable (P1). */
#define SF_BROKEN_ASYNC_VISIBLE_EARLY		(1ull << 24)
#define SF_BROKEN_PREPARE_UNDURABLE		(1ull << 25)
/* commit/commit-segment.c: every preparing writes its segment again, a
 * ready one too (P4); a file already there taken as ready unchecked. */
#define SF_BROKEN_SEG_REWRITE			(1ull << 26)
#define SF_BROKEN_SEG_REUSE_UNCHECKED		(1ull << 27)
/*
 * locks/mutex.c: the unlock that releases with a plain store does not
 * look at its slot's notify (C); a thread that takes the mutex after the
 * spin leaves S clear; a waiter does not retract its announcement; a
 * waiter announces but skips the membarrier (M) (a stress report only).
 */
#define SF_BROKEN_MUTEX_NO_NOTIFY		(1ull << 28)
#define SF_BROKEN_MUTEX_ACQUIRE_NO_S		(1ull << 29)
#define SF_BROKEN_MUTEX_NO_RETRACT		(1ull << 30)
#define SF_BROKEN_MUTEX_NO_MEMBARRIER		(1ull << 31)

/* What a hook returns when it injects nothing. */
#define SF_HOOK_NONE	(-1L)

#ifdef SF_TEST_HOOKS

typedef long (*sf_test_hook_fn)(const char *point, const void *obj,
				uint64_t val);

extern sf_test_hook_fn sf_test_hook;

static inline long sf_test_hook_call(const char *point, const void *obj,
				     uint64_t val)
{
	sf_test_hook_fn fn = sf_load_ptr_acquire(&sf_test_hook);

	return fn ? fn(point, obj, val) : SF_HOOK_NONE;
}

/* The SF_BROKEN_* bits of SF_TEST_BROKEN, parsed on the first call. */
uint64_t sf_broken_mask(void);

#define SF_SYNC_POINT(point, obj) \
	((void)sf_test_hook_call((point), (obj), 0))
#define SF_SYNC_POINT_VAL(point, obj, val) \
	((void)sf_test_hook_call((point), (obj), (val)))
#define SF_FAULT(point, obj, val) sf_test_hook_call((point), (obj), (val))
#define SF_BROKEN(name) ((sf_broken_mask() & SF_BROKEN_##name) != 0)

#else

#define SF_SYNC_POINT(point, obj)		((void)0)
#define SF_SYNC_POINT_VAL(point, obj, val)	((void)0)
#define SF_FAULT(point, obj, val)		SF_HOOK_NONE
#define SF_BROKEN(name)				0

#endif /* SF_TEST_HOOKS */

#endif /* SF_SRC_TESTHOOKS_H */
