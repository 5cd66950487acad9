/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-absl.h - absl::Mutex and absl::CondVar for the C lock benchmark,
 * through extern "C" wrappers (bench-absl.cc, compiled with g++ and linked
 * with pkg-config's absl_synchronization; the benchmark only, never the
 * library).  A lock lives in a caller's buffer of BENCH_ABSL_SIZE bytes,
 * constructed in place, so that it sits where the glibc and syncfix locks
 * sit in the benchmark's structures.
 */
#ifndef SF_BENCH_ABSL_H
#define SF_BENCH_ABSL_H

#define BENCH_ABSL_SIZE 64

#ifdef __cplusplus
extern "C" {
#endif

/* Once, before any lock: the configuration of an NDEBUG build of absl. */
void bench_absl_setup(void);

void bench_absl_mutex_init(void *mu);
void bench_absl_mutex_destroy(void *mu);
void bench_absl_lock(void *mu);
void bench_absl_unlock(void *mu);
void bench_absl_reader_lock(void *mu);
void bench_absl_reader_unlock(void *mu);

void bench_absl_cv_init(void *cv);
void bench_absl_cv_destroy(void *cv);
void bench_absl_cv_wait(void *cv, void *mu);
void bench_absl_cv_signal(void *cv);
void bench_absl_cv_signal_all(void *cv);

#ifdef __cplusplus
}
#endif

#endif /* SF_BENCH_ABSL_H */
