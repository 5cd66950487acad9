// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * commit-recover.c - recovery of the commit log on open.
 *
 * (V1) Header: a file shorter than the header, with another magic or a
 *      bad header CRC is not a syncfix log: EBADMSG, and the file is not
 *      touched.  A newer format version: EPROTONOSUPPORT, not touched.
 *      An empty file gets a header (a new log).
 * (V2) Scan: records follow each other from offset 32.  A record is valid
 *      when its header is complete, its length fits in the file and under
 *      SF_CLOG_MAX_BUFFER, its type is known, its reserved word is 0, its
 *      LSN equals its offset and its CRC32C matches.  The scan stops at the
 *      first invalid record: everything from there on is the damaged tail,
 *      unless it is all zeros (V2z): then it is the clean end of a log
 *      that kept zeros written ahead of its end (commit.c, Z1-Z3), and
 *      it is neither reported nor cut (it is overwritten by the next
 *      records).  A torn record followed by zeros is damage as before: its
 *      written part is not zero.
 * (V3) Outcome per transaction: the first commit or rollback record ends
 *      it.  An id reservation (CLOG_REC_IDS, transaction 0) is not a
 *      transaction: the next id is above the largest limit and every id
 *      found (commit.c, I1).  A transaction with a commit record is replayed with the data
 *      records it wrote before that record; the others are not.
 * (V4) Replay in commit order (the order of the commit records).
 * (V5) Only then is the damaged tail cut (ftruncate + fdatasync), so a
 *      replay callback that fails leaves the file as it was, and opening
 *      again finds the same valid prefix and replays the same transactions.
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

struct rrec {
	uint64_t txn, off;
	uint32_t type, len, batch;
};

static int cmp_txn_off(const void *a, const void *b)
{
	const struct rrec *x = a, *y = b;

	if (x->txn != y->txn)
		return x->txn < y->txn ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* A committed transaction: its records are recs[first .. commit). */
struct rcommit {
	uint64_t lsn;
	size_t first, commit;
};

static int cmp_commit(const void *a, const void *b)
{
	const struct rcommit *x = a, *y = b;

	return x->lsn < y->lsn ? -1 : x->lsn > y->lsn;
}

static int read_all(int fd, unsigned char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;	/* shrank under us */
		done += (size_t)n;
	}
	return 0;
}

/* (V1) Return: 0 and *@version, EBADMSG or EPROTONOSUPPORT (reason set). */
static int check_header(const unsigned char *h, size_t size,
			struct sf_clog_recovery *rep, uint32_t *version)
{
	uint32_t v;

	if (size < CLOG_HDR_SIZE) {
		snprintf(rep->reason, sizeof(rep->reason),
			 "not a syncfix log: %zu bytes, shorter than the "
			 "header", size);
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
	*version = v;
	return 0;
}

/* (V2) One record at @off; Return: NULL if valid, else why not. */
static const char *check_record(const unsigned char *buf, size_t size,
				uint64_t off, uint32_t version, struct rrec *r)
{
	const unsigned char *p = buf + off;

	if (size - off < CLOG_REC_HDR)
		return "torn record header";
	r->len = clog_get32(p + 4);
	r->txn = clog_get64(p + 8);
	r->type = clog_get32(p + 24);
	r->batch = clog_get32(p + 28);
	r->off = off;
	if (r->len > SF_CLOG_MAX_BUFFER)
		return "impossible record length";
	if (size - off - CLOG_REC_HDR < r->len)
		return "torn record (extends past the end of the file)";
	if (clog_get32(p) != sf_crc32c(0, p + 4, CLOG_REC_HDR - 4 + r->len))
		return "record CRC mismatch";
	if (clog_get64(p + 16) != off)
		return "record LSN does not match its offset";
	if (r->type < CLOG_REC_DATA ||
	    r->type > (version == 1 ? CLOG_REC_ROLLBACK : CLOG_REC_IDS) ||
	    (version == 1 && r->batch))
		return "bad record type";
	if ((r->type == CLOG_REC_IDS) != (r->txn == 0) ||
	    (r->type == CLOG_REC_IDS && r->len != CLOG_IDS_LEN))
		return "bad record of the log itself";
	return NULL;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && !memcmp(p, p + 1, len - 1));
}

/* (V3) (V4) Replay the committed transactions of @recs (sorted in place). */
static int replay(const unsigned char *buf, struct rrec *recs, size_t n,
		  const struct sf_clog_options *opt,
		  struct sf_clog_recovery *rep)
{
	struct rcommit *c = NULL;
	struct sf_commit_rec *v = NULL;
	size_t nc = 0, i, j;
	int err = 0;

