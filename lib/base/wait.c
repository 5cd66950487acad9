// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wait.c - the backends of sf_wait()/sf_wake(): the futex system call, or
 * the SYNCFIX_IOC_WAIT/WAKE ioctls of /dev/syncfix (syncfix.ko), whose
 * waiters the module lists in /proc/syncfix/waiters.
 *
 * Choice of backend.  Each lock fixes its own at init (the backend
 * attribute: SF_BACKEND_FUTEX, SF_BACKEND_IOCTL, or SF_BACKEND_DEFAULT,
 * which follows the process-wide choice), and the choice never changes
 * afterwards, so one lock never has waiters in both backends.  The
 * process-wide choice is made once, on the first wait or wake of a
 * default lock:
 *   SYNCFIX_WAIT=futex   futex
 *   SYNCFIX_WAIT=ioctl   the ioctl
 *   SYNCFIX_WAIT=auto, unset or anything else: as "ioctl"
 * The variable is read with secure_getenv().  "The ioctl" always means: if
 * /dev/syncfix opens and its ABI version and features match, else futex (a
 * fallback, not an error: locks work the same, they are only not listed).
 * Whether the device is usable is itself decided once per process, so a
 * lock that asked for the ioctl uses one backend for its whole life too.
 * Words in memory shared between processes (SF_WAIT_SHARED) always sleep
 * in futex: the ioctl queue is private to an address space, and every
 * process sharing the word must be able to wake it, whether it has the
 * device or not.  When this process's default is the ioctl and the module
 * has SYNCFIX_FEAT_ANNOUNCE, such a wait is announced to the module
 * before the futex call and retracted after it, so that it is listed in
 * /proc/syncfix/waiters with what it waits for all the same; the
 * announcement only lists, it never changes how the wait or a wake goes.
 *
 * The device is opened lazily, once, with O_CLOEXEC; threads racing on the
 * first call agree through a compare-and-swap on the backend state.
 *
 * FUTEX_WAIT_BITSET takes an absolute deadline, on CLOCK_MONOTONIC by
 * default or on CLOCK_REALTIME with FUTEX_CLOCK_REALTIME, so a deadline is
 * never converted to a relative timeout (which would drift, and would not
 * follow CLOCK_REALTIME being set).  The ioctl takes CLOCK_MONOTONIC
 * deadlines only: a CLOCK_REALTIME one is converted when the wait starts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/syncfix.h>	/* uapi/: -I in lib/Makefile */
#include <syncfix/mutex.h>

#include "internal.h"
#include "wait.h"

enum { STATE_UNSET, STATE_NO, STATE_YES };

/*
 * The device: STATE_* in bits 0-1; when STATE_YES, DEV_OWNER if the module
 * takes owners (SYNCFIX_FEAT_OWNER), DEV_ANNOUNCE if it takes
 * announcements (SYNCFIX_FEAT_ANNOUNCE), and the fd from bit DEV_FD_SHIFT.
 */
#define DEV_OWNER	0x4u
#define DEV_ANNOUNCE	0x8u
#define DEV_FD_SHIFT	4
static uint32_t sf_dev_state;
/* The process-wide default: STATE_YES (ioctl) or STATE_NO (futex). */
static uint32_t sf_default_state;

/* Open the device: its fd and its DEV_OWNER and DEV_ANNOUNCE bits, or -1. */
static int dev_open(uint32_t *bits)
{
	struct syncfix_info info;
	int fd;

	fd = open("/dev/syncfix", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ioctl(fd, SYNCFIX_IOC_GET_INFO, &info) ||
	    info.abi_version != SYNCFIX_ABI_VERSION ||
	    (info.features & (SYNCFIX_FEAT_WAIT_WAKE | SYNCFIX_FEAT_BITSET |
			      SYNCFIX_FEAT_TIMEOUT)) !=
	    (SYNCFIX_FEAT_WAIT_WAKE | SYNCFIX_FEAT_BITSET |
	     SYNCFIX_FEAT_TIMEOUT)) {
		close(fd);
		return -1;
	}
	*bits = (info.features & SYNCFIX_FEAT_OWNER ? DEV_OWNER : 0) |
		((info.features & (SYNCFIX_FEAT_OWNER | SYNCFIX_FEAT_ANNOUNCE)) ==
		 (SYNCFIX_FEAT_OWNER | SYNCFIX_FEAT_ANNOUNCE) ? DEV_ANNOUNCE : 0);
	return fd;
}

