// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: locking thread API: bad input, normal life cycle, wait_held deadline, acquire errors, EDEADLK from callbacks, the helpers for acquire (sleep, timedlock), the interrupt hook's result (0 ends its repetition), blocked signals, and a randomized kill/finish stress checking release exactly once iff acquire succeeded */
/*
 * Linked against the library itself (no test hooks).  The deterministic
 * kill points are in lockthread-killpoints.c.  The stress runs
 * scaled(4000) rounds (400 under TSAN).
 */
#include "test.h"

#include <sched.h>
#include <signal.h>

#include <syncfix.h>

enum mode { M_OK, M_FAIL, M_SLEEP, M_POLL, M_MUTEX, M_HOOK, M_NMODES };

struct ctx {
	enum mode mode;
	int spin;		/* busy loop before acquire's work */
	int acquires, releases, acq_ret, selfcall[3], sigmask_ok;
	sf_mutex_t *mutex;
	/* the "subsystem" the hook interrupts (glibc: independent) */
	pthread_mutex_t m;
	pthread_cond_t c;
	int pending, killed;
};

static int hook_kill(void *arg, uint64_t id)
{
	struct ctx *c = arg;
	int r = ENOENT;

	if (id != 7)
		abort();
	pthread_mutex_lock(&c->m);
	if (c->pending) {
		c->killed = 1;
		pthread_cond_broadcast(&c->c);
		r = 0;
	}
	pthread_mutex_unlock(&c->m);
	return r;
}

static int do_acquire(struct sf_lockthread *lt, struct ctx *c)
{
	int r;

	for (int i = 0; i < c->spin; i++)
		sf_cpu_relax_test();
	switch (c->mode) {
	case M_OK:
		return 0;
	case M_FAIL:
		return -EAGAIN;		/* negative: taken as EAGAIN */
	case M_SLEEP:
		return sf_lockthread_sleep(lt, CLOCK_MONOTONIC, NULL);
	case M_POLL:
		while (!(r = sf_lockthread_testcancel(lt)))
			sched_yield();
		return r;
	case M_MUTEX:
		return sf_lockthread_timedlock(lt, c->mutex, CLOCK_REALTIME,
					       NULL);
	case M_HOOK:
		/* registered from acquire itself, possibly after the kill */
		sf_lockthread_set_interrupt(lt, hook_kill, c, 7);
		pthread_mutex_lock(&c->m);
		c->pending = 1;
		while (!c->killed)
			pthread_cond_wait(&c->c, &c->m);
		c->pending = 0;
		pthread_mutex_unlock(&c->m);
		return ECANCELED;
	default:
		return EINVAL;
	}
}

static int acquire(struct sf_lockthread *lt, void *arg)
{
	struct ctx *c = arg;
	sigset_t cur;
	int r;

	__atomic_fetch_add(&c->acquires, 1, __ATOMIC_RELAXED);
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	c->sigmask_ok = sigismember(&cur, SIGINT) && sigismember(&cur, SIGTERM);
	r = do_acquire(lt, c);
	c->acq_ret = r;
	return r;
}

static void release(struct sf_lockthread *lt, void *arg)
{
	struct ctx *c = arg;

	(void)lt;
	__atomic_fetch_add(&c->releases, 1, __ATOMIC_RELAXED);
	if (c->mode == M_MUTEX)
		sf_mutex_unlock(c->mutex);
}

static int acquire_selfcalls(struct sf_lockthread *lt, void *arg)
{
	struct ctx *c = arg;

	c->selfcall[0] = sf_lockthread_kill(lt);
	c->selfcall[1] = sf_lockthread_finish(lt);
	c->selfcall[2] = sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, NULL);
	return 0;
}

static void ctx_init(struct ctx *c, enum mode mode)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->m = m;
	c->c = cv;
	c->acq_ret = -1;
}

/* ---- bad input ---------------------------------------------------------- */

