// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: prepare (two-phase commit): the prepare record and the transaction's records are durable when sf_txn_prepare returns (its flush held by sync points; must fail with SF_TEST_BROKEN=prepare-undurable); after a process dies, every prepared transaction comes back in doubt with its records and tag, none replayed or dropped until resolved, across further reopens; resolution by id, twice (EALREADY), handles released in doubt (the log closes, the same open resolves them by id, the next finds the rest in doubt), unknown (ENOENT), after a failed flush (still in doubt), read-only (EROFS); status and txn_wait of a prepared id; in doubt across checkpoints in a directory of segments, in the open that prepared it and the ones after, its segment recycled only once resolved (must fail with SF_TEST_BROKEN=recycle-early) */
/*
 * Usage: commit-prepare [durable|checkpoint]   (default: every case)
 *
 * Linked against the test-hook build.  "durable" alone is what the test
 * runs again with SF_TEST_BROKEN=prepare-undurable (prepare returns with
 * its record still in the log buffer, commit.c P1), which must fail;
 * "checkpoint" with SF_TEST_BROKEN=recycle-early.
 * A "crash" here is a child process that prepares and exits without
 * closing the log (what is durable is in the file; what is buffered is
 * lost); commit-crash kills such children with SIGKILL.
 */
#include "test.h"
#include "commit-test.h"

#include <sys/wait.h>

static sf_clog_t *L;
static struct ct_seen seen;
static int status(uint64_t id)
{
	int st = -1, r = sf_clog_txn_status(L, id, NULL, &st);

	return r ? -r : st;
}

static int reopen(const char *name, unsigned int flags,
		  struct sf_clog_recovery *rep)
{
	struct sf_clog_options o = { .replay = ct_replay_cb,
				     .replay_arg = &seen, .flags = flags };
	char p[4600];
	int r;

	ct_path(p, sizeof(p), name);
	ct_seen_reset(&seen);
	r = sf_clog_open(p, &o, &L, rep);
	if (r)
		ok(0, "open %s: %s", name, strerror(r));
	return r;
}

/* ---- the in-doubt listing -------------------------------------------- */

#define MAXD 8
static struct {
	size_t n;
	uint64_t id[MAXD], first[MAXD], prep[MAXD];
	char tag[MAXD][SF_CLOG_MAX_TAG + 1];
	char recs[MAXD][64];	/* the records, joined by '|' */
} listed;

static int list_cb(void *arg, const struct sf_prepared_txn *p)
{
	size_t i = listed.n++;

	(void)arg;
	if (i >= MAXD)
		return 0;
	listed.id[i] = p->id;
	listed.first[i] = p->first_lsn;
	listed.prep[i] = p->prepare_lsn;
	memcpy(listed.tag[i], p->tag, p->tag_len);
	listed.tag[i][p->tag_len] = 0;
	listed.recs[i][0] = 0;
	for (size_t j = 0; j < p->nrecs; j++)
		snprintf(listed.recs[i] + strlen(listed.recs[i]),
			 sizeof(listed.recs[i]) - strlen(listed.recs[i]),
			 "%s%.*s", j ? "|" : "", (int)p->recs[j].len,
			 (const char *)p->recs[j].data);
	return 0;
}

static size_t list(void)
{
	memset(&listed, 0, sizeof(listed));
	if (sf_clog_in_doubt(L, list_cb, NULL))
		ok(0, "sf_clog_in_doubt");
	return listed.n;
}

static long listed_at(uint64_t id)
{
	for (size_t i = 0; i < listed.n && i < MAXD; i++)
		if (listed.id[i] == id)
			return (long)i;
	return -1;
}

/* ---- a process that prepares and dies ---------------------------------- */

/* Ids of the child's transactions, in shared memory. */
enum { T1, T2, T3, T4, T5, T6, NT };
static uint64_t *ids;

static sf_txn_t *txn(const char *const recs[], uint64_t *id)
{
	sf_txn_t *t = NULL;

	if (sf_txn_begin(L, &t))
		_exit(3);
	for (int i = 0; recs && recs[i]; i++)
		sf_txn_add(t, recs[i], strlen(recs[i]));
	*id = sf_txn_id(t);
	return t;
}

