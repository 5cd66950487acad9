// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: lock manager stress: threads run transactions of random ranges and modes in two trees, every grant is checked against a reference model for conflicts, a killer thread cancels random waiters, a watchdog catches stalls, and no request may time out; a second run under a tiny memory limit adds escalation and ENOLCK */
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
static unsigned long nolocks;
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

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint32_t seed = 0x1234567u * (uint32_t)(id + 1);

	for (long it = 0; it < iters; it++) {
		uint64_t txn = ((uint64_t)id << 32) | (uint64_t)(it + 1);
		int nl = 1 + (int)(rnd(&seed) % 4), used[NTREES] = { 0 };

		for (int j = 0; j < nl; j++) {
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
	nolocks = 0;
	stop_killer = 0;
	if (sf_lockmgr_create(&mgr, &cfg)) {
		ok(0, "%s: create", name);
		return;
	}
	for (int i = 0; i < NTREES; i++)
		sf_locktree_create(mgr, &trees[i], NULL, NULL);
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
	     "asks", name, NTHREADS, iters, now_mono() - t0, grants,
	     (unsigned long long)st.waits, deadlocks, kills, nolocks,
	     (unsigned long long)st.escalations,
	     (unsigned long long)st.retry_passes,
	     (unsigned long long)st.retry_served,
	     (unsigned long long)st.retry_served_max,
	     (unsigned long long)st.retry_asks);
	ok(violations == 0, "%s: every grant compatible with the model (%lu "
	   "violations)", name, violations);
	ok(timeouts == 0 && st.timeouts == 0, "%s: no request timed out (%lu)",
	   name, timeouts);
	ok(other == 0, "%s: no other error (%lu)", name, other);
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
