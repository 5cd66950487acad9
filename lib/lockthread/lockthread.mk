# SPDX-License-Identifier: LGPL-2.1-or-later
#
# lockthread: a helper thread that takes locks for its owner and can be
# stopped at any moment (Documentation/lockthread.rst).

LIB_SRCS += lockthread.c
TESTS += lockthread lockthread-killpoints lockthread-broken lockthread-lockmgr
HOOK_TESTS += lockthread-killpoints
VM_TESTS += lockthread-lockmgr

# lockthread-broken runs lockthread-killpoints with each broken protocol
# (SF_TEST_BROKEN=error-exit, two-mutexes, hook-removal) and expects each
# to hang or fail.
$(T)/lockthread-broken: $(T)/lockthread-killpoints
