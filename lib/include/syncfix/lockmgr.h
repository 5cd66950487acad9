/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * syncfix/lockmgr.h - transactional range-lock manager.
 *
 * A manager (struct sf_lockmgr) owns global limits, statistics, deadlock
 * detection and kill.  A lock tree (struct sf_locktree) is one key space
 * (an index, a table) with a comparator over byte-string keys, plus minus
 * and plus infinity.  A lock is a closed range [left, right] of keys held
 * by a transaction id in shared (SF_LOCK_READ) or exclusive
 * (SF_LOCK_WRITE) mode.  Shared locks are compatible with each other; a
 * transaction never conflicts with itself, so it can upgrade its own read
 * range to write when no other transaction holds an overlapping lock.
 *
 * Every release that leaves a waiting request of its tree with no
 * conflicting lock retries it: no release leaves a grantable request
 * waiting (the "release before wait" and "retry while retry" races of the
 * TokuDB lock manager cannot happen; the argument is at the top of the
 * library's lockmgr.c).  A waiter whose lock became free is woken to take
 * it itself, so a running thread may take it first; a waiter that lost
 * such a race once is handed the lock by the next release.
 *
 * Functions return 0 or a positive errno value; errno is not changed.
 * Results of a lock request:
 *	0		granted
 *	EINPROGRESS	(sf_lock_request_start only) the request waits; call
 *			sf_lock_request_wait()
 *	ETIMEDOUT	the deadline passed before the lock was granted
 *	EDEADLK		waiting would close a cycle in the wait-for graph, or
 *			(while it waits) an escalation closed one through
 *			it; the requester is the victim and holds nothing new
 *	ECANCELED	killed by sf_lockmgr_kill() or sf_lockmgr_kill_client()
 *			("killed")
 *	EBUSY		the request would wait, and may not: it is
 *			SF_LOCK_NOWAIT, or another request of the same
 *			transaction waits, in any tree of the manager (one
 *			waiting request per transaction); nothing was
 *			changed
 *	ENOLCK		out of lock memory, even after escalation
 *	EDQUOT		the transaction holds max_txn_locks locks in the tree
 *			already (the config's per-transaction limit)
 *	ENOMEM		the library could not allocate memory
 *	EINVAL		bad argument (nothing was changed)
 */
#ifndef SYNCFIX_LOCKMGR_H
#define SYNCFIX_LOCKMGR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Lock modes. */
#define SF_LOCK_READ		1	/* shared */
#define SF_LOCK_WRITE		2	/* exclusive */
/*
 * Or'ed into the mode of a request: never wait.  A request that conflicts
 * with a granted lock is refused at once with EBUSY: it is not counted as
 * a wait, searches no deadlock and leaves nothing behind.
 */
#define SF_LOCK_NOWAIT		0x100

/* struct sf_lockkey.inf */
#define SF_LOCKKEY_NEG_INF	(-1)	/* below every key */
#define SF_LOCKKEY_FINITE	0	/* the bytes data[0..size) */
#define SF_LOCKKEY_POS_INF	1	/* above every key */

/*
 * sf_lockkey - one end of a range.  A finite key is @size bytes at @data
 * (@data may be NULL when @size is 0); an infinite one ignores both.
 */
struct sf_lockkey {
	const void *data;
	size_t size;
	int inf;
};

#define SF_LOCKKEY_INIT(d, n)	{ (d), (n), SF_LOCKKEY_FINITE }
#define SF_LOCKKEY_MIN_INIT	{ NULL, 0, SF_LOCKKEY_NEG_INF }
#define SF_LOCKKEY_MAX_INIT	{ NULL, 0, SF_LOCKKEY_POS_INF }

/*
 * Comparator of two finite keys: negative, zero or positive like memcmp.
 * Called with tree-internal locks held: it must not call the lock manager.
 * NULL selects the default: memcmp over the common length, then the
 * shorter key first.
 */
typedef int (*sf_lockkey_cmp_t)(const void *a, size_t asize,
				const void *b, size_t bsize, void *arg);

/* Client id meaning "the request's transaction id". */
#define SF_LOCK_CLIENT_TXNID	UINT64_MAX

struct sf_lockmgr;
struct sf_locktree;

struct sf_lockmgr_config {
	/*
	 * Bytes of lock memory for all trees of the manager (each lock costs
	 * a fixed overhead plus its key bytes).  A request that would exceed
	 * it first escalates (merges each transaction's adjacent ranges in
	 * every tree); if it still does not fit it fails with ENOLCK.
	 * 0: SF_LOCKMGR_DEFAULT_MEMORY.  At most 64 GiB (64 GiB itself is
	 * accepted; the locks may then use 64 GiB less 16 bytes).
	 */
	size_t max_lock_memory;
	/*
	 * Locks one transaction may hold in one tree (RocksDB's
	 * max_num_locks); 0: no limit.  A request that would add a lock
	 * past it fails with EDQUOT (at once, even if it would otherwise
	 * wait); one its own locks already cover adds none.
	 */
	unsigned int max_txn_locks;
	unsigned int reserved[7];	/* must be zero (else EINVAL) */
};

#define SF_LOCKMGR_DEFAULT_MEMORY	(64u << 20)

/*
 * A lock request, for the two-step form.  Caller-allocated (on the stack
 * is fine); the fields are private.  A started request must not be moved,
 * copied or started again, and the key bytes it names must stay valid,
 * until its result is known (start returned anything but EINPROGRESS, or
 * wait returned).
 */
struct sf_lock_request {
	uint64_t __opaque[32];
};

struct sf_lockmgr_stats {
	uint64_t grants;	/* requests granted (at once or after a wait) */
	uint64_t waits;		/* requests that had to wait */
	uint64_t wait_ns;	/* total time those waited until their result */
	uint64_t timeouts;	/* ETIMEDOUT results */
	uint64_t deadlocks;	/* EDEADLK results */
	uint64_t kills;		/* requests cancelled by a kill, or refused
				 * because their client is killed */
	uint64_t out_of_locks;	/* ENOLCK results */
	uint64_t escalations;	/* escalation runs over a tree */
	uint64_t escalated_locks; /* locks merged away by escalation */
	uint64_t retry_asks;	/* releases that asked for a retry pass */
	uint64_t retry_passes;	/* passes run (one may serve many asks) */
	uint64_t retry_served;	/* requests granted or failed by passes */
	uint64_t retry_served_max; /* most requests served by one pass */
	uint64_t locks;		/* locks held now */
	uint64_t lock_memory;	/* bytes they use now */
	uint64_t pending;	/* requests waiting now */
	uint64_t trees;		/* lock trees now */
	uint64_t killed_clients; /* clients killed now (sf_lockmgr_kill_client) */
	uint64_t nowait_busy;	/* SF_LOCK_NOWAIT requests refused (EBUSY) */
	uint64_t releases;	/* release calls that released a lock */
	uint64_t retry_woken;	/* waiters a pass woke to try for themselves */
	uint64_t retry_lost;	/* of those, found the lock taken again (the
				 * next pass hands it to them) */
	uint64_t over_txn_limit; /* EDQUOT results (max_txn_locks) */
	uint64_t reserved[3];	/* zero; room for later counters */
};

/*
 * sf_lockmgr_set_max_txn_locks() - change the per-transaction limit (the
 * config's max_txn_locks; 0: none).  Locks held beyond a lowered limit
 * stay; the transaction gets no new one until it is below.  Return: 0;
 * EINVAL (@mgr NULL).
 */
int sf_lockmgr_set_max_txn_locks(struct sf_lockmgr *mgr, unsigned int n);

/*
 * Create a manager; @cfg may be NULL (defaults).  Return: 0; EINVAL
 * (@mgrp NULL, limit above 64 GiB, or a reserved field not zero); ENOMEM.
 * *@mgrp is set only on success.
 */
int sf_lockmgr_create(struct sf_lockmgr **mgrp,
		      const struct sf_lockmgr_config *cfg);
/*
 * Return: 0; EBUSY while the manager has lock trees (nothing is freed
 * then); EINVAL (@mgr NULL).
 */
int sf_lockmgr_destroy(struct sf_lockmgr *mgr);
/*
 * Change the memory limit (same rules as the config field: 0 is the
 * default, at most 64 GiB).  Return: 0; EINVAL (@mgr NULL, or @bytes above
 * 64 GiB: the limit is not changed).
 */
int sf_lockmgr_set_max_memory(struct sf_lockmgr *mgr, size_t bytes);
/*
 * A consistent-enough snapshot: each tree's counters are read atomically.
 * Return: 0; EINVAL (@mgr or @st NULL).
 */
int sf_lockmgr_stats(struct sf_lockmgr *mgr, struct sf_lockmgr_stats *st);

/*
 * Blocker reports, for engines that act on who waits for whom (MariaDB's
 * optimistic parallel replication: thd_rpl_deadlock_check() kills a later
 * transaction that blocks an earlier one, instead of letting the earlier
 * one wait for its lock timeout).  The callback gets a waiting request
 * (@requester, with its @client_id, in @lt) and the @nblockers
 * transactions that hold a conflicting lock, @blockers (the (requester,
 * blocker) pairs): when the request starts waiting, and whenever that set
 * changes while it waits (a new conflicting grant, a release, an
 * escalation, a waiter that lost its lock to a running thread), never
 * with an empty set.  It is called in the thread whose call changed the
 * set, after that call released every internal lock and before it
 * returns: it may call the lock manager (sf_lockmgr_kill_client(), say).
 * Reports of different threads may arrive in any order; each set was
 * exact at one instant.  @blockers is valid during the call only.
 */
typedef void (*sf_lock_blocker_fn)(void *arg, struct sf_locktree *lt,
				   uint64_t requester, uint64_t client_id,
				   const uint64_t *blockers, uint32_t nblockers);

/*
 * sf_lockmgr_set_blocker_callback() - report blockers to @fn(@arg, ...)
 * from now on (@fn NULL: no more reports; calls already begun may still
 * report to the one before).  Each setting costs a few bytes until the
 * manager is destroyed.  Return: 0; ENOMEM (nothing changed); EINVAL
 * (@mgr NULL).
 */
int sf_lockmgr_set_blocker_callback(struct sf_lockmgr *mgr,
				    sf_lock_blocker_fn fn, void *arg);

/*
 * sf_lockmgr_get_max_memory() - the memory limit in force, in bytes, as
 * given to sf_lockmgr_create() or sf_lockmgr_set_max_memory() (0 there
 * reads as SF_LOCKMGR_DEFAULT_MEMORY).  Return: 0; EINVAL (@mgr or @bytes
 * NULL).
 */
int sf_lockmgr_get_max_memory(struct sf_lockmgr *mgr, size_t *bytes);

/* One tree's counters, read in one section under the tree's mutexes. */
struct sf_locktree_stats {
	uint64_t locks;		/* locks held now */
	uint64_t lock_memory;	/* bytes they use now */
	uint64_t txns;		/* transactions holding a lock now */
	uint64_t pending;	/* requests waiting now */
	uint64_t grants;	/* requests granted */
	uint64_t waits;		/* requests that had to wait */
	uint64_t nowait_busy;	/* SF_LOCK_NOWAIT requests refused */
	uint64_t out_of_locks;	/* ENOLCK results */
	uint64_t escalations;	/* escalation runs over the tree */
	uint64_t escalated_locks; /* locks merged away */
	uint64_t releases;	/* release calls that released a lock */
	uint64_t retry_asks;	/* releases that asked for a retry pass */
	uint64_t retry_passes;	/* passes run */
	uint64_t retry_woken;	/* waiters woken to take their lock */
	uint64_t retry_lost;	/* of those, found it taken again */
	uint64_t over_txn_limit; /* EDQUOT results */
	uint64_t reserved[8];	/* zero; room for later counters */
};

/* Return: 0; EINVAL (@lt or @st NULL). */
int sf_locktree_stats(struct sf_locktree *lt, struct sf_locktree_stats *st);

/*
 * Listings, for lock and lock-wait views (information_schema and the
 * like).  Each is a snapshot of one tree taken in one section under that
 * tree's mutex, so it is consistent: every lock or waiting request it
 * shows was held or waiting at one instant, as a whole, with the
 * transactions that blocked it then.  The other trees go on meanwhile
 * (no two trees are stopped at once, and the snapshot of a tree is a copy
 * of its entries, nothing more).  The callbacks run after the snapshot,
 * outside every internal lock: they may call the lock manager, and take
 * as long as they like.  The pointers in an entry (key bytes, blockers)
 * are valid during the call only; the tree pointer names the tree (it
 * may have been destroyed by then, by another thread, once its waits
 * ended).  A callback that returns nonzero stops the listing.
 */
struct sf_lock_info {
	struct sf_locktree *tree;
	uint64_t txnid;
	int mode;			/* SF_LOCK_READ or SF_LOCK_WRITE */
	struct sf_lockkey left, right;	/* a point lock has left == right */
	uint64_t reserved[4];
};

struct sf_lock_wait_info {
	struct sf_locktree *tree;
	uint64_t txnid, client_id;
	int mode;
	struct sf_lockkey left, right;
	const uint64_t *blockers;	/* transactions holding a conflicting
					 * lock (none: woken to take it) */
	uint32_t nblockers;
	uint64_t wait_start_ns;		/* when it started waiting,
					 * CLOCK_MONOTONIC in ns */
	uint64_t reserved[4];
};

typedef int (*sf_lock_iter_fn)(const struct sf_lock_info *li, void *arg);
typedef int (*sf_lock_wait_iter_fn)(const struct sf_lock_wait_info *wi,
				    void *arg);

/*
 * sf_locktree_iterate() - call @fn for each lock held in @lt, in key
 * order (by left key).  Return: 0 (also when @fn stopped it); ENOMEM (no
 * memory for the snapshot: nothing was listed); EINVAL (@lt or @fn NULL).
 */
int sf_locktree_iterate(struct sf_locktree *lt, sf_lock_iter_fn fn,
			void *arg);

/*
 * sf_lockmgr_iterate_waits() - call @fn for each waiting request in every
 * tree of @mgr, tree by tree (each tree a snapshot as above), in each
 * tree in the order the requests started waiting.  Return: 0 (also when
 * @fn stopped it); ENOMEM (a tree's snapshot could not be taken: the
 * trees listed before it were listed); EINVAL (@mgr or @fn NULL).
 */
int sf_lockmgr_iterate_waits(struct sf_lockmgr *mgr, sf_lock_wait_iter_fn fn,
			     void *arg);

/*
 * Deadlock reports (RocksDB's GetDeadlockInfoBuffer): each EDEADLK leaves
 * the cycle it found in a ring of the last SF_LOCKMGR_DEADLOCK_RING
 * (sf_lockmgr_set_deadlock_ring() changes it).  @cycle[0] is the request
 * that closed the cycle (or, for one an escalation closed, the request it
 * failed); @cycle[i] waits for the transaction of @cycle[(i + 1) % @n],
 * its one blocker listed (at most 64 requests of a longer cycle are kept).
 * Its entries are as the waits listing's (tree, txnid, client, mode,
 * range; wait_start_ns 0).
 */
#define SF_LOCKMGR_DEADLOCK_RING	16

struct sf_lock_deadlock {
	uint64_t seq;			/* 1 for the first deadlock found */
	uint64_t time_ns;		/* when, on CLOCK_MONOTONIC */
	uint64_t victim;		/* the transaction that got EDEADLK */
	uint32_t n;			/* requests along the cycle */
	const struct sf_lock_wait_info *cycle;
	uint64_t reserved[4];
};

typedef int (*sf_lock_deadlock_fn)(const struct sf_lock_deadlock *d,
				   void *arg);

/*
 * sf_lockmgr_deadlocks() - call @fn for each deadlock in the ring, oldest
 * first, with a copy taken under the manager's mutex (@fn runs with
 * nothing held; the pointers are valid during the call only; nonzero
 * stops).  Return: 0; ENOMEM (the copies made were listed); EINVAL (@mgr
 * or @fn NULL).
 */
int sf_lockmgr_deadlocks(struct sf_lockmgr *mgr, sf_lock_deadlock_fn fn,
			 void *arg);

/*
 * sf_lockmgr_set_deadlock_ring() - keep the last @n deadlocks (0: none;
 * the newest of those kept so far stay).  Return: 0; ENOMEM (nothing
 * changed); EINVAL (@mgr NULL or @n above 1024).
 */
int sf_lockmgr_set_deadlock_ring(struct sf_lockmgr *mgr, unsigned int n);

/*
 * A victim policy: given the cycle a request would close by waiting
 * (@d->cycle[0] is that request; @d->victim is its transaction), return
 * the transaction to fail.  The requester (the default, and what any
 * transaction not in the cycle means) gets EDEADLK from its request as
 * without a policy; another one of the cycle has its waiting request end
 * with EDEADLK (from sf_lock_request_wait()), and the requester waits,
 * until that transaction releases what it holds.  Called with the
 * manager's mutex held: it must be quick and must not call the lock
 * manager.  Not consulted for a cycle an escalation closes.
 */
typedef uint64_t (*sf_lock_victim_fn)(void *arg,
				      const struct sf_lock_deadlock *d);

/*
 * sf_lockmgr_set_victim_policy() - @fn NULL: the requester is the victim.
 * Return: 0; EINVAL (@mgr NULL).
 */
int sf_lockmgr_set_victim_policy(struct sf_lockmgr *mgr, sf_lock_victim_fn fn,
				 void *arg);

/*
 * sf_lockmgr_kill() - cancel the waiting request(s) of @client_id (the
 * transaction id unless the request named another client id), in any tree
 * of @mgr.  The waiter's sf_lock_request_wait() returns ECANCELED at once
 * (or, if it has not called it yet, as soon as it does).  Any thread may
 * call it.  Only requests already waiting are cancelled: one that starts
 * waiting after the call is not (a caller that must stop it keeps its own
 * "killed" flag and checks it before each request, as servers do).
 *
 * Return: 0 if a request was cancelled; ESRCH if none was waiting; EINVAL
 * (@mgr NULL).
 */
int sf_lockmgr_kill(struct sf_lockmgr *mgr, uint64_t client_id);

/*
 * sf_lockmgr_kill_client() - kill @client_id until sf_lockmgr_clear_kill():
 * its waiting requests are cancelled as by sf_lockmgr_kill(), and every
 * request it starts from now on, in any tree of @mgr, is refused with
 * ECANCELED before it is granted or waits, even if the lock is free.  This
 * covers the request that was about to wait when the kill came (MySQL's
 * "KILL": the session is marked killed, not only its current wait).
 * Locks already granted are kept; the client releases them as usual.
 * Each killed client costs 8 bytes until it is cleared; a request pays
 * one extra atomic load while no client is killed, a look-up under the
 * manager's mutex while some are.
 *
 * Return: 0; EALREADY if @client_id is killed already (nothing changes);
 * ENOMEM (nothing changes); EINVAL: @mgr NULL or @client_id
 * SF_LOCK_CLIENT_TXNID.
 */
int sf_lockmgr_kill_client(struct sf_lockmgr *mgr, uint64_t client_id);

/*
 * sf_lockmgr_clear_kill() - end sf_lockmgr_kill_client() for @client_id:
 * its requests are served again.  Return: 0; ESRCH if it was not killed;
 * EINVAL as for sf_lockmgr_kill_client().
 */
int sf_lockmgr_clear_kill(struct sf_lockmgr *mgr, uint64_t client_id);

/*
 * Create a lock tree in @mgr with comparator @cmp (NULL: bytewise) and its
 * argument @cmp_arg.  Return: 0; ENOMEM; EINVAL (@mgr or @ltp NULL).
 */
int sf_locktree_create(struct sf_lockmgr *mgr, struct sf_locktree **ltp,
		       sf_lockkey_cmp_t cmp, void *cmp_arg);
/*
 * Return: 0; EBUSY while the tree holds locks or has waiting requests
 * (nothing is freed then); EINVAL (@lt NULL).
 */
int sf_locktree_destroy(struct sf_locktree *lt);

/*
 * An escalation barrier (RocksDB's SetEscalationBarrierFunc): called with
 * two keys @a < @b, the right end of locks an escalation is merging and
 * the left end of the transaction's next lock, with nothing of them in
 * between; nonzero forbids bridging that gap (say, when the tree holds
 * several index prefixes and a lock must not reach from one into the
 * next).  Called with the tree's mutex held, like the comparator: it must
 * not call the lock manager.
 */
typedef int (*sf_lock_barrier_fn)(void *arg, const struct sf_lockkey *a,
				  const struct sf_lockkey *b);

/*
 * sf_locktree_set_escalation_barrier() - use @fn(@arg, ...) in the
 * escalations of @lt from now on (@fn NULL: none, the default).  Return:
 * 0; EINVAL (@lt NULL).
 */
int sf_locktree_set_escalation_barrier(struct sf_locktree *lt,
				       sf_lock_barrier_fn fn, void *arg);

/*
 * sf_lock_request_start() - ask for [@left, @right] in @mode for @txnid.
 * @mode:      SF_LOCK_READ or SF_LOCK_WRITE, optionally | SF_LOCK_NOWAIT
 * @right:     NULL for a point lock (@right = @left)
 * @client_id: the id sf_lockmgr_kill() finds the request by;
 *             SF_LOCK_CLIENT_TXNID: @txnid
 *
 * Return: 0 granted, EINPROGRESS (call sf_lock_request_wait), EDEADLK,
 * ECANCELED (@client_id is killed by sf_lockmgr_kill_client), ENOLCK,
 * EDQUOT (the transaction's lock limit), ENOMEM; EBUSY: the request would
 * wait, but it is SF_LOCK_NOWAIT (never EINPROGRESS or EDEADLK then), or
 * another request of @txnid waits
 * already, in this tree or another of the manager (a transaction may have
 * one waiting request at a time); nothing is changed, and @req is not
 * waiting; EINVAL for @req, @lt or @left NULL, a bad mode or key,
 * or @left > @right.
 */
int sf_lock_request_start(struct sf_lock_request *req, struct sf_locktree *lt,
			  uint64_t txnid, uint64_t client_id, int mode,
			  const struct sf_lockkey *left,
			  const struct sf_lockkey *right);
/*
 * sf_lock_request_wait() - wait for the result of a request that start
 * left waiting, until the absolute @abstime on @clockid (CLOCK_MONOTONIC
 * or CLOCK_REALTIME; NULL: no deadline; a deadline in the past gives up at
 * once unless the lock was already granted).
 *
 * Return: 0 granted, ETIMEDOUT, ECANCELED (killed), EDEADLK (an
 * escalation made the request close a cycle, or a victim policy chose
 * its transaction), ENOLCK, EDQUOT (the limit was lowered while it
 * waited), ENOMEM; EINVAL (@req NULL, bad clock or timespec, or no
 * request waits in @req: nothing is changed).
 */
int sf_lock_request_wait(struct sf_lock_request *req, clockid_t clockid,
			 const struct timespec *abstime);

/*
 * sf_lock_request_start() and, on EINPROGRESS, sf_lock_request_wait().
 * Return: theirs (never EINPROGRESS); EINVAL for a bad clock or timespec
 * is found before anything is started.
 */
int sf_lock_acquire(struct sf_locktree *lt, uint64_t txnid, uint64_t client_id,
		    int mode, const struct sf_lockkey *left,
		    const struct sf_lockkey *right, clockid_t clockid,
		    const struct timespec *abstime);

/*
 * sf_lock_release_all() - release every lock @txnid holds in @lt.  A
 * waiting request of the tree that this leaves with no conflicting lock
 * is retried before the call returns (by this thread or by a retry pass
 * that started after the release); no release leaves a grantable request
 * waiting.  Releasing nothing is not an error.  Return: 0; EINVAL (@lt
 * NULL).
 */
int sf_lock_release_all(struct sf_locktree *lt, uint64_t txnid);

/*
 * sf_lock_release() - release the locks of @txnid in @lt that lie within
 * [@left, @right] (@right NULL: the point @left), and retry the waiting
 * requests that this unblocks, as sf_lock_release_all() does.  A lock
 * that reaches outside the range is kept whole: a range is never split,
 * and after an escalation merged the lock of a key into a larger one,
 * releasing that key alone releases nothing.  Return: 0; ENOENT (@txnid
 * held no lock within the range: nothing changed); EINVAL (@lt or @left
 * NULL, a bad key, or @left > @right).
 */
int sf_lock_release(struct sf_locktree *lt, uint64_t txnid,
		    const struct sf_lockkey *left,
		    const struct sf_lockkey *right);

/*
 * A savepoint of one transaction in one tree.  Caller-allocated; the
 * fields are private.  It may be copied, and rolled back to any number of
 * times.
 */
struct sf_lock_savepoint {
	uint64_t __opaque[4];
};

/*
 * sf_lock_savepoint() - remember which locks @txnid holds in @lt now.
 * Return: 0; EINVAL (@lt or @sp NULL).
 */
int sf_lock_savepoint(struct sf_locktree *lt, uint64_t txnid,
		      struct sf_lock_savepoint *sp);

/*
 * sf_lock_rollback_to() - release every lock that @txnid was granted in
 * @lt after @sp was taken, and retry the waiting requests that this
 * unblocks, as sf_lock_release_all() does.  Locks held at the savepoint
 * stay, and so does a lock an escalation merged from locks taken before
 * and after it (holding more than asked is always safe).  A lock that
 * upgraded a read range to write after the savepoint is released, the
 * read range stays.  A transaction that works in several trees takes one
 * savepoint per tree.  Return: 0 (also when nothing was released);
 * EINVAL (@lt or @sp NULL, or @sp not taken by sf_lock_savepoint() for
 * @txnid in @lt).
 */
int sf_lock_rollback_to(struct sf_locktree *lt, uint64_t txnid,
			const struct sf_lock_savepoint *sp);

#ifdef __cplusplus
}
#endif

#endif /* SYNCFIX_LOCKMGR_H */
