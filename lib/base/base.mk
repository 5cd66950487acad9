# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The base layer: atomics and the locked-instruction slots (atomic.h),
# internal declarations and the test hooks (internal.h, testhooks.h),
# waiting on a word through futex or /dev/syncfix (wait.c, wait.h),
# threads and clocks (thread.c).  Every room builds on it; it builds on
# nothing but the public headers.  tests/test.h and tests/run-tests.sh
# serve every room's tests, lib/base/bench/bench.h every room's benchmarks.

LIB_SRCS += thread.c wait.c

# The wait backends' benchmark, run inside the VM by "make bench-vm":
# futex against the /dev/syncfix ioctl.
$(VM)/bench-wait: $(L)/base/bench/bench-wait.c $(BENCH_H) $(LIB_HDRS) $(VM_ARCHIVE)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(L)/base/bench $(VM_CFLAGS) -static -o $@ $< $(VM_ARCHIVE) $(LDLIBS)
