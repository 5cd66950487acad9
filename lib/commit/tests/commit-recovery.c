// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: commit log recovery on damaged files: cut at every byte offset of the last records, every byte of them with a flipped bit, damage in the middle; recovery keeps exactly the valid prefix, replays only its committed transactions with intact payloads, reports and cuts the rest, and a second open finds the same log.  Zeros written ahead of the log end (a crash while open): a clean end, not cut; a torn record or garbage before or among the zeros: damage, cut.  Corruption in the middle (valid records of batches written after the damaged one was durable): EUCLEAN, nothing replayed, the file byte-identical; SF_CLOG_SALVAGE cuts; damage within the batches that may have been in flight is a torn tail; SF_CLOG_READ_ONLY never writes */
#include "test.h"
#include "commit-test.h"

static struct ct_seen replayed;

/* What every writable open appends: its id reservation (commit.c, I1). */
#define IDS_REC 40

/* Records of the reference image, parsed from their headers. */
struct irec {
	size_t off, end;
	uint64_t txn;
	uint32_t type, batch;
	uint64_t sum;
};
static struct irec rec[128];
static int nrec;

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void parse(const unsigned char *b, size_t len)
{
	size_t off = 32;

	nrec = 0;
	while (off + 32 <= len && nrec < 128) {
		struct irec *r = &rec[nrec++];
		uint32_t n = get32(b + off + 4);

		r->off = off;
		r->end = off + 32 + n;
		r->txn = get32(b + off + 8) | (uint64_t)get32(b + off + 12) << 32;
		r->type = get32(b + off + 24);
		r->batch = get32(b + off + 28);
		r->sum = 0;
		for (uint32_t i = 0; i < n; i++)
			r->sum += b[off + 32 + i];
		off = r->end;
	}
}

/*
 * What recovery must replay when the valid prefix ends at @valid: each
 * transaction whose commit record (type 2) lies in it, in that order, with
 * the payload sum and count of its data records.  Compared with replayed.
 */
static int replay_matches(size_t valid)
{
	size_t k = 0;

	for (int i = 0; i < nrec && rec[i].end <= valid; i++) {
		uint64_t sum = 0;
		uint32_t n = 0;

		if (rec[i].type != 2)
			continue;
		for (int j = 0; j < i; j++)
			if (rec[j].txn == rec[i].txn && rec[j].type == 1) {
				sum += rec[j].sum;
				n++;
			}
		if (k >= replayed.n || replayed.id[k] != rec[i].txn ||
		    replayed.sum[k] != sum || replayed.nrecs[k] != n ||
		    replayed.lsn[k] != rec[i].off)
			return 0;
		k++;
	}
	return k == replayed.n;
}

/* End of the last whole record at or before @cut. */
static size_t prefix_end(size_t cut)
{
	size_t e = 32;

	for (int i = 0; i < nrec && rec[i].end <= cut; i++)
		e = rec[i].end;
	return e;
}

/*
 * Open @p (@size bytes) and close it: recovery must keep @want_end bytes
 * of log, cut and report @want_cut bytes, replay the committed prefix; the
 * closed file holds exactly the log; a second open finds the same.
 */
static int open_check_cut(const char *p, size_t want_end, size_t want_cut,
			  size_t size, int *idem)
{
	struct sf_clog_options o = { .buffer_size = 4096,
				     .replay = ct_replay_cb,
				     .replay_arg = &replayed };
	struct sf_clog_recovery rep, rep2;
	struct stat st;
	sf_clog_t *l;
	int good;

	ct_seen_reset(&replayed);
	if (sf_clog_open(p, &o, &l, &rep))
		return 0;
	sf_clog_close(l);
	(void)size;
	if (getenv("CT_DEBUG"))
		diag("end %llu cut %llu reason '%s' replayed %llu",
		     (unsigned long long)rep.valid_end,
		     (unsigned long long)rep.cut_bytes, rep.reason,
		     (unsigned long long)rep.replayed);
	/* (the open appended its id reservation, IDS_REC bytes) */
	good = rep.valid_end == want_end && rep.cut_bytes == want_cut &&
	       (rep.cut_bytes == 0) == (rep.reason[0] == 0) &&
	       replay_matches(want_end) &&
	       stat(p, &st) == 0 && (size_t)st.st_size == want_end + IDS_REC;
	/* Opening again: the same transactions, nothing more to cut. */
	ct_seen_reset(&replayed);
	*idem = sf_clog_open(p, &o, &l, &rep2) == 0 && rep2.cut_bytes == 0 &&
		rep2.replayed == rep.replayed && replay_matches(want_end);
	if (*idem)
		sf_clog_close(l);
	return good;
}