	if (n)
		qsort(recs, n, sizeof(*recs), cmp_txn_off);
	c = malloc((n ? n : 1) * sizeof(*c));
	v = malloc((n ? n : 1) * sizeof(*v));
	if (!c || !v) {
		err = ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i = j) {
		size_t end = i;

		for (j = i; j < n && recs[j].txn == recs[i].txn; j++)
			;
		while (end < j && recs[end].type == CLOG_REC_DATA)
			end++;
		if (end == j)
			rep->unfinished++;
		else if (recs[end].type == CLOG_REC_ROLLBACK)
			rep->rolled_back++;
		else
			c[nc++] = (struct rcommit){ recs[end].off, i, end };
	}
	if (nc)
		qsort(c, nc, sizeof(*c), cmp_commit);
	for (i = 0; i < nc && opt && opt->replay; i++) {
		struct sf_commit_txn t = {
			.id = recs[c[i].first].txn,
			.commit_lsn = c[i].lsn,
			.nrecs = c[i].commit - c[i].first,
			.recs = v,
		};

		for (j = 0; j < t.nrecs; j++) {
			const struct rrec *r = &recs[c[i].first + j];

			v[j] = (struct sf_commit_rec){ r->off,
				buf + r->off + CLOG_REC_HDR, r->len };
		}
		err = opt->replay(opt->replay_arg, &t);
		if (err) {
			snprintf(rep->reason, sizeof(rep->reason),
				 "replay callback failed on transaction %llu",
				 (unsigned long long)t.id);
			goto out;
		}
	}
	rep->replayed = nc;
out:
	free(c);
	free(v);
	return err;
}

int clog_recover(int fd, const struct sf_clog_options *opt,
		 struct sf_clog_recovery *rep, struct clog_found *found)
{
	unsigned char *buf = NULL;
	struct rrec *recs = NULL;
	const char *why = NULL;
	size_t size, n = 0, cap = 0;
	uint64_t off, maxid = 0, limit = 0;
	uint32_t version = CLOG_VERSION, maxbatch = 0;
	bool any = false;
	struct stat st;
	int err;

	if (fstat(fd, &st))
		return errno;
	size = (size_t)st.st_size;
	if (size == 0) {
		unsigned char h[CLOG_HDR_SIZE];

		clog_make_header(h, CLOG_VERSION);
		if (pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
			return errno ? errno : EIO;
		if (fdatasync(fd))
			return errno;
		rep->created = true;
		rep->valid_end = found->end = CLOG_HDR_SIZE;
		found->next_txn = 1;
		found->next_batch = 0;
		found->version = CLOG_VERSION;
		return 0;
	}
	buf = malloc(size);
	if (!buf)
		return ENOMEM;
	err = read_all(fd, buf, size);
	if (!err)
		err = check_header(buf, size, rep, &version);
	if (err)
		goto out;
	for (off = CLOG_HDR_SIZE; off < size;) {
		struct rrec r;

		why = check_record(buf, size, off, version, &r);
		if (why)
			break;
		if (!any || (int32_t)(r.batch - maxbatch) > 0)
			maxbatch = r.batch;
		any = true;
		if (r.type == CLOG_REC_IDS) {
			uint64_t l = clog_get64(buf + off + CLOG_REC_HDR);

			if (l > limit)
				limit = l;
			off += CLOG_REC_HDR + r.len;
			continue;
		}
		if (n == cap) {
			struct rrec *nr;

			cap = cap ? 2 * cap : 1024;
			nr = realloc(recs, cap * sizeof(*nr));
			if (!nr) {
				err = ENOMEM;
				goto out;
			}
			recs = nr;
		}
		recs[n++] = r;
		if (r.txn > maxid)
			maxid = r.txn;
		off += CLOG_REC_HDR + r.len;
	}
	/* (V2z) zeros to the end of the file: the clean end, not damage. */
	if (off < size && all_zero(buf + off, size - off))
		size = off;
	rep->records = n;
	rep->valid_end = off;
	err = replay(buf, recs, n, opt, rep);
	if (err)
		goto out;
	if (off < size) {
		/* (V5) */
		snprintf(rep->reason, sizeof(rep->reason),
			 "%s at offset %llu: cut %llu bytes", why,
			 (unsigned long long)off,
			 (unsigned long long)(size - off));
		if (ftruncate(fd, (off_t)off) || fdatasync(fd)) {
			err = errno;
			goto out;
		}
		rep->cut_bytes = size - off;
	}
	found->end = off;
	found->next_txn = maxid + 1 > limit ? maxid + 1 : limit;
	found->next_batch = any ? maxbatch + 1 : 0;
	found->version = version;
out:
	free(buf);
	free(recs);
	return err;
}
