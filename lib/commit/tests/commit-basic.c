// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: commit sequencer API on every write method (io_uring linked, RWF_DSYNC, pwritev fallback): commit, rollback, snapshots, waiting, appliers in commit order, group commit, a full buffer, oversized records, reopen and replay, bad files left untouched */
#include "test.h"
#include "commit-test.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static struct ct_seen replayed, applied;
static unsigned int max_flushes;	/* of the logs open_log() opens */

static sf_clog_t *open_log(const char *p, int io, size_t bufsz,
			   struct sf_clog_recovery *rep)
{
	struct sf_clog_options o = { .buffer_size = bufsz, .io = io,
				     .max_flushes = max_flushes,
				     .replay = ct_replay_cb,
				     .replay_arg = &replayed };
	sf_clog_t *l = NULL;
	int r;

	ct_seen_reset(&replayed);
	r = sf_clog_open(p, &o, &l, rep);
	if (r)
		ok(0, "open %s: %s (%s)", p, strerror(r), rep ? rep->reason : "");
	return r ? NULL : l;
}

/* Commit one transaction with @n records of @len bytes filled with @fill. */
static int commit_one(sf_clog_t *l, int n, size_t len, int fill, uint64_t *id)
{
	unsigned char buf[512];
	sf_txn_t *t;
	int r = sf_txn_begin(l, &t);

	if (r)
		return r;
	memset(buf, fill, sizeof(buf));
	*id = sf_txn_id(t);
	for (int i = 0; i < n && !r; i++)
		r = sf_txn_add(t, buf, len);
	if (r) {
		sf_txn_rollback(t);
		return r;
	}
	return sf_txn_commit(t, NULL);
}

/* ---- single thread: the API ------------------------------------------ */

