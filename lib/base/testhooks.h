/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * testhooks.h - injection points for deterministic interleaving tests.
 *
 * Compiled in only when SF_TEST_HOOKS is defined (a test-only build of the
 * library sources); the normal library has no hook and no cost.  A test
 * installs sf_test_hook and is called at the named points on the calling
 * thread, so it can stop that thread there and let other threads run.
 */
#ifndef SF_SRC_TESTHOOKS_H
#define SF_SRC_TESTHOOKS_H

#include <stdint.h>

enum sf_test_point {
	/*
	 * rwlock read-lock slow path: the lock word was loaded (and the
	 * reader-waiting bit set) and the reader is about to sleep on the value
	 * @val.  Between this point and the sleep other threads may change the
	 * word and issue their wakeups.
	 */
	SF_TP_RDLOCK_BEFORE_WAIT = 1,
	/*
	 * rwlock read unlock (also a refused reader taking back its
	 * increment), write unlock, mutex unlock: the read-modify-write that
	 * releases the lock has just been done (@val: the value it
	 * replaced).  From here on another thread may acquire the lock,
	 * release it, destroy it and free its memory; the unlocking thread
	 * may only call sf_wake() on the address.
	 */
	SF_TP_RDUNLOCK_RELEASED = 2,
	SF_TP_WRUNLOCK_RELEASED = 3,
	SF_TP_MUTEX_UNLOCK_RELEASED = 4,
};

typedef void (*sf_test_hook_fn)(enum sf_test_point point, void *obj,
				uint32_t val);

extern sf_test_hook_fn sf_test_hook;

static inline void sf_test_hook_call(enum sf_test_point point, void *obj,
				     uint32_t val)
{
	sf_test_hook_fn fn = __atomic_load_n(&sf_test_hook, __ATOMIC_ACQUIRE);

	if (fn)
		fn(point, obj, val);
}

/*
 * Named sync points, for the components above the lock primitives (lock
 * manager, locking thread, commit sequencer).  SF_SYNC_POINT("component:
 * step", obj) marks a place between two steps of a protocol; a test
 * installs sf_sync_hook and acts there like MySQL's DEBUG_SYNC (signal a
 * name, wait for a name: see dsync in lib/base/tests/test.h).  @obj lets a test
 * tell instances apart.  Without SF_TEST_HOOKS the macro is nothing.
 */
typedef void (*sf_sync_hook_fn)(const char *point, const void *obj);

extern sf_sync_hook_fn sf_sync_hook;

static inline void sf_sync_point(const char *point, const void *obj)
{
	sf_sync_hook_fn fn = __atomic_load_n(&sf_sync_hook, __ATOMIC_ACQUIRE);

	if (fn)
		fn(point, obj);
}

#endif /* SF_SRC_TESTHOOKS_H */
