// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: the ordering test catches MySQL Falcon bug #41194: commit-order linked against a build that makes a commit visible when its record is appended, before it is durable (SF_TEST_BROKEN_VISIBLE_BEFORE_DURABLE), must fail the "appended" and "falcon" cases */
/*
 * The broken build differs from the real one in one place, marked
 * SF_TEST_BROKEN_VISIBLE_BEFORE_DURABLE in commitlog.c: right after step
 * (1) the transaction's slot gets its commit LSN and the watermark passes
 * it, as Falcon set state = committed before writing the serial log.
 * Each case runs in a child process and must fail (exit 1, "not ok");
 * the child's output is shown as comments.  The "visible" case does not
 * depend on the broken order and must still pass there (a check that the
 * broken build is otherwise sound, so the failures are the order's).
 */
#include "test.h"

static void run_case(const char *helper, const char *c, int must_fail)
{
	static char out[32768];
	char *argv[] = { (char *)helper, (char *)c, NULL };
	int st, failed;

	phase(c);
	st = run_capture(argv, NULL, out, sizeof(out));
	failed = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1 &&
		 strstr(out, "not ok") != NULL;
	diag_block(out);
	if (must_fail)
		ok(failed, "visible-before-durable build fails the \"%s\" case",
		   c);
	else
		ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		   "visible-before-durable build passes the \"%s\" case", c);
}

int main(void)
{
	static const struct { const char *name; int must_fail; } cases[] = {
		{ "appended", 1 }, { "falcon", 1 }, { "visible", 0 },
	};
	char helper[4200];

	if (self_dir(helper, sizeof(helper) - 32))
		skip_all("cannot find own directory");
	strcat(helper, "/commit-order-broken");
	if (access(helper, X_OK))
		skip_all("commit-order-broken not built beside this test");
	watchdog_start(30);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(helper, cases[i].name, cases[i].must_fail);
	return done_testing();
}