static void case_api(int io, int uring)
{
	const char *mn = io_mode_name[io];
	struct sf_clog_recovery rep;
	struct sf_clog_stats st;
	sf_snapshot_t before, after;
	char p[4600];
	uint64_t a, b, lsn;
	sf_txn_t *t, *rb;
	sf_clog_t *l;
	int s, r;

	ct_path(p, sizeof(p), "api.log");
	ct_unlink(p);
	l = open_log(p, io, 0, &rep);
	if (!l)
		return;
	ok(rep.created && rep.valid_end == 32, "%s: new log created (%s)", mn,
	   sf_clog_io_method(l));
	ok(uring == !strncmp(sf_clog_io_method(l), "io_uring", 8) ||
	   io == SF_CLOG_IO_PWRITEV,
	   "%s: method reported: %s", mn, sf_clog_io_method(l));
	ok(sf_clog_add_applier(l, ct_apply_cb, &applied) == 0,
	   "%s: applier started", mn);
	ct_seen_reset(&applied);

	sf_clog_snapshot(l, &before);
	ok(commit_one(l, 3, 100, 1, &a) == 0, "%s: commit 3 records", mn);
	sf_clog_snapshot(l, &after);
	sf_clog_txn_status(l, a, &before, &s);
	ok(s == SF_TXN_ACTIVE, "%s: older snapshot does not see it", mn);
	sf_clog_txn_status(l, a, &after, &s);
	ok(s == SF_TXN_COMMITTED, "%s: newer snapshot sees it", mn);
	r = sf_clog_txn_wait(l, a, CLOCK_MONOTONIC, NULL, &s);
	ok(r == 0 && s == SF_TXN_COMMITTED, "%s: wait on a committed txn", mn);

	/* A rolled-back transaction with records. */
	sf_txn_begin(l, &rb);
	b = sf_txn_id(rb);
	sf_txn_add(rb, "garbage", 7);
	sf_clog_txn_status(l, b, NULL, &s);
	ok(s == SF_TXN_ACTIVE, "%s: active before rollback", mn);
	{
		struct timespec dl = deadline_ms(CLOCK_MONOTONIC, 20);

		ok_err(sf_clog_txn_wait(l, b, CLOCK_MONOTONIC, &dl, &s),
		       ETIMEDOUT, "%s: wait on an active txn times out", mn);
	}
	sf_txn_rollback(rb);
	r = sf_clog_txn_wait(l, b, CLOCK_REALTIME, NULL, &s);
	ok(r == 0 && s == SF_TXN_ROLLED_BACK, "%s: rolled back", mn);
	ok_err(sf_clog_txn_status(l, b + 100, NULL, &s), ENOENT,
	       "%s: unknown id", mn);

	/* Records too large for the buffer: rejected, nothing appended. */
	sf_txn_begin(l, &t);
	{
		static unsigned char big[SF_CLOG_DEFAULT_BUFFER];

		ok_err(sf_txn_add(t, big, sizeof(big)), EMSGSIZE,
		       "%s: record larger than the buffer", mn);
		ok(sf_txn_add(t, big, sizeof(big) - SF_CLOG_RECORD_OVERHEAD)
		   == 0, "%s: record of exactly the limit", mn);
	}
	ok_err(sf_clog_close(l), EBUSY, "%s: close with an active txn", mn);
	ok(sf_txn_commit(t, &lsn) == 0 && lsn > 32, "%s: commit big", mn);
	ok_err(sf_clog_open(p, NULL, &(sf_clog_t *){ 0 }, NULL), EBUSY,
	       "%s: second open of an open log", mn);
	ok_err(sf_clog_open(p, &(struct sf_clog_options){
				    .max_flushes = SF_CLOG_MAX_FLUSHES + 1 },
			    &(sf_clog_t *){ 0 }, NULL), EINVAL,
	       "%s: max_flushes above %u", mn, SF_CLOG_MAX_FLUSHES);
	ok_err(sf_clog_open(p, &(struct sf_clog_options){ .buffer_size = 100 },
			    &(sf_clog_t *){ 0 }, NULL), EINVAL,
	       "%s: buffer below %u bytes", mn, SF_CLOG_MIN_BUFFER);
	ok_err(sf_clog_open(p, &(struct sf_clog_options){ .gather_pct = 101 },
			    &(sf_clog_t *){ 0 }, NULL), EINVAL,
	       "%s: gather_pct above 100", mn);
	{
		char q[4700];
		struct stat sb;

		snprintf(q, sizeof(q), "%s.bad", p);
		ok(sf_clog_open(q, &(struct sf_clog_options){
					.async_delay_us =
						SF_CLOG_MAX_ASYNC_DELAY_US + 1 },
				&(sf_clog_t *){ 0 }, NULL) == EINVAL &&
		   stat(q, &sb) != 0 && errno == ENOENT,
		   "%s: an option out of range: EINVAL, no file created", mn);
	}

	sf_clog_stats(l, &st);
	ok(st.commits == 2 && st.rollbacks == 1 && st.flushes >= 2 &&
	   st.bytes_written > SF_CLOG_DEFAULT_BUFFER / 2 && !st.error,
	   "%s: stats: %llu commits, %llu flushes, %llu bytes, %.1f us/flush",
	   mn, (unsigned long long)st.commits,
	   (unsigned long long)st.flushes,
	   (unsigned long long)st.bytes_written, st.flush_latency_us);
	ok(sf_clog_close(l) == 0, "%s: close", mn);
	ok(ct_count(&applied) == 2 && applied.id[0] == a &&
	   applied.nrecs[0] == 3 && applied.sum[0] == 300,
	   "%s: applier got both commits with their records (%zu)", mn,
	   ct_count(&applied));

	/* Reopen: the same two transactions, twice (idempotent). */
	for (int k = 0; k < 2; k++) {
		l = open_log(p, io, 0, &rep);
		if (!l)
			return;
		ok(rep.replayed == (uint64_t)(2 + k) && rep.rolled_back == 1 &&
		   rep.cut_bytes == 0 && replayed.id[0] == a &&
		   replayed.nrecs[0] == 3 && replayed.sum[0] == 300 &&
		   replayed.nrecs[1] == 1,
		   "%s: reopen %d replays the 2 commits, not the rollback",
		   mn, k);
		r = commit_one(l, 1, 10, 2, &b);
		ok(r == 0 && b > a + 2,
		   "%s: new ids continue above the log's (%llu)", mn,
		   (unsigned long long)b);
		sf_clog_close(l);
	}
}

