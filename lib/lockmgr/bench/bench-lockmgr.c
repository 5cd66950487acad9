// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-lockmgr.c - the range-lock manager under the seed's workload, and
 * (bench-lockmgr-peer, built where g++ and librocksdb-dev are installed)
 * PerconaFT's locktree on the same workloads, side by side.
 *
 *   bench-lockmgr [-s SECS] [-r RUNS] [hot|hot-brief|hot-contention|spread|
 *                 point]...         (default: hot, spread, point; each row
 *                                    the best of RUNS runs (3) of SECS (1))
 *
 * hot     the TokuDB seed's case (MariaDB optimistic parallel replication):
 *         2, 3, 4 and 8 threads running transactions that each write 2 of
 *         1, 2, 3 or 4 hot keys (the same key twice is one lock), lock
 *         timeout 4 s (TokuDB's default); a deadlock aborts the
 *         transaction, which counts nothing.
 * hot-brief  4 hot keys at 3 and 8 threads only (run-lockmgr.sh uses it
 *         for the builds with the seed's races put back, where each lost
 *         retry costs the 4 s timeout).
 * hot-contention  2 and 3 hot keys at 2 and 4 threads (run-lockmgr.sh
 *         uses it for the hand-off to sleeping waiters put back).
 * spread  low conflict: 4 threads, transactions of 4 locks (3 reads,
 *         1 write) over 100,000 keys.
 * point   an uncontended point write lock + release of all, ns per pair,
 *         alone and with 1,000 other locks in the tree, against glibc's
 *         pthread_mutex_lock + unlock measured in the same run (a second
 *         thread alive, as glibc skips atomics in single-threaded
 *         processes).  Best of 7 rounds, each measuring both in turn.
 *
 * Every workload row prints transactions/s, waits per transaction (a
 * request that had to enter the pending set), retry passes per release
 * (of a transaction holding locks) and per wait, deadlock aborts and
 * timeouts, and for syncfix the waiters woken to take their lock and those
 * that lost it to a running thread (R6 in lockmgr.c).  The summary checks
 * the targets of issue 19: among 1,000 held locks a point lock + release
 * at most 3x alone; at 4 threads on 2 or 3 hot keys at most 0.05 waits
 * per transaction; on 1-3 hot keys, 4 threads not below 2; no timeout.
 */
#include "bench.h"

#include <errno.h>
#include <sys/resource.h>

#include <syncfix.h>

#ifdef SF_BENCH_PEER
#include "perconaft-shim.h"
#endif

#define LOCK_TIMEOUT_MS	4000
#define MAXTHREADS	16

static double run_secs = 1.0;
static int run_reps = 3;
static volatile int stop;

/* ---- back ends -------------------------------------------------------------- */

struct counters {
	long waits, passes, releases, timeouts, woken, lost;	/* -1: n/a */
};

struct backend {
	const char *name;
	int (*setup)(void);
	void (*teardown)(void);
	void *(*thread_new)(void);
	void (*thread_free)(void *t);
	void (*begin)(void *t, uint64_t txn);
	/* 0, EDEADLK, ETIMEDOUT, else another error */
	int (*lock)(void *t, uint64_t txn, const unsigned char *k, int write);
	void (*release_all)(void *t, uint64_t txn);
	void (*counters)(struct counters *c);
};

static struct sf_lockmgr *mgr;
static struct sf_locktree *lt;

static int sf_setup(void)
{
	return sf_lockmgr_create(&mgr, NULL) ||
	       sf_locktree_create(mgr, &lt, NULL, NULL);
}

static void sf_teardown(void)
{
	sf_locktree_destroy(lt);
	sf_lockmgr_destroy(mgr);
}

static void *sf_thread_new(void)
{
	return NULL;
}

static void sf_thread_free(void *t)
{
	(void)t;
}

static void sf_begin(void *t, uint64_t txn)
{
	(void)t;
	(void)txn;
}

static int sf_lock(void *t, uint64_t txn, const unsigned char *k, int write)
{
	struct sf_lockkey key = SF_LOCKKEY_INIT(k, 4);
	struct timespec dl;

	(void)t;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += LOCK_TIMEOUT_MS / 1000;
	return sf_lock_acquire(lt, txn, SF_LOCK_CLIENT_TXNID,
			       write ? SF_LOCK_WRITE : SF_LOCK_READ, &key, NULL,
			       CLOCK_MONOTONIC, &dl);
}

static void sf_release_all(void *t, uint64_t txn)
{
	(void)t;
	sf_lock_release_all(lt, txn);
}

static void sf_counters(struct counters *c)
{
	struct sf_lockmgr_stats st;

	sf_lockmgr_stats(mgr, &st);
	c->waits = (long)st.waits;
	c->passes = (long)st.retry_passes;
	c->releases = (long)st.releases;
	c->timeouts = (long)st.timeouts;
	c->woken = (long)st.retry_woken;
	c->lost = (long)st.retry_lost;
}

static const struct backend be_syncfix = {
	"syncfix", sf_setup, sf_teardown, sf_thread_new, sf_thread_free,
	sf_begin, sf_lock, sf_release_all, sf_counters,
};

#ifdef SF_BENCH_PEER
static struct pft *pft;
static long pft_timeouts;

static int pft_setup(void)
{
	char err[256];

	pft = pft_open(LOCK_TIMEOUT_MS, err, sizeof(err));
	if (!pft)
		fprintf(stderr, "bench-lockmgr: PerconaFT peer: %s\n", err);
	pft_timeouts = 0;
	return !pft;
}

static void pft_teardown(void)
{
	long left = pft_close(pft);

	if (left)
		printf("# PerconaFT: %ld bytes of lock memory still counted "
		       "after every transaction rolled back; its database is "
		       "left open (closing it aborts on an assertion)\n", left);
}

static void *pft_thread_new(void)
{
	return pft_txn_new(pft);
}

static void pft_thread_free(void *t)
{
	pft_txn_free(t);
}

static void pft_begin_(void *t, uint64_t txn)
{
	(void)txn;
	pft_begin(t);
}

static int pft_lock_(void *t, uint64_t txn, const unsigned char *k, int write)
{
	int e = pft_lock(t, k, 4, write);

	(void)txn;
	if (e == ETIMEDOUT)
		__atomic_fetch_add(&pft_timeouts, 1, __ATOMIC_RELAXED);
	return e;
}

static void pft_release_all_(void *t, uint64_t txn)
{
	(void)txn;
	pft_release_all(t);
}

static void pft_counters_(struct counters *c)
{
	struct pft_counters pc;

	pft_counters(pft, &pc);
	c->waits = pc.waits;
	c->passes = pc.passes;
	c->releases = pc.releases;
	c->timeouts = pft_timeouts;
	c->woken = c->lost = -1;
}

static const struct backend be_perconaft = {
	"PerconaFT", pft_setup, pft_teardown, pft_thread_new, pft_thread_free,
	pft_begin_, pft_lock_, pft_release_all_, pft_counters_,
};
#endif

static const struct backend *const backends[] = {
	&be_syncfix,
#ifdef SF_BENCH_PEER
	&be_perconaft,
#endif
};
#define NBACKENDS	(sizeof(backends) / sizeof(backends[0]))

/* ---- transactions ------------------------------------------------------------ */

struct worker {
	pthread_t t;
	const struct backend *be;
	int id, nkeys, nlocks, writes;
	unsigned long txns, deadlocks, timeouts, other;
	long sleeps;	/* voluntary context switches: futex sleeps */
};

static void key_of(unsigned k, unsigned char *buf)
{
	buf[0] = (unsigned char)(k >> 24);
	buf[1] = (unsigned char)(k >> 16);
	buf[2] = (unsigned char)(k >> 8);
	buf[3] = (unsigned char)k;
}

static void *worker_main(void *p)
{
	struct worker *w = p;
	uint32_t seed = 0x9e3779b9u * (uint32_t)(w->id + 1);
	uint64_t txn = (uint64_t)w->id << 40;
	void *t = w->be->thread_new();
	struct rusage ru0, ru1;

	getrusage(RUSAGE_THREAD, &ru0);
	while (!stop) {
		int e = 0, i;

		txn++;
		w->be->begin(t, txn);
		for (i = 0; i < w->nlocks && !e; i++) {
			unsigned char buf[4];

			key_of(bench_rnd(&seed) % (uint32_t)w->nkeys, buf);
			e = w->be->lock(t, txn, buf, i < w->writes);
		}
		/* the transaction's work */
		for (i = 0; i < 50; i++)
			bench_relax();
		w->be->release_all(t, txn);
		if (!e)
			w->txns++;
		else if (e == EDEADLK)
			w->deadlocks++;
		else if (e == ETIMEDOUT)
			w->timeouts++;
		else
			w->other++;
	}
	getrusage(RUSAGE_THREAD, &ru1);
	w->sleeps = ru1.ru_nvcsw - ru0.ru_nvcsw;
	w->be->thread_free(t);
	return NULL;
}

struct result {
	double txn_s, waits_txn;
	long timeouts;
};

static double per(long a, double b)
{
	return b > 0 ? (double)a / b : 0.0;
}

/* One run of @n workers of @be for run_secs: the row in @row. */
static struct result run1(const struct backend *be, const char *what, int n,
			  int nkeys, int nlocks, int writes, char *row,
			  size_t len)
{
	struct worker w[MAXTHREADS];
	struct counters c;
	unsigned long txns = 0, dl = 0, to = 0, other = 0, all;
	long sleeps = 0;
	struct result res = { 0, 0, 0 };
	double t0, dt;
	int i, k;

	if (be->setup())
		return res;
	stop = 0;
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].be = be;
		w[i].id = i + 1;
		w[i].nkeys = nkeys;
		w[i].nlocks = nlocks;
		w[i].writes = writes;
		pthread_create(&w[i].t, NULL, worker_main, &w[i]);
	}
	while (bench_now() - t0 < run_secs)
		usleep(20000);
	stop = 1;
	for (i = 0; i < n; i++) {
		pthread_join(w[i].t, NULL);
		txns += w[i].txns;
		dl += w[i].deadlocks;
		to += w[i].timeouts;
		other += w[i].other;
		sleeps += w[i].sleeps;
	}
	dt = bench_now() - t0;
	be->counters(&c);
	be->teardown();
	all = txns + dl + to + other;
	res.txn_s = txns / dt;
	res.waits_txn = per(c.waits, (double)all);
	res.timeouts = (long)to;
	k = snprintf(row, len, "%-7s %-9s %d thr %9.0f txn/s  waits/txn %6.3f  "
		     "passes/release %6.3f  passes/wait %5.2f  sleeps/txn %6.3f"
		     "  deadlocks %6lu  timeouts %lu", what, be->name, n,
		     res.txn_s, res.waits_txn, per(c.passes, (double)c.releases),
		     per(c.passes, (double)c.waits), per(sleeps, (double)all),
		     dl, to);
	if (c.woken >= 0 && k > 0 && (size_t)k < len)
		k += snprintf(row + k, len - (size_t)k, "  woken %ld lost %ld",
			      c.woken, c.lost);
	if (other && k > 0 && (size_t)k < len)
		snprintf(row + k, len - (size_t)k, "  other errors %lu", other);
	return res;
}

