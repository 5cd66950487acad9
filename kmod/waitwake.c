// SPDX-License-Identifier: GPL-2.0
/*
 * syncfix: the wait queue behind /dev/syncfix - waiting and waking.
 *
 * A waiter sleeps while a 32-bit word of its own address space holds an
 * expected value; a waker changes the word and then wakes the waiters of
 * that word.  These are futex semantics, with one difference that is the
 * reason this queue exists: the module owns every waiter and lists them
 * in /proc/syncfix/waiters.  The ioctl entry points are in dev.c.
 *
 * Waiters are hashed by (address space, user address) into
 * SYNCFIX_NR_BUCKETS buckets, each a list under one spinlock.  The key is
 * the mm pointer itself, compared and never dereferenced: a waiter can
 * only be woken by a task of its own address space -- a thread of its
 * process, or a process created with CLONE_VM, which shares the mm, as
 * for private futexes -- and never by another process, even on memory
 * the two share (there are no keys for shared mappings).  Both halves of
 * the key are compared on every lookup: a bucket holds waiters of many
 * address spaces.
 *
 * Ordering
 * --------
 * The problem is the lost wakeup: a waiter reads the word, finds the
 * expected value and goes to sleep just after the waker has changed the
 * word and found no one to wake.
 *
 *   CPU 0 (waker)                       CPU 1 (waiter)
 *
 *   *uaddr = newval;                    lock(hb);               (A)
 *   ioctl(SYNCFIX_IOC_WAKE):            enqueue(q);
 *     lock(hb);                  (B)    uval = *uaddr;
 *     for each q of the key:            if (uval != val)
 *       dequeue(q);                       dequeue(q), -EAGAIN;
 *       wake_up_process(q->task);       set_current_state(INTERRUPTIBLE);
 *     unlock(hb);                       unlock(hb);             (C)
 *                                       schedule();
 *
 * The waker always takes the bucket lock; there is no count of waiters
 * read without it.  So the two critical sections are ordered, one way or
 * the other:
 *
 *  - (B) after (C): the waker finds q in the bucket, dequeues it and
 *    wakes the task.  The task set its state before (C), so the wakeup
 *    is not lost even if it has not reached schedule() yet.
 *
 *  - (B) before (A): the waker's store to *uaddr precedes its unlock in
 *    program order, the unlock is a release and the waiter's lock (A) an
 *    acquire, so the waiter reads newval and returns -EAGAIN.
 *
 * The waiter reads the word under the bucket lock with page faults
 * disabled; when the page is not present it leaves the bucket, faults
 * the page in with an ordinary get_user() and starts again.
 *
 * AMD erratum 147: the lock at (A) and (B) is a locked cmpxchg, and on an
 * affected CPU the read of *uaddr (or of the bucket list) that follows
 * it may be performed before the cmpxchg completes, that is, outside the
 * critical section; that reopens the window above.  Hence the
 * syncfix_locked_fence() right after every bucket lock (syncfix.h).
 *
 * Leaving the queue.  A waker dequeues a waiter, wakes its task and only
 * then sets its @woken with a store-release, all under the bucket lock;
 * that store is the waker's last access to the waiter.  A waiter that
 * finds @woken set (load-acquire) returns without the bucket lock, so a
 * woken task does not run straight into the lock its waker still holds
 * (on a busy machine the waker may be preempted there), as the futex
 * code's lock_ptr does.  A waiter that does not find it set takes the
 * bucket lock, under which a waker has either finished with it or not
 * begun, and is dequeued if its node is still linked.
 *
 * Announced waits
 * ---------------
 * A lock in memory shared between processes sleeps in FUTEX_WAIT, where
 * any process sharing it can wake it (SYNCFIX_IOC_ANNOUNCE in the uapi
 * header says why), so the module only lists it.  An announcement is a
 * struct syncfix_waiter on the heap, with @file set, on the chain of
 * syncfix_announced[] its task hashes to: never on a wait bucket, so no
 * WAKE ever finds it and nothing here sleeps or wakes for it.  It holds
 * a reference to its task, so that a task that exits without retracting
 * (a cancelled thread) leaves an entry that is only skipped (its pid is
 * gone, task_pid_vnr() is 0) until the file is released or the file
 * reaches its limit and its dead entries are freed.  Its owner may be a
 * thread of any process: the holder of a shared lock often is in another.
 */
#include "syncfix.h"

