// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lockmgr-session.c - a storage engine's view of the syncfix lock manager:
 * one lock tree per index, row and range locks per transaction, a waiter
 * granted when the holder commits, a deadlock reported to its victim, a
 * waiting statement killed from another thread, a whole connection killed
 * (its next statement is refused too, until the kill is cleared), and the
 * statistics.
 *
 *	cc lockmgr-session.c -lsyncfix-user -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <syncfix.h>

static struct sf_lockmgr *mgr;
static struct sf_locktree *index_a;	/* one key space, e.g. a primary key */

static struct sf_lockkey row(const char *key)
{
	return (struct sf_lockkey)SF_LOCKKEY_INIT(key, strlen(key));
}

/* Lock a row for writing, waiting at most @secs seconds (0: no wait). */
static int lock_row(uint64_t txn, uint64_t client, const char *key, int secs)
{
	struct sf_lockkey k = row(key);
	struct timespec dl;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += secs;
	return sf_lock_acquire(index_a, txn, client, SF_LOCK_WRITE, &k, NULL,
			       CLOCK_MONOTONIC, &dl);
}

static void *second_session(void *arg)
{
	int *result = arg;

	/* Transaction 2 wants row "bob", which transaction 1 holds. */
	*result = lock_row(2, SF_LOCK_CLIENT_TXNID, "bob", 4);
	if (*result == 0)
		sf_lock_release_all(index_a, 2);	/* commit */
	return NULL;
}

static void *statement(void *arg)
{
	int *result = arg;

	/* Connection 42 runs transaction 3 and blocks on row "carol". */
	*result = lock_row(3, 42, "carol", 4);
	sf_lock_release_all(index_a, 3);		/* rollback */
	return NULL;
}

static void wait_until_waiting(uint64_t n)
{
	struct sf_lockmgr_stats st;
	struct timespec ms = { 0, 1000000 };

	for (;;) {
		sf_lockmgr_stats(mgr, &st);
		if (st.pending >= n)
			return;
		nanosleep(&ms, NULL);
	}
}

int main(void)
{
	struct sf_lockkey lo = row("a"), hi = row("m"), y = row("y");
	struct sf_lock_request req;
	struct sf_lockmgr_stats st;
	pthread_t t;
	int r2 = -1, r3 = -1, r4 = -1, r5 = -1, e;

	if (sf_lockmgr_create(&mgr, NULL) ||
	    sf_locktree_create(mgr, &index_a, NULL, NULL)) {
		fprintf(stderr, "lockmgr-session: cannot create the manager\n");
		return 1;
	}

	/* 1. Transaction 1 reads the range [a, m] and updates row "bob". */
	e = sf_lock_acquire(index_a, 1, SF_LOCK_CLIENT_TXNID, SF_LOCK_READ,
			    &lo, &hi, CLOCK_MONOTONIC, NULL);
	if (!e)
		e = lock_row(1, SF_LOCK_CLIENT_TXNID, "bob", 0);
	printf("txn 1: read [a, m] and write bob: %s\n", e ? strerror(e) : "granted");

	/* 2. Transaction 2 waits for "bob" until transaction 1 commits. */
	pthread_create(&t, NULL, second_session, &r2);
	wait_until_waiting(1);
	sf_lock_release_all(index_a, 1);		/* commit txn 1 */
	pthread_join(t, NULL);
	printf("txn 2: write bob after txn 1 committed: %s\n",
	       r2 ? strerror(r2) : "granted");

	/* 3. A deadlock: 4 holds x and waits for y, 5 holds y, asks for x. */
	lock_row(4, SF_LOCK_CLIENT_TXNID, "x", 0);
	lock_row(5, SF_LOCK_CLIENT_TXNID, "y", 0);
	e = sf_lock_request_start(&req, index_a, 4, SF_LOCK_CLIENT_TXNID,
				  SF_LOCK_WRITE, &y, NULL);
	printf("txn 4: write y: %s\n", e == EINPROGRESS ? "waits" : strerror(e));
	e = lock_row(5, SF_LOCK_CLIENT_TXNID, "x", 4);
	printf("txn 5: write x: %s%s\n", strerror(e),
	       e == EDEADLK ? " (victim: roll back)" : "");
	sf_lock_release_all(index_a, 5);		/* roll back txn 5 */
	e = sf_lock_request_wait(&req, CLOCK_MONOTONIC, NULL);
	printf("txn 4: write y after txn 5 rolled back: %s\n",
	       e ? strerror(e) : "granted");

	/* 4. KILL QUERY: connection 42 blocks behind txn 6 and is killed. */
	lock_row(6, SF_LOCK_CLIENT_TXNID, "carol", 0);
	pthread_create(&t, NULL, statement, &r3);
	wait_until_waiting(1);
	e = sf_lockmgr_kill(mgr, 42);
	pthread_join(t, NULL);
	printf("kill connection 42: %s; its lock wait returned: %s\n",
	       e ? strerror(e) : "done", strerror(r3));
	sf_lock_release_all(index_a, 4);
	sf_lock_release_all(index_a, 6);

	/*
	 * 5. KILL CONNECTION: connection 43 is killed until cleared; its next
	 * statement is refused even for a free row, so no statement of a
	 * killed session can start a lock wait.
	 */
	e = sf_lockmgr_kill_client(mgr, 43);
	r4 = lock_row(7, 43, "dave", 0);
	printf("kill connection 43: %s; its next statement: %s\n",
	       e ? strerror(e) : "done", strerror(r4));
	sf_lockmgr_clear_kill(mgr, 43);	/* the connection id is reused */
	r5 = lock_row(8, 43, "dave", 0);
	printf("after clearing, a new session on connection 43: %s\n",
	       r5 ? strerror(r5) : "granted");
	sf_lock_release_all(index_a, 8);

	sf_lockmgr_stats(mgr, &st);
	printf("stats: %llu grants, %llu waits, %llu deadlocks, %llu kills, "
	       "%llu timeouts, %llu retry passes, %llu locks left\n",
	       (unsigned long long)st.grants, (unsigned long long)st.waits,
	       (unsigned long long)st.deadlocks, (unsigned long long)st.kills,
	       (unsigned long long)st.timeouts,
	       (unsigned long long)st.retry_passes,
	       (unsigned long long)st.locks);
	sf_locktree_destroy(index_a);
	sf_lockmgr_destroy(mgr);
	return r2 == 0 && r3 == ECANCELED && r4 == ECANCELED && r5 == 0 &&
	       st.locks == 0 ? 0 : 1;
}
