// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lockmgr.c - transactional range-lock manager: requests, waiting, the
 * retry of waiting requests after a release, deadlock detection, kill,
 * escalation under a memory limit.  The range set of a tree is in
 * lockmgr-ranges.c.
 *
 * Seed: the TokuDB/PerconaFT lock manager lost grants in two races and let
 * transactions wait for a free lock until the lock timeout (4 s by
 * default, often far more), collapsing MariaDB's optimistic parallel
 * replication to one transaction per timeout:
 *
 *   release before wait: B conflicts with A; A releases and retries the
 *	pending set, where B is not yet; B then enters the set and sleeps
 *	on a lock that is free.
 *   retry while retry: A's retry pass grants L to B, then (L now held by
 *	B) finds C still blocked; B releases L and asks for a pass, which is
 *	skipped because A's pass is still running; A's pass ends; C sleeps
 *	on a free lock.
 *
 * Locks and their order (never taken in another order):
 *
 *	T  mgr->trees_mutex	the list of trees
 *	P  lt->pending_mutex	the tree's retry sequence (retry_done) and
 *				pass counters; held for a whole retry pass
 *	L  lt->locks_mutex	the tree's range set (lt->rs), grant counters
 *	M  mgr->mutex		the registry of all waiting requests, the
 *				transitions of a request's state out of
 *				REQ_PENDING and REQ_RETRY, the manager's
 *				counters
 *
 * Written under two, read under either: the tree's pending list and
 * ->npending (P and L), so that a grant or a release under L alone sees
 * exactly the requests that wait in its tree; a waiting request's
 * blockers (L and M), so that the tree's grants and releases read them
 * under L and the deadlock search, across trees, under M.  A retry pass
 * holds P and L of its tree and takes M only for a change, so it does not
 * stop the other trees.
 *
 * Request state (struct lm_request.state, the word a waiter sleeps on):
 *
 *	REQ_IDLE     0	not started, or its result was collected
 *	REQ_PENDING  1	in the tree's pending list (P) and in the registry
 *			(M); the waiter sleeps while the word is 1
 *	REQ_DONE     2	completed with ->result (0 granted, ENOLCK, ENOMEM
 *			by a retry pass; EDEADLK by an escalation, R4 c);
 *			already out of both lists
 *	REQ_KILLED   3	cancelled by sf_lockmgr_kill; still in both lists,
 *			the waiter takes it out
 *	REQ_RETRY    4	woken by a retry pass to try for itself (R6);
 *			still in both lists, the waiter takes it out
 *
 *	IDLE -> PENDING		start (S3), when the request conflicts; if S4
 *				grants it, S5a refuses it or S5 finds a
 *				deadlock it goes back to IDLE in the same
 *				P+L+M section, unseen
 *	PENDING -> RETRY	a retry pass found nothing in its way (under
 *				P, L, M)
 *	RETRY -> IDLE		the waiter's own try granted it (P, L, M)
 *	RETRY -> PENDING	the waiter's own try lost (P, L, M): marked
 *				->handoff
 *	PENDING -> DONE		a retry pass (a hand-off) or an escalation:
 *				taken out of both lists under P, L and M, DONE
 *				stored later but before P is released (the
 *				last access)
 *	PENDING/RETRY -> KILLED	kill or kill_client (under M)
 *	PENDING/RETRY -> IDLE	the waiter, on timeout (under P, L, M)
 *	KILLED/DONE -> IDLE	the waiter collects the result
 *
 * Every move out of PENDING and RETRY is decided under M, after seeing
 * that state there; kill only finds requests still in the registry, and
 * the timeout path takes P, under which DONE is already stored; so
 * exactly one of grant, kill and timeout wins.  A request is granted
 * while it waits only by a hand-off (R6) or by its own waiter.  A waiter
 * reads the word with acquire; DONE and ->result are published by a
 * release store.
 *
 * Ordering argument (labels used in the code and the tests):
 *
 * (R1) Release before wait.  A request is tried once under L alone (S1).
 *	If it conflicts, it is linked into the pending list (S3) and tried
 *	once more (S4), and its blockers are recorded (S5), in one section
 *	under P, L and M, before anyone waits.  A release removes its locks
 *	under L (X1) and, in the same section, takes its transaction out of
 *	the blockers of the tree's waiting requests (X2, R4); if that left
 *	one with no blocker it runs a retry pass (X3).  L orders the S3-S5
 *	section and X1:
 *	  - X1 first: S4 sees the lock gone and grants (or records the
 *	    remaining blockers); nothing is lost.
 *	  - S3-S5 first: X2 finds the request in the list with the
 *	    releasing transaction among its blockers, exactly (S5 recorded
 *	    what S4 saw, under the same L); if nothing else blocks it, X3
 *	    runs a pass, which takes P after the S3-S5 section and so finds
 *	    the request in the list.
 *	Without S4 (SF_BROKEN(RELEASE_BEFORE_WAIT)) the first case
 *	loses the grant: the seed's first race.  With the blockers recorded
 *	after the section (SF_BROKEN(EDGES_LATE)) the second one does: X2
 *	finds the request blocked by nobody it knows of and runs no pass.
 *
 * (R2) Retry while retry.  Retries are grouped by sequence numbers:
 *	every release that X2 found to unblock a waiter takes a ticket
 *	my = ++lt->retry_want (an atomic read-modify-write, after X1), then
 *	takes P and runs a pass unless retry_done >= my.  A pass reads
 *	w = retry_want under P before it tries any request, tries every
 *	pending request under L, and stores retry_done = w before P is
 *	released.  So retry_done >= my means a pass read retry_want after
 *	the increment that returned my, hence after that release's X1, and
 *	tried every request after it: every release is followed by a pass
 *	that covers it.  A release whose ticket is already covered returns
 *	at once; the one that runs the pass serves every ticket taken before
 *	it read w (one thread running the pass for all that asked).  In the
 *	seed's case (lockmgr-races "rwr": A's pass found C still blocked by
 *	B) B's release takes a ticket after A's pass read w, so when A's
 *	pass ends B finds retry_done < my and runs a pass that retries C.
 *	The broken protocol (SF_BROKEN(RETRY_WHILE_RETRY)) is the old
 *	PerconaFT flag: a pass clears "retry needed" when it starts and a
 *	release that finds it clear skips the retry.
 *
 * (R3) No lost wakeup.  A waiter sleeps with sf_wait(&state, REQ_PENDING):
 *	the comparison and the sleep are atomic against sf_wake on the
 *	word, and every transition out of PENDING stores the new state
 *	before calling sf_wake, so a waiter either sees the new state or is
 *	woken.  The waker may call sf_wake after the waiter has returned and
 *	the request's memory is gone: sf_wake only passes the address to the
 *	kernel.
 *
 * (R4) Wait-for graph.  The blockers of a waiting request (the
 *	transactions holding a conflicting lock in its tree) are kept
 *	exact, written under L and M: set at S5, at every pass that finds
 *	the request blocked and by a waiter whose own try lost (R6), empty
 *	when a pass wakes it (nothing is in its way then); a grant adds its
 *	transaction to each waiting request of the tree it conflicts with
 *	(under L it sees all of them); a release takes its transaction out
 *	of each one it no longer blocks (X2: after a partial release, one
 *	that still conflicts with a lock of the transaction keeps it); an
 *	escalation recomputes them all.  So a waiting request is grantable
 *	only when its blockers are empty, and only a release can empty
 *	them: X2 asks for a pass exactly then, and a release that frees
 *	nothing a waiter needs, or that leaves it blocked by another
 *	transaction, runs none ("retry_asks" counts those that did).  A set
 *	that a failed allocation left short is marked ->overflow, and every
 *	release in its tree then runs a pass, which records it again.
 *	A request that must wait searches the graph from its blockers
 *	(under M) and fails with EDEADLK if it reaches its own transaction,
 *	before it sleeps.  Edges appear only
 *	(a) when a request starts waiting, which searches; (b) when a
 *	transaction is granted a lock: a pass grants a waiting request,
 *	the only one of its transaction (one waiting request per
 *	transaction: S5a refuses with EBUSY, in the M section that would
 *	make it wait, a request whose transaction has another one
 *	pending), so the transaction then waits for nothing and no new
 *	cycle passes through it (the rule is about waiting only: a request
 *	granted at S1 or S4 while another of its transaction waits is not
 *	refused, and a cycle its edges close is not searched for); (c)
 *	when an escalation grows ranges: it searches from every
 *	waiting request of the tree and fails each one on a cycle with
 *	EDEADLK (the victim), which breaks the cycle.  So every cycle is
 *	found when it closes, and none is left to wait for a timeout.
 *
 * (R5) Memory limit.  mgr->mem_units counts, in 16-byte units, the locks
 *	of all trees plus the grants in flight.  Trees share no mutex, so
 *	this word alone orders the grants of different trees against the
 *	limit: a grant first reserves its units with a compare-and-swap
 *	from cur to cur + units, made only while cur + units <= max_units
 *	(and tried again on the value found if another thread moved it),
 *	then adds the lock under L and gives the units back if that fails.
 *	A release or an escalation changes the word by the change of its
 *	tree's units, under L.  So no grant takes the total past the limit,
 *	however many trees grant at once; a check of the word followed by
 *	an increment after the add let two trees both see room for the last
 *	lock (lockmgr-races, case "mem").  The word cannot hold 2^32 units:
 *	the largest limit, 64 GiB, is kept as UINT32_MAX units (one unit,
 *	16 bytes, less).
 *
 * (K1) Kill that stays in force.  sf_lockmgr_kill_client() adds the client
 *	to mgr->killed and cancels its waiting requests in one M section;
 *	sf_lockmgr_clear_kill() takes it out.  A request of a killed client
 *	is refused (ECANCELED) before it is granted or waits:
 *	  - S0: start reads ->nkilled first; when it is not zero it looks
 *	    the client up under M.  A kill_client that returned before start
 *	    began stored ->nkilled (release, under M) before, so S0 sees it.
 *	    When S0 reads 0 and S1 grants, the grant is ordered before the
 *	    kill (a kill never takes back a granted lock).
 *	  - S3b: a request that conflicted looks the client up again under
 *	    M, in the section that links it into the registry.  M orders it
 *	    against kill_client: before it, the request is in the registry as
 *	    PENDING and the kill cancels it; after it, S3b refuses it.
 *	So a kill that lands between S1 and S3 (lockmgr:start-conflict) is
 *	not lost, where sf_lockmgr_kill() alone finds nothing to cancel and
 *	the request then waits for its lock or its timeout
 *	(SF_BROKEN(KILL_BEFORE_WAIT) leaves S3b out).
 *
 * (R6) Hand-off after a lost race only.  A pass does not grant a waiting
 *	request whose way is clear: it stores REQ_RETRY and wakes it, and
 *	the waiter tries for itself under P, L and M.  A thread that is
 *	running may take the lock first (S1), instead of finding it granted
 *	to a sleeper and queueing behind it for the sleeper's wake-up (the
 *	convoy that made 4 threads on 2 CPUs wait in most transactions).  A
 *	waiter whose own try lost records the new blockers and goes back to
 *	PENDING marked ->handoff; the next pass that finds it clear grants
 *	it there (PENDING -> DONE, as before), so no request loses more
 *	than one race, whatever runs.  No grant is lost in between: the
 *	woken request stays in the pending list with exact blockers (empty
 *	until a grant adds one), and its try and every release are ordered
 *	by L; a try that lost recorded the lock's owner, whose release
 *	empties the blockers and runs a pass (R1, R2).  A release that
 *	empties the blockers of a request still woken (RETRY) runs no pass
 *	for it: the try that ends RETRY holds L, so it comes after that
 *	release and sees its locks gone.  A woken request that
 *	times out or is killed instead holds nothing, so no one waits for
 *	it.  SF_BROKEN(ALWAYS_HANDOFF) grants every clear request in the
 *	pass (the old protocol; bench-lockmgr-hooks shows what it costs).
 *
 * (Q1) The per-transaction limit is checked in every try under L, after
 * the own-locks check and before the conflicts (a transaction at its limit
 * waits for nothing it could not get); a lock merged by escalation counts
 * once.
 *
 * NOWAIT (SF_LOCK_NOWAIT) ends at S1: a request that conflicts there is
 * refused with EBUSY under L and never reaches S3, so it is no wait, no
 * edge and no search.  The conflict it saw was real under L, so the
 * refusal is ordered after the conflicting grant and before its release.
 *
 * Releases (X1-X3) of all of a transaction's locks in a tree, of those
 * within one range (sf_lock_release) or of those granted after a
 * savepoint (sf_lock_rollback_to: each lock carries the tree's grant
 * number, lt_lock.seq; a savepoint is the number of the last grant, read
 * under L; an escalation gives a merged lock the smallest number of its
 * parts, so a rollback keeps it) share one path.
 *
 * (B1) Blocker reports.  Every place that changes a waiting request's
 *	blockers (S5, a grant, X2, a pass, a lost try, an escalation) holds
 *	L and records the new set (rep_add) in the collector of the API call
 *	it runs in (tl_rep, set by rep_begin when a callback is set); the
 *	call delivers them (rep_end) after it released every internal lock,
 *	just before it returns, so the callback may call the manager.  Each
 *	set was exact under L when recorded; calls of different threads
 *	deliver in any order.
 *
 * (D1) Deadlock reports and the victim.  A request whose wait closes a
 *	cycle (S5, under P, L, M) walks the graph again to find the cycle's
 *	requests (find_cycle), copies them into the ring (M), and asks the
 *	victim policy (under M).  The requester as victim fails as before.
 *	Another victim's waiting request is cancelled like a kill (PENDING
 *	or RETRY -> KILLED under M, ->kill_result EDEADLK), which its waiter
 *	collects; the requester waits, and its cycle opens when the victim
 *	rolls back, a release like any other (R1, R2).  Edges stay exact: the
 *	cancelled request leaves the lists when its waiter collects it.
 *
 * Listings (sf_locktree_iterate, sf_lockmgr_iterate_waits) copy one tree
 * at a time in one L section: the range set, or the pending list with
 * each request's blockers and key bytes (valid while the request is in
 * the list: the caller keeps them until its result is known).  L is what
 * every grant and release of the tree holds, so a copy is one instant of
 * the tree, never a torn one (SF_BROKEN(LISTING_TORN) copies in two L
 * sections).  The wait listing holds T meanwhile so that no tree goes
 * away under it (T only orders tree creation and destruction); callbacks
 * run after the copy with nothing held.
 *
 * No fairness is promised: a new request that conflicts with no granted
 * lock is granted at S1 even while others wait for overlapping ranges (as
 * in PerconaFT), and a pass tries waiting requests in arrival order.
 *
 * Sync points (test-hook build): lockmgr:start-conflict (after S1 failed,
 * before S3), lockmgr:start-inserted (after S3, before S4; L held),
 * lockmgr:start-waits (after the S3-S5 section, before start returns
 * EINPROGRESS), lockmgr:wait-sleep (a waiter about to sleep),
 * lockmgr:wait-retry (a waiter woken to try for itself, before P, R6),
 * lockmgr:release-removed (after X1-X2), lockmgr:limit-checked (a grant
 * has reserved its lock memory or found no room, R5, before the lock is
 * added; L held),
 * lockmgr:retry-asked (a release took its ticket, before P),
 * lockmgr:retry-pass-publish (a pass has decided its grants and wakes,
 * before it wakes or stores DONE), lockmgr:retry-pass-end (a pass is
 * over, before retry_done and P are released), lockmgr:wait-collect (a timed-out or
 * killed waiter, before it takes P).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <syncfix/lockmgr.h>
