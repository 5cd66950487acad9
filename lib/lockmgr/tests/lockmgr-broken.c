// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: the lock manager race tests catch the races: lockmgr-races run without the retry after insertion (SF_TEST_BROKEN=release-before-wait), with the old retry flag (retry-while-retry), with a killed client's request allowed to wait (kill-before-wait) and with a new waiter's blockers recorded after its section under L (edges-late) must each fail its cases by hanging until the lock timeout, whether the lock is given up by release_all, by the release of one range or by a rollback to a savepoint; lockmgr-listing with a listing copied in two sections (listing-torn) must see torn listings */
/*
 * Each broken protocol differs from the real lock manager in one place,
 * marked with its SF_BROKEN() switch in lockmgr.c.  The matching case of
 * lockmgr-races (the binary make check runs) is run in a child with the
 * switch set and a 1.5 s lock timeout: it must exit 1 with a "not ok"
 * line, after at least the timeout (the waiter slept on a free lock until
 * then).  The other case must still pass with each switch, which shows
 * that a switch removes only the one fix.  The children's output is shown as comments.
 */
#include "test.h"

#define BROKEN_TIMEOUT_MS 1500

static void run_case(const char *build, const char *c, int must_fail)
{
	static const struct {
		const char *build, *broken;
	} sw[] = {
		{ "rbw", "release-before-wait" },
		{ "rwr", "retry-while-retry" },
		{ "kbw", "kill-before-wait" },
		{ "late", "edges-late" },
	};
	char helper[4200], tmo[16];
	char *argv[] = { helper, (char *)c, "-t", tmo, NULL };
	const char *broken = NULL;
	double t0 = now_mono(), dt;
	int r;

	for (size_t i = 0; i < sizeof(sw) / sizeof(*sw); i++)
		if (!strcmp(sw[i].build, build))
			broken = sw[i].broken;
	beside_self("lockmgr-races", helper, sizeof(helper));
	snprintf(tmo, sizeof(tmo), "%d", BROKEN_TIMEOUT_MS);
	phase(c);
	r = run_tap_child(argv, broken, NULL);
	dt = now_mono() - t0;
	if (must_fail)
		ok(r == CHILD_FAILED && dt >= BROKEN_TIMEOUT_MS / 1e3,
		   "%s: the \"%s\" case hangs until the %.1f s lock "
		   "timeout and fails (%.2f s)", broken, c,
		   BROKEN_TIMEOUT_MS / 1e3, dt);
	else
		ok(r == CHILD_PASSED,
		   "%s: the \"%s\" case (the other fix) still passes", broken, c);
}

int main(void)
{
	watchdog_start(60);
	run_case("rbw", "rbw", 1);
	run_case("rbw", "rbw-one", 1);
	run_case("rbw", "rbw-sp", 1);
	run_case("rbw", "rwr", 0);
	run_case("rwr", "rwr", 1);
	run_case("rwr", "rwr-one", 1);
	run_case("rwr", "rwr-sp", 1);
	run_case("rwr", "rbw", 0);
	run_case("kbw", "kbw", 1);
	run_case("kbw", "rbw", 0);
	run_case("late", "late", 1);
	run_case("late", "rbw-one", 0);
	run_case("late", "rwr-one", 0);
	/* Listings: a snapshot in two sections of L shows torn sets. */
	phase("listing");
	ok(self_fails_broken("lockmgr-listing", (char *[]){ "load", NULL },
			     "listing-torn", "never a torn set"),
	   "listing-torn: lockmgr-listing's load case fails (a thread's locks "
	   "from two transactions, or not the first ones)");
	/* R5: not a hang, an eleventh lock under a limit of ten. */
	phase("mem");
	ok(self_fails_broken("lockmgr-races", (char *[]){ "mem", NULL },
			     "mem-unreserved", "mem: 10 locks in"),
	   "mem-unreserved: the \"mem\" case fails (both trees add a lock "
	   "over the limit)");
	return done_testing();
}