static void t_bad_input(void)
{
	struct sf_lockthread *lt = NULL;
	struct sf_lockthread_status st;
	struct timespec bad = { 0, 1000000000L }, good = { 0, 0 };
	sf_mutex_t m = SF_MUTEX_INITIALIZER;
	struct ctx c;

	ctx_init(&c, M_OK);
	ok_err(sf_lockthread_create(NULL, acquire, release, &c), EINVAL,
	       "create: NULL result pointer");
	ok_err(sf_lockthread_create(&lt, NULL, release, &c), EINVAL,
	       "create: NULL acquire");
	ok(lt == NULL, "create: nothing written on EINVAL");
	ok_err(sf_lockthread_start(NULL), EINVAL, "start: NULL");
	ok_err(sf_lockthread_kill(NULL), EINVAL, "kill: NULL");
	ok_err(sf_lockthread_finish(NULL), EINVAL, "finish: NULL");
	ok_err(sf_lockthread_wait_held(NULL, CLOCK_MONOTONIC, NULL), EINVAL,
	       "wait_held: NULL");
	ok_err(sf_lockthread_set_interrupt(NULL, hook_kill, &c, 0), EINVAL,
	       "set_interrupt: NULL");
	ok_err(sf_lockthread_testcancel(NULL), EINVAL, "testcancel: NULL");
	ok_err(sf_lockthread_sleep(NULL, CLOCK_MONOTONIC, NULL), EINVAL,
	       "sleep: NULL");
	ok_err(sf_lockthread_status(NULL, &st), EINVAL, "status: NULL");
	sf_lockthread_destroy(NULL);
	ok(1, "destroy(NULL) is a no-op");

	ok_err(sf_lockthread_create(&lt, acquire, NULL, &c), 0,
	       "create with a NULL release");
	ok_err(sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, NULL), EINVAL,
	       "wait_held before start");
	ok_err(sf_lockthread_wait_held(lt, CLOCK_PROCESS_CPUTIME_ID, &good),
	       EINVAL, "wait_held: bad clock");
	ok_err(sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, &bad), EINVAL,
	       "wait_held: tv_nsec 1e9");
	ok_err(sf_lockthread_sleep(lt, CLOCK_MONOTONIC, &bad), EINVAL,
	       "sleep: tv_nsec 1e9");
	ok_err(sf_lockthread_timedlock(lt, NULL, CLOCK_MONOTONIC, NULL), EINVAL,
	       "timedlock: NULL mutex");
	ok_err(sf_lockthread_timedlock(lt, &m, CLOCK_THREAD_CPUTIME_ID, NULL),
	       EINVAL, "timedlock: bad clock");
	ok_err(sf_lockthread_status(lt, NULL), EINVAL, "status: NULL result");
	sf_lockthread_status(lt, &st);
	ok(st.state == SF_LOCKTHREAD_INIT && !st.acquire_called,
	   "bad calls changed nothing (state INIT)");
	ok_err(sf_lockthread_start(lt), 0, "start");
	ok_err(sf_lockthread_start(lt), EBUSY, "start again: EBUSY");
	ok_err(sf_lockthread_finish(lt), 0, "finish with a NULL release");
	ok_err(sf_lockthread_start(lt), EBUSY, "start after the end: EBUSY");
	sf_lockthread_destroy(lt);
}

/* ---- life cycle --------------------------------------------------------- */

static void t_life_cycle(void)
{
	struct sf_lockthread *lt;
	struct sf_lockthread_status st;
	struct ctx c;

	ctx_init(&c, M_OK);
	sf_lockthread_create(&lt, acquire, release, &c);
	ok_err(sf_lockthread_start(lt), 0, "life cycle: start");
	ok_err(sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, NULL), 0,
	       "life cycle: wait_held");
	sf_lockthread_status(lt, &st);
	ok(st.state == SF_LOCKTHREAD_HELD && st.acquire_called &&
	   !st.release_called && !st.cancelled,
	   "life cycle: HELD, acquire called, release not yet");
	ok(c.sigmask_ok, "the helper runs with signals blocked");
	ok_err(sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, NULL), 0,
	       "life cycle: wait_held again");
	ok_err(sf_lockthread_finish(lt), 0, "life cycle: finish");
	sf_lockthread_status(lt, &st);
	ok(st.state == SF_LOCKTHREAD_JOINED && st.release_called &&
	   !st.killed && c.releases == 1,
	   "life cycle: JOINED, release ran once, not killed");
	ok_err(sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, NULL), ECANCELED,
	       "life cycle: wait_held after finish");
	ok_err(sf_lockthread_kill(lt), 0, "life cycle: kill after finish");
	ok(c.releases == 1, "life cycle: still one release");
	sf_lockthread_destroy(lt);
}

