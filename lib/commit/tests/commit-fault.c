// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: commit log I/O faults injected through the test-hook shim: failed write, failed flush, short write (completed, or followed by a full disk), full disk; the commits that depended on the write fail, none becomes visible, the log refuses further commits, the flush is never retried, recovery does not resurrect them */
#include "test.h"
#include "commit-test.h"
#include "commit-int.h"

/*
 * The plan: the (skip+1)-th call of @op gets @ret (see commit-int.h:
 * the fault points), later calls of @op get @then.
 */
#define CLOG_FAULT_WRITE	1
#define CLOG_FAULT_FLUSH	2
static struct {
	int op, skip;
	long ret, then;
	int calls[3];
} plan;

static __thread int fail_my_writes;	/* this thread's writes get EIO */

static long fault_op(int op)
{
	if (fail_my_writes && op == CLOG_FAULT_WRITE)
		return EIO;
	__atomic_fetch_add(&plan.calls[op], 1, __ATOMIC_RELAXED);
	if (op != plan.op)
		return -1;
	if (plan.skip-- > 0)
		return -1;
	if (plan.skip == -1)
		return plan.ret;
	return plan.then;
}

/* The cut of a failed batch (F1) and the zeros over it (F2) fail. */
static int cut_fails, zeros_fail, dir_fails;
static char dir_synced[4600];	/* the last directory fsynced */

/* The fault points; every other point goes on to the dsync actions. */
static long fault_hook(const char *point, const void *obj, uint64_t val)
{
	(void)obj;
	(void)val;
	if (!strcmp(point, "commit-io:write"))
		return fault_op(CLOG_FAULT_WRITE);
	if (!strcmp(point, "commit-io:flush"))
		return fault_op(CLOG_FAULT_FLUSH);
	if (!strcmp(point, "commit:cut"))
		return __atomic_load_n(&cut_fails, __ATOMIC_RELAXED) ? EIO :
								       SF_HOOK_NONE;
	if (!strcmp(point, "commit:dir-fsync"))
		return dir_fails ? EIO : SF_HOOK_NONE;
	if (!strcmp(point, "commit:dir-synced"))
		snprintf(dir_synced, sizeof(dir_synced), "%s",
			 (const char *)obj);
	if (!strcmp(point, "commit:cut-zero"))
		return __atomic_load_n(&zeros_fail, __ATOMIC_RELAXED) ? EIO :
									SF_HOOK_NONE;
	return SF_HOOK_NONE;
}

static void arm(int op, long ret, long then)
{
	memset(&plan, 0, sizeof(plan));
	plan.op = op;
	plan.ret = ret;
	plan.then = then;
}

static struct ct_seen replayed;

/* Open @p with @base's options, replaying into "replayed". */
static sf_clog_t *reopen_opt(const char *p, const struct sf_clog_options *base,
			     struct sf_clog_recovery *rep)
{
	struct sf_clog_options o = *base;
	sf_clog_t *l = NULL;

	o.replay = ct_replay_cb;
	o.replay_arg = &replayed;
	ct_seen_reset(&replayed);
	if (sf_clog_open(p, &o, &l, rep))
		ok(0, "open %s", p);
	return l;
}

/* The kind of a new log: 0 (a directory of segments) or SF_CLOG_SINGLE_FILE. */
static unsigned int new_kind;

static sf_clog_t *reopen(const char *p, int io, struct sf_clog_recovery *rep)
{
	return reopen_opt(p, &(struct sf_clog_options){ .io = io,
							.flags = new_kind },
			  rep);
}

/*
 * Is the log at @p cut back to @end: a single file @end bytes long, or
 * segment 0 of a directory zeros from @end on (its size never changes)?
 */
static int cut_back_to(const char *p, off_t end)
{
	struct stat st;
	unsigned char *b;
	size_t len;
	int r;

	if (stat(p, &st))
		return 0;
	if (!S_ISDIR(st.st_mode))
		return st.st_size == end;
	b = ct_slurp_log(p, &len);
	r = b && (size_t)end <= len;
	for (size_t i = (size_t)end; r && i < len; i++)
		r = !b[i];
	free(b);
	return r;
}

/*
 * End of the records in the log: the file is longer while the log keeps
 * zeros written ahead of its end (zero_ahead, or a segment), and they are
 * not the log.
 */
static off_t log_end(const char *p)
{
	size_t len, off = 32;
	unsigned char *b = ct_slurp_log(p, &len);
	static const unsigned char z[32];

	if (!b)
		return -1;
	while (off + 32 <= len && memcmp(b + off, z, 32))
		off += 32 + ((uint32_t)b[off + 4] | (uint32_t)b[off + 5] << 8 |
			     (uint32_t)b[off + 6] << 16 |
			     (uint32_t)b[off + 7] << 24);
	free(b);
	return (off_t)(off < len ? off : len);
}

