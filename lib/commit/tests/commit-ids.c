// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: transaction ids and their status over unbounded time: 64-bit ids (a version 1 log whose ids are past 2^63 goes on, upgraded to version 3), ids never handed out twice (a child killed before its record left the buffer: the next open hands out a larger id; fails with SF_TEST_BROKEN=ids-unreserved), the status table keeps the last status_horizon ids (ESTALE beyond, memory flat over 100 horizons), a long transaction keeps its status while active and after it ends; a status read racing with the reuse of its slot (held at commit:status-slot) answers ESTALE, and fails with SF_TEST_BROKEN=status-no-recheck */
/*
 * Usage: commit-ids [reuse|reserve]   (only the slot-reuse case, or the id
 *                                      reservation cases: what the broken
 *                                      runs execute)
 */
#include "test.h"
#include "commit-test.h"
#include "commit-int.h"

#include <signal.h>

#define HORIZON 64

static sf_clog_t *L;

static sf_clog_t *open_fresh(const char *name, unsigned int horizon)
{
	struct sf_clog_options o = { .status_horizon = horizon };
	sf_clog_t *l = NULL;
	char p[4600];
	int r;

	ct_path(p, sizeof(p), name);
	ct_unlink(p);
	r = sf_clog_open(p, &o, &l, NULL);
	if (r)
		ok(0, "open %s: %s", name, strerror(r));
	return l;
}

static int status(sf_clog_t *l, uint64_t id, int *st)
{
	*st = -1;
	return sf_clog_txn_status(l, id, NULL, st);
}

/* Begin and roll back @n transactions without records (nothing logged). */
static uint64_t churn(sf_clog_t *l, long n)
{
	uint64_t last = 0;
	sf_txn_t *t;

	for (long i = 0; i < n; i++) {
		if (sf_txn_begin(l, &t))
			return 0;
		last = sf_txn_id(t);
		sf_txn_rollback(t);
	}
	return last;
}

static int commit_one(sf_clog_t *l, uint64_t *id)
{
	sf_txn_t *t;
	int r = sf_txn_begin(l, &t);

	if (r)
		return r;
	*id = sf_txn_id(t);
	if ((r = sf_txn_add(t, "x", 1))) {
		sf_txn_rollback(t);
		return r;
	}
	return sf_txn_commit(t, NULL);
}

static void case_horizon(void)
{
	struct sf_clog_stats s1, s2;
	uint64_t first, c, last;
	int st, r, bad = 0;

	phase("horizon");
	L = open_fresh("horizon.log", HORIZON);
	if (!L)
		return;
	ok_err(sf_clog_open("x", &(struct sf_clog_options){
				    .status_horizon = SF_CLOG_MIN_HORIZON - 1 },
			    &(sf_clog_t *){ 0 }, NULL), EINVAL,
	       "horizon: below SF_CLOG_MIN_HORIZON is EINVAL");
	ok(commit_one(L, &c) == 0, "horizon: a committed transaction");
	first = churn(L, 1);
	ok(status(L, c, &st) == 0 && st == SF_TXN_COMMITTED &&
	   status(L, first, &st) == 0 && st == SF_TXN_ROLLED_BACK,
	   "horizon: recent ids: committed, rolled back");
	last = churn(L, HORIZON - 2);
	ok(status(L, c, &st) == 0 && st == SF_TXN_COMMITTED,
	   "horizon: the committed one is still known %llu ids later",
	   (unsigned long long)(last - c));
	churn(L, 1);
	r = status(L, c, &st);
	ok_err(r, ESTALE, "horizon: %d ids later it is forgotten (ESTALE)",
	       HORIZON);
	ok_err(sf_clog_txn_wait(L, c, CLOCK_MONOTONIC, NULL, &st), ESTALE,
	       "horizon: waiting on it: ESTALE at once");
	ok_err(status(L, last + 1000, &st), ENOENT,
	       "horizon: an id not handed out yet: ENOENT");
	ok_err(status(L, 0, &st), ENOENT, "horizon: id 0: ENOENT");
	sf_clog_stats(L, &s1);
	last = churn(L, scaled(100 * HORIZON));
	sf_clog_stats(L, &s2);
	ok(s1.status_bytes == s2.status_bytes &&
	   s2.status_bytes == HORIZON * 8,
	   "horizon: status memory flat over 100 horizons: %llu bytes, "
	   "then %llu", (unsigned long long)s1.status_bytes,
	   (unsigned long long)s2.status_bytes);
	for (uint64_t id = last - HORIZON + 1; id <= last; id++)
		bad += status(L, id, &st) != 0 || st != SF_TXN_ROLLED_BACK;
	for (uint64_t id = first; id <= last - HORIZON; id += 7)
		bad += status(L, id, &st) != ESTALE;
	ok(!bad, "horizon: the last %d ids known, every older one ESTALE "
	   "(%d wrong)", HORIZON, bad);
	sf_clog_close(L);
}