static void t_errors(void)
{
	struct sf_lockthread *lt;
	struct timespec dl;
	struct ctx c;

	ctx_init(&c, M_FAIL);
	sf_lockthread_create(&lt, acquire, release, &c);
	sf_lockthread_start(lt);
	ok_err(sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, NULL), EAGAIN,
	       "acquire returning -EAGAIN: wait_held gives EAGAIN");
	ok_err(sf_lockthread_finish(lt), EAGAIN, "finish gives EAGAIN");
	ok(c.releases == 0, "no release after a failed acquire");
	sf_lockthread_destroy(lt);

	ctx_init(&c, M_SLEEP);
	sf_lockthread_create(&lt, acquire, release, &c);
	sf_lockthread_start(lt);
	while (!__atomic_load_n(&c.acquires, __ATOMIC_RELAXED))
		sleep_ms(1);
	dl = deadline_ms(CLOCK_REALTIME, 20);
	ok_err(sf_lockthread_wait_held(lt, CLOCK_REALTIME, &dl), ETIMEDOUT,
	       "wait_held: ETIMEDOUT while acquire blocks");
	ok_err(sf_lockthread_finish(lt), ECANCELED,
	       "finish before held cancels the acquisition");
	ok(c.acq_ret == ECANCELED && c.releases == 0,
	   "sf_lockthread_sleep returned ECANCELED to acquire");
	sf_lockthread_destroy(lt);

	ctx_init(&c, M_OK);
	sf_lockthread_create(&lt, acquire_selfcalls, release, &c);
	sf_lockthread_start(lt);
	ok_err(sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, NULL), 0,
	       "acquire calling its own kill/finish/wait_held still holds");
	ok(c.selfcall[0] == EDEADLK && c.selfcall[1] == EDEADLK &&
	   c.selfcall[2] == EDEADLK, "...each of them returned EDEADLK");
	ok_err(sf_lockthread_kill(lt), 0, "kill");
	sf_lockthread_destroy(lt);
}

/* sleep and timedlock in acquire when nobody cancels. */
static int acquire_timeouts(struct sf_lockthread *lt, void *arg)
{
	struct ctx *c = arg;
	struct timespec dl = deadline_ms(CLOCK_MONOTONIC, 15);
	int r;

	c->selfcall[0] = sf_lockthread_sleep(lt, CLOCK_MONOTONIC, &dl);
	dl = deadline_ms(CLOCK_REALTIME, 25);
	c->selfcall[1] = sf_lockthread_timedlock(lt, c->mutex, CLOCK_REALTIME,
						 &dl);
	c->selfcall[2] = sf_lockthread_testcancel(lt);
	r = sf_lockthread_timedlock(lt, c->mutex + 1, CLOCK_MONOTONIC, NULL);
	if (!r)
		sf_mutex_unlock(c->mutex + 1);
	return r;
}

static void t_helpers(void)
{
	sf_mutex_t m[2] = { SF_MUTEX_INITIALIZER, SF_MUTEX_INITIALIZER };
	struct sf_lockthread *lt;
	struct ctx c;

	ctx_init(&c, M_OK);
	c.mutex = m;
	sf_mutex_lock(&m[0]);
	sf_lockthread_create(&lt, acquire_timeouts, NULL, &c);
	sf_lockthread_start(lt);
	ok_err(sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, NULL), 0,
	       "timedlock of a free mutex in acquire");
	ok(c.selfcall[0] == ETIMEDOUT, "sleep with a deadline: ETIMEDOUT");
	ok(c.selfcall[1] == ETIMEDOUT,
	   "timedlock of a held mutex with a deadline: ETIMEDOUT");
	ok(c.selfcall[2] == 0, "testcancel: 0 when not cancelled");
	sf_lockthread_finish(lt);
	sf_lockthread_destroy(lt);
	sf_mutex_unlock(&m[0]);
}

/* ---- randomized stress -------------------------------------------------- */

static struct sf_lockthread *stress_lt;

static void *stress_killer(void *p)
{
	(void)p;
	return (void *)(intptr_t)sf_lockthread_kill(stress_lt);
}

static void t_stress(void)
{
	long n = scaled(4000), i, bad = 0, rel = 0;
	sf_mutex_t m = SF_MUTEX_INITIALIZER;
	uint32_t seed = 12345;
	double t0 = now_mono();
	struct ctx c;

	phase("stress");
	for (i = 0; i < n && !bad; i++) {
		enum mode mode = (enum mode)(rnd(&seed) % M_NMODES);
		int how = (int)(rnd(&seed) % 4), r, r2 = 0, want, held;
		pthread_t k;
		void *kr;

		ctx_init(&c, mode);
		c.spin = (int)(rnd(&seed) % 2000);
		c.mutex = &m;
		held = mode == M_MUTEX && rnd(&seed) % 2;
		if (held)
			sf_mutex_lock(&m);
		sf_lockthread_create(&stress_lt, acquire, release, &c);
		if (mode == M_HOOK && rnd(&seed) % 2)
			sf_lockthread_set_interrupt(stress_lt, hook_kill, &c, 7);
		sf_lockthread_start(stress_lt);
		for (int s = (int)(rnd(&seed) % 3000); s > 0; s--)
			sf_cpu_relax_test();
		switch (how) {
		case 0:		/* kill at a random moment */
			r = sf_lockthread_kill(stress_lt);
			break;
		case 1:		/* finish at a random moment */
			r = sf_lockthread_finish(stress_lt);
			break;
		case 2:		/* wait briefly for held, then kill */
		{
			struct timespec dl = deadline_ms(CLOCK_MONOTONIC, 1);

			sf_lockthread_wait_held(stress_lt, CLOCK_MONOTONIC, &dl);
			r = sf_lockthread_kill(stress_lt);
			break;
		}
		default:	/* kill and finish from two threads */
			pthread_create(&k, NULL, stress_killer, NULL);
			r = sf_lockthread_finish(stress_lt);
			pthread_join(k, &kr);
			r2 = (int)(intptr_t)kr;
			break;
		}
		if (held)
			sf_mutex_unlock(&m);
		want = c.acquires ? (c.acq_ret > 0 ? c.acq_ret : 0) : 0;
		if (c.acq_ret < 0 && c.acquires)
			want = -c.acq_ret;
		if (r != want || r2 != (how == 3 ? want : 0) ||
		    c.releases != (c.acquires && c.acq_ret == 0)) {
			diag("round %ld mode %d how %d: returned %d/%d, acquire "
			     "%d (ret %d), release %d", i, mode, how, r, r2,
			     c.acquires, c.acq_ret, c.releases);
			bad++;
		}
		rel += c.releases;
		sf_lockthread_destroy(stress_lt);
		progress();
	}
	ok(!bad, "stress: %ld random kill/finish rounds (%ld released) in "
	   "%.2f s: results and release counts right", i, rel,
	   now_mono() - t0);
}

