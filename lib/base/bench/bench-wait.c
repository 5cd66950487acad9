// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-wait.c - the two wait backends side by side, inside the VM where
 * syncfix.ko is loaded ("make bench-vm").
 *
 *   pingpong   two threads hand a word back and forth; each hand-off is a
 *              store, a wake and a wait on each side.  Raw futex
 *              (FUTEX_WAIT/WAKE_BITSET, private) against the raw
 *              SYNCFIX_IOC_WAIT/WAKE ioctls, interleaved, best of N
 *              rounds each; prints ns per round trip and the ratio.
 *              Then the wait of a process-shared lock: shared futex
 *              (no FUTEX_PRIVATE_FLAG) alone, and announced to the module
 *              around it (SYNCFIX_IOC_ANNOUNCE/RETRACT, as the library
 *              does for process-shared locks): the cost of being listed.
 *   contended  THREADS threads hammer one lock with a short critical
 *              section: glibc's pthread_mutex and pthread_rwlock, then
 *              sf_mutex and sf_rwlock (prefer-writer, 1 writer in 4) with
 *              the backend attribute SF_BACKEND_FUTEX and SF_BACKEND_IOCTL
 *              in the same process; prints operations per second and the
 *              ratios ioctl/futex and sf/glibc.
 *
 * Usage: bench-wait [pingpong] [contended]   (default: both)
 * Exit: 0, 1 on a setup error (no /dev/syncfix, ABI mismatch).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <syncfix.h>

#include <linux/syncfix.h>	/* uapi/: -I in lib/Makefile */
#include "bench.h"

#define ROUNDS		7
#define PP_ITERS	4000
#define CONT_SECS	0.3
#define THREADS		4

static int dev_fd = -1;

/* ---- ping-pong ---------------------------------------------------------- */

enum backend { B_FUTEX, B_IOCTL, B_SHARED, B_ANNOUNCED, NB };
static const char *const bname[] = { "futex", "ioctl", "shared", "announced" };

static void do_wait(enum backend b, uint32_t *w, uint32_t val)
{
	if (b == B_FUTEX) {
		syscall(SYS_futex, w, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, val,
			NULL, NULL, FUTEX_BITSET_MATCH_ANY);
	} else if (b >= B_SHARED) {
		struct syncfix_wait a;
		bool listed = false;

		if (b == B_ANNOUNCED) {
			memset(&a, 0, sizeof(a));
			a.addr = (uintptr_t)w;
			a.val = val;
			a.tag = SYNCFIX_TAG_MUTEX;
			listed = !ioctl(dev_fd, SYNCFIX_IOC_ANNOUNCE, &a);
		}
		syscall(SYS_futex, w, FUTEX_WAIT_BITSET, val, NULL, NULL,
			FUTEX_BITSET_MATCH_ANY);
		if (listed)
			ioctl(dev_fd, SYNCFIX_IOC_RETRACT, 0);
	} else {
		struct syncfix_wait a;

		memset(&a, 0, sizeof(a));
		a.addr = (uintptr_t)w;
		a.val = val;
		a.bitset = ~0u;
		a.tag = SYNCFIX_TAG_USER;
		ioctl(dev_fd, SYNCFIX_IOC_WAIT, &a);
	}
}

static void do_wake(enum backend b, uint32_t *w)
{
	if (b == B_FUTEX || b >= B_SHARED) {
		syscall(SYS_futex, w, FUTEX_WAKE_BITSET |
			(b == B_FUTEX ? FUTEX_PRIVATE_FLAG : 0), 1,
			NULL, NULL, FUTEX_BITSET_MATCH_ANY);
	} else {
		struct syncfix_wake a;

		memset(&a, 0, sizeof(a));
		a.addr = (uintptr_t)w;
		a.count = 1;
		a.bitset = ~0u;
		ioctl(dev_fd, SYNCFIX_IOC_WAKE, &a);
	}
}

struct pp {
	enum backend b;
	uint32_t turn;		/* 0: the ponger's turn to answer, 1: pinger's */
	long iters;
};

/* Waits for turn == 0, sets it to 1 and wakes the pinger. */
static void *ponger(void *arg)
{
	struct pp *p = arg;
	long i;

	for (i = 0; i < p->iters; i++) {
		while (__atomic_load_n(&p->turn, __ATOMIC_ACQUIRE) != 0)
			do_wait(p->b, &p->turn, 1);
		__atomic_store_n(&p->turn, 1, __ATOMIC_RELEASE);
		do_wake(p->b, &p->turn);
	}
	return NULL;
}

