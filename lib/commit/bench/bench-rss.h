/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-rss.h - the process's resident set now, for the commit benchmarks. */
#ifndef SF_BENCH_RSS_H
#define SF_BENCH_RSS_H

#include <stdio.h>
#include <unistd.h>

/* Resident set size in KiB (/proc/self/statm), 0 if unknown. */
static inline double bench_rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return (double)rss * (double)sysconf(_SC_PAGESIZE) / 1024;
}

#endif /* SF_BENCH_RSS_H */
