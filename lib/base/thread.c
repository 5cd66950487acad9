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
sf_sync_hook_fn sf_sync_hook;
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
