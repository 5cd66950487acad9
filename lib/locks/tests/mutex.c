// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: sf_mutex semantics: EBUSY, ETIMEDOUT on both clocks, EINVAL, error-checking EDEADLK/EPERM, no CPU while blocked, pshared across fork */
#include "test.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <syncfix.h>

struct holder_arg {
	sf_mutex_t *m;
	struct sync_point sp;
	long hold_ms;
	int result;
	double cpu;
	pid_t tid;
};

/* Lock, announce stage 1, hold for hold_ms, unlock. */
static void *holder(void *p)
{
	struct holder_arg *a = p;

	a->result = sf_mutex_lock(a->m);
	sync_set(&a->sp, 1);
	sleep_ms(a->hold_ms);
	sf_mutex_unlock(a->m);
	return NULL;
}

static void *unlocker(void *p)
{
	struct holder_arg *a = p;

	a->result = sf_mutex_unlock(a->m);
	return NULL;
}

static void *try_other(void *p)
{
	struct holder_arg *a = p;

	a->result = sf_mutex_trylock(a->m);
	return NULL;
}

/* Blocks in sf_mutex_lock; measures its own CPU time while blocked. */
static void *blocked_locker(void *p)
{
	struct holder_arg *a = p;
	double c0;

	a->tid = (pid_t)syscall(SYS_gettid);
	sync_set(&a->sp, 2);
	c0 = thread_cpu();
	a->result = sf_mutex_lock(a->m);
	a->cpu = thread_cpu() - c0;
	sf_mutex_unlock(a->m);
	return NULL;
}

static void test_basic(void)
{
	sf_mutex_t m = SF_MUTEX_INITIALIZER;
	struct holder_arg a = { .m = &m };
	pthread_t t;

	ok_err(sf_mutex_lock(&m), 0, "static initializer: lock");
	ok_err(sf_mutex_trylock(&m), EBUSY, "trylock by the owner: EBUSY");
	pthread_create(&t, NULL, try_other, &a);
	pthread_join(t, NULL);
	ok_err(a.result, EBUSY, "trylock by another thread: EBUSY");
	ok_err(sf_mutex_destroy(&m), EBUSY, "destroy while locked: EBUSY");
	ok_err(sf_mutex_unlock(&m), 0, "unlock");
	ok_err(sf_mutex_unlock(&m), EPERM, "unlock of an unlocked mutex: EPERM");
	ok_err(sf_mutex_trylock(&m), 0, "trylock of a free mutex");
	ok_err(sf_mutex_unlock(&m), 0, "unlock after trylock");
	ok_err(sf_mutex_destroy(&m), 0, "destroy");
}

static void test_attr(void)
{
	sf_mutexattr_t at;
	sf_mutex_t m;
	int v;

	ok_err(sf_mutexattr_init(&at), 0, "attr init");
	ok_err(sf_mutexattr_settype(&at, 7), EINVAL, "settype(7): EINVAL");
	ok_err(sf_mutexattr_setpshared(&at, 5), EINVAL, "setpshared(5): EINVAL");
	sf_mutexattr_settype(&at, SF_MUTEX_ERRORCHECK);
	sf_mutexattr_gettype(&at, &v);
	ok(v == SF_MUTEX_ERRORCHECK, "gettype returns what settype set");
	sf_mutexattr_setpshared(&at, SF_PROCESS_SHARED);
	sf_mutexattr_getpshared(&at, &v);
	ok(v == SF_PROCESS_SHARED, "getpshared returns what setpshared set");
	at.__type = 9;
	ok_err(sf_mutex_init(&m, &at), EINVAL, "init with a corrupt attr: EINVAL");
	sf_mutexattr_destroy(&at);

	/* The backend attribute. */
	sf_mutexattr_init(&at);
	sf_mutexattr_getbackend(&at, &v);
	ok(v == SF_BACKEND_DEFAULT, "default backend is SF_BACKEND_DEFAULT");
	ok_err(sf_mutexattr_setbackend(&at, 3), EINVAL, "setbackend(3): EINVAL");
	ok_err(sf_mutexattr_setbackend(&at, -1), EINVAL, "setbackend(-1): EINVAL");
	sf_mutexattr_getbackend(&at, &v);
	ok(v == SF_BACKEND_DEFAULT, "a refused setbackend changed nothing");
	ok_err(sf_mutexattr_setbackend(&at, SF_BACKEND_IOCTL), 0,
	       "setbackend(SF_BACKEND_IOCTL)");
	sf_mutexattr_getbackend(&at, &v);
	ok(v == SF_BACKEND_IOCTL, "getbackend returns what setbackend set");
	sf_mutexattr_setpshared(&at, SF_PROCESS_SHARED);
	memset(&m, 0x5a, sizeof(m));
	ok_err(sf_mutex_init(&m, &at), EINVAL,
	       "init: ioctl backend with a process-shared mutex: EINVAL");
	ok(((unsigned char *)&m)[0] == 0x5a && ((unsigned char *)&m)[15] == 0x5a,
	   "the refused init did not touch the mutex");
	sf_mutexattr_setpshared(&at, SF_PROCESS_PRIVATE);
	ok_err(sf_mutex_init(&m, &at), 0, "init with the ioctl backend");
	ok_err(sf_mutex_lock(&m), 0, "lock");
	ok_err(sf_mutex_unlock(&m), 0, "unlock");
	ok_err(sf_mutex_destroy(&m), 0, "destroy");
	sf_mutexattr_setbackend(&at, SF_BACKEND_FUTEX);
	sf_mutexattr_setpshared(&at, SF_PROCESS_SHARED);
	ok_err(sf_mutex_init(&m, &at), 0, "futex backend with a process-shared mutex");
	ok(sf_backend_name(SF_BACKEND_FUTEX) &&
	   !strcmp(sf_backend_name(SF_BACKEND_FUTEX), "futex"),
	   "sf_backend_name(SF_BACKEND_FUTEX) is \"futex\"");
	ok(sf_backend_name(7) == NULL, "sf_backend_name(7) is NULL");
	/* Without /dev/syncfix the ioctl backend falls back to futex. */
	if (access("/dev/syncfix", F_OK))
		ok(sf_backend_name(SF_BACKEND_IOCTL) &&
		   !strcmp(sf_backend_name(SF_BACKEND_IOCTL), "futex"),
		   "no /dev/syncfix: SF_BACKEND_IOCTL resolves to futex");
	sf_mutexattr_destroy(&at);
}

