// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wait.c - the backends of sf_wait()/sf_wake(): the futex system call, or
 * the SYNCFIX_IOC_WAIT/WAKE ioctls of /dev/syncfix (syncfix.ko), whose
 * waiters the module lists in /proc/syncfix/waiters.
 *
 * Choice of backend, once per process, on the first sf_wait()/sf_wake():
 *   SYNCFIX_WAIT=futex   futex
 *   SYNCFIX_WAIT=ioctl   the ioctl; futex when /dev/syncfix cannot be
 *                        opened or its ABI version or features do not
 *                        match (a fallback, not an error: locks work the
 *                        same, they are only not listed)
 *   SYNCFIX_WAIT=auto, unset or anything else: as "ioctl"
 * The variable is read with secure_getenv().  The choice never changes
 * afterwards, so one lock never has waiters in both backends.  Words in
 * memory shared between processes (SF_WAIT_SHARED) always use futex: the
 * ioctl queue is private to an address space.
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

#include "../../uapi/linux/syncfix.h"
#include "atomic.h"
#include "wait.h"

enum { BACKEND_UNSET, BACKEND_FUTEX, BACKEND_IOCTL };

/* BACKEND_* in the low bits, the device's fd above them. */
static uint32_t sf_backend_state;

static int backend_open(void)
{
	struct syncfix_info info;
	const char *env = secure_getenv("SYNCFIX_WAIT");
	int fd;

	if (env && !strcmp(env, "futex"))
		return -1;
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

/* The device's fd, or -1 for futex. */
static int sf_backend(void)
{
	uint32_t st = __atomic_load_n(&sf_backend_state, __ATOMIC_ACQUIRE);
	uint32_t want;
	int saved, fd;

	if (st != BACKEND_UNSET)
		return (st & 3) == BACKEND_IOCTL ? (int)(st >> 2) : -1;
	saved = errno;
	fd = backend_open();
	want = fd < 0 ? BACKEND_FUTEX : ((uint32_t)fd << 2) | BACKEND_IOCTL;
	/* A locked instruction: it goes through atomic.h and its lfence slot. */
	if (!sf_cas(&sf_backend_state, &st, want)) {
		/* Another thread decided first. */
		if (fd >= 0)
			close(fd);
	} else {
		st = want;
	}
	errno = saved;
	return (st & 3) == BACKEND_IOCTL ? (int)(st >> 2) : -1;
}

/**
 * sf_wait_backend() - the backend this process uses for private words.
 *
 * Return: "ioctl" or "futex"; decides it on the first call.
 */
const char *sf_wait_backend(void)
{
	return sf_backend() >= 0 ? "ioctl" : "futex";
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
		fd = sf_backend();
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
		fd = sf_backend();
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
