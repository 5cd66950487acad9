// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: the TokuDB lock manager races of seed 001 forced with sync points: "release before wait" (two transactions) and "retry while retry" (three, and a fourth whose wake gives the first release a pass), each with the lock given up by release_all, by the release of one range and by a rollback to a savepoint; a release while a new waiter is about to sleep ("late": its blockers must already be recorded); each waiter must get the free lock at once, not at its lock timeout; a waiter woken to take its lock loses it to a running thread once and is then handed it, and that hand-off racing with the waiter's timeout or with a kill has exactly one winner; a client killed just before its request waits is refused at once; a kill of a waiter woken to take its lock finds it and leaves the lock free; and two trees granting the last lock under the memory limit at the same time give it to one of them only */
/*
 * Usage: lockmgr-races [rbw|rbw-one|rbw-sp|rwr|rwr-one|rwr-sp|late|tmo|kill|
 *                      kbw|kill-woken|mem]... [-t TIMEOUT_MS]
 *        (default: all twelve, 10 s lock timeout)
 *
 * Linked against the test-hook build (SF_SYNC_POINT active).
 * lockmgr-broken runs this program with broken protocols of the lock
 * manager put back (SF_TEST_BROKEN=release-before-wait: no retry after
 * the insertion in the pending set; retry-while-retry: the old "retry
 * needed" flag; kill-before-wait: no look-up of killed clients when a
 * request enters the pending set; edges-late: a new waiter's blockers
 * recorded after its section under L) with a short lock timeout, and
 * expects each case to fail after waiting for the timeout.
 *
 * The labels (R1), (R2), (R5), (R6), S1-S5, X1-X3 are those of lockmgr.c.
 */
#include "test.h"

#include <syncfix.h>

static long lock_timeout_ms = 10000;
static struct sf_lockmgr *mgr;
static struct sf_locktree *lt;
static const struct sf_lockkey L = SF_LOCKKEY_INIT("L", 1);

struct txn {
	const char *name;
	uint64_t id;
	struct sf_locktree *tree;	/* NULL: lt */
	const struct sf_lockkey *key;	/* NULL: L */
	int hold_and_release;	/* release right after the grant */
	const int *read_after;	/* read (plainly) right after the grant */
	int seen;
	int result;
	double elapsed;
	pthread_t t;
};

/*
 * How a transaction gives up L: every lock (sf_lock_release_all), the one
 * range (sf_lock_release), or back to a savepoint taken before it locked
 * L (sf_lock_rollback_to).  In the last two it keeps another lock (on
 * "K") that does not conflict with anyone.
 */
enum { REL_ALL, REL_ONE, REL_SP };
static const char *const rel_name[] = { "release_all", "release of L",
					"rollback to a savepoint" };
static const struct sf_lockkey K = SF_LOCKKEY_INIT("K", 1);

struct holder {
	uint64_t id;
	int how;
	struct sf_lock_savepoint sp;
};

/* @h takes K and a savepoint (REL_ONE, REL_SP), then L in @mode. */
static int hold(struct holder *h, int mode)
{
	int e = 0;

	if (h->how != REL_ALL)
		e = sf_lock_acquire(lt, h->id, SF_LOCK_CLIENT_TXNID,
				    SF_LOCK_WRITE, &K, NULL, CLOCK_MONOTONIC,
				    NULL);
	if (!e)
		e = sf_lock_savepoint(lt, h->id, &h->sp);
	if (!e)
		e = sf_lock_acquire(lt, h->id, SF_LOCK_CLIENT_TXNID, mode, &L,
				    NULL, CLOCK_MONOTONIC, NULL);
	return e;
}

/* @h gives up L as its ->how says; K stays. */
static int unhold(struct holder *h)
{
	switch (h->how) {
	case REL_ONE:
		return sf_lock_release(lt, h->id, &L, NULL);
	case REL_SP:
		return sf_lock_rollback_to(lt, h->id, &h->sp);
	default:
		return sf_lock_release_all(lt, h->id);
	}
}

/* Does @h still hold K (when it should)?  Then release it. */
static int kept_k(struct holder *h)
{
	struct sf_lockkey k = K;
	int e;

	if (h->how == REL_ALL)
		return 1;
	e = sf_lock_acquire(lt, 999, SF_LOCK_CLIENT_TXNID,
			    SF_LOCK_READ | SF_LOCK_NOWAIT, &k, NULL,
			    CLOCK_MONOTONIC, NULL);
	sf_lock_release_all(lt, 999);
	sf_lock_release_all(lt, h->id);
	return e == EBUSY;
}

