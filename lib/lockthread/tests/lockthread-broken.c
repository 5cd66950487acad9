// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: the locking-thread tests catch MySQL bug #48930: lockthread-killpoints against a build whose error exit skips the final state, and against one whose held state is guarded by a second mutex, must hang (caught by the watchdog) */
/*
 * Each helper is lockthread-killpoints linked against lockthread.c built
 * with one SF_TEST_BROKEN_* switch (see the top of lockthread.c):
 *
 *   lockthread-broken-exit      SF_TEST_BROKEN_ERROR_EXIT: the helper's
 *                               error exit ends the thread without
 *                               reaching DONE; every case whose acquire
 *                               fails must hang (the seed's deadlock
 *                               scenario, Rafal Somla's analysis).
 *   lockthread-broken-mutexes   SF_TEST_BROKEN_TWO_MUTEXES: HELD is
 *                               published and the requests checked under
 *                               a second mutex; "held-window" kills
 *                               between the check and the sleep and must
 *                               hang (the seed's first report).
 *   lockthread-broken-hook      SF_TEST_BROKEN_HOOK_REMOVAL: removing the
 *                               interrupt hook does not wait for a call
 *                               in progress; "hook-removal-waits" must
 *                               fail (not hang).
 *
 * Each case runs in a child with a 1-second watchdog (3 under TSAN) and
 * must end with exit status 1 and the watchdog's "not ok ... hang" line
 * (or, for the hook, the test's own "not ok" line).
 * Under TSAN only "seed" and "held-window" run, one per broken build, to
 * keep the program well under 20 s.  (TSAN also reports the broken
 * build's helper thread as leaked: nobody joins a thread that skipped its
 * final state.)  A case that passes
 * against the broken build means the test cannot see the bug.
 */
#include "test.h"

#define HANG "hang: no progress"

/* Run case @c of @helper: it must exit 1 with a line containing @want. */
static void expect_failure(const char *helper, const char *c, const char *want)
{
	char path[4300];
	char *argv[] = { path, (char *)c, NULL };
	double t0 = now_mono();

	beside_self(helper, path, sizeof(path));
	phase(c);
	ok(run_tap_child(argv, want) == CHILD_FAILED,
	   "%s fails the \"%s\" case (in %.2f s)", helper, c, now_mono() - t0);
}

int main(void)
{
	static const char *const exit_cases[] = {
		"seed",
#ifndef TEST_TSAN
		"error-exit", "after-error",
#endif
	};
	size_t i;

	setenv("LOCKTHREAD_WATCHDOG", "1", 1);
	setenv("LOCKTHREAD_ITERS", "20", 1);
	watchdog_start(30);
	for (i = 0; i < sizeof(exit_cases) / sizeof(exit_cases[0]); i++)
		expect_failure("lockthread-broken-exit", exit_cases[i],
			       HANG);
	expect_failure("lockthread-broken-mutexes", "held-window", HANG);
	expect_failure("lockthread-broken-hook", "hook-removal-waits",
		       "set_interrupt returned during a call of the old hook");
	return done_testing();
}
