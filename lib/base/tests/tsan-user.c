// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tsan-user.c - a user's program under ThreadSanitizer, built with
 * -fsanitize=thread against the *installed* library (pkg-config only:
 * scripts/check-tsan-user.sh), which is not itself built with TSAN.
 *
 *   tsan-user SCENARIO
 *
 * Each scenario hands plain data from one thread to another through one
 * happens-before the library promises; TSAN must report nothing.  The
 * scenarios "race" (the same data without the lock) and "inversion" (two
 * sf_mutexes taken in both orders, never at the same time) must each be
 * reported: the proof that TSAN sees the library's locks at all.  Exit
 * status: 0, or 1 when the program itself finds something wrong (TSAN
 * exits 66 after a report).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <syncfix.h>

#define ROUNDS	2000

static long data[8];		/* what the scenarios hand over */
static long sink;		/* what the main thread read of it */

static void fail(const char *what, int err)
{
	fprintf(stderr, "tsan-user: %s: %s\n", what, strerror(err));
	exit(1);
}

/* Run @fn in @n threads, thread i given i, and join them. */
static void run_threads(void *(*fn)(void *), int n)
{
	pthread_t t[8];

	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, fn, (void *)(intptr_t)i);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

static void touch(void)
{
	for (int i = 0; i < 8; i++)
		data[i]++;
}

/* ---- mutex, rwlock ---------------------------------------------------- */

static sf_mutex_t mx;
static sf_rwlock_t rw;

static void *mutex_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		sf_mutex_lock(&mx);
		touch();
		sf_mutex_unlock(&mx);
	}
	return NULL;
}

static int run_mutex(int type)
{
	sf_mutexattr_t at;

	sf_mutexattr_init(&at);
	sf_mutexattr_settype(&at, type);
	sf_mutex_init(&mx, &at);
	run_threads(mutex_thread, 2);
	sf_mutex_destroy(&mx);
	return data[0] == 2 * ROUNDS ? 0 : 1;
}

static void *rw_thread(void *arg)
{
	long sum = 0;

	for (int i = 0; i < ROUNDS; i++) {
		if (!(intptr_t)arg) {	/* thread 0 writes, the others read */
			sf_rwlock_wrlock(&rw);
			touch();
		} else {
			sf_rwlock_rdlock(&rw);
			sum += data[i & 7];
		}
		sf_rwlock_unlock(&rw);
	}
	return (void *)sum;
}

static int run_rwlock(int kind)
{
	sf_rwlockattr_t at;

	sf_rwlockattr_init(&at);
	sf_rwlockattr_setkind(&at, kind);
	sf_rwlock_init(&rw, &at);
	run_threads(rw_thread, 3);
	sf_rwlock_destroy(&rw);
	return data[0] == ROUNDS ? 0 : 1;
}

/* ---- condition variable: a handoff through a wait ---------------------- */

static sf_cond_t cv = SF_COND_INITIALIZER;
static int cv_turn;

static void *cv_thread(void *arg)
{
	long me = (intptr_t)arg;

	for (int i = 0; i < ROUNDS / 4; i++) {
		sf_mutex_lock(&mx);
		while ((cv_turn & 1) != me)
			sf_cond_wait(&cv, &mx);
		touch();		/* each turn's data */
		cv_turn++;
		sf_cond_signal(&cv);
		sf_mutex_unlock(&mx);
	}
	return NULL;
}

static int run_cond(void)
{
	sf_mutex_init(&mx, NULL);
	run_threads(cv_thread, 2);
	return data[0] == ROUNDS / 2 ? 0 : 1;
}

/* ---- the two that must be reported ------------------------------------ */

static void *racer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++)
		touch();		/* no lock */
	return NULL;
}

static int run_race(void)
{
	run_threads(racer, 2);
	return 0;
}

static int run_inversion(void)
{
	sf_mutex_t a = SF_MUTEX_INITIALIZER, b = SF_MUTEX_INITIALIZER;

	sf_mutex_lock(&a);
	sf_mutex_lock(&b);
	sf_mutex_unlock(&b);
	sf_mutex_unlock(&a);
	sf_mutex_lock(&b);
	sf_mutex_lock(&a);	/* B then A: an inversion, never a deadlock */
	sf_mutex_unlock(&a);
	sf_mutex_unlock(&b);
	return 0;
}

