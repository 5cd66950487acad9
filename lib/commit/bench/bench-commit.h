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

#endif /* SF_BENCH_COMMIT_H */
