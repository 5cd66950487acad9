// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * commit-recover.c - recovery of the commit log on open, streaming: two
 * sequential passes through a window of the file, with memory bounded by
 * the largest record and the transactions open at a point of the log, not
 * by the size of the log.
 *
 * (V1) Header: a file shorter than the header, with another magic or a
 *      bad header CRC is not a syncfix log: EBADMSG, and the file is not
 *      touched.  A newer format version: EPROTONOSUPPORT, not touched.
 *      An empty file gets a header (a new log; read-only: EBADMSG).
 * (V2) Scan (pass 1): records follow each other from offset 32.  A record
 *      is valid when its header is complete, its length fits in the file
 *      and under SF_CLOG_MAX_BUFFER, its type is known (and, in version 1,
 *      its batch word is 0), its LSN equals its offset and its CRC32C
 *      matches.  The scan stops at the first invalid record, the damage:
 *      (V2z) if everything from there to the end of the file is zero, it
 *      is the clean end of a log that kept zeros written ahead of its end
 *      (commit.c, Z1-Z3): neither reported nor cut (the next records
 *      overwrite it);
 *      (V2c) else the rest of the file is searched for valid records (a
 *      record whose LSN equals its offset, and all of the above).  Let kv
 *      be the batch number of the last valid record before the damage
 *      (2^32 - 1 if there is none: the first batch of a log is 0).  The
 *      damaged record belongs to batch kv or kv + 1, and at most
 *      SF_CLOG_MAX_FLUSHES batches are written at once, each only after
 *      the batch SF_CLOG_MAX_FLUSHES before it has finished (commit.c,
 *      Order of batches); so a batch above kv + SF_CLOG_MAX_FLUSHES was
 *      written after the damaged one was durable.  A valid record after
 *      the damage with a batch number in (kv + SF_CLOG_MAX_FLUSHES,
 *      kv + 2^31) -- or below kv -- therefore proves that the damage came
 *      after the fact: corruption, not a torn write.  Open then fails with
 *      EUCLEAN, reports the damage's offset (valid_end) and the valid
 *      record's (valid_after), and modifies nothing -- unless
 *      SF_CLOG_SALVAGE asks to cut there anyway.  The ids and id
 *      reservations of every valid record after the damage count as
 *      used too (a cut must not let them be handed out again; with a
 *      salvage the scan reads on to the end for them).  Otherwise (no valid
 *      record after it, or only ones that may have been in flight with
 *      the damaged batch) the damage is a torn tail: cut.  Records of a
 *      version 1 log carry batch 0: damage among them is told from a torn
 *      tail only by records written after the log was upgraded.
 * (V2s) Segments (a directory log): the scan starts at the first record
 *      of the first segment file, whose header must be valid (start LSN
 *      i * S, size S).  At a segment whose records end with zeros to its
 *      end, the log goes on in the next segment only if that one's header
 *      is valid and its first record is valid and of the batch after the
 *      last one seen (a batch never spans two segments; commit-int.h).
 *      Every batch of a segment is durable before the first batch of
 *      the next is written (commit.c, switch_segment_locked()), so such
 *      zeros are never a torn batch.  Otherwise the log ends there, and
 *      the later segments are searched as in V2c: a valid record in them
 *      of a batch in flight makes the end a torn tail; one of a later
 *      batch, or in a segment whose header is not valid (it was durable
 *      before the segment was used), corruption; none, a clean end.  A gap in the segment files is EUCLEAN before anything is
 *      read (commit-segment.c); a file cut short while it was being
 *      created holds no record.  The cut (V5) of a directory log writes
 *      zeros over the rest of the end's segment and removes every later
 *      file, the last first, each removal made durable before the next.
 * (V3) Outcome per transaction (pass 2, up to the end of pass 1): its
 *      commit or rollback record ends it, and a commit record replays it
 *      with the data records of its id before that record; a transaction
 *      with neither is unfinished, not replayed.  An id reservation
 *      (CLOG_REC_IDS, transaction 0) is not a transaction: the next id is
 *      above the largest limit and every id found (commit.c, I1).  Pass 2
 *      keeps only (offset, length) of the data records of transactions
 *      still open at that point of the log and reads their payloads back
 *      at the commit record (from the window, or pread).
 * (V3p) A prepare record (CLOG_REC_PREPARE) ends the data records of its
 *      transaction without ending it: if no commit or rollback record of
 *      its id follows, it is in doubt -- not replayed, not dropped, and
 *      not counted as unfinished: its records, its tag and its first LSN
 *      are handed to the sequencer (clog_found.indoubt), which holds it
 *      until it is resolved by a commit or rollback record appended by a
 *      later open; that record ends it as any other (V3), so a
 *      transaction prepared before one crash and resolved after it is
 *      replayed (or not) at the resolution's place in the commit order.
 * (V4) Replay in commit order (the order of the commit records).
 * (V6) From the last checkpoint (C1-C4, commit-segment.c): pass 1 notes
 *      the last checkpoint record (lsn L, scan_from F) of the valid
 *      prefix; pass 2 keeps no record below F and replays the commits at
 *      or after L -- or at or after start_lsn, which below L makes pass 2
 *      read from the first record, and needs a checkpoint at or below it
 *      whose F is in the log (the first such is where whole transactions
 *      start), else ERANGE.  A directory whose first file lies above the
 *      last checkpoint's F (or has no checkpoint, though files were
 *      recycled) has lost segments: EUCLEAN.
 * (V5) Only then is the damaged tail cut (ftruncate + fdatasync), so a
 *      replay callback that fails, or corruption, leaves the file as it
 *      was, and opening again finds the same valid prefix and replays the
 *      same transactions.  Read-only (SF_CLOG_READ_ONLY): never cut, the
 *      would-be cut is reported.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commit-int.h"
