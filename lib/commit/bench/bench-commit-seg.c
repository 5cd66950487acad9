// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-commit-seg.c - commits/s of a directory of segments against the
 * single file, and the latency of a segment switch.
 *
 * Usage: bench-commit-seg DIR [SECONDS]   (SECONDS per measurement,
 *        default 1; SYNCFIX_BENCH_N=n: only n committers)
 *
 * In one run, on DIR (the build tree: a real disk), N = 1, 4, 16, 64
 * committers each commit one 64-byte record per transaction, for
 * SECONDS, on three logs that take turns, best of 2 rounds each:
 *   file     a single file (SF_CLOG_SINGLE_FILE; zeros kept ahead)
 *   seg16M   a directory of 16 MiB segments (the default size)
 *   seg1M    1 MiB segments (a switch every ~8,000 commits: the cost of
 *            switching, magnified)
 * Printed per log and N: commits/s, the ratio to the single file measured
 * in the same round ("/file"), switches, switches that waited for the
 * preparer, and the latency of commits: the mean of all, and the mean and
 * maximum of the first commit in each new segment (the switch's cost to
 * its committer).  A log is made afresh for each measurement; with
 * segments, the measurement starts 200 ms after the open (which writes
 * segment 0 full of zeros), and the preparer writes one segment of zeros
 * per segment filled (from the middle of the one before), as the single
 * file's zeros ahead do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <unistd.h>

#include <syncfix.h>

#include "bench.h"
#include "bench-commit.h"

#define MAXT 64

static volatile int stop;
static sf_clog_t *L;
static uint64_t seg_size;	/* 0: a single file */
static uint64_t top_seg;	/* highest segment a commit landed in */

struct lat {
	uint64_t n, ns, sw_n, sw_ns, sw_max;
};

static struct lat lats[MAXT];

static void *committer(void *arg)
{
	struct lat *l = arg;
	char rec[64];

	memset(rec, 'c', sizeof(rec));
	while (!stop) {
		uint64_t lsn = 0, t0 = (uint64_t)(bench_now() * 1e9), dt;
		sf_txn_t *t;

		if (sf_txn_begin(L, &t))
			break;
		if (sf_txn_add(t, rec, sizeof(rec)) || sf_txn_commit(t, &lsn))
			break;
		dt = (uint64_t)(bench_now() * 1e9) - t0;
		l->n++;
		l->ns += dt;
		if (seg_size) {
			uint64_t s = lsn / seg_size,
				 top = __atomic_load_n(&top_seg,
						       __ATOMIC_RELAXED);

			if (s > top && __atomic_compare_exchange_n(&top_seg,
					&top, s, false, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED)) {
				l->sw_n++;
				l->sw_ns += dt;
				if (dt > l->sw_max)
					l->sw_max = dt;
			}
		}
	}
	return NULL;
}

struct res {
	double rate, mean_us, sw_us, sw_max_us;
	uint64_t switches, waits;
};


static int measure(const char *name, uint64_t seg, int n, struct res *r)
{
	struct sf_clog_options o = { .io = SF_CLOG_IO_PWRITEV,
				     .buffer_size = 256u << 10,
				     .segment_size = (unsigned int)seg,
				     .flags = seg ? 0 : SF_CLOG_SINGLE_FILE };
	struct sf_clog_stats st;
	pthread_t th[MAXT];
	struct lat sum = { 0 };
	double t0, dt;
	char p[4200];

	path(p, sizeof(p), name);
	rm_log(p);
	if (sf_clog_open(p, &o, &L, NULL))
		return -1;
	/*
	 * The open wrote and flushed segment 0's zeros: let the disk settle
	 * before measuring.  Nothing more is prepared until the log reaches
	 * the middle of segment 0 (P2): from then on one segment prepared
	 * per segment filled, the steady state.
	 */
	if (seg)
		usleep(200000);
	seg_size = seg;
	top_seg = 0;
	stop = 0;
	memset(lats, 0, sizeof(lats));
	t0 = bench_now();
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, committer, &lats[i]);
	usleep((useconds_t)(secs * 1e6));
	stop = 1;
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	dt = bench_now() - t0;
	sf_clog_stats(L, &st);
	sf_clog_close(L);
	rm_log(p);
	for (int i = 0; i < n; i++) {
		sum.n += lats[i].n;
		sum.ns += lats[i].ns;
		sum.sw_n += lats[i].sw_n;
		sum.sw_ns += lats[i].sw_ns;
		if (lats[i].sw_max > sum.sw_max)
			sum.sw_max = lats[i].sw_max;
	}
	*r = (struct res){ (double)sum.n / dt,
			   sum.n ? (double)sum.ns / (double)sum.n / 1e3 : 0,
			   sum.sw_n ? (double)sum.sw_ns / (double)sum.sw_n / 1e3
				    : 0,
			   (double)sum.sw_max / 1e3, st.segment_switches,
			   st.segment_switch_waits };
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		uint64_t seg;
	} logs[] = { { "file", 0 }, { "seg16M", 16u << 20 },
		     { "seg1M", 1u << 20 } };
	static const int ns[] = { 1, 4, 16, 64 };
	const char *only = getenv("SYNCFIX_BENCH_N");

	if (bench_args(argc, argv))
		return 2;
	printf("%-8s %3s %9s %6s %8s %6s %9s %9s %9s\n", "log", "N",
	       "commits/s", "/file", "switches", "waits", "mean us",
	       "switch us", "max us");
	for (unsigned int k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		struct res best[3] = { 0 };

		if (only && atoi(only) != ns[k])
			continue;
		for (int round = 0; round < 2; round++)
			for (unsigned int j = 0; j < 3; j++) {
				struct res r;

				if (measure(logs[j].name, logs[j].seg, ns[k],
					    &r)) {
					fprintf(stderr, "cannot open a log in "
						"%s\n", dir);
					return 1;
				}
				if (r.rate > best[j].rate)
					best[j] = r;
			}
		for (unsigned int j = 0; j < 3; j++)
			printf("%-8s %3d %9.0f %6.2f %8" PRIu64 " %6" PRIu64
			       " %9.1f %9.1f %9.1f\n", logs[j].name, ns[k],
			       best[j].rate, best[j].rate / best[0].rate,
			       best[j].switches, best[j].waits, best[j].mean_us,
			       best[j].sw_us, best[j].sw_max_us);
		fflush(stdout);
	}
	return 0;
}
