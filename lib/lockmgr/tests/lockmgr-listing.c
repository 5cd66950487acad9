// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: lock manager listings, per-tree statistics and the limit getter: sf_locktree_iterate lists exactly the held locks in key order (points, ranges, infinities, both modes), stops when asked, and may call the lock manager from its callback; sf_lockmgr_iterate_waits lists every waiting request with its blockers and start time, across trees; and listings taken again and again while 4 threads lock and release are consistent, never torn: every listed lock is one a thread's transaction really took (its key names its transaction), a thread's locks in a listing belong to one transaction and form a prefix of what it takes, and every listed wait is for the hot key and blocked by at most its one holder (lockmgr-broken: with the listing copied in two sections, SF_TEST_BROKEN=listing-torn, the load case fails) */
#include "lockmgr-test.h"

static int acq(struct sf_locktree *t, uint64_t txn, int mode, const char *l,
	       const char *r)
{
	struct sf_lockkey kl = key(l), kr = key(r ? r : l);

	return sf_lock_acquire(t, txn, ANY, mode, &kl, r ? &kr : NULL,
			       CLOCK_MONOTONIC, NULL);
}

/* A key as text: "-", "+" or its bytes. */
static void key_str(const struct sf_lockkey *k, char *buf, size_t len)
{
	if (k->inf)
		snprintf(buf, len, "%s", k->inf < 0 ? "-" : "+");
	else
		snprintf(buf, len, "%.*s", (int)k->size, (const char *)k->data);
}

/* ---- the listing of one tree -------------------------------------------------- */

struct collect {
	char text[1024];
	int n, stop_after;
	int called_mgr;		/* the callback's own sf_lock_acquire result */
};

static int collect_fn(const struct sf_lock_info *li, void *arg)
{
	struct collect *c = arg;
	char l[32], r[32];
	size_t len = strlen(c->text);

	key_str(&li->left, l, sizeof(l));
	key_str(&li->right, r, sizeof(r));
	snprintf(c->text + len, sizeof(c->text) - len, "%s%llu%c[%s,%s]",
		 c->n ? " " : "", (unsigned long long)li->txnid,
		 li->mode == W ? 'W' : 'R', l, r);
	c->n++;
	if (c->n == 1 && c->called_mgr < 0)
		/* outside every internal lock: the manager may be called */
		c->called_mgr = acq(li->tree, 50, W, "e", NULL);
	return c->stop_after && c->n == c->stop_after;
}

