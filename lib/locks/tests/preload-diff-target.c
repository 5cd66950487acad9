// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: an unmodified pthread program that runs scripted sequences of pthread_rwlock_* and pthread_rwlockattr_* calls (one thread, several threads, two processes) and prints every result; preload-diff runs it with glibc and under LD_PRELOAD=libsyncfix-preload.so and requires the same output */
/*
 * Output: first "provider FUNCTION: FILE" for every function the preload
 * replaces and "runtime pthread_create: FILE" (preload-diff checks them
 * and leaves them out of the comparison), then one line per call:
 *
 *	SEQUENCE: WHO CALL = RESULT
 *
 * RESULT is 0, an errno name, or "blocked" for a call whose thread sleeps
 * in the kernel until the script releases it; "WHO CALL -> RESULT" later
 * says what that call returned.  Getters add the value they read.  The
 * last line is "end".
 *
 * Every sequence runs in a process of its own, forked from this one (which
 * makes no lock call itself): its lock is made fresh, in memory that held other
 * bytes, and a sequence that prints nothing for HANG_MS (a call that never
 * returns) is killed and ends with "SEQUENCE: hang", one that fails with
 * "SEQUENCE: exit status N" (a sanitizer's report) or "killed by signal";
 * the others still run.  A sequence whose init fails ends there.
 *
 * Scripting: the process's main thread ("M") makes the calls of the
 * single-threaded sequences itself and hands those of actors A, B and C
 * (threads, or P, a child process, for the process-shared sequence) to them
 * one at a time through a semaphore each.  It then waits until the call
 * has returned or the actor sleeps in the kernel, in futex(2) or ioctl(2)
 * (/proc/PID/task/TID/stat and syscall), having announced the call just
 * before making it; it polls for that, and no sleep decides an order.  A
 * call that must time out is only waited for: whether it is seen asleep
 * first would depend on timing.  Where two waiters are released together,
 * each unlocks at once ("+unlock"), so the order in which they get the
 * lock does not matter.
 *
 * Undefined behaviour that glibc 2.36 survives is scripted so that it
 * ends, and a lock is not used after it beyond what the sequence shows, as
 * glibc's state may be corrupt by then:
 * - destroy of a held or waited-on lock: the holder unlocks afterwards and
 *   the waiter gets the lock, or the waiter times out; a destroyed lock is
 *   used again (glibc's destroy changes nothing);
 * - unlock of an unlocked lock, unlock of another thread's lock: only
 *   while nobody waits (glibc's reader count wraps; a waiter could sleep
 *   forever);
 * - wrlock by a thread that holds a read lock (a deadlock) only as timed
 *   calls; no lock is freed or initialized again while a thread waits.
 * With --tsan, init over a held lock is left out: ThreadSanitizer reports
 * the next lock of it (glibc's too, under its own interceptors).
 *
 * Not covered: EAGAIN at the read-lock limit (glibc grants 2^28 - 1 read
 * locks, syncfix 2^27); which waiter wins a release, and a timed waiter
 * whose deadline passes as the lock is handed to it (glibc may then return
 * 0): scheduling; a process-private lock used by two processes (glibc's
 * waiter is never woken).
 */
#include "test.h"	/* header-only: no syncfix code */

#include <dlfcn.h>
#include <limits.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/syscall.h>

#define BLOCKED		(-1)
#define HANG_MS		3000

/* ---- results ------------------------------------------------------------ */

static const char *seq = "start";
static int tsan_model;		/* --tsan: leave out what TSAN reports */

static const char *ename(int r)
{
	static char buf[32];

	switch (r) {
	case 0:		return "0";
	case BLOCKED:	return "blocked";
	case EINVAL:	return "EINVAL";
	case EBUSY:	return "EBUSY";
	case EDEADLK:	return "EDEADLK";
	case EPERM:	return "EPERM";
	case EAGAIN:	return "EAGAIN";
	case ETIMEDOUT:	return "ETIMEDOUT";
	case ENOTSUP:	return "ENOTSUP";
	case ENOMEM:	return "ENOMEM";
	}
	snprintf(buf, sizeof(buf), "errno %d", r);
	return buf;
}

/* Lines printed, in memory shared with the sequences' processes (atomic). */
static unsigned long *lines_out;

__attribute__((format(printf, 2, 3)))
static int out(int r, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", seq);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" = %s\n", ename(r));
	__atomic_fetch_add(lines_out, 1, __ATOMIC_RELAXED);
	return r;
}

static void begin(const char *name)
{
	fflush(stdout);
	seq = name;
}

static void pause_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- deadlines ---------------------------------------------------------- */

/* NULL where the prototype says nonnull, without the compiler knowing. */
static const struct timespec *null_ts(void)
{
	const struct timespec *p = NULL;

	__asm__ volatile("" : "+r"(p));
	return p;
}

/* ---- calls -------------------------------------------------------------- */

enum op { RD, WR, TRYRD, TRYWR, TIMEDRD, TIMEDWR, CLOCKRD, CLOCKWR, UNLOCK,
	  DESTROY, QUIT };

static const char *const op_name[] = {
	[RD] = "rdlock", [WR] = "wrlock", [TRYRD] = "tryrdlock",
	[TRYWR] = "trywrlock", [TIMEDRD] = "timedrdlock",
	[TIMEDWR] = "timedwrlock", [CLOCKRD] = "clockrdlock",
	[CLOCKWR] = "clockwrlock", [UNLOCK] = "unlock", [DESTROY] = "destroy",
	[QUIT] = "quit",
};

