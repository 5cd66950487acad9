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
 * Words in memory shared between processes (SF_WAIT_SHARED) always use
 * futex: the ioctl queue is private to an address space.
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

/* The device: STATE_* in the low bits, its fd above them when STATE_YES. */
static uint32_t sf_dev_state;
/* The process-wide default: STATE_YES (ioctl) or STATE_NO (futex). */
static uint32_t sf_default_state;

static int dev_open(void)
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
	return fd;
}

/* The device's fd, or -1 when it is not usable; opened once, lazily. */
static int sf_dev(void)
{
	uint32_t st = sf_load_acquire(&sf_dev_state);
	uint32_t want;
	int saved, fd;

	if (st == STATE_UNSET) {
		saved = errno;
		fd = dev_open();
		want = fd < 0 ? STATE_NO : ((uint32_t)fd << 2) | STATE_YES;
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
	return (st & 3) == STATE_YES ? (int)(st >> 2) : -1;
}

/* The process-wide choice: the device's fd, or -1 for futex. */
static int sf_default_dev(void)
{
	uint32_t st = sf_load_acquire(&sf_default_state);
	const char *env;

	if (st == STATE_UNSET) {
		env = secure_getenv("SYNCFIX_WAIT");
		st = env && !strcmp(env, "futex") ? STATE_NO : STATE_YES;
		/* Every thread computes the same value: a plain store will do. */
		sf_store_release(&sf_default_state, st);
	}
	return st == STATE_YES ? sf_dev() : -1;
}

/* The backend of a private word waited on with @flags: fd, or -1. */
static inline int backend_of(unsigned int flags)
{
	if (flags & SF_WAIT_USE_FUTEX)
		return -1;
	if (flags & SF_WAIT_USE_IOCTL)
		return sf_dev();
	return sf_default_dev();
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
	return sf_default_dev() >= 0 ? "ioctl" : "futex";
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

/* The tag shown in /proc/syncfix/waiters. */
static uint32_t wait_tag(unsigned int flags)
{
	unsigned int tag = (flags & SF_WAIT_TAG_MASK) >> SF_WAIT_TAG_SHIFT;

	if (tag)
		return tag;
	/* rwlock.c's writer class waits for a writer's turn. */
	if (flags & SF_WAIT_CLASS(0))
		return SYNCFIX_TAG_RWLOCK_WRITE;
	if (flags & SF_WAIT_CLASS_MASK)
		return SYNCFIX_TAG_RWLOCK_READ;
	return SYNCFIX_TAG_USER;
}

static int ioctl_wait(int fd, uint32_t *addr, uint32_t expected,
		      const struct timespec *abs, clockid_t clk,
		      unsigned int flags)
{
	struct syncfix_wait w;

	memset(&w, 0, sizeof(w));
	w.addr = (uintptr_t)addr;
	w.val = expected;
	w.bitset = class_bitset(flags);
	w.tag = wait_tag(flags);
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
		w.flags = SYNCFIX_WAIT_TIMEOUT | SYNCFIX_WAIT_ABSTIME;
		w.timeout_ns = ns;
	}
	/* 0, EAGAIN (value changed), EINTR: the caller reloads and decides. */
	if (ioctl(fd, SYNCFIX_IOC_WAIT, &w) && errno == ETIMEDOUT)
		return ETIMEDOUT;
	return 0;
}

int sf_wait(uint32_t *addr, uint32_t expected, const struct timespec *abs,
	    clockid_t clk, unsigned int flags)
{
	int op = FUTEX_WAIT_BITSET;
	int saved = errno, ret = 0, fd;
	long r;

	if (abs && abs->tv_sec < 0)
		return ETIMEDOUT;
	if (!(flags & SF_WAIT_SHARED)) {
		fd = backend_of(flags);
		if (fd >= 0) {
			ret = ioctl_wait(fd, addr, expected, abs, clk, flags);
			errno = saved;
			return ret;
		}
		op |= FUTEX_PRIVATE_FLAG;
	}
	if (abs && clk == CLOCK_REALTIME)
		op |= FUTEX_CLOCK_REALTIME;
	r = syscall(SYS_futex, addr, op, expected, abs, NULL,
		    class_bitset(flags));
	/* 0, EAGAIN (value changed), EINTR: the caller reloads and decides. */
	if (r == -1 && errno == ETIMEDOUT)
		ret = ETIMEDOUT;
	errno = saved;
	return ret;
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
