/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test.h - TAP output, hang watchdog, sync points and helpers for the
 * library's tests.  Header-only; every test includes it once.
 *
 * Exit codes: 0 pass, 1 fail, 77 skip.
 */
#ifndef SF_TEST_H
#define SF_TEST_H

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

static int t_num, t_failed;
static const char *t_indent = "";	/* "    " for a subtest's lines */
static pthread_mutex_t t_out_lock = PTHREAD_MUTEX_INITIALIZER;

/* ok(cond, "description", ...): one TAP line. */
__attribute__((format(printf, 2, 3), unused))
static int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&t_out_lock);
	printf("%s%sok %d - ", t_indent, cond ? "" : "not ", ++t_num);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		t_failed++;
	pthread_mutex_unlock(&t_out_lock);
	return cond;
}

__attribute__((format(printf, 1, 2), unused))
static void diag(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&t_out_lock);
	printf("%s# ", t_indent);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&t_out_lock);
}

/* Zeroed memory shared with fork() children, or NULL after a "not ok". */
__attribute__((unused)) static void *shared_zalloc(size_t size, const char *what)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		ok(0, "%s: mmap", what);
		return NULL;
	}
	return memset(p, 0, size);
}

/* Print the plan and return the exit code. */
__attribute__((unused)) static int done_testing(void)
{
	printf("%s1..%d\n", t_indent, t_num);
	fflush(stdout);
	return t_failed ? T_FAIL : T_PASS;
}

__attribute__((noreturn, unused)) static void skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	exit(T_SKIP);
}

/* ok_eq(got, want, "what"): compares two error codes and names them. */
#define ok_err(got, want, ...)						\
	do {								\
		int g_ = (got), w_ = (want);				\
		if (!ok(g_ == w_, __VA_ARGS__))				\
			diag("  got %d (%s), want %d (%s)", g_,		\
			     strerror(g_), w_, strerror(w_));		\
	} while (0)

/* ---- iteration scaling ------------------------------------------------ */

/*
 * Work is scaled down under TSAN (about 10x slower) and by
 * SYNCFIX_TEST_SCALE (a percentage, default 100).
 */
__attribute__((unused)) static long scaled(long n)
{
	const char *s = getenv("SYNCFIX_TEST_SCALE");
	long pct = s ? atol(s) : 100;

#ifdef TEST_TSAN
	n /= 10;
#endif
	n = n * (pct > 0 ? pct : 100) / 100;
	return n > 0 ? n : 1;
}

/* ---- time ------------------------------------------------------------- */

__attribute__((unused)) static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((unused)) static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Absolute deadline @ms milliseconds from now on @clk. */
__attribute__((unused)) static struct timespec deadline_ms(clockid_t clk, long ms)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

__attribute__((unused)) static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ---- watchdog --------------------------------------------------------- */

/*
 * A thread that fails the test ("not ok N - hang ...", exit 1) when
 * progress() has not been called for @secs seconds.  The current phase
 * name is printed with the failure.
 */
static unsigned long t_progress;
static const char *t_phase = "start";
static int t_wd_secs;

__attribute__((unused)) static void progress(void)
{
	__atomic_fetch_add(&t_progress, 1, __ATOMIC_RELAXED);
}

__attribute__((unused)) static void phase(const char *name)
{
	__atomic_store_n(&t_phase, name, __ATOMIC_RELAXED);
	progress();
}

/*
 * A test's cases, by name: run_cases() runs those named in @argv[1..],
 * or, when none is named, every one but those marked only_by_name, in
 * table order, each in its own phase.
 */
struct test_case {
	const char *name;
	void (*fn)(void);
	int only_by_name;
};

__attribute__((unused)) static void run_cases(const struct test_case *c,
					      size_t n, int argc,
					      char **argv)
{
	for (size_t i = 0; i < n; i++) {
		int run = argc < 2 && !c[i].only_by_name;

		for (int a = 1; a < argc; a++)
			run |= !strcmp(argv[a], c[i].name);
		if (run) {
			phase(c[i].name);
			c[i].fn();
		}
	}
}

static void *t_watchdog(void *arg)
{
	unsigned long last = ~0ul, cur;
	int idle = 0;

	(void)arg;
	for (;;) {
		sleep_ms(250);
		cur = __atomic_load_n(&t_progress, __ATOMIC_RELAXED);
		if (cur != last) {
			last = cur;
			idle = 0;
			continue;
		}
		if (++idle >= t_wd_secs * 4) {
			pthread_mutex_lock(&t_out_lock);
			printf("%snot ok %d - hang: no progress for %d s in \"%s\"\n",
			       t_indent, ++t_num, t_wd_secs,
			       __atomic_load_n(&t_phase, __ATOMIC_RELAXED));
			printf("%s1..%d\n", t_indent, t_num);
			fflush(stdout);
			_exit(T_FAIL);
		}
	}
	return NULL;
}

