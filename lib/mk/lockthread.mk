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
LT_DEPS := $(L)/tests/test.h $(wildcard $(L)/src/*.h) \
	   $(wildcard $(L)/include/*.h $(L)/include/syncfix/*.h)
LT_HOOKS_A := $(B)/test-libs/libsyncfix-hooks.a

define lt_broken
$(B)/lt-$(1)/lockthread.o: $(L)/src/lockthread.c $(LT_DEPS)
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) -DSF_TEST_HOOKS -D$(2) $$(LIB_CFLAGS) -c $$< -o $$@
$(B)/tests/lockthread-$(1): $(L)/tests/lockthread-killpoints.c $(LT_DEPS) \
		$(B)/lt-$(1)/lockthread.o $(LT_HOOKS_A)
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) -DSF_TEST_HOOKS $$(TEST_CFLAGS) -o $$@ $$< \
		$(B)/lt-$(1)/lockthread.o $(LT_HOOKS_A) $$(LDLIBS)
endef
$(eval $(call lt_broken,broken-exit,SF_TEST_BROKEN_ERROR_EXIT))
$(eval $(call lt_broken,broken-mutexes,SF_TEST_BROKEN_TWO_MUTEXES))
$(eval $(call lt_broken,broken-hook,SF_TEST_BROKEN_HOOK_REMOVAL))

$(B)/tests/lockthread-broken: $(B)/tests/lockthread-broken-exit \
	$(B)/tests/lockthread-broken-mutexes $(B)/tests/lockthread-broken-hook
