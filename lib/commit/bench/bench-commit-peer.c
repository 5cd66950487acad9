// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-commit-peer.c - the commit log against RocksDB's synchronous
 * writes on the same disk, on an idle machine and with every CPU busy.
 *
 * Usage: bench-commit-peer DIR [SECONDS]
 *	SECONDS per measurement (default 1); SYNCFIX_BENCH_N=n: only n
 *	committers; SYNCFIX_BENCH_LOAD=idle or hog: only that load.
 *
 * One commit of each peer, from N threads (N = 1, 4, 16, 64), in DIR:
 *   baseline   pwrite of a 64-byte record at the end of a file, then its
 *              own fdatasync (no group commit)
 *   rocksdb    rocksdb_put() of a 16-byte key and a 64-byte value with
 *              WriteOptions.sync = true, WAL on (RocksDB's C API, its
 *              default options otherwise; a fresh database per cell)
 *   syncfix    sf_txn_begin, one 64-byte sf_txn_add, sf_txn_commit, for
 *              each write method (io_uring linked, RWF_DSYNC, pwritev),
 *              the log's other options at their defaults
 *   rocksdb async   the same Put with WriteOptions.sync = false (the WAL
 *              written, not flushed: what a crash of the machine may lose)
 *   syncfix async   the same commit with sf_txn_commit_async (the default
 *              method and async delay), compared with rocksdb async
 * Each cell idle and with a hog: one spinning process per online CPU,
 * started beside the benchmark before the cell's rounds and killed after
 * (processes, so that their CPU time is not the benchmark's).
 *
 * Printed per cell: commits/s, commits per flush (syncfix: its stats;
 * RocksDB: WAL writes per WAL sync from the "rocksdb.dbstats" property;
 * baseline: 1), CPU us per commit and context switches per commit of the
 * whole process (getrusage(RUSAGE_SELF): every thread, RocksDB's
 * background threads and io_uring's kernel workers included), and the
 * mean flush latency (syncfix).  Each figure is the best of 2 rounds, the
 * peers taking turns; then the ratios syncfix / RocksDB of this run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rocksdb/c.h>
#include <syncfix.h>

#include "bench.h"
#include "bench-commit.h"

#define MAX_THREADS 64
#define REC_LEN 64

static volatile int stop;

/* ---- peers -------------------------------------------------------------- */

/*
 * A peer: open(io) sets it up (io: a syncfix write method, else unused),
 * commit(thread, n) does the n-th commit of a thread, close(commits)
 * tears it down and returns commits per flush (0: unknown), *flush_us
 * its mean flush latency (0: not known).
 */
struct peer {
	const char *name;
	const char *tag;	/* in the ratios */
	int io;
	int ref;		/* the peer its ratios are against */
	int (*open)(int io);
	int (*commit)(int thread, uint64_t n);
	double (*close)(double commits, double *flush_us);
};

static int base_fd;
static uint64_t base_off;

static int base_open(int io)
{
	char p[4200];

	(void)io;
	path(p, sizeof(p), "bench-peer-baseline.dat");
	base_fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	base_off = 0;
	return base_fd < 0 ? errno : 0;
}

static int base_commit(int thread, uint64_t n)
{
	static const char rec[REC_LEN];
	uint64_t off = __atomic_fetch_add(&base_off, sizeof(rec),
					  __ATOMIC_RELAXED);

	(void)thread, (void)n;
	if (pwrite(base_fd, rec, sizeof(rec), (off_t)off) != sizeof(rec))
		return -1;
	return fdatasync(base_fd);
}

static double base_close(double commits, double *flush_us)
{
	char p[4200];

	(void)commits;
	*flush_us = 0;
	close(base_fd);
	path(p, sizeof(p), "bench-peer-baseline.dat");
	unlink(p);
	return 1;
}

static rocksdb_t *rdb;
static rocksdb_options_t *ropt;
static rocksdb_writeoptions_t *rwopt;

static void rdb_destroy(void)
{
	char p[4200], *err = NULL;

	path(p, sizeof(p), "bench-peer-rocksdb");
	rocksdb_destroy_db(ropt, p, &err);
	free(err);
}

static int rdb_open(int io)
{
	char p[4200], *err = NULL;

	(void)io;
	ropt = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(ropt, 1);
	rwopt = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(rwopt, io != -1);
	rdb_destroy();
	path(p, sizeof(p), "bench-peer-rocksdb");
	rdb = rocksdb_open(ropt, p, &err);
	if (err) {
		fprintf(stderr, "rocksdb_open %s: %s\n", p, err);
		free(err);
		return EIO;
	}
	return 0;
}

static int rdb_commit(int thread, uint64_t n)
{
	static const char val[REC_LEN];
	char key[17], *err = NULL;

	snprintf(key, sizeof(key), "%02d%014llu", thread,
		 (unsigned long long)n);
	rocksdb_put(rdb, rwopt, key, 16, val, sizeof(val), &err);
	if (err) {
		free(err);
		return -1;
	}
	return 0;
}

/* A count of rocksdb.dbstats: 1234, or 12K (thousands) from 10,000 up. */
static double human(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'K':
		return v * 1e3;
	case 'M':
		return v * 1e6;
	case 'G':
		return v * 1e9;
	}
	return v;
}

/* WAL syncs: "Cumulative WAL: 1234 writes, 56 syncs, ..." (dbstats). */
static double rdb_close(double commits, double *flush_us)
{
	char *s = rocksdb_property_value(rdb, "rocksdb.dbstats");
	const char *w = s ? strstr(s, "Cumulative WAL: ") : NULL;
	double syncs = 0;

	*flush_us = 0;
	w = w ? strstr(w, " writes, ") : NULL;
	if (w)
		syncs = human(w + strlen(" writes, "));
	free(s);
	rocksdb_close(rdb);
	rdb_destroy();
	rocksdb_writeoptions_destroy(rwopt);
	rocksdb_options_destroy(ropt);
	return syncs > 0 ? commits / syncs : 0;
}

static sf_clog_t *L;

static void clog_path(char *p, size_t len)
{
	path(p, len, "bench-peer-commit.log");
}

static int clog_open(int io)
{
	struct sf_clog_options o = { .io = io < 0 ? SF_CLOG_IO_AUTO : io };
	char p[4200];

	clog_path(p, sizeof(p));
	rm_log(p);
	return sf_clog_open(p, &o, &L, NULL);
}

/* One transaction of one record, committed sync or (@async) async. */
static int clog_txn(bool async)
{
	static const char rec[REC_LEN];
	sf_txn_t *t;

	if (sf_txn_begin(L, &t))
		return -1;
	if (sf_txn_add(t, rec, sizeof(rec))) {
		sf_txn_rollback(t);
		return -1;
	}
	return async ? sf_txn_commit_async(t, NULL) : sf_txn_commit(t, NULL);
}

static int clog_commit(int thread, uint64_t n)
{
	(void)thread, (void)n;
	return clog_txn(false);
}

static int clog_commit_async(int thread, uint64_t n)
{
	(void)thread, (void)n;
	return clog_txn(true);
}

static double clog_close(double commits, double *flush_us)
{
	struct sf_clog_stats st;
	char p[4200];

	(void)commits;
	sf_clog_stats(L, &st);
	*flush_us = st.flush_latency_us;
	sf_clog_close(L);
	clog_path(p, sizeof(p));
	rm_log(p);
	return st.commits_per_flush;
}

enum { P_BASE, P_ROCKSDB, P_LINKED, P_DSYNC, P_PWRITEV, P_RDB_ASYNC,
       P_ASYNC, NPEER };

/* io -1: asynchronous (RocksDB sync=false; syncfix's default method). */
static struct peer peers[NPEER] = {
	[P_BASE] = { "baseline: fdatasync per commit", "baseline", 0,
		     P_ROCKSDB, base_open, base_commit, base_close },
	[P_ROCKSDB] = { "rocksdb Put, sync=true", "rocksdb", 0, P_ROCKSDB,
			rdb_open, rdb_commit, rdb_close },
	[P_LINKED] = { NULL, "linked", SF_CLOG_IO_URING_LINKED, P_ROCKSDB,
		       clog_open, clog_commit, clog_close },
	[P_DSYNC] = { NULL, "dsync", SF_CLOG_IO_URING_DSYNC, P_ROCKSDB,
		      clog_open, clog_commit, clog_close },
	[P_PWRITEV] = { NULL, "pwritev", SF_CLOG_IO_PWRITEV, P_ROCKSDB,
			clog_open, clog_commit, clog_close },
	[P_RDB_ASYNC] = { "rocksdb Put, sync=false", "rocksdb-async", -1,
			  P_RDB_ASYNC, rdb_open, rdb_commit, rdb_close },
	[P_ASYNC] = { "syncfix commit_async (default method)", "async", -1,
		      P_RDB_ASYNC, clog_open, clog_commit_async, clog_close },
};

/* ---- one measurement ---------------------------------------------------- */

struct meas {
	double rate;	/* commits/s */
	double cpf;	/* commits per flush */
	double cpu_us;	/* CPU us per commit */
	double cs;	/* context switches per commit */
	double flush_us;
};

struct worker {
	pthread_t th;
	int idx;
	int (*commit)(int, uint64_t);
	uint64_t n;
};

static void *committer(void *arg)
{
	struct worker *w = arg;

	while (!stop && w->commit(w->idx, w->n) == 0)
		w->n++;
	return NULL;
}

static void usage_now(double *cpu, double *cs)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	*cs = (double)ru.ru_nvcsw + (double)ru.ru_nivcsw;
}

