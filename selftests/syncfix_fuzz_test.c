// SPDX-License-Identifier: GPL-2.0
/* Description: 100,000 random /dev/syncfix ioctls (numbers, sizes, pointers, flags, reserved bits, timeouts) each fail or succeed exactly as documented */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/time.h>

#include "kselftest_harness.h"
#include "syncfix_util.h"

#define PAGE		4096UL
#define KERNEL_ADDR	0xffffffff81000000ULL
#define NONCANONICAL	0x0000800000000000ULL
#define USER_END	(NONCANONICAL - PAGE)	/* x86-64 TASK_SIZE_MAX */
#define NWORDS		16

/* Where an argument or a word can live. */
enum where { LOC_OK, LOC_RDONLY, LOC_NONE, LOC_UNMAPPED, LOC_NULL, LOC_KERNEL,
	     LOC_NONCANON, LOC_STRADDLE, LOC_RANDOM, LOC_COUNT };

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned int pick(unsigned int n)
{
	return rnd() % n;
}

static struct {
	char *rw;		/* argument page, read-write */
	char *ro;		/* read-only page, content known */
	char *none;		/* PROT_NONE page right after rw */
	char *unmapped;		/* hole */
	uint32_t *words;	/* NWORDS words, read-write */
} m;

static atomic_bool stop;
static int fd;

static void on_alarm(int sig)
{
}

/* Keeps waking the words, so that a wait may also end with 0. */
static void *waker(void *arg)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (!atomic_load(&stop)) {
		dev_wake(fd, &m.words[pick(NWORDS)], pick(3), 0);
		usleep(200);
	}
	return NULL;
}

/* A user address of the given kind; *readable tells if it can be read. */
static uint64_t address(enum where w, size_t size, bool *readable)
{
	*readable = false;
	switch (w) {
	case LOC_OK:
		*readable = true;
		return (uintptr_t)&m.words[pick(NWORDS)];
	case LOC_RDONLY:
		*readable = true;
		return (uintptr_t)m.ro + 8 * pick(PAGE / 8 - 8);
	case LOC_NONE:
		return (uintptr_t)m.none + 8 * pick(PAGE / 8);
	case LOC_UNMAPPED:
		return (uintptr_t)m.unmapped + 8 * pick(PAGE / 8);
	case LOC_NULL:
		return 8 * pick(16);
	case LOC_KERNEL:
		return KERNEL_ADDR + 8 * pick(1 << 20);
	case LOC_NONCANON:
		return NONCANONICAL + 8 * pick(1 << 20);
	case LOC_STRADDLE:
		/* Starts in the rw page, ends in the PROT_NONE one. */
		if (size <= 4)
			return (uintptr_t)m.none - 2;
		return (uintptr_t)m.none - 8 * (1 + pick(size / 8 - 1));
	default:
		return rnd();
	}
}

static enum where rnd_where(void)
{
	/* Mostly valid, so that validation goes past the copy. */
	return pick(4) ? LOC_OK : pick(LOC_COUNT);
}

static uint32_t rnd_u32(void)
{
	switch (pick(4)) {
	case 0:
		return 0;
	case 1:
		return 1U << pick(32);
	default:
		return rnd();
	}
}

/* A set of results: one bit per result the ABI documents, bit 7 others. */
static unsigned int err_bit(int e)
{
	static const int known[] = { 0, EINVAL, EFAULT, EAGAIN, ETIMEDOUT,
				     EINTR, ENOTTY };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(known); i++)
		if (e == known[i])
			return i;
	return 7;
}

#define E(x)		(1ULL << err_bit(x))

static int64_t rnd_timeout(uint32_t flags)
{
	if (!(flags & SYNCFIX_WAIT_TIMEOUT))
		return pick(8) ? 0 : (int64_t)rnd();
	if (!pick(16))
		return (int64_t)rnd();
	if (flags & SYNCFIX_WAIT_ABSTIME)
		return mono_ns() + (int64_t)pick(100000) - 50000;
	return pick(50000) - (pick(16) ? 0 : 25000);
}

/* The owner fields of a WAIT as the ABI defines them (uapi syncfix.h). */
static bool owner_valid(const struct syncfix_wait *w)
{
	uint32_t k = w->flags & SYNCFIX_WAIT_OWNER_MASK;

	if ((k & (k - 1)) || (w->self && k != SYNCFIX_WAIT_OWNER_ID))
		return false;
	switch (k) {
	case 0:
		return !w->owner;
	case SYNCFIX_WAIT_OWNER_TID:
		return w->owner >= 1 && w->owner <= INT_MAX;
	case SYNCFIX_WAIT_OWNER_READERS:
		return w->owner <= UINT32_MAX;
	case SYNCFIX_WAIT_OWNER_LOCK:
		return w->owner && !(w->owner & 3);
	}
	return true;
}

