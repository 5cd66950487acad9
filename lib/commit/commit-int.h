/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * commit-int.h - commit log internals shared by commit.c (sequencer),
 * commit-io.c (durable writes, CRC32C) and commit-recover.c (recovery).
 *
 * On-disk format, little-endian, version 3.  A log is either a directory
 * of segment files (the format of a log created with segments) or one
 * file (the format of a log created before segments, and of a log created
 * with SF_CLOG_SINGLE_FILE).  Either way there is one LSN space, and an
 * LSN is a byte position in it: in a single file its offset; in a
 * directory segment i holds [i * S, (i + 1) * S) of the space, S the
 * segment size, and the byte at LSN x is at offset x - i * S of file i.
 *
 *	header, 32 bytes, at the start of the file or of each segment:
 *	  0  magic "SFXCLOG\n"
 *	  8  u32 format version (3; 1 and 2 are read, see below)
 *	 12  u32 header size (32)
 *	 16  u64 start LSN of the segment (i * S; 0 in a single file)
 *	 24  u32 segment size S (0: a single file, no segments)
 *	 28  u32 CRC32C of bytes 0..27
 *
 *	record, 32 bytes + payload, starting right after the previous one:
 *	  0  u32 CRC32C of bytes 4..31 and the payload
 *	  4  u32 payload length
 *	  8  u64 transaction id (0: a record of the log itself)
 *	 16  u64 LSN: the record's own position (above)
 *	 24  u32 type (CLOG_REC_*)
 *	 28  u32 batch: the number of the write (batch) that wrote it, one
 *	     more per batch over the life of the log, modulo 2^32
 *	 32  payload
 *
 * The LSN equal to the position makes a record copied to another place,
 * left over from an older generation of the file, or in a recycled
 * segment (renamed to a later index, commit-segment.c), invalid.  The
 * batch number tells recovery which batches may have been in flight
 * together (commit-recover.c, V2c).  CLOG_REC_IDS (transaction 0, an
 * 8-byte payload: u64 limit) says that ids below limit may have been
 * handed out: the next open starts at the largest limit found (commit.c,
 * I1).  CLOG_REC_CHECKPOINT (transaction 0, 24 bytes: u64 lsn, u64
 * scan_from, u64 id limit): the engine declared everything before lsn in
 * its own data files; recovery needs nothing below scan_from (C1-C4 in
 * commit-segment.c); the id limit is the largest id reservation appended
 * before it, which counts as a CLOG_REC_IDS record (the reservations
 * themselves may be in recycled segments).
 *
 * CLOG_REC_PREPARE (type 6, version 3; payload: the caller's tag, at most
 * SF_CLOG_MAX_TAG bytes) ends the data records of a transaction that
 * sf_txn_prepare() made durable: recovery keeps it in doubt, with its
 * records, until a commit or rollback record of the same id follows, in
 * this open or a later one (commit-recover.c, V3p).  Type 7 is reserved
 * for the same work.
 *
 * Segments.  A record never spans two segments: one that does not fit in
 * what is left of the current segment starts the next one at its first
 * record, i * S + 32, and the rest of the segment stays zeros (every
 * segment is written full of zeros, and made durable, before it is used:
 * the zeros ahead of Z1-Z3 come with it).  A batch never spans two
 * segments either, so the first record of a segment is the first of the
 * batch after the last record of the segment before (V2s,
 * commit-recover.c).  Segment files are named by their index, 16 hex
 * digits and ".seg" ("000000000000002a.seg"), present from the first
 * still needed to the last prepared without a gap; every change to the
 * directory (create, rename, remove) is followed by its fsync before the
 * next one, so a crash leaves them without a gap too.
 *
 * Older single files are read, not migrated: versions 1 and 2 have the
 * same records (version 1: batch always 0, no CLOG_REC_IDS; neither has
 * CLOG_REC_CHECKPOINT or CLOG_REC_PREPARE), and a writable open rewrites the header as version
 * 3 before it writes (one 32-byte write in the first sector and an
 * fdatasync, as PostgreSQL rewrites pg_control in place), so a library
 * that knows no checkpoint or prepare record refuses the file instead of reading one
 * as damage.  A single file stays a single file: turning it into a
 * directory at the same path cannot be done in one atomic step, and
 * copying a log of any size at open would make the open take as long;
 * such a log writes checkpoints and replays from them, but recycles
 * nothing (sf_clog_checkpoint(3)).  A new log is a directory unless
 * SF_CLOG_SINGLE_FILE asks for a file (N1, commit-segment.c); an existing
 * one, a directory or a file (an empty one too), keeps its kind.
 */