struct call {
	enum op op;
	pthread_rwlock_t *l;
	clockid_t clk;
	struct timespec ts;
	int ts_null;			/* pass NULL instead of &ts */
	const char *what;		/* how the deadline is printed */
	int then_unlock;		/* unlock at once if the call locked */
};

static int call_op(const struct call *c)
{
	const struct timespec *ts = c->ts_null ? null_ts() : &c->ts;

	switch (c->op) {
	case RD:	return pthread_rwlock_rdlock(c->l);
	case WR:	return pthread_rwlock_wrlock(c->l);
	case TRYRD:	return pthread_rwlock_tryrdlock(c->l);
	case TRYWR:	return pthread_rwlock_trywrlock(c->l);
	case TIMEDRD:	return pthread_rwlock_timedrdlock(c->l, ts);
	case TIMEDWR:	return pthread_rwlock_timedwrlock(c->l, ts);
	case CLOCKRD:	return pthread_rwlock_clockrdlock(c->l, c->clk, ts);
	case CLOCKWR:	return pthread_rwlock_clockwrlock(c->l, c->clk, ts);
	case UNLOCK:	return pthread_rwlock_unlock(c->l);
	case DESTROY:	return pthread_rwlock_destroy(c->l);
	case QUIT:
		break;
	}
	return 0;
}

/* The call; with @then_unlock, the unlock's result if the call locked. */
static int call_do(const struct call *c)
{
	int r = call_op(c);

	if (r == 0 && c->then_unlock)
		r = pthread_rwlock_unlock(c->l);
	return r;
}

static const char *clk_name(clockid_t clk)
{
	static char buf[32];

	switch (clk) {
	case CLOCK_REALTIME:		return "REALTIME";
	case CLOCK_MONOTONIC:		return "MONOTONIC";
	case CLOCK_PROCESS_CPUTIME_ID:	return "PROCESS_CPUTIME_ID";
	case CLOCK_THREAD_CPUTIME_ID:	return "THREAD_CPUTIME_ID";
	case CLOCK_MONOTONIC_RAW:	return "MONOTONIC_RAW";
	case CLOCK_REALTIME_COARSE:	return "REALTIME_COARSE";
	case CLOCK_MONOTONIC_COARSE:	return "MONOTONIC_COARSE";
	case CLOCK_BOOTTIME:		return "BOOTTIME";
	case CLOCK_TAI:			return "TAI";
	}
	snprintf(buf, sizeof(buf), "clock %d", (int)clk);
	return buf;
}

/* "timedrdlock(past)", "clockwrlock(MONOTONIC, NULL)", ... */
static const char *call_str(const struct call *c)
{
	static char buf[128];
	const char *u = c->then_unlock ? "+unlock" : "";

	switch (c->op) {
	case TIMEDRD:
	case TIMEDWR:
		snprintf(buf, sizeof(buf), "%s(%s)%s", op_name[c->op], c->what, u);
		break;
	case CLOCKRD:
	case CLOCKWR:
		snprintf(buf, sizeof(buf), "%s(%s, %s)%s", op_name[c->op],
			 clk_name(c->clk), c->what, u);
		break;
	default:
		snprintf(buf, sizeof(buf), "%s%s", op_name[c->op], u);
	}
	return buf;
}

/* Deadline kinds. */
enum dl { DL_NONE, DL_PAST, DL_SHORT, DL_LONG, DL_NEG_SEC, DL_NSEC_1E9,
	  DL_NSEC_NEG, DL_NSEC_MAX, DL_NULL };

static const char *const dl_name[] = {
	[DL_NONE] = "", [DL_PAST] = "past", [DL_SHORT] = "in 50 ms",
	[DL_LONG] = "in 60 s", [DL_NEG_SEC] = "tv_sec -1",
	[DL_NSEC_1E9] = "tv_nsec 1e9", [DL_NSEC_NEG] = "tv_nsec -1",
	[DL_NSEC_MAX] = "tv_sec 0, tv_nsec 999999999", [DL_NULL] = "NULL",
};

static struct call mk(enum op op, pthread_rwlock_t *l, clockid_t clk,
		      enum dl dl)
{
	struct call c = { .op = op, .l = l, .clk = clk, .what = dl_name[dl] };
	/* timedrdlock and timedwrlock take CLOCK_REALTIME deadlines */
	clockid_t base = (op == TIMEDRD || op == TIMEDWR) ? CLOCK_REALTIME :
			 (clk == CLOCK_MONOTONIC ? CLOCK_MONOTONIC : CLOCK_REALTIME);

	switch (dl) {
	case DL_NONE:
		break;
	case DL_PAST:
		c.ts = deadline_ms(base, -1000);
		break;
	case DL_SHORT:
		c.ts = deadline_ms(base, 50);
		break;
	case DL_LONG:
		c.ts = deadline_ms(base, 60000);
		break;
	case DL_NEG_SEC:
		c.ts = (struct timespec){ -1, 0 };
		break;
	case DL_NSEC_1E9:
		c.ts = deadline_ms(base, 1000);
		c.ts.tv_nsec = 1000000000L;
		break;
	case DL_NSEC_NEG:
		c.ts = deadline_ms(base, 1000);
		c.ts.tv_nsec = -1;
		break;
	case DL_NSEC_MAX:
		c.ts = (struct timespec){ 0, 999999999L };
		break;
	case DL_NULL:
		c.ts_null = 1;
		break;
	}
	return c;
}

