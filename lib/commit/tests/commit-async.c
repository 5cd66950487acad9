// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: asynchronous commit: visible at once and durable only later (by the flusher within its delay, by a synchronous commit, by close), never visible ahead of an unfinished commit (a synchronous commit held before its write by sync points; must fail with SF_TEST_BROKEN=async-visible-early), appliers receive it only once durable and in commit order, a failed flush fails it and everything after it, errors */
/*
 * Usage: commit-async [behind-sync]     (default: every case)
 *
 * Linked against the test-hook build.  "behind-sync" alone is what the
 * test runs again with SF_TEST_BROKEN=async-visible-early (an async
 * commit made visible at its append even behind an unfinished commit,
 * commit.c A2), which must fail.
 */
#include "test.h"
#include "commit-test.h"

static sf_clog_t *L;
static struct ct_seen applied;
/* A fresh log @name, its applier (applied), async delay @delay_us. */
static sf_clog_t *fresh(const char *name, unsigned int delay_us)
{
	struct sf_clog_options o = { .gather_pct = SF_CLOG_NO_GATHER,
				     .async_delay_us = delay_us };
	char p[4600];
	sf_clog_t *l = NULL;

	ct_path(p, sizeof(p), name);
	ct_unlink(p);
	if (sf_clog_open(p, &o, &l, NULL)) {
		ok(0, "open %s", p);
		return NULL;
	}
	ct_seen_reset(&applied);
	sf_clog_add_applier(l, ct_apply_cb, &applied);
	return l;
}

static int status(uint64_t id, const sf_snapshot_t *s)
{
	int st = -1;

	sf_clog_txn_status(L, id, s, &st);
	return st;
}

/* Begin a transaction with one record @rec; its id in *@id. */
static sf_txn_t *one(const char *rec, uint64_t *id)
{
	sf_txn_t *t = NULL;

	if (sf_txn_begin(L, &t) == 0) {
		sf_txn_add(t, rec, strlen(rec));
		*id = sf_txn_id(t);
	}
	return t;
}

/* Visible at once, durable later: by the flusher, by flush_to. */
static void case_basic(void)
{
	uint64_t id, lsn = 0, f0;
	sf_snapshot_t before, after;
	struct timespec dl;
	double t0;
	int st = -1, r;

	/* A long delay: nothing flushes it by itself during the checks. */
	L = fresh("basic.log", 5000000);
	if (!L)
		return;
	f0 = ct_flushes(L);
	sf_clog_snapshot(L, &before);
	r = sf_txn_commit_async(one("async one", &id), &lsn);
	ok(r == 0 && lsn >= 32, "basic: commit_async returns 0 and its "
	   "commit LSN (%llu)", (unsigned long long)lsn);
	sf_clog_snapshot(L, &after);
	ok(status(id, NULL) == SF_TXN_COMMITTED && status(id, &after) ==
	   SF_TXN_COMMITTED, "basic: visible once it returned");
	ok(status(id, &before) == SF_TXN_ACTIVE,
	   "basic: a snapshot taken before does not see it");
	dl = deadline_ms(CLOCK_MONOTONIC, 1000);
	ok(sf_clog_txn_wait(L, id, CLOCK_MONOTONIC, &dl, &st) == 0 &&
	   st == SF_TXN_COMMITTED, "basic: txn_wait answers committed");
	ok(sf_clog_durable_lsn(L) <= lsn && ct_flushes(L) == f0,
	   "basic: not durable yet, no flush (durable %llu)",
	   (unsigned long long)sf_clog_durable_lsn(L));
	sleep_ms(30);
	ok(ct_find(&applied, id) < 0, "basic: no applier has it before it is "
	   "durable");
	ok(sf_clog_flush_to(L, lsn) == 0 && sf_clog_durable_lsn(L) > lsn,
	   "basic: flush_to makes it durable");
	t0 = now_mono();
	while (ct_find(&applied, id) < 0 && now_mono() < t0 + 5)
		sleep_ms(1);
	ok(ct_find(&applied, id) >= 0, "basic: then the applier receives it");
	sf_clog_close(L);

	/* The flusher: within its delay, with no other flush. */
	L = fresh("flusher.log", 20000);
	if (!L)
		return;
	f0 = ct_flushes(L);
	t0 = now_mono();
	sf_txn_commit_async(one("by the flusher", &id), &lsn);
	while (sf_clog_durable_lsn(L) <= lsn && now_mono() < t0 + 10)
		sleep_ms(1);
	ok(sf_clog_durable_lsn(L) > lsn && ct_flushes(L) == f0 + 1,
	   "flusher: durable after %.1f ms (delay 20 ms) with one flush",
	   (now_mono() - t0) * 1e3);
	sf_clog_close(L);
}

