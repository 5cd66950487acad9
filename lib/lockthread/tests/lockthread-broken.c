// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: the locking-thread tests catch MySQL bug #48930: lockthread-killpoints with an error exit that skips the final state (SF_TEST_BROKEN=error-exit), and with the held state guarded by a second mutex (two-mutexes), must hang (caught by the watchdog); with a hook removal that does not wait (hook-removal) it must fail */
/*
 * Each case runs lockthread-killpoints (the binary make check runs) with
 * one broken protocol put back (SF_TEST_BROKEN; see the top of
 * lockthread.c):
 *
 *   error-exit    the helper's error exit ends the thread without reaching
 *                 DONE; every case whose acquire fails must hang (the
 *                 seed's deadlock scenario, Rafal Somla's analysis).
 *   two-mutexes   HELD is published and the requests checked under a
 *                 second mutex; "held-window" kills between the check and
 *                 the sleep and must hang (the seed's first report).
 *   hook-removal  removing the interrupt hook does not wait for a call in
 *                 progress; "hook-removal-waits" must fail (not hang).
 *
 * Each case runs in a child with a 1-second watchdog (3 under TSAN) and
 * must end with exit status 1 and the watchdog's "not ok ... hang" line
 * (or, for the hook, the test's own "not ok" line).
 * Under TSAN only "seed" and "held-window" run, one per broken protocol, to
 * keep the program well under 20 s.  (TSAN also reports the broken
 * build's helper thread as leaked: nobody joins a thread that skipped its
 * final state.)  A case that passes
 * with the broken protocol means the test cannot see the bug.
 */
#include "test.h"

#define HANG "hang: no progress"

/*
 * Run case @c of lockthread-killpoints with protocol @broken: it must
 * exit 1 with a line containing @want.
 */
static void expect_failure(const char *broken, const char *c, const char *want)
{
	char path[4300];
	char *argv[] = { path, (char *)c, NULL };
	double t0 = now_mono();
	int r;

	beside_self("lockthread-killpoints", path, sizeof(path));
	phase(c);
	r = run_tap_child(argv, broken, want);
	ok(r == CHILD_FAILED, "%s fails the \"%s\" case (in %.2f s)", broken,
	   c, now_mono() - t0);
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
		expect_failure("error-exit", exit_cases[i], HANG);
	expect_failure("two-mutexes", "held-window", HANG);
	expect_failure("hook-removal", "hook-removal-waits",
		       "set_interrupt returned during a call of the old hook");
	return done_testing();
}
