// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * thread.c - per-thread identity for owner checks.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifdef SF_TEST_HOOKS
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sf_test_hook_fn sf_test_hook;

/* The names SF_TEST_BROKEN takes, by bit (testhooks.h). */
static const char *const sf_broken_names[] = {
	"stale-wait", "release-before-wait", "retry-while-retry",
	"kill-before-wait", "error-exit", "two-mutexes", "hook-removal",
	"visible-before-durable", "apply-early", "no-gather", "gather-all",
	"no-flush", "cond-stale-seq", "cut-ignored", "mem-unreserved",
	"edges-late", "always-handoff", "listing-torn",
	"wrunlock-loaded",
	"status-no-recheck", "ids-unreserved", "queue-wait-early",
	"switch-unflushed", "recycle-early",
	"async-visible-early", "prepare-undurable",
	"seg-rewrite", "seg-reuse-unchecked",
	"mutex-no-notify", "mutex-acquire-no-s", "mutex-no-retract",
	"mutex-no-membarrier",
};

/* Bit 63: parsed.  Racing first calls parse the same string alike. */
static uint64_t sf_broken_bits;

_Static_assert(sizeof(sf_broken_names) / sizeof(*sf_broken_names) <= 63,
	       "SF_TEST_BROKEN names fit below the parsed bit");

static uint64_t sf_broken_parse(const char *s)
{
	uint64_t mask = 0;
	size_t len, i;

	while (s && *s) {
		len = strcspn(s, ",");
		for (i = 0; i < sizeof(sf_broken_names) / sizeof(*sf_broken_names); i++)
			if (strlen(sf_broken_names[i]) == len &&
			    !strncmp(s, sf_broken_names[i], len))
				break;
		if (i == sizeof(sf_broken_names) / sizeof(*sf_broken_names)) {
			fprintf(stderr, "libsyncfix (test build): SF_TEST_BROKEN: "
				"unknown protocol '%.*s'\n", (int)len, s);
			abort();
		}
		mask |= 1ull << i;
		s += len + (s[len] == ',');
	}
	return mask;
}

uint64_t sf_broken_mask(void)
{
	uint64_t m = sf_load64_relaxed(&sf_broken_bits);

	if (!(m & 1ull << 63)) {
		m = sf_broken_parse(getenv("SF_TEST_BROKEN")) | 1ull << 63;
		sf_store64_relaxed(&sf_broken_bits, m);
	}
	return m;
}
#endif

__thread pid_t sf_tid_cache __attribute__((tls_model("initial-exec")));

pid_t sf_tid_slow(void)
{
	pid_t t = (pid_t)syscall(SYS_gettid);

	sf_tid_cache = t;
	return t;
}

/* The child of fork() runs with the forking thread's TLS but a new tid. */
static void sf_tid_atfork_child(void)
{
	sf_tid_cache = 0;
}

__attribute__((constructor(102))) static void sf_thread_init(void)
{
	pthread_atfork(NULL, NULL, sf_tid_atfork_child);
}
