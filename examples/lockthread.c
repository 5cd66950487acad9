// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lockthread.c - a backup that locks its tables from a helper thread, and
 * a backup that is killed while the helper still waits for a table.
 *
 *	cc lockthread.c -lsyncfix-user
 *
 * The helper takes every table's mutex with sf_lockthread_timedlock(), so
 * a kill interrupts it even while another thread holds a table; release
 * unlocks what acquire locked.  Kill and finish never hang and release
 * runs exactly once when, and only when, acquire succeeded.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <syncfix.h>

#define NTABLES 3

struct backup {
	sf_mutex_t table[NTABLES];
	int rows[NTABLES];
	int locked;		/* tables the helper holds */
};

/* On the helper thread: lock every table, or none. */
static int lock_tables(struct sf_lockthread *lt, void *arg)
{
	struct backup *b = arg;
	int r;

	for (b->locked = 0; b->locked < NTABLES; b->locked++) {
		r = sf_lockthread_timedlock(lt, &b->table[b->locked],
					    CLOCK_MONOTONIC, NULL);
		if (r) {
			while (b->locked > 0)
				sf_mutex_unlock(&b->table[--b->locked]);
			return r;	/* ECANCELED when killed */
		}
	}
	return 0;
}

/* On the helper thread, only after lock_tables() returned 0. */
static void unlock_tables(struct sf_lockthread *lt, void *arg)
{
	struct backup *b = arg;

	(void)lt;
	while (b->locked > 0)
		sf_mutex_unlock(&b->table[--b->locked]);
}

static int run_backup(struct backup *b, int kill_it)
{
	struct sf_lockthread *lt;
	struct timespec dl;
	int r, total = 0;

	r = sf_lockthread_create(&lt, lock_tables, unlock_tables, b);
	if (!r)
		r = sf_lockthread_start(lt);
	if (r) {
		fprintf(stderr, "lockthread: start: %s\n", strerror(r));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += 50 * 1000000L;		/* 50 ms */
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	/* the normal backup waits as long as it takes; the other 50 ms */
	r = sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, kill_it ? &dl : NULL);
	if (r == 0) {
		for (int i = 0; i < NTABLES; i++)
			total += b->rows[i];
		printf("backup: copied %d rows under the helper's locks\n",
		       total);
		r = sf_lockthread_finish(lt);
	} else {
		printf("backup: no locks (%s), killing it\n", strerror(r));
		r = sf_lockthread_kill(lt);
		printf("backup: killed, acquire said: %s\n", strerror(r));
	}
	sf_lockthread_destroy(lt);
	return 0;
}

int main(void)
{
	struct backup b = { .rows = { 10, 20, 30 } };
	int bad = 0;

	for (int i = 0; i < NTABLES; i++)
		sf_mutex_init(&b.table[i], NULL);

	bad |= run_backup(&b, 0);

	/* A writer holds table 1: the helper blocks until it is killed. */
	sf_mutex_lock(&b.table[1]);
	bad |= run_backup(&b, 1);
	sf_mutex_unlock(&b.table[1]);

	/* Nothing was left locked by either backup. */
	for (int i = 0; i < NTABLES; i++) {
		if (sf_mutex_trylock(&b.table[i])) {
			fprintf(stderr, "lockthread: table %d left locked\n", i);
			bad = 1;
		} else {
			sf_mutex_unlock(&b.table[i]);
		}
	}
	return bad;
}
