/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-commit.h - what the commit log's benchmarks share (after
 * bench.h): the directory their files go in and the seconds per
 * measurement, from "PROGRAM DIR [SECONDS]".
 */
#ifndef SF_BENCH_COMMIT_H
#define SF_BENCH_COMMIT_H

static const char *dir;
static double secs = 1.0;

/* DIR/@name into @buf. */
static void path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* Remove the log at @p: a directory of segments or a single file. */
__attribute__((unused)) static void rm_log(const char *p)
{
	char cmd[4400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd))
		fprintf(stderr, "%s failed\n", cmd);
}

/* Return: 0, or 2 after the usage line (no DIR). */
static int bench_args(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [SECONDS]\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	if (argc > 2)
		secs = atof(argv[2]);
	return 0;
}

/* ---- committer threads ------------------------------------------------ */

static volatile int bc_stop;

struct bc_worker {
	pthread_t th;
	int (*fn)(void);
	uint64_t n;
};

__attribute__((unused)) static void *bc_worker_main(void *arg)
{
	struct bc_worker *w = arg;

	while (!bc_stop && w->fn() == 0)
		w->n++;
	return NULL;
}

/*
 * Run @nt (at most 64) threads, each calling @fn until secs have passed
 * or it fails.  *@wall: the time taken.  Return: the calls that returned
 * 0, in all.
 */
__attribute__((unused)) static uint64_t bc_run(int nt, int (*fn)(void),
					       double *wall)
{
	static struct bc_worker w[64];
	uint64_t total = 0;
	double t0;

	bc_stop = 0;
	t0 = bench_now();
	for (int i = 0; i < nt; i++) {
		w[i] = (struct bc_worker){ .fn = fn };
		pthread_create(&w[i].th, NULL, bc_worker_main, &w[i]);
	}
	while (bench_now() - t0 < secs)
		usleep(10000);
	bc_stop = 1;
	for (int i = 0; i < nt; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].n;
	}
	*wall = bench_now() - t0;
	return total;
}

#endif /* SF_BENCH_COMMIT_H */
