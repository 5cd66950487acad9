// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lfence.c - AMD erratum 147 (OpenSolaris 6323525): lfence slots.
 *
 * The erratum.  On AMD family 0xF processors before revision F (model
 * below 0x40), in a multi-processor system, a later *unlocked*
 * read-modify-write instruction may be performed before an earlier locked
 * instruction.  A lock acquired with "lock cmpxchg" can then be followed by
 * an increment of protected data that reads the data before the lock was
 * really taken; MySQL's assertions caught exactly that.  The workaround is
 * an lfence right after every locked instruction.
 *
 * The slots.  atomic.h follows every locked instruction with the 3-byte NOP
 * 0f 1f 00 and records its address in section "sf_lfence_slots".  The
 * linker gives each linked object (this shared library, or a static
 * executable that contains the library) its own table between
 * __start_sf_lfence_slots and __stop_sf_lfence_slots; the references below
 * are hidden, so each copy of this file finds its own object's table.
 *
 * The decision (see <syncfix/lfence.h>): SYNCFIX_LFENCE=on|off (read with
 * secure_getenv, so ignored in set-uid programs), else the verdict the
 * kernel module publishes in /sys/kernel/syncfix/errata, else our own
 * CPUID check.
 *
 * The patching runs in an ELF constructor of priority 101, before any
 * other constructor of the object and before main(), so no thread can be
 * executing the library's code yet.  The slots are sorted, grouped into
 * runs of pages, and each page's current protection is taken from
 * /proc/self/maps.  patch.c's sf_patch_window(), which sits alone on its own
 * pages, then for each run: mprotect(RW) (never W+X), writes lfence
 * (0f ae e8) into the slots, and restores the recorded protection.  If an
 * mprotect fails, the runs already written are put back to NOPs and the
 * failure is reported in sf_lfence_status(); the program goes on without
 * the workaround rather than with half of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <syncfix/lfence.h>

#include "internal.h"
#include "patch.h"

#define ERRATA_PATH	"/sys/kernel/syncfix/errata"

static const unsigned char nop3[3] = { 0x0f, 0x1f, 0x00 };
static const unsigned char lfence3[3] = { 0x0f, 0xae, 0xe8 };

extern const uintptr_t __start_sf_lfence_slots[]
	__attribute__((weak, visibility("hidden")));
extern const uintptr_t __stop_sf_lfence_slots[]
	__attribute__((weak, visibility("hidden")));
extern const char __start_sf_lfence_text[]
	__attribute__((weak, visibility("hidden")));
extern const char __stop_sf_lfence_text[]
	__attribute__((weak, visibility("hidden")));

static struct sf_lfence_status status;
static char reason[192];

static unsigned int slot_count(void)
{
	if (!__start_sf_lfence_slots || !__stop_sf_lfence_slots)
		return 0;
	return (unsigned int)(__stop_sf_lfence_slots - __start_sf_lfence_slots);
}

/* The CPU rule, from CPUID alone (plus the number of CPUs online). */
static int cpuid_affected(char *desc, size_t n)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned int a, b, c, d, family, model;
	char vendor[13];
	long ncpu;

	if (!__get_cpuid(0, &a, &b, &c, &d)) {
		snprintf(desc, n, "no CPUID");
		return 0;
	}
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = 0;
	__get_cpuid(1, &a, &b, &c, &d);
	family = (a >> 8) & 0xf;
	if (family == 0xf)
		family += (a >> 20) & 0xff;
	model = (a >> 4) & 0xf;
	if (family >= 0xf)
		model |= ((a >> 16) & 0xf) << 4;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(desc, n, "%s family 0x%x model 0x%x, %ld CPU%s online",
		 vendor, family, model, ncpu, ncpu == 1 ? "" : "s");
	return strcmp(vendor, "AuthenticAMD") == 0 && family == 0xf &&
	       model < 0x40 && ncpu > 1;
#else
	snprintf(desc, n, "not x86");
	return 0;
#endif
}

/*
 * The module's verdict: 1 patch, 0 don't, -1 no module or unknown text.
 * @line gets the first line of the file.
 */
