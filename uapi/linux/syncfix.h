/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * syncfix: kernel-assisted synchronization runtime - user space ABI.
 *
 * Values shared by the syncfix module and its user space library, and
 * the ioctl interface of /dev/syncfix: a wait queue with futex semantics
 * whose waiters the module can list (/proc/syncfix/waiters).
 *
 * Every struct is made of __u32, __u64 and __s64 only, has explicit
 * padding, carries user pointers as __u64 and is a multiple of 8 bytes,
 * so that its layout is the same for 32-bit and 64-bit callers.  Input
 * fields marked reserved, and flag bits not defined here, must be zero,
 * else the ioctl fails with -EINVAL; that is how the ABI can grow.  See
 * Documentation/userspace-api/syncfix.rst.
 */
#ifndef _UAPI_LINUX_SYNCFIX_H
#define _UAPI_LINUX_SYNCFIX_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Errata known to syncfix, as bits of a __u64 mask.  A bit is never
 * reused for another erratum.
 */
#define SYNCFIX_ERRATUM_AMD_147		_BITULL(0)	/* Solaris 6323525 */

/*
 * Mitigation modes, as written to /sys/kernel/syncfix/mitigation and
 * given with the "mitigation=" module parameter.
 */
enum syncfix_mitigation {
	SYNCFIX_MITIGATION_AUTO	= 0,	/* patch when an online CPU needs it */
	SYNCFIX_MITIGATION_ON	= 1,	/* always patch */
	SYNCFIX_MITIGATION_OFF	= 2,	/* never patch */
};

/* Version of the /dev/syncfix ioctl ABI; bumped on incompatible changes. */
#define SYNCFIX_ABI_VERSION		1

/* Feature flags of struct syncfix_info's @features. */
#define SYNCFIX_FEAT_WAIT_WAKE		_BITULL(0)	/* WAIT and WAKE */
#define SYNCFIX_FEAT_BITSET		_BITULL(1)	/* bitsets */
#define SYNCFIX_FEAT_TIMEOUT		_BITULL(2)	/* relative, absolute */
#define SYNCFIX_FEAT_WAITERS		_BITULL(3)	/* /proc/syncfix/waiters */
/* SYNCFIX_WAIT_OWNER_* and the tags above 3: */
#define SYNCFIX_FEAT_OWNER		_BITULL(4)
/* SYNCFIX_IOC_ANNOUNCE and SYNCFIX_IOC_RETRACT: */
#define SYNCFIX_FEAT_ANNOUNCE		_BITULL(5)

/* Bits of struct syncfix_info's @state. */
#define SYNCFIX_STATE_PATCHED		_BITULL(0)	/* lfence patched in */

/**
 * struct syncfix_info - SYNCFIX_IOC_GET_INFO result
 * @abi_version: SYNCFIX_ABI_VERSION of the module
 * @nr_buckets: number of wait queue hash buckets
 * @features: SYNCFIX_FEAT_* bits supported by the module
 * @errata: SYNCFIX_ERRATUM_* bits of the errata present on an online CPU
 * @relevant: the bits of @errata that matter with the CPUs online
 * @mitigation: enum syncfix_mitigation, the current mode
 * @pad: zero
 * @state: SYNCFIX_STATE_* bits
 * @reserved: zero
 *
 * Output only: the module fills in every byte, unknown ones with zero.
 */
struct syncfix_info {
	__u32 abi_version;
	__u32 nr_buckets;
	__u64 features;
	__u64 errata;
	__u64 relevant;
	__u32 mitigation;
	__u32 pad;
	__u64 state;
	__u64 reserved[4];
};

/* Flags of struct syncfix_wait's @flags. */
#define SYNCFIX_WAIT_TIMEOUT		_BITUL(0)	/* @timeout_ns is valid */
#define SYNCFIX_WAIT_ABSTIME		_BITUL(1)	/* ... and absolute */
/*
 * What holds the lock the caller waits for, as the caller saw it just
 * before the wait (SYNCFIX_FEAT_OWNER; at most one of them): shown in
 * /proc/syncfix/waiters, where it lets a reader follow who waits for
 * whom.  It is a claim of the caller, never used to wake or to decide.
 */
#define SYNCFIX_WAIT_OWNER_TID		_BITUL(2)	/* @owner: a thread id */
#define SYNCFIX_WAIT_OWNER_READERS	_BITUL(3)	/* @owner: reader count */
#define SYNCFIX_WAIT_OWNER_ID		_BITUL(4)	/* @owner, @self: ids */
#define SYNCFIX_WAIT_OWNER_LOCK		_BITUL(5)	/* @owner: a lock */
#define SYNCFIX_WAIT_OWNER_MASK		(SYNCFIX_WAIT_OWNER_TID | \
					 SYNCFIX_WAIT_OWNER_READERS | \
					 SYNCFIX_WAIT_OWNER_ID | \
					 SYNCFIX_WAIT_OWNER_LOCK)
