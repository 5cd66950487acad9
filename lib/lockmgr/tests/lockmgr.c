// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: lock manager semantics: conflict matrix (read/write, overlapping, adjacent, nested, infinite ranges), custom comparator, self-compatibility and upgrade, timeouts, kill, deadlocks of 2 and 3 transactions, one waiting request per transaction (EBUSY), NOWAIT requests (EBUSY at once, no wait or deadlock search), escalation under a small memory limit, the 64 GiB limit boundary, release of all locks, release of one range and savepoints (waiters unblocked are granted, a release that unblocks none runs no retry pass), the per-transaction lock limit (EDQUOT), an escalation barrier between key prefixes, bad arguments */
#include "lockmgr-test.h"

static void fresh(size_t limit)
{
	struct sf_lockmgr_config cfg = { .max_lock_memory = limit };

	if (sf_lockmgr_create(&mgr, &cfg) ||
	    sf_locktree_create(mgr, &lt, NULL, NULL)) {
		ok(0, "create manager and tree");
		exit(T_FAIL);
	}
}

static void finish(void)
{
	ok_err(sf_locktree_destroy(lt), 0, "tree destroyed (nothing left)");
	ok_err(sf_lockmgr_destroy(mgr), 0, "manager destroyed");
}

static struct sf_lockmgr_stats stats(void)
{
	struct sf_lockmgr_stats st;

	sf_lockmgr_stats(mgr, &st);
	return st;
}

/* Blocking acquire with a deadline @ms from now (< 0: none). */
static int acq(uint64_t txn, int mode, const char *l, const char *r, long ms)
{
	struct sf_lockkey kl = key(l), kr = key(r);
	struct timespec dl = deadline_ms(CLOCK_MONOTONIC, ms);

	return sf_lock_acquire(lt, txn, ANY, mode, &kl, &kr, CLOCK_MONOTONIC,
			       ms < 0 ? NULL : &dl);
}

/* Would @txn get [l, r] in @mode now?  1 granted (kept), 0 conflict. */
static int try_acq(uint64_t txn, int mode, const char *l, const char *r)
{
	int e = acq(txn, mode, l, r, 0);

	if (e && e != ETIMEDOUT)
		diag("  unexpected %d (%s)", e, strerror(e));
	return e == 0;
}

/* ---- conflict matrix ---------------------------------------------------- */

struct mcase {
	const char *what;
	const char *l1, *r1, *l2, *r2;
	int overlap;
};

static const struct mcase matrix[] = {
	{ "same point", "c", "c", "c", "c", 1 },
	{ "different points", "c", "c", "d", "d", 0 },
	{ "overlapping ranges", "b", "e", "d", "g", 1 },
	{ "ranges sharing an end key (closed)", "b", "d", "d", "f", 1 },
	{ "adjacent ranges", "b", "c", "ca", "f", 0 },
	{ "disjoint ranges", "b", "c", "x", "z", 0 },
	{ "nested range", "b", "k", "d", "e", 1 },
	{ "enclosing range", "d", "e", "a", "z", 1 },
	{ "point inside a range", "b", "k", "f", "f", 1 },
	{ "point just past a range", "b", "k", "ka", "ka", 0 },
	{ "(-inf, +inf) and a point", "-", "+", "q", "q", 1 },
	{ "(-inf, c] and [d, +inf)", "-", "c", "d", "+", 0 },
	{ "(-inf, d] and [d, +inf)", "-", "d", "d", "+", 1 },
	{ "(-inf, -inf] and the empty key", "-", "-", "", "", 0 },
	{ "[+inf, +inf] and [z, +inf)", "+", "+", "z", "+", 1 },
	{ "the empty key, twice", "", "", "", "", 1 },
};

static void case_matrix(void)
{
	static const int modes[2] = { R, W };
	int bad = 0, n = 0;

	phase("matrix");
	fresh(0);
	for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
		const struct mcase *c = &matrix[i];

		for (int a = 0; a < 2; a++)
			for (int b = 0; b < 2; b++) {
				int want = !(c->overlap && (modes[a] == W ||
							    modes[b] == W));
				int got, got2;

				if (!try_acq(1, modes[a], c->l1, c->r1)) {
					bad++;
					continue;
				}
				got = try_acq(2, modes[b], c->l2, c->r2);
				sf_lock_release_all(lt, 2);
				/* and the other way round */
				sf_lock_release_all(lt, 1);
				try_acq(2, modes[b], c->l2, c->r2);
				got2 = try_acq(1, modes[a], c->l1, c->r1);
				sf_lock_release_all(lt, 1);
				sf_lock_release_all(lt, 2);
				n += 2;
				if (got != want || got2 != want) {
					bad++;
					diag("  %s: %s [%s,%s] vs %s [%s,%s]: "
					     "granted %d/%d, want %d", c->what,
					     modes[a] == W ? "W" : "R", c->l1,
					     c->r1, modes[b] == W ? "W" : "R",
					     c->l2, c->r2, got, got2, want);
				}
			}
	}
	ok(!bad, "conflict matrix: %d requests (read/write x %zu range "
	   "pairs, both orders) granted exactly when compatible", n,
	   sizeof(matrix) / sizeof(matrix[0]));
	ok(stats().locks == 0, "nothing held after the matrix");
	finish();
}

/* Keys as 32-bit integers in host order: byte order would get them wrong. */
static int int_cmp(const void *a, size_t as, const void *b, size_t bs,
		   void *arg)
{
	uint32_t x, y;

	(void)as;
	(void)bs;
	(*(int *)arg)++;
	memcpy(&x, a, 4);
	memcpy(&y, b, 4);
	return (x > y) - (x < y);
}

static void case_comparator(void)
{
	struct sf_locktree *t2;
	uint32_t k2 = 2, k10 = 10, k9 = 9, k261 = 261;
	struct sf_lockkey a = SF_LOCKKEY_INIT(&k2, 4), b = SF_LOCKKEY_INIT(&k10, 4);
	struct sf_lockkey p9 = SF_LOCKKEY_INIT(&k9, 4), p261 = SF_LOCKKEY_INIT(&k261, 4);
	int calls = 0, e;

	phase("comparator");
	fresh(0);
	ok_err(sf_locktree_create(mgr, &t2, int_cmp, &calls), 0,
	       "tree with an integer comparator");
	ok_err(sf_lock_acquire(t2, 1, ANY, W, &a, &b, CLOCK_MONOTONIC, NULL), 0,
	       "T1 writes [2, 10]");
	e = sf_lock_acquire(t2, 2, ANY, R, &p9, NULL, CLOCK_MONOTONIC,
			    &(struct timespec){ 0, 0 });
	ok_err(e, ETIMEDOUT, "T2 reading 9 conflicts (integer order)");
	ok_err(sf_lock_acquire(t2, 2, ANY, R, &p261, NULL, CLOCK_MONOTONIC,
			       NULL), 0,
	       "T2 reading 261 does not (in byte order it would be inside)");
	ok(calls > 0, "the comparator was used (%d calls)", calls);
	ok_err(sf_lock_acquire(lt, 2, ANY, W, &p9, NULL, CLOCK_MONOTONIC, NULL),
	       0, "trees are separate key spaces");
	ok_err(sf_locktree_destroy(t2), EBUSY, "a tree with locks is busy");
	ok_err(sf_lockmgr_destroy(mgr), EBUSY, "a manager with trees is busy");
	sf_lock_release_all(t2, 1);
	sf_lock_release_all(t2, 2);
	sf_lock_release_all(lt, 2);
	ok_err(sf_locktree_destroy(t2), 0, "integer tree destroyed");
	finish();
}

