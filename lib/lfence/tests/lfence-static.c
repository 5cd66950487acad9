// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: lfence slots in a statically linked executable: the executable's own slot table is found, patched or not, and protections restored */
#define LFENCE_LINKAGE "static executable"
#include "lfence.c"
