// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lockmgr-ranges.c - the set of granted range locks of one lock tree.
 *
 * An interval treap: nodes ordered by (left key, address), heap-ordered by
 * a random priority, each node knowing the node of its subtree with the
 * greatest right key (->max).  An overlap query for [a, b] descends only
 * into subtrees whose max right key is >= a and stops at the first node
 * whose left key is > b, so it costs O(log n + k) comparator calls for k
 * overlapping locks.  A hash of transaction ids gives each transaction's
 * locks for release and escalation.
 *
 * No locking here: the caller holds the tree's locks mutex (lockmgr.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lockmgr-int.h"

#define LT_MIN_BUCKETS	16

/* The default order (cmp NULL), inlined into lt_keycmp. */
/* 8 bytes as a big-endian number: their order is memcmp's. */
static inline uint64_t load_be64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}

/*
 * The default order: memcmp over the common length, then the shorter key
 * first.  Inline for the common short keys (a call of memcmp and its
 * dispatch cost more than the comparison), memcmp past 32 bytes.
 */
static inline int bytes_cmp(const void *a, size_t asize, const void *b,
			    size_t bsize)
{
	const unsigned char *x = a, *y = b;
	size_t n = asize < bsize ? asize : bsize;
	uint64_t u, v;
	int c;

	if (n > 32) {
		c = memcmp(x, y, n);
		if (c)
			return c;
		n = 0;
	}
	for (; n >= 8; n -= 8, x += 8, y += 8) {
		u = load_be64(x);
		v = load_be64(y);
		if (u != v)
			return u < v ? -1 : 1;
	}
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return asize < bsize ? -1 : asize > bsize;
}

int lt_init(struct lt_ranges *rs, sf_lockkey_cmp_t cmp, void *cmp_arg)
{
	memset(rs, 0, sizeof(*rs));
	rs->buckets = calloc(LT_MIN_BUCKETS, sizeof(*rs->buckets));
	if (!rs->buckets)
		return ENOMEM;
	rs->nbuckets = LT_MIN_BUCKETS;
	rs->rng = 0x2545f491u;
	rs->cmp = cmp;
	rs->cmp_arg = cmp_arg;
	return 0;
}

void lt_fini(struct lt_ranges *rs)
{
	free(rs->buckets);
	rs->buckets = NULL;
}

static inline int keycmp(const struct lt_ranges *rs,
			 const struct sf_lockkey *a,
			 const struct sf_lockkey *b)
{
	if (a->inf || b->inf)
		return (a->inf > b->inf) - (a->inf < b->inf);
	if (!rs->cmp)
		return bytes_cmp(a->data, a->size, b->data, b->size);
	return rs->cmp(a->data, a->size, b->data, b->size, rs->cmp_arg);
}

int lt_keycmp(const struct lt_ranges *rs, const struct sf_lockkey *a,
	      const struct sf_lockkey *b)
{
	return keycmp(rs, a, b);
}

/* ---- treap ------------------------------------------------------------ */

static int node_order(const struct lt_ranges *rs, const struct lt_lock *a,
		      const struct lt_lock *b)
{
	int c = keycmp(rs, &a->left, &b->left);

	if (c)
		return c;
	return (a > b) - (a < b);
}

static void fix(const struct lt_ranges *rs, struct lt_lock *n)
{
	struct lt_lock *m = n;

	if (n->l && keycmp(rs, &n->l->max->right, &m->right) > 0)
		m = n->l->max;
	if (n->r && keycmp(rs, &n->r->max->right, &m->right) > 0)
		m = n->r->max;
	n->max = m;
}

/* Split @t into the nodes ordered before @k (*@l) and the others (*@r). */
static void split(const struct lt_ranges *rs, struct lt_lock *t,
		  const struct lt_lock *k, struct lt_lock **l,
		  struct lt_lock **r)
{
	if (!t) {
		*l = *r = NULL;
	} else if (node_order(rs, t, k) < 0) {
		split(rs, t->r, k, &t->r, r);
		fix(rs, t);
		*l = t;
	} else {
		split(rs, t->l, k, l, &t->l);
		fix(rs, t);
		*r = t;
	}
}

static struct lt_lock *join(const struct lt_ranges *rs, struct lt_lock *a,
			    struct lt_lock *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->prio > b->prio) {
		a->r = join(rs, a->r, b);
		fix(rs, a);
		return a;
	}
	b->l = join(rs, a, b->l);
	fix(rs, b);
	return b;
}

