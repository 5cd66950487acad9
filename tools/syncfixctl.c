// SPDX-License-Identifier: GPL-2.0
/*
 * syncfixctl - am I affected, is it fixed, and who is blocked?
 *
 *   syncfixctl [--json] status
 *   syncfixctl [--json] waiters [--graph] [--watch [SECONDS]] [--count N]
 *   syncfixctl [--json] deadlocks [--settle MS]
 *   syncfixctl --help | --version
 *
 * status: the errata verdict and mitigation of syncfix.ko when it is
 * loaded (/sys/kernel/syncfix/), otherwise the CPUID verdict with a note
 * that the module is absent; and the lfence slot status of
 * libsyncfix-user in this very process (sf_lfence_status()), which is
 * what any program linked with the same library decides on this machine.
 *
 * waiters: /proc/syncfix/waiters, longest wait first; with --graph, the
 * chain of who waits for whom from each waiter (waitgraph.c).
 *
 * deadlocks: the cycles of that graph that stand for --settle MS.
 *
 * Exit status (also in syncfixctl(8)):
 *   0  fine: not affected, or affected and mitigated; waiters listed
 *   1  error (a file could not be read, an output error)
 *   2  usage error
 *   3  vulnerable and not mitigated
 *   4  waiters, deadlocks: the module is not loaded
 *   5  deadlocks: at least one deadlock
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/syncfix.h>
#include <syncfix.h>

#include "waitgraph.h"

#ifndef SYNCFIX_VERSION_STRING
#define SYNCFIX_VERSION_STRING "unknown"
#endif

#define EXIT_USAGE	2
#define EXIT_VULNERABLE	3
#define EXIT_NO_MODULE	4

#define SYSFS		"/sys/kernel/syncfix"
#define WAITERS		"/proc/syncfix/waiters"
#define DEVICE		"/dev/syncfix"

static const char *prog = "syncfixctl";
static int json;

static const char synopsis[] =
"usage: syncfixctl [--json] status\n"
"       syncfixctl [--json] waiters [--graph] [--watch [SECONDS]] [--count N]\n"
"       syncfixctl [--json] deadlocks [--settle MS]\n"
"       syncfixctl --help | --version\n";

static const char details[] =
"\n"
"  status    AMD erratum 147: the verdict of syncfix.ko when it is loaded,\n"
"            otherwise of CPUID; the mitigation; the lfence slots of\n"
"            libsyncfix-user in this process\n"
"  waiters   tasks blocked in /dev/syncfix (/proc/syncfix/waiters),\n"
"            longest wait first; --watch repeats every SECONDS (default 1),\n"
"            --count stops after N rounds; --graph follows each waiter to\n"
"            what holds its lock, what that waits for, and so on\n"
"  deadlocks the cycles of that graph (threads, locks, owners) that are\n"
"            still there --settle MS later (default 200)\n"
"  --json    one JSON object per report, for scripts\n"
"\n"
"exit status: 0 fine, 1 error, 2 usage, 3 vulnerable and not mitigated,\n"
"             4 waiters, deadlocks: module not loaded, 5 deadlock found\n";

static void usage(FILE *f)
{
	fputs(synopsis, f);
	fputs(details, f);
}

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	fputs(synopsis, stderr);
	return EXIT_USAGE;
}

/* Length of the UTF-8 sequence at @s (at most @n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and code points past U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * Print @len bytes as a JSON string: valid UTF-8 as it is, control
 * characters escaped, and each byte that is not part of valid UTF-8 as
 * U+FFFD (a task name is bytes, JSON text is Unicode).
 */
void json_bytes(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	putchar('"');
	while (i < len) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			printf("\\%c", c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			printf("\\u%04x", c);
			i++;
		} else if ((n = utf8_len(p + i, len - i)) == 0) {
			fputs("\\ufffd", stdout);
			i++;
		} else {
			fwrite(p + i, 1, n, stdout);
			i += n;
		}
	}
	putchar('"');
}

/* Print @s as a JSON string. */
void json_str(const char *s)
{
	json_bytes(s ? s : "", s ? strlen(s) : 0);
}

/*
 * The first line of a small file, without its newline.  Returns 0 or an
 * errno value (the buffer then holds "").
 */