static void case_locks(void)
{
	struct collect c = { .called_mgr = 0 };
	struct sf_locktree_stats ts;
	struct sf_lockmgr_stats st;
	size_t limit = 0;

	phase("locks");
	ok(!acq(lt, 1, W, "b", "d") && !acq(lt, 2, R, "m", NULL) &&
	   !acq(lt, 3, R, "m", NULL) && !acq(lt, 1, R, "-", "a") &&
	   !acq(lt, 4, W, "x", "+") && !acq(lt, 2, R, "", NULL),
	   "six locks: ranges, points, infinities, an empty key, both modes");
	ok_err(sf_locktree_iterate(lt, collect_fn, &c), 0, "listed");
	/* key order by left key; the two reads of m in either order */
	if (!ok(!strcmp(c.text, "1R[-,a] 2R[,] 1W[b,d] 2R[m,m] 3R[m,m] 4W[x,+]") ||
		!strcmp(c.text, "1R[-,a] 2R[,] 1W[b,d] 3R[m,m] 2R[m,m] 4W[x,+]"),
		"exactly the held locks, in key order"))
		diag("  got: %s", c.text);
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	ok_err(sf_locktree_iterate(lt, collect_fn, &c), 0, "listed again");
	ok(c.n == 2, "a callback returning nonzero stops the listing (%d)", c.n);
	memset(&c, 0, sizeof(c));
	c.called_mgr = -1;
	sf_locktree_iterate(lt, collect_fn, &c);
	ok_err(c.called_mgr, 0, "the callback can lock (it runs outside the "
	       "tree's mutexes)");
	ok_err(sf_locktree_stats(lt, &ts), 0, "per-tree stats");
	sf_lockmgr_stats(mgr, &st);
	ok(ts.locks == 7 && ts.txns == 5 && ts.grants == 7 && ts.pending == 0 &&
	   ts.lock_memory == st.lock_memory && ts.lock_memory > 0,
	   "per-tree stats: 7 locks of 5 transactions, 7 grants, %llu bytes "
	   "(the manager's %llu)", (unsigned long long)ts.lock_memory,
	   (unsigned long long)st.lock_memory);
	ok(!memcmp(ts.reserved, (uint64_t[9]){ 0 }, sizeof(ts.reserved)),
	   "per-tree stats: reserved words zero");
	ok_err(sf_lockmgr_get_max_memory(mgr, &limit), 0, "limit getter");
	ok(limit == SF_LOCKMGR_DEFAULT_MEMORY, "the default limit (%zu)", limit);
	sf_lockmgr_set_max_memory(mgr, (size_t)1 << 36);
	sf_lockmgr_get_max_memory(mgr, &limit);
	ok(limit == (size_t)1 << 36, "64 GiB reads back as 64 GiB");
	sf_lockmgr_set_max_memory(mgr, 4096);
	sf_lockmgr_get_max_memory(mgr, &limit);
	ok(limit == 4096, "4096 reads back");
	sf_lockmgr_set_max_memory(mgr, 0);
	sf_lockmgr_get_max_memory(mgr, &limit);
	ok(limit == SF_LOCKMGR_DEFAULT_MEMORY, "0 reads back as the default");
	ok_err(sf_lockmgr_set_max_memory(mgr, ((size_t)1 << 36) + 1), EINVAL,
	       "a refused limit");
	sf_lockmgr_get_max_memory(mgr, &limit);
	ok(limit == SF_LOCKMGR_DEFAULT_MEMORY, "leaves the old one");
	ok_err(sf_locktree_iterate(NULL, collect_fn, &c), EINVAL, "no tree");
	ok_err(sf_locktree_iterate(lt, NULL, &c), EINVAL, "no callback");
	ok_err(sf_locktree_stats(lt, NULL), EINVAL, "stats: no struct");
	ok_err(sf_lockmgr_get_max_memory(mgr, NULL), EINVAL, "getter: NULL");
	for (uint64_t t = 1; t <= 50; t++)
		sf_lock_release_all(lt, t);
	memset(&c, 0, sizeof(c));
	sf_locktree_iterate(lt, collect_fn, &c);
	ok(c.n == 0, "an empty tree lists nothing");
}

/* ---- the listing of waits ------------------------------------------------------ */

struct wcollect {
	int n;
	struct sf_lock_wait_info w[4];
	char key[4][8];
	uint64_t blockers[4][4];
};

static int wcollect_fn(const struct sf_lock_wait_info *wi, void *arg)
{
	struct wcollect *c = arg;

	if (c->n < 4) {
		c->w[c->n] = *wi;
		key_str(&wi->left, c->key[c->n], sizeof(c->key[0]));
		for (uint32_t i = 0; i < wi->nblockers && i < 4; i++)
			c->blockers[c->n][i] = wi->blockers[i];
	}
	c->n++;
	return 0;
}

static int has(const uint64_t *v, uint32_t n, uint64_t x)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

