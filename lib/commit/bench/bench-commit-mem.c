// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-commit-mem.c - memory of the commit log over many transactions.
 *
 * Usage: bench-commit-mem DIR [TXNS]   (default 3 x 10^8 transactions, past
 *        the 2^28 where the log used to stop;
 *        SYNCFIX_BENCH_MEM_SECONDS: stop earlier after that many seconds,
 *        default 240; SYNCFIX_BENCH_MEM_HORIZON: status_horizon;
 *        SYNCFIX_BENCH_MEM_CKPT_MB: with N > 0 the log is a directory of
 *        1 MiB segments and a checkpoint is taken at the durable LSN
 *        every N MiB of log, default 0: a single file
 *        (SF_CLOG_SINGLE_FILE), no checkpoints;
 *        SYNCFIX_BENCH_MEM_RECORD: bytes of each commit's record, 16)
 *
 * Two threads begin transactions as fast as they can on one log in DIR
 * (the build tree: a real disk).  Of every 1024, one adds a 16-byte record
 * and commits (a durable commit); the others roll back without a record
 * (nothing written: what a read-only transaction costs).  One transaction
 * is begun before all of them and stays open to the end (a long reader:
 * it must stay SF_TXN_ACTIVE, and must not pin memory).  At 10^6, 10^7
 * and 10^8 transactions, past 2^28, and at the end it prints the process's RSS, the
 * status table's bytes (sf_clog_stats.status_bytes), the rate, and the
 * log's disk use (its files' sizes) with the segments recycled.  If the
 * time limit stops it before TXNS, the last line extrapolates the RSS to
 * TXNS from the slope between the last two samples, and says so.
 *
 * Before 64-bit ids and the horizon, the table took 8 bytes per
 * transaction and sf_txn_begin failed with EOVERFLOW at 2^28 per open.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include <syncfix.h>

#include "bench.h"
#include "bench-rss.h"

#define THREADS 2

static sf_clog_t *L;
static uint64_t done_txns, target, ckpt_every, ckpts;
static size_t rec_len = 16;
static char log_path[4200];
static volatile int stop;
static int failed;

static void *runner(void *arg)
{
	uint32_t seed = 17u + (uint32_t)(uintptr_t)arg;
	static uint64_t rec[4096 / 8];

	while (!stop) {
		sf_txn_t *t;
		int e = sf_txn_begin(L, &t);

		if (e) {
			fprintf(stderr, "sf_txn_begin: %s\n", strerror(e));
			failed = e;
			break;
		}
		if ((bench_rnd(&seed) & 1023) == 0) {
			rec[0] = sf_txn_id(t);
			if ((e = sf_txn_add(t, rec, rec_len)) ||
			    (e = sf_txn_commit(t, NULL))) {
				fprintf(stderr, "commit: %s\n", strerror(e));
				failed = e;
				break;
			}
		} else {
			sf_txn_rollback(t);
		}
		if (__atomic_add_fetch(&done_txns, 1, __ATOMIC_RELAXED) >=
		    target)
			stop = 1;
	}
	return NULL;
}

static double rss_mib(void)
{
	return bench_rss_kib() / 1024;
}

struct sample {
	uint64_t n;
	double rss, t;
};

/* Bytes of the log's files: the file, or every file of its directory. */
static double disk_mib(void)
{
	struct stat st;
	double sum = 0;
	struct dirent *e;
	DIR *d;

	if (stat(log_path, &st))
		return 0;
	if (!S_ISDIR(st.st_mode))
		return (double)st.st_size / (1 << 20);
	d = opendir(log_path);
	while (d && (e = readdir(d))) {
		char f[4500];

		snprintf(f, sizeof(f), "%s/%s", log_path, e->d_name);
		if (e->d_name[0] != '.' && !stat(f, &st))
			sum += (double)st.st_size;
	}
	if (d)
		closedir(d);
	return sum / (1 << 20);
}

static void print_sample(const struct sample *s, double t0)
{
	struct sf_clog_stats st;

	sf_clog_stats(L, &st);
	printf("  %12" PRIu64 " txns  RSS %7.1f MiB  status table %7.1f KiB"
	       "  %6.0f s  %5.2f M txns/s  %" PRIu64 " commits  log %.0f MiB "
	       "written, %.1f MiB on disk, %" PRIu64 " checkpoints, %" PRIu64
	       " segments recycled\n", s->n,
	       s->rss, (double)st.status_bytes / 1024, s->t - t0,
	       (double)s->n / (s->t - t0) / 1e6, st.commits,
	       (double)sf_clog_durable_lsn(L) / (1 << 20), disk_mib(), ckpts,
	       st.segments_recycled);
	fflush(stdout);
}

