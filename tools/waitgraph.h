/* SPDX-License-Identifier: GPL-2.0 */
/*
 * waitgraph.h - syncfixctl's wait-for graph over /proc/syncfix/waiters.
 */
#ifndef SYNCFIXCTL_WAITGRAPH_H
#define SYNCFIXCTL_WAITGRAPH_H

#include <stddef.h>
#include <stdint.h>

/* What the owner column of a waiter says (kmod/waitwake.c). */
enum wg_owner {
	WG_NONE,	/* "-": not said */
	WG_TID,		/* "tid:N": a live thread */
	WG_HIDDEN,	/* "tid:?": alive, outside the reader's pid namespace */
	WG_EXITED,	/* "exited:N": no such thread any more (stale owner) */
	WG_READERS,	/* "readers[:N]" */
	WG_ID,		/* "id:N": a holder id (lock manager transaction) */
	WG_LOCK,	/* "lock:0xADDR": retaken after a signal (condvar) */
};

struct waiter {
	int pid, tid;
	/* comm as the module printed it (escaped), and decoded */
	char comm_esc[80], comm[32], addr[24], tag[24], bitset[16];
	char owner[32], self[32];	/* the columns as printed */
	size_t comm_len;
	unsigned long expected;
	double ms;
	enum wg_owner kind;
	uint64_t owner_val;		/* N of the owner column */
	int has_self;
	uint64_t self_id;		/* N of "id:N" in the self column */
};

/* Parse w->owner and w->self.  Returns 0, or -1 for a form not known. */
int wg_parse_owner(struct waiter *w);

/* syncfixctl.c */
int waiters_read(struct waiter **out);
void format_wait(double ms, char *buf, size_t size);
void json_bytes(const char *s, size_t len);
void json_str(const char *s);

/* waiters --graph and deadlocks; exit statuses as syncfixctl's. */
#define EXIT_DEADLOCK	5
int wg_graph(int json);
int wg_deadlocks(int json, double settle_ms);

#endif /* SYNCFIXCTL_WAITGRAPH_H */
