// SPDX-License-Identifier: GPL-2.0
/*
 * syncfix: /dev/syncfix, the ioctl entry points of the wait queue.
 *
 * Arguments are validated here, completely, before waitwake.c sees them:
 * unknown commands fail with -ENOTTY, unknown flags, out-of-range tags
 * and non-zero reserved fields with -EINVAL, unreadable arguments with
 * -EFAULT.  Nothing is ever copied out but a struct zeroed first.
 *
 * The file_operations' owner pins the module while the device is open,
 * so the module cannot be unloaded under a waiter.  Each open file keeps
 * the count of its announcements (SYNCFIX_IOC_ANNOUNCE), which end at
 * the latest when it is released.
 */
#include "syncfix.h"

#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/limits.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

/* The word at @addr: non-zero, 4-byte aligned, a user address. */
static int syncfix_user_word(u64 addr, u32 __user **uaddr)
{
	if (!addr || !IS_ALIGNED(addr, sizeof(u32)))
		return -EINVAL;
	*uaddr = u64_to_user_ptr(addr);
	if (!access_ok(*uaddr, sizeof(u32)))
		return -EFAULT;
	return 0;
}

static long syncfix_ioc_get_info(void __user *argp)
{
	struct syncfix_summary s;
	struct syncfix_info info;

	syncfix_summary_get(&s);
	memset(&info, 0, sizeof(info));
	info.abi_version = SYNCFIX_ABI_VERSION;
	info.nr_buckets = SYNCFIX_NR_BUCKETS;
	info.features = SYNCFIX_FEAT_WAIT_WAKE | SYNCFIX_FEAT_BITSET |
			SYNCFIX_FEAT_TIMEOUT | SYNCFIX_FEAT_WAITERS |
			SYNCFIX_FEAT_OWNER | SYNCFIX_FEAT_ANNOUNCE;
	info.errata = s.present;
	info.relevant = s.relevant;
	info.mitigation = s.mode;
	info.state = s.patched ? SYNCFIX_STATE_PATCHED : 0;
	if (copy_to_user(argp, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

/*
 * The owner fields of a WAIT: at most one SYNCFIX_WAIT_OWNER_* flag,
 * @owner in its range and zero without a flag, @self only with an id.
 */
static int syncfix_wait_owner(const struct syncfix_wait *w,
			      struct syncfix_owner *own)
{
	u32 kind = w->flags & SYNCFIX_WAIT_OWNER_MASK;
	bool ok;

	if (kind & (kind - 1))
		return -EINVAL;
	switch (kind) {
	case 0:
		ok = !w->owner;
		break;
	case SYNCFIX_WAIT_OWNER_TID:
		ok = w->owner >= 1 && w->owner <= INT_MAX;
		break;
	case SYNCFIX_WAIT_OWNER_READERS:
		ok = w->owner <= U32_MAX;
		break;
	case SYNCFIX_WAIT_OWNER_LOCK:
		ok = w->owner && IS_ALIGNED(w->owner, sizeof(u32));
		break;
	default:	/* SYNCFIX_WAIT_OWNER_ID: any id */
		ok = true;
		break;
	}
	if (!ok || (w->self && kind != SYNCFIX_WAIT_OWNER_ID))
		return -EINVAL;
	own->kind = kind;
	own->owner = w->owner;
	own->self = w->self;
	return 0;
}

/*
 * The fields of a WAIT, or of an ANNOUNCE (@announce: no timeout), into
 * @own, *@uaddr and @w itself.
 */
static int syncfix_wait_args(void __user *argp, struct syncfix_wait *w,
			     struct syncfix_owner *own, u32 __user **uaddr,
			     bool announce)
{
	bool timed, abs;

	if (copy_from_user(w, argp, sizeof(*w)))
		return -EFAULT;
	timed = w->flags & SYNCFIX_WAIT_TIMEOUT;
	abs = w->flags & SYNCFIX_WAIT_ABSTIME;
	if ((w->flags & ~SYNCFIX_WAIT_FLAGS) || w->tag > SYNCFIX_TAG_MAX ||
	    (abs && !timed) || (!timed && w->timeout_ns) || w->timeout_ns < 0 ||
	    (announce && timed) || syncfix_wait_owner(w, own))
		return -EINVAL;
	return syncfix_user_word(w->addr, uaddr);
}

static long syncfix_ioc_wait(void __user *argp)
{
	struct syncfix_owner own;
	struct syncfix_wait w;
	u32 __user *uaddr;
	ktime_t deadline;
	bool timed, abs;
	int ret;

	ret = syncfix_wait_args(argp, &w, &own, &uaddr, false);
	if (ret)
		return ret;
	timed = w.flags & SYNCFIX_WAIT_TIMEOUT;
	abs = w.flags & SYNCFIX_WAIT_ABSTIME;
	if (timed)
		deadline = abs ? ns_to_ktime(w.timeout_ns) :
			   ktime_add_safe(ktime_get(), ns_to_ktime(w.timeout_ns));
	/*
	 * A restart repeats the same call: right without a timeout and with
	 * a deadline, wrong with a relative timeout, which would start over.
	 */
	return syncfix_wait(uaddr, w.val, w.bitset ?: SYNCFIX_BITSET_ANY,
			    w.tag, &own, timed ? &deadline : NULL,
			    !timed || abs);
}

static long syncfix_ioc_announce(struct file *file, void __user *argp)
{
	struct syncfix_owner own;
	struct syncfix_wait w;
	u32 __user *uaddr;
	int ret;

	ret = syncfix_wait_args(argp, &w, &own, &uaddr, true);
	if (ret)
		return ret;
	return syncfix_announce(file, file->private_data, uaddr, w.val,
				w.bitset ?: SYNCFIX_BITSET_ANY, w.tag, &own);
}

static long syncfix_ioc_wake(void __user *argp)
{
	struct syncfix_wake w;
	u32 __user *uaddr;
	int ret;

	if (copy_from_user(&w, argp, sizeof(w)))
		return -EFAULT;
	if (w.flags || w.pad || w.reserved[0] || w.reserved[1])
		return -EINVAL;
	ret = syncfix_user_word(w.addr, &uaddr);
	if (ret)
		return ret;
	return syncfix_wake(uaddr, min_t(u32, w.count, INT_MAX),
			    w.bitset ?: SYNCFIX_BITSET_ANY);
}

static long syncfix_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case SYNCFIX_IOC_GET_INFO:
		return syncfix_ioc_get_info(argp);
	case SYNCFIX_IOC_WAIT:
		return syncfix_ioc_wait(argp);
	case SYNCFIX_IOC_WAKE:
		return syncfix_ioc_wake(argp);
	case SYNCFIX_IOC_ANNOUNCE:
		return syncfix_ioc_announce(file, argp);
	case SYNCFIX_IOC_RETRACT:
		return arg ? -EINVAL :
		       syncfix_retract(file, file->private_data);
	default:
		return -ENOTTY;
	}
}

/* The file's private data: the count of its announcements. */
static int syncfix_open(struct inode *inode, struct file *file)
{
	atomic_t *count = kzalloc(sizeof(*count), GFP_KERNEL_ACCOUNT);

	if (!count)
		return -ENOMEM;
	file->private_data = count;
	return 0;
}

static int syncfix_release(struct inode *inode, struct file *file)
{
	syncfix_retract_all(file, file->private_data, false);
	kfree(file->private_data);
	return 0;
}

static const struct file_operations syncfix_fops = {
	.owner		= THIS_MODULE,
	.open		= syncfix_open,
	.release	= syncfix_release,
	.unlocked_ioctl	= syncfix_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice syncfix_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "syncfix",
	.fops	= &syncfix_fops,
	.mode	= 0666,
};

/**
 * syncfix_dev_init() - register /dev/syncfix
 *
 * The wait queue must be set up already (syncfix_waitq_init()): the
 * device can be opened as soon as it is registered.
 *
 * Return: 0 or a negative errno.
 */
int syncfix_dev_init(void)
{
	return misc_register(&syncfix_misc);
}

/**
 * syncfix_dev_exit() - unregister /dev/syncfix
 *
 * The device is not open (it holds a module reference), so no task waits.
 */
void syncfix_dev_exit(void)
{
	misc_deregister(&syncfix_misc);
}
