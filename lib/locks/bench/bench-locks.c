// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-locks.c - syncfix locks against glibc's and absl's, in the same run.
 *
 *   bench-locks [MODE]...   (default: uncontended contended writer-wait cond)
 *
 * Two peers: glibc (pthread_mutex_t, pthread_rwlock_t of the same kind,
 * pthread_cond_t) and absl (absl::Mutex for the mutex and for every rwlock
 * kind, its ReaderLock for reads; absl::CondVar), through the extern "C"
 * wrappers of bench-absl.cc, with absl's deadlock detector off as in an
 * NDEBUG build (Debian's libabsl has it on: see bench-absl.cc).  Every row prints syncfix's ratio to each
 * peer, "/glibc" and "/absl", measured in the same process, the three
 * taking turns so that they see the same machine noise.
 *
 * Targets: uncontended lock+unlock at most 0.80x the time of each peer;
 * paced contention at least 1.20x the throughput of each; back-to-back
 * contention at least 1.00x of each, with the fairness printed beside it.
 *
 * Modes:
 * uncontended    lock+unlock in a loop, ns of the thread's CPU time per
 *                pair (so that a preemption by another process does not
 *                count), best of 41 short runs, with a second thread alive
 *                (glibc skips atomics in single-threaded processes).  Then
 *                the floor: a lock cmpxchg and an xchg alone, against the
 *                peers' mutex lock+unlock, the best ratio any lock with a
 *                locked instruction on each side can reach here.
 * paced          operations per second at 2, 4 and 8 threads, each
 *                thread pausing 0-15 PAUSE instructions between two
 *                operations: mutex, and rwlock 90/10 and 50/50 (percent
 *                reads/writes) per kind.
 * back-to-back   the same with no pause between operations, at 4 and 8
 *                threads (more threads than this 2-CPU machine has CPUs):
 *                mutex and rwlock 90/10 per kind.
 * paced-hog, back-to-back-hog
 *                the same rows with a CPU hog beside them: one process
 *                that spins for the whole row, as on a busy server.
 * contended      the four above.
 *                Every contention row prints, after the ratios, each
 *                implementation's fairness: the fewest operations one
 *                thread completed over the most (1.00: all threads alike;
 *                near 0: a thread starved).
 * writer-wait    one writer asking every 2 ms while 3 readers keep the lock
 *                read-held in overlapping turns: max and mean writer wait.
 * cond           sf_cond against pthread_cond and absl::CondVar: ping-pong
 *                and broadcast to 8 waiters.
 * slots          ns per lock+unlock only, one line, for comparing builds
 *                (without slots, slots as NOPs, slots as lfence).
 *
 * Statistics.  On a shared 2-CPU machine one 0.2 s contention run of the
 * same lock can give 5 or 80 Mops/s, depending on which threads the
 * scheduler runs together and on other processes.  So a contention row is
 * 5 rounds, each running glibc, absl and syncfix one after another (the
 * first of the round rotating), and prints the median throughput and
 * fairness of each, and the median of syncfix's ratios within a round; an
 * uncontended row prints the best time of each and the median of the
 * rounds' ratios.  Environment, for looking closer:
 *   SF_BENCH_ROUNDS=N   rounds per contention row (default 5, at most 64)
 *   SF_BENCH_SECS=S     seconds per contention run (default 0.2)
 *   SF_BENCH_ONLY=TEXT  only the contention rows whose name contains TEXT
 *   SF_BENCH_RAW=1      every run's figures on stderr
 */
#include "bench.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <syncfix.h>

#include "bench-absl.h"

static const char *const kind_name[] = { "prefer-reader", "prefer-writer",
					 "nonrecursive" };
static const int glibc_kind[] = { PTHREAD_RWLOCK_PREFER_READER_NP,
				  PTHREAD_RWLOCK_PREFER_WRITER_NP,
				  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP };

/* ---- the locks under test behind one interface ------------------------ */

enum impl { GLIBC, ABSL, SYNCFIX, NIMPL };
static const char *const impl_name[] = { "glibc", "absl", "syncfix" };

/* Each lock on a cache line of its own, so that all three sit alike. */
struct lk {
	enum impl impl;
	_Alignas(64) pthread_mutex_t pm;
	_Alignas(64) pthread_rwlock_t prw;
	_Alignas(64) sf_mutex_t sm;
	_Alignas(64) sf_rwlock_t srw;
	_Alignas(64) char am[BENCH_ABSL_SIZE];	/* absl::Mutex */
};

static void lk_init(struct lk *l, enum impl impl, int kind)
{
	pthread_rwlockattr_t pa;
	sf_rwlockattr_t sa;

	memset(l, 0, sizeof(*l));
	l->impl = impl;
	pthread_mutex_init(&l->pm, NULL);
	pthread_rwlockattr_init(&pa);
	pthread_rwlockattr_setkind_np(&pa, glibc_kind[kind]);
	pthread_rwlock_init(&l->prw, &pa);
	sf_mutex_init(&l->sm, NULL);
	sf_rwlockattr_init(&sa);
	sf_rwlockattr_setkind(&sa, kind);
	sf_rwlock_init(&l->srw, &sa);
	bench_absl_mutex_init(l->am);
}

static void lk_destroy(struct lk *l)
{
	pthread_mutex_destroy(&l->pm);
	pthread_rwlock_destroy(&l->prw);
	sf_mutex_destroy(&l->sm);
	sf_rwlock_destroy(&l->srw);
	bench_absl_mutex_destroy(l->am);
}

/*
 * The operations for implementation @i.  Always inline: the loops below
 * are compiled once per implementation with @i a constant, so that no
 * implementation pays for choosing among them.
 */
#define BENCH_INLINE static inline __attribute__((always_inline))

#define LK_OP(name, glibc_call, absl_fn, sf_call)			\
BENCH_INLINE void name(struct lk *l, enum impl i)			\
{									\
	i == GLIBC ? (void)(glibc_call) :				\
	i == ABSL  ? absl_fn(l->am) : (void)(sf_call);			\
}
LK_OP(m_lock, pthread_mutex_lock(&l->pm), bench_absl_lock, sf_mutex_lock(&l->sm))
LK_OP(m_unlock, pthread_mutex_unlock(&l->pm), bench_absl_unlock, sf_mutex_unlock(&l->sm))
LK_OP(r_lock, pthread_rwlock_rdlock(&l->prw), bench_absl_reader_lock,
      sf_rwlock_rdlock(&l->srw))
LK_OP(r_unlock, pthread_rwlock_unlock(&l->prw), bench_absl_reader_unlock,
      sf_rwlock_unlock(&l->srw))
LK_OP(w_lock, pthread_rwlock_wrlock(&l->prw), bench_absl_lock, sf_rwlock_wrlock(&l->srw))
LK_OP(w_unlock, pthread_rwlock_unlock(&l->prw), bench_absl_unlock, sf_rwlock_unlock(&l->srw))

/* Call the always-inline FN(args..., impl) with @impl as a constant. */
#define BY_IMPL(impl, fn, ...)						\
	((impl) == GLIBC ? fn(__VA_ARGS__, GLIBC) :			\
	 (impl) == ABSL ? fn(__VA_ARGS__, ABSL) : fn(__VA_ARGS__, SYNCFIX))

/* The median of @n values (sorts a copy). */
static double median(const double *v, int n)
{
	double s[64], x;
	int i, j;

	for (i = 0; i < n; i++) {
		for (x = v[i], j = i; j > 0 && s[j - 1] > x; j--)
			s[j] = s[j - 1];
		s[j] = x;
	}
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ---- a second thread, alive and asleep --------------------------------- */

static pthread_mutex_t idle_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_c = PTHREAD_COND_INITIALIZER;
static int idle_stop;

static void *idle_thread(void *p)
{
	(void)p;
	pthread_mutex_lock(&idle_m);
	while (!idle_stop)
		pthread_cond_wait(&idle_c, &idle_m);
	pthread_mutex_unlock(&idle_m);
	return NULL;
}

/* ---- a CPU hog: a process that spins until killed ---------------------- */

static pid_t hog_start(void)
{
	pid_t p = fork();

	if (p == 0) {
		volatile unsigned long x = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			x++;
	}
	if (p < 0) {
		perror("bench-locks: fork");
		exit(1);
	}
	return p;
}

static void hog_stop(pid_t p)
{
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
}

/* ---- uncontended ------------------------------------------------------- */

enum uop { U_MUTEX, U_READ, U_WRITE };

BENCH_INLINE void uncontended_loop(struct lk *l, enum uop op, long n, enum impl i)
{
	long k;

	switch (op) {
	case U_MUTEX:
		for (k = 0; k < n; k++) {
			m_lock(l, i);
			m_unlock(l, i);
		}
		break;
	case U_READ:
		for (k = 0; k < n; k++) {
			r_lock(l, i);
			r_unlock(l, i);
		}
		break;
	case U_WRITE:
		for (k = 0; k < n; k++) {
			w_lock(l, i);
			w_unlock(l, i);
		}
		break;
	}
}

static double uncontended_ns(enum impl impl, enum uop op, int kind, long n, int reps)
{
	static struct lk l;
	double best = 1e9, t0, t;
	int rep;

	lk_init(&l, impl, kind);
	for (rep = 0; rep < reps; rep++) {
		t0 = bench_cpu_now();
		BY_IMPL(impl, uncontended_loop, &l, op, n);
		t = (bench_cpu_now() - t0) / (double)n * 1e9;
		if (t < best)
			best = t;
	}
	lk_destroy(&l);
	return best;
}

/*
 * The floor of a lock with a locked instruction on each side: a lock
 * cmpxchg and an xchg on one word, nothing else, in ns per pair (best of
 * @rounds).  Its ratio to a peer's lock+unlock is the best any such lock
 * can reach on this CPU.
 */
static double floor_ns(long n, int rounds)
{
	static uint32_t w;
	double best = 1e9, t0, t;

	for (int r = 0; r < rounds; r++) {
		t0 = bench_cpu_now();
		for (long k = 0; k < n; k++) {
			uint32_t c = 0;

			__atomic_compare_exchange_n(&w, &c, 1, false,
						    __ATOMIC_ACQUIRE,
						    __ATOMIC_RELAXED);
			__atomic_exchange_n(&w, 0, __ATOMIC_RELEASE);
		}
		t = (bench_cpu_now() - t0) / (double)n * 1e9;
		best = t < best ? t : best;
	}
	return best;
}

static void bench_uncontended(void)
{
	static const char *const opn[] = { "mutex lock+unlock", "rwlock rdlock+unlock",
					   "rwlock wrlock+unlock" };
	enum { ROUNDS = 41 };
	long n = 200000;
	double gm = 0, am = 0, fl;
	int i, op, kind, r, m;

	printf("\n== uncontended (ns of CPU time per lock+unlock, second thread alive; best of %d "
	       "rounds x %ld;\n   ratios: median of the rounds' ratios; target: syncfix <= 0.80x "
	       "each)\n", ROUNDS, n);
	printf("%-38s %8s %8s %8s %7s %7s\n", "", "glibc", "absl", "syncfix",
	       "/glibc", "/absl");
	for (i = 0; i < 5; i++) {
		double best[NIMPL], x[NIMPL], xg[ROUNDS], xa[ROUNDS];
		char name[64];

		op = i < 3 ? i : i - 2;
		kind = i < 3 ? 0 : 2;
		for (m = 0; m < NIMPL; m++)
			best[m] = 1e9;
		/* Taking turns, so that all see the same machine noise. */
		for (r = 0; r < ROUNDS; r++) {
			for (m = 0; m < NIMPL; m++) {
				x[m] = uncontended_ns((enum impl)m, (enum uop)op, kind, n, 1);
				best[m] = x[m] < best[m] ? x[m] : best[m];
			}
			xg[r] = x[SYNCFIX] / x[GLIBC];
			xa[r] = x[SYNCFIX] / x[ABSL];
		}
		snprintf(name, sizeof(name), "%s%s", opn[op],
			 kind ? " (nonrecursive)" : "");
		printf("%-38s %8.2f %8.2f %8.2f %7.2f %7.2f\n", name, best[GLIBC],
		       best[ABSL], best[SYNCFIX], median(xg, ROUNDS), median(xa, ROUNDS));
		fflush(stdout);
		if (i == 0)
			gm = best[GLIBC], am = best[ABSL];
	}
	fl = floor_ns(n, ROUNDS);
	printf("%-38s %8s %8s %8.2f %7.2f %7.2f\n", "floor: cmpxchg+xchg alone (vs mutex)",
	       "", "", fl, fl / gm, fl / am);
}

/* ---- contended throughput ---------------------------------------------- */

#define MAX_THREADS 8
#define MAX_ROUNDS 64

struct cshared {
	struct lk l;
	int mutex_only, write_pct, paced;
	_Alignas(64) volatile int go, stop;
	int ready;
	_Alignas(64) long data[8];
};

struct cthread {
	struct cshared *s;
	long ops;
	uint32_t seed;
	pthread_t t;
} __attribute__((aligned(64)));

BENCH_INLINE void contended_loop(struct cthread *c, enum impl impl)
{
	struct cshared *s = c->s;
	uint32_t seed = c->seed;
	long ops = 0, v;
	int i, k;

	while (!s->stop) {
		for (k = 0; k < 64; k++) {
			if (s->mutex_only) {
				m_lock(&s->l, impl);
				s->data[0]++;
				m_unlock(&s->l, impl);
			} else if ((int)(bench_rnd(&seed) % 100) < s->write_pct) {
				w_lock(&s->l, impl);
				for (i = 0; i < 8; i++)
					s->data[i]++;
				w_unlock(&s->l, impl);
			} else {
				r_lock(&s->l, impl);
				for (v = 0, i = 0; i < 8; i++)
					v += s->data[i];
				bench_keep(v);
				r_unlock(&s->l, impl);
			}
			if (s->paced)
				for (i = (int)(bench_rnd(&seed) % 16); i > 0; i--)
					bench_relax();
		}
		ops += 64;
	}
	c->ops = ops;
}

static void *contended_worker(void *p)
{
	struct cthread *c = p;
	struct cshared *s = c->s;

	__atomic_add_fetch(&s->ready, 1, __ATOMIC_SEQ_CST);
	while (!s->go)
		sched_yield();
	BY_IMPL(s->l.impl, contended_loop, c);
	return NULL;
}

/*
 * One run of @secs: throughput (operations per second) and fairness (the
 * fewest operations of one thread over the most).
 */
static void contended_run(enum impl impl, int kind, int mutex_only, int write_pct,
			  int paced, int nthreads, double secs, double *rate,
			  double *fair)
{
	static struct cshared *s;
	static struct cthread c[MAX_THREADS];
	long ops, lo, hi;
	double t0;
	int i;

	if (!s)
		s = aligned_alloc(64, sizeof(*s));
	memset(s, 0, sizeof(*s));
	lk_init(&s->l, impl, kind);
	s->mutex_only = mutex_only;
	s->write_pct = write_pct;
	s->paced = paced;
	for (i = 0; i < nthreads; i++) {
		c[i].s = s;
		c[i].ops = 0;
		c[i].seed = (uint32_t)(i + 1) * 2654435761u;
		pthread_create(&c[i].t, NULL, contended_worker, &c[i]);
	}
	while (__atomic_load_n(&s->ready, __ATOMIC_SEQ_CST) < nthreads)
		sched_yield();
	t0 = bench_now();
	s->go = 1;
	usleep((useconds_t)(secs * 1e6));
	s->stop = 1;
	lo = -1;
	hi = 0;
	for (ops = 0, i = 0; i < nthreads; i++) {
		pthread_join(c[i].t, NULL);
		ops += c[i].ops;
		lo = lo < 0 || c[i].ops < lo ? c[i].ops : lo;
		hi = c[i].ops > hi ? c[i].ops : hi;
	}
	*rate = (double)ops / (bench_now() - t0);
	*fair = hi ? (double)lo / (double)hi : 0;
	lk_destroy(&s->l);
}

/* SF_BENCH_ROUNDS=N: rounds per contention row (default 5). */
static int contended_rounds(void)
{
	const char *e = getenv("SF_BENCH_ROUNDS");
	int n = e ? atoi(e) : 5;

	return n > 0 && n <= MAX_ROUNDS ? n : 5;
}

/* SF_BENCH_SECS=S: seconds per contention run (default 0.2). */
static double contended_secs(void)
{
	const char *e = getenv("SF_BENCH_SECS");
	double s = e ? atof(e) : 0.2;

	return s > 0 ? s : 0.2;
}

/* SF_BENCH_ONLY=TEXT: only the contention rows whose name contains TEXT. */
static bool row_selected(const char *name)
{
	const char *e = getenv("SF_BENCH_ONLY");

	return !e || strstr(name, e);
}

/*
 * One row: rounds in which the three implementations run one after
 * another (each round starting with the next one, so that none always
 * follows the same), then the median over the rounds of each one's
 * throughput and fairness, and of syncfix's ratios within a round.
 */
static void contended_row(const char *name, int kind, int mutex_only,
			  int write_pct, int paced, int nthreads)
{
	double rate[NIMPL][MAX_ROUNDS], fair[NIMPL][MAX_ROUNDS];
	double xg[MAX_ROUNDS], xa[MAX_ROUNDS];
	int r, k, m, rounds = contended_rounds();
	double secs = contended_secs();

	if (!row_selected(name))
		return;
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < NIMPL; k++) {
			m = (r + k) % NIMPL;
			contended_run((enum impl)m, kind, mutex_only, write_pct,
				      paced, nthreads, secs, &rate[m][r], &fair[m][r]);
		}
		xg[r] = rate[SYNCFIX][r] / rate[GLIBC][r];
		xa[r] = rate[SYNCFIX][r] / rate[ABSL][r];
		if (getenv("SF_BENCH_RAW"))
			fprintf(stderr, "%s %d round %d: %.2f %.2f %.2f Mops/s, fair %.2f %.2f %.2f\n",
				name, nthreads, r, rate[GLIBC][r] / 1e6, rate[ABSL][r] / 1e6,
				rate[SYNCFIX][r] / 1e6, fair[GLIBC][r], fair[ABSL][r],
				fair[SYNCFIX][r]);
	}
	printf("%-30s %3d %8.2f %8.2f %8.2f %7.2f %7.2f  %5.2f %5.2f %5.2f\n",
	       name, nthreads, median(rate[GLIBC], rounds) / 1e6,
	       median(rate[ABSL], rounds) / 1e6, median(rate[SYNCFIX], rounds) / 1e6,
	       median(xg, rounds), median(xa, rounds), median(fair[GLIBC], rounds),
	       median(fair[ABSL], rounds), median(fair[SYNCFIX], rounds));
	fflush(stdout);
}

