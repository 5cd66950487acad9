// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: power loss under the commit log (VM only, root): ext4 on dm-log-writes over loop devices records every write and flush that committing makes; the recording is replayed up to flush after flush, each a power cut that loses everything not flushed, and the log recovered from each image must hold every commit that had returned before the cut, with its data (in the segmented round: or lie below the checkpoint recovered, which is never older than the last acknowledged one, with no segment it needs lost); a round mixing asynchronous commits and prepares: at every cut the recovered commits are a prefix of the commit order and every prepared transaction is in doubt with its record (or resolved as its marks say), never replayed or dropped before; a build whose commits return without a flush must fail */
/*
 * Usage: commit-powerloss [--child] [-n COMMITS] [-c CUTS]
 *        (600 commits per round, about 40 cuts spread over the flushes)
 *
 * Needs, in the VM: /fs.img (an empty ext4 image, scripts/check-powerloss.sh
 * makes it) and the modules under /mod (crc32c_generic, crc16, mbcache,
 * jbd2, ext4, loop, dm-mod, dm-log-writes), which it loads itself.
 *
 * dm-log-writes (Documentation/admin-guide/device-mapper/log-writes.rst)
 * logs a write only when a flush covers it, just before that flush's own
 * entry.  So replaying every entry before a FLUSH entry gives the disk as
 * that flush leaves it, and a power cut right after the flush, on a disk
 * that loses whatever it was not told to flush, leaves exactly that.  A
 * "mark" entry (a dm message, logged in order with the flushes) is sent
 * after each sf_txn_commit() returned: a commit marked before a FLUSH
 * entry returned before that flush was even issued, so its own flush came
 * earlier, and it must be in the log recovered from that image.
 *
 * Five rounds on a single file (SF_CLOG_SINGLE_FILE: see set_kind()):
 * io_uring linked, io_uring RWF_DSYNC, pwritev, io_uring
 * linked with 3 flushes at once (batches may complete out of order), and
 * pwritev with a mix of transactions (by id: 1 and 5 mod 8 commit
 * asynchronously, mark "a<id>:<commit LSN>"; 2 and 6 mod 8 prepare, mark
 * "p<id>", and are resolved once the thread's next prepared one is: 2
 * commits, mark "c<id>", 6 rolls back, mark "r<id>"; the others commit,
 * mark "c<id>"); four committer threads each.  At each cut of the mixed
 * round: no asynchronous commit is missing below the last commit
 * recovered (a prefix of the commit order, which also holds every commit
 * a returned synchronous one came after); a transaction marked prepared
 * and not resolved is in doubt with its record or (its resolution in
 * flight) committed if it was to commit, never replayed if it was to roll
 * back; one marked rolled back is neither.  Without --child, the same
 * program is run again with a flush that does nothing
 * (SF_TEST_BROKEN=no-flush) and must fail.
 *
 * The segmented round: pwritev on a directory of 64 KiB segments (a switch every ~300 commits,
 * segment files created, recycled and removed, each directory change
 * fsynced) with a checkpoint at the durable LSN after every 25 commits of
 * one thread; four committer threads each.  Marks say "c<id> <commit
 * LSN>" and, after a checkpoint returned, "k<lsn>": at a cut, a commit
 * marked before it must be replayed or lie below the checkpoint the
 * recovery found, and that checkpoint must be at least the last marked
 * one (a recovery that fails, EUCLEAN for a lost segment, fails the cut). 
 */
#define _GNU_SOURCE
#include "test.h"

#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <syncfix.h>

#define THREADS		4
#define PAYLOAD		200
#define WORK		"/tmp/plw"
#define MNT		WORK "/mnt"
#define LOG_MAGIC	0x6a736677736872ULL
#define F_FLUSH		(1u << 0)
#define F_DISCARD	(1u << 2)
#define F_MARK		(1u << 3)

static long ncommits = 600, ncuts = 40;
static int segmented;	/* the round on a directory of segments */
#define SEGMENT		(64u << 10)
#define SEG_BUFFER	(16u << 10)
#define LOG_PATH	(segmented ? MNT "/seglog" : MNT "/log")