static int commit_rec(sf_clog_t *l, const char *data, uint64_t *id)
{
	sf_txn_t *t;
	int r = sf_txn_begin(l, &t);

	if (r)
		return r;
	*id = sf_txn_id(t);
	r = sf_txn_add(t, data, strlen(data));
	if (r) {
		sf_txn_rollback(t);
		return r;
	}
	return sf_txn_commit(t, NULL);
}

/* A new log @name in the test directory, with one committed record. */
static sf_clog_t *fresh_log(char *p, size_t size, const char *name, int io,
			    struct sf_clog_recovery *rep, uint64_t *good,
			    const char *what)
{
	sf_clog_t *l;

	phase(what);
	ct_path(p, size, name);
	ct_unlink(p);
	l = reopen(p, io, rep);
	if (l)
		ok(commit_rec(l, "good", good) == 0, "%s/%s: first commit",
		   io_mode_name[io], what);
	return l;
}

static int status(sf_clog_t *l, uint64_t id)
{
	int s = -1;

	sf_clog_txn_status(l, id, NULL, &s);
	return s;
}

/*
 * One committed transaction, then one whose write or flush gets @ret
 * (then @then); @want: the error the commit must return (0: succeeds).
 */
static void case_fault(int io, const char *what, int op, long ret, long then,
		       int want)
{
	const char *mn = io_mode_name[io];
	struct sf_clog_recovery rep;
	struct sf_clog_stats st;
	uint64_t good, bad, late, x;
	sf_txn_t *pending;
	char p[4600];
	sf_clog_t *l;
	off_t before;
	int r, flushes;

	l = fresh_log(p, sizeof(p), "fault.log", io, &rep, &good, what);
	if (!l)
		return;
	sf_txn_begin(l, &pending);	/* begun before the fault */
	late = sf_txn_id(pending);
	before = log_end(p);
	arm(op, ret, then);
	r = commit_rec(l, "victim", &bad);
	flushes = plan.calls[CLOG_FAULT_FLUSH];
	ok_err(r, want, "%s/%s: the commit returns %d", mn, what, want);
	if (!want) {
		arm(0, -1, -1);
		ok(status(l, bad) == SF_TXN_COMMITTED,
		   "%s/%s: completed and visible", mn, what);
		sf_txn_rollback(pending);
		sf_clog_close(l);
		l = reopen(p, io, &rep);
		ok(l && rep.replayed == 2 && replayed.id[1] == bad &&
		   replayed.sum[1] == (uint64_t)('v' + 'i' + 'c' + 't' + 'i' +
						 'm'),
		   "%s/%s: replayed intact", mn, what);
		if (l)
			sf_clog_close(l);
		return;
	}
	ok(status(l, bad) == SF_TXN_FAILED && status(l, good) ==
	   SF_TXN_COMMITTED, "%s/%s: failed commit not visible, earlier one "
	   "still is", mn, what);
	ok(cut_back_to(p, before), "%s/%s: failed batch (and zeros) cut from "
	   "the log (to %lld)", mn, what, (long long)before);
	ok_err(sf_txn_add(pending, "x", 1), EIO,
	       "%s/%s: a transaction begun before cannot add", mn, what);
	ok_err(sf_txn_commit(pending, NULL), EIO,
	       "%s/%s: nor commit", mn, what);
	ok(status(l, late) == SF_TXN_FAILED, "%s/%s: and is failed", mn, what);
	ok_err(commit_rec(l, "after", &x), EIO,
	       "%s/%s: the log refuses new commits", mn, what);
	sf_clog_stats(l, &st);
	ok(st.error == want && st.failed_commits == 2,
	   "%s/%s: stats report error %d, %llu failed commits", mn, what,
	   st.error, (unsigned long long)st.failed_commits);
	ok(sf_clog_close(l) == 0, "%s/%s: close", mn, what);
	ok(plan.calls[CLOG_FAULT_FLUSH] == flushes,
	   "%s/%s: no flush attempted after the failure", mn, what);
	arm(0, -1, -1);
	l = reopen(p, io, &rep);
	if (!l)
		return;
	ok(rep.replayed == 1 && replayed.id[0] == good && rep.cut_bytes == 0,
	   "%s/%s: recovery replays only the good commit", mn, what);
	ok(commit_rec(l, "again", &x) == 0 && x > good,
	   "%s/%s: the reopened log commits again", mn, what);
	sf_clog_close(l);
}

