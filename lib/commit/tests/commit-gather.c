// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: gathering before a flush (commit.c G1-G5), made deterministic with sync points: a leader waits for a transaction begun since the last flush and for a committer not yet back from it, and they share one flush; it never waits for a transaction older than the last flush; it stops at its time limit, when the buffer is half full, when a record finds no room, and never gathers when turned off */
/*
 * Usage: commit-gather [young|returning|old|timeout|full|room|off]...
 *        (default: all)
 *
 * Linked against the test-hook build.  Run with two deliberately broken
 * protocols (SF_TEST_BROKEN) it must fail (commit-broken-demo checks):
 *   no-gather   no gathering (a flush starts as soon as a
 *	flush slot is free: with one flush at a time the committers split
 *	into two halves that each wait for two flushes): fails "young" and
 *	"returning";
 *   gather-all  every open transaction counts as coming,
 *	however old: fails "old" (an idle transaction costs every commit
 *	the whole limit).
 *
 * Every case opens a fresh log on tmpfs and commits one transaction
 * first, so that a batch has finished and the flush latency is known.
 * The gathering leader is held at "commit:gather" (before it looks at
 * who is coming) until the others have done what the case needs, so no
 * case depends on timing except "timeout", which waits for the limit.
 */
#include "test.h"
#include "commit-test.h"

static sf_clog_t *L;
static struct sf_clog_stats st0;

static struct sf_clog_stats stats(void)
{
	struct sf_clog_stats s;

	sf_clog_stats(L, &s);
	return s;
}

/* Open a fresh log and commit one transaction; st0: the stats after it. */
static int open_log(const char *name, unsigned int gather_pct, size_t bufsz)
{
	struct sf_clog_options o = { .gather_pct = gather_pct,
				     .buffer_size = bufsz };
	char p[4600];
	sf_txn_t *t;

	ct_path(p, sizeof(p), name);
	ct_unlink(p);
	dsync_reset();
	if (sf_clog_open(p, &o, &L, NULL))
		return ok(0, "open %s", name), -1;
	if (sf_txn_begin(L, &t) || sf_txn_add(t, "w", 1) ||
	    sf_txn_commit(t, NULL))
		return ok(0, "%s: first commit", name), -1;
	st0 = stats();
	return 0;
}

struct committer {
	const char *name;
	sf_txn_t *t;		/* NULL: begin one */
	size_t len;		/* a record of len bytes first (0: "x") */
	int result;
	uint64_t id, lsn;
	pid_t tid;
	pthread_t th;
};

static void *commit_main(void *arg)
{
	static char big[4096];
	struct committer *c = arg;
	int r = 0;

	__atomic_store_n(&c->tid, gettid(), __ATOMIC_RELEASE);
	dsync_thread(c->name);
	if (!c->t)
		r = sf_txn_begin(L, &c->t);
	if (!r) {
		c->id = sf_txn_id(c->t);
		r = c->len ? sf_txn_add(c->t, big, c->len)
			   : sf_txn_add(c->t, "x", 1);
	}
	c->result = r ? r : sf_txn_commit(c->t, &c->lsn);
	dsync_thread(NULL);
	return NULL;
}

static void start(struct committer *c, const char *name, sf_txn_t *t,
		  size_t len)
{
	*c = (struct committer){ .name = name, .t = t, .len = len,
				 .result = -1 };
	pthread_create(&c->th, NULL, commit_main, c);
}

static sf_txn_t *begin(void)
{
	sf_txn_t *t = NULL;

	if (sf_txn_begin(L, &t))
		ok(0, "begin");
	return t;
}

/* Wait until thread @tid sleeps in the kernel (at most 5 s). */
static int sleeping(const struct committer *c)
{
	double end = now_mono() + 5;
	pid_t tid;

	while (!(tid = __atomic_load_n(&c->tid, __ATOMIC_ACQUIRE)) ||
	       !tid_sleeping(tid))
		if (now_mono() > end)
			return 0;
		else
			sleep_ms(1);
	return 1;
}

static void close_log(void)
{
	if (sf_clog_close(L))
		ok(0, "close");
	dsync_reset();
}

#define D(field) (s.field - st0.field)

/* Exactly one gathering since st0, and it did not end at the limit. */
/* Join A and @b (named @bname); both commits must have returned 0. */
static void join_pair(struct committer *a, struct committer *b,
		      const char *what, const char *bname)
{
	pthread_join(a->th, NULL);
	pthread_join(b->th, NULL);
	ok(a->result == 0 && b->result == 0, "%s: both commits return 0 "
	   "(A %d, %s %d)", what, a->result, bname, b->result);
}