static int module_verdict(char *line, size_t n)
{
	ssize_t len;
	int fd;

	fd = open(ERRATA_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	len = read(fd, line, n - 1);
	close(fd);
	if (len <= 0)
		return -1;
	line[len] = 0;
	line[strcspn(line, "\n")] = 0;
	if (strncmp(line, "Mitigation:", 11) == 0)
		return 1;
	if (strncmp(line, "Vulnerable", 10) == 0 ||
	    strncmp(line, "Not affected", 12) == 0)
		return 0;
	return -1;
}

static void decide(void)
{
	char cpu[96], line[128];
	const char *env = secure_getenv("SYNCFIX_LFENCE");
	const char *note = "";
	int v;

	status.cpu_affected = cpuid_affected(cpu, sizeof(cpu));
	if (env && strcmp(env, "on") == 0) {
		status.wanted = 1;
		status.source = SF_LFENCE_SOURCE_ENVIRONMENT;
		snprintf(reason, sizeof(reason), "SYNCFIX_LFENCE=on (%s)", cpu);
		return;
	}
	if (env && strcmp(env, "off") == 0) {
		status.wanted = 0;
		status.source = SF_LFENCE_SOURCE_ENVIRONMENT;
		snprintf(reason, sizeof(reason), "SYNCFIX_LFENCE=off (%s)", cpu);
		return;
	}
	if (env && *env && strcmp(env, "auto") != 0)
		note = " [unknown SYNCFIX_LFENCE value ignored]";

	v = module_verdict(line, sizeof(line));
	if (v >= 0) {
		status.wanted = v;
		status.source = SF_LFENCE_SOURCE_MODULE;
		snprintf(reason, sizeof(reason), "module: %s%s", line, note);
		return;
	}
	status.wanted = status.cpu_affected;
	status.source = SF_LFENCE_SOURCE_CPUID;
	snprintf(reason, sizeof(reason), "cpuid: %s: %s%s", cpu,
		 status.cpu_affected ? "affected" : "not affected", note);
}

static int cmp_uintptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

struct mapping {
	uintptr_t start, end;
	int prot;
};

/* Parse /proc/self/maps.  Return: number of mappings, or -errno. */
static int read_maps(struct mapping **out)
{
	size_t cap = 16384, len = 0;
	char *buf = NULL, *line, *next;
	struct mapping *m = NULL;
	int fd, n = 0, mcap = 0;
	ssize_t r;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (!buf || len + 4096 > cap) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb)
				goto enomem;
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			n = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = 0;
	for (line = buf; *line; line = next) {
		unsigned long s, e;
		char perms[5];

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) != 3)
			continue;
		if (n == mcap) {
			struct mapping *nm;

			mcap = mcap ? 2 * mcap : 64;
			nm = realloc(m, (size_t)mcap * sizeof(*m));
			if (!nm)
				goto enomem;
			m = nm;
		}
		m[n].start = s;
		m[n].end = e;
		m[n].prot = (perms[0] == 'r' ? PROT_READ : 0) |
			    (perms[1] == 'w' ? PROT_WRITE : 0) |
			    (perms[2] == 'x' ? PROT_EXEC : 0);
		n++;
	}
	goto out;
enomem:
	n = -ENOMEM;
out:
	close(fd);
	free(buf);
	if (n < 0) {
		free(m);
		m = NULL;
	}
	*out = m;
	return n;
}

static const struct mapping *find_mapping(const struct mapping *m, int n,
					  uintptr_t addr)
{
	int i;

	for (i = 0; i < n; i++)
		if (m[i].start <= addr && addr < m[i].end)
			return &m[i];
	return NULL;
}

/*
 * Group the sorted @slots into runs of whole pages that lie in one
 * mapping.  Return: number of ranges, or -errno.
 */
static int build_ranges(const uintptr_t *slots, unsigned int n,
			struct sf_patch_range **out)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	struct sf_patch_range *rg;
	struct mapping *maps = NULL;
	int nmaps, nr = 0;
	unsigned int i;

	nmaps = read_maps(&maps);
	if (nmaps < 0)
		return nmaps;
	rg = calloc(n, sizeof(*rg));
	if (!rg) {
		free(maps);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		uintptr_t first = slots[i] & ~(pg - 1);
		uintptr_t last = (slots[i] + 2) & ~(pg - 1);
		const struct mapping *m1 = find_mapping(maps, nmaps, first);
		const struct mapping *m2 = find_mapping(maps, nmaps, last);
		struct sf_patch_range *cur = nr ? &rg[nr - 1] : NULL;

		if (!m1 || m1 != m2) {	/* unmapped, or a slot across mappings */
			free(rg);
			free(maps);
			return -EFAULT;
		}
		if (cur && first < cur->start + cur->len) {
			/* Same page run as the previous slot. */
		} else if (cur && first == cur->start + cur->len &&
			   find_mapping(maps, nmaps, cur->start) == m1) {
			cur->len += pg;
		} else {
			cur = &rg[nr++];
			cur->start = first;
			cur->len = pg;
			cur->prot = m1->prot;
			cur->first = i;
			cur->count = 0;
		}
		if (last >= cur->start + cur->len)
			cur->len = last + pg - cur->start;
		cur->count++;
	}
	free(maps);
	*out = rg;
	return nr;
}