/* ---- lock manager: a grant after a wait ------------------------------- */

static struct sf_locktree *lt;
static volatile int lm_holding;

static const struct sf_lockkey key = { "k", 1, SF_LOCKKEY_FINITE };

static void *lm_waiter(void *arg)
{
	int r;

	(void)arg;
	while (!__atomic_load_n(&lm_holding, __ATOMIC_ACQUIRE))
		sched_yield();
	/* T2 waits for T1's lock, granted by T1's release_all. */
	r = sf_lock_acquire(lt, 2, SF_LOCK_CLIENT_TXNID, SF_LOCK_WRITE, &key,
			    NULL, CLOCK_MONOTONIC, NULL);
	if (r)
		fail("sf_lock_acquire (T2)", r);
	touch();			/* after the grant */
	sf_lock_release_all(lt, 2);
	return NULL;
}

static int run_lockmgr(void)
{
	struct sf_lockmgr *mgr;
	struct sf_lockmgr_stats st;
	pthread_t t;
	int r;

	r = sf_lockmgr_create(&mgr, NULL);
	if (!r)
		r = sf_locktree_create(mgr, &lt, NULL, NULL);
	if (r)
		fail("lock manager", r);
	for (int round = 0; round < 20; round++) {
		r = sf_lock_acquire(lt, 1, SF_LOCK_CLIENT_TXNID, SF_LOCK_WRITE,
				    &key, NULL, CLOCK_MONOTONIC, NULL);
		if (r)
			fail("sf_lock_acquire (T1)", r);
		__atomic_store_n(&lm_holding, 1, __ATOMIC_RELEASE);
		pthread_create(&t, NULL, lm_waiter, NULL);
		/* Let T2 start waiting, then hand it the data. */
		do {
			sf_lockmgr_stats(mgr, &st);
			sched_yield();
		} while (st.waits < (uint64_t)round + 1);
		touch();		/* before the release */
		sf_lock_release_all(lt, 1);
		pthread_join(t, NULL);
		__atomic_store_n(&lm_holding, 0, __ATOMIC_RELEASE);
		touch();		/* after T2 released, joined */
	}
	sf_locktree_destroy(lt);
	sf_lockmgr_destroy(mgr);
	return 0;
}

/* ---- locking thread: acquire, wait_held, release ---------------------- */

static int lt_acquire(struct sf_lockthread *h, void *arg)
{
	(void)h;
	(void)arg;
	touch();			/* the helper, before "held" */
	return 0;
}

static void lt_release(struct sf_lockthread *h, void *arg)
{
	(void)h;
	(void)arg;
	touch();			/* the helper, after finish asked */
}

static int run_lockthread(void)
{
	for (int round = 0; round < 50; round++) {
		struct sf_lockthread *h;
		int r = sf_lockthread_create(&h, lt_acquire, lt_release, NULL);

		if (!r)
			r = sf_lockthread_start(h);
		if (!r)
			r = sf_lockthread_wait_held(h, CLOCK_MONOTONIC, NULL);
		if (r)
			fail("lockthread", r);
		touch();		/* the owner, after wait_held */
		r = sf_lockthread_finish(h);
		if (r)
			fail("sf_lockthread_finish", r);
		touch();		/* the owner, after finish */
		sf_lockthread_destroy(h);
	}
	return 0;
}

/* ---- commit log: visibility, txn_wait, appliers ----------------------- */

static sf_clog_t *clog;
static long payload[256];	/* by transaction id: written before commit */
static long applied;
static uint64_t last_id;

static void applier(void *arg, const struct sf_commit_txn *txn)
{
	(void)arg;
	if (payload[txn->id & 255] != (long)txn->id * 7)
		fail("applier: the transaction's data", EPROTO);
	applied++;
}

