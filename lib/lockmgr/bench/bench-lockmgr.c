// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-lockmgr.c - the range-lock manager under the seed's workload.
 *
 *   bench-lockmgr [hot|hot-brief|spread|point]...   (default: all but
 *                                                    hot-brief)
 *
 * hot     the TokuDB seed's case (MariaDB optimistic parallel replication):
 *         2, 3, 4 and 8 transactions at once, each writing 2 of 4 hot
 *         keys, lock timeout 4 s (TokuDB's default).  Transactions per
 *         second, deadlock aborts (retried), timeouts (target: 0; one lost
 *         retry would cost a whole 4 s timeout).
 * hot-brief  the same at 3 and 8 transactions only (run-lockmgr.sh uses
 *         it for the builds with the seed's races put back, where each
 *         lost retry costs the 4 s timeout).
 * spread  low conflict: 4 threads, transactions of 4 locks (3 reads,
 *         1 write) over 100,000 keys.  Transactions per second.
 * point   an uncontended point write lock + sf_lock_release_all, ns per
 *         pair, against glibc's pthread_mutex_lock + unlock measured in
 *         the same run (a second thread alive, as glibc skips atomics in
 *         single-threaded processes).  Best of 5.
 */
#include "bench.h"

#include <errno.h>

#include <syncfix.h>

#define HOT_KEYS	4
#define LOCK_TIMEOUT_MS	4000

static struct sf_lockmgr *mgr;
static struct sf_locktree *lt;
static volatile int stop;

struct worker {
	pthread_t t;
	int id, nkeys, nlocks, writes;
	unsigned long txns, deadlocks, timeouts, other;
};

static void key_of(unsigned k, unsigned char *buf, struct sf_lockkey *key)
{
	buf[0] = (unsigned char)(k >> 24);
	buf[1] = (unsigned char)(k >> 16);
	buf[2] = (unsigned char)(k >> 8);
	buf[3] = (unsigned char)k;
	*key = (struct sf_lockkey)SF_LOCKKEY_INIT(buf, 4);
}

static void *worker_main(void *p)
{
	struct worker *w = p;
	uint32_t seed = 0x9e3779b9u * (uint32_t)(w->id + 1);
	uint64_t txn = (uint64_t)w->id << 40;

	while (!stop) {
		int e = 0, i;

		txn++;
		for (i = 0; i < w->nlocks && !e; i++) {
			unsigned char buf[4];
			struct sf_lockkey k;
			struct timespec dl;

			key_of(bench_rnd(&seed) % (uint32_t)w->nkeys, buf, &k);
			clock_gettime(CLOCK_MONOTONIC, &dl);
			dl.tv_sec += LOCK_TIMEOUT_MS / 1000;
			e = sf_lock_acquire(lt, txn, SF_LOCK_CLIENT_TXNID,
					    i < w->writes ? SF_LOCK_WRITE :
					    SF_LOCK_READ, &k, NULL,
					    CLOCK_MONOTONIC, &dl);
		}
		/* the transaction's work */
		for (i = 0; i < 50; i++)
			bench_relax();
		sf_lock_release_all(lt, txn);
		if (!e)
			w->txns++;
		else if (e == EDEADLK)
			w->deadlocks++;
		else if (e == ETIMEDOUT)
			w->timeouts++;
		else
			w->other++;
	}
	return NULL;
}

static void setup(void)
{
	if (sf_lockmgr_create(&mgr, NULL) ||
	    sf_locktree_create(mgr, &lt, NULL, NULL)) {
		fprintf(stderr, "bench-lockmgr: cannot create a lock manager\n");
		exit(1);
	}
}

static void teardown(void)
{
	sf_locktree_destroy(lt);
	sf_lockmgr_destroy(mgr);
}

/* Run @n workers for @secs; print one line. */
static void run(const char *what, int n, int nkeys, int nlocks, int writes,
		double secs)
{
	struct worker w[16];
	struct sf_lockmgr_stats st;
	unsigned long txns = 0, dl = 0, to = 0, other = 0;
	double t0, dt;
	int i;

	setup();
	stop = 0;
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i + 1;
		w[i].nkeys = nkeys;
		w[i].nlocks = nlocks;
		w[i].writes = writes;
		pthread_create(&w[i].t, NULL, worker_main, &w[i]);
	}
	while (bench_now() - t0 < secs)
		usleep(20000);
	stop = 1;
	for (i = 0; i < n; i++) {
		pthread_join(w[i].t, NULL);
		txns += w[i].txns;
		dl += w[i].deadlocks;
		to += w[i].timeouts;
		other += w[i].other;
	}
	dt = bench_now() - t0;
	sf_lockmgr_stats(mgr, &st);
	printf("%-8s %2d txns %12.0f txn/s %8lu deadlocks %3lu timeouts "
	       "%3lu other  waits %9llu mean wait %8.1f us  passes %9llu "
	       "(max served %llu)\n", what, n, txns / dt, dl, to, other,
	       (unsigned long long)st.waits,
	       st.waits ? st.wait_ns / 1e3 / (double)st.waits : 0.0,
	       (unsigned long long)st.retry_passes,
	       (unsigned long long)st.retry_served_max);
	teardown();
}