/*
 * In a child: T1 (two records) and T2 prepared and left in doubt, T3
 * prepared and rolled back, T4 prepared and committed, T5 unprepared and
 * active, T6 prepared with no records and an empty tag; then it dies
 * without closing the log.
 */
static void crash_child(const char *name)
{
	struct sf_clog_options o = { .io = SF_CLOG_IO_PWRITEV };
	char p[4600];
	sf_txn_t *t;

	ct_path(p, sizeof(p), name);
	if (sf_clog_open(p, &o, &L, NULL))
		_exit(2);
	t = txn((const char *[]){ "t1-a", "t1-b", NULL }, &ids[T1]);
	if (sf_txn_prepare(t, "xid-1", 5))
		_exit(4);
	if (sf_txn_prepare(txn((const char *[]){ "t2-a", NULL }, &ids[T2]),
			   "xid-2", 5))
		_exit(4);
	t = txn((const char *[]){ "t3", NULL }, &ids[T3]);
	if (sf_txn_prepare(t, "xid-3", 5) || sf_txn_rollback(t))
		_exit(5);
	t = txn((const char *[]){ "t4", NULL }, &ids[T4]);
	if (sf_txn_prepare(t, "xid-4", 5) || sf_txn_commit(t, NULL))
		_exit(6);
	txn((const char *[]){ "t5", NULL }, &ids[T5]);
	if (sf_txn_prepare(txn(NULL, &ids[T6]), NULL, 0))
		_exit(7);
	_exit(0);
}

/* Run @fn in a child that exits without closing; 1 if it exited 0. */
static int in_child(void (*fn)(const char *), const char *name)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		fn(name);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A child that recovers the log and dies: one more crash. */
static void reopen_child(const char *name)
{
	char p[4600];

	ct_path(p, sizeof(p), name);
	_exit(sf_clog_open(p, NULL, &L, NULL) ? 2 : 0);
}

