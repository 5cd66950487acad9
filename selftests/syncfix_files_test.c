// SPDX-License-Identifier: GPL-2.0
/* Description: syncfix sysfs and procfs files exist, have the right modes and agree with /proc/cpuinfo */
#include "kselftest_harness.h"
#include "syncfix_util.h"

static const struct {
	const char *path;
	unsigned int mode;
} files[] = {
	{ SYNCFIX_SYSFS "/errata",	S_IFREG | 0444 },
	{ SYNCFIX_SYSFS "/cpu",		S_IFREG | 0444 },
	{ SYNCFIX_SYSFS "/hotpatch",	S_IFREG | 0444 },
	{ SYNCFIX_SYSFS "/mitigation",	S_IFREG | 0644 },
	{ SYNCFIX_SYSFS "/version",	S_IFREG | 0444 },
	{ SYNCFIX_STATUS,		S_IFREG | 0444 },
};

TEST(files_exist_readable_modes)
{
	char buf[8192];
	struct stat st;
	unsigned int i;

	ASSERT_EQ(0, stat(SYNCFIX_SYSFS, &st)) {
		TH_LOG("%s: %s (is the module loaded?)", SYNCFIX_SYSFS,
		       strerror(errno));
	}
	ASSERT_TRUE(S_ISDIR(st.st_mode));
	ASSERT_EQ(0, stat(SYNCFIX_PROC, &st));
	ASSERT_TRUE(S_ISDIR(st.st_mode));

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		ASSERT_EQ(0, stat(files[i].path, &st)) {
			TH_LOG("%s: %s", files[i].path, strerror(errno));
		}
		EXPECT_EQ(files[i].mode, st.st_mode & (S_IFMT | 07777)) {
			TH_LOG("%s: mode %o", files[i].path, st.st_mode);
		}
		EXPECT_EQ(0U, st.st_uid);
		ASSERT_LT(0, read_file(files[i].path, buf, sizeof(buf))) {
			TH_LOG("%s: empty or unreadable", files[i].path);
		}
	}
}

/* Every online CPU of /proc/cpuinfo is in the cpu file, and nothing else. */
TEST(cpu_matches_cpuinfo)
{
	struct cpu_id want[MAX_CPUS], got[MAX_CPUS];
	int n, m, i;

	n = parse_cpuinfo(want, MAX_CPUS);
	ASSERT_LT(0, n);
	m = parse_sysfs_cpu(got, MAX_CPUS);
	ASSERT_EQ(n, m);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(want[i].cpu, got[i].cpu);
		EXPECT_STREQ(want[i].vendor, got[i].vendor);
		EXPECT_EQ(want[i].family, got[i].family);
		EXPECT_EQ(want[i].model, got[i].model);
		EXPECT_EQ(want[i].stepping, got[i].stepping);
	}
}

/* The status file repeats the sysfs files and has one row per CPU. */
TEST(status_matches_sysfs_and_cpuinfo)
{
	struct cpu_id want[MAX_CPUS];
	char buf[256];
	struct status st;
	int n, i;

	n = parse_cpuinfo(want, MAX_CPUS);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, parse_status(&st));

	ASSERT_EQ(0, sysfs_read("version", buf, sizeof(buf)));
	EXPECT_STREQ(buf, st.version);
	ASSERT_EQ(0, sysfs_read("errata", buf, sizeof(buf)));
	EXPECT_STREQ(buf, st.errata);
	ASSERT_EQ(0, sysfs_read("mitigation", buf, sizeof(buf)));
	EXPECT_STREQ(buf, st.mitigation);
	ASSERT_EQ(0, sysfs_read("hotpatch", buf, sizeof(buf)));
	EXPECT_STREQ(buf, st.hotpatch);
	EXPECT_EQ(n, st.online);

	ASSERT_EQ(n, st.nrows);
	for (i = 0; i < n; i++) {
		const struct status_row *r = &st.rows[i];
		bool cand = e147_candidate(&want[i]);
		char note[64];

		EXPECT_EQ(want[i].cpu, r->id.cpu);
		EXPECT_STREQ(want[i].vendor, r->id.vendor);
		EXPECT_EQ(want[i].family, r->id.family);
		EXPECT_EQ(want[i].model, r->id.model);
		EXPECT_EQ(want[i].stepping, r->id.stepping);
		if (!cand) {
			EXPECT_STREQ("n/a", r->msr);
			EXPECT_STREQ("unaffected", r->e147);
			continue;
		}
		EXPECT_TRUE(!strcmp(r->msr, "set") || !strcmp(r->msr, "clear") ||
			    !strcmp(r->msr, "unreadable")) {
			TH_LOG("cpu%d: msr column '%s'", r->id.cpu, r->msr);
		}
		EXPECT_STREQ(strcmp(r->msr, "set") ? "affected" : "unaffected",
			     r->e147);
		snprintf(note, sizeof(note),
			 "cpu%d: msr: unreadable, assumed affected", r->id.cpu);
		EXPECT_EQ(!strcmp(r->msr, "unreadable"),
			  strstr(st.notes, note) != NULL);
	}
}

/* "Not affected" on a modern CPU, Mitigation/Vulnerable on a K8. */
TEST(errata_summary)
{
	char errata[256], mode[32];
	struct expect e;
	int patched;

	ASSERT_EQ(0, expect_get(&e));
	ASSERT_EQ(0, sysfs_read("errata", errata, sizeof(errata)));
	ASSERT_EQ(0, sysfs_read("mitigation", mode, sizeof(mode)));
	patched = hotpatch_patched();
	ASSERT_LE(0, patched);

	TH_LOG("%d CPUs online, erratum 147 %s: errata '%s', mitigation %s, %s",
	       e.online, e.present ? "present" : "absent", errata, mode,
	       patched ? "patched" : "unpatched");

	EXPECT_STREQ(expect_errata(&e, patched), errata);
	if (!e.present) {
		EXPECT_STREQ("Not affected", errata);
	} else if (e.relevant) {
		EXPECT_TRUE(!strncmp(errata, "Mitigation: ", 12) ||
			    !strncmp(errata, "Vulnerable: ", 12));
	}
	if (!strcmp(mode, "auto"))
		EXPECT_EQ(expect_auto_patched(&e), patched);
}

TEST(version)
{
	char v[64], modv[64];
	unsigned int a, b, c;

	ASSERT_EQ(0, sysfs_read("version", v, sizeof(v)));
	ASSERT_EQ(3, sscanf(v, "%u.%u.%u", &a, &b, &c)) {
		TH_LOG("version '%s'", v);
	}
	ASSERT_EQ(0, read_line(SYNCFIX_MODULE_SYSFS "/version", modv,
			       sizeof(modv)));
	EXPECT_STREQ(modv, v);
}

TEST(hotpatch_format)
{
	char buf[64], word[16], tail[16];
	unsigned int sites;

	ASSERT_EQ(0, sysfs_read("hotpatch", buf, sizeof(buf)));
	ASSERT_EQ(3, sscanf(buf, "%15s (%u %15[^)])", word, &sites, tail)) {
		TH_LOG("hotpatch '%s'", buf);
	}
	EXPECT_TRUE(!strcmp(word, "patched") || !strcmp(word, "unpatched"));
	/* The module has at least two locked operations followed by reads. */
	EXPECT_LE(2U, sites);
	EXPECT_STREQ("sites", tail);
}

TEST_HARNESS_MAIN