static void test_timed(clockid_t clk, const char *cname)
{
	sf_mutex_t m = SF_MUTEX_INITIALIZER;
	struct holder_arg a = { .m = &m, .sp = SYNC_POINT_INIT, .hold_ms = 400 };
	struct timespec dl;
	pthread_t t;
	double t0, el;

	pthread_create(&t, NULL, holder, &a);
	sync_wait(&a.sp, 1);
	dl = deadline_ms(clk, 100);
	t0 = now_mono();
	ok_err(sf_mutex_timedlock(&m, clk, &dl), ETIMEDOUT,
	       "timedlock on %s, held elsewhere: ETIMEDOUT", cname);
	el = now_mono() - t0;
	ok(el >= 0.095 && el < 0.390, "%s: gave up at the deadline (%.0f ms)",
	   cname, el * 1e3);
	dl = deadline_ms(clk, -1000);
	ok_err(sf_mutex_timedlock(&m, clk, &dl), ETIMEDOUT,
	       "%s: deadline in the past, held: ETIMEDOUT", cname);
	dl.tv_sec = -1;
	dl.tv_nsec = 0;
	ok_err(sf_mutex_timedlock(&m, clk, &dl), ETIMEDOUT,
	       "%s: negative tv_sec, held: ETIMEDOUT", cname);
	dl = deadline_ms(clk, 5000);
	ok_err(sf_mutex_timedlock(&m, clk, &dl), 0,
	       "%s: acquired when the holder unlocks before the deadline", cname);
	sf_mutex_unlock(&m);
	pthread_join(t, NULL);
	dl = deadline_ms(clk, -1000);
	ok_err(sf_mutex_timedlock(&m, clk, &dl), 0,
	       "%s: past deadline on a free mutex: acquired", cname);
	sf_mutex_unlock(&m);
}

static void test_einval(void)
{
	sf_mutex_t m = SF_MUTEX_INITIALIZER;
	struct timespec dl = deadline_ms(CLOCK_MONOTONIC, 100);

	dl.tv_nsec = 1000000000L;
	ok_err(sf_mutex_timedlock(&m, CLOCK_MONOTONIC, &dl), EINVAL,
	       "tv_nsec = 1e9: EINVAL");
	dl.tv_nsec = -1;
	ok_err(sf_mutex_timedlock(&m, CLOCK_REALTIME, &dl), EINVAL,
	       "tv_nsec = -1: EINVAL");
	dl = deadline_ms(CLOCK_MONOTONIC, 100);
	ok_err(sf_mutex_timedlock(&m, CLOCK_PROCESS_CPUTIME_ID, &dl), EINVAL,
	       "CLOCK_PROCESS_CPUTIME_ID: EINVAL");
	ok_err(sf_mutex_timedlock(&m, CLOCK_MONOTONIC, NULL), EINVAL,
	       "NULL deadline: EINVAL");
	ok(sf_mutex_trylock(&m) == 0 && sf_mutex_unlock(&m) == 0,
	   "EINVAL left the mutex unlocked");
}

