// SPDX-License-Identifier: GPL-2.0
/*
 * syncfix: errata table, per-CPU evaluation and CPU hotplug.
 *
 * Each online CPU is evaluated against the errata table on the CPU
 * itself, from a CPUHP_AP_ONLINE_DYN callback, and the result is kept
 * per CPU: CPUs of one system may differ.  The offline callback drops
 * the CPU's result.  Both callbacks then let hotpatch.c switch the lfence
 * sites, since whether an erratum matters can depend on the number of
 * online CPUs.
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

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/lockdep.h>
#include <linux/percpu.h>
#include <linux/string.h>
#include <asm/msr.h>
#include <asm/processor.h>

/* Protects syncfix_cpus and serializes switching syncfix_lfence. */
DEFINE_MUTEX(syncfix_lock);

static DEFINE_PER_CPU(struct syncfix_cpu, syncfix_cpus);

static enum cpuhp_state syncfix_cpuhp_state;

/**
 * syncfix_amd147_applies() - extra condition of AMD erratum 147
 * @cpu: CPU being evaluated
 * @c: its result, gets the state of MSR C001_1023h bit 33
 *
 * Firmware can disarm the erratum by setting bit 33 of MSR C001_1023h.
 * When the MSR cannot be read the CPU is conservatively taken as
 * affected, and the reports say so.
 *
 * Return: true when @cpu is affected.
 */
static bool syncfix_amd147_applies(unsigned int cpu, struct syncfix_cpu *c)
{
	u64 val;

	if (rdmsrl_safe_on_cpu(cpu, SYNCFIX_MSR_K8_BU_CFG, &val)) {
		c->msr = SYNCFIX_MSR_UNREADABLE;
		return true;
	}
	if (val & BIT_ULL(SYNCFIX_K8_BU_CFG_E147_BIT)) {
		c->msr = SYNCFIX_MSR_SET;
		return false;
	}
	c->msr = SYNCFIX_MSR_CLEAR;
	return true;
}

const struct syncfix_erratum syncfix_errata[] = {
	{
		.bit		= SYNCFIX_ERRATUM_AMD_147,
		.name		= "AMD erratum 147",
		.ref		= "6323525",
		.column		= "erratum_147",
		.vendor		= X86_VENDOR_AMD,
		.family		= 0xf,
		.model_min	= 0x00,
		.model_max	= 0x3f,	/* all K8 before revision F */
		.smp_only	= true,
		.applies	= syncfix_amd147_applies,
		.description	= "a read may pass a preceding lock cmpxchg",
		.mitigation	= "lfence after locked instructions",
	},
};

const unsigned int syncfix_nr_errata = ARRAY_SIZE(syncfix_errata);

/**
 * syncfix_evaluate_cpu() - evaluate one CPU against the errata table
 * @cpu: CPU to evaluate
 * @c: result, filled in
 *
 * May sleep (MSR reads go through an IPI); called without syncfix_lock.
 */
static void syncfix_evaluate_cpu(unsigned int cpu, struct syncfix_cpu *c)
{
	const struct cpuinfo_x86 *ci = &cpu_data(cpu);
	unsigned int i;

	memset(c, 0, sizeof(*c));
	c->vendor = ci->x86_vendor;
	if (ci->x86_vendor_id[0])
		strscpy(c->vendor_id, ci->x86_vendor_id, sizeof(c->vendor_id));
	else
		strscpy(c->vendor_id, "unknown", sizeof(c->vendor_id));
	c->family = ci->x86;
	c->model = ci->x86_model;
	c->stepping = ci->x86_stepping;
	c->msr = SYNCFIX_MSR_NA;

	for (i = 0; i < syncfix_nr_errata; i++) {
		const struct syncfix_erratum *e = &syncfix_errata[i];

		if (c->vendor != e->vendor || c->family != e->family ||
		    c->model < e->model_min || c->model > e->model_max)
			continue;
		if (e->applies && !e->applies(cpu, c))
			continue;
		c->errata |= e->bit;
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
	unsigned int cpu, i;

	lockdep_assert_held(&syncfix_lock);

	memset(s, 0, sizeof(*s));
	for_each_possible_cpu(cpu) {
		const struct syncfix_cpu *c = per_cpu_ptr(&syncfix_cpus, cpu);

		if (!c->online)
			continue;
		s->online++;
		s->present |= c->errata;
	}
	for (i = 0; i < syncfix_nr_errata; i++) {
		const struct syncfix_erratum *e = &syncfix_errata[i];

		if ((s->present & e->bit) && (!e->smp_only || s->online > 1))
			s->relevant |= e->bit;
	}
	s->mode = syncfix_mode_get();
	s->patched = syncfix_hotpatch_enabled();
}

/**
 * syncfix_errata_need_fence() - whether the online CPUs need the lfence
 *
 * Context: syncfix_lock held.
 * Return: true when an erratum fixed by the lfence matters now.
 */
bool syncfix_errata_need_fence(void)
{
	struct syncfix_summary s;

	syncfix_summary_get_locked(&s);
	return s.relevant != 0;
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
 * syncfix_msr_state_name() - name of an MSR state, for the reports
 * @state: the state
 *
 * Return: "n/a", "clear", "set" or "unreadable".
 */
const char *syncfix_msr_state_name(enum syncfix_msr_state state)
{
	switch (state) {
	case SYNCFIX_MSR_CLEAR:
		return "clear";
	case SYNCFIX_MSR_SET:
		return "set";
	case SYNCFIX_MSR_UNREADABLE:
		return "unreadable";
	default:
		return "n/a";
	}
}

/**
 * syncfix_errata_init() - evaluate the online CPUs and follow CPU hotplug
 *
 * Runs the online callback on every online CPU, which also switches the
 * lfence sites according to the mitigation mode.
 *
 * Return: 0 or a negative errno.
 */
int syncfix_errata_init(void)
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
 * syncfix_errata_exit() - stop following CPU hotplug
 *
 * The teardown callbacks are not run: they would only switch the lfence
 * sites of a module that is going away.
 */
void syncfix_errata_exit(void)
{
	cpuhp_remove_state_nocalls(syncfix_cpuhp_state);
}
