// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: lock manager stress: threads run transactions of random ranges and modes in two trees, with releases of one range and rollbacks to savepoints among them, every grant is checked against a reference model for conflicts, a killer thread cancels random waiters, every blocker report is checked (never empty, never its own requester), a victim policy fails another transaction of every other cycle and the deadlock ring must hold the last ones, a watchdog catches stalls, and no request may time out; a second run under a tiny memory limit adds escalation and ENOLCK */
/*
 * The model is a list of the granted locks per tree under a glibc mutex.
 * A transaction takes its locks out of the model before it releases them
 * in the lock manager, so a lock in the model is always really held: a
 * grant that conflicts with a model lock of another transaction is a
 * violation (escalation only makes real locks larger, so the check stays
 * sound).  Deadlocks (EDEADLK), kills (ECANCELED) and ENOLCK abort the
 * transaction, as a database would; a timeout (10 s lock timeout) is a
 * failure: it means a grantable request was left waiting.  Iterations are
 * scaled down 10x under TSAN (scaled()).
 */
#include "test.h"

#include <syncfix.h>

#define NTHREADS	6
#define NKEYS		24
#define NTREES		2
#define MAXLOCKS	4096

struct mlock {
	uint64_t txn;
	int mode, l, r;		/* -1: minus infinity, NKEYS: plus infinity */
};

static struct {
	pthread_mutex_t m;
	struct mlock v[MAXLOCKS];
	int n;
} model[NTREES] = { { .m = PTHREAD_MUTEX_INITIALIZER },
		    { .m = PTHREAD_MUTEX_INITIALIZER } };

static struct sf_lockmgr *mgr;
static struct sf_locktree *trees[NTREES];
static long iters;
static unsigned long violations, timeouts, deadlocks, kills, grants, other;
static unsigned long nolocks, partial, rollbacks;
static uint64_t waiting_client[NTHREADS];	/* 0: none */
static int stop_killer;

static struct sf_lockkey mkkey(int k, unsigned char *buf)
{
	struct sf_lockkey key = SF_LOCKKEY_INIT(buf, 2);

	if (k < 0)
		key.inf = SF_LOCKKEY_NEG_INF;
	else if (k >= NKEYS)
		key.inf = SF_LOCKKEY_POS_INF;
	buf[0] = (unsigned char)(k >> 8);
	buf[1] = (unsigned char)k;
	return key;
}

static void model_grant(int t, uint64_t txn, int mode, int l, int r)
{
	pthread_mutex_lock(&model[t].m);
	for (int i = 0; i < model[t].n; i++) {
		struct mlock *x = &model[t].v[i];

		if (x->txn != txn && x->l <= r && l <= x->r &&
		    (x->mode == SF_LOCK_WRITE || mode == SF_LOCK_WRITE)) {
			if (__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED) < 5)
				diag("tree %d: txn %llu granted %c[%d,%d] while "
				     "txn %llu holds %c[%d,%d]", t,
				     (unsigned long long)txn,
				     mode == SF_LOCK_WRITE ? 'W' : 'R', l, r,
				     (unsigned long long)x->txn,
				     x->mode == SF_LOCK_WRITE ? 'W' : 'R',
				     x->l, x->r);
		}
	}
	if (model[t].n < MAXLOCKS)
		model[t].v[model[t].n++] = (struct mlock){ txn, mode, l, r };
	pthread_mutex_unlock(&model[t].m);
}

/* A model lock of @txn that sf_lock_release(l, r) releases for real. */
static void model_release_range(int t, uint64_t txn, int l, int r)
{
	pthread_mutex_lock(&model[t].m);
	for (int i = 0; i < model[t].n;) {
		struct mlock *x = &model[t].v[i];

		if (x->txn == txn && x->l >= l && x->r <= r)
			*x = model[t].v[--model[t].n];
		else
			i++;
	}
	pthread_mutex_unlock(&model[t].m);
}

/* One model entry equal to @m (a grant after a savepoint). */
static void model_release_one(int t, const struct mlock *m)
{
	pthread_mutex_lock(&model[t].m);
	for (int i = 0; i < model[t].n; i++) {
		struct mlock *x = &model[t].v[i];

		if (x->txn == m->txn && x->mode == m->mode && x->l == m->l &&
		    x->r == m->r) {
			*x = model[t].v[--model[t].n];
			break;
		}
	}
	pthread_mutex_unlock(&model[t].m);
}

static void model_release(int t, uint64_t txn)
{
	pthread_mutex_lock(&model[t].m);
	for (int i = 0; i < model[t].n;)
		if (model[t].v[i].txn == txn)
			model[t].v[i] = model[t].v[--model[t].n];
		else
			i++;
	pthread_mutex_unlock(&model[t].m);
}

/*
 * A transaction takes 1-4 ranges; after a grant it may give the range up
 * at once (sf_lock_release, 1 in 8), and it may take a savepoint in each
 * tree before its second lock and roll one tree back to it after its
 * last (1 in 4).  The model drops what the lock manager drops, or less
 * (a lock an escalation merged is kept whole), so it stays a subset of
 * the real locks.
 */