/* The same call, unlocking at once if it locked. */
static struct call mku(enum op op, pthread_rwlock_t *l, clockid_t clk,
		       enum dl dl)
{
	struct call c = mk(op, l, clk, dl);

	c.then_unlock = 1;
	return c;
}

/* ---- actors ------------------------------------------------------------- */

/*
 * An actor makes one call at a time for the main thread.  @started is set
 * just before the call, @done after it; in between the actor makes no
 * system call but the lock's own.  @fin is posted after @done and taken by
 * the main thread before it reads the result: a sanitizer runtime sees
 * that order (it does not see this program's atomics).  A thread actor
 * lives in this process; a process actor (the child of fork()) in shared
 * memory.
 */
struct actor {
	char name[2];
	pid_t pid, tid;		/* child process, or thread */
	pthread_t th;
	sem_t go, fin;		/* process-shared for a child */
	struct call c;
	int started, done, result;
	int taken;		/* fin taken for this call */
	int pending;		/* the call was reported "blocked" */
};

static void actor_loop(struct actor *a)
{
	for (;;) {
		while (sem_wait(&a->go) && errno == EINTR)
			;
		if (a->c.op == QUIT)
			return;
		__atomic_store_n(&a->started, 1, __ATOMIC_SEQ_CST);
		a->result = call_do(&a->c);
		__atomic_store_n(&a->done, 1, __ATOMIC_SEQ_CST);
		sem_post(&a->fin);
	}
}

static void *actor_thread(void *p)
{
	struct actor *a = p;

	__atomic_store_n(&a->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	actor_loop(a);
	return NULL;
}

static void actor_init(struct actor *a, char name, int pshared)
{
	a->name[0] = name;
	sem_init(&a->go, pshared, 0);
	sem_init(&a->fin, pshared, 0);
}

static void actor_fini(struct actor *a)
{
	sem_destroy(&a->go);
	sem_destroy(&a->fin);
}

/* Does the actor sleep in the kernel, in futex(2) or ioctl(2) (the lock's)? */
static int asleep(const struct actor *a)
{
	int pid = a->pid ? (int)a->pid : (int)getpid();
	int tid = a->pid ? (int)a->pid : (int)a->tid;
	char path[96], buf[512], *p;
	long nr = -1;
	FILE *f;
	int st = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		st = p && p[1] && p[2] == 'S';
	}
	fclose(f);
	if (!st)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr == SYS_futex || nr == SYS_ioctl;
}

static void post(struct actor *a, const struct call *c)
{
	a->c = *c;
	a->taken = 0;
	__atomic_store_n(&a->started, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&a->done, 0, __ATOMIC_SEQ_CST);
	sem_post(&a->go);
}

/* Wait until the posted call has returned; its result. */
static int finish(struct actor *a)
{
	if (!a->taken) {
		while (sem_wait(&a->fin) && errno == EINTR)
			;
		a->taken = 1;
	}
	return a->result;
}

/* Wait until the posted call has returned (its result) or sleeps (BLOCKED). */
static int settle(struct actor *a)
{
	while (!__atomic_load_n(&a->done, __ATOMIC_SEQ_CST)) {
		if (__atomic_load_n(&a->started, __ATOMIC_SEQ_CST) && asleep(a) &&
		    !__atomic_load_n(&a->done, __ATOMIC_SEQ_CST))
			return BLOCKED;
		pause_us(100);
	}
	return finish(a);
}

/* @a makes call @c; print what it returned, or that it sleeps. */
static int act(struct actor *a, struct call c)
{
	int r;

	post(a, &c);
	r = settle(a);
	a->pending = r == BLOCKED;
	return out(r, "%s %s", a->name, call_str(&c));
}

/* @a makes call @c, which may wait (a timeout); print what it returns. */
static int act_wait(struct actor *a, struct call c)
{
	post(a, &c);
	return out(finish(a), "%s %s", a->name, call_str(&c));
}

/* The call @a was seen asleep in: print what it returns once released. */
static int returns(struct actor *a)
{
	int r = finish(a);

	if (!a->pending)
		return r;
	a->pending = 0;
	printf("%s: %s %s -> %s\n", seq, a->name, call_str(&a->c), ename(r));
	__atomic_fetch_add(lines_out, 1, __ATOMIC_RELAXED);
	return r;
}

/* The main thread makes call @c itself. */
static int me(struct call c)
{
	return out(call_do(&c), "M %s", call_str(&c));
}

static struct actor *actors;	/* A, B, C: threads */

static void actors_start(void)
{
	int i;

	actors = calloc(3, sizeof(*actors));
	for (i = 0; i < 3; i++) {
		actor_init(&actors[i], (char)('A' + i), 0);
		pthread_create(&actors[i].th, NULL, actor_thread, &actors[i]);
		while (!__atomic_load_n(&actors[i].tid, __ATOMIC_SEQ_CST))
			pause_us(100);
	}
}

static void actors_stop(void)
{
	struct call q = { .op = QUIT };
	int i;

	for (i = 0; i < 3; i++) {
		post(&actors[i], &q);
		pthread_join(actors[i].th, NULL);
		actor_fini(&actors[i]);
	}
	free(actors);
}

/* ---- locks -------------------------------------------------------------- */

/* How a sequence's lock is made. */
enum make { STATIC_DEFAULT, STATIC_NONREC, INIT_NULL, INIT_ATTR, INIT_RAW,
	    INIT_ZEROED };

