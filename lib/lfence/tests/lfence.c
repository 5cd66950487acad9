// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: lfence slots: decision (module, CPUID, SYNCFIX_LFENCE), slot bytes read back, text protection restored, locks work patched */
#include "test.h"

#include <cpuid.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <syncfix.h>

#ifndef LFENCE_LINKAGE
#define LFENCE_LINKAGE "this build"
#endif

static const unsigned char nop3[3] = { 0x0f, 0x1f, 0x00 };
static const unsigned char lfence3[3] = { 0x0f, 0xae, 0xe8 };

/* The CPU rule, written independently of the library. */
static int cpu_rule(void)
{
	unsigned int a, b, c, d, fam, model;
	char v[13];

	if (!__get_cpuid(0, &a, &b, &c, &d))
		return 0;
	memcpy(v, &b, 4);
	memcpy(v + 4, &d, 4);
	memcpy(v + 8, &c, 4);
	v[12] = 0;
	__get_cpuid(1, &a, &b, &c, &d);
	fam = (a >> 8) & 0xf;
	model = ((a >> 4) & 0xf) | (((a >> 16) & 0xf) << 4);
	return !strcmp(v, "AuthenticAMD") && fam == 0xf && ((a >> 20) & 0xff) == 0 &&
	       model < 0x40 && sysconf(_SC_NPROCESSORS_ONLN) > 1;
}

/*
 * What the library should have decided: 1/0, and the source.  The kernel
 * module's file wins over CPUID when it is there.
 */
static int expectation(int *source)
{
	const char *env = getenv("SYNCFIX_LFENCE");
	char line[256] = "";
	FILE *f;

	if (env && !strcmp(env, "on")) {
		*source = SF_LFENCE_SOURCE_ENVIRONMENT;
		return 1;
	}
	if (env && !strcmp(env, "off")) {
		*source = SF_LFENCE_SOURCE_ENVIRONMENT;
		return 0;
	}
	f = fopen("/sys/kernel/syncfix/errata", "r");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
		*source = SF_LFENCE_SOURCE_MODULE;
		if (!strncmp(line, "Mitigation:", 11))
			return 1;
		if (!strncmp(line, "Vulnerable", 10) || !strncmp(line, "Not affected", 12))
			return 0;
	}
	*source = SF_LFENCE_SOURCE_CPUID;
	return cpu_rule();
}

/*
 * Permissions ("r-xp") and, if @path, the file of the mapping holding
 * @addr, from /proc/self/maps.
 */
static int map_of(uintptr_t addr, char perms[5], char *path, size_t plen)
{
	char line[4352];
	unsigned long s, e;
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0, off = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &s, &e, perms, &off) >= 3 &&
		    s <= addr && addr < e) {
			found = 1;
			if (path) {
				line[strcspn(line, "\n")] = 0;
				snprintf(path, plen, "%s", off ? line + off : "?");
			}
		}
	fclose(f);
	return found;
}

static int perms_of(uintptr_t addr, char perms[5])
{
	return map_of(addr, perms, NULL, 0);
}

static int writable_and_executable_mappings(void)
{
	char line[512], perms[5];
	unsigned long s, e;
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 &&
		    perms[1] == 'w' && perms[2] == 'x') {
			diag("W+X mapping: %s", line);
			n++;
		}
	fclose(f);
	return n;
}

/* Take locks on two threads for a while: the patched code must run. */
static sf_mutex_t xm = SF_MUTEX_INITIALIZER;
static sf_rwlock_t xr = SF_RWLOCK_PREFER_WRITER_NONRECURSIVE_INITIALIZER;
static long xcount, ycount;

static void *exercise(void *p)
{
	long i, n = (long)(intptr_t)p;

	for (i = 0; i < n; i++) {
		sf_mutex_lock(&xm);
		xcount++;
		sf_mutex_unlock(&xm);
		if (i % 4) {
			sf_rwlock_rdlock(&xr);
			sf_rwlock_unlock(&xr);
		} else {
			sf_rwlock_wrlock(&xr);
			ycount++;
			sf_rwlock_unlock(&xr);
		}
	}
	return NULL;
}

