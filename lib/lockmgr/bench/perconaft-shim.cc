// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * perconaft-shim.cc - PerconaFT's locktree, as RocksDB ships it, behind
 * the C interface of perconaft-shim.h, for bench-lockmgr-peer only.
 *
 * Debian's librocksdb (7.8) builds RocksDB's copy of PerconaFT's locktree
 * (utilities/transactions/lock/range/range_tree: locktree, lock_request,
 * the group retry TokuDB shipped) as its range-lock manager, reachable
 * only through a TransactionDB opened with NewRangeLockManager(): a write
 * lock is Transaction::GetRangeLock() over one key, a read lock
 * GetForUpdate(exclusive=false) (the only way to a shared lock, with a
 * read of the key in the empty database), and Rollback() releases
 * the transaction's locks (UnLock, then the locktree's retry of the
 * pending requests).  So each transaction here also pays RocksDB's
 * transaction object (BeginTransaction reusing the old one, Rollback of
 * an empty write batch): the uncontended point lock shows what that adds.
 *
 * Counting: RocksDB's Counters::lock_wait_count is PerconaFT's
 * LTM_WAIT_COUNT, which lock_request::wait() raises on every call, and
 * RocksDB calls wait() for every request, granted or not, so it counts
 * requests, not waits.  The waits are counted here instead: the shim
 * defines toku::lock_request::start() and
 * toku::lock_request::retry_all_lock_requests_info(), which librocksdb
 * calls through its PLT, counts, and calls the library's own definition
 * (dlsym RTLD_NEXT).  A "wait" is a start() that returned
 * DB_LOCK_NOTGRANTED: the request entered the pending set (syncfix counts
 * the same event, after its one retry under the pending mutex); a "retry
 * pass" is one run of retry_all_lock_requests_info().  If the symbols are
 * not found, pft_counters() reports -1 for them.
 */
#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <rocksdb/utilities/transaction.h>
#include <rocksdb/utilities/transaction_db.h>

#include "perconaft-shim.h"

/* PerconaFT's types, as far as the two interposed functions need them. */
namespace toku {
struct lt_lock_request_info;
struct lock_wait_info;
class lock_request {
public:
	int start();
	static void retry_all_lock_requests_info(
		lt_lock_request_info *info,
		void (*cb)(void *, std::vector<lock_wait_info> *), void *arg);
};
} // namespace toku

#define DB_LOCK_NOTGRANTED (-30994)	/* PerconaFT's db.h */

static std::atomic<long> n_notgranted{0}, n_passes{0};
static int counting = -1;	/* -1 unknown, 0 no symbols, 1 counting */

using start_fn = int (*)(toku::lock_request *);
using pass_fn = void (*)(toku::lt_lock_request_info *,
			 void (*)(void *, std::vector<toku::lock_wait_info> *),
			 void *);
static start_fn real_start;
static pass_fn real_pass;

static void find_real(void)
{
	if (counting >= 0)
		return;
	real_start = (start_fn)dlsym(RTLD_NEXT, "_ZN4toku12lock_request5startEv");
	real_pass = (pass_fn)dlsym(RTLD_NEXT,
		"_ZN4toku12lock_request28retry_all_lock_requests_infoEPNS_"
		"20lt_lock_request_infoEPFvPvPSt6vectorINS_14lock_wait_infoE"
		"SaIS5_EEES3_");
	counting = real_start && real_pass;
}

int toku::lock_request::start()
{
	int r = real_start(this);

	if (r == DB_LOCK_NOTGRANTED)
		n_notgranted.fetch_add(1, std::memory_order_relaxed);
	return r;
}

void toku::lock_request::retry_all_lock_requests_info(
	lt_lock_request_info *info,
	void (*cb)(void *, std::vector<lock_wait_info> *), void *arg)
{
	n_passes.fetch_add(1, std::memory_order_relaxed);
	real_pass(info, cb, arg);
}

