/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lockmgr-int.h - the range set of one lock tree (lockmgr-ranges.c), used
 * by the lock manager's protocol (lockmgr.c).  Never installed.
 *
 * Every function here expects the caller to hold the tree's locks mutex
 * (lockmgr.c: "L"); none of them sleeps or calls the lock manager back.
 */
#ifndef SF_SRC_LOCKMGR_INT_H
#define SF_SRC_LOCKMGR_INT_H

#include <stddef.h>
#include <stdint.h>

#include <syncfix/lockmgr.h>

#include "list.h"

/*
 * One granted lock.  The locks of a tree form a treap ordered by left key
 * (ties by address), each node augmented with the node of its subtree
 * whose right key is greatest, so that an overlap query skips every
 * subtree that ends before the query starts.  The locks of one
 * transaction are also linked in a list reached from its lt_txn.
 */
struct lt_lock {
	struct lt_lock *l, *r;		/* treap children */
	struct lt_lock *max;		/* greatest right key in this subtree */
	struct sf_list tnode;		/* in the owner's lt_txn.locks */
	uint64_t txnid;
	uint64_t seq;			/* order of grant in the tree (savepoints) */
	uint32_t prio;
	int mode;
	size_t mem;			/* bytes charged to the limit */
	struct sf_lockkey left, right;	/* finite data copied after the node */
};

/* A transaction's locks in one tree (a hash chain entry). */
struct lt_txn {
	struct lt_txn *next;
	uint64_t txnid;
	size_t nlocks;			/* in locks */
	struct sf_list locks;		/* its struct lt_lock, by tnode */
};

struct lt_ranges {
	struct lt_lock *root;
	struct lt_txn **buckets;
	size_t nbuckets, ntxns, nlocks, mem;
	uint64_t seq;			/* of the last lock added */
	uint32_t rng;
	sf_lockkey_cmp_t cmp;		/* NULL: bytewise, shorter first */
	void *cmp_arg;
	sf_lock_barrier_fn barrier;	/* escalation barrier, or NULL */
	void *barrier_arg;
};

int lt_init(struct lt_ranges *rs, sf_lockkey_cmp_t cmp, void *cmp_arg);
/* Frees the (empty) structure. */
void lt_fini(struct lt_ranges *rs);

/* Key order with the two infinities. */
int lt_keycmp(const struct lt_ranges *rs, const struct sf_lockkey *a,
	      const struct sf_lockkey *b);

/* Does a lock of @amode conflict with one of @bmode of another txn? */
static inline int lt_modes_conflict(int amode, int bmode)
{
	return amode == SF_LOCK_WRITE || bmode == SF_LOCK_WRITE;
}

/*
 * lt_overlaps() - call @fn for each lock that overlaps [@left, @right], in
 * key order, until it returns nonzero.  Return: that value, or 0.
 */
typedef int (*lt_visit_fn)(struct lt_lock *lk, void *arg);
int lt_overlaps(const struct lt_ranges *rs, const struct sf_lockkey *left,
		const struct sf_lockkey *right, lt_visit_fn fn, void *arg);

/*
 * The bytes a lock on [@left, @right] costs (node plus key copies),
 * rounded up to LT_MEM_ALIGN so that sums are exact in lockmgr.c's units.
 */
#define LT_MEM_ALIGN	16
size_t lt_lock_size(const struct sf_lockkey *left,
		    const struct sf_lockkey *right);

/*
 * lt_add() - insert a new lock.  @right == @left (same pointer) stores the
 * key once.  Return: 0 or ENOMEM (nothing changed).
 */
int lt_add(struct lt_ranges *rs, uint64_t txnid, int mode,
	   const struct sf_lockkey *left, const struct sf_lockkey *right);

/* Does @txnid hold a lock in @rs? */
int lt_txn_holds(const struct lt_ranges *rs, uint64_t txnid);

/* How many locks does @txnid hold in @rs? */
size_t lt_txn_nlocks(const struct lt_ranges *rs, uint64_t txnid);

/* lt_release_txn() - free every lock of @txnid.  Return: locks freed. */
size_t lt_release_txn(struct lt_ranges *rs, uint64_t txnid);

/*
 * lt_release_range() - free the locks of @txnid that lie within [@left,
 * @right] (a lock that reaches outside it is kept).  Return: locks freed.
 */
size_t lt_release_range(struct lt_ranges *rs, uint64_t txnid,
			const struct sf_lockkey *left,
			const struct sf_lockkey *right);

/*
 * lt_release_after() - free the locks of @txnid added after the lock
 * sequence number @seq (rs->seq when the savepoint was taken).  A lock
 * merged by escalation has the smallest number of the locks it replaced.
 * Return: locks freed.
 */
size_t lt_release_after(struct lt_ranges *rs, uint64_t txnid, uint64_t seq);

/*
 * lt_txn_conflicts() - does @txnid hold a lock overlapping [@left, @right]
 * that conflicts with @mode?
 */
int lt_txn_conflicts(const struct lt_ranges *rs, uint64_t txnid, int mode,
		     const struct sf_lockkey *left,
		     const struct sf_lockkey *right);

/*
 * lt_escalate() - merge each transaction's locks that are adjacent in key
 * order (no lock of another transaction starts between them), of the same
 * mode, into one lock spanning them, unless the merged range would
 * conflict with another transaction's lock, or the barrier (when set)
 * says the gap between two of them must not be bridged.  Return: locks
 * merged away.
 */
size_t lt_escalate(struct lt_ranges *rs);

#endif /* SF_SRC_LOCKMGR_INT_H */