static struct lt_lock *tree_insert(const struct lt_ranges *rs,
				   struct lt_lock *t, struct lt_lock *n)
{
	if (!t || n->prio > t->prio) {
		split(rs, t, n, &n->l, &n->r);
		fix(rs, n);
		return n;
	}
	/* t's subtree gains n: only n can become its max (one comparison). */
	if (keycmp(rs, &n->right, &t->max->right) > 0)
		t->max = n;
	if (node_order(rs, n, t) < 0)
		t->l = tree_insert(rs, t->l, n);
	else
		t->r = tree_insert(rs, t->r, n);
	return t;
}

static struct lt_lock *tree_remove(const struct lt_ranges *rs,
				   struct lt_lock *t, struct lt_lock *n)
{
	if (t == n)
		return join(rs, t->l, t->r);
	if (node_order(rs, n, t) < 0)
		t->l = tree_remove(rs, t->l, n);
	else
		t->r = tree_remove(rs, t->r, n);
	/* t's subtree lost only n: its max changes only if it was n. */
	if (t->max == n)
		fix(rs, t);
	return t;
}

static int visit(const struct lt_ranges *rs, struct lt_lock *t,
		 const struct sf_lockkey *a, const struct sf_lockkey *b,
		 lt_visit_fn fn, void *arg)
{
	int r;

	while (t && keycmp(rs, &t->max->right, a) >= 0) {
		r = visit(rs, t->l, a, b, fn, arg);
		if (r)
			return r;
		if (keycmp(rs, &t->left, b) > 0)
			return 0;
		if (keycmp(rs, &t->right, a) >= 0) {
			r = fn(t, arg);
			if (r)
				return r;
		}
		t = t->r;
	}
	return 0;
}

int lt_overlaps(const struct lt_ranges *rs, const struct sf_lockkey *left,
		const struct sf_lockkey *right, lt_visit_fn fn, void *arg)
{
	return visit(rs, rs->root, left, right, fn, arg);
}

/* ---- transactions ----------------------------------------------------- */

static size_t bucket_of(const struct lt_ranges *rs, uint64_t txnid)
{
	uint64_t h = txnid * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (rs->nbuckets - 1);
}

static struct lt_txn **txn_slot(const struct lt_ranges *rs, uint64_t txnid)
{
	struct lt_txn **p = &rs->buckets[bucket_of(rs, txnid)];

	while (*p && (*p)->txnid != txnid)
		p = &(*p)->next;
	return p;
}

int lt_txn_holds(const struct lt_ranges *rs, uint64_t txnid)
{
	return *txn_slot(rs, txnid) != NULL;
}

size_t lt_txn_nlocks(const struct lt_ranges *rs, uint64_t txnid)
{
	const struct lt_txn *t = *txn_slot(rs, txnid);

	return t ? t->nlocks : 0;
}

/* Double the buckets when there are more transactions than buckets. */
static void txn_grow(struct lt_ranges *rs)
{
	size_t n = rs->nbuckets * 2, i;
	struct lt_txn **nb = calloc(n, sizeof(*nb)), **old = rs->buckets;
	size_t oldn = rs->nbuckets;

	if (!nb)
		return;		/* longer chains, still correct */
	rs->buckets = nb;
	rs->nbuckets = n;
	for (i = 0; i < oldn; i++) {
		struct lt_txn *t = old[i], *next;

		for (; t; t = next) {
			struct lt_txn **p = &nb[bucket_of(rs, t->txnid)];

			next = t->next;
			t->next = *p;
			*p = t;
		}
	}
	free(old);
}

/* ---- locks ------------------------------------------------------------ */

static size_t key_bytes(const struct sf_lockkey *k)
{
	return k->inf ? 0 : k->size;
}

size_t lt_lock_size(const struct sf_lockkey *left,
		    const struct sf_lockkey *right)
{
	size_t n = sizeof(struct lt_lock) + key_bytes(left) +
		   (right == left ? 0 : key_bytes(right));

	return (n + LT_MEM_ALIGN - 1) & ~(size_t)(LT_MEM_ALIGN - 1);
}

