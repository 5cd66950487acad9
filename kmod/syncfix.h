/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syncfix: kernel-assisted synchronization runtime - module internals.
 *
 * Every source file of the module includes this header first, so that
 * pr_fmt() is defined once for all of them.
 */
#ifndef _SYNCFIX_H
#define _SYNCFIX_H

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jump_label.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/syncfix.h>

/* SYNCFIX_VERSION, a string, comes from the VERSION file (Kbuild). */

/* Longest summary line of /sys/kernel/syncfix/errata, without newline. */
#define SYNCFIX_SUMMARY_MAX	256

/* MSR C001_1023h, BU_CFG on family 0Fh, and the bit that disarms erratum 147. */
#define SYNCFIX_MSR_K8_BU_CFG		0xc0011023
#define SYNCFIX_K8_BU_CFG_E147_BIT	33

/**
 * enum syncfix_msr_state - what was read from MSR C001_1023h bit 33
 * @SYNCFIX_MSR_NA: not read, the CPU is not a candidate for erratum 147
 * @SYNCFIX_MSR_CLEAR: read, bit 33 clear: the erratum is not disarmed
 * @SYNCFIX_MSR_SET: read, bit 33 set: the erratum is disarmed
 * @SYNCFIX_MSR_UNREADABLE: the read faulted: assumed not disarmed
 */
enum syncfix_msr_state {
	SYNCFIX_MSR_NA,
	SYNCFIX_MSR_CLEAR,
	SYNCFIX_MSR_SET,
	SYNCFIX_MSR_UNREADABLE,
};

/**
 * struct syncfix_cpu - evaluation result for one CPU
 * @online: the CPU is online as far as syncfix's hotplug state is concerned
 * @vendor: X86_VENDOR_* from cpu_data()
 * @vendor_id: CPUID vendor string, as /proc/cpuinfo's "vendor_id"
 * @family: CPU family, as /proc/cpuinfo's "cpu family"
 * @model: CPU model, as /proc/cpuinfo's "model"
 * @stepping: CPU stepping, as /proc/cpuinfo's "stepping"
 * @msr: state of MSR C001_1023h bit 33
 * @errata: SYNCFIX_ERRATUM_* bits of the errata present on this CPU
 *
 * One per possible CPU; written by the hotplug callbacks and read by the
 * sysfs and procfs files, always under syncfix_lock.
 */
struct syncfix_cpu {
	bool online;
	u8 vendor;
	char vendor_id[16];
	u8 family;
	u8 model;
	u8 stepping;
	enum syncfix_msr_state msr;
	u64 errata;
};

/**
 * struct syncfix_erratum - one entry of the errata table
 * @bit: SYNCFIX_ERRATUM_* bit of the erratum
 * @name: short human-readable name, e.g. "AMD erratum 147"
 * @ref: other reference to the same problem, e.g. a Solaris bug id
 * @column: column heading in /proc/syncfix/status
 * @vendor: X86_VENDOR_* the erratum applies to
 * @family: CPU family the erratum applies to
 * @model_min: lowest affected model
 * @model_max: highest affected model
 * @smp_only: the erratum only matters with more than one CPU online
 * @applies: optional extra condition, called for a CPU that matched
 *           vendor, family and model; may record what it found in the
 *           struct syncfix_cpu; returns true when the CPU is affected
 * @description: one-line description of the erratum
 * @mitigation: one-line description of what syncfix does about it
 */
struct syncfix_erratum {
	u64 bit;
	const char *name;
	const char *ref;
	const char *column;
	u8 vendor;
	u8 family;
	u8 model_min;
	u8 model_max;
	bool smp_only;
	bool (*applies)(unsigned int cpu, struct syncfix_cpu *c);
	const char *description;
	const char *mitigation;
};

/**
 * struct syncfix_summary - system-wide view of the per-CPU results
 * @online: number of CPUs online
 * @present: errata present on at least one online CPU
 * @relevant: errata of @present that matter with @online CPUs
 * @mode: mitigation mode
 * @patched: the lfence sites are patched in
 */
struct syncfix_summary {
	unsigned int online;
	u64 present;
	u64 relevant;
	enum syncfix_mitigation mode;
	bool patched;
};

/* Serializes the per-CPU results and the static key; see mitigation.c. */
extern struct mutex syncfix_lock;

extern const struct syncfix_erratum syncfix_errata[];
extern const unsigned int syncfix_nr_errata;

DECLARE_STATIC_KEY_FALSE(syncfix_lfence);

