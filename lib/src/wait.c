// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wait.c - futex backend of sf_wait()/sf_wake().
 *
 * FUTEX_WAIT_BITSET takes an absolute deadline, on CLOCK_MONOTONIC by
 * default or on CLOCK_REALTIME with FUTEX_CLOCK_REALTIME, so a deadline is
 * never converted to a relative timeout (which would drift, and would not
 * follow CLOCK_REALTIME being set).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wait.h"

static inline uint32_t class_bitset(unsigned int flags)
{
	uint32_t b = (flags & SF_WAIT_CLASS_MASK) >> SF_WAIT_CLASS_SHIFT;

	return b ? b : FUTEX_BITSET_MATCH_ANY;
}

int sf_wait(uint32_t *addr, uint32_t expected, const struct timespec *abs,
	    clockid_t clk, unsigned int flags)
{
	int op = FUTEX_WAIT_BITSET;
	int saved = errno, ret = 0;
	long r;

	if (!(flags & SF_WAIT_SHARED))
		op |= FUTEX_PRIVATE_FLAG;
	if (abs) {
		if (abs->tv_sec < 0)
			return ETIMEDOUT;
		if (clk == CLOCK_REALTIME)
			op |= FUTEX_CLOCK_REALTIME;
	}
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
	int saved = errno;

	if (!(flags & SF_WAIT_SHARED))
		op |= FUTEX_PRIVATE_FLAG;
	syscall(SYS_futex, addr, op, n, NULL, NULL, class_bitset(flags));
	errno = saved;
}
