/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * syncfix/commit.h - commit sequencer: a durable commit log with group
 * commit, snapshots, waiting on transactions, appliers and crash recovery.
 *
 * A transaction is visible as committed only after its commit record is
 * durable (the failure of MySQL Falcon bug #41194) -- unless it asked for
 * an asynchronous commit, which is visible first and durable soon after,
 * never ahead of a commit before it; appliers receive a committed
 * transaction only after its commit has fully finished and is durable.  The
 * protocol and its ordering argument are in the library's commit.c and
 * in Documentation/commit.rst.
 *
 * Functions that return int return 0 or a positive errno value; errno is
 * not changed.  Common errors:
 *	EINVAL		a NULL argument, a bad option or deadline
 *	EMSGSIZE	a record larger than the log buffer allows
 *	EIO		the log failed earlier (a write or flush failed); it
 *			refuses every commit until it is closed and reopened
 */
#ifndef SYNCFIX_COMMIT_H
#define SYNCFIX_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sf_clog sf_clog_t;
typedef struct sf_txn sf_txn_t;

/* One data record of a committed transaction (valid during the callback). */
struct sf_commit_rec {
	uint64_t lsn;		/* log sequence number: its byte offset */
	const void *data;
	size_t len;
};

/* A committed transaction, as given to replay callbacks and appliers. */
struct sf_commit_txn {
	uint64_t id;
	uint64_t commit_lsn;	/* LSN of its commit record */
	size_t nrecs;
	const struct sf_commit_rec *recs;	/* in the order added */
};

/*
 * Replay callback of sf_clog_open(): called once per committed transaction
 * found in the log, in commit order.  A nonzero return stops the open,
 * which then returns that value (and leaves the file as it was).
 */
typedef int (*sf_clog_replay_fn)(void *arg, const struct sf_commit_txn *txn);
/* Applier callback: one call per committed transaction, in commit order. */
typedef void (*sf_clog_apply_fn)(void *arg, const struct sf_commit_txn *txn);

/* How the log is written (sf_clog_options.io). */
#define SF_CLOG_IO_AUTO		0 /* the default: pwritev + fdatasync */
#define SF_CLOG_IO_URING_LINKED	1 /* io_uring: write linked to fdatasync */
#define SF_CLOG_IO_URING_DSYNC	2 /* io_uring: one RWF_DSYNC write */
#define SF_CLOG_IO_PWRITEV	3 /* pwritev + fdatasync, no io_uring */

#define SF_CLOG_DEFAULT_BUFFER	(1u << 20)
#define SF_CLOG_MIN_BUFFER	4096u
#define SF_CLOG_MAX_BUFFER	(64u << 20)
#define SF_CLOG_RECORD_OVERHEAD	32u	/* bytes of header per record */
#define SF_CLOG_MAX_FLUSHES	8u
#define SF_CLOG_DEFAULT_ZERO_AHEAD	(1u << 20)
#define SF_CLOG_MAX_ZERO_AHEAD	(1u << 30)
#define SF_CLOG_NO_ZERO_AHEAD	((size_t)-1)
#define SF_CLOG_DEFAULT_GATHER	50u
#define SF_CLOG_NO_GATHER	(~0u)
#define SF_CLOG_DEFAULT_HORIZON	(1u << 20)
#define SF_CLOG_MIN_HORIZON	64u
#define SF_CLOG_MAX_HORIZON	(1u << 28)
#define SF_CLOG_DEFAULT_ID_RESERVE	8192u
#define SF_CLOG_MIN_ID_RESERVE	2u
#define SF_CLOG_MAX_ID_RESERVE	(1u << 30)
#define SF_CLOG_DEFAULT_APPLIER_QUEUE	1024u
#define SF_CLOG_MAX_APPLIER_QUEUE	(1u << 20)
#define SF_CLOG_DEFAULT_ASYNC_DELAY_US	10000u	/* 10 ms */
#define SF_CLOG_MAX_ASYNC_DELAY_US	10000000u	/* 10 s */
#define SF_CLOG_MAX_TAG		128u	/* bytes of a prepare's tag */
#define SF_CLOG_DEFAULT_SEGMENT	(16u << 20)
#define SF_CLOG_MIN_SEGMENT	(64u << 10)
#define SF_CLOG_MAX_SEGMENT	(1u << 30)

struct sf_clog_options {
	/*
	 * Size of each in-memory log buffer (one fills while the others are
	 * written); 0: SF_CLOG_DEFAULT_BUFFER.  A record's payload
	 * may be at most buffer_size - SF_CLOG_RECORD_OVERHEAD bytes.
	 */
	size_t buffer_size;
	int io;			/* SF_CLOG_IO_*; SYNCFIX_NO_URING=1 forces pwritev */
	/*
	 * Batches written and flushed at the same time: 0 or 1 (one flush
	 * at a time: the largest batches, about half of the committers), up
	 * to SF_CLOG_MAX_FLUSHES (k at once: batches of about 1/(k+1) of the
	 * committers, more throughput on devices that serve several flushes
	 * at once).  Memory: (max_flushes + 1) x buffer_size.
	 */
	unsigned int max_flushes;
	sf_clog_replay_fn replay;	/* may be NULL */
	void *replay_arg;
	/*
	 * Bytes of zeros kept written past the end of the log, so that a
	 * flush overwrites blocks that are already allocated instead of
	 * appending (no size or extent change to journal on each flush):
	 * 0: SF_CLOG_DEFAULT_ZERO_AHEAD; SF_CLOG_NO_ZERO_AHEAD: none (every
	 * flush appends); else at most SF_CLOG_MAX_ZERO_AHEAD.  While the
	 * log is open the file is longer than the log; recovery reads zeros
	 * after the last record as the clean end, and a clean close cuts
	 * them off.
	 */
	size_t zero_ahead;
	/*
	 * Gathering: before it starts a flush, a leader waits for the
	 * committers that are coming (woken by the last flush and not yet
	 * back, or transactions begun since and still open), at most this
	 * percentage of the recent flush latency, so that one batch holds
	 * them all instead of half of them.  Transactions older than the
	 * last flush are never waited for.  0: SF_CLOG_DEFAULT_GATHER;
	 * SF_CLOG_NO_GATHER: never wait (a flush starts as soon as a flush
	 * slot is free); else 1 to 100.
	 */
	unsigned int gather_pct;
	/*
	 * Status horizon: how many of the most recent transaction ids keep
	 * their status (sf_clog_txn_status) after they end, rounded up to a
	 * power of two; a transaction still active when it falls behind the
	 * horizon keeps its status while active and for as many ids again
	 * after it ends.  Older ones are forgotten: ESTALE.  Memory: 8 bytes
	 * per id of the horizon, plus 24 bytes per such long transaction.
	 * 0: SF_CLOG_DEFAULT_HORIZON (2^20 ids, 8 MiB); else
	 * SF_CLOG_MIN_HORIZON to SF_CLOG_MAX_HORIZON.
	 */
	unsigned int status_horizon;
	/*
	 * Ids are never handed out twice, crashes included: the highest id
	 * that may be handed out is durable in the log before it is.  It is
	 * raised this many ids at a time, a 40-byte record that rides with
	 * the next flush when half of them are used (a begin waits for a
	 * flush only after id_reserve / 2 begins without one); a reopen
	 * skips what was reserved and not used.  0:
	 * SF_CLOG_DEFAULT_ID_RESERVE; else SF_CLOG_MIN_ID_RESERVE to
	 * SF_CLOG_MAX_ID_RESERVE.
	 */
	unsigned int id_reserve;
	unsigned int flags;		/* SF_CLOG_READ_ONLY, ... (below) */
	/*
	 * Back-pressure: transactions an applier may have queued and not
	 * yet applied.  When one holds more, committers wait in
	 * sf_txn_commit() -- after their commit is durable and visible --
	 * until it is back under the bound; so a queue holds at most this
	 * plus one transaction per committer thread.  0:
	 * SF_CLOG_DEFAULT_APPLIER_QUEUE; at most SF_CLOG_MAX_APPLIER_QUEUE.
	 */
	unsigned int applier_queue;
	/*
	 * Segments: a new log is a directory of segment files of this many
	 * bytes (a multiple of 4096, SF_CLOG_MIN_SEGMENT to
	 * SF_CLOG_MAX_SEGMENT, and at least twice buffer_size, else
	 * EINVAL), created ahead full of zeros and recycled after
	 * checkpoints.  0: SF_CLOG_DEFAULT_SEGMENT, or twice buffer_size
	 * rounded up to 4096 when that is more (a larger buffer grows the
	 * default segment to fit); SF_CLOG_SINGLE_FILE asks for a single
	 * file instead.  An existing log keeps its own size (another
	 * nonzero value: EINVAL) and its kind; a directory of segments
	 * smaller than twice the default buffer is opened with a buffer of
	 * half a segment, and an explicit buffer_size above that is EINVAL.
	 */
	unsigned int segment_size;
	/*
	 * Replay from here: every transaction whose commit record is at or
	 * after this LSN is replayed, also below the last checkpoint.  0:
	 * from the last checkpoint (sf_clog_checkpoint()), or everything
	 * when there is none.  An LSN whose transactions the log may no
	 * longer hold whole (below the first checkpoint still in the log
	 * whose records are all there): ERANGE.
	 */
	uint64_t start_lsn;
	/*
	 * Asynchronous commits (sf_txn_commit_async()): a background flush
	 * starts at most this many microseconds after the first one that is
	 * not yet durable (sooner when a synchronous commit or a full
	 * buffer flushes it first).  0: SF_CLOG_DEFAULT_ASYNC_DELAY_US; at
	 * most SF_CLOG_MAX_ASYNC_DELAY_US.
	 */
	unsigned int async_delay_us;
	/*
	 * The structure's tail padding before segment_size, start_lsn and
	 * async_delay_us took the place of its four reserved words (the size
	 * and every other offset are unchanged): not read, so that a program
	 * built before, whose padding may hold anything, opens as it did.
	 */
	unsigned int reserved[1];
};

/*
 * sf_clog_options.flags.  SF_CLOG_READ_ONLY: verify (and replay) without
 * changing the file in any way: no header upgrade, no cut (reported as
 * the bytes a writable open would cut), no id reservation; the log is
 * opened O_RDONLY with a shared flock, never created, and sf_txn_begin()
 * fails with EROFS.  SF_CLOG_SALVAGE: cut at corruption too (see
 * sf_clog_open(): EUCLEAN), losing every record after it.
 */
#define SF_CLOG_READ_ONLY	(1u << 0)
#define SF_CLOG_SALVAGE		(1u << 1)
/*
 * SF_CLOG_SEGMENTED: a new log is a directory of segments -- the default
 * now, kept for the programs that ask for it.  SF_CLOG_SINGLE_FILE: a new
 * log is one file (as before segments: checkpoints are written and
 * honoured, but nothing is ever freed, the file only grows); with
 * segment_size or SF_CLOG_SEGMENTED: EINVAL.  Neither changes an existing
 * log, which keeps its kind (sf_clog_open()).
 */
#define SF_CLOG_SEGMENTED	(1u << 2)
#define SF_CLOG_SINGLE_FILE	(1u << 3)

/* What sf_clog_open() found (also filled when it fails). */
struct sf_clog_recovery {
	uint64_t records;	/* valid records kept */
	uint64_t replayed;	/* committed transactions replayed */
	uint64_t rolled_back;	/* transactions with a rollback record */
	uint64_t unfinished;	/* transactions with neither: not replayed */
	uint64_t valid_end;	/* end of the last valid record */
	uint64_t cut_bytes;	/* bytes of torn or corrupt tail removed */
	bool created;		/* the file was new or empty */
	char reason[120];	/* why the tail was cut, or why open failed */
	/*
	 * Corruption (EUCLEAN, or cut with SF_CLOG_SALVAGE): the offset of
	 * the first valid record after the damage at valid_end that proves
	 * it; 0 otherwise.
	 */
	uint64_t valid_after;
	uint32_t version;	/* format version of the file as found */
	uint32_t segments;	/* segment files found (0: a single file) */
	/*
	 * Prepared transactions with neither a commit nor a rollback
	 * record: in doubt (sf_clog_in_doubt()), not counted in unfinished.
	 */
	uint64_t prepared;
	/*
	 * The last checkpoint found (its lsn; 0: none), the LSN from which
	 * committed transactions were replayed (the checkpoint's, or
	 * start_lsn), and the first LSN the log still holds (below it,
	 * segments were recycled).  The structure keeps its size: these
	 * took the place of reserved fields, which a program built before
	 * them finds zero.
	 */
	uint64_t checkpoint_lsn;
	uint64_t replay_from;
	uint64_t log_start;
	uint64_t reserved[2];	/* zero; room for later fields */
};

struct sf_clog_stats {
	uint64_t commits;	/* commits that returned 0 */
	uint64_t failed_commits;
	uint64_t rollbacks;
	uint64_t records;	/* records appended (data, commit, rollback) */
	uint64_t flushes;	/* durable writes (write + flush) done */
	uint64_t bytes_written;
	uint64_t flush_ns_total;	/* summed latency of the flushes */
	uint64_t flush_ns_max;
	uint64_t gathers;	/* leaders that waited before a flush */
	uint64_t gather_timeouts;	/* ... and stopped at the limit */
	uint64_t gather_ns_total;	/* time spent waiting so */
	double commits_per_flush;	/* commits / flushes */
	double flush_latency_us;	/* mean */
	int error;		/* the I/O error that failed the log, or 0 */
	uint64_t status_bytes;	/* memory of the status table now */
	uint64_t applier_waits;	/* commits that waited for an applier */
	uint64_t applier_queue_max;	/* the longest applier queue seen */
	uint64_t async_commits;	/* of commits: sf_txn_commit_async() */
	uint64_t prepares;	/* sf_txn_prepare() that returned 0 */
	uint64_t segment_switches;	/* moves to the next segment */
	uint64_t segment_switch_waits;	/* ... that waited for it to be ready */
	uint64_t segments_recycled;	/* renamed for reuse, or removed */
	/* The five reserved words are used up: a later counter needs a call
	 * of its own. */
};

/*
 * sf_clog_open() - open or create the log at @path and recover it.
 * @opt: NULL for the defaults
 * @rep: NULL, or filled with what recovery found
 *
 * Verifies every record's CRC32C, cuts a torn tail (reported in @rep), and
 * calls @opt->replay for each committed transaction in commit order; rolled-back and unfinished transactions are not replayed.  Opening
 * the same log again replays the same transactions.  The file is locked
 * (flock) while open.  Every open then appends one durable record, the
 * highest id it may hand out (id_reserve); a log of format version 1 has
 * its header rewritten as version 2 first.
 *
 * Damage followed by records that a crash cannot have left behind (a
 * valid record of a batch written after the damaged one was durable,
 * commit-recover.c V2c) is corruption, not a torn tail: the open fails
 * with EUCLEAN, @rep->valid_end and @rep->valid_after give the offsets,
 * nothing is replayed and the file is not modified; SF_CLOG_SALVAGE cuts
 * there anyway.  Memory: about 2 MiB of read window, the largest record,
 * and the records' offsets of the transactions open at a point of the
 * log -- not the log's size.
 *
 * @path is a single file or a directory of segment files.  A new log is
 * a directory (segment_size), unless SF_CLOG_SINGLE_FILE asks for a
 * single file; an existing one keeps its kind: an existing file (an
 * empty one too) is read and written as a single file, never migrated
 * (a file cannot become a directory at the same path in one atomic
 * step, and copying the log would make the open as long as the log), a
 * single file of format version 1 or 2 has its header rewritten as
 * version 3.  Replay starts at the last checkpoint
 * (sf_clog_checkpoint()) or at start_lsn; @rep reports the checkpoint,
 * where replay started, the first LSN still in the log and the segment
 * files.  A segment file missing between the first and the last, or the
 * segments the last checkpoint needs gone, is corruption too (EUCLEAN).
 *
 * Return: 0; EBADMSG not a syncfix log (magic, header CRC, short header:
 * the file is never modified); EPROTONOSUPPORT written by a newer format
 * version; EUCLEAN corruption (see above; not modified); ERANGE
 * start_lsn below what the log still holds whole (not modified); EBUSY
 * open elsewhere; EINVAL bad option (also a segment_size other than an
 * existing directory's, SF_CLOG_SINGLE_FILE with segment_size or
 * SF_CLOG_SEGMENTED, a buffer_size above half of an existing
 * directory's segments: nothing created or changed); ENOENT (read-only) no such file; ENOMEM; an
 * errno of open/read/ftruncate/mkdir; or the replay callback's nonzero
 * value.
 */
int sf_clog_open(const char *path, const struct sf_clog_options *opt,
		 sf_clog_t **log, struct sf_clog_recovery *rep);

/*
 * sf_clog_close() - write what is buffered (asynchronous commits
 * included), stop the appliers (each first receives every transaction
 * committed before), close the file.  Transactions of earlier opens still
 * in doubt stay so: the next open reports them again.
 * Return: 0; EBUSY (nothing done) while a transaction is still active, a
 * prepared one's handle included (sf_txn_release_prepared() leaves it in
 * doubt instead).
 */
int sf_clog_close(sf_clog_t *log);

/*
 * sf_clog_close_timed() - sf_clog_close() with a deadline for the
 * appliers' drain: @abs on @clk (CLOCK_MONOTONIC or CLOCK_REALTIME; NULL:
 * none).  At the deadline each applier ends after the callback it is in,
 * and the transactions still queued are not applied: they are durable,
 * and the next open replays them.
 * Return: 0; ETIMEDOUT (closed, but something was not applied); EBUSY
 * (nothing done) while a transaction is still active; EINVAL.
 */
int sf_clog_close_timed(sf_clog_t *log, clockid_t clk,
			const struct timespec *abs);

/* The write method in use, e.g. "io_uring write+fdatasync (linked)". */
const char *sf_clog_io_method(const sf_clog_t *log);

int sf_clog_stats(sf_clog_t *log, struct sf_clog_stats *st);

/*
 * sf_clog_add_applier() - start a background thread that calls @fn for
 * every transaction begun after this call that commits, in commit order,
 * each only after its commit has fully finished (durable, visible, waiters
 * woken).  The transactions keep a copy of their records for it.  Its
 * queue is bounded (sf_clog_options.applier_queue): committers wait in
 * sf_txn_commit(), after their commit is durable and visible, while it is
 * full.  The callback may itself commit to the log (it never waits).
 * Return: 0, EINVAL, ENOMEM, EAGAIN (thread creation).
 */
int sf_clog_add_applier(sf_clog_t *log, sf_clog_apply_fn fn, void *arg);

/*
 * sf_clog_checkpoint() - the engine declares that the effects of every
 * transaction whose commit record is below @lsn are in its own data
 * files.  A checkpoint record is written and made durable, holding @lsn
 * and the scan-from LSN: the smaller of @lsn and the first LSN of every
 * transaction that has records in the log and either has not finished or
 * committed at or after @lsn, so that such a transaction still replays
 * whole.  The next open replays only the transactions committed at or
 * after @lsn (unless sf_clog_options.start_lsn asks for more) and reads
 * records from the scan-from LSN on.  Then, in a directory log, the
 * segments wholly below the scan-from LSN are recycled (renamed to be
 * reused as later segments) or removed; a single file keeps everything.
 * Return: 0; EINVAL NULL @log, @lsn beyond the durable log
 * (sf_clog_durable_lsn()) or below the last checkpoint's (nothing
 * written); EROFS read-only; EIO the log failed; or the errno of a
 * rename, unlink or directory fsync (the checkpoint itself is durable).
 */
int sf_clog_checkpoint(sf_clog_t *log, uint64_t lsn);

/* ---- transactions ---------------------------------------------------- */

/*
 * sf_txn_begin() - begin a transaction.  Ids are 64-bit, increase in the
 * order of begin, and do not run out (EOVERFLOW only after 2^64 ids).
 * Return: 0; EIO (log failed); EROFS (opened SF_CLOG_READ_ONLY); ENOMEM.
 */
int sf_txn_begin(sf_clog_t *log, sf_txn_t **txn);
uint64_t sf_txn_id(const sf_txn_t *txn);

/*
 * sf_txn_add() - append a data record to the log buffer (waits for a
 * flush when the buffer is full).
 * Return: 0; EMSGSIZE @len too large for the buffer (nothing appended);
 * EBUSY @txn is prepared (sf_txn_prepare()); EIO; ENOMEM.
 */
int sf_txn_add(sf_txn_t *txn, const void *data, size_t len);

/*
 * sf_txn_commit() - append the commit record and return when it is
 * durable and the transaction is visible.  @txn is freed in every case.
 * @commit_lsn: NULL, or set to the LSN of the commit record.
 * Return: 0; or the write or flush error (EIO, ENOSPC, ...) that failed
 * it: the transaction then is not visible, is reported SF_TXN_FAILED
 * (never replayed by a later open) or, when the failure itself could not
 * be made durable, SF_TXN_IN_DOUBT; the log refuses further commits until
 * reopened.
 */
int sf_txn_commit(sf_txn_t *txn, uint64_t *commit_lsn);

/*
 * sf_txn_rollback() - roll back and free @txn.  The rollback record of a
 * prepared transaction is made durable before it returns (else a crash
 * would bring it back in doubt); any other's rides with a later flush.
 * Return: 0; for a prepared @txn, EIO when the log failed (the
 * transaction then stays in doubt in the log, and @txn is freed).
 */
int sf_txn_rollback(sf_txn_t *txn);

/* ---- asynchronous commit --------------------------------------------- */

/*
 * sf_txn_commit_async() - append the commit record and return once the
 * transaction is visible, without waiting for the record to be durable:
 * a background flush makes it durable at most
 * sf_clog_options.async_delay_us later (or sooner).  @txn is freed in
 * every case; @commit_lsn as for sf_txn_commit().
 *
 * Commit order is the order of the commit records, synchronous and
 * asynchronous alike, and a transaction becomes visible only after every
 * commit before it in that order is visible: an asynchronous commit
 * behind a synchronous one whose flush has not finished waits for it.
 * A crash may lose asynchronous commits, and only a suffix of the commit
 * order: a synchronous commit that returned makes every commit before it
 * durable, so nothing it observed (status, txn_wait, an applier) is ever
 * lost.  Appliers receive it once it is durable.  If the log fails before
 * it is durable its status becomes SF_TXN_FAILED (or SF_TXN_IN_DOUBT), the
 * only status change after visibility, and every later commit fails too.
 * sf_clog_close() writes what is pending.
 * Return: 0; EIO (the log failed before it was appended: not visible).
 */
int sf_txn_commit_async(sf_txn_t *txn, uint64_t *commit_lsn);

/* ---- prepare (two-phase commit) --------------------------------------- */

/*
 * sf_txn_prepare() - append a prepare record carrying @tag (an opaque
 * caller tag such as an XA XID, @tag_len <= SF_CLOG_MAX_TAG bytes, may be
 * empty) and return once it and all of @txn's records are durable.  The
 * log no longer rolls @txn back by itself: before a crash the handle
 * commits it (sf_txn_commit(), sf_txn_commit_async()) or rolls it back
 * (sf_txn_rollback()); after a crash sf_clog_open() reports it in doubt
 * (sf_clog_recovery.prepared, sf_clog_in_doubt()) until
 * sf_clog_commit_prepared() or sf_clog_rollback_prepared(), across any
 * number of reopens (an asynchronous commit of it that a crash loses
 * leaves it so too).  Its status is SF_TXN_PREPARED meanwhile.  No record
 * may be added after it (EBUSY).
 * Return: 0; EINVAL NULL @txn, NULL @tag with @tag_len, @tag_len too
 * large; EALREADY prepared already; EIO the log failed (nothing
 * prepared: the transaction is still active and may only be rolled back).
 */
int sf_txn_prepare(sf_txn_t *txn, const void *tag, size_t tag_len);

/*
 * sf_txn_release_prepared() - give up the handle of prepared @txn and
 * leave the transaction in doubt: nothing is written (its records and
 * prepare record are durable already), it stays SF_TXN_PREPARED, and it
 * no longer keeps sf_clog_close() from closing the log, so an engine can
 * shut down in the middle of two-phase commit.  Until the close,
 * sf_clog_commit_prepared() or sf_clog_rollback_prepared() resolves it by
 * id (sf_txn_id() before the release); after it, the next open reports
 * it in doubt (sf_clog_recovery.prepared, sf_clog_in_doubt()).  It is not
 * listed by this open's sf_clog_in_doubt(), as no transaction prepared
 * by this open is.  @txn must not be used afterwards.
 * Return: 0; EINVAL NULL @txn or @txn not prepared (nothing done, the
 * handle is still the caller's); ENOMEM.
 */
int sf_txn_release_prepared(sf_txn_t *txn);

/* A prepared transaction in doubt, as sf_clog_in_doubt() reports it. */
struct sf_prepared_txn {
	uint64_t id;
	uint64_t prepare_lsn;	/* LSN of its prepare record */
	uint64_t first_lsn;	/* LSN of its first record */
	const void *tag;	/* as given to sf_txn_prepare() */
	size_t tag_len;
	size_t nrecs;
	const struct sf_commit_rec *recs;	/* in the order added */
};

/* sf_clog_in_doubt() callback: nonzero stops the listing. */
typedef int (*sf_clog_prepared_fn)(void *arg,
				   const struct sf_prepared_txn *txn);

/*
 * sf_clog_in_doubt() - call @fn for every transaction that an earlier
 * open prepared and that is still in doubt (not resolved since), in id
 * order; the data it points to stays valid until sf_clog_close().
 * Transactions prepared through a handle of this open are not listed
 * (their handle resolves them).  A resolution racing with the listing
 * may or may not be seen.
 * Return: 0; EINVAL; ENOMEM; or @fn's nonzero value.
 */
int sf_clog_in_doubt(sf_clog_t *log, sf_clog_prepared_fn fn, void *arg);

/*
 * sf_clog_commit_prepared() - commit the in-doubt transaction @id of an
 * earlier open, or one whose handle this open released
 * (sf_txn_release_prepared()) (synchronously: durable and visible when it returns, then
 * given to the appliers, replayed by every later open).  By id, not by
 * tag: ids are unique over the life of the log, tags are the caller's
 * and need not be; sf_clog_in_doubt() gives both.
 * @commit_lsn: NULL, or the LSN of its commit record.
 * Return: 0; EINVAL NULL @log; ENOENT @id is not in doubt (never
 * prepared, or resolved by an earlier open); EALREADY resolved (or being
 * resolved) since this open; EROFS read-only; EIO the log failed (still
 * in doubt); a write or flush error as for sf_txn_commit(), after which
 * it stays in doubt in the log.  Nothing is changed on error.
 */
int sf_clog_commit_prepared(sf_clog_t *log, uint64_t id,
			    uint64_t *commit_lsn);

/*
 * sf_clog_rollback_prepared() - roll back the in-doubt transaction @id
 * of an earlier open; its rollback record is durable when it returns.
 * Return: as sf_clog_commit_prepared().
 */
int sf_clog_rollback_prepared(sf_clog_t *log, uint64_t id);

/* ---- write-ahead by LSN ---------------------------------------------- */

/*
 * sf_txn_add_lsn() - sf_txn_add(), and @lsn (NULL: not wanted) receives
 * the record's LSN: its byte offset in the log, larger than every LSN
 * appended before it.  Nothing is written to @lsn on error.
 */
int sf_txn_add_lsn(sf_txn_t *txn, const void *data, size_t len,
		   uint64_t *lsn);

/*
 * sf_clog_flush_to() - return once the record at @lsn and every record
 * before it are durable (the write-ahead rule of an engine that writes a
 * page before the transactions that changed it commit: flush to the
 * page's LSN first).  Leads the flush of the batch holding @lsn, or waits
 * for the one that is writing it, sharing it with the committers of that
 * batch; returns at once when it is durable already.  Durable is not
 * committed: the transaction stays active until sf_txn_commit().
 * Return: 0; EINVAL NULL @log, or nothing is appended at @lsn yet (it is
 * at or past the end of the log); EIO the log failed before @lsn became
 * durable.
 */
int sf_clog_flush_to(sf_clog_t *log, uint64_t lsn);

/*
 * sf_clog_durable_lsn() - the end of the durable log: every record whose
 * LSN is below it is durable, and sf_clog_flush_to() of such an LSN
 * returns at once.  It only grows while the log is open.  0 for a NULL
 * @log.
 */
uint64_t sf_clog_durable_lsn(sf_clog_t *log);

/* ---- visibility and waiting ------------------------------------------ */

/* A point in the commit order: what had committed when it was taken. */
typedef struct sf_snapshot {
	uint64_t __watermark;
} sf_snapshot_t;

#define SF_TXN_ACTIVE		0 /* running, or committing and not yet visible */
#define SF_TXN_COMMITTED	1 /* committed and visible (to the snapshot) */
#define SF_TXN_ROLLED_BACK	2
#define SF_TXN_FAILED		3 /* its commit failed (I/O error); never replayed */
/*
 * Its commit failed, and so did every way of making that durable: a
 * later open may or may not replay it (the device failed the cut, the
 * zeros written over it and their flush).
 */
#define SF_TXN_IN_DOUBT		4
/*
 * Prepared (sf_txn_prepare()), by this open or an earlier one, and not
 * yet resolved: not visible to any snapshot; sf_clog_txn_wait() waits on
 * for its outcome.  A prepared transaction whose commit failed with the
 * log stays prepared (it is in doubt after the reopen).
 */
#define SF_TXN_PREPARED		5

int sf_clog_snapshot(sf_clog_t *log, sf_snapshot_t *snap);

/*
 * sf_clog_txn_status() - state of transaction @id as seen by @snap (NULL:
 * now).  A transaction whose commit finished after @snap was taken is
 * SF_TXN_ACTIVE for it.  Takes no lock, except for an id that fell behind
 * the status horizon while active (sf_clog_options.status_horizon).
 * Return: 0; ENOENT @id was not begun since this open (not yet handed out,
 * or handed out by an earlier open and not in doubt: a transaction of an
 * earlier open that this open found prepared is SF_TXN_PREPARED, and
 * after its resolution keeps that outcome as long as the ids of this
 * open do, then is ENOENT again); ESTALE @id is older than the status
 * horizon: it has ended (committed, rolled back or failed) and its outcome
 * is no longer kept.  An engine that needs it keeps its own record (as
 * PostgreSQL freezes tuples older than its horizon).
 */
int sf_clog_txn_status(sf_clog_t *log, uint64_t id, const sf_snapshot_t *snap,
		       int *status);

/*
 * sf_clog_txn_wait() - wait until transaction @id has committed (and is
 * visible), rolled back or failed; @status receives which.  A prepared
 * transaction has no outcome yet: the wait goes on until it is resolved.
 * @abs: absolute deadline on @clk (CLOCK_MONOTONIC or CLOCK_REALTIME), or
 * NULL to wait without limit.
 * Return: 0; ETIMEDOUT; ENOENT; ESTALE @id is older than the status horizon:
 * it ended long ago and its outcome is no longer kept (nothing to wait
 * for); EINVAL (clock, deadline).
 */
int sf_clog_txn_wait(sf_clog_t *log, uint64_t id, clockid_t clk,
		     const struct timespec *abs, int *status);

#ifdef __cplusplus
}
#endif

#endif /* SYNCFIX_COMMIT_H */
