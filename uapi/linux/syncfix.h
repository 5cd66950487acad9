/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * syncfix: kernel-assisted synchronization runtime - user space ABI.
 *
 * Values shared by the syncfix module and its user space library.
 */
#ifndef _UAPI_LINUX_SYNCFIX_H
#define _UAPI_LINUX_SYNCFIX_H

#include <linux/const.h>
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

#endif /* _UAPI_LINUX_SYNCFIX_H */
