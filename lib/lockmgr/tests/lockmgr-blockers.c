// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: the blocker callback: the (requester, blocker) sets it reports match who holds a conflicting lock when a request starts waiting and each time that changes (new readers granted, releases one by one, none when the request is woken), it runs outside every internal lock (it locks, lists and kills from inside), and the replication scenario end to end: T2 holds what the earlier T1 needs and waits itself; the callback sees T1 blocked by T2, the engine kills T2, T2's wait ends with ECANCELED, T2 rolls back and T1 gets its lock at once instead of at its lock timeout; deadlock reports (the cycle's transactions, keys and modes in a bounded ring, oldest first, its size changeable) and the victim policy (another transaction of the cycle fails with EDEADLK from its wait while the requester waits; a pick outside the cycle means the requester) */
#include "lockmgr-test.h"

static int acq(uint64_t txn, int mode, const char *k)
{
	struct sf_lockkey kk = key(k);

	return sf_lock_acquire(lt, txn, ANY, mode, &kk, NULL, CLOCK_MONOTONIC,
			       NULL);
}

/* ---- what the callback saw ------------------------------------------------- */

#define MAXREP 32
static pthread_mutex_t rep_m = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct sf_locktree *tree;
	uint64_t req, client;
	char set[64];		/* the blockers, sorted, as "3,4" */
} reps[MAXREP];
static int nrep;
static int inside_ok = 1;	/* the manager could be called from inside */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void record(struct sf_locktree *tree, uint64_t req, uint64_t client,
		   const uint64_t *b, uint32_t n)
{
	uint64_t v[16];
	size_t len = 0;

	if (n > 16)
		n = 16;
	memcpy(v, b, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_u64);
	pthread_mutex_lock(&rep_m);
	if (nrep < MAXREP) {
		reps[nrep].tree = tree;
		reps[nrep].req = req;
		reps[nrep].client = client;
		reps[nrep].set[0] = 0;
		for (uint32_t i = 0; i < n; i++)
			len += (size_t)snprintf(reps[nrep].set + len,
						sizeof(reps[0].set) - len, "%s%llu",
						i ? "," : "",
						(unsigned long long)v[i]);
		nrep++;
	}
	pthread_mutex_unlock(&rep_m);
}

static int count_fn(const struct sf_lock_info *li, void *arg)
{
	(void)li;
	++*(int *)arg;
	return 0;
}

/* Records, and calls the manager from inside: it must not be locked. */
static void pairs_cb(void *arg, struct sf_locktree *tree, uint64_t req,
		     uint64_t client, const uint64_t *b, uint32_t n)
{
	struct sf_locktree_stats st;
	struct sf_lockkey z = key("zz");
	int cnt = 0;

	(void)arg;
	record(tree, req, client, b, n);
	if (sf_locktree_stats(tree, &st) ||
	    sf_locktree_iterate(tree, count_fn, &cnt) ||
	    sf_lock_acquire(tree, 999, ANY, W | SF_LOCK_NOWAIT, &z, NULL,
			    CLOCK_MONOTONIC, NULL) ||
	    sf_lock_release_all(tree, 999))
		inside_ok = 0;
}

/* The reports since the last call, as "req:set req:set". */
static const char *took(void)
{
	static char buf[512];
	size_t len = 0;

	pthread_mutex_lock(&rep_m);
	buf[0] = 0;
	for (int i = 0; i < nrep; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%llu:%s",
					i ? " " : "",
					(unsigned long long)reps[i].req,
					reps[i].set);
	nrep = 0;
	pthread_mutex_unlock(&rep_m);
	return buf;
}

static void expect(const char *want, const char *what)
{
	const char *got = took();

	if (!ok(!strcmp(got, want), "%s: reported \"%s\"", what, want))
		diag("  got \"%s\"", got);
}