#include "internal.h"

#define WINDOW		(1u << 20)

/* ---- a window on the file ------------------------------------------- */

struct reader {
	struct clog_segs *g;
	uint64_t size;		/* end of the LSN space present */
	unsigned char *buf;
	size_t cap, len;
	uint64_t off0;		/* LSN of buf[0] */
};

static bool rd_dir(const struct reader *r)
{
	return r->g->dirfd >= 0;
}

/*
 * End of the data of the file holding @off: the end of a single file, or
 * of segment @off / S (or its file, if shorter); @off itself, with *@err
 * set, when the file cannot be opened.  *@fd: its descriptor.
 */
static uint64_t rd_limit(struct reader *r, uint64_t off, int *fd, int *err)
{
	uint64_t i = clog_seg_of(r->g->size, off), fsize;

	*fd = clog_seg_fd_locked(r->g, i, &fsize);
	if (*fd < 0) {
		*err = errno ? errno : EIO;
		return off;
	}
	if (!rd_dir(r))
		return r->size;
	return i * r->g->size + (fsize < r->g->size ? fsize : r->g->size);
}

/*
 * [@off, @off + @n) in memory (within one file).  Return: a pointer into
 * the window, or NULL with *@err set (ENOMEM, a read error, EIO when the
 * file shrank under us).
 */
static const unsigned char *rd_get(struct reader *r, uint64_t off, size_t n,
				   int *err)
{
	size_t want, done = 0;
	uint64_t lim, base;
	int fd;

	if (off >= r->off0 && off + n <= r->off0 + r->len)
		return r->buf + (off - r->off0);
	lim = rd_limit(r, off, &fd, err);
	if (fd < 0)
		return NULL;
	base = rd_dir(r) ? clog_seg_of(r->g->size, off) * r->g->size : 0;
	want = n > WINDOW ? n : WINDOW;
	if (off + n > lim) {
		*err = EIO;
		return NULL;
	}
	if (want > lim - off)
		want = (size_t)(lim - off);
	if (want > r->cap) {
		unsigned char *b = realloc(r->buf, want);

		if (!b) {
			*err = ENOMEM;
			return NULL;
		}
		r->buf = b;
		r->cap = want;
	}
	while (done < want) {
		ssize_t k = pread(fd, r->buf + done, want - done,
				  (off_t)(off - base + done));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			*err = k < 0 ? errno : EIO;
			r->len = 0;
			return NULL;
		}
		done += (size_t)k;
	}
	r->off0 = off;
	r->len = want;
	return r->buf;
}

/* Read @n bytes at @off (within one file) past the window.  Return: errno. */
static int rd_pread(struct reader *r, void *buf, size_t n, uint64_t off)
{
	uint64_t base = rd_dir(r) ? clog_seg_of(r->g->size, off) * r->g->size
				  : 0;
	int fd, err = 0;

	rd_limit(r, off, &fd, &err);
	if (fd < 0)
		return err;
	return pread(fd, buf, n, (off_t)(off - base)) == (ssize_t)n ? 0
	       : errno ? errno : EIO;
}

/* ---- records -------------------------------------------------------- */

struct rrec {
	uint64_t txn, off;
	uint32_t type, len, batch;
	const unsigned char *payload;	/* in the reader's window */
};

/* (V1) Return: 0 and *@version, EBADMSG or EPROTONOSUPPORT (reason set). */
static int check_header(const unsigned char *h, uint64_t size,
			struct sf_clog_recovery *rep, uint32_t *version)
{
	uint32_t v;

