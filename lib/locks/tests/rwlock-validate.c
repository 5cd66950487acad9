// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: sf_rwlock under contention, every kind: random mix of read/write lock, try and timed variants, recursive reads; writer alone and reader count checked inside every critical section */
#include "test.h"

#include <syncfix.h>

#define NTHREADS 8

static const char *const kind_name[] = { "prefer-reader", "prefer-writer",
					 "nonrecursive" };

static sf_rwlock_t l;
static int kind;
static int writers, readers;	/* threads inside (atomic) */
static long counter;		/* plain: written under the write lock only */
static long wr_acq, rd_acq, failed, violations;
static long iters;

static void bad(void)
{
	__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
}

static void write_section(uint32_t *seed)
{
	int spin = (int)(rnd(seed) % 32), i;

	if (__atomic_fetch_add(&writers, 1, __ATOMIC_RELAXED) != 0 ||
	    __atomic_load_n(&readers, __ATOMIC_RELAXED) != 0)
		bad();
	counter++;
	for (i = 0; i < spin; i++)
		sf_cpu_relax_test();
	if (__atomic_load_n(&writers, __ATOMIC_RELAXED) != 1 ||
	    __atomic_load_n(&readers, __ATOMIC_RELAXED) != 0)
		bad();
	__atomic_fetch_sub(&writers, 1, __ATOMIC_RELAXED);
}

static void read_section(uint32_t *seed, int depth)
{
	int spin = (int)(rnd(seed) % 32), i;
	long c0 = counter;	/* plain read under the read lock */

	__atomic_fetch_add(&readers, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&writers, __ATOMIC_RELAXED) != 0)
		bad();
	/* Recursive read lock: must never deadlock unless nonrecursive. */
	if (depth == 0 && rnd(seed) % 8 == 0) {
		int r = kind == SF_RWLOCK_PREFER_WRITER_NONRECURSIVE ?
			sf_rwlock_tryrdlock(&l) : sf_rwlock_rdlock(&l);

		if (r == 0) {
			read_section(seed, 1);
			sf_rwlock_unlock(&l);
		} else if (r != EBUSY) {
			bad();
		}
	}
	for (i = 0; i < spin; i++)
		sf_cpu_relax_test();
	if (counter != c0 || __atomic_load_n(&writers, __ATOMIC_RELAXED) != 0)
		bad();
	__atomic_fetch_sub(&readers, 1, __ATOMIC_RELAXED);
}

static void *worker(void *p)
{
	long id = (long)(intptr_t)p, i, w = 0, rd = 0, f = 0;
	uint32_t seed = (uint32_t)id * 2654435761u + 7;
	struct timespec dl;
	clockid_t c;
	int r, op;

	for (i = 0; i < iters; i++) {
		op = (int)(rnd(&seed) % 100);
		c = (op & 1) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
		dl = deadline_ms(c, rnd(&seed) % 2);
		if (op < 35)
			r = sf_rwlock_rdlock(&l);
		else if (op < 50)
			r = sf_rwlock_tryrdlock(&l);
		else if (op < 60)
			r = sf_rwlock_timedrdlock(&l, c, &dl);
		else if (op < 80)
			r = sf_rwlock_wrlock(&l) ? -1 : 1;
		else if (op < 90)
			r = sf_rwlock_trywrlock(&l) == 0 ? 1 : EBUSY;
		else
			r = (r = sf_rwlock_timedwrlock(&l, c, &dl)) ? r : 1;

		if (r == 0) {
			read_section(&seed, 0);
			rd++;
		} else if (r == 1) {
			write_section(&seed);
			if (sf_rwlock_wrlock(&l) != EDEADLK)
				bad();
			w++;
		} else if (r == ETIMEDOUT || r == EBUSY) {
			f++;
			continue;
		} else {
			bad();
			continue;
		}
		if (sf_rwlock_unlock(&l))
			bad();
		if ((i & 255) == 0)
			progress();
	}
	__atomic_fetch_add(&wr_acq, w, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rd_acq, rd, __ATOMIC_RELAXED);
	__atomic_fetch_add(&failed, f, __ATOMIC_RELAXED);
	return NULL;
}

static void run(int k)
{
	pthread_t t[NTHREADS];
	sf_rwlockattr_t at;
	double t0;
	long i;

	kind = k;
	sf_rwlockattr_init(&at);
	sf_rwlockattr_setkind(&at, k);
	sf_rwlock_init(&l, &at);
	counter = wr_acq = rd_acq = failed = violations = 0;
	phase(kind_name[k]);
	t0 = now_mono();
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(i + 1));
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	ok(violations == 0 && counter == wr_acq,
	   "%s: %d threads, %ld writes, %ld reads, %ld timed out/busy in %.2f s; "
	   "writers alone, readers never beside a writer", kind_name[k],
	   NTHREADS, wr_acq, rd_acq, failed, now_mono() - t0);
	ok_err(sf_rwlock_destroy(&l), 0, "%s: free at the end", kind_name[k]);
}

int main(void)
{
	int k;

	iters = scaled(100000);
	watchdog_start(10);
	for (k = 0; k < 3; k++)
		run(k);
	return done_testing();
}
