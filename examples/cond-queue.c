// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cond-queue.c - a bounded queue between threads, on sf_mutex and
 * sf_cond: producers wait while it is full, consumers while it is empty.
 *
 *   cc cond-queue.c $(pkg-config --cflags --libs syncfix-user)
 *   ./a.out
 */
#include <pthread.h>
#include <stdio.h>

#include <syncfix.h>

#define CAP		16
#define PRODUCERS	3
#define CONSUMERS	3
#define ITEMS		10000	/* per producer */

static struct {
	sf_mutex_t m;
	sf_cond_t not_empty, not_full;
	long buf[CAP];
	int head, n, done;
} q = {
	.m = SF_MUTEX_INITIALIZER,
	.not_empty = SF_COND_INITIALIZER,
	.not_full = SF_COND_INITIALIZER,
};

static void put(long v)
{
	sf_mutex_lock(&q.m);
	while (q.n == CAP)
		sf_cond_wait(&q.not_full, &q.m);
	q.buf[(q.head + q.n++) % CAP] = v;
	sf_cond_signal(&q.not_empty);
	sf_mutex_unlock(&q.m);
}

/* 0 once the producers are done and the queue is empty. */
static int get(long *v)
{
	sf_mutex_lock(&q.m);
	while (q.n == 0 && q.done < PRODUCERS)
		sf_cond_wait(&q.not_empty, &q.m);
	if (q.n == 0) {
		sf_mutex_unlock(&q.m);
		return 0;
	}
	*v = q.buf[q.head];
	q.head = (q.head + 1) % CAP;
	q.n--;
	sf_cond_signal(&q.not_full);
	sf_mutex_unlock(&q.m);
	return 1;
}

static void *producer(void *arg)
{
	(void)arg;
	for (long i = 1; i <= ITEMS; i++)
		put(i);
	sf_mutex_lock(&q.m);
	q.done++;
	sf_cond_broadcast(&q.not_empty);	/* consumers may stop now */
	sf_mutex_unlock(&q.m);
	return NULL;
}

static void *consumer(void *arg)
{
	long v, *sum = arg;

	while (get(&v))
		*sum += v;
	return NULL;
}

int main(void)
{
	pthread_t p[PRODUCERS], c[CONSUMERS];
	long sums[CONSUMERS] = { 0 }, total = 0;
	const long want = PRODUCERS * (long)ITEMS * (ITEMS + 1) / 2;

	for (int i = 0; i < CONSUMERS; i++)
		pthread_create(&c[i], NULL, consumer, &sums[i]);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&p[i], NULL, producer, NULL);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(p[i], NULL);
	for (int i = 0; i < CONSUMERS; i++) {
		pthread_join(c[i], NULL);
		total += sums[i];
	}
	printf("%d items through a queue of %d: sum %ld (%s)\n",
	       PRODUCERS * ITEMS, CAP, total, total == want ? "ok" : "WRONG");
	sf_cond_destroy(&q.not_empty);
	sf_cond_destroy(&q.not_full);
	return total == want ? 0 : 1;
}
