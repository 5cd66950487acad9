// SPDX-License-Identifier: GPL-2.0
/*
 * syncfix: the errata table and the verdict for one CPU.
 *
 * What is known about each erratum (which CPUs it affects, under which
 * extra condition, whether it needs several CPUs online) and the
 * evaluation of one CPU against the table.  Nothing here keeps state,
 * takes a lock or calls another file of the module: the per-CPU results,
 * CPU hotplug, the summary and the mitigation are in mitigation.c, which
 * calls this file and nothing else calls.
 */
#include "syncfix.h"

#include <linux/string.h>
#include <asm/msr.h>
#include <asm/processor.h>

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
 * Context: process context, may sleep (MSR reads go through an IPI);
 * called without syncfix_lock.
 */
void syncfix_evaluate_cpu(unsigned int cpu, struct syncfix_cpu *c)
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
 * syncfix_errata_relevant() - the errata that matter on a set of CPUs
 * @present: SYNCFIX_ERRATUM_* bits present on at least one online CPU
 * @online: number of CPUs online
 *
 * Return: the bits of @present that matter with @online CPUs: an
 * erratum that needs several CPUs (@smp_only) does not matter on one.
 */
u64 syncfix_errata_relevant(u64 present, unsigned int online)
{
	u64 relevant = 0;
	unsigned int i;

	for (i = 0; i < syncfix_nr_errata; i++) {
		const struct syncfix_erratum *e = &syncfix_errata[i];

		if ((present & e->bit) && (!e->smp_only || online > 1))
			relevant |= e->bit;
	}
	return relevant;
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
