/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench.h - timing helpers for the syncfix benchmarks.
 *
 * Timings on a shared 2-core machine are noisy: every figure is compared
 * with glibc measured in the same run, and each measurement is repeated
 * and the best (smallest time, largest throughput) kept.
 */
#ifndef SF_BENCH_H
#define SF_BENCH_H

#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The calling thread's CPU time: a run preempted by another process does
 * not count the time it did not run. */
static inline double bench_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void bench_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline uint32_t bench_rnd(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x ? x : 0x9e3779b9u;
}

/* Keep the compiler from dropping a value. */
#define bench_keep(x) __asm__ __volatile__("" : : "r"(x) : "memory")

#endif /* SF_BENCH_H */