	if (size < CLOG_HDR_SIZE) {
		snprintf(rep->reason, sizeof(rep->reason),
			 "not a syncfix log: %llu bytes, shorter than the "
			 "header", (unsigned long long)size);
		return EBADMSG;
	}
	if (memcmp(h, CLOG_MAGIC, 8)) {
		snprintf(rep->reason, sizeof(rep->reason),
			 "not a syncfix log: wrong magic");
		return EBADMSG;
	}
	if (clog_get32(h + 28) != sf_crc32c(0, h, 28)) {
		snprintf(rep->reason, sizeof(rep->reason),
			 "not a syncfix log: header CRC mismatch");
		return EBADMSG;
	}
	v = clog_get32(h + 8);
	if (v > CLOG_VERSION) {
		snprintf(rep->reason, sizeof(rep->reason),
			 "log format version %u is newer than this library's "
			 "(%u)", v, CLOG_VERSION);
		return EPROTONOSUPPORT;
	}
	if (v == 0 || clog_get32(h + 12) != CLOG_HDR_SIZE) {
		snprintf(rep->reason, sizeof(rep->reason),
			 "not a syncfix log: version %u, header size %u", v,
			 clog_get32(h + 12));
		return EBADMSG;
	}
	if (v >= 3 && (clog_get64(h + 16) || clog_get32(h + 24))) {
		snprintf(rep->reason, sizeof(rep->reason),
			 "not a single-file log: a segment of a directory log "
			 "(open the directory)");
		return EBADMSG;
	}
	*version = v;
	return 0;
}

/* A valid header of segment @i of a directory log of @size bytes each? */
static bool seg_header_ok(struct reader *rd, uint64_t i, int *err)
{
	uint64_t size = rd->g->size;
	const unsigned char *h;
	int fd;

	/* a file being created when the process died may be short */
	if (i > rd->g->last ||
	    rd_limit(rd, i * size, &fd, err) < i * size + CLOG_HDR_SIZE)
		return false;
	h = rd_get(rd, i * size, CLOG_HDR_SIZE, err);
	return h && !memcmp(h, CLOG_MAGIC, 8) &&
	       clog_get32(h + 28) == sf_crc32c(0, h, 28) &&
	       clog_get32(h + 8) == CLOG_VERSION &&
	       clog_get32(h + 12) == CLOG_HDR_SIZE &&
	       clog_get64(h + 16) == i * size && clog_get32(h + 24) == size;
}

/*
 * (V2) The record at @off.  Return: NULL if valid (@r filled, its payload
 * in @rd's window until the next rd_get), else why not; *@err set on a
 * read error (then the return is not NULL either).
 */
static const char *check_record(struct reader *rd, uint64_t off,
				uint32_t version, struct rrec *r, int *err)
{
	const unsigned char *p;
	uint64_t lim;
	int fd;

	if (rd_dir(rd) && off % rd->g->size == 0)
		return "end of segment";
	lim = rd_limit(rd, off, &fd, err);
	if (fd < 0)
		return "read error";
	if (lim - off < CLOG_REC_HDR)
		return "torn record header";
	p = rd_get(rd, off, CLOG_REC_HDR, err);
	if (!p)
		return "read error";
	r->len = clog_get32(p + 4);
	r->txn = clog_get64(p + 8);
	r->type = clog_get32(p + 24);
	r->batch = clog_get32(p + 28);
	r->off = off;
	if (clog_get64(p + 16) != off)
		return "record LSN does not match its offset";
	if (r->len > SF_CLOG_MAX_BUFFER)
		return "impossible record length";
	if (lim - off - CLOG_REC_HDR < r->len)
		return "torn record (extends past the end of the file)";
	p = rd_get(rd, off, CLOG_REC_HDR + r->len, err);
	if (!p)
		return "read error";
	if (clog_get32(p) != sf_crc32c(0, p + 4, CLOG_REC_HDR - 4 + r->len))
		return "record CRC mismatch";
	if (!clog_type_known(r->type, version) || (version == 1 && r->batch))
		return "bad record type";
	if ((r->type == CLOG_REC_IDS || r->type == CLOG_REC_CHECKPOINT) !=
	    (r->txn == 0) ||
	    (r->type == CLOG_REC_IDS && r->len != CLOG_IDS_LEN) ||
	    (r->type == CLOG_REC_CHECKPOINT && r->len != CLOG_CKPT_LEN))
		return "bad record of the log itself";
	if (r->type == CLOG_REC_PREPARE && r->len > SF_CLOG_MAX_TAG)
		return "bad prepare record";
	r->payload = p + CLOG_REC_HDR;
	return NULL;
}

/*
 * (V2z) Is [@off, end of its file) all zeros?  A segment shorter than S
 * is not.  *@err on a read error.
 */
static bool zeros_to_end(struct reader *rd, uint64_t off, int *err)
{
	int fd;
	uint64_t lim;

	if (rd_dir(rd) && off % rd->g->size == 0)
		return true;	/* the segment before is full */
	lim = rd_limit(rd, off, &fd, err);
	if (fd < 0)
		return false;
	if (rd_dir(rd) && lim % rd->g->size)
		return false;
	while (off < lim) {
		size_t n = lim - off < WINDOW ? lim - off : WINDOW;
		const unsigned char *p = rd_get(rd, off, n, err);

		if (!p)
			return false;
		if (p[0] || (n > 1 && memcmp(p, p + 1, n - 1)))
			return false;
		off += n;
	}
	return true;
}

