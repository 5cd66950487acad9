// SPDX-License-Identifier: GPL-2.0
/*
 * syncfix: kernel-assisted synchronization runtime.
 *
 * Module init and exit, module parameters.
 */
#include "syncfix.h"

#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

/**
 * syncfix_param_mitigation_set() - parse the "mitigation" module parameter
 * @val: "auto", "on" or "off"
 * @kp: the parameter
 *
 * Return: 0, or -EINVAL for any other value, which makes loading fail.
 */
static int syncfix_param_mitigation_set(const char *val,
					const struct kernel_param *kp)
{
	enum syncfix_mitigation mode;

	if (!val || syncfix_mode_parse(val, strlen(val), &mode)) {
		pr_err("invalid mitigation=%s: expected auto, on or off\n",
		       val ? val : "");
		return -EINVAL;
	}
	syncfix_mode_init(mode);
	return 0;
}

/**
 * syncfix_param_mitigation_get() - show the current mitigation mode
 * @buffer: page-sized output buffer
 * @kp: the parameter
 *
 * Return: number of characters written.
 */
static int syncfix_param_mitigation_get(char *buffer,
					const struct kernel_param *kp)
{
	return scnprintf(buffer, PAGE_SIZE, "%s\n",
			 syncfix_mode_name(syncfix_mode_get()));
}

static const struct kernel_param_ops syncfix_param_mitigation_ops = {
	.set = syncfix_param_mitigation_set,
	.get = syncfix_param_mitigation_get,
};

module_param_cb(mitigation, &syncfix_param_mitigation_ops, NULL, 0444);
MODULE_PARM_DESC(mitigation,
		 "Initial mitigation mode: auto (default), on or off");

/*
 * The parts of the module, in dependency order: init runs them from the
 * first to the last and exit from the last to the first, so that no
 * entry point is reachable before what it reads exists, nor after it is
 * gone:
 *
 *   1. the wait queue's buckets (waitwake.c): read by
 *      /proc/syncfix/waiters and /proc/syncfix/status, used by every
 *      ioctl of /dev/syncfix; plain memory, nothing can reach it yet;
 *   2. the per-CPU results and the hotplug callbacks (mitigation.c), which
 *      also set the static key: read by every file and by GET_INFO;
 *   3. /sys/kernel/syncfix, 4. /proc/syncfix, 5. /dev/syncfix: the entry
 *      points, each reading only what 1 and 2 set up.
 *
 * Removing an entry point waits for the calls in progress on it
 * (kernfs and procfs drain their active users; an open /dev/syncfix
 * holds a module reference, so exit never runs with a waiter asleep).
 */
static const struct syncfix_part {
	int (*init)(void);
	void (*exit)(void);		/* NULL: nothing to undo */
} syncfix_parts[] = {
	{ syncfix_waitq_init, NULL },
	{ syncfix_mitigation_init, syncfix_mitigation_exit },
	{ syncfix_sysfs_init, syncfix_sysfs_exit },
	{ syncfix_procfs_init, syncfix_procfs_exit },
	{ syncfix_dev_init, syncfix_dev_exit },
};

/* Undo the first @n parts, last first. */
static void syncfix_parts_exit(unsigned int n)
{
	while (n--)
		if (syncfix_parts[n].exit)
			syncfix_parts[n].exit();
}

static int __init syncfix_init(void)
{
	struct syncfix_summary s;
	char line[SYNCFIX_SUMMARY_MAX];
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(syncfix_parts); i++) {
		ret = syncfix_parts[i].init();
		if (ret) {
			syncfix_parts_exit(i);
			return ret;
		}
	}

	syncfix_summary_get(&s);
	syncfix_summary_format(&s, line, sizeof(line));
	pr_info("version %s, mitigation=%s: %s\n", SYNCFIX_VERSION,
		syncfix_mode_name(s.mode), line);
	return 0;
}

static void __exit syncfix_exit(void)
{
	syncfix_parts_exit(ARRAY_SIZE(syncfix_parts));
}

module_init(syncfix_init);
module_exit(syncfix_exit);

MODULE_DESCRIPTION("syncfix: kernel-assisted synchronization runtime");
MODULE_LICENSE("GPL");
MODULE_VERSION(SYNCFIX_VERSION);