#define SYNCFIX_WAIT_FLAGS		(SYNCFIX_WAIT_TIMEOUT | \
					 SYNCFIX_WAIT_ABSTIME | \
					 SYNCFIX_WAIT_OWNER_MASK)

/* Caller tags: what kind of lock a waiter waits for. */
#define SYNCFIX_TAG_USER		0	/* anything else */
#define SYNCFIX_TAG_MUTEX		1	/* a mutex */
#define SYNCFIX_TAG_RWLOCK_READ		2	/* a reader of an rwlock */
#define SYNCFIX_TAG_RWLOCK_WRITE	3	/* a writer of an rwlock */
/* With SYNCFIX_FEAT_OWNER: */
#define SYNCFIX_TAG_LOCKMGR		4	/* a lock manager's request */
#define SYNCFIX_TAG_COND		5	/* a condition variable */
#define SYNCFIX_TAG_LOCKTHREAD_END	6	/* its owner, in kill/finish */
#define SYNCFIX_TAG_LOCKTHREAD_HELD	7	/* a locking thread, holding */
#define SYNCFIX_TAG_MAX			SYNCFIX_TAG_LOCKTHREAD_HELD

/* A bitset that matches every other; 0 in @bitset means the same. */
#define SYNCFIX_BITSET_ANY		0xffffffffU

/**
 * struct syncfix_wait - SYNCFIX_IOC_WAIT argument
 * @addr: user address of a 32-bit word, 4-byte aligned, in the caller's
 *        address space (shared by the threads of a process and by a
 *        process created with CLONE_VM, as for a private futex)
 * @val: sleep only while the word holds this value
 * @bitset: the waiter's bits; a WAKE wakes it only if their bitsets
 *          intersect; 0 means SYNCFIX_BITSET_ANY
 * @flags: SYNCFIX_WAIT_* bits
 * @tag: SYNCFIX_TAG_*, shown in /proc/syncfix/waiters
 * @timeout_ns: with SYNCFIX_WAIT_TIMEOUT, the timeout in nanoseconds:
 *              relative to the call (>= 0), or with SYNCFIX_WAIT_ABSTIME
 *              an absolute deadline on CLOCK_MONOTONIC (>= 0); else zero
 * @owner: what holds the lock, by the SYNCFIX_WAIT_OWNER_* flag set:
 *         _TID: a thread id in the caller's pid namespace (1 to INT_MAX),
 *         shown as exited when no such thread of the caller's address
 *         space exists, at the call or later; _READERS: the number of
 *         readers (0: unknown; at most U32_MAX); _ID: the id of the
 *         holder in the id space of @tag in the caller's process (a lock
 *         manager's transaction id), any value; _LOCK: the non-zero user
 *         address of the lock the caller will take again after the wait
 *         (a condition variable's mutex).  Zero without any of them.
 * @self: with SYNCFIX_WAIT_OWNER_ID, the caller's own id in the same
 *        space (its transaction id), so that a reader can find what the
 *        holder itself waits for; else zero
 *
 * Input only.  @owner and @self were reserved, and had to be zero, in
 * modules without SYNCFIX_FEAT_OWNER: a program that leaves them zero
 * works with every module.
 */
struct syncfix_wait {
	__u64 addr;
	__u32 val;
	__u32 bitset;
	__u32 flags;
	__u32 tag;
	__s64 timeout_ns;
	__u64 owner;
	__u64 self;
};

/**
 * struct syncfix_wake - SYNCFIX_IOC_WAKE argument
 * @addr: user address of the word, 4-byte aligned, in the caller's
 *        address space (the word itself is not read)
 * @count: wake at most this many waiters, oldest first
 * @bitset: wake only waiters whose bitset intersects this one; 0 means
 *          SYNCFIX_BITSET_ANY
 * @flags: zero (no flags are defined yet)
 * @pad: zero
 * @reserved: zero
 *
 * Input only; the ioctl returns the number of waiters woken.
 */
