// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: sf_cond: attributes and errors, signal and broadcast, timed waits on both clocks, EPERM, destroy while waited on, process-shared across fork, both backends, the lost-wakeup interleaving forced with a sync point (and caught with the stale-sequence protocol put back), and a ping-pong and a queue under a watchdog */
/*
 * Usage: cond [CASE]...  (default: all; "lost-wakeup" alone is what the
 * "broken" case runs again with SF_TEST_BROKEN=cond-stale-seq)
 *
 * Linked against the test-hook build (the sync point "cond:unlocked").
 */
#include "test.h"

#include <sys/wait.h>

#include <syncfix.h>

static sf_mutex_t m = SF_MUTEX_INITIALIZER;
static sf_cond_t c = SF_COND_INITIALIZER;
static int pred;

static void case_attr(void)
{
	sf_condattr_t at;
	sf_cond_t x;
	int v;

	phase("attr");
	ok(sf_condattr_init(&at) == 0, "attr: init");
	ok(sf_condattr_getpshared(&at, &v) == 0 && v == SF_PROCESS_PRIVATE,
	   "attr: private by default");
	ok(sf_condattr_setpshared(&at, 7) == EINVAL, "attr: pshared 7 is EINVAL");
	ok(sf_condattr_getpshared(&at, &v) == 0 && v == SF_PROCESS_PRIVATE,
	   "attr: ... and changes nothing");
	ok(sf_condattr_setbackend(&at, 9) == EINVAL, "attr: backend 9 is EINVAL");
	ok(sf_condattr_setpshared(&at, SF_PROCESS_SHARED) == 0 &&
	   sf_condattr_setbackend(&at, SF_BACKEND_IOCTL) == 0 &&
	   sf_cond_init(&x, &at) == EINVAL,
	   "init: the ioctl backend on a process-shared cond is EINVAL");
	ok(sf_condattr_setbackend(&at, SF_BACKEND_FUTEX) == 0 &&
	   sf_cond_init(&x, &at) == 0 && sf_cond_destroy(&x) == 0,
	   "init: process-shared on futex");
	ok(sf_cond_init(&x, NULL) == 0 && sf_cond_signal(&x) == 0 &&
	   sf_cond_broadcast(&x) == 0 && sf_cond_destroy(&x) == 0,
	   "init NULL; signal and broadcast without waiters");
	sf_condattr_destroy(&at);
}

/* Waits until pred >= @want; returns how many wakeups it took. */
static int wait_for(int want)
{
	int n = 0;

	sf_mutex_lock(&m);
	while (pred < want) {
		sf_cond_wait(&c, &m);
		n++;
	}
	sf_mutex_unlock(&m);
	return n;
}

/* Returns the predicate it saw when it got out of the wait. */
static void *waiter(void *arg)
{
	int want = (int)(intptr_t)arg, seen;

	wait_for(want);
	sf_mutex_lock(&m);
	seen = pred;
	sf_mutex_unlock(&m);
	return (void *)(intptr_t)seen;
}

static void set_pred(int v, int all)
{
	sf_mutex_lock(&m);
	pred = v;
	if (all)
		sf_cond_broadcast(&c);
	else
		sf_cond_signal(&c);
	sf_mutex_unlock(&m);
}

/* Threads asleep in the cond: c.__waiters, once they are in the kernel. */
static int waiters_reach(unsigned int n)
{
	for (int i = 0; i < 5000; i++) {
		if (__atomic_load_n(&c.__waiters, __ATOMIC_ACQUIRE) >= n)
			return 1;
		sleep_ms(1);
	}
	return 0;
}

static void case_signal(void)
{
	pthread_t t[8];
	void *res;
	int i, n;

	phase("signal");
	pred = 0;
	pthread_create(&t[0], NULL, waiter, (void *)1);
	ok(waiters_reach(1), "signal: a waiter waits");
	set_pred(1, 0);
	pthread_join(t[0], &res);
	ok((intptr_t)res == 1 && c.__waiters == 0,
	   "signal: it returned, having seen the change, and left the cond");

	phase("broadcast");
	pred = 0;
	for (i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, waiter, (void *)1);
	ok(waiters_reach(8), "broadcast: 8 waiters wait");
	ok(sf_cond_destroy(&c) == EBUSY, "destroy while they wait: EBUSY");
	set_pred(1, 1);
	for (i = 0, n = 0; i < 8; i++) {
		pthread_join(t[i], &res);
		n += (intptr_t)res == 1;
	}
	ok(n == 8 && c.__waiters == 0,
	   "broadcast: all 8 returned, having seen the change (%d)", n);
	ok(sf_cond_destroy(&c) == 0 && sf_cond_init(&c, NULL) == 0,
	   "destroy once they returned: 0");
}