static void case_reopen(void)
{
	struct sf_clog_recovery rep;
	struct timespec dl;
	uint64_t lsn = 0;
	int st = -1;
	long i1;

	ok(in_child(crash_child, "reopen.log"), "a child prepared and died");
	if (reopen("reopen.log", 0, &rep))
		return;
	ok(rep.prepared == 3 && rep.unfinished == 1,
	   "reopen: 3 in doubt, 1 unfinished (%llu, %llu)",
	   (unsigned long long)rep.prepared,
	   (unsigned long long)rep.unfinished);
	ok(ct_count(&seen) == 1 && ct_find(&seen, ids[T4]) == 0,
	   "reopen: only the committed prepared one is replayed (%zu)",
	   ct_count(&seen));
	list();
	ok(listed.n == 3 && listed.id[0] == ids[T1] && listed.id[1] == ids[T2]
	   && listed.id[2] == ids[T6], "reopen: in doubt: T1, T2, T6, in id "
	   "order (%zu)", listed.n);
	ok(!strcmp(listed.recs[0], "t1-a|t1-b") &&
	   !strcmp(listed.tag[0], "xid-1") && !strcmp(listed.recs[1], "t2-a")
	   && !strcmp(listed.tag[1], "xid-2") && !listed.recs[2][0] &&
	   !listed.tag[2][0], "reopen: with their records and tags (%s %s)",
	   listed.recs[0], listed.tag[0]);
	ok(listed.first[0] < listed.prep[0] && listed.first[2] ==
	   listed.prep[2], "reopen: first LSN before the prepare record");
	ok(status(ids[T1]) == SF_TXN_PREPARED && status(ids[T6]) ==
	   SF_TXN_PREPARED, "reopen: status of an in-doubt id: prepared");
	ok(status(ids[T3]) == -ENOENT && status(ids[T5]) == -ENOENT,
	   "reopen: status of another id of the earlier open: ENOENT");
	dl = deadline_ms(CLOCK_MONOTONIC, 30);
	ok_err(sf_clog_txn_wait(L, ids[T1], CLOCK_MONOTONIC, &dl, &st),
	       ETIMEDOUT, "reopen: txn_wait on it waits for its outcome");

	ct_seen_reset(&seen);
	sf_clog_add_applier(L, ct_apply_cb, &seen);
	ok(sf_clog_commit_prepared(L, ids[T1], &lsn) == 0 && lsn > 0,
	   "resolve: commit_prepared(T1)");
	ok(status(ids[T1]) == SF_TXN_COMMITTED, "resolve: T1 committed");
	ok_err(sf_clog_commit_prepared(L, ids[T1], NULL), EALREADY,
	       "resolve: twice");
	ok_err(sf_clog_rollback_prepared(L, ids[T1]), EALREADY,
	       "resolve: rolled back after its commit");
	ok_err(sf_clog_commit_prepared(L, ids[T3], NULL), ENOENT,
	       "resolve: an id not in doubt");
	ok_err(sf_clog_commit_prepared(L, ids[T6] + 1000000, NULL), ENOENT,
	       "resolve: an unknown id");
	ok_err(sf_clog_commit_prepared(NULL, ids[T2], NULL), EINVAL,
	       "resolve: NULL log");
	ok_err(sf_clog_in_doubt(L, NULL, NULL), EINVAL, "in_doubt: NULL fn");
	ok(list() == 2 && listed_at(ids[T1]) < 0, "resolve: T1 no longer "
	   "listed");
	sf_clog_close(L);
	i1 = ct_find(&seen, ids[T1]);
	ok(i1 >= 0 && seen.nrecs[i1] == 2, "resolve: the applier got T1 with "
	   "its 2 records");

	/* One more crash, then the reopen: T1 replayed, T2 and T6 in doubt. */
	ok(in_child(reopen_child, "reopen.log"), "a child reopened and died");
	if (reopen("reopen.log", 0, &rep))
		return;
	i1 = ct_find(&seen, ids[T1]);
	ok(i1 >= 0 && seen.nrecs[i1] == 2 && ct_find(&seen, ids[T2]) < 0 &&
	   rep.prepared == 2, "reopen 2: T1 replayed with its records, T2 "
	   "and T6 still in doubt (%llu)", (unsigned long long)rep.prepared);
	ok_err(sf_clog_commit_prepared(L, ids[T1], NULL), ENOENT,
	       "reopen 2: T1, resolved by an earlier open: ENOENT");
	ok(sf_clog_rollback_prepared(L, ids[T2]) == 0 &&
	   status(ids[T2]) == SF_TXN_ROLLED_BACK, "reopen 2: rollback T2");
	ok(sf_clog_commit_prepared(L, ids[T6], NULL) == 0,
	   "reopen 2: commit T6");
	ok(list() == 0, "reopen 2: nothing in doubt");
	sf_clog_close(L);
	if (reopen("reopen.log", 0, &rep))
		return;
	ok(rep.prepared == 0 && ct_find(&seen, ids[T6]) >= 0 &&
	   ct_find(&seen, ids[T2]) < 0 && ct_find(&seen, ids[T1]) <
	   ct_find(&seen, ids[T6]), "reopen 3: T1 then T6 replayed, T2 not, "
	   "nothing in doubt");
	sf_clog_close(L);
}

/* A resolution whose flush fails: still in doubt, then after a reopen. */
static void case_failed(void)
{
	struct sf_clog_recovery rep;

	ok(in_child(crash_child, "failed.log"), "failed: a child prepared "
	   "and died");
	if (reopen("failed.log", 0, &rep))
		return;
	__atomic_store_n(&ct_fail_flush, 1, __ATOMIC_RELEASE);
	ok_err(sf_clog_commit_prepared(L, ids[T1], NULL), EIO,
	       "failed: commit_prepared with a failed flush: EIO");
	__atomic_store_n(&ct_fail_flush, 0, __ATOMIC_RELEASE);
	ok(status(ids[T1]) == SF_TXN_PREPARED, "failed: T1 still prepared");
	ok_err(sf_clog_commit_prepared(L, ids[T1], NULL), EIO,
	       "failed: again, the log failed: EIO");
	ok_err(sf_clog_rollback_prepared(L, ids[T2]), EIO,
	       "failed: rollback_prepared after the log failed: EIO");
	ok(list() == 3, "failed: all three still listed");
	sf_clog_close(L);
	if (reopen("failed.log", SF_CLOG_READ_ONLY, &rep))
		return;
	ok(rep.prepared == 3 && ct_find(&seen, ids[T1]) < 0 && list() == 3 &&
	   !strcmp(listed.recs[0], "t1-a|t1-b"), "failed: reopened (read-only), "
	   "T1 is still in doubt with its records");
	ok_err(sf_clog_commit_prepared(L, ids[T1], NULL), EROFS,
	       "read-only: commit_prepared: EROFS");
	sf_clog_close(L);
}