static int read_line(const char *path, char *buf, size_t size)
{
	ssize_t len;
	int fd, err;

	buf[0] = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	len = read(fd, buf, size - 1);
	err = len < 0 ? errno : 0;
	close(fd);
	if (len < 0)
		return err;
	buf[len] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* ---- status --------------------------------------------------------- */

struct cpu_info {
	char vendor[13];
	unsigned int family, model;
	long online;
};

/* Vendor, family and model as the erratum rule reads them (lfence.h). */
static void cpu_identify(struct cpu_info *ci)
{
	unsigned int eax, ebx, ecx, edx;

	memset(ci, 0, sizeof(*ci));
	ci->online = sysconf(_SC_NPROCESSORS_ONLN);
	if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) {
		strcpy(ci->vendor, "unknown");
		return;
	}
	memcpy(ci->vendor, &ebx, 4);
	memcpy(ci->vendor + 4, &edx, 4);
	memcpy(ci->vendor + 8, &ecx, 4);
	__get_cpuid(1, &eax, &ebx, &ecx, &edx);
	ci->family = (eax >> 8) & 0xf;
	ci->model = (eax >> 4) & 0xf;
	if (ci->family == 0xf) {
		ci->family += (eax >> 20) & 0xff;
		ci->model |= ((eax >> 16) & 0xf) << 4;
	}
}

enum verdict { NOT_AFFECTED, MITIGATED, VULNERABLE, UNKNOWN };

static const char *const verdict_names[] = {
	[NOT_AFFECTED] = "not affected",
	[MITIGATED] = "mitigated",
	[VULNERABLE] = "vulnerable",
	[UNKNOWN] = "unknown",
};

/* The verdict a line of /sys/kernel/syncfix/errata states. */
static enum verdict errata_verdict(const char *line)
{
	if (!strncmp(line, "Not affected", 12))
		return NOT_AFFECTED;
	if (!strncmp(line, "Mitigation:", 11))
		return MITIGATED;
	if (!strncmp(line, "Vulnerable", 10))
		return VULNERABLE;
	return UNKNOWN;
}

struct module_info {
	int loaded;
	char version[64], errata[256], mitigation[32], hotpatch[64];
	int dev_open;		/* /dev/syncfix opened and GET_INFO worked */
	struct syncfix_info info;
};

static int module_read(struct module_info *mi)
{
	int fd, err;

	memset(mi, 0, sizeof(*mi));
	err = read_line(SYSFS "/errata", mi->errata, sizeof(mi->errata));
	if (err == ENOENT)
		return 0;
	if (err) {
		fprintf(stderr, "%s: " SYSFS "/errata: %s\n", prog,
			strerror(err));
		return err;
	}
	mi->loaded = 1;
	read_line(SYSFS "/version", mi->version, sizeof(mi->version));
	read_line(SYSFS "/mitigation", mi->mitigation, sizeof(mi->mitigation));
	read_line(SYSFS "/hotpatch", mi->hotpatch, sizeof(mi->hotpatch));
	fd = open(DEVICE, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		mi->dev_open = !ioctl(fd, SYNCFIX_IOC_GET_INFO, &mi->info);
		close(fd);
	}
	return 0;
}

static void status_text(const struct module_info *mi,
			const struct cpu_info *ci, int cpu_affected,
			const struct sf_lfence_status *ls, enum verdict v)
{
	printf("syncfixctl %s\n", SYNCFIX_VERSION_STRING);
	if (mi->loaded) {
		printf("module:      syncfix.ko %s loaded\n", mi->version);
		printf("errata:      %s\n", mi->errata);
		printf("mitigation:  %s\n", mi->mitigation);
		printf("hotpatch:    %s\n", mi->hotpatch);
		if (mi->dev_open)
			printf("device:      " DEVICE ", ABI version %u\n",
			       mi->info.abi_version);
		else
			printf("device:      " DEVICE " cannot be opened\n");
	} else {
		printf("module:      not loaded (" SYSFS " absent): "
		       "verdict from CPUID\n");
		printf("errata:      %s\n", cpu_affected ?
		       "AMD erratum 147 (6323525) present" : "Not affected");
	}
	printf("cpu:         %s family 0x%x model 0x%x, %ld CPU%s online: %s\n",
	       ci->vendor, ci->family, ci->model, ci->online,
	       ci->online == 1 ? "" : "s",
	       cpu_affected ? "affected" : "not affected");
	if (ls->slots_found)
		printf("library:     lfence in %u of %u slots (%s)\n",
		       ls->slots_patched, ls->slots_found,
		       ls->patched ? "patched" :
		       ls->wanted ? "WANTED, NOT PATCHED" : "left as NOPs");
	else	/* a static syncfixctl links no lock code */
		printf("library:     lfence %s (no slots in this program)\n",
		       ls->wanted ? "wanted" : "not wanted");
	printf("decided by:  %s\n",
	       ls->reason ? ls->reason : "");
	if (ls->error)
		printf("patch error: %s\n", strerror(ls->error));
	printf("verdict:     %s\n", verdict_names[v]);
}

