// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-locks.c - syncfix locks against glibc's, in the same run.
 *
 *   bench-locks [uncontended|contended|writer-wait|slots]...  (default: the first three)
 *
 * Targets: uncontended lock+unlock at most 1.0x glibc's time; contended
 * throughput at least 1.0x glibc's.
 *
 * uncontended   lock+unlock in a loop, ns per pair, with a second thread
 *               alive (glibc skips atomics in single-threaded processes).
 * contended     operations per second at 2, 4 and 8 threads: mutex, and
 *               rwlock read-mostly (95% reads) and write-heavy (50%), per kind.
 * writer-wait   one writer asking every 2 ms while 3 readers keep the lock
 *               read-held in overlapping turns: max and mean writer wait.
 * slots         ns per lock+unlock only, one line, for comparing builds
 *               (without slots, slots as NOPs, slots as lfence).
 */
#include "bench.h"

#include <syncfix.h>

static const char *const kind_name[] = { "prefer-reader", "prefer-writer",
					 "nonrecursive" };
static const int glibc_kind[] = { PTHREAD_RWLOCK_PREFER_READER_NP,
				  PTHREAD_RWLOCK_PREFER_WRITER_NP,
				  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP };

/* ---- the locks under test behind one interface ------------------------ */

enum impl { GLIBC, SYNCFIX };

struct lk {
	enum impl impl;
	pthread_mutex_t pm;
	pthread_rwlock_t prw;
	sf_mutex_t sm;
	sf_rwlock_t srw;
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
}

#define M_LOCK(l)   ((l)->impl == GLIBC ? pthread_mutex_lock(&(l)->pm) : sf_mutex_lock(&(l)->sm))
#define M_UNLOCK(l) ((l)->impl == GLIBC ? pthread_mutex_unlock(&(l)->pm) : sf_mutex_unlock(&(l)->sm))
#define R_LOCK(l)   ((l)->impl == GLIBC ? pthread_rwlock_rdlock(&(l)->prw) : sf_rwlock_rdlock(&(l)->srw))
#define W_LOCK(l)   ((l)->impl == GLIBC ? pthread_rwlock_wrlock(&(l)->prw) : sf_rwlock_wrlock(&(l)->srw))
#define RW_UNLOCK(l) ((l)->impl == GLIBC ? pthread_rwlock_unlock(&(l)->prw) : sf_rwlock_unlock(&(l)->srw))

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

/* ---- uncontended ------------------------------------------------------- */

enum uop { U_MUTEX, U_READ, U_WRITE };

static double uncontended_ns(enum impl impl, enum uop op, int kind, long n, int reps)
{
	struct lk l;
	double best = 1e9, t0, t;
	long i;
	int rep;

	lk_init(&l, impl, kind);
	for (rep = 0; rep < reps; rep++) {
		t0 = bench_now();
		switch (op) {
		case U_MUTEX:
			for (i = 0; i < n; i++) {
				M_LOCK(&l);
				M_UNLOCK(&l);
			}
			break;
		case U_READ:
			for (i = 0; i < n; i++) {
				R_LOCK(&l);
				RW_UNLOCK(&l);
			}
			break;
		case U_WRITE:
			for (i = 0; i < n; i++) {
				W_LOCK(&l);
				RW_UNLOCK(&l);
			}
			break;
		}
		t = (bench_now() - t0) / (double)n * 1e9;
		if (t < best)
			best = t;
	}
	return best;
}

static void bench_uncontended(void)
{
	static const char *const opn[] = { "mutex lock+unlock", "rwlock rdlock+unlock",
					   "rwlock wrlock+unlock" };
	long n = 2000000;
	int op;

	printf("\n== uncontended (ns per lock+unlock, second thread alive; ratio = syncfix/glibc, target <= 1.00)\n");
	printf("%-38s %9s %9s %7s\n", "", "glibc", "syncfix", "ratio");
	int i, kind;

	for (i = 0; i < 5; i++) {
		char name[64];
		double g = 1e9, s = 1e9, x;
		int rep;

		op = i < 3 ? i : i - 2;
		kind = i < 3 ? 0 : 2;
		/* Alternate the two so that both see the same machine noise. */
		for (rep = 0; rep < 7; rep++) {
			x = uncontended_ns(GLIBC, (enum uop)op, kind, n, 1);
			g = x < g ? x : g;
			x = uncontended_ns(SYNCFIX, (enum uop)op, kind, n, 1);
			s = x < s ? x : s;
		}
		snprintf(name, sizeof(name), "%s%s", opn[op],
			 kind ? " (nonrecursive)" : "");
		printf("%-38s %9.2f %9.2f %7.2f\n", name, g, s, s / g);
	}
}