/* ---- many threads: group commit, small buffer ------------------------ */

struct worker {
	sf_clog_t *l;
	int n, errors;
	uint32_t seed;
};

static void *worker(void *p)
{
	struct worker *w = p;
	uint64_t id;

	for (int i = 0; i < w->n; i++) {
		if (commit_one(w->l, 1 + (int)(rnd(&w->seed) % 4),
			       rnd(&w->seed) % 300, 3, &id))
			w->errors++;
		progress();
	}
	return NULL;
}

static void case_group(int io)
{
	char mn[64];
	struct sf_clog_recovery rep;
	struct sf_clog_stats st;
	struct worker w[8];
	pthread_t th[8];
	int errs = 0, n = (int)scaled(200);
	char p[4600];
	sf_clog_t *l;

	ct_path(p, sizeof(p), "group.log");
	ct_unlink(p);
	/* 4 KiB buffers: appenders often wait for room. */
	snprintf(mn, sizeof(mn), "%s, %u flush%s at once", io_mode_name[io],
		 max_flushes, max_flushes > 1 ? "es" : "");
	l = open_log(p, io, 4096, &rep);
	if (!l)
		return;
	sf_clog_add_applier(l, ct_apply_cb, &applied);
	ct_seen_reset(&applied);
	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){ l, n, 0, 17u + (uint32_t)i };
		pthread_create(&th[i], NULL, worker, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		errs += w[i].errors;
	}
	sf_clog_stats(l, &st);
	ok(errs == 0 && st.commits == (uint64_t)(8 * n),
	   "%s: 8 threads x %d commits", mn, n);
	ok(st.commits_per_flush > 1.0,
	   "%s: flushes shared: %.2f commits per flush", mn,
	   st.commits_per_flush);
	sf_clog_close(l);
	ok(ct_count(&applied) == (size_t)(8 * n) && !applied.bad_order,
	   "%s: applier got all %zu in commit order", mn, ct_count(&applied));
	l = open_log(p, io, 4096, &rep);
	if (!l)
		return;
	ok(rep.replayed == (uint64_t)(8 * n) && !replayed.bad_order &&
	   rep.cut_bytes == 0, "%s: reopen replays all %llu in order", mn,
	   (unsigned long long)rep.replayed);
	sf_clog_close(l);
}

/* ---- bad files: clear errors, file untouched -------------------------- */

static void check_untouched(const char *what, const unsigned char *b,
			    size_t len, int want)
{
	struct sf_clog_recovery rep;
	unsigned char *after;
	size_t alen;
	sf_clog_t *l;
	char p[4600];
	int r;

	ct_path(p, sizeof(p), "bad.log");
	ct_spew(p, b, len);
	r = sf_clog_open(p, NULL, &l, &rep);
	ok_err(r, want, "%s: refused (%s)", what, rep.reason);
	if (!r)
		sf_clog_close(l);
	after = ct_slurp(p, &alen);
	ok(after && alen == len && !memcmp(after, b, len),
	   "%s: file left unchanged", what);
	free(after);
	ct_unlink(p);
}