#include <syncfix/mutex.h>

#include "internal.h"
#include "lockmgr-int.h"
#include "wait.h"

enum { REQ_IDLE, REQ_PENDING, REQ_DONE, REQ_KILLED, REQ_RETRY };

/* Lock memory is counted in 16-byte units in a 32-bit word (R5). */
#define MEM_UNIT_SHIFT	4
#define MEM_MAX_BYTES	((uint64_t)1 << 36)	/* the largest limit: 64 GiB */
_Static_assert((1u << MEM_UNIT_SHIFT) == LT_MEM_ALIGN, "lock sizes are whole units");

#define INLINE_BLOCKERS	4

struct lm_request {
	uint32_t state;			/* REQ_*; the wait word */
	int result;			/* with REQ_DONE */
	struct sf_locktree *lt;
	uint64_t txnid, client_id;
	int mode;
	struct sf_lockkey left, right;	/* the caller's key bytes */
	int point;			/* right is left */
	struct sf_list pnode;		/* P: in lt->pending */
	struct sf_list rnode;		/* M: in mgr->reg */
	struct lm_request *dnext;	/* completed, to be published */
	struct lm_request *wnext;	/* woken by a pass, to be woken */
	int retired;			/* out of both lists (P, M) */
	int handoff;			/* P+L+M: lost a race once (R6) */
	int kill_result;		/* M: with REQ_KILLED, 0 = ECANCELED */
	int overflow;			/* L+M: blockers incomplete (no memory) */
	uint64_t *blockers;		/* L+M: wait-for edges (R4) */
	uint32_t nblockers, capblockers;
	uint64_t start_ns;
	uint64_t inl[INLINE_BLOCKERS];
};

_Static_assert(sizeof(struct lm_request) <= sizeof(struct sf_lock_request),
	       "struct sf_lock_request too small");
_Static_assert(_Alignof(struct lm_request) <= _Alignof(struct sf_lock_request),
	       "struct sf_lock_request misaligned");

struct sf_lockmgr {
	sf_mutex_t trees_mutex;			/* T */
	struct sf_locktree *trees;		/* T */
	uint32_t ntrees;			/* T */
	sf_mutex_t mutex;			/* M */
	struct sf_list reg;			/* M: every request started */
	uint32_t mem_units;			/* atomic (R5) */
	uint32_t max_units;			/* atomic */
	uint64_t max_bytes;			/* atomic: as set */
	uint32_t max_txn_locks;			/* atomic: 0 none */
	uint64_t waits, wait_ns, timeouts, deadlocks, kills; /* M */
	struct lm_cb *cb;			/* published: blocker callback */
	struct dl_blob **dl_ring;		/* M: the last dl_cap deadlocks */
	uint32_t dl_cap;			/* M */
	uint64_t dl_seq;			/* M: deadlocks recorded */
	sf_lock_victim_fn victim_fn;		/* M */
	void *victim_arg;			/* M */
	uint64_t *killed;			/* M: killed clients (K1) */
	uint32_t nkilled;			/* written under M; atomic */
	uint32_t capkilled;			/* M */
};

struct sf_locktree {
	struct sf_lockmgr *mgr;
	struct sf_locktree *next;		/* T */
	sf_mutex_t pending_mutex;		/* P */
	struct sf_list pending;			/* P: waiting, in arrival order */
	uint32_t npending;			/* written under P; atomic */
	uint32_t retry_want;			/* atomic RMW */
	uint32_t retry_done;			/* P */
#ifdef SF_TEST_HOOKS
	uint32_t retry_needed;	/* SF_BROKEN(RETRY_WHILE_RETRY)'s flag; atomic */
#endif
	uint32_t retry_asks;			/* atomic */
	uint64_t passes, served, served_max;	/* P */
	uint64_t woken, lost;			/* P */
	uint64_t waits;				/* L */
	sf_mutex_t locks_mutex;			/* L */
	struct lt_ranges rs;			/* L */
	uint64_t grants, nolocks, escalations, escalated; /* L */
	uint64_t nowait_busy, releases, quota;	/* L */
};

static inline struct lm_request *to_req(struct sf_lock_request *r)
{
	return (struct lm_request *)(void *)r;
}

/* ---- memory limit ------------------------------------------------------ */

static uint32_t mem_units(size_t bytes)
{
	return (uint32_t)((bytes + (1u << MEM_UNIT_SHIFT) - 1) >> MEM_UNIT_SHIFT);
}

/* A limit of at most MEM_MAX_BYTES in units; 64 GiB is UINT32_MAX (R5). */
static uint32_t limit_units(size_t bytes)
{
	uint64_t units;

	if (!bytes)
		bytes = SF_LOCKMGR_DEFAULT_MEMORY;
	units = (uint64_t)bytes >> MEM_UNIT_SHIFT;
	return units > UINT32_MAX ? UINT32_MAX : (uint32_t)units;
}

/*
 * Reserve @units of lock memory before a lock is added (R5); the caller
 * gives them back if it adds none.  Return: 1, or 0 if they do not fit
 * under the limit (nothing changed).
 */
static int mem_reserve(struct sf_lockmgr *mgr, uint32_t units)
{
	uint32_t cur = sf_load_relaxed(&mgr->mem_units);

	if (SF_BROKEN(MEM_UNRESERVED))	/* checked only: added by the caller */
		return (uint64_t)cur + units <= sf_load_relaxed(&mgr->max_units);
	do {
		if ((uint64_t)cur + units > sf_load_relaxed(&mgr->max_units))
			return 0;
	} while (!sf_cas(&mgr->mem_units, &cur, cur + units));
	return 1;
}

/* ---- blockers and the wait-for graph (M held) --------------------------- */

struct txnset {
	uint64_t *v;
	uint32_t n, cap;
	uint64_t inl[8];
};

static void txnset_init(struct txnset *s)
{
	s->v = s->inl;
	s->n = 0;
	s->cap = 8;
}

static void txnset_fini(struct txnset *s)
{
	if (s->v != s->inl)
		free(s->v);
}

static int txnset_has(const uint64_t *v, uint32_t n, uint64_t x)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

/*
 * Append @x unless present.  On allocation failure the set stays short:
 * a missing edge can only delay a deadlock report to the timeout.
 */