static void status_json(const struct module_info *mi,
			const struct cpu_info *ci, int cpu_affected,
			const struct sf_lfence_status *ls, enum verdict v)
{
	printf("{\"version\":");
	json_str(SYNCFIX_VERSION_STRING);
	printf(",\"verdict\":");
	json_str(verdict_names[v]);
	printf(",\"verdict_source\":\"%s\"", mi->loaded ? "module" : "cpuid");
	printf(",\"module\":{\"loaded\":%s", mi->loaded ? "true" : "false");
	if (mi->loaded) {
		printf(",\"version\":");
		json_str(mi->version);
		printf(",\"errata\":");
		json_str(mi->errata);
		printf(",\"mitigation\":");
		json_str(mi->mitigation);
		printf(",\"hotpatch\":");
		json_str(mi->hotpatch);
		if (mi->dev_open)
			printf(",\"abi_version\":%u,\"errata_bits\":%llu,"
			       "\"relevant_bits\":%llu",
			       mi->info.abi_version,
			       (unsigned long long)mi->info.errata,
			       (unsigned long long)mi->info.relevant);
	}
	printf("},\"cpuid\":{\"vendor\":");
	json_str(ci->vendor);
	printf(",\"family\":%u,\"model\":%u,\"cpus_online\":%ld,"
	       "\"affected\":%s}", ci->family, ci->model, ci->online,
	       cpu_affected ? "true" : "false");
	printf(",\"library\":{\"slots_found\":%u,\"slots_patched\":%u,"
	       "\"wanted\":%s,\"patched\":%s,\"source\":",
	       ls->slots_found, ls->slots_patched,
	       ls->wanted ? "true" : "false", ls->patched ? "true" : "false");
	json_str(sf_lfence_source_name(ls->source));
	printf(",\"reason\":");
	json_str(ls->reason);
	printf(",\"error\":%d}}\n", ls->error);
}

static int cmd_status(void)
{
	struct sf_lfence_status ls;
	struct module_info mi;
	struct cpu_info ci;
	enum verdict v;
	int err;

	err = module_read(&mi);
	if (err)
		return EXIT_FAILURE;
	cpu_identify(&ci);
	err = sf_lfence_status(&ls);
	if (err) {
		fprintf(stderr, "%s: sf_lfence_status: %s\n", prog,
			strerror(err));
		return EXIT_FAILURE;
	}
	if (mi.loaded)
		v = errata_verdict(mi.errata);
	else if (!ls.cpu_affected)
		v = NOT_AFFECTED;
	else
		/* No module: only the library's own slots can help. */
		v = ls.patched ? MITIGATED : VULNERABLE;

	if (json)
		status_json(&mi, &ci, ls.cpu_affected, &ls, v);
	else
		status_text(&mi, &ci, ls.cpu_affected, &ls, v);
	if (fflush(stdout) || ferror(stdout))
		return EXIT_FAILURE;
	if (v == UNKNOWN) {
		fprintf(stderr, "%s: " SYSFS "/errata: unknown verdict '%s'\n",
			prog, mi.errata);
		return EXIT_FAILURE;
	}
	return v == VULNERABLE ? EXIT_VULNERABLE : EXIT_SUCCESS;
}

/* ---- waiters -------------------------------------------------------- */


/*
 * Decode the escaped form of a task name (kmod/waitwake.c,
 * syncfix_seq_name()): a backslash and three octal digits stand for one
 * byte, a lone "-" for the empty name.  Returns the length, or -1 for a
 * form the module does not print.
 */
