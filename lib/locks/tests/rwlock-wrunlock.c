// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: a writer that goes to sleep between a write unlock's load of the word and its releasing CAS is woken by that unlock (per kind); with the release decided from the loaded word (SF_TEST_BROKEN=wrunlock-loaded) the case fails */
/*
 * Usage: rwlock-wrunlock [wakes|broken]   (default: both)
 *
 * The write unlock's fast path (rwlock.c, rwlock_wrunlock()) loads the
 * word and, when it shows WLOCKED alone, releases with one CAS from that
 * value to 0: nobody to wake.  A writer may set WSLEEP and sleep between
 * the load and the CAS; the CAS must then fail and the unlock go to
 * wr_unlock(), which sees WSLEEP in the word it replaces and wakes it.
 * The interleaving is forced at the sync point "rwlock:wrunlock-loaded"
 * (test-hook build):
 *
 *	thread A                       thread B                 main
 *	wrlock
 *	unlock: load word (WLOCKED)
 *	  stop at the sync point ----------------------------> start B
 *	                               wrlock: spin, set WSLEEP,
 *	                               futex wait  ----------> B asleep
 *	  <--------------------------------------------------- go
 *	  CAS fails: wr_unlock, wake --> B has the lock
 *
 * "broken" runs "wakes" again with SF_TEST_BROKEN=wrunlock-loaded (the
 * fast path stores 0 whatever the word holds by then) and requires it to
 * fail: B sleeps on.
 */
#include "test.h"

#include <sys/syscall.h>

#include <syncfix.h>

static const char *const kind_name[] = { "prefer-reader", "prefer-writer",
					 "nonrecursive" };

static sf_rwlock_t lk;
static pid_t b_tid;

static void *unlocker(void *p)
{
	(void)p;
	dsync_thread("A");
	sf_rwlock_wrlock(&lk);
	dsync_signal("a-locked");
	dsync_wait_for("a-unlock", 5000);
	sf_rwlock_unlock(&lk);		/* stops at the sync point */
	return NULL;
}

static void *second_writer(void *p)
{
	int r;

	(void)p;
	__atomic_store_n(&b_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	r = sf_rwlock_wrlock(&lk);
	if (r == 0) {
		dsync_signal("b-locked");
		sf_rwlock_unlock(&lk);
	}
	return (void *)(intptr_t)r;
}

static void case_wakes(void)
{
	sf_rwlockattr_t at;
	pthread_t a, b;
	int k, i, asleep, woken;
	void *res;

	phase("wakes");
	for (k = 0; k < 3; k++) {
		sf_rwlockattr_init(&at);
		sf_rwlockattr_setkind(&at, k);
		sf_rwlock_init(&lk, &at);
		b_tid = 0;
		dsync_reset();
		dsync_arm("rwlock:wrunlock-loaded", "A", "a-loaded", "go", 1);
		pthread_create(&a, NULL, unlocker, NULL);
		dsync_wait_for("a-locked", 5000);
		dsync_signal("a-unlock");
		if (!ok(dsync_wait_for("a-loaded", 5000),
			"%s: the unlock stopped after loading the word", kind_name[k]))
			return;
		pthread_create(&b, NULL, second_writer, NULL);
		for (asleep = 0, i = 0; i < 400 && !asleep; i++) {
			sleep_ms(5);
			asleep = __atomic_load_n(&b_tid, __ATOMIC_ACQUIRE) &&
				 tid_sleeping(b_tid);
		}
		ok(asleep, "%s: a second writer went to sleep in between", kind_name[k]);
		dsync_signal("go");
		woken = dsync_wait_for("b-locked", 3000);
		ok(woken, "%s: the unlock wakes it, and it takes the lock", kind_name[k]);
		pthread_join(a, NULL);
		if (!woken) {
			diag("the second writer still sleeps 3 s after the unlock: the "
			     "release was decided from the word loaded before it slept");
			return;		/* B sleeps on; the process ends with it */
		}
		pthread_join(b, &res);
		ok(res == NULL, "%s: its wrlock returned 0", kind_name[k]);
		ok(sf_rwlock_destroy(&lk) == 0, "%s: the lock is free at the end",
		   kind_name[k]);
	}
}

/* The same case with the release decided from the loaded word must fail. */
static void case_broken(void)
{
	char *args[] = { "wakes", NULL };

	phase("broken");
	ok(self_fails_broken("rwlock-wrunlock", args, "wrunlock-loaded",
			     "the unlock wakes it"),
	   "broken: with SF_TEST_BROKEN=wrunlock-loaded the case fails");
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;

	watchdog_start(60);
	if (!only || !strcmp(only, "wakes"))
		case_wakes();
	if (!only || !strcmp(only, "broken"))
		case_broken();
	return done_testing();
}