static void contended_header(const char *what, int paced, int hog)
{
	printf("\n== %s contention%s (Mops/s; median of %d rounds x %.2g s each;\n"
	       "   fairness = fewest/most ops of one thread; target: syncfix >= %.2fx each)\n",
	       what, hog ? " with a CPU hog (one spinning process)" : "",
	       contended_rounds(), contended_secs(), paced ? 1.2 : 1.0);
	printf("%-30s %3s %8s %8s %8s %7s %7s  %-17s\n", "", "thr", "glibc", "absl",
	       "syncfix", "/glibc", "/absl", "fair: g     a     s");
}

/* Paced: 0-15 PAUSEs between operations; 2, 4 and 8 threads. */
static void bench_paced(int hog)
{
	static const int threads[] = { 2, 4, 8 };
	pid_t h = hog ? hog_start() : 0;
	int t, k, mix;

	contended_header("paced", 1, hog);
	for (t = 0; t < 3; t++)
		contended_row("mutex", 0, 1, 0, 1, threads[t]);
	for (k = 0; k < 3; k++)
		for (mix = 0; mix < 2; mix++)
			for (t = 0; t < 3; t++) {
				char name[64];

				snprintf(name, sizeof(name), "rwlock %s %s", kind_name[k],
					 mix ? "50/50" : "90/10");
				contended_row(name, k, 0, mix ? 50 : 10, 1, threads[t]);
			}
	if (hog)
		hog_stop(h);
}