static int open_check(const char *p, size_t want_end, size_t size,
		      int *idem)
{
	return open_check_cut(p, want_end, size - want_end, size, idem);
}

static int all_zero(const unsigned char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return 0;
	return 1;
}

static int add_commit(sf_clog_t *l, const char *a, const char *b)
{
	sf_txn_t *t;

	sf_txn_begin(l, &t);
	sf_txn_add(t, a, strlen(a));
	if (b)
		sf_txn_add(t, b, strlen(b));
	return sf_txn_commit(t, NULL);
}

/* The reference image: committed, rolled back and unfinished txns. */
static unsigned char *make_image(const char *p, size_t *len,
				 size_t zero_ahead)
{
	struct sf_clog_options o = { .zero_ahead = zero_ahead,
				     .flags = SF_CLOG_SINGLE_FILE };
	sf_txn_t *rb, *unfinished;
	unsigned char *img;
	sf_clog_t *l;

	unlink(p);
	if (sf_clog_open(p, &o, &l, NULL))
		return NULL;
	add_commit(l, "first record of T1", "second record of T1");
	sf_txn_begin(l, &rb);
	sf_txn_add(rb, "rolled back", 11);
	sf_txn_rollback(rb);
	sf_txn_begin(l, &unfinished);
	sf_txn_add(unfinished, "never committed", 15);
	add_commit(l, "T4", NULL);
	add_commit(l, "T5: one", "T5: two");
	add_commit(l, "T6 is the last", NULL);
	img = ct_slurp(p, len);		/* the unfinished one is in it */
	sf_txn_rollback(unfinished);
	sf_clog_close(l);
	return img;
}

/* (V2z) The file as a crash leaves it while zeros are kept ahead. */
static void zero_tail_cases(const char *p, const unsigned char *img,
			    size_t len)
{
	size_t zlen, from = rec[nrec - 4].off, pad = 8192;
	unsigned char *z, *b = calloc(1, len + pad);
	int idem, bad = 0, n = 0;
	struct stat st;
	sf_clog_t *l;

	phase("zeros ahead");
	z = make_image(p, &zlen, 0);
	ok(z && zlen >= len + SF_CLOG_DEFAULT_ZERO_AHEAD / 2 &&
	   !memcmp(z, img, len) && all_zero(z + len, zlen - len),
	   "while open (default zero_ahead) the file is the log and %zu "
	   "bytes of zeros", z ? zlen - len : 0);
	/* (the close appended the unfinished transaction's rollback) */
	st.st_size = 0;
	stat(p, &st);
	ok((size_t)st.st_size == len + 32, "a clean close cuts the zeros "
	   "off: %lld bytes, want %zu", (long long)st.st_size, len + 32);
	if (z)
		ct_spew(p, z, zlen);
	ok(z && open_check_cut(p, len, 0, zlen, &idem) && idem &&
	   replayed.n == 4,
	   "crash image with zeros after the last record: a clean end, "
	   "nothing cut or reported, 4 transactions replayed");
	free(z);

	/* A torn last batch over the zeros: cut at each offset, zeros after. */
	for (size_t cut = from; cut < len; cut++, n++) {
		size_t whole = cut, e;

		/* bytes of the image that are zero anyway were not lost */
		while (whole < len && !img[whole])
			whole++;
		e = prefix_end(whole);

		memset(b, 0, len + pad);
		memcpy(b, img, cut);
		ct_spew(p, b, len + pad);
		if (!open_check_cut(p, e, cut <= e || all_zero(img + e, cut - e) ? 0 :
				    len + pad - e, len + pad, &idem) || !idem) {
			if (!bad++)
				diag("torn at %zu before zeros: wrong", cut);
		}
		progress();
	}
	ok(!bad, "torn record followed by zeros, at each of %d offsets: "
	   "valid prefix kept, torn part and zeros cut and reported", n);

	/* Zeros, then something that is not: damage, all of it cut. */
	memset(b, 0, len + pad);
	memcpy(b, img, len);
	b[len + pad - 1] = 0x5a;
	ct_spew(p, b, len + pad);
	ok(open_check_cut(p, len, pad, len + pad, &idem) && idem,
	   "a non-zero byte after the zeros: the tail is damage, cut");

	/* New commits after a zero tail land at the valid end. */
	memset(b, 0, len + pad);
	memcpy(b, img, len);
	ct_spew(p, b, len + pad);
	ok(sf_clog_open(p, NULL, &l, NULL) == 0 &&
	   add_commit(l, "after the zeros", NULL) == 0 &&
	   sf_clog_close(l) == 0,
	   "reopened over a zero tail, one more commit");
	ct_seen_reset(&replayed);
	ok(sf_clog_open(p, &(struct sf_clog_options){
			.replay = ct_replay_cb, .replay_arg = &replayed },
			&l, NULL) == 0 && replayed.n == 5 &&
	   replayed.lsn[4] == len + IDS_REC + 32 + 15,
	   "reopened: the 4 old and the new transaction, the new one at "
	   "the old end");
	sf_clog_close(l);
	free(b);
}

