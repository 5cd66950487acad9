/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * perconaft-shim.h - the C face of perconaft-shim.cc (PerconaFT's locktree
 * in RocksDB's range-lock manager), for bench-lockmgr-peer only.
 */
#ifndef SF_BENCH_PERCONAFT_SHIM_H
#define SF_BENCH_PERCONAFT_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pft;
struct pft_txn;

struct pft_counters {
	long waits;	/* lock_request::start() not granted */
	long passes;	/* retry_all_lock_requests_info() runs */
	long releases;	/* rollbacks of a transaction holding locks */
};

/* NULL and a reason in @err when the peer cannot run. */
struct pft *pft_open(int lock_timeout_ms, char *err, size_t errlen);
/*
 * Return: 0, or the bytes of lock memory PerconaFT still counts with no
 * lock held (then the database is left open, as closing it would abort).
 */
long pft_close(struct pft *p);
struct pft_txn *pft_txn_new(struct pft *p);
void pft_txn_free(struct pft_txn *t);
void pft_begin(struct pft_txn *t);
/* 0, EDEADLK, ETIMEDOUT or EIO */
int pft_lock(struct pft_txn *t, const void *key, size_t len, int write);
void pft_release_all(struct pft_txn *t);
void pft_counters(struct pft *p, struct pft_counters *c);

#ifdef __cplusplus
}
#endif

#endif /* SF_BENCH_PERCONAFT_SHIM_H */
