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
#   cond                 the condition variable: semantics, the lost-wakeup
#                        interleaving at a sync point (hooks), and the same
#                        with SF_TEST_BROKEN=cond-stale-seq, which must fail
#   preload              preload-target, an unmodified pthread program,
#                        under the preload
#   preload-diff         the same sequences of pthread_rwlock_* calls with
#                        glibc and under the preload: identical results
#   tsan-reports         ThreadSanitizer sees the locks (tsan variant)

LIB_SRCS += mutex.c rwlock.c cond.c
TESTS += mutex mutex-validate rwlock rwlock-validate rwlock-glibc23861 \
	 stale-wait-demo destroy-after-unlock cond preload preload-diff \
	 tsan-reports
VM_TESTS += mutex mutex-validate rwlock rwlock-validate rwlock-glibc23861 \
	    stale-wait-demo destroy-after-unlock cond
HOOK_TESTS += rwlock-glibc23861 destroy-after-unlock cond
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

# The lock benchmark without lfence slots, and statically linked.
$(BB)/bench-locks-noslots: $(L)/locks/bench/bench-locks.c $(BENCH_H) $(LIB_HDRS) $(A_noslots)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BENCH_CFLAGS) -o $@ $< $(A_noslots) $(LDLIBS)
$(BB)/bench-locks-static: $(L)/locks/bench/bench-locks.c $(BENCH_H) $(LIB_HDRS) $(ARCHIVE)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BENCH_CFLAGS) -o $@ $< $(ARCHIVE) $(LDLIBS)