/* ---- contended throughput ---------------------------------------------- */

struct cshared {
	struct lk l;
	int mutex_only, write_pct;
	volatile int stop;
	long data[8];
	char pad[64];
};

struct cthread {
	struct cshared *s;
	long ops;
	uint32_t seed;
	pthread_t t;
};

static void *contended_worker(void *p)
{
	struct cthread *c = p;
	struct cshared *s = c->s;
	long ops = 0, v;
	int i, k;

	while (!s->stop) {
		for (k = 0; k < 64; k++) {
			if (s->mutex_only) {
				M_LOCK(&s->l);
				s->data[0]++;
				M_UNLOCK(&s->l);
			} else if ((int)(bench_rnd(&c->seed) % 100) < s->write_pct) {
				W_LOCK(&s->l);
				for (i = 0; i < 8; i++)
					s->data[i]++;
				RW_UNLOCK(&s->l);
			} else {
				R_LOCK(&s->l);
				for (v = 0, i = 0; i < 8; i++)
					v += s->data[i];
				bench_keep(v);
				RW_UNLOCK(&s->l);
			}
			for (i = (int)(bench_rnd(&c->seed) % 16); i > 0; i--)
				bench_relax();
		}
		ops += 64;
	}
	c->ops = ops;
	return NULL;
}

static double throughput(enum impl impl, int kind, int mutex_only, int write_pct,
			 int nthreads, double secs)
{
	struct cshared *s = aligned_alloc(64, sizeof(*s));
	struct cthread c[8];
	double best = 0, t0, el;
	long ops;
	int i, rep;

	for (rep = 0; rep < 3; rep++) {
		memset(s, 0, sizeof(*s));
		lk_init(&s->l, impl, kind);
		s->mutex_only = mutex_only;
		s->write_pct = write_pct;
		for (i = 0; i < nthreads; i++) {
			c[i].s = s;
			c[i].seed = (uint32_t)(i + 1) * 2654435761u;
			pthread_create(&c[i].t, NULL, contended_worker, &c[i]);
		}
		t0 = bench_now();
		usleep((useconds_t)(secs * 1e6));
		s->stop = 1;
		for (ops = 0, i = 0; i < nthreads; i++) {
			pthread_join(c[i].t, NULL);
			ops += c[i].ops;
		}
		el = bench_now() - t0;
		if (ops / el > best)
			best = ops / el;
	}
	free(s);
	return best;
}

static void bench_contended(void)
{
	static const int threads[] = { 2, 4, 8 };
	int t, k, mix;

	printf("\n== contended throughput (Mops/s, best of 3 x 0.2 s; ratio = syncfix/glibc, target >= 1.00)\n");
	printf("%-38s %8s %8s %8s %7s\n", "", "threads", "glibc", "syncfix", "ratio");
	for (t = 0; t < 3; t++) {
		double g = throughput(GLIBC, 0, 1, 0, threads[t], 0.2);
		double s = throughput(SYNCFIX, 0, 1, 0, threads[t], 0.2);

		printf("%-38s %8d %8.2f %8.2f %7.2f\n", "mutex", threads[t],
		       g / 1e6, s / 1e6, s / g);
	}
	for (k = 0; k < 3; k++)
		for (mix = 0; mix < 2; mix++)
			for (t = 0; t < 3; t++) {
				int wp = mix ? 50 : 5;
				double g = throughput(GLIBC, k, 0, wp, threads[t], 0.2);
				double s = throughput(SYNCFIX, k, 0, wp, threads[t], 0.2);
				char name[64];

				snprintf(name, sizeof(name), "rwlock %s %s", kind_name[k],
					 mix ? "50/50" : "95/5");
				printf("%-38s %8d %8.2f %8.2f %7.2f\n", name, threads[t],
				       g / 1e6, s / 1e6, s / g);
			}
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
	double t;

	while (!s->writer_done && bench_now() < s->readers_end) {
		R_LOCK(&s->l);
		t = bench_now() + 50e-6;	/* hold 50 us */
		while (bench_now() < t)
			bench_relax();
		RW_UNLOCK(&s->l);
	}
	return NULL;
}