/* The device's state word (above), opened once, lazily. */
static uint32_t sf_dev_st(void)
{
	uint32_t st = sf_load_acquire(&sf_dev_state);
	uint32_t want, bits = 0;
	int saved, fd;

	if (st == STATE_UNSET) {
		saved = errno;
		fd = dev_open(&bits);
		want = fd < 0 ? STATE_NO :
		       ((uint32_t)fd << DEV_FD_SHIFT) | bits | STATE_YES;
		/*
		 * Threads racing on the first call agree here.  A locked
		 * instruction: it goes through atomic.h and its lfence slot.
		 */
		if (sf_cas(&sf_dev_state, &st, want))
			st = want;
		else if (fd >= 0)
			close(fd);	/* another thread decided first */
		errno = saved;
	}
	return st;
}

/* The process-wide choice: the device's state word, or STATE_NO (futex). */
static uint32_t sf_default_st(void)
{
	uint32_t st = sf_load_acquire(&sf_default_state);
	const char *env;

	if (st == STATE_UNSET) {
		env = secure_getenv("SYNCFIX_WAIT");
		st = env && !strcmp(env, "futex") ? STATE_NO : STATE_YES;
		/* Every thread computes the same value: a plain store will do. */
		sf_store_release(&sf_default_state, st);
	}
	return st == STATE_YES ? sf_dev_st() : STATE_NO;
}

/* The backend of a private word waited on with @flags: as sf_dev_st(). */
static inline uint32_t backend_st(unsigned int flags)
{
	if (flags & SF_WAIT_USE_FUTEX)
		return STATE_NO;
	if (flags & SF_WAIT_USE_IOCTL)
		return sf_dev_st();
	return sf_default_st();
}

/* The same as an fd, or -1 for futex. */
static inline int backend_of(unsigned int flags)
{
	uint32_t st = backend_st(flags);

	return (st & 3) == STATE_YES ? (int)(st >> DEV_FD_SHIFT) : -1;
}

static unsigned int backend_flags(int backend)
{
	return backend == SF_BACKEND_FUTEX ? SF_WAIT_USE_FUTEX :
	       backend == SF_BACKEND_IOCTL ? SF_WAIT_USE_IOCTL : 0;
}

/**
 * sf_wait_backend() - the backend of this process's default locks.
 *
 * Return: "ioctl" or "futex"; decides it on the first call.
 */
const char *sf_wait_backend(void)
{
	return backend_of(0) >= 0 ? "ioctl" : "futex";
}

SF_EXPORT const char *sf_backend_name(int backend)
{
	if (backend != SF_BACKEND_DEFAULT && backend != SF_BACKEND_FUTEX &&
	    backend != SF_BACKEND_IOCTL)
		return NULL;
	return backend_of(backend_flags(backend)) >= 0 ? "ioctl" : "futex";
}

static inline uint32_t class_bitset(unsigned int flags)
{
	uint32_t b = (flags & SF_WAIT_CLASS_MASK) >> SF_WAIT_CLASS_SHIFT;

	return b ? b : FUTEX_BITSET_MATCH_ANY;
}

/* The tag shown in /proc/syncfix/waiters; @owner: the module takes owners. */
static uint32_t wait_tag(unsigned int flags, bool owner)
{
	unsigned int tag = (flags & SF_WAIT_TAG_MASK) >> SF_WAIT_TAG_SHIFT;

	if (tag > SYNCFIX_TAG_RWLOCK_WRITE && !owner)
		return SYNCFIX_TAG_USER;	/* a module of ABI 1 without them */
	if (tag)
		return tag;
	/* rwlock.c's writer class waits for a writer's turn. */
	if (flags & SF_WAIT_CLASS(0))
		return SYNCFIX_TAG_RWLOCK_WRITE;
	if (flags & SF_WAIT_CLASS_MASK)
		return SYNCFIX_TAG_RWLOCK_READ;
	return SYNCFIX_TAG_USER;
}

/* The SYNCFIX_WAIT_OWNER_* flag of @who's kind. */
static const uint32_t owner_flag[] = {
	[SF_WAITFOR_NONE]	= 0,
	[SF_WAITFOR_TID]	= SYNCFIX_WAIT_OWNER_TID,
	[SF_WAITFOR_READERS]	= SYNCFIX_WAIT_OWNER_READERS,
	[SF_WAITFOR_ID]		= SYNCFIX_WAIT_OWNER_ID,
	[SF_WAITFOR_LOCK]	= SYNCFIX_WAIT_OWNER_LOCK,
};

