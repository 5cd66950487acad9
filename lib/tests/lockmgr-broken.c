// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: the lock manager race tests catch both races: lockmgr-races linked against a build without the retry after insertion (SF_TEST_BROKEN_RELEASE_BEFORE_WAIT) and against one with the old retry flag (SF_TEST_BROKEN_RETRY_WHILE_RETRY) must each fail its case by hanging until the lock timeout */
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

/* Return: 1 if the child failed (and took at least the timeout). */
static void run_case(const char *dir, const char *build, const char *c,
		     int must_fail)
{
	static char out[32768];
	char helper[4200], tmo[16];
	char *argv[] = { helper, (char *)c, "-t", tmo, NULL };
	double t0 = now_mono(), dt;
	int st, failed;

	snprintf(helper, sizeof(helper), "%s/lockmgr-races-broken-%s", dir, build);
	snprintf(tmo, sizeof(tmo), "%d", BROKEN_TIMEOUT_MS);
	phase(c);
	st = run_capture(argv, NULL, out, sizeof(out));
	dt = now_mono() - t0;
	failed = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1 &&
		 strstr(out, "not ok") != NULL;
	diag_block(out);
	if (must_fail)
		ok(failed && dt >= BROKEN_TIMEOUT_MS / 1e3,
		   "%s build: the \"%s\" case hangs until the %.1f s lock "
		   "timeout and fails (%.2f s)", build, c,
		   BROKEN_TIMEOUT_MS / 1e3, dt);
	else
		ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		   "%s build: the \"%s\" case (the other fix) still passes", build, c);
}

int main(void)
{
	char dir[4096], probe[4200];

	if (self_dir(dir, sizeof(dir)))
		skip_all("cannot find own directory");
	snprintf(probe, sizeof(probe), "%s/lockmgr-races-broken-rbw", dir);
	if (access(probe, X_OK))
		skip_all("lockmgr-races-broken-* not built beside this test");
	watchdog_start(30);
	run_case(dir, "rbw", "rbw", 1);
	run_case(dir, "rbw", "rwr", 0);
	run_case(dir, "rwr", "rwr", 1);
	run_case(dir, "rwr", "rbw", 0);
	return done_testing();
}