static void check_state(void)
{
	struct sf_lfence_status st;
	const void *const *slots;
	unsigned int n, i, nops = 0, fences = 0, other = 0, bad_perm = 0;
	int src, want = expectation(&src);
	const char *e = getenv("SYNCFIX_EXPECT_LFENCE");
	char perms[5];
	pthread_t t[2];
	long iters = scaled(200000);

	ok_err(sf_lfence_status(&st), 0, "sf_lfence_status");
	ok_err(sf_lfence_status(NULL), EINVAL, "sf_lfence_status(NULL): EINVAL");
	{
		char p[5], path[4096] = "?", exe[4096] = "";
		ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		if (k > 0)
			exe[k] = 0;
		map_of((uintptr_t)(void *)sf_mutex_lock, p, path, sizeof(path));
		diag("library code in %s (%s)", path,
		     strcmp(path, exe) ? "shared object" : "the executable itself");
	}
	diag("%s: %u slots, %u patched, wanted %d, patched %d, source %s, error %d",
	     LFENCE_LINKAGE, st.slots_found, st.slots_patched, st.wanted,
	     st.patched, sf_lfence_source_name(st.source), st.error);
	diag("reason: %s", st.reason ? st.reason : "(null)");
	slots = sf_lfence_slots(&n);
	ok(n == st.slots_found, "sf_lfence_slots agrees with the status (%u)", n);
#if defined(__x86_64__) && !defined(TEST_TSAN)
	ok(n >= 10, "%s has lfence slots (%u)", LFENCE_LINKAGE, n);
#else
	ok(n == 0, "this build has no lfence slots (TSAN or not x86-64)");
#endif
	ok(st.wanted == want, "decision %d, expected %d", st.wanted, want);
	ok(st.source == src, "source %s, expected %s",
	   sf_lfence_source_name(st.source), sf_lfence_source_name(src));
	if (e && (*e == '0' || *e == '1'))
		ok(st.wanted == (*e == '1'), "SYNCFIX_EXPECT_LFENCE=%s", e);
	ok(st.error == 0, "no patching error (%d)", st.error);

	for (i = 0; i < n; i++) {
		const unsigned char *p = slots[i];

		if (!memcmp(p, nop3, 3))
			nops++;
		else if (!memcmp(p, lfence3, 3))
			fences++;
		else
			other++;
		if (!perms_of((uintptr_t)p, perms) || strcmp(perms, "r-xp"))
			bad_perm++;
	}
	if (st.wanted)
		ok(fences == n && st.slots_patched == n && st.patched == 1,
		   "patched: all %u slots read back as lfence (nop %u, other %u)",
		   n, nops, other);
	else
		ok(nops == n && st.slots_patched == 0 && st.patched == 0,
		   "not patched: all %u slots read back as NOP (lfence %u, other %u)",
		   n, fences, other);
	ok(bad_perm == 0, "every slot's page is r-xp afterwards (%u not)", bad_perm);
	ok(writable_and_executable_mappings() == 0, "no mapping is writable and executable");

	pthread_create(&t[0], NULL, exercise, (void *)(intptr_t)iters);
	pthread_create(&t[1], NULL, exercise, (void *)(intptr_t)iters);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	ok(xcount == 2 * iters && ycount == 2 * ((iters + 3) / 4),
	   "mutex and rwlock work on two threads with this code (%ld, %ld)",
	   xcount, ycount);
}

/*
 * Make mprotect(..., PROT_READ|PROT_WRITE) fail with EACCES from now on
 * (a seccomp filter, inherited across execve), then run ourselves again:
 * the library must report the failure and leave every slot a NOP.
 */
