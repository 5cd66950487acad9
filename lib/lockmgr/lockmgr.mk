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

LIB_SRCS += lockmgr.c lockmgr-ranges.c
TESTS += lockmgr lockmgr-races lockmgr-broken lockmgr-stress lockmgr-listing
VM_TESTS += lockmgr lockmgr-races
HOOK_TESTS += lockmgr-races lockmgr-listing
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