struct lockspec {
	const char *name;
	enum make make;
	int kind, pshared;	/* INIT_ATTR: set through the API */
	int raw_kind, raw_pshared;	/* INIT_RAW: written over glibc's layout */
};

static const struct lockspec specs[] = {
	{ "static-default", STATIC_DEFAULT, 0, 0, 0, 0 },
	{ "static-nonrecursive", STATIC_NONREC, 0, 0, 0, 0 },
	{ "init-NULL", INIT_NULL, 0, 0, 0, 0 },
	{ "attr-default", INIT_ATTR, -1, -1, 0, 0 },
	{ "attr-prefer-reader", INIT_ATTR, PTHREAD_RWLOCK_PREFER_READER_NP, -1, 0, 0 },
	{ "attr-prefer-writer", INIT_ATTR, PTHREAD_RWLOCK_PREFER_WRITER_NP, -1, 0, 0 },
	{ "attr-nonrecursive", INIT_ATTR,
	  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP, -1, 0, 0 },
	{ "attr-shared", INIT_ATTR, -1, PTHREAD_PROCESS_SHARED, 0, 0 },
	{ "attr-shared-nonrecursive", INIT_ATTR,
	  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP, PTHREAD_PROCESS_SHARED, 0, 0 },
	{ "attr-bad-setkind", INIT_ATTR, 42, -1, 0, 0 },
	{ "attr-raw-kind-42", INIT_RAW, 0, 0, 42, 0 },
	{ "attr-raw-kind--1", INIT_RAW, 0, 0, -1, 0 },
	{ "attr-raw-pshared-42", INIT_RAW, 0, 0, 0, 42 },
	{ "attr-zeroed", INIT_ZEROED, 0, 0, 0, 0 },
};
#define NSPECS	(sizeof(specs) / sizeof(specs[0]))

/* glibc's struct pthread_rwlockattr, as uninitialized memory may fill it. */
struct raw_attr {
	int lockkind;
	int pshared;
};

static char seqbuf[160];

/*
 * Make the lock at @l as @s says (@l held other bytes) for sequence @what.
 * Return: what init returned.
 */
static int lock_make(const struct lockspec *s, const char *what,
		     pthread_rwlock_t *l)
{
	static const pthread_rwlock_t sdef = PTHREAD_RWLOCK_INITIALIZER;
	static const pthread_rwlock_t snr =
		PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
	pthread_rwlockattr_t at;
	int r = 0;

	snprintf(seqbuf, sizeof(seqbuf), "%s/%s", s->name, what);
	begin(seqbuf);
	memset(l, 0xa5, sizeof(*l));
	switch (s->make) {
	case STATIC_DEFAULT:
		*l = sdef;
		break;
	case STATIC_NONREC:
		*l = snr;
		break;
	case INIT_NULL:
		r = out(pthread_rwlock_init(l, NULL), "M init(NULL)");
		break;
	case INIT_ATTR:
		pthread_rwlockattr_init(&at);
		if (s->kind >= 0)
			out(pthread_rwlockattr_setkind_np(&at, s->kind),
			    "M attr setkind_np(%d)", s->kind);
		if (s->pshared >= 0)
			out(pthread_rwlockattr_setpshared(&at, s->pshared),
			    "M attr setpshared(%d)", s->pshared);
		r = out(pthread_rwlock_init(l, &at), "M init(attr)");
		pthread_rwlockattr_destroy(&at);
		break;
	case INIT_RAW:
		pthread_rwlockattr_init(&at);
		((struct raw_attr *)&at)->lockkind = s->raw_kind;
		((struct raw_attr *)&at)->pshared = s->raw_pshared;
		r = out(pthread_rwlock_init(l, &at),
			"M init(attr holding kind %d, pshared %d)", s->raw_kind,
			s->raw_pshared);
		break;
	case INIT_ZEROED:
		memset(&at, 0, sizeof(at));
		r = out(pthread_rwlock_init(l, &at), "M init(zeroed attr)");
		break;
	}
	return r;
}

static int spec_shared(const struct lockspec *s)
{
	return (s->make == INIT_ATTR && s->pshared == PTHREAD_PROCESS_SHARED) ||
	       (s->make == INIT_RAW && s->raw_pshared != PTHREAD_PROCESS_PRIVATE);
}

/* ---- attribute sequences ------------------------------------------------ */

static void attr_values(pthread_rwlockattr_t *at, const char *when)
{
	int k = -7, p = -7, r;

	r = pthread_rwlockattr_getkind_np(at, &k);
	out(r, "M getkind_np %s: kind %d", when, k);
	r = pthread_rwlockattr_getpshared(at, &p);
	out(r, "M getpshared %s: pshared %d", when, p);
}

