// SPDX-License-Identifier: GPL-2.0
/*
 * clogdump - print what a syncfix commit log holds, without changing it.
 *
 * Usage: clogdump [-r] [-q] [-a] LOG
 *   -r  also print each replayed record (LSN, length, first bytes)
 *   -q  only the summary
 *   -a  every transaction the log still holds, also those below its
 *       last checkpoint (start_lsn 1); where segments were recycled and
 *       the log cannot say that much (ERANGE), from the last checkpoint
 *
 * The log is opened with SF_CLOG_READ_ONLY | SF_CLOG_SALVAGE: O_RDONLY
 * under a shared flock, so the file is byte-identical afterwards and a
 * writer holding it makes this fail with EBUSY.  It prints each committed
 * transaction in commit order (id, commit LSN, records, bytes), each
 * prepared one still in doubt (id, prepare LSN, records, bytes, tag),
 * every checkpoint record still in the log, in record order (its LSN, the
 * lsn it declares, its scan_from and id limit), then the recovery report:
 * format version, the segment files of a directory log (index, LSN
 * range, size), how many checkpoint records, the last checkpoint and
 * where replay started, records, transactions replayed, rolled back,
 * unfinished and in doubt, the valid end, the damage found -- a torn tail, or
 * corruption with the offset of the valid record that proves it -- and
 * what a writable open would cut.  Exit status: 0 a clean log, 1 a torn
 * tail, 2 corruption, 3 the file could not be read as a log.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <syncfix.h>

#include "commit-int.h"	/* the format: header, records, checkpoints */

static int show_records, quiet;

/* Up to 16 bytes of @d (@len), in hexadecimal. */
static void hex16(const unsigned char *d, size_t len)
{
	for (size_t j = 0; j < len && j < 16; j++)
		printf(" %02x", d[j]);
	printf("%s\n", len > 16 ? " ..." : "");
}

/* Bytes of the payloads of @recs (@n). */
static size_t rec_bytes(const struct sf_commit_rec *recs, size_t n)
{
	size_t bytes = 0;

	for (size_t i = 0; i < n; i++)
		bytes += recs[i].len;
	return bytes;
}

/* -r: each record of @recs (@n). */
static void show_recs(const struct sf_commit_rec *recs, size_t n)
{
	for (size_t i = 0; show_records && i < n; i++) {
		printf("  record at %" PRIu64 ", %zu bytes:", recs[i].lsn,
		       recs[i].len);
		hex16(recs[i].data, recs[i].len);
	}
}

/* A prepared transaction in doubt (its tag printed as hexadecimal). */
static int dump_prepared(void *arg, const struct sf_prepared_txn *t)
{
	(void)arg;
	if (quiet)
		return 0;
	printf("txn %" PRIu64 " prepared at %" PRIu64 ", in doubt: %zu "
	       "records, %zu bytes, tag of %zu bytes:", t->id, t->prepare_lsn,
	       t->nrecs, rec_bytes(t->recs, t->nrecs), t->tag_len);
	hex16(t->tag, t->tag_len);
	show_recs(t->recs, t->nrecs);
	return 0;
}

static int dump_txn(void *arg, const struct sf_commit_txn *t)
{
	(void)arg;
	if (quiet)
		return 0;
	printf("txn %" PRIu64 " committed at %" PRIu64 ": %zu records, %zu "
	       "bytes\n", t->id, t->commit_lsn, t->nrecs,
	       rec_bytes(t->recs, t->nrecs));
	show_recs(t->recs, t->nrecs);
	return 0;
}

/* Is @name a segment file ("%016x.seg")?  Its index in *@idx. */
static int seg_index(const char *name, unsigned long long *idx)
{
	char tail[8];

	return sscanf(name, "%16llx%7s", idx, tail) == 2 &&
	       !strcmp(tail, ".seg") && strlen(name) == 20;
}

