// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: helper of commit-crash: opens (recovers) the log and runs transactions in 3 threads until it is killed; each reads an earlier transaction and builds on it only if that one is visible, and records what it saw and which commits returned; in the "txn" mode it also commits asynchronously and prepares */
/*
 * Usage: commit-crash-child LOG STATE SEED [txn]   (SEED bit 0: write
 * with pwritev, else io_uring; bit 1: three batches flushed at once, and
 * io_uring RWF_DSYNC instead of the default linked write + fdatasync;
 * bit 2: without txn, LOG is a directory of small segments, and a fourth
 * thread checkpoints at the durable LSN every millisecond, as an engine
 * that has applied everything committed so far; with txn, an async delay
 * of 1 ms, else 20 ms)
 * Exits by itself after 10 s if nobody kills it.
 *
 * The "txn" mode: of every 8 transactions 1 rolls back, 3 commit
 * asynchronously, 3 synchronously and 1 prepares (tag: its id), then
 * commits, rolls back or stays in doubt (its handle left open), a third
 * each.  What it saw counts (seen[]) only once the synchronous commit of
 * the transaction that saw it returned: an asynchronous commit promises
 * nothing about what it observed.  A quarter of the transactions look at
 * the earlier one with sf_clog_txn_wait (a 1 ms deadline) instead of a
 * snapshot, and an applier marks what it receives (applied[]): all of it
 * is durable.
 */
#include "test.h"
#include "commit-crash.h"

#include <fcntl.h>

#include <syncfix.h>

static sf_clog_t *L;
static struct crash_state *S;
static uint32_t seed0;
static int txn_mode;

static void applied_cb(void *arg, const struct sf_commit_txn *t)
{
	(void)arg;
	if (t->id < CRASH_MAX_ID)
		__atomic_store_n(&S->applied[t->id], 1, __ATOMIC_RELAXED);
}

/* Is @dep committed, for the transaction that reads it (@snap, @how)? */
static int sees(uint64_t dep, const sf_snapshot_t *snap, uint32_t how)
{
	struct timespec dl;
	int st = -1;

	if (!txn_mode || how % 4) {
		if (sf_clog_txn_status(L, dep, snap, &st))
			return 0;
		return st == SF_TXN_COMMITTED;
	}
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	return sf_clog_txn_wait(L, dep, CLOCK_MONOTONIC, &dl, &st) == 0 &&
	       st == SF_TXN_COMMITTED;
}

static void set_flag(uint64_t id, uint8_t f)
{
	__atomic_fetch_or(&S->flags[id], f, __ATOMIC_RELAXED);
}

/*
 * The "txn" mode's end of transaction @t (its payload @pl): 1 if it
 * committed synchronously (what it saw then counts), else 0.
 */
static int txn_end(sf_txn_t *t, const struct crash_payload *pl, uint32_t r)
{
	uint64_t lsn = 0;

	if (r % 8 >= 5) {
		if (sf_txn_commit_async(t, &lsn))
			_exit(6);
		__atomic_store_n(&S->lsn[pl->id], lsn, __ATOMIC_RELAXED);
		set_flag(pl->id, CF_ASYNC);
		return 0;
	}
	if (r % 8 == 4) {
		if (sf_txn_prepare(t, &pl->id, sizeof(pl->id)))
			_exit(7);
		set_flag(pl->id, CF_PREPARED);
		if (r / 8 % 3 == 0)
			return 0;	/* stays in doubt */
		if (r / 8 % 3 == 1) {
			set_flag(pl->id, CF_ROLLING_BACK);
			if (sf_txn_rollback(t))
				_exit(8);
			return 0;
		}
		set_flag(pl->id, CF_COMMITTING);
	}
	if (sf_txn_commit(t, &lsn))
		_exit(6);
	__atomic_store_n(&S->lsn[pl->id], lsn, __ATOMIC_RELAXED);
	return 1;
}

static void *runner(void *arg)
{
	uint32_t seed = seed0 + (uint32_t)(uintptr_t)arg * 7919u;

	for (;;) {
		struct crash_payload pl = { .magic = CRASH_MAGIC };
		sf_snapshot_t snap;
		sf_txn_t *t;
		uint32_t r;

		if (sf_txn_begin(L, &t))
			_exit(3);
		pl.id = sf_txn_id(t);
		if (pl.id >= CRASH_MAX_ID)
			_exit(4);
		for (uint64_t m = __atomic_load_n(&S->max_id, __ATOMIC_RELAXED);
		     m < pl.id && !__atomic_compare_exchange_n(&S->max_id, &m,
			pl.id, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);)
			;
		/* Read a recent transaction; build on it only if visible. */
		sf_clog_snapshot(L, &snap);
		pl.dep = pl.id - 1 - rnd(&seed) % 4;
		if (pl.dep >= pl.id || !sees(pl.dep, &snap, rnd(&seed)))
			pl.dep = 0;
		else if (!txn_mode)
			__atomic_store_n(&S->seen[pl.dep], 1, __ATOMIC_RELAXED);
		pl.check = pl.id * 31 + pl.dep;
		if (sf_txn_add(t, &pl, sizeof(pl)))
			_exit(5);
		r = rnd(&seed);
		if (r % 8 == 0) {
			sf_txn_rollback(t);
			continue;
		}
		if (txn_mode && !txn_end(t, &pl, r))
			continue;
		if (!txn_mode && sf_txn_commit(t, &S->commit_lsn[pl.id]))
			_exit(6);
		if (txn_mode && pl.dep)
			__atomic_store_n(&S->seen[pl.dep], 1, __ATOMIC_RELAXED);
		__atomic_store_n(&S->returned[pl.id], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * The engine's checkpoints: it has applied every transaction committed
 * below the durable LSN (commit-crash checks what returned against the
 * checkpoint recovery finds, which is at least the last acknowledged).
 */
static void *checkpointer(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t lsn = sf_clog_durable_lsn(L);

		if (sf_clog_checkpoint(L, lsn))
			_exit(7);
		__atomic_store_n(&S->ckpt_lsn, lsn, __ATOMIC_RELEASE);
		sleep_ms(1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[4];
	int fd;

	if (argc != 4 && argc != 5)
		return 2;
	seed0 = (uint32_t)strtoul(argv[3], NULL, 0);
	txn_mode = argc == 5 && !strcmp(argv[4], "txn");
	fd = open(argv[2], O_RDWR);
	S = fd < 0 ? MAP_FAILED : mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE,
				       MAP_SHARED, fd, 0);
	if (S == MAP_FAILED)
		return 2;
	if (sf_clog_open(argv[1], &(struct sf_clog_options){
				 .buffer_size = CRASH_BUF,
				 .io = seed0 & 1 ? SF_CLOG_IO_URING_LINKED :
				       seed0 & 2 ? SF_CLOG_IO_URING_DSYNC
						 : SF_CLOG_IO_AUTO,
				 .max_flushes = seed0 & 2 ? 3 : 1,
				 .async_delay_us = txn_mode && (seed0 & 4) ?
						   1000 : 20000,
				 .segment_size = !txn_mode && (seed0 & 4) ?
						 CRASH_SEG : 0,
				 .id_reserve = CRASH_ID_RESERVE },
			 &L, NULL))
		return 2;
	if (txn_mode && sf_clog_add_applier(L, applied_cb, NULL))
		return 2;
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, runner, (void *)(uintptr_t)i);
	if (!txn_mode && (seed0 & 4))
		pthread_create(&th[3], NULL, checkpointer, NULL);
	__atomic_store_n(&S->ready, 1, __ATOMIC_RELEASE);
	sleep_ms(10000);
	_exit(0);
}
