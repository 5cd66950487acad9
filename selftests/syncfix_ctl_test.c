// SPDX-License-Identifier: GPL-2.0
/* Description: syncfixctl status reports the module's verdict, mitigation and the library's lfence slots; syncfixctl waiters lists a blocked lock waiter with its tag, and any task name intact in JSON and escaped in text */
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <syncfix.h>

#include "kselftest_harness.h"
#include "syncfix_util.h"

/* The static syncfixctl the VM run puts there (top Makefile, vm-files). */
#define SYNCFIXCTL_DEFAULT	"/bin/syncfixctl"

/* The library's own query (lib/base/wait.h): "ioctl" or "futex". */
const char *sf_wait_backend(void);

static const char *ctl_path(void)
{
	const char *p = getenv("SYNCFIXCTL");

	return p && *p ? p : SYNCFIXCTL_DEFAULT;
}

#define SKIP_WITHOUT_CTL_OR_MODULE()					\
	do {								\
		if (!path_exists(ctl_path()))				\
			SKIP(return, "%s missing", ctl_path());		\
		if (!module_loaded())					\
			SKIP(return, "syncfix.ko not loaded");		\
	} while (0)

/*
 * Run "syncfixctl ARGS" through the shell with an empty environment but
 * PATH; its stdout goes to @out.  Returns the exit status, or -1.
 */
