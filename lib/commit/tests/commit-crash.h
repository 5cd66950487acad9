/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * commit-crash.h - what commit-crash-child records for commit-crash, in a
 * file both map shared: survives the child's SIGKILL.
 */
#ifndef SF_COMMIT_CRASH_H
#define SF_COMMIT_CRASH_H

#include <stdint.h>

#define CRASH_MAX_ID	(1u << 20)
#define CRASH_MAGIC	0x43524153u	/* "CRAS" */

/* Ids are reserved this many at a time (small: begins also flush). */
#define CRASH_ID_RESERVE	64u

/* crash_state.flags (the "txn" mode: async commits and prepares). */
#define CF_ASYNC	1u	/* its asynchronous commit returned */
#define CF_PREPARED	2u	/* its prepare returned 0 */
#define CF_COMMITTING	4u	/* prepared, its commit called */
#define CF_ROLLING_BACK	8u	/* prepared, its rollback called */
#define CF_RESOLVED_C	16u	/* the parent committed it (in doubt) */
#define CF_RESOLVED_R	32u	/* the parent rolled it back */
/* Segmented rounds: segment and buffer size of the child's log. */
#define CRASH_SEG	(64u << 10)
#define CRASH_BUF	(16u << 10)

struct crash_state {
	uint32_t ready;			/* child: log open, threads running */
	uint32_t pad;
	uint64_t max_id;		/* the largest id a child was given */
	uint64_t ckpt_lsn;		/* the last checkpoint that returned 0 */
	uint64_t commit_lsn[CRASH_MAX_ID];	/* of each commit returned */
	/*
	 * Another txn saw it committed (in the "txn" mode: a transaction
	 * whose synchronous commit then returned).
	 */
	uint8_t seen[CRASH_MAX_ID];
	uint8_t returned[CRASH_MAX_ID];	/* its synchronous commit returned 0 */
	uint8_t flags[CRASH_MAX_ID];	/* CF_* */
	uint8_t applied[CRASH_MAX_ID];	/* an applier received it ("txn") */
	uint64_t lsn[CRASH_MAX_ID];	/* the LSN its commit returned */
};

/* The payload of every transaction's one data record. */
struct crash_payload {
	uint32_t magic;
	uint32_t pad;
	uint64_t id;		/* the transaction's own id */
	uint64_t dep;		/* a transaction it read as committed, or 0 */
	uint64_t check;		/* id * 31 + dep */
};

#endif /* SF_COMMIT_CRASH_H */