/* A transaction open across many horizons, then committed. */
static void case_long(void)
{
	struct sf_clog_stats s;
	uint64_t lid, rid, cid;
	sf_txn_t *lt, *rt;
	int st;

	phase("long transaction");
	L = open_fresh("long.log", HORIZON);
	if (!L)
		return;
	sf_txn_begin(L, &lt);
	lid = sf_txn_id(lt);
	sf_txn_add(lt, "long", 4);
	sf_txn_begin(L, &rt);		/* another long one, rolled back */
	rid = sf_txn_id(rt);
	churn(L, 10 * HORIZON);
	ok(status(L, lid, &st) == 0 && st == SF_TXN_ACTIVE &&
	   status(L, rid, &st) == 0 && st == SF_TXN_ACTIVE,
	   "long: still active after 10 horizons: SF_TXN_ACTIVE");
	sf_clog_stats(L, &s);
	ok(s.status_bytes <= HORIZON * 8 + 16 * 24,
	   "long: memory: the ring and the two long ones (%llu bytes)",
	   (unsigned long long)s.status_bytes);
	ok(sf_txn_commit(lt, NULL) == 0, "long: it commits");
	sf_txn_rollback(rt);
	ok(status(L, lid, &st) == 0 && st == SF_TXN_COMMITTED &&
	   sf_clog_txn_wait(L, lid, CLOCK_MONOTONIC, NULL, &st) == 0 &&
	   st == SF_TXN_COMMITTED,
	   "long: committed and visible, waiting on it returns at once");
	ok(status(L, rid, &st) == 0 && st == SF_TXN_ROLLED_BACK,
	   "long: the other one rolled back");
	churn(L, HORIZON - 2);
	ok(status(L, lid, &st) == 0 && st == SF_TXN_COMMITTED,
	   "long: kept for a horizon after it ended");
	churn(L, 3);
	ok_err(status(L, lid, &st), ESTALE, "long: then forgotten");
	ok(commit_one(L, &cid) == 0 && status(L, cid, &st) == 0 &&
	   st == SF_TXN_COMMITTED, "long: the log goes on");
	sf_clog_close(L);
}

/*
 * A reader of id X held between its range check and its slot load
 * (commit:status-slot) while a horizon of begins reuses X's slot for
 * X + R, still active: the reader must answer ESTALE for X, not the new
 * occupant's ACTIVE.
 */
static int reuse_r = -1, reuse_st = -1;
static uint64_t reuse_id;

static void *reader(void *arg)
{
	(void)arg;
	dsync_thread("R");
	reuse_r = status(L, reuse_id, &reuse_st);
	return NULL;
}

static void case_reuse(void)
{
	sf_txn_t *occupant;
	pthread_t th;

	phase("slot reuse");
	L = open_fresh("reuse.log", HORIZON);
	if (!L)
		return;
	dsync_reset();
	reuse_id = churn(L, 1);
	dsync_arm("commit:status-slot", "R", "r-held", "go", 1);
	pthread_create(&th, NULL, reader, NULL);
	ok(dsync_wait_for("r-held", 5000), "reuse: the reader of %llu is "
	   "held before its slot load", (unsigned long long)reuse_id);
	churn(L, HORIZON - 1);
	sf_txn_begin(L, &occupant);	/* reuse_id + HORIZON: same slot */
	dsync_signal("go");
	pthread_join(th, NULL);
	ok(reuse_r == ESTALE, "reuse: it answers ESTALE, not the status of "
	   "the slot's new id %llu (got %d, status %d)",
	   (unsigned long long)sf_txn_id(occupant), reuse_r, reuse_st);
	sf_txn_rollback(occupant);
	sf_clog_close(L);
	dsync_reset();
}

/* A log whose ids are past 2^63: written by hand, then used. */
static void put_rec(unsigned char *p, uint64_t txn, uint64_t lsn,
		    uint32_t type, const void *data, uint32_t len)
{
	clog_put32(p + 4, len);
	clog_put64(p + 8, txn);
	clog_put64(p + 16, lsn);
	clog_put32(p + 24, type);
	clog_put32(p + 28, 0);
	memcpy(p + 32, data, len);
	clog_put32(p, sf_crc32c(0, p + 4, 28 + len));
}