/* A synchronous commit after it makes it durable; close does too. */
static void case_sync_after_and_close(void)
{
	struct sf_clog_options o = { .replay = ct_replay_cb,
				     .replay_arg = &applied };
	uint64_t a, b, c, la = 0, lb = 0;
	char p[4600];
	int r;

	L = fresh("after.log", 5000000);
	if (!L)
		return;
	sf_txn_commit_async(one("async a", &a), &la);
	r = sf_txn_commit(one("sync b", &b), &lb);
	ok(r == 0 && lb > la && sf_clog_durable_lsn(L) > la,
	   "sync after: a synchronous commit makes the async one before it "
	   "durable");
	sf_txn_commit_async(one("async c", &c), NULL);
	ok(sf_clog_close(L) == 0, "close with an async commit pending: 0");
	ct_path(p, sizeof(p), "after.log");
	ct_seen_reset(&applied);
	if (sf_clog_open(p, &o, &L, NULL) == 0) {
		ok(ct_count(&applied) == 3 && ct_find(&applied, a) == 0 &&
		   ct_find(&applied, b) == 1 && ct_find(&applied, c) == 2,
		   "close wrote it: the reopen replays all three in commit "
		   "order (%zu)", ct_count(&applied));
		sf_clog_close(L);
	}
}

/* Thread "S": a synchronous commit of S (held at commit:flush). */
static sf_txn_t *s_txn;
static int s_result = -1;
static void *sync_committer(void *arg)
{
	(void)arg;
	dsync_thread("S");
	s_result = sf_txn_commit(s_txn, NULL);
	s_txn = NULL;
	dsync_thread(NULL);
	return NULL;
}

/* Thread "A": an asynchronous commit of T. */
static sf_txn_t *a_txn;
static int a_result = -1, a_done;
static void *async_committer(void *arg)
{
	(void)arg;
	dsync_thread("A");
	a_result = sf_txn_commit_async(a_txn, NULL);
	a_txn = NULL;	/* freed: a leak of it stays visible to LSan */
	__atomic_store_n(&a_done, 1, __ATOMIC_RELEASE);
	dsync_thread(NULL);
	return NULL;
}

/*
 * The race of A2/A3: S's synchronous commit is held by its leader before
 * its write; T commits asynchronously behind it.  T must not be visible
 * before S is (a snapshot seeing T and not S would change when S fails
 * or a crash loses S, and T's record follows S's), so commit_async waits;
 * it returns when S's batch is durable and visible, without a flush of
 * its own.
 */
/*
 * On a fresh log @name: S's synchronous commit held by its leader at
 * commit:flush (thread *@ts), then T's asynchronous commit started behind
 * it (*@ta); the flushes done before T in *@f0.  Return: 0, or -1 (no
 * log).
 */
static int start_behind(const char *name, uint64_t *s, uint64_t *t,
			pthread_t *ts, pthread_t *ta, uint64_t *f0)
{
	L = fresh(name, 5000000);
	if (!L)
		return -1;
	dsync_reset();
	dsync_arm("commit:flush", "S", "s-held", "go", 1);
	s_txn = one("sync S", s);
	pthread_create(ts, NULL, sync_committer, NULL);
	ok(dsync_wait_for("s-held", 5000), "%s: S's flush held", name);
	*f0 = ct_flushes(L);
	a_txn = one("async T", t);
	__atomic_store_n(&a_done, 0, __ATOMIC_RELEASE);
	pthread_create(ta, NULL, async_committer, NULL);
	return 0;
}