/* The fields of a wait on @addr but its timeout, for the device @st. */
static void wait_fill(struct syncfix_wait *w, uint32_t st, uint32_t *addr,
		      uint32_t expected, unsigned int flags,
		      const struct sf_waitfor *who)
{
	bool owner = st & DEV_OWNER;

	memset(w, 0, sizeof(*w));
	w->addr = (uintptr_t)addr;
	w->val = expected;
	w->bitset = class_bitset(flags);
	w->tag = wait_tag(flags, owner);
	if (owner && who && who->kind != SF_WAITFOR_NONE) {
		w->flags = owner_flag[who->kind];
		w->owner = who->owner;
		w->self = who->kind == SF_WAITFOR_ID ? who->self : 0;
	}
}

static int ioctl_wait(uint32_t st, uint32_t *addr, uint32_t expected,
		      const struct timespec *abs, clockid_t clk,
		      unsigned int flags, const struct sf_waitfor *who)
{
	struct syncfix_wait w;

	wait_fill(&w, st, addr, expected, flags, who);
	if (abs) {
		int64_t ns = (int64_t)abs->tv_sec * 1000000000LL + abs->tv_nsec;

		if (clk == CLOCK_REALTIME) {
			struct timespec now, mono;

			clock_gettime(CLOCK_REALTIME, &now);
			clock_gettime(CLOCK_MONOTONIC, &mono);
			ns -= (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
			ns += (int64_t)mono.tv_sec * 1000000000LL + mono.tv_nsec;
			if (ns < 0)
				ns = 0;
		}
		w.flags |= SYNCFIX_WAIT_TIMEOUT | SYNCFIX_WAIT_ABSTIME;
		w.timeout_ns = ns;
	}
	/* 0, EAGAIN (value changed), EINTR: the caller reloads and decides. */
	if (ioctl((int)(st >> DEV_FD_SHIFT), SYNCFIX_IOC_WAIT, &w) &&
	    errno == ETIMEDOUT)
		return ETIMEDOUT;
	return 0;
}

int sf_wait_for(uint32_t *addr, uint32_t expected, const struct timespec *abs,
		clockid_t clk, unsigned int flags, const struct sf_waitfor *who)
{
	int op = FUTEX_WAIT_BITSET, fd = -1;
	int saved = errno, ret = 0;
	struct syncfix_wait w;
	uint32_t st;
	long r;

	if (abs && abs->tv_sec < 0)
		return ETIMEDOUT;
	st = backend_st(flags);
	if (!(flags & SF_WAIT_SHARED)) {
		if ((st & 3) == STATE_YES) {
			ret = ioctl_wait(st, addr, expected, abs, clk, flags,
					 who);
			errno = saved;
			return ret;
		}
		op |= FUTEX_PRIVATE_FLAG;
	} else if ((st & 3) == STATE_YES && (st & DEV_ANNOUNCE)) {
		/* Listed while in futex (top of this file); else unlisted. */
		wait_fill(&w, st, addr, expected, flags, who);
		fd = (int)(st >> DEV_FD_SHIFT);
		if (ioctl(fd, SYNCFIX_IOC_ANNOUNCE, &w))
			fd = -1;
	}
	if (abs && clk == CLOCK_REALTIME)
		op |= FUTEX_CLOCK_REALTIME;
	r = syscall(SYS_futex, addr, op, expected, abs, NULL,
		    class_bitset(flags));
	/* 0, EAGAIN (value changed), EINTR: the caller reloads and decides. */
	if (r == -1 && errno == ETIMEDOUT)
		ret = ETIMEDOUT;
	if (fd >= 0)
		ioctl(fd, SYNCFIX_IOC_RETRACT, 0);
	errno = saved;
	return ret;
}

int sf_wait(uint32_t *addr, uint32_t expected, const struct timespec *abs,
	    clockid_t clk, unsigned int flags)
{
	return sf_wait_for(addr, expected, abs, clk, flags, NULL);
}

void sf_wake(uint32_t *addr, int n, unsigned int flags)
{
	int op = FUTEX_WAKE_BITSET;
	int saved = errno, fd;

	if (!(flags & SF_WAIT_SHARED)) {
		fd = backend_of(flags);
		if (fd >= 0) {
			struct syncfix_wake w;

			memset(&w, 0, sizeof(w));
			w.addr = (uintptr_t)addr;
			w.count = n < 0 ? 0 : (uint32_t)n;
			w.bitset = class_bitset(flags);
			ioctl(fd, SYNCFIX_IOC_WAKE, &w);
			errno = saved;
			return;
		}
		op |= FUTEX_PRIVATE_FLAG;
	}
	syscall(SYS_futex, addr, op, n, NULL, NULL, class_bitset(flags));
	errno = saved;
}
