/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the syncfix selftests: reading and writing the
 * module's files, parsing /proc/cpuinfo and /proc/syncfix/status, and
 * working out what the module should report on this machine.
 */
#ifndef SYNCFIX_UTIL_H
#define SYNCFIX_UTIL_H

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/syncfix.h>

#define SYNCFIX_SYSFS		"/sys/kernel/syncfix"
#define SYNCFIX_PROC		"/proc/syncfix"
#define SYNCFIX_STATUS		SYNCFIX_PROC "/status"
#define SYNCFIX_MODULE_SYSFS	"/sys/module/syncfix"
#define SYNCFIX_KO_DEFAULT	"/syncfix.ko"
#define SYNCFIX_DEV		"/dev/syncfix"
#define SYNCFIX_WAITERS		SYNCFIX_PROC "/waiters"

#define E147_MITIGATION \
	"Mitigation: lfence after locked instructions (AMD erratum 147)"
#define E147_VULNERABLE		"Vulnerable: AMD erratum 147 (6323525)"
#define E147_SINGLE \
	"Not affected (AMD erratum 147 present, single CPU online)"
#define NOT_AFFECTED		"Not affected"

#define MAX_CPUS		64

struct cpu_id {
	int cpu;
	char vendor[32];
	int family;
	int model;
	int stepping;
};

struct status_row {
	struct cpu_id id;
	char msr[32];
	char e147[32];
};

struct status {
	char version[64];
	char errata[256];
	char mitigation[32];
	char hotpatch[64];
	int online;
	int nrows;
	struct status_row rows[MAX_CPUS];
	char notes[2048];
};

/* Read a whole file; returns its length or -errno. */
static inline int read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len + 1 < size) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	close(fd);
	return len;
}

/* Read a one-line file without its trailing newline; returns 0 or -errno. */
static inline int read_line(const char *path, char *buf, size_t size)
{
	int len = read_file(path, buf, size);

	if (len < 0)
		return len;
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return 0;
}

/* One write(2) of len bytes; returns 0 or -errno. */
static inline int write_buf(const char *path, const char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

static inline int write_str(const char *path, const char *s)
{
	return write_buf(path, s, strlen(s));
}

static inline int sysfs_read(const char *name, char *buf, size_t size)
{
	char path[256];

	snprintf(path, sizeof(path), SYNCFIX_SYSFS "/%s", name);
	return read_line(path, buf, size);
}

static inline int set_mitigation(const char *mode)
{
	return write_str(SYNCFIX_SYSFS "/mitigation", mode);
}

/* 1 if the lfence sites are patched, 0 if not, -errno on error. */
static inline int hotpatch_patched(void)
{
	char buf[64];
	int ret = sysfs_read("hotpatch", buf, sizeof(buf));

	if (ret)
		return ret;
	if (!strncmp(buf, "patched ", 8))
		return 1;
	if (!strncmp(buf, "unpatched ", 10))
		return 0;
	return -EINVAL;
}

static inline bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Online CPUs as the kernel sees them, from /proc/cpuinfo. */
static inline int parse_cpuinfo(struct cpu_id *cpus, int max)
{
	char line[512];
	int n = -1;
	FILE *f;

	f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		char *key = line, *val, *end;

		if (!colon)
			continue;
		*colon = '\0';
		val = colon + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		val[strcspn(val, "\n")] = '\0';
		for (end = colon; end > key && isspace((unsigned char)end[-1]);)
			*--end = '\0';

		if (!strcmp(key, "processor")) {
			if (++n >= max) {
				fclose(f);
				return -E2BIG;
			}
			memset(&cpus[n], 0, sizeof(cpus[n]));
			cpus[n].cpu = atoi(val);
		} else if (n < 0) {
			continue;
		} else if (!strcmp(key, "vendor_id")) {
			snprintf(cpus[n].vendor, sizeof(cpus[n].vendor), "%s",
				 val);
		} else if (!strcmp(key, "cpu family")) {
			cpus[n].family = atoi(val);
		} else if (!strcmp(key, "model")) {
			cpus[n].model = atoi(val);
		} else if (!strcmp(key, "stepping")) {
			cpus[n].stepping = atoi(val);
		}
	}
	fclose(f);
	return n + 1;
}

/* /sys/kernel/syncfix/cpu: "cpuN: <vendor_id> <family> <model> <stepping>" */
static inline int parse_sysfs_cpu(struct cpu_id *cpus, int max)
{
	char buf[8192], *line, *save;
	int n = 0, ret;

	ret = read_file(SYNCFIX_SYSFS "/cpu", buf, sizeof(buf));
	if (ret < 0)
		return ret;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (n >= max)
			return -E2BIG;
		if (sscanf(line, "cpu%d: %31s %d %d %d", &cpus[n].cpu,
			   cpus[n].vendor, &cpus[n].family, &cpus[n].model,
			   &cpus[n].stepping) != 5)
			return -EINVAL;
		n++;
	}
	return n;
}

