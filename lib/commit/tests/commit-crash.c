// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: crash test of the commit log: a child runs transactions that build on earlier ones only when visible; it is killed with SIGKILL at random moments (500 times; 25 under ThreadSanitizer, 100 under AddressSanitizer) and each time recovery must hold every transaction another one saw committed, every one whose commit returned, and no torn or foreign record, and the next id must be above every id handed out before; every other five rounds the log is a directory of 64 KiB segments (switches every few milliseconds) and the child checkpoints every millisecond: then recovery must find at least the last acknowledged checkpoint, every commit that returned replayed or below it, and no segment it needs gone (recycled segments); of the other blocks of five, one in two on a single file, the rest on a log as the defaults make it (a directory of 16 MiB segments); then a fifth as many rounds more (at least 60, on a default log) with asynchronous commits and prepares: the recovered commits are a prefix of the commit order, every prepared transaction is in doubt with its record until resolved (never replayed or dropped before), and the parent's resolutions hold across the next crashes */
/*
 * The log is on a tmpfs when /dev/shm is writable (SYNCFIX_TEST_DIR
 * overrides): SIGKILL loses the process, not the page cache, so what is
 * tested is the order of the protocol, not the disk.  A quarter of the
 * kills land at a random moment after the start (often during the child's
 * own recovery), the rest 0-3 ms after its threads started committing.
 * The log and the record of what was seen start afresh every 5 rounds so
 * that recovery stays short.
 */
#include "test.h"
#include "commit-test.h"
#include "commit-crash.h"

#include <signal.h>

static struct crash_state *S;
static uint8_t recovered[CRASH_MAX_ID];
static uint64_t dep_of[CRASH_MAX_ID];	/* of each transaction replayed */
static int torn, bad_dep;
static uint64_t ckpt;	/* the checkpoint recovery found */

/* Not replayed, and rightly: returned, and committed below the checkpoint. */
static int below_ckpt(uint64_t id)
{
	return ckpt && S->returned[id] && S->commit_lsn[id] < ckpt;
}

static int check_cb(void *arg, const struct sf_commit_txn *t)
{
	const struct crash_payload *pl;

	(void)arg;
	if (t->nrecs != 1 || t->recs[0].len != sizeof(*pl)) {
		torn++;
		return 0;
	}
	pl = t->recs[0].data;
	if (pl->magic != CRASH_MAGIC || pl->id != t->id ||
	    pl->check != pl->id * 31 + pl->dep || t->id >= CRASH_MAX_ID) {
		torn++;
		return 0;
	}
	/* Falcon's invariant, checked after the open: see check_deps(). */
	dep_of[t->id] = pl->dep;
	recovered[t->id] = 1;
	return 0;
}

/* ---- the "txn" mode: async commits and prepares ------------------------ */

static uint8_t in_doubt[CRASH_MAX_ID];
static int bad_doubt, early_commit, dropped, came_back, holes, bad_resolve;
static int lost_applied;
static unsigned long ndoubt, nprepared, nasync, napplied;

static int doubt_cb(void *arg, const struct sf_prepared_txn *p)
{
	const struct crash_payload *pl;

	(void)arg;
	if (p->id >= CRASH_MAX_ID || p->nrecs != 1 ||
	    p->recs[0].len != sizeof(*pl) || p->tag_len != sizeof(p->id) ||
	    memcmp(p->tag, &p->id, sizeof(p->id))) {
		bad_doubt++;
		return 0;
	}
	pl = p->recs[0].data;
	if (pl->magic != CRASH_MAGIC || pl->id != p->id ||
	    pl->check != pl->id * 31 + pl->dep)
		bad_doubt++;
	in_doubt[p->id] = 1;
	return 0;
}

/*
 * After recovery @l of a "txn" round whose child was handed ids from
 * @base on: the commits with an LSN are a prefix of the commit order;
 * prepared ones are in doubt or resolved as asked; then every one in
 * doubt is resolved (even ids commit, odd ids roll back), once.
 */