/*
 * The next valid record at or after @from (@rd2 is a second window, so
 * that the search's window stays put).  Return: its offset in *@at and 1,
 * 0 if none, or -1 on a read error (*@err).
 */
static int next_valid(struct reader *rd, struct reader *rd2, uint64_t from,
		      uint32_t version, struct rrec *r, uint64_t *at, int *err)
{
	uint64_t size = rd->g->size;

	for (uint64_t p = from; p < rd->size;) {
		uint64_t i = clog_seg_of(size, p), lim;
		const unsigned char *w;
		size_t n;
		int fd;

		if (p < clog_seg_first(size, i))
			p = clog_seg_first(size, i);	/* not in a header */
		lim = rd_limit(rd, p, &fd, err);
		if (fd < 0)
			return -1;
		if (lim <= p || lim - p < CLOG_REC_HDR) {
			p = (i + 1) * size;	/* the rest of this file */
			continue;
		}
		n = lim - p < WINDOW ? (size_t)(lim - p) : WINDOW;
		w = rd_get(rd, p, n, err);
		if (!w)
			return -1;
		for (size_t k = 0; k + CLOG_REC_HDR <= n; k++) {
			if (clog_get64(w + k + 16) != p + k)
				continue;
			if (!check_record(rd2, p + k, version, r, err)) {
				*at = p + k;
				return 1;
			}
			if (*err)
				return -1;
		}
		p += n - CLOG_REC_HDR + 1;
	}
	return 0;
}

/* ---- pass 1: the valid prefix and what follows it -------------------- */

struct scan {
	uint64_t end;		/* end of the valid prefix */
	uint64_t records, maxid, limit;
	uint32_t kv;		/* batch of the last valid record (V2c) */
	bool any;
	const char *why;	/* why the prefix ends there (NULL: at EOF) */
	bool zeros;		/* (V2z) only zeros after it */
	uint64_t corrupt_at;	/* a valid record that proves corruption */
	uint32_t corrupt_batch;
	uint64_t ckpt_lsn, ckpt_from;	/* the last checkpoint (V6) */
	uint64_t safe_lsn;	/* of the first whose records are all here */
	bool safe;
};

/* (V2c) May batch @j have been in flight with the damage after @kv? */
static bool in_flight(uint32_t kv, uint32_t j)
{
	return (uint32_t)(j - kv) <= SF_CLOG_MAX_FLUSHES;
}

/* The ids a valid record says may have been handed out (I1). */
static void note_ids(struct scan *s, const struct rrec *r)
{
	if (r->type == CLOG_REC_IDS || r->type == CLOG_REC_CHECKPOINT) {
		uint64_t l = clog_get64(r->payload +
					(r->type == CLOG_REC_IDS ? 0 : 16));

		if (l > s->limit)
			s->limit = l;
	} else if (r->txn > s->maxid) {
		s->maxid = r->txn;
	}
}

/*
 * (V2s) Does the log go on in segment @i, after a segment whose last
 * record was of batch @kv?  Its header is valid and its first record is
 * valid and of batch kv + 1: a batch never spans two segments, so the
 * batch after the last one of a segment starts the next.  (Lost batches
 * between them would make it kv + 2 or more: the log ends there.)
 */
static bool continues(struct reader *rd, uint64_t i, uint32_t version,
		      uint32_t kv, int *err)
{
	struct rrec r;

	return rd_dir(rd) && seg_header_ok(rd, i, err) &&
	       !check_record(rd, clog_seg_first(rd->g->size, i), version, &r,
			     err) && r.batch == kv + 1;
}

/* The segment the records before @off are in ((@off - 1) / S). */
static uint64_t seg_before(const struct reader *rd, uint64_t off)
{
	return clog_seg_of(rd->g->size, off - 1);
}

/* (V6) A checkpoint record in the valid prefix. */
static void note_checkpoint(struct reader *rd, struct scan *s,
			    const struct rrec *r)
{
	s->ckpt_lsn = clog_get64(r->payload);
	s->ckpt_from = clog_get64(r->payload + 8);
	if (!s->safe && (!rd_dir(rd) ||
			 clog_seg_of(rd->g->size, s->ckpt_from) >=
			 rd->g->first)) {
		s->safe = true;
		s->safe_lsn = s->ckpt_lsn;
	}
}

/*
 * Pass 1, from @start.  @all: on corruption, read on to the end anyway (a
 * salvage must still start above the ids of the records it cuts).
 */