/*
 * Acquire the key (L) in write mode in the tree (lt) with the lock
 * timeout; optionally release.
 */
static void *txn_main(void *p)
{
	struct txn *x = p;
	struct sf_locktree *tree = x->tree ? x->tree : lt;
	struct timespec dl = deadline_ms(CLOCK_MONOTONIC, lock_timeout_ms);
	double t0;

	dsync_thread(x->name);
	t0 = now_mono();
	x->result = sf_lock_acquire(tree, x->id, SF_LOCK_CLIENT_TXNID,
				    SF_LOCK_WRITE, x->key ? x->key : &L, NULL,
				    CLOCK_MONOTONIC, &dl);
	x->elapsed = now_mono() - t0;
	if (x->result == 0 && x->read_after)
		x->seen = *x->read_after;	/* ordered by the grant only */
	if (x->result == 0 && x->hold_and_release)
		sf_lock_release_all(tree, x->id);
	return NULL;
}

static void setup(void)
{
	dsync_reset();
	if (sf_lockmgr_create(&mgr, NULL) || sf_locktree_create(mgr, &lt, NULL, NULL)) {
		ok(0, "create manager and tree");
		exit(T_FAIL);
	}
}

static void teardown(void)
{
	dsync_reset();
	sf_locktree_destroy(lt);
	sf_lockmgr_destroy(mgr);
}

static void report(const struct txn *x, const char *what)
{
	if (!ok(x->result == 0 && x->elapsed < 1.0,
		"%s: %s gets L in %.3f s (lock timeout %.1f s)", what, x->name,
		x->elapsed, lock_timeout_ms / 1e3))
		diag("  %s's result: %d (%s); it waited for a lock that was "
		     "free", x->name, x->result, strerror(x->result));
}

/*
 * A (txn 1, @a NULL: all its locks on L) acquires L; B starts on a
 * thread, conflicts with A (S1) and stops at @point ("lockmgr:start-
 * conflict": before the pending set) until @go.
 */
static void b_stops_at(struct txn *b, const char *what, struct holder *a,
		       const char *point, const char *go)
{
	struct holder all = { .id = 1, .how = REL_ALL };

	setup();
	ok_err(hold(a ? a : &all, SF_LOCK_WRITE), 0, "%s: A acquires L", what);
	dsync_arm(point, "B", "b-conflicted", go, 1);
	pthread_create(&b->t, NULL, txn_main, b);
	if (!ok(dsync_wait_for("b-conflicted", 5000),
		"%s: B conflicts with A and stops at \"%s\"", what, point))
		exit(T_FAIL);
}

/*
 * Release before wait (R1), with A giving up L in each of the three ways
 * (@how; "rbw", "rbw-one", "rbw-sp"):
 *   A acquires L
 *   B tries L, conflicts with A (S1), stops at "lockmgr:start-conflict"
 *   A releases L (X1) and retries the pending set: B is not in it
 *   B enters the pending set (S3) and must retry (S4) before it sleeps
 */
static void case_rbw(int how)
{
	static const char *const tag[] = { "rbw", "rbw-one", "rbw-sp" };
	struct txn b = { .name = "B", .id = 2, .hold_and_release = 1 };
	struct holder a = { .id = 1, .how = how };
	const char *what = tag[how];
	struct sf_lockmgr_stats st;

	phase(what);
	b_stops_at(&b, what, &a, "lockmgr:start-conflict", "a-released");
	ok_err(unhold(&a), 0, "%s: A gives up L (%s) while B is between its "
	       "failed try and the pending set", what, rel_name[how]);
	dsync_signal("a-released");
	pthread_join(b.t, NULL);
	report(&b, what);
	ok(kept_k(&a), "%s: A kept its other lock", what);
	sf_lockmgr_stats(mgr, &st);
	ok(st.timeouts == 0 && st.locks == 0 && st.pending == 0,
	   "%s: no timeout, nothing held or waiting afterwards "
	   "(timeouts %llu, locks %llu, pending %llu)", what,
	   (unsigned long long)st.timeouts, (unsigned long long)st.locks,
	   (unsigned long long)st.pending);
	teardown();
}