static int deny_mprotect_rw_and_exec(char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_READ | PROT_WRITE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	char *args[] = { "/proc/self/exe", "child-denied", NULL };

	(void)argv;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("seccomp");
		return 77;
	}
	execv(args[0], args);
	perror("execv");
	return 1;
}

static void check_denied(void)
{
	struct sf_lfence_status st;
	const void *const *slots;
	unsigned int n, i, nops = 0;
	char perms[5];
	int bad_perm = 0;

	sf_lfence_status(&st);
	slots = sf_lfence_slots(&n);
	diag("%u slots, %u patched, wanted %d, error %d (%s)", st.slots_found,
	     st.slots_patched, st.wanted, st.error, st.reason);
	for (i = 0; i < n; i++) {
		nops += !memcmp(slots[i], nop3, 3);
		if (!perms_of((uintptr_t)slots[i], perms) || strcmp(perms, "r-xp"))
			bad_perm++;
	}
	ok(st.wanted == 1 && st.error == EACCES && st.patched == 0 &&
	   st.slots_patched == 0, "mprotect denied: failure reported (%s)",
	   strerror(st.error));
	ok(nops == n, "mprotect denied: all %u slots left as NOPs", n);
	ok(bad_perm == 0, "mprotect denied: text still r-xp");
	/* One thread: glibc itself needs mprotect(RW) for thread stacks. */
	xcount = ycount = 0;
	exercise((void *)(intptr_t)1000);
	ok(xcount == 1000 && ycount == 250, "mprotect denied: locks work (%ld, %ld)",
	   xcount, ycount);
}

/* Run ourselves with SYNCFIX_LFENCE=@mode and report its checks. */
static void child_run(const char *mode)
{
	static char out[65536];
	char env[64], scale[64];
	char *argv[] = { "/proc/self/exe", "child", NULL };
	char *envp[] = { env, scale, NULL };
	const char *sc = getenv("SYNCFIX_TEST_SCALE");
	int st;

	snprintf(env, sizeof(env), "SYNCFIX_LFENCE=%s", mode);
	snprintf(scale, sizeof(scale), "SYNCFIX_TEST_SCALE=%s", sc ? sc : "100");
	st = run_capture(argv, envp, out, sizeof(out));
	diag_block(out);
	ok(st == 0, "re-executed with SYNCFIX_LFENCE=%s: all its checks pass", mode);
}

int main(int argc, char **argv)
{
	watchdog_start(20);
	if (argc > 1 && !strcmp(argv[1], "deny-mprotect"))
		return deny_mprotect_rw_and_exec(argv);
	if (argc > 1 && !strcmp(argv[1], "child-denied")) {
		t_indent = "    ";
		check_denied();
		return done_testing();
	}
	if (argc > 1 && !strcmp(argv[1], "child")) {
		t_indent = "    ";
		check_state();
		return done_testing();
	}
	diag("SYNCFIX_LFENCE=%s, /sys/kernel/syncfix/errata %s",
	     getenv("SYNCFIX_LFENCE") ? getenv("SYNCFIX_LFENCE") : "(unset)",
	     access("/sys/kernel/syncfix/errata", R_OK) ? "absent" : "present");
	check_state();
	phase("child on");
	child_run("on");
	phase("child off");
	child_run("off");
	phase("child auto");
	child_run("auto");
	phase("child bogus");
	child_run("bogus");
#if defined(__x86_64__) && !defined(TEST_TSAN)
	phase("mprotect denied");
	{
		static char out[65536];
		char *av[] = { "/proc/self/exe", "deny-mprotect", NULL };
		char *ev[] = { "SYNCFIX_LFENCE=on", NULL };
		int st = run_capture(av, ev, out, sizeof(out));

		diag_block(out);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
			ok(1, "mprotect(RW) denied by seccomp # SKIP seccomp "
			   "unavailable in this kernel");
		else
			ok(st == 0, "mprotect(RW) denied by seccomp: patching fails "
			   "cleanly, slots stay NOPs, status says why");
	}
#endif
	return done_testing();
}
