// SPDX-License-Identifier: GPL-2.0
/*
 * syncfix: mitigation mode and the lfence hot-patch.
 *
 * The module's locked instructions are followed by syncfix_locked_fence()
 * (see syncfix.h), a static branch over an LFENCE.  The syncfix_lfence
 * key is enabled ("patched") when the mode is "on", or when it is "auto"
 * and an erratum fixed by the LFENCE matters on the online CPUs;
 * otherwise it is disabled.  It is switched here and nowhere else, with
 * the CPU hotplug lock and syncfix_lock held, using the _cpuslocked
 * variants of the static key API: the hotplug callbacks already run under
 * the hotplug lock and must not take it again.
 */
#include "syncfix.h"

#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/string.h>

DEFINE_STATIC_KEY_FALSE(syncfix_lfence);

/* enum syncfix_mitigation, an int so that it can be xchg()ed. */
static int syncfix_mode = SYNCFIX_MITIGATION_AUTO;

static const char * const syncfix_mode_names[] = {
	[SYNCFIX_MITIGATION_AUTO]	= "auto",
	[SYNCFIX_MITIGATION_ON]		= "on",
	[SYNCFIX_MITIGATION_OFF]	= "off",
};

/**
 * syncfix_mode_parse() - parse a mitigation mode
 * @buf: "auto", "on" or "off", optionally followed by one newline
 * @count: length of @buf, which must not contain a NUL byte
 * @mode: the mode, set on success
 *
 * Matching is exact and case-sensitive: "ON" or " on" are rejected.
 *
 * Return: 0 or -EINVAL.
 */
int syncfix_mode_parse(const char *buf, size_t count,
		       enum syncfix_mitigation *mode)
{
	unsigned int i;

	if (strnlen(buf, count) != count)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(syncfix_mode_names); i++) {
		if (sysfs_streq(buf, syncfix_mode_names[i])) {
			*mode = i;
			return 0;
		}
	}
	return -EINVAL;
}

/**
 * syncfix_mode_name() - name of a mitigation mode
 * @mode: the mode
 *
 * Return: "auto", "on", "off", or "invalid" for an unknown value.
 */
const char *syncfix_mode_name(enum syncfix_mitigation mode)
{
	if ((unsigned int)mode >= ARRAY_SIZE(syncfix_mode_names))
		return "invalid";
	return syncfix_mode_names[mode];
}

/**
 * syncfix_mode_get() - current mitigation mode
 *
 * Return: the mode.
 */
enum syncfix_mitigation syncfix_mode_get(void)
{
	return READ_ONCE(syncfix_mode);
}

/**
 * syncfix_mode_init() - set the initial mitigation mode
 * @mode: the mode
 *
 * For the module parameter, which is parsed before the module's init
 * function runs: nothing is patched yet.
 */
void syncfix_mode_init(enum syncfix_mitigation mode)
{
	WRITE_ONCE(syncfix_mode, mode);
}

/**
 * syncfix_mode_set() - change the mitigation mode at run time
 * @mode: the new mode
 *
 * Switches the lfence sites as the new mode requires.
 *
 * Context: process context; takes the CPU hotplug lock and syncfix_lock.
 */
void syncfix_mode_set(enum syncfix_mitigation mode)
{
	int old;

	cpus_read_lock();
	mutex_lock(&syncfix_lock);
	old = xchg(&syncfix_mode, mode);
	/* The per-CPU results are read next. */
	syncfix_locked_fence();
	if (old != mode)
		pr_info("mitigation mode %s -> %s\n", syncfix_mode_name(old),
			syncfix_mode_name(mode));
	syncfix_hotpatch_sync_cpuslocked();
	mutex_unlock(&syncfix_lock);
	cpus_read_unlock();
}

/**
 * syncfix_hotpatch_sync_cpuslocked() - patch or unpatch the lfence sites
 *
 * Enables the syncfix_lfence key when the mode is "on", or "auto" with
 * an erratum that matters on the online CPUs; disables it otherwise.
 *
 * Context: CPU hotplug lock and syncfix_lock held.
 */
void syncfix_hotpatch_sync_cpuslocked(void)
{
	bool want;

	/* lockdep_assert_cpus_held() is not exported to modules. */
	lockdep_assert_held(&syncfix_lock);

	switch (syncfix_mode_get()) {
	case SYNCFIX_MITIGATION_ON:
		want = true;
		break;
	case SYNCFIX_MITIGATION_OFF:
		want = false;
		break;
	default:
		want = syncfix_errata_need_fence();
		break;
	}

	if (want == static_key_enabled(&syncfix_lfence))
		return;
	if (want)
		static_branch_enable_cpuslocked(&syncfix_lfence);
	else
		static_branch_disable_cpuslocked(&syncfix_lfence);
	pr_debug("lfence sites %s\n", want ? "patched" : "unpatched");
}

/**
 * syncfix_hotpatch_enabled() - whether the lfence sites are patched in
 *
 * Return: true when the syncfix_lfence key is enabled.
 */
bool syncfix_hotpatch_enabled(void)
{
	return static_key_enabled(&syncfix_lfence);
}

/**
 * syncfix_hotpatch_sites() - count the module's lfence sites
 *
 * Counts the jump table entries of the syncfix_lfence key in the
 * module's own jump table (the kernel's when built in), leaving out the
 * sites in init code, which is gone once the module is loaded.
 *
 * Return: the number of sites patched by the syncfix_lfence key.
 */
unsigned int syncfix_hotpatch_sites(void)
{
	unsigned int n = 0;
#ifdef CONFIG_JUMP_LABEL
	struct jump_entry *start, *stop, *entry;

#ifdef MODULE
	start = THIS_MODULE->jump_entries;
	stop = start + THIS_MODULE->num_jump_entries;
#else
	start = __start___jump_table;
	stop = __stop___jump_table;
#endif
	for (entry = start; entry < stop; entry++) {
		if (jump_entry_key(entry) == &syncfix_lfence.key &&
		    !jump_entry_is_init(entry))
			n++;
	}
#endif
	return n;
}