/*
 * Edges with the try (R4, X2): B's blockers are recorded under L in the
 * section that found the conflict, so the release that frees L sees B
 * blocked by A and runs a pass.
 *   A acquires L (and K)
 *   B tries L, waits: stops at "lockmgr:start-waits", after its pending
 *	section, before it sleeps
 *   A releases L alone (sf_lock_release): B must be retried
 * SF_BROKEN(EDGES_LATE) records B's blockers after the section: A's
 * release sees a waiter blocked by nobody it knows of, runs no pass, and
 * B sleeps on a free lock.
 */
static void case_late(void)
{
	struct txn b = { .name = "B", .id = 2, .hold_and_release = 1 };
	struct holder a = { .id = 1, .how = REL_ONE };
	struct sf_lockmgr_stats st;

	phase("edges with the try");
	b_stops_at(&b, "late", &a, "lockmgr:start-waits", "a-released");
	ok_err(unhold(&a), 0, "late: A releases L (sf_lock_release) while B "
	       "is about to sleep");
	dsync_signal("a-released");
	pthread_join(b.t, NULL);
	report(&b, "late");
	ok(kept_k(&a), "late: A kept K");
	sf_lockmgr_stats(mgr, &st);
	ok(st.timeouts == 0 && st.waits == 1 && st.retry_passes == 1,
	   "late: no timeout; 1 wait, 1 retry pass (timeouts %llu, waits "
	   "%llu, passes %llu)", (unsigned long long)st.timeouts,
	   (unsigned long long)st.waits, (unsigned long long)st.retry_passes);
	teardown();
}

/*
 * Retry while retry (R2), the seed's three transactions (four here: a
 * retry pass runs only for a release that leaves a waiter unblocked, so D
 * gives A's release a pass to run):
 *   A writes Q and reads L; B reads L
 *   C waits to write L (blocked by A and B); D waits to write Q (by A)
 *   A releases: its pass wakes D, finds C still blocked by B, and stops
 *	at "lockmgr:retry-pass-end" (the seed's "suspended by the kernel
 *	before it finishes the retry loop")
 *   B gives up L (@how: "rwr", "rwr-one", "rwr-sp") and asks for a retry
 *	("lockmgr:retry-asked") while A's pass is still running
 *   A's pass ends; C must get L from B's retry
 */
static void *release_a(void *p)
{
	(void)p;
	dsync_thread("A");
	sf_lock_release_all(lt, 1);
	return NULL;
}

static void case_rwr(int how)
{
	static const char *const tag[] = { "rwr", "rwr-one", "rwr-sp" };
	static const struct sf_lockkey Q = SF_LOCKKEY_INIT("Q", 1);
	struct txn c = { .name = "C", .id = 3, .hold_and_release = 1 };
	struct txn d = { .name = "D", .id = 4, .key = &Q,
			 .hold_and_release = 1 };
	struct holder b = { .id = 2, .how = how };
	const char *what = tag[how];
	struct sf_lockmgr_stats st;
	pthread_t a;

	phase(what);
	setup();
	ok(!sf_lock_acquire(lt, 1, SF_LOCK_CLIENT_TXNID, SF_LOCK_WRITE, &Q,
			    NULL, CLOCK_MONOTONIC, NULL) &&
	   !sf_lock_acquire(lt, 1, SF_LOCK_CLIENT_TXNID, SF_LOCK_READ, &L,
			    NULL, CLOCK_MONOTONIC, NULL),
	   "%s: A writes Q and reads L", what);
	ok_err(hold(&b, SF_LOCK_READ), 0, "%s: B reads L", what);
	dsync_arm("lockmgr:wait-sleep", "C", "c-waits", NULL, 1);
	dsync_arm("lockmgr:wait-sleep", "D", "d-waits", NULL, 1);
	dsync_arm("lockmgr:retry-pass-end", "A", "a-pass-end", "b-asked", 1);
	dsync_arm("lockmgr:retry-asked", "B", "b-asked", NULL, 1);
	pthread_create(&c.t, NULL, txn_main, &c);
	if (!ok(dsync_wait_for("c-waits", 5000), "%s: C waits for L", what))
		exit(T_FAIL);
	pthread_create(&d.t, NULL, txn_main, &d);
	if (!ok(dsync_wait_for("d-waits", 5000), "%s: D waits for K", what))
		exit(T_FAIL);
	pthread_create(&a, NULL, release_a, NULL);
	if (!ok(dsync_wait_for("a-pass-end", 5000), "%s: A releases; its pass "
		"wakes D, finds C blocked by B, and stops before it ends",
		what))
		exit(T_FAIL);
	dsync_thread("B");
	ok_err(unhold(&b), 0, "%s: B gives up L (%s) while A's pass runs",
	       what, rel_name[how]);
	dsync_thread(NULL);
	pthread_join(a, NULL);
	pthread_join(c.t, NULL);
	pthread_join(d.t, NULL);
	report(&c, what);
	if (!ok(d.result == 0 && d.elapsed < 1.0, "%s: D gets Q", what))
		diag("  D's result: %d", d.result);
	ok(kept_k(&b), "%s: B kept its other lock", what);
	sf_lockmgr_stats(mgr, &st);
	ok(st.timeouts == 0 && st.locks == 0 &&
	   st.pending == 0 && st.retry_passes >= 2,
	   "%s: no timeout, nothing left, %llu retry passes "
	   "for %llu asks", what, (unsigned long long)st.retry_passes,
	   (unsigned long long)st.retry_asks);
	teardown();
}