static int scan(struct reader *rd, struct reader *rd2, uint32_t version,
		uint64_t start, bool all, struct scan *s)
{
	uint64_t off = start, at, from;
	struct rrec r;
	int err = 0, k;
	bool found = false, z = false, z_known = false;

	memset(s, 0, sizeof(*s));
	s->kv = UINT32_MAX;
	if (rd_dir(rd) && !seg_header_ok(rd, rd->g->first, &err))
		s->why = "bad segment header";
	while (!s->why && off < rd->size) {
		s->why = check_record(rd, off, version, &r, &err);
		if (err)
			return err;
		if (s->why) {
			uint64_t i = seg_before(rd, off);

			/*
			 * (V2s) the zeros after a segment's last record
			 * (known for @off below: up to a segment to read)
			 */
			z_known = rd_dir(rd);
			z = z_known && zeros_to_end(rd, off, &err);
			if (z && continues(rd, i + 1, version, s->kv, &err)) {
				off = clog_seg_first(rd->g->size, i + 1);
				s->why = NULL;
				z_known = false;
				continue;
			}
			if (err)
				return err;
			break;
		}
		s->records++;
		s->kv = r.batch;
		s->any = true;
		note_ids(s, &r);
		if (r.type == CLOG_REC_CHECKPOINT)
			note_checkpoint(rd, s, &r);
		off += CLOG_REC_HDR + r.len;
	}
	s->end = off;
	if (off >= rd->size) {
		s->why = NULL;
		return 0;
	}
	s->zeros = z_known ? z : zeros_to_end(rd, off, &err);
	if (err || (s->zeros && !rd_dir(rd)))
		return err;
	/*
	 * (V2c) valid records after the damage: in flight, or corruption?
	 * Their ids count too: a cut must not let them be handed out again.
	 * In a directory, after zeros to the end of a segment, the segments
	 * after it must hold no valid record for the end to be clean.
	 */
	from = s->zeros ? (seg_before(rd, off) + 1) * rd->g->size : off + 1;
	for (uint64_t p = from;
	     (k = next_valid(rd, rd2, p, version, &r, &at, &err)) == 1;) {
		found = true;
		note_ids(s, &r);
		/* a header is durable before its segment holds a record */
		if (!s->corrupt_at && (!in_flight(s->kv, r.batch) ||
		    (rd_dir(rd) && !seg_header_ok(rd2,
				clog_seg_of(rd->g->size, at), &err)))) {
			s->corrupt_at = at;
			s->corrupt_batch = r.batch;
			if (!all)
				break;
		}
		p = at + CLOG_REC_HDR + r.len;
	}
	s->zeros = s->zeros && !found;
	return k < 0 ? err : 0;
}

/* ---- pass 2: replay ------------------------------------------------- */

struct orec {
	uint64_t off;
	uint32_t len;
};

/* A transaction open at this point of the log (open addressing). */
struct otxn {
	uint64_t id;		/* 0: empty slot */
	uint32_t n, cap;
	struct orec *recs;
	uint64_t first;		/* LSN of its first record (0: none yet) */
	uint64_t prepare;	/* LSN of its prepare record, or 0 (V3p) */
	uint32_t tag_len;
};

struct otab {
	struct otxn *t;
	size_t mask, used;
};

static size_t ot_hash(uint64_t id, size_t mask)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & mask;
}

static struct otxn *ot_find(struct otab *o, uint64_t id)
{
	for (size_t i = ot_hash(id, o->mask);; i = (i + 1) & o->mask) {
		if (o->t[i].id == id)
			return &o->t[i];
		if (!o->t[i].id)
			return NULL;
	}
}

static int ot_grow(struct otab *o)
{
	struct otab n = { .mask = o->mask ? 2 * o->mask + 1 : 63 };

	n.t = calloc(n.mask + 1, sizeof(*n.t));
	if (!n.t)
		return ENOMEM;
	for (size_t i = 0; o->t && i <= o->mask; i++) {
		size_t j;

		if (!o->t[i].id)
			continue;
		for (j = ot_hash(o->t[i].id, n.mask); n.t[j].id;
		     j = (j + 1) & n.mask)
			;
		n.t[j] = o->t[i];
	}
	n.used = o->used;
	free(o->t);
	*o = n;
	return 0;
}

/* The entry of @id, made if new.  Return: it, or NULL (ENOMEM). */
static struct otxn *ot_get(struct otab *o, uint64_t id)
{
	struct otxn *e = o->t ? ot_find(o, id) : NULL;
	size_t i;

	if (e)
		return e;
	if ((o->used + 1) * 2 > o->mask + 1 && ot_grow(o))
		return NULL;
	for (i = ot_hash(id, o->mask); o->t[i].id; i = (i + 1) & o->mask)
		;
	o->t[i] = (struct otxn){ .id = id };
	o->used++;
	return &o->t[i];
}