static void case_big_ids(void)
{
	const uint64_t big = (1ull << 63) + 5;
	struct ct_seen *seen = calloc(1, sizeof(*seen));
	unsigned char b[32 + 36 + 32];
	sf_clog_t *l = NULL;
	uint64_t id = 0;
	char p[4600];
	int st, r;

	phase("big ids");
	ct_path(p, sizeof(p), "big.log");
	clog_make_header(b, 1, 0, 0);	/* version 1: upgraded by the open */
	put_rec(b + 32, big, 32, CLOG_REC_DATA, "big!", 4);
	put_rec(b + 68, big, 68, CLOG_REC_COMMIT, "", 0);
	ct_spew(p, b, sizeof(b));
	pthread_mutex_init(&seen->m, NULL);
	ok(sf_clog_open(p, &(struct sf_clog_options){ .replay = ct_replay_cb,
						      .replay_arg = seen },
			&l, NULL) == 0 && seen->n == 1 && seen->id[0] == big,
	   "big ids: transaction 2^63 + 5 replayed");
	r = l ? commit_one(l, &id) : EINVAL;
	ok(r == 0 && id > big && status(l, id, &st) == 0 &&
	   st == SF_TXN_COMMITTED, "big ids: the next one is %llu, commits",
	   (unsigned long long)id);
	ok_err(status(l, big, &st), ENOENT,
	       "big ids: an id of an earlier open: ENOENT");
	sf_clog_close(l);
	free(seen);
}

/*
 * Ids never handed out twice: a child begins @churn transactions without
 * records, then one that adds a record, and is killed before the record
 * leaves its buffer; the next open must hand out a larger id.
 */
static void case_reserve(unsigned int reserve, long nchurn)
{
	struct sf_clog_options o = { .id_reserve = reserve };
	uint64_t died = 0, next = 0;
	char p[4600];
	int fds[2], st;
	sf_clog_t *l;
	sf_txn_t *t;
	pid_t pid;

	ct_path(p, sizeof(p), "reserve.log");
	ct_unlink(p);
	if (pipe(fds))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (sf_clog_open(p, &o, &l, NULL) || (nchurn && !churn(l, nchurn)) ||
		    sf_txn_begin(l, &t) || sf_txn_add(t, "lost", 4))
			_exit(2);
		died = sf_txn_id(t);
		if (write(fds[1], &died, sizeof(died)) != sizeof(died))
			_exit(2);
		raise(SIGKILL);
		_exit(3);
	}
	close(fds[1]);
	if (read(fds[0], &died, sizeof(died)) != sizeof(died))
		died = 0;
	close(fds[0]);
	waitpid(pid, &st, 0);
	ok(died && WIFSIGNALED(st), "reserve %u: the child began %llu "
	   "transactions, added a record to the last and was killed",
	   reserve, (unsigned long long)died);
	if (sf_clog_open(p, &o, &l, NULL) == 0) {
		if (sf_txn_begin(l, &t) == 0) {
			next = sf_txn_id(t);
			sf_txn_rollback(t);
		}
		sf_clog_close(l);
	}
	ok(next > died, "reserve %u: after reopen the next id is larger "
	   "(%llu > %llu)", reserve, (unsigned long long)next,
	   (unsigned long long)died);
}

/* The version 1 log of case_big_ids() was upgraded in place. */
static void check_upgraded(void)
{
	unsigned char *b;
	char p[4600];
	size_t len;

	ct_path(p, sizeof(p), "big.log");
	b = ct_slurp(p, &len);
	ok(b && len > 32 && clog_get32(b + 8) == CLOG_VERSION &&
	   clog_get32(b + 28) == sf_crc32c(0, b, 28),
	   "big ids: the version 1 log's header was rewritten as version 3");
	free(b);
}

static void case_reserve_all(void)
{
	phase("reserve");
	case_reserve(0, 0);
	/* every other begin needs a reservation: begins flush them */
	case_reserve(4, 50);
}

int main(int argc, char **argv)
{
	watchdog_start(60);
	ct_mkdir(1);
	if (argc > 1 && !strcmp(argv[1], "reuse")) {
		case_reuse();
		return done_testing();
	}
	if (argc > 1 && !strcmp(argv[1], "reserve")) {
		case_reserve_all();
		return done_testing();
	}
	case_horizon();
	case_long();
	case_reuse();
	case_big_ids();
	check_upgraded();
	case_reserve_all();
	phase("reserve broken");
	ok(self_fails_broken("commit-ids", (char *[]){ "reserve", NULL },
			     "ids-unreserved", "the next id is larger"),
	   "reserve broken: with ids handed out before their reservation is "
	   "durable (SF_TEST_BROKEN=ids-unreserved) an id is handed out "
	   "twice");
	phase("reuse broken");
	ok(self_fails_broken("commit-ids", (char *[]){ "reuse", NULL },
			     "status-no-recheck", "reuse: it answers ESTALE"),
	   "reuse broken: without the second load of low "
	   "(SF_TEST_BROKEN=status-no-recheck) the reader answers for the "
	   "slot's new id");
	return done_testing();
}
