// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: write-ahead by LSN: sf_txn_add_lsn gives each record's LSN (the one replay reports), sf_clog_flush_to returns only after the flush that covers the LSN (held by sync points: led by the caller, or shared with a committer's batch), sf_clog_durable_lsn, errors */
/*
 * Usage: commit-lsn [shared]     (default: every case)
 *
 * Linked against the test-hook build.  "shared" alone (a committer leads
 * the covering flush) is what the test runs again with
 * SF_TEST_BROKEN=visible-before-durable (durability reported when a
 * record is appended, Falcon's order), which must fail.
 */
#include "test.h"
#include "commit-test.h"

static sf_clog_t *L;
static uint64_t flush_lsn;
static int flush_result = -1, flush_done;

static sf_clog_t *fresh(const char *name, int io)
{
	struct sf_clog_options o = { .io = io,
				     .gather_pct = SF_CLOG_NO_GATHER };
	char p[4600];
	sf_clog_t *l = NULL;

	ct_path(p, sizeof(p), name);
	ct_unlink(p);
	if (sf_clog_open(p, &o, &l, NULL))
		ok(0, "open %s", p);
	return l;
}

/* Thread "F": flush_to(flush_lsn). */
static void *flusher(void *arg)
{
	(void)arg;
	dsync_thread("F");
	flush_result = sf_clog_flush_to(L, flush_lsn);
	__atomic_store_n(&flush_done, 1, __ATOMIC_RELEASE);
	dsync_thread(NULL);
	return NULL;
}

static pthread_t start_flusher(uint64_t lsn)
{
	pthread_t th;

	flush_lsn = lsn;
	flush_result = -1;
	__atomic_store_n(&flush_done, 0, __ATOMIC_RELEASE);
	pthread_create(&th, NULL, flusher, NULL);
	return th;
}

/* Thread "C": commits one transaction of one record. */
static void *committer(void *arg)
{
	sf_txn_t *u;

	(void)arg;
	dsync_thread("C");
	if (sf_txn_begin(L, &u) == 0) {
		sf_txn_add(u, "U's record", 10);
		sf_txn_commit(u, NULL);
	}
	dsync_thread(NULL);
	return NULL;
}

/* While the covering flush is held: @what has not returned, not durable. */
static void still_waiting(const char *what, uint64_t lsn)
{
	sleep_ms(100);
	ok(!__atomic_load_n(&flush_done, __ATOMIC_ACQUIRE),
	   "%s: flush_to has not returned while the covering flush is held",
	   what);
	ok(sf_clog_durable_lsn(L) <= lsn, "%s: durable LSN %llu not past %llu",
	   what, (unsigned long long)sf_clog_durable_lsn(L),
	   (unsigned long long)lsn);
}

static void returned_durable(const char *what, uint64_t lsn)
{
	ok(flush_result == 0, "%s: flush_to returned 0 (%d)", what,
	   flush_result);
	ok(sf_clog_durable_lsn(L) > lsn, "%s: durable LSN %llu past %llu after",
	   what, (unsigned long long)sf_clog_durable_lsn(L),
	   (unsigned long long)lsn);
}

/* ---- LSNs, durable LSN, errors ---------------------------------------- */

static uint64_t replay_lsn[4];
static size_t replay_n;

static int replay_cb(void *arg, const struct sf_commit_txn *t)
{
	(void)arg;
	for (size_t i = 0; i < t->nrecs && replay_n < 4; i++)
		replay_lsn[replay_n++] = t->recs[i].lsn;
	return 0;
}

static void case_api(int io)
{
	const char *mn = io_mode_name[io];
	uint64_t l1 = 0, l2 = 0, big = 7, clsn = 0, f0, d0;
	static char huge[SF_CLOG_DEFAULT_BUFFER];
	struct sf_clog_options o = { .io = io, .replay = replay_cb };
	char p[4600];
	sf_txn_t *t;
	int st = -1, r;

	L = fresh("api.log", io);
	if (!L)
		return;
	d0 = sf_clog_durable_lsn(L);
	ok(d0 >= 32, "%s: a new log is durable past its header (%llu)", mn,
	   (unsigned long long)d0);
	sf_txn_begin(L, &t);
	r = sf_txn_add_lsn(t, "first", 5, &l1);
	ok(r == 0 && l1 == d0, "%s: the first record's LSN is the end of the "
	   "log at open (%llu)", mn, (unsigned long long)l1);
	r = sf_txn_add_lsn(t, "second", 6, &l2);
	ok(r == 0 && l2 == l1 + SF_CLOG_RECORD_OVERHEAD + 5,
	   "%s: the next record's LSN follows it (%llu)", mn,
	   (unsigned long long)l2);
	ok(sf_txn_add_lsn(t, NULL, 0, NULL) == 0, "%s: a NULL lsn is allowed",
	   mn);
	ok_err(sf_txn_add_lsn(t, huge, sizeof(huge), &big), EMSGSIZE,
	       "%s: a record too large", mn);
	ok(big == 7, "%s: ... leaves lsn alone", mn);
	ok_err(sf_clog_flush_to(L, l2 + 4096), EINVAL,
	       "%s: flush_to past the end of the log", mn);
	ok_err(sf_clog_flush_to(NULL, l1), EINVAL, "%s: flush_to NULL", mn);
	ok(sf_clog_durable_lsn(NULL) == 0, "%s: durable_lsn(NULL) is 0", mn);
	ok(sf_clog_durable_lsn(L) <= l1, "%s: nothing durable before a flush",
	   mn);
	f0 = ct_flushes(L);
	r = sf_clog_flush_to(L, l2);
	ok(r == 0 && sf_clog_durable_lsn(L) > l2,
	   "%s: flush_to(second): durable past it (%llu)", mn,
	   (unsigned long long)sf_clog_durable_lsn(L));
	ok(ct_flushes(L) == f0 + 1, "%s: ... with one flush", mn);
	ok(sf_clog_txn_status(L, sf_txn_id(t), NULL, &st) == 0 &&
	   st == SF_TXN_ACTIVE, "%s: durable is not committed: still active",
	   mn);
	ok(sf_clog_flush_to(L, l1) == 0 && ct_flushes(L) == f0 + 1,
	   "%s: flush_to of a durable LSN returns with no flush", mn);
	r = sf_txn_commit(t, &clsn);
	ok(r == 0 && clsn > l2 && sf_clog_durable_lsn(L) > clsn,
	   "%s: the commit record after them, durable (%llu)", mn,
	   (unsigned long long)clsn);
	sf_clog_close(L);
	ct_path(p, sizeof(p), "api.log");
	replay_n = 0;
	if (sf_clog_open(p, &o, &L, NULL) == 0) {
		ok(replay_n == 3 && replay_lsn[0] == l1 && replay_lsn[1] == l2,
		   "%s: replay reports the LSNs add gave (%zu records)", mn,
		   replay_n);
		ok(sf_clog_durable_lsn(L) > clsn,
		   "%s: reopened: durable past the last commit", mn);
		sf_clog_close(L);
	}
}

