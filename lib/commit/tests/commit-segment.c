// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: the commit log as a directory of segments: switches under concurrent committers (every acknowledged commit replayed, in order), segment 0 cut short while the log was made: made again (read-only: no log, unchanged), a commit in a new segment never acknowledged before the segment is durable (held at commit:seg-written; fails with SF_TEST_BROKEN=switch-unflushed), checkpoints with transactions spanning them (unfinished, and committed after the checkpoint's LSN: replayed whole; segments below scan_from only recycled; fails with SF_TEST_BROKEN=recycle-early), replay from the checkpoint or start_lsn (ERANGE below what is kept), the next segment made ready by an earlier open kept as it is (not written again: mtime and inode; fails with SF_TEST_BROKEN=seg-rewrite) and a half-prepared one (a child killed in the preparer between zeros and header; a stale byte after a valid header) made ready again (fails with SF_TEST_BROKEN=seg-reuse-unchecked), a version 2 single file read and checkpointed, bad option values (EINVAL, nothing changed: also SF_CLOG_SINGLE_FILE with segment_size or SF_CLOG_SEGMENTED, a buffer above half of an existing log's segments), an existing directory keeps its kind (SF_CLOG_SINGLE_FILE) and opens on the defaults with a buffer of half a segment, a large buffer grows a new log's default segment, a missing segment, a damaged record or segment header in the middle refused (EUCLEAN, files byte-identical), a read-only open byte-identical */
/*
 * Usage: commit-segment [switch-held|recycle|reuse|half-prepared]
 *                             (only that case: what the broken runs execute)
 *        commit-segment half-child DIR   (the child half_child() runs)
 */
#include "test.h"
#include "commit-test.h"
#include "commit-int.h"

#define SEG	(64u << 10)
#define BUF	(8u << 10)

/* A directory log under the scratch directory, removed first. */
static void dir_path(char *p, size_t len, const char *name)
{
	ct_path(p, len, name);
	ct_rmdir(p);
}

static void rm_dir_log(const char *name)
{
	char p[4600];

	dir_path(p, sizeof(p), name);
}

static struct sf_clog_options seg_opts(struct ct_seen *seen)
{
	return (struct sf_clog_options){ .segment_size = SEG,
					 .buffer_size = BUF,
					 .replay = seen ? ct_replay_cb : NULL,
					 .replay_arg = seen };
}

static struct ct_seen *seen_new(void)
{
	struct ct_seen *s = calloc(1, sizeof(*s));

	pthread_mutex_init(&s->m, NULL);
	return s;
}

/* One transaction of @nrec records of @len bytes of @fill. */
static int commit_n(sf_clog_t *l, int nrec, size_t len, int fill,
		    uint64_t *id, uint64_t *lsn)
{
	unsigned char b[4096];
	sf_txn_t *t;
	int r = sf_txn_begin(l, &t);

	if (r)
		return r;
	memset(b, fill, len);
	for (int i = 0; i < nrec && !r; i++)
		r = sf_txn_add(t, b, len);
	if (id)
		*id = sf_txn_id(t);
	if (r) {
		sf_txn_rollback(t);
		return r;
	}
	return sf_txn_commit(t, lsn);
}

/* Every file of directory @p, names and bytes, in one buffer. */
static unsigned char *dir_bytes(const char *p, size_t *len)
{
	struct dirent **ents;
	unsigned char *out = NULL;
	size_t n = 0;
	int k = scandir(p, &ents, NULL, alphasort);

	for (int i = 0; i < k; i++) {
		char f[4700];
		size_t fl = 0, nl = strlen(ents[i]->d_name);
		unsigned char *b;

		snprintf(f, sizeof(f), "%s/%s", p, ents[i]->d_name);
		b = ents[i]->d_name[0] == '.' ? NULL : ct_slurp(f, &fl);
		out = realloc(out, n + nl + fl + 1);
		memcpy(out + n, ents[i]->d_name, nl);
		n += nl;
		if (b)
			memcpy(out + n, b, fl);
		n += fl;
		free(b);
		free(ents[i]);
	}
	free(ents);
	*len = n;
	return out;
}

static int seg_exists(const char *dir, uint64_t i)
{
	char f[4700];

	snprintf(f, sizeof(f), "%s/%016llx.seg", dir, (unsigned long long)i);
	return access(f, F_OK) == 0;
}

/* ---- switches under concurrent committers ---------------------------- */

#define SW_THREADS 4
#define SW_EACH 150

static sf_clog_t *sw_log;
static uint64_t sw_ids[SW_THREADS][SW_EACH];
static int sw_fail;