#ifndef SF_SRC_CLOG_H
#define SF_SRC_CLOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <syncfix/commit.h>
#include <syncfix/mutex.h>

#define CLOG_MAGIC		"SFXCLOG\n"
#define CLOG_VERSION		3u
#define CLOG_HDR_SIZE		32u
#define CLOG_REC_HDR		SF_CLOG_RECORD_OVERHEAD

#define CLOG_REC_DATA		1u
#define CLOG_REC_COMMIT		2u
#define CLOG_REC_ROLLBACK	3u
#define CLOG_REC_IDS		4u	/* version 2 */
#define CLOG_IDS_LEN		8u
#define CLOG_REC_CHECKPOINT	5u	/* version 3 */
#define CLOG_CKPT_LEN		24u
#define CLOG_REC_PREPARE	6u	/* version 3; payload: the tag */

/* Is @type a record type of @version? */
static inline int clog_type_known(uint32_t type, uint32_t version)
{
	if (version == 1)
		return type >= CLOG_REC_DATA && type <= CLOG_REC_ROLLBACK;
	if (version == 2)
		return type >= CLOG_REC_DATA && type <= CLOG_REC_IDS;
	return type >= CLOG_REC_DATA && type <= CLOG_REC_PREPARE;
}

uint32_t sf_crc32c(uint32_t crc, const void *buf, size_t len);

/*
 * Room for @want elements of @size bytes in the array at *@vp (a pointer
 * to the array's pointer), whose capacity *@cap doubles from @first.
 * Return: 0, or ENOMEM with the array and *@cap unchanged.
 */
static inline int clog_grow(void *vp, size_t *cap, size_t want, size_t size,
			    size_t first)
{
	size_t n = *cap ? *cap : first;
	void *v, *nv;

	if (want <= *cap)
		return 0;
	while (n < want)
		n *= 2;
	memcpy(&v, vp, sizeof(v));
	nv = realloc(v, n * size);
	if (!nv)
		return ENOMEM;
	memcpy(vp, &nv, sizeof(nv));
	*cap = n;
	return 0;
}

static inline void clog_put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void clog_put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t clog_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t clog_get64(const unsigned char *p)
{
	return (uint64_t)clog_get32(p) | (uint64_t)clog_get32(p + 4) << 32;
}

/*
 * Fill the 32-byte header (@version: 1 or CLOG_VERSION): of segment
 * @start / @segsize, or of a single file (@segsize 0, @start 0).
 */
void clog_make_header(unsigned char *h, uint32_t version, uint64_t start,
		      uint32_t segsize);

/* Fill a record's header at @p (payload already at @p + 32), CRC last. */
void clog_make_record(unsigned char *p, uint64_t txn, uint64_t lsn,
		      uint32_t type, uint32_t batch, size_t len);

/* ---- durable writes (commit-io.c) ------------------------------------- */

struct io_uring;

struct clog_io {
	int fd;
	int method;		/* SF_CLOG_IO_URING_LINKED, _DSYNC, _PWRITEV */
	struct io_uring *ring;	/* used by one flushing leader at a time */
};

/*
 * Set up @want (SF_CLOG_IO_*) on @fd; falls back to pwritev when io_uring
 * cannot be set up or SYNCFIX_NO_URING=1.  Return: 0 or ENOMEM.
 */
