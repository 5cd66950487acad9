// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: an unmodified pthread_rwlock program (no syncfix header or library) whose checks must pass with glibc and under LD_PRELOAD=libsyncfix-preload.so */
/*
 * Prints TAP lines indented by four spaces (the preload test shows them as
 * a subtest) and "provider: <file>" naming the object that supplies
 * pthread_rwlock_rdlock.
 */
#include "test.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/wait.h>

static pthread_rwlock_t sdef = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t snr = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

struct job {
	pthread_rwlock_t *l;
	int write, result;
	long ms;
	struct sync_point sp;
};

/* Take the lock, announce, wait for stage 2, unlock. */
static void *holder(void *p)
{
	struct job *j = p;

	j->result = j->write ? pthread_rwlock_wrlock(j->l) : pthread_rwlock_rdlock(j->l);
	sync_set(&j->sp, 1);
	sync_wait(&j->sp, 2);
	pthread_rwlock_unlock(j->l);
	return NULL;
}

static void *waiting_writer(void *p)
{
	struct job *j = p;

	sync_set(&j->sp, 1);
	j->result = pthread_rwlock_wrlock(j->l);
	pthread_rwlock_unlock(j->l);
	return NULL;
}

static void test_errors(pthread_rwlock_t *l, const char *name)
{
	struct job h = { .l = l, .sp = SYNC_POINT_INIT };
	struct timespec dl;
	pthread_t t;

	ok_err(pthread_rwlock_rdlock(l), 0, "%s: rdlock", name);
	ok_err(pthread_rwlock_trywrlock(l), EBUSY, "%s: trywrlock while read-held: EBUSY", name);
	ok_err(pthread_rwlock_unlock(l), 0, "%s: unlock", name);
	ok_err(pthread_rwlock_wrlock(l), 0, "%s: wrlock", name);
	ok_err(pthread_rwlock_wrlock(l), EDEADLK, "%s: wrlock again: EDEADLK", name);
	ok_err(pthread_rwlock_rdlock(l), EDEADLK, "%s: rdlock by the writer: EDEADLK", name);
	ok_err(pthread_rwlock_tryrdlock(l), EBUSY, "%s: tryrdlock by the writer: EBUSY", name);
	ok_err(pthread_rwlock_unlock(l), 0, "%s: unlock", name);

	h.write = 1;
	pthread_create(&t, NULL, holder, &h);
	sync_wait(&h.sp, 1);
	dl = deadline_ms(CLOCK_REALTIME, 50);
	ok_err(pthread_rwlock_timedrdlock(l, &dl), ETIMEDOUT, "%s: timedrdlock: ETIMEDOUT", name);
	dl = deadline_ms(CLOCK_MONOTONIC, 50);
	ok_err(pthread_rwlock_clockwrlock(l, CLOCK_MONOTONIC, &dl), ETIMEDOUT,
	       "%s: clockwrlock(CLOCK_MONOTONIC): ETIMEDOUT", name);
	dl.tv_nsec = 1000000000L;
	ok_err(pthread_rwlock_timedwrlock(l, &dl), EINVAL, "%s: tv_nsec 1e9: EINVAL", name);
	dl = deadline_ms(CLOCK_MONOTONIC, 50);
	ok_err(pthread_rwlock_clockrdlock(l, CLOCK_PROCESS_CPUTIME_ID, &dl), EINVAL,
	       "%s: clockrdlock on a CPU clock: EINVAL", name);
	sync_set(&h.sp, 2);
	pthread_join(t, NULL);
}

/* Does a new reader get in while a writer waits behind a reader? */
static int reader_admitted_while_writer_waits(pthread_rwlock_t *l)
{
	struct job h = { .l = l, .sp = SYNC_POINT_INIT };
	struct job w = { .l = l, .sp = SYNC_POINT_INIT };
	pthread_t th, tw;
	int r;

	pthread_create(&th, NULL, holder, &h);
	sync_wait(&h.sp, 1);
	pthread_create(&tw, NULL, waiting_writer, &w);
	sync_wait(&w.sp, 1);
	sleep_ms(100);			/* let the writer block */
	r = pthread_rwlock_tryrdlock(l);
	if (r == 0)
		pthread_rwlock_unlock(l);
	sync_set(&h.sp, 2);
	pthread_join(th, NULL);
	pthread_join(tw, NULL);
	return r == 0;
}

static void test_kinds(void)
{
	pthread_rwlockattr_t at;
	pthread_rwlock_t l;
	int k;

	ok(reader_admitted_while_writer_waits(&sdef),
	   "PTHREAD_RWLOCK_INITIALIZER: prefers readers");
	ok(!reader_admitted_while_writer_waits(&snr),
	   "PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP: a waiting writer blocks new readers");
	pthread_rwlockattr_init(&at);
	pthread_rwlockattr_getkind_np(&at, &k);
	ok(k == PTHREAD_RWLOCK_PREFER_READER_NP, "attr: default kind prefer-reader");
	ok_err(pthread_rwlockattr_setkind_np(&at, 42), EINVAL, "attr: setkind_np(42): EINVAL");
	ok_err(pthread_rwlockattr_setpshared(&at, 42), EINVAL, "attr: setpshared(42): EINVAL");
	pthread_rwlockattr_setkind_np(&at, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlockattr_getkind_np(&at, &k);
	ok(k == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP, "attr: getkind_np");
	ok_err(pthread_rwlock_init(&l, &at), 0, "init nonrecursive");
	ok(!reader_admitted_while_writer_waits(&l),
	   "init(NONRECURSIVE): a waiting writer blocks new readers");
	ok_err(pthread_rwlock_destroy(&l), 0, "destroy");
	pthread_rwlockattr_destroy(&at);
	ok_err(pthread_rwlock_init(&l, NULL), 0, "init(NULL)");
	ok(reader_admitted_while_writer_waits(&l), "init(NULL): prefers readers");
	test_errors(&l, "init(NULL)");
	pthread_rwlock_destroy(&l);
}

static void test_pshared(void)
{
	struct shm { pthread_rwlock_t l; long v; } *s;
	pthread_rwlockattr_t at;
	int st, ps;
	pid_t pid;

	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_rwlockattr_init(&at);
	ok_err(pthread_rwlockattr_setpshared(&at, PTHREAD_PROCESS_SHARED), 0, "setpshared");
	pthread_rwlockattr_getpshared(&at, &ps);
	ok(ps == PTHREAD_PROCESS_SHARED, "getpshared");
	pthread_rwlock_init(&s->l, &at);
	pthread_rwlock_wrlock(&s->l);
	pid = fork();
	if (pid == 0) {
		long v;

		if (pthread_rwlock_rdlock(&s->l))
			_exit(2);
		v = s->v;
		pthread_rwlock_unlock(&s->l);
		_exit(v == 42 ? 0 : 3);
	}
	sleep_ms(100);
	s->v = 42;
	pthread_rwlock_unlock(&s->l);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "pshared: a child blocked on the parent's write lock is woken");
	pthread_rwlock_destroy(&s->l);
	munmap(s, sizeof(*s));
}

int main(void)
{
	Dl_info info;

	t_indent = "    ";
	watchdog_start(10);
	if (dladdr((void *)pthread_rwlock_rdlock, &info) && info.dli_fname)
		printf("provider: %s\n", info.dli_fname);
	test_errors(&sdef, "static default");
	test_errors(&snr, "static nonrecursive");
	test_kinds();
	test_pshared();
	return done_testing();
}
