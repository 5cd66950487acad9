# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Transactional range-lock manager (lockmgr.c, lockmgr-ranges.c).
#
#   lockmgr          semantics: conflict matrix, upgrade, timeouts, kill,
#                    deadlocks, escalation, release
#   lockmgr-races    the seed's two races forced with sync points (hooks),
#                    and a kill landing just before a request waits
#   lockmgr-broken   runs lockmgr-races with each fix removed
#                    (SF_TEST_BROKEN) and expects it to hang until the
#                    lock timeout
#   lockmgr-stress   random ranges from many threads against a model
#   lockmgr-listing  listings of locks and waits (also under load),
#                    per-tree stats, the limit getter
#   lockmgr-blockers the blocker callback, and the replication scenario

LIB_SRCS += lockmgr.c lockmgr-ranges.c
TESTS += lockmgr lockmgr-races lockmgr-broken lockmgr-stress lockmgr-listing \
	lockmgr-blockers
VM_TESTS += lockmgr lockmgr-races
HOOK_TESTS += lockmgr-races lockmgr-listing
$(addprefix $(T)/,lockmgr lockmgr-listing lockmgr-blockers) $(VM)/lockmgr: \
	$(L)/lockmgr/tests/lockmgr-test.h
BENCH_PROGS += bench-lockmgr
BENCH_HELPERS += bench-lockmgr-hooks
BENCH_RUNS += $(L)/lockmgr/bench/run-lockmgr.sh

# lockmgr-broken runs lockmgr-races with each broken protocol
# (SF_TEST_BROKEN=release-before-wait, retry-while-retry, kill-before-wait).
$(T)/lockmgr-broken: $(T)/lockmgr-races $(T)/lockmgr-listing

# The benchmark on the test-hook build, which run-lockmgr.sh runs with the
# seed's races put back to show what they cost.
$(BB)/bench-lockmgr-hooks: $(L)/lockmgr/bench/bench-lockmgr.c $(BENCH_H) $(LIB_HDRS) $(A_hooks)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BENCH_CFLAGS) -o $@ $< $(A_hooks) $(LDLIBS)

# The PerconaFT peer for the benchmark: bench-lockmgr.c with
# SF_BENCH_PEER, and perconaft-shim.cc, which reaches PerconaFT's locktree
# through RocksDB's range-lock manager (Debian's librocksdb-dev, see
# scripts/install-deps.sh).  Built only where g++ and the RocksDB headers
# are installed; run-lockmgr.sh says so when it is missing.
PEER_CXX := $(shell command -v g++ 2>/dev/null)
PEER_HDR := $(wildcard /usr/include/rocksdb/utilities/transaction_db.h)
ifneq ($(and $(PEER_CXX),$(PEER_HDR)),)
BENCH_HELPERS += bench-lockmgr-peer
$(BB)/perconaft-shim.o: $(L)/lockmgr/bench/perconaft-shim.cc $(L)/lockmgr/bench/perconaft-shim.h
	@mkdir -p $(@D)
	$(PEER_CXX) -std=c++17 -O2 -g -Wall -Wextra $(SANFLAGS) -c $< -o $@
$(BB)/bench-lockmgr-peer: $(L)/lockmgr/bench/bench-lockmgr.c $(BB)/perconaft-shim.o $(BENCH_H) $(LIB_HDRS) $(SO) $(SOLINKS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(L)/lockmgr/bench $(BENCH_CFLAGS) -DSF_BENCH_PEER -c $< -o $(BB)/bench-lockmgr-peer.o
	$(PEER_CXX) $(SANFLAGS) -o $@ $(BB)/bench-lockmgr-peer.o $(BB)/perconaft-shim.o -L$(B) -lsyncfix-user $(RPATH) -lrocksdb -ldl $(LDLIBS)
endif
