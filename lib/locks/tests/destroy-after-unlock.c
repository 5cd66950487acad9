// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: an unlocking thread stopped right after its releasing read-modify-write (or store) survives another thread locking, unlocking, destroying and freeing the lock (rwlock read and write unlock per kind, mutex, a mutex unlock that wakes for a waiter on another mutex) */
/*
 * Usage: destroy-after-unlock [CASE]   (default: every case, each in a child)
 *
 * POSIX lets a thread destroy an unlocked lock at once, and free its
 * memory, even while the thread that unlocked it has not yet returned from
 * its unlock call.  So after the read-modify-write that releases the lock,
 * an unlock may only call futex wake on the address (harmless on freed
 * memory): reading any field of the lock there is a use after free.
 *
 * The interleaving is made deterministic with the test-hook build of the
 * library (SF_TEST_HOOKS):
 *
 *	thread A                          thread B (main)
 *	lock                              .
 *	unlock: releasing RMW             .
 *	  hook: stop ------------------>  lock, unlock, destroy, free
 *	  <---------------------------- continue
 *	  rest of unlock
 *
 * The lock lives in its own mmap'ed page, unmapped by B, so a late access
 * by A is a SIGSEGV; in the AddressSanitizer build it is a heap block, so
 * a late access is reported as heap-use-after-free.  Each case runs in a
 * child process (this program re-executed) so that a crash fails that case
 * only; the child's output is shown when it fails.
 */
#include "test.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <syncfix.h>

#include "testhooks.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

enum what { RDUNLOCK, WRUNLOCK, MUTEX, MUTEX_ERRORCHECK };

struct tcase {
	const char *name;
	enum what what;
	int kind;
	int timed_out;	/* B's timed lock fails first: the unlock must wake */
	int other_waiter; /* C sleeps on another mutex of A's: A's plain-store
			   * unlock reads C's announcement and wakes */
};

static const struct tcase cases[] = {
	{ "rdunlock-prefer-reader", RDUNLOCK, SF_RWLOCK_PREFER_READER, 0, 0 },
	{ "rdunlock-prefer-writer", RDUNLOCK, SF_RWLOCK_PREFER_WRITER, 0, 0 },
	{ "rdunlock-nonrecursive", RDUNLOCK, SF_RWLOCK_PREFER_WRITER_NONRECURSIVE, 0, 0 },
	{ "wrunlock-prefer-reader", WRUNLOCK, SF_RWLOCK_PREFER_READER, 0, 0 },
	{ "wrunlock-prefer-writer", WRUNLOCK, SF_RWLOCK_PREFER_WRITER, 0, 0 },
	{ "wrunlock-nonrecursive", WRUNLOCK, SF_RWLOCK_PREFER_WRITER_NONRECURSIVE, 0, 0 },
	{ "wrunlock-wake-readers", WRUNLOCK, SF_RWLOCK_PREFER_READER, 1, 0 },
	{ "mutex", MUTEX, SF_MUTEX_NORMAL, 0, 0 },
	{ "mutex-errorcheck", MUTEX_ERRORCHECK, SF_MUTEX_ERRORCHECK, 0, 0 },
	{ "mutex-wake", MUTEX, SF_MUTEX_NORMAL, 1, 0 },
	{ "mutex-notify-wake", MUTEX, SF_MUTEX_NORMAL, 0, 1 },
};
#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

/* ---- the lock's memory ------------------------------------------------ */

