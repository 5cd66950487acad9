// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-commit-recover.c - time and peak memory of recovery.
 *
 * Usage: bench-commit-recover DIR [MIB...]   (default 64)
 *
 * For each size, a log of about MIB MiB is written in DIR (transactions of
 * four 1000-byte records, committed by 4 threads), closed, and opened
 * again in a fresh child process with a replay callback that reads every
 * payload byte.  Printed: the recovery time and the child's peak RSS
 * (ru_maxrss) above what it had before the open, and the largest
 * transaction's size, which streaming recovery's memory is bounded by.
 * Two logs per size: a single file with no checkpoint, and a directory of
 * 16 MiB segments where 64 MiB were written and checkpointed first
 * (recycled: not read again) and MIB since the last checkpoint.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <syncfix.h>

#include "bench.h"
#include "bench-rss.h"

#define REC 1000
#define RECS 4

static sf_clog_t *L;
static uint64_t per_thread;

static void *writer(void *arg)
{
	static char rec[REC];

	(void)arg;
	memset(rec, 'r', sizeof(rec));
	for (uint64_t i = 0; i < per_thread; i++) {
		sf_txn_t *t;

		if (sf_txn_begin(L, &t))
			return NULL;
		for (int k = 0; k < RECS; k++)
			sf_txn_add(t, rec, sizeof(rec));
		if (sf_txn_commit(t, NULL))
			return NULL;
	}
	return NULL;
}

static uint64_t sum;

static int replay_cb(void *arg, const struct sf_commit_txn *t)
{
	(void)arg;
	for (size_t i = 0; i < t->nrecs; i++)
		for (size_t j = 0; j < t->recs[i].len; j += 64)
			sum += ((const unsigned char *)t->recs[i].data)[j];
	return 0;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Write about @mib MiB of transactions to L with 4 threads. */
static void write_mib(double mib)
{
	pthread_t th[4];

	per_thread = (uint64_t)(mib * (1 << 20) / (RECS * (REC + 32) + 32) / 4);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, writer, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
}

static void rm_log(const char *p)
{
	char cmd[4400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd))
		fprintf(stderr, "%s failed\n", cmd);
}

/* Bytes of the log's files now (a file, or its directory's files). */
static double log_bytes(const char *p)
{
	char cmd[4400], out[64] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "du -sb '%s'", p);
	f = popen(cmd, "r");
	if (f && !fgets(out, sizeof(out), f))
		out[0] = 0;
	if (f)
		pclose(f);
	return atof(out);
}

int main(int argc, char **argv)
{
	char p[4200];

	if (argc < 2) {
		fprintf(stderr, "usage: bench-commit-recover DIR [MIB...]\n");
		return 2;
	}
	for (int a = 4; a < 2 * (argc > 2 ? argc : 3); a++) {
		int seg = a % 2;
		double mib = argc > 2 ? atof(argv[a / 2]) : 64;
		struct sf_clog_options o = { .replay = replay_cb,
					     .io = SF_CLOG_IO_PWRITEV };
		struct sf_clog_recovery rep;
		int fds[2], status;
		double res[3] = { 0, 0, 0 }, bytes;
		pid_t pid;

		snprintf(p, sizeof(p), "%s/bench-recover.%s", argv[1],
			 seg ? "d" : "log");
		rm_log(p);
		if (sf_clog_open(p, &(struct sf_clog_options){
					 .io = SF_CLOG_IO_PWRITEV,
					 .segment_size = seg ? 16u << 20 : 0,
					 .flags = seg ? 0 : SF_CLOG_SINGLE_FILE,
					 .buffer_size = 4u << 20 }, &L, NULL))
			return 1;
		if (seg) {
			write_mib(64);
			if (sf_clog_checkpoint(L, sf_clog_durable_lsn(L)))
				return 1;
		}
		write_mib(mib);
		sf_clog_close(L);
		bytes = log_bytes(p);
		if (pipe(fds))
			return 1;
		pid = fork();
		if (pid == 0) {
			double before = bench_rss_kib(), t0;
			long peak0 = maxrss_kib();

			t0 = bench_now();
			if (sf_clog_open(p, &o, &L, &rep))
				_exit(1);
			res[0] = bench_now() - t0;
			res[1] = (double)(maxrss_kib() > peak0 ? maxrss_kib()
							       : peak0) - before;
			res[2] = (double)rep.replayed;
			sf_clog_close(L);
			if (write(fds[1], res, sizeof(res)) != sizeof(res))
				_exit(1);
			_exit(0);
		}
		close(fds[1]);
		if (read(fds[0], res, sizeof(res)) != sizeof(res))
			res[0] = -1;
		close(fds[0]);
		waitpid(pid, &status, 0);
		printf("  %-38s %7.1f MiB on disk: %8.0f transactions replayed "
		       "in %6.3f s, peak RSS +%7.1f MiB during recovery "
		       "(largest transaction %d KiB)\n", seg ?
		       "segments, 64 MiB checkpointed before:" :
		       "single file, no checkpoint:", bytes / (1 << 20),
		       res[2], res[0], res[1] / 1024,
		       RECS * (REC + 32) / 1024);
		fflush(stdout);
		rm_log(p);
	}
	return 0;
}
