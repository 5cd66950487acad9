# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Commit sequencer: lib/commit/commit.c (transactions, group commit,
# visibility, appliers), commit-io.c (io_uring / pwritev durable writes,
# CRC32C), commit-recover.c (recovery on open).  Needs liburing.
CLOG_SRCS := commit.c commit-io.c commit-recover.c
LIB_SRCS += $(CLOG_SRCS)
LDLIBS += -luring

TESTS += commit-basic commit-order commit-gather commit-broken-demo \
	 commit-fault commit-recovery commit-crash
HOOK_TESTS += commit-order commit-gather commit-fault
TEST_HELPERS += commit-order-broken commit-order-broken-apply \
	commit-gather-nogather commit-gather-all \
	commit-crash-child commit-crash-child-broken

CLOG_TEST_HDRS := $(L)/commit/tests/commit-test.h $(L)/commit/tests/commit-crash.h $(L)/commit/commit-int.h
$(addprefix $(T)/,commit-basic commit-order commit-order-broken \
	commit-gather commit-fault commit-recovery commit-crash \
	commit-crash-child): \
	$(CLOG_TEST_HDRS)

# The deliberately broken builds: the commit sequencer's sources built with
# the hooks and one SF_TEST_BROKEN_* switch, each in its own archive, linked
# into the test $(4) as $(4)-$(3) before the test-hook archive (whose own
# commit sequencer objects are then never pulled in):
#   clog-broken         Falcon's order: visible before durable
#                       (SF_TEST_BROKEN_VISIBLE_BEFORE_DURABLE)
#   clog-broken-apply   Falcon's first patch: the appliers get a commit as
#                       soon as it is durable (SF_TEST_BROKEN_APPLY_EARLY)
#   clog-nogather       no gathering before a flush (SF_TEST_BROKEN_NO_GATHER)
#   clog-gather-all     gathering waits for every open transaction, however
#                       old (SF_TEST_BROKEN_GATHER_ALL)
define clog_broken
$(B)/$(1)/%.o: $(L)/commit/%.c $(LIB_HDRS)
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) -I$$(<D) -DSF_TEST_HOOKS -D$(2) $$(LIB_CFLAGS) -c $$< -o $$@
$(B)/test-libs/lib$(1).a: $(patsubst %.c,$(B)/$(1)/%.o,$(CLOG_SRCS))
	@mkdir -p $$(@D) && rm -f $$@ && $$(AR) rcs $$@ $$^
$(T)/$(4)-$(3): $(L)/commit/tests/$(4).c $(TEST_HDRS) \
		$(CLOG_TEST_HDRS) $(B)/test-libs/lib$(1).a $(A_hooks)
	@mkdir -p $$(@D)
	$$(CC) $$(TEST_CPPFLAGS) -DSF_TEST_HOOKS $$(TEST_CFLAGS) -o $$@ $$< \
		$(B)/test-libs/lib$(1).a $(A_hooks) $$(LDLIBS)
endef
$(eval $(call clog_broken,clog-broken,SF_TEST_BROKEN_VISIBLE_BEFORE_DURABLE,broken,commit-order))
$(eval $(call clog_broken,clog-broken-apply,SF_TEST_BROKEN_APPLY_EARLY,broken-apply,commit-order))
$(eval $(call clog_broken,clog-nogather,SF_TEST_BROKEN_NO_GATHER,nogather,commit-gather))
$(eval $(call clog_broken,clog-gather-all,SF_TEST_BROKEN_GATHER_ALL,all,commit-gather))
CLOG_BROKEN_A := $(B)/test-libs/libclog-broken.a
$(T)/commit-crash-child-broken: $(L)/commit/tests/commit-crash-child.c \
		$(TEST_HDRS) $(CLOG_TEST_HDRS) $(CLOG_BROKEN_A) $(A_hooks)
	@mkdir -p $(@D)
	$(CC) $(TEST_CPPFLAGS) $(TEST_CFLAGS) -o $@ $< $(CLOG_BROKEN_A) $(A_hooks) \
		$(LDLIBS)
$(T)/commit-broken-demo: $(T)/commit-order-broken \
	$(T)/commit-order-broken-apply \
	$(T)/commit-gather-nogather $(T)/commit-gather-all \
	$(T)/commit-crash-child-broken $(T)/commit-crash
$(T)/commit-crash: $(T)/commit-crash-child

# Power loss, in the VM with Debian's kernel (the test loads loop,
# dm-log-writes and ext4 itself); scripts/check-powerloss.sh builds
# ("make vm-powerloss") and runs:
#   commit-powerloss          ext4 on dm-log-writes, replayed flush by flush
#   commit-powerloss-broken   the same with a flush that does nothing
#                             (SF_TEST_BROKEN_NO_FLUSH): must fail
$(eval $(call clog_broken,clog-noflush,SF_TEST_BROKEN_NO_FLUSH,broken,commit-powerloss))
CLOG_NOFLUSH_A := $(PLAIN)/test-libs/libclog-noflush.a
$(VM)/commit-powerloss-broken: $(L)/commit/tests/commit-powerloss.c $(TEST_HDRS) \
		$(CLOG_NOFLUSH_A) $(VM_HOOKS)
	@mkdir -p $(@D)
	$(CC) $(TEST_CPPFLAGS) -DSF_TEST_HOOKS $(VM_CFLAGS) -static -o $@ $< \
		$(CLOG_NOFLUSH_A) $(VM_HOOKS) $(LDLIBS)
vm-powerloss:
	$(MAKE) -f $(L)/Makefile SAN= $(VM_ARCHIVE) $(VM_HOOKS) $(CLOG_NOFLUSH_A)
	$(MAKE) -f $(L)/Makefile SAN= $(VM)/commit-powerloss \
		$(VM)/commit-powerloss-broken

BENCH_PROGS += bench-commit
BENCH_RUNS += $(L)/commit/bench/run-commit.sh