/*
 * Kill before wait (K1):
 *   A acquires L
 *   B tries L, conflicts with A (S1), stops at "lockmgr:start-conflict"
 *   B's client is killed: sf_lockmgr_kill() finds no waiting request
 *	(ESRCH: a one-shot kill is lost here); sf_lockmgr_kill_client()
 *	marks the client killed
 *   B goes on into the pending set: it must be refused there (S3b), at
 *	once, not wait for A's lock until its timeout
 * Then a request of B's client for a free key is refused too (S0), until
 * the kill is cleared.
 */
static void case_kbw(void)
{
	struct txn b = { .name = "B", .id = 2 };
	static const struct sf_lockkey M = SF_LOCKKEY_INIT("M", 1);
	struct sf_lockmgr_stats st;

	phase("kill before wait");
	b_stops_at(&b, "kbw", NULL, "lockmgr:start-conflict", "b-killed");
	ok_err(sf_lockmgr_kill(mgr, 2), ESRCH, "kbw: a one-shot kill of B's "
	       "client now finds no waiting request");
	ok_err(sf_lockmgr_kill_client(mgr, 2), 0, "kbw: kill B's client "
	       "until cleared");
	dsync_signal("b-killed");
	pthread_join(b.t, NULL);
	if (!ok(b.result == ECANCELED && b.elapsed < 1.0,
		"kbw: B's request is refused in %.3f s (lock timeout %.1f s)",
		b.elapsed, lock_timeout_ms / 1e3))
		diag("  B's result: %d (%s); it waited for a lock its killed "
		     "client can never use", b.result, strerror(b.result));
	sf_lockmgr_stats(mgr, &st);
	ok(st.pending == 0 && st.locks == 1 && st.killed_clients == 1 &&
	   st.kills == 1 && st.waits == 0,
	   "kbw: nothing waits, A's lock only, 1 killed client, 1 kill, no "
	   "wait (pending %llu, locks %llu, killed %llu, kills %llu, "
	   "waits %llu)", (unsigned long long)st.pending,
	   (unsigned long long)st.locks, (unsigned long long)st.killed_clients,
	   (unsigned long long)st.kills, (unsigned long long)st.waits);
	ok_err(sf_lock_acquire(lt, 2, SF_LOCK_CLIENT_TXNID, SF_LOCK_WRITE, &M,
			       NULL, CLOCK_MONOTONIC, NULL), ECANCELED,
	       "kbw: B's next request, for a free key, is refused (S0)");
	ok_err(sf_lockmgr_clear_kill(mgr, 2), 0, "kbw: clear the kill");
	ok_err(sf_lock_acquire(lt, 2, SF_LOCK_CLIENT_TXNID, SF_LOCK_WRITE, &M,
			       NULL, CLOCK_MONOTONIC, NULL), 0,
	       "kbw: then B's request is granted");
	sf_lock_release_all(lt, 2);
	sf_lock_release_all(lt, 1);
	teardown();
}

