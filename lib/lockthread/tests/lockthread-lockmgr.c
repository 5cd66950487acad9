// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: locking thread + lock manager: a backup's helper blocked on a table lock held by another transaction is killed within far less than the lock timeout, through sf_lockmgr_kill (acquire polls testcancel) or through sf_lockmgr_kill_client (acquire does not poll; the hook is called once), never releases, leaves nothing pending; a helper that got its locks releases them exactly once on finish; random kill points with both hooks */
/*
 * Seed 000 (MySQL bug #48930) with the real pieces: the backup driver's
 * helper thread takes table locks through the lock manager and holds them
 * for the backup.  The owner kills it while it waits for a table lock that
 * another transaction holds (a 10 s lock timeout: a kill that is not
 * delivered shows up as a 10 s wait, or a hang the watchdog reports).
 * Two hooks: sf_lockmgr_kill (cancels the request that waits; acquire
 * checks sf_lockthread_testcancel() before each request, and the hook is
 * repeated while it finds none) and sf_lockmgr_kill_client (the kill
 * stays in force, every request of the helper's client is refused, so
 * acquire needs no check and the hook is called once).  Linked against
 * the library itself.  scaled(300) rounds of the random case per hook (30
 * under TSAN).
 */
#include "test.h"

#include <syncfix.h>

#define TIMEOUT_S	10
#define HELPER_TXN	2
#define HELPER_CLIENT	4242
#define OTHER_TXN	1

struct backup {
	struct sf_lockmgr *mgr;
	struct sf_locktree *tree;
	int ntables;		/* tables the helper locks, in order */
	int acquires, releases, acq_ret;
	int sticky;		/* hook: sf_lockmgr_kill_client, no polling */
};

static struct sf_lockkey table_key(int *n)
{
	return (struct sf_lockkey)SF_LOCKKEY_INIT(n, sizeof(*n));
}

static int tables[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };

static int kill_request(void *mgr, uint64_t client)
{
	return sf_lockmgr_kill(mgr, client);
}

static int kill_client(void *mgr, uint64_t client)
{
	int e = sf_lockmgr_kill_client(mgr, client);

	return e == EALREADY ? 0 : e;
}

/* Lock every table for reading, as the backup driver does. */
static int backup_acquire(struct sf_lockthread *lt, void *arg)
{
	struct backup *b = arg;
	struct timespec dl;
	int i, r;

	__atomic_add_fetch(&b->acquires, 1, __ATOMIC_RELAXED);
	for (i = 0; i < b->ntables; i++) {
		struct sf_lockkey k = table_key(&tables[i]);

		/* A kill before this request started waiting: see the header. */
		r = b->sticky ? 0 : sf_lockthread_testcancel(lt);
		if (r)
			break;
		dl = deadline_ms(CLOCK_MONOTONIC, TIMEOUT_S * 1000L);
		r = sf_lock_acquire(b->tree, HELPER_TXN, HELPER_CLIENT,
				    SF_LOCK_READ, &k, NULL, CLOCK_MONOTONIC, &dl);
		if (r)
			break;
	}
	if (r)		/* give back what was taken before the failure */
		sf_lock_release_all(b->tree, HELPER_TXN);
	b->acq_ret = r;
	return r;
}

static void backup_release(struct sf_lockthread *lt, void *arg)
{
	struct backup *b = arg;

	(void)lt;
	__atomic_add_fetch(&b->releases, 1, __ATOMIC_RELAXED);
	sf_lock_release_all(b->tree, HELPER_TXN);
}

static void setup(struct backup *b, int ntables, int sticky)
{
	memset(b, 0, sizeof(*b));
	b->ntables = ntables;
	b->sticky = sticky;
	if (sf_lockmgr_create(&b->mgr, NULL) ||
	    sf_locktree_create(b->mgr, &b->tree, NULL, NULL)) {
		ok(0, "lock manager and tree created");
		exit(done_testing());
	}
}

