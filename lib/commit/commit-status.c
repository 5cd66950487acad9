// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * commit-status.c - the transaction status table: memory in proportion to
 * the transactions that are active or recent, not to how many ever ran.
 *
 * Ids are 64-bit and handed out in order (next), from base, the first id
 * of this open.  The status of a transaction is a u64: ACTIVE (0), one of
 * the small final values of commit.c (rolled back, failed, in doubt), or
 * its commit LSN (>= 32).  Readers (sf_clog_txn_status, txn_wait, every
 * snapshot check) take no lock; writers hold the log's mutex m.
 *
 *   (S1) The ring.  ring[id & mask] holds the status of id for every id
 *        with low <= id < next, and next - low <= R (the horizon rounded
 *        up to a power of two, mask = R - 1).  low, next: stored (release)
 *        under m, read (acquire) by anyone.
 *   (S2) Begin (m held).  When next - low == R the oldest id leaves the
 *        ring first: if its slot is still ACTIVE (a long transaction,
 *        or one still committing) it becomes an outlier, {id, ACTIVE},
 *        appended to the outliers (in id order, so the array stays sorted)
 *        and nout is stored (release) before low + 1 is (release);
 *        otherwise its status is forgotten.  Only then is the slot reset
 *        to ACTIVE for next (release), and next + 1 stored (release): a
 *        reader that sees the new next finds the slot reset.
 *   (S3) Set (m held, final values only).  An id in the ring: the slot
 *        (release).  An outlier: its entry, and forget_at = next + R:
 *        kept for R more ids after it ended.
 *   (S4) Get, no lock.  next (acquire): an id at or above it is unknown
 *        (ENOENT); one below base only an outlier can know (S6).  low
 *        (acquire): if id >= low, load the slot (acquire), then low
 *        again (acquire).  If low is still <= id,
 *        the slot was id's: a slot is reused for id + R only by a begin
 *        that stored low > id before the reset (S2), and a reader whose
 *        slot load read that reset (a release) sees that low in its
 *        second load.  Otherwise the id has just left the ring: (S5).
 *   (S5) An id below low: if nout (acquire) is 0, ESTALE (S2 stored nout
 *        before low, so an id that became an outlier is counted); else
 *        under m, a binary search of the outliers: its entry, or ESTALE
 *        (ENOENT below base).  Outliers whose forget_at has come are
 *        removed by begin (m held).
 *   (S6) Earlier opens.  An id below base is unknown (ENOENT), except a
 *        transaction prepared by an earlier open and still in doubt when
 *        this one recovered the log (commit.c, Prepare): open registers
 *        each, before the first begin, as an outlier {id, PREPARED} --
 *        below every id of this open, so the outliers stay sorted.  A
 *        PREPARED status is not final: like ACTIVE it makes a slot leave
 *        the ring as an outlier (S2), and an outlier set to it keeps
 *        forget_at 0 (S3).  Its resolution sets its final status (S3):
 *        kept R more ids, then forgotten: ENOENT again, as for every id
 *        of an earlier open.
 *
 * So a transaction's status is kept for the R most recent ids, and for an
 * older one while it is active and R ids after it ended; everything else
 * is forgotten (ESTALE: finished, long ago, outcome no longer kept).
 * Memory: R slots of 8 bytes, plus 24 bytes per outlier (at most the
 * active transactions and those that ended within R ids).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "commit-int.h"
#include "internal.h"

int clog_status_init(struct clog_status *s, sf_mutex_t *m, uint64_t base,
		     uint64_t horizon)
{
	uint64_t r = 1;

	while (r < horizon)
		r <<= 1;
	*s = (struct clog_status){ .m = m, .base = base, .low = base,
				   .next = base, .mask = r - 1,
				   .forget_min = UINT64_MAX };
	s->ring = calloc(r, sizeof(*s->ring));
	return s->ring ? 0 : ENOMEM;
}

void clog_status_free(struct clog_status *s)
{
	free(s->ring);
	free(s->out);
	s->ring = NULL;
	s->out = NULL;
}

