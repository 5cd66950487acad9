// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * commit.c - the commit sequencer: transactions, group commit,
 * visibility, waiting on transactions, appliers.
 *
 * The failure it prevents (MySQL Falcon bug #41194): transaction A set its
 * state to committed before its commit record reached the serial log;
 * transaction B read A's records, committed and made its own commit record
 * durable; a crash then left a log in which B depends on a transaction
 * that never committed.  Falcon's first fix (make the log write earlier)
 * then let a background "gopher" process A's commit record before A had
 * finished committing.  The order here:
 *
 *   (1) append   the commit record is appended to the log buffer
 *   (2) durable  the buffer holding it is written and flushed
 *   (3) visible  the transaction's slot in the state table gets its
 *                commit LSN, then the visibility watermark advances
 *                past it: from now on new snapshots see it
 *   (4) woken    its committer and every waiter are woken (event counter)
 *   (5) applied  only then is it queued to the appliers
 *
 * Nothing sees a transaction before (3), and (3) happens only after (2)
 * succeeded for its batch and every batch before it; appliers see it only
 * after (4).  (An asynchronous commit, sf_txn_commit_async(), takes (3)
 * before (2), once every commit before it has taken (3): A1-A5; its
 * appliers still wait for (2) and (4) of its batch.)  Sync points
 * (test-hook build) between the steps: "commit:appended" (committer,
 * after 1), "commit:flush" (leader, before 2), "commit:durable" (after
 * 2), "commit:visible" (after 3), "commit:woken" (after 4);
 * lib/commit/tests/commit-order.c holds a commit at each of them.
 *
 * State.  Everything below marked (m) is protected by log->m (an
 * sf_mutex).  Read without the mutex:
 *
 *   watermark   u64; every commit with LSN < watermark has finished (3).
 *               Stored (release) under m only, after the slots of the
 *               commits below it.  Never passes a synchronous commit
 *               that is not durable: it is set to the end of the buffer
 *               just flushed, or (A2) just past an asynchronous commit
 *               all of whose predecessors have finished; never lowered.
 *   tab         the status table (commit-status.c, S1-S5): the status
 *               of each recent or active id: CLOG_ST_ACTIVE (0),
 *               _ROLLED_BACK, _FAILED, _IN_DOUBT, or the commit LSN (>= 32:
 *               never a small value); set (release) under m, read without
 *               it.  Ids are 64-bit, handed out at begin under m.
 *   ev_seq      event counter: incremented (full barrier) under m after
 *               every change that a waiter may wait for (a batch finished,
 *               a rollback, a failure, buffer space freed).
 *   ev_waiters  number of threads that are or are about to be asleep on
 *               ev_seq.
 *   buf[i].seq, buf[i].waiters
 *               (B1) the same pair per buffer, for the committers whose
 *               commit record is in buf[i] (t->buf): incremented under m
 *               at step (4) of a batch, see Waking committers.
 *   zeroed      (m) (Z1) the file is written (records, or zeros) up to
 *               here; at open, the larger of the log end and the file size.
 *
 * A snapshot is a copy of the watermark.  Transaction T is visible to
 * snapshot S iff status[T] is a commit LSN < S.  Since status[T] is
 * stored before the watermark passes it (release/acquire), a snapshot that
 * includes T's LSN always finds the status filled; a snapshot taken
 * earlier has a smaller watermark and never sees T, even after T finished.
 * A status older than the horizon is forgotten (ESTALE, S5): T finished
 * long before, and whether a snapshot sees it is no longer known.
 *
 * Group commit.  Batches are numbered; batch k fills buf[k % nbufs].  The
 * buffer being filled is buf[active]; up to log->inflight (1, or up to 8
 * when asked for with max_flushes) earlier batches may be being written,
 * each by its own leader with its own io_uring; nbufs = inflight + 1.  A
 * committer that finds fewer batches in flight than that (and a non-empty
 * buffer) becomes a leader: it takes a ticket (batches++), moves active
 * to the next buffer, and writes and flushes its batch outside the mutex
 * for every commit record in it; the others wait on their buffer.  No
 * fixed delay: whoever arrives during a flush joins the next batch, and a
 * leader waits before taking its batch only for committers it knows are
 * coming (Gathering, below).  With k flushes at once the disk never idles
 * while a batch fills, and a device that serves several flushes at once
 * is kept busy, but each batch holds fewer commits.
 *
 * Order of batches.  The writes of two batches may complete in any order,
 * but their steps (3) and (4) run in ticket order: a leader waits (m,
 * ev_seq) until finished == its ticket.  So the watermark only grows, and
 * it only ever covers batches that are all durable: a durable batch k+1
 * stays invisible until batch k is durable too (its records may hold the
 * data records of a transaction that commits in k+1).  The buffer a new
 * leader moves to was last used by batch k+1-nbufs, which has finished
 * because at most inflight batches are unfinished.
 *
 * Failure.  When the write or flush of a batch fails the leader, under m
 * and in ticket order, records the error in log->failed, makes the
 * failure durable (F1-F3 at fail_batch_locked()), and marks every commit
 * of that batch and of the buffer being filled CLOG_ST_FAILED -- or
 * CLOG_ST_IN_DOUBT when the failure could not be made durable -- with that
 * error.  A batch after it fails with EIO even if its own write worked.
 * No watermark advance, no retry of the flush.  Afterwards begin, add and
 * commit return EIO until the log is reopened.
 *
 * Waking committers.  (B2) A committer waits for its own commit on its
 * buffer's counter, not on ev_seq: a finished batch wakes only what it
 * concerns.  (B3) At step (4) the leader increments the counter of its
 * batch's buffer (its committers are done: wake all) and, if the buffer
 * being filled holds commits, that one's too, waking one of them: a
 * flush slot has just become free, and it leads the next batch (or finds
 * that another thread already took it, and waits for that batch).  The
 * others there sleep on until their batch finishes.  When the batch
 * failed, the commits of the buffer being filled failed with it: all of
 * them are woken.  A committer sleeps in the buffer being filled only
 * after finding no free slot under m, and every slot freed is a step (4)
 * that wakes one of them, so a batch with waiting committers is never
 * left without a leader.  Waking all 64 committers at every flush (as
 * with ev_seq alone) cost half of them a wakeup, a lock and a sleep for
 * nothing on each flush; measured: lib/commit/bench/bench-commit.c.
 *
 * Ids never reused.  (I1) Ids below id_durable may be handed out, and
 * id_durable only grows when a CLOG_REC_IDS record with that limit is
 * durable: written by open itself (before any id of this open is handed
 * out), or appended by a begin and made durable by its batch (step 2:
 * flush_locked() raises id_durable to the buffer's id_limit).  Recovery
 * starts above the largest limit it finds and above every id in a
 * record, so an id handed out before a crash -- even by a transaction
 * whose records never reached the disk -- is never handed out again.
 * A checkpoint record carries the largest limit appended before it
 * (id_pending), and recovery counts it as one: the segments a checkpoint
 * recycles may hold the last CLOG_REC_IDS records, never the checkpoint.
 * (I2) A begin appends the next record (limit = next + id_reserve) once
 * fewer than id_reserve / 2 ids are left below the last one appended
 * (id_pending): it rides with the next flush, and a begin waits (leads a
 * flush, or sleeps on ev_seq) only when next reaches id_durable, after
 * id_reserve / 2 begins without a flush.  (I3) A reopen skips the ids
 * reserved and not used: at most id_reserve per open, of 2^64.
 *
 * Appliers' back-pressure.  (Q1) Each applier's queue holds what step
 * (5) gave it and it has not yet applied (len).  A leader never waits at
 * step (5) for room: it queues its whole batch.  (Q2) Instead, in
 * sf_txn_commit(), after its commit is done -- durable, visible, waiters
 * woken, and counted back (G2) so no gathering waits for it -- a
 * committer whose transaction goes to the appliers (t->keep) waits on
 * ev_seq until step (5) has queued it (t->queued) and no applier holds
 * more than applier_queue; step (5), and an applier that takes an item,
 * do N2/N3 on ev_seq while committers wait.  A committer leaves only
 * after its own transaction is counted in the queue and the queue is
 * within the bound, so each committer thread adds at most one
 * transaction above it: a queue holds at most applier_queue plus one per
 * committer thread, however slow its applier, and nothing waits before
 * it is visible.  An
 * applier thread's own commits never wait (it would wait for itself).
 * (Q3) Close stops the appliers after they have drained their queues, or
 * at its deadline (sf_clog_close_timed()) drops what is left: those
 * transactions are durable, and the next open replays them.
 *
 * Asynchronous commits (A1-A5, above async_visible_locked()) become
 * visible before they are durable, never ahead of an unfinished commit;
 * prepared transactions (P1-P5, above sf_txn_prepare()) stay in doubt
 * across crashes until resolved.
 *
 * Written next to their code, below: gathering before a flush (G1-G5,
 * above gather_over_locked()), the zeros kept ahead of the end (Z1-Z3,
 * above zero_ahead_locked()), and how a thread sleeps on an event counter
 * without missing a wakeup (W1-W4, N1-N3, above event_locked()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <syncfix/commit.h>
#include <syncfix/mutex.h>

#include "commit-int.h"
#include "internal.h"
#include "wait.h"

#define CLOG_INFLIGHT		SF_CLOG_MAX_FLUSHES

struct sf_txn {
	struct sf_clog *log;
	uint64_t id;
	uint64_t commit_lsn;
	struct sf_txn *batch_next;	/* (m) commits of one buffer */
	unsigned int buf;		/* (m) index of the buffer it is in */
	int result;			/* (m) valid when done */
	bool done;			/* (m) steps (1)-(4) over, or failed */
	bool logged;			/* has records in the log */
	bool keep;			/* keep copies of the records */
	bool queued;			/* (m) step (5) done (Q2) */
	bool async;			/* sf_txn_commit_async() (A1) */
	bool status_set;		/* (m) its commit's status is set (A1) */
	bool settled;			/* (m) counted out of nyoung (G1) */
	bool prepared;			/* prepare record durable (P1) */
	uint64_t first_lsn;		/* of its first record, or 0 (C1, P5) */
	uint32_t refs;			/* (m) committer, batch, appliers */
	/* copies for the appliers */
	unsigned char *copy;
	size_t copy_len, copy_cap;
	struct sf_commit_rec *recs;
	size_t nrecs, recs_cap;
};

/* A prepared transaction whose handle was released (P6). */
struct clog_released {
	struct clog_released *next;
	struct sf_txn *txn;		/* (m) NULL once resolving */
	uint64_t id;
	int state;			/* (m) as clog_indoubt.state */
};

struct clog_buf {
	unsigned char *data;
	size_t len;
	uint64_t off;			/* LSN of data[0] */
	uint64_t id_limit;		/* (I1) largest CLOG_REC_IDS in it */
	struct sf_txn *commits, **tail;	/* commit records, in LSN order */
	uint32_t seq, waiters;		/* committers' event counter (B1) */
};

struct applier_item {
	struct applier_item *next;
	struct sf_txn *txn;
};

struct applier {
	struct applier *next;
	struct sf_clog *log;
	sf_clog_apply_fn fn;
	void *arg;
	pthread_t thread;
	struct applier_item *head, **tail;	/* (m) */
	uint32_t len;			/* (m) items queued (Q1) */
	uint32_t seq;			/* bumped (m) when an item is queued */
	bool stop;			/* (m) drain, then end */
	bool drop;			/* (m) end now: the close's deadline */
};

struct sf_clog {
	sf_mutex_t m;
	struct clog_io io[CLOG_INFLIGHT];	/* one per batch in flight */
	int fd;
	size_t cap;
	struct clog_buf buf[CLOG_INFLIGHT + 1];
	unsigned int inflight;		/* batches written at once: 1..8 */
	unsigned int active;		/* (m) the buffer being filled */
	int failed;			/* (m) */
	bool read_only;			/* SF_CLOG_READ_ONLY */
	bool in_doubt;			/* (m) the failure is not durable (F3) */
	uint64_t durable;		/* (m) end of the durable log */
	uint64_t zeroed;		/* (m) file written up to here (Z1) */
	uint64_t zero_ahead;		/* 0: none; see zero_ahead_locked() */
	uint64_t watermark;		/* see the top */
	uint32_t ev_seq, ev_waiters;
	struct clog_status tab;		/* ids and their status (S1-S5) */
	uint64_t id_durable, id_pending;	/* (m) (I1) (I2) */
	uint64_t id_reserve;
	uint32_t batch_base;		/* batch number of ticket 0 */
	uint32_t nactive;		/* (m) transactions begun, not ended */
	/* gathering (G1)-(G5) */
	uint32_t returning;		/* (m) done, committer not yet back */
	uint32_t nyoung;		/* (m) open, id >= young_base */
	uint64_t young_base;		/* (m) next id when a batch finished */
	unsigned int gather_pct;	/* 0: never; else % of flush_ewma */
	bool gathering, gather_stop, gather_kicked;	/* (m) */
	uint32_t gather_seq, gather_waiters;
	uint64_t flush_ewma_ns;		/* (m) recent write+flush latency */
	uint64_t batches;		/* (m) batches taken by leaders */
	uint64_t finished;		/* (m) batches through step (4) */
	uint64_t queued;		/* (m) batches through step (5) */
	uint32_t queue_waiters;		/* (m) leaders waiting to queue (5) */
	struct applier *appliers;	/* (m) */
	uint32_t applier_queue;		/* (Q1) the bound */
	uint32_t room_waiters;		/* (m) committers waiting (Q2) */
	/* asynchronous commits (A1)-(A5) */
	uint32_t unfinished;		/* (m) commits appended, status unset */
	uint64_t async_lsn;		/* (m) the last async commit's LSN */
	uint64_t async_since;		/* (m) when it became pending (ns) */
	uint64_t async_delay_ns;
	uint32_t async_seq, async_waiters;	/* the flusher sleeps here */
	bool flusher_on, flusher_stop;	/* (m) */
	pthread_t flusher;
	struct clog_indoubt_set indoubt;	/* earlier opens' (P4) */
	struct clog_released *released;	/* (m) this open's (P6) */
	struct sf_clog_stats st;	/* (m) */
	struct clog_segs segs;		/* the files (commit-segment.c) */
	uint64_t taken_end;		/* (m) end of the last batch taken */
	struct clog_unfinished unf;	/* (m) what a checkpoint keeps (C1) */
	sf_mutex_t ckpt_m;		/* one checkpoint at a time */
	uint64_t ckpt_lsn;		/* (m) the last durable checkpoint */
};

/* ---- small helpers -------------------------------------------------- */

/* The final status of @t (m held): S3 in commit-status.c. */
static void set_status_locked(struct sf_clog *log, struct sf_txn *t,
			      uint64_t v)
{
	clog_status_set_locked(&log->tab, t->id, v);
}

static void lock(struct sf_clog *log)
{
	sf_mutex_lock(&log->m);
}

static void unlock(struct sf_clog *log)
{
	sf_mutex_unlock(&log->m);
}

/*
 * Sleeping.  Waiter:  fetch_add(ev_waiters, 1)   (W1, full barrier)
 *                     seq = load(ev_seq)          (W2)
 *                     check its condition         (W3)
 *                     sf_wait(ev_seq, seq)        (W4)
 *             Waker:  change state                (N1)
 *                     fetch_add(ev_seq, 1)        (N2, full barrier)
 *                     if load(ev_waiters): wake   (N3)
 * If W3 missed N1, W2 came before N2, so either W4 sees the new value or
 * N3 (after N2, after W1) sees the waiter and wakes it.  Waiters holding m
 * for W1..W3 are simply ordered by m.
 */
/* (N2) (N3), called with m held: returns whether to wake after unlock. */
static bool event_locked(struct sf_clog *log)
{
	sf_fetch_add(&log->ev_seq, 1);
	return sf_load_relaxed(&log->ev_waiters) != 0;
}

static void wake_all(struct sf_clog *log, bool wake)
{
	if (wake)
		sf_wake(&log->ev_seq, INT_MAX, 0);
}

/*
 * (W1)-(W4) on @seq with m held for W1..W3; returns with m held.  @abs:
 * NULL, or a CLOCK_MONOTONIC deadline.  Return: 0 or ETIMEDOUT.
 */
int clog_wait_locked(sf_mutex_t *m, uint32_t *seq_p, uint32_t *waiters,
		     const struct timespec *abs)
{
	uint32_t seq;
	int r;

	sf_fetch_add(waiters, 1);
	seq = sf_load_acquire(seq_p);
	sf_mutex_unlock(m);
	r = sf_wait(seq_p, seq, abs, CLOCK_MONOTONIC, 0);
	sf_fetch_sub(waiters, 1);
	sf_mutex_lock(m);
	return r;
}

static int wait_on_locked(struct sf_clog *log, uint32_t *seq_p,
			  uint32_t *waiters, const struct timespec *abs)
{
	return clog_wait_locked(&log->m, seq_p, waiters, abs);
}

static void wait_event_locked(struct sf_clog *log)
{
	wait_on_locked(log, &log->ev_seq, &log->ev_waiters, NULL);
}

/*
 * (B2) A committer waits for its own batch on its buffer's counter, with
 * the same W1-W4 steps (m held for W1..W3; returns with m held).
 */
static void wait_buf_locked(struct sf_clog *log, struct clog_buf *b)
{
	wait_on_locked(log, &b->seq, &b->waiters, NULL);
}

/* (B3) N2 on a buffer's counter (m held): whether to wake after unlock. */
static bool buf_event_locked(struct clog_buf *b)
{
	sf_fetch_add(&b->seq, 1);
	return sf_load_relaxed(&b->waiters) != 0;
}

static void txn_free(struct sf_txn *t)
{
	free(t->copy);
	free(t->recs);
	free(t);
}

/* Drop one reference (m held); frees the transaction at the last one. */
static void txn_put_locked(struct sf_txn *t)
{
	if (--t->refs == 0)
		txn_free(t);
}

/* ---- appending and flushing ----------------------------------------- */

static void buf_reset(struct clog_buf *b, uint64_t off)
{
	b->len = 0;
	b->off = off;
	b->id_limit = 0;
	b->commits = NULL;
	b->tail = &b->commits;
}

/*
 * (4) for one commit (m held): its committer may go.  (G2) Counted in
 * returning until it is back in sf_txn_commit() and has ended it.
 */
static void set_done_locked(struct sf_clog *log, struct sf_txn *t)
{
	if (!t->done) {
		t->done = true;
		log->returning++;
	}
}

static const unsigned char zeros[1u << 16];
static bool fail_segments_locked(struct sf_clog *log, uint64_t off, long f);

/*
 * Write zeros over [@from, @to) of @fd (zeros ahead, Z2; a failed batch,
 * F2).  Return: where they reached: @to, or less after a failed write.
 */
static uint64_t write_zeros(int fd, uint64_t from, uint64_t to)
{
	while (from < to) {
		size_t n = to - from < sizeof(zeros) ? to - from : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)from);

		if (w <= 0)
			break;
		from += (uint64_t)w;
	}
	return from;
}

/*
 * The failure outcome.  SF_TXN_FAILED promises that the transaction is
 * never replayed: its commit record must not be found by a later open.
 * The records of the failed batch may be in the file already (a write
 * that worked and a flush that failed; the kernel may still write the
 * pages back later), so the failure is made durable before it is
 * reported:
 *   (F1) the cut: ftruncate() back to the batch's offset, then
 *        fdatasync(); recovery finds the file end there;
 *   (F2) if the cut or its flush fails: zeros written over everything
 *        from the batch's offset to the end of what was written, then
 *        fdatasync(); recovery reads zeros as the clean end (V2z), or as
 *        damage it cuts when a record of a later batch follows them;
 *   (F3) if that fails too, nothing on the device can be trusted to say
 *        either way: the commits are CLOG_ST_IN_DOUBT (SF_TXN_IN_DOUBT), not
 *        failed -- a later open may or may not replay them.
 * Return: whether the failure is durable (F1 or F2).  m held.
 */
static bool fail_batch_locked(struct sf_clog *log, uint64_t off,
			      uint64_t written)
{
	long f;

	/* "commit:cut": a test's fault makes the cut fail as EIO would. */
	f = SF_FAULT("commit:cut", log, off);
	if (log->segs.dirfd >= 0)
		return fail_segments_locked(log, off, f);
	if (f == SF_HOOK_NONE && ftruncate(log->fd, (off_t)off) == 0 &&
	    fdatasync(log->fd) == 0)
		return true;					/* (F1) */
	if (SF_BROKEN(CUT_IGNORED))
		return true;	/* the old code: failed, whatever the cut did */
	/* (F2); "commit:cut-zero": a test's fault fails the zeros. */
	return SF_FAULT("commit:cut-zero", log, off) == SF_HOOK_NONE &&
	       write_zeros(log->fd, off, written) == written &&
	       fdatasync(log->fd) == 0;
}

/*
 * A failed batch in a directory log: segments keep their size, so (F1)
 * is zeros over [@off, taken_end) -- every batch taken since, which
 * fails with it, across the segments they are in -- and an fdatasync of
 * each; there is nothing to truncate.  @f: the "commit:cut" fault.
 */
static bool fail_segments_locked(struct sf_clog *log, uint64_t off, long f)
{
	struct clog_segs *g = &log->segs;

	if (f != SF_HOOK_NONE || SF_FAULT("commit:cut-zero", log, off) !=
	    SF_HOOK_NONE)
		return SF_BROKEN(CUT_IGNORED);
	while (off < log->taken_end) {
		uint64_t i = clog_seg_of(g->size, off);
		uint64_t to = (i + 1) * g->size;

		if (to > log->taken_end)
			to = log->taken_end;
		if (clog_segs_zero(g, off, to))
			return false;
		off = clog_seg_first(g->size, i + 1);
	}
	return true;
}

/*
 * Fail every commit listed in @b with @err (m held); in doubt (F3) when
 * @written, their records may be in the file.
 */
static void fail_commits_locked(struct sf_clog *log, struct clog_buf *b,
				int err, bool written)
{
	for (struct sf_txn *t = b->commits; t; t = t->batch_next) {
		/* (P3) a prepared one is still prepared in the log */
		set_status_locked(log, t, written && log->in_doubt ?
				  CLOG_ST_IN_DOUBT : t->prepared ?
				  CLOG_ST_PREPARED : CLOG_ST_FAILED);
		log->unfinished -= !t->status_set;
		t->status_set = true;
		t->result = err;
		set_done_locked(log, t);
		log->st.failed_commits++;
	}
}

/* Queue the committed transactions of @list to every applier (m held). */
static void queue_appliers_locked(struct sf_clog *log, struct sf_txn *list)
{
	for (struct applier *a = log->appliers; a; a = a->next) {
		bool any = false;

		for (struct sf_txn *t = list; t; t = t->batch_next) {
			struct applier_item *it;

			if (!t->keep || !(it = malloc(sizeof(*it))))
				continue;	/* begun before the applier */
			it->next = NULL;
			it->txn = t;
			t->refs++;
			*a->tail = it;
			a->tail = &it->next;
			any = true;
			if (++a->len > log->st.applier_queue_max)
				log->st.applier_queue_max = a->len;
		}
		if (any) {
			sf_fetch_add(&a->seq, 1);
			sf_wake(&a->seq, 1, 0);
		}
	}
}

/* May one more leader start?  (m held)  Not while one gathers (G3). */
static bool can_lead(const struct sf_clog *log)
{
	return !log->gathering && log->batches - log->finished < log->inflight;
}

/* ---- gathering ------------------------------------------------------ */

/*
 * Gathering.  Without it, with one flush at a time, the committers split
 * into two halves: the half woken by a flush comes back while the other
 * half's batch is already being written, so every commit waits for two
 * flushes and a batch holds half of them.  A leader therefore first waits
 * for the committers that are coming:
 *   (G1) young: transactions begun since the last batch finished (step 4)
 *        and not yet committed or rolled back: nyoung counts the open
 *        ones with id >= young_base; step (4) sets young_base to the next id
 *        and nyoung to 0.  A transaction open across a finished batch is
 *        old and never waited for, so an idle long transaction costs
 *        nothing after one batch;
 *   (G2) returning: committers whose commit is done (set_done_locked())
 *        but who are not yet back in sf_txn_commit() to end it.
 *   (G3) gather_locked(), by a committer about to lead (can_lead(), its
 *        record in buf[active]), once per commit: gathering is set, so no
 *        other leader starts (can_lead() is false; committers append to
 *        the batch and sleep on their buffer); it sleeps on gather_seq
 *        until gather_over_locked(): nobody young or returning, the
 *        buffer more than half full, a record that finds no room
 *        (gather_stop), or the log failed; or until gather_pct % of the
 *        recent flush latency (flush_ewma_ns) has passed since it began.
 *        Then it takes the batch.  A single committer, or committers that
 *        all arrived, never wait: nobody is coming.
 *   (G4) whoever changes what gather_over_locked() reads (m held) calls
 *        gather_kick_locked(): the first time it finds the gathering over
 *        it does N2 and N3 on gather_seq (W1-W4 above event_locked(),
 *        gather_waiters).
 *        The wakeup is issued with m held: one per gathering.
 *   (G5) the limit bounds what a wrong guess costs: a coming transaction
 *        that does not commit soon (it waits for something, or the thread
 *        ends) delays one batch by at most gather_pct % of a flush.
 * Measured (lib/commit/bench/bench-commit.c; Documentation/commit.rst,
 * Benchmark): a batch holds all the committers instead of about half (62-63 of 64),
 * commits/s up to 1.4x at 4 and 16 committers; at 64 about even, the
 * wait for the committers to come back costing about what the second
 * flush did.
 */
/* (G2) Is nobody coming any more, or must the gathering stop?  (m held) */
static bool gather_over_locked(const struct sf_clog *log)
{
	return (!log->returning && !log->nyoung) || log->gather_stop ||
	       log->failed || log->buf[log->active].len > log->cap / 2;
}

/*
 * (G4) Called with m held after any change that gather_over_locked()
 * reads: the first time it finds the gathering over, N2 and N3 on
 * gather_seq.  At most one wakeup per gathering, so it is done here.
 */
static void gather_kick_locked(struct sf_clog *log)
{
	if (!log->gathering || log->gather_kicked || !gather_over_locked(log))
		return;
	log->gather_kicked = true;
	sf_fetch_add(&log->gather_seq, 1);
	if (sf_load_relaxed(&log->gather_waiters))
		sf_wake(&log->gather_seq, 1, 0);
}

/* (G1) A transaction no longer open: committed (appended) or rolled back. */
static void txn_settled_locked(struct sf_clog *log, struct sf_txn *t)
{
	if (t->settled)
		return;		/* prepared, then committed (P1) */
	t->settled = true;
	if (t->id >= log->young_base)
		log->nyoung--;
	gather_kick_locked(log);
}

/*
 * gather_locked() - (G3) before taking a batch, wait for the committers
 * that are coming, at most gather_pct % of the recent flush latency.  m
 * held, can_lead(); returns with m held, gathering over.
 */
static void gather_locked(struct sf_clog *log)
{
	uint64_t t0, limit = log->flush_ewma_ns * log->gather_pct / 100;
	struct timespec abs;
	bool timed_out = false;

	if (SF_BROKEN(NO_GATHER))
		limit = 0;	/* a flush starts as soon as a slot is free */
	if (!limit || gather_over_locked(log))
		return;
	t0 = sf_now_ns();
	abs.tv_sec = (time_t)((t0 + limit) / 1000000000u);
	abs.tv_nsec = (long)((t0 + limit) % 1000000000u);
	log->gathering = true;
	log->gather_stop = false;
	log->gather_kicked = false;
	unlock(log);
	SF_SYNC_POINT("commit:gather", log);
	lock(log);
	while (!timed_out && !gather_over_locked(log))
		timed_out = wait_on_locked(log, &log->gather_seq,
					   &log->gather_waiters, &abs) != 0 &&
			    !gather_over_locked(log);
	log->gathering = false;
	log->st.gathers++;
	log->st.gather_timeouts += timed_out;
	log->st.gather_ns_total += sf_now_ns() - t0;
}

/*
 * Zeros ahead.  (Z2) The leader taking a batch keeps zero_ahead bytes of
 * zeros written past its end (zero_ahead_locked()), so that the flushes
 * overwrite blocks already allocated and in the file instead of
 * appending: an fdatasync after an append must also commit the new size
 * and blocks to the file system's journal; after an overwrite it only
 * writes the data.  Recovery (commit-recover.c, V2z) reads zeros after the
 * last record as the clean end.  (Z3) A clean close cuts them off.
 */

/*
 * zero_ahead_locked() - (Z2) write zeros from the end of the batch being
 * taken (@end) or the end of the written file, whichever is further, to
 * zero_ahead past @end.  m held: every later batch is taken, and so
 * written, after these page-cache writes returned, and every earlier one
 * lies below @end, so no record is ever overwritten by zeros.  The flush
 * of the batch that follows makes them durable (an fdatasync covers the
 * whole file; RWF_DSYNC its own range and the file size, and blocks never
 * written read as zeros).  A failed write (ENOSPC) only stops the
 * zeroing: the batch's own write then appends as without it.
 */
static void zero_ahead_locked(struct sf_clog *log, uint64_t end)
{
	uint64_t from = log->zeroed > end ? log->zeroed : end;
	uint64_t to = (end + log->zero_ahead + 4095) & ~(uint64_t)4095;

	log->zeroed = write_zeros(log->fd, from, to);
}

/* ---- asynchronous commit -------------------------------------------- */

/*
 * Asynchronous commit.  Commit order is the order of the commit records
 * (their LSNs), synchronous and asynchronous alike.
 *   (A1) unfinished counts the commits appended whose status is not set
 *        yet (status_set: step 3, or a failure); m held for both.
 *   (A2) An asynchronous commit T, its record at c, is visible at once
 *        when unfinished was 0 at its append: every commit before it has
 *        its status and the watermark is past it (both stored under m by
 *        whoever set them).  T's status gets c, then the watermark moves
 *        to c + 32, the LSN of the next record: it still passes only
 *        finished commits, and a snapshot taken now sees T and nothing
 *        after it, so no snapshot ever changes.  The watermark is never
 *        lowered: step (3) stores the end of its batch only when larger.
 *   (A3) Else T waits behind them, as a synchronous committer waits, but
 *        on ev_seq (every step (4) is an event): when step (3) of a batch
 *        has made its commits visible, async_catch_up_locked() walks the
 *        commits after it in LSN order (batches in flight after it, then
 *        the buffer being filled) and makes each asynchronous one visible
 *        as in (A2) until it meets a synchronous one: T waits for the
 *        visibility of the commits before it, not for its own flush.  A
 *        synchronous commit is visible at step (3) of its batch only,
 *        after it is durable, as before.
 *   (A4) T stays in its buffer's commit list; the batch holds a reference
 *        from the append on (its committer may be gone before step 4),
 *        and step (5) queues it with its batch: appliers receive it only
 *        once durable, in commit order.  What a crash loses is therefore
 *        a suffix of the commit order: recovery keeps a prefix of the log
 *        (V2), and a synchronous commit that returned had its batch and
 *        every one before it durable -- every commit before it, among them
 *        everything it observed before it committed.  When T's batch
 *        fails, T becomes FAILED (or IN_DOUBT, F3) after having been
 *        visible, and so does every commit after it, a synchronous one
 *        that observed T included (it returns the error).
 *   (A5) The flusher: a thread started by the first asynchronous commit
 *        (when it cannot be started, the commit is made synchronous).
 *        It sleeps on async_seq until an asynchronous commit is pending
 *        (durable <= async_lsn), then until async_delay after the first
 *        one pending (async_since), then flushes to async_lsn as
 *        sf_clog_flush_to() does (leads the batch or waits for its
 *        leader).  Close writes everything buffered, then stops it.
 */
/* (A2) (A3) @t's commit visible: status, then the watermark past it. */
static void commit_visible_locked(struct sf_clog *log, struct sf_txn *t)
{
	set_status_locked(log, t, t->commit_lsn);
	t->status_set = true;
	log->unfinished--;
}

static void async_visible_locked(struct sf_clog *log, struct sf_txn *t)
{
	sf_tsan_release(&log->watermark);	/* see status_of() */
	commit_visible_locked(log, t);
	if (sf_load64_acquire(&log->watermark) < t->commit_lsn + CLOG_REC_HDR)
		sf_store64_release(&log->watermark,
				   t->commit_lsn + CLOG_REC_HDR);
}

/*
 * (A3) After step (3) of batch @ticket (m held): make visible the
 * asynchronous commits that waited only for it, in LSN order, up to the
 * first synchronous commit that is not visible.
 */
static void async_catch_up_locked(struct sf_clog *log, uint64_t ticket)
{
	for (uint64_t k = ticket + 1; log->unfinished && k <= log->batches;
	     k++) {
		struct clog_buf *b = &log->buf[k % (log->inflight + 1)];

		for (struct sf_txn *t = b->commits; t; t = t->batch_next) {
			if (t->status_set)
				continue;
			if (!t->async)
				return;
			async_visible_locked(log, t);
			set_done_locked(log, t);	/* (G2) it comes back */
		}
	}
}

/*
 * (A2) An asynchronous commit @t just appended (counted in unfinished,
 * m held): the batch's reference, visible now if nothing is unfinished
 * before it, and the flusher told.  Return: whether to wake ev_seq.
 */
static bool async_appended_locked(struct sf_clog *log, struct sf_txn *t)
{
	bool wake = false;

	t->async = true;
	t->refs++;		/* (A4) the batch's, until queued */
	if (log->unfinished == 1 || SF_BROKEN(ASYNC_VISIBLE_EARLY)) {
		async_visible_locked(log, t);
		t->done = true;	/* never counted in returning (G2) */
		wake = event_locked(log);
	}
	if (log->async_lsn < log->durable) {
		/* (A5) the first one pending: the delay starts now */
		log->async_since = sf_now_ns();
		sf_fetch_add(&log->async_seq, 1);
		if (sf_load_relaxed(&log->async_waiters))
			sf_wake(&log->async_seq, 1, 0);
	}
	log->async_lsn = t->commit_lsn;
	return wake;
}

/*
 * (A4) A buffer that will never reach step (5) (it failed before it was
 * taken): drop the batch's references of its asynchronous commits.
 */
static void async_unref_locked(struct clog_buf *b)
{
	for (struct sf_txn *t = b->commits, *next; t; t = next) {
		next = t->batch_next;
		if (t->async)
			txn_put_locked(t);
	}
}

static int flush_to_locked(struct sf_clog *log, uint64_t lsn);

/* (A5) The flusher thread. */
static void *flusher_main(void *arg)
{
	struct sf_clog *log = arg;

	lock(log);
	while (!log->flusher_stop) {
		uint64_t due = log->async_since + log->async_delay_ns;
		struct timespec abs = { (time_t)(due / 1000000000u),
					(long)(due % 1000000000u) };

		if (log->failed || log->durable > log->async_lsn)
			wait_on_locked(log, &log->async_seq,
				       &log->async_waiters, NULL);
		else if (sf_now_ns() < due)
			wait_on_locked(log, &log->async_seq,
				       &log->async_waiters, &abs);
		else if (flush_to_locked(log, log->async_lsn) == 0 &&
			 log->durable <= log->async_lsn)
			log->async_since = sf_now_ns();	/* none: later */
	}
	unlock(log);
	return NULL;
}

/* (A5) Is the flusher running (started now if not)?  m held. */
static bool async_flusher_locked(struct sf_clog *log)
{
	if (!log->flusher_on && !log->flusher_stop)
		log->flusher_on = pthread_create(&log->flusher, NULL,
						 flusher_main, log) == 0;
	return log->flusher_on;
}

/* (A5) Stop the flusher (m not held; close, after the last write). */
static void async_stop(struct sf_clog *log)
{
	bool on;

	lock(log);
	log->flusher_stop = true;
	on = log->flusher_on;
	sf_fetch_add(&log->async_seq, 1);
	unlock(log);
	if (!on)
		return;
	sf_wake(&log->async_seq, 1, 0);
	pthread_join(log->flusher, NULL);
}

/*
 * flush_locked() - become the leader of the next batch: write and flush
 * buf[active] for everyone whose records are in it.  Called with m held,
 * can_lead() and buf[active] not empty; returns with m held.
 */
static void flush_locked(struct sf_clog *log)
{
	struct clog_buf *b = &log->buf[log->active], *nb;
	struct sf_txn *list, *t, *next;
	uint64_t t0, dt, end = b->off + b->len, ticket = log->batches++, base;
	struct clog_io *io = &log->io[ticket % log->inflight];
	bool wake, wake_b, wake_nb, nb_failed = false;
	int err;

	/* (Z2) zeros ahead again once half of them have been used. */
	if (log->zero_ahead && end + log->zero_ahead / 2 > log->zeroed)
		zero_ahead_locked(log, end);
	/* Batch k fills buf[k % nbufs]; the one before it there finished. */
	log->active = (unsigned int)(log->batches % (log->inflight + 1));
	buf_reset(&log->buf[log->active], end);
	log->taken_end = end;
	clog_seg_progress_locked(&log->segs, end);	/* (P2) */
	/* A batch is in one segment (append_locked()): its file. */
	io->fd = clog_seg_fd_locked(&log->segs,
				    clog_seg_of(log->segs.size, b->off), NULL);
	base = log->segs.dirfd >= 0 ?
	       clog_seg_of(log->segs.size, b->off) * log->segs.size : 0;
	unlock(log);

	SF_SYNC_POINT("commit:flush", log);
	t0 = sf_now_ns();
	/* (2) durable */
	err = io->fd < 0 ? (errno ? errno : EIO)
	      : clog_io_write_durable(io, b->data, b->len, b->off - base);
	dt = sf_now_ns() - t0;
	if (!err)
		SF_SYNC_POINT("commit:durable", log);
	if (SF_BROKEN(APPLY_EARLY)) {
		/* Falcon's first patch: the gophers start once it is durable. */
		lock(log);
		if (!err)
			queue_appliers_locked(log, b->commits);
		unlock(log);
	}

	lock(log);
	/* Batches finish in order: the one before may still be writing. */
	while (log->finished != ticket)
		wait_event_locked(log);
	log->st.flush_ns_total += dt;
	if (dt > log->st.flush_ns_max)
		log->st.flush_ns_max = dt;
	/* (G3) the gathering limit follows the recent flushes (1/8 EWMA) */
	log->flush_ewma_ns = log->flush_ewma_ns ?
		log->flush_ewma_ns - log->flush_ewma_ns / 8 + dt / 8 : dt;
	if (!err && log->failed)
		err = EIO;	/* an earlier batch failed: ours may need it */
	if (err) {
		/* No visibility, no retry; cut the failed batch off. */
		if (!log->failed) {
			uint64_t written = log->zeroed > end ? log->zeroed : end;

			log->failed = err;
			log->st.error = err;
			log->in_doubt = !fail_batch_locked(log, b->off, written);
			log->zeroed = b->off;
		}
		fail_commits_locked(log, b, err, true);
		nb_failed = log->buf[log->active].commits != NULL;
		/* never written: failed, whatever the file says */
		fail_commits_locked(log, &log->buf[log->active], err, false);
		async_unref_locked(&log->buf[log->active]);	/* (A4) */
		buf_reset(&log->buf[log->active], log->buf[log->active].off);
	} else {
		log->st.flushes++;
		log->st.bytes_written += b->len;
		log->durable = end;
		if (b->id_limit > log->id_durable)
			log->id_durable = b->id_limit;	/* (I1) */
		/* (3) visible: the slots, then the watermark past them. */
		sf_tsan_release(&log->watermark);	/* see status_of() */
		for (t = b->commits; t; t = t->batch_next)
			if (!t->status_set)	/* (A3) async: visible already */
				commit_visible_locked(log, t);
		/* (A2) an async commit may have moved it past end already */
		if (sf_load64_acquire(&log->watermark) < end)
			sf_store64_release(&log->watermark, end);
		async_catch_up_locked(log, ticket);
		unlock(log);
		SF_SYNC_POINT("commit:visible", log);
		lock(log);
	}
	/* (4) woken: the committers and every waiter. */
	list = b->commits;
	for (t = list; t; t = t->batch_next) {
		set_done_locked(log, t);
		t->refs += !t->async;	/* the batch's, until queued (A4) */
	}
	buf_reset(b, end);
	log->finished++;
	if (!SF_BROKEN(GATHER_ALL)) {
		/* (G1) what is open now is older than this batch */
		log->young_base = log->tab.next;
		log->nyoung = 0;
	}
	gather_kick_locked(log);
	wake = event_locked(log);
	/*
	 * (B3) Our batch's committers, all of them; of the buffer being
	 * filled one, to lead it now that a flush slot is free (all of them
	 * when they failed with us).  The others there sleep on: each
	 * finished batch wakes one of them, and a woken one leads or finds
	 * its batch taken by another leader and waits for that.
	 */
	nb = &log->buf[log->active];
	wake_b = buf_event_locked(b);
	wake_nb = (nb->commits || nb_failed) && buf_event_locked(nb);
	unlock(log);
	if (wake_nb)
		sf_wake(&nb->seq, err ? INT_MAX : 1, 0);
	if (wake_b)
		sf_wake(&b->seq, INT_MAX, 0);
	wake_all(log, wake);
	if (!err)
		SF_SYNC_POINT("commit:woken", log);

	/*
	 * (5) applied: only now may the appliers see the batch, and only
	 * after the batches before it (the next leader may overtake us here).
	 */
	lock(log);
	while (log->queued != ticket) {
		log->queue_waiters++;
		wait_event_locked(log);
		log->queue_waiters--;
	}
	if (!err && !SF_BROKEN(APPLY_EARLY))
		queue_appliers_locked(log, list);
	for (t = list; t; t = next) {
		next = t->batch_next;
		t->queued = true;
		txn_put_locked(t);
	}
	log->queued++;
	if (log->queue_waiters || log->room_waiters) {
		wake = event_locked(log);
		unlock(log);
		wake_all(log, wake);
		lock(log);
	}
}

/*
 * (P2) The buffer @b is empty and what comes next does not fit in the
 * current segment: move on to the next one (commit-segment.c), once it
 * is ready and every batch before has finished -- so nothing is written
 * to a segment before the last batch of the one before is durable, and
 * zeros at a segment's end followed by a valid next segment are never a
 * torn batch (V2s).  With one flush at a time that costs nothing (the
 * next batch waits for the slot anyway); with more, at most the one
 * flush in flight.  If the segment cannot be prepared (P3), the log
 * fails -- after the batches in flight have finished, so that none of
 * them is failed after its records were durable.  m held; may drop it
 * while waiting (the caller then looks again).
 */
static void switch_segment_locked(struct sf_clog *log, struct clog_buf *b)
{
	int err;

	if (log->batches != log->finished) {
		wait_event_locked(log);
		return;
	}
	err = clog_seg_switch_locked(&log->segs);

	if (err == EAGAIN)
		return;		/* waited: look again */
	if (!err) {
		log->st.segment_switches++;
		b->off = clog_seg_first(log->segs.size, log->segs.cur);
		return;
	}
	while (log->batches != log->finished && !log->failed)
		wait_event_locked(log);
	if (!log->failed) {
		log->failed = err;
		log->st.error = err;
	}
	gather_kick_locked(log);
	if (event_locked(log))
		sf_wake(&log->ev_seq, INT_MAX, 0);
}

/*
 * append_locked() - (1) append a record of transaction @id (0: of the log
 * itself) to buf[active]; waits (or leads a flush) while the buffer has
 * no room.  m held.  Return: 0 or EIO.
 */
static int append_locked(struct sf_clog *log, uint64_t id, uint32_t type,
			 const void *data, size_t len, uint64_t *lsn)
{
	size_t need = CLOG_REC_HDR + len;
	struct clog_buf *b;
	unsigned char *p;

	for (;;) {
		uint64_t seg_end = (log->segs.cur + 1) * log->segs.size;

		if (log->failed)
			return EIO;
		b = &log->buf[log->active];
		if (b->len + need <= log->cap &&
		    b->off + b->len + need <= seg_end)
			break;
		if (!b->len) {
			/* (P2) the record starts the next segment */
			switch_segment_locked(log, b);
			continue;
		}
		if (can_lead(log)) {
			flush_locked(log);	/* b is not empty: need <= cap */
		} else {
			/* (G2) no room: a gathering must end now */
			log->gather_stop = true;
			gather_kick_locked(log);
			wait_event_locked(log);
		}
	}
	p = b->data + b->len;
	*lsn = b->off + b->len;
	if (len)
		memcpy(p + CLOG_REC_HDR, data, len);
	/* Batch k fills the buffer that ticket k takes (V2c). */
	clog_make_record(p, id, *lsn, type,
			 log->batch_base + (uint32_t)log->batches, len);
	b->len += need;
	log->st.records++;
	gather_kick_locked(log);
	return 0;
}

/* ---- open, close ---------------------------------------------------- */

static void clog_free(struct sf_clog *log)
{
	/* (P6) released and never resolved: in doubt for the next open */
	while (log->released) {
		struct clog_released *r = log->released;

		log->released = r->next;
		if (r->txn)
			txn_free(r->txn);
		free(r);
	}
	clog_indoubt_free(&log->indoubt);
	clog_segs_close(&log->segs);
	clog_unfinished_free(&log->unf);
	sf_mutex_destroy(&log->ckpt_m);
	clog_status_free(&log->tab);
	for (unsigned int i = 0; i < CLOG_INFLIGHT + 1; i++)
		free(log->buf[i].data);
	for (unsigned int i = 0; i < CLOG_INFLIGHT; i++)
		clog_io_exit(&log->io[i]);
	if (log->fd >= 0)
		close(log->fd);
	sf_mutex_destroy(&log->m);
	free(log);
}

/*
 * A log just created: its name must be durable before any commit in it
 * is acknowledged, or a power cut can lose the whole file (an fdatasync
 * of the file does not cover its directory entry).  Return: 0 or errno.
 */
static int sync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	size_t n = strlen(path);
	const char *slash;
	int fd, err = 0;

	/* "a/log/" names log in a: the trailing slashes are not its own */
	while (n > 1 && path[n - 1] == '/')
		n--;
	slash = memrchr(path, '/', n);
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return ENAMETOOLONG;
	if (SF_FAULT("commit:dir-fsync", path, 0) != SF_HOOK_NONE)
		return EIO;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (fsync(fd))
		err = errno;
	close(fd);
	if (!err)
		SF_SYNC_POINT("commit:dir-synced", dir);	/* what was synced */
	return err;
}