/* ns per round trip (two hand-offs, each with a wake and a sleep). */
static double pingpong_once(enum backend b)
{
	struct pp p = { .b = b, .turn = 1, .iters = PP_ITERS };
	pthread_t t;
	double t0;
	long i;

	pthread_create(&t, NULL, ponger, &p);
	t0 = bench_now();
	for (i = 0; i < p.iters; i++) {
		__atomic_store_n(&p.turn, 0, __ATOMIC_RELEASE);
		do_wake(b, &p.turn);
		while (__atomic_load_n(&p.turn, __ATOMIC_ACQUIRE) != 1)
			do_wait(b, &p.turn, 0);
	}
	t0 = bench_now() - t0;
	pthread_join(t, NULL);
	return t0 * 1e9 / (double)p.iters;
}

/* The "waits" counter of /proc/syncfix/status, or -1. */
static long long module_waits(void)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen("/proc/syncfix/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "waits:", 6))
			v = atoll(line + 6);
	fclose(f);
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void pingpong(void)
{
	double r[NB][ROUNDS], med[NB];
	int i, b;

	/* Interleaved, so that all see the same noise. */
	for (i = 0; i < ROUNDS; i++)
		for (b = 0; b < NB; b++)
			r[b][i] = pingpong_once((enum backend)b);
	printf("== wait/wake ping-pong, 2 threads, %d round trips x %d rounds\n",
	       PP_ITERS, ROUNDS);
	for (b = 0; b < NB; b++) {
		qsort(r[b], ROUNDS, sizeof(double), cmp_double);
		med[b] = r[b][ROUNDS / 2];
		printf("pingpong %-6s median %9.0f ns/round trip (best %9.0f)\n",
		       bname[b], med[b], r[b][0]);
	}
	printf("pingpong ratio ioctl/futex: median %.2f best %.2f (goal <= 1.5)\n",
	       med[1] / med[0], r[1][0] / r[0][0]);
	printf("pingpong ratio announced/shared futex: median %.2f best %.2f\n",
	       med[B_ANNOUNCED] / med[B_SHARED],
	       r[B_ANNOUNCED][0] / r[B_SHARED][0]);
}

/* ---- contended throughput ------------------------------------------------ */

enum lk { L_GLIBC_MUTEX, L_GLIBC_RW, L_SF_MUTEX, L_SF_RW };

struct cont {
	enum lk kind;
	pthread_mutex_t gm;
	pthread_rwlock_t grw;
	sf_mutex_t m;
	sf_rwlock_t rw;
	volatile int stop;
	long counter;		/* under the lock */
	long ops[THREADS];
};

struct cont_arg {
	struct cont *c;
	int id;
};

static void critical(struct cont *c)
{
	int i;

	c->counter++;
	for (i = 0; i < 20; i++)
		bench_keep(i);
}

static void *cont_thread(void *arg)
{
	struct cont_arg *a = arg;
	struct cont *c = a->c;
	uint32_t seed = 0x12345u * (uint32_t)(a->id + 1);
	long n = 0;

	while (!c->stop) {
		int w = (bench_rnd(&seed) & 3) == 0;

		switch (c->kind) {
		case L_GLIBC_MUTEX:
			pthread_mutex_lock(&c->gm);
			critical(c);
			pthread_mutex_unlock(&c->gm);
			break;
		case L_GLIBC_RW:
			if (w)
				pthread_rwlock_wrlock(&c->grw);
			else
				pthread_rwlock_rdlock(&c->grw);
			if (w)
				critical(c);
			pthread_rwlock_unlock(&c->grw);
			break;
		case L_SF_MUTEX:
			sf_mutex_lock(&c->m);
			critical(c);
			sf_mutex_unlock(&c->m);
			break;
		case L_SF_RW:
			if (w)
				sf_rwlock_wrlock(&c->rw);
			else
				sf_rwlock_rdlock(&c->rw);
			if (w)
				critical(c);
			sf_rwlock_unlock(&c->rw);
			break;
		}
		n++;
	}
	c->ops[a->id] = n;
	return NULL;
}

/* Operations per second of @kind with backend @backend (sf locks). */
static double contended_once(enum lk kind, int backend)
{
	static struct cont c;
	struct cont_arg a[THREADS];
	pthread_t t[THREADS];
	pthread_rwlockattr_t gra;
	sf_mutexattr_t ma;
	sf_rwlockattr_t ra;
	long total = 0;
	double t0;
	int i;

	memset(&c, 0, sizeof(c));
	c.kind = kind;
	pthread_mutex_init(&c.gm, NULL);
	pthread_rwlockattr_init(&gra);
	pthread_rwlockattr_setkind_np(&gra,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&c.grw, &gra);
	sf_mutexattr_init(&ma);
	sf_mutexattr_setbackend(&ma, backend);
	sf_mutex_init(&c.m, &ma);
	sf_rwlockattr_init(&ra);
	sf_rwlockattr_setkind(&ra, SF_RWLOCK_PREFER_WRITER_NONRECURSIVE);
	sf_rwlockattr_setbackend(&ra, backend);
	sf_rwlock_init(&c.rw, &ra);

	for (i = 0; i < THREADS; i++) {
		a[i] = (struct cont_arg){ &c, i };
		pthread_create(&t[i], NULL, cont_thread, &a[i]);
	}
	t0 = bench_now();
	usleep((useconds_t)(CONT_SECS * 1e6));
	c.stop = 1;
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		total += c.ops[i];
	}
	t0 = bench_now() - t0;
	pthread_mutex_destroy(&c.gm);
	pthread_rwlock_destroy(&c.grw);
	sf_mutex_destroy(&c.m);
	sf_rwlock_destroy(&c.rw);
	return (double)total / t0;
}