/* Open @p with @flags; whether the file is byte-identical to @b after. */
static int open_unchanged(const char *p, const unsigned char *b, size_t len,
			  unsigned int flags, int *r, struct sf_clog_recovery *rep)
{
	struct sf_clog_options o = { .replay = ct_replay_cb,
				     .replay_arg = &replayed, .flags = flags };
	unsigned char *after;
	size_t alen;
	sf_clog_t *l;
	int same;

	ct_seen_reset(&replayed);
	*r = sf_clog_open(p, &o, &l, rep);
	if (!*r)
		sf_clog_close(l);
	after = ct_slurp(p, &alen);
	same = after && alen == len && !memcmp(after, b, len);
	free(after);
	return same;
}

/*
 * A salvage cuts records whose ids were handed out: with ids reserved 2
 * at a time the reservations before the damage do not cover them, and the
 * next id must still be above every id cut.
 */
static void salvage_ids(const char *p)
{
	struct sf_clog_options o = { .zero_ahead = SF_CLOG_NO_ZERO_AHEAD,
				     .id_reserve = 2,
				     .flags = SF_CLOG_SINGLE_FILE };
	uint64_t id = 0, last = 0;
	unsigned char *img;
	int ndata = 0, at = -1;
	sf_clog_t *l;
	sf_txn_t *t;
	size_t len;

	unlink(p);
	if (sf_clog_open(p, &o, &l, NULL))
		return;
	for (int i = 0; i < 25; i++)
		add_commit(l, "a record of one of 25", NULL);
	sf_clog_close(l);
	img = ct_slurp(p, &len);
	if (!img)
		return;
	parse(img, len);
	for (int i = 0; i < nrec; i++) {
		if (rec[i].type == 1 && ++ndata == 2)
			at = i;
		if (rec[i].txn > last)
			last = rec[i].txn;
	}
	if (at >= 0) {
		img[rec[at].off + 40] ^= 0x04;
		ct_spew(p, img, len);
	}
	o.flags = SF_CLOG_SALVAGE;
	if (at >= 0 && sf_clog_open(p, &o, &l, NULL) == 0) {
		if (sf_txn_begin(l, &t) == 0) {
			id = sf_txn_id(t);
			sf_txn_rollback(t);
		}
		sf_clog_close(l);
	}
	ok(id > last, "corruption: after a salvage the next id is above every "
	   "id it cut (%llu > %llu)", (unsigned long long)id,
	   (unsigned long long)last);
	free(img);
}

/*
 * (V2c) Corruption against a torn tail, on a log of 25 commits, each its
 * own batch: a bit flipped in the 2nd transaction is followed by records
 * of batches written long after it was durable -- corruption: EUCLEAN,
 * nothing replayed, the file untouched; SF_CLOG_SALVAGE cuts there; one
 * flipped within SF_CLOG_MAX_FLUSHES batches of the end may be a write
 * still in flight: cut.  Read-only opens leave every file byte-identical.
 */
