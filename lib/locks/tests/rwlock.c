// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: sf_rwlock semantics per kind: EBUSY, EDEADLK, EPERM, ETIMEDOUT on both clocks, EINVAL, writer preference and recursion, timed-out writers, no CPU while blocked, pshared across fork */
#include "test.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <syncfix.h>

static const char *const kind_name[] = { "prefer-reader", "prefer-writer",
					 "nonrecursive" };

/*
 * An agent thread runs one operation on a lock when told, reports its
 * result, and can hold the lock until released.
 */
enum op { OP_RD, OP_WR, OP_TIMEDRD, OP_TIMEDWR, OP_UNLOCK, OP_QUIT };

struct agent {
	pthread_t th;
	sf_rwlock_t *l;
	pthread_mutex_t m;
	pthread_cond_t c;
	int has_cmd, cmd, busy;
	long ms;		/* timed ops: deadline from now */
	int result;
	unsigned long done;	/* completed commands */
	double t_done, cpu;	/* time of completion, CPU time of the op */
	pid_t tid;
};

static void *agent_main(void *p)
{
	struct agent *a = p;
	struct timespec dl;
	int cmd, r = 0;
	double c0;

	__atomic_store_n(&a->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (;;) {
		pthread_mutex_lock(&a->m);
		while (!a->has_cmd)
			pthread_cond_wait(&a->c, &a->m);
		cmd = a->cmd;
		a->has_cmd = 0;
		pthread_mutex_unlock(&a->m);
		c0 = thread_cpu();
		switch (cmd) {
		case OP_RD:
			r = sf_rwlock_rdlock(a->l);
			break;
		case OP_WR:
			r = sf_rwlock_wrlock(a->l);
			break;
		case OP_TIMEDRD:
			dl = deadline_ms(CLOCK_MONOTONIC, a->ms);
			r = sf_rwlock_timedrdlock(a->l, CLOCK_MONOTONIC, &dl);
			break;
		case OP_TIMEDWR:
			dl = deadline_ms(CLOCK_MONOTONIC, a->ms);
			r = sf_rwlock_timedwrlock(a->l, CLOCK_MONOTONIC, &dl);
			break;
		case OP_UNLOCK:
			r = sf_rwlock_unlock(a->l);
			break;
		case OP_QUIT:
			return NULL;
		}
		pthread_mutex_lock(&a->m);
		a->cpu = thread_cpu() - c0;
		a->result = r;
		a->t_done = now_mono();
		a->done++;
		pthread_cond_broadcast(&a->c);
		pthread_mutex_unlock(&a->m);
		progress();
	}
}

static void agent_start(struct agent *a, sf_rwlock_t *l)
{
	memset(a, 0, sizeof(*a));
	a->l = l;
	pthread_mutex_init(&a->m, NULL);
	pthread_cond_init(&a->c, NULL);
	pthread_create(&a->th, NULL, agent_main, a);
	while (!__atomic_load_n(&a->tid, __ATOMIC_ACQUIRE))
		sleep_ms(1);
}

/* Issue a command; returns the number of commands done before it. */
static unsigned long agent_cmd(struct agent *a, int cmd, long ms)
{
	unsigned long d;

	pthread_mutex_lock(&a->m);
	d = a->done;
	a->cmd = cmd;
	a->ms = ms;
	a->has_cmd = 1;
	pthread_cond_broadcast(&a->c);
	pthread_mutex_unlock(&a->m);
	return d;
}

/* Wait up to @ms for command number @before + 1 to finish. Return: its result or -1. */
static int agent_wait(struct agent *a, unsigned long before, long ms)
{
	struct timespec dl = deadline_ms(CLOCK_REALTIME, ms);
	int r = 0;

	pthread_mutex_lock(&a->m);
	while (a->done == before && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&a->c, &a->m, &dl);
	r = a->done == before ? -1 : a->result;
	pthread_mutex_unlock(&a->m);
	return r;
}

static int agent_do(struct agent *a, int cmd)
{
	return agent_wait(a, agent_cmd(a, cmd, 0), 5000);
}

/* Wait until the agent sleeps in the kernel (blocked in a lock). */
static int agent_blocked(struct agent *a)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (tid_sleeping(a->tid)) {
			/* Sleeping on the futex, not on its command cond. */
			pthread_mutex_lock(&a->m);
			i = a->has_cmd;
			pthread_mutex_unlock(&a->m);
			if (!i)
				return 1;
			i = 0;
		}
		sleep_ms(2);
	}
	return 0;
}

