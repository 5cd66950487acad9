// SPDX-License-Identifier: GPL-2.0
/* Description: /proc/syncfix/waiters lists every blocked waiter with its tag, no kernel pointers, task names escaped so that no name forges a line or a field, and only a reader's own waiters unless root */
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "syncfix_util.h"

#define NOBODY		65534
#define OTHER		65533

struct line {
	int pid, tid;
	char comm[32];
	unsigned long long addr;
	unsigned int expected;
	char tag[32];
	unsigned int bitset;
	double waited_ms;
};

/* Find the line of thread tid; returns 1 if found, 0 if not, -errno. */
static int find_waiter(const char *buf, int tid, struct line *l)
{
	const char *p;

	for (p = strchr(buf, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
		if (sscanf(p + 1, "%d %d %31s 0x%llx %u %31s 0x%x %lf", &l->pid,
			   &l->tid, l->comm, &l->addr, &l->expected, l->tag,
			   &l->bitset, &l->waited_ms) != 8)
			return -EINVAL;
		if (l->tid == tid)
			return 1;
	}
	return 0;
}

static int count_lines(const char *buf)
{
	int n = 0;

	for (; *buf; buf++)
		n += *buf == '\n';
	return n;
}

/* A process that waits forever on a word of its own, as user uid. */
static pid_t spawn_waiter(uid_t uid, uint32_t tag, uint32_t val)
{
	pid_t pid = fork();

	if (!pid) {
		static uint32_t word;
		int fd;

		word = val;
		if (uid && setresuid(uid, uid, uid))
			_exit(10);
		fd = dev_open();
		if (fd < 0)
			_exit(11);
		dev_wait(fd, &word, val, 0, tag, 0, 0);
		_exit(12);
	}
	return pid;
}

/* Read the waiters file as user uid; returns the number of lines. */
static int read_as(uid_t uid, char *buf, size_t size)
{
	int pipefd[2], st, n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(pipefd))
		return -errno;
	pid = fork();
	if (!pid) {
		int len;

		close(pipefd[0]);
		if (uid && setresuid(uid, uid, uid))
			_exit(1);
		len = read_file(SYNCFIX_WAITERS, buf, size);
		if (len < 0 || write(pipefd[1], buf, len) != len)
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	while ((size_t)n + 1 < size &&
	       (r = read(pipefd[0], buf + n, size - 1 - n)) > 0)
		n += r;
	buf[n] = '\0';
	close(pipefd[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -EIO;
}

static int fd;

static struct {
	volatile uint32_t word;
	uint32_t tag;
	int tid;
} tw;

static void *tag_waiter(void *arg)
{
	tw.tid = gettid();
	dev_wait(fd, &tw.word, 7, 0x4, tw.tag, 0, 0);
	return NULL;
}

TEST(lists_waiter_with_tag)
{
	static const char * const names[] = {
		"user", "mutex", "rwlock-read", "rwlock-write", "lockmgr",
		"cond", "lockthread-end", "lockthread-held",
	};
	long long base = status_counter("waiters");
	char buf[65536];
	struct line l;
	pthread_t t;
	uint32_t tag;
	struct stat st;

	ASSERT_EQ(SYNCFIX_TAG_MAX + 1, (int)ARRAY_SIZE(names));
	ASSERT_EQ(0, stat(SYNCFIX_WAITERS, &st));
	EXPECT_EQ((unsigned int)(S_IFREG | 0444), st.st_mode & (S_IFMT | 07777));
	fd = dev_open();
	ASSERT_LE(0, fd);
	for (tag = 0; tag <= SYNCFIX_TAG_MAX; tag++) {
		tw.word = 7;
		tw.tag = tag;
		ASSERT_EQ(0, pthread_create(&t, NULL, tag_waiter, NULL));
		ASSERT_TRUE(waiters_reach(base + 1));
		usleep(tag == SYNCFIX_TAG_RWLOCK_READ ? 200000 : 0);
		ASSERT_LE(0, read_file(SYNCFIX_WAITERS, buf, sizeof(buf)));
		EXPECT_EQ(0, strncmp(buf, "pid ", 4));
		ASSERT_EQ(1, find_waiter(buf, tw.tid, &l)) {
			TH_LOG("tid %d not in:\n%s", tw.tid, buf);
		}
		EXPECT_EQ(getpid(), l.pid);
		EXPECT_EQ((uintptr_t)&tw.word, l.addr);
		EXPECT_EQ(7U, l.expected);
		EXPECT_STREQ(names[tag], l.tag);
		EXPECT_EQ(0x4U, l.bitset);
		EXPECT_STREQ("syncfix_waiters", l.comm);
		if (tag == SYNCFIX_TAG_RWLOCK_READ)
			EXPECT_LE(200.0, l.waited_ms);
		/* User addresses only: nothing in the kernel half. */
		EXPECT_EQ(NULL, strstr(buf, "0xffff"));
		tw.word = 8;
		EXPECT_EQ(1, dev_wake(fd, &tw.word, 1, 0));
		pthread_join(t, NULL);
		ASSERT_TRUE(waiters_drop(base));
		ASSERT_LE(0, read_file(SYNCFIX_WAITERS, buf, sizeof(buf)));
		EXPECT_EQ(0, find_waiter(buf, tw.tid, &l));
	}
	close(fd);
}

/* Root sees every waiter, a user only the waiters of its own uid. */
TEST(uid_filter)
{
	long long base = status_counter("waiters");
	char buf[65536];
	struct line l;
	pid_t root_w, user_w;
	int st;

	if (getuid())
		SKIP(return, "needs root to switch users");
	root_w = spawn_waiter(0, SYNCFIX_TAG_MUTEX, 1);
	ASSERT_LT(0, root_w);
	user_w = spawn_waiter(NOBODY, SYNCFIX_TAG_RWLOCK_WRITE, 2);
	ASSERT_LT(0, user_w);
	ASSERT_TRUE(waiters_reach(base + 2));

	ASSERT_EQ(0, read_as(0, buf, sizeof(buf)));
	EXPECT_EQ(1, find_waiter(buf, root_w, &l));
	EXPECT_STREQ("mutex", l.tag);
	EXPECT_EQ(1, find_waiter(buf, user_w, &l));
	EXPECT_STREQ("rwlock-write", l.tag);

	ASSERT_EQ(0, read_as(NOBODY, buf, sizeof(buf)));
	EXPECT_EQ(0, find_waiter(buf, root_w, &l)) {
		TH_LOG("nobody sees root's waiter:\n%s", buf);
	}
	EXPECT_EQ(1, find_waiter(buf, user_w, &l));
	EXPECT_EQ(2U, l.expected);

	ASSERT_EQ(0, read_as(OTHER, buf, sizeof(buf)));
	EXPECT_EQ(0, find_waiter(buf, root_w, &l));
	EXPECT_EQ(0, find_waiter(buf, user_w, &l));
	EXPECT_EQ(1, count_lines(buf)) {
		TH_LOG("uid %d sees lines:\n%s", OTHER, buf);
	}

	kill(root_w, SIGKILL);
	kill(user_w, SIGKILL);
	waitpid(root_w, &st, 0);
	waitpid(user_w, &st, 0);
	EXPECT_TRUE(waiters_drop(base));
}

/*
 * Task names a user may choose (PR_SET_NAME, at most 15 bytes), each
 * trying to break the list: a newline and the rest of a line that would
 * put a waiter on pid 1, spaces, tabs, bytes that are not UTF-8, a whole
 * line, escapes of a terminal and of the list itself, the empty name and
 * the name that stands for it.
 */
static const char * const hostile[] = {
	"x\n1 1 init 0x1",
	"a b  c",
	"tab\there\t",
	"\xff\xfe\x80\xc3(bytes",
	"1 1 init 0x1 1",
	"back\\040slash\\",
	"\x1b[2J\x01\x7f",
	"",
	"-",
	"-lead",
	"\xc3\xa9t\xc3\xa9",
};

#define NHOSTILE	ARRAY_SIZE(hostile)

/* Undo the module's escaping: \ooo is a byte, a lone "-" the empty name. */
static int unescape(const char *s, char *out, size_t size)
{
	size_t n = 0;

	if (!strcmp(s, "-")) {
		*out = 0;
		return 0;
	}
	for (; *s; s++) {
		int c = (unsigned char)*s;

		if (c <= ' ' || c >= 0x7f)
			return -1;	/* must have been escaped */
		if (c == '\\') {
			if (!isdigit(s[1]) || !isdigit(s[2]) || !isdigit(s[3]))
				return -1;
			c = (s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0');
			s += 3;
		} else if (c == '-' && n == 0) {
			return -1;	/* a leading '-' is escaped */
		}
		if (n + 1 >= size)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = 0;
	return 0;
}

struct entry {
	int pid, tid;
	char comm[64];
};

/*
 * Parse the whole list strictly: the heading, then lines of exactly ten
 * fields separated by spaces, the third an escaped name, the last two
 * the owner and self columns ("-" here: the waiters say no owner).  Returns
 * the number of entries, or -1 with the offending line logged.
 */
static int parse_list(struct __test_metadata *_metadata, char *buf,
		      struct entry *e, int max)
{
	char *line, *save, *f[11], *fs;
	int n = 0, i;

	line = strtok_r(buf, "\n", &save);
	if (!line || strncmp(line, "pid ", 4))
		return -1;
	while ((line = strtok_r(NULL, "\n", &save))) {
		char copy[512];

		snprintf(copy, sizeof(copy), "%s", line);
		for (i = 0; i < 11; i++)
			f[i] = strtok_r(i ? NULL : line, " ", &fs);
		if (!f[9] || f[10] || n >= max || strcmp(f[8], "-") ||
		    strcmp(f[9], "-") ||
		    unescape(f[2], e[n].comm, sizeof(e[n].comm)) ||
		    sscanf(f[0], "%d", &e[n].pid) != 1 ||
		    sscanf(f[1], "%d", &e[n].tid) != 1 ||
		    strncmp(f[3], "0x", 2)) {
			TH_LOG("cannot parse line '%s'", copy);
			return -1;
		}
		n++;
	}
	return n;
}

static struct named_waiters hw;

/* Start one waiter per hostile name; returns 0 or -1. */
static int start_hostile(void)
{
	unsigned int i;

	hw.fd = fd;
	hw.n = NHOSTILE;
	for (i = 0; i < NHOSTILE; i++)
		hw.name[i] = hostile[i];
	return named_waiters_start(&hw);
}

static void stop_hostile(void)
{
	named_waiters_stop(&hw);
}

/* Each hostile waiter appears once, with its own name, and nothing else. */
static void check_hostile(struct __test_metadata *_metadata, char *buf,
			  pid_t pid, int others)
{
	struct entry e[64];
	unsigned int i;
	int n, j, found;

	n = parse_list(_metadata, buf, e, 64);
	ASSERT_EQ((int)NHOSTILE + others, n);
	for (i = 0; i < NHOSTILE; i++) {
		found = 0;
		for (j = 0; j < n; j++) {
			if (e[j].tid != hw.tid[i])
				continue;
			found++;
			EXPECT_EQ(pid, e[j].pid);
			EXPECT_STREQ(hostile[i], e[j].comm);
		}
		EXPECT_EQ(1, found) {
			TH_LOG("name %u: tid %d found %d times", i, hw.tid[i],
			       found);
		}
	}
	for (j = 0; j < n; j++)
		EXPECT_NE(1, e[j].pid);
}

/*
 * How many hostile names the list shows for process @pid, when it
 * parses and holds nothing else; -1 otherwise.
 */
static int names_listed(struct __test_metadata *_metadata, char *buf,
			pid_t pid, bool quiet)
{
	struct entry e[64];
	unsigned int i;
	int n, j, found = 0;

	n = parse_list(_metadata, buf, e, 64);
	if (n < 0)
		return -1;
	for (i = 0; i < NHOSTILE; i++) {
		for (j = 0; j < n; j++)
			if (e[j].pid == pid && !strcmp(e[j].comm, hostile[i]))
				break;
		if (j < n)
			found++;
		else if (!quiet)
			TH_LOG("name %u: not in this reader's list", i);
	}
	return found == n ? found : -1;
}

/*
 * Names that try to forge lines or fields: the list parses to exactly
 * the real waiters, for root and for the user who owns them; another
 * user sees none of them.
 */
TEST(hostile_names)
{
	long long base = status_counter("waiters");
	static char buf[65536];
	int pipefd[2], st;
	pid_t child;
	char c;

	ASSERT_EQ(0, base) {
		TH_LOG("other waiters are blocked: the counts below need none");
	}
	fd = dev_open();
	ASSERT_LE(0, fd);

	/* As root, in this process. */
	ASSERT_EQ(0, start_hostile());
	ASSERT_TRUE(waiters_reach(NHOSTILE));
	ASSERT_LE(0, read_file(SYNCFIX_WAITERS, buf, sizeof(buf)));
	check_hostile(_metadata, buf, getpid(), 0);
	stop_hostile();
	ASSERT_TRUE(waiters_drop(0));

	if (getuid())
		goto out;

	/* As a user, in a child; read by root, by that user, by another. */
	ASSERT_EQ(0, pipe(pipefd));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		if (setresuid(NOBODY, NOBODY, NOBODY) || start_hostile())
			_exit(1);
		if (read(pipefd[0], &c, 1) != 1)
			_exit(2);
		stop_hostile();
		_exit(0);
	}
	ASSERT_TRUE(waiters_reach(NHOSTILE));
	/* hw.tid[] was filled in by the child: find them by name instead. */
	ASSERT_EQ(0, read_as(0, buf, sizeof(buf)));
	EXPECT_EQ((int)NHOSTILE, names_listed(_metadata, buf, child, false));
	ASSERT_EQ(0, read_as(NOBODY, buf, sizeof(buf)));
	EXPECT_EQ((int)NHOSTILE, names_listed(_metadata, buf, child, false));
	ASSERT_EQ(0, read_as(OTHER, buf, sizeof(buf)));
	EXPECT_EQ(0, names_listed(_metadata, buf, child, true));
	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	ASSERT_EQ(child, waitpid(child, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st));
	close(pipefd[0]);
	close(pipefd[1]);
	EXPECT_TRUE(waiters_drop(0));
out:
	close(fd);
}

TEST_HARNESS_MAIN