__attribute__((unused)) static void watchdog_start(int secs)
{
	pthread_t t;

#ifdef TEST_TSAN
	secs *= 3;
#endif
	t_wd_secs = secs;
	if (pthread_create(&t, NULL, t_watchdog, NULL) == 0)
		pthread_detach(t);
}

/* ---- sync points ------------------------------------------------------ */

/*
 * A monotonic stage counter: sync_set(s, n) announces stage n,
 * sync_wait(s, n) blocks until the counter reaches n.  Built on glibc's
 * mutex and condition variable, independent of the code under test.
 */
struct sync_point {
	pthread_mutex_t m;
	pthread_cond_t c;
	int stage;
};

#define SYNC_POINT_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 }

__attribute__((unused)) static void sync_set(struct sync_point *s, int n)
{
	pthread_mutex_lock(&s->m);
	if (n > s->stage)
		s->stage = n;
	pthread_cond_broadcast(&s->c);
	pthread_mutex_unlock(&s->m);
	progress();
}

__attribute__((unused)) static void sync_wait(struct sync_point *s, int n)
{
	pthread_mutex_lock(&s->m);
	while (s->stage < n)
		pthread_cond_wait(&s->c, &s->m);
	pthread_mutex_unlock(&s->m);
}

/* Like sync_wait() but gives up after @ms.  Return: 1 if reached. */
__attribute__((unused)) static int sync_wait_ms(struct sync_point *s, int n, long ms)
{
	struct timespec dl = deadline_ms(CLOCK_REALTIME, ms);
	int r = 0;

	pthread_mutex_lock(&s->m);
	while (s->stage < n && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&s->c, &s->m, &dl);
	r = s->stage >= n;
	pthread_mutex_unlock(&s->m);
	return r;
}

/* ---- DEBUG_SYNC-style named sync points --------------------------------- */

/*
 * dsync: drives the library's SF_SYNC_POINT() places (test-hook build
 * only), with the semantics of MySQL's DEBUG_SYNC.
 *
 *   dsync_arm("lockmgr:after-insert", "B", "b-waiting", "go-b", 1);
 *
 * means: the next 1 time that thread "B" (named with dsync_thread("B");
 * NULL: any thread) reaches the point, it raises the signal "b-waiting",
 * then blocks until "go-b" is raised (NULL: no wait).  hits < 0: every
 * time.  dsync_signal() raises a signal from the test; dsync_wait_for()
 * waits for one (with a limit in ms; returns 0 when it timed out).
 * Signals stay raised until dsync_reset().  A point that waits longer than
 * DSYNC_TIMEOUT_MS reports "not ok" and gives up, so a wrong schedule
 * fails instead of hanging.  dsync_hits() counts how often a point was
 * reached (armed or not).
 */
#ifdef SF_TEST_HOOKS
#include "testhooks.h"

#define DSYNC_MAX 32
#define DSYNC_TIMEOUT_MS 20000

struct dsync_action {
	const char *point, *thread, *signal, *wait_for;
	int hits;
};

static struct {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct dsync_action act[DSYNC_MAX];
	int nact;
	const char *raised[DSYNC_MAX * 2];
	int nraised;
	const char *seen[DSYNC_MAX * 2];
	unsigned long seen_n[DSYNC_MAX * 2];
	int nseen;
} dsync = { .m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER };
static __thread const char *dsync_me;
/*
 * 0: passing a sync point or raising a signal is not progress for the
 * watchdog, so that a loop passing a point again and again (a livelock)
 * is still reported as a hang; the test then calls progress() itself.
 */
static int dsync_progress = 1;
/*
 * A test's own injection points (faults, values): called first at every
 * point; its answer is the hook's unless it is SF_HOOK_NONE, in which
 * case the dsync actions run and the hook answers SF_HOOK_NONE.
 */
static sf_test_hook_fn dsync_own;

__attribute__((unused)) static void dsync_thread(const char *name)
{
	dsync_me = name;
}

static int dsync_is_raised_locked(const char *sig)
{
	for (int i = 0; i < dsync.nraised; i++)
		if (!strcmp(dsync.raised[i], sig))
			return 1;
	return 0;
}

