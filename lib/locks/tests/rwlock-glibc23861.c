// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: glibc bug 23861 (reader waits on a stale lock word): the exact interleaving injected at the rdlock wait hook, no spinning while blocked, and tst-rwlock-pwn's random one-writer/two-reader run */
/*
 * Usage: rwlock-glibc23861 [hook|nospin|pwn]...   (default: all three)
 *
 * Linked against the test-hook build of the library (SF_TEST_HOOKS).  Run
 * with the broken protocol put back (SF_TEST_BROKEN=stale-wait) it must
 * fail; stale-wait-demo checks that.
 */
#include "test.h"

#include <sys/syscall.h>

#include <syncfix.h>

#include "testhooks.h"

static const char *const kind_name[] = { "prefer-reader", "prefer-writer",
					 "nonrecursive" };

static void init_kind(sf_rwlock_t *l, int k)
{
	sf_rwlockattr_t at;

	sf_rwlockattr_init(&at);
	sf_rwlockattr_setkind(&at, k);
	sf_rwlock_init(l, &at);
}

/* ---- hook: the seed's interleaving, made deterministic ----------------- */

static struct sync_point hsp;
static pthread_t hook_thread;
static int hook_armed;
static uint32_t hook_val;

/*
 * Runs in the reader between "loaded the word (and set the waiting bit)"
 * and "futex wait": the first time, stop there until the main thread has
 * unlocked (sending its wakeup to nobody) and locked again.
 */
static long hook(const char *point, const void *obj, uint64_t val)
{
	(void)obj;
	if (strcmp(point, "rwlock:rdlock-before-wait") ||
	    !pthread_equal(pthread_self(), hook_thread) ||
	    !__atomic_exchange_n(&hook_armed, 0, __ATOMIC_ACQ_REL))
		return SF_HOOK_NONE;
	hook_val = (uint32_t)val;
	sync_set(&hsp, 1);
	sync_wait(&hsp, 2);
	return SF_HOOK_NONE;
}

static void *hook_reader(void *p)
{
	sf_rwlock_t *l = p;
	int r = sf_rwlock_rdlock(l);

	sync_set(&hsp, 3);
	if (r == 0)
		sf_rwlock_unlock(l);
	return (void *)(intptr_t)r;
}

static int case_hook(int k)
{
	struct sync_point init = SYNC_POINT_INIT;
	sf_rwlock_t l;
	void *res;
	int woke;

	init_kind(&l, k);
	hsp = init;
	sf_rwlock_wrlock(&l);				/* W1 */
	__atomic_store_n(&hook_armed, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&sf_test_hook, hook, __ATOMIC_RELEASE);
	pthread_create(&hook_thread, NULL, hook_reader, &l);
	if (!sync_wait_ms(&hsp, 1, 5000)) {
		ok(0, "%s: reader reached the wait hook", kind_name[k]);
		return 0;
	}
	/*
	 * The reader has decided to sleep on hook_val.  Release (the wakeup
	 * finds nobody asleep) and lock again: the word is back to what it
	 * was before the reader set its waiting bit.
	 */
	sf_rwlock_unlock(&l);
	sf_rwlock_wrlock(&l);				/* W2 */
	sync_set(&hsp, 2);
	sleep_ms(100);		/* the reader now sleeps (or, if correct, retries) */
	sf_rwlock_unlock(&l);
	woke = sync_wait_ms(&hsp, 3, 2000);
	ok(woke, "%s: reader stopped before its futex wait (value 0x%08x) gets "
	   "the lock after unlock/relock/unlock", kind_name[k], hook_val);
	if (!woke) {
		diag("the reader still sleeps 2 s after the last unlock: it waited "
		     "on a stale value and missed the wakeup");
		return 0;
	}
	pthread_join(hook_thread, &res);
	ok(res == NULL, "%s: its rdlock returned 0", kind_name[k]);
	__atomic_store_n(&sf_test_hook, NULL, __ATOMIC_RELEASE);
	return 1;
}

/* ---- nospin: a blocked reader uses no CPU ---------------------------- */

struct nospin {
	sf_rwlock_t *l;
	struct sync_point sp;
	double cpu;
	pid_t tid;
	int r;
};