#include <linux/atomic.h>
#include <linux/cred.h>
#include <linux/hash.h>
#include <linux/hrtimer.h>
#include <linux/list.h>
#include <linux/math64.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

/**
 * struct syncfix_bucket - one hash bucket of the wait queue
 * @lock: protects @chain and every waiter on it
 * @chain: the waiters, oldest first
 */
struct syncfix_bucket {
	spinlock_t lock;		/* protects chain */
	struct list_head chain;
} ____cacheline_aligned_in_smp;

/**
 * struct syncfix_waiter - one blocked task, on its own stack
 * @list: node in the bucket's chain; empty once dequeued by a waker
 * @task: the waiting task
 * @mm: its address space: the first half of the key, never dereferenced
 * @uaddr: the word: the second half of the key
 * @val: the value it waits on
 * @bitset: the waiter's bitset
 * @tag: SYNCFIX_TAG_*
 * @own: what the waiter says holds the lock (struct syncfix_owner)
 * @woken: set by the waker, last, after it dequeued and woke the task
 * @file: for an announcement, the open file it was made on; else NULL
 * @owner_pid: with SYNCFIX_WAIT_OWNER_TID, a reference to the owner
 *             thread's pid when it was a thread of the waiter's address
 *             space at the call; NULL when it was not (shown as exited)
 * @uid: the waiter's real uid, for /proc/syncfix/waiters
 * @start: when the wait began, CLOCK_MONOTONIC
 * @comm: the task's command
 */
struct syncfix_waiter {
	struct list_head list;
	struct task_struct *task;
	struct mm_struct *mm;
	u32 __user *uaddr;
	u32 val;
	u32 bitset;
	u32 tag;
	struct syncfix_owner own;
	bool woken;
	const struct file *file;
	struct pid *owner_pid;
	kuid_t uid;
	ktime_t start;
	char comm[TASK_COMM_LEN];
};

static struct syncfix_bucket syncfix_buckets[SYNCFIX_NR_BUCKETS];

/* Announcements, by task (see Announced waits above). */
#define SYNCFIX_ANNOUNCED_BITS	6
static struct syncfix_bucket syncfix_announced[1 << SYNCFIX_ANNOUNCED_BITS];

static struct {
	atomic64_t waits;
	atomic64_t wakes;
	atomic64_t woken;
	atomic64_t timeouts;
	atomic64_t eagain;
	atomic64_t signals;
	atomic_t waiters;
	atomic_t peak;
} syncfix_stats;

static const char * const syncfix_tag_names[] = {
	[SYNCFIX_TAG_USER]		= "user",
	[SYNCFIX_TAG_MUTEX]		= "mutex",
	[SYNCFIX_TAG_RWLOCK_READ]	= "rwlock-read",
	[SYNCFIX_TAG_RWLOCK_WRITE]	= "rwlock-write",
	[SYNCFIX_TAG_LOCKMGR]		= "lockmgr",
	[SYNCFIX_TAG_COND]		= "cond",
	[SYNCFIX_TAG_LOCKTHREAD_END]	= "lockthread-end",
	[SYNCFIX_TAG_LOCKTHREAD_HELD]	= "lockthread-held",
};

static struct syncfix_bucket *syncfix_hash(struct mm_struct *mm,
					   u32 __user *uaddr)
{
	unsigned long key = (unsigned long)mm ^ (unsigned long)uaddr;

	return &syncfix_buckets[hash_long(key, SYNCFIX_HASH_BITS)];
}

/* Lock a bucket: (A) or (B) of the essay above. */
static void syncfix_bucket_lock(struct syncfix_bucket *hb)
	__acquires(&hb->lock)
{
	spin_lock(&hb->lock);
	/* The chain and the user word are read next: erratum 147. */
	syncfix_locked_fence();
}

static void syncfix_bucket_unlock(struct syncfix_bucket *hb)
	__releases(&hb->lock)
{
	spin_unlock(&hb->lock);
}

/* Read the word under the bucket lock; -EFAULT if its page is absent. */
static int syncfix_get_value_locked(u32 *val, u32 __user *uaddr)
{
	int ret;

	pagefault_disable();
	ret = __get_user(*val, uaddr);
	pagefault_enable();
	return ret ? -EFAULT : 0;
}

static void syncfix_waiters_inc(void)
{
	int n = atomic_inc_return(&syncfix_stats.waiters);
	int peak = atomic_read(&syncfix_stats.peak);

	while (n > peak && !atomic_try_cmpxchg(&syncfix_stats.peak, &peak, n))
		;
}

