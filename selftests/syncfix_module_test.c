// SPDX-License-Identifier: GPL-2.0
/* Description: syncfix module parameter, failed loads, and 100 load/unload cycles without leaks */
#include "kselftest_harness.h"
#include "syncfix_util.h"

#define LEAK_CYCLES	100
/*
 * Allowed growth of allocated slab objects over LEAK_CYCLES cycles.  A
 * module that leaks one object per load/unload cycle grows the count by
 * at least LEAK_CYCLES, so the tolerance must stay below that.  Counted
 * as below (see struct slab_counter), an idle test system moves by less
 * than 20 objects over the same time.
 */
#define LEAK_TOLERANCE	50

FIXTURE(module) {
	struct expect e;
	char skip[128];		/* why the test cannot run here, or "" */
};

/*
 * The 6.1 harness runs the test even when FIXTURE_SETUP() calls SKIP(),
 * so setup only records the reason and each test skips itself.
 */
FIXTURE_SETUP(module)
{
	if (access(syncfix_ko(), R_OK)) {
		snprintf(self->skip, sizeof(self->skip),
			 "%s: %s (set SYNCFIX_KO)", syncfix_ko(),
			 strerror(errno));
		return;
	}
	if (!module_loaded())
		ASSERT_EQ(0, module_load(""));
	ASSERT_EQ(0, set_mitigation("auto"));
	ASSERT_EQ(0, expect_get(&self->e));
}

/* Whatever happened, leave the module loaded, in "auto" mode. */
FIXTURE_TEARDOWN(module)
{
	if (self->skip[0])
		return;
	if (!module_loaded())
		EXPECT_EQ(0, module_load(""));
	EXPECT_EQ(0, set_mitigation("auto"));
}

#define SKIP_IF_NEEDED() do {					\
	if (self->skip[0])					\
		SKIP(return, "%s", self->skip);			\
} while (0)

static bool files_gone(void)
{
	return !path_exists(SYNCFIX_SYSFS) && !path_exists(SYNCFIX_PROC) &&
	       !module_loaded();
}

static bool files_there(void)
{
	return path_exists(SYNCFIX_SYSFS "/errata") &&
	       path_exists(SYNCFIX_STATUS) && module_loaded();
}

/* Reload with params, then check the mode and the hot-patch state. */
static void reload(struct __test_metadata *_metadata, const struct expect *e,
		   const char *params, const char *mode, bool patched)
{
	char buf[256];

	ASSERT_EQ(0, module_unload());
	ASSERT_TRUE(files_gone());
	ASSERT_EQ(0, module_load(params)) {
		TH_LOG("loading with '%s': %s", params, strerror(errno));
	}
	ASSERT_TRUE(files_there());
	ASSERT_EQ(0, sysfs_read("mitigation", buf, sizeof(buf)));
	EXPECT_STREQ(mode, buf);
	ASSERT_EQ(0, read_line(SYNCFIX_MODULE_SYSFS "/parameters/mitigation",
			       buf, sizeof(buf)));
	EXPECT_STREQ(mode, buf);
	EXPECT_EQ(patched, hotpatch_patched());
	ASSERT_EQ(0, sysfs_read("errata", buf, sizeof(buf)));
	EXPECT_STREQ(expect_errata(e, patched), buf);
}

TEST_F_TIMEOUT(module, param_on, 60)
{
	SKIP_IF_NEEDED();
	reload(_metadata, &self->e, "mitigation=on", "on", true);
}

TEST_F_TIMEOUT(module, param_off, 60)
{
	SKIP_IF_NEEDED();
	reload(_metadata, &self->e, "mitigation=off", "off", false);
}

TEST_F_TIMEOUT(module, param_auto, 60)
{
	bool autop = expect_auto_patched(&self->e);

	SKIP_IF_NEEDED();
	reload(_metadata, &self->e, "mitigation=auto", "auto", autop);
	reload(_metadata, &self->e, "mitigation=auto\n", "auto", autop);
	reload(_metadata, &self->e, "", "auto", autop);
}

TEST_F_TIMEOUT(module, param_invalid, 60)
{
	static const char * const bad[] = {
		"mitigation=maybe", "mitigation=ON", "mitigation=",
		"mitigation", "mitigation=onx", "mitigation=1",
	};
	unsigned int i;

	SKIP_IF_NEEDED();
	ASSERT_EQ(0, module_unload());
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, module_load(bad[i])) {
			TH_LOG("loading with '%s' did not fail with EINVAL",
			       bad[i]);
			if (module_loaded())
				module_unload();
		}
		EXPECT_TRUE(files_gone()) {
			TH_LOG("'%s' left files behind", bad[i]);
		}
	}
	ASSERT_EQ(0, module_load(""));
	ASSERT_TRUE(files_there());
}

/*
 * Counting allocated slab objects.
 *
 * /proc/slabinfo's active_objs counts every object of a slab that a CPU
 * holds (its current slab and its partial slabs) as allocated, so it is
 * off by up to a few slabs' worth of objects per cache and CPU.  Writing
 * to /sys/kernel/slab/<cache>/shrink makes SLUB give those slabs back,
 * after which the count is exact.  Opening files allocates from the very
 * caches being counted, so every file used for counting is opened once,
 * beforehand, and kept open; the shrink writes are over 4 KiB, so that
 * kernfs takes their buffer from kmalloc-8k, which is left out of the sum.
 * Cached dentries and inodes hold small kmalloc objects of their own:
 * they are dropped first (vm.drop_caches=2).
 */
