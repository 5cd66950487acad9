/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * syncfix.h - libsyncfix-user: futex-based locks with AMD erratum 147
 * lfence slots.
 *
 * Return convention (every sf_* function that returns int): 0 on success,
 * or a positive errno value on failure, like the pthread functions.  errno
 * itself is never changed.
 *
 *   #include <syncfix.h>           link with -lsyncfix-user
 */
#ifndef SYNCFIX_H
#define SYNCFIX_H

#include <syncfix/mutex.h>
#include <syncfix/rwlock.h>
#include <syncfix/cond.h>
#include <syncfix/lfence.h>
#include <syncfix/lockmgr.h>
#include <syncfix/lockthread.h>
#include <syncfix/commit.h>

#endif /* SYNCFIX_H */