static void *stream_writer(void *p)
{
	struct wshared *s = p;
	double t0, w;

	while (!s->stop) {
		usleep(2000);
		t0 = bench_now();
		W_LOCK(&s->l);
		w = bench_now() - t0;
		RW_UNLOCK(&s->l);
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
	struct wshared *s = calloc(1, sizeof(*s));
	pthread_t r[3], w;
	int i;

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
	free(s);
}

static void bench_writer_wait(void)
{
	int k;

	printf("\n== writer wait under a continuous stream of 3 readers (50 us each), 1 s; "
	       "a write every 2 ms\n");
	printf("%-16s %-8s %8s %12s %12s\n", "kind", "impl", "writes", "max wait ms",
	       "mean wait ms");
	for (k = 0; k < 3; k++) {
		double mx, mean;
		long n;

		writer_wait(GLIBC, k, 1.0, &mx, &mean, &n);
		printf("%-16s %-8s %8ld %12.3f %12.3f\n", kind_name[k], "glibc", n,
		       mx * 1e3, mean * 1e3);
		writer_wait(SYNCFIX, k, 1.0, &mx, &mean, &n);
		printf("%-16s %-8s %8ld %12.3f %12.3f\n", kind_name[k], "syncfix", n,
		       mx * 1e3, mean * 1e3);
	}
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
 * sf_cond with sf_mutex against pthread_cond with pthread_mutex.
 */
struct cv {
	int sf;
	sf_mutex_t m;
	sf_cond_t c;
	pthread_mutex_t pm;
	pthread_cond_t pc;
	long turn, round, stop, woken;
};

/* Lock (@lock) or unlock the mutex of the implementation measured. */
static void cv_mutex(struct cv *v, int lock)
{
	if (v->sf)
		(void)(lock ? sf_mutex_lock(&v->m) : sf_mutex_unlock(&v->m));
	else
		(void)(lock ? pthread_mutex_lock(&v->pm) :
			      pthread_mutex_unlock(&v->pm));
}

#define cv_lock(v)	cv_mutex((v), 1)
#define cv_unlock(v)	cv_mutex((v), 0)

static void cv_wait(struct cv *v)
{
	if (v->sf)
		sf_cond_wait(&v->c, &v->m);
	else
		pthread_cond_wait(&v->pc, &v->pm);
}

static void cv_wake(struct cv *v, int all)
{
	if (v->sf)
		all ? sf_cond_broadcast(&v->c) : sf_cond_signal(&v->c);
	else
		all ? pthread_cond_broadcast(&v->pc) : pthread_cond_signal(&v->pc);
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

static double cv_pingpong(int sf, long n)
{
	static struct cv v;
	struct cv_arg a[2] = { { &v, 0, n }, { &v, 1, n } };
	pthread_t t[2];
	double t0;

	memset(&v, 0, sizeof(v));
	v.sf = sf;
	pthread_mutex_init(&v.pm, NULL);
	pthread_cond_init(&v.pc, NULL);
	t0 = bench_now();
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, cv_player, &a[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return (double)(2 * n) / (bench_now() - t0);
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

static double cv_broadcast(int sf, double secs)
{
	static struct cv v;
	pthread_t t[8];
	double t0, dt;
	long woken;

	memset(&v, 0, sizeof(v));
	v.sf = sf;
	pthread_mutex_init(&v.pm, NULL);
	pthread_cond_init(&v.pc, NULL);
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
	return (double)woken / dt;
}

/* One row: @what's rate for glibc and syncfix, best of 3 taking turns. */
static void cv_row(const char *what, double (*rate)(int sf))
{
	double best[2] = { 0, 0 };

	for (int k = 0; k < 6; k++) {
		double r = rate(k & 1);

		if (r > best[k & 1])
			best[k & 1] = r;
	}
	printf("%-42s %9.0f %9.0f %7.2f\n", what, best[0], best[1],
	       best[1] / best[0]);
}

static double cv_pingpong_rate(int sf)
{
	return cv_pingpong(sf, 50000);
}

static double cv_broadcast_rate(int sf)
{
	return cv_broadcast(sf, 0.5);
}

static void bench_cond(void)
{
	printf("\n== condition variable (ratio = syncfix/glibc, best of 3)\n");
	printf("%-42s %9s %9s %7s\n", "", "glibc", "syncfix", "ratio");
	cv_row("ping-pong handoffs/s (2 threads)", cv_pingpong_rate);
	cv_row("broadcast to 8 waiters: wakeups/s", cv_broadcast_rate);
}

int main(int argc, char **argv)
{
	pthread_t idle;
	int i;

	pthread_create(&idle, NULL, idle_thread, NULL);
	for (i = 1; i < argc || i == 1; i++) {
		const char *m = i < argc ? argv[i] : NULL;

		if (!m || !strcmp(m, "uncontended"))
			bench_uncontended();
		if (!m || !strcmp(m, "contended"))
			bench_contended();
		if (!m || !strcmp(m, "writer-wait"))
			bench_writer_wait();
		if (!m || !strcmp(m, "cond"))
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
