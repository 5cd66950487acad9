// SPDX-License-Identifier: GPL-2.0
/*
 * waitgraph.c - who waits for whom: syncfixctl waiters --graph and
 * syncfixctl deadlocks, from /proc/syncfix/waiters.
 *
 * Each line of the list is a thread blocked in /dev/syncfix, and its owner
 * column says what holds the lock it waits for, as the thread saw it just
 * before it slept (kmod/waitwake.c): a thread ("tid:N"), a thread that has
 * exited ("exited:N"), readers, a holder id such as a lock manager's
 * transaction ("id:N", matched against the self column "id:N" of the
 * waiters of the same process and tag), or the lock a condition variable's
 * waiter takes again after its signal.
 *
 * The graph.  A thread waits in at most one place, so each waiter has at
 * most one successor: the waiter the owner column names (the line of
 * thread N, or the waiter of the same process and tag whose self id is N).
 * Following successors from any waiter either ends (at a holder that is
 * not blocked in syncfix, an exited owner, readers, a condition variable,
 * nothing said) or comes back to a waiter already on the path: a cycle,
 * which is a deadlock.  One walk per waiter with the usual three colours
 * finds every cycle once, in time linear in the number of waiters.
 *
 * Snapshots.  The list is read one bucket at a time, and an owner column
 * is what a waiter saw before it slept, so one reading may show a cycle
 * that was never whole (a lock handed on while the list was read).
 * deadlocks therefore reads the list twice, @settle_ms apart, and reports
 * only the cycles of the second reading whose every wait is in the first
 * one too: the same thread, the same word, the same owner, and waited at
 * least as long.  A real deadlock never changes; a passing one is gone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "waitgraph.h"

#define EXIT_NO_MODULE	4	/* as syncfixctl.c's */

/* "PREFIX:N" at @s: N in *@v.  Returns 1 if @s has that form. */
static int prefixed(const char *s, const char *prefix, int base, uint64_t *v)
{
	size_t n = strlen(prefix);
	char *end;

	if (strncmp(s, prefix, n) || !s[n])
		return 0;
	errno = 0;
	*v = strtoull(s + n, &end, base);
	return !errno && !*end;
}

int wg_parse_owner(struct waiter *w)
{
	const char *o = w->owner;
	uint64_t v = 0;

	w->owner_val = 0;
	if (!strcmp(o, "-"))
		w->kind = WG_NONE;
	else if (!strcmp(o, "tid:?"))
		w->kind = WG_HIDDEN;
	else if (prefixed(o, "tid:", 10, &v))
		w->kind = WG_TID;
	else if (prefixed(o, "exited:", 10, &v))
		w->kind = WG_EXITED;
	else if (!strcmp(o, "readers") || prefixed(o, "readers:", 10, &v))
		w->kind = WG_READERS;
	else if (prefixed(o, "id:", 10, &v))
		w->kind = WG_ID;
	else if (prefixed(o, "lock:0x", 16, &v))
		w->kind = WG_LOCK;
	else
		return -1;
	w->owner_val = v;
	w->has_self = prefixed(w->self, "id:", 10, &w->self_id);
	return w->has_self || !strcmp(w->self, "-") ? 0 : -1;
}

/* The waiter that waiter @i waits for, or -1: its chain ends there. */
static int wg_next(const struct waiter *v, int n, int i)
{
	const struct waiter *w = &v[i];
	int j;

	for (j = 0; j < n; j++) {
		if (w->kind == WG_TID && (uint64_t)v[j].tid == w->owner_val)
			return j;
		if (w->kind == WG_ID && v[j].has_self && v[j].pid == w->pid &&
		    v[j].self_id == w->owner_val && !strcmp(v[j].tag, w->tag))
			return j;
	}
	return -1;
}

struct wg {
	struct waiter *v;
	int n;
	int *next;	/* wg_next() of each waiter */
	int *cycle;	/* the cycle a waiter is on (1, 2, ...), or 0 */
	int ncycles;
};

static void wg_free(struct wg *g)
{
	free(g->v);
	free(g->next);
	free(g->cycle);
}