static void *nospin_reader(void *p)
{
	struct nospin *n = p;
	double c0;

	n->tid = (pid_t)syscall(SYS_gettid);
	sync_set(&n->sp, 1);
	c0 = thread_cpu();
	n->r = sf_rwlock_rdlock(n->l);
	n->cpu = thread_cpu() - c0;
	sf_rwlock_unlock(n->l);
	return NULL;
}

static int case_nospin(int k, long hold_ms)
{
	struct nospin n = { .sp = SYNC_POINT_INIT };
	sf_rwlock_t l;
	pthread_t t;
	int i, slept = 0;

	init_kind(&l, k);
	n.l = &l;
	sf_rwlock_wrlock(&l);
	pthread_create(&t, NULL, nospin_reader, &n);
	sync_wait(&n.sp, 1);
	for (i = 0; i < 200 && !slept; i++) {
		sleep_ms(5);
		slept = tid_sleeping(n.tid);
	}
	sleep_ms(hold_ms);
	progress();
	sf_rwlock_unlock(&l);
	pthread_join(t, NULL);
	ok(slept, "%s: the blocked reader sleeps in the kernel", kind_name[k]);
	ok(n.r == 0 && n.cpu < 0.050,
	   "%s: reader blocked behind a writer for %ld ms used %.1f ms CPU (< 50)",
	   kind_name[k], hold_ms, n.cpu * 1e3);
	return n.cpu < 0.050;
}

/* ---- pwn: glibc's tst-rwlock-pwn idea ------------------------------- */

static sf_rwlock_t pwn_lock = SF_RWLOCK_PREFER_WRITER_NONRECURSIVE_INITIALIZER;
static long pwn_iters;
static int pwn_inside_w, pwn_bad;

static void *pwn_thread(void *p)
{
	int writer = (int)(intptr_t)p >> 8;
	uint32_t seed = (uint32_t)(intptr_t)p * 7919u + 1;
	long i;
	int j, spin;

	for (i = 0; i < pwn_iters; i++) {
		if (writer) {
			sf_rwlock_wrlock(&pwn_lock);
			if (__atomic_fetch_add(&pwn_inside_w, 1, __ATOMIC_RELAXED))
				pwn_bad = 1;
			__atomic_fetch_sub(&pwn_inside_w, 1, __ATOMIC_RELAXED);
		} else {
			sf_rwlock_rdlock(&pwn_lock);
			if (__atomic_load_n(&pwn_inside_w, __ATOMIC_RELAXED))
				__atomic_store_n(&pwn_bad, 1, __ATOMIC_RELAXED);
		}
		spin = (int)(rnd(&seed) % 64);
		for (j = 0; j < spin; j++)
			sf_cpu_relax_test();
		sf_rwlock_unlock(&pwn_lock);
		if (rnd(&seed) % 16 == 0)
			sched_yield();
		if ((i & 63) == 0)
			progress();
	}
	return NULL;
}

static void case_pwn(void)
{
	pthread_t t[3];
	double t0 = now_mono();
	int i;

	pwn_iters = scaled(200000);
	pthread_create(&t[0], NULL, pwn_thread, (void *)(intptr_t)(1 << 8));
	pthread_create(&t[1], NULL, pwn_thread, (void *)(intptr_t)1);
	pthread_create(&t[2], NULL, pwn_thread, (void *)(intptr_t)2);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	ok(!pwn_bad, "nonrecursive: one writer, two readers, %ld random "
	   "operations each in %.2f s without a hang", pwn_iters, now_mono() - t0);
}

int main(int argc, char **argv)
{
	int all = argc < 2, i, k;

	watchdog_start(5);
	for (i = all ? 0 : 1; i < (all ? 1 : argc); i++) {
		const char *c = all ? NULL : argv[i];

		if (!c || !strcmp(c, "hook")) {
			phase("hook");
			for (k = 0; k < 3; k++)
				if (!case_hook(k))
					return done_testing();
		}
		if (!c || !strcmp(c, "nospin")) {
			phase("nospin");
			for (k = 2; k >= 0; k--)
				case_nospin(k, k == 2 ? 1000 : 300);
		}
		if (!c || !strcmp(c, "pwn")) {
			phase("pwn");
			case_pwn();
		}
	}
	return done_testing();
}
