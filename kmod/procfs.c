// SPDX-License-Identifier: GPL-2.0
/*
 * syncfix: /proc/syncfix.
 *
 * status   the state of the module for people: version, summary, mode,
 *          hot-patch state, counters, then one row per online CPU.
 * waiters  one line per task blocked in SYNCFIX_IOC_WAIT.  A reader sees
 *          the waiters of its own (real) uid; a reader with CAP_SYS_ADMIN,
 *          or uid 0, sees all of them.  Decided with the opener's
 *          credentials, as every permission check on a file.
 *
 * Files are listed in syncfix_proc_files[]; add new ones there.
 */
#include "syncfix.h"

#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/string.h>

static struct proc_dir_entry *syncfix_proc_dir;

/* Number of times /proc/syncfix/status was read. */
static atomic_t syncfix_status_reads = ATOMIC_INIT(0);

static void syncfix_status_cpus(struct seq_file *m)
{
	unsigned int cpu, i;

	seq_printf(m, "%-4s %-12s %6s %5s %8s %-17s", "cpu", "vendor_id",
		   "family", "model", "stepping", "msr_c0011023_b33");
	for (i = 0; i < syncfix_nr_errata; i++)
		seq_printf(m, " %s", syncfix_errata[i].column);
	seq_putc(m, '\n');

	for_each_possible_cpu(cpu) {
		const struct syncfix_cpu *c = syncfix_cpu_get(cpu);

		if (!c->online)
			continue;
		seq_printf(m, "%-4u %-12s %6u %5u %8u %-17s", cpu, c->vendor_id,
			   c->family, c->model, c->stepping,
			   syncfix_msr_state_name(c->msr));
		for (i = 0; i < syncfix_nr_errata; i++) {
			/* Pad to the heading, but not the last column. */
			int width = i + 1 < syncfix_nr_errata ?
				    strlen(syncfix_errata[i].column) : 0;

			seq_printf(m, " %-*s", width,
				   c->errata & syncfix_errata[i].bit ?
				   "affected" : "unaffected");
		}
		seq_putc(m, '\n');
	}
}

static void syncfix_status_notes(struct seq_file *m)
{
	const char *hdr = "\nnotes:\n";
	unsigned int cpu, i;

	for_each_possible_cpu(cpu) {
		const struct syncfix_cpu *c = syncfix_cpu_get(cpu);

		if (!c->online || c->msr != SYNCFIX_MSR_UNREADABLE)
			continue;
		seq_printf(m, "%scpu%u: msr: unreadable, assumed affected\n",
			   hdr, cpu);
		hdr = "";
	}
	for (i = 0; i < syncfix_nr_errata; i++) {
		const struct syncfix_erratum *e = &syncfix_errata[i];

		for_each_possible_cpu(cpu) {
			const struct syncfix_cpu *c = syncfix_cpu_get(cpu);

			if (c->online && (c->errata & e->bit))
				break;
		}
		if (cpu >= nr_cpu_ids)
			continue;
		seq_printf(m, "%s%s (%s): %s%s\n", hdr, e->name, e->ref,
			   e->description,
			   e->smp_only ? "; matters with more than one CPU online" : "");
		hdr = "";
	}
}

static int syncfix_status_show(struct seq_file *m, void *v)
{
	struct syncfix_summary s;
	char line[SYNCFIX_SUMMARY_MAX];
	unsigned int sites;
	int reads;

	reads = atomic_inc_return(&syncfix_status_reads);
	/* The module's state is read next. */
	syncfix_locked_fence();

	sites = syncfix_hotpatch_sites();

	mutex_lock(&syncfix_lock);
	syncfix_summary_get_locked(&s);
	syncfix_summary_format(&s, line, sizeof(line));

	seq_printf(m, "version:      %s\n", SYNCFIX_VERSION);
	seq_printf(m, "errata:       %s\n", line);
	seq_printf(m, "mitigation:   %s\n", syncfix_mode_name(s.mode));
	seq_printf(m, "hotpatch:     %s (%u site%s)\n",
		   s.patched ? "patched" : "unpatched", sites,
		   sites == 1 ? "" : "s");
	seq_printf(m, "online cpus:  %u\n", s.online);
	seq_printf(m, "status reads: %d\n", reads);
	syncfix_wait_stats_show(m);
	seq_putc(m, '\n');
	syncfix_status_cpus(m);
	syncfix_status_notes(m);
	mutex_unlock(&syncfix_lock);
	return 0;
}

static int syncfix_waiters_proc_show(struct seq_file *m, void *v)
{
	const struct cred *cred = m->file->f_cred;
	bool all = uid_eq(cred->uid, GLOBAL_ROOT_UID) ||
		   file_ns_capable(m->file, &init_user_ns, CAP_SYS_ADMIN);

	syncfix_waiters_show(m, all, cred->uid);
	return 0;
}

static const struct {
	const char *name;
	int (*show)(struct seq_file *m, void *v);
} syncfix_proc_files[] = {
	{ "status", syncfix_status_show },
	{ "waiters", syncfix_waiters_proc_show },
};

/**
 * syncfix_procfs_init() - create /proc/syncfix and its files
 *
 * Return: 0 or a negative errno.
 */
int syncfix_procfs_init(void)
{
	unsigned int i;

	syncfix_proc_dir = proc_mkdir("syncfix", NULL);
	if (!syncfix_proc_dir)
		return -ENOMEM;

	for (i = 0; i < ARRAY_SIZE(syncfix_proc_files); i++) {
		if (!proc_create_single(syncfix_proc_files[i].name, 0444,
					syncfix_proc_dir,
					syncfix_proc_files[i].show))
			goto err_remove;
	}
	return 0;

err_remove:
	proc_remove(syncfix_proc_dir);
	syncfix_proc_dir = NULL;
	return -ENOMEM;
}

/**
 * syncfix_procfs_exit() - remove /proc/syncfix and everything below it
 *
 * Waits for the readers of its files to finish.
 */
void syncfix_procfs_exit(void)
{
	proc_remove(syncfix_proc_dir);
	syncfix_proc_dir = NULL;
}
