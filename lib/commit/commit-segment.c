// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * commit-segment.c - the files of the commit log: a directory of
 * fixed-size segments (or one file), the segments prepared ahead and
 * recycled, and what a checkpoint must keep.  The format is in
 * commit-int.h.
 *
 * Preparing.  (P1) Segment i is ready when its file exists with its full
 * size S, zeros after a valid header, all of it durable (fdatasync), and
 * its name durable (fsync of the directory when it was created).  Only
 * then is ready raised to i, under m.  So the size change of a new
 * segment is durable before any record is written to it: a flush of a
 * batch in a ready segment overwrites allocated blocks and has no size
 * to commit, as with the zeros ahead of a single file (commit.c, Z1-Z3).
 * (P2) The preparer thread keeps the segment after the current one
 * ready, starting on it when the log has reached the middle of the
 * current one (clog_seg_progress_locked(), from the leader taking a
 * batch, and from the open: a log reopened past the middle): its segment
 * of zeros and their flush then compete with the commits' flushes away
 * from the switch, where they made the first commit of a segment wait
 * for them (measured: 1.1-1.4 ms instead of
 * about 0.2 ms with 1 MiB segments, bench-commit-seg.c).  Appending
 * moves to segment i + 1 (clog_seg_switch_locked()) in
 * the committer whose record does not fit, once the batches before it
 * have finished (commit.c, switch_segment_locked()), and it waits for
 * the preparer only when that has not finished (counted:
 * segment_switch_waits, or wakes it at once if it had not started);
 * then it sets cur.  The switch itself is no flush: the first batch in the new
 * segment is an ordinary write and flush of a ready file, so a switch
 * makes no committer wait longer than the one flush it waits for anyway.
 * (P3) A preparing that fails (ENOSPC, or a preparer thread that cannot
 * start, P5) fails the log at the switch that needs it (EIO afterwards),
 * as a failed write would.
 * (P4) A segment already there when its turn comes (an earlier open's
 * preparer made it, or began to) is kept as it is when it looks as P1
 * leaves it -- its full size S, as many bytes allocated, the header of
 * index i, zeros after it, all read back (looks_ready()) -- so that an
 * open past the middle does not write a ready segment of zeros again;
 * anything else (a preparer that died zeroing it or before its header,
 * a recycled file's header of its old index, a stale byte, a hole) is
 * written again.  What is read is what the file holds, not yet what is
 * durable (a preparer killed before its fdatasync leaves it in the page
 * cache), so the fdatasync and the directory's fsync are done either
 * way: no-ops when it is durable already.  The directory is fsynced after
 * every preparing, not only after a create: a file created by a preparer
 * that died before its fsync may not have a durable name.
 *
 * (P5) The preparer thread starts the first time it is wanted (at the
 * middle of a segment, or a switch), not at the open: a small log, or a
 * forked child that opens one, runs no thread of its own.
 *
 * New logs.  (N1) A new log is a directory of segments unless
 * SF_CLOG_SINGLE_FILE asks for a file; its S is segment_size, else
 * SF_CLOG_DEFAULT_SEGMENT grown to twice the buffer (a record and a batch
 * must fit in a segment: append_locked() would switch for ever).  An
 * existing directory of segments smaller than twice the default buffer
 * gets a buffer of S / 2 (a buffer asked for above that: EINVAL, before
 * anything is written).  Nothing past segment 0 is prepared until the log
 * reaches its middle (P2), at an open too.
 *
 * Checkpoints.  (C1) A checkpoint at lsn L keeps scan_from F = the least
 * of L, the first LSN of every unfinished transaction with records, and
 * the first LSN of every transaction that committed at or after L (it
 * must replay whole, and it may have begun below L): the latter are kept
 * per segment (a single file: per MiB) of LSN space of their commit
 * records since the last checkpoint, the least first LSN of each (a
 * bucket containing L counts whole: F may be lower than needed, never
 * higher).  First LSNs are handed out in increasing order
 * under m, so the unfinished ones are a sorted array with lazy removal.
 * (C2) The checkpoint record (L, F, and the id limit of commit.c I1) is
 * appended and made durable
 * (sf_clog_flush_to()) before anything is recycled.  (C3) Then the files
 * wholly below F's segment (and below the current one) are, oldest
 * first, renamed to the index after the last file (recycled, while fewer
 * than CLOG_SEG_SPARES wait past the current segment) or removed, each
 * followed by an fsync of the directory before the next change: the
 * files stay without a gap in every state a crash can leave, and a
 * recycled file's stale records have LSNs of their old place (invalid);
 * it is prepared again (P1) before use.  (C4) Recovery starts its replay
 * at the last durable checkpoint's F (commit-recover.c, V6), and refuses
 * (EUCLEAN) a log whose first file lies above it.  Directory changes
 * (the preparer's creates, C3's renames and removals) hold dir_m.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commit-int.h"
#include "internal.h"
#include "wait.h"

static const unsigned char zeros[1u << 16];

static void seg_name(char *buf, size_t len, uint64_t i)
{
	snprintf(buf, len, "%016" PRIx64 ".seg", i);
}

/* 16 hex digits and ".seg": *@i.  Return: whether @name is a segment. */
static bool seg_parse(const char *name, uint64_t *i)
{
	uint64_t v = 0;

	if (strlen(name) != 20 || strcmp(name + 16, ".seg"))
		return false;
	for (int k = 0; k < 16; k++) {
		char c = name[k];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	*i = v;
	return true;
}

static int sync_dir(struct clog_segs *g)
{
	if (SF_FAULT("commit:dir-fsync", g, 0) != SF_HOOK_NONE)
		return EIO;
	return fsync(g->dirfd) ? errno : 0;
}

void clog_segs_init(struct clog_segs *g, sf_mutex_t *m)
{
	memset(g, 0, sizeof(*g));
	g->m = m;
	g->dirfd = g->filefd = -1;
	sf_mutex_init(&g->dir_m, NULL);
	for (unsigned int k = 0; k < CLOG_SEG_FDS; k++)
		g->fd[k] = -1;
}

void clog_segs_single(struct clog_segs *g, int fd)
{
	g->filefd = fd;
	g->size = CLOG_SEG_SINGLE;
}

int clog_seg_fd_locked(struct clog_segs *g, uint64_t i, uint64_t *fsize)
{
	unsigned int k = (unsigned int)(i % CLOG_SEG_FDS);
	char name[32];
	struct stat st;
	int fd;

	if (g->dirfd < 0) {
		if (fsize)
			*fsize = fstat(g->filefd, &st) ? 0
							: (uint64_t)st.st_size;
		return g->filefd;
	}
	if (g->fd[k] >= 0 && g->fd_idx[k] == i) {
		if (fsize)
			*fsize = g->fd_size[k];
		return g->fd[k];
	}
	seg_name(name, sizeof(name), i);
	fd = openat(g->dirfd, name,
		    (g->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st)) {
		close(fd);
		return -1;
	}
	/* An older index in this slot: no batch in flight is that far back. */
	if (g->fd[k] >= 0)
		close(g->fd[k]);
	g->fd[k] = fd;
	g->fd_idx[k] = i;
	g->fd_size[k] = (uint64_t)st.st_size;
	if (fsize)
		*fsize = g->fd_size[k];
	return fd;
}

/* Write zeros over [@off, @to) of @fd.  Return: 0 or errno. */
static int zero_fd(int fd, uint64_t off, uint64_t to)
{
	while (off < to) {
		size_t n = to - off < sizeof(zeros) ? to - off : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)off);

		if (w <= 0)
			return w < 0 ? errno : EIO;
		off += (uint64_t)w;
	}
	return 0;
}