/* Remove @e (backward-shift deletion: no tombstones). */
static void ot_del(struct otab *o, struct otxn *e)
{
	size_t i = (size_t)(e - o->t), j = i;

	free(e->recs);
	for (;;) {
		size_t h;

		o->t[i].id = 0;
		for (;;) {
			j = (j + 1) & o->mask;
			if (!o->t[j].id) {
				o->used--;
				return;
			}
			h = ot_hash(o->t[j].id, o->mask);
			/* may t[j] move to i?  (h not in (i, j] cyclically) */
			if (i <= j ? (h <= i || h > j) : (h <= i && h > j))
				break;
		}
		o->t[i] = o->t[j];
		i = j;
	}
}

static void ot_free(struct otab *o)
{
	for (size_t i = 0; o->t && i <= o->mask; i++)
		if (o->t[i].id)
			free(o->t[i].recs);
	free(o->t);
}

struct replayer {
	unsigned char *data;	/* payloads of the transaction replayed */
	size_t data_cap;
	struct sf_commit_rec *v;
	size_t v_cap;
};

/*
 * The payloads of @e's data records (NULL: none) into @rp: rp->v[i] and
 * rp->data.  Return: 0, ENOMEM or a read error.
 */
static int load_recs(struct reader *rd, struct replayer *rp,
		     const struct otxn *e)
{
	size_t total = 0, at = 0;
	uint32_t n = e ? e->n : 0;
	int err;

	for (uint32_t i = 0; i < n; i++)
		total += e->recs[i].len;
	if (clog_grow(&rp->data, &rp->data_cap, total, 1, 256) ||
	    clog_grow(&rp->v, &rp->v_cap, n, sizeof(*rp->v), 8))
		return ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const struct orec *r = &e->recs[i];
		uint64_t poff = r->off + CLOG_REC_HDR;

		if (r->len && poff >= rd->off0 &&
		    poff + r->len <= rd->off0 + rd->len) {
			memcpy(rp->data + at, rd->buf + (poff - rd->off0),
			       r->len);
		} else if (r->len && (err = rd_pread(rd, rp->data + at, r->len,
						     poff))) {
			return err;
		}
		rp->v[i] = (struct sf_commit_rec){ r->off, rp->data + at,
						   r->len };
		at += r->len;
	}
	return 0;
}

/*
 * (V3) (V4) Replay transaction @e, committed by the record at @lsn.
 * Return: 0, an error reading it back, or (*@cb set) the callback's.
 */
static int replay_one(struct reader *rd, struct replayer *rp,
		      const struct otxn *e, uint64_t id, uint64_t lsn,
		      const struct sf_clog_options *opt, bool *cb)
{
	uint32_t n = e ? e->n : 0;
	int err = load_recs(rd, rp, e);

	*cb = false;
	if (err)
		return err;
	if (opt && opt->replay)
		err = opt->replay(opt->replay_arg, &(struct sf_commit_txn){
					  id, lsn, n, rp->v });
	*cb = err != 0;
	return err;
}

/*
 * (V3p) Hand prepared transaction @e, in doubt at the end of the log, to
 * the sequencer: a copy of its payloads and tag.  Return: 0, ENOMEM or a
 * read error.
 */
static int keep_in_doubt(struct reader *rd, struct replayer *rp,
			 const struct otxn *e, struct clog_indoubt_set *set)
{
	struct clog_indoubt d = { .id = e->id, .first_lsn = e->first,
				  .prepare_lsn = e->prepare,
				  .tag_len = e->tag_len, .nrecs = e->n };
	size_t total = 0;
	int err = load_recs(rd, rp, e);

	if (err)
		return err;
	for (uint32_t i = 0; i < e->n; i++)
		total += e->recs[i].len;
	d.data = malloc(total + d.tag_len + 1);
	d.recs = calloc(e->n + 1, sizeof(*d.recs));
	if (!d.data || !d.recs)
		goto nomem;
	if (total)
		memcpy(d.data, rp->data, total);
	for (uint32_t i = 0; i < e->n; i++)
		d.recs[i] = (struct sf_commit_rec){ rp->v[i].lsn,
			d.data + ((const unsigned char *)rp->v[i].data -
				  rp->data), rp->v[i].len };
	if (d.tag_len && (err = rd_pread(rd, d.data + total, d.tag_len,
					 e->prepare + CLOG_REC_HDR)))
		goto out;
	if (!clog_indoubt_add(set, &d))
		return 0;
nomem:
	err = ENOMEM;
out:
	free(d.data);
	free(d.recs);
	return err;
}

/* Where pass 2 reads and what it replays (V6). */
struct span {
	uint64_t start, end;	/* the valid prefix */
	uint64_t from;		/* records below it are not needed */
	uint64_t min_commit;	/* commits below it are not replayed */
};

static int replay(struct reader *rd, uint32_t version, const struct span *sp,
		  const struct sf_clog_options *opt,
		  struct sf_clog_recovery *rep, struct clog_indoubt_set *set)
{
	struct replayer rp = { 0 };
	struct otab ot = { 0 };
	uint64_t off = sp->start;
	bool cb = false, jumped = false;
	int err = 0;

