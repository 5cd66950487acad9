# SPDX-License-Identifier: LGPL-2.1-or-later
# Commit sequencer (lib/src/commitlog.c, clog-io.c, clog-recover.c).
LIB_SRCS += commitlog.c clog-io.c clog-recover.c
LDLIBS += -luring
TESTS += commit-basic
$(B)/tests/commit-basic: $(L)/tests/commit-test.h
