// SPDX-License-Identifier: GPL-2.0
/* Description: syncfix mitigation file: mode switching, hot-patch state, rejected writes, root-only writes */
#include <grp.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "syncfix_util.h"

#define MITIGATION	SYNCFIX_SYSFS "/mitigation"

FIXTURE(mitigation) {
	struct expect e;
};

FIXTURE_SETUP(mitigation)
{
	ASSERT_TRUE(path_exists(MITIGATION)) {
		TH_LOG("%s missing: is the module loaded?", MITIGATION);
	}
	ASSERT_EQ(0, expect_get(&self->e));
	ASSERT_EQ(0, set_mitigation("auto"));
}

FIXTURE_TEARDOWN(mitigation)
{
	EXPECT_EQ(0, set_mitigation("auto"));
}

/* Write a mode, then check mitigation, hotpatch and errata. */
static void check_mode(struct __test_metadata *_metadata,
		       const struct expect *e, const char *write,
		       const char *mode, bool patched)
{
	char buf[256];

	ASSERT_EQ(0, set_mitigation(write)) {
		TH_LOG("writing '%s'", write);
	}
	ASSERT_EQ(0, sysfs_read("mitigation", buf, sizeof(buf)));
	EXPECT_STREQ(mode, buf);
	EXPECT_EQ(patched, hotpatch_patched());
	ASSERT_EQ(0, sysfs_read("errata", buf, sizeof(buf)));
	EXPECT_STREQ(expect_errata(e, patched), buf);
}

TEST_F(mitigation, switch_modes)
{
	bool autop = expect_auto_patched(&self->e);

	TH_LOG("erratum 147 %s, %d CPUs: auto means %s",
	       self->e.present ? "present" : "absent", self->e.online,
	       autop ? "patched" : "unpatched");

	check_mode(_metadata, &self->e, "on", "on", true);
	check_mode(_metadata, &self->e, "off", "off", false);
	check_mode(_metadata, &self->e, "auto", "auto", autop);
	check_mode(_metadata, &self->e, "off\n", "off", false);
	check_mode(_metadata, &self->e, "on\n", "on", true);
	check_mode(_metadata, &self->e, "on", "on", true);
	check_mode(_metadata, &self->e, "auto\n", "auto", autop);
	if (self->e.relevant) {
		char buf[256];

		ASSERT_EQ(0, set_mitigation("off"));
		ASSERT_EQ(0, sysfs_read("errata", buf, sizeof(buf)));
		EXPECT_STREQ(E147_VULNERABLE, buf);
		ASSERT_EQ(0, set_mitigation("on"));
		ASSERT_EQ(0, sysfs_read("errata", buf, sizeof(buf)));
		EXPECT_STREQ(E147_MITIGATION, buf);
	}
}

/*
 * Only "auto", "on" and "off", optionally followed by one newline, are
 * accepted; matching is case-sensitive.  Anything else is -EINVAL from
 * write(2) and changes nothing.
 */
TEST_F(mitigation, bad_writes)
{
	static char longbuf[8192];
	static const struct {
		const char *buf;
		size_t len;
	} bad[] = {
		{ "maybe", 5 },
		{ "\n", 1 },
		{ "on x", 4 },
		{ "on\n\n", 4 },
		{ " on", 3 },
		{ "on ", 3 },
		{ "ON", 2 },
		{ "Auto", 4 },
		{ "o", 1 },
		{ "onn", 3 },
		{ "1", 1 },
		{ "on\0", 3 },
		{ "off\0on", 6 },
		{ longbuf, 4096 },
		{ longbuf, sizeof(longbuf) },
	};
	static const char * const modes[] = { "on", "off", "auto" };
	char before[64], hp_before[64], after[64], hp_after[64];
	unsigned int m, i;

	memset(longbuf, 'o', sizeof(longbuf));

	for (m = 0; m < ARRAY_SIZE(modes); m++) {
		ASSERT_EQ(0, set_mitigation(modes[m]));
		ASSERT_EQ(0, sysfs_read("mitigation", before, sizeof(before)));
		ASSERT_EQ(0, sysfs_read("hotpatch", hp_before,
					sizeof(hp_before)));
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			EXPECT_EQ(-EINVAL, write_buf(MITIGATION, bad[i].buf,
						     bad[i].len)) {
				TH_LOG("write #%u (%zu bytes) accepted", i,
				       bad[i].len);
			}
			ASSERT_EQ(0, sysfs_read("mitigation", after,
						sizeof(after)));
			EXPECT_STREQ(before, after);
			ASSERT_EQ(0, sysfs_read("hotpatch", hp_after,
						sizeof(hp_after)));
			EXPECT_STREQ(hp_before, hp_after);
		}
		/* A zero-length write is a no-op: 0, not an error. */
		EXPECT_EQ(0, write_buf(MITIGATION, "", 0));
		ASSERT_EQ(0, sysfs_read("mitigation", after, sizeof(after)));
		EXPECT_STREQ(before, after);
	}
}

/* A non-root process can read mitigation but neither open it for write nor change it. */
TEST_F(mitigation, nonroot_cannot_write)
{
	char before[64], after[64];
	int status;
	pid_t pid;

	ASSERT_EQ(0, set_mitigation("on"));
	ASSERT_EQ(0, sysfs_read("mitigation", before, sizeof(before)));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char buf[64];
		int fd;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(10);
		if (sysfs_read("mitigation", buf, sizeof(buf)))
			_exit(11);
		fd = open(MITIGATION, O_WRONLY);
		if (fd >= 0) {
			if (write(fd, "off", 3) == 3)
				_exit(12);
			_exit(13);
		}
		if (errno != EACCES)
			_exit(14);
		fd = open(MITIGATION, O_RDWR);
		if (fd >= 0 || errno != EACCES)
			_exit(15);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("child failed at step %d", WEXITSTATUS(status));
	}
	ASSERT_EQ(0, sysfs_read("mitigation", after, sizeof(after)));
	EXPECT_STREQ(before, after);
	EXPECT_EQ(1, hotpatch_patched());
}

TEST_HARNESS_MAIN