/*
 * The best of run_reps runs (by transactions/s; bench.h: the machine is
 * shared and noisy), printed with the spread of the others; timeouts are
 * summed over all runs.
 */
static struct result run(const struct backend *be, const char *what, int n,
			 int nkeys, int nlocks, int writes)
{
	char row[400], best_row[400] = "";
	struct result r, best = { 0, 0, 0 };
	double lo = 0;
	long timeouts = 0;

	for (int i = 0; i < run_reps; i++) {
		r = run1(be, what, n, nkeys, nlocks, writes, row, sizeof(row));
		timeouts += r.timeouts;
		if (!i || r.txn_s < lo)
			lo = r.txn_s;
		if (!i || r.txn_s > best.txn_s) {
			best = r;
			memcpy(best_row, row, sizeof(row));
		}
	}
	best.timeouts = timeouts;
	if (run_reps > 1)
		printf("%s  (worst of %d %.0f txn/s)\n", best_row, run_reps, lo);
	else
		printf("%s\n", best_row);
	fflush(stdout);
	return best;
}

/* ---- point -------------------------------------------------------------------- */

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

static double ns_point(const struct backend *be, void *t, long n)
{
	unsigned char buf[4];
	double t0;

	key_of(12345, buf);
	t0 = bench_now();
	for (long i = 0; i < n; i++) {
		be->begin(t, 7);
		be->lock(t, 7, buf, 1);
		be->release_all(t, 7);
	}
	return (bench_now() - t0) * 1e9 / (double)n;
}