/* Two committers in one batch and the write fails: both fail. */
static sf_clog_t *GL;
static int res_a = -1, res_c = -1;

/* A committer thread named @arg ("A" or "C"): its result in res_a/res_c. */
static void *committer_named(void *arg)
{
	const char *name = arg;
	uint64_t id;
	int r;

	dsync_thread(name);
	r = commit_rec(GL, name, &id);
	*(name[0] == 'A' ? &res_a : &res_c) = r;
	return NULL;
}

/* Phase @name on a new log @file (path in @p, 4600 bytes) as GL. */
static int case_open_opt(const char *name, const char *file,
			 const struct sf_clog_options *o, char *p)
{
	phase(name);
	ct_path(p, 4600, file);
	ct_unlink(p);
	GL = reopen_opt(p, o, NULL);
	dsync_reset();
	return GL != NULL;
}

static int case_open(const char *name, const char *file, int io, char *p)
{
	return case_open_opt(name, file, &(struct sf_clog_options){ .io = io },
			     p);
}

static void case_batch(int io)
{
	const char *mn = io_mode_name[io];
	struct sf_clog_stats st;
	uint64_t b;
	pthread_t th;
	char p[4600];
	int rb;

	if (!case_open("batch", "batch.log", io, p))
		return;
	dsync_arm("commit:appended", "A", "a-appended", "go", 1);
	pthread_create(&th, NULL, committer_named, "A");
	dsync_wait_for("a-appended", 5000);
	arm(CLOG_FAULT_WRITE, EIO, -1);
	/* B appends beside A's record and leads the flush of both. */
	rb = commit_rec(GL, "b", &b);
	dsync_signal("go");
	pthread_join(th, NULL);
	ok(rb == EIO && res_a == EIO, "%s/batch: both commits of the failed "
	   "batch fail (A %d, B %d)", mn, res_a, rb);
	sf_clog_stats(GL, &st);
	ok(st.flushes == 0 && st.commits == 0 && st.failed_commits == 2,
	   "%s/batch: no commit counted, 2 failed", mn);
	sf_clog_close(GL);
	arm(0, -1, -1);
	dsync_reset();
}

/*
 * A committer asleep in the buffer being filled (B2) when the batch in
 * flight fails: it fails with it and is woken (B3 wakes all of that
 * buffer then, not just a next leader).  A leads batch 0 and is held
 * before its write; C appends to the next buffer and sleeps there (one
 * flush at a time: no slot to lead); A's write fails.
 */
static void case_sleeper(int io)
{
	const char *mn = io_mode_name[io];
	pthread_t ta, tc;
	char p[4600];

	if (!case_open("sleeper", "sleeper.log", io, p))
		return;
	dsync_arm("commit:flush", "A", "a-flush", "go", 1);
	arm(CLOG_FAULT_WRITE, EIO, -1);
	pthread_create(&ta, NULL, committer_named, "A");
	ok(dsync_wait_for("a-flush", 5000), "%s/sleeper: A leads, held "
	   "before its write", mn);
	pthread_create(&tc, NULL, committer_named, "C");
	sleep_ms(100);		/* C appends and goes to sleep */
	dsync_signal("go");
	pthread_join(ta, NULL);
	pthread_join(tc, NULL);
	ok(res_a == EIO && res_c == EIO, "%s/sleeper: A's batch fails, and "
	   "C, asleep in the next buffer, fails and returns (A %d, C %d)",
	   mn, res_a, res_c);
	sf_clog_close(GL);
	arm(0, -1, -1);
	dsync_reset();
}

/*
 * Two batches in flight (max_flushes = 2): A leads batch 0 and is held
 * before its write; B leads batch 1, whose write and flush succeed; then
 * A's write fails.  B's batch must fail too (it finishes after A's), and
 * neither becomes visible or is recovered.
 */
static int res_b = -1;
static uint64_t id_a, id_b;

static void *leader_a(void *arg)
{
	(void)arg;
	dsync_thread("A");
	fail_my_writes = 1;
	res_a = commit_rec(GL, "a", &id_a);
	return NULL;
}

static void *leader_b(void *arg)
{
	(void)arg;
	dsync_thread("B");
	res_b = commit_rec(GL, "b", &id_b);
	return NULL;
}