static void corruption_cases(const char *p)
{
	struct sf_clog_options o = { .zero_ahead = SF_CLOG_NO_ZERO_AHEAD,
				     .flags = SF_CLOG_SINGLE_FILE };
	struct sf_clog_recovery rep;
	unsigned char *img, *b;
	sf_clog_t *l;
	sf_txn_t *t;
	size_t len;
	int r, i2, ilate, iproof;

	phase("corruption");
	unlink(p);
	if (sf_clog_open(p, &o, &l, NULL))
		return;
	for (int i = 0; i < 25; i++)
		add_commit(l, "a record of one of 25", NULL);
	sf_clog_close(l);
	img = ct_slurp(p, &len);
	if (!img)
		return;
	parse(img, len);
	b = malloc(len);
	/* records: IDS, then data + commit per transaction */
	i2 = 3;					/* the 2nd transaction's data */
	ilate = nrec - 2 * 4 - 2;		/* 4 batches before the end */
	/* the first record written after the damaged one was durable */
	for (iproof = i2 + 1; iproof < nrec &&
	     rec[iproof].batch <= rec[i2 - 1].batch + SF_CLOG_MAX_FLUSHES;
	     iproof++)
		;
	memcpy(b, img, len);
	b[rec[i2].off + 40] ^= 0x04;
	ct_spew(p, b, len);
	ok(open_unchanged(p, b, len, 0, &r, &rep) && r == EUCLEAN &&
	   rep.valid_end == rec[i2].off && iproof < nrec &&
	   rep.valid_after == rec[iproof].off && replayed.n == 0 &&
	   rep.cut_bytes == 0,
	   "corruption: a bit flipped in the 2nd of 25 transactions, valid "
	   "records after it: EUCLEAN, nothing replayed, file unchanged (%s)",
	   rep.reason);
	ok(open_unchanged(p, b, len, SF_CLOG_READ_ONLY, &r, &rep) &&
	   r == EUCLEAN, "corruption: read-only: EUCLEAN too, unchanged");
	ok(open_unchanged(p, b, len, SF_CLOG_READ_ONLY | SF_CLOG_SALVAGE, &r,
			  &rep) && r == 0 && replayed.n == 1 &&
	   rep.cut_bytes == len - rec[i2].off,
	   "corruption: read-only salvage: the first transaction replayed, "
	   "the cut reported, file unchanged");
	ct_seen_reset(&replayed);
	ok(sf_clog_open(p, &(struct sf_clog_options){
				.replay = ct_replay_cb, .replay_arg = &replayed,
				.flags = SF_CLOG_SALVAGE }, &l, &rep) == 0 &&
	   replayed.n == 1 && rep.cut_bytes == len - rec[i2].off &&
	   rep.valid_after == rec[iproof].off,
	   "corruption: SF_CLOG_SALVAGE cuts at the damage, replays the first");
	if (l) {
		/* the 25th transaction's id was handed out: it stays used */
		sf_clog_close(l);
	}

	/* Damage within the batches that may have been in flight: torn. */
	memcpy(b, img, len);
	b[rec[ilate].off + 40] ^= 0x04;
	ct_spew(p, b, len);
	ok(open_unchanged(p, b, len, SF_CLOG_READ_ONLY, &r, &rep) && r == 0 &&
	   rep.cut_bytes == len - rec[ilate].off && !rep.valid_after,
	   "torn: damage 4 batches before the end, valid records after it: a "
	   "torn tail (would be cut: %s), read-only leaves it", rep.reason);
	ct_seen_reset(&replayed);
	ok(sf_clog_open(p, &(struct sf_clog_options){
				.replay = ct_replay_cb, .replay_arg = &replayed },
			&l, &rep) == 0 && rep.cut_bytes == len - rec[ilate].off,
	   "torn: a writable open cuts it");
	if (l) {
		ok_err(sf_clog_close(l), 0, "torn: close");
	}

	/* Read-only: a clean log, a version 1 log: nothing written. */
	ct_spew(p, img, len);
	ok(open_unchanged(p, img, len, SF_CLOG_READ_ONLY, &r, &rep) && r == 0 &&
	   replayed.n == 25, "read-only: a clean log: 25 replayed, nothing "
	   "written (no id reservation)");
	ct_seen_reset(&replayed);
	if (sf_clog_open(p, &(struct sf_clog_options){
				 .flags = SF_CLOG_READ_ONLY }, &l, &rep) == 0) {
		ok_err(sf_txn_begin(l, &t), EROFS,
		       "read-only: sf_txn_begin fails with EROFS");
		ok_err(sf_clog_open(p, NULL, &(sf_clog_t *){ 0 }, NULL), EBUSY,
		       "read-only: a writable open meanwhile: EBUSY");
		sf_clog_close(l);
	}
	unlink(p);
	ok_err(sf_clog_open(p, &(struct sf_clog_options){
				    .flags = SF_CLOG_READ_ONLY }, &l, &rep),
	       ENOENT, "read-only: no file: ENOENT, none created");
	ok(access(p, F_OK) != 0, "read-only: still no file");
	ok_err(sf_clog_open(p, &(struct sf_clog_options){ .flags = 1u << 5 },
			    &l, &rep), EINVAL, "an unknown flag: EINVAL");
	free(b);
	free(img);
	salvage_ids(p);
}