/* Back-to-back: no pause between operations; 4 and 8 threads on 2 CPUs. */
static void bench_back_to_back(int hog)
{
	static const int threads[] = { 4, 8 };
	pid_t h = hog ? hog_start() : 0;
	int t, k;

	contended_header("back-to-back", 0, hog);
	for (t = 0; t < 2; t++)
		contended_row("mutex", 0, 1, 0, 0, threads[t]);
	for (k = 0; k < 3; k++)
		for (t = 0; t < 2; t++) {
			char name[64];

			snprintf(name, sizeof(name), "rwlock %s 90/10", kind_name[k]);
			contended_row(name, k, 0, 10, 0, threads[t]);
		}
	if (hog)
		hog_stop(h);
}

/* ---- writer wait under a reader stream ---------------------------------- */

struct wshared {
	struct lk l;
	volatile int stop, writer_done;
	volatile double readers_end;	/* readers stop then, even if the writer starves */
	double max_wait, sum_wait;
	long nwrites;
};

static void *stream_reader(void *p)
{
	struct wshared *s = p;
	enum impl i = s->l.impl;
	double t;

	while (!s->writer_done && bench_now() < s->readers_end) {
		BY_IMPL(i, r_lock, &s->l);
		t = bench_now() + 50e-6;	/* hold 50 us */
		while (bench_now() < t)
			bench_relax();
		BY_IMPL(i, r_unlock, &s->l);
	}
	return NULL;
}