/*
 * The owner thread a waiter names, if it is a thread of the caller's
 * address space (of any process with @any_mm): a reference to its pid,
 * or NULL.  The mm is compared, never dereferenced, as in the hash key;
 * a tid of another process is treated like one that does not exist.
 */
static struct pid *syncfix_owner_pid(const struct syncfix_owner *own,
				     bool any_mm)
{
	struct task_struct *p = NULL;
	struct pid *pid, *ret = NULL;

	if (own->kind != SYNCFIX_WAIT_OWNER_TID)
		return NULL;
	rcu_read_lock();
	pid = find_vpid((pid_t)own->owner);
	if (pid)
		p = pid_task(pid, PIDTYPE_PID);
	if (p && (any_mm || READ_ONCE(p->mm) == current->mm))
		ret = get_pid(pid);
	rcu_read_unlock();
	return ret;
}

/**
 * syncfix_wait() - sleep while *@uaddr == @val
 * @uaddr: the word, aligned, access_ok() already checked
 * @val: the expected value
 * @bitset: the waiter's bitset, not zero
 * @tag: SYNCFIX_TAG_*, at most SYNCFIX_TAG_MAX
 * @own: what holds the lock, as the waiter says, checked by the caller
 * @deadline: absolute deadline on CLOCK_MONOTONIC, or NULL
 * @restart: return -ERESTARTSYS instead of -EINTR on a signal
 *
 * Context: process context, may sleep.
 * Return: 0 when woken, -EAGAIN, -EFAULT, -ETIMEDOUT, -EINTR or
 * -ERESTARTSYS.
 */
int syncfix_wait(u32 __user *uaddr, u32 val, u32 bitset, u32 tag,
		 const struct syncfix_owner *own, const ktime_t *deadline,
		 bool restart)
{
	struct syncfix_waiter q = {
		.task = current,
		.mm = current->mm,
		.uaddr = uaddr,
		.val = val,
		.bitset = bitset,
		.tag = tag,
		.own = *own,
		.owner_pid = syncfix_owner_pid(own, false),
		.uid = current_uid(),
		.start = ktime_get(),
	};
	struct hrtimer_sleeper timeout, *to = NULL;
	struct syncfix_bucket *hb = syncfix_hash(q.mm, uaddr);
	bool woken;
	u32 uval;
	int ret;

	get_task_comm(q.comm, current);
	if (deadline) {
		to = &timeout;
		hrtimer_init_sleeper_on_stack(to, CLOCK_MONOTONIC,
					      HRTIMER_MODE_ABS);
		hrtimer_set_expires_range_ns(&to->timer, *deadline,
					     current->timer_slack_ns);
	}
	atomic64_inc(&syncfix_stats.waits);

retry:
	syncfix_bucket_lock(hb);			/* (A) */
	list_add_tail(&q.list, &hb->chain);
	ret = syncfix_get_value_locked(&uval, uaddr);
	if (ret) {
		list_del_init(&q.list);
		syncfix_bucket_unlock(hb);
		/* Fault the page in outside the lock, then start again. */
		if (get_user(uval, uaddr)) {
			ret = -EFAULT;
			goto out;
		}
		goto retry;
	}
	if (uval != val) {
		list_del_init(&q.list);
		syncfix_bucket_unlock(hb);
		atomic64_inc(&syncfix_stats.eagain);
		ret = -EAGAIN;
		goto out;
	}
	/* Before (C): a WAKE from now on makes schedule() return. */
	set_current_state(TASK_INTERRUPTIBLE);
	syncfix_waiters_inc();
	syncfix_bucket_unlock(hb);			/* (C) */

	if (to)
		hrtimer_sleeper_start_expires(to, HRTIMER_MODE_ABS);
	if (!to || to->task)
		schedule();
	__set_current_state(TASK_RUNNING);

	/* Leaving the queue: see the top of this file. */
	woken = smp_load_acquire(&q.woken);
	if (!woken) {
		syncfix_bucket_lock(hb);
		woken = list_empty(&q.list);
		if (!woken)
			list_del_init(&q.list);
		syncfix_bucket_unlock(hb);
	}
	atomic_dec(&syncfix_stats.waiters);

	if (woken) {
		ret = 0;
	} else if (to && !to->task) {
		atomic64_inc(&syncfix_stats.timeouts);
		ret = -ETIMEDOUT;
	} else if (signal_pending(current)) {
		atomic64_inc(&syncfix_stats.signals);
		ret = restart ? -ERESTARTSYS : -EINTR;
	} else {
		/* Spurious wakeup: compare again. */
		goto retry;
	}
out:
	if (to) {
		hrtimer_cancel(&to->timer);
		destroy_hrtimer_on_stack(&to->timer);
	}
	/* Off every chain: no reader of the list can see q any more. */
	put_pid(q.owner_pid);
	return ret;
}