static inline void copy_value(char *dst, size_t size, const char *line,
			      const char *key)
{
	const char *v = line + strlen(key);

	while (*v == ' ')
		v++;
	snprintf(dst, size, "%s", v);
}

/* /proc/syncfix/status; returns 0 or -errno. */
static inline int parse_status(struct status *s)
{
	char buf[16384], *line, *save;
	bool table = false, notes = false;
	int ret;

	memset(s, 0, sizeof(*s));
	s->online = -1;
	ret = read_file(SYNCFIX_STATUS, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (notes) {
			strncat(s->notes, line,
				sizeof(s->notes) - strlen(s->notes) - 2);
			strcat(s->notes, "\n");
		} else if (!strcmp(line, "notes:")) {
			notes = true;
		} else if (table) {
			struct status_row *r = &s->rows[s->nrows];

			if (s->nrows >= MAX_CPUS)
				return -E2BIG;
			if (sscanf(line, "%d %31s %d %d %d %31s %31s",
				   &r->id.cpu, r->id.vendor, &r->id.family,
				   &r->id.model, &r->id.stepping, r->msr,
				   r->e147) != 7)
				return -EINVAL;
			s->nrows++;
		} else if (!strncmp(line, "cpu ", 4)) {
			table = true;
		} else if (!strncmp(line, "version:", 8)) {
			copy_value(s->version, sizeof(s->version), line,
				   "version:");
		} else if (!strncmp(line, "errata:", 7)) {
			copy_value(s->errata, sizeof(s->errata), line,
				   "errata:");
		} else if (!strncmp(line, "mitigation:", 11)) {
			copy_value(s->mitigation, sizeof(s->mitigation), line,
				   "mitigation:");
		} else if (!strncmp(line, "hotpatch:", 9)) {
			copy_value(s->hotpatch, sizeof(s->hotpatch), line,
				   "hotpatch:");
		} else if (!strncmp(line, "online cpus:", 12)) {
			s->online = atoi(line + 12);
		}
	}
	return 0;
}

/* Vendor, family and model match AMD erratum 147 (K8 before revision F). */
static inline bool e147_candidate(const struct cpu_id *c)
{
	return !strcmp(c->vendor, "AuthenticAMD") && c->family == 0xf &&
	       c->model < 0x40;
}

/*
 * What the module should report, from /proc/cpuinfo alone, except for
 * the firmware's MSR C001_1023h bit 33, which user space cannot read
 * without the msr driver: that is taken from /proc/syncfix/status
 * ("set" means the erratum is disarmed on that CPU).
 */
struct expect {
	int online;
	bool present;		/* erratum present on some online CPU */
	bool relevant;		/* ... and more than one CPU online */
};

static inline int expect_get(struct expect *e)
{
	struct cpu_id cpus[MAX_CPUS];
	struct status st;
	int n, i, j, ret;

	memset(e, 0, sizeof(*e));
	n = parse_cpuinfo(cpus, MAX_CPUS);
	if (n < 0)
		return n;
	ret = parse_status(&st);
	if (ret)
		return ret;
	e->online = n;
	for (i = 0; i < n; i++) {
		bool disarmed = false;

		if (!e147_candidate(&cpus[i]))
			continue;
		for (j = 0; j < st.nrows; j++)
			if (st.rows[j].id.cpu == cpus[i].cpu &&
			    !strcmp(st.rows[j].msr, "set"))
				disarmed = true;
		if (!disarmed)
			e->present = true;
	}
	e->relevant = e->present && e->online > 1;
	return 0;
}

/* The summary line the module should show for this state. */
static inline const char *expect_errata(const struct expect *e, bool patched)
{
	if (!e->present)
		return NOT_AFFECTED;
	if (!e->relevant)
		return E147_SINGLE;
	return patched ? E147_MITIGATION : E147_VULNERABLE;
}

/* Whether "auto" patches the lfence sites. */
static inline bool expect_auto_patched(const struct expect *e)
{
	return e->relevant;
}

/* Module loading, with the syscalls themselves. */
static inline const char *syncfix_ko(void)
{
	const char *ko = getenv("SYNCFIX_KO");

	return ko && *ko ? ko : SYNCFIX_KO_DEFAULT;
}

static inline bool module_loaded(void)
{
	return path_exists(SYNCFIX_MODULE_SYSFS);
}