/* The file of segment @i of directory log @path (@seg 0: @path itself). */
static void seg_file(char *buf, size_t len, const char *path, uint64_t seg,
		     uint64_t i)
{
	if (seg)
		snprintf(buf, len, "%s/%016" PRIx64 ".seg", path, i);
	else
		snprintf(buf, len, "%s", path);
}

/* The segment files of directory log @path, in index order. */
static void dump_segments(const char *path)
{
	struct dirent **e;
	int n = scandir(path, &e, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		char f[4096];
		struct stat st;
		unsigned long long idx;

		if (seg_index(e[i]->d_name, &idx)) {
			snprintf(f, sizeof(f), "%s/%s", path, e[i]->d_name);
			if (!stat(f, &st))
				printf("segment %s: LSN %llu to %llu\n",
				       e[i]->d_name,
				       idx * (unsigned long long)st.st_size,
				       (idx + 1) *
				       (unsigned long long)st.st_size);
		}
		free(e[i]);
	}
	if (n >= 0)
		free(e);
}

/*
 * The bytes [@off, @off + @len) of the log at @path (a file, or the
 * segment of @off in a directory of @seg-byte segments) into @buf.
 * Return: 0, or -1 when they cannot be read whole.
 */
static int read_at(const char *path, uint64_t seg, uint64_t off,
		   unsigned char *buf, size_t len)
{
	static int fd = -1;
	static uint64_t fd_seg = UINT64_MAX;
	uint64_t i = seg ? off / seg : 0;
	char name[4200];

	if (fd < 0 || fd_seg != i) {
		if (fd >= 0)
			close(fd);
		seg_file(name, sizeof(name), path, seg, i);
		fd = open(name, O_RDONLY | O_CLOEXEC);
		fd_seg = i;
		if (fd < 0)
			return -1;
	}
	return pread(fd, buf, len, (off_t)(off - i * seg)) == (ssize_t)len ?
	       0 : -1;
}