static void case_behind_sync(void)
{
	uint64_t s, t, f0;
	sf_snapshot_t snap;
	pthread_t ts, ta;

	if (start_behind("behind.log", &s, &t, &ts, &ta, &f0))
		return;
	sleep_ms(100);
	sf_clog_snapshot(L, &snap);
	ok(status(t, &snap) == SF_TXN_ACTIVE && status(t, NULL) ==
	   SF_TXN_ACTIVE, "behind-sync: T is not visible while S is not "
	   "(status %d)", status(t, NULL));
	ok(!__atomic_load_n(&a_done, __ATOMIC_ACQUIRE),
	   "behind-sync: commit_async waits for S");
	dsync_signal("go");
	pthread_join(ts, NULL);
	pthread_join(ta, NULL);
	ok(s_result == 0 && a_result == 0, "behind-sync: both commits "
	   "returned 0");
	ok(status(s, NULL) == SF_TXN_COMMITTED && status(t, NULL) ==
	   SF_TXN_COMMITTED, "behind-sync: then both are visible");
	ok(ct_flushes(L) == f0 + 1, "behind-sync: T did not wait for a flush of "
	   "its own (%llu flushes)", (unsigned long long)(ct_flushes(L) - f0));
	ok(status(t, &snap) == SF_TXN_ACTIVE,
	   "behind-sync: the snapshot taken meanwhile still does not see T");
	dsync_reset();
	sf_clog_close(L);
}

/*
 * Mixed: threads committing sync and async at random; appliers get them
 * in commit order, and a snapshot never sees a commit without every
 * commit before it (checked against the LSNs).
 */
#define MIX_THREADS 4
static int mix_n;
static uint64_t mix_id[MIX_THREADS][2000], mix_lsn[MIX_THREADS][2000];
static int mix_bad;