/*
 * One winner (the state machine at the top of lockmgr.c), and the
 * hand-off to a waiter that lost a race (R6).  B waits for L; A releases,
 * and A's pass wakes B to take L itself.  B stops at "lockmgr:wait-retry"
 * while C, a running thread, takes L first (S1); B finds L taken and
 * sleeps again, marked for a hand-off.  C releases, and C's pass takes B
 * out of the lists (granted) and stops at "lockmgr:retry-pass-publish"
 * before it stores DONE.  Then either B's deadline passes ("tmo": B's wait
 * times out and reaches "lockmgr:wait-collect", then needs P, which C
 * holds) or another thread kills B ("kill": B is no longer in the
 * registry, ESRCH).  Either way B must come back with L granted and hold
 * it: a timeout or a kill that also won would leave a granted lock its
 * owner does not know of.
 */
/*
 * What C wrote before it released, B reads right after its wait returns:
 * a plain variable, ordered by nothing but the hand-off (DONE stored with
 * release, read with acquire; in the TSAN build of this test TSAN sees
 * those atomics, so the shipped library's annotations of the same
 * hand-off are not what is tested here).
 */
static int handed;

static void *release_c(void *p)
{
	(void)p;
	dsync_thread("C");
	handed = 42;
	sf_lock_release_all(lt, 3);
	return NULL;
}

static void case_one_winner(int kill)
{
	struct txn b = { .name = "B", .id = 2, .read_after = &handed };
	const char *what = kill ? "kill vs grant" : "timeout vs grant";
	struct sf_lockmgr_stats st;
	long saved = lock_timeout_ms;
	pthread_t c;

	phase(what);
	setup();
	sf_lock_acquire(lt, 1, SF_LOCK_CLIENT_TXNID, SF_LOCK_WRITE, &L, NULL,
			CLOCK_MONOTONIC, NULL);
	dsync_arm("lockmgr:wait-sleep", "B", "b-waits", NULL, 1);
	dsync_arm("lockmgr:wait-retry", "B", "b-woken", "c-took", 1);
	dsync_arm("lockmgr:wait-sleep", "B", "b-lost", NULL, 1);
	dsync_arm("lockmgr:retry-pass-publish", "C", "c-decided", "go-c", 1);
	dsync_arm("lockmgr:wait-collect", "B", "b-collects", NULL, 1);
	lock_timeout_ms = kill ? 10000 : 500;
	pthread_create(&b.t, NULL, txn_main, &b);
	if (!ok(dsync_wait_for("b-waits", 5000), "%s: B waits for L", what))
		exit(T_FAIL);
	sf_lock_release_all(lt, 1);
	if (!ok(dsync_wait_for("b-woken", 5000), "%s: A releases; its pass "
		"wakes B to take L itself", what))
		exit(T_FAIL);
	ok_err(sf_lock_acquire(lt, 3, SF_LOCK_CLIENT_TXNID, SF_LOCK_WRITE, &L,
			       NULL, CLOCK_MONOTONIC, NULL), 0,
	       "%s: C, running, takes L before B does", what);
	dsync_signal("c-took");
	if (!ok(dsync_wait_for("b-lost", 5000), "%s: B finds L taken and "
		"waits again", what))
		exit(T_FAIL);
	pthread_create(&c, NULL, release_c, NULL);
	if (!ok(dsync_wait_for("c-decided", 5000), "%s: C releases; its pass "
		"hands L to B and stops before telling it", what))
		exit(T_FAIL);
	if (kill)
		ok_err(sf_lockmgr_kill(mgr, 2), ESRCH, "%s: killing B now "
		       "finds no waiting request", what);
	else
		ok(dsync_wait_for("b-collects", 5000), "%s: B's 500 ms "
		   "deadline passes and its wait goes to collect", what);
	dsync_signal("go-c");
	pthread_join(c, NULL);
	pthread_join(b.t, NULL);
	lock_timeout_ms = saved;
	ok_err(b.result, 0, "%s: B's wait returns granted", what);
	ok(b.seen == 42, "%s: and sees what C wrote before it released", what);
	handed = 0;
	ok_err(sf_lock_acquire(lt, 4, SF_LOCK_CLIENT_TXNID,
			       SF_LOCK_READ | SF_LOCK_NOWAIT, &L, NULL,
			       CLOCK_MONOTONIC, NULL),
	       EBUSY, "%s: and B really holds L", what);
	sf_lockmgr_stats(mgr, &st);
	ok(st.timeouts == 0 && st.kills == 0 && st.grants == 3 &&
	   st.waits == 1 && st.retry_woken == 1 && st.retry_lost == 1,
	   "%s: 3 grants, 1 wait, woken once and lost once, no timeout, no "
	   "kill (%llu, %llu, %llu, %llu, %llu, %llu)", what,
	   (unsigned long long)st.grants, (unsigned long long)st.waits,
	   (unsigned long long)st.retry_woken,
	   (unsigned long long)st.retry_lost,
	   (unsigned long long)st.timeouts, (unsigned long long)st.kills);
	sf_lock_release_all(lt, 2);
	teardown();
}