static void contended(void)
{
	/* glibc, sf on futex, sf on the ioctl; for the mutex and the rwlock. */
	static const struct { enum lk kind; int backend; const char *name; } cfg[] = {
		{ L_GLIBC_MUTEX, 0, "glibc pthread_mutex" },
		{ L_SF_MUTEX, SF_BACKEND_FUTEX, "sf_mutex futex" },
		{ L_SF_MUTEX, SF_BACKEND_IOCTL, "sf_mutex ioctl" },
		{ L_GLIBC_RW, 0, "glibc rwlock (pw-nr)" },
		{ L_SF_RW, SF_BACKEND_FUTEX, "sf_rwlock futex (pw-nr)" },
		{ L_SF_RW, SF_BACKEND_IOCTL, "sf_rwlock ioctl (pw-nr)" },
	};
	enum { N = sizeof(cfg) / sizeof(cfg[0]) };
	double r[N][ROUNDS], med[N];
	long long w0, mw[N] = { 0 };
	int i, k;

	for (i = 0; i < ROUNDS; i++)
		for (k = 0; k < N; k++) {
			w0 = module_waits();
			r[k][i] = contended_once(cfg[k].kind, cfg[k].backend);
			mw[k] += module_waits() - w0;
		}
	printf("== contended throughput, %d threads, 1 writer in 4 for rwlocks, "
	       "%.1f s x %d rounds\n", THREADS, CONT_SECS, ROUNDS);
	for (k = 0; k < N; k++) {
		qsort(r[k], ROUNDS, sizeof(double), cmp_double);
		med[k] = r[k][ROUNDS / 2];
		printf("contended %-26s median %11.0f ops/s  (%lld waits in the module)\n",
		       cfg[k].name, med[k], mw[k]);
	}
	printf("contended ratio sf_mutex ioctl/futex %.2f, sf_rwlock ioctl/futex %.2f "
	       "(throughput; > 1 is faster)\n", med[2] / med[1], med[5] / med[4]);
	printf("contended ratio sf/glibc: mutex futex %.2f ioctl %.2f, "
	       "rwlock futex %.2f ioctl %.2f\n", med[1] / med[0], med[2] / med[0],
	       med[4] / med[3], med[5] / med[3]);
}

int main(int argc, char **argv)
{
	struct syncfix_info info;
	int i, all = argc < 2;

	dev_fd = open("/dev/syncfix", O_RDWR | O_CLOEXEC);
	if (dev_fd < 0) {
		perror("bench-wait: /dev/syncfix");
		return 1;
	}
	memset(&info, 0, sizeof(info));
	if (ioctl(dev_fd, SYNCFIX_IOC_GET_INFO, &info) ||
	    info.abi_version != SYNCFIX_ABI_VERSION) {
		fprintf(stderr, "bench-wait: /dev/syncfix: ABI %u, want %u\n",
			info.abi_version, SYNCFIX_ABI_VERSION);
		return 1;
	}
	if (strcmp(sf_backend_name(SF_BACKEND_IOCTL), "ioctl")) {
		fprintf(stderr, "bench-wait: the library cannot use the ioctl\n");
		return 1;
	}
	printf("# bench-wait: %ld CPUs, syncfix ABI %u\n",
	       sysconf(_SC_NPROCESSORS_ONLN), info.abi_version);
	for (i = 1; i < argc || all; i++) {
		if (all || !strcmp(argv[i], "pingpong"))
			pingpong();
		if (all || !strcmp(argv[i], "contended"))
			contended();
		if (all)
			break;
	}
	return 0;
}