static void case_second_batch(int io)
{
	struct sf_clog_options o = { .io = io, .max_flushes = 2 };
	const char *mn = io_mode_name[io];
	struct sf_clog_recovery rep;
	pthread_t ta, tb;
	uint64_t good;
	char p[4600];
	off_t before;
	sf_clog_t *l;

	if (!case_open_opt("second batch", "second.log", &o, p))
		return;
	commit_rec(GL, "good", &good);
	before = log_end(p);
	dsync_reset();
	dsync_arm("commit:flush", "A", "a-flush", "go", 1);
	dsync_arm("commit:durable", "B", "b-durable", NULL, 1);
	pthread_create(&ta, NULL, leader_a, NULL);
	dsync_wait_for("a-flush", 5000);
	pthread_create(&tb, NULL, leader_b, NULL);
	ok(dsync_wait_for("b-durable", 5000),
	   "%s/second batch: B's batch is durable while A's is held", mn);
	ok(status(GL, id_b) == SF_TXN_ACTIVE,
	   "%s/second batch: and not visible before A's batch", mn);
	dsync_signal("go");
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ok(res_a == EIO && res_b == EIO, "%s/second batch: A's write fails, "
	   "B's durable batch fails with it (A %d, B %d)", mn, res_a, res_b);
	ok(status(GL, id_b) == SF_TXN_FAILED && status(GL, good) ==
	   SF_TXN_COMMITTED, "%s/second batch: B failed, not visible", mn);
	ok(cut_back_to(p, before), "%s/second batch: both (and the zeros) cut "
	   "from the log", mn);
	sf_clog_close(GL);
	dsync_reset();
	l = reopen(p, io, &rep);
	if (!l)
		return;
	ok(rep.replayed == 1 && replayed.id[0] == good,
	   "%s/second batch: recovery replays only the good commit", mn);
	sf_clog_close(l);
}

/*
 * A batch fails while the next leader gathers (max_flushes = 2): A leads
 * batch 0 and is held before its write, which will fail; B leads the next
 * batch and gathers for Y, a young open transaction.  A's failure fails
 * B's commit and must end B's gathering at once (not at its limit).
 */
static void case_gather_fail(int io)
{
	struct sf_clog_options o = { .io = io, .max_flushes = 2,
				     .gather_pct = 100 };
	const char *mn = io_mode_name[io];
	struct sf_clog_stats s0, s;
	pthread_t ta, tb;
	uint64_t good;
	char p[4600];
	sf_txn_t *y;

	if (!case_open_opt("gather fail", "gather-fail.log", &o, p))
		return;
	commit_rec(GL, "good", &good);
	sf_clog_stats(GL, &s0);
	dsync_reset();
	dsync_arm("commit:flush", "A", "a-flush", "go", 1);
	dsync_arm("commit:gather", "B", "b-gathering", "go-b", 1);
	pthread_create(&ta, NULL, leader_a, NULL);
	dsync_wait_for("a-flush", 5000);
	sf_txn_begin(GL, &y);
	pthread_create(&tb, NULL, leader_b, NULL);
	ok(dsync_wait_for("b-gathering", 5000),
	   "%s/gather fail: B gathers while A's batch is in flight", mn);
	dsync_signal("go");
	pthread_join(ta, NULL);
	dsync_signal("go-b");
	pthread_join(tb, NULL);
	sf_clog_stats(GL, &s);
	ok(res_a == EIO && res_b == EIO, "%s/gather fail: A's write fails, "
	   "B's commit fails with it (A %d, B %d)", mn, res_a, res_b);
	ok(s.gathers - s0.gathers == 1 && s.gather_timeouts == s0.gather_timeouts,
	   "%s/gather fail: the failure ended B's gathering, not the limit "
	   "(%llu timeouts)", mn,
	   (unsigned long long)(s.gather_timeouts - s0.gather_timeouts));
	sf_txn_rollback(y);
	sf_clog_close(GL);
	dsync_reset();
}

/*
 * The failed flush whose cut fails too: SF_TXN_FAILED must still mean
 * "never replayed" (F2: zeros over the batch); with the zeros failing as
 * well the commit is SF_TXN_IN_DOUBT instead (F3).
 */