/* ---- point ---------------------------------------------------------------- */

/* A second thread, alive and blocked in read() until main writes a byte. */
static int idle_pipe[2];

static void *idle_thread(void *p)
{
	char c;

	(void)p;
	while (read(idle_pipe[0], &c, 1) < 0)
		;
	return NULL;
}

static double ns_glibc(long n)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	double t0 = bench_now();

	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
	}
	return (bench_now() - t0) * 1e9 / (double)n;
}

static double ns_point(long n)
{
	unsigned char buf[4];
	struct sf_lockkey k;
	double t0;

	key_of(12345, buf, &k);
	t0 = bench_now();
	for (long i = 0; i < n; i++) {
		sf_lock_acquire(lt, 7, SF_LOCK_CLIENT_TXNID, SF_LOCK_WRITE, &k,
				NULL, CLOCK_MONOTONIC, NULL);
		sf_lock_release_all(lt, 7);
	}
	return (bench_now() - t0) * 1e9 / (double)n;
}

static void point(void)
{
	pthread_t t;
	double g = 1e9, p = 1e9, p1000 = 1e9, x;
	unsigned char buf[4];
	struct sf_lockkey k;

	if (pipe(idle_pipe))
		return;
	pthread_create(&t, NULL, idle_thread, NULL);
	setup();
	for (int r = 0; r < 5; r++) {
		x = ns_glibc(2000000);
		g = x < g ? x : g;
		x = ns_point(500000);
		p = x < p ? x : p;
	}
	/* The same with 1000 other locks in the tree (txn 8). */
	for (unsigned i = 0; i < 1000; i++) {
		key_of(i * 7, buf, &k);
		sf_lock_acquire(lt, 8, SF_LOCK_CLIENT_TXNID, SF_LOCK_READ, &k,
				NULL, CLOCK_MONOTONIC, NULL);
	}
	for (int r = 0; r < 5; r++) {
		x = ns_point(300000);
		p1000 = x < p1000 ? x : p1000;
	}
	sf_lock_release_all(lt, 8);
	teardown();
	if (write(idle_pipe[1], "x", 1) != 1)
		pthread_cancel(t);
	pthread_join(t, NULL);
	close(idle_pipe[0]);
	close(idle_pipe[1]);
	printf("point    glibc mutex lock+unlock %6.1f ns; point lock+release "
	       "%6.1f ns (%.1fx), with 1000 other locks in the tree %6.1f ns "
	       "(%.1fx)\n", g, p, p / g, p1000, p1000 / g);
}

int main(int argc, char **argv)
{
	static const int hot_n[] = { 2, 3, 4, 8 };
	int all = argc < 2;

	for (int i = all ? 0 : 1; i < (all ? 1 : argc); i++) {
		const char *c = all ? NULL : argv[i];

		if (!c || !strcmp(c, "hot") || !strcmp(c, "hot-brief")) {
			int brief = c && !strcmp(c, "hot-brief");

			printf("== hot: 2 write locks of %d hot keys per "
			       "transaction, %d ms lock timeout, 2 s per run "
			       "(longer when a waiter times out)\n", HOT_KEYS,
			       LOCK_TIMEOUT_MS);
			for (size_t j = 0; j < sizeof(hot_n) / sizeof(hot_n[0]); j++)
				if (!brief || hot_n[j] == 3 || hot_n[j] == 8)
					run("hot", hot_n[j], HOT_KEYS, 2, 2, 2.0);
		}
		if (!c || !strcmp(c, "spread")) {
			printf("== spread: 4 locks (1 write) of 100000 keys per "
			       "transaction, 2 s\n");
			run("spread", 4, 100000, 4, 1, 2.0);
		}
		if (!c || !strcmp(c, "point")) {
			printf("== point: uncontended, best of 5\n");
			point();
		}
		fflush(stdout);
	}
	return 0;
}
