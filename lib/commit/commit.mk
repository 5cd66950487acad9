# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Commit log: commit.c (the sequencer: transactions, group commit,
# visibility, appliers), commit-io.c (io_uring / pwritev durable writes,
# CRC32C), commit-recover.c (recovery on open), commit-status.c (the
# transaction status table), commit-segment.c (segments, checkpoints),
# commit-prepare.c (the transactions in doubt).  Needs liburing.
CLOG_SRCS := commit.c commit-io.c commit-recover.c commit-status.c \
	     commit-segment.c commit-prepare.c
LIB_SRCS += $(CLOG_SRCS)
LDLIBS += -luring

TESTS += commit-basic commit-order commit-gather commit-broken-demo \
	 commit-fault commit-recovery commit-crash commit-ids commit-applier
# commit-crash-child and commit-powerloss take SF_TEST_BROKEN (the crash
# test and the power-loss test run them with it): test-hook build.
HOOK_TESTS += commit-order commit-gather commit-fault commit-crash-child \
	      commit-powerloss commit-ids commit-applier
TEST_HELPERS += commit-crash-child

CLOG_TEST_HDRS := $(L)/commit/tests/commit-test.h $(L)/commit/tests/commit-crash.h $(L)/commit/commit-int.h
$(addprefix $(T)/,commit-basic commit-order commit-gather commit-fault \
	commit-recovery commit-crash commit-crash-child commit-ids \
	commit-applier): \
	$(CLOG_TEST_HDRS)

# commit-broken-demo runs commit-order, commit-gather and the crash test
# with each broken protocol (SF_TEST_BROKEN=visible-before-durable,
# apply-early, no-gather, gather-all; commit.c) and expects them to fail.
$(T)/commit-broken-demo: $(T)/commit-order $(T)/commit-gather \
	$(T)/commit-crash $(T)/commit-crash-child
$(T)/commit-crash: $(T)/commit-crash-child
$(addprefix $(BB)/,bench-commit-mem bench-commit-recover): $(L)/commit/bench/bench-rss.h

# commit-lsn: write-ahead by LSN (sf_txn_add_lsn, sf_clog_flush_to,
# sf_clog_durable_lsn); it runs itself with visible-before-durable.
TESTS += commit-lsn
HOOK_TESTS += commit-lsn
$(T)/commit-lsn: $(CLOG_TEST_HDRS)

# bench-commit-peer: the log against RocksDB's synchronous writes on the
# same disk (librocksdb-dev, through its C API rocksdb/c.h), idle and with
# a CPU hog on every CPU; run by run-commit-peer.sh.
BENCH_HELPERS += bench-commit-peer
BENCH_RUNS += $(L)/commit/bench/run-commit-peer.sh
$(BB)/bench-commit-peer: $(L)/commit/bench/bench-commit-peer.c $(BENCH_H) \
		$(LIB_HDRS) $(SO) $(SOLINKS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BENCH_CFLAGS) -o $@ $< -L$(B) -lsyncfix-user \
		$(RPATH) $(LDLIBS) -lrocksdb
$(BB)/bench-commit $(BB)/bench-commit-peer $(BB)/bench-commit-seg: \
	$(L)/commit/bench/bench-commit.h

# Power loss, in the VM with Debian's kernel (the test loads loop,
# dm-log-writes and ext4 itself); scripts/check-powerloss.sh builds
# ("make vm-powerloss") and runs commit-powerloss: ext4 on dm-log-writes,
# replayed flush by flush, then itself again with a flush that does
# nothing (SF_TEST_BROKEN=no-flush), which must fail.
vm-powerloss:
	$(MAKE) -f $(L)/Makefile SAN= $(VM_ARCHIVE) $(VM_HOOKS)
	$(MAKE) -f $(L)/Makefile SAN= $(VM)/commit-powerloss

BENCH_PROGS += bench-commit bench-commit-mem bench-commit-recover \
	       bench-commit-seg
BENCH_RUNS += $(L)/commit/bench/run-commit.sh \
	      $(L)/commit/bench/run-commit-seg.sh \
	      $(L)/commit/bench/run-commit-mem.sh \
	      $(L)/commit/bench/run-commit-recover.sh

# commit-async: asynchronous commit (it runs itself with
# async-visible-early); commit-prepare: prepare, in doubt across reopens,
# resolution (it runs itself with prepare-undurable).
TESTS += commit-async commit-prepare
HOOK_TESTS += commit-async commit-prepare
$(T)/commit-async $(T)/commit-prepare: $(CLOG_TEST_HDRS)

# bench-commit-async: sf_txn_commit_async against sf_txn_commit, 1 and 4
# committers, in the same run (target: >= 10x at 1).
BENCH_PROGS += bench-commit-async
BENCH_RUNS += $(L)/commit/bench/run-commit-async.sh
$(BB)/bench-commit-async: $(L)/commit/bench/bench-commit.h
# commit-segment: a directory of segments, checkpoints, replay from an
# LSN; it runs itself with switch-unflushed and recycle-early.
TESTS += commit-segment
HOOK_TESTS += commit-segment
$(T)/commit-segment: $(CLOG_TEST_HDRS)