static void case_pairs(void)
{
	struct sf_lock_request r5;
	struct sf_lockkey k = key("k");

	phase("pairs");
	ok_err(sf_lockmgr_set_blocker_callback(mgr, pairs_cb, NULL), 0,
	       "callback set");
	ok(!acq(3, R, "k") && !acq(4, R, "k"), "T3 and T4 read k");
	expect("", "no wait, no report");
	ok_err(sf_lock_request_start(&r5, lt, 5, 55, W, &k, NULL), EINPROGRESS,
	       "T5 (client 55) waits to write k");
	expect("5:3,4", "T5 starts waiting, blocked by T3 and T4");
	ok(reps[0].tree == lt && reps[0].client == 55, "with its tree and "
	   "client id");
	ok(!acq(6, R, "k"), "T6 reads k (compatible with the readers)");
	expect("5:3,4,6", "the new reader blocks T5 too");
	sf_lock_release_all(lt, 3);
	expect("5:4,6", "T3 releases");
	ok(!acq(7, W, "other"), "T7 writes another key");
	expect("", "which blocks nobody: no report");
	sf_lock_release_all(lt, 4);
	expect("5:6", "T4 releases");
	sf_lock_release_all(lt, 6);
	expect("", "T6 releases: T5 is unblocked (no report of an empty set)");
	ok_err(sf_lock_request_wait(&r5, CLOCK_MONOTONIC, NULL), 0, "T5 gets k");
	ok(inside_ok, "each call could lock, list and read stats from inside "
	   "the callback");
	ok_err(sf_lockmgr_set_blocker_callback(mgr, NULL, NULL), 0,
	       "callback cleared");
	ok(!acq(8, R, "other2"), "T8 reads another key");
	{
		struct sf_lock_request r8;

		ok_err(sf_lock_request_start(&r8, lt, 8, ANY, R, &k, NULL),
		       EINPROGRESS, "T8 waits for k");
		expect("", "no callback: no report");
		sf_lock_release_all(lt, 5);
		ok_err(sf_lock_request_wait(&r8, CLOCK_MONOTONIC, NULL), 0,
		       "T8 gets k");
	}
	for (uint64_t t = 1; t < 10; t++)
		sf_lock_release_all(lt, t);
	ok_err(sf_lockmgr_set_blocker_callback(NULL, NULL, NULL), EINVAL,
	       "no manager: EINVAL");
}

/* ---- replication ----------------------------------------------------------------- */

/*
 * Optimistic parallel replication: transactions commit in the order of
 * their ids, so when an earlier one (T1) waits for a later one (T2), T2
 * must give way: the engine kills it (it will be retried after T1), as
 * MariaDB does from thd_rpl_deadlock_check() through TokuDB's
 * lock_wait_callback.  Without that, T1 would wait for T2, which here
 * waits for T3, which waits for T1 to commit: only the lock timeout
 * would end it.
 */
static int t2_killed;	/* the engine's kill flag, set by the callback */

static void repl_cb(void *arg, struct sf_locktree *tree, uint64_t req,
		    uint64_t client, const uint64_t *b, uint32_t n)
{
	(void)arg;
	(void)client;
	record(tree, req, client, b, n);
	/* T1 and T2 are the replicated ones, in commit order; T3 is not */
	for (uint32_t i = 0; i < n; i++)
		if (req <= 2 && b[i] <= 2 && b[i] > req) {
			/* a later one blocks an earlier one: kill it */
			__atomic_store_n(&t2_killed, 1, __ATOMIC_RELEASE);
			sf_lockmgr_kill_client(mgr, b[i]);
		}
}

struct t2 {
	int got_k, wait_result;
	double waited;
};

static void *t2_main(void *p)
{
	struct t2 *x = p;
	struct sf_lockkey m = key("m");
	struct timespec dl;
	double t0;

	x->got_k = acq(2, W, "k") == 0;
	dl = deadline_ms(CLOCK_MONOTONIC, 10000);
	t0 = now_mono();
	/* T2 goes on and waits for m, which T3 holds */
	x->wait_result = sf_lock_acquire(lt, 2, ANY, W, &m, NULL,
					 CLOCK_MONOTONIC, &dl);
	x->waited = now_mono() - t0;
	sf_lock_release_all(lt, 2);	/* killed: roll back */
	sf_lockmgr_clear_kill(mgr, 2);
	return NULL;
}