static int unescape_name(const char *s, char *out, size_t size)
{
	size_t n = 0;

	if (!strcmp(s, "-")) {
		out[0] = 0;
		return 0;
	}
	for (; *s; s++) {
		unsigned int c = (unsigned char)*s;

		if (c == '\\') {
			if (s[1] < '0' || s[1] > '3' || s[2] < '0' || s[2] > '7' ||
			    s[3] < '0' || s[3] > '7')
				return -1;
			c = (s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0');
			s += 3;
		}
		if (n + 1 >= size)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = 0;
	return (int)n;
}

/*
 * One line of /proc/syncfix/waiters, ten fields separated by spaces:
 *   pid tid comm addr expected tag bitset waited_ms owner self
 * (eight, without owner and self, from a module without
 * SYNCFIX_FEAT_OWNER).  No field holds a space: the module escapes the
 * task name, and owner and self are its own words and numbers.
 */
static int parse_waiter(char *line, struct waiter *w)
{
	char *f[10], *save = NULL, *end;
	int i, n, len;

	for (n = 0; n < 10; n++) {
		f[n] = strtok_r(n ? NULL : line, " ", &save);
		if (!f[n])
			break;
	}
	if ((n != 8 && n != 10) || strtok_r(NULL, " ", &save))
		return -1;
	w->pid = (int)strtol(f[0], &end, 10);
	if (*end)
		return -1;
	w->tid = (int)strtol(f[1], &end, 10);
	if (*end)
		return -1;
	if (snprintf(w->comm_esc, sizeof(w->comm_esc), "%s", f[2]) >=
	    (int)sizeof(w->comm_esc))
		return -1;
	len = unescape_name(f[2], w->comm, sizeof(w->comm));
	if (len < 0)
		return -1;
	w->comm_len = (size_t)len;
	snprintf(w->addr, sizeof(w->addr), "%s", f[3]);
	w->expected = strtoul(f[4], &end, 10);
	if (*end)
		return -1;
	snprintf(w->tag, sizeof(w->tag), "%s", f[5]);
	snprintf(w->bitset, sizeof(w->bitset), "%s", f[6]);
	w->ms = strtod(f[7], &end);
	if (*end)
		return -1;
	for (i = 0; i < 2; i++)
		if (snprintf(i ? w->self : w->owner, sizeof(w->owner), "%s",
			     n == 10 ? f[8 + i] : "-") >= (int)sizeof(w->owner))
			return -1;
	return wg_parse_owner(w);
}

static int by_wait_desc(const void *a, const void *b)
{
	const struct waiter *x = a, *y = b;

	return (x->ms < y->ms) - (x->ms > y->ms);
}

/* Read and sort the table.  Returns the count, or -errno. */
int waiters_read(struct waiter **out)
{
	struct waiter *w = NULL, *nw;
	char *line = NULL;
	size_t cap = 0;
	int n = 0, max = 0, lineno = 0;
	FILE *f;

	f = fopen(WAITERS, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = 0;
		if (lineno++ == 0)
			continue;	/* the heading */
		if (n == max) {
			max = max ? 2 * max : 16;
			nw = realloc(w, max * sizeof(*w));
			if (!nw) {
				n = -ENOMEM;
				break;
			}
			w = nw;
		}
		if (parse_waiter(line, &w[n])) {
			fprintf(stderr, "%s: " WAITERS ": cannot parse '%s'\n",
				prog, line);
			n = -EINVAL;
			break;
		}
		n++;
	}
	free(line);
	fclose(f);
	if (n < 0) {
		free(w);
		return n;
	}
	qsort(w, n, sizeof(*w), by_wait_desc);
	*out = w;
	return n;
}

void format_wait(double ms, char *buf, size_t size)
{
	double s = ms / 1000;

	if (s >= 3600)
		snprintf(buf, size, "%dh%02dm%02ds", (int)(s / 3600),
			 (int)(s / 60) % 60, (int)s % 60);
	else if (s >= 60)
		snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
	else
		snprintf(buf, size, "%.3fs", s);
}

static void waiters_text(const struct waiter *w, int n)
{
	char waited[32];
	int i;

	printf("%-7s %-7s %-16s %-15s %-18s %10s %12s  %s\n", "PID", "TID",
	       "COMMAND", "WAITS FOR", "ADDRESS", "EXPECTED", "WAITED",
	       "HELD BY");
	for (i = 0; i < n; i++) {
		format_wait(w[i].ms, waited, sizeof(waited));
		printf("%-7d %-7d %-16s %-15s %-18s %10lu %12s  %s", w[i].pid,
		       w[i].tid, w[i].comm_esc, w[i].tag, w[i].addr, w[i].expected,
		       waited, w[i].owner);
		if (w[i].has_self)
			printf(" (as %s)", w[i].self);
		putchar('\n');
	}
	printf("%d waiter%s\n", n, n == 1 ? "" : "s");
}

static void waiters_json(const struct waiter *w, int n)
{
	int i;

	printf("{\"time\":%lld,\"waiters\":[", (long long)time(NULL));
	for (i = 0; i < n; i++) {
		printf("%s{\"pid\":%d,\"tid\":%d,\"comm\":", i ? "," : "",
		       w[i].pid, w[i].tid);
		json_bytes(w[i].comm, w[i].comm_len);
		printf(",\"tag\":");
		json_str(w[i].tag);
		printf(",\"addr\":");
		json_str(w[i].addr);
		printf(",\"expected\":%lu,\"bitset\":", w[i].expected);
		json_str(w[i].bitset);
		printf(",\"waited_ms\":%.3f,\"owner\":", w[i].ms);
		json_str(w[i].owner);
		printf(",\"self\":");
		json_str(w[i].self);
		printf(",\"comm_escaped\":");
		json_str(w[i].comm_esc);
		putchar('}');
	}
	printf("]}\n");
}

static int graph;	/* waiters --graph */

static int waiters_once(void)
{
	struct waiter *w = NULL;
	int n;

	if (graph)
		return wg_graph(json);
	n = waiters_read(&w);
	if (n == -ENOENT) {
		fprintf(stderr, "%s: " WAITERS " absent: syncfix.ko is not "
			"loaded\n", prog);
		return EXIT_NO_MODULE;
	}
	if (n < 0) {
		fprintf(stderr, "%s: " WAITERS ": %s\n", prog, strerror(-n));
		return EXIT_FAILURE;
	}
	if (json)
		waiters_json(w, n);
	else
		waiters_text(w, n);
	free(w);
	return fflush(stdout) || ferror(stdout) ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* A positive number from an argument, or -1. */
static double parse_number(const char *s, int integer)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || !(d > 0) || d > 86400 * 365 ||
	    (integer && d != (long)d))
		return -1;
	return d;
}

static int cmd_waiters(int argc, char **argv)
{
	double interval = 0;
	long count = 0, round;
	int i, r, tty = isatty(STDOUT_FILENO);

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--watch")) {
			interval = 1;
			if (i + 1 < argc && argv[i + 1][0] != '-') {
				interval = parse_number(argv[++i], 0);
				if (interval < 0)
					return usage_error("--watch: bad number of seconds '%s'",
							   argv[i]);
			}
		} else if (!strcmp(argv[i], "--graph")) {
			graph = 1;
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			double c = parse_number(argv[++i], 1);

			if (c < 0)
				return usage_error("--count: bad count '%s'",
						   argv[i]);
			count = (long)c;
		} else {
			return usage_error("waiters: unknown argument '%s'",
					   argv[i]);
		}
	}
	if (count && !interval)
		return usage_error("--count needs --watch");
	if (!interval)
		return waiters_once();

	for (round = 1;; round++) {
		struct timespec ts;
		char when[64];
		time_t now = time(NULL);

		if (!json) {
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
				 localtime(&now));
			/* Clear a terminal; separate rounds in a pipe. */
			printf("%s%s, every %gs\n", tty ? "\033[H\033[2J" : "\n",
			       when, interval);
		}
		r = waiters_once();
		if (r || (count && round >= count))
			return r;
		ts.tv_sec = (time_t)interval;
		ts.tv_nsec = (long)((interval - (double)ts.tv_sec) * 1e9);
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
}

