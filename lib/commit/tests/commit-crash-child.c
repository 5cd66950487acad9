// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: helper of commit-crash: opens (recovers) the log and runs transactions in 3 threads until it is killed; each reads an earlier transaction and builds on it only if that one is visible, and records what it saw and which commits returned */
/*
 * Usage: commit-crash-child LOG STATE SEED   (SEED bit 0: write with
 * pwritev, else io_uring; bit 1: three batches flushed at once, and
 * io_uring RWF_DSYNC instead of the default linked write + fdatasync;
 * bit 2: LOG is a directory of small segments, and a fourth thread
 * checkpoints at the durable LSN every millisecond, as an engine that
 * has applied everything committed so far)
 * Exits by itself after 10 s if nobody kills it.
 */
#include "test.h"
#include "commit-crash.h"

#include <fcntl.h>

#include <syncfix.h>

static sf_clog_t *L;
static struct crash_state *S;
static uint32_t seed0;

static void *runner(void *arg)
{
	uint32_t seed = seed0 + (uint32_t)(uintptr_t)arg * 7919u;

	for (;;) {
		struct crash_payload pl = { .magic = CRASH_MAGIC };
		sf_snapshot_t snap;
		sf_txn_t *t;
		int st;

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
		if (pl.dep >= pl.id || sf_clog_txn_status(L, pl.dep, &snap, &st)
		    || st != SF_TXN_COMMITTED)
			pl.dep = 0;
		else
			__atomic_store_n(&S->seen[pl.dep], 1, __ATOMIC_RELAXED);
		pl.check = pl.id * 31 + pl.dep;
		if (sf_txn_add(t, &pl, sizeof(pl)))
			_exit(5);
		if (rnd(&seed) % 8 == 0) {
			sf_txn_rollback(t);
			continue;
		}
		if (sf_txn_commit(t, &S->commit_lsn[pl.id]))
			_exit(6);
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

	if (argc != 4)
		return 2;
	seed0 = (uint32_t)strtoul(argv[3], NULL, 0);
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
				 .segment_size = seed0 & 4 ? CRASH_SEG : 0,
				 .id_reserve = CRASH_ID_RESERVE },
			 &L, NULL))
		return 2;
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, runner, (void *)(uintptr_t)i);
	if (seed0 & 4)
		pthread_create(&th[3], NULL, checkpointer, NULL);
	__atomic_store_n(&S->ready, 1, __ATOMIC_RELEASE);
	sleep_ms(10000);
	_exit(0);
}