static void case_waits(void)
{
	struct sf_lock_request r1, r2;
	struct sf_lockkey m = key("m"), q = key("q");
	struct sf_locktree *t2;
	struct wcollect c = { 0 };
	struct sf_locktree_stats ts;
	uint64_t t0 = (uint64_t)(now_mono() * 1e9);

	phase("waits");
	ok_err(sf_locktree_create(mgr, &t2, NULL, NULL), 0, "a second tree");
	ok(!acq(lt, 1, R, "m", NULL) && !acq(lt, 2, R, "m", NULL) &&
	   !acq(t2, 3, W, "q", NULL), "T1 and T2 read m; T3 writes q in the "
	   "second tree");
	ok_err(sf_lock_request_start(&r1, lt, 4, 44, W, &m, NULL), EINPROGRESS,
	       "T4 (client 44) waits to write m");
	ok_err(sf_lock_request_start(&r2, t2, 5, ANY, R, &q, NULL), EINPROGRESS,
	       "T5 waits to read q");
	ok_err(sf_lockmgr_iterate_waits(mgr, wcollect_fn, &c), 0, "listed");
	ok(c.n == 2, "two waiting requests (%d)", c.n);
	for (int i = 0; i < c.n && i < 2; i++) {
		const struct sf_lock_wait_info *w = &c.w[i];

		if (w->txnid == 4)
			ok(w->tree == lt && w->client_id == 44 && w->mode == W &&
			   !strcmp(c.key[i], "m") && w->nblockers == 2 &&
			   has(c.blockers[i], 2, 1) && has(c.blockers[i], 2, 2),
			   "T4: tree, client 44, W m, blocked by T1 and T2");
		else
			ok(w->txnid == 5 && w->tree == t2 && w->client_id == 5 &&
			   w->mode == R && !strcmp(c.key[i], "q") &&
			   w->nblockers == 1 && c.blockers[i][0] == 3,
			   "T5: second tree, its own client id, R q, blocked by "
			   "T3");
		ok(w->wait_start_ns >= t0 &&
		   w->wait_start_ns <= (uint64_t)(now_mono() * 1e9),
		   "its start time is of this test (monotonic ns)");
	}
	sf_locktree_stats(lt, &ts);
	ok(ts.pending == 1 && ts.waits == 1, "per-tree stats: 1 waiting, 1 "
	   "wait in the first tree");
	sf_lock_release_all(lt, 1);
	memset(&c, 0, sizeof(c));
	sf_lockmgr_iterate_waits(mgr, wcollect_fn, &c);
	ok(c.n == 2 && (c.w[0].txnid == 4 ? c.w[0] : c.w[1]).nblockers == 1,
	   "T1 released: T4 is blocked by T2 only");
	sf_lock_release_all(lt, 2);
	sf_lock_release_all(t2, 3);
	ok_err(sf_lock_request_wait(&r1, CLOCK_MONOTONIC, NULL), 0, "T4 gets m");
	ok_err(sf_lock_request_wait(&r2, CLOCK_MONOTONIC, NULL), 0, "T5 gets q");
	memset(&c, 0, sizeof(c));
	sf_lockmgr_iterate_waits(mgr, wcollect_fn, &c);
	ok(c.n == 0, "nothing waits: nothing listed");
	ok_err(sf_lockmgr_iterate_waits(NULL, wcollect_fn, &c), EINVAL,
	       "no manager");
	ok_err(sf_lockmgr_iterate_waits(mgr, NULL, &c), EINVAL, "no callback");
	sf_lock_release_all(lt, 4);
	sf_lock_release_all(t2, 5);
	ok_err(sf_locktree_destroy(t2), 0, "second tree destroyed");
}

/* ---- under load ------------------------------------------------------------------ */

/*
 * Thread t (1..NT) runs transactions (t << 32 | seq), each taking, in
 * order: i=0 a write of "t.seq.0", i=1 a read of the range
 * ["t.seq.1a", "t.seq.1b"], i=2 a write of the hot key "H" (so the
 * threads wait for each other), i=3 a read of "t.seq.3"; then it releases
 * everything at once.  In a consistent listing a thread's locks all name
 * its one current transaction, and are the locks 0..m of it.
 */
#define NT 4
static int stop_load;
static unsigned long load_txns[NT + 1];