/* Prepare through a handle, errors, status, resolution by the handle. */
static void case_api(void)
{
	static char big[SF_CLOG_MAX_TAG + 1];
	struct sf_clog_options o = { 0 };
	struct timespec dl;
	sf_txn_t *t, *u;
	uint64_t id;
	char p[4600];
	int st = -1;

	ct_path(p, sizeof(p), "api.log");
	ct_unlink(p);
	if (sf_clog_open(p, &o, &L, NULL))
		return (void)ok(0, "open api.log");
	ct_seen_reset(&seen);
	sf_clog_add_applier(L, ct_apply_cb, &seen);
	sf_txn_begin(L, &t);
	id = sf_txn_id(t);
	sf_txn_add(t, "rec", 3);
	ok_err(sf_txn_prepare(NULL, "x", 1), EINVAL, "api: prepare(NULL)");
	ok_err(sf_txn_prepare(t, NULL, 1), EINVAL, "api: a NULL tag with a "
	       "length");
	ok_err(sf_txn_prepare(t, big, sizeof(big)), EINVAL,
	       "api: a tag longer than SF_CLOG_MAX_TAG");
	ok(status(id) == SF_TXN_ACTIVE, "api: ... nothing changed: active");
	ok(sf_txn_prepare(t, big, SF_CLOG_MAX_TAG) == 0,
	   "api: a tag of SF_CLOG_MAX_TAG bytes");
	ok_err(sf_txn_prepare(t, "x", 1), EALREADY, "api: prepare twice");
	ok_err(sf_txn_add(t, "more", 4), EBUSY, "api: add after prepare");
	ok(status(id) == SF_TXN_PREPARED, "api: status prepared");
	dl = deadline_ms(CLOCK_MONOTONIC, 30);
	ok_err(sf_clog_txn_wait(L, id, CLOCK_MONOTONIC, &dl, &st), ETIMEDOUT,
	       "api: txn_wait waits for the outcome");
	ok(list() == 0, "api: a handle's prepared transaction is not listed");
	ok_err(sf_clog_close(L), EBUSY, "api: close with a prepared handle");
	ok(sf_txn_commit(t, NULL) == 0 && status(id) == SF_TXN_COMMITTED,
	   "api: the handle commits it");
	sf_txn_begin(L, &u);
	id = sf_txn_id(u);
	ok(sf_txn_prepare(u, "y", 1) == 0 && sf_txn_rollback(u) == 0 &&
	   status(id) == SF_TXN_ROLLED_BACK, "api: the handle rolls it back");
	sf_clog_close(L);
	ok(ct_count(&seen) == 1 && seen.nrecs[0] == 1, "api: the applier got "
	   "the committed one with its record");
}

/* Begin a transaction with @rec, prepare it with @tag: its id. */
static uint64_t prepared_txn(sf_txn_t **t, const char *rec, const char *tag)
{
	if (sf_txn_begin(L, t) || sf_txn_add(*t, rec, strlen(rec)) ||
	    sf_txn_prepare(*t, tag, strlen(tag)))
		ok(0, "release: prepare %s", tag);
	return sf_txn_id(*t);
}

/*
 * Handles released in doubt (P6): the log closes with them, this open
 * resolves them by id, the next one finds the rest in doubt.
 */