static unsigned long agent_done(struct agent *a)
{
	unsigned long d;

	pthread_mutex_lock(&a->m);
	d = a->done;
	pthread_mutex_unlock(&a->m);
	return d;
}

static void agent_stop(struct agent *a)
{
	agent_cmd(a, OP_QUIT, 0);
	pthread_join(a->th, NULL);
	pthread_mutex_destroy(&a->m);
	pthread_cond_destroy(&a->c);
}

static void init_kind(sf_rwlock_t *l, int kind, int use_attr)
{
	static const sf_rwlock_t inits[3] = {
		SF_RWLOCK_INITIALIZER,
		SF_RWLOCK_PREFER_WRITER_INITIALIZER,
		SF_RWLOCK_PREFER_WRITER_NONRECURSIVE_INITIALIZER,
	};
	sf_rwlockattr_t at;

	if (!use_attr) {
		*l = inits[kind];
		return;
	}
	sf_rwlockattr_init(&at);
	sf_rwlockattr_setkind(&at, kind);
	sf_rwlock_init(l, &at);
	sf_rwlockattr_destroy(&at);
}

static void test_self(int k, int use_attr)
{
	const char *kn = kind_name[k];
	struct timespec dl = deadline_ms(CLOCK_MONOTONIC, 50);
	sf_rwlock_t l;

	init_kind(&l, k, use_attr);
	ok(sf_rwlock_rdlock(&l) == 0 && sf_rwlock_rdlock(&l) == 0 &&
	   sf_rwlock_tryrdlock(&l) == 0,
	   "%s%s: three read locks by one thread", kn, use_attr ? " (attr)" : "");
	ok_err(sf_rwlock_trywrlock(&l), EBUSY, "%s: trywrlock while read-held: EBUSY", kn);
	ok_err(sf_rwlock_destroy(&l), EBUSY, "%s: destroy while read-held: EBUSY", kn);
	ok(sf_rwlock_unlock(&l) == 0 && sf_rwlock_unlock(&l) == 0 &&
	   sf_rwlock_unlock(&l) == 0, "%s: three unlocks", kn);
	ok_err(sf_rwlock_unlock(&l), EPERM, "%s: unlock when free: EPERM", kn);

	ok_err(sf_rwlock_wrlock(&l), 0, "%s: wrlock", kn);
	ok_err(sf_rwlock_wrlock(&l), EDEADLK, "%s: wrlock by the writer: EDEADLK", kn);
	ok_err(sf_rwlock_rdlock(&l), EDEADLK, "%s: rdlock by the writer: EDEADLK", kn);
	ok_err(sf_rwlock_timedwrlock(&l, CLOCK_MONOTONIC, &dl), EDEADLK,
	       "%s: timedwrlock by the writer: EDEADLK", kn);
	ok_err(sf_rwlock_timedrdlock(&l, CLOCK_REALTIME, &dl), EDEADLK,
	       "%s: timedrdlock by the writer: EDEADLK", kn);
	ok_err(sf_rwlock_trywrlock(&l), EBUSY, "%s: trywrlock by the writer: EBUSY", kn);
	ok_err(sf_rwlock_tryrdlock(&l), EBUSY, "%s: tryrdlock by the writer: EBUSY", kn);
	ok_err(sf_rwlock_destroy(&l), EBUSY, "%s: destroy while write-held: EBUSY", kn);
	ok_err(sf_rwlock_unlock(&l), 0, "%s: write unlock", kn);
	ok_err(sf_rwlock_trywrlock(&l), 0, "%s: trywrlock when free", kn);
	ok_err(sf_rwlock_unlock(&l), 0, "%s: unlock", kn);
	ok_err(sf_rwlock_destroy(&l), 0, "%s: destroy", kn);
}

