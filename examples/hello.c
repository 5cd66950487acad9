// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hello.c - smallest program using libsyncfix-user: takes a mutex and a
 * rwlock and tells what the library decided about AMD erratum 147.
 *
 *	cc hello.c -lsyncfix-user
 */
#include <stdio.h>
#include <string.h>

#include <syncfix.h>

static sf_mutex_t mutex = SF_MUTEX_INITIALIZER;
static sf_rwlock_t rwlock = SF_RWLOCK_PREFER_WRITER_NONRECURSIVE_INITIALIZER;

int main(void)
{
	struct sf_lfence_status st;
	int r;

	r = sf_mutex_lock(&mutex);
	if (!r)
		r = sf_mutex_unlock(&mutex);
	if (r) {
		fprintf(stderr, "hello: mutex: %s\n", strerror(r));
		return 1;
	}
	r = sf_rwlock_rdlock(&rwlock);
	if (!r)
		r = sf_rwlock_unlock(&rwlock);
	if (!r)
		r = sf_rwlock_wrlock(&rwlock);
	if (!r)
		r = sf_rwlock_unlock(&rwlock);
	if (r) {
		fprintf(stderr, "hello: rwlock: %s\n", strerror(r));
		return 1;
	}

	sf_lfence_status(&st);
	printf("syncfix: mutex and rwlock locked and unlocked\n");
	printf("lfence slots: %u found, %u patched\n", st.slots_found,
	       st.slots_patched);
	printf("decision:     %s (decided by %s)\n",
	       st.patched ? "lfence after every locked instruction" :
	       st.wanted ? "lfence wanted, NOT applied" : "slots left as NOPs",
	       sf_lfence_source_name(st.source));
	printf("reason:       %s\n", st.reason);
	if (st.error)
		printf("error:        %s\n", strerror(st.error));
	return st.error ? 1 : 0;
}
