// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * patch.c - the code that runs while text pages are writable.
 *
 * While a text page is mapped read-write it is not executable, so nothing
 * may execute on it: not the patcher, not a libc function it calls (in a
 * static executable libc's text holds slots too).  Hence:
 *
 *  - sf_patch_window() is alone on its own page(s): it lives in section
 *    "sf_lfence_text", aligned to 4096, and the top-level asm below pads
 *    that section to a page boundary (in a later subsection, so the
 *    padding follows the function);
 *  - it makes system calls with inline "syscall", calls nothing, and is
 *    never instrumented;
 *  - lfence.c checks before calling it that no page to be patched overlaps
 *    [__start_sf_lfence_text, __stop_sf_lfence_text).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "patch.h"

#ifdef __x86_64__

static inline __attribute__((always_inline)) long
raw_syscall3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a), "S"(b), "d"(c)
			     : "rcx", "r11", "memory");
	return ret;
}

static const char restore_failed_msg[] =
	"libsyncfix-user: cannot restore the protection of patched text\n";

__attribute__((section("sf_lfence_text"), aligned(4096), noinline, used,
	       no_sanitize_address, no_sanitize("undefined")))
int sf_patch_window(const struct sf_patch_range *ranges, unsigned int nr,
		    const uintptr_t *slots, const unsigned char bytes[3])
{
	unsigned int i, j;
	long r;

	for (i = 0; i < nr; i++) {
		const struct sf_patch_range *rg = &ranges[i];

		r = raw_syscall3(SYS_mprotect, (long)rg->start, (long)rg->len,
				 PROT_READ | PROT_WRITE);
		if (r < 0)
			return (int)-r;
		for (j = rg->first; j < rg->first + rg->count; j++) {
			volatile unsigned char *p =
				(volatile unsigned char *)slots[j];

			p[0] = bytes[0];
			p[1] = bytes[1];
			p[2] = bytes[2];
		}
		r = raw_syscall3(SYS_mprotect, (long)rg->start, (long)rg->len,
				 rg->prot);
		if (r < 0) {
			/* Returning would execute a non-executable page. */
			raw_syscall3(SYS_write, 2, (long)restore_failed_msg,
				     sizeof(restore_failed_msg) - 1);
			raw_syscall3(SYS_exit_group, 127, 0, 0);
		}
	}
	return 0;
}

/*
 * Pad the section so that nothing else shares the window's last page.
 * Subsection 1 is assembled after subsection 0 (the function) whatever
 * order the compiler emits top-level asm in.
 */
__asm__(".pushsection sf_lfence_text, \"ax\", @progbits\n\t"
	".subsection 1\n\t"
	".balign 4096\n\t"
	".popsection");

#endif /* __x86_64__ */