static void test_timeouts(int k)
{
	const char *kn = kind_name[k];
	static const clockid_t clocks[2] = { CLOCK_MONOTONIC, CLOCK_REALTIME };
	static const char *const cn[2] = { "CLOCK_MONOTONIC", "CLOCK_REALTIME" };
	struct agent a;
	struct timespec dl;
	sf_rwlock_t l;
	double t0, el;
	int c;

	init_kind(&l, k, 1);
	agent_start(&a, &l);

	ok_err(agent_do(&a, OP_WR), 0, "%s: another thread takes the write lock", kn);
	ok_err(sf_rwlock_unlock(&l), EPERM, "%s: unlock of another's write lock: EPERM", kn);
	for (c = 0; c < 2; c++) {
		dl = deadline_ms(clocks[c], 100);
		t0 = now_mono();
		ok_err(sf_rwlock_timedrdlock(&l, clocks[c], &dl), ETIMEDOUT,
		       "%s: timedrdlock on %s vs a writer: ETIMEDOUT", kn, cn[c]);
		el = now_mono() - t0;
		ok(el > 0.095 && el < 1.0, "%s: %s reader gave up after %.0f ms",
		   kn, cn[c], el * 1e3);
		dl = deadline_ms(clocks[c], 100);
		t0 = now_mono();
		ok_err(sf_rwlock_timedwrlock(&l, clocks[c], &dl), ETIMEDOUT,
		       "%s: timedwrlock on %s vs a writer: ETIMEDOUT", kn, cn[c]);
		el = now_mono() - t0;
		ok(el > 0.095 && el < 1.0, "%s: %s writer gave up after %.0f ms",
		   kn, cn[c], el * 1e3);
	}
	ok_err(sf_rwlock_tryrdlock(&l), EBUSY, "%s: tryrdlock vs a writer: EBUSY", kn);
	dl.tv_sec = -1;
	dl.tv_nsec = 0;
	ok_err(sf_rwlock_timedrdlock(&l, CLOCK_MONOTONIC, &dl), ETIMEDOUT,
	       "%s: negative tv_sec: ETIMEDOUT", kn);
	ok_err(agent_do(&a, OP_UNLOCK), 0, "%s: the writer unlocks", kn);

	ok_err(agent_do(&a, OP_RD), 0, "%s: another thread takes a read lock", kn);
	dl = deadline_ms(CLOCK_REALTIME, 100);
	ok_err(sf_rwlock_timedwrlock(&l, CLOCK_REALTIME, &dl), ETIMEDOUT,
	       "%s: timedwrlock vs a reader: ETIMEDOUT", kn);
	ok_err(sf_rwlock_tryrdlock(&l), 0,
	       "%s: after the writer timed out, new readers enter", kn);
	sf_rwlock_unlock(&l);
	ok_err(agent_do(&a, OP_UNLOCK), 0, "%s: the reader unlocks", kn);

	dl = deadline_ms(CLOCK_MONOTONIC, 100);
	dl.tv_nsec = 1000000000L;
	ok_err(sf_rwlock_timedrdlock(&l, CLOCK_MONOTONIC, &dl), EINVAL,
	       "%s: timedrdlock tv_nsec = 1e9: EINVAL", kn);
	dl.tv_nsec = -5;
	ok_err(sf_rwlock_timedwrlock(&l, CLOCK_MONOTONIC, &dl), EINVAL,
	       "%s: timedwrlock tv_nsec < 0: EINVAL", kn);
	dl = deadline_ms(CLOCK_MONOTONIC, 100);
	ok_err(sf_rwlock_timedwrlock(&l, CLOCK_THREAD_CPUTIME_ID, &dl), EINVAL,
	       "%s: timedwrlock on CLOCK_THREAD_CPUTIME_ID: EINVAL", kn);
	ok_err(sf_rwlock_timedrdlock(&l, CLOCK_MONOTONIC, NULL), EINVAL,
	       "%s: NULL deadline: EINVAL", kn);
	ok_err(sf_rwlock_destroy(&l), 0, "%s: EINVAL left it free", kn);
	agent_stop(&a);
}

/*
 * A reader R holds the lock and a writer W waits.  Does a new reader get
 * in (main, holding nothing)?  Does R get a second read lock?
 */