static void teardown(struct backup *b)
{
	sf_lock_release_all(b->tree, OTHER_TXN);
	if (sf_locktree_destroy(b->tree) || sf_lockmgr_destroy(b->mgr))
		ok(0, "tree and manager destroyed: nothing left held or pending");
}

/* Another transaction writes table @t: the helper will wait for it. */
static void other_holds(struct backup *b, int t)
{
	struct sf_lockkey k = table_key(&tables[t]);

	if (sf_lock_acquire(b->tree, OTHER_TXN, SF_LOCK_CLIENT_TXNID,
			    SF_LOCK_WRITE, &k, NULL, CLOCK_MONOTONIC, NULL))
		ok(0, "the other transaction got table %d", t);
}

static uint64_t pending_now(struct backup *b)
{
	struct sf_lockmgr_stats st;

	sf_lockmgr_stats(b->mgr, &st);
	return st.pending;
}

static struct sf_lockthread *start_helper(struct backup *b)
{
	struct sf_lockthread *lt = NULL;

	if (sf_lockthread_create(&lt, backup_acquire, backup_release, b) ||
	    sf_lockthread_set_interrupt(lt, b->sticky ? kill_client :
					kill_request, b->mgr, HELPER_CLIENT) ||
	    sf_lockthread_start(lt)) {
		ok(0, "helper created and started");
		exit(done_testing());
	}
	return lt;
}

/* The seed: killed while acquire waits in the lock manager. */
static void t_kill_while_waiting(int sticky)
{
	const char *hook = sticky ? "kill_client" : "kill";
	struct sf_lockmgr_stats st;
	struct sf_lockthread_status ls;
	struct sf_lockthread *lt;
	struct backup b;
	struct timespec dl;
	double t0;
	int r, i;

	setup(&b, 4, sticky);
	other_holds(&b, 2);
	lt = start_helper(&b);
	/* Wait until the helper's request for table 2 is pending. */
	for (i = 0; i < 10000 && pending_now(&b) == 0; i++)
		sleep_ms(1);
	ok(pending_now(&b) == 1, "%s: the helper waits for table 2", hook);
	dl = deadline_ms(CLOCK_MONOTONIC, 50);
	ok_err(sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, &dl), ETIMEDOUT,
	       "%s: wait_held: still acquiring", hook);

	t0 = now_mono();
	r = sf_lockthread_kill(lt);
	t0 = now_mono() - t0;
	ok(r == ECANCELED, "%s: kill returns the acquire error ECANCELED "
	   "(got %d)", hook, r);
	ok(t0 < 1.0, "%s: kill took %.3f s (lock timeout %d s)", hook, t0,
	   TIMEOUT_S);
	sf_lockthread_status(lt, &ls);
	ok(ls.state == SF_LOCKTHREAD_JOINED && ls.killed && !ls.release_called,
	   "%s: helper ended (state %d), release not called", hook, ls.state);
	ok(ls.interrupts == 1, "%s: the hook was called once: it cancelled "
	   "the wait and returned 0 (%lu calls)", hook, ls.interrupts);
	ok(b.acquires == 1 && b.releases == 0, "%s: acquire once, release "
	   "never", hook);
	sf_lockmgr_stats(b.mgr, &st);
	ok(st.kills == 1 && st.pending == 0 && st.timeouts == 0 &&
	   st.killed_clients == (uint64_t)sticky,
	   "%s: manager: 1 kill, 0 pending, 0 timeouts, %d killed client "
	   "(%llu/%llu/%llu/%llu)", hook, sticky,
	   (unsigned long long)st.kills, (unsigned long long)st.pending,
	   (unsigned long long)st.timeouts,
	   (unsigned long long)st.killed_clients);
	ok(st.locks == 1, "%s: only the other transaction's lock is left "
	   "(%llu)", hook, (unsigned long long)st.locks);
	ok_err(sf_lockthread_kill(lt), ECANCELED, "%s: second kill: same "
	       "result", hook);
	sf_lockthread_destroy(lt);
	teardown(&b);
}