static void *mixer(void *arg)
{
	int me = (int)(uintptr_t)arg;
	uint32_t seed = 17u + (uint32_t)me * 7919u;

	for (int i = 0; i < mix_n; i++) {
		sf_txn_t *t = one("mixed", &mix_id[me][i]);
		uint64_t lsn = 0;
		int r = rnd(&seed) % 2 ? sf_txn_commit_async(t, &lsn)
				       : sf_txn_commit(t, &lsn);

		__atomic_store_n(&mix_lsn[me][i], lsn, __ATOMIC_RELEASE);
		if (r)
			__atomic_fetch_add(&mix_bad, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void case_mixed(void)
{
	pthread_t th[MIX_THREADS];
	sf_snapshot_t snap;
	int holes = 0, n = 0;
	double t0;

	mix_n = (int)scaled(2000);
	if (mix_n > 2000)
		mix_n = 2000;
	L = fresh("mixed.log", 1000);
	if (!L)
		return;
	for (int i = 0; i < MIX_THREADS; i++)
		pthread_create(&th[i], NULL, mixer, (void *)(uintptr_t)i);
	/* Snapshots while they run: visible set is a prefix by LSN. */
	for (int k = 0; k < 200; k++) {
		uint64_t max_vis = 0;

		sf_clog_snapshot(L, &snap);
		for (int i = 0; i < MIX_THREADS; i++)
			for (int j = 0; j < mix_n; j++) {
				uint64_t l = __atomic_load_n(&mix_lsn[i][j],
							     __ATOMIC_ACQUIRE);

				if (l && status(mix_id[i][j], &snap) ==
				    SF_TXN_COMMITTED && l > max_vis)
					max_vis = l;
			}
		for (int i = 0; i < MIX_THREADS; i++)
			for (int j = 0; j < mix_n; j++) {
				uint64_t l = __atomic_load_n(&mix_lsn[i][j],
							     __ATOMIC_ACQUIRE);

				holes += l && l < max_vis &&
					 status(mix_id[i][j], &snap) !=
					 SF_TXN_COMMITTED;
			}
		sleep_ms(1);
	}
	for (int i = 0; i < MIX_THREADS; i++)
		pthread_join(th[i], NULL);
	ok(!mix_bad, "mixed: every commit returned 0");
	ok(!holes, "mixed: no snapshot saw a commit without every commit "
	   "before it in commit order (%d holes)", holes);
	t0 = now_mono();
	while (ct_count(&applied) < (size_t)(MIX_THREADS * mix_n) &&
	       now_mono() < t0 + 10)
		sleep_ms(2);
	n = (int)ct_count(&applied);
	ok(n == MIX_THREADS * mix_n && !applied.bad_order,
	   "mixed: the applier got all %d in commit order (%d out of order)",
	   n, applied.bad_order);
	sf_clog_close(L);
}

/* A failed flush: an async commit visible before it fails with it. */
static void case_fail(void)
{
	uint64_t a, b;
	int r;

	L = fresh("fail.log", 5000000);
	if (!L)
		return;
	dsync_reset();
	sf_txn_commit_async(one("async a", &a), NULL);
	ok(status(a, NULL) == SF_TXN_COMMITTED, "fail: a visible");
	__atomic_store_n(&ct_fail_flush, 1, __ATOMIC_RELEASE);
	r = sf_txn_commit(one("sync b", &b), NULL);
	__atomic_store_n(&ct_fail_flush, 0, __ATOMIC_RELEASE);
	ok_err(r, EIO, "fail: the synchronous commit after it fails");
	ok(status(a, NULL) == SF_TXN_FAILED && status(b, NULL) ==
	   SF_TXN_FAILED, "fail: both are failed (%d %d)", status(a, NULL),
	   status(b, NULL));
	ok_err(sf_txn_commit_async(NULL, NULL), EINVAL, "commit_async(NULL)");
	sf_clog_close(L);
	ok(ct_find(&applied, a) < 0, "fail: the applier never got a");
}

/*
 * An async commit waiting behind a synchronous one whose batch then
 * fails: it fails too (EIO, never visible), and nothing leaks (the
 * sanitizer builds check the batch's reference of it, A4).
 */
static void case_fail_behind(void)
{
	uint64_t s, t, f0;
	pthread_t ts, ta;

	if (start_behind("fail-behind.log", &s, &t, &ts, &ta, &f0))
		return;
	sleep_ms(50);
	__atomic_store_n(&ct_fail_flush, 1, __ATOMIC_RELEASE);
	dsync_signal("go");
	pthread_join(ts, NULL);
	pthread_join(ta, NULL);
	__atomic_store_n(&ct_fail_flush, 0, __ATOMIC_RELEASE);
	ok(s_result == EIO && a_result == EIO && status(t, NULL) ==
	   SF_TXN_FAILED, "fail-behind: S fails, and T behind it (%d, %d)",
	   s_result, a_result);
	dsync_reset();
	sf_clog_close(L);
}

static void case_options(void)
{
	struct sf_clog_options o = {
		.async_delay_us = SF_CLOG_MAX_ASYNC_DELAY_US + 1 };
	char p[4600];
	sf_clog_t *l = NULL;

	ct_path(p, sizeof(p), "opt.log");
	ok_err(sf_clog_open(p, &o, &l, NULL), EINVAL,
	       "options: async_delay_us above the maximum");
	o.async_delay_us = SF_CLOG_MAX_ASYNC_DELAY_US;
	ok(sf_clog_open(p, &o, &l, NULL) == 0, "options: the maximum is "
	   "accepted");
	if (l)
		sf_clog_close(l);
}

int main(int argc, char **argv)
{
	dsync_own = ct_fail_hook;
	watchdog_start(60);
	ct_mkdir(0);
	if (argc > 1 && !strcmp(argv[1], "behind-sync")) {
		case_behind_sync();
		return done_testing();
	}
	phase("basic");
	case_basic();
	phase("sync after, close");
	case_sync_after_and_close();
	phase("behind-sync");
	case_behind_sync();
	phase("mixed");
	case_mixed();
	phase("fail");
	case_fail();
	phase("fail-behind");
	case_fail_behind();
	phase("options");
	case_options();
	phase("broken");
	ok(self_fails_broken("commit-async", (char *[]){ "behind-sync", NULL },
			     "async-visible-early",
			     "T is not visible while S is not"),
	   "broken: with an async commit visible at its append "
	   "(SF_TEST_BROKEN=async-visible-early) T is seen ahead of S");
	return done_testing();
}