static int set_add(uint64_t **v, uint32_t *n, uint32_t *cap, uint64_t *inl,
		   uint64_t x)
{
	if (txnset_has(*v, *n, x))
		return 0;
	if (*n == *cap) {
		uint32_t nc = *cap * 2;
		uint64_t *nv = malloc(nc * sizeof(*nv));

		if (!nv)
			return -1;
		memcpy(nv, *v, *n * sizeof(*nv));
		if (*v != inl)
			free(*v);
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = x;
	return 0;
}

static void txnset_add(struct txnset *s, uint64_t x)
{
	(void)set_add(&s->v, &s->n, &s->cap, s->inl, x);
}

/*
 * The blockers of a waiting request are written under L and M and read
 * under either (R4).  A set left short by a failed allocation is marked
 * overflow: every release in the tree then runs a pass (R2), which
 * computes it again.
 */
static void req_add_blocker(struct lm_request *q, uint64_t x)
{
	if (set_add(&q->blockers, &q->nblockers, &q->capblockers, q->inl, x))
		q->overflow = 1;
}

static void req_set_blockers(struct lm_request *q, const struct txnset *s)
{
	q->nblockers = 0;
	q->overflow = 0;
	for (uint32_t i = 0; i < s->n; i++)
		req_add_blocker(q, s->v[i]);
}

/* Are @q's blockers exactly @s?  (L or M) */
static int req_same_blockers(const struct lm_request *q,
			     const struct txnset *s)
{
	if (q->overflow || q->nblockers != s->n)
		return 0;
	for (uint32_t i = 0; i < s->n; i++)
		if (!txnset_has(q->blockers, q->nblockers, s->v[i]))
			return 0;
	return 1;
}

/* Does @q wait (in the lists, neither granted, failed nor killed)? */
static int req_waiting(const struct lm_request *q)
{
	uint32_t s = sf_load_relaxed(&q->state);

	return s == REQ_PENDING || s == REQ_RETRY;
}

static void req_free_blockers(struct lm_request *q)
{
	if (q->blockers != q->inl)
		free(q->blockers);
	q->blockers = q->inl;
	q->nblockers = 0;
	q->capblockers = INLINE_BLOCKERS;
}

static void reg_link(struct sf_lockmgr *mgr, struct lm_request *q)
{
	sf_list_add(&q->rnode, &mgr->reg);
}

static void reg_unlink(struct lm_request *q)
{
	sf_list_del(&q->rnode);
	req_free_blockers(q);
}

static size_t key_bytes(const struct sf_lockkey *k)
{
	return k->inf ? 0 : k->size;
}

/* ---- blocker reports (B1) ---------------------------------------------- */

/* A blocker callback as set; never freed before the manager. */
struct lm_cb {
	sf_lock_blocker_fn fn;
	void *arg;
	struct lm_cb *older;
};

/*
 * The reports one API call collects under the internal locks and delivers
 * after it released them all (B1).  A record is: tree, requester, client,
 * n, then n blockers.  Reached through tl_rep, set for the call's
 * duration when a callback is set, so that the places that change
 * blockers need no extra argument.
 */
struct reports {
	const struct lm_cb *cb;
	uint64_t *v;
	size_t n, cap;
	uint64_t inl[32];
};

static __thread struct reports *tl_rep;

static struct reports *rep_begin(struct sf_lockmgr *mgr, struct reports *r)
{
	struct reports *saved = tl_rep;

	r->cb = sf_load_ptr_acquire(&mgr->cb);
	r->v = r->inl;
	r->n = 0;
	r->cap = sizeof(r->inl) / sizeof(r->inl[0]);
	tl_rep = r->cb && r->cb->fn ? r : NULL;
	return saved;
}

/*
 * Record @q's blockers, as they are now (L held: they are exact).  No
 * report of an empty set: the request is then being retried.  Without
 * memory the report is dropped.
 */
static void rep_add(const struct lm_request *q)
{
	struct reports *r = tl_rep;
	size_t need;

	if (!r || !q->nblockers)
		return;
	need = 4 + (size_t)q->nblockers;
	if (r->n + need > r->cap) {
		size_t nc = (r->cap + need) * 2;
		uint64_t *nv = malloc(nc * sizeof(*nv));

		if (!nv)
			return;
		memcpy(nv, r->v, r->n * sizeof(*nv));
		if (r->v != r->inl)
			free(r->v);
		r->v = nv;
		r->cap = nc;
	}
	r->v[r->n++] = (uint64_t)(uintptr_t)q->lt;
	r->v[r->n++] = q->txnid;
	r->v[r->n++] = q->client_id;
	r->v[r->n++] = q->nblockers;
	memcpy(&r->v[r->n], q->blockers, q->nblockers * sizeof(uint64_t));
	r->n += q->nblockers;
}

/* Deliver the reports; nothing held.  (B1) */
static void rep_end(struct reports *r, struct reports *saved)
{
	tl_rep = saved;
	for (size_t i = 0; i + 4 <= r->n;) {
		uint32_t nb = (uint32_t)r->v[i + 3];

		r->cb->fn(r->cb->arg, (struct sf_locktree *)(uintptr_t)r->v[i],
			  r->v[i + 1], r->v[i + 2], &r->v[i + 4], nb);
		i += 4 + nb;
	}
	if (r->v != r->inl)
		free(r->v);
}

/* (K1) The index of @client in mgr->killed, or -1.  (M) */
static long killed_index(const struct sf_lockmgr *mgr, uint64_t client)
{
	for (uint32_t i = 0; i < mgr->nkilled; i++)
		if (mgr->killed[i] == client)
			return (long)i;
	return -1;
}

/* (R4) Is another request of @q's transaction waiting, in any tree?  (M) */
static int txn_waits(const struct sf_lockmgr *mgr, const struct lm_request *q)
{
	const struct lm_request *p;

	sf_list_for_each(p, &mgr->reg, struct lm_request, rnode)
		if (p != q && p->txnid == q->txnid && req_waiting(p))
			return 1;
	return 0;
}

/*
 * Would @q waiting close a cycle?  Breadth-first over transactions: from
 * q's blockers, each waiting request of a reached transaction leads on to
 * its blockers.  (R4)  When @cyc is not NULL and a cycle is found, it
 * receives the waiting requests along it, q first: cyc[i] waits for the
 * transaction of cyc[i + 1], the last one for q's (*@ncyc of them; at
 * most @max, the rest left out).  M held.
 */
struct bfs_node {
	uint64_t txn;
	int parent;			/* index; -1: reached from q */
	struct lm_request *via;		/* the parent's request waiting on txn */
};

static int find_cycle(struct sf_lockmgr *mgr, struct lm_request *q,
		      struct lm_request **cyc, uint32_t max, uint32_t *ncyc)
{
	struct bfs_node inl[32], *v = inl;
	size_t n = 0, cap = 32;
	int found = -1;

#define BFS_ADD(t, par, req)						\
	do {								\
		size_t k_;						\
		for (k_ = 0; k_ < n && v[k_].txn != (t); k_++)		\
			;						\
		if (k_ < n)						\
			break;						\
		if (n == cap) {						\
			struct bfs_node *nv_ = malloc(2 * cap * sizeof(*nv_)); \
			if (!nv_)					\
				break;	/* a short search: R4's note */	\
			memcpy(nv_, v, n * sizeof(*nv_));		\
			if (v != inl)					\
				free(v);				\
			v = nv_;					\
			cap *= 2;					\
		}							\
		v[n++] = (struct bfs_node){ (t), (par), (req) };	\
	} while (0)

	for (uint32_t i = 0; i < q->nblockers; i++)
		BFS_ADD(q->blockers[i], -1, q);
	for (size_t i = 0; i < n && found < 0; i++) {
		struct lm_request *p;

		if (v[i].txn == q->txnid) {
			found = (int)i;
			break;
		}
		sf_list_for_each(p, &mgr->reg, struct lm_request, rnode) {
			if (p->txnid != v[i].txn || !req_waiting(p))
				continue;
			for (uint32_t j = 0; j < p->nblockers; j++)
				BFS_ADD(p->blockers[j], (int)i, p);
		}
	}
#undef BFS_ADD
	if (found >= 0 && cyc) {
		uint32_t len = 0, k;

		for (int i = found; i >= 0; i = v[i].parent)
			len++;
		*ncyc = len < max ? len : max;
		/* walking back from q's txn gives the cycle last to first */
		k = len;
		for (int i = found; i >= 0; i = v[i].parent) {
			k--;
			if (k < max)
				cyc[k] = v[i].via;
		}
	}
	if (v != inl)
		free(v);
	return found >= 0;
}

static int closes_cycle(struct sf_lockmgr *mgr, struct lm_request *q)
{
	return find_cycle(mgr, q, NULL, 0, NULL);
}

/* ---- deadlock reports (D1) --------------------------------------------- */

#define DL_MAX_CYCLE	64	/* requests kept of one cycle */
#define DL_RING_MAX	1024

/*
 * One deadlock, in one allocation that can be copied as it is: offsets,
 * no pointers into itself but the tree pointers it reports.
 */
struct dl_rec {
	struct sf_locktree *lt;
	uint64_t txnid, client_id, next_txn;
	int mode, linf, rinf;
	uint32_t lsize, rsize, loff, roff;
};

struct dl_blob {
	size_t size;
	uint64_t seq, time_ns, victim;
	uint32_t n;
	struct dl_rec rec[];		/* then the key bytes */
};

static struct dl_blob *dl_build(struct lm_request **cyc, uint32_t n)
{
	size_t size = sizeof(struct dl_blob) + n * sizeof(struct dl_rec), off;
	struct dl_blob *b;

	for (uint32_t i = 0; i < n; i++)
		size += key_bytes(&cyc[i]->left) +
			(cyc[i]->point ? 0 : key_bytes(&cyc[i]->right));
	b = malloc(size);
	if (!b)
		return NULL;
	b->size = size;
	b->n = n;
	b->time_ns = sf_now_ns();
	off = sizeof(struct dl_blob) + n * sizeof(struct dl_rec);
	for (uint32_t i = 0; i < n; i++) {
		const struct lm_request *q = cyc[i];
		struct dl_rec *r = &b->rec[i];
		const struct sf_lockkey *rk = q->point ? &q->left : &q->right;

		r->lt = q->lt;
		r->txnid = q->txnid;
		r->client_id = q->client_id;
		r->next_txn = cyc[(i + 1) % n]->txnid;
		r->mode = q->mode;
		r->linf = q->left.inf;
		r->lsize = (uint32_t)key_bytes(&q->left);
		r->loff = (uint32_t)off;
		if (r->lsize)
			memcpy((char *)b + off, q->left.data, r->lsize);
		off += r->lsize;
		r->rinf = rk->inf;
		r->rsize = (uint32_t)key_bytes(rk);
		if (q->point) {
			r->roff = r->loff;
		} else {
			r->roff = (uint32_t)off;
			if (r->rsize)
				memcpy((char *)b + off, rk->data, r->rsize);
			off += r->rsize;
		}
	}
	return b;
}

/* The public view of @b, into @wi[b->n]; valid while @b is. */
static void dl_view(const struct dl_blob *b, struct sf_lock_deadlock *d,
		    struct sf_lock_wait_info *wi)
{
	memset(d, 0, sizeof(*d));
	d->seq = b->seq;
	d->time_ns = b->time_ns;
	d->victim = b->victim;
	d->n = b->n;
	d->cycle = wi;
	for (uint32_t i = 0; i < b->n; i++) {
		const struct dl_rec *r = &b->rec[i];

		memset(&wi[i], 0, sizeof(wi[i]));
		wi[i].tree = r->lt;
		wi[i].txnid = r->txnid;
		wi[i].client_id = r->client_id;
		wi[i].mode = r->mode;
		wi[i].left = (struct sf_lockkey){ r->lsize ? (const char *)b + r->loff :
						  NULL, r->lsize, r->linf };
		wi[i].right = (struct sf_lockkey){ r->rsize ? (const char *)b + r->roff :
						   NULL, r->rsize, r->rinf };
		wi[i].blockers = &r->next_txn;
		wi[i].nblockers = 1;
	}
}

/*
 * (D1) A cycle was found through @q (M held): record it in the ring and
 * choose the victim, the requester unless a victim policy names another
 * transaction of the cycle.  Return: the victim's request along the
 * cycle (q when it is the requester).
 */
static struct lm_request *dl_found(struct sf_lockmgr *mgr,
				   struct lm_request *q, int policy)
{
	struct lm_request *cyc[DL_MAX_CYCLE], *victim = q;
	uint32_t n = 0;
	struct dl_blob *b;

	if (!find_cycle(mgr, q, cyc, DL_MAX_CYCLE, &n) || !n)
		return q;
	b = dl_build(cyc, n);
	if (!b)
		return q;
	b->seq = ++mgr->dl_seq;
	b->victim = q->txnid;
	if (policy && mgr->victim_fn) {
		struct sf_lock_wait_info wi[DL_MAX_CYCLE];
		struct sf_lock_deadlock d;
		uint64_t t;

		dl_view(b, &d, wi);
		t = mgr->victim_fn(mgr->victim_arg, &d);
		for (uint32_t i = 1; i < n; i++)
			if (cyc[i]->txnid == t && t != q->txnid) {
				victim = cyc[i];
				b->victim = t;
				break;
			}
	}
	if (mgr->dl_cap) {
		uint32_t slot = (uint32_t)((b->seq - 1) % mgr->dl_cap);

		free(mgr->dl_ring[slot]);
		mgr->dl_ring[slot] = b;
	} else {
		free(b);
	}
	return victim;
}

/* ---- trying a request (L held) ------------------------------------------ */

enum { TRY_GRANTED, TRY_CONFLICT, TRY_OVER_LIMIT, TRY_NOMEM, TRY_TXN_LIMIT };

struct scan {
	const struct lt_ranges *rs;
	const struct lm_request *q;
	struct txnset *conflicts;
	int covered;
};

static int scan_fn(struct lt_lock *lk, void *arg)
{
	struct scan *s = arg;
	const struct lm_request *q = s->q;

	if (lk->txnid == q->txnid) {
		/* Self-compatible; an own lock at least as strong covering
		 * the whole range makes the request a no-op. */
		if ((lk->mode == SF_LOCK_WRITE || q->mode == SF_LOCK_READ) &&
		    lt_keycmp(s->rs, &lk->left, &q->left) <= 0 &&
		    lt_keycmp(s->rs, &lk->right, &q->right) >= 0)
			s->covered = 1;
		return 0;
	}
	if (lt_modes_conflict(lk->mode, q->mode))
		txnset_add(s->conflicts, lk->txnid);
	return 0;
}

/* The conflicting transactions of @q, and whether own locks cover it. */
static int conflicts_of(struct sf_locktree *lt, const struct lm_request *q,
			struct txnset *conf)
{
	struct scan s = { &lt->rs, q, conf, 0 };

	conf->n = 0;
	lt_overlaps(&lt->rs, &q->left, &q->right, scan_fn, &s);
	return s.covered;
}

struct ranges_conflict {
	const struct lt_ranges *rs;
	const struct sf_lockkey *left, *right;
	uint64_t txnid;
	int mode;
};

static int overlaps(const struct lt_ranges *rs, const struct sf_lockkey *al,
		    const struct sf_lockkey *ar, const struct sf_lockkey *bl,
		    const struct sf_lockkey *br)
{
	return lt_keycmp(rs, al, br) <= 0 && lt_keycmp(rs, bl, ar) <= 0;
}

/*
 * A lock was just granted to @granted's transaction in @lt: it now blocks
 * every waiting request of the tree it conflicts with (R4).  L held (the
 * pending list and the blockers are read under it); M held iff @m_held,
 * else taken here only when an edge is added.
 */
static void add_edges_for_grant(struct sf_locktree *lt,
				const struct lm_request *granted, int m_held)
{
	struct lm_request *p;
	int locked = m_held;

	sf_list_for_each(p, &lt->pending, struct lm_request, pnode) {
		if (p == granted || p->txnid == granted->txnid ||
		    !lt_modes_conflict(p->mode, granted->mode) ||
		    txnset_has(p->blockers, p->nblockers, granted->txnid) ||
		    !overlaps(&lt->rs, &p->left, &p->right, &granted->left,
			      &granted->right))
			continue;
		if (!locked) {
			sf_mutex_lock(&lt->mgr->mutex);
			locked = 1;
		}
		req_add_blocker(p, granted->txnid);
		rep_add(p);
	}
	if (locked && !m_held)
		sf_mutex_unlock(&lt->mgr->mutex);
}

/*
 * try_locked() - grant @q now if nothing conflicts.  L held; M held iff
 * @m_held (a registered request).  @conf receives the conflicting
 * transactions.
 */
static int try_locked(struct sf_locktree *lt, struct lm_request *q,
		      struct txnset *conf, int m_held)
{
	struct sf_lockmgr *mgr = lt->mgr;
	const struct sf_lockkey *right = q->point ? &q->left : &q->right;
	uint32_t units;
	int reserved;

	uint32_t max_txn;

	if (conflicts_of(lt, q, conf)) {
		lt->grants++;
		return TRY_GRANTED;
	}
	/* (Q1) a new lock past the transaction's quota: not even a wait */
	max_txn = sf_load_relaxed(&mgr->max_txn_locks);
	if (max_txn && lt_txn_nlocks(&lt->rs, q->txnid) >= max_txn)
		return TRY_TXN_LIMIT;
	if (conf->n)
		return TRY_CONFLICT;
	units = mem_units(lt_lock_size(&q->left, right));
	reserved = mem_reserve(mgr, units);
	SF_SYNC_POINT("lockmgr:limit-checked", lt);
	if (!reserved)
		return TRY_OVER_LIMIT;
	if (SF_BROKEN(MEM_UNRESERVED))
		/* The old code: the counter raised after the check, apart. */
		sf_fetch_add(&mgr->mem_units, units);
	if (lt_add(&lt->rs, q->txnid, q->mode, &q->left, right)) {
		sf_fetch_sub(&mgr->mem_units, units);
		return TRY_NOMEM;
	}
	lt->grants++;
	if (sf_load_relaxed(&lt->npending))
		add_edges_for_grant(lt, q, m_held);
	return TRY_GRANTED;
}

/* ---- pending list (written under P and L, read under either) ----------- */

static void pending_link(struct sf_locktree *lt, struct lm_request *q)
{
	sf_list_add_tail(&q->pnode, &lt->pending);
	sf_store_relaxed(&lt->npending, sf_load_relaxed(&lt->npending) + 1);
}

static void pending_unlink(struct sf_locktree *lt, struct lm_request *q)
{
	sf_list_del(&q->pnode);
	sf_store_relaxed(&lt->npending, sf_load_relaxed(&lt->npending) - 1);
}

/*
 * Take a waiting request out of both lists and account its wait; P and M
 * held.  The caller then publishes the outcome.
 */
static void req_retire(struct sf_locktree *lt, struct lm_request *q)
{
	struct sf_lockmgr *mgr = lt->mgr;

	pending_unlink(lt, q);
	reg_unlink(q);
	q->retired = 1;
	mgr->wait_ns += sf_now_ns() - q->start_ns;
}

/*
 * Publish the results of retired requests chained by ->dnext (R3): the
 * store of REQ_DONE is the last access to each; then wake its waiter.
 */
static void publish(struct lm_request *done)
{
	struct lm_request *q, *next;

	for (q = done; q; q = next) {
		next = q->dnext;
		/* TSAN: the grant happens before the waiter's return. */
		sf_tsan_release(&q->state);
		sf_store_release(&q->state, REQ_DONE);
		sf_wake(&q->state, 1, 0);
	}
}

/* ---- escalation ------------------------------------------------------- */


/* Units held by the tree's locks. */
static uint32_t tree_units(const struct lt_ranges *rs)
{
	return mem_units(rs->mem);
}

/*
 * Escalate one tree; P and L held, M iff @m_held.  Ranges grew, so every
 * waiting request of the tree gets its blockers recomputed, and one whose
 * new edges close a cycle fails with EDEADLK (R4 c): retired and chained
 * on *@done for the caller to publish.
 */
static void escalate_tree(struct sf_locktree *lt, int m_held,
			  struct lm_request **done)
{
	struct sf_lockmgr *mgr = lt->mgr;
	struct lm_request *p, *next;
	uint32_t before = tree_units(&lt->rs), after;
	size_t merged = lt_escalate(&lt->rs);
	struct txnset conf;

	lt->escalations++;
	if (!merged)
		return;
	lt->escalated += merged;
	after = tree_units(&lt->rs);
	if (before > after)
		sf_fetch_sub(&mgr->mem_units, before - after);
	else
		sf_fetch_add(&mgr->mem_units, after - before);
	if (sf_list_empty(&lt->pending))
		return;
	txnset_init(&conf);
	if (!m_held)
		sf_mutex_lock(&mgr->mutex);
	sf_list_for_each(p, &lt->pending, struct lm_request, pnode) {
		if (!req_waiting(p))
			continue;
		conflicts_of(lt, p, &conf);
		if (!req_same_blockers(p, &conf)) {
			req_set_blockers(p, &conf);
			rep_add(p);
		}
	}
	sf_list_for_each_safe(p, next, &lt->pending, struct lm_request, pnode) {
		if (!req_waiting(p) || !closes_cycle(mgr, p))
			continue;
		dl_found(mgr, p, 0);
		p->result = EDEADLK;
		req_retire(lt, p);
		mgr->deadlocks++;
		p->dnext = *done;
		*done = p;
	}
	if (!m_held)
		sf_mutex_unlock(&mgr->mutex);
	txnset_fini(&conf);
}

/* Escalate every tree of the manager; nothing held.  T, then P, L per tree. */
static void escalate_all(struct sf_lockmgr *mgr)
{
	sf_mutex_lock(&mgr->trees_mutex);
	for (struct sf_locktree *lt = mgr->trees; lt; lt = lt->next) {
		struct lm_request *done = NULL;

		sf_mutex_lock(&lt->pending_mutex);
		sf_mutex_lock(&lt->locks_mutex);
		escalate_tree(lt, 0, &done);
		sf_mutex_unlock(&lt->locks_mutex);
		publish(done);
		sf_mutex_unlock(&lt->pending_mutex);
	}
	sf_mutex_unlock(&mgr->trees_mutex);
}

/* ---- retry pass (R2, R6) ----------------------------------------------- */

struct pass {
	struct txnset conf;
	struct lm_request *done;	/* retired: DONE to be published */
	struct lm_request *woken;	/* REQ_RETRY: to be woken */
	uint64_t served;
	int escalated;			/* the tree escalated in this pass */
};

/*
 * Grant a waiting request in a pass (a hand-off, R6); P and L held, M
 * taken here.  Over the memory limit, the tree is escalated once per pass,
 * which may retire other requests: the caller then starts again from the
 * head (return 1).
 */
static int pass_grant(struct sf_locktree *lt, struct lm_request *q,
		      struct pass *ps)
{
	struct sf_lockmgr *mgr = lt->mgr;
	int r, restart = 0;

	sf_mutex_lock(&mgr->mutex);
	if (sf_load_relaxed(&q->state) != REQ_PENDING)
		goto out;		/* killed since: its waiter takes it out */
	r = try_locked(lt, q, &ps->conf, 1);
	if (r == TRY_OVER_LIMIT && !ps->escalated) {
		struct lm_request *before = ps->done;

		ps->escalated = 1;
		restart = 1;
		escalate_tree(lt, 1, &ps->done);
		for (struct lm_request *v = ps->done; v != before; v = v->dnext)
			ps->served++;	/* deadlock victims */
		if (q->retired)
			goto out;
		r = try_locked(lt, q, &ps->conf, 1);
	}
	if (r == TRY_CONFLICT) {
		if (!req_same_blockers(q, &ps->conf)) {
			req_set_blockers(q, &ps->conf);
			rep_add(q);
		}
		goto out;
	}
	q->result = r == TRY_GRANTED ? 0 : r == TRY_OVER_LIMIT ? ENOLCK :
		    r == TRY_TXN_LIMIT ? EDQUOT : ENOMEM;
	if (r == TRY_OVER_LIMIT)
		lt->nolocks++;
	if (r == TRY_TXN_LIMIT)
		lt->quota++;
	req_retire(lt, q);
	/* Published after L is released: chain it for the caller. */
	q->dnext = ps->done;
	ps->done = q;
	ps->served++;
out:
	sf_mutex_unlock(&mgr->mutex);
	return restart;
}

/*
 * Try one waiting request in a pass; P and L held, M taken only for a
 * change (R4: the blockers are read under L).  A request that conflicts
 * gets its blockers set again; one that does not is woken to try for
 * itself (REQ_RETRY), unless its waiter lost such a race before
 * (->handoff) or SF_BROKEN(ALWAYS_HANDOFF): then it is granted here.
 * Return: 1 if the pass must start again from the head.
 */
static int pass_try(struct sf_locktree *lt, struct lm_request *q,
		    struct pass *ps)
{
	struct sf_lockmgr *mgr = lt->mgr;
	int covered;

	if (sf_load_relaxed(&q->state) != REQ_PENDING)
		return 0;	/* woken already, or killed */
	covered = conflicts_of(lt, q, &ps->conf);
	if (ps->conf.n && !covered) {
		if (!req_same_blockers(q, &ps->conf)) {
			sf_mutex_lock(&mgr->mutex);
			req_set_blockers(q, &ps->conf);
			sf_mutex_unlock(&mgr->mutex);
			rep_add(q);
		}
		return 0;
	}
	if (q->handoff || SF_BROKEN(ALWAYS_HANDOFF))
		return pass_grant(lt, q, ps);
	sf_mutex_lock(&mgr->mutex);
	if (sf_load_relaxed(&q->state) == REQ_PENDING) {
		q->nblockers = 0;	/* nothing conflicts (R4) */
		q->overflow = 0;
		sf_store_relaxed(&q->state, REQ_RETRY);
		q->wnext = ps->woken;
		ps->woken = q;
		lt->woken++;
	}
	sf_mutex_unlock(&mgr->mutex);
	return 0;
}

/* One pass over the pending list; P held. */
static void retry_pass(struct sf_locktree *lt)
{
	struct lm_request *q, *next, *w;
	struct pass ps = { .done = NULL, .woken = NULL };

	txnset_init(&ps.conf);
	sf_mutex_lock(&lt->locks_mutex);
	for (q = sf_list_first(&lt->pending, struct lm_request, pnode);
	     &q->pnode != &lt->pending; q = next) {
		/* q's successor stays linked unless an escalation ran. */
		next = sf_list_entry(q->pnode.next, struct lm_request, pnode);
		if (pass_try(lt, q, &ps))
			next = sf_list_first(&lt->pending, struct lm_request,
					     pnode);
	}
	sf_mutex_unlock(&lt->locks_mutex);
	txnset_fini(&ps.conf);
	SF_SYNC_POINT("lockmgr:retry-pass-publish", lt);
	/*
	 * Woken first: a woken request needs P to leave the lists, so it is
	 * still there; then the retired ones, whose DONE is the last access.
	 */
	for (q = ps.woken; q; q = w) {
		w = q->wnext;
		sf_wake(&q->state, 1, 0);
	}
	publish(ps.done);
	lt->passes++;
	lt->served += ps.served;
	if (ps.served > lt->served_max)
		lt->served_max = ps.served;
}

/* After a release that found waiters: see to it that a pass covers it. */
static void retry_all(struct sf_locktree *lt)
{
	uint32_t my, w;

#ifdef SF_TEST_HOOKS
	if (SF_BROKEN(RETRY_WHILE_RETRY)) {
		/*
		 * The old protocol: a pass clears the flag when it starts,
		 * and a release that finds it clear assumes the running
		 * pass covers it.
		 */
		sf_fetch_add(&lt->retry_asks, 1);
		SF_SYNC_POINT("lockmgr:retry-asked", lt);
		if (!sf_load_acquire(&lt->retry_needed))
			return;
		sf_mutex_lock(&lt->pending_mutex);
		sf_store_relaxed(&lt->retry_needed, 0);
		retry_pass(lt);
		SF_SYNC_POINT("lockmgr:retry-pass-end", lt);
		sf_mutex_unlock(&lt->pending_mutex);
		return;
	}
#endif

	sf_fetch_add(&lt->retry_asks, 1);
	my = sf_fetch_add(&lt->retry_want, 1) + 1;	/* the ticket (R2) */
	SF_SYNC_POINT("lockmgr:retry-asked", lt);
	sf_mutex_lock(&lt->pending_mutex);
	if ((int32_t)(my - lt->retry_done) > 0) {
		w = sf_load_acquire(&lt->retry_want);
		retry_pass(lt);
		SF_SYNC_POINT("lockmgr:retry-pass-end", lt);
		lt->retry_done = w;
	}
	sf_mutex_unlock(&lt->pending_mutex);
}

/* ---- manager and trees ------------------------------------------------------ */

SF_EXPORT int sf_lockmgr_create(struct sf_lockmgr **mgrp,
				const struct sf_lockmgr_config *cfg)
{
	struct sf_lockmgr *mgr;
	size_t limit = cfg ? cfg->max_lock_memory : 0;

	if (!mgrp || (uint64_t)limit > MEM_MAX_BYTES ||
	    (cfg && !SF_RESERVED_ZERO(cfg->reserved)))
		return EINVAL;
	mgr = calloc(1, sizeof(*mgr));
	if (!mgr)
		return ENOMEM;
	sf_mutex_init(&mgr->trees_mutex, NULL);
	sf_mutex_init(&mgr->mutex, NULL);
	sf_list_init(&mgr->reg);
	mgr->dl_ring = calloc(SF_LOCKMGR_DEADLOCK_RING, sizeof(*mgr->dl_ring));
	if (!mgr->dl_ring) {
		free(mgr);
		return ENOMEM;
	}
	mgr->dl_cap = SF_LOCKMGR_DEADLOCK_RING;
	mgr->max_units = limit_units(limit);
	mgr->max_bytes = limit ? limit : SF_LOCKMGR_DEFAULT_MEMORY;
	mgr->max_txn_locks = cfg ? cfg->max_txn_locks : 0;
	*mgrp = mgr;
	return 0;
}

SF_EXPORT int sf_lockmgr_destroy(struct sf_lockmgr *mgr)
{
	int busy;

	if (!mgr)
		return EINVAL;
	sf_mutex_lock(&mgr->trees_mutex);
	busy = mgr->trees != NULL;
	sf_mutex_unlock(&mgr->trees_mutex);
	if (busy)
		return EBUSY;
	sf_mutex_destroy(&mgr->trees_mutex);
	sf_mutex_destroy(&mgr->mutex);
	for (struct lm_cb *cb = mgr->cb, *o; cb; cb = o) {
		o = cb->older;
		free(cb);
	}
	for (uint32_t i = 0; i < mgr->dl_cap; i++)
		free(mgr->dl_ring[i]);
	free(mgr->dl_ring);
	free(mgr->killed);
	free(mgr);
	return 0;
}

SF_EXPORT int sf_lockmgr_set_blocker_callback(struct sf_lockmgr *mgr,
					      sf_lock_blocker_fn fn, void *arg)
{
	struct lm_cb *cb;

	if (!mgr)
		return EINVAL;
	cb = malloc(sizeof(*cb));
	if (!cb)
		return ENOMEM;
	cb->fn = fn;
	cb->arg = arg;
	sf_mutex_lock(&mgr->mutex);
	cb->older = mgr->cb;
	sf_store_ptr_release(&mgr->cb, cb);
	sf_mutex_unlock(&mgr->mutex);
	return 0;
}

SF_EXPORT int sf_lockmgr_set_max_txn_locks(struct sf_lockmgr *mgr,
					   unsigned int n)
{
	if (!mgr)
		return EINVAL;
	sf_store_relaxed(&mgr->max_txn_locks, n);
	return 0;
}

SF_EXPORT int sf_lockmgr_set_victim_policy(struct sf_lockmgr *mgr,
					   sf_lock_victim_fn fn, void *arg)
{
	if (!mgr)
		return EINVAL;
	sf_mutex_lock(&mgr->mutex);
	mgr->victim_fn = fn;
	mgr->victim_arg = arg;
	sf_mutex_unlock(&mgr->mutex);
	return 0;
}

SF_EXPORT int sf_lockmgr_set_deadlock_ring(struct sf_lockmgr *mgr,
					   unsigned int n)
{
	struct dl_blob **ring = NULL, **old;
	uint32_t oldcap;

	if (!mgr || n > DL_RING_MAX)
		return EINVAL;
	if (n && !(ring = calloc(n, sizeof(*ring))))
		return ENOMEM;
	sf_mutex_lock(&mgr->mutex);
	old = mgr->dl_ring;
	oldcap = mgr->dl_cap;
	/* keep the newest min(n, oldcap), in their slots of the new ring */
	for (uint64_t seq = mgr->dl_seq; old && n && seq > 0 &&
	     seq + oldcap > mgr->dl_seq && seq + n > mgr->dl_seq; seq--) {
		ring[(seq - 1) % n] = old[(seq - 1) % oldcap];
		old[(seq - 1) % oldcap] = NULL;
	}
	mgr->dl_ring = ring;
	mgr->dl_cap = n;
	sf_mutex_unlock(&mgr->mutex);
	for (uint32_t i = 0; old && i < oldcap; i++)
		free(old[i]);
	free(old);
	return 0;
}

SF_EXPORT int sf_lockmgr_deadlocks(struct sf_lockmgr *mgr,
				   sf_lock_deadlock_fn fn, void *arg)
{
	struct dl_blob **copy;
	uint32_t n = 0, cap;
	int r = 0;

	if (!mgr || !fn)
		return EINVAL;
	sf_mutex_lock(&mgr->mutex);
	cap = mgr->dl_cap;
	copy = cap ? calloc(cap, sizeof(*copy)) : NULL;
	if (cap && !copy)
		r = ENOMEM;
	/* oldest first: the slots after the newest, around the ring */
	for (uint32_t i = 0; copy && i < cap; i++) {
		uint64_t seq = mgr->dl_seq + 1 + i;	/* the slot of seq - cap */
		struct dl_blob *b = mgr->dl_ring[(seq - 1) % cap];

		if (!b)
			continue;
		copy[n] = malloc(b->size);
		if (!copy[n]) {
			r = ENOMEM;
			break;
		}
		memcpy(copy[n++], b, b->size);
	}
	sf_mutex_unlock(&mgr->mutex);
	for (uint32_t i = 0, stop = 0; i < n; i++) {
		struct sf_lock_wait_info wi[DL_MAX_CYCLE];
		struct sf_lock_deadlock d;

		if (!stop) {
			dl_view(copy[i], &d, wi);
			stop = fn(&d, arg);
		}
		free(copy[i]);
	}
	free(copy);
	return r;
}

SF_EXPORT int sf_lockmgr_set_max_memory(struct sf_lockmgr *mgr, size_t bytes)
{
	if (!mgr || (uint64_t)bytes > MEM_MAX_BYTES)
		return EINVAL;
	sf_store_relaxed(&mgr->max_units, limit_units(bytes));
	sf_store64_relaxed(&mgr->max_bytes,
			 bytes ? (uint64_t)bytes : SF_LOCKMGR_DEFAULT_MEMORY);
	return 0;
}

SF_EXPORT int sf_locktree_create(struct sf_lockmgr *mgr,
				 struct sf_locktree **ltp,
				 sf_lockkey_cmp_t cmp, void *cmp_arg)
{
	struct sf_locktree *lt;

	if (!mgr || !ltp)
		return EINVAL;
	lt = calloc(1, sizeof(*lt));
	if (!lt)
		return ENOMEM;
	if (lt_init(&lt->rs, cmp, cmp_arg)) {
		free(lt);
		return ENOMEM;
	}
	lt->mgr = mgr;
	sf_list_init(&lt->pending);
	sf_mutex_init(&lt->pending_mutex, NULL);
	sf_mutex_init(&lt->locks_mutex, NULL);
	sf_mutex_lock(&mgr->trees_mutex);
	lt->next = mgr->trees;
	mgr->trees = lt;
	mgr->ntrees++;
	sf_mutex_unlock(&mgr->trees_mutex);
	*ltp = lt;
	return 0;
}

SF_EXPORT int sf_locktree_destroy(struct sf_locktree *lt)
{
	struct sf_lockmgr *mgr;
	struct sf_locktree **p;
	int busy;

	if (!lt)
		return EINVAL;
	mgr = lt->mgr;
	sf_mutex_lock(&mgr->trees_mutex);
	sf_mutex_lock(&lt->pending_mutex);
	sf_mutex_lock(&lt->locks_mutex);
	busy = !sf_list_empty(&lt->pending) || lt->rs.nlocks;
	sf_mutex_unlock(&lt->locks_mutex);
	sf_mutex_unlock(&lt->pending_mutex);
	if (!busy) {
		for (p = &mgr->trees; *p != lt; p = &(*p)->next)
			;
		*p = lt->next;
		mgr->ntrees--;
	}
	sf_mutex_unlock(&mgr->trees_mutex);
	if (busy)
		return EBUSY;
	lt_fini(&lt->rs);
	sf_mutex_destroy(&lt->pending_mutex);
	sf_mutex_destroy(&lt->locks_mutex);
	free(lt);
	return 0;
}

SF_EXPORT int sf_locktree_set_escalation_barrier(struct sf_locktree *lt,
						 sf_lock_barrier_fn fn,
						 void *arg)
{
	if (!lt)
		return EINVAL;
	sf_mutex_lock(&lt->locks_mutex);
	lt->rs.barrier = fn;
	lt->rs.barrier_arg = arg;
	sf_mutex_unlock(&lt->locks_mutex);
	return 0;
}

SF_EXPORT int sf_lockmgr_stats(struct sf_lockmgr *mgr,
			       struct sf_lockmgr_stats *st)
{
	if (!mgr || !st)
		return EINVAL;
	memset(st, 0, sizeof(*st));
	sf_mutex_lock(&mgr->trees_mutex);
	for (struct sf_locktree *lt = mgr->trees; lt; lt = lt->next) {
		sf_mutex_lock(&lt->pending_mutex);
		sf_mutex_lock(&lt->locks_mutex);
		st->grants += lt->grants;
		st->out_of_locks += lt->nolocks;
		st->escalations += lt->escalations;
		st->escalated_locks += lt->escalated;
		st->nowait_busy += lt->nowait_busy;
		st->releases += lt->releases;
		st->retry_woken += lt->woken;
		st->retry_lost += lt->lost;
		st->over_txn_limit += lt->quota;
		st->locks += lt->rs.nlocks;
		st->lock_memory += lt->rs.mem;
		st->retry_passes += lt->passes;
		st->retry_served += lt->served;
		if (lt->served_max > st->retry_served_max)
			st->retry_served_max = lt->served_max;
		st->pending += sf_load_relaxed(&lt->npending);
		st->retry_asks += sf_load_relaxed(&lt->retry_asks);
		sf_mutex_unlock(&lt->locks_mutex);
		sf_mutex_unlock(&lt->pending_mutex);
	}
	st->trees = mgr->ntrees;
	sf_mutex_lock(&mgr->mutex);
	st->waits = mgr->waits;
	st->wait_ns = mgr->wait_ns;
	st->timeouts = mgr->timeouts;
	st->deadlocks = mgr->deadlocks;
	st->kills = mgr->kills;
	st->killed_clients = mgr->nkilled;
	sf_mutex_unlock(&mgr->mutex);
	sf_mutex_unlock(&mgr->trees_mutex);
	return 0;
}

/* Cancel @client's waiting requests (R3).  (M)  Return: how many. */
static int cancel_waiting(struct sf_lockmgr *mgr, uint64_t client)
{
	struct lm_request *q;
	int n = 0;

	sf_list_for_each(q, &mgr->reg, struct lm_request, rnode) {
		if (q->client_id != client || !req_waiting(q))
			continue;
		/* the waiter needs M to retire it, so *q stays */
		sf_store_release(&q->state, REQ_KILLED);
		sf_wake(&q->state, 1, 0);
		mgr->kills++;
		n++;
	}
	return n;
}

SF_EXPORT int sf_lockmgr_kill(struct sf_lockmgr *mgr, uint64_t client_id)
{
	int n;

	if (!mgr)
		return EINVAL;
	sf_mutex_lock(&mgr->mutex);
	n = cancel_waiting(mgr, client_id);
	sf_mutex_unlock(&mgr->mutex);
	return n ? 0 : ESRCH;
}

SF_EXPORT int sf_lockmgr_kill_client(struct sf_lockmgr *mgr,
				     uint64_t client_id)
{
	uint64_t *v;
	uint32_t cap;

	if (!mgr || client_id == SF_LOCK_CLIENT_TXNID)
		return EINVAL;
	sf_mutex_lock(&mgr->mutex);
	if (killed_index(mgr, client_id) >= 0) {
		sf_mutex_unlock(&mgr->mutex);
		return EALREADY;
	}
	if (mgr->nkilled == mgr->capkilled) {
		cap = mgr->capkilled ? mgr->capkilled * 2 : 8;
		v = cap > mgr->capkilled ?
		    realloc(mgr->killed, cap * sizeof(*v)) : NULL;
		if (!v) {
			sf_mutex_unlock(&mgr->mutex);
			return ENOMEM;
		}
		mgr->killed = v;
		mgr->capkilled = cap;
	}
	/* (K1) in the set first, then the waiting requests cancelled */
	mgr->killed[mgr->nkilled] = client_id;
	sf_store_release(&mgr->nkilled, mgr->nkilled + 1);
	cancel_waiting(mgr, client_id);
	sf_mutex_unlock(&mgr->mutex);
	return 0;
}

SF_EXPORT int sf_lockmgr_clear_kill(struct sf_lockmgr *mgr,
				    uint64_t client_id)
{
	long i;

	if (!mgr || client_id == SF_LOCK_CLIENT_TXNID)
		return EINVAL;
	sf_mutex_lock(&mgr->mutex);
	i = killed_index(mgr, client_id);
	if (i >= 0) {
		mgr->killed[i] = mgr->killed[mgr->nkilled - 1];
		sf_store_release(&mgr->nkilled, mgr->nkilled - 1);
	}
	sf_mutex_unlock(&mgr->mutex);
	return i >= 0 ? 0 : ESRCH;
}

/* ---- requests ------------------------------------------------------------ */

static int key_valid(const struct sf_lockkey *k)
{
	if (k->inf < SF_LOCKKEY_NEG_INF || k->inf > SF_LOCKKEY_POS_INF)
		return 0;
	return k->inf || k->data || !k->size;
}

/*
 * The caller's timed-out, killed or finished request: collect its result
 * and take it out of the lists if it is still there.  (P, L, M)
 */
static int req_collect(struct lm_request *q)
{
	struct sf_locktree *lt = q->lt;
	struct sf_lockmgr *mgr = lt->mgr;
	uint32_t s;
	int r;

	SF_SYNC_POINT("lockmgr:wait-collect", lt);
	sf_mutex_lock(&lt->pending_mutex);
	sf_mutex_lock(&lt->locks_mutex);
	sf_mutex_lock(&mgr->mutex);
	s = sf_load_acquire(&q->state);
	if (s == REQ_DONE) {
		r = q->result;
	} else if (s == REQ_KILLED) {
		req_retire(lt, q);
		r = q->kill_result ? q->kill_result : ECANCELED;	/* D1 */
	} else {
		req_retire(lt, q);
		mgr->timeouts++;
		r = ETIMEDOUT;
	}
	sf_store_relaxed(&q->state, REQ_IDLE);
	sf_mutex_unlock(&mgr->mutex);
	sf_mutex_unlock(&lt->locks_mutex);
	sf_mutex_unlock(&lt->pending_mutex);
	return r;
}

/*
 * (R6) The caller's request was woken to try for itself (REQ_RETRY): try
 * it under P, L and M.  Return: 0 granted; -1 it waits again (state back
 * to PENDING with its blockers, marked for a hand-off by the next pass);
 * -2 the same, but over the memory limit or out of memory, where the
 * caller runs a pass (which escalates, or fails it with ENOLCK or
 * ENOMEM); -3 no longer RETRY (killed, or failed by an escalation).
 */
static int req_retry(struct lm_request *q)
{
	struct sf_locktree *lt = q->lt;
	struct sf_lockmgr *mgr = lt->mgr;
	struct txnset conf;
	int t, r;

	txnset_init(&conf);
	sf_mutex_lock(&lt->pending_mutex);
	sf_mutex_lock(&lt->locks_mutex);
	sf_mutex_lock(&mgr->mutex);
	if (sf_load_relaxed(&q->state) != REQ_RETRY) {
		r = -3;
	} else if ((t = try_locked(lt, q, &conf, 1)) == TRY_GRANTED) {
		req_retire(lt, q);
		sf_store_relaxed(&q->state, REQ_IDLE);
		r = 0;
	} else {
		/* Lost: a running thread took it, or no room.  (R6) */
		if (t == TRY_CONFLICT) {
			req_set_blockers(q, &conf);
			rep_add(q);
		}
		q->handoff = 1;
		lt->lost++;
		sf_store_relaxed(&q->state, REQ_PENDING);
		r = t == TRY_CONFLICT ? -1 : -2;
	}
	sf_mutex_unlock(&mgr->mutex);
	sf_mutex_unlock(&lt->locks_mutex);
	sf_mutex_unlock(&lt->pending_mutex);
	txnset_fini(&conf);
	return r;
}

/*
 * S3-S5: the request conflicted in S1; put it in the pending list, try
 * once more (S4, R1), and if it still conflicts refuse it while its
 * transaction waits elsewhere (S5a), else record its blockers and look
 * for a cycle.  Return: 0, EINPROGRESS, EDEADLK, EBUSY, ECANCELED (S3b),
 * or -1 with a TRY_* in *@try_out that the caller handles (over limit:
 * escalate and start again; no memory).
 */
static int start_slow(struct sf_locktree *lt, struct lm_request *q,
		      struct txnset *conf, int *try_out)
{
	struct sf_lockmgr *mgr = lt->mgr;
	int r = TRY_CONFLICT;

	sf_mutex_lock(&lt->pending_mutex);
	sf_mutex_lock(&lt->locks_mutex);
	sf_mutex_lock(&mgr->mutex);
	/* S3 */
	pending_link(lt, q);
	sf_store_relaxed(&q->state, REQ_PENDING);
	q->start_ns = sf_now_ns();
	q->blockers = q->inl;
	q->nblockers = 0;
	q->capblockers = INLINE_BLOCKERS;
#ifdef SF_TEST_HOOKS
	if (SF_BROKEN(RETRY_WHILE_RETRY))
		sf_store_release(&lt->retry_needed, 1);
#endif
	reg_link(mgr, q);
	/* S3b (K1): killed since S0?  Refused, never waits. */
	if (!SF_BROKEN(KILL_BEFORE_WAIT) && mgr->nkilled &&
	    killed_index(mgr, q->client_id) >= 0) {
		req_retire(lt, q);
		sf_store_relaxed(&q->state, REQ_IDLE);
		mgr->kills++;
		sf_mutex_unlock(&mgr->mutex);
		sf_mutex_unlock(&lt->locks_mutex);
		sf_mutex_unlock(&lt->pending_mutex);
		return ECANCELED;
	}
	SF_SYNC_POINT("lockmgr:start-inserted", lt);
	/* S4 (R1): retried under P after the insertion. */
	if (!SF_BROKEN(RELEASE_BEFORE_WAIT))
		r = try_locked(lt, q, conf, 1);
	*try_out = r;
	if (r != TRY_CONFLICT) {
		req_retire(lt, q);
		sf_store_relaxed(&q->state, REQ_IDLE);
		r = r == TRY_GRANTED ? 0 : -1;
	} else if (txn_waits(mgr, q)) {
		/* S5a (R4): refused, unlinked as if never started. */
		pending_unlink(lt, q);
		reg_unlink(q);
		sf_store_relaxed(&q->state, REQ_IDLE);
		r = EBUSY;
	} else if (SF_BROKEN(EDGES_LATE)) {
		/* The blockers recorded after L, below: a release in between
		 * sees none and runs no pass. */
		mgr->waits++;
		lt->waits++;
		r = EINPROGRESS;
	} else {
		/* S5 (R4): the edges under L, with the try that found them. */
		struct lm_request *v = NULL;

		req_set_blockers(q, conf);
		if (closes_cycle(mgr, q))
			v = dl_found(mgr, q, 1);
		if (v == q) {
			req_retire(lt, q);
			sf_store_relaxed(&q->state, REQ_IDLE);
			mgr->deadlocks++;
			r = EDEADLK;
		} else {
			if (v) {
				/* (D1) another victim: its wait ends with
				 * EDEADLK, and this request waits */
				v->kill_result = EDEADLK;
				sf_store_release(&v->state, REQ_KILLED);
				sf_wake(&v->state, 1, 0);
				mgr->deadlocks++;
			}
			mgr->waits++;
			lt->waits++;
			rep_add(q);
			r = EINPROGRESS;
		}
	}
	sf_mutex_unlock(&mgr->mutex);
	sf_mutex_unlock(&lt->locks_mutex);
	sf_mutex_unlock(&lt->pending_mutex);
	if (r == EINPROGRESS) {
		SF_SYNC_POINT("lockmgr:start-waits", lt);
		if (SF_BROKEN(EDGES_LATE)) {
			sf_mutex_lock(&mgr->mutex);
			req_set_blockers(q, conf);
			sf_mutex_unlock(&mgr->mutex);
		}
	}
	return r;
}

static int request_start(struct sf_lock_request *req, struct sf_locktree *lt,
			 uint64_t txnid, uint64_t client_id, int mode,
			 const struct sf_lockkey *left,
			 const struct sf_lockkey *right)
{
	struct lm_request *q = to_req(req);
	struct txnset conf;
	int r, t, escalated = 0, nowait = mode & SF_LOCK_NOWAIT;

	mode &= ~SF_LOCK_NOWAIT;
	if (!req || !lt || !left || !key_valid(left) ||
	    (right && !key_valid(right)) ||
	    (mode != SF_LOCK_READ && mode != SF_LOCK_WRITE))
		return EINVAL;
	if (right && lt_keycmp(&lt->rs, left, right) > 0)
		return EINVAL;
	memset(q, 0, sizeof(*q));
	q->lt = lt;
	q->txnid = txnid;
	q->client_id = client_id == SF_LOCK_CLIENT_TXNID ? txnid : client_id;
	q->mode = mode;
	q->left = *left;
	q->point = !right;
	q->right = right ? *right : *left;
	q->blockers = q->inl;
	q->capblockers = INLINE_BLOCKERS;
	/* S0 (K1): a killed client's requests are refused. */
	if (sf_load_acquire(&lt->mgr->nkilled)) {
		struct sf_lockmgr *mgr = lt->mgr;

		sf_mutex_lock(&mgr->mutex);
		r = killed_index(mgr, q->client_id) >= 0;
		if (r)
			mgr->kills++;
		sf_mutex_unlock(&mgr->mutex);
		if (r)
			return ECANCELED;
	}
	txnset_init(&conf);
again:
	/* S1: the common case, under L alone. */
	sf_mutex_lock(&lt->locks_mutex);
	t = try_locked(lt, q, &conf, 0);
	if (t == TRY_CONFLICT && nowait) {
		/* NOWAIT: refused here, never pending (no wait, no search). */
		lt->nowait_busy++;
		sf_mutex_unlock(&lt->locks_mutex);
		txnset_fini(&conf);
		return EBUSY;
	}
	sf_mutex_unlock(&lt->locks_mutex);
	if (t == TRY_CONFLICT) {
		/* S2: here a release may run its retry pass (R1). */
		SF_SYNC_POINT("lockmgr:start-conflict", lt);
		r = start_slow(lt, q, &conf, &t);
		if (r >= 0) {
			txnset_fini(&conf);
			return r;
		}
	}
	if (t == TRY_OVER_LIMIT && !escalated) {
		escalated = 1;
		escalate_all(lt->mgr);
		goto again;
	}
	txnset_fini(&conf);
	if (t == TRY_GRANTED)
		return 0;
	if (t == TRY_TXN_LIMIT) {
		sf_mutex_lock(&lt->locks_mutex);
		lt->quota++;
		sf_mutex_unlock(&lt->locks_mutex);
		return EDQUOT;
	}
	if (t == TRY_OVER_LIMIT) {
		sf_mutex_lock(&lt->locks_mutex);
		lt->nolocks++;
		sf_mutex_unlock(&lt->locks_mutex);
		return ENOLCK;
	}
	return ENOMEM;
}

/*
 * What @q waits for, for /proc/syncfix/waiters: its transaction and one
 * of its blockers (the first), read under its tree's L, which every
 * change of the blockers holds (B1), never the manager-wide M; nothing
 * once it has none.
 */
static void req_waitfor(struct lm_request *q, struct sf_waitfor *who)
{
	struct sf_locktree *lt = q->lt;

	sf_mutex_lock(&lt->locks_mutex);
	who->kind = q->nblockers ? SF_WAITFOR_ID : SF_WAITFOR_NONE;
	who->owner = q->nblockers ? q->blockers[0] : 0;
	who->self = q->txnid;
	sf_mutex_unlock(&lt->locks_mutex);
}

SF_EXPORT int sf_lock_request_start(struct sf_lock_request *req,
				    struct sf_locktree *lt, uint64_t txnid,
				    uint64_t client_id, int mode,
				    const struct sf_lockkey *left,
				    const struct sf_lockkey *right)
{
	struct reports rep, *saved;
	int r;

	if (!lt)
		return EINVAL;
	saved = rep_begin(lt->mgr, &rep);
	r = request_start(req, lt, txnid, client_id, mode, left, right);
	rep_end(&rep, saved);
	return r;
}

static int request_wait(struct lm_request *q, clockid_t clockid,
			const struct timespec *abstime, uint32_t s)
{
	struct sf_waitfor who;
	int r;

	for (;;) {
		if (s == REQ_DONE) {
			/* Out of both lists already; the pass may still hold P. */
			sf_tsan_acquire(&q->state);
			sf_store_relaxed(&q->state, REQ_IDLE);
			return q->result;
		}
		if (s == REQ_KILLED)
			return req_collect(q);
		if (s == REQ_RETRY) {
			/* (R6) woken to try for itself */
			SF_SYNC_POINT("lockmgr:wait-retry", q->lt);
			r = req_retry(q);
			if (!r)
				return 0;
			if (r == -2)
				retry_all(q->lt);
			s = sf_load_acquire(&q->state);
			continue;
		}
		req_waitfor(q, &who);
		SF_SYNC_POINT("lockmgr:wait-sleep", q->lt);
		r = sf_wait_for(&q->state, REQ_PENDING, abstime, clockid,
				SF_WAIT_TAG_LOCKMGR, &who);
		s = sf_load_acquire(&q->state);
		if (r == ETIMEDOUT && s == REQ_PENDING)
			return req_collect(q);
	}
}

SF_EXPORT int sf_lock_request_wait(struct sf_lock_request *req,
				   clockid_t clockid,
				   const struct timespec *abstime)
{
	struct lm_request *q = to_req(req);
	struct sf_lockmgr *mgr;
	struct reports rep, *saved;
	uint32_t s;
	int r;

	if (!req)
		return EINVAL;
	if (abstime && (!sf_clock_valid(clockid) || !sf_timespec_valid(abstime)))
		return EINVAL;
	s = sf_load_acquire(&q->state);
	if (s == REQ_IDLE)
		return EINVAL;
	/* q may be gone when the wait returns: the manager read first */
	mgr = q->lt->mgr;
	saved = rep_begin(mgr, &rep);
	r = request_wait(q, clockid, abstime, s);
	rep_end(&rep, saved);
	return r;
}

SF_EXPORT int sf_lock_acquire(struct sf_locktree *lt, uint64_t txnid,
			      uint64_t client_id, int mode,
			      const struct sf_lockkey *left,
			      const struct sf_lockkey *right,
			      clockid_t clockid, const struct timespec *abstime)
{
	struct sf_lock_request req;
	int r;

	if (abstime && (!sf_clock_valid(clockid) || !sf_timespec_valid(abstime)))
		return EINVAL;
	r = sf_lock_request_start(&req, lt, txnid, client_id, mode, left,
				  right);
	if (r == EINPROGRESS)
		r = sf_lock_request_wait(&req, clockid, abstime);
	return r;
}

/* ---- releases (X1-X3) -------------------------------------------------- */

enum { REL_ALL, REL_RANGE, REL_AFTER };

/*
 * X2 (R4, R2): @txnid has just released locks in @lt (X1, L held).  Take
 * it out of the blockers of each waiting request of the tree it no longer
 * blocks (after a partial release, one it still conflicts with keeps it),
 * taking M only for such a change.  Return: 1 if a sleeping request
 * (PENDING) is left with no blocker (it may be grantable: a retry pass
 * must follow, X3), or if a request's blockers are incomplete; 0 if every
 * sleeping request is still blocked by another transaction, so that no
 * pass could grant anything (a woken one, RETRY, tries for itself: R6).
 */
static int release_edges(struct sf_locktree *lt, uint64_t txnid, int partial)
{
	struct lm_request *p;
	int need = 0, locked = 0;

	sf_list_for_each(p, &lt->pending, struct lm_request, pnode) {
		uint32_t i;

		if (p->overflow) {
			need = 1;
			continue;
		}
		for (i = 0; i < p->nblockers && p->blockers[i] != txnid; i++)
			;
		if (i == p->nblockers ||
		    (partial && lt_txn_conflicts(&lt->rs, txnid, p->mode,
						 &p->left, &p->right)))
			continue;
		if (!locked) {
			sf_mutex_lock(&lt->mgr->mutex);
			locked = 1;
		}
		p->blockers[i] = p->blockers[--p->nblockers];
		rep_add(p);
		/* A woken request (RETRY) tries for itself, after X1 or
		 * recording the blockers that X2 here then sees (R6). */
		if (!p->nblockers &&
		    sf_load_relaxed(&p->state) == REQ_PENDING)
			need = 1;
	}
	if (locked)
		sf_mutex_unlock(&lt->mgr->mutex);
	return need;
}

/*
 * X1-X3: release @txnid's locks in @lt chosen by @how (all; those within
 * [@left, @right]; those added after lock number @seq), then run the
 * retry pass that X2 asks for.  Return: locks released.
 */
static size_t release(struct sf_locktree *lt, uint64_t txnid, int how,
		      const struct sf_lockkey *left,
		      const struct sf_lockkey *right, uint64_t seq)
{
	struct sf_lockmgr *mgr = lt->mgr;
	struct reports rep, *saved = rep_begin(mgr, &rep);
	uint32_t before;
	size_t n;
	int need = 0;

	/* X1 */
	sf_mutex_lock(&lt->locks_mutex);
	before = tree_units(&lt->rs);
	n = how == REL_ALL ? lt_release_txn(&lt->rs, txnid) :
	    how == REL_RANGE ? lt_release_range(&lt->rs, txnid, left, right) :
	    lt_release_after(&lt->rs, txnid, seq);
	if (n) {
		lt->releases++;
		sf_fetch_sub(&mgr->mem_units, before - tree_units(&lt->rs));
		/* X2 (R1, R4) */
		if (sf_load_relaxed(&lt->npending))
			need = release_edges(lt, txnid, how != REL_ALL);
	}
	sf_mutex_unlock(&lt->locks_mutex);
	SF_SYNC_POINT("lockmgr:release-removed", lt);
	/* X3 (R2) */
	if (need)
		retry_all(lt);
	rep_end(&rep, saved);
	return n;
}

SF_EXPORT int sf_lock_release_all(struct sf_locktree *lt, uint64_t txnid)
{
	if (!lt)
		return EINVAL;
	release(lt, txnid, REL_ALL, NULL, NULL, 0);
	return 0;
}

SF_EXPORT int sf_lock_release(struct sf_locktree *lt, uint64_t txnid,
			      const struct sf_lockkey *left,
			      const struct sf_lockkey *right)
{
	if (!lt || !left || !key_valid(left) || (right && !key_valid(right)))
		return EINVAL;
	if (!right)
		right = left;
	if (lt_keycmp(&lt->rs, left, right) > 0)
		return EINVAL;
	return release(lt, txnid, REL_RANGE, left, right, 0) ? 0 : ENOENT;
}

/* The private layout of struct sf_lock_savepoint. */
struct lm_savepoint {
	const struct sf_locktree *lt;
	uint64_t txnid;
	uint64_t seq;
	uint64_t magic;
};

#define SAVEPOINT_MAGIC	0x73667370746c6b31ull	/* "sfsptlk1" */

_Static_assert(sizeof(struct lm_savepoint) <= sizeof(struct sf_lock_savepoint),
	       "struct sf_lock_savepoint too small");

SF_EXPORT int sf_lock_savepoint(struct sf_locktree *lt, uint64_t txnid,
				struct sf_lock_savepoint *sp)
{
	struct lm_savepoint *s = (struct lm_savepoint *)(void *)sp;

	if (!lt || !sp)
		return EINVAL;
	memset(sp, 0, sizeof(*sp));
	s->lt = lt;
	s->txnid = txnid;
	s->magic = SAVEPOINT_MAGIC;
	/* L orders it with every grant: those after it have larger numbers. */
	sf_mutex_lock(&lt->locks_mutex);
	s->seq = lt->rs.seq;
	sf_mutex_unlock(&lt->locks_mutex);
	return 0;
}

SF_EXPORT int sf_lock_rollback_to(struct sf_locktree *lt, uint64_t txnid,
				  const struct sf_lock_savepoint *sp)
{
	const struct lm_savepoint *s = (const struct lm_savepoint *)(const void *)sp;

	if (!lt || !sp || s->magic != SAVEPOINT_MAGIC || s->lt != lt ||
	    s->txnid != txnid)
		return EINVAL;
	release(lt, txnid, REL_AFTER, NULL, NULL, s->seq);
	return 0;
}

/* ---- limit, per-tree statistics, listings ------------------------------ */

SF_EXPORT int sf_lockmgr_get_max_memory(struct sf_lockmgr *mgr, size_t *bytes)
{
	if (!mgr || !bytes)
		return EINVAL;
	*bytes = (size_t)sf_load64_relaxed(&mgr->max_bytes);
	return 0;
}

SF_EXPORT int sf_locktree_stats(struct sf_locktree *lt,
				struct sf_locktree_stats *st)
{
	if (!lt || !st)
		return EINVAL;
	memset(st, 0, sizeof(*st));
	sf_mutex_lock(&lt->pending_mutex);
	sf_mutex_lock(&lt->locks_mutex);
	st->locks = lt->rs.nlocks;
	st->lock_memory = lt->rs.mem;
	st->txns = lt->rs.ntxns;
	st->pending = sf_load_relaxed(&lt->npending);
	st->grants = lt->grants;
	st->waits = lt->waits;
	st->nowait_busy = lt->nowait_busy;
	st->out_of_locks = lt->nolocks;
	st->escalations = lt->escalations;
	st->escalated_locks = lt->escalated;
	st->releases = lt->releases;
	st->retry_asks = sf_load_relaxed(&lt->retry_asks);
	st->retry_passes = lt->passes;
	st->retry_woken = lt->woken;
	st->retry_lost = lt->lost;
	st->over_txn_limit = lt->quota;
	sf_mutex_unlock(&lt->locks_mutex);
	sf_mutex_unlock(&lt->pending_mutex);
	return 0;
}

/*
 * A snapshot is one allocation: the entries, then the bytes they point
 * to (keys, blockers), sized under L before anything is copied, so that
 * nothing moves once copied.
 */
struct snap {
	char *buf, *end, *free;
};

static void *snap_take(struct snap *sn, size_t n, size_t align)
{
	uintptr_t p = ((uintptr_t)sn->free + align - 1) & ~(uintptr_t)(align - 1);

	if (p + n > (uintptr_t)sn->end)
		return NULL;	/* cannot happen: sized before */
	sn->free = (char *)(p + n);
	return (void *)p;
}

/* A copy of key @k in the snapshot (the bytes of a finite one). */
static struct sf_lockkey snap_key(struct snap *sn, const struct sf_lockkey *k)
{
	struct sf_lockkey c = *k;

	c.data = NULL;		/* never a pointer into the tree */
	if (k->inf)
		c.size = 0;
	else if (k->size && (c.data = snap_take(sn, k->size, 1)))
		memcpy((char *)c.data, k->data, k->size);
	else
		c.size = 0;
	return c;
}


struct lock_snap {
	struct snap sn;
	struct sf_lock_info *v;
	size_t n, cap;
	struct sf_locktree *lt;
	int only;		/* SF_BROKEN(LISTING_TORN): one mode a section */
};

static int lock_snap_fn(struct lt_lock *lk, void *arg)
{
	struct lock_snap *ls = arg;
	struct sf_lock_info *li;

	if (ls->only && lk->mode != ls->only)
		return 0;
	if (ls->n == ls->cap)
		return 1;	/* cannot happen: nlocks entries */
	li = &ls->v[ls->n++];
	memset(li, 0, sizeof(*li));
	li->tree = ls->lt;
	li->txnid = lk->txnid;
	li->mode = lk->mode;
	li->left = snap_key(&ls->sn, &lk->left);
	/* a point lock stores its key once (lt_add) */
	li->right = lk->right.data == lk->left.data && !lk->left.inf ?
		    li->left : snap_key(&ls->sn, &lk->right);
	return 0;
}

SF_EXPORT int sf_locktree_iterate(struct sf_locktree *lt, sf_lock_iter_fn fn,
				  void *arg)
{
	static const struct sf_lockkey lo = SF_LOCKKEY_MIN_INIT;
	static const struct sf_lockkey hi = SF_LOCKKEY_MAX_INIT;
	struct lock_snap ls = { .lt = lt };
	size_t bytes;
	int torn = SF_BROKEN(LISTING_TORN);

	if (!lt || !fn)
		return EINVAL;
	sf_mutex_lock(&lt->locks_mutex);
	/* rs.mem counts every lock's node and key bytes: room enough */
	ls.cap = lt->rs.nlocks;
	bytes = ls.cap * sizeof(*ls.v) + lt->rs.mem + 16;
	if (torn) {
		/* room for what the second section may find */
		ls.cap = 2 * ls.cap + 64;
		bytes = ls.cap * sizeof(*ls.v) + 2 * lt->rs.mem + 65536;
		ls.only = SF_LOCK_READ;
	}
	ls.sn.buf = malloc(bytes);
	if (!ls.sn.buf) {
		sf_mutex_unlock(&lt->locks_mutex);
		return ENOMEM;
	}
	ls.sn.end = ls.sn.buf + bytes;
	ls.sn.free = ls.sn.buf;
	ls.v = snap_take(&ls.sn, ls.cap * sizeof(*ls.v),
			 _Alignof(struct sf_lock_info));
	lt_overlaps(&lt->rs, &lo, &hi, lock_snap_fn, &ls);
	if (torn) {
		/* the broken protocol: the write locks in a second section */
		sf_mutex_unlock(&lt->locks_mutex);
		sched_yield();
		sf_mutex_lock(&lt->locks_mutex);
		ls.only = SF_LOCK_WRITE;
		lt_overlaps(&lt->rs, &lo, &hi, lock_snap_fn, &ls);
	}
	sf_mutex_unlock(&lt->locks_mutex);
	for (size_t i = 0; i < ls.n; i++)
		if (fn(&ls.v[i], arg))
			break;
	free(ls.sn.buf);
	return 0;
}

/* One tree's waiting requests, copied under its L. */
struct wait_snap {
	struct wait_snap *next;
	struct snap sn;
	struct sf_lock_wait_info *v;
	size_t n;
};

static struct wait_snap *wait_snap_tree(struct sf_locktree *lt)
{
	struct wait_snap *ws;
	struct lm_request *q;
	size_t n = 0, bytes = sizeof(*ws) + 16;

	sf_mutex_lock(&lt->locks_mutex);
	sf_list_for_each(q, &lt->pending, struct lm_request, pnode) {
		if (!req_waiting(q))
			continue;
		n++;
		bytes += sizeof(struct sf_lock_wait_info) + 8 +
			 q->nblockers * sizeof(uint64_t) + key_bytes(&q->left) +
			 (q->point ? 0 : key_bytes(&q->right));
	}
	ws = malloc(bytes);
	if (ws) {
		ws->next = NULL;
		ws->n = 0;
		ws->sn.buf = (char *)(ws + 1);
		ws->sn.end = (char *)ws + bytes;
		ws->sn.free = ws->sn.buf;
		ws->v = snap_take(&ws->sn, n * sizeof(*ws->v),
				  _Alignof(struct sf_lock_wait_info));
		sf_list_for_each(q, &lt->pending, struct lm_request, pnode) {
			struct sf_lock_wait_info *wi;
			uint64_t *b;

			if (!req_waiting(q))
				continue;
			wi = &ws->v[ws->n++];
			memset(wi, 0, sizeof(*wi));
			wi->tree = lt;
			wi->txnid = q->txnid;
			wi->client_id = q->client_id;
			wi->mode = q->mode;
			wi->left = snap_key(&ws->sn, &q->left);
			wi->right = q->point ? wi->left :
				    snap_key(&ws->sn, &q->right);
			b = snap_take(&ws->sn, q->nblockers * sizeof(*b),
				      _Alignof(uint64_t));
			if (b && q->nblockers)
				memcpy(b, q->blockers, q->nblockers * sizeof(*b));
			wi->blockers = b;
			wi->nblockers = b ? q->nblockers : 0;
			wi->wait_start_ns = q->start_ns;
		}
	}
	sf_mutex_unlock(&lt->locks_mutex);
	return ws;
}

SF_EXPORT int sf_lockmgr_iterate_waits(struct sf_lockmgr *mgr,
				       sf_lock_wait_iter_fn fn, void *arg)
{
	struct wait_snap *head = NULL, **tail = &head, *ws, *next;
	int r = 0, stop = 0;

	if (!mgr || !fn)
		return EINVAL;
	/* T keeps the trees; each is stopped only for its own copy (L). */
	sf_mutex_lock(&mgr->trees_mutex);
	for (struct sf_locktree *lt = mgr->trees; lt; lt = lt->next) {
		ws = wait_snap_tree(lt);
		if (!ws) {
			r = ENOMEM;
			break;
		}
		*tail = ws;
		tail = &ws->next;
	}
	sf_mutex_unlock(&mgr->trees_mutex);
	for (ws = head; ws; ws = next) {
		next = ws->next;
		for (size_t i = 0; i < ws->n && !stop; i++)
			stop = fn(&ws->v[i], arg);
		free(ws);
	}
	return r;
}