int main(void)
{
	unsigned char *img, *b;
	int bad_cut = 0, bad_flip = 0, bad_idem = 0, idem, ncut = 0, nflip = 0;
	size_t len, from;
	char p[4600];

	watchdog_start(60);
	ct_mkdir(1);
	ct_path(p, sizeof(p), "rec.log");
	/* The records alone: no zeros ahead. */
	img = make_image(p, &len, SF_CLOG_NO_ZERO_AHEAD);
	if (!img)
		return ok(0, "reference log"), done_testing();
	parse(img, len);
	ok(nrec >= 12 && rec[nrec - 1].end == len,
	   "reference log: %d records, %zu bytes", nrec, len);

	/* Whole log: everything replayed but the rolled back/unfinished. */
	ct_spew(p, img, len);
	ok(open_check(p, len, len, &idem) && idem && replayed.n == 4,
	   "intact log: 4 committed transactions replayed");

	/* Cut at every offset from the start of the last 4 records. */
	phase("truncation");
	from = rec[nrec - 4].off;
	for (size_t cut = from; cut < len; cut++, ncut++) {
		size_t e = prefix_end(cut);

		ct_spew(p, img, cut);
		/* a torn part that happens to be zeros is a clean end (V2z) */
		if (!open_check_cut(p, e, all_zero(img + e, cut - e) ? 0 :
				    cut - e, cut, &idem)) {
			if (!bad_cut++)
				diag("cut at %zu: wrong recovery", cut);
		}
		bad_idem += !idem;
		progress();
	}
	ok(!bad_cut, "truncated at each of %d offsets: valid prefix kept, "
	   "the rest cut and reported (%d wrong)", ncut, bad_cut);

	/* Flip one bit in every byte of the last 4 records. */
	phase("bit flips");
	b = malloc(len);
	for (size_t at = from; at < len; at++, nflip++) {
		int i = 0;

		memcpy(b, img, len);
		b[at] ^= (unsigned char)(1u << (at % 8));
		ct_spew(p, b, len);
		while (rec[i].end <= at)
			i++;
		if (!open_check(p, rec[i].off, len, &idem)) {
			if (!bad_flip++)
				diag("bit flip at %zu: wrong recovery", at);
		}
		bad_idem += !idem;
		progress();
	}
	ok(!bad_flip, "a bit flipped in each of %d bytes: recovery stops at "
	   "the damaged record, replays nothing of it or after (%d wrong)",
	   nflip, bad_flip);
	ok(!bad_idem, "every recovered log opens again identically");

	zero_tail_cases(p, img, len);
	parse(img, len);

	/* Damage in the first data record (after the id reservation). */
	memcpy(b, img, len);
	b[rec[1].off + 40] ^= 0x10;
	ct_spew(p, b, len);
	ok(rec[0].type == 4 && open_check(p, rec[1].off, len, &idem) &&
	   replayed.n == 0,
	   "damage in the first data record: everything after it cut");
	free(b);
	free(img);
	corruption_cases(p);
	return done_testing();
}