/*
 * A kill of a woken waiter (R6, K1): B waits for L; A releases and A's
 * pass wakes B to take L itself; B stops at "lockmgr:wait-retry" while
 * B's client is killed.  B is still waiting (REQ_RETRY), so the kill
 * must find it and B must come back ECANCELED without L, which stays
 * free.
 */
static void case_kill_woken(void)
{
	struct txn b = { .name = "B", .id = 2 };
	struct sf_lockmgr_stats st;

	phase("kill a woken waiter");
	setup();
	sf_lock_acquire(lt, 1, SF_LOCK_CLIENT_TXNID, SF_LOCK_WRITE, &L, NULL,
			CLOCK_MONOTONIC, NULL);
	dsync_arm("lockmgr:wait-sleep", "B", "b-waits", NULL, 1);
	dsync_arm("lockmgr:wait-retry", "B", "b-woken", "b-killed", 1);
	pthread_create(&b.t, NULL, txn_main, &b);
	if (!ok(dsync_wait_for("b-waits", 5000), "kill-woken: B waits for L"))
		exit(T_FAIL);
	sf_lock_release_all(lt, 1);
	if (!ok(dsync_wait_for("b-woken", 5000), "kill-woken: A releases; B "
		"is woken to take L and stops before it tries"))
		exit(T_FAIL);
	ok_err(sf_lockmgr_kill(mgr, 2), 0, "kill-woken: the kill finds B "
	       "still waiting");
	dsync_signal("b-killed");
	pthread_join(b.t, NULL);
	ok_err(b.result, ECANCELED, "kill-woken: B's wait returns ECANCELED");
	ok_err(sf_lock_acquire(lt, 3, SF_LOCK_CLIENT_TXNID,
			       SF_LOCK_WRITE | SF_LOCK_NOWAIT, &L, NULL,
			       CLOCK_MONOTONIC, NULL), 0,
	       "kill-woken: and L is free");
	sf_lock_release_all(lt, 3);
	sf_lockmgr_stats(mgr, &st);
	ok(st.kills == 1 && st.pending == 0 && st.locks == 0,
	   "kill-woken: 1 kill, nothing left (%llu, %llu, %llu)",
	   (unsigned long long)st.kills, (unsigned long long)st.pending,
	   (unsigned long long)st.locks);
	teardown();
}

/*
 * Memory limit across trees (R5): room for 10 locks of one size, 9 held
 * (each by its own transaction, so escalation merges nothing).
 *   A (txn 1) locks "ka" in the first tree and stops at
 *	"lockmgr:limit-checked": it has found room for the tenth lock and
 *	not added it yet (the first tree's L held)
 *   B (txn 2) locks "kb" in a second tree and decides at the same point
 *   A goes on
 * Only one of them may get the tenth lock; the other gets ENOLCK.  A check
 * of the global counter under one tree's L gave both of them room: 11
 * locks, 1408 bytes under a limit of 1344.
 */
static int put(struct sf_locktree *tree, uint64_t txn, const char *k)
{
	struct sf_lockkey key = SF_LOCKKEY_INIT(k, strlen(k));

	return sf_lock_acquire(tree, txn, SF_LOCK_CLIENT_TXNID, SF_LOCK_WRITE,
			       &key, NULL, CLOCK_MONOTONIC, NULL);
}