/* Write all of @len bytes at @off and fdatasync.  Return: 0 or errno. */
static int write_durable_at(int fd, const void *buf, size_t len, uint64_t off)
{
	ssize_t n = pwrite(fd, buf, len, (off_t)off);

	if (n != (ssize_t)len)
		return n < 0 ? errno : EIO;
	return fdatasync(fd) ? errno : 0;
}

/* A version 1 or 2 log: its header rewritten as version 3, in place. */
static int upgrade_header(int fd)
{
	unsigned char h[CLOG_HDR_SIZE];

	clog_make_header(h, CLOG_VERSION, 0, 0);
	return write_durable_at(fd, h, sizeof(h), 0);
}

/*
 * (I1) A durable CLOG_REC_IDS record at *@off (moved to the next
 * segment when it does not fit, P2; *@off is then where it went): ids
 * below @limit may go.  m held.
 */
static int write_ids_record(struct sf_clog *log, uint64_t *off,
			    uint64_t limit, uint32_t batch)
{
	struct clog_segs *g = &log->segs;
	unsigned char r[CLOG_REC_HDR + CLOG_IDS_LEN];
	int err, fd;

	while (*off + sizeof(r) > (g->cur + 1) * g->size) {
		err = clog_seg_switch_locked(g);
		if (err && err != EAGAIN)
			return err;
		if (!err)
			*off = clog_seg_first(g->size, g->cur);
	}
	fd = clog_seg_fd_locked(g, g->cur, NULL);
	if (fd < 0)
		return errno;
	clog_put64(r + CLOG_REC_HDR, limit);
	clog_make_record(r, 0, *off, CLOG_REC_IDS, batch, CLOG_IDS_LEN);
	return write_durable_at(fd, r, sizeof(r),
				*off - (g->dirfd >= 0 ? g->cur * g->size : 0));
}