static void case_cut_fails(int io, int zeros)
{
	const char *mn = io_mode_name[io];
	const char *what = zeros ? "cut and zeros fail" : "cut fails";
	struct sf_clog_recovery rep;
	uint64_t good, bad;
	char p[4600];
	sf_clog_t *l;

	/* the cut (F1) and the zeros (F2) of a single file */
	new_kind = SF_CLOG_SINGLE_FILE;
	l = fresh_log(p, sizeof(p), "cut.log", io, &rep, &good, what);
	new_kind = 0;
	if (!l)
		return;
	arm(CLOG_FAULT_FLUSH, EIO, -1);
	cut_fails = 1;
	zeros_fail = zeros;
	ok_err(commit_rec(l, "victim", &bad), EIO,
	       "%s/%s: its flush fails: the commit returns EIO", mn, what);
	ok(status(l, bad) == (zeros ? SF_TXN_IN_DOUBT : SF_TXN_FAILED),
	   "%s/%s: reported %s", mn, what, zeros ? "in doubt" : "failed");
	sf_clog_close(l);	/* its own cut fails as well */
	arm(0, -1, -1);
	cut_fails = zeros_fail = 0;
	l = reopen(p, io, &rep);
	if (!l)
		return;
	if (zeros)
		diag("%s/%s: the reopened log replayed %llu transactions (in "
		     "doubt: either is right)", mn, what,
		     (unsigned long long)rep.replayed);
	else
		ok(rep.replayed == 1 && replayed.id[0] == good,
		   "%s/%s: a failed commit is never replayed (%llu replayed)",
		   mn, what, (unsigned long long)rep.replayed);
	sf_clog_close(l);
}

/* Creating a log makes its directory entry durable; opening one does not. */
static void case_dir_sync(void)
{
	struct sf_clog_recovery rep;
	unsigned long before;
	char p[4600];
	sf_clog_t *l;

	phase("dir sync");
	ct_path(p, sizeof(p), "dir.log");
	ct_unlink(p);
	before = dsync_hits("commit:dir-synced");
	l = reopen(p, SF_CLOG_IO_PWRITEV, &rep);
	ok(l && dsync_hits("commit:dir-synced") == before + 1 &&
	   !strcmp(dir_synced, ct_dir), "dir sync: creating the log fsyncs "
	   "its directory (%s)", dir_synced);
	sf_clog_close(l);
	l = reopen(p, SF_CLOG_IO_PWRITEV, &rep);
	ok(l && dsync_hits("commit:dir-synced") == before + 1,
	   "dir sync: opening an existing log does not");
	sf_clog_close(l);
	{
		/* a directory log named with a trailing slash: the same */
		char d[4700];
		struct sf_clog_options o = { .flags = SF_CLOG_SEGMENTED };

		snprintf(d, sizeof(d), "%s/dir.d/", ct_dir);
		ct_rmdir(d);
		dir_synced[0] = 0;
		ok(!sf_clog_open(d, &o, &l, &rep) && !strcmp(dir_synced, ct_dir),
		   "dir sync: a new directory log named \"dir.d/\" fsyncs the "
		   "directory it is in (%s)", dir_synced);
		sf_clog_close(l);
		ct_rmdir(d);
	}
	ct_unlink(p);
	dir_fails = 1;
	ok(sf_clog_open(p, NULL, &l, &rep) == EIO,
	   "dir sync: a failed directory fsync fails the open (EIO)");
	dir_fails = 0;
	ct_unlink(p);
}

int main(int argc, char **argv)
{
	const int modes[] = { SF_CLOG_IO_URING_LINKED, SF_CLOG_IO_PWRITEV };

	watchdog_start(30);
	ct_mkdir(0);
	/* dsync's hook passes every point to fault_hook first. */
	dsync_own = fault_hook;
	dsync_reset();
	if (argc > 1 && !strcmp(argv[1], "cut")) {
		/* What the "cut broken" case runs with the old code put back. */
		for (int m = 0; m < 2; m++)
			case_cut_fails(modes[m], 0);
		return done_testing();
	}
	case_dir_sync();
	for (int m = 0; m < 2; m++) {
		int io = modes[m];

		case_cut_fails(io, 0);
		case_cut_fails(io, 1);
		case_fault(io, "write EIO", CLOG_FAULT_WRITE, EIO, -1, EIO);
		case_fault(io, "flush EIO", CLOG_FAULT_FLUSH, EIO, -1, EIO);
		case_fault(io, "disk full", CLOG_FAULT_WRITE, ENOSPC, -1,
			   ENOSPC);
		case_fault(io, "short write, then the rest", CLOG_FAULT_WRITE,
			   -2 - 10, -1, 0);
		case_fault(io, "short write, then disk full",
			   CLOG_FAULT_WRITE, -2 - 10, ENOSPC, ENOSPC);
		case_batch(io);
		case_sleeper(io);
		case_second_batch(io);
		case_gather_fail(io);
	}
	phase("cut broken");
	ok(self_fails_broken("commit-fault", (char *[]){ "cut", NULL },
			     "cut-ignored", "a failed commit is never replayed"),
	   "cut broken: with the cut's failure ignored "
	   "(SF_TEST_BROKEN=cut-ignored) a failed commit is replayed");
	return done_testing();
}