static void *stream_writer(void *p)
{
	struct wshared *s = p;
	enum impl i = s->l.impl;
	double t0, w;

	while (!s->stop) {
		usleep(2000);
		t0 = bench_now();
		BY_IMPL(i, w_lock, &s->l);
		w = bench_now() - t0;
		BY_IMPL(i, w_unlock, &s->l);
		if (w > s->max_wait)
			s->max_wait = w;
		s->sum_wait += w;
		s->nwrites++;
	}
	s->writer_done = 1;
	return NULL;
}

static void writer_wait(enum impl impl, int kind, double secs, double *maxw,
			double *meanw, long *n)
{
	struct wshared *s = aligned_alloc(64, sizeof(*s));
	pthread_t r[3], w;
	int i;

	memset(s, 0, sizeof(*s));
	lk_init(&s->l, impl, kind);
	s->readers_end = bench_now() + secs + 1.0;
	for (i = 0; i < 3; i++)
		pthread_create(&r[i], NULL, stream_reader, s);
	pthread_create(&w, NULL, stream_writer, s);
	usleep((useconds_t)(secs * 1e6));
	s->stop = 1;
	pthread_join(w, NULL);
	for (i = 0; i < 3; i++)
		pthread_join(r[i], NULL);
	*maxw = s->max_wait;
	*meanw = s->nwrites ? s->sum_wait / (double)s->nwrites : 0;
	*n = s->nwrites;
	lk_destroy(&s->l);
	free(s);
}