/* Returns 0 or -errno. */
static inline int module_load(const char *params)
{
	int fd, ret;

	fd = open(syncfix_ko(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

/* Returns 0 or -errno; retries while the module is busy. */
static inline int module_unload(void)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (!syscall(SYS_delete_module, "syncfix", O_NONBLOCK))
			return 0;
		if (errno != EAGAIN && errno != EBUSY)
			return -errno;
		usleep(10000);
	}
	return -EBUSY;
}

/* /dev/syncfix: open it, or -errno. */
static inline int dev_open(void)
{
	int fd = open(SYNCFIX_DEV, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* SYNCFIX_IOC_WAIT; returns 0 or -errno. */
static inline int dev_wait(int fd, const volatile uint32_t *addr, uint32_t val,
			   uint32_t bitset, uint32_t tag, uint32_t flags,
			   int64_t timeout_ns)
{
	struct syncfix_wait w = {
		.addr = (uintptr_t)addr, .val = val, .bitset = bitset,
		.flags = flags, .tag = tag, .timeout_ns = timeout_ns,
	};

	return ioctl(fd, SYNCFIX_IOC_WAIT, &w) ? -errno : 0;
}

/* SYNCFIX_IOC_WAKE; returns the number woken or -errno. */
static inline int dev_wake(int fd, const volatile uint32_t *addr,
			   uint32_t count, uint32_t bitset)
{
	struct syncfix_wake w = {
		.addr = (uintptr_t)addr, .count = count, .bitset = bitset,
	};
	int ret = ioctl(fd, SYNCFIX_IOC_WAKE, &w);

	return ret < 0 ? -errno : ret;
}

static inline int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A "key: value" counter of /proc/syncfix/status, or -1. */
static inline long long status_counter(const char *key)
{
	char buf[16384], *p;
	size_t len = strlen(key);

	if (read_file(SYNCFIX_STATUS, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, key, len) && p[len] == ':')
			return atoll(p + len + 1);
	}
	return -1;
}

/* Wait up to 10 s until the "waiters" counter reaches n; true if it did. */
static inline bool waiters_reach(long long n)
{
	int i;

	for (i = 0; i < 10000; i++) {
		if (status_counter("waiters") >= n)
			return true;
		usleep(1000);
	}
	return false;
}

/* Same, until it drops to n. */
static inline bool waiters_drop(long long n)
{
	int i;

	for (i = 0; i < 10000; i++) {
		if (status_counter("waiters") <= n)
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * Threads that each take a name (PR_SET_NAME, any bytes a user may
 * choose) and wait on one word until woken: the waiters of the
 * hostile-name tests.
 */
#define NAMED_MAX	32

struct named_waiters {
	int fd;
	volatile uint32_t word;
	unsigned int n;
	const char *name[NAMED_MAX];
	int tid[NAMED_MAX];
	pthread_t th[NAMED_MAX];
};

struct named_arg {
	struct named_waiters *w;
	unsigned int i;
};

static inline void *named_waiter_main(void *arg)
{
	struct named_arg a = *(struct named_arg *)arg;

	free(arg);
	prctl(PR_SET_NAME, a.w->name[a.i]);
	__atomic_store_n(&a.w->tid[a.i], gettid(), __ATOMIC_RELEASE);
	dev_wait(a.w->fd, &a.w->word, 0, 0, SYNCFIX_TAG_MUTEX, 0, 0);
	return NULL;
}

/* Start @w->n waiters named @w->name[] on @w->fd; returns 0 or -1. */
static inline int named_waiters_start(struct named_waiters *w)
{
	unsigned int i;

	w->word = 0;
	for (i = 0; i < w->n; i++) {
		struct named_arg *a = malloc(sizeof(*a));

		w->tid[i] = 0;
		if (!a)
			return -1;
		a->w = w;
		a->i = i;
		if (pthread_create(&w->th[i], NULL, named_waiter_main, a)) {
			free(a);
			return -1;
		}
	}
	return 0;
}

/* Wake them all and join them; returns how many the WAKE woke. */
static inline int named_waiters_stop(struct named_waiters *w)
{
	unsigned int i;
	int woken;

	w->word = 1;
	woken = dev_wake(w->fd, &w->word, UINT32_MAX, 0);
	for (i = 0; i < w->n; i++)
		pthread_join(w->th[i], NULL);
	return woken;
}

/* One line of /proc/syncfix/waiters: its ten fields. */
struct waiter_line {
	int pid, tid;
	char comm[80], addr[32], tag[32], bitset[16], owner[32], self[32];
	unsigned int expected;
	double ms;
};

/* The line of thread @tid, as @l.  Returns true if it is listed. */
static inline bool waiter_line(int tid, struct waiter_line *l)
{
	static char buf[65536];
	const char *s;

	if (read_file(SYNCFIX_WAITERS, buf, sizeof(buf)) < 0)
		return false;
	for (s = strchr(buf, '\n'); s && s[1]; s = strchr(s + 1, '\n'))
		if (sscanf(s + 1, "%d %d %79s %31s %u %31s %15s %lf %31s %31s",
			   &l->pid, &l->tid, l->comm, l->addr, &l->expected,
			   l->tag, l->bitset, &l->ms, l->owner, l->self) == 10 &&
		    l->tid == tid)
			return true;
	return false;
}

#endif /* SYNCFIX_UTIL_H */
