// SPDX-License-Identifier: GPL-2.0
/*
 * syncfix: /sys/kernel/syncfix.
 *
 * errata      summary line, as in /sys/devices/system/cpu/vulnerabilities
 * cpu         "cpuN: <vendor_id> <family> <model> <stepping>" per online CPU
 * hotpatch    "patched (N sites)" or "unpatched (N sites)"
 * mitigation  "auto", "on" or "off"; root may write one of them
 * version     module version
 */
#include "syncfix.h"

#include <linux/cpumask.h>
#include <linux/kobject.h>
#include <linux/string.h>
#include <linux/sysfs.h>

static struct kobject *syncfix_kobj;

static ssize_t errata_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	struct syncfix_summary s;
	char line[SYNCFIX_SUMMARY_MAX];

	syncfix_summary_get(&s);
	syncfix_summary_format(&s, line, sizeof(line));
	return sysfs_emit(buf, "%s\n", line);
}

static ssize_t cpu_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	unsigned int cpu;
	int len = 0;

	mutex_lock(&syncfix_lock);
	for_each_possible_cpu(cpu) {
		const struct syncfix_cpu *c = syncfix_cpu_get(cpu);

		if (!c->online)
			continue;
		len += sysfs_emit_at(buf, len, "cpu%u: %s %u %u %u\n", cpu,
				     c->vendor_id, c->family, c->model,
				     c->stepping);
	}
	mutex_unlock(&syncfix_lock);
	return len;
}

static ssize_t hotpatch_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	unsigned int sites = syncfix_hotpatch_sites();

	return sysfs_emit(buf, "%s (%u site%s)\n",
			  syncfix_hotpatch_enabled() ? "patched" : "unpatched",
			  sites, sites == 1 ? "" : "s");
}

static ssize_t mitigation_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", syncfix_mode_name(syncfix_mode_get()));
}

static ssize_t mitigation_store(struct kobject *kobj,
				struct kobj_attribute *attr, const char *buf,
				size_t count)
{
	enum syncfix_mitigation mode;
	int ret;

	ret = syncfix_mode_parse(buf, count, &mode);
	if (ret)
		return ret;
	syncfix_mode_set(mode);
	return count;
}

static ssize_t version_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", SYNCFIX_VERSION);
}

static struct kobj_attribute errata_attr = __ATTR_RO(errata);
static struct kobj_attribute cpu_attr = __ATTR_RO(cpu);
static struct kobj_attribute hotpatch_attr = __ATTR_RO(hotpatch);
static struct kobj_attribute mitigation_attr = __ATTR_RW(mitigation);
static struct kobj_attribute version_attr = __ATTR_RO(version);

static struct attribute *syncfix_attrs[] = {
	&errata_attr.attr,
	&cpu_attr.attr,
	&hotpatch_attr.attr,
	&mitigation_attr.attr,
	&version_attr.attr,
	NULL,
};

static const struct attribute_group syncfix_attr_group = {
	.attrs = syncfix_attrs,
};

/**
 * syncfix_sysfs_init() - create /sys/kernel/syncfix and its files
 *
 * Return: 0 or a negative errno.
 */
int syncfix_sysfs_init(void)
{
	int ret;

	syncfix_kobj = kobject_create_and_add("syncfix", kernel_kobj);
	if (!syncfix_kobj)
		return -ENOMEM;

	ret = sysfs_create_group(syncfix_kobj, &syncfix_attr_group);
	if (ret)
		goto err_put;
	return 0;

err_put:
	kobject_put(syncfix_kobj);
	syncfix_kobj = NULL;
	return ret;
}

/**
 * syncfix_sysfs_exit() - remove /sys/kernel/syncfix
 *
 * Waits for the readers and writers of its files to finish.
 */
void syncfix_sysfs_exit(void)
{
	sysfs_remove_group(syncfix_kobj, &syncfix_attr_group);
	kobject_put(syncfix_kobj);
	syncfix_kobj = NULL;
}