static void check_txn_round(sf_clog_t *l, uint64_t base)
{
	uint64_t max_rec = 0;

	memset(in_doubt, 0, sizeof(in_doubt));
	sf_clog_in_doubt(l, doubt_cb, NULL);
	for (uint64_t i = base; i <= S->max_id && i < CRASH_MAX_ID; i++)
		if (recovered[i] && S->lsn[i] > max_rec)
			max_rec = S->lsn[i];
	for (uint32_t i = 1; i < CRASH_MAX_ID; i++) {
		uint8_t f = S->flags[i];

		if (i >= base && i <= S->max_id && S->lsn[i] &&
		    S->lsn[i] < max_rec && !recovered[i] && !holes++)
			diag("txn %u (commit LSN %llu) lost below %llu", i,
			     (unsigned long long)S->lsn[i],
			     (unsigned long long)max_rec);
		nasync += (f & CF_ASYNC) != 0;
		if (S->applied[i]) {
			napplied++;
			if (!recovered[i] && !lost_applied++)
				diag("txn %u was applied and is lost", i);
		}
		if (in_doubt[i])
			ndoubt++;
		if (!(f & CF_PREPARED))
			continue;
		nprepared++;
		if (recovered[i] && !(f & (CF_COMMITTING | CF_RESOLVED_C)) &&
		    !early_commit++)
			diag("txn %u replayed committed before it was", i);
		if (in_doubt[i] && (f & (CF_RESOLVED_C | CF_RESOLVED_R)) &&
		    !came_back++)
			diag("txn %u in doubt again after it was resolved", i);
		if (!recovered[i] && !in_doubt[i] &&
		    !(f & (CF_ROLLING_BACK | CF_RESOLVED_R)) && !dropped++)
			diag("txn %u prepared, then neither in doubt nor "
			     "replayed", i);
	}
	for (uint32_t i = 1; i < CRASH_MAX_ID; i++) {
		int r;

		if (!in_doubt[i])
			continue;
		r = i % 2 ? sf_clog_rollback_prepared(l, i)
			  : sf_clog_commit_prepared(l, i, NULL);
		bad_resolve += r != 0;
		bad_resolve += sf_clog_commit_prepared(l, i, NULL) != EALREADY;
		S->flags[i] |= CF_PREPARED | (i % 2 ? CF_RESOLVED_R
						    : CF_RESOLVED_C);
	}
}

/*
 * Falcon's invariant: what a replayed transaction built on committed
 * before it: replayed too, or (with a checkpoint) below the checkpoint.
 */
static void check_deps(void)
{
	for (uint32_t i = 1; i < CRASH_MAX_ID; i++) {
		uint64_t d = dep_of[i];

		if (recovered[i] && d && !recovered[d] && !below_ckpt(d) &&
		    !(ckpt && !S->returned[d]))
			bad_dep++;
	}
}

/*
 * Usage: commit-crash [CHILD [ROUNDS [txn]]]: another child program and
 * number of rounds (commit-broken-demo runs this with SF_TEST_BROKEN set,
 * which the child, on the test-hook build, inherits); txn: those rounds
 * in the "txn" mode.  Without arguments: the default rounds, then a
 * fifth of them (at least 60) in the "txn" mode.
 */