/*
 * The kind of log of a round: 64 KiB segments with a 16 KiB buffer (a
 * segment holds at least two), or a single file, asked for: the default
 * directory of 16 MiB segments (two of them ready at a switch) would not
 * fit in the 32 MiB file system, and the single file (zeros ahead,
 * growing) is what the other rounds test.
 */
static void set_kind(struct sf_clog_options *o)
{
	o->segment_size = segmented ? SEGMENT : 0;
	o->buffer_size = segmented ? SEG_BUFFER : 0;
	o->flags = segmented ? 0 : SF_CLOG_SINGLE_FILE;
}

/* ---- setup: modules, loop devices, device mapper ------------------------ */

static const char *const modules[] = {
	"crc32c_generic", "crc16", "mbcache", "jbd2", "ext4", "loop", "dm-mod",
	"dm-log-writes",
};

static int load_modules(void)
{
	char path[64];

	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		int fd, r;

		snprintf(path, sizeof(path), "/mod/%s.ko", modules[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			diag("  %s: %s", path, strerror(errno));
			return -1;
		}
		r = (int)syscall(SYS_finit_module, fd, "", 0);
		close(fd);
		if (r && errno != EEXIST) {
			diag("  finit_module %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Attach @file to a free loop device; its node path goes to @dev. */
static int loop_attach(const char *file, char *dev, size_t len)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), n, lfd, ffd;

	if (ctl < 0)
		return -1;
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (n < 0)
		return -1;
	snprintf(dev, len, "/dev/loop%d", n);
	lfd = open(dev, O_RDWR | O_CLOEXEC);
	ffd = open(file, O_RDWR | O_CLOEXEC);
	if (lfd < 0 || ffd < 0 || ioctl(lfd, LOOP_SET_FD, ffd)) {
		diag("  loop %s on %s: %s", dev, file, strerror(errno));
		return -1;
	}
	close(ffd);
	close(lfd);
	return 0;
}

static void loop_detach(const char *dev)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		ioctl(fd, LOOP_CLR_FD, 0);
		close(fd);
	}
}

/* One device-mapper ioctl on the device "plw"; @extra after the header. */
static int dm(unsigned long cmd, const void *extra, size_t len,
	      struct dm_ioctl *out)
{
	union {
		struct dm_ioctl io;
		char buf[16384];
	} u;
	int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	memset(&u, 0, sizeof(u));
	u.io.version[0] = DM_VERSION_MAJOR;
	u.io.data_size = sizeof(u);
	u.io.data_start = sizeof(struct dm_ioctl);
	strcpy(u.io.name, "plw");
	if (extra)
		memcpy(u.buf + sizeof(struct dm_ioctl), extra, len);
	if (cmd == DM_TABLE_LOAD)
		u.io.target_count = 1;
	r = ioctl(fd, cmd, &u.io);
	if (r)
		diag("  dm ioctl %#lx: %s", cmd, strerror(errno));
	else if (out)
		*out = u.io;
	close(fd);
	return r;
}

/* log-writes of @data onto @logdev; the node of the new device in @dev. */
static int dm_create(const char *data, const char *logdev, uint64_t sectors,
		     char *dev, size_t len)
{
	char spec[sizeof(struct dm_target_spec) + 128];
	struct dm_target_spec *t = (void *)spec;
	struct dm_ioctl io;

	memset(spec, 0, sizeof(spec));
	t->sector_start = 0;
	t->length = sectors;
	strcpy(t->target_type, "log-writes");
	snprintf(spec + sizeof(*t), sizeof(spec) - sizeof(*t), "%s %s", data,
		 logdev);
	if (dm(DM_DEV_CREATE, NULL, 0, NULL) ||
	    dm(DM_TABLE_LOAD, spec, sizeof(spec), NULL) ||
	    dm(DM_DEV_SUSPEND, NULL, 0, &io))	/* no flag: resume */
		return -1;
	snprintf(dev, len, WORK "/dm");
	unlink(dev);
	return mknod(dev, S_IFBLK | 0600,
		     makedev(major(io.dev), minor(io.dev)));
}

