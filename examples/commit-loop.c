// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * commit-loop.c - a commit loop with an applier, on libsyncfix-user's
 * commit sequencer.
 *
 * Four threads move money between 8 accounts; each transfer is one
 * transaction with one record.  An applier keeps the account table up to
 * date from the committed transactions, in commit order.  After closing,
 * the log is opened again and replayed into a second table: both tables
 * must be equal, and the total must still be 8 x 1000.
 *
 * The log is what sf_clog_open() makes by default: a directory of
 * segment files (16 MiB each, prepared ahead full of zeros).
 *
 *   cc commit-loop.c -lsyncfix-user -luring -lpthread
 *   ./a.out            (the log goes to a temporary directory)
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <syncfix.h>

#define ACCOUNTS	8
#define THREADS		4
#define TRANSFERS	50

#define OUTSIDE		UINT32_MAX	/* "from" of a deposit */

struct transfer {
	uint32_t from, to;
	int64_t amount;
};

static sf_clog_t *log_;

/* What the applier (or the replay after reopening) builds. */
struct table {
	int64_t balance[ACCOUNTS];
	uint64_t applied;
};

static void apply(struct table *t, const struct sf_commit_txn *txn)
{
	for (size_t i = 0; i < txn->nrecs; i++) {
		struct transfer x;

		memcpy(&x, txn->recs[i].data, sizeof(x));
		if (x.from != OUTSIDE)
			t->balance[x.from] -= x.amount;
		t->balance[x.to] += x.amount;
	}
	t->applied++;
}

/* Applier: one thread, transactions in commit order, after they finished. */
static void applier(void *arg, const struct sf_commit_txn *txn)
{
	apply(arg, txn);
}

static int replay(void *arg, const struct sf_commit_txn *txn)
{
	apply(arg, txn);
	return 0;
}

static void *teller(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	for (int i = 0; i < TRANSFERS; i++) {
		struct transfer x = { (uint32_t)rand_r(&seed) % ACCOUNTS,
				      (uint32_t)rand_r(&seed) % ACCOUNTS,
				      rand_r(&seed) % 50 };
		sf_txn_t *t;
		int err = sf_txn_begin(log_, &t);

		if (!err)
			err = sf_txn_add(t, &x, sizeof(x));
		if (!err && x.from == x.to) {
			sf_txn_rollback(t);	/* pointless: roll it back */
			continue;
		}
		/* Returns when the commit record is durable and visible. */
		if (!err)
			err = sf_txn_commit(t, NULL);
		if (err) {
			fprintf(stderr, "commit: %s\n", strerror(err));
			exit(1);
		}
	}
	return NULL;
}

/* nftw(): remove each file, then its directory. */
static int remove_one(const char *p, const struct stat *st, int type,
		      struct FTW *f)
{
	(void)st, (void)type, (void)f;
	return remove(p);
}

int main(void)
{
	static struct table live, recovered;
	struct sf_clog_options opt = { 0 };
	struct sf_clog_recovery rep;
	struct sf_clog_stats st;
	char dir[] = "/tmp/commit-loop.XXXXXX", path[64];
	pthread_t th[THREADS];
	int64_t total = 0;
	int err;

	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	snprintf(path, sizeof(path), "%s/bank.log", dir);

	err = sf_clog_open(path, &opt, &log_, &rep);
	if (err)
		return fprintf(stderr, "open: %s (%s)\n", strerror(err),
			       rep.reason), 1;
	printf("log %s (%u segment files), written with %s\n", path,
	       rep.segments, sf_clog_io_method(log_));
	sf_clog_add_applier(log_, applier, &live);
	/* The opening balances: one transaction, a deposit per account. */
	{
		sf_txn_t *t;

		sf_txn_begin(log_, &t);
		for (uint32_t a = 0; a < ACCOUNTS; a++) {
			struct transfer x = { OUTSIDE, a, 1000 };

			sf_txn_add(t, &x, sizeof(x));
		}
		sf_txn_commit(t, NULL);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, teller, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	sf_clog_stats(log_, &st);
	printf("%llu commits in %llu flushes (%.1f per flush, %.0f us each)\n",
	       (unsigned long long)st.commits, (unsigned long long)st.flushes,
	       st.commits_per_flush, st.flush_latency_us);
	sf_clog_close(log_);	/* the applier has seen every commit */

	/* Recovery: replay the log into a fresh table. */
	opt.replay = replay;
	opt.replay_arg = &recovered;
	err = sf_clog_open(path, &opt, &log_, &rep);
	if (err)
		return fprintf(stderr, "reopen: %s\n", strerror(err)), 1;
	sf_clog_close(log_);
	for (int a = 0; a < ACCOUNTS; a++)
		total += live.balance[a];
	printf("applied %llu, replayed %llu transactions, total %lld\n",
	       (unsigned long long)live.applied,
	       (unsigned long long)recovered.applied, (long long)total);
	/* the log is a directory of segment files: all of it */
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	if (memcmp(&live, &recovered, sizeof(live)) || total != 8000)
		return fprintf(stderr, "mismatch\n"), 1;
	return 0;
}