/* The helper gets its locks once the other transaction commits. */
static void t_held_then_finish(void)
{
	struct sf_lockmgr_stats st;
	struct sf_lockthread *lt;
	struct backup b;
	struct timespec dl;

	setup(&b, 4, 0);
	other_holds(&b, 1);
	lt = start_helper(&b);
	while (pending_now(&b) == 0)
		sleep_ms(1);
	sf_lock_release_all(b.tree, OTHER_TXN);
	dl = deadline_ms(CLOCK_MONOTONIC, TIMEOUT_S * 1000L);
	ok_err(sf_lockthread_wait_held(lt, CLOCK_MONOTONIC, &dl), 0,
	       "held after the other transaction released");
	sf_lockmgr_stats(b.mgr, &st);
	ok(st.locks == 4, "4 table locks held by the helper (%llu)",
	   (unsigned long long)st.locks);
	ok_err(sf_lockthread_finish(lt), 0, "finish");
	sf_lockmgr_stats(b.mgr, &st);
	ok(st.locks == 0 && b.releases == 1, "released exactly once, no lock left");
	sf_lockthread_destroy(lt);
	teardown(&b);
}

/*
 * Random kill points: the helper is killed after a random delay while the
 * other transaction still holds one table (or releases it at a random
 * moment).  Every round: kill returns fast, release ran iff acquire
 * succeeded, no lock and no request is left.
 */
static void t_random(int sticky)
{
	const char *hook = sticky ? "kill_client" : "kill";
	long rounds = scaled(300), i, slow = 0, bad = 0, held = 0;
	uint32_t seed = 12345;
	double t0, worst = 0;

	for (i = 0; i < rounds; i++) {
		struct sf_lockmgr_stats st;
		struct sf_lockthread *lt;
		struct backup b;
		int r, t = (int)(rnd(&seed) % 4);
		int release_other = rnd(&seed) & 1;

		setup(&b, 4, sticky);
		other_holds(&b, t);
		lt = start_helper(&b);
		if (rnd(&seed) % 3 == 0)
			sleep_ms(1 + rnd(&seed) % 2);
		else
			for (uint32_t d = rnd(&seed) % 2000; d; d--)
				sf_cpu_relax_test();
		if (release_other)
			sf_lock_release_all(b.tree, OTHER_TXN);
		t0 = now_mono();
		r = sf_lockthread_kill(lt);
		t0 = now_mono() - t0;
		if (t0 > worst)
			worst = t0;
		slow += t0 > 1.0;
		sf_lockthread_destroy(lt);
		sf_lock_release_all(b.tree, OTHER_TXN);
		sf_lockmgr_stats(b.mgr, &st);
		if (r != b.acq_ret || b.releases != (b.acquires && !b.acq_ret) ||
		    st.locks || st.pending || st.timeouts ||
		    (r && r != ECANCELED)) {
			diag("round %ld: kill %d, acquire %d (ret %d), release %d, "
			     "locks %llu pending %llu timeouts %llu", i, r,
			     b.acquires, b.acq_ret, b.releases,
			     (unsigned long long)st.locks,
			     (unsigned long long)st.pending,
			     (unsigned long long)st.timeouts);
			bad++;
		}
		held += b.releases;
		teardown(&b);
		progress();
	}
	ok(!bad, "random, %s: %ld kills (%ld after the locks were held): "
	   "results, release counts, nothing left in the manager", hook,
	   rounds, held);
	ok(!slow, "random, %s: no kill took more than 1 s (worst %.3f s)",
	   hook, worst);
}

int main(void)
{
	watchdog_start(TIMEOUT_S + 5);
	phase("kill while waiting in the lock manager");
	t_kill_while_waiting(0);
	t_kill_while_waiting(1);
	phase("held, then finish");
	t_held_then_finish();
	phase("random kill points");
	t_random(0);
	t_random(1);
	return done_testing();
}