/*
 * L a fresh log holding one record of an open transaction (returned, its
 * LSN in @lsn); the dsync hook installed, with no action.  NULL: no log.
 */
static sf_txn_t *one_record(const char *name, int io, uint64_t *lsn)
{
	sf_txn_t *t = NULL;

	L = fresh(name, io);
	if (!L || sf_txn_begin(L, &t))
		return NULL;
	sf_txn_add_lsn(t, "page", 4, lsn);
	dsync_reset();
	return t;
}

/* A failed flush: flush_to reports it, and keeps reporting it. */
static void case_fail(int io)
{
	const char *mn = io_mode_name[io];
	uint64_t lsn = 0, d;
	sf_txn_t *t = one_record("fail.log", io, &lsn);

	if (!t)
		return;
	d = sf_clog_durable_lsn(L);
	__atomic_store_n(&ct_fail_flush, 1, __ATOMIC_RELEASE);
	ok_err(sf_clog_flush_to(L, lsn), EIO, "%s: a failed flush: EIO", mn);
	__atomic_store_n(&ct_fail_flush, 0, __ATOMIC_RELEASE);
	ok_err(sf_clog_flush_to(L, lsn), EIO, "%s: ... and again after", mn);
	ok(sf_clog_durable_lsn(L) == d, "%s: durable LSN unchanged", mn);
	ok(sf_clog_flush_to(L, d - 1) == 0,
	   "%s: what was durable before still is", mn);
	sf_txn_rollback(t);
	sf_clog_close(L);
}

/* ---- the covering flush, held ----------------------------------------- */

/*
 * The covering flush held at @point, before its write and fdatasync, by
 * its leader: flush_to itself (@by_committer 0: its record is in the
 * buffer being filled and nobody commits), or committer C, whose batch
 * holds the record (1: flush_to, called while C is held, waits for that
 * flush and starts none of its own).  Either way flush_to returns only
 * once the flush is released and durable, and one flush did it all.
 */
static void case_held(const char *what, const char *point, int by_committer)
{
	uint64_t lsn = 0;
	sf_txn_t *t = one_record("held.log", SF_CLOG_IO_AUTO, &lsn);
	pthread_t c, f;

	if (!t)
		return;
	dsync_arm(point, by_committer ? "C" : "F", "held", "go", 1);
	if (by_committer)
		pthread_create(&c, NULL, committer, NULL);
	else
		f = start_flusher(lsn);
	ok(dsync_wait_for("held", 5000), "%s: %s leads the flush of the "
	   "record's batch", what, by_committer ? "C" : "flush_to");
	if (by_committer)
		f = start_flusher(lsn);
	still_waiting(what, lsn);
	dsync_signal("go");
	if (by_committer)
		pthread_join(c, NULL);
	pthread_join(f, NULL);
	returned_durable(what, lsn);
	ok(ct_flushes(L) == 1, "%s: one flush in all (%llu)", what,
	   (unsigned long long)ct_flushes(L));
	sf_txn_rollback(t);
	sf_clog_close(L);
}

int main(int argc, char **argv)
{
	dsync_own = ct_fail_hook;
	watchdog_start(60);
	ct_mkdir(0);
	if (argc > 1 && !strcmp(argv[1], "shared")) {
		/* What the broken case runs: durable reported at append. */
		case_held("shared", "commit-io:flush", 1);
		return done_testing();
	}
	for (int m = 0; m < N_IO_MODES; m++) {
		phase(io_mode_name[io_modes[m]]);
		case_api(io_modes[m]);
		case_fail(io_modes[m]);
	}
	phase("held");
	case_held("leads", "commit:flush", 0);
	case_held("shared", "commit-io:flush", 1);
	phase("broken");
	ok(self_fails_broken("commit-lsn", (char *[]){ "shared", NULL },
			     "visible-before-durable",
			     "flush_to has not returned while the covering"),
	   "broken: with appended reported as durable "
	   "(SF_TEST_BROKEN=visible-before-durable) flush_to returns early");
	return done_testing();
}