static double best(double a, double b)
{
	return a < b ? a : b;
}

/* Return: the ratio with 1,000 other locks to alone. */
static double point(const struct backend *be)
{
	double g = 1e9, p = 1e9, p1000 = 1e9;
	long n = be == &be_syncfix ? 300000 : 30000;
	unsigned char buf[4];
	void *t, *t8;
	pthread_t it;

	if (pipe(idle_pipe))
		return 0;
	pthread_create(&it, NULL, idle_thread, NULL);
	if (be->setup())
		return 0;
	t = be->thread_new();
	t8 = be->thread_new();
	/*
	 * Alone and among 1000 other locks (txn 8) in turn, each round, so
	 * that a burst of other load on the machine hits both alike.
	 */
	for (int r = 0; r < 7; r++) {
		g = best(g, ns_glibc(1000000));
		p = best(p, ns_point(be, t, n));
		be->begin(t8, 8);
		for (unsigned i = 0; i < 1000; i++) {
			key_of(i * 7, buf);
			be->lock(t8, 8, buf, 0);
		}
		p1000 = best(p1000, ns_point(be, t, n));
		be->release_all(t8, 8);
	}
	be->thread_free(t8);
	be->thread_free(t);
	be->teardown();
	if (write(idle_pipe[1], "x", 1) != 1)
		pthread_cancel(it);
	pthread_join(it, NULL);
	close(idle_pipe[0]);
	close(idle_pipe[1]);
	printf("point   %-9s glibc mutex lock+unlock %6.1f ns; point lock+release "
	       "%7.1f ns (%.1fx), with 1000 other locks in the tree %7.1f ns "
	       "(%.1fx; %.2fx alone)\n", be->name, g, p, p / g, p1000, p1000 / g,
	       p1000 / p);
	fflush(stdout);
	return p1000 / p;
}