struct pft {
	rocksdb::TransactionDB *db;
	std::shared_ptr<rocksdb::RangeLockManagerHandle> mgr;
	std::string dir;
	int timeout_ms;
	std::atomic<long> releases{0};
};

struct pft_txn {
	struct pft *p;
	rocksdb::Transaction *txn;
	int nlocks;
};

extern "C" struct pft *pft_open(int lock_timeout_ms, char *err, size_t errlen)
{
	char dir[] = "/tmp/sf-bench-perconaft-XXXXXX";
	rocksdb::Options o;
	rocksdb::TransactionDBOptions to;
	struct pft *p;

	find_real();
	if (!counting) {
		snprintf(err, errlen, "librocksdb has no toku::lock_request "
			 "symbols to count waits with");
		return nullptr;
	}
	if (!mkdtemp(dir)) {
		snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
		return nullptr;
	}
	p = new pft;
	p->dir = dir;
	p->timeout_ms = lock_timeout_ms;
	p->mgr.reset(rocksdb::NewRangeLockManager(nullptr));
	to.lock_mgr_handle = p->mgr;
	o.create_if_missing = true;
	rocksdb::Status s = rocksdb::TransactionDB::Open(o, to, p->dir, &p->db);
	if (!s.ok()) {
		snprintf(err, errlen, "TransactionDB::Open: %s",
			 s.ToString().c_str());
		delete p;
		return nullptr;
	}
	n_notgranted = 0;
	n_passes = 0;
	return p;
}

extern "C" long pft_close(struct pft *p)
{
	rocksdb::Options o;
	long left = (long)p->mgr->GetStatus().current_lock_memory;

	if (left) {
		/*
		 * Every transaction has rolled back, yet the locktree still
		 * counts lock memory (seen in the mixed read/write workload,
		 * now and then): closing would trip PerconaFT's assertion
		 * m_current_lock_memory == 0 in locktree_manager::destroy()
		 * and abort.  The database is left open instead.
		 */
		return left;
	}
	delete p->db;
	rocksdb::DestroyDB(p->dir, o);
	rmdir(p->dir.c_str());
	delete p;
	return 0;
}

extern "C" struct pft_txn *pft_txn_new(struct pft *p)
{
	struct pft_txn *t = new pft_txn;

	t->p = p;
	t->txn = nullptr;
	t->nlocks = 0;
	return t;
}

extern "C" void pft_txn_free(struct pft_txn *t)
{
	delete t->txn;
	delete t;
}

extern "C" void pft_begin(struct pft_txn *t)
{
	rocksdb::WriteOptions wo;
	rocksdb::TransactionOptions to;

	to.lock_timeout = t->p->timeout_ms;
	to.deadlock_detect = true;
	t->txn = t->p->db->BeginTransaction(wo, to, t->txn);
	t->nlocks = 0;
}

extern "C" int pft_lock(struct pft_txn *t, const void *key, size_t len,
			int write)
{
	rocksdb::Slice k((const char *)key, len);
	rocksdb::Endpoint e(k);
	rocksdb::Status s;

	if (write) {
		s = t->txn->GetRangeLock(t->p->db->DefaultColumnFamily(), e, e);
	} else {
		/* a shared lock is only to be had with a read of the key */
		std::string v;
		rocksdb::ReadOptions ro;

		s = t->txn->GetForUpdate(ro, k, &v, false);
		if (s.IsNotFound())
			s = rocksdb::Status::OK();
	}
	if (s.ok()) {
		t->nlocks++;
		return 0;
	}
	if (s.IsDeadlock())
		return EDEADLK;
	if (s.IsTimedOut())
		return ETIMEDOUT;
	return EIO;
}

extern "C" void pft_release_all(struct pft_txn *t)
{
	if (t->nlocks)
		t->p->releases.fetch_add(1, std::memory_order_relaxed);
	t->txn->Rollback();
	t->nlocks = 0;
}

extern "C" void pft_counters(struct pft *p, struct pft_counters *c)
{
	c->waits = n_notgranted.load();
	c->passes = n_passes.load();
	c->releases = p->releases.load();
}