static void test_preference(int k)
{
	const char *kn = kind_name[k];
	struct agent r, w;
	struct timespec dl;
	unsigned long wb;
	sf_rwlock_t l;
	int got;

	init_kind(&l, k, 0);
	agent_start(&r, &l);
	agent_start(&w, &l);
	ok_err(agent_do(&r, OP_RD), 0, "%s: reader R holds a read lock", kn);
	wb = agent_cmd(&w, OP_WR, 0);
	ok(agent_blocked(&w), "%s: writer W blocks behind R", kn);

	got = sf_rwlock_tryrdlock(&l);
	if (k == SF_RWLOCK_PREFER_READER) {
		ok_err(got, 0, "%s: a new reader enters while W waits", kn);
	} else {
		ok_err(got, EBUSY, "%s: a new reader is refused while W waits", kn);
		dl = deadline_ms(CLOCK_MONOTONIC, 50);
		got = sf_rwlock_timedrdlock(&l, CLOCK_MONOTONIC, &dl);
		ok_err(got, ETIMEDOUT, "%s: a new timed reader waits while W waits", kn);
	}
	if (got == 0)
		sf_rwlock_unlock(&l);

	/* R asks for a second read lock while W waits. */
	got = agent_wait(&r, agent_cmd(&r, OP_TIMEDRD, 200), 5000);
	if (k == SF_RWLOCK_PREFER_WRITER_NONRECURSIVE)
		ok_err(got, ETIMEDOUT,
		       "%s: R's recursive read lock waits behind W (would deadlock)", kn);
	else
		ok_err(got, 0, "%s: R's recursive read lock is granted while W waits", kn);
	if (got == 0)
		agent_do(&r, OP_UNLOCK);
	ok(agent_done(&w) == wb, "%s: W still waits", kn);
	ok_err(agent_do(&r, OP_UNLOCK), 0, "%s: R unlocks", kn);
	ok_err(agent_wait(&w, wb, 5000), 0, "%s: W gets the lock when R leaves", kn);
	ok(w.cpu < 0.05, "%s: W used %.1f ms CPU while blocked", kn, w.cpu * 1e3);
	ok_err(agent_do(&w, OP_UNLOCK), 0, "%s: W unlocks", kn);
	agent_stop(&r);
	agent_stop(&w);
}

/*
 * W1 holds the write lock; W2 waits to write, then reader R waits.  When
 * W1 unlocks, the writer-preferring kinds hand the lock to W2 first.
 */
static void test_handoff(int k)
{
	const char *kn = kind_name[k];
	struct agent w1, w2, r;
	unsigned long b2, br;
	sf_rwlock_t l;

	init_kind(&l, k, 1);
	agent_start(&w1, &l);
	agent_start(&w2, &l);
	agent_start(&r, &l);
	agent_do(&w1, OP_WR);
	b2 = agent_cmd(&w2, OP_WR, 0);
	agent_blocked(&w2);
	br = agent_cmd(&r, OP_RD, 0);
	ok(agent_blocked(&r), "%s: a reader blocks behind the writer", kn);
	agent_do(&w1, OP_UNLOCK);
	if (k == SF_RWLOCK_PREFER_READER) {
		/* Either may win; the other follows. */
		int i;

		for (i = 0; i < 5000; i++) {
			if (agent_done(&r) != br || agent_done(&w2) != b2)
				break;
			sleep_ms(1);
		}
		if (agent_done(&r) != br) {
			ok_err(agent_wait(&r, br, 10), 0, "%s: the reader got in first", kn);
			agent_do(&r, OP_UNLOCK);
			ok_err(agent_wait(&w2, b2, 5000), 0, "%s: then the writer", kn);
			agent_do(&w2, OP_UNLOCK);
		} else {
			ok_err(agent_wait(&w2, b2, 10), 0, "%s: the writer got in first", kn);
			agent_do(&w2, OP_UNLOCK);
			ok_err(agent_wait(&r, br, 5000), 0, "%s: then the reader", kn);
			agent_do(&r, OP_UNLOCK);
		}
		agent_stop(&w1);
		agent_stop(&w2);
		agent_stop(&r);
		return;
	}
	ok_err(agent_wait(&w2, b2, 5000), 0, "%s: the waiting writer gets the lock", kn);
	sleep_ms(50);
	ok(agent_done(&r) == br, "%s: the reader still waits while the writer holds", kn);
	agent_do(&w2, OP_UNLOCK);
	ok_err(agent_wait(&r, br, 5000), 0, "%s: the reader gets in after the writers", kn);
	ok(r.cpu < 0.05, "%s: the reader used %.1f ms CPU while blocked", kn, r.cpu * 1e3);
	agent_do(&r, OP_UNLOCK);
	agent_stop(&w1);
	agent_stop(&w2);
	agent_stop(&r);
}