static int cmd_deadlocks(int argc, char **argv)
{
	double settle = 200;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--settle") && i + 1 < argc) {
			settle = parse_number(argv[++i], 0);
			if (settle < 0 && strcmp(argv[i], "0"))
				return usage_error("--settle: bad number of milliseconds '%s'",
						   argv[i]);
			if (settle < 0)
				settle = 0;
		} else {
			return usage_error("deadlocks: unknown argument '%s'",
					   argv[i]);
		}
	}
	return wg_deadlocks(json, settle);
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--help") ||
			   !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else if (!strcmp(argv[i], "--version")) {
			printf("syncfixctl %s\n", SYNCFIX_VERSION_STRING);
			return EXIT_SUCCESS;
		} else {
			return usage_error("unknown option '%s'", argv[i]);
		}
	}
	if (i == argc)
		return usage_error("no command given");
	if (!strcmp(argv[i], "status")) {
		if (i + 1 < argc && !strcmp(argv[i + 1], "--json")) {
			json = 1;
			i++;
		}
		if (i + 1 != argc)
			return usage_error("status takes no argument");
		return cmd_status();
	}
	if (!strcmp(argv[i], "waiters") || !strcmp(argv[i], "deadlocks")) {
		int j, k = 0;

		/* --json may also follow the command. */
		for (j = i + 1; j < argc; j++) {
			if (!strcmp(argv[j], "--json"))
				json = 1;
			else
				argv[i + 1 + k++] = argv[j];
		}
		if (argv[i][0] == 'd')
			return cmd_deadlocks(k, argv + i + 1);
		return cmd_waiters(k, argv + i + 1);
	}
	return usage_error("unknown command '%s'", argv[i]);
}