static void writer_wait_row(const char *kind, enum impl impl, int k)
{
	double mx, mean;
	long n;

	writer_wait(impl, k, 1.0, &mx, &mean, &n);
	printf("%-16s %-8s %8ld %12.3f %12.3f\n", kind, impl_name[impl], n,
	       mx * 1e3, mean * 1e3);
	fflush(stdout);
}

static void bench_writer_wait(void)
{
	int k;

	printf("\n== writer wait under a continuous stream of 3 readers (50 us each), 1 s; "
	       "a write every 2 ms\n");
	printf("%-16s %-8s %8s %12s %12s\n", "kind", "impl", "writes", "max wait ms",
	       "mean wait ms");
	for (k = 0; k < 3; k++) {
		writer_wait_row(kind_name[k], GLIBC, k);
		writer_wait_row(kind_name[k], SYNCFIX, k);
	}
	writer_wait_row("(no kinds)", ABSL, 0);
	printf("(readers stop 1 s after the run: a max wait near that means the writer starved;\n"
	       " prefer-reader admits readers while a writer waits; syncfix prefer-writer does not)\n");
}

/* ---- slots: one line of ns figures for comparing builds ------------------ */

static void bench_slots(void)
{
	struct sf_lfence_status st;
	long n = 5000000;

	sf_lfence_status(&st);
	printf("slots=%u patched=%u mutex=%.2f rd=%.2f wr=%.2f\n",
	       st.slots_found, st.slots_patched,
	       uncontended_ns(SYNCFIX, U_MUTEX, 0, n, 5),
	       uncontended_ns(SYNCFIX, U_READ, 0, n, 5),
	       uncontended_ns(SYNCFIX, U_WRITE, 0, n, 5));
}

