/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * syncfix/lfence.h - the AMD erratum 147 workaround.
 *
 * Each locked instruction in the library is followed by a 3-byte slot.
 * When the library is loaded it decides whether this machine needs the
 * workaround and, if so, writes an lfence into every slot (otherwise the
 * slots stay NOPs).  The decision, in order of precedence:
 *
 *  1. SYNCFIX_LFENCE=on|off in the environment (ignored in set-uid and
 *     set-gid programs); "auto" or unset: go on;
 *  2. /sys/kernel/syncfix/errata, written by syncfix.ko: "Mitigation: ..."
 *     patches; "Vulnerable: ..." (mitigation off) and "Not affected..." do
 *     not;
 *  3. CPUID: AuthenticAMD, base family 0xF (extended family 0), model
 *     (with extended model) below 0x40, and more than one CPU online.
 *
 * Functions return 0 or a positive errno value; errno is not changed.
 */
#ifndef SYNCFIX_LFENCE_H
#define SYNCFIX_LFENCE_H

#ifdef __cplusplus
extern "C" {
#endif

enum sf_lfence_source {
	SF_LFENCE_SOURCE_NONE = 0,	/* not decided (no slots in this build) */
	SF_LFENCE_SOURCE_ENVIRONMENT = 1,	/* SYNCFIX_LFENCE=on|off */
	SF_LFENCE_SOURCE_MODULE = 2,	/* /sys/kernel/syncfix/errata */
	SF_LFENCE_SOURCE_CPUID = 3,	/* the library's own CPU check */
};

struct sf_lfence_status {
	unsigned int slots_found;	/* slots in this object */
	unsigned int slots_patched;	/* slots that hold an lfence now */
	int wanted;		/* 1: the decision was to patch */
	int patched;		/* 1: wanted, and every slot holds an lfence */
	int source;		/* enum sf_lfence_source */
	int cpu_affected;	/* CPUID rule says affected: 1, no: 0 */
	int error;		/* 0, or errno of a failed patch (slots left NOPs) */
	int reserved0;
	const char *reason;	/* one line, for people; static storage */
	unsigned long reserved[4];
};

/* Fill @st.  EINVAL if @st is NULL. */
int sf_lfence_status(struct sf_lfence_status *st);

/* "environment", "module", "cpuid" or "none". */
const char *sf_lfence_source_name(int source);

/*
 * The slot table of the object the library was linked into (the shared
 * library, or a static executable): @count addresses of 3-byte slots.
 * For verification tools and tests; the slots must not be written.
 */
const void *const *sf_lfence_slots(unsigned int *count);

#ifdef __cplusplus
}
#endif

#endif /* SYNCFIX_LFENCE_H */