static void case_replication(void)
{
	struct sf_lockkey k = key("k");
	struct t2 x = { 0 };
	struct timespec dl;
	pthread_t th;
	double t0, t1_wait;
	uint64_t waits;
	int e;

	phase("replication");
	took();
	ok_err(sf_lockmgr_set_blocker_callback(mgr, repl_cb, NULL), 0,
	       "the engine's callback set");
	ok(!acq(3, W, "m"), "T3 holds m");
	waits = 0;
	{
		struct sf_lockmgr_stats st;

		sf_lockmgr_stats(mgr, &st);
		waits = st.waits;
	}
	pthread_create(&th, NULL, t2_main, &x);
	for (;;) {	/* until T2 holds k and waits for m */
		struct sf_lockmgr_stats st;

		sf_lockmgr_stats(mgr, &st);
		if (st.waits > waits)
			break;
		sleep_ms(1);
	}
	ok(x.got_k, "T2 (later) holds k and waits for m");
	expect("2:3", "T2 waits for T3: earlier, no kill");
	dl = deadline_ms(CLOCK_MONOTONIC, 10000);
	t0 = now_mono();
	e = sf_lock_acquire(lt, 1, ANY, W, &k, NULL, CLOCK_MONOTONIC, &dl);
	t1_wait = now_mono() - t0;
	pthread_join(th, NULL);
	ok(__atomic_load_n(&t2_killed, __ATOMIC_ACQUIRE), "the callback saw T1 "
	   "blocked by the later T2 and killed T2");
	expect("1:2", "the report: T1 blocked by T2");
	ok_err(x.wait_result, ECANCELED, "T2's wait for m ends: killed");
	ok(x.waited < 1.0, "at once (%.3f s; lock timeout 10 s)", x.waited);
	ok_err(e, 0, "T2 rolled back: T1 gets k");
	ok(t1_wait < 1.0, "T1 waited %.3f s, not its 10 s lock timeout",
	   t1_wait);
	sf_lock_release_all(lt, 1);
	sf_lock_release_all(lt, 3);
	sf_lockmgr_set_blocker_callback(mgr, NULL, NULL);
}

/* ---- deadlock reports and the victim policy ----------------------------------------- */

struct dl_seen {
	int n;
	uint64_t seq[8], victim[8];
	char text[8][160];	/* "txn:mode:key>next ..." */
};

static int dl_fn(const struct sf_lock_deadlock *d, void *arg)
{
	struct dl_seen *x = arg;
	size_t len = 0;

	if (x->n >= 8)
		return 1;
	x->seq[x->n] = d->seq;
	x->victim[x->n] = d->victim;
	x->text[x->n][0] = 0;
	for (uint32_t i = 0; i < d->n; i++) {
		const struct sf_lock_wait_info *w = &d->cycle[i];

		len += (size_t)snprintf(x->text[x->n] + len,
					sizeof(x->text[0]) - len,
					"%s%llu:%c:%.*s>%llu", i ? " " : "",
					(unsigned long long)w->txnid,
					w->mode == W ? 'W' : 'R',
					(int)w->left.size,
					(const char *)w->left.data,
					(unsigned long long)(w->nblockers ?
							     w->blockers[0] : 0));
	}
	x->n++;
	return 0;
}

static uint64_t policy_pick, policy_saw_requester;

static uint64_t victim_fn(void *arg, const struct sf_lock_deadlock *d)
{
	(void)arg;
	policy_saw_requester = d->cycle[0].txnid;
	return policy_pick;
}