static unsigned int count_bytes(const uintptr_t *slots, unsigned int n,
				const unsigned char b[3])
{
	unsigned int i, k = 0;

	for (i = 0; i < n; i++)
		k += memcmp((const void *)slots[i], b, 3) == 0;
	return k;
}

#ifdef __x86_64__
/* Patch every slot with lfence.  Return: 0 or an errno value. */
static int patch_all(void)
{
	unsigned int n = slot_count(), i;
	struct sf_patch_range *rg = NULL;
	uintptr_t *slots;
	int nr, err = 0;

	slots = malloc(n * sizeof(*slots));
	if (!slots)
		return ENOMEM;
	memcpy(slots, __start_sf_lfence_slots, n * sizeof(*slots));
	qsort(slots, n, sizeof(*slots), cmp_uintptr);

	/* Every slot must hold one of our two encodings. */
	for (i = 0; i < n; i++) {
		const void *p = (const void *)slots[i];

		if (memcmp(p, nop3, 3) != 0 && memcmp(p, lfence3, 3) != 0) {
			err = EILSEQ;
			goto out;
		}
	}
	nr = build_ranges(slots, n, &rg);
	if (nr < 0) {
		err = -nr;
		goto out;
	}
	/*
	 * Nothing may execute on a page while it is writable: no page to be
	 * patched may share a page with the patcher.
	 */
	for (i = 0; i < (unsigned int)nr; i++) {
		uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
		uintptr_t ws = (uintptr_t)__start_sf_lfence_text & ~(pg - 1);
		uintptr_t we = ((uintptr_t)__stop_sf_lfence_text + pg - 1) & ~(pg - 1);

		if (!ws || (rg[i].start < we && ws < rg[i].start + rg[i].len)) {
			err = EFAULT;
			goto out;
		}
	}
	err = sf_patch_window(rg, (unsigned int)nr, slots, lfence3);
	if (err) {
		/* Leave NOPs everywhere rather than half a workaround. */
		unsigned int done;

		for (done = 0; done < (unsigned int)nr; done++)
			if (count_bytes(slots + rg[done].first, rg[done].count,
					lfence3) == 0)
				break;
		sf_patch_window(rg, done, slots, nop3);
	}
out:
	status.slots_patched = count_bytes(slots, n, lfence3);
	free(rg);
	free(slots);
	return err;
}
#else
static int patch_all(void)
{
	return ENOSYS;
}
#endif

__attribute__((constructor(101))) static void sf_lfence_init(void)
{
	int saved = errno;

	status.slots_found = slot_count();
	status.reason = reason;
	decide();
	if (status.wanted && status.slots_found) {
		status.error = patch_all();
		if (status.error) {
			size_t l = strlen(reason);

			snprintf(reason + l, sizeof(reason) - l,
				 "; patching failed: %s", strerror(status.error));
		}
	}
	status.patched = status.wanted && !status.error &&
			 status.slots_patched == status.slots_found;
	errno = saved;
}

SF_EXPORT int sf_lfence_status(struct sf_lfence_status *st)
{
	if (!st)
		return EINVAL;
	*st = status;
	return 0;
}

SF_EXPORT const char *sf_lfence_source_name(int source)
{
	switch (source) {
	case SF_LFENCE_SOURCE_ENVIRONMENT:
		return "environment";
	case SF_LFENCE_SOURCE_MODULE:
		return "module";
	case SF_LFENCE_SOURCE_CPUID:
		return "cpuid";
	default:
		return "none";
	}
}

SF_EXPORT const void *const *sf_lfence_slots(unsigned int *count)
{
	if (count)
		*count = slot_count();
	return (const void *const *)__start_sf_lfence_slots;
}