/* Remove the outliers whose time has come (m held). */
static void outliers_expire_locked(struct clog_status *s)
{
	uint32_t n = 0;

	s->forget_min = UINT64_MAX;
	for (uint32_t i = 0; i < s->nout; i++) {
		struct clog_outlier *o = &s->out[i];

		if (o->forget_at && o->forget_at <= s->next)
			continue;
		if (o->forget_at && o->forget_at < s->forget_min)
			s->forget_min = o->forget_at;
		s->out[n++] = *o;
	}
	sf_store_release(&s->nout, n);
}

/* Append outlier {@id, @v} (ids increase; nout stored release, S2). */
static int outlier_push(struct clog_status *s, uint64_t id, uint64_t v)
{
	if (s->nout == s->out_cap) {
		uint32_t n = s->out_cap ? 2 * s->out_cap : 16;
		struct clog_outlier *o = realloc(s->out, n * sizeof(*o));

		if (!o)
			return ENOMEM;
		s->out = o;
		s->out_cap = n;
	}
	s->out[s->nout] = (struct clog_outlier){ id, v, 0 };
	sf_store_release(&s->nout, s->nout + 1);
	return 0;
}

/* (S2) Return: 0 and the new id in *@id, or ENOMEM. */
int clog_status_begin_locked(struct clog_status *s, uint64_t *id)
{
	uint64_t id_new = s->next;

	if (s->next >= s->forget_min)
		outliers_expire_locked(s);
	if (s->next - s->low > s->mask) {
		uint64_t v = s->ring[s->low & s->mask];

		if ((v == CLOG_ST_ACTIVE || v == CLOG_ST_PREPARED) &&
		    outlier_push(s, s->low, v))
			return ENOMEM;
		sf_store64_release(&s->low, s->low + 1);
	}
	SF_SYNC_POINT_VAL("commit:status-evicted", s, s->low);
	sf_store64_release(&s->ring[id_new & s->mask], CLOG_ST_ACTIVE);
	sf_store64_release(&s->next, id_new + 1);
	*id = id_new;
	return 0;
}

static struct clog_outlier *outlier_find(struct clog_status *s, uint64_t id)
{
	uint32_t lo = 0, hi = s->nout;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->out[mid].id == id)
			return &s->out[mid];
		if (s->out[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* (S3) m held; @v is final, or CLOG_ST_PREPARED (S6). */
void clog_status_set_locked(struct clog_status *s, uint64_t id, uint64_t v)
{
	struct clog_outlier *o;

	if (id >= s->low) {
		sf_store64_release(&s->ring[id & s->mask], v);
		return;
	}
	o = outlier_find(s, id);
	if (!o)
		return;		/* cannot happen: an outlier is active */
	o->v = v;
	if (v == CLOG_ST_PREPARED)
		return;		/* (S6) not final */
	o->forget_at = s->next + s->mask + 1;
	if (o->forget_at < s->forget_min)
		s->forget_min = o->forget_at;
}

/* (S4) (S5) (S6) Return: 0 and *@v, ENOENT or ESTALE. */
int clog_status_get(struct clog_status *s, uint64_t id, uint64_t *v)
{
	struct clog_outlier *o;
	int err = ESTALE;

	if (id >= sf_load64_acquire(&s->next))
		return ENOENT;
	if (id >= sf_load64_acquire(&s->low)) {
		SF_SYNC_POINT_VAL("commit:status-slot", s, id);
		*v = sf_load64_acquire(&s->ring[id & s->mask]);
		if (SF_BROKEN(STATUS_NO_RECHECK) ||
		    id >= sf_load64_acquire(&s->low))
			return 0;
	}
	if (id < s->base)
		err = ENOENT;	/* (S6) unless in doubt or just resolved */
	if (!sf_load_acquire(&s->nout))
		return err;
	sf_mutex_lock(s->m);
	o = outlier_find(s, id);
	if (o) {
		*v = o->v;
		err = 0;
	}
	sf_mutex_unlock(s->m);
	return err;
}

/* Bytes the table holds now (m held). */
uint64_t clog_status_bytes_locked(const struct clog_status *s)
{
	return (s->mask + 1) * sizeof(*s->ring) +
	       (uint64_t)s->out_cap * sizeof(*s->out);
}

/* (S6) Before the first begin (open). */
int clog_status_add_earlier(struct clog_status *s, uint64_t id, uint64_t v)
{
	return outlier_push(s, id, v);
}