/* ---- main ---------------------------------------------------------------------- */

static const int hot_n[] = { 2, 3, 4, 8 };
#define NHOT	(sizeof(hot_n) / sizeof(hot_n[0]))

static void verdict(int ok, const char *what)
{
	printf("target  %-6s %s\n", ok ? "met" : "MISSED", what);
}

int main(int argc, char **argv)
{
	struct result hot[NBACKENDS][5][NHOT];
	double ratio = 0;
	char line[160];
	int all = 1, did_hot = 0, i;
	long timeouts = 0;

	memset(hot, 0, sizeof(hot));
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			run_secs = atof(argv[++i]);
			continue;
		}
		if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			run_reps = atoi(argv[++i]);
			if (run_reps < 1)
				run_reps = 1;
			continue;
		}
		all = 0;
	}
	for (i = 1; i < argc || all; i++) {
		const char *c = all ? NULL : argv[i];

		if (c && (!strcmp(c, "-s") || !strcmp(c, "-r"))) {
			i++;
			continue;
		}
		if (!c || !strcmp(c, "hot") || !strcmp(c, "hot-brief") ||
		    !strcmp(c, "hot-contention")) {
			/* hot-brief: 4 keys at 3, 8 threads; hot-contention:
			 * 2 and 3 keys at 2 and 4 threads */
			int brief = c && !strcmp(c, "hot-brief");
			int cont = c && !strcmp(c, "hot-contention");
			int kmin = brief ? 4 : cont ? 2 : 1;
			int kmax = cont ? 3 : 4;

			printf("== hot: 2 write locks of %d-%d hot keys per "
			       "transaction, %d ms lock timeout, best of %d "
			       "runs of %.1f s (%ld CPUs)\n", kmin, kmax,
			       LOCK_TIMEOUT_MS, run_reps, run_secs,
			       sysconf(_SC_NPROCESSORS_ONLN));
			for (int k = kmin; k <= kmax; k++)
				for (size_t j = 0; j < NHOT; j++) {
					char what[16];

					if ((brief && hot_n[j] != 3 && hot_n[j] != 8) ||
					    (cont && hot_n[j] != 2 && hot_n[j] != 4))
						continue;
					snprintf(what, sizeof(what), "hot%d", k);
					for (size_t b = 0; b < NBACKENDS; b++) {
						hot[b][k][j] = run(backends[b], what,
								   hot_n[j], k, 2, 2);
						if (b == 0)
							timeouts += hot[b][k][j].timeouts;
					}
				}
			did_hot = !brief;
		}
		if (!c || !strcmp(c, "spread")) {
			printf("== spread: 4 locks (1 write) of 100000 keys per "
			       "transaction, %.1f s\n", run_secs);
			for (size_t b = 0; b < NBACKENDS; b++) {
				struct result r = run(backends[b], "spread", 4,
						      100000, 4, 1);

				if (b == 0)
					timeouts += r.timeouts;
			}
		}
		if (!c || !strcmp(c, "point")) {
			printf("== point: uncontended, best of 7\n");
			for (size_t b = 0; b < NBACKENDS; b++) {
				double x = point(backends[b]);

				if (b == 0)
					ratio = x;
			}
		}
		if (all)
			break;
	}
	if (did_hot || ratio > 0)
		printf("== targets (issue 19), syncfix\n");
	if (ratio > 0) {
		snprintf(line, sizeof(line), "point lock+release among 1000 "
			 "held locks: %.2fx alone (at most 3x)", ratio);
		verdict(ratio <= 3.0, line);
	}
	/* hot[backend][keys][thread count index]: index 0 is 2, 2 is 4 */
	for (int k = 2; did_hot && k <= 3; k++) {
		if (!hot[0][k][2].txn_s)
			continue;
		snprintf(line, sizeof(line), "4 threads on %d hot keys: %.3f "
			 "waits per transaction (at most 0.05)", k,
			 hot[0][k][2].waits_txn);
		verdict(hot[0][k][2].waits_txn <= 0.05, line);
	}
	for (int k = 1; did_hot && k <= 3; k++) {
		if (!hot[0][k][2].txn_s || !hot[0][k][0].txn_s)
			continue;
		snprintf(line, sizeof(line), "%d hot key%s: 4 threads %.0f txn/s, "
			 "2 threads %.0f (not below)", k, k > 1 ? "s" : "",
			 hot[0][k][2].txn_s, hot[0][k][0].txn_s);
		verdict(hot[0][k][2].txn_s >= hot[0][k][0].txn_s, line);
	}
	if (did_hot || timeouts) {
		snprintf(line, sizeof(line), "no lock timeout: %ld", timeouts);
		verdict(timeouts == 0, line);
	}
	return 0;
}
