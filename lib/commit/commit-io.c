// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * commit-io.c - durable writes of the commit log, and CRC32C.
 *
 * Three methods, one interface (clog_io_write_durable):
 *
 *   io_uring, linked    a write SQE with IOSQE_IO_LINK followed by an
 *                       fsync SQE with IORING_FSYNC_DATASYNC, one
 *                       io_uring_submit_and_wait(2): one system call
 *   io_uring, dsync     one write SQE with RWF_DSYNC
 *   pwritev             pwritev() then fdatasync(): two system calls;
 *                       the default, and used when io_uring cannot be
 *                       set up (old kernel, seccomp) or SYNCFIX_NO_URING=1
 *
 * The default (SF_CLOG_IO_AUTO) is pwritev: measured side by side with
 * the others (lib/commit/bench/run-commit-peer.sh), idle and with every
 * CPU busy, it was ahead or even at every number of committers, and far
 * ahead under load, where io_uring hands the fdatasync (and a RWF_DSYNC
 * write) to a kernel worker thread that must be woken and must wake the
 * leader in turn: two more context switches per flush, each waiting for
 * a CPU.  pwritev flushes in the leader itself.  The io_uring methods
 * stay for those who ask (a machine with CPUs to spare for the worker).
 * Documentation/commit.rst has the figures.
 *
 * The caller keeps zeros written ahead of the log end (commit.c, Z2),
 * so these writes normally overwrite allocated blocks and the flush has
 * no size or block allocation to journal.  The zeros themselves are made
 * durable by the next flush of the whole file (linked, pwritev); with
 * RWF_DSYNC, by the size update that flush commits, and blocks never
 * written read as zeros, so recovery finds a clean end either way.
 *
 * Errors.  A flush that fails is never retried: after a failed fsync the
 * kernel may have dropped the dirty pages and marked them clean, so a
 * second fsync could "succeed" without the data being on disk.  The
 * caller fails the commits that depended on the write and the log.  A
 * short write (the kernel wrote part of the buffer) is continued from
 * where it stopped; the flush follows the last part, so no byte is
 * reported durable that was not flushed after it was written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <liburing.h>

#include "commit-int.h"
#include "internal.h"


/* ---- CRC32C (Castagnoli) ------------------------------------------- */

static uint32_t crc_table[256];

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	for (; len; p++, len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p);
	return (uint32_t)c;
}
#endif

static uint32_t crc32c_sw(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

static uint32_t (*crc_impl)(uint32_t, const unsigned char *, size_t);

/* At load time: no lock needed, the table is read-only afterwards. */
__attribute__((constructor)) static void crc_init(void)
{
	crc_table_init();
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2")) {
		crc_impl = crc32c_hw;
		return;
	}
#endif
	crc_impl = crc32c_sw;
}

/* Standard CRC32C (pre- and post-inverted); @crc: 0 to start. */
uint32_t sf_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return ~crc_impl(~crc, buf, len);
}

void clog_make_header(unsigned char *h, uint32_t version, uint64_t start,
		      uint32_t segsize)
{
	memset(h, 0, CLOG_HDR_SIZE);
	memcpy(h, CLOG_MAGIC, 8);
	clog_put32(h + 8, version);
	clog_put32(h + 12, CLOG_HDR_SIZE);
	clog_put64(h + 16, start);
	clog_put32(h + 24, segsize);
	clog_put32(h + 28, sf_crc32c(0, h, 28));
}

void clog_make_record(unsigned char *p, uint64_t txn, uint64_t lsn,
		      uint32_t type, uint32_t batch, size_t len)
{
	clog_put32(p + 4, (uint32_t)len);
	clog_put64(p + 8, txn);
	clog_put64(p + 16, lsn);
	clog_put32(p + 24, type);
	clog_put32(p + 28, batch);
	clog_put32(p, sf_crc32c(0, p + 4, CLOG_REC_HDR - 4 + len));
}

/* ---- methods ------------------------------------------------------- */

const char *clog_io_name(int method)
{
	switch (method) {
	case SF_CLOG_IO_URING_LINKED:
		return "io_uring write+fdatasync (linked)";
	case SF_CLOG_IO_URING_DSYNC:
		return "io_uring write (RWF_DSYNC)";
	default:
		return "pwritev+fdatasync (no io_uring)";
	}
}