static void case_release(void)
{
	struct sf_clog_recovery rep;
	struct timespec dl;
	sf_txn_t *a, *b, *c, *u;
	uint64_t ia, ib, ic;
	int st = -1;

	if (reopen("release.log", 0, &rep))
		return;
	ct_seen_reset(&seen);
	sf_clog_add_applier(L, ct_apply_cb, &seen);
	ia = prepared_txn(&a, "ra", "xa");
	ib = prepared_txn(&b, "rb", "xb");
	ic = prepared_txn(&c, "rc", "xc");
	sf_txn_begin(L, &u);
	ok_err(sf_txn_release_prepared(NULL), EINVAL, "release: NULL");
	ok_err(sf_txn_release_prepared(u), EINVAL, "release: a handle that is "
	       "not prepared");
	ok(sf_txn_add(u, "ru", 2) == 0, "release: ... which is still the "
	   "caller's");
	ok_err(sf_clog_close(L), EBUSY, "release: close with prepared "
	       "handles held");
	ok(sf_txn_release_prepared(a) == 0 && sf_txn_release_prepared(b) == 0
	   && sf_txn_release_prepared(c) == 0, "release: three prepared "
	   "handles released");
	ok_err(sf_clog_close(L), EBUSY, "release: close with the active one "
	       "still held");
	sf_txn_rollback(u);
	ok(status(ia) == SF_TXN_PREPARED && status(ib) == SF_TXN_PREPARED,
	   "release: still prepared");
	dl = deadline_ms(CLOCK_MONOTONIC, 30);
	ok_err(sf_clog_txn_wait(L, ia, CLOCK_MONOTONIC, &dl, &st), ETIMEDOUT,
	       "release: txn_wait waits for the outcome");
	ok(list() == 0, "release: not listed by the open that prepared them");
	ok(sf_clog_commit_prepared(L, ib, NULL) == 0 &&
	   status(ib) == SF_TXN_COMMITTED, "release: commit_prepared by id in "
	   "the same open");
	ok_err(sf_clog_commit_prepared(L, ib, NULL), EALREADY,
	       "release: resolved twice");
	ok(sf_clog_rollback_prepared(L, ic) == 0 &&
	   status(ic) == SF_TXN_ROLLED_BACK,
	   "release: rollback_prepared by id");
	ok_err(sf_clog_rollback_prepared(L, ic), EALREADY,
	       "release: rolled back twice");
	ok(sf_clog_close(L) == 0, "release: the log closes with one released "
	   "transaction in doubt");
	ok(ct_count(&seen) == 1 && ct_find(&seen, ib) == 0 &&
	   seen.nrecs[0] == 1, "release: the applier got the committed one");

	if (reopen("release.log", 0, &rep))
		return;
	list();
	ok(rep.prepared == 1 && listed.n == 1 && listed.id[0] == ia &&
	   !strcmp(listed.recs[0], "ra") && !strcmp(listed.tag[0], "xa"),
	   "release: reopened, A is in doubt with its record and tag (%llu)",
	   (unsigned long long)rep.prepared);
	ok(ct_find(&seen, ib) >= 0 && ct_find(&seen, ic) < 0 &&
	   ct_find(&seen, ia) < 0, "release: B replayed, C and A not");
	ok(sf_clog_commit_prepared(L, ia, NULL) == 0, "release: A resolved "
	   "after the reopen");
	sf_clog_close(L);
	if (reopen("release.log", 0, &rep))
		return;
	ok(rep.prepared == 0 && ct_find(&seen, ia) > ct_find(&seen, ib),
	   "release: nothing in doubt, A replayed after B");
	sf_clog_close(L);
}

/*
 * A prepared transaction that falls behind the status horizon keeps its
 * status (S2, S6: PREPARED is not final), and its outcome after it.
 */
static void case_horizon(void)
{
	struct sf_clog_options o = { .status_horizon = SF_CLOG_MIN_HORIZON };
	sf_txn_t *t, *u;
	uint64_t id;
	char p[4600];

	ct_path(p, sizeof(p), "horizon.log");
	ct_unlink(p);
	if (sf_clog_open(p, &o, &L, NULL))
		return (void)ok(0, "open horizon.log");
	sf_txn_begin(L, &t);
	id = sf_txn_id(t);
	sf_txn_add(t, "old", 3);
	sf_txn_prepare(t, "x", 1);
	for (int i = 0; i < 4 * (int)SF_CLOG_MIN_HORIZON; i++)
		if (sf_txn_begin(L, &u) == 0)
			sf_txn_rollback(u);
	ok(status(id) == SF_TXN_PREPARED, "horizon: prepared, %u ids "
	   "behind the horizon: still prepared (%d)",
	   4 * SF_CLOG_MIN_HORIZON, status(id));
	ok(sf_txn_commit(t, NULL) == 0 && status(id) == SF_TXN_COMMITTED,
	   "horizon: then committed");
	sf_clog_close(L);
}

