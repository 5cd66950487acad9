// SPDX-License-Identifier: GPL-2.0
/*
 * syncfix: per-CPU results, CPU hotplug, the summary, the mitigation mode
 * and the lfence hot-patch.
 *
 * Each online CPU is evaluated against the errata table (errata.c) on
 * the CPU itself, from a CPUHP_AP_ONLINE_DYN callback, and the result is
 * kept per CPU: CPUs of one system may differ.  The offline callback
 * drops the CPU's result.  Both callbacks then switch the lfence sites,
 * since whether an erratum matters can depend on the number of online
 * CPUs.
 *
 * The module's locked instructions are followed by syncfix_locked_fence()
 * (see syncfix.h), a static branch over an LFENCE.  The syncfix_lfence
 * key is enabled ("patched") when the mode is "on", or when it is "auto"
 * and an erratum fixed by the LFENCE matters on the online CPUs;
 * otherwise it is disabled.  It is switched here and nowhere else, with
 * the CPU hotplug lock and syncfix_lock held, using the _cpuslocked
 * variants of the static key API: the hotplug callbacks already run under
 * the hotplug lock and must not take it again.
 *
 * Locking: syncfix_lock protects the per-CPU results and serializes the
 * static key switching.  The hotplug callbacks run in the per-CPU hotplug
 * threads while the CPU hotplug lock is held, for write by a CPU hotplug
 * operation or for read by cpuhp_setup_state(); lockdep counts it as held
 * by the callback.  Everybody else who switches the key takes
 * cpus_read_lock() before syncfix_lock.  Readers of the results (sysfs,
 * procfs) take only syncfix_lock.
 */
#include "syncfix.h"

#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/string.h>

/* Protects syncfix_cpus and serializes switching syncfix_lfence. */
DEFINE_MUTEX(syncfix_lock);

static DEFINE_PER_CPU(struct syncfix_cpu, syncfix_cpus);

static enum cpuhp_state syncfix_cpuhp_state;

DEFINE_STATIC_KEY_FALSE(syncfix_lfence);

/* enum syncfix_mitigation, an int so that it can be xchg()ed. */
static int syncfix_mode = SYNCFIX_MITIGATION_AUTO;

static const char * const syncfix_mode_names[] = {
	[SYNCFIX_MITIGATION_AUTO]	= "auto",
	[SYNCFIX_MITIGATION_ON]		= "on",
	[SYNCFIX_MITIGATION_OFF]	= "off",
};

/*
 * The online CPUs and the errata present on them.
 *
 * Context: syncfix_lock held.
 */
static void syncfix_cpus_scan_locked(unsigned int *online, u64 *present)
{
	unsigned int cpu;

	lockdep_assert_held(&syncfix_lock);

	*online = 0;
	*present = 0;
	for_each_possible_cpu(cpu) {
		const struct syncfix_cpu *c = per_cpu_ptr(&syncfix_cpus, cpu);

		if (!c->online)
			continue;
		(*online)++;
		*present |= c->errata;
	}
}

/**
 * syncfix_cpu_online() - CPU hotplug startup callback
 * @cpu: CPU coming online (the callback runs on it)
 *
 * Return: 0, evaluation cannot fail.
 */
static int syncfix_cpu_online(unsigned int cpu)
{
	struct syncfix_cpu c;

	syncfix_evaluate_cpu(cpu, &c);
	c.online = true;

	mutex_lock(&syncfix_lock);
	*per_cpu_ptr(&syncfix_cpus, cpu) = c;
	syncfix_hotpatch_sync_cpuslocked();
	mutex_unlock(&syncfix_lock);
	return 0;
}

/**
 * syncfix_cpu_offline() - CPU hotplug teardown callback
 * @cpu: CPU going offline
 *
 * Return: 0, teardown must not fail.
 */
static int syncfix_cpu_offline(unsigned int cpu)
{
	mutex_lock(&syncfix_lock);
	per_cpu_ptr(&syncfix_cpus, cpu)->online = false;
	syncfix_hotpatch_sync_cpuslocked();
	mutex_unlock(&syncfix_lock);
	return 0;
}