static void case_deadlocks(void)
{
	struct sf_lock_request r1, r2, r3;
	struct sf_lockkey a = key("a"), b = key("b"), c = key("c");
	struct dl_seen x;

	phase("deadlock reports");
	ok(!acq(1, W, "a") && !acq(2, W, "b"), "T1 writes a, T2 writes b");
	ok_err(sf_lock_request_start(&r1, lt, 1, ANY, W, &b, NULL), EINPROGRESS,
	       "T1 waits for b");
	ok_err(sf_lock_request_start(&r2, lt, 2, ANY, R, &a, NULL), EDEADLK,
	       "T2 asks to read a: EDEADLK (the requester is the victim)");
	memset(&x, 0, sizeof(x));
	ok_err(sf_lockmgr_deadlocks(mgr, dl_fn, &x), 0, "the ring listed");
	if (!ok(x.n == 1 && x.victim[0] == 2 &&
		!strcmp(x.text[0], "2:R:a>1 1:W:b>2"),
		"one report: T2 reading a waits for T1, T1 writing b for T2; "
		"victim T2"))
		diag("  %d: %s (victim %llu)", x.n, x.text[0],
		     (unsigned long long)x.victim[0]);
	sf_lock_release_all(lt, 2);
	ok_err(sf_lock_request_wait(&r1, CLOCK_MONOTONIC, NULL), 0,
	       "T2 rolls back: T1 gets b");
	sf_lock_release_all(lt, 1);

	/* a policy that picks another transaction of the cycle */
	ok_err(sf_lockmgr_set_victim_policy(mgr, victim_fn, NULL), 0,
	       "a victim policy set");
	policy_pick = 1;
	ok(!acq(1, W, "a") && !acq(2, W, "b") && !acq(3, W, "c"),
	   "T1, T2, T3 write a, b, c");
	ok_err(sf_lock_request_start(&r1, lt, 1, ANY, W, &b, NULL), EINPROGRESS,
	       "T1 waits for b");
	ok_err(sf_lock_request_start(&r2, lt, 2, ANY, W, &c, NULL), EINPROGRESS,
	       "T2 waits for c");
	ok_err(sf_lock_request_start(&r3, lt, 3, ANY, W, &a, NULL), EINPROGRESS,
	       "T3 asks for a, closing the cycle; the policy picks T1: T3 waits");
	ok(policy_saw_requester == 3, "the policy saw the cycle from T3");
	ok_err(sf_lock_request_wait(&r1, CLOCK_MONOTONIC, NULL), EDEADLK,
	       "T1's wait ends with EDEADLK");
	sf_lock_release_all(lt, 1);
	ok_err(sf_lock_request_wait(&r3, CLOCK_MONOTONIC, NULL), 0,
	       "T1 rolls back: T3 gets a");
	sf_lock_release_all(lt, 3);
	ok_err(sf_lock_request_wait(&r2, CLOCK_MONOTONIC, NULL), 0,
	       "T3 commits: T2 gets c");
	sf_lock_release_all(lt, 2);
	memset(&x, 0, sizeof(x));
	sf_lockmgr_deadlocks(mgr, dl_fn, &x);
	if (!ok(x.n == 2 && x.seq[1] == 2 && x.victim[1] == 1 &&
		!strcmp(x.text[1], "3:W:a>1 1:W:b>2 2:W:c>3"),
		"the second report, oldest first: T3 > T1 > T2 > T3, victim T1"))
		diag("  %d: %s (victim %llu)", x.n, x.n > 1 ? x.text[1] : "",
		     (unsigned long long)x.victim[x.n > 1]);

	/* a pick outside the cycle means the requester */
	policy_pick = 77;
	ok(!acq(1, W, "a") && !acq(2, W, "b"), "T1 writes a, T2 writes b");
	ok_err(sf_lock_request_start(&r1, lt, 1, ANY, W, &b, NULL), EINPROGRESS,
	       "T1 waits for b");
	ok_err(sf_lock_request_start(&r2, lt, 2, ANY, W, &a, NULL), EDEADLK,
	       "a policy naming no one of the cycle: the requester T2 gets "
	       "EDEADLK");
	sf_lock_release_all(lt, 2);
	sf_lock_request_wait(&r1, CLOCK_MONOTONIC, NULL);
	sf_lock_release_all(lt, 1);
	sf_lockmgr_set_victim_policy(mgr, NULL, NULL);

	/* the ring's size */
	ok_err(sf_lockmgr_set_deadlock_ring(mgr, 2), 0, "keep 2 reports");
	memset(&x, 0, sizeof(x));
	sf_lockmgr_deadlocks(mgr, dl_fn, &x);
	ok(x.n == 2 && x.seq[0] == 2 && x.seq[1] == 3, "the newest 2 stay, "
	   "oldest first (%llu, %llu)", (unsigned long long)x.seq[0],
	   (unsigned long long)x.seq[1]);
	ok_err(sf_lockmgr_set_deadlock_ring(mgr, 0), 0, "keep none");
	memset(&x, 0, sizeof(x));
	sf_lockmgr_deadlocks(mgr, dl_fn, &x);
	ok(x.n == 0, "nothing listed");
	ok_err(sf_lockmgr_set_deadlock_ring(mgr, 1025), EINVAL, "1025: EINVAL");
	ok_err(sf_lockmgr_deadlocks(mgr, NULL, NULL), EINVAL, "no callback");
	ok_err(sf_lockmgr_set_victim_policy(NULL, NULL, NULL), EINVAL,
	       "no manager");
	sf_lockmgr_set_deadlock_ring(mgr, SF_LOCKMGR_DEADLOCK_RING);
}

int main(void)
{
	watchdog_start(20);
	if (sf_lockmgr_create(&mgr, NULL) ||
	    sf_locktree_create(mgr, &lt, NULL, NULL)) {
		ok(0, "create manager and tree");
		return T_FAIL;
	}
	case_pairs();
	case_replication();
	case_deadlocks();
	ok_err(sf_locktree_destroy(lt), 0, "tree destroyed");
	ok_err(sf_lockmgr_destroy(mgr), 0, "manager destroyed");
	return done_testing();
}
