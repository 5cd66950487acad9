// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rwcache.c - a reader-writer cache: many threads look values up at the
 * same time under the read lock, one thread refreshes entries under the
 * write lock.
 *
 * The lock is SF_RWLOCK_PREFER_WRITER: while the refresher waits, new
 * lookups wait too, so a refresh is never starved by a stream of readers;
 * a thread that already holds a read lock is still admitted (no deadlock
 * on recursive reads).  Each entry holds a value and its version; a reader
 * checks that it never sees one without the other, which the write lock
 * guarantees.
 *
 *	cc rwcache.c $(pkg-config --cflags --libs syncfix-user)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <syncfix.h>

#define ENTRIES		64
#define READERS		4
#define LOOKUPS		20000
#define REFRESHES	2000

struct entry {
	long value;
	long version;		/* value == version * 10 + index % 10 */
};

static struct cache {
	sf_rwlock_t lock;
	struct entry e[ENTRIES];
} cache = { .lock = SF_RWLOCK_PREFER_WRITER_INITIALIZER };

/* A lookup: a consistent copy of entry @key (below ENTRIES). */
static int cache_get(unsigned int key, struct entry *out)
{
	int r = sf_rwlock_rdlock(&cache.lock);

	if (r)
		return r;
	*out = cache.e[key];
	return sf_rwlock_unlock(&cache.lock);
}

/* A refresh: both fields of entry @key change together. */
static int cache_refresh(unsigned int key)
{
	struct entry *e;
	int r = sf_rwlock_wrlock(&cache.lock);

	if (r)
		return r;
	key %= ENTRIES;
	e = &cache.e[key];
	e->version++;
	e->value = e->version * 10 + key % 10;
	return sf_rwlock_unlock(&cache.lock);
}

struct result {
	unsigned int seed;
	long lookups, torn;
	int err;
};

static void *reader(void *arg)
{
	struct result *res = arg;
	unsigned int seed = res->seed, key;
	struct entry copy;
	long i;

	for (i = 0; i < LOOKUPS && !res->err; i++) {
		seed = seed * 1103515245u + 12345u;
		key = (seed >> 8) % ENTRIES;
		res->err = cache_get(key, &copy);
		if (res->err)
			break;
		if (copy.value != copy.version * 10 + (long)(key % 10))
			res->torn++;
		res->lookups++;
	}
	return NULL;
}

static void *refresher(void *arg)
{
	struct result *res = arg;
	unsigned int i;

	for (i = 0; i < REFRESHES && !res->err; i++)
		res->err = cache_refresh(i * 7);
	return NULL;
}

int main(void)
{
	struct result res[READERS + 1];
	pthread_t th[READERS + 1];
	long lookups = 0, torn = 0;
	int i, err = 0;

	memset(res, 0, sizeof(res));
	for (i = 0; i < ENTRIES; i++)
		cache.e[i].value = i % 10;
	for (i = 0; i <= READERS; i++) {
		res[i].seed = (unsigned int)i + 1;
		if (pthread_create(&th[i], NULL, i < READERS ? reader : refresher,
				   &res[i])) {
			fprintf(stderr, "rwcache: pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i <= READERS; i++) {
		pthread_join(th[i], NULL);
		lookups += res[i].lookups;
		torn += res[i].torn;
		if (res[i].err)
			err = res[i].err;
	}
	if (err) {
		fprintf(stderr, "rwcache: lock error: %s\n", strerror(err));
		return 1;
	}
	printf("rwcache: %ld lookups by %d readers, %d refreshes, %ld torn\n",
	       lookups, READERS, REFRESHES, torn);
	return torn ? 1 : sf_rwlock_destroy(&cache.lock) ? 1 : 0;
}
