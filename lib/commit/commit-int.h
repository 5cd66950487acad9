/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * commit-int.h - commit log internals shared by commit.c (sequencer),
 * commit-io.c (durable writes, CRC32C) and commit-recover.c (recovery).
 *
 * On-disk format, little-endian, version 2:
 *
 *	file header, 32 bytes:
 *	  0  magic "SFXCLOG\n"
 *	  8  u32 format version (2)
 *	 12  u32 header size (32)
 *	 16  u64 reserved (0)
 *	 24  u32 reserved (0)
 *	 28  u32 CRC32C of bytes 0..27
 *
 *	record, 32 bytes + payload, starting right after the previous one:
 *	  0  u32 CRC32C of bytes 4..31 and the payload
 *	  4  u32 payload length
 *	  8  u64 transaction id (0: a record of the log itself)
 *	 16  u64 LSN: the record's own byte offset in the file
 *	 24  u32 type (CLOG_REC_*)
 *	 28  u32 batch: the number of the write (batch) that wrote it, one
 *	     more per batch over the life of the log, modulo 2^32
 *	 32  payload
 *
 * The LSN equal to the offset makes a record copied to another place, or
 * left over from an older generation of the file, invalid.  The batch
 * number tells recovery which batches may have been in flight together
 * (commit-recover.c, V2c).  CLOG_REC_IDS (transaction 0, an 8-byte
 * payload: u64 limit) says that ids below limit may have been handed
 * out: the next open starts at the largest limit found (commit.c, I1).
 *
 * CLOG_REC_PREPARE (type 6; payload: the caller's tag, at most
 * SF_CLOG_MAX_TAG bytes) ends the data records of a transaction that
 * sf_txn_prepare() made durable: recovery keeps it in doubt, with its
 * records, until a commit or rollback record of the same id follows, in
 * this open or a later one (commit-recover.c, V3p).  Type 7 is reserved
 * for the same work.
 *
 * Version 1 (the same, batch always 0, no CLOG_REC_IDS) is read; a
 * writable open rewrites its header as version 2 before it writes (one
 * 32-byte write in the first sector and an fdatasync, as PostgreSQL
 * rewrites pg_control in place).
 */
#ifndef SF_SRC_CLOG_H
#define SF_SRC_CLOG_H

#include <stddef.h>
#include <stdint.h>

#include <syncfix/commit.h>
#include <syncfix/mutex.h>

#define CLOG_MAGIC		"SFXCLOG\n"
#define CLOG_VERSION		2u
#define CLOG_HDR_SIZE		32u
#define CLOG_REC_HDR		SF_CLOG_RECORD_OVERHEAD

#define CLOG_REC_DATA		1u
#define CLOG_REC_COMMIT		2u
#define CLOG_REC_ROLLBACK	3u
#define CLOG_REC_IDS		4u	/* version 2 */
#define CLOG_IDS_LEN		8u
#define CLOG_REC_PREPARE	6u	/* payload: the tag */

/* Is @type a record type of @version? */
static inline int clog_type_known(uint32_t type, uint32_t version)
{
	if (version == 1)
		return type >= CLOG_REC_DATA && type <= CLOG_REC_ROLLBACK;
	return (type >= CLOG_REC_DATA && type <= CLOG_REC_IDS) ||
	       type == CLOG_REC_PREPARE;
}

uint32_t sf_crc32c(uint32_t crc, const void *buf, size_t len);

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

/* Fill the 32-byte file header (@version: 1 or CLOG_VERSION). */
void clog_make_header(unsigned char *h, uint32_t version);

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

/* ---- recovery (commit-recover.c) -------------------------------------- */

/* What recovery found that the sequencer continues from. */
struct clog_found {
	uint64_t end;		/* where appending continues */
	uint64_t next_txn;	/* above every id that may have been used */
	uint32_t next_batch;	/* above every batch number in the log */
	uint32_t version;	/* of the header (1 or 2) */
	struct clog_indoubt_set indoubt;	/* prepared, unresolved (V3p) */
};

/*
 * Read and check the log on @fd (locked by the caller), replay, cut a
 * damaged tail.
 */
int clog_recover(int fd, const struct sf_clog_options *opt,
		 struct sf_clog_recovery *rep, struct clog_found *found);

#endif /* SF_SRC_CLOG_H */