static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint32_t seed = 0x1234567u * (uint32_t)(id + 1);

	for (long it = 0; it < iters; it++) {
		uint64_t txn = ((uint64_t)id << 32) | (uint64_t)(it + 1);
		int nl = 1 + (int)(rnd(&seed) % 4), used[NTREES] = { 0 };
		int use_sp = rnd(&seed) % 4 == 0, nafter[NTREES] = { 0 };
		int sp_taken = 0;
		struct sf_lock_savepoint sp[NTREES];
		struct mlock after[NTREES][4];

		for (int j = 0; j < nl; j++) {
			if (j == 1 && use_sp) {
				for (int t = 0; t < NTREES; t++)
					sf_lock_savepoint(trees[t], txn, &sp[t]);
				sp_taken = 1;
			}
			int t = (int)(rnd(&seed) % NTREES);
			int mode = rnd(&seed) % 3 ? SF_LOCK_READ : SF_LOCK_WRITE;
			int l = (int)(rnd(&seed) % (NKEYS + 2)) - 1;
			int r = l + (int)(rnd(&seed) % 3 ? 0 : rnd(&seed) % 6);
			unsigned char lb[2], rb[2];
			struct sf_lockkey kl, kr;
			struct timespec dl = deadline_ms(CLOCK_MONOTONIC, 10000);
			int e;

			if (r > NKEYS)
				r = NKEYS;
			kl = mkkey(l, lb);
			kr = mkkey(r, rb);
			__atomic_store_n(&waiting_client[id], txn, __ATOMIC_RELAXED);
			e = sf_lock_acquire(trees[t], txn, SF_LOCK_CLIENT_TXNID,
					    mode, &kl, &kr, CLOCK_MONOTONIC, &dl);
			__atomic_store_n(&waiting_client[id], 0, __ATOMIC_RELAXED);
			used[t] = 1;
			if (e == 0) {
				__atomic_fetch_add(&grants, 1, __ATOMIC_RELAXED);
				model_grant(t, txn, mode, l, r);
				if (rnd(&seed) % 8 == 0)
					sched_yield();
				if (rnd(&seed) % 8 == 0) {
					model_release_range(t, txn, l, r);
					e = sf_lock_release(trees[t], txn, &kl, &kr);
					if (e && e != ENOENT)
						__atomic_fetch_add(&other, 1,
								   __ATOMIC_RELAXED);
					__atomic_fetch_add(&partial, 1,
							   __ATOMIC_RELAXED);
				} else if (use_sp && j >= 1) {
					after[t][nafter[t]++] = (struct mlock){
						txn, mode, l, r };
				}
				continue;
			}
			if (e == ETIMEDOUT)
				__atomic_fetch_add(&timeouts, 1, __ATOMIC_RELAXED);
			else if (e == EDEADLK)
				__atomic_fetch_add(&deadlocks, 1, __ATOMIC_RELAXED);
			else if (e == ECANCELED)
				__atomic_fetch_add(&kills, 1, __ATOMIC_RELAXED);
			else if (e == ENOLCK)
				__atomic_fetch_add(&nolocks, 1, __ATOMIC_RELAXED);
			else
				__atomic_fetch_add(&other, 1, __ATOMIC_RELAXED);
			break;	/* abort the transaction */
		}
		if (sp_taken) {
			int t = (int)(rnd(&seed) % NTREES);

			for (int i = 0; i < nafter[t]; i++)
				model_release_one(t, &after[t][i]);
			if (sf_lock_rollback_to(trees[t], txn, &sp[t]))
				__atomic_fetch_add(&other, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&rollbacks, 1, __ATOMIC_RELAXED);
		}
		for (int t = 0; t < NTREES; t++) {
			if (!used[t])
				continue;
			model_release(t, txn);
			sf_lock_release_all(trees[t], txn);
		}
		progress();
	}
	return NULL;
}

/* Blocker reports (B1): never empty, never the requester itself. */
static unsigned long reports, bad_reports;

static void blocker_cb(void *arg, struct sf_locktree *tree, uint64_t req,
		       uint64_t client, const uint64_t *b, uint32_t n)
{
	(void)arg;
	(void)client;
	__atomic_fetch_add(&reports, 1, __ATOMIC_RELAXED);
	if (!n || (tree != trees[0] && tree != trees[1]))
		__atomic_fetch_add(&bad_reports, 1, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < n; i++)
		if (b[i] == req || !(b[i] >> 32 < NTHREADS))
			__atomic_fetch_add(&bad_reports, 1, __ATOMIC_RELAXED);
}

/* (D1) Every other deadlock fails the next transaction of the cycle. */
static uint64_t victim_fn(void *arg, const struct sf_lock_deadlock *d)
{
	(void)arg;
	return d->cycle[d->seq % 2 && d->n > 1 ? 1 : 0].txnid;
}

