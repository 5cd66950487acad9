// SPDX-License-Identifier: GPL-2.0
/* Description: syncfix follows CPU hotplug: offlining cpu1 and onlining it again */
#include "kselftest_harness.h"
#include "syncfix_util.h"

#define CPU1_ONLINE	"/sys/devices/system/cpu/cpu1/online"

FIXTURE(hotplug) {
	struct expect e;
	char skip[128];		/* why the test cannot run here, or "" */
	bool offlined;
};

/*
 * The 6.1 harness runs the test even when FIXTURE_SETUP() calls SKIP(),
 * so setup only records the reason and the test skips itself.
 */
FIXTURE_SETUP(hotplug)
{
	char buf[16];

	ASSERT_TRUE(path_exists(SYNCFIX_SYSFS)) {
		TH_LOG("%s missing: is the module loaded?", SYNCFIX_SYSFS);
	}
	ASSERT_EQ(0, expect_get(&self->e));
	if (self->e.online < 2)
		snprintf(self->skip, sizeof(self->skip),
			 "needs at least two online CPUs");
	else if (access(CPU1_ONLINE, W_OK))
		snprintf(self->skip, sizeof(self->skip),
			 "cpu1 cannot be offlined: %s", strerror(errno));
	else if (read_line(CPU1_ONLINE, buf, sizeof(buf)) || strcmp(buf, "1"))
		snprintf(self->skip, sizeof(self->skip), "cpu1 is not online");
	ASSERT_EQ(0, set_mitigation("auto"));
}

FIXTURE_TEARDOWN(hotplug)
{
	char buf[16];

	if (self->offlined && !read_line(CPU1_ONLINE, buf, sizeof(buf)) &&
	    strcmp(buf, "1"))
		EXPECT_EQ(0, write_str(CPU1_ONLINE, "1"));
	EXPECT_EQ(0, set_mitigation("auto"));
}

/* Everything the module reports agrees with the CPUs online now. */
static void check_state(struct __test_metadata *_metadata, int want_online,
			const char *want_errata)
{
	struct cpu_id want[MAX_CPUS], got[MAX_CPUS];
	struct expect e;
	struct status st;
	char buf[256], mode[32];
	int n, i, patched;

	n = parse_cpuinfo(want, MAX_CPUS);
	ASSERT_EQ(want_online, n);
	ASSERT_EQ(0, expect_get(&e));
	ASSERT_EQ(want_online, e.online);

	ASSERT_EQ(n, parse_sysfs_cpu(got, MAX_CPUS));
	for (i = 0; i < n; i++) {
		EXPECT_EQ(want[i].cpu, got[i].cpu);
		EXPECT_EQ(want[i].model, got[i].model);
	}

	ASSERT_EQ(0, parse_status(&st));
	EXPECT_EQ(n, st.online);
	ASSERT_EQ(n, st.nrows);
	for (i = 0; i < n; i++)
		EXPECT_EQ(want[i].cpu, st.rows[i].id.cpu);

	patched = hotpatch_patched();
	ASSERT_LE(0, patched);
	ASSERT_EQ(0, sysfs_read("mitigation", mode, sizeof(mode)));
	if (!strcmp(mode, "auto")) {
		EXPECT_EQ(expect_auto_patched(&e), patched);
	} else {
		EXPECT_EQ(!strcmp(mode, "on"), patched);
	}

	ASSERT_EQ(0, sysfs_read("errata", buf, sizeof(buf)));
	EXPECT_STREQ(expect_errata(&e, patched), buf);
	if (want_errata)
		EXPECT_STREQ(want_errata, buf);
	EXPECT_STREQ(buf, st.errata);
}

TEST_F_TIMEOUT(hotplug, offline_online_cpu1, 120)
{
	int online = self->e.online;
	bool present = self->e.present;

	if (self->skip[0])
		SKIP(return, "%s", self->skip);
	self->offlined = true;

	TH_LOG("%d CPUs, erratum 147 %s", online, present ? "present" : "absent");
	check_state(_metadata, online,
		    !present ? NOT_AFFECTED :
		    online > 1 ? E147_MITIGATION : NULL);

	ASSERT_EQ(0, write_str(CPU1_ONLINE, "0"));
	check_state(_metadata, online - 1,
		    !present ? NOT_AFFECTED :
		    online - 1 > 1 ? E147_MITIGATION : E147_SINGLE);

	/* Modes still switch the sites with the CPU offline. */
	ASSERT_EQ(0, set_mitigation("on"));
	EXPECT_EQ(1, hotpatch_patched());
	check_state(_metadata, online - 1, NULL);
	ASSERT_EQ(0, set_mitigation("off"));
	EXPECT_EQ(0, hotpatch_patched());
	check_state(_metadata, online - 1, NULL);
	ASSERT_EQ(0, set_mitigation("auto"));
	check_state(_metadata, online - 1, NULL);

	ASSERT_EQ(0, write_str(CPU1_ONLINE, "1"));
	check_state(_metadata, online,
		    !present ? NOT_AFFECTED : E147_MITIGATION);

	/* Hotplug with a forced mode keeps the mode. */
	ASSERT_EQ(0, set_mitigation("on"));
	ASSERT_EQ(0, write_str(CPU1_ONLINE, "0"));
	EXPECT_EQ(1, hotpatch_patched());
	ASSERT_EQ(0, write_str(CPU1_ONLINE, "1"));
	EXPECT_EQ(1, hotpatch_patched());
	ASSERT_EQ(0, set_mitigation("off"));
	ASSERT_EQ(0, write_str(CPU1_ONLINE, "0"));
	EXPECT_EQ(0, hotpatch_patched());
	ASSERT_EQ(0, write_str(CPU1_ONLINE, "1"));
	EXPECT_EQ(0, hotpatch_patched());
	ASSERT_EQ(0, set_mitigation("auto"));
	check_state(_metadata, online,
		    !present ? NOT_AFFECTED : E147_MITIGATION);
}

TEST_HARNESS_MAIN
