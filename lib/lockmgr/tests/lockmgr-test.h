/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lockmgr-test.h - what the lock manager's tests share: the manager and
 * tree under test, mode shorthands, and keys written as short strings.
 */
#ifndef SF_LOCKMGR_TEST_H
#define SF_LOCKMGR_TEST_H

#include "test.h"

#include <syncfix.h>

#define R SF_LOCK_READ
#define W SF_LOCK_WRITE
#define ANY SF_LOCK_CLIENT_TXNID

static struct sf_lockmgr *mgr;
static struct sf_locktree *lt;

/* Keys: a short string, "-" for minus infinity, "+" for plus infinity. */
static inline struct sf_lockkey key(const char *s)
{
	struct sf_lockkey k = SF_LOCKKEY_INIT(s, strlen(s));

	if (!strcmp(s, "-"))
		k.inf = SF_LOCKKEY_NEG_INF;
	else if (!strcmp(s, "+"))
		k.inf = SF_LOCKKEY_POS_INF;
	return k;
}

#endif /* SF_LOCKMGR_TEST_H */