int clog_io_init(struct clog_io *io, int fd, int want)
{
	const char *env = secure_getenv("SYNCFIX_NO_URING");

	io->fd = fd;
	io->ring = NULL;
	io->method = SF_CLOG_IO_PWRITEV;
	if (want == SF_CLOG_IO_AUTO || want == SF_CLOG_IO_PWRITEV ||
	    (env && !strcmp(env, "1")))
		return 0;
	io->ring = malloc(sizeof(*io->ring));
	if (!io->ring)
		return ENOMEM;
	if (io_uring_queue_init(4, io->ring, 0) < 0) {
		free(io->ring);
		io->ring = NULL;
		return 0;
	}
	io->method = want;
	return 0;
}

void clog_io_exit(struct clog_io *io)
{
	if (io->ring) {
		io_uring_queue_exit(io->ring);
		free(io->ring);
		io->ring = NULL;
	}
}

/*
 * One io_uring submission: a write of @len at @off (RWF_DSYNC, or linked
 * to an fdatasync when @linked).  @wrote: bytes the write wrote.
 * Return: 0 (durable when *@wrote == @len), or an error.
 */
static int uring_step(struct clog_io *io, const void *buf, size_t len,
		      uint64_t off, int linked, size_t *wrote)
{
	struct io_uring *r = io->ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int n = linked ? 2 : 1, ret, werr = 0, ferr = 0;

	*wrote = 0;

	sqe = io_uring_get_sqe(r);
	io_uring_prep_write(sqe, io->fd, buf, (unsigned int)len, off);
	sqe->user_data = 1;
	if (linked) {
		sqe->flags |= IOSQE_IO_LINK;
		sqe = io_uring_get_sqe(r);
		io_uring_prep_fsync(sqe, io->fd, IORING_FSYNC_DATASYNC);
		sqe->user_data = 2;
	} else {
		sqe->rw_flags = RWF_DSYNC;
	}
	ret = io_uring_submit_and_wait(r, (unsigned int)n);
	if (ret < 0)
		return -ret;
	*wrote = 0;
	for (int i = 0; i < n; i++) {
		ret = io_uring_wait_cqe(r, &cqe);
		if (ret < 0)
			return -ret;
		if (cqe->user_data == 1) {
			if (cqe->res < 0)
				werr = -cqe->res;
			else
				*wrote = (size_t)cqe->res;
		} else if (cqe->res < 0 && cqe->res != -ECANCELED) {
			ferr = -cqe->res;
		}
		io_uring_cqe_seen(r, cqe);
	}
	return werr ? werr : ferr;
}

static int pwrite_step(int fd, const void *buf, size_t len, uint64_t off,
		       size_t *wrote)
{
	struct iovec iov = { (void *)buf, len };
	ssize_t n;

	do
		n = pwritev(fd, &iov, 1, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	*wrote = (size_t)n;
	return 0;
}

int clog_io_write_durable(struct clog_io *io, const void *buf, size_t len,
			  uint64_t off)
{
	const unsigned char *p = buf;
	long ffault = SF_FAULT("commit-io:flush", io, len);
	int uring = io->method != SF_CLOG_IO_PWRITEV && ffault < 0;
	int linked = io->method == SF_CLOG_IO_URING_LINKED;
	int need_flush = 0, err;
	size_t done = 0, wrote = 0;

	if (SF_BROKEN(NO_FLUSH)) {
		/* The bug commit-powerloss must catch: written, never flushed. */
		uring = linked = 0;
		ffault = SF_HOOK_NONE;
	}
	while (done < len) {
		long f = SF_FAULT("commit-io:write", io, len - done);
		size_t want = len - done;

		if (f > 0)
			return (int)f;
		if (f <= -2 && (size_t)(-2 - f) < want) {
			/* Injected short write: write that much for real. */
			want = (size_t)(-2 - f);
			err = pwrite_step(io->fd, p + done, want, off + done,
					  &wrote);
			need_flush = 1;
		} else if (uring) {
			err = uring_step(io, p + done, want, off + done, linked,
					 &wrote);
			/*
			 * Linked: a complete write was followed by an
			 * fdatasync of the whole file; a short one cancelled
			 * it.  RWF_DSYNC: what was written is durable.
			 */
			if (linked)
				need_flush = wrote < want;
		} else {
			err = pwrite_step(io->fd, p + done, want, off + done,
					  &wrote);
			need_flush = 1;
		}
		if (err)
			return err;
		if (!wrote)
			return EIO;
		done += wrote;
	}
	if (ffault > 0)
		return (int)ffault;
	if (SF_BROKEN(NO_FLUSH))
		need_flush = 0;
	/* One flush after the last byte; never retried. */
	if (need_flush && fdatasync(io->fd))
		return errno;
	return 0;
}