	while (off < sp->end && !err) {
		struct otxn *e;
		struct rrec r;

		if (check_record(rd, off, version, &r, &err)) {
			if (err || jumped || !rd_dir(rd)) {
				err = err ? err : EIO;	/* changed since pass 1 */
				break;
			}
			/* (V2s) the rest of the segment is zeros */
			off = clog_seg_first(rd->g->size, seg_before(rd, off) + 1);
			jumped = true;
			continue;
		}
		jumped = false;
		if (off < sp->from) {
			off += CLOG_REC_HDR + r.len;
			continue;
		}
		switch (r.type) {
		case CLOG_REC_DATA:
			e = ot_get(&ot, r.txn);
			if (e && e->n == e->cap) {
				uint32_t c = e->cap ? 2 * e->cap : 4;
				struct orec *nr = realloc(e->recs,
							  c * sizeof(*nr));

				if (nr) {
					e->recs = nr;
					e->cap = c;
				}
			}
			if (!e || e->n == e->cap)
				err = ENOMEM;
			else
				e->recs[e->n++] = (struct orec){ r.off, r.len };
			if (e && !e->first)
				e->first = r.off;
			break;
		case CLOG_REC_PREPARE:
			/* (V3p) in doubt unless ended below */
			e = ot_get(&ot, r.txn);
			if (!e) {
				err = ENOMEM;
				break;
			}
			if (!e->first)
				e->first = r.off;
			e->prepare = r.off;
			e->tag_len = r.len;
			break;
		case CLOG_REC_COMMIT:
			e = ot.t ? ot_find(&ot, r.txn) : NULL;
			if (r.off >= sp->min_commit) {
				err = replay_one(rd, &rp, e, r.txn, r.off, opt,
						 &cb);
				if (cb)
					snprintf(rep->reason,
						 sizeof(rep->reason),
						 "replay callback failed on "
						 "transaction %llu",
						 (unsigned long long)r.txn);
				rep->replayed += !err;
			}
			if (e)
				ot_del(&ot, e);
			break;
		case CLOG_REC_ROLLBACK:
			e = ot.t ? ot_find(&ot, r.txn) : NULL;
			if (e)
				ot_del(&ot, e);
			rep->rolled_back++;
			break;
		default:
			break;	/* CLOG_REC_IDS, CLOG_REC_CHECKPOINT */
		}
		off += CLOG_REC_HDR + r.len;
	}
	/*
	 * (V3p) What is still open and prepared is in doubt.  Every
	 * checkpoint's scan_from is at or below the first LSN of each (P5 in
	 * commit.c), so pass 2 has read all of their records.
	 */
	for (size_t i = 0; !err && ot.t && i <= ot.mask; i++) {
		if (!ot.t[i].id || !ot.t[i].prepare)
			continue;
		err = keep_in_doubt(rd, &rp, &ot.t[i], set);
		rep->prepared++;
	}
	rep->unfinished = ot.used - rep->prepared;
	ot_free(&ot);
	free(rp.data);
	free(rp.v);
	return err;
}

/* ---- recovery -------------------------------------------------------- */

static int new_log(int fd, const struct sf_clog_options *opt,
		   struct sf_clog_recovery *rep, struct clog_found *found)
{
	unsigned char h[CLOG_HDR_SIZE];

	if (opt && (opt->flags & SF_CLOG_READ_ONLY)) {
		snprintf(rep->reason, sizeof(rep->reason),
			 "not a syncfix log: empty (read-only: not created)");
		return EBADMSG;
	}
	clog_make_header(h, CLOG_VERSION, 0, 0);
	if (pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return errno ? errno : EIO;
	if (fdatasync(fd))
		return errno;
	rep->created = true;
	rep->valid_end = rep->log_start = found->end = CLOG_HDR_SIZE;
	rep->version = CLOG_VERSION;
	found->next_txn = 1;
	found->next_batch = 0;
	found->version = CLOG_VERSION;
	return 0;
}

/*
 * (V6) What pass 2 reads and replays: from the last checkpoint (its
 * scan_from, commits from its lsn on), or from start_lsn.  Below the last
 * checkpoint, start_lsn needs a checkpoint at or below it whose records
 * are all still in the log (else ERANGE); the read then starts at the
 * log's first record.
 */
static int plan(const struct reader *rd, const struct scan *s,
		const struct sf_clog_options *opt, uint64_t start,
		struct sf_clog_recovery *rep, struct span *sp)
{
	uint64_t want = opt ? opt->start_lsn : 0;
	bool whole = !rd_dir(rd) || rd->g->first == 0;