/*
 * Condition variables: a ping-pong between two threads (each handoff a
 * signal and a wait, the waiter asleep), and a broadcast that wakes 8
 * waiters, each then back to waiting: handoffs or wakeups per second,
 * sf_cond with sf_mutex against pthread_cond with pthread_mutex and
 * absl::CondVar with absl::Mutex.
 */
struct cv {
	struct lk l;		/* its mutexes */
	pthread_cond_t pc;
	sf_cond_t c;
	_Alignas(64) char ac[BENCH_ABSL_SIZE];	/* absl::CondVar */
	long turn, round, stop, woken;
};

static void cv_lock(struct cv *v)
{
	BY_IMPL(v->l.impl, m_lock, &v->l);
}

static void cv_unlock(struct cv *v)
{
	BY_IMPL(v->l.impl, m_unlock, &v->l);
}

static void cv_wait(struct cv *v)
{
	v->l.impl == GLIBC ? (void)pthread_cond_wait(&v->pc, &v->l.pm) :
	v->l.impl == ABSL  ? bench_absl_cv_wait(v->ac, v->l.am) :
			     (void)sf_cond_wait(&v->c, &v->l.sm);
}

static void cv_wake(struct cv *v, int all)
{
	if (v->l.impl == GLIBC)
		all ? pthread_cond_broadcast(&v->pc) : pthread_cond_signal(&v->pc);
	else if (v->l.impl == ABSL)
		all ? bench_absl_cv_signal_all(v->ac) : bench_absl_cv_signal(v->ac);
	else
		all ? sf_cond_broadcast(&v->c) : sf_cond_signal(&v->c);
}

