// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: sf_mutex under contention: random mix of lock, trylock and timedlock on both clocks; mutual exclusion checked inside every critical section */
#include "test.h"

#include <syncfix.h>

#define NTHREADS 8

static sf_mutex_t m;
static int inside;		/* threads in the critical section (atomic) */
static long holder;		/* id of the thread inside (atomic) */
static long counter;		/* plain: protected by m only */
static long acquired, timeouts, busy, violations;

static void critical(long id, uint32_t *seed)
{
	int spin = (int)(rnd(seed) % 32), i;

	if (__atomic_fetch_add(&inside, 1, __ATOMIC_RELAXED) != 0)
		__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&holder, id, __ATOMIC_RELAXED);
	counter++;
	for (i = 0; i < spin; i++)
		sf_cpu_relax_test();
	if (__atomic_load_n(&holder, __ATOMIC_RELAXED) != id)
		__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&inside, 1, __ATOMIC_RELAXED);
}

static long iters;
static int errorcheck;

static void *worker(void *p)
{
	long id = (long)(intptr_t)p, i, mine = 0, to = 0, eb = 0;
	uint32_t seed = (uint32_t)id * 2654435761u + 1;
	struct timespec dl;
	int r, op;

	for (i = 0; i < iters; i++) {
		op = (int)(rnd(&seed) % 100);
		if (op < 50) {
			r = sf_mutex_lock(&m);
		} else if (op < 70) {
			r = sf_mutex_trylock(&m);
		} else {
			clockid_t c = op < 85 ? CLOCK_MONOTONIC : CLOCK_REALTIME;

			dl = deadline_ms(c, rnd(&seed) % 2);
			r = sf_mutex_timedlock(&m, c, &dl);
		}
		if (r == 0) {
			critical(id, &seed);
			if (errorcheck && sf_mutex_lock(&m) != EDEADLK)
				__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
			if (sf_mutex_unlock(&m))
				__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
			mine++;
		} else if (r == ETIMEDOUT) {
			to++;
		} else if (r == EBUSY) {
			eb++;
		} else {
			__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
		}
		if ((i & 255) == 0)
			progress();
	}
	__atomic_fetch_add(&acquired, mine, __ATOMIC_RELAXED);
	__atomic_fetch_add(&timeouts, to, __ATOMIC_RELAXED);
	__atomic_fetch_add(&busy, eb, __ATOMIC_RELAXED);
	return NULL;
}

static void run(const char *name, int type, int pshared)
{
	pthread_t t[NTHREADS];
	sf_mutexattr_t at;
	double t0;
	long i;

	sf_mutexattr_init(&at);
	sf_mutexattr_settype(&at, type);
	sf_mutexattr_setpshared(&at, pshared);
	sf_mutex_init(&m, &at);
	errorcheck = type == SF_MUTEX_ERRORCHECK;
	counter = acquired = timeouts = busy = violations = 0;
	phase(name);
	t0 = now_mono();
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(i + 1));
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	ok(violations == 0 && counter == acquired,
	   "%s: %d threads, %ld acquired (%ld timed out, %ld busy) in %.2f s, "
	   "exclusion held, no increment lost", name, NTHREADS, acquired,
	   timeouts, busy, now_mono() - t0);
	ok_err(sf_mutex_destroy(&m), 0, "%s: free at the end", name);
}

int main(void)
{
	iters = scaled(150000);
	watchdog_start(10);
	run("normal", SF_MUTEX_NORMAL, SF_PROCESS_PRIVATE);
	run("errorcheck", SF_MUTEX_ERRORCHECK, SF_PROCESS_PRIVATE);
	run("pshared", SF_MUTEX_NORMAL, SF_PROCESS_SHARED);
	return done_testing();
}