struct slab_counter {
	int slabinfo;
	int nshrink;
	int shrink[512];
	char buf[65536];
};

static bool counted_cache(const char *name)
{
	if (!strcmp(name, "kmalloc-8k"))
		return false;
	return strstr(name, "kmalloc-") || !strcmp(name, "kernfs_node_cache") ||
	       !strcmp(name, "proc_dir_entry");
}

static int slabinfo_read(struct slab_counter *sc)
{
	ssize_t n;
	int len = 0;

	if (lseek(sc->slabinfo, 0, SEEK_SET))
		return -errno;
	while ((n = read(sc->slabinfo, sc->buf + len,
			 sizeof(sc->buf) - 1 - len)) > 0)
		len += n;
	if (n < 0)
		return -errno;
	sc->buf[len] = '\0';
	return len;
}

/*
 * Read /proc/slabinfo and call @fn with the name and active objects of
 * every counted cache.  Returns 0 or -errno.
 */
static int for_each_counted(struct slab_counter *sc,
			    void (*fn)(struct slab_counter *sc,
				       const char *name, long active, long *acc),
			    long *acc)
{
	char *line, *save, name[128];
	long active;
	int ret = slabinfo_read(sc);

	if (ret < 0)
		return ret;
	for (line = strtok_r(sc->buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		active = 0;
		if (sscanf(line, "%127s %ld", name, &active) >= 1 &&
		    counted_cache(name))
			fn(sc, name, active, acc);
	}
	return 0;
}

static void open_shrink(struct slab_counter *sc, const char *name,
			long active, long *acc)
{
	char path[256];
	int fd;

	(void)active;
	(void)acc;
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && sc->nshrink < (int)ARRAY_SIZE(sc->shrink))
		sc->shrink[sc->nshrink++] = fd;
	else if (fd >= 0)
		close(fd);
}

static int slab_counter_open(struct slab_counter *sc)
{
	int ret;

	memset(sc, 0, sizeof(*sc));
	sc->slabinfo = open("/proc/slabinfo", O_RDONLY | O_CLOEXEC);
	if (sc->slabinfo < 0)
		return -errno;
	ret = for_each_counted(sc, open_shrink, NULL);
	if (ret < 0)
		return ret;
	return sc->nshrink ? 0 : -ENOENT;
}

static void slab_counter_close(struct slab_counter *sc)
{
	int i;

	for (i = 0; i < sc->nshrink; i++)
		close(sc->shrink[i]);
	if (sc->slabinfo > 0)
		close(sc->slabinfo);
}

static void add_active(struct slab_counter *sc, const char *name,
		       long active, long *acc)
{
	(void)sc;
	(void)name;
	*acc += active;
}

/* Allocated objects in the counted caches, or -errno. */
static long slab_count(struct slab_counter *sc)
{
	static char one[6000];
	long sum = 0;
	int i, ret;

	write_str("/proc/sys/vm/drop_caches", "2");
	memset(one, ' ', sizeof(one));
	one[0] = '1';
	for (i = 0; i < sc->nshrink; i++)
		if (pwrite(sc->shrink[i], one, sizeof(one), 0) < 0)
			return -errno;
	ret = for_each_counted(sc, add_active, &sum);
	return ret < 0 ? ret : sum;
}

/* Let deferred frees (RCU) finish, then count. */
static long slab_count_settled(struct slab_counter *sc)
{
	long best = -1, n;
	int i;

	for (i = 0; i < 3; i++) {
		usleep(500000);
		n = slab_count(sc);
		if (n < 0)
			return n;
		if (best < 0 || n < best)
			best = n;
	}
	return best;
}

TEST_F_TIMEOUT(module, load_unload_cycles_no_leak, 900)
{
	static struct slab_counter sc;
	long before, after;
	int i, ret;

	SKIP_IF_NEEDED();
	ret = slab_counter_open(&sc);
	if (ret) {
		slab_counter_close(&sc);
		SKIP(return, "cannot count slab objects: %s", strerror(-ret));
	}

	/* Warm up: the first cycles may populate caches for good. */
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, module_unload());
		ASSERT_EQ(0, module_load(""));
	}
	ASSERT_EQ(0, module_unload());
	before = slab_count_settled(&sc);
	ASSERT_LT(0, before);

	for (i = 0; i < LEAK_CYCLES; i++) {
		char buf[4096];

		ASSERT_TRUE(files_gone()) {
			TH_LOG("cycle %d: files left after unload", i);
		}
		ASSERT_EQ(0, module_load("")) {
			TH_LOG("cycle %d: load failed", i);
		}
		ASSERT_TRUE(files_there()) {
			TH_LOG("cycle %d: files missing after load", i);
		}
		/* Use the files, so that their code paths are in the count. */
		ASSERT_EQ(0, sysfs_read("errata", buf, sizeof(buf)));
		ASSERT_LT(0, read_file(SYNCFIX_STATUS, buf, sizeof(buf)));
		ASSERT_EQ(0, set_mitigation(i % 2 ? "on" : "off"));
		ASSERT_EQ(0, module_unload()) {
			TH_LOG("cycle %d: unload failed", i);
		}
	}
	ASSERT_TRUE(files_gone());

	after = slab_count_settled(&sc);
	slab_counter_close(&sc);
	TH_LOG("slab objects: %ld before, %ld after %d cycles (%+ld, tolerance %d)",
	       before, after, LEAK_CYCLES, after - before, LEAK_TOLERANCE);
	EXPECT_GT(LEAK_TOLERANCE, after - before);

	ASSERT_EQ(0, module_load(""));
}

TEST_HARNESS_MAIN
