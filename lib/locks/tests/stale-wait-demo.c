// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: the glibc 23861 tests catch the bug: rwlock-glibc23861 run with the protocol that waits on the stale lock word put back (SF_TEST_BROKEN=stale-wait) must fail each case */
/*
 * The broken protocol differs from the real one in one place, marked
 * SF_BROKEN(STALE_WAIT) in rwlock.c: the reader sleeps on the copy of the
 * word it loaded before setting RWAIT, as glibc 2.28 did.  Each case of
 * rwlock-glibc23861 (the very binary make check runs) is run with it in a
 * child process; the case must fail (exit 1 with "not ok").  The child's output is shown as comments.
 * The injected interleaving ("hook") and the CPU check ("nospin") are
 * deterministic and asserted; the random "pwn" run catches the broken
 * build only sometimes (both readers must miss their wakeup), so its
 * outcome is reported, not asserted.
 */
#include "test.h"

/* Return: 1 if the case failed as it must. */
static int run_case(const char *helper, const char *c, int assert_fail)
{
	char *argv[] = { (char *)helper, (char *)c, NULL };
	double t0 = now_mono();
	int caught;

	phase(c);
	caught = run_tap_child(argv, "stale-wait", NULL) == CHILD_FAILED;
	if (assert_fail)
		ok(caught, "stale-wait put back fails the \"%s\" case "
		   "(caught in %.2f s)", c, now_mono() - t0);
	else
		diag("random \"%s\" case with stale-wait put back: %s after %.2f s "
		     "(probabilistic, not asserted)", c,
		     caught ? "caught" : "not caught", now_mono() - t0);
	return caught;
}

int main(void)
{
	char helper[4200];

	beside_self("rwlock-glibc23861", helper, sizeof(helper));
	watchdog_start(30);
	run_case(helper, "hook", 1);
	run_case(helper, "nospin", 1);
	run_case(helper, "pwn", 0);
	return done_testing();
}