int clog_segs_zero(struct clog_segs *g, uint64_t from, uint64_t to)
{
	uint64_t i = clog_seg_of(g->size, from), base = i * g->size;
	int fd = clog_seg_fd_locked(g, i, NULL), err;

	if (fd < 0)
		return errno;
	err = zero_fd(fd, from - base, to - base);
	return err ? err : fdatasync(fd) ? errno : 0;
}

/*
 * (P4) Is @fd, segment @i, in the state P1 leaves it (an earlier open's
 * preparer made it ready, or got that far before it died): its full
 * size, all of it allocated, the header @h of segment @i, zeros after
 * it?  What it reads is what the file holds (after a power cut, what the
 * disk holds); whether that is durable yet the caller makes sure.
 */
static bool looks_ready(struct clog_segs *g, int fd, const unsigned char *h)
{
	unsigned char buf[sizeof(zeros)];
	struct stat st;

	if (fstat(fd, &st) || (uint64_t)st.st_size != g->size ||
	    (uint64_t)st.st_blocks * 512 < g->size ||
	    pread(fd, buf, CLOG_HDR_SIZE, 0) != (ssize_t)CLOG_HDR_SIZE ||
	    memcmp(buf, h, CLOG_HDR_SIZE))
		return false;
	for (uint64_t off = CLOG_HDR_SIZE; off < g->size;) {
		size_t n = g->size - off < sizeof(buf) ? g->size - off
						       : sizeof(buf);

		if (pread(fd, buf, n, (off_t)off) != (ssize_t)n ||
		    memcmp(buf, zeros, n))
			return false;
		off += n;
	}
	return true;
}