static void ok_one_gathering(struct sf_clog_stats s, const char *what)
{
	ok(D(gathers) == 1 && D(gather_timeouts) == 0,
	   "%s, not by the limit (%llu gatherings, %llu timeouts)", what,
	   (unsigned long long)D(gathers),
	   (unsigned long long)D(gather_timeouts));
}

/*
 * young: Y is begun after the last flush and still open when A commits:
 * A gathers; Y commits (from B) while A is held; released, A finds
 * nobody coming and one flush carries both commits.
 */
static void case_young(void)
{
	struct committer a, b;
	struct sf_clog_stats s;
	sf_txn_t *y;

	if (open_log("young.log", 0, 0))
		return;
	y = begin();
	sf_txn_add(y, "y", 1);
	dsync_arm("commit:gather", "A", "a-gathering", "go", 1);
	dsync_arm("commit:appended", "B", "b-appended", NULL, 1);
	start(&a, "A", NULL, 0);
	ok(dsync_wait_for("a-gathering", 2000),
	   "young: A gathers while Y, begun after the last flush, is open");
	start(&b, "B", y, 0);
	ok(dsync_wait_for("b-appended", 5000), "young: Y's commit appended");
	dsync_signal("go");
	join_pair(&a, &b, "young", "Y");
	s = stats();
	ok(D(flushes) == 1, "young: one flush for both (%llu)",
	   (unsigned long long)D(flushes));
	ok_one_gathering(s, "young: one gathering, ended by Y's arrival");
	close_log();
}

/*
 * returning: A and B share a batch; B is held after it was woken, before
 * it is back; C commits next and gathers for B; once B is back, C finds
 * nobody coming and flushes without waiting for the limit.
 */
static void case_returning(void)
{
	struct committer a, b, c;
	struct sf_clog_stats s;
	sf_txn_t *tb;

	if (open_log("returning.log", 0, 0))
		return;
	tb = begin();	/* young: A gathers for it, as in "young" */
	dsync_arm("commit:gather", "A", "a-gathering", "go-a", 1);
	dsync_arm("commit:appended", "B", "b-appended", NULL, 1);
	dsync_arm("commit:back", "B", "b-woken", "go-b", 1);
	dsync_arm("commit:gather", "C", "c-gathering", "go-c", 1);
	start(&a, "A", NULL, 0);
	dsync_wait_for("a-gathering", 2000);
	start(&b, "B", tb, 0);
	dsync_wait_for("b-appended", 5000);
	dsync_signal("go-a");
	pthread_join(a.th, NULL);
	ok(dsync_wait_for("b-woken", 5000),
	   "returning: B woken by the flush, held before it is back");
	st0 = stats();
	start(&c, "C", NULL, 0);
	ok(dsync_wait_for("c-gathering", 2000),
	   "returning: C gathers while B, woken by the last flush, is not "
	   "back");
	dsync_signal("go-b");
	pthread_join(b.th, NULL);
	dsync_signal("go-c");
	pthread_join(c.th, NULL);
	s = stats();
	ok(a.result == 0 && b.result == 0 && c.result == 0,
	   "returning: all commits return 0");
	ok_one_gathering(s, "returning: C's gathering ended when B was back");
	close_log();
}

/*
 * old: Y is begun before the last flush and stays idle: A's commit never
 * waits for it.
 */
static void case_old(void)
{
	struct committer a;
	struct sf_clog_stats s;
	sf_txn_t *y, *w;

	if (open_log("old.log", 0, 0))
		return;
	y = begin();
	sf_txn_add(y, "y", 1);
	w = begin();	/* a flush after Y began: Y is old now */
	sf_txn_add(w, "w", 1);
	sf_txn_commit(w, NULL);	/* (it gathers for Y, still young) */
	st0 = stats();
	dsync_reset();
	start(&a, "A", NULL, 0);
	pthread_join(a.th, NULL);
	s = stats();
	ok(a.result == 0, "old: A's commit returns 0");
	ok(dsync_hits("commit:gather") == 0 && D(gathers) == 0,
	   "old: A does not wait for Y, open since before the last flush "
	   "(%lu gatherings, %llu timeouts)", dsync_hits("commit:gather"),
	   (unsigned long long)D(gather_timeouts));
	sf_txn_rollback(y);
	close_log();
}