static struct meas measure(const struct peer *pe, int nt)
{
	static struct worker w[MAX_THREADS];
	struct meas m = { 0 };
	double t0, wall, c0, c1, s0, s1, total = 0;

	if (pe->open(pe->io))
		return m;
	stop = 0;
	usage_now(&c0, &s0);
	t0 = bench_now();
	for (int i = 0; i < nt; i++) {
		w[i] = (struct worker){ .idx = i, .commit = pe->commit };
		pthread_create(&w[i].th, NULL, committer, &w[i]);
	}
	while (bench_now() - t0 < secs)
		usleep(10000);
	stop = 1;
	for (int i = 0; i < nt; i++) {
		pthread_join(w[i].th, NULL);
		total += (double)w[i].n;
	}
	wall = bench_now() - t0;
	usage_now(&c1, &s1);
	m.cpf = pe->close(total, &m.flush_us);
	if (total > 0) {
		m.rate = total / wall;
		m.cpu_us = (c1 - c0) * 1e6 / total;
		m.cs = (s1 - s0) / total;
	}
	return m;
}

/* ---- the hog ------------------------------------------------------------ */

static pid_t hogs[MAX_THREADS];
static int nhogs;

/* One spinning process per online CPU; they die with the benchmark. */
static void hog_start(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	fflush(stdout);
	for (nhogs = 0; nhogs < (n > 0 ? n : 1) && nhogs < MAX_THREADS;
	     nhogs++) {
		pid_t p = fork();

		if (p == 0) {
			volatile unsigned long x = 0;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				x++;
		}
		if (p < 0)
			break;
		hogs[nhogs] = p;
	}
	usleep(100000);
}

