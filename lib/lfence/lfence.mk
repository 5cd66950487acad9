# SPDX-License-Identifier: LGPL-2.1-or-later
#
# lfence slots: every locked instruction of the library is followed by a
# NOP slot (atomic.h), patched to lfence at load on CPUs with AMD erratum
# 147 (lfence.c decides, patch.c writes the code pages).
#
#   lfence         the decision and the patching, in a shared library
#   lfence-static  the same in a static executable

LIB_SRCS += lfence.c patch.c
TESTS += lfence lfence-static
VM_TESTS += lfence

# The static-executable case: archive, and -static where the variant allows.
STATIC_plain := -static
$(T)/lfence-static: $(L)/lfence/tests/lfence-static.c $(L)/lfence/tests/lfence.c $(TEST_HDRS) $(ARCHIVE)
	@mkdir -p $(@D)
	$(CC) $(TEST_CPPFLAGS) $(TEST_CFLAGS) $(STATIC_$(variant)) -o $@ $< $(ARCHIVE) $(LDLIBS)