static void copy_key(struct sf_lockkey *dst, const struct sf_lockkey *src,
		     char **buf)
{
	*dst = *src;
	if (src->inf) {
		dst->data = NULL;
		dst->size = 0;
		return;
	}
	if (src->size)
		memcpy(*buf, src->data, src->size);
	dst->data = *buf;
	*buf += src->size;
}

static uint32_t next_prio(struct lt_ranges *rs)
{
	uint32_t x = rs->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rs->rng = x;
}

static void lock_link(struct lt_ranges *rs, struct lt_txn *t,
		      struct lt_lock *lk)
{
	sf_list_add(&lk->tnode, &t->locks);
	t->nlocks++;
	rs->root = tree_insert(rs, rs->root, lk);
	rs->nlocks++;
	rs->mem += lk->mem;
}

int lt_add(struct lt_ranges *rs, uint64_t txnid, int mode,
	   const struct sf_lockkey *left, const struct sf_lockkey *right)
{
	struct lt_txn **slot = txn_slot(rs, txnid), *t = *slot;
	size_t size = lt_lock_size(left, right);
	struct lt_lock *lk = malloc(size);
	char *buf;

	if (!lk)
		return ENOMEM;
	if (!t) {
		t = malloc(sizeof(*t));
		if (!t) {
			free(lk);
			return ENOMEM;
		}
		t->txnid = txnid;
		t->nlocks = 0;
		sf_list_init(&t->locks);
		t->next = NULL;
		*slot = t;
		if (++rs->ntxns > rs->nbuckets)
			txn_grow(rs);
	}
	buf = (char *)(lk + 1);
	memset(lk, 0, sizeof(*lk));
	lk->txnid = txnid;
	lk->mode = mode;
	lk->mem = size;
	lk->seq = ++rs->seq;
	lk->prio = next_prio(rs);
	copy_key(&lk->left, left, &buf);
	if (right == left)
		lk->right = lk->left;
	else
		copy_key(&lk->right, right, &buf);
	lock_link(rs, t, lk);
	return 0;
}

/* Take one lock out of the treap and its owner's list (the lt_txn stays). */
static void lock_unlink(struct lt_ranges *rs, struct lt_txn *t,
			struct lt_lock *lk)
{
	rs->root = tree_remove(rs, rs->root, lk);
	sf_list_del(&lk->tnode);
	t->nlocks--;
	rs->nlocks--;
	rs->mem -= lk->mem;
}

/* Free the lt_txn of @slot once it holds no lock. */
static void txn_drop_if_empty(struct lt_ranges *rs, struct lt_txn **slot)
{
	struct lt_txn *t = *slot;

	if (!sf_list_empty(&t->locks))
		return;
	*slot = t->next;
	free(t);
	rs->ntxns--;
}

/* Release the locks of @txnid that @match says yes to.  Returns the count. */
static size_t release_matching(struct lt_ranges *rs, uint64_t txnid,
			       bool (*match)(const struct lt_ranges *rs,
					     const struct lt_lock *lk,
					     const void *arg),
			       const void *arg)
{
	struct lt_txn **slot = txn_slot(rs, txnid), *t = *slot;
	struct lt_lock *lk, *next;
	size_t n = 0;

	if (!t)
		return 0;
	sf_list_for_each_safe(lk, next, &t->locks, struct lt_lock, tnode) {
		if (!match(rs, lk, arg))
			continue;
		lock_unlink(rs, t, lk);
		free(lk);
		n++;
	}
	txn_drop_if_empty(rs, slot);
	return n;
}

/* @arg: the two keys [left, right]; the lock lies within them. */
static bool within(const struct lt_ranges *rs, const struct lt_lock *lk,
		   const void *arg)
{
	const struct sf_lockkey *k = arg;

	return keycmp(rs, &k[0], &lk->left) <= 0 &&
	       keycmp(rs, &lk->right, &k[1]) <= 0;
}

size_t lt_release_range(struct lt_ranges *rs, uint64_t txnid,
			const struct sf_lockkey *left,
			const struct sf_lockkey *right)
{
	const struct sf_lockkey k[2] = { *left, *right };

	return release_matching(rs, txnid, within, k);
}

/* @arg: a grant number; the lock was granted after it. */
static bool granted_after(const struct lt_ranges *rs, const struct lt_lock *lk,
			  const void *arg)
{
	(void)rs;
	return lk->seq > *(const uint64_t *)arg;
}

size_t lt_release_after(struct lt_ranges *rs, uint64_t txnid, uint64_t seq)
{
	return release_matching(rs, txnid, granted_after, &seq);
}