static int run_ctl(const char *args, char *out, size_t size)
{
	char cmd[512];
	size_t len = 0;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "env -i PATH=/bin:/sbin %s %s", ctl_path(),
		 args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (len + 1 < size) {
		size_t n = fread(out + len, 1, size - 1 - len, f);

		if (!n)
			break;
		len += n;
	}
	out[len] = 0;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The value of "key": "value" in @json, copied to @val. */
static bool json_string(const char *json, const char *key, char *val,
			size_t size)
{
	char pat[64];
	const char *s;
	size_t i = 0;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	s = strstr(json, pat);
	if (!s)
		return false;
	for (s += strlen(pat); *s && *s != '"' && i + 1 < size; s++)
		val[i++] = *s == '\\' && s[1] ? *++s : *s;
	val[i] = 0;
	return *s == '"';
}

/* The verdict syncfixctl must derive from an errata line. */
static const char *verdict_of(const char *errata)
{
	if (!strncmp(errata, "Mitigation:", 11))
		return "mitigated";
	if (!strncmp(errata, "Vulnerable", 10))
		return "vulnerable";
	return "not affected";
}

/*
 * status, text and JSON, against /sys/kernel/syncfix: the same errata
 * line and mitigation, the verdict and exit status that follow from it,
 * and the lfence slots of the library in syncfixctl's process decided by
 * the module.
 */
static void check_status(struct __test_metadata *_metadata,
			 const char *want_errata)
{
	char out[8192], errata[256], mode[32], line[320], val[256];
	const char *verdict;
	int rc;

	ASSERT_EQ(0, sysfs_read("errata", errata, sizeof(errata)));
	ASSERT_EQ(0, sysfs_read("mitigation", mode, sizeof(mode)));
	EXPECT_STREQ(want_errata, errata);
	verdict = verdict_of(errata);

	rc = run_ctl("status", out, sizeof(out));
	TH_LOG("syncfixctl status (exit %d):\n%s", rc, out);
	EXPECT_EQ(strcmp(verdict, "vulnerable") ? 0 : 3, rc);
	snprintf(line, sizeof(line), "\nerrata:      %s\n", errata);
	EXPECT_NE(NULL, strstr(out, line));
	snprintf(line, sizeof(line), "\nmitigation:  %s\n", mode);
	EXPECT_NE(NULL, strstr(out, line));
	snprintf(line, sizeof(line), "\nverdict:     %s\n", verdict);
	EXPECT_NE(NULL, strstr(out, line));
	EXPECT_NE(NULL, strstr(out, "\nmodule:      syncfix.ko "));
	EXPECT_EQ(NULL, strstr(out, "not loaded"));

	rc = run_ctl("--json status", out, sizeof(out));
	TH_LOG("syncfixctl --json status (exit %d): %s", rc, out);
	EXPECT_EQ(strcmp(verdict, "vulnerable") ? 0 : 3, rc);
	EXPECT_NE(NULL, strstr(out, "\"module\":{\"loaded\":true"));
	EXPECT_NE(NULL, strstr(out, "\"verdict_source\":\"module\""));
	ASSERT_TRUE(json_string(out, "errata", val, sizeof(val)));
	EXPECT_STREQ(errata, val);
	ASSERT_TRUE(json_string(out, "verdict", val, sizeof(val)));
	EXPECT_STREQ(verdict, val);
	ASSERT_TRUE(json_string(out, "mitigation", val, sizeof(val)));
	EXPECT_STREQ(mode, val);
	EXPECT_NE(NULL, strstr(out, "\"abi_version\":1,"));
	/* The library in syncfixctl's process followed the module. */
	ASSERT_TRUE(json_string(out, "source", val, sizeof(val)));
	EXPECT_STREQ("module", val);
	if (!strcmp(verdict, "mitigated")) {
		EXPECT_NE(NULL, strstr(out, "\"wanted\":true,\"patched\":true"));
	} else {
		EXPECT_NE(NULL, strstr(out, "\"slots_patched\":0,\"wanted\":false"));
	}
}

/*
 * Mitigation off: an affected machine is vulnerable, exit status 3; on:
 * mitigated.  The next test sets "auto" again, also after a failure here.
 */
TEST(status_follows_mitigation_off)
{
	struct expect e;

	SKIP_WITHOUT_CTL_OR_MODULE();
	ASSERT_EQ(0, expect_get(&e));
	ASSERT_EQ(0, set_mitigation("off"));
	check_status(_metadata, expect_errata(&e, false));
	ASSERT_EQ(0, set_mitigation("on"));
	check_status(_metadata, expect_errata(&e, true));
	ASSERT_EQ(0, set_mitigation("auto"));
}

TEST(status_reports_module_verdict)
{
	struct expect e;

	SKIP_WITHOUT_CTL_OR_MODULE();
	ASSERT_EQ(0, expect_get(&e));
	ASSERT_EQ(0, set_mitigation("auto"));
	check_status(_metadata, expect_errata(&e, expect_auto_patched(&e)));
}

struct blocked {
	sf_mutex_t m;
	sf_rwlock_t l;
	bool reader;
	volatile int tid;
	int ret;
};

static void *blocked_thread(void *arg)
{
	struct blocked *b = arg;

	b->tid = gettid();
	if (b->reader) {
		b->ret = sf_rwlock_rdlock(&b->l);
		if (!b->ret)
			b->ret = sf_rwlock_unlock(&b->l);
	} else {
		b->ret = sf_mutex_lock(&b->m);
		if (!b->ret)
			b->ret = sf_mutex_unlock(&b->m);
	}
	return NULL;
}

/*
 * Poll "syncfixctl @args" (up to 10 s) until its output holds @needle.
 * Returns the last output's exit status, or -1 if @needle never showed.
 */
static int poll_ctl(const char *args, const char *needle, char *out,
		    size_t size)
{
	int i, rc = -1;

	for (i = 0; i < 200; i++) {
		rc = run_ctl(args, out, size);
		if (strstr(out, needle))
			return rc;
		usleep(50000);
	}
	return -1;
}

/*
 * A thread of this process blocked on a lock (sleeping in /dev/syncfix):
 * syncfixctl waiters shows it with its tid and tag, in text and JSON, and
 * --watch repeats the table.
 */
static void check_waiter(struct __test_metadata *_metadata, bool reader,
			 const char *tag)
{
	struct blocked b = { .m = SF_MUTEX_INITIALIZER,
			     .l = SF_RWLOCK_PREFER_WRITER_NONRECURSIVE_INITIALIZER,
			     .reader = reader };
	char out[16384], needle[128];
	const char *round1;
	pthread_t th;
	int rc;

	setenv("SYNCFIX_WAIT", "ioctl", 1);
	ASSERT_STREQ("ioctl", sf_wait_backend());
	if (reader) {
		ASSERT_EQ(0, sf_rwlock_wrlock(&b.l));
	} else {
		ASSERT_EQ(0, sf_mutex_lock(&b.m));
	}
	ASSERT_EQ(0, pthread_create(&th, NULL, blocked_thread, &b));
	while (!b.tid)
		usleep(100);

	snprintf(needle, sizeof(needle), "\"pid\":%d,\"tid\":%d,", getpid(),
		 b.tid);
	rc = poll_ctl("--json waiters", needle, out, sizeof(out));
	TH_LOG("syncfixctl --json waiters (exit %d): %s", rc, out);
	EXPECT_EQ(0, rc);
	snprintf(needle, sizeof(needle),
		 "\"pid\":%d,\"tid\":%d,\"comm\":\"syncfix_ctl_tes\",\"tag\":\"%s\"",
		 getpid(), b.tid, tag);
	EXPECT_NE(NULL, strstr(out, needle));

	/* The table: PID TID COMMAND WAITS FOR ... */
	snprintf(needle, sizeof(needle), "\n%-7d %-7d %-16s %-13s ", getpid(),
		 b.tid, "syncfix_ctl_tes", tag);
	rc = run_ctl("waiters", out, sizeof(out));
	TH_LOG("syncfixctl waiters (exit %d):\n%s", rc, out);
	EXPECT_EQ(0, rc);
	EXPECT_NE(NULL, strstr(out, needle));
	EXPECT_EQ(0, strncmp(out, "PID     TID     COMMAND", 23));

	/* --watch: the same line in each of the two rounds. */
	rc = run_ctl("waiters --watch 0.1 --count 2", out, sizeof(out));
	EXPECT_EQ(0, rc);
	round1 = strstr(out, needle);
	ASSERT_NE(NULL, round1);
	EXPECT_NE(NULL, strstr(round1 + 1, needle));

	if (reader) {
		EXPECT_EQ(0, sf_rwlock_unlock(&b.l));
	} else {
		EXPECT_EQ(0, sf_mutex_unlock(&b.m));
	}
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(0, b.ret);

	/* Gone from the list once it got the lock. */
	snprintf(needle, sizeof(needle), "\"tid\":%d,", b.tid);
	rc = run_ctl("--json waiters", out, sizeof(out));
	EXPECT_EQ(0, rc);
	EXPECT_EQ(NULL, strstr(out, needle));
}

TEST(waiters_shows_blocked_mutex)
{
	SKIP_WITHOUT_CTL_OR_MODULE();
	check_waiter(_metadata, false, "mutex");
}

TEST(waiters_shows_blocked_reader)
{
	SKIP_WITHOUT_CTL_OR_MODULE();
	check_waiter(_metadata, true, "rwlock-read");
}

/* Task names against syncfixctl, and what each must become. */
static const struct {
	const char *name;
	const char *json;	/* the JSON string, quotes included */
	const char *text;	/* the table's COMMAND column */
} names[] = {
	{ "x\n1 1 init 0x1", "\"x\\u000a1 1 init 0x1\"",
	  "x\\0121\\0401\\040init\\0400x1" },
	{ "a b  c", "\"a b  c\"", "a\\040b\\040\\040c" },
	{ "tab\there\t", "\"tab\\u0009here\\u0009\"", "tab\\011here\\011" },
	{ "\xff\xfe\x80\xc3(bytes", "\"\\ufffd\\ufffd\\ufffd\\ufffd(bytes\"",
	  "\\377\\376\\200\\303(bytes" },
	{ "\x1b[2J\x01\x7f", "\"\\u001b[2J\\u0001\\u007f\"",
	  "\\033[2J\\001\\177" },
	{ "", "\"\"", "-" },
	{ "-", "\"-\"", "\\055" },
	{ "\xc3\xa9t\xc3\xa9", "\"\xc3\xa9t\xc3\xa9\"", "\\303\\251t\\303\\251" },
	{ "back\\sl\"q", "\"back\\\\sl\\\"q\"", "back\\134sl\"q" },
};

#define NNAMES	ARRAY_SIZE(names)

static struct named_waiters nw;

TEST(waiters_hostile_names)
{
	static char out[65536];
	char needle[256];
	unsigned int i;
	int rc, lines = 0;
	const char *p;

	SKIP_WITHOUT_CTL_OR_MODULE();
	ASSERT_EQ(0, status_counter("waiters"));
	nw.fd = dev_open();
	ASSERT_LE(0, nw.fd);
	nw.n = NNAMES;
	for (i = 0; i < NNAMES; i++)
		nw.name[i] = names[i].name;
	ASSERT_EQ(0, named_waiters_start(&nw));
	ASSERT_TRUE(waiters_reach(NNAMES));

	rc = run_ctl("--json waiters", out, sizeof(out));
	TH_LOG("syncfixctl --json waiters (exit %d): %s", rc, out);
	EXPECT_EQ(0, rc);
	for (i = 0; i < NNAMES; i++) {
		snprintf(needle, sizeof(needle), "\"tid\":%d,\"comm\":%s,\"tag\":",
			 nw.tid[i], names[i].json);
		EXPECT_NE(NULL, strstr(out, needle)) {
			TH_LOG("name %u: no %s", i, needle);
		}
	}
	/* One line of JSON, every byte of it printable or UTF-8. */
	for (p = out; *p; p++)
		if ((unsigned char)*p < 0x20 && !(*p == '\n' && !p[1]))
			break;
	EXPECT_EQ(0, *p);

	rc = run_ctl("waiters", out, sizeof(out));
	TH_LOG("syncfixctl waiters (exit %d):\n%s", rc, out);
	EXPECT_EQ(0, rc);
	for (p = out; *p; p++)
		lines += *p == '\n';
	EXPECT_EQ((int)NNAMES + 2, lines);
	for (i = 0; i < NNAMES; i++) {
		snprintf(needle, sizeof(needle), "\n%-7d %-7d %-16s mutex ",
			 getpid(), nw.tid[i], names[i].text);
		EXPECT_NE(NULL, strstr(out, needle)) {
			TH_LOG("name %u: no line '%s'", i, needle + 1);
		}
	}
	EXPECT_EQ(NULL, strstr(out, "\n1       1 "));

	EXPECT_EQ((int)NNAMES, named_waiters_stop(&nw));
	close(nw.fd);
}

TEST(usage_and_version)
{
	char out[4096];

	if (!path_exists(ctl_path()))
		SKIP(return, "%s missing", ctl_path());
	EXPECT_EQ(0, run_ctl("--version", out, sizeof(out)));
	EXPECT_EQ(0, strncmp(out, "syncfixctl ", 11));
	EXPECT_EQ(0, run_ctl("--help", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "waiters"));
	EXPECT_EQ(2, run_ctl("bogus 2>/dev/null", out, sizeof(out)));
	EXPECT_EQ(2, run_ctl("status extra 2>/dev/null", out, sizeof(out)));
}

TEST_HARNESS_MAIN