/* Readers held back by a writer are let in when that writer times out. */
static void test_writer_timeout_releases_readers(int k)
{
	const char *kn = kind_name[k];
	struct agent r1, w, r2;
	unsigned long bw, b2;
	sf_rwlock_t l;
	int got;

	init_kind(&l, k, 1);
	agent_start(&r1, &l);
	agent_start(&w, &l);
	agent_start(&r2, &l);
	agent_do(&r1, OP_RD);
	bw = agent_cmd(&w, OP_TIMEDWR, 300);
	agent_blocked(&w);
	b2 = agent_cmd(&r2, OP_RD, 0);
	got = agent_wait(&w, bw, 5000);
	ok_err(got, ETIMEDOUT, "%s: the writer times out behind a reader", kn);
	got = agent_wait(&r2, b2, 2000);
	ok_err(got, 0, "%s: the reader it held back gets in", kn);
	if (got == 0)
		ok(r2.t_done - w.t_done < 0.5, "%s: ... %.0f ms after the timeout",
		   kn, (r2.t_done - w.t_done) * 1e3);
	agent_do(&r2, OP_UNLOCK);
	agent_do(&r1, OP_UNLOCK);
	ok_err(sf_rwlock_destroy(&l), 0, "%s: all gone: destroy", kn);
	agent_stop(&r1);
	agent_stop(&w);
	agent_stop(&r2);
}

/*
 * EAGAIN at 2^27 read locks.  Taking that many would take seconds, so this
 * white-box case starts from a word that already counts 2^27 - 1 (the
 * encoding documented in rwlock.c: R in bits 4..31) and checks that the
 * last one is granted, the next is refused without disturbing the count,
 * and writers still see the lock read-held.
 */
static void test_reader_limit(void)
{
	struct timespec dl = deadline_ms(CLOCK_MONOTONIC, 50);
	const uint32_t max = 1u << 27;
	sf_rwlock_t l = SF_RWLOCK_INITIALIZER;
	int i;

	l.__word = (max - 1) << 4;
	ok_err(sf_rwlock_rdlock(&l), 0, "limit: read lock number 2^27 is granted");
	ok_err(sf_rwlock_rdlock(&l), EAGAIN, "limit: one more: EAGAIN");
	ok_err(sf_rwlock_tryrdlock(&l), EAGAIN, "limit: tryrdlock: EAGAIN");
	ok_err(sf_rwlock_timedrdlock(&l, CLOCK_MONOTONIC, &dl), EAGAIN,
	       "limit: timedrdlock: EAGAIN");
	ok(l.__word == max << 4, "limit: the count is unchanged (0x%08x)", l.__word);
	ok_err(sf_rwlock_trywrlock(&l), EBUSY, "limit: trywrlock: EBUSY");
	ok_err(sf_rwlock_unlock(&l), 0, "limit: unlock");
	ok_err(sf_rwlock_tryrdlock(&l), 0, "limit: below the limit again");
	for (i = 0; i < 2; i++)
		sf_rwlock_unlock(&l);
	l.__word = 0;
	ok_err(sf_rwlock_destroy(&l), 0, "limit: destroy");
}

static void test_attr(void)
{
	sf_rwlockattr_t at;
	sf_rwlock_t l;
	int v;

	sf_rwlockattr_init(&at);
	sf_rwlockattr_getkind(&at, &v);
	ok(v == SF_RWLOCK_PREFER_READER, "attr: default kind is prefer-reader");
	ok_err(sf_rwlockattr_setkind(&at, 3), EINVAL, "attr: setkind(3): EINVAL");
	ok_err(sf_rwlockattr_setpshared(&at, 2), EINVAL, "attr: setpshared(2): EINVAL");
	sf_rwlockattr_setkind(&at, SF_RWLOCK_PREFER_WRITER_NONRECURSIVE);
	sf_rwlockattr_getkind(&at, &v);
	ok(v == SF_RWLOCK_PREFER_WRITER_NONRECURSIVE, "attr: getkind");
	at.__kind = 17;
	ok_err(sf_rwlock_init(&l, &at), EINVAL, "init with a corrupt attr: EINVAL");

	sf_rwlockattr_init(&at);
	sf_rwlockattr_getbackend(&at, &v);
	ok(v == SF_BACKEND_DEFAULT, "attr: default backend");
	ok_err(sf_rwlockattr_setbackend(&at, 3), EINVAL, "attr: setbackend(3): EINVAL");
	sf_rwlockattr_getbackend(&at, &v);
	ok(v == SF_BACKEND_DEFAULT, "attr: a refused setbackend changed nothing");
	sf_rwlockattr_setbackend(&at, SF_BACKEND_IOCTL);
	sf_rwlockattr_getbackend(&at, &v);
	ok(v == SF_BACKEND_IOCTL, "attr: getbackend returns what setbackend set");
	sf_rwlockattr_setpshared(&at, SF_PROCESS_SHARED);
	memset(&l, 0x5a, sizeof(l));
	ok_err(sf_rwlock_init(&l, &at), EINVAL,
	       "init: ioctl backend with a process-shared rwlock: EINVAL");
	ok(((unsigned char *)&l)[0] == 0x5a &&
	   ((unsigned char *)&l)[sizeof(l) - 1] == 0x5a,
	   "the refused init did not touch the rwlock");
	sf_rwlockattr_setpshared(&at, SF_PROCESS_PRIVATE);
	ok_err(sf_rwlock_init(&l, &at), 0, "init with the ioctl backend");
	ok_err(sf_rwlock_wrlock(&l), 0, "wrlock");
	ok_err(sf_rwlock_unlock(&l), 0, "unlock");
	ok_err(sf_rwlock_destroy(&l), 0, "destroy");
}