static void dsync_raise_locked(const char *sig)
{
	if (!dsync_is_raised_locked(sig) && dsync.nraised < DSYNC_MAX * 2)
		dsync.raised[dsync.nraised++] = sig;
	pthread_cond_broadcast(&dsync.c);
}

__attribute__((unused)) static void dsync_signal(const char *sig)
{
	pthread_mutex_lock(&dsync.m);
	dsync_raise_locked(sig);
	pthread_mutex_unlock(&dsync.m);
	if (dsync_progress)
		progress();
}

/* Wait until @sig is raised, at most @ms.  Return: 1 raised, 0 timed out. */
__attribute__((unused)) static int dsync_wait_for(const char *sig, long ms)
{
	struct timespec dl = deadline_ms(CLOCK_REALTIME, ms);
	int r = 0;

	pthread_mutex_lock(&dsync.m);
	while (!dsync_is_raised_locked(sig) && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&dsync.c, &dsync.m, &dl);
	r = dsync_is_raised_locked(sig);
	pthread_mutex_unlock(&dsync.m);
	return r;
}

static long dsync_hook(const char *point, const void *obj, uint64_t val)
{
	struct dsync_action a = { 0 };
	int found = 0, i;

	if (dsync_own) {
		long r = dsync_own(point, obj, val);

		if (r != SF_HOOK_NONE)
			return r;
	}
	pthread_mutex_lock(&dsync.m);
	for (i = 0; i < dsync.nseen; i++)
		if (!strcmp(dsync.seen[i], point))
			break;
	if (i == dsync.nseen && i < DSYNC_MAX * 2)
		dsync.seen[dsync.nseen++] = point;
	if (i < DSYNC_MAX * 2)
		dsync.seen_n[i]++;
	for (i = 0; i < dsync.nact; i++) {
		struct dsync_action *p = &dsync.act[i];

		if (!p->hits || strcmp(p->point, point))
			continue;
		if (p->thread && (!dsync_me || strcmp(p->thread, dsync_me)))
			continue;
		if (p->hits > 0)
			p->hits--;
		a = *p;
		found = 1;
		break;
	}
	if (found && a.signal)
		dsync_raise_locked(a.signal);
	pthread_mutex_unlock(&dsync.m);
	if (found && a.wait_for && !dsync_wait_for(a.wait_for, DSYNC_TIMEOUT_MS))
		ok(0, "dsync: %s waited %d ms at \"%s\" for \"%s\"",
		   dsync_me ? dsync_me : "a thread", DSYNC_TIMEOUT_MS, point,
		   a.wait_for);
	if (dsync_progress)
		progress();
	return SF_HOOK_NONE;
}

/* Forget every action, signal and count; install the hook. */
__attribute__((unused)) static void dsync_reset(void)
{
	pthread_mutex_lock(&dsync.m);
	dsync.nact = dsync.nraised = dsync.nseen = 0;
	memset(dsync.seen_n, 0, sizeof(dsync.seen_n));
	pthread_mutex_unlock(&dsync.m);
	__atomic_store_n(&sf_test_hook, dsync_hook, __ATOMIC_RELEASE);
}

__attribute__((unused))
static void dsync_arm(const char *point, const char *thread, const char *signal,
		      const char *wait_for, int hits)
{
	pthread_mutex_lock(&dsync.m);
	if (dsync.nact < DSYNC_MAX)
		dsync.act[dsync.nact++] = (struct dsync_action){
			point, thread, signal, wait_for, hits };
	pthread_mutex_unlock(&dsync.m);
	__atomic_store_n(&sf_test_hook, dsync_hook, __ATOMIC_RELEASE);
}

__attribute__((unused)) static unsigned long dsync_hits(const char *point)
{
	unsigned long n = 0;

	pthread_mutex_lock(&dsync.m);
	for (int i = 0; i < dsync.nseen; i++)
		if (!strcmp(dsync.seen[i], point))
			n = dsync.seen_n[i];
	pthread_mutex_unlock(&dsync.m);
	return n;
}
#endif /* SF_TEST_HOOKS */

/* ---- subprocesses --------------------------------------------------- */

#include <fcntl.h>
#include <sys/wait.h>

/*
 * run_capture() - run @argv with @envp (NULL: ours), capture stdout and
 * stderr into @buf (NUL-terminated, truncated to @len - 1).
 * Return: the wait status, or -1.
 */