static void *sw_main(void *arg)
{
	long k = (long)arg;

	for (int i = 0; i < SW_EACH; i++)
		if (commit_n(sw_log, 2, 300, (int)(k + i), &sw_ids[k][i], NULL))
			__atomic_fetch_add(&sw_fail, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void case_switch(void)
{
	struct ct_seen *seen = seen_new();
	struct sf_clog_options o = seg_opts(NULL);
	struct sf_clog_recovery rep;
	struct sf_clog_stats st;
	pthread_t th[SW_THREADS];
	size_t missing = 0;
	char p[4600];

	phase("switch");
	dir_path(p, sizeof(p), "sw");
	ok(sf_clog_open(p, &o, &sw_log, &rep) == 0 && rep.created &&
	   rep.segments == 1, "switch: a new directory log, one segment");
	for (long k = 0; k < SW_THREADS; k++)
		pthread_create(&th[k], NULL, sw_main, (void *)k);
	for (int k = 0; k < SW_THREADS; k++)
		pthread_join(th[k], NULL);
	sf_clog_stats(sw_log, &st);
	ok(!sw_fail, "switch: %d committers x %d commits acknowledged",
	   SW_THREADS, SW_EACH);
	ok(st.segment_switches >= 5, "switch: %llu segment switches "
	   "(%llu waited for the preparer)",
	   (unsigned long long)st.segment_switches,
	   (unsigned long long)st.segment_switch_waits);
	ok(sf_clog_close(sw_log) == 0, "switch: closed");
	o = seg_opts(seen);
	ok(sf_clog_open(p, &o, &sw_log, &rep) == 0 && !rep.cut_bytes &&
	   rep.segments > 5, "switch: reopened clean, %u segments",
	   rep.segments);
	for (int k = 0; k < SW_THREADS; k++)
		for (int i = 0; i < SW_EACH; i++)
			missing += ct_find(seen, sw_ids[k][i]) < 0;
	ok(!missing && !seen->bad_order && seen->n == SW_THREADS * SW_EACH,
	   "switch: every acknowledged commit replayed, in commit order "
	   "(%zu missing, %zu replayed)", missing, seen->n);
	sf_clog_close(sw_log);
	free(seen);
	rm_dir_log("sw");
}

/* ---- a segment is durable before a commit in it is acknowledged ------- */

static sf_clog_t *held_log;
static uint64_t held_lsn;

static void *held_main(void *arg)
{
	uint64_t lsn = 0;

	(void)arg;
	dsync_thread("C");
	while (lsn < 2 * (uint64_t)SEG &&
	       !commit_n(held_log, 1, 1000, 7, NULL, &lsn))
		__atomic_store_n(&held_lsn, lsn, __ATOMIC_RELEASE);
	return NULL;
}

/* Hold the preparer at commit:seg-written for segment 2 only. */
static long held_hook(const char *point, const void *obj, uint64_t val)
{
	(void)obj;
	if (!strcmp(point, "commit:seg-written") && val == 2) {
		dsync_signal("seg-held");
		if (!dsync_wait_for("seg-go", DSYNC_TIMEOUT_MS))
			ok(0, "held: the preparer waited too long");
	}
	return SF_HOOK_NONE;
}

/*
 * The preparer is held at commit:seg-written for segment 2 (written,
 * not yet flushed, its name not yet durable); a committer fills segment
 * 1 and must not get a commit acknowledged in segment 2 meanwhile.
 */
static void case_switch_held(void)
{
	struct sf_clog_options o = seg_opts(NULL);
	uint64_t lsn = 0;
	pthread_t th;
	char p[4600];
	int early;

	phase("switch-held");
	dir_path(p, sizeof(p), "held");
	dsync_own = held_hook;
	dsync_reset();
	ok(sf_clog_open(p, &o, &held_log, NULL) == 0, "held: opened");
	pthread_create(&th, NULL, held_main, NULL);
	ok(dsync_wait_for("seg-held", 10000), "held: the preparer is held "
	   "before segment 2 is durable");
	for (int i = 0; i < 100 &&
	     (lsn = __atomic_load_n(&held_lsn, __ATOMIC_ACQUIRE)) <
	     2 * (uint64_t)SEG; i++)
		usleep(10000);
	early = lsn >= 2 * (uint64_t)SEG;
	ok(!early, "held: no commit acknowledged in segment 2 before it is "
	   "durable (last commit LSN %llu, segment 2 starts at %u)",
	   (unsigned long long)lsn, 2 * SEG);
	dsync_signal("seg-go");
	pthread_join(th, NULL);
	ok(__atomic_load_n(&held_lsn, __ATOMIC_ACQUIRE) >= 2 * (uint64_t)SEG,
	   "held: once it is, the commits go on into segment 2");
	sf_clog_close(held_log);
	dsync_own = NULL;
	dsync_reset();
	rm_dir_log("held");
}

/* ---- checkpoints and transactions spanning them ---------------------- */

static uint64_t fill(sf_clog_t *l, int n, int v)
{
	uint64_t lsn = 0;

	for (int i = 0; i < n; i++)
		if (commit_n(l, 1, 2000, v, NULL, &lsn))
			return 0;
	return lsn;
}

static void case_recycle(void)
{
	struct ct_seen *seen = seen_new();
	struct sf_clog_options o = seg_opts(NULL);
	struct sf_clog_recovery rep;
	struct sf_clog_stats st;
	uint64_t t_id, t3_id, l1, t3_first = 0, l2, last = 0, l1_t3 = 0;
	uint64_t big_id = 0;
	unsigned char b[100];
	sf_clog_t *l = NULL;
	sf_txn_t *t, *t3;
	long i1, i3;
	char p[4600];
	int r;

	phase("recycle");
	dir_path(p, sizeof(p), "rc");
	memset(b, 0x5a, sizeof(b));
	ok(sf_clog_open(p, &o, &l, NULL) == 0, "recycle: opened");
	/* T: a record in segment 0, committed only after the checkpoint */
	ok(sf_txn_begin(l, &t) == 0 && sf_txn_add(l ? t : NULL, b, 100) == 0,
	   "recycle: T added a record in segment 0");
	t_id = sf_txn_id(t);
	/* T3: a record in segment 0, committed above the checkpoint's LSN */
	sf_txn_begin(l, &t3);
	t3_id = sf_txn_id(t3);
	sf_txn_add_lsn(t3, b, 50, &t3_first);
	fill(l, 80, 1);
	l1 = sf_clog_durable_lsn(l);	/* in segment 2 */
	sf_txn_add(t3, b, 60);
	ok(sf_txn_commit(t3, &l1_t3) == 0 && l1_t3 > l1 && l1 >= 2 * SEG,
	   "recycle: T3 committed above %llu", (unsigned long long)l1);
	fill(l, 5, 2);
	ok(sf_clog_checkpoint(l, l1) == 0, "recycle: checkpoint at %llu "
	   "(T open, T3 committed above it)", (unsigned long long)l1);
	ok(seg_exists(p, 0), "recycle: segment 0 kept: T and T3 need it");
	sf_txn_add(t, b, 100);
	ok(sf_txn_commit(t, NULL) == 0, "recycle: T committed after it");
	sf_clog_close(l);
	o = seg_opts(seen);
	l = NULL;
	r = sf_clog_open(p, &o, &l, &rep);
	ok(r == 0, "recycle: reopened (%s)", rep.reason);
	i1 = ct_find(seen, t_id);
	i3 = ct_find(seen, t3_id);
	ok(i1 >= 0 && seen->nrecs[i1] == 2 && seen->sum[i1] == 200 * 0x5a,
	   "recycle: T replayed whole (%ld, %u records)", i1,
	   i1 >= 0 ? seen->nrecs[i1] : 0);
	ok(i3 >= 0 && seen->nrecs[i3] == 2 && seen->sum[i3] == 110 * 0x5a,
	   "recycle: T3 replayed whole");
	ok(rep.checkpoint_lsn == l1 && rep.replay_from == l1,
	   "recycle: checkpoint found at %llu, replayed from %llu",
	   (unsigned long long)rep.checkpoint_lsn,
	   (unsigned long long)rep.replay_from);
	if (r) {
		free(seen);
		return;
	}
	/* Nothing open now: a checkpoint at the end recycles below it. */
	last = fill(l, 60, 3);
	l2 = sf_clog_durable_lsn(l);
	ok(sf_clog_checkpoint(l, l2) == 0, "recycle: checkpoint at the end");
	sf_clog_stats(l, &st);
	ok(st.segments_recycled > 0 && !seg_exists(p, 0) &&
	   seg_exists(p, l2 / SEG), "recycle: %llu segments recycled, "
	   "the one of the checkpoint kept",
	   (unsigned long long)st.segments_recycled);
	ok_err(sf_clog_checkpoint(l, l2 - 1), EINVAL,
	       "recycle: a checkpoint below the last one: EINVAL");
	ok_err(sf_clog_checkpoint(l, l2 + 100000), EINVAL,
	       "recycle: a checkpoint past the durable log: EINVAL");
	commit_n(l, 1, 10, 1, NULL, NULL);
	commit_n(l, 1, 10, 1, NULL, &last);
	commit_n(l, 1, 10, 1, NULL, NULL);
	/* ids handed out without records, their reservation recycled */
	for (int i = 0; i < 20; i++) {
		sf_txn_begin(l, &t);
		big_id = sf_txn_id(t);
		sf_txn_rollback(t);
	}
	sf_clog_close(l);
	ct_seen_reset(seen);
	r = sf_clog_open(p, &o, &l, &rep);
	ok(r == 0 && seen->n == 3 && rep.checkpoint_lsn == l2 &&
	   rep.log_start > SEG, "recycle: reopened: the 3 commits after the "
	   "checkpoint replayed (%zu), log starts at %llu", seen->n,
	   (unsigned long long)rep.log_start);
	if (!r && !sf_txn_begin(l, &t)) {
		ok(sf_txn_id(t) > big_id, "recycle: the next id %llu is above "
		   "%llu, handed out before though its reservation's segment "
		   "was recycled", (unsigned long long)sf_txn_id(t),
		   (unsigned long long)big_id);
		sf_txn_rollback(t);
	}
	if (!r)
		sf_clog_close(l);
	o.start_lsn = 1;
	ok_err(sf_clog_open(p, &o, &l, &rep), ERANGE,
	       "recycle: start_lsn below what is kept: ERANGE");
	o.start_lsn = last;
	ct_seen_reset(seen);
	r = sf_clog_open(p, &o, &l, &rep);
	ok(r == 0 && seen->n == 2 && rep.replay_from == last,
	   "recycle: start_lsn above the checkpoint: the 2 commits from it "
	   "replayed (%zu)", seen->n);
	if (!r)
		sf_clog_close(l);
	free(seen);
	rm_dir_log("rc");
}

/* ---- a version 2 single file ----------------------------------------- */

static void put_rec(unsigned char *p, uint64_t txn, uint64_t lsn,
		    uint32_t type, uint32_t batch, const void *data,
		    uint32_t len)
{
	memcpy(p + 32, data, len);
	clog_make_record(p, txn, lsn, type, batch, len);
}

static void case_v2(void)
{
	struct ct_seen *seen = seen_new();
	struct sf_clog_options o = { .replay = ct_replay_cb,
				     .replay_arg = seen };
	struct sf_clog_recovery rep;
	unsigned char b[32 + 3 * (36 + 32)], *h;
	sf_clog_t *l = NULL;
	uint64_t off = 32, lsn;
	size_t len;
	char p[4600];

	phase("v2");
	ct_path(p, sizeof(p), "v2.log");
	clog_make_header(b, 2, 0, 0);
	for (uint64_t id = 1; id <= 3; id++) {
		put_rec(b + off, id, off, CLOG_REC_DATA, (uint32_t)id, "abcd", 4);
		off += 36;
		put_rec(b + off, id, off, CLOG_REC_COMMIT, (uint32_t)id, "", 0);
		off += 32;
	}
	ct_spew(p, b, sizeof(b));
	ok(sf_clog_open(p, &o, &l, &rep) == 0 && rep.version == 2 &&
	   seen->n == 3 && rep.segments == 0,
	   "v2: a version 2 single file opens, 3 replayed");
	h = ct_slurp(p, &len);
	ok(h && clog_get32(h + 8) == CLOG_VERSION, "v2: its header is now "
	   "version 3 (it may hold checkpoints)");
	free(h);
	ok(commit_n(l, 1, 10, 1, NULL, &lsn) == 0 &&
	   sf_clog_checkpoint(l, sf_clog_durable_lsn(l)) == 0,
	   "v2: commits and checkpoints in the single file");
	sf_clog_close(l);
	ct_seen_reset(seen);
	ok(sf_clog_open(p, &o, &l, &rep) == 0 && seen->n == 0 &&
	   rep.checkpoint_lsn > lsn, "v2: reopened: the checkpoint honoured, "
	   "nothing replayed (%zu)", seen->n);
	sf_clog_close(l);
	o.start_lsn = 1;
	ct_seen_reset(seen);
	ok(sf_clog_open(p, &o, &l, &rep) == 0 && seen->n == 4,
	   "v2: start_lsn 1 replays everything (%zu)", seen->n);
	sf_clog_close(l);
	unlink(p);
	free(seen);
}

/* ---- bad options, damage, read-only ---------------------------------- */

static void check_open_fails(const char *p, struct sf_clog_options *o,
			     int want, const char *what)
{
	size_t l0, l1;
	unsigned char *a = dir_bytes(p, &l0), *b;
	sf_clog_t *l = NULL;
	struct sf_clog_recovery rep;
	int r = sf_clog_open(p, o, &l, &rep);

	if (!r)
		sf_clog_close(l);
	b = dir_bytes(p, &l1);
	ok(r == want, "%s: %s (%s)", what, strerror(want), rep.reason);
	ok(l0 == l1 && !memcmp(a, b, l0), "%s: files byte-identical", what);
	free(a);
	free(b);
}

/* Byte @at of file @f (its bytes @b) flipped: open refuses, EUCLEAN. */
static void flip_fails(const char *p, struct sf_clog_options *o,
		       const char *f, unsigned char *b, size_t len, size_t at,
		       const char *what)
{
	if (!b || at >= len) {
		ok(0, "%s: no segment file to damage", what);
		return;
	}
	b[at] ^= 0x10;
	ct_spew(f, b, len);
	check_open_fails(p, o, EUCLEAN, what);
	b[at] ^= 0x10;
	ct_spew(f, b, len);
}

/*
 * (N1) The existing directory log @p (64 KiB segments) opened on the
 * defaults: its kind and size kept, SF_CLOG_SINGLE_FILE too, its buffer
 * half a segment.  A new log with a buffer of 9 MiB: a default segment
 * of twice that.
 */
static void case_kind(const char *p)
{
	struct sf_clog_options o = { .flags = SF_CLOG_SINGLE_FILE };
	static unsigned char big[SEG / 2];
	struct sf_clog_recovery rep = { 0 };
	char q[4600], f[4700];
	struct stat sb;
	sf_clog_t *l = NULL;
	sf_txn_t *t = NULL;
	int r = sf_clog_open(p, &o, &l, &rep);

	ok(!r && rep.segments > 1, "kind: SF_CLOG_SINGLE_FILE on an existing "
	   "directory: opened as the directory (%u segments)", rep.segments);
	if (r)
		return;
	sf_clog_close(l);
	r = sf_clog_open(p, NULL, &l, NULL);
	ok(!r && !sf_txn_begin(l, &t), "kind: the defaults on an existing "
	   "directory of 64 KiB segments: opened");
	if (r || !t)
		return;
	ok_err(sf_txn_add(t, big, sizeof(big) - SF_CLOG_RECORD_OVERHEAD + 1),
	       EMSGSIZE, "kind: its buffer is half a segment: a record of "
	       "more is EMSGSIZE");
	ok(!sf_txn_add(t, big, sizeof(big) - SF_CLOG_RECORD_OVERHEAD) &&
	   !sf_txn_commit(t, NULL), "kind: a record of exactly that commits");
	sf_clog_close(l);
	dir_path(q, sizeof(q), "big-buffer");
	snprintf(f, sizeof(f), "%s/%016x.seg", q, 0u);
	o = (struct sf_clog_options){ .buffer_size = 9u << 20 };
	r = sf_clog_open(q, &o, &l, NULL);
	sb.st_size = 0;
	if (!r)
		stat(f, &sb);
	ok(!r && sb.st_size == 18 << 20, "kind: a new log with a 9 MiB "
	   "buffer: segments of 18 MiB (%lld bytes)", (long long)sb.st_size);
	if (!r)
		sf_clog_close(l);
	ct_rmdir(q);
}

static void case_bad(void)
{
	struct sf_clog_options o = seg_opts(NULL);
	sf_clog_t *l = NULL;
	char p[4600], f[4700];
	unsigned char *s;
	size_t len;

	phase("bad");
	dir_path(p, sizeof(p), "bad");
	o.segment_size = SEG + 1;
	ok_err(sf_clog_open(p, &o, &l, NULL), EINVAL,
	       "bad: segment size not a multiple of 4096: EINVAL");
	o.segment_size = SF_CLOG_MIN_SEGMENT - 4096;
	ok_err(sf_clog_open(p, &o, &l, NULL), EINVAL,
	       "bad: below SF_CLOG_MIN_SEGMENT: EINVAL");
	o.segment_size = SF_CLOG_MAX_SEGMENT + 4096u;
	ok_err(sf_clog_open(p, &o, &l, NULL), EINVAL,
	       "bad: above SF_CLOG_MAX_SEGMENT: EINVAL");
	o.segment_size = SEG;
	o.buffer_size = SEG;
	ok_err(sf_clog_open(p, &o, &l, NULL), EINVAL,
	       "bad: less than twice the buffer: EINVAL");
	o = seg_opts(NULL);
	o.flags = SF_CLOG_SINGLE_FILE;
	ok_err(sf_clog_open(p, &o, &l, NULL), EINVAL,
	       "bad: SF_CLOG_SINGLE_FILE with a segment_size: EINVAL");
	o.segment_size = 0;
	o.flags = SF_CLOG_SINGLE_FILE | SF_CLOG_SEGMENTED;
	ok_err(sf_clog_open(p, &o, &l, NULL), EINVAL,
	       "bad: SF_CLOG_SINGLE_FILE with SF_CLOG_SEGMENTED: EINVAL");
	ok(access(p, F_OK) != 0, "bad: nothing created");
	o = seg_opts(NULL);
	ok(sf_clog_open(p, &o, &l, NULL) == 0, "bad: a good log");
	for (int i = 0; i < 120; i++)
		commit_n(l, 1, 2000, i, NULL, NULL);
	sf_clog_close(l);
	o.segment_size = 2 * SEG;
	check_open_fails(p, &o, EINVAL, "bad: another segment size");
	o = seg_opts(NULL);
	o.segment_size = 0;
	o.buffer_size = SEG;
	check_open_fails(p, &o, EINVAL, "bad: a buffer above half of the "
			 "existing segments");
	case_kind(p);
	o = seg_opts(NULL);
	o.flags = SF_CLOG_READ_ONLY;
	check_open_fails(p, &o, 0, "bad: read-only open across segments");
	o.flags = 0;
	/* a record of segment 1 damaged: corruption, later ones are valid */
	snprintf(f, sizeof(f), "%s/%016llx.seg", p, 1ull);
	s = ct_slurp(f, &len);
	flip_fails(p, &o, f, s, len, 100, "bad: a damaged record in segment 1");
	/* its header damaged: the records in it and after it are valid */
	flip_fails(p, &o, f, s, len, 9, "bad: segment 1's header damaged");
	/* segment 1 gone */
	snprintf(f, sizeof(f), "%s/%016llx.seg", p, 1ull);
	{
		char g[4800];

		snprintf(g, sizeof(g), "%s.away", p);
		rename(f, g);
		check_open_fails(p, &o, EUCLEAN, "bad: segment 1 missing");
		rename(g, f);
	}
	ok(sf_clog_open(p, &o, &l, NULL) == 0, "bad: whole again: opens");
	sf_clog_close(l);
	free(s);
	rm_dir_log("bad");
}

/* ---- a log whose creation never finished ------------------------------- */

/*
 * Segment 0 cut short while the log was being made (the process died
 * zeroing it; its header is written last): a read-only open finds no log
 * and changes nothing, a writable one makes the log again.
 */
static void case_unfinished(void)
{
	struct sf_clog_options o = seg_opts(NULL);
	struct sf_clog_recovery rep;
	unsigned char zeros[8192] = { 0 };
	char p[4600], f[4700];
	struct stat sb;
	sf_clog_t *l;
	int fd, r;

	phase("unfinished");
	dir_path(p, sizeof(p), "unfinished.d");
	snprintf(f, sizeof(f), "%s/%016llx.seg", p, 0ULL);
	if (mkdir(p, 0755) || (fd = open(f, O_WRONLY | O_CREAT, 0644)) < 0 ||
	    write(fd, zeros, sizeof(zeros)) != (ssize_t)sizeof(zeros) ||
	    close(fd)) {
		ok(0, "unfinished: set up %s", f);
		return;
	}
	o.flags = SF_CLOG_READ_ONLY;
	r = sf_clog_open(p, &o, &l, &rep);
	ok(r == EBADMSG && !stat(f, &sb) && sb.st_size == sizeof(zeros),
	   "unfinished: read-only: no log (%s), the file unchanged",
	   strerror(r));
	o.flags = 0;
	r = sf_clog_open(p, &o, &l, &rep);
	ok(!r && rep.created && !stat(f, &sb) && sb.st_size == SEG,
	   "unfinished: writable: made again, full size (%s)", strerror(r));
	if (r)
		return;
	for (int i = 0; i < 3 && !r; i++)
		r = commit_n(l, 1, 100, 1, NULL, NULL);
	ok(!r && !sf_clog_close(l) && !sf_clog_open(p, &o, &l, &rep) &&
	   rep.replayed == 3 && !rep.created,
	   "unfinished: and works: 3 commits replayed");
	sf_clog_close(l);
	rm_dir_log("unfinished.d");
}

/* ---- the next segment, ready from an earlier open (P4) ---------------- */

static int seg_ready_seen;	/* the preparer made segment 1 ready */
static int kill_when_zeroed;	/* the half-prepared child: die there */

static long reuse_hook(const char *point, const void *obj, uint64_t val)
{
	(void)obj;
	if (!strcmp(point, "commit:seg-ready") && val == 1)
		__atomic_store_n(&seg_ready_seen, 1, __ATOMIC_RELEASE);
	if (!strcmp(point, "commit:seg-zeroed") && val == 1 &&
	    kill_when_zeroed)
		raise(SIGKILL);	/* zeros written, no header yet */
	return SF_HOOK_NONE;
}

static int wait_seg1_ready(void)
{
	for (int i = 0; i < 500; i++) {
		if (__atomic_load_n(&seg_ready_seen, __ATOMIC_ACQUIRE))
			return 1;
		usleep(10000);
	}
	return 0;
}

/* Open @p with the hook, past the middle of segment 0 when @fill. */
static sf_clog_t *open_seg1(const char *p, int fill, struct ct_seen *seen)
{
	struct sf_clog_options o = seg_opts(seen);
	sf_clog_t *l = NULL;

	__atomic_store_n(&seg_ready_seen, 0, __ATOMIC_RELEASE);
	dsync_own = reuse_hook;
	dsync_reset();
	if (sf_clog_open(p, &o, &l, NULL))
		return NULL;
	for (int i = 0; i < fill; i++)	/* 2 KiB each: past 32 KiB */
		commit_n(l, 1, 2000, i, NULL, NULL);
	return l;
}

/* Segment 1 as P1 leaves it: its size, its header, zeros after it. */
static int seg1_ready(const char *dir)
{
	unsigned char h[CLOG_HDR_SIZE], *b;
	char f[4700];
	size_t len;
	int r;

	snprintf(f, sizeof(f), "%s/%016llx.seg", dir, 1ull);
	b = ct_slurp(f, &len);
	clog_make_header(h, CLOG_VERSION, SEG, SEG);
	r = b && len == SEG && !memcmp(b, h, sizeof(h));
	for (size_t i = sizeof(h); r && i < len; i++)
		r = !b[i];
	free(b);
	return r;
}

/*
 * 20 commits more in @l (on into segment 1), closed, reopened: all @want
 * replayed, in order.  Then the log at @p is removed.
 */
static void go_on_in_seg1(sf_clog_t *l, const char *p, const char *what,
			  size_t want)
{
	struct ct_seen *seen = seen_new();

	for (int i = 0; l && i < 20; i++)
		commit_n(l, 1, 2000, i, NULL, NULL);
	if (l)
		sf_clog_close(l);
	l = open_seg1(p, 0, seen);
	ok(l && seen->n == want && !seen->bad_order,
	   "%s: the commits in segment 1 replayed (%zu of %zu)", what, seen->n,
	   want);
	if (l)
		sf_clog_close(l);
	dsync_own = NULL;
	dsync_reset();
	free(seen);
	ct_rmdir(p);
}

/*
 * An open past the middle of a segment has the preparer make the next
 * one ready; when an earlier open made it ready already, it is kept as
 * it is: its mtime (set back to 2001 in between) and inode unchanged.
 * Fails with SF_TEST_BROKEN=seg-rewrite (written again at every open).
 */
static void case_reuse(void)
{
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct stat a, b;
	char p[4600], f[4700];
	sf_clog_t *l;

	phase("reuse");
	dir_path(p, sizeof(p), "reuse");
	snprintf(f, sizeof(f), "%s/%016llx.seg", p, 1ull);
	l = open_seg1(p, 20, NULL);
	ok(l && wait_seg1_ready() && seg1_ready(p),
	   "reuse: past the middle of segment 0, segment 1 made ready");
	if (l)
		sf_clog_close(l);
	ok(!utimensat(AT_FDCWD, f, old, 0) && !stat(f, &a),
	   "reuse: segment 1's mtime set back to 2001");
	l = open_seg1(p, 0, NULL);
	ok(l && wait_seg1_ready() && !stat(f, &b) && seg1_ready(p),
	   "reuse: reopened past the middle: the preparer has segment 1 ready");
	ok(b.st_mtim.tv_sec == a.st_mtim.tv_sec && b.st_ino == a.st_ino,
	   "reuse: segment 1 ready from the last open is not written again "
	   "(mtime %lld, was %lld; inode %s)", (long long)b.st_mtim.tv_sec,
	   (long long)a.st_mtim.tv_sec, b.st_ino == a.st_ino ? "same" : "new");
	go_on_in_seg1(l, p, "reuse", 40);
}

/* The half-prepared child: fill past the middle, die in the preparer. */
static int half_child(const char *p)
{
	sf_clog_t *l;

	kill_when_zeroed = 1;
	l = open_seg1(p, 20, NULL);
	sleep_ms(5000);		/* killed before */
	(void)l;
	return 3;
}

/*
 * A preparer that died between the zeros and the header (a child
 * killed there), and a segment with a valid header but a byte of old
 * data (a torn write, a recycled file's stale record): neither is taken
 * as ready, each is made ready again, and the log goes on in it.  Fails
 * with SF_TEST_BROKEN=seg-reuse-unchecked (any file there is used).
 */
static void case_half_prepared(void)
{
	char self[4200], p[4600], f[4700], out[4096];
	struct ct_seen *seen = seen_new();
	unsigned char *b;
	sf_clog_t *l;
	size_t len, n;
	int st;

	phase("half-prepared");
	dir_path(p, sizeof(p), "half");
	snprintf(f, sizeof(f), "%s/%016llx.seg", p, 1ull);
	beside_self("commit-segment", self, sizeof(self));
	st = run_capture((char *[]){ self, "half-child", p, NULL }, NULL, out,
			 sizeof(out));
	b = ct_slurp(f, &len);
	ok(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && b &&
	   !seg1_ready(p) && len >= CLOG_HDR_SIZE && !b[0],
	   "half-prepared: a child killed in its preparer between segment "
	   "1's zeros and its header (%zu bytes, no header)", len);
	free(b);
	/*
	 * The child died past the middle, but the batch that took it there
	 * may not have been durable: 4 commits more to be past it for sure.
	 */
	l = open_seg1(p, 4, seen);
	n = seen->n + 4;	/* the child's durable ones, these */
	ok(l && wait_seg1_ready() && seg1_ready(p),
	   "half-prepared: reopened past the middle: segment 1 made ready "
	   "again, header and zeros");
	if (l)
		sf_clog_close(l);
	/* a stale byte after a valid header: not ready either */
	b = ct_slurp(f, &len);
	if (b && len > 5000) {
		b[5000] = 0x5a;
		ct_spew(f, b, len);
	}
	free(b);
	l = open_seg1(p, 0, NULL);
	ok(l && wait_seg1_ready() && seg1_ready(p),
	   "half-prepared: a non-zero byte in it: made ready again");
	go_on_in_seg1(l, p, "half-prepared", n + 20);
	free(seen);
}

/* Each case must fail when its protocol is broken. */
static void case_broken(void)
{
	ok(self_fails_broken("commit-segment",
			     (char *[]){ "switch-held", NULL },
			     "switch-unflushed", "no commit acknowledged"),
	   "switch broken: with a segment announced ready before its flush "
	   "(SF_TEST_BROKEN=switch-unflushed) a commit in it is acknowledged "
	   "before the segment is durable");
	ok(self_fails_broken("commit-segment", (char *[]){ "recycle", NULL },
			     "recycle-early", "recycle: "),
	   "recycle broken: with recycling below the checkpoint's LSN instead "
	   "of its scan_from (SF_TEST_BROKEN=recycle-early) a transaction "
	   "spanning the checkpoint is lost");
	ok(self_fails_broken("commit-segment", (char *[]){ "reuse", NULL },
			     "seg-rewrite", "reuse: segment 1 ready"),
	   "reuse broken: with every preparing writing its segment again "
	   "(SF_TEST_BROKEN=seg-rewrite) the ready segment is rewritten");
	ok(self_fails_broken("commit-segment",
			     (char *[]){ "half-prepared", NULL },
			     "seg-reuse-unchecked", "half-prepared: "),
	   "half-prepared broken: with any file there taken as ready "
	   "(SF_TEST_BROKEN=seg-reuse-unchecked) a half-prepared segment is "
	   "used as it is");
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		{ "switch", case_switch, 0 },
		{ "switch-held", case_switch_held, 0 },
		{ "recycle", case_recycle, 0 },
		{ "v2", case_v2, 0 },
		{ "unfinished", case_unfinished, 0 },
		{ "reuse", case_reuse, 0 },
		{ "half-prepared", case_half_prepared, 0 },
		{ "bad", case_bad, 0 },
		{ "broken", case_broken, 0 },
	};

	watchdog_start(60);
	if (argc > 2 && !strcmp(argv[1], "half-child"))
		return half_child(argv[2]);
	ct_mkdir(1);
	run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
	return done_testing();
}