__attribute__((unused)) static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static void *lock_mem_alloc(size_t size)
{
#ifdef TEST_ASAN
	return calloc(1, size);
#else
	void *p;

	(void)size;
	p = mmap(NULL, page_size(), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
#endif
}

static void lock_mem_free(void *p)
{
#ifdef TEST_ASAN
	free(p);
#else
	munmap(p, page_size());
#endif
}

/* ---- one case, in the child ------------------------------------------ */

static struct sync_point sp = SYNC_POINT_INIT;
static const char *stop_at;
static __thread int is_unlocker;
static int armed;
static uint32_t released_val;

/* Stops thread A once, right after its releasing RMW, until B is done. */
static long hook(const char *point, const void *obj, uint64_t val)
{
	(void)obj;		/* may already be freed: never dereferenced */
	if (strcmp(point, stop_at) || !is_unlocker ||
	    !__atomic_exchange_n(&armed, 0, __ATOMIC_ACQ_REL))
		return SF_HOOK_NONE;
	__atomic_store_n(&released_val, (uint32_t)val, __ATOMIC_RELAXED);
	sync_set(&sp, 3);
	sync_wait(&sp, 4);
	return SF_HOOK_NONE;
}

struct ctx {
	const struct tcase *tc;
	void *lock;
	int lock_r, unlock_r;
	pid_t c_tid;
};

/* The other mutex of other_waiter: A holds it, C sleeps on it. */
static sf_mutex_t other = SF_MUTEX_INITIALIZER;

static void *other_waiter(void *p)
{
	struct ctx *c = p;

	__atomic_store_n(&c->c_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	sf_mutex_lock(&other);
	sf_mutex_unlock(&other);
	return NULL;
}

static void *unlocker(void *p)
{
	struct ctx *c = p;

	is_unlocker = 1;
	switch (c->tc->what) {
	case RDUNLOCK:
		c->lock_r = sf_rwlock_rdlock(c->lock);
		break;
	case WRUNLOCK:
		c->lock_r = sf_rwlock_wrlock(c->lock);
		break;
	case MUTEX:
	case MUTEX_ERRORCHECK:
		if (c->tc->other_waiter)
			sf_mutex_lock(&other);
		c->lock_r = sf_mutex_lock(c->lock);
		break;
	}
	sync_set(&sp, 1);
	if (c->lock_r)
		return NULL;
	sync_wait(&sp, 2);
	__atomic_store_n(&armed, 1, __ATOMIC_RELEASE);
	if (c->tc->what == RDUNLOCK || c->tc->what == WRUNLOCK)
		c->unlock_r = sf_rwlock_unlock(c->lock);
	else
		c->unlock_r = sf_mutex_unlock(c->lock);
	if (c->tc->other_waiter)
		sf_mutex_unlock(&other);
	return NULL;
}

static int run_one(const struct tcase *tc)
{
	static const char *const point[] = {
		[RDUNLOCK] = "rwlock:rdunlock-released",
		[WRUNLOCK] = "rwlock:wrunlock-released",
		[MUTEX] = "mutex:unlock-released",
		[MUTEX_ERRORCHECK] = "mutex:unlock-released",
	};
	struct ctx c = { .tc = tc };
	int rwlock = tc->what == RDUNLOCK || tc->what == WRUNLOCK;
	int r_lock, r_unlock, r_destroy;
	pthread_t a, cw;
	int i, asleep = 0;

	c.lock = lock_mem_alloc(rwlock ? sizeof(sf_rwlock_t) : sizeof(sf_mutex_t));
	if (!ok(c.lock != NULL, "%s: memory for the lock", tc->name))
		return done_testing();
	if (rwlock) {
		sf_rwlockattr_t at;

		sf_rwlockattr_init(&at);
		sf_rwlockattr_setkind(&at, tc->kind);
		sf_rwlock_init(c.lock, &at);
	} else {
		sf_mutexattr_t at;

		sf_mutexattr_init(&at);
		sf_mutexattr_settype(&at, tc->kind);
		sf_mutex_init(c.lock, &at);
	}
	stop_at = point[tc->what];
	__atomic_store_n(&sf_test_hook, hook, __ATOMIC_RELEASE);

	pthread_create(&a, NULL, unlocker, &c);
	sync_wait(&sp, 1);
	if (!ok(c.lock_r == 0, "%s: A holds the lock", tc->name)) {
		diag("lock returned %d", c.lock_r);
		return done_testing();
	}
	if (tc->timed_out) {
		/*
		 * A timed-out waiter leaves the "someone may sleep" mark in the
		 * lock word (mutex state 2, rwlock RWAIT), so A's unlock goes on
		 * to a futex wake on the freed address, which must be harmless.
		 */
		struct timespec dl = deadline_ms(CLOCK_MONOTONIC, 50);
		int r = rwlock ? sf_rwlock_timedrdlock(c.lock, CLOCK_MONOTONIC, &dl)
			       : sf_mutex_timedlock(c.lock, CLOCK_MONOTONIC, &dl);

		ok_err(r, ETIMEDOUT, "%s: B's timed lock times out while A holds",
		       tc->name);
	}
	if (tc->other_waiter) {
		/*
		 * C announces on A's slot and sleeps on the other mutex, so
		 * A's unlock, which releases this one with a plain store (the
		 * word holds no S), reads C's announcement and calls futex
		 * wake on the freed address (locks/mutex.c, (C)).
		 */
		pthread_create(&cw, NULL, other_waiter, &c);
		for (i = 0; i < 400 && !asleep; i++) {
			sleep_ms(5);
			asleep = __atomic_load_n(&c.c_tid, __ATOMIC_ACQUIRE) &&
				 tid_sleeping(c.c_tid);
		}
		ok(asleep, "%s: C sleeps on another mutex of A's", tc->name);
	}
	/*
	 * The hook runs inside the unlock, where ThreadSanitizer ignores
	 * synchronisation, so data is passed outside it (stages 1, 2) or
	 * after pthread_join().
	 */
	sync_set(&sp, 2);
	if (!ok(sync_wait_ms(&sp, 3, 5000),
		"%s: A unlocked and stopped after the releasing RMW", tc->name))
		return done_testing();
	diag("A stopped after its releasing RMW (value 0x%08x); B takes over",
	     __atomic_load_n(&released_val, __ATOMIC_RELAXED));

	/* B: the lock is free; lock, unlock, destroy, free. */
	if (rwlock) {
		r_lock = sf_rwlock_trywrlock(c.lock);
		r_unlock = sf_rwlock_unlock(c.lock);
		r_destroy = sf_rwlock_destroy(c.lock);
	} else {
		r_lock = sf_mutex_trylock(c.lock);
		r_unlock = sf_mutex_unlock(c.lock);
		r_destroy = sf_mutex_destroy(c.lock);
	}
	ok(r_lock == 0 && r_unlock == 0 && r_destroy == 0,
	   "%s: B locks (%d), unlocks (%d) and destroys (%d) the lock",
	   tc->name, r_lock, r_unlock, r_destroy);
	lock_mem_free(c.lock);
	diag("B freed the lock's memory (%s); A continues",
#ifdef TEST_ASAN
	     "free"
#else
	     "munmap"
#endif
	     );
	progress();
	sync_set(&sp, 4);

	pthread_join(a, NULL);
	if (tc->other_waiter)
		pthread_join(cw, NULL);
	ok(c.unlock_r == 0, "%s: A's unlock returned %d without touching the "
	   "freed lock", tc->name, c.unlock_r);
	return done_testing();
}

/* ---- the parent: each case in a child --------------------------------- */

static void run_child(const char *self, const struct tcase *tc)
{
	static char out[65536];
	char *argv[] = { (char *)self, (char *)tc->name, NULL };
	int st, good;

	phase(tc->name);
	st = run_capture(argv, NULL, out, sizeof(out));
	good = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	       !strstr(out, "not ok");
	ok(good, "%s: the lock destroyed and freed while its unlocker is "
	   "stopped after the releasing RMW", tc->name);
	if (good)
		return;
	diag_block(out);
	if (st == -1)
		diag("could not run the child");
	else if (WIFSIGNALED(st))
		diag("child killed by signal %d (%s): the unlock touched the "
		     "lock after releasing it", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		diag("child exit status %d", WEXITSTATUS(st));
}

int main(int argc, char **argv)
{
	char self[4096];
	ssize_t n;
	int i;

	if (argc > 1) {
		for (i = 0; i < NCASES; i++)
			if (!strcmp(argv[1], cases[i].name)) {
				watchdog_start(10);
				return run_one(&cases[i]);
			}
		fprintf(stderr, "unknown case %s\n", argv[1]);
		return T_FAIL;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		skip_all("cannot find own executable");
	self[n] = 0;
	watchdog_start(30);
	for (i = 0; i < NCASES; i++)
		run_child(self, &cases[i]);
	return done_testing();
}
