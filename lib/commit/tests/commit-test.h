/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * commit-test.h - helpers shared by the commit sequencer's tests (after
 * test.h): a scratch directory, the I/O methods to run on, collecting
 * replayed or applied transactions.
 */
#ifndef SF_COMMIT_TEST_H
#define SF_COMMIT_TEST_H

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <syncfix.h>

/* The write methods every test runs on (io_uring ones may fall back). */
static const int io_modes[] = { SF_CLOG_IO_URING_LINKED,
				SF_CLOG_IO_URING_DSYNC, SF_CLOG_IO_PWRITEV };
static const char *const io_mode_name[] = { "auto", "uring-linked",
					     "uring-dsync", "pwritev" };
#define N_IO_MODES (int)(sizeof(io_modes) / sizeof(io_modes[0]))

static char ct_dir[4200];

/* Remove directory @p and the files in it (a segmented log). */
static void ct_rmdir(const char *p)
{
	DIR *d = opendir(p);
	struct dirent *e;
	char f[4900];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(f, sizeof(f), "%s/%s", p, e->d_name);
			unlink(f);
		}
	closedir(d);
	rmdir(p);
}

/* Remove the log at @p: a single file or a directory of segments. */
__attribute__((unused)) static void ct_unlink(const char *p)
{
	if (unlink(p) && (errno == EISDIR || errno == EPERM))
		ct_rmdir(p);
}

static void ct_cleanup(void)
{
	DIR *d = opendir(ct_dir);
	struct dirent *e;
	char p[4600];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", ct_dir, e->d_name);
			if (unlink(p))
				ct_rmdir(p);
		}
	closedir(d);
	rmdir(ct_dir);
}

/*
 * A fresh scratch directory, removed at exit: under $SYNCFIX_TEST_DIR,
 * else /dev/shm when @tmpfs (fast flushes), else the build directory
 * beside the test binary (a real disk).
 */
__attribute__((unused)) static const char *ct_mkdir(int tmpfs)
{
	const char *base = getenv("SYNCFIX_TEST_DIR");
	char self[4096];

	if (!base && tmpfs && access("/dev/shm", W_OK) == 0)
		base = "/dev/shm";
	if (!base) {
		if (self_dir(self, sizeof(self)))
			base = "/tmp";
		else
			base = self;
	}
	snprintf(ct_dir, sizeof(ct_dir), "%s/sfclog.XXXXXX", base);
	if (!mkdtemp(ct_dir)) {
		ok(0, "mkdtemp %s: %s", ct_dir, strerror(errno));
		exit(T_FAIL);
	}
	atexit(ct_cleanup);
	return ct_dir;
}

__attribute__((unused)) static void ct_path(char *buf, size_t len,
					    const char *name)
{
	snprintf(buf, len, "%s/%s", ct_dir, name);
}

/* io_uring usable here?  (Reported once; the tests then run both paths.) */
__attribute__((unused)) static int ct_have_uring(void)
{
	char p[4600];
	struct sf_clog_options o = { .io = SF_CLOG_IO_URING_LINKED };
	sf_clog_t *l;
	int r = 0;

	ct_path(p, sizeof(p), "probe.log");
	if (sf_clog_open(p, &o, &l, NULL) == 0) {
		r = strncmp(sf_clog_io_method(l), "io_uring", 8) == 0;
		diag("write method on this machine: %s", sf_clog_io_method(l));
		sf_clog_close(l);
	}
	ct_unlink(p);
	return r;
}

/* ---- collected transactions (replay callbacks, appliers) ------------- */

#define CT_MAX_TXN 200000

struct ct_seen {
	pthread_mutex_t m;
	size_t n;
	uint64_t id[CT_MAX_TXN];
	uint64_t lsn[CT_MAX_TXN];
	uint32_t nrecs[CT_MAX_TXN];
	uint64_t sum[CT_MAX_TXN];	/* of every payload byte */
	int bad_order;
};

