/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest CIDs reserved per host with lock files: DIR/cid-N.lock, held with
 * flock(LOCK_EX) by the instance for its whole life. The lock, not the file,
 * is the reservation: a file left by a killed launcher is free again as soon
 * as its holder is gone. A released CID's file is unlinked while still locked;
 * a locker checks that the file it locked is still the one at the path, so
 * two instances never hold the same CID.
 */
#ifndef MIURA_COMMON_CIDLOCK_H
#define MIURA_COMMON_CIDLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CID_SCAN_MAX 4096u /* auto CIDs are 3 .. 3 + CID_SCAN_MAX - 1 */

/* Locks CID cid: returns 0 (and *fd, the lock), 1 if another holder has it, -1 on error (errno). */
int cid_lock(const char *dir, uint32_t cid, int *fd);

/* Locks the lowest free CID >= 3: returns 0 (and *cid, *fd), or -1 (errno; EBUSY if none is free).
 */
int cid_lock_lowest(const char *dir, uint32_t *cid, int *fd);

/* Whether cid is free now, without creating or keeping anything (for --dry-run). */
int cid_is_free(const char *dir, uint32_t cid);

/* The lowest CID >= 3 that is free now (for --dry-run); 0 if none. */
uint32_t cid_peek_lowest(const char *dir);

/* Releases a CID locked by cid_lock*: unlinks its file, then drops the lock. */
void cid_unlock(const char *dir, uint32_t cid, int fd);

/*
 * The scheme above for any numbered lock file, DIR/PREFIXn.lock (CIDs:
 * "cid-"; the instance identities of idrange.h: "id-"): its path (-1 with
 * ENAMETOOLONG if it does not fit); take it (0 and *fd; 1 if another holder
 * has it; -1 with errno), ask whether it is free now, release it (unlink,
 * then unlock).
 */
#define CID_LOCK_PREFIX "cid-"
int lockfile_path(const char *dir, const char *prefix, uint32_t n, char *out, size_t len);
int lockfile_take(const char *path, int *fd);
int lockfile_is_free(const char *path);
void lockfile_release(const char *path, int fd);

/*
 * The lowest n in first .. first + count - 1, skip(n, ctx) false (skip may
 * be NULL), whose lock is free: taken when fd is not NULL, else only looked
 * at. 0 and *n, or -1 with errno (EBUSY: none).
 */
int lockfile_lowest(const char *dir, const char *prefix, uint32_t first, uint32_t count,
                    bool (*skip)(uint32_t n, const void *ctx), const void *ctx, uint32_t *n,
                    int *fd);

#endif