int clog_io_init(struct clog_io *io, int fd, int want);
void clog_io_exit(struct clog_io *io);
const char *clog_io_name(int method);

/*
 * Write @len bytes at @off and make them durable.  A short write is
 * continued; a write that makes no progress is EIO.  Return: 0 or the
 * error of the write or the flush (never retried after a failed flush).
 */
int clog_io_write_durable(struct clog_io *io, const void *buf, size_t len,
			  uint64_t off);

/*
 * I/O fault points for tests (SF_FAULT, testhooks.h; @obj is the struct
 * clog_io): "commit-io:write" before each write step (@val: bytes still
 * to write) and "commit-io:flush" once per durable write, before the
 * flush (@val: its length).  The hook's answer: SF_HOOK_NONE (-1) no
 * fault; an errno value > 0: fail the step with it (nothing written / no
 * flush); for a write, -2 - n with n < @val: write only n bytes (a short
 * write).
 */

/* ---- transaction status (commit-status.c) ------------------------------ */

/* A status: active, a small final value, or a commit LSN (>= 32). */
#define CLOG_ST_ACTIVE		0u
#define CLOG_ST_ROLLED_BACK	1u
#define CLOG_ST_FAILED		2u
#define CLOG_ST_IN_DOUBT	3u	/* below every commit LSN */
#define CLOG_ST_PREPARED	4u	/* not final: kept like ACTIVE (S2) */

/* An id that left the ring while active (S2). */
struct clog_outlier {
	uint64_t id, v;
	uint64_t forget_at;	/* 0 while active; then next + R (S3) */
};

/* The rules S1-S5 are at the top of commit-status.c. */
struct clog_status {
	sf_mutex_t *m;			/* the log's */
	uint64_t base;			/* first id of this open */
	uint64_t low, next;		/* (m) stored release, read acquire */
	uint64_t mask;			/* ring size R - 1 */
	uint64_t *ring;
	struct clog_outlier *out;	/* (m) sorted by id */
	uint32_t nout;			/* (m) stored release */
	uint32_t out_cap;		/* (m) */
	uint64_t forget_min;		/* (m) earliest forget_at */
};

/* R = @horizon rounded up to a power of two.  Return: 0 or ENOMEM. */
int clog_status_init(struct clog_status *s, sf_mutex_t *m, uint64_t base,
		     uint64_t horizon);
void clog_status_free(struct clog_status *s);
/* Hand out the next id, in *@id (m held).  Return: 0 or ENOMEM. */
int clog_status_begin_locked(struct clog_status *s, uint64_t *id);
/* Set the final status of @id (m held). */
void clog_status_set_locked(struct clog_status *s, uint64_t id, uint64_t v);
/* Without m.  Return: 0 and *@v; ENOENT not an id of this open; ESTALE
 * finished, and older than the horizon. */
int clog_status_get(struct clog_status *s, uint64_t id, uint64_t *v);
uint64_t clog_status_bytes_locked(const struct clog_status *s);
/*
 * (S6) Before the first begin: @id (below base), a prepared transaction
 * of an earlier open, is known as an outlier with status @v
 * (CLOG_ST_PREPARED).  Ids in increasing order.  Return: 0 or ENOMEM.
 */
int clog_status_add_earlier(struct clog_status *s, uint64_t id, uint64_t v);

/* ---- prepared transactions found by recovery (commit-prepare.c) ------- */

/*
 * One prepared, unresolved transaction of an earlier open: its records
 * (copies), its tag and where it starts in the log.  first_lsn is what a
 * checkpoint's "scan from" must not pass while it is in doubt.
 */
struct clog_indoubt {
	uint64_t id;
	uint64_t first_lsn;	/* LSN of its first record */
	uint64_t prepare_lsn;	/* LSN of its prepare record */
	unsigned char *data;	/* payloads, then the tag */
	size_t tag_len;
	size_t nrecs;
	struct sf_commit_rec *recs;	/* .data points into data */
	int state;		/* (m) 0 in doubt, 1 resolving, 2 resolved */
};

