# SPDX-License-Identifier: LGPL-2.1-or-later
#
# lockthread: a helper thread that takes locks for its owner and can be
# stopped at any moment (Documentation/lockthread.rst).

LIB_SRCS += lockthread.c
TESTS += lockthread lockthread-killpoints lockthread-broken lockthread-lockmgr
HOOK_TESTS += lockthread-killpoints
VM_TESTS += lockthread-lockmgr
TEST_HELPERS += lockthread-broken-exit lockthread-broken-mutexes \
		lockthread-broken-hook

# The deliberately broken protocols: lockthread.c alone built with one
# SF_TEST_BROKEN_* switch, linked before the test-hook archive (whose own
# lockthread.o is then never pulled in), under lockthread-killpoints.c.
# lockthread-broken runs them and expects each to hang or fail.

define lt_broken
$(B)/lt-$(1)/lockthread.o: $(L)/lockthread/lockthread.c $(TEST_HDRS)
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) -I$$(<D) -DSF_TEST_HOOKS -D$(2) $$(LIB_CFLAGS) -c $$< -o $$@
$(T)/lockthread-$(1): $(L)/lockthread/tests/lockthread-killpoints.c $(TEST_HDRS) \
		$(B)/lt-$(1)/lockthread.o $(A_hooks)
	@mkdir -p $$(@D)
	$$(CC) $$(TEST_CPPFLAGS) -DSF_TEST_HOOKS $$(TEST_CFLAGS) -o $$@ $$< \
		$(B)/lt-$(1)/lockthread.o $(A_hooks) $$(LDLIBS)
endef
$(eval $(call lt_broken,broken-exit,SF_TEST_BROKEN_ERROR_EXIT))
$(eval $(call lt_broken,broken-mutexes,SF_TEST_BROKEN_TWO_MUTEXES))
$(eval $(call lt_broken,broken-hook,SF_TEST_BROKEN_HOOK_REMOVAL))

$(T)/lockthread-broken: $(T)/lockthread-broken-exit \
	$(T)/lockthread-broken-mutexes $(T)/lockthread-broken-hook
