// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: ThreadSanitizer sees syncfix locks: correctly locked code is clean, while an unlocked race, a race under read locks and an inverted lock order are reported */
/*
 * Only meaningful in the tsan variant (skipped elsewhere).  Each scenario
 * runs in a child process (this program re-executed); the parent checks
 * the child's exit status (TSAN exits 66 after a report) and its stderr.
 */
#include "test.h"

#include <syncfix.h>

static sf_mutex_t ma = SF_MUTEX_INITIALIZER, mb = SF_MUTEX_INITIALIZER;
static sf_rwlock_t rw = SF_RWLOCK_INITIALIZER;
static long shared_counter;
static struct sync_point sp = SYNC_POINT_INIT;

static void *racer(void *p)
{
	long i, n = (long)(intptr_t)p;

	for (i = 0; i < n; i++)
		shared_counter++;		/* no lock: a race */
	return NULL;
}

static void *rd_writer(void *p)
{
	(void)p;
	sf_rwlock_rdlock(&rw);
	shared_counter++;			/* a write under a read lock */
	sf_rwlock_unlock(&rw);
	return NULL;
}

static void *ab(void *p)
{
	(void)p;
	sf_mutex_lock(&ma);
	sf_mutex_lock(&mb);
	sf_mutex_unlock(&mb);
	sf_mutex_unlock(&ma);
	sync_set(&sp, 1);
	return NULL;
}

static void *ba(void *p)
{
	(void)p;
	sync_wait(&sp, 1);			/* never an actual deadlock */
	sf_mutex_lock(&mb);
	sf_mutex_lock(&ma);
	sf_mutex_unlock(&ma);
	sf_mutex_unlock(&mb);
	return NULL;
}

static void *clean_worker(void *p)
{
	long i, v;

	(void)p;
	for (i = 0; i < 2000; i++) {
		sf_mutex_lock(&ma);
		shared_counter++;
		sf_mutex_unlock(&ma);
		if (i % 3) {
			sf_rwlock_rdlock(&rw);
			v = shared_counter;
			sf_rwlock_unlock(&rw);
			(void)v;
		} else {
			struct timespec dl = deadline_ms(CLOCK_MONOTONIC, 100);

			if (sf_rwlock_timedwrlock(&rw, CLOCK_MONOTONIC, &dl) == 0) {
				sf_mutex_lock(&ma);
				shared_counter++;
				sf_mutex_unlock(&ma);
				sf_rwlock_unlock(&rw);
			}
			if (sf_rwlock_trywrlock(&rw) == 0)
				sf_rwlock_unlock(&rw);
		}
	}
	return NULL;
}

static int scenario(const char *s)
{
	pthread_t t1, t2;
	void *(*f1)(void *), *(*f2)(void *);
	void *arg = NULL;

	if (!strcmp(s, "race")) {
		f1 = f2 = racer;
		arg = (void *)(intptr_t)1000;
	} else if (!strcmp(s, "rdlock-write")) {
		f1 = f2 = rd_writer;
	} else if (!strcmp(s, "inversion")) {
		f1 = ab;
		f2 = ba;
	} else {
		f1 = f2 = clean_worker;
	}
	pthread_create(&t1, NULL, f1, arg);
	pthread_create(&t2, NULL, f2, arg);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	return 0;
}

static void expect(const char *s, int want_report, const char *kind)
{
	static char out[65536];
	char *argv[] = { "/proc/self/exe", (char *)s, NULL };
	int st = run_capture(argv, NULL, out, sizeof(out));
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	int warned = strstr(out, "WARNING: ThreadSanitizer") != NULL;

	if (want_report) {
		ok(code == 66 && warned && strstr(out, kind),
		   "%s: reported as \"%s\" (exit %d)", s, kind, code);
	} else {
		ok(code == 0 && !warned, "%s: no report (exit %d)", s, code);
		if (warned)
			diag_block(out);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return scenario(argv[1]);
#ifndef TEST_TSAN
	skip_all("not a ThreadSanitizer build");
#endif
	watchdog_start(20);
	phase("clean");
	expect("clean", 0, NULL);
	phase("race");
	expect("race", 1, "data race");
	phase("rdlock-write");
	expect("rdlock-write", 1, "data race");
	phase("inversion");
	expect("inversion", 1, "lock-order-inversion");
	return done_testing();
}