/*
 * A mark entry in the recording (after everything logged so far): @kind
 * (c, a, p, r: see the top) of transaction @id, and an LSN.
 */
static int dm_mark(char kind, uint64_t id, uint64_t lsn)
{
	char msg[sizeof(struct dm_target_msg) + 64];
	struct dm_target_msg *m = (void *)msg;

	memset(msg, 0, sizeof(msg));
	snprintf(m->message, sizeof(msg) - sizeof(*m), "mark %c%llu:%llu",
		 kind, (unsigned long long)id, (unsigned long long)lsn);
	return dm(DM_TARGET_MSG, msg, sizeof(msg), NULL);
}

static int copy_file(const char *from, const char *to)
{
	static char buf[1 << 16];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n = 0;

	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			n = -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return in < 0 || out < 0 || n < 0 ? -1 : 0;
}

/* ---- the workload -------------------------------------------------------- */

struct run {
	sf_clog_t *log;
	long per_thread;
	long started;		/* atomic: thread numbers */
	uint64_t *acked;	/* commit ids in the order their marks went */
	long nacked;		/* atomic */
	int failed;		/* atomic */
	int mixed;		/* async commits and prepares too */
};

/* Kinds of the mixed round, by id (see the top). */
#define IS_ASYNC(id)		((id) % 4 == 1)
#define IS_PREPARED(id)		((id) % 4 == 2)
#define TO_COMMIT(id)		((id) % 8 == 2)

static void payload_of(uint64_t id, unsigned char *p)
{
	for (int i = 0; i < PAYLOAD; i++)
		p[i] = (unsigned char)(id * 131 + (uint64_t)i * 7);
}

/* Resolve prepared @t (@id) as its id says, and mark it.  0 or -1. */
static int resolve(sf_txn_t *t, uint64_t id)
{
	if (TO_COMMIT(id))
		return sf_txn_commit(t, NULL) || dm_mark('c', id, 0) ? -1 : 0;
	return sf_txn_rollback(t) || dm_mark('r', id, 0) ? -1 : 0;
}

/*
 * The mixed round's end of @t (@id), marked; a prepared one waits in
 * *@pending until the thread's next one is prepared.  0 or -1.
 */
static int end_mixed(sf_txn_t *t, uint64_t id, sf_txn_t **pending,
		     uint64_t *pending_id)
{
	uint64_t lsn = 0, prev_id = *pending_id;
	sf_txn_t *prev = *pending;

	if (IS_ASYNC(id))
		return sf_txn_commit_async(t, &lsn) || dm_mark('a', id, lsn) ?
		       -1 : 0;
	if (!IS_PREPARED(id))
		return sf_txn_commit(t, NULL) || dm_mark('c', id, 0) ? -1 : 0;
	if (sf_txn_prepare(t, &id, sizeof(id)) || dm_mark('p', id, 0))
		return -1;
	*pending = t;
	*pending_id = id;
	return prev ? resolve(prev, prev_id) : 0;
}