static void cv_init(struct cv *v, enum impl impl)
{
	memset(v, 0, sizeof(*v));
	lk_init(&v->l, impl, 0);
	pthread_cond_init(&v->pc, NULL);
	sf_cond_init(&v->c, NULL);
	bench_absl_cv_init(v->ac);
}

static void cv_destroy(struct cv *v)
{
	pthread_cond_destroy(&v->pc);
	sf_cond_destroy(&v->c);
	bench_absl_cv_destroy(v->ac);
	lk_destroy(&v->l);
}

struct cv_arg {
	struct cv *v;
	long me, n;
};

static void *cv_player(void *p)
{
	struct cv_arg *a = p;
	struct cv *v = a->v;

	for (long i = 0; i < a->n; i++) {
		cv_lock(v);
		while ((v->turn & 1) != a->me)
			cv_wait(v);
		v->turn++;
		cv_wake(v, 0);
		cv_unlock(v);
	}
	return NULL;
}

static double cv_pingpong(enum impl impl, long n)
{
	static struct cv v;
	struct cv_arg a[2] = { { &v, 0, n }, { &v, 1, n } };
	pthread_t t[2];
	double t0, r;

	cv_init(&v, impl);
	t0 = bench_now();
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, cv_player, &a[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	r = (double)(2 * n) / (bench_now() - t0);
	cv_destroy(&v);
	return r;
}

static void *cv_listener(void *p)
{
	struct cv *v = p;
	long seen = 0;

	cv_lock(v);
	while (!v->stop) {
		while (v->round == seen && !v->stop)
			cv_wait(v);
		seen = v->round;
		v->woken++;
	}
	cv_unlock(v);
	return NULL;
}

static double cv_broadcast(enum impl impl, double secs)
{
	static struct cv v;
	pthread_t t[8];
	double t0, dt;
	long woken;

	cv_init(&v, impl);
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, cv_listener, &v);
	t0 = bench_now();
	while (bench_now() - t0 < secs) {
		cv_lock(&v);
		v.round++;
		cv_wake(&v, 1);
		cv_unlock(&v);
		sched_yield();
	}
	cv_lock(&v);
	v.stop = 1;
	woken = v.woken;
	cv_wake(&v, 1);
	cv_unlock(&v);
	dt = bench_now() - t0;
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	cv_destroy(&v);
	return (double)woken / dt;
}