/*
 * The default order on random byte strings against a reference written
 * here (memcmp over the common length, then the shorter first): bytes on
 * both sides of 0x80, lengths 0-40 (the library compares short keys
 * inline in 8-byte words and calls memcmp past 32 bytes), and keys that
 * share a prefix of any length.  T1 holds the point a; T2's range [lo, hi]
 * must conflict exactly when lo <= a <= hi.
 */
#define KMAX 40

static int ref_cmp(const unsigned char *a, size_t an, const unsigned char *b,
		   size_t bn)
{
	for (size_t i = 0; i < an && i < bn; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

/* @dst: a copy of @src (length @n) changed at one random place. */
static size_t mutate(uint32_t *seed, const unsigned char *src, size_t n,
		     unsigned char *dst)
{
	static const unsigned char alpha[] = { 0x00, 0x01, 0x61, 0x7f, 0x80,
					       0x81, 0xfe, 0xff };
	size_t at = n ? rnd(seed) % (n + 1) : 0, len = n;

	memcpy(dst, src, n);
	switch (rnd(seed) % 3) {
	case 0:			/* one byte changed */
		if (n)
			dst[at % n] = alpha[rnd(seed) % sizeof(alpha)];
		break;
	case 1:			/* cut */
		len = at;
		break;
	default:		/* grown past @at */
		len = at + rnd(seed) % (KMAX - at + 1);
		for (size_t i = at; i < len; i++)
			dst[i] = alpha[rnd(seed) % sizeof(alpha)];
	}
	return len;
}

static void case_key_order(void)
{
	unsigned char a[KMAX], b[KMAX], c[KMAX];
	uint32_t seed = 4242;
	long bad = 0, conflicts = 0, n = scaled(4000);

	phase("default key order");
	fresh(0);
	for (long i = 0; i < n; i++) {
		size_t an = rnd(&seed) % (KMAX + 1), bn, cn;
		struct sf_lockkey ka, lo, hi;
		int want, e;

		for (size_t j = 0; j < an; j++)
			a[j] = (unsigned char)rnd(&seed);
		bn = mutate(&seed, a, an, b);
		cn = mutate(&seed, rnd(&seed) & 1 ? a : b,
			    rnd(&seed) & 1 ? an : bn, c);
		if (ref_cmp(b, bn, c, cn) <= 0) {
			lo = (struct sf_lockkey)SF_LOCKKEY_INIT(b, bn);
			hi = (struct sf_lockkey)SF_LOCKKEY_INIT(c, cn);
		} else {
			lo = (struct sf_lockkey)SF_LOCKKEY_INIT(c, cn);
			hi = (struct sf_lockkey)SF_LOCKKEY_INIT(b, bn);
		}
		want = ref_cmp(lo.data, lo.size, a, an) <= 0 &&
		       ref_cmp(a, an, hi.data, hi.size) <= 0;
		ka = (struct sf_lockkey)SF_LOCKKEY_INIT(a, an);
		e = sf_lock_acquire(lt, 1, ANY, W, &ka, NULL, CLOCK_MONOTONIC,
				    NULL);
		if (!e)
			e = sf_lock_acquire(lt, 2, ANY, R, &lo, &hi,
					    CLOCK_MONOTONIC,
					    &(struct timespec){ 0, 0 });
		conflicts += want;
		if (e != (want ? ETIMEDOUT : 0) && bad++ < 5)
			diag("  point %zu bytes, range %zu-%zu bytes: got %d, "
			     "want %s", an, (size_t)lo.size, (size_t)hi.size,
			     e, want ? "a conflict" : "no conflict");
		sf_lock_release_all(lt, 1);
		sf_lock_release_all(lt, 2);
	}
	ok(!bad, "%ld random point/range pairs (%ld overlapping) conflict "
	   "exactly as the reference order says (%ld wrong)", n, conflicts,
	   bad);
	finish();
}

/* ---- self-compatibility, upgrade ------------------------------------------ */

struct waiter {
	uint64_t txn, client;
	int mode;
	const char *l, *r;
	long ms;
	int result;
	double elapsed;
	pthread_t t;
};

static void *waiter_main(void *p)
{
	struct waiter *w = p;
	struct sf_lockkey kl = key(w->l), kr = key(w->r);
	struct timespec dl = deadline_ms(CLOCK_MONOTONIC, w->ms);
	double t0 = now_mono();

	w->result = sf_lock_acquire(lt, w->txn, w->client, w->mode, &kl, &kr,
				    CLOCK_MONOTONIC, w->ms < 0 ? NULL : &dl);
	w->elapsed = now_mono() - t0;
	return NULL;
}

static void start_waiter(struct waiter *w)
{
	uint64_t before = stats().waits;

	pthread_create(&w->t, NULL, waiter_main, w);
	while (stats().waits == before)
		sleep_ms(1);
}

static void case_self(void)
{
	struct waiter w = { .txn = 1, .client = ANY, .mode = W, .l = "a",
			    .r = "a", .ms = 5000 };

	phase("self");
	fresh(0);
	ok(try_acq(1, W, "a", "f"), "T1 writes [a, f]");
	ok(try_acq(1, R, "b", "c") && try_acq(1, W, "e", "k") &&
	   try_acq(1, W, "a", "f"), "T1 never conflicts with itself (read "
	   "inside, overlapping write, the same range again)");
	ok(stats().locks == 2, "a request covered by an own lock adds "
	   "nothing (%llu locks)", (unsigned long long)stats().locks);
	sf_lock_release_all(lt, 1);

	ok(try_acq(1, R, "a", "c") && try_acq(2, R, "x", "x"),
	   "T1 reads [a, c], T2 reads x");
	ok(try_acq(1, W, "a", "c"), "T1 upgrades [a, c] to write (nobody "
	   "else holds it)");
	ok(!try_acq(2, R, "b", "b"), "then T2 cannot read b");
	sf_lock_release_all(lt, 1);
	sf_lock_release_all(lt, 2);

	ok(try_acq(1, R, "a", "a") && try_acq(2, R, "a", "a"),
	   "T1 and T2 both read a");
	start_waiter(&w);
	ok(stats().pending == 1, "T1's upgrade to write waits for T2");
	sf_lock_release_all(lt, 2);
	pthread_join(w.t, NULL);
	ok_err(w.result, 0, "T2's release grants T1's upgrade");
	ok(!try_acq(3, R, "a", "a"), "T1 now writes a");
	sf_lock_release_all(lt, 1);
	finish();
}

/* ---- timeouts, kill --------------------------------------------------------- */

static void case_timeout(void)
{
	struct sf_lockkey a = key("a");
	struct timespec dl;
	double t0;
	int e;

	phase("timeout");
	fresh(0);
	ok(try_acq(1, W, "a", "a"), "T1 writes a");
	t0 = now_mono();
	e = acq(2, R, "a", "a", 150);
	ok(e == ETIMEDOUT && now_mono() - t0 >= 0.14,
	   "T2's read times out after its 150 ms deadline (%d, %.3f s)", e,
	   now_mono() - t0);
	dl = deadline_ms(CLOCK_REALTIME, 50);
	ok_err(sf_lock_acquire(lt, 2, ANY, R, &a, NULL, CLOCK_REALTIME, &dl),
	       ETIMEDOUT, "a CLOCK_REALTIME deadline too");
	ok_err(sf_lock_acquire(lt, 2, ANY, R, &a, NULL, CLOCK_PROCESS_CPUTIME_ID,
			       &dl), EINVAL, "another clock is EINVAL");
	dl.tv_nsec = 1000000000L;
	ok_err(sf_lock_acquire(lt, 2, ANY, R, &a, NULL, CLOCK_MONOTONIC, &dl),
	       EINVAL, "tv_nsec out of range is EINVAL");
	ok(stats().timeouts == 2 && stats().pending == 0 &&
	   stats().wait_ns >= 190000000ull, "2 timeouts counted, %.0f ms "
	   "waited, nothing pending", stats().wait_ns / 1e6);
	ok(try_acq(2, R, "b", "b"), "T2 still gets other keys");
	sf_lock_release_all(lt, 1);
	sf_lock_release_all(lt, 2);
	finish();
}

static void case_kill(void)
{
	struct waiter w = { .txn = 2, .client = 77, .mode = W, .l = "a",
			    .r = "c", .ms = 10000 };
	struct waiter w3 = { .txn = 3, .client = ANY, .mode = R, .l = "b",
			     .r = "b", .ms = -1 };
	struct sf_lock_request req;
	struct sf_lockkey b = key("b");
	double t0;

	phase("kill");
	fresh(0);
	ok(try_acq(1, W, "b", "b"), "T1 writes b");
	ok_err(sf_lockmgr_kill(mgr, 77), ESRCH, "kill with nothing waiting: ESRCH");
	start_waiter(&w);
	t0 = now_mono();
	ok_err(sf_lockmgr_kill(mgr, 2), ESRCH, "the request is found by its "
	       "client id, not its transaction id");
	ok_err(sf_lockmgr_kill(mgr, 77), 0, "kill client 77 (T2's request)");
	pthread_join(w.t, NULL);
	ok(w.result == ECANCELED && now_mono() - t0 < 1.0,
	   "T2's wait returns \"killed\" (ECANCELED) at once (%d, %.3f s)",
	   w.result, now_mono() - t0);
	ok_err(sf_lockmgr_kill(mgr, 77), ESRCH, "killing it again: ESRCH");

	start_waiter(&w3);
	ok_err(sf_lockmgr_kill(mgr, 3), 0, "kill by transaction id (the "
	       "default client id), no deadline on the wait");
	pthread_join(w3.t, NULL);
	ok_err(w3.result, ECANCELED, "T3 killed");

	ok_err(sf_lock_request_start(&req, lt, 4, 400, R, &b, NULL), EINPROGRESS,
	       "two-step: T4 starts a request that must wait");
	ok_err(sf_lockmgr_kill(mgr, 400), 0, "killed before it waits");
	ok_err(sf_lock_request_wait(&req, CLOCK_MONOTONIC, NULL), ECANCELED,
	       "its wait returns ECANCELED at once");
	ok_err(sf_lock_request_wait(&req, CLOCK_MONOTONIC, NULL), EINVAL,
	       "waiting again on a finished request: EINVAL");
	ok(stats().kills == 3 && stats().pending == 0, "3 kills counted, "
	   "nothing pending");
	sf_lock_release_all(lt, 1);
	ok(try_acq(2, W, "a", "c"), "the lock was never granted to a killed "
	   "request");
	sf_lock_release_all(lt, 2);
	finish();
}

/* A kill that stays in force: sf_lockmgr_kill_client / _clear_kill (K1). */
static void case_kill_client(void)
{
	struct waiter w = { .txn = 2, .client = 77, .mode = W, .l = "a",
			    .r = "c", .ms = 10000 };
	struct sf_lockkey a = key("a"), z = key("z");
	struct sf_lock_request req;
	double t0;
	int i, refused = 0;

	phase("kill_client");
	fresh(0);
	ok_err(sf_lockmgr_kill_client(NULL, 77), EINVAL, "kill_client: NULL "
	       "manager is EINVAL");
	ok_err(sf_lockmgr_kill_client(mgr, SF_LOCK_CLIENT_TXNID), EINVAL,
	       "kill_client: SF_LOCK_CLIENT_TXNID is EINVAL");
	ok_err(sf_lockmgr_clear_kill(mgr, SF_LOCK_CLIENT_TXNID), EINVAL,
	       "clear_kill: SF_LOCK_CLIENT_TXNID is EINVAL");
	ok_err(sf_lockmgr_clear_kill(mgr, 77), ESRCH, "clear_kill of a client "
	       "never killed: ESRCH");
	ok(stats().killed_clients == 0 && stats().kills == 0,
	   "nothing killed yet");

	ok(try_acq(1, W, "b", "b"), "T1 writes b");
	start_waiter(&w);
	t0 = now_mono();
	ok_err(sf_lockmgr_kill_client(mgr, 77), 0, "kill client 77 while its "
	       "request waits");
	pthread_join(w.t, NULL);
	ok(w.result == ECANCELED && now_mono() - t0 < 1.0,
	   "its wait returns ECANCELED at once (%d, %.3f s)", w.result,
	   now_mono() - t0);
	ok_err(sf_lockmgr_kill_client(mgr, 77), EALREADY, "killing it again: "
	       "EALREADY");
	ok_err(sf_lock_acquire(lt, 2, 77, W, &z, NULL, CLOCK_MONOTONIC, NULL),
	       ECANCELED, "a later request of client 77 for a free key is "
	       "refused at once");
	ok_err(sf_lock_request_start(&req, lt, 5, 77, R, &a, NULL), ECANCELED,
	       "two-step start of client 77 is refused too (nothing to wait)");
	ok_err(sf_lock_request_wait(&req, CLOCK_MONOTONIC, NULL), EINVAL,
	       "and a wait on it is EINVAL (no request waits)");
	ok(try_acq(3, W, "z", "z"), "another client gets the same free key");
	ok(stats().killed_clients == 1 && stats().kills == 3 &&
	   stats().pending == 0 && stats().locks == 2,
	   "1 killed client; 3 kills (1 wait, 2 refusals); nothing pending; "
	   "T1's and T3's locks only (killed %llu, kills %llu, locks %llu)",
	   (unsigned long long)stats().killed_clients,
	   (unsigned long long)stats().kills,
	   (unsigned long long)stats().locks);

	/* the default client id is the transaction id */
	ok_err(sf_lockmgr_kill_client(mgr, 4), 0, "kill transaction 4's "
	       "default client");
	ok_err(acq(4, R, "m", "m", -1), ECANCELED, "T4's request with the "
	   "default client id is refused");
	ok_err(sf_lock_acquire(lt, 4, 44, R, &z, NULL, CLOCK_MONOTONIC,
			       &(struct timespec){ 0, 0 }), ETIMEDOUT,
	       "T4 under another client id is not killed (it only conflicts "
	       "with T3)");

	/* the set grows past its first allocation, and shrinks */
	for (i = 1000; i < 1040; i++)
		if (sf_lockmgr_kill_client(mgr, (uint64_t)i))
			break;
	ok(i == 1040 && stats().killed_clients == 42, "40 more clients "
	   "killed (%llu killed)", (unsigned long long)stats().killed_clients);
	for (i = 1000; i < 1040; i++)
		refused += sf_lock_acquire(lt, (uint64_t)i, (uint64_t)i, R, &a,
					   NULL, CLOCK_MONOTONIC, NULL) ==
			   ECANCELED;
	ok(refused == 40, "each of them is refused (%d of 40)", refused);
	for (i = 1000; i < 1040; i++)
		if (sf_lockmgr_clear_kill(mgr, (uint64_t)i))
			break;
	ok(i == 1040, "all 40 cleared");
	ok_err(sf_lockmgr_clear_kill(mgr, 4), 0, "clear transaction 4's");
	ok_err(sf_lockmgr_clear_kill(mgr, 77), 0, "clear client 77");
	ok_err(sf_lockmgr_clear_kill(mgr, 77), ESRCH, "clearing it again: "
	       "ESRCH");
	ok(stats().killed_clients == 0, "no killed client left");
	ok_err(sf_lock_acquire(lt, 2, 77, W, &z, NULL, CLOCK_MONOTONIC,
			       &(struct timespec){ 0, 0 }), ETIMEDOUT,
	       "client 77's requests are served again (z conflicts with T3)");
	ok(try_acq(2, W, "a", "a"), "and granted where nothing conflicts");
	sf_lock_release_all(lt, 1);
	sf_lock_release_all(lt, 2);
	sf_lock_release_all(lt, 3);
	ok_err(sf_lockmgr_kill_client(mgr, 99), 0, "a client killed when the "
	       "manager is destroyed");
	finish();
}

/* ---- deadlocks ------------------------------------------------------------- */

static void case_deadlock(void)
{
	struct sf_lock_request r1, r2;
	struct sf_lockkey a = key("a"), b = key("b"), c = key("c");
	struct waiter w = { .txn = 3, .client = ANY, .mode = W, .l = "a",
			    .r = "a", .ms = 5000 };

	phase("deadlock");
	fresh(0);
	/* two transactions */
	ok(try_acq(1, W, "a", "a") && try_acq(2, W, "b", "b"),
	   "T1 writes a, T2 writes b");
	ok_err(sf_lock_request_start(&r1, lt, 1, ANY, W, &b, NULL), EINPROGRESS,
	       "T1 waits for b");
	ok_err(sf_lock_request_start(&r2, lt, 2, ANY, W, &a, NULL), EDEADLK,
	       "T2 asking for a closes the cycle: EDEADLK, T2 is the victim");
	ok(stats().deadlocks == 1, "1 deadlock counted");
	sf_lock_release_all(lt, 2);
	ok_err(sf_lock_request_wait(&r1, CLOCK_MONOTONIC, NULL), 0,
	       "the victim's release grants T1's request");
	sf_lock_release_all(lt, 1);

	/* three transactions */
	ok(try_acq(1, W, "a", "a") && try_acq(2, W, "b", "b") &&
	   try_acq(3, R, "c", "c"), "T1 writes a, T2 writes b, T3 reads c");
	ok_err(sf_lock_request_start(&r1, lt, 1, ANY, W, &b, NULL), EINPROGRESS,
	       "T1 waits for T2");
	ok_err(sf_lock_request_start(&r2, lt, 2, ANY, W, &c, NULL), EINPROGRESS,
	       "T2 waits for T3");
	ok(try_acq(4, R, "c", "c"), "T4 also reads c (no cycle)");
	ok_err(acq(3, R, "a", "a", 5000), EDEADLK,
	       "T3 reading a closes T3 -> T1 -> T2 -> T3: EDEADLK");
	ok_err(acq(4, R, "a", "a", 5000), EDEADLK,
	       "T4 reading a closes T4 -> T1 -> T2 -> T4 (T2 waits for T4's "
	       "read of c too): EDEADLK");
	ok_err(acq(5, R, "a", "a", 0), ETIMEDOUT,
	       "T5, who holds nothing, just waits for a: no deadlock");
	sf_lock_release_all(lt, 3);
	sf_lock_release_all(lt, 4);
	ok_err(sf_lock_request_wait(&r2, CLOCK_MONOTONIC, NULL), 0,
	       "T3, T4 release: T2 gets c");
	sf_lock_release_all(lt, 2);
	ok_err(sf_lock_request_wait(&r1, CLOCK_MONOTONIC, NULL), 0,
	       "T2 releases: T1 gets b");
	ok(stats().deadlocks == 3, "3 deadlocks counted");

	/* waiting behind a waiter is not a cycle */
	start_waiter(&w);
	ok_err(acq(2, W, "a", "a", 0), ETIMEDOUT,
	       "T2 and T3 both wait for T1's a: no false deadlock");
	sf_lock_release_all(lt, 1);
	pthread_join(w.t, NULL);
	ok_err(w.result, 0, "T3 gets a when T1 releases");
	sf_lock_release_all(lt, 3);
	ok(stats().deadlocks == 3 && stats().pending == 0, "still 3 deadlocks");
	finish();
}

/*
 * One waiting request per transaction (R4, S5a): while T2 waits in one
 * tree, a request of T2 that would wait, in another tree or the same, is
 * refused with EBUSY and changes nothing; once the first is granted, T2
 * may wait again.
 */
static void case_one_waiting(void)
{
	struct sf_lock_request r1, r2, r3;
	struct sf_lockkey a = key("a"), b = key("b"), c = key("c");
	struct sf_lockmgr_stats st0, st1;
	struct sf_locktree *t2;
	int e2, e3;

	phase("one waiting request");
	fresh(0);
	ok_err(sf_locktree_create(mgr, &t2, NULL, NULL), 0, "a second tree");
	ok(try_acq(1, W, "a", "a") && try_acq(1, W, "c", "c"),
	   "T1 writes a and c");
	ok_err(sf_lock_acquire(t2, 3, ANY, W, &b, NULL, CLOCK_MONOTONIC, NULL),
	       0, "T3 writes b in the second tree");
	ok_err(sf_lock_request_start(&r1, lt, 2, ANY, W, &a, NULL), EINPROGRESS,
	       "T2 waits for a");
	st0 = stats();
	e2 = sf_lock_request_start(&r2, t2, 2, ANY, W, &b, NULL);
	e3 = sf_lock_request_start(&r3, lt, 2, 222, R, &c, NULL);
	st1 = stats();
	ok_err(e2, EBUSY, "T2's request for b in the second tree, which "
	       "would wait too: EBUSY");
	ok_err(e3, EBUSY, "so is one for c in the same tree (under another "
	       "client id)");
	ok(!memcmp(&st0, &st1, sizeof(st0)), "nothing changed (%llu pending, "
	   "%llu waits, %llu deadlocks, %llu ns waited; before: %llu, %llu, "
	   "%llu, %llu)", (unsigned long long)st1.pending,
	   (unsigned long long)st1.waits, (unsigned long long)st1.deadlocks,
	   (unsigned long long)st1.wait_ns, (unsigned long long)st0.pending,
	   (unsigned long long)st0.waits, (unsigned long long)st0.deadlocks,
	   (unsigned long long)st0.wait_ns);
	if (e2 != EBUSY || e3 != EBUSY) {
		/* accepted: take all three back and go on to the next case */
		sf_lockmgr_kill(mgr, 2);
		sf_lockmgr_kill(mgr, 222);
		sf_lock_request_wait(&r1, CLOCK_MONOTONIC, NULL);
		if (e2 == EINPROGRESS)
			sf_lock_request_wait(&r2, CLOCK_MONOTONIC, NULL);
		if (e3 == EINPROGRESS)
			sf_lock_request_wait(&r3, CLOCK_MONOTONIC, NULL);
		for (uint64_t t = 1; t <= 3; t++) {
			sf_lock_release_all(lt, t);
			sf_lock_release_all(t2, t);
		}
		sf_locktree_destroy(t2);
		finish();
		return;
	}
	ok_err(sf_lock_request_wait(&r2, CLOCK_MONOTONIC,
				    &(struct timespec){ 0, 0 }), EINVAL,
	       "the refused request does not wait");
	ok_err(sf_lock_acquire(t2, 4, ANY, R, &b, NULL, CLOCK_MONOTONIC,
			       &(struct timespec){ 0, 0 }), ETIMEDOUT,
	       "another transaction still conflicts on b (T3's lock)");
	sf_lock_release_all(lt, 1);
	ok_err(sf_lock_request_wait(&r1, CLOCK_MONOTONIC, NULL), 0,
	       "T1 releases: T2 gets a");
	ok_err(sf_lock_request_start(&r2, t2, 2, ANY, W, &b, NULL), EINPROGRESS,
	       "now T2 may wait for b");
	sf_lock_release_all(t2, 3);
	ok_err(sf_lock_request_wait(&r2, CLOCK_MONOTONIC, NULL), 0,
	       "T3 releases: T2 gets b");
	sf_lock_release_all(lt, 2);
	sf_lock_release_all(t2, 2);
	ok_err(sf_locktree_destroy(t2), 0, "second tree destroyed");
	finish();
}

/* ---- NOWAIT --------------------------------------------------------------- */

/*
 * SF_LOCK_NOWAIT: a conflicting request is refused at once with EBUSY,
 * counted only as nowait_busy: no wait, no timeout, no deadlock search
 * (where waiting would close a cycle it is still EBUSY, not EDEADLK), and
 * nothing left pending.  A free or own range is granted as usual.
 */
static void case_nowait(void)
{
	struct sf_lock_request r2;
	struct sf_lockkey a = key("a"), b = key("b"), c = key("c");
	struct sf_lockmgr_stats st0, st1;
	struct timespec past = { 0, 0 };
	double t0, dt;

	phase("nowait");
	fresh(0);
	ok(try_acq(1, W, "a", "a"), "T1 writes a");
	st0 = stats();
	t0 = now_mono();
	ok_err(sf_lock_acquire(lt, 2, ANY, W | SF_LOCK_NOWAIT, &a, NULL,
			       CLOCK_MONOTONIC, NULL), EBUSY,
	       "T2's NOWAIT write of a, no deadline: EBUSY");
	ok_err(sf_lock_request_start(&r2, lt, 2, ANY, R | SF_LOCK_NOWAIT, &a,
				     NULL), EBUSY,
	       "T2's NOWAIT read of a (two-step form): EBUSY, not EINPROGRESS");
	dt = now_mono() - t0;
	ok(dt < 0.5, "both refused at once (%.3f s)", dt);
	ok_err(sf_lock_request_wait(&r2, CLOCK_MONOTONIC, &past), EINVAL,
	       "the refused request does not wait");
	st1 = stats();
	ok(st1.nowait_busy == st0.nowait_busy + 2 && st1.waits == st0.waits &&
	   st1.timeouts == st0.timeouts && st1.deadlocks == st0.deadlocks &&
	   st1.pending == 0 && st1.locks == 1 && st1.retry_asks == 0,
	   "counted as 2 NOWAIT refusals only (busy %llu, waits %llu, timeouts "
	   "%llu, deadlocks %llu, pending %llu, locks %llu)",
	   (unsigned long long)st1.nowait_busy, (unsigned long long)st1.waits,
	   (unsigned long long)st1.timeouts, (unsigned long long)st1.deadlocks,
	   (unsigned long long)st1.pending, (unsigned long long)st1.locks);
	ok_err(sf_lock_acquire(lt, 2, ANY, W | SF_LOCK_NOWAIT, &b, NULL,
			       CLOCK_MONOTONIC, NULL), 0,
	       "a NOWAIT write of a free key is granted");
	ok_err(sf_lock_acquire(lt, 1, ANY, W | SF_LOCK_NOWAIT, &a, NULL,
			       CLOCK_MONOTONIC, NULL), 0,
	       "and one of a key the transaction holds itself");
	/* T2 waits for a (held by T1); T1 asking for b would close a cycle. */
	ok_err(sf_lock_request_start(&r2, lt, 2, ANY, W, &a, NULL), EINPROGRESS,
	       "T2 (holding b) waits for a");
	st0 = stats();
	ok_err(sf_lock_acquire(lt, 1, ANY, R | SF_LOCK_NOWAIT, &b, NULL,
			       CLOCK_MONOTONIC, NULL), EBUSY,
	       "T1's NOWAIT read of b, which would close a cycle: EBUSY, "
	       "not EDEADLK");
	ok_err(sf_lock_acquire(lt, 2, ANY, W | SF_LOCK_NOWAIT, &a, NULL,
			       CLOCK_MONOTONIC, NULL), EBUSY,
	       "a NOWAIT request of T2, which waits already: EBUSY");
	st1 = stats();
	ok(st1.deadlocks == st0.deadlocks && st1.waits == st0.waits &&
	   st1.pending == 1 && st1.nowait_busy == st0.nowait_busy + 2,
	   "no deadlock counted, T2's wait untouched (deadlocks %llu, "
	   "pending %llu)", (unsigned long long)st1.deadlocks,
	   (unsigned long long)st1.pending);
	sf_lock_release_all(lt, 1);
	ok_err(sf_lock_request_wait(&r2, CLOCK_MONOTONIC, NULL), 0,
	       "T1 releases: T2 gets a");
	ok_err(sf_lockmgr_kill_client(mgr, 7), 0, "kill client 7");
	ok_err(sf_lock_acquire(lt, 3, 7, R | SF_LOCK_NOWAIT, &c, NULL,
			       CLOCK_MONOTONIC, NULL), ECANCELED,
	       "a NOWAIT request of a killed client: ECANCELED");
	sf_lockmgr_clear_kill(mgr, 7);
	ok_err(sf_lock_acquire(lt, 3, ANY, SF_LOCK_NOWAIT, &c, NULL,
			       CLOCK_MONOTONIC, NULL), EINVAL,
	       "SF_LOCK_NOWAIT without a mode: EINVAL");
	ok_err(sf_lock_acquire(lt, 3, ANY, 3 | SF_LOCK_NOWAIT, &c, NULL,
			       CLOCK_MONOTONIC, NULL), EINVAL,
	       "a bad mode with SF_LOCK_NOWAIT: EINVAL");
	sf_lock_release_all(lt, 2);
	finish();
}

/* ---- escalation --------------------------------------------------------------- */

static int acq_num(uint64_t txn, int mode, unsigned n)
{
	char k[16];
	struct sf_lockkey kk;

	snprintf(k, sizeof(k), "k%06u", n);
	kk = (struct sf_lockkey)SF_LOCKKEY_INIT(k, strlen(k));
	return sf_lock_acquire(lt, txn, ANY, mode, &kk, NULL, CLOCK_MONOTONIC,
			       &(struct timespec){ 0, 0 });
}

static void case_escalation(void)
{
	struct sf_lockmgr_stats st;
	unsigned i, bad = 0, n = 2000;
	int e = 0;

	phase("escalation");
	fresh(32 << 10);	/* 32 KiB: a few hundred point locks */
	for (i = 0; i < n; i++)
		if (acq_num(1, W, i * 2))
			bad++;
	st = stats();
	ok(!bad && st.escalations > 0 && st.locks == n - st.escalated_locks &&
	   st.locks < n / 4 &&
	   st.lock_memory <= (32 << 10),
	   "T1's %u point locks under a 32 KiB limit: all granted, %llu "
	   "escalations merged %llu locks, %llu left in %llu bytes", n,
	   (unsigned long long)st.escalations,
	   (unsigned long long)st.escalated_locks,
	   (unsigned long long)st.locks, (unsigned long long)st.lock_memory);
	ok_err(acq_num(2, R, 1001), ETIMEDOUT, "escalated: T2 conflicts on a "
	       "key between two that T1 locked");
	ok_err(acq_num(2, R, n * 2 + 1), 0, "but not past T1's last key");
	sf_lock_release_all(lt, 1);
	sf_lock_release_all(lt, 2);
	ok(stats().locks == 0 && stats().lock_memory == 0,
	   "released: no lock, no memory");

	/* Interleaved writers cannot be merged: ENOLCK. */
	for (i = 0; i < n && !e; i++)
		e = acq_num(1 + (i & 1), W, i);
	st = stats();
	ok(e == ENOLCK && st.out_of_locks == 1 && st.lock_memory <= (32 << 10),
	   "two writers on alternating keys: ENOLCK after %u locks (%llu "
	   "bytes), counted", i - 1, (unsigned long long)st.lock_memory);
	sf_lock_release_all(lt, 1);
	ok_err(acq_num(3, W, n * 10), 0, "after a release there is room again");
	sf_lock_release_all(lt, 2);
	sf_lock_release_all(lt, 3);
	finish();
}

/*
 * An escalation that closes a cycle (R4 c): T3 reads [a, k5], T1 reads k1
 * and k3, T2 writes k9.  T2 waits to write k2 (T3's read covers it), T1
 * waits for k9 (T2).  Escalation merges T1's reads of k1 and k3 into
 * [k1, k3] (compatible with T3's read), which covers k2: now T2 also
 * waits for T1, and T1 -> T2 -> T1 is a cycle that no new request closes.
 */
static void case_escalation_deadlock(void)
{
	struct sf_lock_request r1, r2;
	struct sf_lockkey k2 = key("k2"), k9 = key("k9");
	struct timespec now = { 0, 0 };
	unsigned i;
	int e1, e2;

	phase("escalation deadlock");
	fresh(2048);		/* 16 locks */
	ok(try_acq(3, R, "a", "k5") && try_acq(1, R, "k1", "k1") &&
	   try_acq(1, R, "k3", "k3") && try_acq(2, W, "k9", "k9"),
	   "T3 reads [a, k5], T1 reads k1 and k3, T2 writes k9");
	ok_err(sf_lock_request_start(&r2, lt, 2, ANY, W, &k2, NULL), EINPROGRESS,
	       "T2 waits to write k2 (T3)");
	ok_err(sf_lock_request_start(&r1, lt, 1, ANY, W, &k9, NULL), EINPROGRESS,
	       "T1 waits for k9 (T2): no cycle yet");
	for (i = 0; i < 40 && stats().escalations == 0; i++)
		acq_num(4, R, i);
	ok(stats().escalations > 0 && stats().deadlocks == 1,
	   "T4's reads escalate the tree; the cycle it closes is found "
	   "(%llu deadlocks)", (unsigned long long)stats().deadlocks);
	e2 = sf_lock_request_wait(&r2, CLOCK_MONOTONIC, &now);
	e1 = sf_lock_request_wait(&r1, CLOCK_MONOTONIC, &now);
	ok((e1 == EDEADLK) + (e2 == EDEADLK) == 1,
	   "exactly one of them is the victim and returns EDEADLK at once "
	   "(T1 %d, T2 %d)", e1, e2);
	for (uint64_t t = 1; t <= 4; t++)
		sf_lock_release_all(lt, t);
	finish();
}

/*
 * The limit is at most 64 GiB: 64 GiB itself is accepted (and grants
 * locks), 64 GiB + 1 is refused, by both sf_lockmgr_create and
 * sf_lockmgr_set_max_memory, and a refused limit changes nothing.
 */
static void case_limit(void)
{
	const uint64_t gib64 = (uint64_t)64 << 30;
	struct sf_lockmgr_config cfg = { .max_lock_memory = 0 };
	static char sentinel;
	struct sf_lockmgr *m2 = NULL, *keep;
	uint64_t size;
	unsigned i;
	int e = 0;

	phase("limit");
	if ((uint64_t)SIZE_MAX <= gib64) {
		ok(1, "# SKIP a size_t cannot hold 64 GiB");
		return;
	}
	cfg.max_lock_memory = (size_t)gib64;
	ok_err(sf_lockmgr_create(&m2, &cfg), 0, "create: a limit of exactly "
	       "64 GiB is accepted");
	if (m2) {
		keep = mgr;
		mgr = m2;
		if (!sf_locktree_create(mgr, &lt, NULL, NULL)) {
			ok(try_acq(1, W, "a", "a"), "and it grants locks");
			sf_lock_release_all(lt, 1);
			sf_locktree_destroy(lt);
		}
		ok_err(sf_lockmgr_destroy(m2), 0, "that manager destroyed");
		mgr = keep;
	}
	cfg.max_lock_memory = (size_t)(gib64 + 1);
	keep = m2 = (struct sf_lockmgr *)(void *)&sentinel;
	ok_err(sf_lockmgr_create(&m2, &cfg), EINVAL, "create: 64 GiB + 1 is "
	       "refused");
	ok(m2 == keep, "and *mgrp is left alone");

	fresh(0);
	ok(try_acq(1, W, "k", "k"), "T1 writes k");
	size = stats().lock_memory;
	ok_err(sf_lockmgr_set_max_memory(mgr, (size_t)gib64), 0,
	       "set_max_memory: exactly 64 GiB is accepted");
	ok(try_acq(1, W, "l", "l"), "and locks are granted under it");
	ok_err(sf_lockmgr_set_max_memory(mgr, (size_t)(3 * size)), 0,
	       "a limit of 3 locks");
	ok_err(sf_lockmgr_set_max_memory(mgr, (size_t)(gib64 + 1)), EINVAL,
	       "set_max_memory: 64 GiB + 1 is refused");
	for (i = 0; i < 3 && !e; i++)
		e = acq_num(2 + i, W, i);
	ok(e == ENOLCK && i == 2, "the limit of 3 locks still holds: a "
	   "fourth is ENOLCK (%u requests, the last %d)", i, e);
	for (uint64_t t = 1; t <= 4; t++)
		sf_lock_release_all(lt, t);
	finish();
}

/* ---- release all ---------------------------------------------------------------- */

static void case_release(void)
{
	struct waiter w[3] = {
		{ .txn = 2, .client = ANY, .mode = R, .l = "c", .r = "c", .ms = 5000 },
		{ .txn = 3, .client = ANY, .mode = W, .l = "x", .r = "+", .ms = 5000 },
		{ .txn = 4, .client = ANY, .mode = R, .l = "-", .r = "a", .ms = 5000 },
	};
	int i, okw = 1;

	phase("release");
	fresh(0);
	ok(try_acq(1, W, "b", "d") && try_acq(1, W, "m", "m") &&
	   try_acq(1, R, "y", "y") && try_acq(1, W, "-", "a"),
	   "T1 holds four ranges");
	for (i = 0; i < 3; i++)
		start_waiter(&w[i]);
	ok(stats().pending == 3, "three transactions wait for T1");
	ok_err(sf_lock_release_all(lt, 99), 0, "releasing a transaction "
	       "without locks is fine");
	ok(stats().pending == 3, "and grants nothing");
	ok_err(sf_lock_release_all(lt, 1), 0, "T1 releases everything");
	for (i = 0; i < 3; i++) {
		pthread_join(w[i].t, NULL);
		okw &= w[i].result == 0 && w[i].elapsed < 1.0;
	}
	ok(okw, "every waiter is granted at once");
	ok(stats().locks == 3 && stats().retry_passes >= 1,
	   "only their locks remain (%llu)", (unsigned long long)stats().locks);
	for (i = 0; i < 3; i++)
		sf_lock_release_all(lt, w[i].txn);
	finish();
}

/* ---- release of one range, savepoints -------------------------------------- */

static int rel(uint64_t txn, const char *l, const char *r)
{
	struct sf_lockkey kl = key(l), kr = key(r);

	return sf_lock_release(lt, txn, &kl, &kr);
}

/* Does anyone but @txn hold something conflicting with @mode on [l, r]? */
static int busy(int mode, const char *l, const char *r)
{
	struct sf_lockkey kl = key(l), kr = key(r);
	int e = sf_lock_acquire(lt, 77, ANY, mode | SF_LOCK_NOWAIT, &kl, &kr,
				CLOCK_MONOTONIC, NULL);

	sf_lock_release_all(lt, 77);
	return e == EBUSY;
}

/*
 * sf_lock_release(): the locks of the transaction within the range go,
 * one that reaches outside stays; a waiter it unblocks is granted; one
 * still blocked by another lock keeps waiting, and a release that
 * unblocks no waiter runs no retry pass (X2), also in another tree.
 */
static void case_release_one(void)
{
	struct waiter w2 = { .txn = 2, .client = ANY, .mode = R, .l = "c",
			     .r = "c", .ms = 5000 };
	struct waiter w3 = { .txn = 3, .client = ANY, .mode = W, .l = "l",
			     .r = "z", .ms = 5000 };
	struct sf_lockkey a = key("a"), b = key("b");
	struct sf_locktree *t2;
	uint64_t passes;

	phase("release one");
	fresh(0);
	ok(try_acq(1, W, "b", "d") && try_acq(1, W, "m", "m") &&
	   try_acq(1, R, "y", "y") && try_acq(1, W, "q", "q"),
	   "T1 holds [b,d], m, y (read) and q");
	ok_err(sf_locktree_create(mgr, &t2, NULL, NULL), 0, "a second tree");
	ok_err(sf_lock_acquire(t2, 1, ANY, W, &a, NULL, CLOCK_MONOTONIC, NULL),
	       0, "T1 holds a in the second tree");
	start_waiter(&w2);
	start_waiter(&w3);
	ok(stats().pending == 2, "T2 waits for c, T3 for [l,z]");
	passes = stats().retry_passes;
	ok_err(rel(1, "c", "c"), ENOENT, "releasing c alone: ENOENT, [b,d] "
	       "reaches outside it");
	ok_err(rel(1, "q", "q"), 0, "T1 releases q");
	ok_err(sf_lock_release_all(t2, 1), 0, "and everything in the second "
	       "tree");
	sleep_ms(20);
	ok(stats().pending == 2 && stats().retry_passes == passes,
	   "neither unblocks a waiter: both still wait, no retry pass ran "
	   "(%llu passes)", (unsigned long long)(stats().retry_passes - passes));
	ok_err(rel(1, "m", "m"), 0, "T1 releases m");
	sleep_ms(20);
	ok(stats().pending == 2 && stats().retry_passes == passes,
	   "T3 is still blocked by T1's read of y: no pass");
	ok_err(rel(1, "m", "m"), ENOENT, "m again: ENOENT");
	ok_err(rel(1, "a", "e"), 0, "T1 releases [a,e], which holds [b,d]");
	pthread_join(w2.t, NULL);
	ok(w2.result == 0 && w2.elapsed < 1.0, "T2 gets c at once (%d)",
	   w2.result);
	ok_err(rel(1, "-", "+"), 0, "T1 releases everything left (y)");
	pthread_join(w3.t, NULL);
	ok(w3.result == 0 && w3.elapsed < 1.0, "T3 gets [l,z] at once (%d)",
	   w3.result);
	ok(stats().retry_passes == passes + 2, "two passes, one per "
	   "unblocked waiter (%llu)",
	   (unsigned long long)(stats().retry_passes - passes));
	ok(!busy(W, "b", "b") && !busy(W, "e", "e") && busy(W, "c", "c") &&
	   busy(R, "l", "z"), "only the waiters' locks are left");
	ok_err(sf_lock_release(lt, 1, &b, &a), EINVAL, "left > right: EINVAL");
	ok_err(sf_lock_release(NULL, 1, &a, NULL), EINVAL, "no tree: EINVAL");
	ok_err(sf_lock_release(lt, 1, NULL, NULL), EINVAL, "no key: EINVAL");
	ok_err(sf_lock_release(lt, 1, &(struct sf_lockkey){ NULL, 1, 0 },
			       NULL), EINVAL, "a bad key: EINVAL");
	sf_lock_release_all(lt, 2);
	sf_lock_release_all(lt, 3);
	ok_err(sf_locktree_destroy(t2), 0, "second tree destroyed");
	finish();
}

/*
 * Savepoints: what was granted after the savepoint goes, what was held at
 * it stays (an upgrade after it goes back to the read lock); a waiter
 * unblocked is granted; a savepoint is reusable and tied to its
 * transaction and tree; a lock an escalation merged across the savepoint
 * is kept.
 */
static void case_savepoint(void)
{
	struct waiter w = { .txn = 2, .client = ANY, .mode = R, .l = "b",
			    .r = "b", .ms = 5000 };
	struct sf_lock_savepoint sp, garbage;
	struct sf_locktree *t2;
	unsigned i, bad = 0;

	phase("savepoint");
	fresh(0);
	ok(try_acq(1, R, "a", "a"), "T1 reads a");
	ok_err(sf_lock_savepoint(lt, 1, &sp), 0, "T1 takes a savepoint");
	ok(try_acq(1, W, "b", "b") && try_acq(1, W, "c", "c") &&
	   try_acq(1, W, "a", "a"), "then writes b, c and upgrades a");
	start_waiter(&w);
	ok_err(sf_lock_rollback_to(lt, 1, &sp), 0, "T1 rolls back to it");
	pthread_join(w.t, NULL);
	ok(w.result == 0 && w.elapsed < 1.0, "T2, waiting for b, gets it at "
	   "once (%d)", w.result);
	ok(!busy(W, "c", "c") && busy(W, "a", "a") && !busy(R, "a", "a"),
	   "c is free; a is held for reading again, not writing");
	ok(try_acq(1, W, "d", "d"), "T1 writes d");
	ok_err(sf_lock_rollback_to(lt, 1, &sp), 0, "the same savepoint again");
	ok(!busy(W, "d", "d") && busy(W, "a", "a"), "d released, a kept");
	ok_err(sf_lock_rollback_to(lt, 3, &sp), EINVAL, "another "
	       "transaction's savepoint: EINVAL");
	ok_err(sf_locktree_create(mgr, &t2, NULL, NULL), 0, "a second tree");
	ok_err(sf_lock_rollback_to(t2, 1, &sp), EINVAL, "another tree's: "
	       "EINVAL");
	ok_err(sf_locktree_destroy(t2), 0, "second tree destroyed");
	memset(&garbage, 0, sizeof(garbage));
	ok_err(sf_lock_rollback_to(lt, 1, &garbage), EINVAL, "one never "
	       "taken: EINVAL");
	ok_err(sf_lock_savepoint(lt, 1, NULL), EINVAL, "no savepoint: EINVAL");
	ok_err(sf_lock_savepoint(NULL, 1, &sp), EINVAL, "no tree: EINVAL");
	sf_lock_release_all(lt, 1);
	sf_lock_release_all(lt, 2);
	finish();

	/* Escalation merges k000000 (before) with the rest (after): kept. */
	fresh(32 << 10);
	ok_err(acq_num(1, W, 0), 0, "T1 writes k000000");
	sf_lock_savepoint(lt, 1, &sp);
	for (i = 1; i < 1000; i++)
		bad += acq_num(1, W, i * 2) != 0;
	ok(!bad && stats().escalated_locks > 0, "then 999 more keys, merged "
	   "by escalation (%llu locks left)", (unsigned long long)stats().locks);
	ok_err(sf_lock_rollback_to(lt, 1, &sp), 0, "T1 rolls back");
	ok_err(acq_num(2, R, 0), ETIMEDOUT, "the merged lock that holds "
	   "k000000 stays");
	sf_lock_release_all(lt, 1);
	sf_lock_release_all(lt, 2);
	finish();
}

/* ---- per-transaction lock limit --------------------------------------------- */

/*
 * max_txn_locks (Q1): a transaction holding the limit in a tree gets no
 * new lock there (EDQUOT at once, even where it would wait); a request
 * its own locks cover adds none and is granted; others are not limited;
 * a release makes room; a waiter granted after the limit was lowered
 * gets EDQUOT from its wait.
 */
static void case_txn_limit(void)
{
	struct sf_lockmgr_config cfg = { .max_txn_locks = 3 };
	struct sf_lock_request r;
	struct sf_lockkey x = key("x");
	struct sf_locktree_stats ts;
	double t0;

	phase("per-transaction limit");
	if (sf_lockmgr_create(&mgr, &cfg) ||
	    sf_locktree_create(mgr, &lt, NULL, NULL)) {
		ok(0, "create manager and tree");
		exit(T_FAIL);
	}
	ok(try_acq(1, R, "a", "a") && try_acq(1, W, "b", "b") &&
	   try_acq(1, W, "c", "c"), "a limit of 3: T1 takes a (read), b, c");
	ok_err(acq(1, W, "d", "d", 0), EDQUOT, "a fourth: EDQUOT");
	ok(try_acq(1, W, "b", "b") && try_acq(1, R, "a", "a"),
	   "what it holds already: granted, no new lock");
	ok_err(acq(1, W, "a", "a", 0), EDQUOT, "upgrading a to write is a new "
	       "lock: EDQUOT");
	ok(try_acq(2, W, "x", "x") && try_acq(2, W, "y", "y"),
	   "T2 is not limited by T1's locks");
	t0 = now_mono();
	ok_err(acq(1, W, "x", "x", 5000), EDQUOT, "T1 asking for T2's x: EDQUOT "
	       "at once, no wait");
	ok(now_mono() - t0 < 1.0 && stats().waits == 0, "(no wait counted)");
	ok_err(rel(1, "c", "c"), 0, "T1 releases c");
	ok(try_acq(1, W, "d", "d"), "then d is granted");
	sf_locktree_stats(lt, &ts);
	ok(ts.over_txn_limit == 3 && stats().over_txn_limit == 3,
	   "3 EDQUOT results counted, in the tree and the manager");
	/* T3 waits for x while below the limit; the limit is lowered */
	ok(try_acq(3, W, "m", "m"), "T3 holds m");
	ok_err(sf_lock_request_start(&r, lt, 3, ANY, W, &x, NULL), EINPROGRESS,
	       "T3 waits for x");
	ok_err(sf_lockmgr_set_max_txn_locks(mgr, 1), 0, "the limit lowered to 1");
	sf_lock_release_all(lt, 2);
	ok_err(sf_lock_request_wait(&r, CLOCK_MONOTONIC, NULL), EDQUOT,
	       "T2 releases: T3's wait ends with EDQUOT (it holds m)");
	ok_err(sf_lockmgr_set_max_txn_locks(mgr, 0), 0, "no limit");
	ok(try_acq(3, W, "n", "n"), "T3 gets more again");
	ok_err(sf_lockmgr_set_max_txn_locks(NULL, 1), EINVAL, "no manager");
	sf_lock_release_all(lt, 1);
	sf_lock_release_all(lt, 3);
	finish();
}

/* ---- escalation barrier --------------------------------------------------- */

/* Keys "<prefix><n>": a barrier between different prefixes (first byte). */
static int barrier_calls;

static int prefix_barrier(void *arg, const struct sf_lockkey *a,
			  const struct sf_lockkey *b)
{
	(void)arg;
	barrier_calls++;
	return a->inf || b->inf || !a->size || !b->size ||
	       ((const char *)a->data)[0] != ((const char *)b->data)[0];
}

/*
 * An escalation merges T1's ten point locks a1..a5, b1..b5 into one range
 * that covers "a9", between the two prefixes; with a barrier between
 * prefixes it merges each prefix apart and "a9" stays free.
 */
static void escalate_ten(int with_barrier, const char *what)
{
	static const char *const k[] = { "a1", "a2", "a3", "a4", "a5",
					 "b1", "b2", "b3", "b4", "b5" };
	struct sf_lockmgr_stats st;
	size_t one;
	int bad = 0;

	fresh(0);
	if (with_barrier)
		ok_err(sf_locktree_set_escalation_barrier(lt, prefix_barrier,
							  NULL), 0,
		       "%s: barrier set", what);
	bad += !try_acq(1, W, k[0], k[0]);
	one = stats().lock_memory;
	/* room for 10 locks: the eleventh escalates */
	sf_lockmgr_set_max_memory(mgr, 10 * one + one / 2);
	for (int i = 1; i < 10; i++)
		bad += !try_acq(1, W, k[i], k[i]);
	bad += !try_acq(1, W, "c1", "c1");
	st = stats();
	ok(!bad && st.escalations > 0, "%s: T1's 11 locks, an escalation ran "
	   "(%llu locks left)", what, (unsigned long long)st.locks);
	if (with_barrier)
		ok(try_acq(2, R, "a9", "a9") && barrier_calls > 0 &&
		   !try_acq(2, R, "a3", "a3"),
		   "%s: a9, between the prefixes, is free (the barrier was "
		   "asked %d times); a3 is not", what, barrier_calls);
	else
		ok(!try_acq(2, R, "a9", "a9"), "%s: a9, between the prefixes, "
		   "is covered by the merged range", what);
	sf_lock_release_all(lt, 1);
	sf_lock_release_all(lt, 2);
	finish();
}

static void case_escalation_barrier(void)
{
	phase("escalation barrier");
	escalate_ten(0, "no barrier");
	escalate_ten(1, "barrier");
	fresh(0);
	ok_err(sf_locktree_set_escalation_barrier(NULL, NULL, NULL), EINVAL,
	       "no tree: EINVAL");
	ok_err(sf_locktree_set_escalation_barrier(lt, NULL, NULL), 0,
	       "cleared");
	finish();
}

/* ---- bad arguments ------------------------------------------------------------ */

static void case_einval(void)
{
	struct sf_lock_request req;
	struct sf_lockkey a = key("a"), b = key("b"), bad = { NULL, 3, 0 };
	struct sf_lockkey badinf = { NULL, 0, 2 };
	struct sf_lockmgr_config huge = { .max_lock_memory = (size_t)-1 };
	struct sf_lockmgr *m2;

	phase("einval");
	fresh(0);
	ok_err(sf_lock_request_start(&req, lt, 1, ANY, 3, &a, NULL), EINVAL,
	       "bad mode");
	ok_err(sf_lock_request_start(&req, lt, 1, ANY, R, &b, &a), EINVAL,
	       "left > right");
	ok_err(sf_lock_request_start(&req, lt, 1, ANY, R, &bad, NULL), EINVAL,
	       "NULL data with a size");
	ok_err(sf_lock_request_start(&req, lt, 1, ANY, R, &badinf, NULL), EINVAL,
	       "bad infinity");
	ok_err(sf_lockmgr_create(&m2, &huge), EINVAL, "limit above 64 GiB");
	ok_err(sf_lockmgr_create(&m2, &(struct sf_lockmgr_config){
					 .reserved[6] = 1 }), EINVAL,
	       "a reserved config field not zero");
	ok(!memcmp(stats().reserved, (uint64_t[8]){ 0 },
		   sizeof(stats().reserved)),
	   "the stats' reserved words are zero");
	memset(&req, 0, sizeof(req));
	ok_err(sf_lock_request_wait(&req, CLOCK_MONOTONIC, NULL), EINVAL,
	       "wait on a request never started");
	ok(stats().locks == 0 && stats().grants == 0, "nothing changed");
	finish();
}

int main(void)
{
	watchdog_start(10);
	case_matrix();
	case_comparator();
	case_key_order();
	case_self();
	case_timeout();
	case_kill();
	case_kill_client();
	case_deadlock();
	case_one_waiting();
	case_nowait();
	case_escalation();
	case_escalation_deadlock();
	case_limit();
	case_release();
	case_release_one();
	case_savepoint();
	case_txn_limit();
	case_escalation_barrier();
	case_einval();
	return done_testing();
}
