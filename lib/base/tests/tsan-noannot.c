// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tsan-noannot.c - an LD_PRELOAD shim for scripts/check-tsan-user.sh that
 * turns the library's ThreadSanitizer annotations into no-ops: loaded
 * first, its definitions are the ones the library's weak references
 * bind to.  With it, every scenario of tsan-user must be reported: the
 * proof that the annotations are what makes them clean.  Built with
 * -DONLY_ACQUIRE_RELEASE it silences only __tsan_acquire/__tsan_release
 * (the lock manager's grant, the commit log's visibility), keeping the
 * lock annotations.
 */
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

void __tsan_acquire(void *addr) { (void)addr; }
void __tsan_release(void *addr) { (void)addr; }

#ifndef ONLY_ACQUIRE_RELEASE
void __tsan_mutex_create(void *addr, unsigned int flags);
void __tsan_mutex_destroy(void *addr, unsigned int flags);
void __tsan_mutex_pre_lock(void *addr, unsigned int flags);
void __tsan_mutex_post_lock(void *addr, unsigned int flags, int rec);
int __tsan_mutex_pre_unlock(void *addr, unsigned int flags);
void __tsan_mutex_post_unlock(void *addr, unsigned int flags);

void __tsan_mutex_create(void *addr, unsigned int flags)
{
	(void)addr;
	(void)flags;
}

void __tsan_mutex_destroy(void *addr, unsigned int flags)
{
	(void)addr;
	(void)flags;
}

void __tsan_mutex_pre_lock(void *addr, unsigned int flags)
{
	(void)addr;
	(void)flags;
}

void __tsan_mutex_post_lock(void *addr, unsigned int flags, int rec)
{
	(void)addr;
	(void)flags;
	(void)rec;
}

int __tsan_mutex_pre_unlock(void *addr, unsigned int flags)
{
	(void)addr;
	(void)flags;
	return 0;
}

void __tsan_mutex_post_unlock(void *addr, unsigned int flags)
{
	(void)addr;
	(void)flags;
}
#endif