struct txn_conflict {
	uint64_t txnid;
	int mode;
};

static int txn_conflict_fn(struct lt_lock *lk, void *arg)
{
	const struct txn_conflict *c = arg;

	return lk->txnid == c->txnid && lt_modes_conflict(lk->mode, c->mode);
}

int lt_txn_conflicts(const struct lt_ranges *rs, uint64_t txnid, int mode,
		     const struct sf_lockkey *left,
		     const struct sf_lockkey *right)
{
	struct txn_conflict c = { txnid, mode };

	return lt_overlaps(rs, left, right, txn_conflict_fn, &c);
}

size_t lt_release_txn(struct lt_ranges *rs, uint64_t txnid)
{
	struct lt_txn **slot = txn_slot(rs, txnid), *t = *slot;
	size_t n = 0;

	if (!t)
		return 0;
	while (!sf_list_empty(&t->locks)) {
		struct lt_lock *lk = sf_list_first(&t->locks, struct lt_lock,
						   tnode);

		lock_unlink(rs, t, lk);
		free(lk);
		n++;
	}
	*slot = t->next;
	free(t);
	rs->ntxns--;
	return n;
}

/* ---- escalation ------------------------------------------------------- */

static void inorder(struct lt_lock *t, struct lt_lock **out, size_t *n)
{
	while (t) {
		inorder(t->l, out, n);
		out[(*n)++] = t;
		t = t->r;
	}
}

struct esc_check {
	uint64_t txnid;
	int mode;
};

static int esc_conflict(struct lt_lock *lk, void *arg)
{
	const struct esc_check *c = arg;

	return lk->txnid != c->txnid && lt_modes_conflict(lk->mode, c->mode);
}

/* Replace @run[0..n) (one transaction, one mode) by one lock to @right. */
static size_t merge_run(struct lt_ranges *rs, struct lt_lock **run, size_t n,
			const struct sf_lockkey *right)
{
	struct lt_lock *first = run[0];
	struct lt_txn *t = *txn_slot(rs, first->txnid);
	struct sf_lockkey l = first->left, r = *right;
	size_t size = lt_lock_size(&l, &r), i;
	struct lt_lock *lk = malloc(size);
	char *buf;

	if (!lk)
		return 0;	/* no escalation of this run; nothing lost */
	buf = (char *)(lk + 1);
	memset(lk, 0, sizeof(*lk));
	lk->txnid = first->txnid;
	lk->mode = first->mode;
	lk->mem = size;
	/* the oldest of the run: a savepoint before it keeps the merge */
	lk->seq = first->seq;
	for (i = 1; i < n; i++)
		if (run[i]->seq < lk->seq)
			lk->seq = run[i]->seq;
	lk->prio = next_prio(rs);
	copy_key(&lk->left, &l, &buf);
	copy_key(&lk->right, &r, &buf);
	for (i = 0; i < n; i++)
		lock_unlink(rs, t, run[i]);
	for (i = 0; i < n; i++)
		free(run[i]);
	lock_link(rs, t, lk);
	return n - 1;
}

size_t lt_escalate(struct lt_ranges *rs)
{
	struct lt_lock **all;
	size_t n = 0, i, j, merged = 0;

	if (rs->nlocks < 2)
		return 0;
	all = malloc(rs->nlocks * sizeof(*all));
	if (!all)
		return 0;
	inorder(rs->root, all, &n);
	for (i = 0; i < n; i = j) {
		struct lt_lock *x = all[i];
		const struct sf_lockkey *right = &x->right;
		struct esc_check chk = { x->txnid, x->mode };

		for (j = i + 1; j < n; j++) {
			const struct sf_lockkey *cand = &all[j]->right;

			if (all[j]->txnid != x->txnid || all[j]->mode != x->mode)
				break;
			/* a gap between the run and the next: may it go? */
			if (rs->barrier && keycmp(rs, right, &all[j]->left) < 0 &&
			    rs->barrier(rs->barrier_arg, right, &all[j]->left))
				break;
			if (keycmp(rs, cand, right) < 0)
				cand = right;
			if (lt_overlaps(rs, &x->left, cand, esc_conflict, &chk))
				break;
			right = cand;
		}
		if (j - i > 1)
			merged += merge_run(rs, all + i, j - i, right);
	}
	free(all);
	return merged;
}
