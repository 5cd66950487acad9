// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: MySQL Falcon bug #41194 made deterministic: a commit held by sync points after (1) append, after (2) durable and after (3) visible; nothing sees it before it is durable, no snapshot sees it before (3), no applier receives it before (4) */
/*
 * Usage: commit-order [appended|durable|visible|falcon]...  (default: all)
 *
 * Linked against the test-hook build.  Run with
 * SF_TEST_BROKEN=visible-before-durable (Falcon's original
 * order: committed and visible when the commit record is appended, before
 * it is written) must fail the "appended" and "falcon" cases;
 * commit-broken-demo checks that.
 *
 * Steps (commit.c): (1) append, (2) durable, (3) visible, (4) woken,
 * (5) queued to the appliers.  Thread "A" commits transaction T; the main
 * thread looks at T while A is held at a step.
 */
#include "test.h"
#include "commit-test.h"

static struct ct_seen applied;
static sf_clog_t *L;
static uint64_t T;
static int a_result = -1;

static void *committer(void *p)
{
	sf_txn_t *t = p;

	dsync_thread("A");
	a_result = sf_txn_commit(t, NULL);
	dsync_thread(NULL);
	return NULL;
}

static int status(const sf_snapshot_t *s)
{
	int st = -1;

	sf_clog_txn_status(L, T, s, &st);
	return st;
}

static int applier_has(uint64_t id, long ms)
{
	double end = now_mono() + (double)ms / 1e3;

	do {
		if (ct_find(&applied, id) >= 0)
			return 1;
		if (ms)
			sleep_ms(1);
	} while (now_mono() < end);
	return 0;
}

/* Start A on a new transaction T with one record, held at @point. */
static pthread_t start_held(const char *point, const char *sig,
			    const char *go)
{
	pthread_t th;
	sf_txn_t *t;

	dsync_reset();
	dsync_arm(point, "A", sig, go, 1);
	sf_txn_begin(L, &t);
	T = sf_txn_id(t);
	sf_txn_add(t, "T's record", 10);
	a_result = -1;
	pthread_create(&th, NULL, committer, t);
	if (!dsync_wait_for(sig, 5000))
		ok(0, "A reached %s", point);
	return th;
}

/* Nobody sees T: fresh snapshot, waiters, appliers. */
static void nobody_sees(const char *when)
{
	struct timespec dl = deadline_ms(CLOCK_MONOTONIC, 30);
	sf_snapshot_t s;
	int st = -1;

	sf_clog_snapshot(L, &s);
	ok(status(&s) == SF_TXN_ACTIVE, "%s: a new snapshot does not see T "
	   "(status %d)", when, status(&s));
	ok(status(NULL) == SF_TXN_ACTIVE, "%s: status is active", when);
	ok_err(sf_clog_txn_wait(L, T, CLOCK_MONOTONIC, &dl, &st), ETIMEDOUT,
	       "%s: a waiter on T is not woken", when);
	ok(!applier_has(T, 0), "%s: no applier has received T", when);
}

static void finish(pthread_t th, const char *go, sf_snapshot_t *old)
{
	dsync_signal(go);
	pthread_join(th, NULL);
	ok(a_result == 0, "T's commit returned 0");
	ok(status(NULL) == SF_TXN_COMMITTED, "T visible after its commit");
	ok(applier_has(T, 5000), "the applier received T after it finished");
	if (old)
		ok(status(old) == SF_TXN_ACTIVE,
		   "a snapshot taken before T finished never sees it");
}

static void case_appended(void)
{
	pthread_t th = start_held("commit:appended", "a-appended", "go");
	sf_snapshot_t s;

	/* The commit record is in the buffer, not yet written. */
	nobody_sees("appended, not durable");
	sf_clog_snapshot(L, &s);
	finish(th, "go", &s);
}

static void case_durable(const char *path)
{
	pthread_t th = start_held("commit:durable", "a-durable", "go");
	sf_snapshot_t s;
	unsigned char *b;
	size_t len = 0;

	/* T's records are in the file: the flush has returned. */
	b = ct_slurp_log(path, &len);
	ok(b && len >= 32 + 42 + 32 && memmem(b, len, "T's record", 10),
	   "durable: T's record is in the file (%zu bytes)", len);
	free(b);
	nobody_sees("durable, not visible");
	sf_clog_snapshot(L, &s);
	finish(th, "go", &s);
}

static void case_visible(void)
{
	pthread_t th = start_held("commit:visible", "a-visible", "go");

	ok(status(NULL) == SF_TXN_COMMITTED,
	   "visible: a new snapshot sees T after (3)");
	sleep_ms(20);
	ok(!applier_has(T, 0), "visible, not woken: no applier has T yet");
	finish(th, "go", NULL);
}

/*
 * The seed's interleaving: A's commit is in flight; B looks at A's work,
 * builds on it only if A is visible, and commits.  B must not see A
 * before A's commit record is durable, so a crash then cannot leave B
 * committed on top of a lost A.
 */
static void case_falcon(void)
{
	pthread_t th = start_held("commit:appended", "a-appended", "go");
	sf_snapshot_t s;
	sf_txn_t *b;
	int saw_a;

	sf_txn_begin(L, &b);
	sf_clog_snapshot(L, &s);
	saw_a = status(&s) == SF_TXN_COMMITTED;
	sf_txn_add(b, saw_a ? "B built on A" : "B alone", saw_a ? 12 : 7);
	ok(!saw_a, "falcon: B does not see A while A's commit is not durable");
	ok(sf_txn_commit(b, NULL) == 0, "falcon: B commits");
	finish(th, "go", NULL);
}

static void run(const char *c, const char *path)
{
	phase(c);
	if (!strcmp(c, "appended"))
		case_appended();
	else if (!strcmp(c, "durable"))
		case_durable(path);
	else if (!strcmp(c, "visible"))
		case_visible();
	else if (!strcmp(c, "falcon"))
		case_falcon();
}

int main(int argc, char **argv)
{
	static const char *const all[] = { "appended", "durable", "visible",
					   "falcon" };
	const int modes[] = { SF_CLOG_IO_URING_LINKED, SF_CLOG_IO_PWRITEV };

	watchdog_start(30);
	ct_mkdir(0);
	for (int m = 0; m < 2; m++) {
		struct sf_clog_options o = { .io = modes[m] };
		char p[4600];

		ct_path(p, sizeof(p), "order.log");
		ct_unlink(p);
		if (sf_clog_open(p, &o, &L, NULL)) {
			ok(0, "open");
			return done_testing();
		}
		diag("write method: %s", sf_clog_io_method(L));
		ct_seen_reset(&applied);	/* ids start again at 1 */
		sf_clog_add_applier(L, ct_apply_cb, &applied);
		if (argc > 1)
			for (int i = 1; i < argc; i++)
				run(argv[i], p);
		else
			for (int i = 0; i < 4; i++)
				run(all[i], p);
		dsync_reset();
		sf_clog_close(L);
	}
	return done_testing();
}
