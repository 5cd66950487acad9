// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: appliers with back-pressure (commit.c Q1-Q3): with a slow applier and a queue of 4, committers wait in sf_txn_commit and the queue stays within its bound plus one transaction per committer; every committer that waits (held at commit:applier-wait) is already durable and visible, and one that waits before its commit (SF_TEST_BROKEN=queue-wait-early) must fail; an applier that commits to its own log does not deadlock; close with a deadline drops what is left (ETIMEDOUT) and the next open replays it */
/*
 * Usage: commit-applier [visible]    ("visible": only the case the broken
 *                                     run executes)
 */
#include "test.h"
#include "commit-test.h"

#define QUEUE 4
#define THREADS 4

static sf_clog_t *L;
static struct ct_seen applied, replayed;
static int apply_ms = 5;
static int checked, not_visible;

static void slow_apply(void *arg, const struct sf_commit_txn *t)
{
	ct_apply_cb(arg, t);
	sleep_ms(apply_ms);
}

/* At commit:applier-wait: the waiting committer's transaction (@val). */
static long wait_hook(const char *point, const void *obj, uint64_t val)
{
	int st = -1;

	(void)obj;
	if (strcmp(point, "commit:applier-wait"))
		return SF_HOOK_NONE;
	__atomic_fetch_add(&checked, 1, __ATOMIC_RELAXED);
	if (sf_clog_txn_status(L, val, NULL, &st) || st != SF_TXN_COMMITTED)
		__atomic_fetch_add(&not_visible, 1, __ATOMIC_RELAXED);
	return SF_HOOK_NONE;
}

static void *committer(void *arg)
{
	int n = (int)(uintptr_t)arg;

	for (int i = 0; i < n; i++) {
		sf_txn_t *t;

		if (sf_txn_begin(L, &t))
			return NULL;
		sf_txn_add(t, "applied", 7);
		if (sf_txn_commit(t, NULL))
			return NULL;
	}
	return NULL;
}

static sf_clog_t *open_log(const char *name, unsigned int queue, int fresh)
{
	struct sf_clog_options o = { .applier_queue = queue,
				     .replay = ct_replay_cb,
				     .replay_arg = &replayed };
	sf_clog_t *l = NULL;
	char p[4600];

	ct_path(p, sizeof(p), name);
	if (fresh)
		ct_unlink(p);
	ct_seen_reset(&replayed);
	if (sf_clog_open(p, &o, &l, NULL))
		ok(0, "open %s", name);
	return l;
}

/* A fresh log @name with queue @queue and one applier @fn. */
static int start(const char *name, unsigned int queue, sf_clog_apply_fn fn)
{
	L = open_log(name, queue, 1);
	if (!L)
		return 0;
	ct_seen_reset(&applied);
	sf_clog_add_applier(L, fn, &applied);
	return 1;
}

/* THREADS committers of @n transactions each, to the end. */
static void run_committers(int n)
{
	pthread_t th[THREADS];

	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, committer, (void *)(uintptr_t)n);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
}

static void case_visible(void)
{
	struct sf_clog_stats st;
	int n = (int)scaled(25), r;

	phase("back-pressure");
	if (!start("bp.log", QUEUE, slow_apply))
		return;
	dsync_own = wait_hook;
	dsync_reset();
	run_committers(n);
	sf_clog_stats(L, &st);
	ok(st.commits == (uint64_t)(THREADS * n),
	   "back-pressure: %d commits", THREADS * n);
	ok(st.applier_waits > 0 && checked > 0,
	   "back-pressure: committers waited for the applier (%llu times)",
	   (unsigned long long)st.applier_waits);
	ok(st.applier_queue_max <= QUEUE + THREADS,
	   "back-pressure: the queue stayed within %d + one per "
	   "committer: %llu at most", QUEUE,
	   (unsigned long long)st.applier_queue_max);
	ok(!not_visible, "back-pressure: every committer that waited was "
	   "durable and visible already (%d checked, %d not)", checked,
	   not_visible);
	r = sf_clog_close(L);
	ok(r == 0 && ct_count(&applied) == (size_t)(THREADS * n) &&
	   !applied.bad_order, "back-pressure: close drains: all %zu "
	   "applied in commit order", ct_count(&applied));
	dsync_own = NULL;
}

/* An applier that commits to its own log while its queue is full. */
static void committing_apply(void *arg, const struct sf_commit_txn *t)
{
	sf_txn_t *x;

	(void)arg;
	ct_record(&applied, t);
	if (t->nrecs && sf_txn_begin(L, &x) == 0) {
		if (sf_txn_commit(x, NULL))	/* no record: not applied */
			diag("applier's commit failed");
	}
	sleep_ms(1);
}

static void case_self(void)
{
	int r;

	phase("applier commits");
	if (!start("self.log", 1, committing_apply))
		return;
	run_committers(10);
	/* each of the 40 made the applier commit one more, applied too */
	for (int i = 0; i < 5000 && ct_count(&applied) < 2 * THREADS * 10; i++)
		sleep_ms(1);
	r = sf_clog_close(L);
	ok(r == 0 && ct_count(&applied) == 2 * THREADS * 10,
	   "applier commits: an applier committing to its own log with a "
	   "full queue does not wait for itself (%zu applied)",
	   ct_count(&applied));
}

static void case_deadline(void)
{
	struct timespec dl;
	double t0;
	size_t napplied;
	int r;

	phase("close deadline");
	apply_ms = 50;
	if (!start("deadline.log", 64, slow_apply))
		return;
	committer((void *)(uintptr_t)30);
	t0 = now_mono();
	dl = deadline_ms(CLOCK_MONOTONIC, 200);
	r = sf_clog_close_timed(L, CLOCK_MONOTONIC, &dl);
	napplied = ct_count(&applied);
	ok_err(r, ETIMEDOUT, "close deadline: 30 commits, an applier taking "
	       "50 ms each, a 200 ms deadline: ETIMEDOUT");
	ok(now_mono() - t0 < 1.0 && napplied < 30,
	   "close deadline: closed after %.2f s with %zu of 30 applied",
	   now_mono() - t0, napplied);
	L = open_log("deadline.log", 0, 0);
	ok(L && ct_count(&replayed) == 30,
	   "close deadline: the next open replays all 30 (%zu)",
	   ct_count(&replayed));
	if (L)
		sf_clog_close(L);
	apply_ms = 5;
	ok_err(sf_clog_open("x", &(struct sf_clog_options){
				    .applier_queue = SF_CLOG_MAX_APPLIER_QUEUE + 1 },
			    &(sf_clog_t *){ 0 }, NULL), EINVAL,
	       "applier_queue above the maximum: EINVAL");
}

int main(int argc, char **argv)
{
	watchdog_start(60);
	ct_mkdir(1);
	if (argc > 1 && !strcmp(argv[1], "visible")) {
		case_visible();
		return done_testing();
	}
	case_visible();
	case_self();
	case_deadline();
	phase("broken");
	ok(self_fails_broken("commit-applier", (char *[]){ "visible", NULL },
			     "queue-wait-early", "was durable and visible"),
	   "broken: committers that wait for the applier before their commit "
	   "(SF_TEST_BROKEN=queue-wait-early) are caught not yet visible");
	return done_testing();
}