static void *load_main(void *p)
{
	int t = (int)(intptr_t)p;

	for (uint64_t seq = 1; !__atomic_load_n(&stop_load, __ATOMIC_RELAXED);
	     seq++) {
		uint64_t txn = (uint64_t)t << 32 | seq;
		char k0[32], k1a[32], k1b[32], k3[32];
		struct timespec dl = deadline_ms(CLOCK_MONOTONIC, 10000);
		struct sf_lockkey a, b;
		int e;

		snprintf(k0, sizeof(k0), "%d.%llu.0", t, (unsigned long long)seq);
		snprintf(k1a, sizeof(k1a), "%d.%llu.1a", t, (unsigned long long)seq);
		snprintf(k1b, sizeof(k1b), "%d.%llu.1b", t, (unsigned long long)seq);
		snprintf(k3, sizeof(k3), "%d.%llu.3", t, (unsigned long long)seq);
		e = acq(lt, txn, W, k0, NULL);
		a = key(k1a);
		b = key(k1b);
		if (!e)
			e = sf_lock_acquire(lt, txn, ANY, R, &a, &b,
					    CLOCK_MONOTONIC, &dl);
		a = key("H");
		if (!e)
			e = sf_lock_acquire(lt, txn, ANY, W, &a, NULL,
					    CLOCK_MONOTONIC, &dl);
		if (!e)
			e = acq(lt, txn, R, k3, NULL);
		if (e) {
			ok(0, "thread %d: lock failed: %d", t, e);
			return NULL;
		}
		if (seq % 4 == 0)
			sched_yield();
		sf_lock_release_all(lt, txn);
		__atomic_store_n(&load_txns[t], seq, __ATOMIC_RELAXED);
		progress();
	}
	return NULL;
}

struct check {
	uint64_t txn[NT + 1];	/* each thread's transaction in the listing */
	unsigned held[NT + 1];	/* bit i: its lock i was listed */
	unsigned long bad, locks;
	char why[160];
};

static void bad(struct check *c, const char *fmt, const struct sf_lock_info *li)
{
	char l[40], r[40];

	if (c->bad++)
		return;
	key_str(&li->left, l, sizeof(l));
	key_str(&li->right, r, sizeof(r));
	snprintf(c->why, sizeof(c->why), "%s: txn %llx %c[%s,%s]", fmt,
		 (unsigned long long)li->txnid, li->mode == W ? 'W' : 'R', l, r);
}

static int check_fn(const struct sf_lock_info *li, void *arg)
{
	struct check *c = arg;
	int t = (int)(li->txnid >> 32), i = -1;
	unsigned long long seq = li->txnid & 0xffffffffu;
	char l[40], r[40], want[40];

	c->locks++;
	if (t < 1 || t > NT || !seq || li->left.inf || li->right.inf) {
		bad(c, "not a lock of the load", li);
		return 0;
	}
	key_str(&li->left, l, sizeof(l));
	key_str(&li->right, r, sizeof(r));
	if (!strcmp(l, "H")) {
		i = 2;
	} else {
		for (int j = 0; j < 4 && i < 0; j++) {
			snprintf(want, sizeof(want), "%d.%llu.%s", t, seq,
				 j == 1 ? "1a" : j == 0 ? "0" : "3");
			if (j != 2 && !strcmp(l, want))
				i = j;
		}
	}
	if (i < 0) {
		bad(c, "key not of its transaction", li);
		return 0;
	}
	snprintf(want, sizeof(want), "%d.%llu.1b", t, seq);
	if (li->mode != (i == 0 || i == 2 ? W : R) ||
	    strcmp(r, i == 1 ? want : l)) {
		bad(c, "mode or range not what was taken", li);
		return 0;
	}
	if (c->txn[t] && c->txn[t] != li->txnid) {
		bad(c, "two transactions of one thread in one listing", li);
		return 0;
	}
	c->txn[t] = li->txnid;
	if (c->held[t] & (1u << i))
		bad(c, "a lock listed twice", li);
	c->held[t] |= 1u << i;
	return 0;
}

struct wcheck {
	unsigned long bad, n;
	char why[160];
};

