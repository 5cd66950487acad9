// SPDX-License-Identifier: LGPL-2.1-or-later
/* Description: libsyncfix-preload.so answers as glibc does: preload-diff-target's scripted pthread_rwlock_* and pthread_rwlockattr_* calls (one thread, several threads, two processes) print the same results with glibc and under LD_PRELOAD, sequence by sequence */
/*
 * preload-diff-target is run twice, plainly and under LD_PRELOAD of
 * SF_PRELOAD_LIB, and its result lines are compared per sequence (the part
 * of a line before ": "); differing lines are shown as a diff.  Every
 * function it calls must come from libc in the first run and from the
 * preload in the second.  The test passes only if the preload gives every
 * answer glibc gives, whatever glibc's answers are.
 *
 * The target is not instrumented in any variant (see lib/Makefile); an
 * instrumented preload needs its sanitizer runtime (SF_TEST_SAN_RUNTIME)
 * in LD_PRELOAD as well.  ASan's must come first.  TSan's comes after the
 * preload: first, its own pthread_rwlock_* interceptors would take the
 * calls and hand them on to the preload, which tells TSan about the lock
 * itself; it still comes before libc, for pthread_create and the rest.
 * Under TSan the target leaves out what TSan reports whoever implements
 * the lock (--tsan, both runs); a report fails the run (exit status 66).
 */
#include "test.h"

#define OUT_MAX	(1 << 20)

struct run {
	const char *name;
	char *text;
	char **lines;
	int n, status;
};

/* Split @r->text into lines, in place. */
static void split(struct run *r)
{
	char *p = r->text, *e;
	int cap = 1024;

	r->lines = malloc(sizeof(*r->lines) * cap);
	r->n = 0;
	while (*p) {
		e = strchr(p, '\n');
		if (e)
			*e = 0;
		if (r->n == cap)
			r->lines = realloc(r->lines, sizeof(*r->lines) * (cap *= 2));
		r->lines[r->n++] = p;
		if (!e)
			break;
		p = e + 1;
	}
}

/* Run @target, under LD_PRELOAD of @preload unless it is NULL. */
static void run(struct run *r, const char *target, const char *preload)
{
#ifdef TEST_TSAN
	char *argv[] = { (char *)target, "--tsan", NULL };
#else
	char *argv[] = { (char *)target, NULL };
#endif
	char env[8192] = "LC_ALL=C";
	char *envp[] = { env, NULL };
	const char *san = getenv("SF_TEST_SAN_RUNTIME");

	if (preload && (!san || !*san))
		snprintf(env, sizeof(env), "LD_PRELOAD=%s", preload);
	else if (preload)
#ifdef TEST_TSAN
		snprintf(env, sizeof(env), "LD_PRELOAD=%s %s", preload, san);
#else
		snprintf(env, sizeof(env), "LD_PRELOAD=%s %s", san, preload);
#endif
	r->text = malloc(OUT_MAX);
	r->status = run_capture(argv, envp, r->text, OUT_MAX);
	split(r);
	ok(r->status != -1 && WIFEXITED(r->status) &&
	   WEXITSTATUS(r->status) == 0 && r->n && !strcmp(r->lines[r->n - 1], "end"),
	   "%s: the script runs to its end and exits 0", r->name);
}

/*
 * The object supplying each function, from the "provider" lines.  Under
 * LD_PRELOAD with a sanitizer runtime, pthread_create must come from the
 * runtime, and a function may too when the runtime preloaded before the
 * preload (ASan) intercepts it: its interceptor calls the next definition,
 * the preload's (ASan has pthread_rwlockattr_getkind_np and _getpshared).
 */
static void providers(const struct run *r, int preload, const char *san)
{
	int i, n = 0, bad = 0, via = 0;

	if (!san || !*san)
		san = NULL;
	for (i = 0; i < r->n; i++) {
		const char *l = r->lines[i], *f = strstr(l, ": ");

		if (!strncmp(l, "runtime ", 8)) {
			diag("%s", l);
			if (preload && san)
				ok(f && strstr(f, san),
				   "%s: the sanitizer runtime is in effect", r->name);
			continue;
		}
		if (strncmp(l, "provider ", 9))
			continue;
		n++;
		if (f && preload && san && strstr(f, san)) {
			diag("%s (its interceptor calls the preload's)", l);
			via++;
		} else if (!f || (preload ? !strstr(f, "/libsyncfix-preload.so") :
					    !strstr(f, "/libc.so"))) {
			diag("%s", l);
			bad++;
		}
	}
	ok(n == 17 && !bad, "%s: all %d pthread_rwlock_* and pthread_rwlockattr_* "
	   "functions come from %s%s", r->name, n,
	   preload ? "libsyncfix-preload.so" : "libc",
	   via ? " (some through the sanitizer runtime)" : "");
}