static void test_errorcheck(void)
{
	sf_mutex_t m = SF_MUTEX_ERRORCHECK_INITIALIZER;
	struct holder_arg a = { .m = &m };
	struct timespec dl = deadline_ms(CLOCK_MONOTONIC, 100);
	sf_mutexattr_t at;
	sf_mutex_t m2;
	pthread_t t;

	ok_err(sf_mutex_lock(&m), 0, "errorcheck: lock");
	ok_err(sf_mutex_lock(&m), EDEADLK, "errorcheck: relock by the owner: EDEADLK");
	ok_err(sf_mutex_timedlock(&m, CLOCK_MONOTONIC, &dl), EDEADLK,
	       "errorcheck: timedlock by the owner: EDEADLK");
	ok_err(sf_mutex_trylock(&m), EBUSY, "errorcheck: trylock by the owner: EBUSY");
	pthread_create(&t, NULL, unlocker, &a);
	pthread_join(t, NULL);
	ok_err(a.result, EPERM, "errorcheck: unlock by a non-owner: EPERM");
	ok_err(sf_mutex_unlock(&m), 0, "errorcheck: unlock by the owner");
	ok_err(sf_mutex_unlock(&m), EPERM, "errorcheck: unlock when unlocked: EPERM");

	sf_mutexattr_init(&at);
	sf_mutexattr_settype(&at, SF_MUTEX_ERRORCHECK);
	ok_err(sf_mutex_init(&m2, &at), 0, "errorcheck via attr: init");
	sf_mutex_lock(&m2);
	ok_err(sf_mutex_lock(&m2), EDEADLK, "errorcheck via attr: EDEADLK");
	sf_mutex_unlock(&m2);
	sf_mutex_destroy(&m2);
}

static void test_nospin(void)
{
	sf_mutex_t m = SF_MUTEX_INITIALIZER;
	struct holder_arg a = { .m = &m, .sp = SYNC_POINT_INIT };
	pthread_t t;
	int slept = 0, i;

	sf_mutex_lock(&m);
	pthread_create(&t, NULL, blocked_locker, &a);
	sync_wait(&a.sp, 2);
	for (i = 0; i < 100 && !slept; i++) {
		sleep_ms(10);
		slept = tid_sleeping(a.tid);
	}
	ok(slept, "a blocked locker sleeps in the kernel");
	sleep_ms(500);
	sf_mutex_unlock(&m);
	pthread_join(t, NULL);
	ok(a.result == 0 && a.cpu < 0.050,
	   "a locker blocked for 0.5 s used %.1f ms of CPU (< 50)", a.cpu * 1e3);
}

/* Process-shared: a parent and a child contend for one mutex. */
struct shared {
	sf_mutex_t m;
	long counter;
	int inside;
	int bad;
};

static void pshared_work(struct shared *s, long n)
{
	long i;

	for (i = 0; i < n; i++) {
		sf_mutex_lock(&s->m);
		if (__atomic_fetch_add(&s->inside, 1, __ATOMIC_RELAXED) != 0)
			s->bad++;
		s->counter++;
		__atomic_fetch_sub(&s->inside, 1, __ATOMIC_RELAXED);
		sf_mutex_unlock(&s->m);
	}
}

static void test_pshared(void)
{
	struct shared *s;
	sf_mutexattr_t at;
	struct timespec dl;
	long n = scaled(100000);
	int status, r;
	pid_t pid;

	s = shared_zalloc(sizeof(*s), "pshared");
	if (!s)
		return;
	sf_mutexattr_init(&at);
	sf_mutexattr_setpshared(&at, SF_PROCESS_SHARED);
	ok_err(sf_mutex_init(&s->m, &at), 0, "pshared: init");

	/* The child blocks on the parent's lock and is woken across processes. */
	/* Fork first, then lock (a lock held across fork() confuses TSAN). */
	pid = fork();
	if (pid == 0) {
		while (!__atomic_load_n(&s->inside, __ATOMIC_ACQUIRE))
			sleep_ms(1);
		dl = deadline_ms(CLOCK_MONOTONIC, 50);
		r = sf_mutex_timedlock(&s->m, CLOCK_MONOTONIC, &dl);
		if (r != ETIMEDOUT)
			_exit(2);
		if (sf_mutex_lock(&s->m))	/* sleeps until the parent unlocks */
			_exit(3);
		sf_mutex_unlock(&s->m);
		pshared_work(s, n);
		_exit(0);
	}
	sf_mutex_lock(&s->m);
	__atomic_store_n(&s->inside, 1, __ATOMIC_RELEASE);
	sleep_ms(200);
	progress();
	__atomic_store_n(&s->inside, 0, __ATOMIC_RELAXED);
	sf_mutex_unlock(&s->m);
	pshared_work(s, n);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "pshared: child timed out, then was woken by the parent (status 0x%x)",
	   status);
	ok(s->counter == 2 * n && s->bad == 0,
	   "pshared: %ld increments from two processes, none lost, never two inside",
	   s->counter);
	munmap(s, sizeof(*s));
}

int main(void)
{
	watchdog_start(10);
	phase("basic");
	test_basic();
	phase("attr");
	test_attr();
	phase("timed monotonic");
	test_timed(CLOCK_MONOTONIC, "CLOCK_MONOTONIC");
	phase("timed realtime");
	test_timed(CLOCK_REALTIME, "CLOCK_REALTIME");
	phase("einval");
	test_einval();
	phase("errorcheck");
	test_errorcheck();
	phase("nospin");
	test_nospin();
	phase("pshared");
	test_pshared();
	return done_testing();
}