/* A checkpoint every ckpt_every bytes of log (the monitor's thread). */
static void maybe_checkpoint(uint64_t *last)
{
	uint64_t d = sf_clog_durable_lsn(L);

	if (ckpt_every && d >= *last + ckpt_every) {
		if (sf_clog_checkpoint(L, d) == 0)
			ckpts++;
		*last = d;
	}
}

int main(int argc, char **argv)
{
	const char *lim = getenv("SYNCFIX_BENCH_MEM_SECONDS");
	const char *hz = getenv("SYNCFIX_BENCH_MEM_HORIZON");
	const char *ck = getenv("SYNCFIX_BENCH_MEM_CKPT_MB");
	const char *rl = getenv("SYNCFIX_BENCH_MEM_RECORD");
	uint64_t last_ckpt = 0;
	double limit = lim ? atof(lim) : 240, t0;
	struct sf_clog_options o = { 0 };
	uint64_t marks[] = { 1000000, 10000000, 100000000, 1ull << 28 };
	struct sample s[8];
	pthread_t th[THREADS];
	unsigned int nmark = 0, ns = 0;
	sf_txn_t *longtxn;
	char p[4200], cmd[4400];
	int st = -1;

	if (argc < 2) {
		fprintf(stderr, "usage: bench-commit-mem DIR [TXNS]\n");
		return 2;
	}
	target = argc > 2 ? strtoull(argv[2], NULL, 0) : 300000000ull;
	if (hz)
		o.status_horizon = (unsigned int)atoi(hz);
	if (rl && atoi(rl) > 0 && atoi(rl) <= 4096)
		rec_len = (size_t)atoi(rl);
	ckpt_every = ck ? strtoull(ck, NULL, 0) << 20 : 0;
	if (ckpt_every) {
		o.segment_size = 1u << 20;
		o.buffer_size = 256u << 10;
	} else {
		o.flags = SF_CLOG_SINGLE_FILE;	/* the log only grows */
	}
	snprintf(p, sizeof(p), "%s/bench-mem.%s", argv[1],
		 ckpt_every ? "d" : "log");
	snprintf(log_path, sizeof(log_path), "%s", p);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd))
		return 1;
	if (sf_clog_open(p, &o, &L, NULL)) {
		fprintf(stderr, "cannot open %s\n", p);
		return 1;
	}
	printf("%u threads; 1 in 1024 commits a %zu-byte record, the others "
	       "roll back; one transaction open throughout; target %" PRIu64
	       " transactions or %.0f s; %s\n", THREADS, rec_len, target,
	       limit, ckpt_every ? "1 MiB segments, a checkpoint every "
	       "SYNCFIX_BENCH_MEM_CKPT_MB MiB" : "a single file, no "
	       "checkpoints");
	sf_txn_begin(L, &longtxn);
	t0 = bench_now();
	s[ns++] = (struct sample){ 0, rss_mib(), t0 };
	printf("  %12d txns  RSS %7.1f MiB (after open)\n", 0, s[0].rss);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, runner, (void *)(uintptr_t)i);
	while (!stop) {
		uint64_t n = __atomic_load_n(&done_txns, __ATOMIC_RELAXED);

		if (nmark < sizeof(marks) / sizeof(marks[0]) &&
		    n >= marks[nmark] && marks[nmark] <= target) {
			s[ns] = (struct sample){ n, rss_mib(), bench_now() };
			if (marks[nmark] == 1ull << 28)
				printf("  past 2^28:\n");
			print_sample(&s[ns++], t0);
			nmark++;
		}
		if (bench_now() - t0 > limit)
			stop = 1;
		maybe_checkpoint(&last_ckpt);
		usleep(2000);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	s[ns] = (struct sample){ done_txns, rss_mib(), bench_now() };
	printf("  end:\n");
	print_sample(&s[ns], t0);
	if (sf_clog_txn_status(L, sf_txn_id(longtxn), NULL, &st) || st !=
	    SF_TXN_ACTIVE)
		printf("  the long transaction is not active: status %d\n", st);
	else
		printf("  the transaction begun first is still SF_TXN_ACTIVE "
		       "(id %" PRIu64 ", %" PRIu64 " ids later)\n",
		       sf_txn_id(longtxn), done_txns);
	if (s[ns].n < target && ns >= 2) {
		const struct sample *a = &s[ns - 1], *b = &s[ns];
		double slope = b->n > a->n ? (b->rss - a->rss) /
					     (double)(b->n - a->n) : 0;

		printf("  stopped by %s at %" PRIu64 " of %" PRIu64
		       ": extrapolated (RSS slope %.3f MiB per 10^7 txns "
		       "between the last two samples) RSS at %" PRIu64
		       ": %.1f MiB\n", failed ? "an error" : "the time limit",
		       b->n, target, slope * 1e7, target,
		       b->rss + slope * (double)(target - b->n));
	}
	sf_txn_commit(longtxn, NULL);
	sf_clog_close(L);
	if (system(cmd))
		return 1;
	return failed ? 1 : 0;
}