static void test_attr(pthread_rwlock_t *unused)
{
	static const int kinds[] = {
		PTHREAD_RWLOCK_PREFER_READER_NP, PTHREAD_RWLOCK_PREFER_WRITER_NP,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP, 3, -1, 42, INT_MAX,
		INT_MIN, PTHREAD_RWLOCK_DEFAULT_NP,
	};
	static const int pshared[] = {
		PTHREAD_PROCESS_PRIVATE, PTHREAD_PROCESS_SHARED, 2, -1, 42,
		PTHREAD_PROCESS_SHARED,
	};
	pthread_rwlockattr_t at;
	unsigned int i;

	(void)unused;
	memset(&at, 0, sizeof(at));
	attr_values(&at, "of a zeroed attr");
	memset(&at, 0xa5, sizeof(at));
	out(pthread_rwlockattr_init(&at), "M init");
	attr_values(&at, "after init");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		out(pthread_rwlockattr_setkind_np(&at, kinds[i]),
		    "M setkind_np(%d)", kinds[i]);
		attr_values(&at, "after it");
	}
	for (i = 0; i < sizeof(pshared) / sizeof(pshared[0]); i++) {
		out(pthread_rwlockattr_setpshared(&at, pshared[i]),
		    "M setpshared(%d)", pshared[i]);
		attr_values(&at, "after it");
	}
	out(pthread_rwlockattr_setkind_np(&at, PTHREAD_RWLOCK_PREFER_WRITER_NP),
	    "M setkind_np(%d)", PTHREAD_RWLOCK_PREFER_WRITER_NP);
	out(pthread_rwlockattr_destroy(&at), "M destroy");
	attr_values(&at, "after destroy");
	out(pthread_rwlockattr_destroy(&at), "M destroy again");
	out(pthread_rwlockattr_init(&at), "M init again");
	attr_values(&at, "after init again");
	out(pthread_rwlockattr_destroy(&at), "M destroy");
}

/* ---- single-threaded sequences ------------------------------------------ */

static const clockid_t bad_clocks[] = {
	CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW,
	CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
	CLOCK_TAI, -1, 12345,
};
#define NBAD	(sizeof(bad_clocks) / sizeof(bad_clocks[0]))

