// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: the lock manager race tests catch the races: lockmgr-races linked against a build without the retry after insertion (SF_TEST_BROKEN_RELEASE_BEFORE_WAIT), one with the old retry flag (SF_TEST_BROKEN_RETRY_WHILE_RETRY) and one where a killed client's request may still wait (SF_TEST_BROKEN_KILL_BEFORE_WAIT) must each fail its case by hanging until the lock timeout */
/*
 * Each broken build differs from the real lock manager in one place,
 * marked with its SF_TEST_BROKEN_* switch in lockmgr.c.  The matching case
 * of lockmgr-races is run in a child with a 1.5 s lock timeout: it must
 * exit 1 with a "not ok" line, after at least the timeout (the waiter
 * slept on a free lock until then).  The other case must still pass
 * against each build, which shows that the builds differ only in the one
 * fix.  The children's output is shown as comments.
 */
#include "test.h"

#define BROKEN_TIMEOUT_MS 1500

static void run_case(const char *build, const char *c, int must_fail)
{
	char helper[4200], name[64], tmo[16];
	char *argv[] = { helper, (char *)c, "-t", tmo, NULL };
	double t0 = now_mono(), dt;
	int r;

	snprintf(name, sizeof(name), "lockmgr-races-broken-%s", build);
	beside_self(name, helper, sizeof(helper));
	snprintf(tmo, sizeof(tmo), "%d", BROKEN_TIMEOUT_MS);
	phase(c);
	r = run_tap_child(argv, NULL);
	dt = now_mono() - t0;
	if (must_fail)
		ok(r == CHILD_FAILED && dt >= BROKEN_TIMEOUT_MS / 1e3,
		   "%s build: the \"%s\" case hangs until the %.1f s lock "
		   "timeout and fails (%.2f s)", build, c,
		   BROKEN_TIMEOUT_MS / 1e3, dt);
	else
		ok(r == CHILD_PASSED,
		   "%s build: the \"%s\" case (the other fix) still passes", build, c);
}

int main(void)
{
	watchdog_start(30);
	run_case("rbw", "rbw", 1);
	run_case("rbw", "rwr", 0);
	run_case("rwr", "rwr", 1);
	run_case("rwr", "rbw", 0);
	run_case("kbw", "kbw", 1);
	run_case("kbw", "rbw", 0);
	return done_testing();
}