struct syncfix_wake {
	__u64 addr;
	__u32 count;
	__u32 bitset;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

#define SYNCFIX_IOC_MAGIC		0xF5

/**
 * DOC: SYNCFIX_IOC_GET_INFO
 *
 * Fill in a struct syncfix_info.  Return: 0, or -EFAULT.
 */
#define SYNCFIX_IOC_GET_INFO	_IOR(SYNCFIX_IOC_MAGIC, 0x00, struct syncfix_info)

/**
 * DOC: SYNCFIX_IOC_WAIT
 *
 * Sleep while the word at @addr holds @val, until a SYNCFIX_IOC_WAKE on
 * the same word in the same address space wakes the caller, the timeout
 * expires or a signal arrives.  The same address space: a thread of the
 * caller's process, or a process created with CLONE_VM; never another
 * process, even when the word is in memory the two share.
 *
 * Return: 0 when woken (a caller must reload the word and decide again);
 * -EINVAL for an unaligned or zero @addr, unknown flags, more than one
 * SYNCFIX_WAIT_OWNER_* flag, a tag above SYNCFIX_TAG_MAX, a negative
 * timeout (relative, or an absolute deadline before 0), a timeout without
 * SYNCFIX_WAIT_TIMEOUT, an @owner out of its flag's range (a tid below 1
 * or above INT_MAX, a reader count above U32_MAX, a zero or unaligned
 * lock address), a non-zero @owner without an owner flag, or a non-zero
 * @self without SYNCFIX_WAIT_OWNER_ID; -EFAULT when the
 * argument or the word cannot be read; -EAGAIN when the word does not
 * hold @val; -ETIMEDOUT when the timeout expired; -EINTR when a signal
 * interrupted a wait with a relative timeout, and for the other waits a
 * restart (the signal handler returns into a new, identical wait with
 * SA_RESTART, otherwise the call fails with -EINTR).
 */
#define SYNCFIX_IOC_WAIT	_IOW(SYNCFIX_IOC_MAGIC, 0x01, struct syncfix_wait)

/**
 * DOC: SYNCFIX_IOC_WAKE
 *
 * Wake up to @count waiters of the word at @addr in the caller's address
 * space whose bitset intersects @bitset, oldest first.  A waker changes
 * the word before it calls WAKE.
 *
 * Return: the number of waiters woken (0 to INT_MAX); -EINVAL for an
 * unaligned or zero @addr, or non-zero flags, pad or reserved fields;
 * -EFAULT when the argument cannot be read or @addr is not a user
 * address.
 */
#define SYNCFIX_IOC_WAKE	_IOW(SYNCFIX_IOC_MAGIC, 0x02, struct syncfix_wake)

/**
 * DOC: SYNCFIX_IOC_ANNOUNCE
 *
 * List the calling thread in /proc/syncfix/waiters, with the fields of a
 * struct syncfix_wait, while it waits somewhere else (SYNCFIX_FEAT_ANNOUNCE).
 * It is meant for a word in memory shared between processes: WAIT and
 * WAKE work within one address space, so a lock shared between
 * processes sleeps in FUTEX_WAIT, and every process that shares it can
 * wake it whether or not it uses this device.  Such a waiter announces
 * itself just before its futex wait and retracts just after it; the
 * module never sleeps, never reads the word and never wakes for it.
 *
 * The fields are those of SYNCFIX_IOC_WAIT, checked the same way, but
 * for the timeout: SYNCFIX_WAIT_TIMEOUT and SYNCFIX_WAIT_ABSTIME are
 * refused and @timeout_ns must be zero.  An @owner given with
 * SYNCFIX_WAIT_OWNER_TID may be a thread of any process in the caller's
 * pid namespace (the holder of a shared lock is often in another one);
 * it is shown as exited when no such thread exists, then or later.  The
 * announcement lasts until SYNCFIX_IOC_RETRACT by the same thread on the
 * same open file, or until that file is released; a thread that exits
 * first is no longer shown.  A thread has at most one announcement per
 * open file.
 *
 * Return: 0; -EINVAL as SYNCFIX_IOC_WAIT, and for a timeout; -EFAULT when
 * the argument cannot be read or @addr is not a user address; -EBUSY when
 * the thread has an announcement on this file already; -ENOSPC when the
 * file holds SYNCFIX_ANNOUNCE_MAX announcements (of threads that are
 * alive); -ENOMEM.
 */
#define SYNCFIX_IOC_ANNOUNCE	_IOW(SYNCFIX_IOC_MAGIC, 0x03, struct syncfix_wait)

/* Announcements one open file of /dev/syncfix may hold. */
#define SYNCFIX_ANNOUNCE_MAX		4096

/**
 * DOC: SYNCFIX_IOC_RETRACT
 *
 * Remove the calling thread's announcement on this open file.
 *
 * Return: 0; -EINVAL when the ioctl argument is not 0; -ENOENT when it
 * has none.
 */
#define SYNCFIX_IOC_RETRACT	_IO(SYNCFIX_IOC_MAGIC, 0x04)

#endif /* _UAPI_LINUX_SYNCFIX_H */