	sp->start = start;
	sp->end = s->end;
	sp->from = s->ckpt_from;
	sp->min_commit = want ? want : s->ckpt_lsn;
	if (rd_dir(rd) && rd->g->first && (!s->ckpt_lsn ||
	    clog_seg_of(rd->g->size, s->ckpt_from) < rd->g->first)) {
		snprintf(rep->reason, sizeof(rep->reason),
			 "corruption: segments below %016llx are gone, but "
			 "the last checkpoint needs them (scan from %llu)",
			 (unsigned long long)rd->g->first,
			 (unsigned long long)s->ckpt_from);
		return EUCLEAN;
	}
	if (want && want < s->ckpt_lsn) {
		if (!whole && (!s->safe || want < s->safe_lsn)) {
			snprintf(rep->reason, sizeof(rep->reason),
				 "start_lsn %llu: its transactions may begin "
				 "in recycled segments (lowest: %llu)",
				 (unsigned long long)want,
				 (unsigned long long)(s->safe ? s->safe_lsn : 0));
			return ERANGE;
		}
		sp->from = 0;
	}
	rep->checkpoint_lsn = s->ckpt_lsn;
	rep->replay_from = sp->min_commit;
	return 0;
}

/* (V5) Cut the damaged tail at @end.  Return: 0 or errno. */
static int cut(struct reader *rd, uint64_t end)
{
	struct clog_segs *g = rd->g;
	uint64_t i;
	int fd, err = 0;

	if (!rd_dir(rd)) {
		fd = g->filefd;
		return ftruncate(fd, (off_t)end) || fdatasync(fd) ? errno : 0;
	}
	/* zeros to the end of its segment; every later file removed */
	i = seg_before(rd, end);
	if (end % g->size)
		err = clog_segs_zero(g, end, (i + 1) * g->size);
	return err ? err : clog_segs_remove_above(g, i);
}

int clog_recover(struct clog_segs *g, const struct sf_clog_options *opt,
		 struct sf_clog_recovery *rep, struct clog_found *found)
{
	bool ro = opt && (opt->flags & SF_CLOG_READ_ONLY);
	bool salvage = opt && (opt->flags & SF_CLOG_SALVAGE);
	struct reader rd = { .g = g }, rd2 = { .g = g };
	uint32_t version = CLOG_VERSION;
	const unsigned char *h;
	uint64_t start;
	struct span sp;
	struct stat st;
	struct scan s;
	int err = 0;

	if (g->dirfd >= 0) {
		rd.size = rd2.size = (g->last + 1) * g->size;
		start = clog_seg_first(g->size, g->first);
		rep->segments = (uint32_t)(g->last - g->first + 1);
	} else {
		if (fstat(g->filefd, &st))
			return errno;
		if (st.st_size == 0)
			return new_log(g->filefd, opt, rep, found);
		rd.size = rd2.size = (uint64_t)st.st_size;
		start = CLOG_HDR_SIZE;
		h = rd_get(&rd, 0, rd.size < CLOG_HDR_SIZE ? rd.size
							   : CLOG_HDR_SIZE,
			   &err);
		if (h)
			err = check_header(h, rd.size, rep, &version);
	}
	rep->log_start = start;
	if (!err)
		err = scan(&rd, &rd2, version, start, salvage, &s);
	free(rd2.buf);
	if (err)
		goto out;
	rep->version = version;
	rep->records = s.records;
	rep->valid_end = s.end;
	if (s.corrupt_at) {
		rep->valid_after = s.corrupt_at;
		snprintf(rep->reason, sizeof(rep->reason),
			 "corruption: %s at offset %llu, valid records from "
			 "%llu (batch %u, last before %u)%s", s.why,
			 (unsigned long long)s.end,
			 (unsigned long long)s.corrupt_at, s.corrupt_batch,
			 s.kv, salvage ? "" : ": not cut");
		if (!salvage) {
			err = EUCLEAN;
			goto out;
		}
	}
	err = plan(&rd, &s, opt, start, rep, &sp);
	if (!err)
		err = replay(&rd, version, &sp, opt, rep, &found->indoubt);
	if (err)
		goto out;
	if (s.why && !s.zeros) {
		/* (V5) */
		if (!s.corrupt_at)
			snprintf(rep->reason, sizeof(rep->reason),
				 "%s at offset %llu: %s %llu bytes", s.why,
				 (unsigned long long)s.end,
				 ro ? "would cut" : "cut",
				 (unsigned long long)(rd.size - s.end));
		if (!ro && (err = cut(&rd, s.end)))
			goto out;
		rep->cut_bytes = rd.size - s.end;
	}
	found->end = s.end;
	found->end_seg = g->dirfd >= 0 ? seg_before(&rd, s.end) : 0;
	found->ckpt_lsn = s.ckpt_lsn;
	found->ckpt_from = s.ckpt_from;
	found->next_txn = s.maxid + 1 > s.limit ? s.maxid + 1 : s.limit;
	found->next_batch = s.any ? s.kv + 1 : 0;
	found->version = version;
out:
	free(rd.buf);
	return err;
}