static void *committer(void *arg)
{
	for (int i = 0; i < 50; i++) {
		sf_txn_t *t;
		int r = sf_txn_begin(clog, &t);

		if (!r) {
			payload[sf_txn_id(t) & 255] = (long)sf_txn_id(t) * 7;
			r = sf_txn_add(t, &i, sizeof(i));
		}
		if (!r) {
			__atomic_store_n(&last_id, sf_txn_id(t),
					 __ATOMIC_RELAXED);
			r = sf_txn_commit(t, NULL);
		}
		if (r)
			fail("commit", r);
		if (arg)
			break;
	}
	return NULL;
}

static int remove_one(const char *p, const struct stat *st, int type,
		      struct FTW *f)
{
	(void)st, (void)type, (void)f;
	return remove(p);
}

static int run_commit(void)
{
	struct sf_clog_options opt = { 0 };
	struct sf_clog_recovery rep;
	char dir[] = "/tmp/tsan-user.XXXXXX", path[64];
	pthread_t t;
	int r, status;

	if (!mkdtemp(dir))
		fail("mkdtemp", errno);
	snprintf(path, sizeof(path), "%s/log", dir);
	r = sf_clog_open(path, &opt, &clog, &rep);
	if (r)
		fail("sf_clog_open", r);
	sf_clog_add_applier(clog, applier, NULL);
	/* Visibility: data written before a commit, read once it is visible. */
	for (int round = 0; round < 20; round++) {
		sf_snapshot_t snap;
		uint64_t id;

		__atomic_store_n(&last_id, 0, __ATOMIC_RELAXED);
		pthread_create(&t, NULL, committer, (void *)1);
		while (!(id = __atomic_load_n(&last_id, __ATOMIC_RELAXED)))
			sched_yield();
		do {
			sf_clog_snapshot(clog, &snap);
			sf_clog_txn_status(clog, id, &snap, &status);
		} while (status != SF_TXN_COMMITTED);
		sink += payload[id & 255];	/* written before the commit */
		/* sf_clog_txn_wait: the same, by waiting. */
		pthread_join(t, NULL);
		__atomic_store_n(&last_id, 0, __ATOMIC_RELAXED);
		pthread_create(&t, NULL, committer, (void *)1);
		while (!(id = __atomic_load_n(&last_id, __ATOMIC_RELAXED)))
			sched_yield();
		r = sf_clog_txn_wait(clog, id, CLOCK_MONOTONIC, NULL, &status);
		if (r || status != SF_TXN_COMMITTED)
			fail("sf_clog_txn_wait", r ? r : EPROTO);
		sink += payload[id & 255];
		pthread_join(t, NULL);
	}
	pthread_create(&t, NULL, committer, NULL);
	pthread_join(t, NULL);
	r = sf_clog_close(clog);
	if (r)
		fail("sf_clog_close", r);
	/* the log: a directory of segments (the default) */
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	printf("read %ld\n", sink);
	return 0;
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";

	if (!strcmp(s, "mutex"))
		return run_mutex(SF_MUTEX_NORMAL);
	if (!strcmp(s, "mutex-errorcheck"))
		return run_mutex(SF_MUTEX_ERRORCHECK);
	if (!strcmp(s, "rwlock-prefer-reader"))
		return run_rwlock(SF_RWLOCK_PREFER_READER);
	if (!strcmp(s, "rwlock-prefer-writer"))
		return run_rwlock(SF_RWLOCK_PREFER_WRITER);
	if (!strcmp(s, "rwlock-nonrecursive"))
		return run_rwlock(SF_RWLOCK_PREFER_WRITER_NONRECURSIVE);
	if (!strcmp(s, "cond"))
		return run_cond();
	if (!strcmp(s, "lockmgr"))
		return run_lockmgr();
	if (!strcmp(s, "lockthread"))
		return run_lockthread();
	if (!strcmp(s, "commit"))
		return run_commit();
	if (!strcmp(s, "race"))
		return run_race();
	if (!strcmp(s, "inversion"))
		return run_inversion();
	fprintf(stderr, "usage: tsan-user mutex|mutex-errorcheck|"
		"rwlock-prefer-reader|rwlock-prefer-writer|rwlock-nonrecursive|"
		"cond|lockmgr|lockthread|commit|race|inversion\n");
	return 2;
}