/* Read the list and find the cycles.  Returns 0 or -errno. */
static int wg_build(struct wg *g)
{
	int *colour, *path, i, k, len;

	memset(g, 0, sizeof(*g));
	g->n = waiters_read(&g->v);
	if (g->n < 0)
		return g->n;
	g->next = calloc(g->n + 1, sizeof(int));
	g->cycle = calloc(g->n + 1, sizeof(int));
	colour = calloc(g->n + 1, sizeof(int));
	path = calloc(g->n + 1, sizeof(int));
	if (!g->next || !g->cycle || !colour || !path) {
		free(colour);
		free(path);
		wg_free(g);
		return -ENOMEM;
	}
	for (i = 0; i < g->n; i++)
		g->next[i] = wg_next(g->v, g->n, i);
	/* 0: not seen, 1: on the current path, 2: done. */
	for (i = 0; i < g->n; i++) {
		len = 0;
		for (k = i; k >= 0 && !colour[k]; k = g->next[k]) {
			colour[k] = 1;
			path[len++] = k;
		}
		if (k >= 0 && colour[k] == 1) {
			int c = k;

			g->ncycles++;
			do {
				g->cycle[c] = g->ncycles;
				c = g->next[c];
			} while (c != k);
		}
		while (len)
			colour[path[--len]] = 2;
	}
	free(colour);
	free(path);
	return 0;
}

static int wg_open(struct wg *g, const char *prog)
{
	int r = wg_build(g);

	if (r == -ENOENT) {
		fprintf(stderr, "%s: /proc/syncfix/waiters absent: syncfix.ko "
			"is not loaded\n", prog);
		return EXIT_NO_MODULE;
	}
	if (r) {
		fprintf(stderr, "%s: /proc/syncfix/waiters: %s\n", prog,
			strerror(-r));
		return EXIT_FAILURE;
	}
	return 0;
}

/* How a chain that ends at waiter @w ends: what holds its lock. */
static void wg_end_text(const struct waiter *w, char *buf, size_t size)
{
	switch (w->kind) {
	case WG_TID:
	case WG_ID:
		snprintf(buf, size, "held by %s %" PRIu64 ", not blocked in "
			 "syncfix%s", w->kind == WG_TID ? "tid" : "id",
			 w->owner_val, w->kind == WG_TID ?
			 " (running, or waiting for something else)" : "");
		break;
	case WG_EXITED:
		snprintf(buf, size, "held by tid %" PRIu64 ", which exited "
			 "holding it (stale owner)", w->owner_val);
		break;
	case WG_HIDDEN:
		snprintf(buf, size, "held by a thread outside this pid "
			 "namespace");
		break;
	case WG_READERS:
		if (w->owner_val)
			snprintf(buf, size, "held by %" PRIu64 " reader%s",
				 w->owner_val, w->owner_val == 1 ? "" : "s");
		else
			snprintf(buf, size, "held by readers");
		break;
	case WG_LOCK:
		snprintf(buf, size, "waits for a signal, then takes lock "
			 "0x%016" PRIx64, w->owner_val);
		break;
	default:
		snprintf(buf, size, "holder not known");
		break;
	}
}

static const char *wg_end_word(const struct waiter *w)
{
	static const char *const words[] = {
		[WG_NONE] = "unknown", [WG_TID] = "running",
		[WG_HIDDEN] = "hidden", [WG_EXITED] = "exited",
		[WG_READERS] = "readers", [WG_ID] = "running",
		[WG_LOCK] = "signal",
	};

	return words[w->kind];
}

/* One step of a chain: the waiter and what it waits on. */
static void wg_step_text(const struct waiter *w)
{
	char waited[32];

	format_wait(w->ms, waited, sizeof(waited));
	printf("tid %d (%s) %s %s", w->tid, w->comm_esc, w->tag, w->addr);
	if (w->has_self)
		printf(" as id %" PRIu64, w->self_id);
	printf(" for %s", waited);
}

static void wg_waiter_json(const struct waiter *w)
{
	printf("{\"pid\":%d,\"tid\":%d,\"comm\":", w->pid, w->tid);
	json_bytes(w->comm, w->comm_len);
	printf(",\"tag\":");
	json_str(w->tag);
	printf(",\"addr\":");
	json_str(w->addr);
	printf(",\"owner\":");
	json_str(w->owner);
	printf(",\"self\":");
	json_str(w->self);
	printf(",\"waited_ms\":%.3f,\"comm_escaped\":", w->ms);
	json_str(w->comm_esc);
	putchar('}');
}

/*
 * The chain from waiter @i: each waiter it leads to, until one without a
 * successor (then what holds its lock) or one already printed (a cycle:
 * the chain reached a deadlock, on it or leading into it).
 */