static void hog_stop(void)
{
	for (int i = 0; i < nhogs; i++)
		kill(hogs[i], SIGKILL);
	for (int i = 0; i < nhogs; i++)
		waitpid(hogs[i], NULL, 0);
	nhogs = 0;
}

/* ---- the table ---------------------------------------------------------- */

static const int nts[] = { 1, 4, 16, 64 };
enum { NN = sizeof(nts) / sizeof(nts[0]) };
static const char *const loads[] = { "idle", "hog" };
static struct meas res[2][NN][NPEER];
static const char *default_method;

static void row(const char *name, int nt, struct meas m)
{
	printf("%-44s %3d %9.0f %7.1f %8.1f %6.2f %8.0f\n", name, nt, m.rate,
	       m.cpf, m.cpu_us, m.cs, m.flush_us);
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void cell(int ld, int ni)
{
	int nt = nts[ni];
	struct meas *r = res[ld][ni];

	for (int round = 0; round < 2; round++)
		for (int k = 0; k < NPEER; k++) {
			struct meas m = measure(&peers[k], nt);

			if (m.rate > r[k].rate)
				r[k] = m;
		}
	for (int k = 0; k < NPEER; k++)
		row(peers[k].name, nt, r[k]);
	fflush(stdout);
}

static int is_default(int k)
{
	return peers[k].io && !strcmp(peers[k].name, default_method);
}

static void summary(int ld)
{
	int head = 0;

	for (int ni = 0; ni < NN; ni++) {
		struct meas *r = res[ld][ni];

		if (!r[P_ROCKSDB].rate)
			continue;
		if (!head++)
			printf("\neach / rocksdb, %s: commits/s, CPU per commit "
			       "(target >= 2x, <= 1x; * the default method; "
			       "async / rocksdb-async)\n", loads[ld]);
		printf("  N=%-3d", nts[ni]);
		for (int k = 0; k < NPEER; k++) {
			const struct meas *rk = &r[peers[k].ref];

			if (k != peers[k].ref)
				printf("  %s%s %5.2fx %4.2fx", peers[k].tag,
				       is_default(k) ? "*" : "",
				       ratio(r[k].rate, rk->rate),
				       ratio(r[k].cpu_us, rk->cpu_us));
		}
		printf("\n");
	}
}

static void label_methods(void)
{
	char p[4200];

	for (int k = P_LINKED; k <= P_PWRITEV; k++) {
		peers[k].name = "?";
		if (!clog_open(peers[k].io)) {
			peers[k].name = strdup(sf_clog_io_method(L));
			clog_close(0, &(double){ 0 });
		}
	}
	clog_path(p, sizeof(p));
	rm_log(p);
	default_method = "?";
	if (!sf_clog_open(p, NULL, &L, NULL)) {
		default_method = strdup(sf_clog_io_method(L));
		clog_close(0, &(double){ 0 });
	}
}

int main(int argc, char **argv)
{
	const char *want_n = getenv("SYNCFIX_BENCH_N");
	const char *want_load = getenv("SYNCFIX_BENCH_LOAD");

	if (bench_args(argc, argv))
		return 2;
	label_methods();
	printf("default write method: %s; hog: %ld spinning processes\n",
	       default_method, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-44s %3s %9s %7s %8s %6s %8s\n", "peer", "N", "commits/s",
	       "c/flush", "cpu us/c", "cs/c", "flush us");
	for (int ni = 0; ni < NN; ni++) {
		if (want_n && atoi(want_n) != nts[ni])
			continue;
		for (int ld = 0; ld < 2; ld++) {
			if (want_load && strcmp(want_load, loads[ld]))
				continue;
			printf("-- %s, %d committers\n", ld ? "hog on every CPU"
			       : "idle", nts[ni]);
			if (ld)
				hog_start();
			cell(ld, ni);
			if (ld)
				hog_stop();
		}
	}
	for (int ld = 0; ld < 2; ld++)
		summary(ld);
	return 0;
}