int main(int argc, char **argv)
{
	/* 500 kills; 25 under ThreadSanitizer, 100 under AddressSanitizer
	 * (their children start slowly). */
#if defined(TEST_TSAN)
	int rounds = (int)scaled(250), missing_seen = 0, missing_ret = 0;
#elif defined(__SANITIZE_ADDRESS__)
	int rounds = (int)scaled(100), missing_seen = 0, missing_ret = 0;
#else
	int rounds = (int)scaled(500), missing_seen = 0, missing_ret = 0;
#endif
	int killed_early = 0, fd, failures = 0, reused = 0, txn_rounds = 0;
	int lost_ckpt = 0;
	uint64_t base = 1;
	unsigned long nids = 0, nseg = 0, nckpt = 0;
	unsigned long nbusy = 0, nseen = 0, nret = 0, ncut = 0;
	char file_log[4600], dir_log[4600], state[4600], helper[4200];
	char seedbuf[32], *log;
	uint32_t seed = (uint32_t)time(NULL) | 1;
	double t0 = now_mono();

	if (self_dir(helper, sizeof(helper) - 64))
		skip_all("cannot find own directory");
	strcat(helper, "/");
	strcat(helper, argc > 1 ? argv[1] : "commit-crash-child");
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (argc > 3 && !strcmp(argv[3], "txn"))
		txn_rounds = rounds, rounds = 0;
	else if (argc <= 2)	/* at least 60: a few dozen left in doubt */
		txn_rounds = rounds / 5 > 60 ? rounds / 5 : 60;
	watchdog_start(30);
	ct_mkdir(1);
	ct_path(file_log, sizeof(file_log), "crash.log");
	ct_path(dir_log, sizeof(dir_log), "crash.d");
	ct_path(state, sizeof(state), "crash.state");
	fd = open(state, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, sizeof(*S)))
		return ok(0, "state file"), done_testing();
	S = mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (S == MAP_FAILED)
		return ok(0, "mmap"), done_testing();
	diag("seed %u, %d rounds, log in %s", seed, rounds, ct_dir);

	for (int r = 0; r < rounds + txn_rounds; r++) {
		int txn = r >= rounds;
		/*
		 * Blocks of five rounds: 64 KiB segments every other one;
		 * of the others, one in two on a single file (made empty
		 * here first: an existing file stays one), the rest --
		 * and the txn rounds -- on a log as the defaults make it.
		 */
		int seg = !txn && (r / 5) % 2;
		int single = !txn && (r / 5) % 4 == 0;
		struct sf_clog_options o = { .replay = check_cb,
					     .io = SF_CLOG_IO_PWRITEV,
					     .buffer_size = CRASH_BUF,
					     .segment_size = seg ? CRASH_SEG : 0,
					     .id_reserve = CRASH_ID_RESERVE };
		sf_txn_t *t;
		struct sf_clog_recovery rep;
		sf_clog_t *l;
		pid_t pid, exited = 0;
		int st, err;

		log = seg ? dir_log : file_log;
		if (r % 5 == 0 || r == rounds) {
			ct_unlink(file_log);
			ct_rmdir(dir_log);
			memset(S, 0, sizeof(*S));
			if (single && ct_spew(file_log, NULL, 0))
				failures++;
		}
		base = S->max_id + 1;
		S->ready = 0;
		/*
		 * Rounds alternate the child's write method (pwritev, io_uring)
		 * and, every other pair, three batches flushed at once (see
		 * commit-crash-child.c).
		 */
		snprintf(seedbuf, sizeof(seedbuf), "%u",
			 rnd(&seed) << 3 |
			 (uint32_t)(seg || (txn && (r & 4))) << 2 |
			 (uint32_t)(r & 3));
		pid = fork();
		if (pid == 0) {
			execl(helper, helper, log, state, seedbuf,
			      txn ? "txn" : (char *)NULL, (char *)NULL);
			_exit(126);
		}
		if (rnd(&seed) % 4 == 0) {
			sleep_ms(rnd(&seed) % 4);
			killed_early += !__atomic_load_n(&S->ready,
							 __ATOMIC_ACQUIRE);
		} else {
			double end = now_mono() + 5;

			/* Not past a child that already failed (exited). */
			while (!__atomic_load_n(&S->ready, __ATOMIC_ACQUIRE) &&
			       now_mono() < end &&
			       (exited = waitpid(pid, &st, WNOHANG)) == 0)
				usleep(100);
			if (!exited)
				usleep(rnd(&seed) % 3000);
		}
		if (!exited) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
		}
		if (!WIFSIGNALED(st)) {
			if (!failures++)
				diag("round %d: child exited with %d", r,
				     WEXITSTATUS(st));
			continue;
		}
		memset(recovered, 0, sizeof(recovered));
		memset(dep_of, 0, sizeof(dep_of));
		/* the child's last acknowledged checkpoint */
		ckpt = __atomic_load_n(&S->ckpt_lsn, __ATOMIC_ACQUIRE);
		/*
		 * The dead child's io_uring requests hold the file (and its
		 * flock) until the kernel has torn the ring down: EBUSY for
		 * a moment.
		 */
		for (int i = 0; (err = sf_clog_open(log, &o, &l, &rep)) == EBUSY
		     && i < 2000; i++) {
			nbusy += i == 0;
			usleep(1000);
		}
		if (err) {
			if (!failures++)
				diag("round %d: recovery failed: %s (%s)", r,
				     strerror(err), rep.reason);
			continue;
		}
		if (txn)
			check_txn_round(l, base);
		/* No id handed out twice: the next one is above them all. */
		if (sf_txn_begin(l, &t) == 0) {
			nids++;
			if (sf_txn_id(t) <= S->max_id && !reused++)
				diag("round %d: id %llu handed out again (a "
				     "child had %llu)", r,
				     (unsigned long long)sf_txn_id(t),
				     (unsigned long long)S->max_id);
			S->max_id = sf_txn_id(t);
			sf_txn_rollback(t);
		}
		sf_clog_close(l);
		ncut += rep.cut_bytes != 0;
		nseg += seg;
		nckpt += rep.checkpoint_lsn != 0;
		if (rep.checkpoint_lsn < ckpt && !lost_ckpt++)
			diag("round %d: checkpoint %llu acknowledged, recovery "
			     "found %llu", r, (unsigned long long)ckpt,
			     (unsigned long long)rep.checkpoint_lsn);
		/* replayed or, when it returned, below the checkpoint found */
		ckpt = rep.checkpoint_lsn;
		check_deps();
		for (uint32_t i = 1; i < CRASH_MAX_ID; i++) {
			if (S->seen[i]) {
				nseen++;
				missing_seen += !recovered[i] &&
						!below_ckpt(i) &&
						!(ckpt && !S->returned[i]);
			}
			if (S->returned[i]) {
				nret++;
				missing_ret += !recovered[i] && !below_ckpt(i);
			}
		}
		progress();
	}
	ok(!failures, "%d rounds: child killed by SIGKILL and the log "
	   "recovered each time (%d failures)", rounds + txn_rounds, failures);
	ok(!missing_seen, "every transaction another one saw committed is "
	   "recovered (%lu checks, %d missing)", nseen, missing_seen);
	ok(!missing_ret, "every transaction whose commit returned is "
	   "recovered (%lu checks, %d missing)", nret, missing_ret);
	if (rounds)
		ok(!lost_ckpt && nseg && nckpt, "segmented rounds (%lu, %lu "
		   "with a checkpoint): recovery found the last acknowledged "
		   "checkpoint and every segment it needs (%d lost)", nseg,
		   nckpt, lost_ckpt);
	ok(!reused && nids, "after every recovery the next id is above "
	   "every id handed out before (%lu checks, %d reused)", nids, reused);
	ok(!torn && !bad_dep, "no torn or foreign record replayed (%d), no "
	   "transaction recovered without the one it built on (%d)", torn,
	   bad_dep);
	if (txn_rounds) {
		ok(!holes, "txn: %d rounds with async commits (%lu checks): what is "
		   "recovered is a prefix of the commit order (%d lost below "
		   "a recovered one)", txn_rounds, nasync, holes);
		ok(!early_commit && !dropped && !came_back && !bad_doubt &&
		   nprepared, "txn: every prepared transaction (%lu checks, "
		   "%lu in doubt) is in doubt with its record until resolved: "
		   "%d replayed before, %d dropped, %d back after its "
		   "resolution, %d bad records", nprepared, ndoubt,
		   early_commit, dropped, came_back, bad_doubt);
		ok(!bad_resolve && ndoubt, "txn: each resolved once, the "
		   "second resolution EALREADY (%d wrong)", bad_resolve);
		ok(!lost_applied && napplied, "txn: every transaction an "
		   "applier received is recovered (%lu checks, %d lost)",
		   napplied, lost_applied);
	}
	diag("%d kills before the child was ready; %lu recoveries cut a torn "
	     "tail; %lu found the log still locked for a moment; %.1f s",
	     killed_early, ncut, nbusy, now_mono() - t0);
	return done_testing();
}