/* Thread "P": prepares p_txn. */
static sf_txn_t *p_txn;
static int p_result = -1, p_done;
static void *preparer(void *arg)
{
	(void)arg;
	dsync_thread("P");
	p_result = sf_txn_prepare(p_txn, "xid-durable", 11);
	__atomic_store_n(&p_done, 1, __ATOMIC_RELEASE);
	dsync_thread(NULL);
	return NULL;
}

/*
 * P1: prepare leads (or waits for) the flush of its record; while that
 * flush is held before its write, prepare has not returned; once it
 * returns, its record and the transaction's are in the file.
 */
static void case_durable(void)
{
	struct sf_clog_options o = { .gather_pct = SF_CLOG_NO_GATHER };
	unsigned char *b;
	size_t len = 0;
	char p[4600];
	pthread_t th;

	ct_path(p, sizeof(p), "durable.log");
	ct_unlink(p);
	if (sf_clog_open(p, &o, &L, NULL))
		return (void)ok(0, "open durable.log");
	dsync_reset();
	dsync_arm("commit:flush", "P", "p-held", "go", 1);
	sf_txn_begin(L, &p_txn);
	sf_txn_add(p_txn, "prepared data", 13);
	pthread_create(&th, NULL, preparer, NULL);
	ok(dsync_wait_for("p-held", 2000), "durable: prepare leads the flush "
	   "of its record (held)");
	sleep_ms(50);
	ok(!__atomic_load_n(&p_done, __ATOMIC_ACQUIRE),
	   "durable: prepare has not returned while its flush is held");
	dsync_signal("go");
	pthread_join(th, NULL);
	b = ct_slurp_log(p, &len);
	ok(p_result == 0 && b && memmem(b, len, "xid-durable", 11) &&
	   memmem(b, len, "prepared data", 13), "durable: the prepare record "
	   "is in the file when prepare returns");
	free(b);
	dsync_reset();
	sf_txn_rollback(p_txn);
	sf_clog_close(L);
}

/* ---- across checkpoints (commit.c P5) ------------------------------------ */

#define CK_SEG	(64u << 10)

/* @n transactions of one 200-byte record each, committed. */
static int fill(int n)
{
	char rec[200];

	memset(rec, 'f', sizeof(rec));
	for (int i = 0; i < n; i++) {
		sf_txn_t *t;

		if (sf_txn_begin(L, &t) || sf_txn_add(t, rec, sizeof(rec)) ||
		    sf_txn_commit(t, NULL))
			return -1;
	}
	return 0;
}

static int checkpoint_now(void)
{
	return sf_clog_checkpoint(L, sf_clog_durable_lsn(L));
}

/*
 * In a child (this program run again as "ckpt-child PATH": a forked copy
 * of a threaded process may not start threads under ThreadSanitizer): a
 * directory of 64 KiB segments at PATH; 600 commits, then T1 prepared
 * (two records), 1200 more commits and a checkpoint at the durable LSN,
 * which may recycle only the segments below T1; then it dies without
 * closing.
 */
static void ckpt_child(const char *p)
{
	struct sf_clog_options o = { .io = SF_CLOG_IO_PWRITEV,
				     .segment_size = CK_SEG,
				     .buffer_size = 16u << 10 };
	uint64_t id;
	sf_txn_t *t;

	if (sf_clog_open(p, &o, &L, NULL) || fill(600))
		_exit(2);
	t = txn((const char *[]){ "ck-a", "ck-b", NULL }, &id);
	if (sf_txn_prepare(t, "xid-c", 5))
		_exit(4);
	if (fill(1200) || checkpoint_now())
		_exit(5);
	_exit(0);
}

