// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-absl.cc - extern "C" wrappers of absl::Mutex and absl::CondVar for
 * bench-locks.c (see bench-absl.h).  Each wrapper is one call into
 * libabsl_synchronization, compiled to a tail jump, as glibc's and
 * syncfix's functions are one call into their shared libraries.
 */
#include <new>

#include <absl/synchronization/mutex.h>

#include "bench-absl.h"

static_assert(sizeof(absl::Mutex) <= BENCH_ABSL_SIZE, "absl::Mutex fits");
static_assert(sizeof(absl::CondVar) <= BENCH_ABSL_SIZE, "absl::CondVar fits");

static inline absl::Mutex *mu_of(void *p)
{
	return static_cast<absl::Mutex *>(p);
}

static inline absl::CondVar *cv_of(void *p)
{
	return static_cast<absl::CondVar *>(p);
}

extern "C" {

/*
 * Debian builds libabsl without NDEBUG, which compiles in the Mutex
 * deadlock detector and turns it on (kAbort): every Lock() then updates a
 * lock-order graph.  An optimized (NDEBUG) absl has no detector; the
 * benchmark measures that configuration, the one absl's users ship, by
 * turning the detector off before the first lock.
 */
void bench_absl_setup(void)
{
	absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

void bench_absl_mutex_init(void *mu)
{
	new (mu) absl::Mutex;
}

void bench_absl_mutex_destroy(void *mu)
{
	mu_of(mu)->~Mutex();
}

void bench_absl_lock(void *mu)
{
	mu_of(mu)->Lock();
}

void bench_absl_unlock(void *mu)
{
	mu_of(mu)->Unlock();
}

void bench_absl_reader_lock(void *mu)
{
	mu_of(mu)->ReaderLock();
}

void bench_absl_reader_unlock(void *mu)
{
	mu_of(mu)->ReaderUnlock();
}

void bench_absl_cv_init(void *cv)
{
	new (cv) absl::CondVar;
}

void bench_absl_cv_destroy(void *cv)
{
	cv_of(cv)->~CondVar();
}

void bench_absl_cv_wait(void *cv, void *mu)
{
	cv_of(cv)->Wait(mu_of(mu));
}

void bench_absl_cv_signal(void *cv)
{
	cv_of(cv)->Signal();
}

void bench_absl_cv_signal_all(void *cv)
{
	cv_of(cv)->SignalAll();
}

} // extern "C"