/*
 * The files at @path: a directory of segments, or a single file (made
 * when @path does not exist: a directory of segments of @new_seg bytes
 * unless @want_dir is false).  @seg: the segment size asked for (0: any;
 * an existing directory's must match).  Return: 0 or errno; *@created: a
 * new single file.
 */
static int open_files(struct sf_clog *log, const char *path, uint64_t seg,
		      uint64_t new_seg, bool want_dir,
		      struct sf_clog_recovery *rep, bool *created)
{
	struct stat st;
	int err;

	if (stat(path, &st) == 0 ? S_ISDIR(st.st_mode)
				 : errno == ENOENT && want_dir &&
				   !log->read_only) {
		bool made = stat(path, &st) != 0;

		err = clog_segs_open(&log->segs, path, seg, new_seg, made,
				     log->read_only, rep);
		if (!err && made)
			err = sync_dir_of(path);	/* the directory's name */
		return err;
	}
	log->fd = open(path, (log->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (log->fd < 0 && errno == ENOENT && !log->read_only) {
		log->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		*created = log->fd >= 0;
		if (log->fd < 0 && errno == EEXIST)	/* created meanwhile */
			log->fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (log->fd < 0)
		return errno;
	clog_segs_single(&log->segs, log->fd);
	if (flock(log->fd, (log->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? EBUSY : errno;
		if (err == EBUSY)
			snprintf(rep->reason, sizeof(rep->reason),
				 "the log is open elsewhere (flock)");
		return err;
	}
	return 0;
}

SF_EXPORT int sf_clog_open(const char *path, const struct sf_clog_options *opt,
			   sf_clog_t **out, struct sf_clog_recovery *rep)
{
	struct sf_clog_recovery dummy;
	struct clog_found found = { 0 };
	struct sf_clog *log;
	struct stat st;
	uint64_t end, next, seg, new_seg;
	bool created = false;
	size_t cap;
	int err;

	if (!rep)
		rep = &dummy;
	memset(rep, 0, sizeof(*rep));
	if (!path || !out)
		return EINVAL;
	cap = opt && opt->buffer_size ? opt->buffer_size
				       : SF_CLOG_DEFAULT_BUFFER;
	if (cap < SF_CLOG_MIN_BUFFER || cap > SF_CLOG_MAX_BUFFER ||
	    (opt && (opt->io < SF_CLOG_IO_AUTO || opt->io > SF_CLOG_IO_PWRITEV ||
		     opt->max_flushes > CLOG_INFLIGHT ||
		     (opt->zero_ahead > SF_CLOG_MAX_ZERO_AHEAD &&
		      opt->zero_ahead != SF_CLOG_NO_ZERO_AHEAD) ||
		     (opt->gather_pct > 100 &&
		      opt->gather_pct != SF_CLOG_NO_GATHER) ||
		     (opt->status_horizon &&
		      (opt->status_horizon < SF_CLOG_MIN_HORIZON ||
		       opt->status_horizon > SF_CLOG_MAX_HORIZON)) ||
		     opt->applier_queue > SF_CLOG_MAX_APPLIER_QUEUE ||
		     opt->async_delay_us > SF_CLOG_MAX_ASYNC_DELAY_US ||
		     (opt->id_reserve &&
		      (opt->id_reserve < SF_CLOG_MIN_ID_RESERVE ||
		       opt->id_reserve > SF_CLOG_MAX_ID_RESERVE)) ||
		     (opt->flags & ~(SF_CLOG_READ_ONLY | SF_CLOG_SALVAGE |
				     SF_CLOG_SEGMENTED |
				     SF_CLOG_SINGLE_FILE)) ||
		     ((opt->flags & SF_CLOG_SINGLE_FILE) &&
		      (opt->segment_size ||
		       (opt->flags & SF_CLOG_SEGMENTED))) ||
		     (opt->segment_size &&
		      (opt->segment_size < SF_CLOG_MIN_SEGMENT ||
		       opt->segment_size > SF_CLOG_MAX_SEGMENT ||
		       opt->segment_size % 4096 ||
		       opt->segment_size < 2 * cap)))))
		return EINVAL;	/* reserved[0] was padding: not read */
	seg = opt ? opt->segment_size : 0;
	/* (N1, commit-segment.c) a default segment holds two buffers */
	new_seg = seg ? seg : 2 * cap > SF_CLOG_DEFAULT_SEGMENT ?
		  (2 * cap + 4095) / 4096 * 4096 : SF_CLOG_DEFAULT_SEGMENT;
	log = calloc(1, sizeof(*log));
	if (!log)
		return ENOMEM;
	sf_mutex_init(&log->m, NULL);
	sf_mutex_init(&log->ckpt_m, NULL);
	clog_segs_init(&log->segs, &log->m);
	log->fd = -1;
	log->cap = cap;
	log->inflight = opt && opt->max_flushes ? opt->max_flushes : 1;
	log->zero_ahead = !opt || !opt->zero_ahead ? SF_CLOG_DEFAULT_ZERO_AHEAD
			  : opt->zero_ahead == SF_CLOG_NO_ZERO_AHEAD ? 0
			  : opt->zero_ahead;
	log->gather_pct = !opt || !opt->gather_pct ? SF_CLOG_DEFAULT_GATHER
			  : opt->gather_pct == SF_CLOG_NO_GATHER ? 0
			  : opt->gather_pct;
	log->applier_queue = opt && opt->applier_queue ? opt->applier_queue
			     : SF_CLOG_DEFAULT_APPLIER_QUEUE;
	log->async_delay_ns = 1000ull * (opt && opt->async_delay_us ?
					 opt->async_delay_us :
					 SF_CLOG_DEFAULT_ASYNC_DELAY_US);
	log->read_only = opt && (opt->flags & SF_CLOG_READ_ONLY);
	err = open_files(log, path, seg, new_seg,
			 !(opt && (opt->flags & SF_CLOG_SINGLE_FILE)), rep,
			 &created);
	if (!err && log->segs.dirfd >= 0 && log->segs.size < 2 * cap) {
		/* (N1) an existing directory of smaller segments */
		if (opt && opt->buffer_size) {
			snprintf(rep->reason, sizeof(rep->reason),
				 "buffer_size %zu is more than half of the "
				 "log's segments (%llu bytes)", cap,
				 (unsigned long long)log->segs.size);
			err = EINVAL;
		}
		log->cap = cap = (size_t)(log->segs.size / 2);
	}
	if (err)
		goto fail;
	err = clog_recover(&log->segs, opt, rep, &found);
	if (!err && created)
		err = sync_dir_of(path);
	if (!err && found.version < CLOG_VERSION && !log->read_only)
		err = upgrade_header(log->fd);
	if (err)
		goto fail;
	end = found.end;
	log->ckpt_lsn = found.ckpt_lsn;
	log->unf.bucket = log->segs.dirfd >= 0 ? log->segs.size
						: CLOG_CB_BUCKET;
	log->segs.cur = log->segs.ready = log->segs.want = found.end_seg;
	if (log->segs.dirfd >= 0) {
		/* (P2) the next one now if the log is past the middle */
		lock(log);
		clog_seg_progress_locked(&log->segs, end);
		unlock(log);
		log->zero_ahead = 0;	/* a segment is zeros when ready (P1) */
	}
	next = found.next_txn;
	log->id_reserve = opt && opt->id_reserve ? opt->id_reserve
			  : SF_CLOG_DEFAULT_ID_RESERVE;
	log->batch_base = found.next_batch;
	if (SF_BROKEN(IDS_UNRESERVED) || log->read_only) {
		/* The old code: the next id is whatever the log shows. */
		log->id_durable = log->id_pending = UINT64_MAX;
	} else if (!err) {
		/* (I1) before any id of this open is handed out */
		log->id_durable = log->id_pending = next + log->id_reserve;
		lock(log);
		err = write_ids_record(log, &end, log->id_durable,
				       log->batch_base++);
		unlock(log);
		end += CLOG_REC_HDR + CLOG_IDS_LEN;
	}
	if (err)
		goto fail;
	err = clog_status_init(&log->tab, &log->m, next,
			       opt && opt->status_horizon ? opt->status_horizon
			       : SF_CLOG_DEFAULT_HORIZON);
	/* (P4) the earlier opens' transactions in doubt, ids below next */
	log->indoubt = found.indoubt;
	found.indoubt = (struct clog_indoubt_set){ 0 };
	for (size_t i = 0; i < log->indoubt.n && !err; i++) {
		err = clog_status_add_earlier(&log->tab, log->indoubt.v[i].id,
					      CLOG_ST_PREPARED);
		/* (P5) a checkpoint keeps its records until it is resolved */
		lock(log);
		clog_unfinished_add_locked(&log->unf, log->indoubt.v[i].id,
					   log->indoubt.v[i].first_lsn);
		unlock(log);
	}
	for (unsigned int i = 0; i < log->inflight + 1 && !err; i++) {
		log->buf[i].data = malloc(cap);
		err = log->buf[i].data ? 0 : ENOMEM;
		buf_reset(&log->buf[i], end);
	}
	for (unsigned int i = 0; i < log->inflight && !err; i++)
		err = clog_io_init(&log->io[i], -1,
				   i ? log->io[0].method :
				   opt ? opt->io : SF_CLOG_IO_AUTO);
	if (err)
		goto fail;
	log->durable = log->watermark = log->zeroed = log->taken_end = end;
	/* (Z1) zeros recovery found after the end (a crash while open) */
	if (log->fd >= 0 && fstat(log->fd, &st) == 0 &&
	    (uint64_t)st.st_size > end)
		log->zeroed = (uint64_t)st.st_size;
	*out = log;
	return 0;
fail:
	clog_indoubt_free(&found.indoubt);
	clog_free(log);
	return err;
}

/* Tell applier @a to stop (m held): @drop: now, else once drained. */
static void applier_stop_locked(struct applier *a, bool drop)
{
	a->stop = true;
	a->drop |= drop;
	sf_fetch_add(&a->seq, 1);
	sf_wake(&a->seq, 1, 0);
}

/*
 * (Q3) Stop the appliers once they have drained their queues, or at @rt
 * (CLOCK_REALTIME; NULL: no limit) drop what is left.  Return: whether
 * something was dropped.
 */
static bool stop_appliers(struct sf_clog *log, const struct timespec *rt)
{
	struct applier *a, *next;
	bool dropped = false;

	lock(log);
	a = log->appliers;
	log->appliers = NULL;
	for (struct applier *p = a; p; p = p->next)
		applier_stop_locked(p, false);
	unlock(log);
	for (; a; a = next) {
		next = a->next;
		if (rt && pthread_timedjoin_np(a->thread, NULL, rt) == 0) {
			free(a);
			continue;
		}
		if (rt) {
			lock(log);
			dropped |= a->head != NULL;
			applier_stop_locked(a, true);
			unlock(log);
		}
		pthread_join(a->thread, NULL);
		free(a);
	}
	return dropped;
}

SF_EXPORT int sf_clog_close(sf_clog_t *log)
{
	return sf_clog_close_timed(log, CLOCK_MONOTONIC, NULL);
}

SF_EXPORT int sf_clog_close_timed(sf_clog_t *log, clockid_t clk,
				  const struct timespec *abs)
{
	struct timespec rt, now;
	bool dropped;

	if (!log || (abs && (!sf_timespec_valid(abs) || !sf_clock_valid(clk))))
		return EINVAL;
	if (abs) {
		/* pthread_timedjoin_np() takes a CLOCK_REALTIME deadline */
		int64_t left;

		clock_gettime(clk, &now);
		left = (int64_t)(abs->tv_sec - now.tv_sec) * 1000000000 +
		       (abs->tv_nsec - now.tv_nsec);
		clock_gettime(CLOCK_REALTIME, &rt);
		left = left > 0 ? left : 0;
		left += rt.tv_nsec;
		rt.tv_sec += (time_t)(left / 1000000000);
		rt.tv_nsec = (long)(left % 1000000000);
	}
	lock(log);
	if (log->nactive) {
		unlock(log);
		return EBUSY;
	}
	/*
	 * Rollback records and asynchronous commits (A5) still buffered:
	 * write them (a leader may run).
	 */
	while (!log->failed && (log->batches != log->finished ||
				 log->buf[log->active].len)) {
		if (can_lead(log) && log->buf[log->active].len)
			flush_locked(log);
		else
			wait_event_locked(log);
	}
	/* (Z3) A clean close leaves no zeros after the log (best effort). */
	if (!log->failed && !log->read_only && log->fd >= 0 &&
	    log->zeroed > log->durable &&
	    ftruncate(log->fd, (off_t)log->durable) == 0)
		(void)fdatasync(log->fd);
	unlock(log);
	async_stop(log);	/* (A5) after the last write */
	dropped = stop_appliers(log, abs ? &rt : NULL);
	clog_free(log);
	return dropped ? ETIMEDOUT : 0;
}

SF_EXPORT const char *sf_clog_io_method(const sf_clog_t *log)
{
	return log ? clog_io_name(log->io[0].method) : "";
}

SF_EXPORT int sf_clog_stats(sf_clog_t *log, struct sf_clog_stats *st)
{
	if (!log || !st)
		return EINVAL;
	lock(log);
	*st = log->st;
	st->status_bytes = clog_status_bytes_locked(&log->tab);
	st->segment_switch_waits = log->segs.switch_waits;
	st->segments_recycled = log->segs.recycled;
	unlock(log);
	st->commits_per_flush = st->flushes ?
		(double)st->commits / (double)st->flushes : 0;
	st->flush_latency_us = st->flushes ?
		(double)st->flush_ns_total / (double)st->flushes / 1e3 : 0;
	return 0;
}

/* ---- appliers ------------------------------------------------------- */

/* The log whose applier this thread is (Q2: its commits never wait). */
static __thread struct sf_clog *applier_of;

static void *applier_main(void *arg)
{
	struct applier *a = arg;
	struct sf_clog *log = a->log;
	bool wake;

	applier_of = log;
	lock(log);
	for (;;) {
		struct applier_item *it = a->head;
		struct sf_commit_txn ct;
		uint32_t seq;

		if (a->drop) {
			/* (Q3) the close's deadline: durable, replayed later */
			for (; it; it = a->head) {
				a->head = it->next;
				txn_put_locked(it->txn);
				free(it);
			}
			break;
		}
		if (!it) {
			if (a->stop)
				break;
			seq = sf_load_acquire(&a->seq);
			unlock(log);
			sf_wait(&a->seq, seq, NULL, CLOCK_MONOTONIC, 0);
			lock(log);
			continue;
		}
		a->head = it->next;
		if (!a->head)
			a->tail = &a->head;
		a->len--;
		/* (Q2) room for a committer that waits for it */
		wake = log->room_waiters && event_locked(log);
		unlock(log);
		wake_all(log, wake);
		ct = (struct sf_commit_txn){ it->txn->id, it->txn->commit_lsn,
					     it->txn->nrecs, it->txn->recs };
		a->fn(a->arg, &ct);
		lock(log);
		txn_put_locked(it->txn);
		free(it);
	}
	unlock(log);
	return NULL;
}

SF_EXPORT int sf_clog_add_applier(sf_clog_t *log, sf_clog_apply_fn fn,
				  void *arg)
{
	struct applier *a;
	int err;

	if (!log || !fn)
		return EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return ENOMEM;
	a->log = log;
	a->fn = fn;
	a->arg = arg;
	a->tail = &a->head;
	err = pthread_create(&a->thread, NULL, applier_main, a);
	if (err) {
		free(a);
		return err;
	}
	lock(log);
	a->next = log->appliers;
	log->appliers = a;
	unlock(log);
	return 0;
}

/* ---- transactions --------------------------------------------------- */

/* (I2) m held.  Return: 0 when the next id may be handed out, or EIO. */
static int reserve_ids_locked(struct sf_clog *log)
{
	uint64_t lsn;
	int err;

	if (log->tab.next + log->id_reserve / 2 >= log->id_pending) {
		uint64_t limit = log->tab.next + log->id_reserve;
		unsigned char pl[CLOG_IDS_LEN];

		clog_put64(pl, limit);
		err = append_locked(log, 0, CLOG_REC_IDS, pl, sizeof(pl), &lsn);
		if (err)
			return err;
		log->buf[log->active].id_limit = limit;	/* it is in there */
		log->id_pending = limit;
	}
	while (log->tab.next >= log->id_durable) {
		if (log->failed)
			return EIO;
		if (can_lead(log) && log->buf[log->active].len)
			flush_locked(log);
		else
			wait_event_locked(log);
	}
	return 0;
}

SF_EXPORT int sf_txn_begin(sf_clog_t *log, sf_txn_t **out)
{
	struct sf_txn *t;
	int err;

	if (!log || !out)
		return EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return ENOMEM;
	lock(log);
	if (log->failed)
		err = EIO;
	else if (log->read_only)
		err = EROFS;
	else if (log->tab.next >= UINT64_MAX - log->id_reserve)
		err = EOVERFLOW;	/* 2^64 ids: never, in practice */
	else if (!(err = reserve_ids_locked(log)))
		err = clog_status_begin_locked(&log->tab, &t->id);
	if (!err) {
		t->log = log;
		t->keep = log->appliers != NULL;
		t->refs = 1;
		log->nactive++;
		log->nyoung++;	/* (G1) id >= young_base */
	}
	unlock(log);
	if (err) {
		free(t);
		return err;
	}
	*out = t;
	return 0;
}

SF_EXPORT uint64_t sf_txn_id(const sf_txn_t *t)
{
	return t ? t->id : 0;
}

/*
 * Keep a copy of a data record for the appliers.  Until the commit the
 * record's .data holds its offset in t->copy (which may still move), and
 * commit_copies() turns the offsets into pointers.
 */
static int keep_copy(struct sf_txn *t, const void *data, size_t len)
{
	if (clog_grow(&t->recs, &t->recs_cap, t->nrecs + 1, sizeof(*t->recs),
		      8) ||
	    clog_grow(&t->copy, &t->copy_cap, t->copy_len + len, 1, 256))
		return ENOMEM;
	if (len)
		memcpy(t->copy + t->copy_len, data, len);
	t->recs[t->nrecs++] = (struct sf_commit_rec){ 0,
		(const void *)(uintptr_t)t->copy_len, len };
	t->copy_len += len;
	return 0;
}

static void commit_copies(struct sf_txn *t)
{
	for (size_t i = 0; i < t->nrecs; i++)
		t->recs[i].data = t->copy + (uintptr_t)t->recs[i].data;
}

SF_EXPORT int sf_txn_add_lsn(sf_txn_t *t, const void *data, size_t len,
			     uint64_t *lsn_out)
{
	struct sf_clog *log;
	uint64_t lsn;
	int err;

	if (!t || (!data && len))
		return EINVAL;
	log = t->log;
	if (len > log->cap - CLOG_REC_HDR)
		return EMSGSIZE;
	if (t->prepared)
		return EBUSY;	/* (P1) */
	/* The appliers' copy first: a record in the log is in the copy. */
	if (t->keep && (err = keep_copy(t, data, len)))
		return err;
	lock(log);
	err = append_locked(log, t->id, CLOG_REC_DATA, data, len, &lsn);
	if (!err && !t->logged) {
		/* (C1) a checkpoint keeps its records until it ends */
		t->first_lsn = lsn;
		clog_unfinished_add_locked(&log->unf, t->id, lsn);
	}
	t->logged |= !err;
	unlock(log);
	if (t->keep) {
		if (err) {
			t->nrecs--;
			t->copy_len -= len;
		} else {
			t->recs[t->nrecs - 1].lsn = lsn;
		}
	}
	if (!err && lsn_out)
		*lsn_out = lsn;
	return err;
}

/* (Q2) Does an applier hold more than its bound?  (m held) */
static bool appliers_full_locked(const struct sf_clog *log)
{
	for (const struct applier *a = log->appliers; a; a = a->next)
		if (a->len > log->applier_queue)
			return true;
	return false;
}

/*
 * (Q2) Wait until @t is queued (@own) and no applier's queue is over the
 * bound.  m held.
 */
static void wait_room_locked(struct sf_clog *log, struct sf_txn *t, bool own)
{
	bool counted = false;

	if (!t->keep || applier_of == log)
		return;
	while ((own && !t->queued && log->appliers) ||
	       appliers_full_locked(log)) {
		if (!counted && appliers_full_locked(log)) {
			counted = true;
			log->st.applier_waits++;
#ifdef SF_TEST_HOOKS
			unlock(log);
			SF_SYNC_POINT_VAL("commit:applier-wait", log, t->id);
			lock(log);
			continue;
#endif
		}
		log->room_waiters++;
		wait_event_locked(log);
		log->room_waiters--;
	}
}

/* End @t (m held): no longer active; drop the committer's reference. */
static void txn_end_locked(struct sf_txn *t)
{
	t->log->nactive--;
	txn_put_locked(t);
}

/*
 * The commit of @t: synchronous, or (@async) asynchronous (A1-A5).  @t is
 * freed in every case.
 */
static int txn_commit(struct sf_txn *t, uint64_t *commit_lsn, bool async)
{
	struct sf_clog *log;
	struct clog_buf *b;
	bool gathered = false, wake = false;
	int err;

	if (!t)
		return EINVAL;
	log = t->log;
	commit_copies(t);
	lock(log);
	/* (A5) no flusher, no asynchronous commit: it is made synchronous */
	async = async && async_flusher_locked(log);
	if (SF_BROKEN(QUEUE_WAIT_EARLY))
		wait_room_locked(log, t, false);	/* before it: wrong */
	/* (1) append */
	err = append_locked(log, t->id, CLOG_REC_COMMIT, NULL, 0,
			    &t->commit_lsn);
	txn_settled_locked(log, t);
	if (t->logged) {
		/* (C1) kept for a checkpoint below its commit record */
		clog_unfinished_del_locked(&log->unf, t->id, t->first_lsn);
		if (!err)
			clog_committed_add_locked(&log->unf, t->commit_lsn,
						  t->first_lsn);
	}
	if (err) {
		set_status_locked(log, t, t->prepared ? CLOG_ST_PREPARED :
				  CLOG_ST_FAILED);	/* (P3) */
		log->st.failed_commits++;
		txn_end_locked(t);
		unlock(log);
		return err;
	}
	b = &log->buf[log->active];
	t->buf = log->active;
	t->batch_next = NULL;
	*b->tail = t;
	b->tail = &t->batch_next;
	log->unfinished++;
	if (async)
		wake = async_appended_locked(log, t);
	if (SF_BROKEN(VISIBLE_BEFORE_DURABLE)) {
		/* Falcon's order: committed and visible before the log write. */
		set_status_locked(log, t, t->commit_lsn);
		sf_store64_release(&log->watermark, t->commit_lsn + CLOG_REC_HDR);
	}
	unlock(log);
	wake_all(log, wake);
	SF_SYNC_POINT("commit:appended", t);

	lock(log);
	if (async && t->done)
		goto back;	/* (A2) visible at once */
	while (!t->done) {
		/* Ours is in buf[active] or in a batch being written. */
		if (can_lead(log) && log->buf[log->active].len) {
			if (!gathered) {
				gathered = true;	/* (G3) once */
				gather_locked(log);
				continue;
			}
			flush_locked(log);
		} else if (async) {
			wait_event_locked(log);	/* (A3) */
		} else {
			wait_buf_locked(log, &log->buf[t->buf]);
		}
	}
#ifdef SF_TEST_HOOKS
	/* Woken, not yet back: still counted in returning. */
	unlock(log);
	SF_SYNC_POINT("commit:back", t);
	lock(log);
#endif
	log->returning--;	/* (G2) back */
	gather_kick_locked(log);
back:
	err = t->result;
	/* (Q2) durable, visible; (A4) async: visible, queued once durable */
	if (!err && !SF_BROKEN(QUEUE_WAIT_EARLY))
		wait_room_locked(log, t, !async);
	if (!err)
		log->st.commits++;
	if (!err && async)
		log->st.async_commits++;
	if (commit_lsn)
		*commit_lsn = t->commit_lsn;
	txn_end_locked(t);
	unlock(log);
	return err;
}

SF_EXPORT int sf_txn_commit(sf_txn_t *t, uint64_t *commit_lsn)
{
	return txn_commit(t, commit_lsn, false);
}

SF_EXPORT int sf_txn_commit_async(sf_txn_t *t, uint64_t *commit_lsn)
{
	return txn_commit(t, commit_lsn, true);
}

static int rollback_durable(struct sf_txn *t);

SF_EXPORT int sf_txn_rollback(sf_txn_t *t)
{
	struct sf_clog *log;
	uint64_t lsn;
	bool wake;

	if (!t)
		return EINVAL;
	if (t->prepared)
		return rollback_durable(t);	/* (P2) */
	log = t->log;
	lock(log);
	/* Records reached the log: tell recovery (a lost record is harmless). */
	if (t->logged) {
		(void)append_locked(log, t->id, CLOG_REC_ROLLBACK, NULL, 0,
				    &lsn);
		clog_unfinished_del_locked(&log->unf, t->id, t->first_lsn);
	}
	set_status_locked(log, t, CLOG_ST_ROLLED_BACK);
	log->st.rollbacks++;
	txn_settled_locked(log, t);
	wake = event_locked(log);
	txn_end_locked(t);
	unlock(log);
	wake_all(log, wake);
	return 0;
}

/* ---- visibility and waiting ----------------------------------------- */

SF_EXPORT int sf_clog_snapshot(sf_clog_t *log, sf_snapshot_t *snap)
{
	if (!log || !snap)
		return EINVAL;
	snap->__watermark = sf_load64_acquire(&log->watermark);
	return 0;
}

static int status_of(struct sf_clog *log, uint64_t id, uint64_t wm, int *st)
{
	uint64_t v;
	int err = clog_status_get(&log->tab, id, &v);

	if (err)
		return err;
	if (v == CLOG_ST_ROLLED_BACK)
		*st = SF_TXN_ROLLED_BACK;
	else if (v == CLOG_ST_FAILED)
		*st = SF_TXN_FAILED;
	else if (v == CLOG_ST_IN_DOUBT)
		*st = SF_TXN_IN_DOUBT;
	else if (v == CLOG_ST_PREPARED)
		*st = SF_TXN_PREPARED;	/* (P3) */
	else if (v != CLOG_ST_ACTIVE && v < wm) {
		/*
		 * TSAN: what the committer did before its commit happens
		 * before what a thread that sees it committed does next
		 * (through log->m to the leader, which released here at (3)).
		 */
		sf_tsan_acquire(&log->watermark);
		*st = SF_TXN_COMMITTED;
	} else
		*st = SF_TXN_ACTIVE;
	return 0;
}

SF_EXPORT int sf_clog_txn_status(sf_clog_t *log, uint64_t id,
				 const sf_snapshot_t *snap, int *st)
{
	if (!log || !st)
		return EINVAL;
	return status_of(log, id, snap ? snap->__watermark
				       : sf_load64_acquire(&log->watermark), st);
}

SF_EXPORT int sf_clog_txn_wait(sf_clog_t *log, uint64_t id, clockid_t clk,
			       const struct timespec *abs, int *st)
{
	int err = 0, s = SF_TXN_ACTIVE;

	if (!log || !st || (abs && (!sf_timespec_valid(abs) ||
				    !sf_clock_valid(clk))))
		return EINVAL;
	sf_fetch_add(&log->ev_waiters, 1);			/* (W1) */
	for (;;) {
		uint32_t seq = sf_load_acquire(&log->ev_seq);	/* (W2) */

		err = status_of(log, id, sf_load64_acquire(&log->watermark), &s);
		if (err || (s != SF_TXN_ACTIVE &&		/* (W3) */
			    s != SF_TXN_PREPARED))
			break;
		if (sf_wait(&log->ev_seq, seq, abs, clk, 0) == ETIMEDOUT) {
			err = ETIMEDOUT;			/* (W4) */
			break;
		}
	}
	sf_fetch_sub(&log->ev_waiters, 1);
	if (!err)
		*st = s;
	return err;
}

/* ---- write-ahead by LSN --------------------------------------------- */

/* sf_txn_add() is sf_txn_add_lsn() without the LSN. */
SF_EXPORT int sf_txn_add(sf_txn_t *t, const void *data, size_t len)
{
	return sf_txn_add_lsn(t, data, len, NULL);
}

/*
 * sf_clog_flush_to() - the WAL rule for an engine that writes a page
 * before the transactions that changed it commit: return once the record
 * at @lsn and everything before it is durable, i.e. durable > @lsn (a
 * batch holds whole records and durable only grows, in ticket order).
 * The record is in a batch being written (wait for it: each batch's step
 * (4) is an event, N2) or in buf[active]: then lead its flush when a slot
 * is free, as a committer would, or wait for the leader that took it.
 * Either way the flush is shared with the committers of the batch.  No
 * gathering (G3): the caller waits for this record, not for a batch.
 */
static int flush_to_locked(struct sf_clog *log, uint64_t lsn)
{
	int err = 0;

	while (!err && log->durable <= lsn) {
		struct clog_buf *b = &log->buf[log->active];

		if (log->failed)
			err = EIO;
		else if (lsn >= b->off + b->len)
			err = EINVAL;	/* not appended (yet) */
		else if (lsn < b->off && log->batches == log->finished)
			break;	/* zeros at a segment's end (P2): no record */
		else if (SF_BROKEN(VISIBLE_BEFORE_DURABLE))
			break;	/* Falcon's order: appended counts as durable */
		else if (lsn >= b->off && can_lead(log))
			flush_locked(log);
		else
			wait_event_locked(log);
	}
	return err;
}

SF_EXPORT int sf_clog_flush_to(sf_clog_t *log, uint64_t lsn)
{
	int err;

	if (!log)
		return EINVAL;
	lock(log);
	err = flush_to_locked(log, lsn);
	unlock(log);
	return err;
}

SF_EXPORT uint64_t sf_clog_durable_lsn(sf_clog_t *log)
{
	uint64_t d;

	if (!log)
		return 0;
	lock(log);
	d = log->durable;
	unlock(log);
	return d;
}

/* ---- prepare (two-phase commit) ------------------------------------- */

/*
 * Prepare.
 *   (P1) sf_txn_prepare() appends a CLOG_REC_PREPARE record (the tag)
 *        after the transaction's data records and returns only once
 *        flush_to_locked() has made it durable, with every record before
 *        it.  Then, under m, the transaction is prepared: status PREPARED
 *        (commit-status.c, S6), no more records (EBUSY), and out of the
 *        gathering's count (G1: it commits when its coordinator says so,
 *        not soon).  A failed flush fails the log, which cuts the record
 *        (F1): the transaction is not prepared, and can only roll back.
 *   (P2) The handle resolves it: its commit is any other (sync or
 *        async); its rollback waits for the flush of its rollback record
 *        (rollback_durable()): lost in a crash, it would bring the
 *        transaction back in doubt after it was reported rolled back.
 *   (P3) A prepared transaction whose commit fails stays PREPARED: the log
 *        still holds its prepare record, and not its commit record (cut,
 *        F1) -- unless the cut failed too (IN_DOUBT, F3).
 *   (P4) After a crash, recovery finds it prepared and not ended (V3p)
 *        and hands it over with copies of its records and tag and its
 *        first LSN (log->indoubt, commit-prepare.c); open registers its id
 *        as PREPARED (S6) before any begin.  sf_clog_commit_prepared()
 *        and sf_clog_rollback_prepared() resolve it by id: the id is
 *        unique over the life of the log (I1), a tag is the caller's and
 *        need not be.  Under m the entry goes from in doubt (0) to
 *        resolving (1), so a second resolution is refused (EALREADY);
 *        a transaction with the old id then takes the commit or rollback
 *        path of (P2), and the entry ends resolved (2), or in doubt again
 *        (0) if that failed (the log failed with it).  Its commit record
 *        ends it for every later recovery, which replays it there, in
 *        commit order; until then each open finds it in doubt again.
 *   (P5) A checkpoint must not scan from past the first LSN of a
 *        transaction in doubt, so a prepared transaction is unfinished
 *        for the checkpoint (C1, log->unf) until it is resolved: this
 *        open's from its first record (its prepare record, if it has no
 *        other), an earlier open's from open, at the first LSN recovery
 *        found for it; its commit or rollback unregisters it.
 *   (P6) sf_txn_release_prepared() parks a prepared handle in
 *        log->released and counts it out of nactive, so the log can be
 *        closed with it in doubt: nothing is written, its records and
 *        prepare record are durable (P1) and the next open finds it in
 *        doubt (P4).  Until then it stays PREPARED and registered (P5),
 *        and sf_clog_commit_prepared() / sf_clog_rollback_prepared()
 *        resolve it by id as in (P4): under m the entry takes the handle
 *        back (resolving, counted in nactive again), then the path of
 *        (P2) ends it and frees the handle.  A release racing with a
 *        resolution by the same id cannot happen: the handle is the
 *        caller's until the release returns.  Close frees what is left.
 */
SF_EXPORT int sf_txn_prepare(sf_txn_t *t, const void *tag, size_t tag_len)
{
	struct sf_clog *log;
	uint64_t lsn;
	bool wake = false;
	int err;

	if (!t || (!tag && tag_len) || tag_len > SF_CLOG_MAX_TAG)
		return EINVAL;
	if (t->prepared)
		return EALREADY;
	log = t->log;
	lock(log);
	err = append_locked(log, t->id, CLOG_REC_PREPARE, tag, tag_len, &lsn);
	if (!err && !t->logged) {
		/* (P5) no data records: the prepare record is its first */
		t->first_lsn = lsn;
		clog_unfinished_add_locked(&log->unf, t->id, lsn);
		t->logged = true;
	}
	/* "prepare-undurable": returns with the record still buffered */
	if (!err && !SF_BROKEN(PREPARE_UNDURABLE))
		err = flush_to_locked(log, lsn);		/* (P1) */
	if (!err) {
		t->prepared = true;
		t->logged = true;
		set_status_locked(log, t, CLOG_ST_PREPARED);
		txn_settled_locked(log, t);
		log->st.prepares++;
		wake = event_locked(log);
	}
	unlock(log);
	wake_all(log, wake);
	return err;
}

SF_EXPORT int sf_txn_release_prepared(sf_txn_t *t)
{
	struct clog_released *r;
	struct sf_clog *log;

	if (!t || !t->prepared)
		return EINVAL;
	r = malloc(sizeof(*r));
	if (!r)
		return ENOMEM;
	log = t->log;
	*r = (struct clog_released){ .txn = t, .id = t->id };
	lock(log);
	r->next = log->released;		/* (P6) */
	log->released = r;
	log->nactive--;
	unlock(log);
	return 0;
}

/* (P2) Roll back prepared @t once its rollback record is durable. */
static int rollback_durable(struct sf_txn *t)
{
	struct sf_clog *log = t->log;
	uint64_t lsn;
	bool wake;
	int err;

	lock(log);
	err = append_locked(log, t->id, CLOG_REC_ROLLBACK, NULL, 0, &lsn);
	clog_unfinished_del_locked(&log->unf, t->id, t->first_lsn);	/* (P5) */
	if (!err)
		err = flush_to_locked(log, lsn);
	if (!err) {
		set_status_locked(log, t, CLOG_ST_ROLLED_BACK);
		log->st.rollbacks++;
	}
	wake = event_locked(log);
	txn_end_locked(t);
	unlock(log);
	wake_all(log, wake);
	return err;
}

/*
 * (P6) The handle released for @id, taken back for its resolution (m
 * held): *@state resolving.  Return: 0; ENOENT none; EIO, EALREADY.
 */
static int txn_of_released(struct sf_clog *log, uint64_t id,
			   struct sf_txn **out, int **state)
{
	struct clog_released *r = log->released;

	while (r && r->id != id)
		r = r->next;
	if (!r)
		return ENOENT;
	if (log->failed)
		return EIO;
	if (r->state || !r->txn)
		return EALREADY;
	r->state = 1;
	*out = r->txn;
	r->txn = NULL;
	log->nactive++;
	*state = &r->state;
	return 0;
}

/*
 * (P4) A transaction for resolving @id, in doubt since an earlier open,
 * or (P6) released by this one: *@state resolving.  Return: 0, EINVAL,
 * EROFS, EIO, ENOENT, EALREADY, ENOMEM; nothing changed on error.
 */
static int txn_of_in_doubt(struct sf_clog *log, uint64_t id,
			   struct sf_txn **out, int **state)
{
	struct clog_indoubt *d;
	struct sf_txn *t;
	int err = 0;

	if (!log)
		return EINVAL;
	lock(log);
	err = txn_of_released(log, id, out, state);
	unlock(log);
	if (err != ENOENT)
		return err;
	err = 0;
	t = calloc(1, sizeof(*t));
	if (!t)
		return ENOMEM;
	lock(log);
	d = clog_indoubt_find(&log->indoubt, id);
	if (log->read_only)
		err = EROFS;
	else if (log->failed)
		err = EIO;
	else if (!d)
		err = ENOENT;
	else if (d->state)
		err = EALREADY;
	if (!err) {
		d->state = 1;
		*t = (struct sf_txn){ .log = log, .id = id, .refs = 1,
				      .logged = true, .settled = true,
				      .prepared = true,
				      .first_lsn = d->first_lsn,	/* (P5) */
				      .keep = log->appliers != NULL };
		log->nactive++;
	}
	unlock(log);
	for (size_t i = 0; !err && t->keep && i < d->nrecs; i++) {
		err = keep_copy(t, d->recs[i].data, d->recs[i].len);
		if (!err)
			t->recs[t->nrecs - 1].lsn = d->recs[i].lsn;
	}
	if (err && t->log) {	/* ENOMEM: undo */
		lock(log);
		d->state = 0;
		txn_end_locked(t);
		unlock(log);
		return err;
	}
	if (err) {
		free(t);
		return err;
	}
	*out = t;
	*state = &d->state;
	return 0;
}

/*
 * (P4) The entry of a resolution that returned @err: in doubt again, or
 * resolved.  (P6) A released handle is gone after its resolution (a
 * failed one failed the log: EIO from then on).
 */
static int resolved(struct sf_clog *log, int *state, int err)
{
	lock(log);
	*state = err ? 0 : 2;
	unlock(log);
	return err;
}

SF_EXPORT int sf_clog_commit_prepared(sf_clog_t *log, uint64_t id,
				      uint64_t *commit_lsn)
{
	struct sf_txn *t;
	int *state, err = txn_of_in_doubt(log, id, &t, &state);

	if (err)
		return err;
	return resolved(log, state, txn_commit(t, commit_lsn, false));
}

SF_EXPORT int sf_clog_rollback_prepared(sf_clog_t *log, uint64_t id)
{
	struct sf_txn *t;
	int *state, err = txn_of_in_doubt(log, id, &t, &state);

	if (err)
		return err;
	return resolved(log, state, rollback_durable(t));
}

SF_EXPORT int sf_clog_in_doubt(sf_clog_t *log, sf_clog_prepared_fn fn,
			       void *arg)
{
	struct clog_indoubt **v;
	size_t n = 0;
	int err = 0;

	if (!log || !fn)
		return EINVAL;
	v = malloc((log->indoubt.n + 1) * sizeof(*v));
	if (!v)
		return ENOMEM;
	lock(log);
	for (size_t i = 0; i < log->indoubt.n; i++)
		if (log->indoubt.v[i].state != 2)
			v[n++] = &log->indoubt.v[i];
	unlock(log);
	/* The entries never move or change but for their state (P4). */
	for (size_t i = 0; i < n && !err; i++) {
		const struct clog_indoubt *d = v[i];
		size_t total = 0;

		for (size_t j = 0; j < d->nrecs; j++)
			total += d->recs[j].len;
		err = fn(arg, &(struct sf_prepared_txn){
				 d->id, d->prepare_lsn, d->first_lsn,
				 d->data + total, d->tag_len, d->nrecs,
				 d->recs });
	}
	free(v);
	return err;
}

/* ---- checkpoints ---------------------------------------------------- */

/*
 * sf_clog_checkpoint() - C1-C4 at the top of commit-segment.c: scan_from
 * under m, the record made durable (C2), then recycling (C3) outside m.
 * ckpt_m keeps checkpoints in order, so scan_from only grows.
 */
SF_EXPORT int sf_clog_checkpoint(sf_clog_t *log, uint64_t lsn)
{
	unsigned char pl[CLOG_CKPT_LEN];
	uint64_t from = 0, at = 0, below;
	int err;

	if (!log)
		return EINVAL;
	if (log->read_only)
		return EROFS;
	sf_mutex_lock(&log->ckpt_m);
	lock(log);
	if (log->failed) {
		err = EIO;
	} else if (lsn > log->durable || lsn < log->ckpt_lsn) {
		err = EINVAL;
	} else {
		from = clog_unfinished_floor_locked(&log->unf, lsn);
		clog_put64(pl, lsn);
		clog_put64(pl + 8, from);
		/* (I1) the reservations may be in segments it recycles */
		clog_put64(pl + 16, log->id_pending);
		err = append_locked(log, 0, CLOG_REC_CHECKPOINT, pl, sizeof(pl),
				    &at);
	}
	unlock(log);
	if (!err)
		err = sf_clog_flush_to(log, at);	/* (C2) */
	if (!err) {
		lock(log);
		log->ckpt_lsn = lsn;
		clog_unfinished_trim_locked(&log->unf, lsn);
		unlock(log);
		/* (C3) wholly below scan_from only */
		below = clog_seg_of(log->segs.size,
				    SF_BROKEN(RECYCLE_EARLY) ? lsn : from);
		err = clog_segs_recycle(&log->segs, below);
	}
	sf_mutex_unlock(&log->ckpt_m);
	return err;
}