/**
 * syncfix_locked_fence() - order reads after a preceding locked instruction
 *
 * Place right after every locked instruction (lock cmpxchg, lock xadd,
 * xchg, ...) of the module that is followed by reads whose ordering
 * matters.
 *
 * x86 promises that a locked instruction is a full barrier: no later
 * load may be performed before it.  AMD erratum 147 (Solaris 6323525),
 * present on family 0Fh processors before revision F, breaks this
 * promise: when a locked instruction is followed by an unlocked
 * read-modify-write instruction (or a plain read), the processor may
 * perform the later read before the locked instruction has completed,
 * so the read can return a value older than the one the locked
 * operation established.  With more than one CPU, that is enough to let
 * two CPUs both believe they won a lock, or to let a waiter miss a wake
 * up.  On a single CPU the reordering cannot be observed.
 *
 * The documented software workaround is an LFENCE right after the
 * locked instruction: LFENCE does not let later loads start before all
 * earlier instructions, including the locked one, have completed.
 *
 * The LFENCE is costly and useless everywhere else, so it sits behind
 * the syncfix_lfence static key: unpatched, each site is a 5-byte NOP;
 * patched, a jump to the fence.  The key is switched by the mitigation
 * mode and by CPU hotplug, see mitigation.c.
 */
static __always_inline void syncfix_locked_fence(void)
{
	if (static_branch_unlikely(&syncfix_lfence))
		asm volatile("lfence" ::: "memory");
}

/* errata.c: the table and one CPU's verdict; calls nothing of the module */
void syncfix_evaluate_cpu(unsigned int cpu, struct syncfix_cpu *c);
u64 syncfix_errata_relevant(u64 present, unsigned int online);
const char *syncfix_msr_state_name(enum syncfix_msr_state state);

/* mitigation.c: per-CPU results, hotplug, summary, mode, static key */
int syncfix_mitigation_init(void);
void syncfix_mitigation_exit(void);
void syncfix_summary_get(struct syncfix_summary *s);
void syncfix_summary_get_locked(struct syncfix_summary *s);
int syncfix_summary_format(const struct syncfix_summary *s, char *buf,
			   size_t size);
const struct syncfix_cpu *syncfix_cpu_get(unsigned int cpu);
int syncfix_mode_parse(const char *buf, size_t count,
		       enum syncfix_mitigation *mode);
const char *syncfix_mode_name(enum syncfix_mitigation mode);
enum syncfix_mitigation syncfix_mode_get(void);
void syncfix_mode_init(enum syncfix_mitigation mode);
void syncfix_mode_set(enum syncfix_mitigation mode);
void syncfix_hotpatch_sync_cpuslocked(void);
bool syncfix_hotpatch_enabled(void);
unsigned int syncfix_hotpatch_sites(void);

/* sysfs.c */
int syncfix_sysfs_init(void);
void syncfix_sysfs_exit(void);

/* waitwake.c: the wait queue of /dev/syncfix */
#define SYNCFIX_HASH_BITS	8
#define SYNCFIX_NR_BUCKETS	BIT(SYNCFIX_HASH_BITS)

struct file;
struct seq_file;

/**
 * struct syncfix_owner - what a waiter says holds its lock
 * @kind: one SYNCFIX_WAIT_OWNER_* flag, or 0 for nothing said
 * @owner: struct syncfix_wait's @owner, checked for @kind
 * @self: struct syncfix_wait's @self (SYNCFIX_WAIT_OWNER_ID only)
 */
struct syncfix_owner {
	u32 kind;
	u64 owner;
	u64 self;
};

int syncfix_waitq_init(void);
int syncfix_wait(u32 __user *uaddr, u32 val, u32 bitset, u32 tag,
		 const struct syncfix_owner *own, const ktime_t *deadline,
		 bool restart);
int syncfix_wake(u32 __user *uaddr, int count, u32 bitset);
void syncfix_waiters_show(struct seq_file *m, bool all, kuid_t uid);
int syncfix_announce(const struct file *file, atomic_t *count,
		     u32 __user *uaddr, u32 val, u32 bitset, u32 tag,
		     const struct syncfix_owner *own);
int syncfix_retract(const struct file *file, atomic_t *count);
void syncfix_retract_all(const struct file *file, atomic_t *count, bool dead);
void syncfix_wait_stats_show(struct seq_file *m);

/* dev.c */
int syncfix_dev_init(void);
void syncfix_dev_exit(void);

/* procfs.c */
int syncfix_procfs_init(void);
void syncfix_procfs_exit(void);

#endif /* _SYNCFIX_H */