struct shared {
	sf_rwlock_t l;
	long counter;
	int writers, readers, bad;
};

static void pshared_work(struct shared *s, long n, uint32_t seed)
{
	long i;

	for (i = 0; i < n; i++) {
		if (rnd(&seed) % 4 == 0) {
			sf_rwlock_wrlock(&s->l);
			if (__atomic_fetch_add(&s->writers, 1, __ATOMIC_RELAXED) ||
			    __atomic_load_n(&s->readers, __ATOMIC_RELAXED))
				s->bad++;
			s->counter++;
			__atomic_fetch_sub(&s->writers, 1, __ATOMIC_RELAXED);
		} else {
			sf_rwlock_rdlock(&s->l);
			__atomic_fetch_add(&s->readers, 1, __ATOMIC_RELAXED);
			if (__atomic_load_n(&s->writers, __ATOMIC_RELAXED))
				__atomic_fetch_add(&s->bad, 1, __ATOMIC_RELAXED);
			__atomic_fetch_sub(&s->readers, 1, __ATOMIC_RELAXED);
		}
		sf_rwlock_unlock(&s->l);
	}
}

static void test_pshared(int k)
{
	const char *kn = kind_name[k];
	struct shared *s;
	sf_rwlockattr_t at;
	long n = scaled(50000), before;
	int status;
	pid_t pid;

	s = shared_zalloc(sizeof(*s), "pshared");
	if (!s)
		return;
	sf_rwlockattr_init(&at);
	sf_rwlockattr_setkind(&at, k);
	sf_rwlockattr_setpshared(&at, SF_PROCESS_SHARED);
	sf_rwlock_init(&s->l, &at);

	/*
	 * Fork first, then lock: a lock held across fork() would look, to
	 * ThreadSanitizer in the child, like a lock its own thread holds.
	 */
	pid = fork();
	if (pid == 0) {
		while (!__atomic_load_n(&s->writers, __ATOMIC_ACQUIRE))
			sleep_ms(1);
		/* Sleeps until the parent's write unlock wakes it. */
		if (sf_rwlock_rdlock(&s->l))
			_exit(2);
		before = s->counter;
		sf_rwlock_unlock(&s->l);
		if (before < 1)		/* got in before the parent's unlock */
			_exit(3);
		pshared_work(s, n, 12345);
		_exit(0);
	}
	sf_rwlock_wrlock(&s->l);
	__atomic_store_n(&s->writers, 1, __ATOMIC_RELEASE);
	sleep_ms(150);
	s->counter = 1;
	__atomic_store_n(&s->writers, 0, __ATOMIC_RELAXED);
	progress();
	sf_rwlock_unlock(&s->l);
	pshared_work(s, n, 777);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "%s pshared: a child blocked on the parent's write lock was woken", kn);
	before = s->counter;
	ok(s->bad == 0 && before > 1,
	   "%s pshared: two processes, %ld writes, readers and writers never overlapped",
	   kn, before - 1);
	munmap(s, sizeof(*s));
}

int main(void)
{
	int k;

	watchdog_start(10);
	phase("attr");
	test_attr();
	phase("limit");
	test_reader_limit();
	for (k = 0; k < 3; k++) {
		phase("self");
		test_self(k, 0);
		test_self(k, 1);
		phase("timeouts");
		test_timeouts(k);
		phase("preference");
		test_preference(k);
		phase("handoff");
		test_handoff(k);
		phase("writer timeout");
		test_writer_timeout_releases_readers(k);
		phase("pshared");
		test_pshared(k);
	}
	return done_testing();
}