struct clog_indoubt_set {
	struct clog_indoubt *v;	/* in id order */
	size_t n, cap;
};

/* Add @d (whose data and recs the set now owns).  Return: 0 or ENOMEM. */
int clog_indoubt_add(struct clog_indoubt_set *s, const struct clog_indoubt *d);
/* The entry of @id, or NULL. */
struct clog_indoubt *clog_indoubt_find(struct clog_indoubt_set *s, uint64_t id);
void clog_indoubt_free(struct clog_indoubt_set *s);

/* ---- segments and checkpoints (commit-segment.c) ----------------------- */

#define CLOG_SEG_SINGLE		(1ull << 62)	/* S of a single file */
#define CLOG_SEG_FDS		16u	/* segment files kept open */
#define CLOG_SEG_SPARES		2u	/* recycled files kept past the current */

/* The segment of LSN @x, and the LSN of the first record of segment @i. */
static inline uint64_t clog_seg_of(uint64_t size, uint64_t x)
{
	return x / size;
}

static inline uint64_t clog_seg_first(uint64_t size, uint64_t i)
{
	return i * size + 32u;
}

/*
 * The files of a log.  A single file is segment 0 of size
 * CLOG_SEG_SINGLE (dirfd -1, never switched, prepared or recycled).
 */
struct clog_segs {
	sf_mutex_t *m;		/* the log's */
	int dirfd;		/* -1: a single file */
	int filefd;		/* the single file, else -1 */
	uint64_t size;		/* S */
	bool read_only;
	sf_mutex_t dir_m;	/* directory changes (C3): one at a time */
	uint64_t first, last;	/* (dir_m) files present: first..last */
	uint64_t ready;		/* (m) prepared up to here (P1) */
	uint64_t cur;		/* (m) the segment being appended to */
	uint64_t want;		/* (m) the preparer works up to here (P2) */
	int prep_err;		/* (m) preparing failed: the log fails */
	bool prep_stop;		/* (m) */
	bool prep_running;	/* (m) started (P5) */
	pthread_t prep;
	uint32_t prep_seq, prep_waiters;	/* the preparer sleeps here */
	uint32_t ready_seq, ready_waiters;	/* a switch waits here (P2) */
	int fd[CLOG_SEG_FDS];	/* (m) open files, by index % CLOG_SEG_FDS */
	uint64_t fd_idx[CLOG_SEG_FDS];
	uint64_t fd_size[CLOG_SEG_FDS];
	uint64_t switches, switch_waits, recycled;	/* (m) */
};

/* (W1)-(W4) of commit.c on @seq, @m held for W1..W3.  Return: 0, ETIMEDOUT. */
int clog_wait_locked(sf_mutex_t *m, uint32_t *seq, uint32_t *waiters,
		     const struct timespec *abs);

void clog_segs_init(struct clog_segs *g, sf_mutex_t *m);
/*
 * Open (or, @create, make) the directory log at @path: flock, list the
 * segments, make segment 0 of a new one, of @new_size bytes.  An existing
 * log keeps its own S (@size nonzero and different: EINVAL).  Return: 0,
 * EBUSY, EUCLEAN (a gap between segments, reason in @rep), EINVAL, or an
 * errno.
 */
int clog_segs_open(struct clog_segs *g, const char *path, uint64_t size,
		   uint64_t new_size, bool create, bool read_only,
		   struct sf_clog_recovery *rep);
/* A single file @fd. */
void clog_segs_single(struct clog_segs *g, int fd);
/*
 * The open file of segment @i and its size in *@fsize (NULL: not wanted);
 * -1 and errno on failure.  m held once the log is running.
 */