static void *committer(void *arg)
{
	struct run *r = arg;
	unsigned char p[PAYLOAD];
	sf_txn_t *pending = NULL;
	uint64_t pending_id = 0;
	long me = __atomic_fetch_add(&r->started, 1, __ATOMIC_SEQ_CST);

	for (long i = 0; i < r->per_thread; i++) {
		sf_txn_t *t;
		uint64_t id, lsn;

		if (sf_txn_begin(r->log, &t))
			goto fail;
		id = sf_txn_id(t);
		payload_of(id, p);
		if (sf_txn_add(t, p, sizeof(p)))
			goto fail;
		if (r->mixed) {
			if (end_mixed(t, id, &pending, &pending_id))
				goto fail;
		} else if (sf_txn_commit(t, &lsn) || dm_mark('c', id, lsn)) {
			/* returned: durable by contract; the mark after */
			goto fail;
		}
		if (segmented && me == 0 && i % 25 == 24) {
			lsn = sf_clog_durable_lsn(r->log);
			if (sf_clog_checkpoint(r->log, lsn) ||
			    dm_mark('k', lsn, 0))
				goto fail;
		}
		r->acked[__atomic_fetch_add(&r->nacked, 1, __ATOMIC_SEQ_CST)] =
			id;
	}
	if (pending && resolve(pending, pending_id))
		goto fail;
	return NULL;
fail:
	__atomic_store_n(&r->failed, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* ---- replaying the recording ------------------------------------------- */

struct entry {
	uint64_t sector, nr_sectors, flags, data_len;
};

struct check {
	uint64_t *seen;		/* recovered commit ids */
	long nseen, cap;
	int bad_data;
	uint64_t max_lsn;	/* of the last commit recovered */
	uint64_t *doubt;	/* ids in doubt */
	long ndoubt;
};

/* The marks read so far, each kind in its order (see the top). */
struct marks {
	uint64_t *acked;	/* c */
	uint64_t *acked_lsn;	/* c: its commit LSN (0 in the mixed round) */
	uint64_t ckpt;		/* k: the last checkpoint that returned */
	uint64_t *async_id, *async_lsn;	/* a */
	uint64_t *prep;		/* p */
	uint64_t *rolled;	/* r */
	long nacked, nasync, nprep, nrolled;
};

static int replay_cb(void *arg, const struct sf_commit_txn *txn)
{
	struct check *c = arg;
	unsigned char want[PAYLOAD];

	payload_of(txn->id, want);
	if (txn->nrecs != 1 || txn->recs[0].len != PAYLOAD ||
	    memcmp(txn->recs[0].data, want, PAYLOAD))
		c->bad_data++;
	if (c->nseen < c->cap)
		c->seen[c->nseen++] = txn->id;
	if (txn->commit_lsn > c->max_lsn)
		c->max_lsn = txn->commit_lsn;
	return 0;
}

static int doubt_cb(void *arg, const struct sf_prepared_txn *p)
{
	struct check *c = arg;
	unsigned char want[PAYLOAD];

	payload_of(p->id, want);
	if (p->nrecs != 1 || p->recs[0].len != PAYLOAD ||
	    memcmp(p->recs[0].data, want, PAYLOAD) ||
	    p->tag_len != sizeof(p->id) || memcmp(p->tag, &p->id, 8))
		c->bad_data++;
	if (c->ndoubt < c->cap)
		c->doubt[c->ndoubt++] = p->id;
	return 0;
}

static int has(const uint64_t *v, long n, uint64_t id)
{
	for (long i = 0; i < n; i++)
		if (v[i] == id)
			return 1;
	return 0;
}

/*
 * The mixed round's checks at a cut (see the top) of what @c recovered
 * against the marks @m.  Return: how many failed.
 */
static long check_mixed(const struct check *c, const struct marks *m)
{
	long bad = 0;

	for (long i = 0; i < m->nasync; i++)
		bad += m->async_lsn[i] < c->max_lsn &&
		       !has(c->seen, c->nseen, m->async_id[i]);
	for (long i = 0; i < m->nprep; i++) {
		uint64_t id = m->prep[i];
		int rec = has(c->seen, c->nseen, id);
		int dbt = has(c->doubt, c->ndoubt, id);

		if (has(m->rolled, m->nrolled, id))
			bad += rec || dbt;
		else if (has(m->acked, m->nacked, id))
			bad += !rec || dbt;
		else if (TO_COMMIT(id))
			bad += !rec && !dbt;	/* dropped */
		else
			bad += rec;	/* replayed, never to commit */
	}
	return bad;
}

/*
 * The image in @img as a power cut leaves it: mount (ext4 replays its
 * journal), recover the log, check that each commit marked in @m is there
 * with its data, and (*@bad_mixed) the mixed round's checks.  Return: the
 * number missing, or -1 on a setup error.
 */
static long check_cut(const char *img, const struct marks *m,
		      long *recovered, int *bad_data, long *bad_mixed)
{
	char dev[64];
	struct check c = { 0 };
	struct sf_clog_options o = { 0 };
	struct sf_clog_recovery rep = { 0 };
	sf_clog_t *log;
	long missing = 0;
	int e;

	if (copy_file(img, WORK "/cut.img") || loop_attach(WORK "/cut.img",
							  dev, sizeof(dev)))
		return -1;
	if (mount(dev, MNT, "ext4", 0, NULL)) {
		diag("  mount of the cut image: %s", strerror(errno));
		loop_detach(dev);
		return -1;
	}
	c.cap = ncommits + 16;
	c.seen = calloc((size_t)c.cap, sizeof(*c.seen));
	c.doubt = calloc((size_t)c.cap, sizeof(*c.doubt));
	o.replay = replay_cb;
	o.replay_arg = &c;
	set_kind(&o);
	/* Opens (creates, if the file did not survive) and recovers. */
	e = sf_clog_open(LOG_PATH, &o, &log, &rep);
	if (e) {
		diag("  recovery of the cut image: %s (%s)", strerror(e),
		     rep.reason);
		missing = -1;
	} else {
		sf_clog_in_doubt(log, doubt_cb, &c);
		sf_clog_close(log);
	}
	/* replayed, or below the checkpoint found (never an older one) */
	for (long i = 0; missing >= 0 && i < m->nacked; i++)
		missing += !has(c.seen, c.nseen, m->acked[i]) &&
			   m->acked_lsn[i] >= rep.checkpoint_lsn;
	if (missing >= 0 && rep.checkpoint_lsn < m->ckpt) {
		diag("  checkpoint %llu returned before the cut, recovery "
		     "found %llu", (unsigned long long)m->ckpt,
		     (unsigned long long)rep.checkpoint_lsn);
		missing++;
	}
	*recovered = c.nseen;
	*bad_data = c.bad_data;
	*bad_mixed = check_mixed(&c, m);
	free(c.seen);
	free(c.doubt);
	umount(MNT);
	loop_detach(dev);
	return missing;
}

/* Bytes an entry takes in the recording: its sector, then its data. */
static uint64_t entry_bytes(const struct entry *e, uint32_t ssz)
{
	if (e->flags & (F_MARK | F_DISCARD))
		return ssz;
	return ssz + e->nr_sectors * ssz;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

/* A mark read from the recording (each kind at most ncommits). */
static void add_mark(struct marks *m, char kind, uint64_t id, uint64_t lsn)
{
	if (kind == 'c' && m->nacked < ncommits) {
		m->acked_lsn[m->nacked] = lsn;
		m->acked[m->nacked++] = id;
	}
	if (kind == 'k')
		m->ckpt = id;
	if (kind == 'a' && m->nasync < ncommits) {
		m->async_id[m->nasync] = id;
		m->async_lsn[m->nasync++] = lsn;
	}
	if (kind == 'p' && m->nprep < ncommits)
		m->prep[m->nprep++] = id;
	if (kind == 'r' && m->nrolled < ncommits)
		m->rolled[m->nrolled++] = id;
}

/*
 * Replay the recording in @logfile onto a copy of the empty image, cut at
 * @ncuts FLUSH entries spread over it and at its end.  Return: the number
 * of cuts where a commit that had returned was lost, or -1.
 */
static int replay_and_check(const char *what, const char *logfile)
{
	static unsigned char sec[4096], data[1 << 20];
	uint64_t magic, nr, pos;
	struct marks m = { 0 };
	long flushes = 0, cuts = 0, lost_cuts = 0, every, k = 0;
	uint32_t ssz;
	int lfd = open(logfile, O_RDONLY | O_CLOEXEC), img;

	if (lfd < 0 || copy_file("/fs.img", WORK "/replay.img"))
		return -1;
	m.acked = calloc((size_t)ncommits, sizeof(uint64_t));
	m.acked_lsn = calloc((size_t)ncommits, sizeof(uint64_t));
	m.async_id = calloc((size_t)ncommits, sizeof(uint64_t));
	m.async_lsn = calloc((size_t)ncommits, sizeof(uint64_t));
	m.prep = calloc((size_t)ncommits, sizeof(uint64_t));
	m.rolled = calloc((size_t)ncommits, sizeof(uint64_t));
	img = open(WORK "/replay.img", O_RDWR | O_CLOEXEC);
	if (img < 0 || read_at(lfd, sec, 512, 0))
		return -1;
	memcpy(&magic, sec, 8);
	memcpy(&nr, sec + 16, 8);
	memcpy(&ssz, sec + 24, 4);
	if (magic != LOG_MAGIC || ssz < 512 || ssz > sizeof(sec)) {
		diag("  %s: not a log-writes recording", what);
		return -1;
	}
	/* First pass: how many flushes, to spread the cuts. */
	pos = ssz;
	for (uint64_t i = 0; i < nr; i++) {
		struct entry e;

		if (read_at(lfd, &e, sizeof(e), pos))
			return -1;
		flushes += !!(e.flags & F_FLUSH);
		pos += entry_bytes(&e, ssz);
	}
	every = flushes / ncuts > 0 ? flushes / ncuts : 1;
	pos = ssz;
	for (uint64_t i = 0; i <= nr; i++) {
		struct entry e = { .flags = F_FLUSH };
		int cut;

		if (i < nr && read_at(lfd, sec, ssz, pos))
			return -1;
		if (i < nr)
			memcpy(&e, sec, sizeof(e));
		/* a cut just before this flush, and one after the last entry */
		cut = i == nr || ((e.flags & F_FLUSH) && ++k % every == 0);
		if (cut) {
			long rec, missing, mixed;
			int bad;

			fsync(img);
			missing = check_cut(WORK "/replay.img", &m, &rec, &bad,
					    &mixed);
			if (missing < 0)
				return -1;
			cuts++;
			if (missing || bad || mixed) {
				lost_cuts++;
				diag("  %s: cut at entry %llu of %llu: %ld of "
				     "%ld returned commits lost, %d with wrong "
				     "data (%ld recovered), %ld async or "
				     "prepared wrong", what,
				     (unsigned long long)i,
				     (unsigned long long)nr, missing, m.nacked,
				     bad, rec, mixed);
			}
		}
		if (i == nr)
			break;
		if (e.flags & F_MARK) {
			unsigned long long id, lsn;
			char kind;

			if (sscanf((char *)sec + sizeof(e), "%c%llu:%llu",
				   &kind, &id, &lsn) == 3)
				add_mark(&m, kind, id, lsn);
		} else if (e.nr_sectors) {
			uint64_t left = e.nr_sectors * ssz, off = e.sector * ssz,
				 src = pos + ssz;

			while (left) {
				size_t n = left < sizeof(data) ? left :
					   sizeof(data);

				if (e.flags & F_DISCARD)
					memset(data, 0, n);
				else if (read_at(lfd, data, n, src))
					return -1;
				if (pwrite(img, data, n, (off_t)off) !=
				    (ssize_t)n)
					return -1;
				src += n;
				off += n;
				left -= n;
			}
		}
		pos += entry_bytes(&e, ssz);
	}
	diag("  %s: %llu entries, %ld flushes, %ld marks, %ld cuts checked",
	     what, (unsigned long long)nr, flushes, m.nacked, cuts);
	close(img);
	close(lfd);
	free(m.acked);
	free(m.async_id);
	free(m.async_lsn);
	free(m.prep);
	free(m.rolled);
	free(m.acked_lsn);
	return (int)lost_cuts;
}

/* ---- one round ------------------------------------------------------------- */

static void round_io(int io, unsigned int flushes, int mixed,
		     const char *what)
{
	char data_dev[64], log_dev[64], dev[64];
	struct run r = { 0 };
	struct stat st;
	pthread_t th[THREADS];
	struct sf_clog_options o = { 0 };
	int e, lost;

	phase(what);
	unlink(WORK "/log.rec");
	if (copy_file("/fs.img", WORK "/data.img") ||
	    stat(WORK "/data.img", &st) ||
	    (e = open(WORK "/log.rec", O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    ftruncate(e, 256 << 20) || close(e) ||
	    loop_attach(WORK "/data.img", data_dev, sizeof(data_dev)) ||
	    loop_attach(WORK "/log.rec", log_dev, sizeof(log_dev)) ||
	    dm_create(data_dev, log_dev, (uint64_t)st.st_size / 512, dev,
		      sizeof(dev)) ||
	    mount(dev, MNT, "ext4", 0, NULL)) {
		ok(0, "%s: ext4 on log-writes over loop devices (%s)", what,
		   strerror(errno));
		exit(T_FAIL);
	}
	o.io = io;
	o.max_flushes = flushes;
	set_kind(&o);
	e = sf_clog_open(LOG_PATH, &o, &r.log, NULL);
	if (!ok(!e, "%s: log open on ext4 on log-writes (%s)", what,
		e ? strerror(e) : sf_clog_io_method(r.log)))
		exit(T_FAIL);
	r.per_thread = ncommits / THREADS;
	r.mixed = mixed;
	r.acked = calloc((size_t)ncommits, sizeof(uint64_t));
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, committer, &r);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	ok(!r.failed && r.nacked == r.per_thread * THREADS,
	   "%s: %ld commits returned, each marked in the recording", what,
	   r.nacked);
	sf_clog_close(r.log);
	e = umount(MNT);
	e |= dm(DM_DEV_REMOVE, NULL, 0, NULL);
	loop_detach(data_dev);
	loop_detach(log_dev);
	if (!ok(!e, "%s: unmounted, recording closed", what))
		exit(T_FAIL);
	lost = replay_and_check(what, WORK "/log.rec");
	ok(lost == 0, "%s: at every cut, every commit that had returned "
	   "before it is recovered with its data%s (%d cuts lost one)", what,
	   mixed ? ", no async commit missing below a recovered commit, "
	   "every prepared one in doubt or resolved as marked" : "", lost);
	free(r.acked);
}

int main(int argc, char **argv)
{
	int child = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--child"))
			child = 1;
		else if (!strcmp(argv[i], "-n") && i + 1 < argc)
			ncommits = atol(argv[++i]);
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			ncuts = atol(argv[++i]);
	}
	watchdog_start(240);
	if (geteuid() != 0 || access("/fs.img", R_OK)) {
		printf("1..0 # SKIP needs root and /fs.img (run in the VM by "
		       "scripts/check-powerloss.sh)\n");
		return 0;
	}
	mkdir(WORK, 0700);
	mkdir(MNT, 0700);
	if (!ok(!load_modules(), "modules loaded (loop, dm-log-writes, ext4)"))
		return done_testing();
	round_io(SF_CLOG_IO_URING_LINKED, 1, 0, "io_uring linked");
	round_io(SF_CLOG_IO_URING_DSYNC, 1, 0, "io_uring RWF_DSYNC");
	round_io(SF_CLOG_IO_PWRITEV, 1, 0, "pwritev");
	/* batches written out of order, made visible in order */
	round_io(SF_CLOG_IO_URING_LINKED, 3, 0,
		 "io_uring linked, 3 flushes at once");
	round_io(SF_CLOG_IO_PWRITEV, 1, 1, "pwritev, async and prepared");
	/* segment switches, recycling, checkpoints */
	segmented = 1;
	round_io(SF_CLOG_IO_PWRITEV, 1, 0, "segments of 64 KiB, checkpoints");
	segmented = 0;
	if (!child) {
		char helper[4200], n[24];
		char *args[] = { helper, "--child", "-n", n, NULL };

		phase("commits that return without a flush");
		beside_self("commit-powerloss", helper, sizeof(helper));
		snprintf(n, sizeof(n), "%ld", ncommits);
		ok(run_tap_child(args, "no-flush", NULL) == CHILD_FAILED,
		   "with SF_TEST_BROKEN=no-flush commits that had returned are "
		   "lost at a cut: the test fails");
	}
	return done_testing();
}