static void wg_chain(const struct wg *g, int i, int json, char *seen)
{
	char end[128];
	int k = i, steps = 0;

	memset(seen, 0, g->n);
	if (json)
		printf("{\"chain\":[");
	for (;;) {
		seen[k] = 1;
		if (json) {
			if (steps)
				putchar(',');
			wg_waiter_json(&g->v[k]);
		} else {
			printf("%s", steps ? "\n    -> " : "");
			wg_step_text(&g->v[k]);
		}
		steps++;
		if (g->next[k] < 0 || seen[g->next[k]])
			break;
		k = g->next[k];
	}
	if (g->next[k] >= 0) {
		if (json)
			printf("],\"end\":\"deadlock\",\"back_to\":%d}",
			       g->v[g->next[k]].tid);
		else
			printf("\n    -> back to tid %d: DEADLOCK\n",
			       g->v[g->next[k]].tid);
		return;
	}
	wg_end_text(&g->v[k], end, sizeof(end));
	if (json) {
		printf("],\"end\":");
		json_str(wg_end_word(&g->v[k]));
		printf(",\"end_text\":");
		json_str(end);
		putchar('}');
	} else {
		printf("\n    -> %s\n", end);
	}
}

int wg_graph(int json)
{
	struct wg g;
	char *seen;
	int i, r = wg_open(&g, "syncfixctl");

	if (r)
		return r;
	seen = malloc(g.n + 1);
	if (!seen) {
		wg_free(&g);
		return EXIT_FAILURE;
	}
	if (json)
		printf("{\"time\":%lld,\"chains\":[", (long long)time(NULL));
	for (i = 0; i < g.n; i++) {
		if (json && i)
			putchar(',');
		wg_chain(&g, i, json, seen);
	}
	free(seen);
	if (json)
		printf("],\"deadlocks\":%d}\n", g.ncycles);
	else
		printf("%d waiter%s, %d deadlock%s\n", g.n, g.n == 1 ? "" : "s",
		       g.ncycles, g.ncycles == 1 ? "" : "s");
	wg_free(&g);
	return fflush(stdout) || ferror(stdout) ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Is waiter @w's wait in @old too, and no younger there? */
static int wg_same_wait(const struct wg *old, const struct waiter *w)
{
	int j;

	for (j = 0; j < old->n; j++) {
		const struct waiter *o = &old->v[j];

		if (o->tid == w->tid && !strcmp(o->addr, w->addr) &&
		    !strcmp(o->owner, w->owner) && !strcmp(o->self, w->self) &&
		    o->ms <= w->ms)
			return old->cycle[j] != 0;
	}
	return 0;
}

int wg_deadlocks(int json, double settle_ms)
{
	struct wg first, g;
	struct timespec ts;
	int c, i, found = 0, twice = 0, r;

	r = wg_open(&first, "syncfixctl");
	if (r)
		return r;
	g = first;
	if (first.ncycles && settle_ms > 0) {
		twice = 1;
		ts.tv_sec = (time_t)(settle_ms / 1000);
		ts.tv_nsec = (long)((settle_ms - ts.tv_sec * 1000.0) * 1e6);
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		r = wg_open(&g, "syncfixctl");
		if (r) {
			wg_free(&first);
			return r;
		}
	}
	if (json)
		printf("{\"time\":%lld,\"deadlocks\":[", (long long)time(NULL));
	for (c = 1; c <= g.ncycles; c++) {
		int stands = 1, members = 0;

		for (i = 0; i < g.n; i++)
			if (g.cycle[i] == c) {
				members++;
				stands &= !twice ||
					  wg_same_wait(&first, &g.v[i]);
			}
		if (!stands || !members)
			continue;
		if (json) {
			printf("%s{\"threads\":[", found ? "," : "");
		} else {
			printf("deadlock %d: %d thread%s\n", found + 1, members,
			       members == 1 ? "" : "s");
		}
		members = 0;
		for (i = 0; i < g.n; i++) {
			if (g.cycle[i] != c)
				continue;
			if (json) {
				if (members++)
					putchar(',');
				wg_waiter_json(&g.v[i]);
			} else {
				printf("  pid %d ", g.v[i].pid);
				wg_step_text(&g.v[i]);
				printf(", held by %s\n", g.v[i].owner);
			}
		}
		if (json)
			printf("]}");
		found++;
	}
	if (json)
		printf("]}\n");
	else
		printf("%d deadlock%s\n", found, found == 1 ? "" : "s");
	if (twice)
		wg_free(&first);
	wg_free(&g);
	if (fflush(stdout) || ferror(stdout))
		return EXIT_FAILURE;
	return found ? EXIT_DEADLOCK : EXIT_SUCCESS;
}
