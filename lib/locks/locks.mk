# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The locks: the futex mutex (mutex.c), the reader-writer lock in three
# kinds (rwlock.c), the condition variable (cond.c) and the LD_PRELOAD
# drop-in for pthread_rwlock_*
# (preload.c, built into libsyncfix-preload.so, not into the library).
#
#   mutex, mutex-validate, rwlock, rwlock-validate   semantics, and many
#                        threads against a model
#   rwlock-glibc23861    glibc bug 23861's interleaving forced with a sync
#                        point (hooks)
#   stale-wait-demo      runs rwlock-glibc23861 with the protocol that
#                        waits on a stale word put back
#                        (SF_TEST_BROKEN=stale-wait), and expects it to fail
#   destroy-after-unlock destroy right after the last unlock (hooks)
#   rwlock-wrunlock      a writer that sleeps between a write unlock's load
#                        and its release is woken (hooks), and the same with
#                        SF_TEST_BROKEN=wrunlock-loaded, which must fail
#   mutex-notify         the plain-store unlock: a waiter that sleeps
#                        between its load and its store is woken, several
#                        sleepers, a timed-out waiter retracts (hooks), each
#                        against its broken protocol, which must fail; the
#                        same with SYNCFIX_MEMBARRIER=off
#   cond                 the condition variable: semantics, the lost-wakeup
#                        interleaving at a sync point (hooks), and the same
#                        with SF_TEST_BROKEN=cond-stale-seq, which must fail
#   preload              preload-target, an unmodified pthread program,
#                        under the preload
#   preload-diff         the same sequences of pthread_rwlock_* calls with
#                        glibc and under the preload: identical results
#   tsan-reports         ThreadSanitizer sees the locks (tsan variant)

LIB_SRCS += mutex.c rwlock.c cond.c
# Every function of the locks starts a cache line: the lock and unlock fast
# paths are a few instructions around two locked ones, and where they fall
# across 64-byte boundaries moved their cost by up to 1.2 ns (20%) from one
# build to another.
FILE_CFLAGS_mutex.c := -falign-functions=64
FILE_CFLAGS_rwlock.c := -falign-functions=64
FILE_CFLAGS_cond.c := -falign-functions=64
TESTS += mutex mutex-validate rwlock rwlock-validate rwlock-glibc23861 \
	 stale-wait-demo destroy-after-unlock rwlock-wrunlock mutex-notify cond \
	 preload preload-diff tsan-reports
VM_TESTS += mutex mutex-validate rwlock rwlock-validate rwlock-glibc23861 \
	    stale-wait-demo destroy-after-unlock rwlock-wrunlock mutex-notify cond
HOOK_TESTS += rwlock-glibc23861 destroy-after-unlock rwlock-wrunlock \
	      mutex-notify cond
TEST_HELPERS += preload-target preload-diff-target
BENCH_PROGS += bench-locks
BENCH_HELPERS += bench-locks-noslots bench-locks-static
BENCH_RUNS += $(L)/locks/bench/run-locks.sh

LOCKS_T := $(L)/locks/tests

# An unmodified pthread program (no syncfix header, no syncfix library).
$(T)/preload-target: $(LOCKS_T)/preload-target.c $(L)/base/tests/test.h
	@mkdir -p $(@D)
	$(CC) -I$(L)/base/tests $(TEST_CFLAGS) -o $@ $< -lpthread

# The differential test's program: unmodified and not instrumented in any
# variant, so that its run without the preload is glibc's alone (a
# sanitizer runtime in the program would intercept pthread_rwlock_* and
# report the undefined cases the script makes).
$(T)/preload-diff-target: $(LOCKS_T)/preload-diff-target.c $(L)/base/tests/test.h
	@mkdir -p $(@D)
	$(CC) -I$(L)/base/tests $(BASE) -o $@ $< -lpthread

$(T)/stale-wait-demo: $(T)/rwlock-glibc23861
$(VM)/stale-wait-demo: $(VM)/rwlock-glibc23861
$(T)/preload: $(T)/preload-target $(PRELOAD)
$(T)/preload-diff: $(T)/preload-diff-target $(PRELOAD)

# absl::Mutex and absl::CondVar, bench-locks' second peer beside glibc:
# C++ wrappers (bench/bench-absl.cc) compiled with g++ against Debian's
# libabsl-dev (scripts/install-deps.sh), for the benchmarks only.  The
# pkg-config calls are made only when a benchmark is built.
LOCKS_BB := $(L)/locks/bench
ABSL_CFLAGS = $(shell pkg-config --cflags absl_synchronization)
ABSL_LIBS = $(shell pkg-config --libs absl_synchronization) -lstdc++
BENCH_ABSL := $(BB)/bench-absl.o
BENCH_OBJS_bench-locks := $(BENCH_ABSL)
BENCH_LIBS_bench-locks = $(ABSL_LIBS)
$(BENCH_ABSL): $(LOCKS_BB)/bench-absl.cc $(LOCKS_BB)/bench-absl.h
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(WARN) -O2 -g $(SANFLAGS) $(ABSL_CFLAGS) -I$(LOCKS_BB) -c $< -o $@

# The lock benchmark without lfence slots, and statically linked.
BENCH_LOCKS_DEPS := $(LOCKS_BB)/bench-locks.c $(LOCKS_BB)/bench-absl.h $(BENCH_H) \
		    $(LIB_HDRS) $(BENCH_ABSL)
$(BB)/bench-locks-noslots: $(BENCH_LOCKS_DEPS) $(A_noslots)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(LOCKS_BB) $(BENCH_CFLAGS) -o $@ $< $(BENCH_ABSL) $(A_noslots) \
		$(ABSL_LIBS) $(LDLIBS)
$(BB)/bench-locks-static: $(BENCH_LOCKS_DEPS) $(ARCHIVE)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(LOCKS_BB) $(BENCH_CFLAGS) -o $@ $< $(BENCH_ABSL) $(ARCHIVE) \
		$(ABSL_LIBS) $(LDLIBS)
$(BB)/bench-locks: $(LOCKS_BB)/bench-absl.h