/**
 * syncfix_wake() - wake waiters of *@uaddr in the caller's address space
 * @uaddr: the word, aligned, access_ok() already checked
 * @count: wake at most this many
 * @bitset: wake only waiters whose bitset intersects this one, not zero
 *
 * Context: process context.
 * Return: the number of waiters woken.
 */
int syncfix_wake(u32 __user *uaddr, int count, u32 bitset)
{
	struct mm_struct *mm = current->mm;
	struct syncfix_bucket *hb = syncfix_hash(mm, uaddr);
	struct syncfix_waiter *q, *n;
	int nr = 0;

	atomic64_inc(&syncfix_stats.wakes);
	syncfix_bucket_lock(hb);			/* (B) */
	list_for_each_entry_safe(q, n, &hb->chain, list) {
		if (nr >= count)
			break;
		if (q->mm != mm || q->uaddr != uaddr || !(q->bitset & bitset))
			continue;
		list_del_init(&q->list);
		wake_up_process(q->task);
		/* The last access to q: it may return at once (see above). */
		smp_store_release(&q->woken, true);
		nr++;
	}
	syncfix_bucket_unlock(hb);
	atomic64_add(nr, &syncfix_stats.woken);
	return nr;
}

/*
 * A task's name as one field of /proc/syncfix/waiters: any user can
 * choose it (PR_SET_NAME), so nothing in it may end the field or the
 * line.  Bytes from '!' to '~' but the backslash are printed as they are,
 * every other byte (space, tab, newline, other control bytes, DEL, bytes
 * of 0x80 and above, the backslash) as a backslash and three octal
 * digits, as /proc/mounts escapes a space as "\040"; a leading '-' is
 * escaped too, so that a lone "-" can stand for an empty name.  The field
 * is padded with spaces to @width columns.
 */
static void syncfix_seq_name(struct seq_file *m, const char *name, int width)
{
	const unsigned char *p = (const unsigned char *)name;
	int len = 0;

	if (!*p) {
		seq_putc(m, '-');
		len = 1;
	}
	for (; *p; p++) {
		if (*p > ' ' && *p < 0x7f && *p != '\\' &&
		    !(*p == '-' && p == (const unsigned char *)name)) {
			seq_putc(m, *p);
			len++;
		} else {
			seq_printf(m, "\\%03o", *p);
			len += 4;
		}
	}
	for (; len < width; len++)
		seq_putc(m, ' ');
}

/*
 * The owner column of a waiter, and its self column.  Only numbers and
 * the module's own words: a thread id as the reader's pid namespace
 * sees it ("tid:N"; "exited:N" once the thread is gone or when it never
 * was a thread of the waiter's address space -- of any process, for an
 * announcement -- N as the waiter gave it
 * then; "tid:?" when the thread is alive but invisible to the reader),
 * "readers[:N]", "id:N", "lock:0xADDR", or "-".
 */
static void syncfix_seq_owner(struct seq_file *m,
			      const struct syncfix_waiter *q)
{
	const struct syncfix_owner *o = &q->own;
	pid_t nr;

	switch (o->kind) {
	case SYNCFIX_WAIT_OWNER_TID:
		rcu_read_lock();
		if (q->owner_pid && pid_task(q->owner_pid, PIDTYPE_PID)) {
			nr = pid_vnr(q->owner_pid);
			if (nr)
				seq_printf(m, "tid:%-13d", nr);
			else
				seq_printf(m, "%-17s", "tid:?");
		} else {
			seq_printf(m, "exited:%-10llu", o->owner);
		}
		rcu_read_unlock();
		break;
	case SYNCFIX_WAIT_OWNER_READERS:
		if (o->owner)
			seq_printf(m, "readers:%-9llu", o->owner);
		else
			seq_printf(m, "%-17s", "readers");
		break;
	case SYNCFIX_WAIT_OWNER_ID:
		seq_printf(m, "id:%-14llu", o->owner);
		break;
	case SYNCFIX_WAIT_OWNER_LOCK:
		seq_printf(m, "lock:0x%016llx", o->owner);
		break;
	default:
		seq_printf(m, "%-17s", "-");
		break;
	}
	if (o->kind == SYNCFIX_WAIT_OWNER_ID)
		seq_printf(m, " id:%llu\n", o->self);
	else
		seq_puts(m, " -\n");
}