/* Length of the sequence name at the start of @l ("" for non-result lines). */
static size_t seq_len(const char *l)
{
	const char *c = strstr(l, ": ");

	if (!strncmp(l, "provider ", 9) || !strncmp(l, "runtime ", 8))
		return 0;
	return c ? (size_t)(c - l) : strlen(l);
}

/* Lines of sequence @s (length @len) in @r, from *@pos on; return count. */
static int collect(const struct run *r, int *pos, const char *s, size_t len,
		   char ***out)
{
	int i = *pos, n = 0;

	while (i < r->n && seq_len(r->lines[i]) == 0)
		i++;
	if (i < r->n && seq_len(r->lines[i]) == len &&
	    !strncmp(r->lines[i], s, len)) {
		*out = &r->lines[i];
		while (i < r->n && seq_len(r->lines[i]) == len &&
		       !strncmp(r->lines[i], s, len)) {
			i++;
			n++;
		}
	}
	*pos = i;
	return n;
}

/* Print the lines that differ ("-" glibc, "+" preload), at most 16. */
static void show_diff(char **a, int na, char **b, int nb)
{
	int *lcs = calloc((size_t)(na + 1) * (nb + 1), sizeof(int));
	int i, j, shown = 0;

#define LCS(i, j) lcs[(i) * (nb + 1) + (j)]
	for (i = na - 1; i >= 0; i--)
		for (j = nb - 1; j >= 0; j--)
			LCS(i, j) = !strcmp(a[i], b[j]) ? LCS(i + 1, j + 1) + 1 :
				    LCS(i + 1, j) > LCS(i, j + 1) ? LCS(i + 1, j) :
				    LCS(i, j + 1);
	for (i = j = 0; (i < na || j < nb) && shown < 16;) {
		if (i < na && j < nb && !strcmp(a[i], b[j])) {
			i++;
			j++;
		} else if (i < na && j < nb && LCS(i + 1, j + 1) == LCS(i, j)) {
			diag("  - glibc:   %s", a[i++]);	/* one for the other */
			diag("  + preload: %s", b[j++]);
			shown += 2;
		} else if (j == nb || (i < na && LCS(i + 1, j) >= LCS(i, j + 1))) {
			diag("  - glibc:   %s", a[i++]);
			shown++;
		} else {
			diag("  + preload: %s", b[j++]);
			shown++;
		}
	}
	if (shown == 16)
		diag("  ...");
#undef LCS
	free(lcs);
}

static void compare(const struct run *g, const struct run *p)
{
	int gi = 0, pi = 0, nseq = 0, calls = 0;

	while (gi < g->n) {
		char **gl = NULL, **pl = NULL;
		const char *s;
		size_t len;
		int ng, np, i, same;

		if (!seq_len(g->lines[gi])) {
			gi++;
			continue;
		}
		s = g->lines[gi];
		len = seq_len(s);
		ng = collect(g, &gi, s, len, &gl);
		np = collect(p, &pi, s, len, &pl);
		same = ng == np;
		for (i = 0; same && i < ng; i++)
			same = !strcmp(gl[i], pl[i]);
		nseq++;
		calls += ng;
		if (!ok(same, "%.*s: %d results as with glibc", (int)len, s, ng))
			show_diff(gl, ng, pl, np);
	}
	ok(pi == p->n, "under LD_PRELOAD: no result that glibc did not give");
	ok(nseq >= 100 && calls >= 4000,
	   "%d sequences, %d results compared", nseq, calls);
}

int main(void)
{
	struct run g = { .name = "with glibc" }, p = { .name = "under LD_PRELOAD" };
	const char *lib = getenv("SF_PRELOAD_LIB");
	const char *san = getenv("SF_TEST_SAN_RUNTIME");
	char target[4200];

	beside_self("preload-diff-target", target, sizeof(target));
	if (!lib || access(lib, R_OK))
		skip_all("SF_PRELOAD_LIB missing");
	watchdog_start(60);
	phase("glibc");
	run(&g, target, NULL);
	providers(&g, 0, san);
	phase("preload");
	run(&p, target, lib);
	providers(&p, 1, san);
	phase("compare");
	compare(&g, &p);
	free(g.lines);
	free(g.text);
	free(p.lines);
	free(p.text);
	return done_testing();
}