__attribute__((unused))
static int run_capture(char *const argv[], char *const envp[], char *buf,
		       size_t len)
{
	extern char **environ;
	int fds[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(fds))
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execve(argv[0], argv, envp ? envp : environ);
		_exit(126);
	}
	close(fds[1]);
	for (;;) {
		char sink[4096];

		if (n + 1 < len)
			r = read(fds[0], buf + n, len - 1 - n);
		else
			r = read(fds[0], sink, sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n + 1 < len)
			n += (size_t)r;
		progress();
	}
	buf[n] = 0;
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* Print captured output as TAP comments ("# | line"). */
__attribute__((unused)) static void diag_block(const char *text)
{
	const char *p = text, *e;

	while (*p) {
		e = strchr(p, '\n');
		if (!e)
			e = p + strlen(p);
		diag("| %.*s", (int)(e - p), p);
		p = *e ? e + 1 : e;
	}
}

/* Directory of the running executable, for helpers built beside it. */
__attribute__((unused)) static int self_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *s;

	if (n <= 0)
		return -1;
	buf[n] = 0;
	s = strrchr(buf, '/');
	if (!s)
		return -1;
	*s = 0;
	return 0;
}

/*
 * beside_self() - the path of program @name built beside this test, into
 * @buf.  Skips the whole test (exit 77) when it is not there.
 */
__attribute__((unused))
static void beside_self(const char *name, char *buf, size_t len)
{
	static char why[512];
	char dir[4096];

	if (self_dir(dir, sizeof(dir)))
		skip_all("cannot find own directory");
	snprintf(buf, len, "%s/%s", dir, name);
	if (access(buf, X_OK)) {
		snprintf(why, sizeof(why), "%s not built beside this test", name);
		skip_all(why);
	}
}

/* Outcomes of run_tap_child(). */
enum { CHILD_PASSED, CHILD_FAILED, CHILD_OTHER };

/*
 * run_tap_child() - run a test program, typically with a deliberately
 * broken protocol put back, and show its output as comments.
 * @broken: the SF_TEST_BROKEN value for the child (testhooks.h: a name
 *          such as "stale-wait"), or NULL for none
 * @want: a text a failing run must print as well (NULL: none)
 *
 * The child is the same test program that passes in "make check" without
 * @broken: the proof that it can fail.
 *
 * Return: CHILD_PASSED (exit 0), CHILD_FAILED (exit 1 with a "not ok"
 * line and @want), CHILD_OTHER (anything else: crashed, not run, ...).
 */
__attribute__((unused))
static int run_tap_child(char *const argv[], const char *broken,
			 const char *want)
{
	extern char **environ;
	static char out[65536], var[128];
	char *env[512];
	int st, n = 0;

	for (char **e = environ; *e && n < 510; e++)
		if (strncmp(*e, "SF_TEST_BROKEN=", 15))
			env[n++] = *e;
	if (broken) {
		snprintf(var, sizeof(var), "SF_TEST_BROKEN=%s", broken);
		env[n++] = var;
	}
	env[n] = NULL;
	st = run_capture(argv, env, out, sizeof(out));
	diag("%s%s%s", argv[0], broken ? " with SF_TEST_BROKEN=" : "",
	     broken ? broken : "");

	diag_block(out);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return CHILD_PASSED;
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1 &&
	    strstr(out, "not ok") && (!want || strstr(out, want)))
		return CHILD_FAILED;
	return CHILD_OTHER;
}

/*
 * self_fails_broken() - run this very test program again with the
 * arguments @args (NULL-terminated, without argv[0]) and the broken
 * protocol @broken put back; true when that run fails, printing @want.
 * The proof that the cases it runs can fail.
 */
__attribute__((unused))
static int self_fails_broken(const char *self, char *const args[],
			     const char *broken, const char *want)
{
	char path[4200];
	char *argv[16];
	int n = 0;

	beside_self(self, path, sizeof(path));
	argv[n++] = path;
	while (args[n - 1] && n < 15) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	return run_tap_child(argv, broken, want) == CHILD_FAILED;
}

/* ---- misc ------------------------------------------------------------- */

static inline void sf_cpu_relax_test(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* xorshift; per-thread state. */
__attribute__((unused)) static uint32_t rnd(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x ? x : 0x9e3779b9u;
}

/* Is thread @t blocked (state S or D) in the kernel? */
__attribute__((unused)) static int tid_sleeping(pid_t tid)
{
	char path[64], buf[256], *p;
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		r = p && (p[2] == 'S' || p[2] == 'D');
	}
	fclose(f);
	return r;
}

#endif /* SF_TEST_H */
