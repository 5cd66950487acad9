/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * patch.h - interface between lfence.c and the page-isolated patcher.
 */
#ifndef SF_SRC_PATCH_H
#define SF_SRC_PATCH_H

#include <stdint.h>

/* A run of whole pages holding slots[first .. first+count-1]. */
struct sf_patch_range {
	uintptr_t start;	/* page aligned */
	uintptr_t len;		/* multiple of the page size */
	int prot;		/* protection to restore (from /proc/self/maps) */
	unsigned int first;
	unsigned int count;
};

/**
 * sf_patch_window() - write @bytes into every slot of every range.
 *
 * For each range in turn: mprotect it PROT_READ|PROT_WRITE, write the
 * slots, restore range->prot.  No page is ever writable and executable.
 * If restoring fails the process exits (status 127): continuing would
 * execute a page that is no longer executable.
 *
 * Return: 0, or the errno of the first mprotect that failed; the ranges
 * before it have been written, the others are untouched.
 */
int sf_patch_window(const struct sf_patch_range *ranges, unsigned int nr,
		    const uintptr_t *slots, const unsigned char bytes[3]);

#endif /* SF_SRC_PATCH_H */
