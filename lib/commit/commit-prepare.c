// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * commit-prepare.c - the prepared transactions of earlier opens that are
 * still in doubt: built by recovery (commit-recover.c, V3p), resolved by
 * sf_clog_commit_prepared() / sf_clog_rollback_prepared() and listed by
 * sf_clog_in_doubt() (commit.c, Prepare).  A sorted array: they are few,
 * and an entry never moves or changes after open except its state (m).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "commit-int.h"
#include "internal.h"

int clog_indoubt_add(struct clog_indoubt_set *s, const struct clog_indoubt *d)
{
	size_t i;

	if (clog_grow(&s->v, &s->cap, s->n + 1, sizeof(*s->v), 8))
		return ENOMEM;
	for (i = s->n; i > 0 && s->v[i - 1].id > d->id; i--)
		s->v[i] = s->v[i - 1];
	s->v[i] = *d;
	s->n++;
	return 0;
}

static int by_id(const void *key, const void *e)
{
	uint64_t a = *(const uint64_t *)key;
	uint64_t b = ((const struct clog_indoubt *)e)->id;

	return a < b ? -1 : a > b;
}

struct clog_indoubt *clog_indoubt_find(struct clog_indoubt_set *s, uint64_t id)
{
	return s->n ? bsearch(&id, s->v, s->n, sizeof(*s->v), by_id) : NULL;
}

void clog_indoubt_free(struct clog_indoubt_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].data);
		free(s->v[i].recs);
	}
	free(s->v);
	*s = (struct clog_indoubt_set){ 0 };
}