/* One row: @what's rate per implementation, best of 3 taking turns. */
static void cv_row(const char *what, double (*rate)(enum impl impl))
{
	double best[NIMPL] = { 0 };

	for (int k = 0; k < 3 * NIMPL; k++) {
		double r = rate((enum impl)(k % NIMPL));

		if (r > best[k % NIMPL])
			best[k % NIMPL] = r;
	}
	printf("%-38s %9.0f %9.0f %9.0f %7.2f %7.2f\n", what, best[GLIBC],
	       best[ABSL], best[SYNCFIX], best[SYNCFIX] / best[GLIBC],
	       best[SYNCFIX] / best[ABSL]);
}

static double cv_pingpong_rate(enum impl impl)
{
	return cv_pingpong(impl, 50000);
}

static double cv_broadcast_rate(enum impl impl)
{
	return cv_broadcast(impl, 0.5);
}

static void bench_cond(void)
{
	printf("\n== condition variable (higher is better, best of 3)\n");
	printf("%-38s %9s %9s %9s %7s %7s\n", "", "glibc", "absl", "syncfix",
	       "/glibc", "/absl");
	cv_row("ping-pong handoffs/s (2 threads)", cv_pingpong_rate);
	cv_row("broadcast to 8 waiters: wakeups/s", cv_broadcast_rate);
}

int main(int argc, char **argv)
{
	static const char *const modes[] = {
		"uncontended", "contended", "paced", "back-to-back", "paced-hog",
		"back-to-back-hog", "writer-wait", "cond", "slots", NULL };
	pthread_t idle;
	int i, k;

	for (i = 1; i < argc; i++) {
		for (k = 0; modes[k] && strcmp(argv[i], modes[k]); k++)
			;
		if (!modes[k]) {
			fprintf(stderr, "usage: bench-locks [uncontended|contended|paced|"
				"back-to-back|paced-hog|back-to-back-hog|writer-wait|cond|"
				"slots]...\n");
			return 2;
		}
	}
	bench_absl_setup();
	pthread_create(&idle, NULL, idle_thread, NULL);
	for (i = 1; i < argc || i == 1; i++) {
		const char *m = i < argc ? argv[i] : NULL;
		bool all = !m, cont = m && !strcmp(m, "contended");

		if (all || !strcmp(m, "uncontended"))
			bench_uncontended();
		if (all || cont || !strcmp(m, "paced"))
			bench_paced(0);
		if (all || cont || !strcmp(m, "back-to-back"))
			bench_back_to_back(0);
		if (all || cont || !strcmp(m, "paced-hog"))
			bench_paced(1);
		if (all || cont || !strcmp(m, "back-to-back-hog"))
			bench_back_to_back(1);
		if (all || !strcmp(m, "writer-wait"))
			bench_writer_wait();
		if (all || !strcmp(m, "cond"))
			bench_cond();
		if (m && !strcmp(m, "slots"))
			bench_slots();
		fflush(stdout);
	}
	pthread_mutex_lock(&idle_m);
	idle_stop = 1;
	pthread_cond_signal(&idle_c);
	pthread_mutex_unlock(&idle_m);
	pthread_join(idle, NULL);
	return 0;
}