static int count_dl(const struct sf_lock_deadlock *d, void *arg)
{
	++*(unsigned long *)arg;
	return d->n < 2;	/* a cycle has two requests at least */
}

static void *killer(void *arg)
{
	uint32_t seed = 99;

	(void)arg;
	while (!__atomic_load_n(&stop_killer, __ATOMIC_RELAXED)) {
		uint64_t c = __atomic_load_n(&waiting_client[rnd(&seed) % NTHREADS],
					     __ATOMIC_RELAXED);

		if (c)
			sf_lockmgr_kill(mgr, c);	/* 0 or ESRCH */
		sleep_ms(2);
	}
	return NULL;
}

/*
 * One run: @limit bytes of lock memory (0: the default, never reached;
 * small: escalation and ENOLCK happen, which abort transactions too).
 */
static void run_phase(const char *name, size_t limit, long n)
{
	struct sf_lockmgr_config cfg = { .max_lock_memory = limit };
	pthread_t t[NTHREADS], k;
	struct sf_lockmgr_stats st;
	double t0 = now_mono();

	phase(name);
	iters = n;
	violations = timeouts = deadlocks = kills = grants = other = 0;
	nolocks = partial = rollbacks = 0;
	stop_killer = 0;
	if (sf_lockmgr_create(&mgr, &cfg)) {
		ok(0, "%s: create", name);
		return;
	}
	for (int i = 0; i < NTREES; i++)
		sf_locktree_create(mgr, &trees[i], NULL, NULL);
	reports = bad_reports = 0;
	sf_lockmgr_set_blocker_callback(mgr, blocker_cb, NULL);
	sf_lockmgr_set_victim_policy(mgr, victim_fn, NULL);
	pthread_create(&k, NULL, killer, NULL);
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	__atomic_store_n(&stop_killer, 1, __ATOMIC_RELAXED);
	pthread_join(k, NULL);
	sf_lockmgr_stats(mgr, &st);
	diag("%s: %d threads x %ld transactions in %.2f s: %lu grants, %llu "
	     "waits, %lu deadlocks, %lu kills, %lu out of locks, %llu "
	     "escalations, %llu retry passes serving %llu (max %llu) for %llu "
	     "asks; %lu single releases, %lu rollbacks, %llu woken, %llu "
	     "lost", name, NTHREADS, iters, now_mono() - t0, grants,
	     (unsigned long long)st.waits, deadlocks, kills, nolocks,
	     (unsigned long long)st.escalations,
	     (unsigned long long)st.retry_passes,
	     (unsigned long long)st.retry_served,
	     (unsigned long long)st.retry_served_max,
	     (unsigned long long)st.retry_asks, partial, rollbacks,
	     (unsigned long long)st.retry_woken,
	     (unsigned long long)st.retry_lost);
	ok(violations == 0, "%s: every grant compatible with the model (%lu "
	   "violations)", name, violations);
	ok(timeouts == 0 && st.timeouts == 0, "%s: no request timed out (%lu)",
	   name, timeouts);
	ok(other == 0, "%s: no other error (%lu)", name, other);
	ok(reports > 0 && bad_reports == 0, "%s: %lu blocker reports, none "
	   "empty or naming its requester (%lu bad)", name, reports,
	   bad_reports);
	{
		unsigned long ring = 0;

		ok(!sf_lockmgr_deadlocks(mgr, count_dl, &ring) &&
		   ring == (st.deadlocks < SF_LOCKMGR_DEADLOCK_RING ?
			    st.deadlocks : SF_LOCKMGR_DEADLOCK_RING),
		   "%s: the deadlock ring holds the last %lu, each a cycle "
		   "(half of them failing another transaction than the "
		   "requester)", name, ring);
	}
	ok(st.deadlocks == deadlocks && st.kills >= kills &&
	   st.out_of_locks == nolocks,
	   "%s: statistics agree: %llu deadlocks, %llu kills, %llu out of "
	   "locks", name, (unsigned long long)st.deadlocks,
	   (unsigned long long)st.kills, (unsigned long long)st.out_of_locks);
	ok(st.waits > 0 && st.retry_passes > 0, "%s: there was contention "
	   "(%llu waits)", name, (unsigned long long)st.waits);
	if (limit)
		ok(st.escalations > 0 && st.escalated_locks > 0,
		   "%s: escalation ran (%llu runs merged %llu locks)", name,
		   (unsigned long long)st.escalations,
		   (unsigned long long)st.escalated_locks);
	ok(st.locks == 0 && st.pending == 0 && st.lock_memory == 0,
	   "%s: nothing held or waiting at the end", name);
	for (int i = 0; i < NTREES; i++)
		sf_locktree_destroy(trees[i]);
	ok_err(sf_lockmgr_destroy(mgr), 0, "%s: manager destroyed", name);
}

int main(void)
{
	watchdog_start(10);
	run_phase("default limit", 0, scaled(40000));
	run_phase("1.5 KiB limit", 1536, scaled(20000));
	return done_testing();
}