static void case_timed(void)
{
	static const clockid_t clocks[] = { CLOCK_MONOTONIC, CLOCK_REALTIME };
	sf_mutexattr_t ma;
	sf_mutex_t em;
	struct timespec ts;

	phase("timed");
	sf_mutexattr_init(&ma);
	sf_mutexattr_settype(&ma, SF_MUTEX_ERRORCHECK);
	sf_mutex_init(&em, &ma);
	for (int k = 0; k < 2; k++) {
		double t0 = now_mono();
		int r;

		ts = deadline_ms(clocks[k], 50);
		sf_mutex_lock(&em);
		r = sf_cond_timedwait(&c, &em, clocks[k], &ts);
		ok(r == ETIMEDOUT && now_mono() - t0 >= 0.049,
		   "timedwait on %s: ETIMEDOUT after the deadline (%.3f s)",
		   k ? "CLOCK_REALTIME" : "CLOCK_MONOTONIC", now_mono() - t0);
		ok(sf_mutex_unlock(&em) == 0, "... with the mutex held again");
	}
	ts.tv_sec = 0;
	ts.tv_nsec = 0;
	sf_mutex_lock(&em);
	ok(sf_cond_timedwait(&c, &em, CLOCK_MONOTONIC, &ts) == ETIMEDOUT,
	   "a deadline in the past: ETIMEDOUT");
	ts.tv_nsec = 1000000000;
	ok(sf_cond_timedwait(&c, &em, CLOCK_MONOTONIC, &ts) == EINVAL,
	   "tv_nsec 1e9: EINVAL");
	ts.tv_nsec = 0;
	ok(sf_cond_timedwait(&c, &em, CLOCK_PROCESS_CPUTIME_ID, &ts) == EINVAL,
	   "another clock: EINVAL");
	ok(sf_cond_timedwait(&c, &em, CLOCK_MONOTONIC, NULL) == EINVAL,
	   "no deadline: EINVAL");
	ok(sf_mutex_unlock(&em) == 0, "EINVAL released nothing");
	ok(sf_cond_wait(&c, &em) == EPERM,
	   "wait with an error-checking mutex not held: EPERM");
	ok(c.__waiters == 0, "... and nobody counted as waiting");
	sf_mutex_destroy(&em);
}

/* Process-shared: a child waits, the parent signals. */
static void case_pshared(void)
{
	struct shared {
		sf_mutex_t m;
		sf_cond_t c;
		int pred;
	} *s = shared_zalloc(sizeof(*s), "pshared");
	sf_mutexattr_t ma;
	sf_condattr_t ca;
	pid_t pid;
	int st;

	phase("pshared");
	if (!s)
		return;
	sf_mutexattr_init(&ma);
	sf_mutexattr_setpshared(&ma, SF_PROCESS_SHARED);
	sf_mutex_init(&s->m, &ma);
	sf_condattr_init(&ca);
	sf_condattr_setpshared(&ca, SF_PROCESS_SHARED);
	sf_cond_init(&s->c, &ca);
	pid = fork();
	if (pid == 0) {
		sf_mutex_lock(&s->m);
		while (!s->pred)
			sf_cond_wait(&s->c, &s->m);
		sf_mutex_unlock(&s->m);
		_exit(0);
	}
	for (int i = 0; i < 5000 && !__atomic_load_n(&s->c.__waiters,
						   __ATOMIC_ACQUIRE); i++)
		sleep_ms(1);
	sf_mutex_lock(&s->m);
	s->pred = 1;
	sf_cond_signal(&s->c);
	sf_mutex_unlock(&s->m);
	ok(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st),
	   "pshared: a child process waits, the parent's signal wakes it");
	munmap(s, sizeof(*s));
}

/*
 * The lost wakeup, forced: the waiter is held at "cond:unlocked", after
 * it released the mutex and before it sleeps; the main thread changes the
 * predicate and signals then.  The waiter must not sleep through it.
 */
static void *lost_waiter(void *arg)
{
	(void)arg;
	dsync_thread("W");
	wait_for(1);
	dsync_signal("w-back");
	return NULL;
}