static int wcheck_fn(const struct sf_lock_wait_info *wi, void *arg)
{
	struct wcheck *c = arg;
	int t = (int)(wi->txnid >> 32);

	c->n++;
	if (t < 1 || t > NT || wi->mode != W || wi->left.inf ||
	    wi->left.size != 1 || memcmp(wi->left.data, "H", 1) ||
	    wi->nblockers > 1 ||
	    (wi->nblockers && (wi->blockers[0] == wi->txnid ||
			       wi->blockers[0] >> 32 < 1 ||
			       wi->blockers[0] >> 32 > NT))) {
		if (!c->bad++)
			snprintf(c->why, sizeof(c->why), "txn %llx mode %d, "
				 "%u blockers", (unsigned long long)wi->txnid,
				 wi->mode, wi->nblockers);
	}
	return 0;
}

static void case_load(void)
{
	pthread_t th[NT];
	unsigned long listings = 0, badl = 0, badw = 0, locks = 0, waits = 0;
	unsigned long prefix_bad = 0;
	char why[160] = "", wwhy[160] = "";
#ifdef TEST_TSAN
	double t0 = now_mono(), secs = 2.0;
#else
	double t0 = now_mono(), secs = 1.0;
#endif
	unsigned long done = 0;

	phase("load");
	stop_load = 0;
	for (int t = 0; t < NT; t++)
		pthread_create(&th[t], NULL, load_main, (void *)(intptr_t)(t + 1));
	while (now_mono() - t0 < secs) {
		struct check c;
		struct wcheck wc;

		memset(&c, 0, sizeof(c));
		memset(&wc, 0, sizeof(wc));
		if (sf_locktree_iterate(lt, check_fn, &c) ||
		    sf_lockmgr_iterate_waits(mgr, wcheck_fn, &wc))
			badl++;
		listings++;
		locks += c.locks;
		waits += wc.n;
		if (c.bad && !badl++)
			snprintf(why, sizeof(why), "%s", c.why);
		if (wc.bad && !badw++)
			snprintf(wwhy, sizeof(wwhy), "%s", wc.why);
		for (int t = 1; t <= NT; t++)
			/* locks 0..m: held + 1 is a power of two */
			if (c.held[t] & (c.held[t] + 1))
				prefix_bad++;
		progress();
	}
	__atomic_store_n(&stop_load, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < NT; t++)
		pthread_join(th[t], NULL);
	for (int t = 1; t <= NT; t++)
		done += load_txns[t];
	diag("load: %lu listings of %lu locks and %lu waits in all, while %d "
	     "threads ran %lu transactions", listings, locks, waits, NT, done);
	if (!ok(badl == 0, "every listed lock is one its transaction took, one "
		"transaction per thread per listing (%lu bad)", badl))
		diag("  first: %s", why);
	ok(prefix_bad == 0, "a thread's listed locks are the first of what its "
	   "transaction takes, never a torn set (%lu bad)", prefix_bad);
	if (!ok(badw == 0, "every listed wait is for H, by a load transaction, "
		"blocked by at most one other (%lu bad)", badw))
		diag("  first: %s", wwhy);
	ok(listings > 10 && locks > 0 && waits > 0 && done > 100,
	   "the listings saw the load (%lu listings, %lu locks, %lu waits)",
	   listings, locks, waits);
	ok(sf_locktree_iterate(lt, check_fn, &(struct check){ 0 }) == 0,
	   "after the load the tree lists nothing but what is left");
}

/* Usage: lockmgr-listing [load]   (default: every case) */
int main(int argc, char **argv)
{
	int only_load = argc > 1 && !strcmp(argv[1], "load");

	watchdog_start(20);
	if (sf_lockmgr_create(&mgr, NULL) ||
	    sf_locktree_create(mgr, &lt, NULL, NULL)) {
		ok(0, "create manager and tree");
		return T_FAIL;
	}
	if (!only_load) {
		case_locks();
		case_waits();
	}
	case_load();
	ok_err(sf_locktree_destroy(lt), 0, "tree destroyed");
	ok_err(sf_lockmgr_destroy(mgr), 0, "manager destroyed");
	return done_testing();
}