/* timeout: Y is young and never commits: A stops at the limit. */
static void case_timeout(void)
{
	struct committer a;
	struct sf_clog_stats s;
	sf_snapshot_t snap;
	int sa = -1;
	sf_txn_t *y;

	if (open_log("timeout.log", 100, 0))
		return;
	y = begin();
	sf_txn_add(y, "y", 1);
	start(&a, "A", NULL, 0);
	pthread_join(a.th, NULL);
	s = stats();
	sf_clog_snapshot(L, &snap);
	sf_clog_txn_status(L, a.id, &snap, &sa);
	ok(a.result == 0 && sa == SF_TXN_COMMITTED,
	   "timeout: A's commit returns 0 and is visible");
	ok(D(gathers) == 1 && D(gather_timeouts) == 1 && D(flushes) == 1,
	   "timeout: A gathered, stopped at the limit, flushed alone "
	   "(%llu, %llu timeouts, %llu flushes)",
	   (unsigned long long)D(gathers),
	   (unsigned long long)D(gather_timeouts),
	   (unsigned long long)D(flushes));
	ok(s.gather_ns_total > st0.gather_ns_total,
	   "timeout: the time spent gathering is counted");
	sf_txn_rollback(y);
	close_log();
}

/*
 * full: while A gathers, young Y fills more than half of the 4 KiB
 * buffer: A stops gathering (no limit reached) and flushes; Y stays open.
 */
static void case_full(void)
{
	static char rec[2100];
	struct committer a;
	struct sf_clog_stats s;
	sf_txn_t *y;

	if (open_log("full.log", 100, SF_CLOG_MIN_BUFFER))
		return;
	y = begin();
	dsync_arm("commit:gather", "A", "a-gathering", "go", 1);
	start(&a, "A", NULL, 0);
	dsync_wait_for("a-gathering", 2000);
	ok(sf_txn_add(y, rec, sizeof(rec)) == 0, "full: Y adds %zu bytes",
	   sizeof(rec));
	dsync_signal("go");
	pthread_join(a.th, NULL);
	s = stats();
	ok(a.result == 0 && D(gathers) == 1 && D(gather_timeouts) == 0,
	   "full: a half-full buffer ends A's gathering (result %d, %llu "
	   "timeouts)", a.result, (unsigned long long)D(gather_timeouts));
	sf_txn_rollback(y);
	close_log();
}

/*
 * room: while A gathers, B's record does not fit in what is left of the
 * buffer; B sleeps for room, A stops gathering and flushes, B goes on.
 */
static void case_room(void)
{
	struct committer a, b;
	struct sf_clog_stats s;
	sf_txn_t *y;

	if (open_log("room.log", 100, SF_CLOG_MIN_BUFFER))
		return;
	y = begin();	/* young and idle: A would wait for it */
	dsync_arm("commit:gather", "A", "a-gathering", "go", 1);
	start(&a, "A", NULL, 0);
	dsync_wait_for("a-gathering", 2000);
	start(&b, "B", NULL, 4040);	/* fits only in an empty buffer */
	ok(sleeping(&b), "room: B waits for room in the buffer");
	dsync_signal("go");
	join_pair(&a, &b, "room", "B");
	s = stats();
	ok(D(gather_timeouts) == 0,
	   "room: B's wait for room ended A's gathering (%llu timeouts)",
	   (unsigned long long)D(gather_timeouts));
	sf_txn_rollback(y);
	close_log();
}

/* off: gather_pct SF_CLOG_NO_GATHER: never a gathering. */
static void case_off(void)
{
	struct committer a;
	struct sf_clog_stats s;
	sf_txn_t *y;

	if (open_log("off.log", SF_CLOG_NO_GATHER, 0))
		return;
	y = begin();
	start(&a, "A", NULL, 0);
	pthread_join(a.th, NULL);
	s = stats();
	ok(a.result == 0 && D(gathers) == 0 &&
	   dsync_hits("commit:gather") == 0,
	   "off: with SF_CLOG_NO_GATHER a young open transaction is not "
	   "waited for");
	sf_txn_rollback(y);
	close_log();
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		{ "young", case_young, 0 },
		{ "returning", case_returning, 0 },
		{ "old", case_old, 0 },
		{ "timeout", case_timeout, 0 },
		{ "full", case_full, 0 },
		{ "room", case_room, 0 },
		{ "off", case_off, 0 },
	};

	watchdog_start(60);
	ct_mkdir(1);
	run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
	return done_testing();
}