/* The size S in the header of the first segment file of @path, or 0. */
static uint64_t seg_size(const char *path)
{
	unsigned long long idx, first = ULLONG_MAX;
	unsigned char h[CLOG_HDR_SIZE];
	struct dirent **e;
	char name[4200];
	int n = scandir(path, &e, NULL, alphasort), fd;
	ssize_t r;

	for (int i = 0; i < n; i++) {
		if (seg_index(e[i]->d_name, &idx) && idx < first)
			first = idx;
		free(e[i]);
	}
	if (n >= 0)
		free(e);
	if (first == ULLONG_MAX)
		return 0;
	seg_file(name, sizeof(name), path, 1, first);
	fd = open(name, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -1 : pread(fd, h, sizeof(h), 0);
	if (fd >= 0)
		close(fd);
	return r == (ssize_t)sizeof(h) ? clog_get32(h + 24) : 0;
}

/*
 * Every checkpoint record of the valid prefix [@rep->log_start,
 * @rep->valid_end), in record order.  The open that filled @rep verified
 * every record there (and holds the log's flock while this reads it), so
 * the walk only follows the lengths: a record never spans two segments,
 * and the end of a segment, or the zeros after its last record, lead to
 * the first record of the next (commit-int.h).  Return: how many, or -1 if the walk lost its
 * way.
 */
static long dump_checkpoints(const char *path,
			     const struct sf_clog_recovery *rep)
{
	unsigned char h[CLOG_REC_HDR] = { 0 }, p[CLOG_CKPT_LEN];
	uint64_t seg = rep->segments ? seg_size(path) : 0;
	uint64_t off = rep->log_start;
	long n = 0;

	if (rep->segments && !seg)
		return -1;
	while (off < rep->valid_end) {
		uint64_t left = seg ? seg - off % seg : UINT64_MAX;

		if (left == seg) {
			/* the last record ended the segment: the header */
			off += CLOG_HDR_SIZE;
			continue;
		}
		if (left >= CLOG_REC_HDR && read_at(path, seg, off, h, sizeof(h)))
			return -1;
		if (left < CLOG_REC_HDR || clog_get64(h + 16) != off) {
			if (!seg)
				return -1;
			/* the zeros at the end of a segment */
			off = clog_seg_first(seg, off / seg + 1);
			continue;
		}
		if (clog_get32(h + 24) == CLOG_REC_CHECKPOINT) {
			if (read_at(path, seg, off + CLOG_REC_HDR, p, sizeof(p)))
				return -1;
			n++;
			if (!quiet)
				printf("checkpoint record at LSN %" PRIu64
				       ": lsn %" PRIu64 ", scan_from %" PRIu64
				       ", id limit %" PRIu64 "\n", off,
				       clog_get64(p), clog_get64(p + 8),
				       clog_get64(p + 16));
		}
		off += CLOG_REC_HDR + clog_get32(h + 4);
	}
	return n;
}

int main(int argc, char **argv)
{
	struct sf_clog_options o = { .flags = SF_CLOG_READ_ONLY |
					      SF_CLOG_SALVAGE,
				     .replay = dump_txn };
	struct sf_clog_recovery rep;
	sf_clog_t *log;
	long nckpt;
	int c, err;

	while ((c = getopt(argc, argv, "rqah")) != -1) {
		switch (c) {
		case 'a':
			o.start_lsn = 1;
			break;
		case 'r':
			show_records = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			fprintf(stderr, "usage: clogdump [-r] [-q] [-a] LOG\n");
			return c == 'h' ? 0 : 3;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: clogdump [-r] [-q] [-a] LOG\n");
		return 3;
	}
	err = sf_clog_open(argv[optind], &o, &log, &rep);
	if (err == ERANGE && o.start_lsn) {
		printf("-a: %s; from the last checkpoint instead\n",
		       rep.reason);
		o.start_lsn = 0;
		err = sf_clog_open(argv[optind], &o, &log, &rep);
	}
	if (err) {
		fprintf(stderr, "clogdump: %s: %s%s%s\n", argv[optind],
			strerror(err), rep.reason[0] ? ": " : "", rep.reason);
		return 3;
	}
	sf_clog_in_doubt(log, dump_prepared, NULL);
	nckpt = dump_checkpoints(argv[optind], &rep);
	sf_clog_close(log);
	printf("format version %u; %" PRIu64 " valid records up to offset %"
	       PRIu64 "\n", rep.version, rep.records, rep.valid_end);
	if (rep.segments) {
		printf("%u segments; the log starts at LSN %" PRIu64 "\n",
		       rep.segments, rep.log_start);
		dump_segments(argv[optind]);
	}
	if (nckpt < 0)
		printf("checkpoint records: the walk through the records lost "
		       "its way (a bug: please report it)\n");
	else
		printf("%ld checkpoint records in the log\n", nckpt);
	if (rep.checkpoint_lsn)
		printf("last checkpoint at LSN %" PRIu64 "; commits replayed "
		       "from LSN %" PRIu64 "\n", rep.checkpoint_lsn,
		       rep.replay_from);
	else
		printf("no checkpoint; commits replayed from LSN %" PRIu64
		       "\n", rep.replay_from);
	printf("transactions: %" PRIu64 " committed, %" PRIu64 " rolled back, "
	       "%" PRIu64 " unfinished, %" PRIu64 " prepared and in doubt\n",
	       rep.replayed, rep.rolled_back, rep.unfinished, rep.prepared);
	if (rep.valid_after) {
		printf("CORRUPTION at offset %" PRIu64 ": valid records follow "
		       "from %" PRIu64 "; a writable open fails (EUCLEAN), a "
		       "salvage would cut %" PRIu64 " bytes\n  %s\n",
		       rep.valid_end, rep.valid_after, rep.cut_bytes,
		       rep.reason);
		return 2;
	}
	if (rep.cut_bytes) {
		printf("torn tail at offset %" PRIu64 ": a writable open cuts %"
		       PRIu64 " bytes\n  %s\n", rep.valid_end, rep.cut_bytes,
		       rep.reason);
		return 1;
	}
	printf("clean\n");
	return 0;
}