__attribute__((unused)) static void ct_seen_reset(struct ct_seen *s)
{
	pthread_mutex_lock(&s->m);
	s->n = 0;
	s->bad_order = 0;
	pthread_mutex_unlock(&s->m);
}

static void ct_record(struct ct_seen *s, const struct sf_commit_txn *t)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < t->nrecs; i++)
		for (size_t j = 0; j < t->recs[i].len; j++)
			sum += ((const unsigned char *)t->recs[i].data)[j];
	pthread_mutex_lock(&s->m);
	if (s->n && s->lsn[s->n - 1] >= t->commit_lsn)
		s->bad_order++;
	if (s->n < CT_MAX_TXN) {
		s->id[s->n] = t->id;
		s->lsn[s->n] = t->commit_lsn;
		s->nrecs[s->n] = (uint32_t)t->nrecs;
		s->sum[s->n] = sum;
		s->n++;
	}
	pthread_mutex_unlock(&s->m);
}

__attribute__((unused)) static int ct_replay_cb(void *arg,
						const struct sf_commit_txn *t)
{
	ct_record(arg, t);
	return 0;
}

__attribute__((unused)) static void ct_apply_cb(void *arg,
						const struct sf_commit_txn *t)
{
	ct_record(arg, t);
}

/* Index of transaction @id among those seen, or -1. */
__attribute__((unused)) static long ct_find(struct ct_seen *s, uint64_t id)
{
	long r = -1;

	pthread_mutex_lock(&s->m);
	for (size_t i = 0; i < s->n; i++)
		if (s->id[i] == id)
			r = (long)i;
	pthread_mutex_unlock(&s->m);
	return r;
}

__attribute__((unused)) static size_t ct_count(struct ct_seen *s)
{
	size_t n;

	pthread_mutex_lock(&s->m);
	n = s->n;
	pthread_mutex_unlock(&s->m);
	return n;
}

/* Read a whole file into a malloc'd buffer; *@len its size. */
__attribute__((unused)) static unsigned char *ct_slurp(const char *p,
						       size_t *len)
{
	struct stat st;
	unsigned char *b;
	int fd = open(p, O_RDONLY);

	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	b = malloc((size_t)st.st_size + 1);
	if (b && pread(fd, b, (size_t)st.st_size, 0) != st.st_size) {
		free(b);
		b = NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

/*
 * The bytes of log @p from its start: the file itself, or segment 0 of a
 * directory of segments (there an offset is the LSN too).
 */
__attribute__((unused)) static unsigned char *ct_slurp_log(const char *p,
							   size_t *len)
{
	struct stat st;
	char f[4700];

	if (stat(p, &st) || !S_ISDIR(st.st_mode))
		return ct_slurp(p, len);
	snprintf(f, sizeof(f), "%s/%016x.seg", p, 0u);
	return ct_slurp(f, len);
}

__attribute__((unused)) static int ct_spew(const char *p,
					   const unsigned char *b, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int r;

	if (fd < 0)
		return -1;
	r = write(fd, b, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return r;
}

/* Flushes done by @l so far. */
__attribute__((unused)) static uint64_t ct_flushes(sf_clog_t *l)
{
	struct sf_clog_stats st;

	sf_clog_stats(l, &st);
	return st.flushes;
}

#ifdef SF_TEST_HOOKS
/* While ct_fail_flush is set, every flush fails with EIO (dsync_own). */
static int ct_fail_flush;

__attribute__((unused)) static long ct_fail_hook(const char *point,
						 const void *obj, uint64_t val)
{
	(void)obj, (void)val;
	if (__atomic_load_n(&ct_fail_flush, __ATOMIC_ACQUIRE) &&
	    !strcmp(point, "commit-io:flush"))
		return EIO;
	return SF_HOOK_NONE;
}
#endif

#endif /* SF_COMMIT_TEST_H */