static uint32_t crc32c_ref(const unsigned char *p, size_t n)
{
	uint32_t c = ~0u;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

static void case_bad_files(void)
{
	unsigned char b[4096], *good;
	char p[4600];
	size_t glen;
	uint64_t id;
	sf_clog_t *l;
	uint32_t c;

	memset(b, 'x', sizeof(b));
	memcpy(b, "#!/bin/sh\necho not a log\n", 25);
	check_untouched("a text file", b, sizeof(b), EBADMSG);
	check_untouched("a 10-byte file", b, 10, EBADMSG);

	/* a single file, asked for: its header is at the file's start */
	ct_path(p, sizeof(p), "ok.log");
	ct_unlink(p);
	if (sf_clog_open(p, &(struct sf_clog_options){
				 .flags = SF_CLOG_SINGLE_FILE }, &l, NULL))
		return (void)ok(0, "open %s", p);
	commit_one(l, 1, 20, 4, &id);
	sf_clog_close(l);
	good = ct_slurp(p, &glen);
	if (!good || glen < 64) {
		ok(0, "read back a log");
		return;
	}
	/* The header's CRC is checked against an independent CRC32C. */
	ok(crc32c_ref(good, 28) == (uint32_t)(good[28] | good[29] << 8 |
					       good[30] << 16 |
					       (uint32_t)good[31] << 24),
	   "header CRC32C matches a bitwise reference");
	good[8] = 4;				/* format version 4 */
	c = crc32c_ref(good, 28);
	memcpy(good + 28, &c, 4);		/* x86: little-endian */
	check_untouched("format version 4 (newer)", good, glen,
			EPROTONOSUPPORT);
	good[8] = 3;
	good[3] ^= 0x20;			/* magic */
	check_untouched("wrong magic", good, glen, EBADMSG);
	good[3] ^= 0x20;
	good[20] ^= 1;				/* header CRC */
	check_untouched("header bit flip", good, glen, EBADMSG);
	free(good);
}

/*
 * io_uring cannot be set up (a seccomp filter makes io_uring_setup fail
 * with ENOSYS, as on an old kernel or in a sandbox): in a child process,
 * a log asked for io_uring (linked) must fall back to pwritev, report it,
 * and commit.
 */
static void case_no_uring(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	char p[4600];
	pid_t pid;
	int st;

	ct_path(p, sizeof(p), "seccomp.log");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct sf_clog_options o = { .io = SF_CLOG_IO_URING_LINKED };
		uint64_t id;
		sf_clog_t *l;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
			_exit(77);
		if (sf_clog_open(p, &o, &l, NULL))
			_exit(2);
		if (strcmp(sf_clog_io_method(l),
			   "pwritev+fdatasync (no io_uring)"))
			_exit(3);
		if (commit_one(l, 1, 10, 5, &id) || sf_clog_close(l))
			_exit(4);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
		ok(0, "io_uring_setup denied: child ran");
		return;
	}
	if (WEXITSTATUS(st) == 77) {
		ok(1, "io_uring_setup denied # SKIP seccomp unavailable");
		return;
	}
	ok(WEXITSTATUS(st) == 0, "io_uring_setup denied by seccomp: falls "
	   "back to pwritev, reports it, commits (child exit %d)",
	   WEXITSTATUS(st));
}

int main(void)
{
	int uring;

	watchdog_start(30);
	ct_mkdir(0);
	uring = ct_have_uring();
	if (!uring)
		diag("io_uring cannot be set up here: every method falls back "
		     "to pwritev");
	for (int i = 0; i < N_IO_MODES; i++) {
		phase(io_mode_name[io_modes[i]]);
		case_api(io_modes[i], uring);
		for (max_flushes = 1; max_flushes <= 4; max_flushes *= 2)
			case_group(io_modes[i]);
		max_flushes = 0;
	}
	phase("bad files");
	case_bad_files();
	phase("default method");
	{
		char p[4600];
		sf_clog_t *l;

		ct_path(p, sizeof(p), "default.log");
		if (sf_clog_open(p, NULL, &l, NULL) == 0) {
			ok(!strcmp(sf_clog_io_method(l),
				   "pwritev+fdatasync (no io_uring)"),
			   "the default method is pwritev (faster than "
			   "io_uring under load, Documentation/commit.rst): %s",
			   sf_clog_io_method(l));
			sf_clog_close(l);
		}
	}
	phase("no io_uring");
	case_no_uring();
	{
		struct sf_clog_options o = { .io = SF_CLOG_IO_URING_LINKED };
		sf_clog_t *l;
		char p[4600];

		ct_path(p, sizeof(p), "env.log");
		setenv("SYNCFIX_NO_URING", "1", 1);
		if (sf_clog_open(p, &o, &l, NULL) == 0) {
			ok(!strcmp(sf_clog_io_method(l),
				   "pwritev+fdatasync (no io_uring)"),
			   "SYNCFIX_NO_URING=1 selects the fallback: %s",
			   sf_clog_io_method(l));
			sf_clog_close(l);
		}
		unsetenv("SYNCFIX_NO_URING");
	}
	return done_testing();
}