/* An owner value: small, around the limits, or anything. */
static uint64_t rnd_owner(void)
{
	static const uint64_t edge[] = { 0, 1, 4, INT_MAX, (uint64_t)INT_MAX + 1,
					 UINT32_MAX, (uint64_t)UINT32_MAX + 1 };

	if (pick(2))
		return edge[pick(ARRAY_SIZE(edge))];
	return pick(2) ? (uint64_t)getpid() : ((uint64_t)rnd_u32() << 32 | rnd_u32());
}

/*
 * One random WAIT, or ANNOUNCE when @announce (then RETRACT, which must
 * succeed after a 0); returns the mask of the results the ABI allows for
 * it and stores the actual result (0 or errno) in *got.
 */
static uint64_t fuzz_wait(int *got, bool announce)
{
	struct syncfix_wait w;
	enum where argw = rnd_where(), addrw = rnd_where();
	bool argok, addrok, valid, timed;
	uint64_t argp, allowed;
	uint32_t cur = 0;

	memset(&w, 0, sizeof(w));
	w.addr = address(addrw, 4, &addrok);
	if (!pick(16))
		w.addr += 1 + pick(3);		/* misaligned */
	if (addrok && !(w.addr & 3))
		cur = *(uint32_t *)(uintptr_t)w.addr;
	w.val = pick(4) ? cur + (pick(8) ? 1 : 0) : rnd();
	w.bitset = rnd_u32();
	w.flags = pick(4) ? pick(64) : rnd_u32();
	w.tag = pick(4) ? pick(SYNCFIX_TAG_MAX + 2) : rnd_u32();
	w.timeout_ns = rnd_timeout(w.flags);
	if (pick(2))
		w.owner = rnd_owner();
	if (!pick(4))
		w.self = pick(2) ? 0 : rnd_owner();

	argp = address(argw, sizeof(w), &argok);
	if (argok)
		memcpy(m.rw, &w, sizeof(w)), argp = (uintptr_t)m.rw;
	*got = ioctl(fd, announce ? SYNCFIX_IOC_ANNOUNCE : SYNCFIX_IOC_WAIT,
		     (void *)(uintptr_t)argp) ? errno : 0;
	if (announce && !*got && ioctl(fd, SYNCFIX_IOC_RETRACT, 0))
		*got = EPIPE;	/* not allowed below: announced, not there */

	if (!argok)
		return E(EFAULT);
	timed = w.flags & SYNCFIX_WAIT_TIMEOUT;
	valid = !(w.flags & ~SYNCFIX_WAIT_FLAGS) && w.tag <= SYNCFIX_TAG_MAX &&
		owner_valid(&w) &&
		(timed || !(w.flags & SYNCFIX_WAIT_ABSTIME)) &&
		(timed || !w.timeout_ns) && w.timeout_ns >= 0 &&
		!(announce && timed);
	if (!valid || !w.addr || (w.addr & 3))
		return E(EINVAL);
	/* ANNOUNCE checks the address range only: the word is never read. */
	if (announce)
		return w.addr > USER_END - 4 ? E(EFAULT) : E(0);
	if (!addrok)
		return E(EFAULT);
	if (w.val != *(uint32_t *)(uintptr_t)w.addr)
		return E(EAGAIN);
	allowed = E(0) | E(EINTR);
	if (timed)
		allowed |= E(ETIMEDOUT);
	return allowed;
}

static uint64_t fuzz_wake(int *got)
{
	struct syncfix_wake w;
	enum where argw = rnd_where(), addrw = rnd_where();
	bool argok, addrok;
	uint64_t argp;
	int ret;

	memset(&w, 0, sizeof(w));
	w.addr = address(addrw, 4, &addrok);
	if (!pick(16))
		w.addr += 1 + pick(3);
	w.count = rnd_u32();
	w.bitset = rnd_u32();
	if (!pick(8))
		w.flags = rnd_u32();
	if (!pick(8))
		w.pad = rnd_u32();
	if (!pick(8))
		w.reserved[pick(2)] = rnd_u32();

	argp = address(argw, sizeof(w), &argok);
	if (argok)
		memcpy(m.rw, &w, sizeof(w)), argp = (uintptr_t)m.rw;
	ret = ioctl(fd, SYNCFIX_IOC_WAKE, (void *)(uintptr_t)argp);
	*got = ret < 0 ? errno : 0;

	if (!argok)
		return E(EFAULT);
	if (w.flags || w.pad || w.reserved[0] || w.reserved[1] || !w.addr ||
	    (w.addr & 3))
		return E(EINVAL);
	/* Only the address range is checked: the word is never read. */
	if (w.addr > USER_END - 4)
		return E(EFAULT);
	return E(0);
}

