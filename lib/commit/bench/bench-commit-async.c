// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-commit-async.c - asynchronous commit against synchronous commit
 * on the same disk, in the same run.
 *
 * Usage: bench-commit-async DIR [SECONDS]   (SECONDS per measurement,
 *                                           default 1)
 *
 * N committer threads (1 and 4), each commit sf_txn_begin, one 64-byte
 * sf_txn_add, then sf_txn_commit (sync) or sf_txn_commit_async (async,
 * the default async_delay_us), on a log in DIR with the default options.
 * Three rounds, the two taking turns; per row the median of the three:
 * commits/s, flushes per second, CPU us per commit of the process (every
 * thread: the flusher's too) and the spread of the three rates
 * ((max - min) / median).  Then async / sync at each N: the target at 1
 * committer is >= 10x (issue 18).
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <unistd.h>

#include <syncfix.h>

#include "bench.h"
#include "bench-commit.h"

#define ROUNDS 3

static sf_clog_t *L;
static int use_async;

struct meas {
	double rate, flushes, cpu_us;
};

static double cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* One commit of one 64-byte record, sync or async (use_async). */
static int one_commit(void)
{
	static const char rec[64];
	sf_txn_t *t;

	if (sf_txn_begin(L, &t))
		return -1;
	sf_txn_add(t, rec, sizeof(rec));
	return use_async ? sf_txn_commit_async(t, NULL)
			 : sf_txn_commit(t, NULL);
}

static struct meas measure(int nt, int async)
{
	struct sf_clog_stats st;
	struct meas m = { 0 };
	uint64_t total;
	double c0, wall;
	char p[4200];

	path(p, sizeof(p), "bench-commit-async.log");
	rm_log(p);
	if (sf_clog_open(p, NULL, &L, NULL))
		return m;
	use_async = async;
	c0 = cpu_now();
	total = bc_run(nt, one_commit, &wall);
	sf_clog_stats(L, &st);
	sf_clog_close(L);	/* writes what is pending: not counted */
	rm_log(p);
	if (total) {
		m.rate = (double)total / wall;
		m.flushes = (double)st.flushes / wall;
		m.cpu_us = (cpu_now() - c0) * 1e6 / (double)total;
	}
	return m;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @v (ROUNDS values; sorted here). */
static double median(double *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp);
	return v[ROUNDS / 2];
}

int main(int argc, char **argv)
{
	static const int nts[] = { 1, 4 };
	static const char *const kind[] = { "sync", "async" };

	if (bench_args(argc, argv))
		return 2;
	printf("%-8s %3s %10s %9s %9s %7s\n", "commit", "N", "commits/s",
	       "flushes/s", "cpu us/c", "spread");
	for (size_t i = 0; i < sizeof(nts) / sizeof(nts[0]); i++) {
		double rate[2][ROUNDS], fl[2][ROUNDS], cpu[2][ROUNDS], med[2];

		for (int r = 0; r < ROUNDS; r++)
			for (int a = 0; a < 2; a++) {
				struct meas m = measure(nts[i], a);

				rate[a][r] = m.rate;
				fl[a][r] = m.flushes;
				cpu[a][r] = m.cpu_us;
			}
		for (int a = 0; a < 2; a++) {
			med[a] = median(rate[a]);
			printf("%-8s %3d %10.0f %9.0f %9.2f %6.0f%%\n", kind[a],
			       nts[i], med[a], median(fl[a]), median(cpu[a]),
			       med[a] > 0 ? 100 * (rate[a][ROUNDS - 1] -
						   rate[a][0]) / med[a] : 0);
		}
		printf("async / sync at N=%d: %.1fx%s\n", nts[i],
		       med[0] > 0 ? med[1] / med[0] : 0,
		       nts[i] == 1 ? " (target >= 10x)" : "");
		fflush(stdout);
	}
	return 0;
}
