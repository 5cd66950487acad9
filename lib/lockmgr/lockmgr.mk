# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Transactional range-lock manager (lockmgr.c, lockmgr-ranges.c).
#
#   lockmgr          semantics: conflict matrix, upgrade, timeouts, kill,
#                    deadlocks, escalation, release
#   lockmgr-races    the seed's two races forced with sync points (hooks),
#                    and a kill landing just before a request waits
#   lockmgr-broken   runs lockmgr-races against builds with each fix
#                    removed and expects it to hang until the lock timeout
#   lockmgr-stress   random ranges from many threads against a model

LIB_SRCS += lockmgr.c lockmgr-ranges.c
TESTS += lockmgr lockmgr-races lockmgr-broken lockmgr-stress
VM_TESTS += lockmgr lockmgr-races
HOOK_TESTS += lockmgr-races
TEST_HELPERS += lockmgr-races-broken-rbw lockmgr-races-broken-rwr \
		lockmgr-races-broken-kbw
BENCH_PROGS += bench-lockmgr
BENCH_RUNS += $(L)/lockmgr/bench/run-lockmgr.sh

# Deliberately broken builds of the lock manager (tests only), linked
# before the test-hook archive so that its own lockmgr objects are unused.
LM_SRCS := $(L)/lockmgr/lockmgr.c $(L)/lockmgr/lockmgr-ranges.c
LM_DEPS := $(LM_SRCS) $(TEST_HDRS)
DEFS_lm_rbw := -DSF_TEST_HOOKS -DSF_TEST_BROKEN_RELEASE_BEFORE_WAIT
DEFS_lm_rwr := -DSF_TEST_HOOKS -DSF_TEST_BROKEN_RETRY_WHILE_RETRY
DEFS_lm_kbw := -DSF_TEST_HOOKS -DSF_TEST_BROKEN_KILL_BEFORE_WAIT

define lm_broken
$(T)/lockmgr-races-broken-$(1): $(L)/lockmgr/tests/lockmgr-races.c $(LM_DEPS) $(A_hooks)
	@mkdir -p $$(@D)
	$$(CC) $$(TEST_CPPFLAGS) $(DEFS_lm_$(1)) $$(TEST_CFLAGS) -o $$@ \
		$(L)/lockmgr/tests/lockmgr-races.c $(LM_SRCS) $(A_hooks) $$(LDLIBS)
endef
$(eval $(call lm_broken,rbw))
$(eval $(call lm_broken,rwr))
$(eval $(call lm_broken,kbw))

$(T)/lockmgr-broken: $(T)/lockmgr-races-broken-rbw \
			   $(T)/lockmgr-races-broken-rwr \
			   $(T)/lockmgr-races-broken-kbw

# The benchmark against the same two broken builds, to show what the seed's
# races cost (run-lockmgr.sh runs them after the real one).
define lm_broken_bench
$(BB)/bench-lockmgr-broken-$(1): $(L)/lockmgr/bench/bench-lockmgr.c $(BENCH_H) $(LM_DEPS) $(A_hooks)
	@mkdir -p $$(@D)
	$$(CC) $$(TEST_CPPFLAGS) $(DEFS_lm_$(1)) $$(BENCH_CFLAGS) -o $$@ \
		$(L)/lockmgr/bench/bench-lockmgr.c $(LM_SRCS) $(A_hooks) $$(LDLIBS)
endef
$(eval $(call lm_broken_bench,rbw))
$(eval $(call lm_broken_bench,rwr))

bench: $(BB)/bench-lockmgr-broken-rbw $(BB)/bench-lockmgr-broken-rwr