int clog_seg_fd_locked(struct clog_segs *g, uint64_t i, uint64_t *fsize);
/*
 * (P2) Appending moves to segment cur + 1.  m held.  Return: 0 (cur is
 * the new one); EAGAIN it was not ready: waited for the preparer (m was
 * dropped), look again; or the preparer's error (P3).
 */
int clog_seg_switch_locked(struct clog_segs *g);
/* (P2) The log reached @end: past half of cur, prepare the next.  m held. */
void clog_seg_progress_locked(struct clog_segs *g, uint64_t end);
/* (C3) Recycle or remove the files below segment @below.  Return: errno. */
int clog_segs_recycle(struct clog_segs *g, uint64_t below);
/* (V5) Remove every segment file above @i, the last first. */
int clog_segs_remove_above(struct clog_segs *g, uint64_t i);
/* Write zeros over [@from, @to) of the log (within one segment). */
int clog_segs_zero(struct clog_segs *g, uint64_t from, uint64_t to);
void clog_segs_close(struct clog_segs *g);

/*
 * Transactions with records in the log that a checkpoint must keep (C1):
 * unfinished ones by their first LSN, and committed ones since the last
 * checkpoint by the bucket of LSN space their commit record is in.  m
 * held for all of these.  A transaction registers when its first
 * record is appended and unregisters when it ends; a recovered prepared
 * transaction registers the same way.  An add never fails: without
 * memory it pins the floor at its LSN until the log is closed (keeps
 * more, never less).
 */
struct clog_unf_ent {
	uint64_t lsn;		/* first LSN */
	uint64_t id;		/* 0: removed; in .cb: the commit bucket */
};

struct clog_unfinished {
	uint64_t bucket;	/* bytes of LSN space per commit bucket */
	struct clog_unf_ent *v;	/* [head, n) sorted by lsn */
	size_t head, n, cap, live;
	struct clog_unf_ent *cb;	/* committed, [cb_head, cb_n) */
	size_t cb_head, cb_n, cb_cap;
	struct clog_unf_ent spill;	/* commits not stored (no memory) */
	bool spilled, pinned;
	uint64_t pin;			/* unfinished not stored (no memory) */
};

#define CLOG_CB_BUCKET		(1u << 20)	/* of a single file */

void clog_unfinished_add_locked(struct clog_unfinished *u, uint64_t id,
				uint64_t first_lsn);
void clog_unfinished_del_locked(struct clog_unfinished *u, uint64_t id,
				uint64_t first_lsn);
/* A transaction whose records start at @first_lsn committed at @lsn. */
void clog_committed_add_locked(struct clog_unfinished *u, uint64_t lsn,
			       uint64_t first_lsn);
/* (C1) min(@lsn, what a checkpoint at @lsn must keep). */
uint64_t clog_unfinished_floor_locked(const struct clog_unfinished *u,
				      uint64_t lsn);
/* A checkpoint at @lsn is durable: forget commits wholly below it. */
void clog_unfinished_trim_locked(struct clog_unfinished *u, uint64_t lsn);
void clog_unfinished_free(struct clog_unfinished *u);

/* ---- recovery (commit-recover.c) -------------------------------------- */

/* What recovery found that the sequencer continues from. */
struct clog_found {
	uint64_t end;		/* where appending continues */
	uint64_t ckpt_lsn, ckpt_from;	/* the last checkpoint, or 0 */
	uint64_t next_txn;	/* above every id that may have been used */
	uint32_t next_batch;	/* above every batch number in the log */
	uint32_t version;	/* of the header (1 to 3) */
	uint64_t end_seg;	/* segment of end: ready up to it */
	struct clog_indoubt_set indoubt;	/* prepared, unresolved (V3p) */
};

/*
 * Read and check the log in @g (locked by the caller), replay, cut a
 * damaged tail.
 */
int clog_recover(struct clog_segs *g, const struct sf_clog_options *opt,
		 struct sf_clog_recovery *rep, struct clog_found *found);

#endif /* SF_SRC_CLOG_H */