/* ---- the hook's result (I2) -------------------------------------------- */

struct hctx {
	struct sf_lockthread *lt;
	int ret;		/* what the hook returns */
	int replace;		/* the hook installs hook_b during its call */
	int want;		/* acquire returns once this many calls... */
	int *want_of;		/* ...of this counter, or after 150 ms */
	int calls, calls_b;	/* atomic */
	int in_acquire;		/* atomic */
};

static int hook_b(void *arg, uint64_t id)
{
	struct hctx *h = arg;

	(void)id;
	__atomic_fetch_add(&h->calls_b, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int hook_counted(void *arg, uint64_t id)
{
	struct hctx *h = arg;

	(void)id;
	__atomic_fetch_add(&h->calls, 1, __ATOMIC_SEQ_CST);
	if (h->replace) {
		h->replace = 0;
		sf_lockthread_set_interrupt(h->lt, hook_b, h, 0);
	}
	return h->ret;
}

/* Ignores the kill until the hook was called @want times or 150 ms. */
static int acquire_hooked(struct sf_lockthread *lt, void *arg)
{
	struct hctx *h = arg;
	double t0;

	__atomic_store_n(&h->in_acquire, 1, __ATOMIC_SEQ_CST);
	while (!sf_lockthread_testcancel(lt))
		sleep_ms(1);
	t0 = now_mono();
	while (__atomic_load_n(h->want_of, __ATOMIC_SEQ_CST) < h->want &&
	       now_mono() - t0 < 0.15)
		sleep_ms(1);
	return ECANCELED;
}

static void hook_case(const char *what, int ret, int replace)
{
	struct sf_lockthread_status st;
	struct hctx h = { .ret = ret, .replace = replace };

	/* 0: the first call is the last; else wait for repeats (or B) */
	h.want = replace ? 1 : ret ? 3 : 1000;
	h.want_of = replace ? &h.calls_b : &h.calls;
	sf_lockthread_create(&h.lt, acquire_hooked, NULL, &h);
	sf_lockthread_set_interrupt(h.lt, hook_counted, &h, 9);
	sf_lockthread_start(h.lt);
	while (!__atomic_load_n(&h.in_acquire, __ATOMIC_SEQ_CST))
		sleep_ms(1);
	ok_err(sf_lockthread_kill(h.lt), ECANCELED, "%s: kill returns "
	       "acquire's error", what);
	sf_lockthread_status(h.lt, &st);
	if (replace)
		ok(h.calls == 1 && h.calls_b == 1 && st.interrupts == 2,
		   "%s: the hook returned 0 but installed another during "
		   "its call; that one is called once (%d, %d, %lu)", what,
		   h.calls, h.calls_b, st.interrupts);
	else if (ret)
		ok(h.calls >= 3 && st.interrupts == (unsigned long)h.calls,
		   "%s: a hook that found nothing to interrupt is called "
		   "again (%d calls)", what, h.calls);
	else
		ok(h.calls == 1 && st.interrupts == 1,
		   "%s: a hook that returned 0 is not called again within "
		   "150 ms (%d calls)", what, h.calls);
	sf_lockthread_destroy(h.lt);
}

static void t_hook_result(void)
{
	hook_case("hook 0", 0, 0);
	hook_case("hook ENOENT", ENOENT, 0);
	hook_case("hook replaced", 0, 1);
}

int main(void)
{
	watchdog_start(10);
	phase("bad input");
	t_bad_input();
	phase("life cycle");
	t_life_cycle();
	phase("errors");
	t_errors();
	phase("helpers");
	t_helpers();
	phase("hook result");
	t_hook_result();
	t_stress();
	return done_testing();
}