/**
 * syncfix_summary_get_locked() - summarize the per-CPU results
 * @s: summary, filled in
 *
 * Context: syncfix_lock held.
 */
void syncfix_summary_get_locked(struct syncfix_summary *s)
{
	memset(s, 0, sizeof(*s));
	syncfix_cpus_scan_locked(&s->online, &s->present);
	s->relevant = syncfix_errata_relevant(s->present, s->online);
	s->mode = syncfix_mode_get();
	s->patched = syncfix_hotpatch_enabled();
}

/**
 * syncfix_summary_get() - consistent snapshot of the system-wide state
 * @s: summary, filled in
 *
 * Context: process context, takes syncfix_lock.
 */
void syncfix_summary_get(struct syncfix_summary *s)
{
	mutex_lock(&syncfix_lock);
	syncfix_summary_get_locked(s);
	mutex_unlock(&syncfix_lock);
}

/**
 * syncfix_summary_format() - the one-line summary of /sys/kernel/syncfix/errata
 * @s: summary to format
 * @buf: output buffer
 * @size: size of @buf
 *
 * Same style as the files of /sys/devices/system/cpu/vulnerabilities:
 * "Not affected", "Vulnerable: ..." or "Mitigation: ...".  No trailing
 * newline.
 *
 * Return: number of characters written to @buf, without the NUL.
 */
int syncfix_summary_format(const struct syncfix_summary *s, char *buf,
			   size_t size)
{
	const char *sep = "";
	unsigned int i;
	int len;

	if (!s->present)
		return scnprintf(buf, size, "Not affected");

	if (!s->relevant) {
		/* Only errata that need several CPUs get here. */
		len = scnprintf(buf, size, "Not affected (");
		for (i = 0; i < syncfix_nr_errata; i++) {
			if (!(s->present & syncfix_errata[i].bit))
				continue;
			len += scnprintf(buf + len, size - len, "%s%s present",
					 sep, syncfix_errata[i].name);
			sep = ", ";
		}
		len += scnprintf(buf + len, size - len, ", single CPU online)");
		return len;
	}

	len = scnprintf(buf, size, "%s: ",
			s->patched ? "Mitigation" : "Vulnerable");
	for (i = 0; i < syncfix_nr_errata; i++) {
		const struct syncfix_erratum *e = &syncfix_errata[i];

		if (!(s->relevant & e->bit))
			continue;
		if (s->patched)
			len += scnprintf(buf + len, size - len, "%s%s (%s)",
					 sep, e->mitigation, e->name);
		else
			len += scnprintf(buf + len, size - len, "%s%s (%s)",
					 sep, e->name, e->ref);
		sep = "; ";
	}
	return len;
}

/**
 * syncfix_cpu_get() - result of one CPU
 * @cpu: possible CPU number
 *
 * Context: syncfix_lock held for as long as the result is used.
 * Return: the CPU's result; check its @online field.
 */
const struct syncfix_cpu *syncfix_cpu_get(unsigned int cpu)
{
	lockdep_assert_held(&syncfix_lock);
	return per_cpu_ptr(&syncfix_cpus, cpu);
}

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
	default: {
		unsigned int online;
		u64 present;

		syncfix_cpus_scan_locked(&online, &present);
		want = syncfix_errata_relevant(present, online) != 0;
		break;
	}
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

/**
 * syncfix_mitigation_init() - evaluate the online CPUs and follow CPU hotplug
 *
 * Runs the online callback on every online CPU, which also switches the
 * lfence sites according to the mitigation mode.
 *
 * Return: 0 or a negative errno.
 */
int syncfix_mitigation_init(void)
{
	int ret;

	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "syncfix:online",
				syncfix_cpu_online, syncfix_cpu_offline);
	if (ret < 0) {
		pr_err("cannot register CPU hotplug state: %d\n", ret);
		return ret;
	}
	syncfix_cpuhp_state = ret;
	return 0;
}

/**
 * syncfix_mitigation_exit() - stop following CPU hotplug
 *
 * The teardown callbacks are not run: they would only switch the lfence
 * sites of a module that is going away.
 */
void syncfix_mitigation_exit(void)
{
	cpuhp_remove_state_nocalls(syncfix_cpuhp_state);
}