static uint64_t fuzz_info(int *got)
{
	enum where argw = pick(2) ? LOC_OK : pick(LOC_COUNT);
	bool argok;
	uint64_t argp = address(argw, sizeof(struct syncfix_info), &argok);

	if (argw == LOC_OK)
		argp = (uintptr_t)m.rw;
	*got = ioctl(fd, SYNCFIX_IOC_GET_INFO, (void *)(uintptr_t)argp) ?
	       errno : 0;
	/* Written: the read-only page is not writable. */
	return argw == LOC_OK ? E(0) : argw == LOC_RDONLY ? E(EFAULT) :
	       argw == LOC_RANDOM ? E(0) | E(EFAULT) : E(EFAULT);
}

static uint64_t fuzz_cmd(int *got, unsigned int *cmd)
{
	bool ok;
	uint64_t argp = address(rnd_where(), 64, &ok);

	switch (pick(4)) {
	case 0:
		*cmd = rnd();
		break;
	case 1:	/* right magic, other numbers, directions and sizes */
		*cmd = _IOC(pick(4), SYNCFIX_IOC_MAGIC, pick(8), pick(1 << 14));
		break;
	case 2:	/* known commands with the size off */
		*cmd = SYNCFIX_IOC_WAIT + (((1 + pick(128)) << _IOC_SIZESHIFT) &
					   (_IOC_SIZEMASK << _IOC_SIZESHIFT));
		break;
	default:
		*cmd = SYNCFIX_IOC_WAKE ^ (1U << (_IOC_DIRSHIFT + pick(2)));
		break;
	}
	/*
	 * Commands the VFS handles itself for every file (FIOCLEX, FIONBIO,
	 * FIFREEZE, FIGETBSZ, FS_IOC_*, ...) never reach the module.
	 */
	if (strchr("fXT$\x94", _IOC_TYPE(*cmd)) || !_IOC_TYPE(*cmd)) {
		*got = 0;
		return E(0);
	}
	if (*cmd == SYNCFIX_IOC_WAIT || *cmd == SYNCFIX_IOC_WAKE ||
	    *cmd == SYNCFIX_IOC_GET_INFO || *cmd == SYNCFIX_IOC_ANNOUNCE ||
	    *cmd == SYNCFIX_IOC_RETRACT) {
		*got = 0;
		return E(0);	/* checked by the other cases */
	}
	*got = ioctl(fd, *cmd, (void *)(uintptr_t)argp) ? errno : 0;
	return E(ENOTTY);
}

TEST(random_ioctls)
{
	const char *s = getenv("SYNCFIX_FUZZ_SEED");
	const char *nstr = getenv("SYNCFIX_FUZZ_N");
	long n = nstr ? atol(nstr) : 100000, i, per[4] = { 0 }, bad = 0;
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 2000 }, { 0, 2000 } };
	long long base = status_counter("waiters");
	int64_t t0 = mono_ns();
	pthread_t t;
	char *map;

	rng = s ? strtoull(s, NULL, 0) : (uint64_t)mono_ns() | 1;
	TH_LOG("seed %#llx (SYNCFIX_FUZZ_SEED), %ld ioctls",
	       (unsigned long long)rng, n);
	fd = dev_open();
	ASSERT_LE(0, fd);

	map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	/* The largest struct ends at the page end. */
	m.rw = map + PAGE - sizeof(struct syncfix_info);
	m.ro = map + 2 * PAGE;
	m.none = map + PAGE;
	m.unmapped = map + 3 * PAGE;
	memset(map + 2 * PAGE, 0x5a, PAGE);
	ASSERT_EQ(0, mprotect(m.none, PAGE, PROT_NONE));
	ASSERT_EQ(0, mprotect(m.ro, PAGE, PROT_READ));
	ASSERT_EQ(0, munmap(m.unmapped, PAGE));
	m.words = (uint32_t *)map;
	for (i = 0; i < NWORDS; i++)
		m.words[i] = i * 0x01010101U;

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, waker, NULL));

	for (i = 0; i < n; i++) {
		unsigned int kind = pick(10), cmd = 0;
		uint64_t allowed;
		int got;

		if (kind < 4) {
			allowed = fuzz_wait(&got, kind == 3);	/* 1 in 4 */
			kind = 0;
		} else if (kind < 7) {
			kind = 1;
			allowed = fuzz_wake(&got);
		} else if (kind < 8) {
			kind = 2;
			allowed = fuzz_info(&got);
		} else {
			kind = 3;
			allowed = fuzz_cmd(&got, &cmd);
		}
		per[kind]++;
		if (allowed & E(got))
			continue;
		if (bad++ < 20)
			TH_LOG("ioctl %ld kind %u cmd %#x: got %s, allowed %#llx",
			       i, kind, cmd, got ? strerror(got) : "0",
			       (unsigned long long)allowed);
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);

	TH_LOG("%ld wait, %ld wake, %ld info, %ld other in %lld ms", per[0],
	       per[1], per[2], per[3], (long long)(mono_ns() - t0) / 1000000);
	EXPECT_EQ(0, bad);
	EXPECT_TRUE(waiters_drop(base));
	close(fd);
}

TEST_HARNESS_MAIN