/* Run ckpt_child() on @name in a new process.  1 if it exited 0. */
static int ckpt_run(const char *name)
{
	char self[4200], p[4600];
	pid_t pid;
	int st;

	beside_self("commit-prepare", self, sizeof(self));
	ct_path(p, sizeof(p), name);
	pid = fork();
	if (pid == 0) {
		execl(self, self, "ckpt-child", p, (char *)NULL);
		_exit(126);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* T1 (ids[T1] once known) is listed in doubt with both its records. */
static int t1_in_doubt(void)
{
	if (list() == 1 && !ids[T1])
		ids[T1] = listed.id[0];
	return listed.n == 1 && listed.id[0] == ids[T1] &&
	       !strcmp(listed.recs[0], "ck-a|ck-b") &&
	       !strcmp(listed.tag[0], "xid-c");
}

/*
 * A prepared transaction holds its place across checkpoints: its records
 * stay while checkpoints recycle what lies below it, in the open that
 * prepared it and in the opens after the crash, until it is resolved;
 * then the next checkpoint recycles its segment too.  "checkpoint" alone
 * is what runs again with SF_TEST_BROKEN=recycle-early (segments recycled
 * below the checkpoint's LSN, not its scan_from), which must fail.
 */
static void case_checkpoint(void)
{
	struct sf_clog_recovery rep;
	struct sf_clog_stats st;
	uint64_t first;

	ids[T1] = 0;
	ok(ckpt_run("ckpt.d"), "checkpoint: a child prepared T1 among 1800 "
	   "commits, checkpointed and died");
	if (reopen("ckpt.d", 0, &rep))
		return;
	ok(rep.prepared == 1 && rep.checkpoint_lsn > 0 && t1_in_doubt(),
	   "checkpoint: T1 in doubt with its records after a checkpoint "
	   "above it (%llu in doubt, checkpoint %llu)",
	   (unsigned long long)rep.prepared,
	   (unsigned long long)rep.checkpoint_lsn);
	first = listed.first[0];
	ok(rep.log_start > 0 && rep.log_start <= first, "checkpoint: "
	   "segments below T1 recycled, T1's kept (log from %llu, T1 at %llu)",
	   (unsigned long long)rep.log_start, (unsigned long long)first);
	/* This open's checkpoints keep it too (an earlier open's in doubt). */
	ok(!fill(1200) && !checkpoint_now(), "checkpoint: 1200 more commits "
	   "and a checkpoint after the reopen");
	sf_clog_close(L);
	if (reopen("ckpt.d", 0, &rep))
		return;
	ok(rep.prepared == 1 && t1_in_doubt() && rep.log_start <= first,
	   "checkpoint: reopened again: T1 still in doubt with its records");
	memset(&st, 0, sizeof(st));
	ok(sf_clog_commit_prepared(L, ids[T1], NULL) == 0 && !fill(1200) &&
	   !checkpoint_now() && !sf_clog_stats(L, &st),
	   "checkpoint: T1 committed, 1200 commits, a checkpoint");
	ok(st.segments_recycled > 0, "checkpoint: which recycles (%llu "
	   "segments)", (unsigned long long)st.segments_recycled);
	sf_clog_close(L);
	if (reopen("ckpt.d", 0, &rep))
		return;
	ok(rep.prepared == 0 && list() == 0 && rep.log_start > first &&
	   ct_find(&seen, ids[T1]) < 0, "checkpoint: resolved, below the "
	   "checkpoint: not in doubt, not replayed, its segment gone (log "
	   "from %llu)", (unsigned long long)rep.log_start);
	sf_clog_close(L);
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "ckpt-child"))
		ckpt_child(argv[2]);	/* exits */
	dsync_own = ct_fail_hook;
	watchdog_start(60);
	ct_mkdir(0);
	ids = shared_zalloc(NT * sizeof(*ids), "ids");
	if (!ids)
		return done_testing();
	if (argc > 1 && !strcmp(argv[1], "durable")) {
		case_durable();
		return done_testing();
	}
	if (argc > 1 && !strcmp(argv[1], "checkpoint")) {
		case_checkpoint();
		return done_testing();
	}
	phase("api");
	case_api();
	phase("durable");
	case_durable();
	phase("horizon");
	case_horizon();
	phase("release");
	case_release();
	phase("reopen");
	case_reopen();
	phase("failed");
	case_failed();
	phase("checkpoint");
	case_checkpoint();
	phase("broken");
	ok(self_fails_broken("commit-prepare", (char *[]){ "durable", NULL },
			     "prepare-undurable",
			     "prepare record is in the file when prepare"),
	   "broken: with prepare returning before its flush "
	   "(SF_TEST_BROKEN=prepare-undurable) the record is not in the file");
	ok(self_fails_broken("commit-prepare", (char *[]){ "checkpoint", NULL },
			     "recycle-early", "open ckpt.d"),
	   "broken: with checkpoints recycling below their LSN "
	   "(SF_TEST_BROKEN=recycle-early) T1 loses its records");
	return done_testing();
}