/* The lines of the waiters on one chain (of either table). */
static void syncfix_seq_chain(struct seq_file *m, struct syncfix_bucket *hb,
			      bool all, kuid_t uid)
{
	struct syncfix_waiter *q;

	if (list_empty_careful(&hb->chain))
		return;
	syncfix_bucket_lock(hb);
	list_for_each_entry(q, &hb->chain, list) {
		pid_t tgid = task_tgid_vnr(q->task);
		pid_t tid = task_pid_vnr(q->task);
		u64 ns = ktime_to_ns(ktime_sub(ktime_get(), q->start));
		u32 us;

		if (!tid || (!all && !uid_eq(q->uid, uid)))
			continue;
		ns = div_u64_rem(ns / NSEC_PER_USEC, USEC_PER_MSEC, &us);
		seq_printf(m, "%-7d %-7d ", tgid, tid);
		syncfix_seq_name(m, q->comm, 16);
		seq_printf(m, " 0x%016lx %-10u %-15s 0x%08x %8llu.%03u ",
			   (unsigned long)q->uaddr, q->val,
			   syncfix_tag_names[q->tag], q->bitset, ns, us);
		syncfix_seq_owner(m, q);
	}
	syncfix_bucket_unlock(hb);
}

/**
 * syncfix_waiters_show() - one line per blocked waiter
 * @m: the seq_file of /proc/syncfix/waiters
 * @all: show every waiter; else only those whose real uid is @uid
 * @uid: the reader's uid
 *
 * Waiters in the queue, then announced waits.  Pids are those of the
 * reader's pid namespace; waiters invisible there are left out.  No
 * kernel pointer is printed; the task's name is escaped
 * (syncfix_seq_name()), every other field is a number or one of the
 * module's own words.
 */
void syncfix_waiters_show(struct seq_file *m, bool all, kuid_t uid)
{
	unsigned int i;

	seq_printf(m, "%-7s %-7s %-16s %-18s %-10s %-15s %-10s %-12s %-17s %s\n",
		   "pid", "tid", "comm", "addr", "expected", "tag", "bitset",
		   "waited_ms", "owner", "self");
	for (i = 0; i < SYNCFIX_NR_BUCKETS; i++)
		syncfix_seq_chain(m, &syncfix_buckets[i], all, uid);
	for (i = 0; i < ARRAY_SIZE(syncfix_announced); i++)
		syncfix_seq_chain(m, &syncfix_announced[i], all, uid);
}

/**
 * syncfix_wait_stats_show() - the wait queue's counters
 * @m: the seq_file of /proc/syncfix/status
 */
void syncfix_wait_stats_show(struct seq_file *m)
{
	seq_printf(m, "waits:        %lld\n", atomic64_read(&syncfix_stats.waits));
	seq_printf(m, "wakes:        %lld\n", atomic64_read(&syncfix_stats.wakes));
	seq_printf(m, "woken:        %lld\n", atomic64_read(&syncfix_stats.woken));
	seq_printf(m, "timeouts:     %lld\n",
		   atomic64_read(&syncfix_stats.timeouts));
	seq_printf(m, "eagain:       %lld\n",
		   atomic64_read(&syncfix_stats.eagain));
	seq_printf(m, "signals:      %lld\n",
		   atomic64_read(&syncfix_stats.signals));
	seq_printf(m, "waiters:      %d\n", atomic_read(&syncfix_stats.waiters));
	seq_printf(m, "peak waiters: %d\n", atomic_read(&syncfix_stats.peak));
}

static void syncfix_waiter_free(struct syncfix_waiter *q)
{
	put_pid(q->owner_pid);
	put_task_struct(q->task);
	kfree(q);
}

/**
 * syncfix_announce() - list the calling thread as waiting elsewhere
 * @file: the open file of /dev/syncfix
 * @count: the file's number of announcements
 * @uaddr: the word, aligned, access_ok() already checked
 * @val: the value it waits on
 * @bitset: the waiter's bitset, not zero
 * @tag: SYNCFIX_TAG_*, at most SYNCFIX_TAG_MAX
 * @own: what holds the lock, as the waiter says, checked by the caller
 *
 * Context: process context, may sleep.
 * Return: 0, -EBUSY (announced on @file already), -ENOSPC or -ENOMEM.
 */