static void single_read(pthread_rwlock_t *l)
{
	me(mk(RD, l, 0, DL_NONE));
	me(mk(RD, l, 0, DL_NONE));
	me(mk(TRYRD, l, 0, DL_NONE));
	me(mk(TIMEDRD, l, 0, DL_PAST));
	me(mk(CLOCKRD, l, CLOCK_MONOTONIC, DL_PAST));
	me(mk(TRYWR, l, 0, DL_NONE));
	me(mk(TIMEDWR, l, 0, DL_PAST));
	me(mk(CLOCKWR, l, CLOCK_MONOTONIC, DL_PAST));
	me(mk(CLOCKWR, l, CLOCK_REALTIME, DL_NEG_SEC));
	me(mk(TIMEDWR, l, 0, DL_NSEC_MAX));
	me(mk(TIMEDWR, l, 0, DL_NSEC_1E9));
	me(mk(TIMEDWR, l, 0, DL_SHORT));
	me(mk(UNLOCK, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	me(mk(TRYWR, l, 0, DL_NONE));	/* 0: every read lock was released */
	me(mk(UNLOCK, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));	/* of an unlocked lock: the end */
}

static void single_write(pthread_rwlock_t *l)
{
	unsigned int i;

	me(mk(WR, l, 0, DL_NONE));
	me(mk(WR, l, 0, DL_NONE));
	me(mk(RD, l, 0, DL_NONE));
	me(mk(TRYRD, l, 0, DL_NONE));
	me(mk(TRYWR, l, 0, DL_NONE));
	me(mk(TIMEDRD, l, 0, DL_PAST));
	me(mk(TIMEDWR, l, 0, DL_PAST));
	me(mk(TIMEDRD, l, 0, DL_LONG));
	me(mk(TIMEDWR, l, 0, DL_NEG_SEC));
	me(mk(CLOCKRD, l, CLOCK_MONOTONIC, DL_PAST));
	me(mk(CLOCKWR, l, CLOCK_REALTIME, DL_LONG));
	me(mk(TIMEDRD, l, 0, DL_NULL));
	me(mk(TIMEDWR, l, 0, DL_NULL));
	me(mk(CLOCKWR, l, CLOCK_MONOTONIC, DL_NULL));
	me(mk(TIMEDWR, l, 0, DL_NSEC_1E9));
	me(mk(TIMEDRD, l, 0, DL_NSEC_NEG));
	me(mk(CLOCKRD, l, CLOCK_MONOTONIC, DL_NSEC_1E9));
	for (i = 0; i < NBAD; i++) {
		me(mk(CLOCKRD, l, bad_clocks[i], DL_PAST));
		me(mk(CLOCKWR, l, bad_clocks[i], DL_LONG));
	}
	me(mk(CLOCKRD, l, CLOCK_PROCESS_CPUTIME_ID, DL_NULL));
	me(mk(UNLOCK, l, 0, DL_NONE));
	me(mk(TRYRD, l, 0, DL_NONE));	/* 0: the write lock was released */
	me(mk(UNLOCK, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));	/* of an unlocked lock: the end */
}

/* Every timed call on a lock nobody holds. */
static void single_timed_free(pthread_rwlock_t *l)
{
	static const enum dl dls[] = { DL_PAST, DL_LONG, DL_NEG_SEC, DL_NSEC_MAX,
				       DL_NSEC_1E9, DL_NSEC_NEG, DL_NULL };
	static const enum op ops[] = { TIMEDRD, TIMEDWR, CLOCKRD, CLOCKWR };
	static const clockid_t good[] = { CLOCK_REALTIME, CLOCK_MONOTONIC };
	unsigned int i, j, k;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		int nclk = ops[i] == CLOCKRD || ops[i] == CLOCKWR ? 2 : 1;

		for (k = 0; k < (unsigned int)nclk; k++)
			for (j = 0; j < sizeof(dls) / sizeof(dls[0]); j++)
				if (me(mk(ops[i], l, good[k], dls[j])) == 0)
					me(mk(UNLOCK, l, 0, DL_NONE));
		if (nclk == 1)
			continue;
		for (k = 0; k < NBAD; k++) {
			if (me(mk(ops[i], l, bad_clocks[k], DL_LONG)) == 0)
				me(mk(UNLOCK, l, 0, DL_NONE));
			if (me(mk(ops[i], l, bad_clocks[k], DL_NULL)) == 0)
				me(mk(UNLOCK, l, 0, DL_NONE));
		}
	}
	me(mk(DESTROY, l, 0, DL_NONE));
}

static void single_destroy(pthread_rwlock_t *l)
{
	me(mk(DESTROY, l, 0, DL_NONE));		/* unlocked */
	me(mk(DESTROY, l, 0, DL_NONE));		/* again */
	me(mk(RD, l, 0, DL_NONE));		/* destroy changed nothing */
	me(mk(DESTROY, l, 0, DL_NONE));		/* read-locked */
	me(mk(RD, l, 0, DL_NONE));
	me(mk(DESTROY, l, 0, DL_NONE));		/* read-locked twice */
	me(mk(TRYWR, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	me(mk(WR, l, 0, DL_NONE));
	me(mk(DESTROY, l, 0, DL_NONE));		/* write-locked */
	me(mk(WR, l, 0, DL_NONE));		/* still the writer */
	me(mk(TRYRD, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	me(mk(TRYWR, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	me(mk(DESTROY, l, 0, DL_NONE));
}

/*
 * init over a used lock makes a new, unlocked one (glibc: memset).  Over a
 * held one only without --tsan: ThreadSanitizer keeps a lock's state
 * across init (with glibc's pthread_rwlock_init too) and reports the next
 * lock of it.
 */
static void single_reinit(pthread_rwlock_t *l)
{
	me(mk(WR, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	out(pthread_rwlock_init(l, NULL), "M init(NULL) again");
	me(mk(TRYWR, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	if (!tsan_model) {
		me(mk(WR, l, 0, DL_NONE));
		out(pthread_rwlock_init(l, NULL), "M init(NULL) while write-locked");
		me(mk(TRYRD, l, 0, DL_NONE));
		me(mk(TRYWR, l, 0, DL_NONE));
		me(mk(UNLOCK, l, 0, DL_NONE));
		me(mk(TRYWR, l, 0, DL_NONE));
		me(mk(UNLOCK, l, 0, DL_NONE));
	}
	me(mk(DESTROY, l, 0, DL_NONE));
}

/* ---- multi-threaded sequences ------------------------------------------- */

#define A (&actors[0])
#define B (&actors[1])
#define C (&actors[2])

/* A holds the lock (@hold), B waits (@wait); destroy; A unlocks, B gets it. */
static void destroy_waited(pthread_rwlock_t *l, enum op hold, enum op wait)
{
	act(A, mk(hold, l, 0, DL_NONE));
	act(B, mk(wait, l, 0, DL_NONE));
	me(mk(DESTROY, l, 0, DL_NONE));
	act(A, mk(UNLOCK, l, 0, DL_NONE));
	returns(B);
	act(B, mk(UNLOCK, l, 0, DL_NONE));
}

/* Destroy while held and waited on: the waiter gets the lock when released. */
static void multi_destroy_waited(pthread_rwlock_t *l)
{
	destroy_waited(l, WR, RD);
	destroy_waited(l, WR, WR);
	destroy_waited(l, RD, WR);

	/* two waiters, timed: both get the lock, in either order */
	act(A, mk(WR, l, 0, DL_NONE));
	act(B, mku(TIMEDRD, l, 0, DL_LONG));
	act(C, mku(CLOCKWR, l, CLOCK_MONOTONIC, DL_LONG));
	me(mk(DESTROY, l, 0, DL_NONE));
	act(A, mk(UNLOCK, l, 0, DL_NONE));
	returns(B);
	returns(C);
	me(mk(DESTROY, l, 0, DL_NONE));
}

/* Destroy while a timed waiter waits: it times out; the holder unlocks. */
static void multi_destroy_timeout(pthread_rwlock_t *l)
{
	act(A, mk(WR, l, 0, DL_NONE));
	act_wait(B, mk(TIMEDRD, l, 0, DL_SHORT));
	me(mk(DESTROY, l, 0, DL_NONE));
	act_wait(B, mk(CLOCKWR, l, CLOCK_MONOTONIC, DL_SHORT));
	act(A, mk(UNLOCK, l, 0, DL_NONE));
	act(B, mk(TRYWR, l, 0, DL_NONE));
	act(B, mk(UNLOCK, l, 0, DL_NONE));
}

/* A writer holds the lock: other threads wait, try-calls fail, no EDEADLK. */
static void multi_writer_holds(pthread_rwlock_t *l)
{
	act(A, mk(WR, l, 0, DL_NONE));
	act(B, mk(TRYWR, l, 0, DL_NONE));
	act(B, mk(TRYRD, l, 0, DL_NONE));
	act(B, mk(TIMEDWR, l, 0, DL_PAST));
	act(B, mk(TIMEDRD, l, 0, DL_PAST));
	act(B, mk(CLOCKRD, l, CLOCK_REALTIME, DL_NEG_SEC));
	act(B, mk(CLOCKWR, l, CLOCK_MONOTONIC, DL_NSEC_1E9));
	act(B, mk(CLOCKRD, l, CLOCK_BOOTTIME, DL_LONG));
	/* a writer and a reader wait; either goes first */
	act(B, mku(WR, l, 0, DL_NONE));
	act(C, mku(RD, l, 0, DL_NONE));
	act(A, mk(UNLOCK, l, 0, DL_NONE));
	returns(B);
	returns(C);

	act(A, mk(WR, l, 0, DL_NONE));
	act_wait(B, mk(TIMEDWR, l, 0, DL_SHORT));
	act_wait(C, mk(CLOCKRD, l, CLOCK_MONOTONIC, DL_SHORT));
	act(A, mk(UNLOCK, l, 0, DL_NONE));
	act(B, mk(TIMEDRD, l, 0, DL_PAST));
	act(C, mk(TIMEDRD, l, 0, DL_PAST));
	act(A, mk(TRYWR, l, 0, DL_NONE));
	act(B, mk(UNLOCK, l, 0, DL_NONE));
	act(C, mk(UNLOCK, l, 0, DL_NONE));
	act(A, mk(TRYWR, l, 0, DL_NONE));
	act(A, mk(UNLOCK, l, 0, DL_NONE));
	me(mk(DESTROY, l, 0, DL_NONE));
}

/*
 * A reader holds the lock and a writer waits: who else gets in depends on
 * the kind (glibc: only PREFER_WRITER_NONRECURSIVE_NP keeps readers out).
 */
static void multi_writer_waits(pthread_rwlock_t *l)
{
	act(A, mk(RD, l, 0, DL_NONE));
	act(B, mk(WR, l, 0, DL_NONE));
	act(C, mku(TRYRD, l, 0, DL_NONE));
	act(C, mku(TIMEDRD, l, 0, DL_PAST));
	act(C, mku(CLOCKRD, l, CLOCK_MONOTONIC, DL_PAST));
	act(C, mk(TRYWR, l, 0, DL_NONE));
	act(C, mk(CLOCKWR, l, CLOCK_REALTIME, DL_PAST));
	/* the reader again (recursive) */
	act(A, mku(TRYRD, l, 0, DL_NONE));
	act(A, mku(TIMEDRD, l, 0, DL_PAST));
	act(A, mk(TRYWR, l, 0, DL_NONE));
	act(A, mk(TIMEDWR, l, 0, DL_PAST));
	/* a new reader: in at once, or after the writer */
	act(C, mku(RD, l, 0, DL_NONE));
	act(A, mk(UNLOCK, l, 0, DL_NONE));
	returns(B);
	act(B, mk(UNLOCK, l, 0, DL_NONE));
	returns(C);
	me(mk(DESTROY, l, 0, DL_NONE));
}

/* Unlock by a thread that does not hold the lock; nobody waits. */
static void multi_foreign_unlock_write(pthread_rwlock_t *l)
{
	act(A, mk(WR, l, 0, DL_NONE));
	act(B, mk(UNLOCK, l, 0, DL_NONE));
	act(B, mk(TRYWR, l, 0, DL_NONE));
	act(B, mk(TRYRD, l, 0, DL_NONE));
	act(A, mk(WR, l, 0, DL_NONE));		/* A is still the writer */
	act(A, mk(UNLOCK, l, 0, DL_NONE));
}

static void multi_foreign_unlock_read(pthread_rwlock_t *l)
{
	act(A, mk(RD, l, 0, DL_NONE));
	act(B, mk(UNLOCK, l, 0, DL_NONE));
	act(A, mk(UNLOCK, l, 0, DL_NONE));
}

static void multi_unlock_unlocked(pthread_rwlock_t *l)
{
	act(A, mk(UNLOCK, l, 0, DL_NONE));
}

/* ---- process-shared sequences ------------------------------------------- */

/*
 * The process-shared sequence: this process and P, a child of fork(), on a
 * lock in shared memory (both made by run_seq()).
 */
static struct actor *proc;

static void shared_fork(pthread_rwlock_t *l)
{
	struct actor *p = proc;
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		actor_loop(p);
		_exit(0);
	}
	p->pid = pid;
	me(mk(WR, l, 0, DL_NONE));
	act(p, mk(TRYRD, l, 0, DL_NONE));
	act(p, mk(TRYWR, l, 0, DL_NONE));
	act(p, mk(TIMEDRD, l, 0, DL_PAST));
	act(p, mk(RD, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	returns(p);
	me(mk(TRYWR, l, 0, DL_NONE));
	me(mk(TRYRD, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	act(p, mk(UNLOCK, l, 0, DL_NONE));
	me(mk(RD, l, 0, DL_NONE));
	act(p, mk(WR, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	returns(p);
	me(mk(TRYRD, l, 0, DL_NONE));
	me(mk(DESTROY, l, 0, DL_NONE));
	act(p, mk(UNLOCK, l, 0, DL_NONE));
	me(mk(TRYWR, l, 0, DL_NONE));
	me(mk(UNLOCK, l, 0, DL_NONE));
	post(p, &(struct call){ .op = QUIT });
	waitpid(pid, &st, 0);
	out(WIFEXITED(st) ? WEXITSTATUS(st) : -1, "child exit status");
}

/* ---- main --------------------------------------------------------------- */

#define FN(f) { #f, (void *)f }

static void providers(void)
{
	static const struct { const char *name; void *fn; } fns[] = {
		FN(pthread_rwlock_init), FN(pthread_rwlock_destroy),
		FN(pthread_rwlock_rdlock), FN(pthread_rwlock_tryrdlock),
		FN(pthread_rwlock_timedrdlock), FN(pthread_rwlock_clockrdlock),
		FN(pthread_rwlock_wrlock), FN(pthread_rwlock_trywrlock),
		FN(pthread_rwlock_timedwrlock), FN(pthread_rwlock_clockwrlock),
		FN(pthread_rwlock_unlock), FN(pthread_rwlockattr_init),
		FN(pthread_rwlockattr_destroy), FN(pthread_rwlockattr_getkind_np),
		FN(pthread_rwlockattr_setkind_np),
		FN(pthread_rwlockattr_getpshared),
		FN(pthread_rwlockattr_setpshared),
	};
	unsigned int i;
	Dl_info info;

	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		printf("provider %s: %s\n", fns[i].name,
		       dladdr(fns[i].fn, &info) && info.dli_fname ?
		       info.dli_fname : "?");
	/* libc's, or a sanitizer runtime's */
	printf("runtime pthread_create: %s\n",
	       dladdr((void *)pthread_create, &info) && info.dli_fname ?
	       info.dli_fname : "?");
}

/* ---- sequences, one process each ----------------------------------------- */

/* What a sequence's process has besides the lock. */
enum with { ALONE, THREADS, CHILD };

struct seqdef {
	const char *what;
	void (*fn)(pthread_rwlock_t *l);
	enum with with;
};

static const struct seqdef seqdefs[] = {
	{ "read", single_read, ALONE },
	{ "write", single_write, ALONE },
	{ "timed-free", single_timed_free, ALONE },
	{ "destroy", single_destroy, ALONE },
	{ "reinit", single_reinit, ALONE },
	{ "destroy-waited", multi_destroy_waited, THREADS },
	{ "destroy-timeout", multi_destroy_timeout, THREADS },
	{ "writer-holds", multi_writer_holds, THREADS },
	{ "writer-waits", multi_writer_waits, THREADS },
	{ "foreign-unlock-write", multi_foreign_unlock_write, THREADS },
	{ "foreign-unlock-read", multi_foreign_unlock_read, THREADS },
	{ "unlock-unlocked", multi_unlock_unlocked, THREADS },
	{ "fork", shared_fork, CHILD },	/* process-shared locks only */
};
#define NSEQS	(sizeof(seqdefs) / sizeof(seqdefs[0]))

/* In the sequence's process: make the lock (none for @s NULL) and run. */
static void seq_body(const struct lockspec *s, const struct seqdef *d)
{
	struct shm {
		pthread_rwlock_t l;
		struct actor a;
	} *m = NULL;
	pthread_rwlock_t *l = NULL;

	if (d->with == CHILD) {
		m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			exit(2);
		l = &m->l;
		proc = &m->a;
		actor_init(proc, 'P', 1);
	} else if (s) {
		l = malloc(sizeof(*l));
	}
	if (!s)
		begin(d->what);
	/* a lock that init refused would hold garbage: the sequence ends */
	if (!s || lock_make(s, d->what, l) == 0) {
		if (d->with == THREADS)
			actors_start();
		d->fn(l);
		if (d->with == THREADS)
			actors_stop();
	}
	if (m) {
		actor_fini(proc);
		munmap(m, sizeof(*m));
	} else {
		free(l);
	}
}

/*
 * Run sequence @d on a lock made as @s says, in a process of its own (and
 * its own process group): one that prints no line for HANG_MS (a call
 * that never returns) is killed, and "SEQUENCE: hang" or "SEQUENCE: exit
 * status N" ends its lines.  Return: 0 if it exited 0.
 */
static int run_seq(const struct lockspec *s, const struct seqdef *d)
{
	unsigned long last = ~0ul, cur;
	char label[160];
	long idle = 0;
	pid_t pid;
	int st;

	snprintf(label, sizeof(label), "%s%s%s", s ? s->name : "", s ? "/" : "",
		 d->what);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		setvbuf(stdout, NULL, _IOLBF, 0);	/* nothing lost if killed */
		seq_body(s, d);
		fflush(stdout);
		exit(0);
	}
	setpgid(pid, pid);
	while (waitpid(pid, &st, WNOHANG) != pid) {
		pause_us(1000);
		cur = __atomic_load_n(lines_out, __ATOMIC_RELAXED);
		if (cur != last) {
			last = cur;
			idle = 0;
		} else if (++idle >= HANG_MS) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			printf("%s: hang: no result for %d ms\n", label, HANG_MS);
			return 1;
		}
	}
	kill(-pid, SIGKILL);	/* a process it left behind */
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFSIGNALED(st))
		printf("%s: killed by signal %d\n", label, WTERMSIG(st));
	else
		printf("%s: exit status %d\n", label, WEXITSTATUS(st));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct seqdef attr = { "attr", test_attr, ALONE };
	unsigned int i, j;
	int bad;

	tsan_model = argc > 1 && !strcmp(argv[1], "--tsan");
	lines_out = mmap(NULL, sizeof(*lines_out), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lines_out == MAP_FAILED)
		return 2;
	providers();
	bad = run_seq(NULL, &attr);
	for (i = 0; i < NSPECS; i++)
		for (j = 0; j < NSEQS; j++)
			if (seqdefs[j].with != CHILD || spec_shared(&specs[i]))
				bad |= run_seq(&specs[i], &seqdefs[j]);
	printf("end\n");
	return bad;
}