/*
 * (P1) Make segment @i ready: zeros, header, fdatasync, the directory
 * fsynced; (P4) a file that is ready already is kept as it is (only the
 * fdatasync and the fsync, no-ops when it is durable).  Holds dir_m.
 * Return: 0 or errno.
 */
static int prepare(struct clog_segs *g, uint64_t i)
{
	unsigned char h[CLOG_HDR_SIZE];
	bool created = false;
	char name[32];
	int fd, err;

	seg_name(name, sizeof(name), i);
	sf_mutex_lock(&g->dir_m);
	fd = openat(g->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = openat(g->dirfd, name, O_RDWR | O_CREAT | O_EXCL |
			    O_CLOEXEC, 0644);
		created = fd >= 0;
	}
	if (fd < 0) {
		err = errno;
		goto out;
	}
	clog_make_header(h, CLOG_VERSION, i * g->size, (uint32_t)g->size);
	if (!created && !SF_BROKEN(SEG_REWRITE) &&
	    (SF_BROKEN(SEG_REUSE_UNCHECKED) || looks_ready(g, fd, h))) {
		/*
		 * With SF_BROKEN(SEG_REUSE_UNCHECKED), any file already
		 * there is taken as ready: a half-prepared one (a preparer
		 * that died) is used without its header or zeros.
		 */
		err = 0;
		goto sync;
	}
	err = SF_FAULT("commit:seg-prepare", g, i) != SF_HOOK_NONE ? ENOSPC
	      : zero_fd(fd, CLOG_HDR_SIZE, g->size);
	if (!err)
		SF_SYNC_POINT_VAL("commit:seg-zeroed", g, i);
	if (!err && pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		err = errno ? errno : EIO;
	if (!err && SF_BROKEN(SWITCH_UNFLUSHED) && i) {
		/* ready before its size and name are durable: wrong */
		sf_mutex_lock(g->m);
		g->ready = i;
		sf_fetch_add(&g->ready_seq, 1);
		sf_wake(&g->ready_seq, INT_MAX, 0);
		sf_mutex_unlock(g->m);
	}
	SF_SYNC_POINT_VAL("commit:seg-written", g, i);
sync:
	if (!err && fdatasync(fd))
		err = errno;
	close(fd);
	/* also an older file's: its maker may have died before this */
	if (!err)
		err = sync_dir(g);
	if (!err && i > g->last)
		g->last = i;
out:
	sf_mutex_unlock(&g->dir_m);
	return err;
}

/*
 * (P1) (P2) The preparer: keeps cur + 1 ready.  With
 * SF_BROKEN(SWITCH_UNFLUSHED), prepare() announces a segment ready once
 * written, before its fdatasync and the directory's fsync: a commit in
 * it may then be acknowledged before the new file's size and name are
 * durable.
 */
static void *prep_main(void *arg)
{
	struct clog_segs *g = arg;
	uint64_t i;
	int err;

	sf_mutex_lock(g->m);
	for (;;) {
		while (!g->prep_stop && g->ready >= g->want)
			clog_wait_locked(g->m, &g->prep_seq, &g->prep_waiters,
					 NULL);
		if (g->prep_stop)
			break;
		i = g->ready + 1;
		sf_mutex_unlock(g->m);
		err = prepare(g, i);
		if (!err)
			SF_SYNC_POINT_VAL("commit:seg-ready", g, i);
		sf_mutex_lock(g->m);
		if (err)
			g->prep_err = err;
		else if (g->ready < i)
			g->ready = i;
		sf_fetch_add(&g->ready_seq, 1);
		if (sf_load_relaxed(&g->ready_waiters))
			sf_wake(&g->ready_seq, INT_MAX, 0);
		if (err)
			break;
	}
	sf_mutex_unlock(g->m);
	return NULL;
}

/*
 * (P5) Wake the preparer for want, starting it the first time: a log
 * that never reaches the middle of its first segment runs no thread
 * for it.  A thread that cannot start is a preparing that failed (P3).
 * m held.
 */
static void prep_kick_locked(struct clog_segs *g)
{
	int err;

	if (!g->prep_running && !g->prep_stop && !g->prep_err &&
	    !g->read_only) {
		err = pthread_create(&g->prep, NULL, prep_main, g);
		if (err)
			g->prep_err = err;
		g->prep_running = !err;
	}
	sf_fetch_add(&g->prep_seq, 1);
	if (sf_load_relaxed(&g->prep_waiters))
		sf_wake(&g->prep_seq, 1, 0);
}

int clog_seg_switch_locked(struct clog_segs *g)
{
	if (g->dirfd < 0)
		return EIO;	/* a single file never switches */
	if (g->ready <= g->cur) {
		if (g->prep_err)
			return g->prep_err;	/* (P3) */
		g->switch_waits++;
		g->want = g->cur + 1;
		prep_kick_locked(g);
		if (g->prep_err)
			return g->prep_err;	/* (P5) no thread */
		clog_wait_locked(g->m, &g->ready_seq, &g->ready_waiters, NULL);
		return EAGAIN;
	}
	g->cur++;
	g->switches++;
	return 0;
}

void clog_seg_progress_locked(struct clog_segs *g, uint64_t end)
{
	if (g->dirfd < 0 || g->want > g->cur ||
	    end < g->cur * g->size + g->size / 2)
		return;
	g->want = g->cur + 1;
	prep_kick_locked(g);
}

int clog_segs_recycle(struct clog_segs *g, uint64_t below)
{
	char from[32], to[32];
	uint64_t cur;
	int err = 0;

	if (g->dirfd < 0 || g->read_only)
		return 0;
	sf_mutex_lock(g->m);
	cur = g->cur;
	sf_mutex_unlock(g->m);
	if (below > cur)
		below = cur;
	sf_mutex_lock(&g->dir_m);
	while (!err && g->first < below) {
		seg_name(from, sizeof(from), g->first);
		if (g->last < cur + CLOG_SEG_SPARES) {
			/* (C3) reused as the file after the last */
			seg_name(to, sizeof(to), g->last + 1);
			if (renameat(g->dirfd, from, g->dirfd, to))
				err = errno;
			else
				g->last++;
		} else if (unlinkat(g->dirfd, from, 0)) {
			err = errno;
		}
		if (!err)
			err = sync_dir(g);
		if (!err) {
			g->first++;
			sf_mutex_lock(g->m);
			g->recycled++;
			sf_mutex_unlock(g->m);
		}
	}
	sf_mutex_unlock(&g->dir_m);
	return err;
}

int clog_segs_remove_above(struct clog_segs *g, uint64_t i)
{
	char name[32];
	int err = 0;

	if (g->dirfd < 0)
		return 0;
	while (!err && g->last > i) {
		seg_name(name, sizeof(name), g->last);
		err = unlinkat(g->dirfd, name, 0) ? errno : sync_dir(g);
		if (!err)
			g->last--;
	}
	return err;
}

/* The segments present: first..last, without a gap (else EUCLEAN). */
static int list_segments(struct clog_segs *g, struct sf_clog_recovery *rep,
			 uint64_t *count)
{
	DIR *d = fdopendir(dup(g->dirfd));
	uint64_t n = 0, i;
	struct dirent *e;

	if (!d)
		return errno;
	g->first = UINT64_MAX;
	g->last = 0;
	while ((e = readdir(d))) {
		if (!seg_parse(e->d_name, &i))
			continue;
		n++;
		if (i < g->first)
			g->first = i;
		if (i > g->last)
			g->last = i;
	}
	closedir(d);
	*count = n;
	if (!n) {
		g->first = g->last = 0;
		return 0;
	}
	if (g->last - g->first + 1 != n) {
		snprintf(rep->reason, sizeof(rep->reason),
			 "corruption: %" PRIu64 " segment files between %016"
			 PRIx64 " and %016" PRIx64 ": a segment is missing", n,
			 g->first, g->last);
		return EUCLEAN;
	}
	return 0;
}

/* Does segment 0 have its header (written last when it is made)? */
static bool creation_finished(struct clog_segs *g)
{
	unsigned char h[CLOG_HDR_SIZE];
	char name[32];
	ssize_t r;
	int fd;

	seg_name(name, sizeof(name), 0);
	fd = openat(g->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;	/* let the open report it */
	r = pread(fd, h, sizeof(h), 0);
	close(fd);
	if (r != (ssize_t)sizeof(h))
		return r < 0;
	for (size_t k = 0; k < sizeof(h); k++)
		if (h[k])
			return true;
	return false;
}

int clog_segs_open(struct clog_segs *g, const char *path, uint64_t size,
		   uint64_t new_size, bool create, bool read_only,
		   struct sf_clog_recovery *rep)
{
	uint64_t n = 0;
	struct stat st;
	char name[32];
	int err, fd;

	g->read_only = read_only;
	if (create && mkdir(path, 0755) && errno != EEXIST)
		return errno;
	g->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g->dirfd < 0)
		return errno;
	if (flock(g->dirfd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? EBUSY : errno;
		if (err == EBUSY)
			snprintf(rep->reason, sizeof(rep->reason),
				 "the log is open elsewhere (flock)");
		return err;
	}
	err = list_segments(g, rep, &n);
	if (err)
		return err;
	if (n == 1 && g->first == 0 && !creation_finished(g)) {
		/*
		 * Segment 0 without its header: the process that made the
		 * log died while zeroing it (the header is written last,
		 * prepare()), before anything could be written to the log.
		 * A new log, made again.
		 */
		n = 0;
	}
	if (n) {
		/* Its own size: the first file's (each header says it too). */
		seg_name(name, sizeof(name), g->first);
		fd = openat(g->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st)) {
			err = errno;
			if (fd >= 0)
				close(fd);
			return err;
		}
		close(fd);
		g->size = (uint64_t)st.st_size;
		if (size && size != g->size)
			return EINVAL;
		if (g->size < SF_CLOG_MIN_SEGMENT ||
		    g->size > SF_CLOG_MAX_SEGMENT || g->size % 4096) {
			snprintf(rep->reason, sizeof(rep->reason),
				 "not a syncfix log: segment %016" PRIx64
				 " has %" PRIu64 " bytes", g->first, g->size);
			return EBADMSG;
		}
		return 0;
	}
	if (read_only) {
		snprintf(rep->reason, sizeof(rep->reason),
			 "not a syncfix log: no segment (read-only: not "
			 "created)");
		return EBADMSG;
	}
	/* A new log: segment 0, ready before anything is written to it. */
	g->size = new_size;
	g->first = g->last = 0;
	err = prepare(g, 0);
	if (!err)
		rep->created = true;
	return err;
}

void clog_segs_close(struct clog_segs *g)
{
	bool running;

	sf_mutex_lock(g->m);
	g->prep_stop = true;	/* (P5) nor started now */
	running = g->prep_running;
	prep_kick_locked(g);
	sf_mutex_unlock(g->m);
	if (running) {
		pthread_join(g->prep, NULL);
		g->prep_running = false;
	}
	for (unsigned int k = 0; k < CLOG_SEG_FDS; k++)
		if (g->fd[k] >= 0)
			close(g->fd[k]);
	if (g->dirfd >= 0)
		close(g->dirfd);
	sf_mutex_destroy(&g->dir_m);
}

/* ---- what a checkpoint keeps (C1) ----------------------------------- */

/* Room for @v's next entry at its end: drop removed ones, or grow. */
static int room(struct clog_unf_ent **v, size_t *head, size_t *n,
		size_t *cap, bool compact)
{
	struct clog_unf_ent *nv;
	size_t j = 0, c;

	if (*n < *cap)
		return 0;
	for (size_t i = *head; i < *n; i++)
		if (!compact || (*v)[i].id)
			(*v)[j++] = (*v)[i];
	*head = 0;
	*n = j;
	if (*cap && *n <= *cap / 2)
		return 0;
	c = *cap ? 2 * *cap : 64;
	nv = realloc(*v, c * sizeof(*nv));
	if (!nv)
		return *n < *cap ? 0 : ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

void clog_unfinished_add_locked(struct clog_unfinished *u, uint64_t id,
				uint64_t first_lsn)
{
	size_t i;

	if (room(&u->v, &u->head, &u->n, &u->cap, true)) {
		/* No memory: pinned until the log is closed (keeps more). */
		if (!u->pinned || first_lsn < u->pin)
			u->pin = first_lsn;
		u->pinned = true;
		return;
	}
	/* In LSN order; a recovered transaction may come out of order. */
	for (i = u->n; i > u->head && u->v[i - 1].lsn > first_lsn; i--)
		;
	memmove(&u->v[i + 1], &u->v[i], (u->n - i) * sizeof(*u->v));
	u->v[i] = (struct clog_unf_ent){ first_lsn, id };
	u->n++;
	u->live++;
}

void clog_unfinished_del_locked(struct clog_unfinished *u, uint64_t id,
				uint64_t first_lsn)
{
	size_t lo = u->head, hi = u->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (u->v[mid].lsn < first_lsn)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < u->n && u->v[lo].lsn == first_lsn; lo++) {
		if (u->v[lo].id == id) {
			u->v[lo].id = 0;
			u->live--;
			break;
		}
	}
	while (u->head < u->n && !u->v[u->head].id)
		u->head++;
	if (!u->live)
		u->head = u->n = 0;
}

void clog_committed_add_locked(struct clog_unfinished *u, uint64_t lsn,
			       uint64_t first_lsn)
{
	uint64_t b = lsn / u->bucket;
	struct clog_unf_ent *last = u->cb_n > u->cb_head ?
				    &u->cb[u->cb_n - 1] : NULL;

	if (!last || last->id != b) {
		if (!room(&u->cb, &u->cb_head, &u->cb_n, &u->cb_cap, false)) {
			u->cb[u->cb_n++] = (struct clog_unf_ent){ first_lsn, b };
			return;
		}
		/* No memory: kept in the spill entry instead (keeps more). */
		if (!u->spilled || first_lsn < u->spill.lsn)
			u->spill.lsn = first_lsn;
		u->spill.id = b;
		u->spilled = true;
		return;
	}
	if (first_lsn < last->lsn)
		last->lsn = first_lsn;
}

uint64_t clog_unfinished_floor_locked(const struct clog_unfinished *u,
				      uint64_t lsn)
{
	uint64_t f = lsn, b = lsn / u->bucket;

	if (u->live && u->v[u->head].lsn < f)
		f = u->v[u->head].lsn;
	if (u->spilled && u->spill.lsn < f)
		f = u->spill.lsn;
	if (u->pinned && u->pin < f)
		f = u->pin;
	for (size_t i = u->cb_n; i > u->cb_head && u->cb[i - 1].id >= b; i--)
		if (u->cb[i - 1].lsn < f)
			f = u->cb[i - 1].lsn;
	return f;
}

void clog_unfinished_trim_locked(struct clog_unfinished *u, uint64_t lsn)
{
	uint64_t b = lsn / u->bucket;

	while (u->cb_head < u->cb_n && u->cb[u->cb_head].id < b)
		u->cb_head++;
	if (u->cb_head == u->cb_n)
		u->cb_head = u->cb_n = 0;
	if (u->spilled && u->spill.id < b)
		u->spilled = false;
}

void clog_unfinished_free(struct clog_unfinished *u)
{
	free(u->v);
	free(u->cb);
	memset(u, 0, sizeof(*u));
	u->bucket = CLOG_CB_BUCKET;
}