static void case_mem(void)
{
	static const struct sf_lockkey ka = SF_LOCKKEY_INIT("ka", 2);
	static const struct sf_lockkey kb = SF_LOCKKEY_INIT("kb", 2);
	struct txn a = { .name = "A", .id = 1, .key = &ka };
	struct txn b = { .name = "B", .id = 2, .key = &kb };
	struct sf_locktree *lt2, *tree[2];
	struct sf_lockmgr_stats st;
	uint64_t size, limit;
	int i, bad = 0;
	char k[4];

	phase("memory limit across trees");
	setup();
	if (sf_locktree_create(mgr, &lt2, NULL, NULL)) {
		ok(0, "mem: second tree");
		exit(T_FAIL);
	}
	tree[0] = lt;
	tree[1] = lt2;
	b.tree = lt2;
	put(lt, 100, "k0");
	sf_lockmgr_stats(mgr, &st);
	size = st.lock_memory;
	limit = 10 * size + size / 2;
	ok_err(sf_lockmgr_set_max_memory(mgr, limit), 0, "mem: a limit of "
	       "%llu bytes, room for 10 locks of %llu bytes",
	       (unsigned long long)limit, (unsigned long long)size);
	for (i = 1; i < 9; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		bad += put(tree[i & 1], 100 + i, k) != 0;
	}
	ok(!bad, "mem: 9 locks held, in both trees");
	dsync_arm("lockmgr:limit-checked", "A", "a-checked", "b-checked", 1);
	dsync_arm("lockmgr:limit-checked", "B", "b-checked", NULL, 1);
	pthread_create(&a.t, NULL, txn_main, &a);
	if (!ok(dsync_wait_for("a-checked", 5000), "mem: A finds room for "
		"the tenth lock and stops before it adds it"))
		exit(T_FAIL);
	pthread_create(&b.t, NULL, txn_main, &b);
	pthread_join(a.t, NULL);
	pthread_join(b.t, NULL);
	sf_lockmgr_stats(mgr, &st);
	if (!ok(st.locks == 10 && st.lock_memory <= limit,
		"mem: 10 locks in %llu bytes after both (limit %llu)",
		(unsigned long long)st.lock_memory, (unsigned long long)limit))
		diag("  %llu locks: both trees took the last room",
		     (unsigned long long)st.locks);
	ok(a.result == 0 && b.result == ENOLCK && st.out_of_locks == 1,
	   "mem: A, which reserved first, gets it; B gets ENOLCK (A %d, B %d)",
	   a.result, b.result);
	sf_lock_release_all(lt, 1);
	sf_lock_release_all(lt2, 2);
	for (i = 0; i < 9; i++)
		sf_lock_release_all(tree[i & 1], 100 + i);
	sf_lockmgr_stats(mgr, &st);
	ok(st.locks == 0 && st.lock_memory == 0, "mem: all released");
	/* nothing reserved is left behind: room for exactly 10 again */
	dsync_reset();
	for (i = 0, bad = 0; i < 10; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		bad += put(tree[i & 1], 100 + i, k) != 0;
	}
	ok(!bad && put(lt2, 110, "kb") == ENOLCK, "mem: then 10 locks fit "
	   "again, and an eleventh does not");
	for (i = 0; i < 10; i++)
		sf_lock_release_all(tree[i & 1], 100 + i);
	sf_locktree_destroy(lt2);
	teardown();
}

int main(int argc, char **argv)
{
	int ran = 0, i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			lock_timeout_ms = atol(argv[++i]);
	watchdog_start((int)(lock_timeout_ms / 1000) + 10);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t")) {
			i++;
		} else if (!strcmp(argv[i], "rbw")) {
			case_rbw(REL_ALL);
			ran++;
		} else if (!strcmp(argv[i], "rbw-one")) {
			case_rbw(REL_ONE);
			ran++;
		} else if (!strcmp(argv[i], "rbw-sp")) {
			case_rbw(REL_SP);
			ran++;
		} else if (!strcmp(argv[i], "rwr")) {
			case_rwr(REL_ALL);
			ran++;
		} else if (!strcmp(argv[i], "rwr-one")) {
			case_rwr(REL_ONE);
			ran++;
		} else if (!strcmp(argv[i], "rwr-sp")) {
			case_rwr(REL_SP);
			ran++;
		} else if (!strcmp(argv[i], "late")) {
			case_late();
			ran++;
		} else if (!strcmp(argv[i], "tmo")) {
			case_one_winner(0);
			ran++;
		} else if (!strcmp(argv[i], "kill")) {
			case_one_winner(1);
			ran++;
		} else if (!strcmp(argv[i], "kill-woken")) {
			case_kill_woken();
			ran++;
		} else if (!strcmp(argv[i], "kbw")) {
			case_kbw();
			ran++;
		} else if (!strcmp(argv[i], "mem")) {
			case_mem();
			ran++;
		}
	}
	if (!ran) {
		for (i = REL_ALL; i <= REL_SP; i++) {
			case_rbw(i);
			case_rwr(i);
		}
		case_late();
		case_one_winner(0);
		case_one_winner(1);
		case_kbw();
		case_kill_woken();
		case_mem();
	}
	return done_testing();
}