int syncfix_announce(const struct file *file, atomic_t *count,
		     u32 __user *uaddr, u32 val, u32 bitset, u32 tag,
		     const struct syncfix_owner *own)
{
	struct syncfix_bucket *hb =
		&syncfix_announced[hash_ptr(current, SYNCFIX_ANNOUNCED_BITS)];
	struct syncfix_waiter *q, *p;
	bool busy = false;

	/* A place in the file's count, taken first: the limit is exact. */
	if (!atomic_add_unless(count, 1, SYNCFIX_ANNOUNCE_MAX)) {
		syncfix_retract_all(file, count, true);
		if (!atomic_add_unless(count, 1, SYNCFIX_ANNOUNCE_MAX))
			return -ENOSPC;
	}
	q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q) {
		atomic_dec(count);
		return -ENOMEM;
	}
	q->task = get_task_struct(current);
	q->mm = current->mm;
	q->uaddr = uaddr;
	q->val = val;
	q->bitset = bitset;
	q->tag = tag;
	q->own = *own;
	q->file = file;
	q->owner_pid = syncfix_owner_pid(own, true);
	q->uid = current_uid();
	q->start = ktime_get();
	get_task_comm(q->comm, current);

	syncfix_bucket_lock(hb);
	list_for_each_entry(p, &hb->chain, list) {
		if (p->task == current && p->file == file) {
			busy = true;
			break;
		}
	}
	if (!busy)
		list_add_tail(&q->list, &hb->chain);
	syncfix_bucket_unlock(hb);
	if (busy) {
		atomic_dec(count);
		syncfix_waiter_free(q);
		return -EBUSY;
	}
	return 0;
}

/**
 * syncfix_retract() - end the calling thread's announcement on @file
 * @file: the open file of /dev/syncfix
 * @count: the file's number of announcements
 *
 * Context: process context.
 * Return: 0, or -ENOENT when there is none.
 */
int syncfix_retract(const struct file *file, atomic_t *count)
{
	struct syncfix_bucket *hb =
		&syncfix_announced[hash_ptr(current, SYNCFIX_ANNOUNCED_BITS)];
	struct syncfix_waiter *p, *q = NULL;

	syncfix_bucket_lock(hb);
	list_for_each_entry(p, &hb->chain, list) {
		if (p->task == current && p->file == file) {
			list_del(&p->list);
			q = p;
			break;
		}
	}
	syncfix_bucket_unlock(hb);
	if (!q)
		return -ENOENT;
	atomic_dec(count);
	syncfix_waiter_free(q);
	return 0;
}

/**
 * syncfix_retract_all() - end the announcements made on @file
 * @file: the open file of /dev/syncfix
 * @count: the file's number of announcements
 * @dead: only those of tasks that have exited
 *
 * Context: process context.
 */
void syncfix_retract_all(const struct file *file, atomic_t *count, bool dead)
{
	struct syncfix_waiter *p, *n;
	LIST_HEAD(gone);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(syncfix_announced); i++) {
		struct syncfix_bucket *hb = &syncfix_announced[i];

		if (list_empty_careful(&hb->chain))
			continue;
		syncfix_bucket_lock(hb);
		list_for_each_entry_safe(p, n, &hb->chain, list) {
			if (p->file != file || (dead && pid_alive(p->task) &&
						!(p->task->flags & PF_EXITING)))
				continue;
			list_move(&p->list, &gone);
		}
		syncfix_bucket_unlock(hb);
	}
	/* Off every chain: freed outside the locks. */
	list_for_each_entry_safe(p, n, &gone, list) {
		atomic_dec(count);
		syncfix_waiter_free(p);
	}
}

/**
 * syncfix_waitq_init() - set up the hash buckets
 *
 * Return: 0, it cannot fail.
 */
int syncfix_waitq_init(void)
{
	unsigned int i;

	for (i = 0; i < SYNCFIX_NR_BUCKETS; i++) {
		spin_lock_init(&syncfix_buckets[i].lock);
		INIT_LIST_HEAD(&syncfix_buckets[i].chain);
	}
	for (i = 0; i < ARRAY_SIZE(syncfix_announced); i++) {
		spin_lock_init(&syncfix_announced[i].lock);
		INIT_LIST_HEAD(&syncfix_announced[i].chain);
	}
	return 0;
}