static void case_lost_wakeup(void)
{
	pthread_t t;

	phase("lost-wakeup");
	pred = 0;
	dsync_reset();
	dsync_arm("cond:unlocked", "W", "w-unlocked", "go", 1);
	pthread_create(&t, NULL, lost_waiter, NULL);
	ok(dsync_wait_for("w-unlocked", 5000),
	   "lost-wakeup: the waiter released the mutex, not asleep yet");
	set_pred(1, 0);			/* the signal, in the window */
	dsync_signal("go");
	ok(dsync_wait_for("w-back", 3000),
	   "lost-wakeup: the signal given in the window wakes it");
	/* A broken protocol leaves it asleep: wake it to end the test. */
	set_pred(1, 1);
	pthread_join(t, NULL);
}

/* The same case with the stale-sequence protocol put back must fail. */
static void case_broken(void)
{
	char *args[] = { "lost-wakeup", NULL };

	phase("broken");
	ok(self_fails_broken("cond", args, "cond-stale-seq",
			     "the signal given in the window wakes it"),
	   "broken: with SF_TEST_BROKEN=cond-stale-seq the lost-wakeup case "
	   "fails");
}

/* Ping-pong: every handoff depends on a wakeup not being lost. */
static sf_cond_t turn_c = SF_COND_INITIALIZER;
static int turn;

static void *player(void *arg)
{
	int me = (int)(intptr_t)arg, n = (int)scaled(20000);

	for (int i = 0; i < n; i++) {
		sf_mutex_lock(&m);
		while ((turn & 1) != me)
			sf_cond_wait(&turn_c, &m);
		turn++;
		sf_cond_signal(&turn_c);
		sf_mutex_unlock(&m);
		progress();
	}
	return NULL;
}

static void case_pingpong(int backend)
{
	sf_condattr_t at;
	pthread_t t[2];

	phase(backend == SF_BACKEND_IOCTL ? "pingpong-ioctl" : "pingpong-futex");
	sf_condattr_init(&at);
	sf_condattr_setbackend(&at, backend);
	sf_cond_init(&turn_c, &at);
	turn = 0;
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, player, (void *)(intptr_t)i);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ok(turn == 2 * (int)scaled(20000), "ping-pong (backend attribute %s, "
	   "sleeping in %s): %d handoffs, none lost",
	   backend == SF_BACKEND_IOCTL ? "ioctl" : "futex",
	   sf_backend_name(backend), turn);
}

/* A bounded queue: 4 producers, 4 consumers, two conds. */
#define QCAP	8
static struct {
	int buf[QCAP], head, tail, n;
	long sum;
	sf_cond_t not_empty, not_full;
} q = { .not_empty = SF_COND_INITIALIZER, .not_full = SF_COND_INITIALIZER };

static void *producer(void *arg)
{
	int n = (int)scaled(5000);

	(void)arg;
	for (int i = 1; i <= n; i++) {
		sf_mutex_lock(&m);
		while (q.n == QCAP)
			sf_cond_wait(&q.not_full, &m);
		q.buf[q.tail] = i;
		q.tail = (q.tail + 1) % QCAP;
		q.n++;
		sf_cond_signal(&q.not_empty);
		sf_mutex_unlock(&m);
		progress();
	}
	return NULL;
}

static void *consumer(void *arg)
{
	int n = (int)scaled(5000);

	(void)arg;
	for (int i = 0; i < n; i++) {
		sf_mutex_lock(&m);
		while (q.n == 0)
			sf_cond_wait(&q.not_empty, &m);
		q.sum += q.buf[q.head];
		q.head = (q.head + 1) % QCAP;
		q.n--;
		sf_cond_signal(&q.not_full);
		sf_mutex_unlock(&m);
	}
	return NULL;
}

static void case_queue(void)
{
	pthread_t t[8];
	long n = scaled(5000);

	phase("queue");
	for (int i = 0; i < 4; i++) {
		pthread_create(&t[i], NULL, producer, NULL);
		pthread_create(&t[4 + i], NULL, consumer, NULL);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	ok(q.sum == 4 * n * (n + 1) / 2 && q.n == 0,
	   "queue: 4 producers, 4 consumers, every item once (%ld)", q.sum);
}

static void case_pingpongs(void)
{
	case_pingpong(SF_BACKEND_FUTEX);
	case_pingpong(SF_BACKEND_IOCTL);
}

static const struct test_case cases[] = {
	{ "attr", case_attr, 0 },
	{ "signal", case_signal, 0 },
	{ "timed", case_timed, 0 },
	{ "pshared", case_pshared, 0 },
	{ "lost-wakeup", case_lost_wakeup, 0 },
	{ "broken", case_broken, 0 },
	{ "pingpong", case_pingpongs, 0 },
	{ "queue", case_queue, 0 },
};

int main(int argc, char **argv)
{
	watchdog_start(30);
	run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
	return done_testing();
}
