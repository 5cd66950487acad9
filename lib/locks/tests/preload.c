// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: libsyncfix-preload.so is a drop-in: an unmodified pthread_rwlock program passes the same checks with glibc and with LD_PRELOAD, and really uses syncfix under it */
#include "test.h"

static void run(const char *target, const char *preload)
{
	static char out[65536];
	char *argv[] = { (char *)target, NULL };
	char env[8192];
	char *envp[] = { env, NULL };
	const char *san = getenv("SF_TEST_SAN_RUNTIME");
	char *prov;
	int st;

	if (preload)
		snprintf(env, sizeof(env), "LD_PRELOAD=%s%s%s",
			 san && *san ? san : "", san && *san ? " " : "", preload);
	else
		snprintf(env, sizeof(env), "SYNCFIX_NO_PRELOAD=1");
	st = run_capture(argv, envp, out, sizeof(out));
	diag_block(out);
	prov = strstr(out, "provider: ");
	ok(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "%s: the unmodified program's checks pass",
	   preload ? "with LD_PRELOAD" : "with glibc");
	if (preload)
		ok(prov && strstr(prov, "libsyncfix-preload.so"),
		   "with LD_PRELOAD: pthread_rwlock_rdlock comes from libsyncfix-preload.so");
	else
		ok(prov && !strstr(prov, "syncfix"),
		   "with glibc: pthread_rwlock_rdlock comes from libc");
}

int main(void)
{
	char dir[4096], target[4200];
	const char *lib = getenv("SF_PRELOAD_LIB");

#ifdef TEST_TSAN
	skip_all("ThreadSanitizer intercepts pthread_rwlock_* itself");
#endif
	if (self_dir(dir, sizeof(dir)))
		skip_all("cannot find own directory");
	snprintf(target, sizeof(target), "%s/preload-target", dir);
	if (access(target, X_OK) || !lib || access(lib, R_OK))
		skip_all("preload-target or SF_PRELOAD_LIB missing");
	watchdog_start(20);
	phase("glibc");
	run(target, NULL);
	phase("preload");
	run(target, lib);
	return done_testing();
}
