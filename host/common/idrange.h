/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One identity per instance (docs/security.md): when the launcher runs as
 * root, each instance gets a uid and a gid of its own from a configured
 * range, so that one instance's processes cannot open another's run
 * directory, sockets or logs, nor ptrace or signal its processes.
 *
 * The range, first found of:
 *   - $MIURA_ID_RANGE: "UID:GID:COUNT" (uids UID.., gids GID..) or
 *     "BASE:COUNT" (uid = gid);
 *   - the subordinate ids of user "miura" in /etc/subuid and /etc/subgid
 *     (lines "miura:START:COUNT"; the shorter of the two counts);
 *   - IDRANGE_DEFAULT_BASE, IDRANGE_DEFAULT_COUNT ids (uid = gid): above the
 *     range systemd gives containers (524288..1879048191), below 2^31.
 * Slot n is uid uid + n, gid gid + n. Ids are 1..4294967294: never root,
 * never (uid_t)-1.
 *
 * An identity is held like a CID (cidlock.h): DIR/id-UID.lock, locked for
 * the instance's whole life; the programs use DIR = IDRANGE_LOCK_DIR for
 * every runtime base, so that instances under different bases (tests,
 * miura and miura-oci) never share ids. A slot whose uid is a host account, or whose
 * gid a host group, is skipped (it would share their files).
 */
#ifndef HOST_COMMON_IDRANGE_H
#define HOST_COMMON_IDRANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDRANGE_DEFAULT_BASE  1879048192u /* 0x70000000 */
#define IDRANGE_DEFAULT_COUNT 65536u
#define IDRANGE_ID_MAX        4294967294u
#define IDRANGE_SUBID_USER    "miura"
#define IDRANGE_LOCK_DIR      "/run/miura-ids" /* host-wide: every runtime base's instances */

struct id_range {
    uint32_t uid, gid, count;
    const char *from; /* where it came from, for messages (a constant) */
};

struct instance_id {
    uint32_t uid, gid;
};

/* "UID:GID:COUNT" or "BASE:COUNT" (decimal; COUNT >= 1; every id in 1..IDRANGE_ID_MAX). 0 or -1. */
int id_range_parse(const char *s, struct id_range *r);

/*
 * The first line of an /etc/subuid-style text (len bytes, not necessarily
 * NUL-terminated) for user: "NAME:START:COUNT", with NAME the user's name or
 * its uid in decimal (uid_text, NULL for none). Blank lines and lines starting
 * with '#' are skipped. 1 (and *start, *count, valid as for id_range_parse),
 * 0 if no line is for user, -1 if the user's first line is malformed.
 */
int subid_find(const char *text, size_t len, const char *user, const char *uid_text,
               uint32_t *start, uint32_t *count);

/*
 * The configured range from env (the value of $MIURA_ID_RANGE, NULL if
 * unset) and the two subordinate id files (paths; a missing file counts as
 * no entry). 0, or -1 with a one-line cause in err.
 */
int id_range_find(const char *env, const char *subuid_path, const char *subgid_path,
                  struct id_range *r, char *err, size_t errlen);

/* id_range_find with $MIURA_ID_RANGE, /etc/subuid and /etc/subgid. */
int id_range_configured(struct id_range *r, char *err, size_t errlen);

/* Whether uid is a host account or gid a host group (getpwuid, getgrgid). */
bool id_is_taken_by_host(uint32_t uid, uint32_t gid);

/*
 * Locks the lowest free identity of r in dir: 0 (and *id, *fd, the lock),
 * or -1 with errno (EBUSY: every slot is held or a host account).
 * taken (NULL: id_is_taken_by_host) says which slots to skip.
 */
int id_lock(const char *dir, const struct id_range *r, bool (*taken)(uint32_t, uint32_t),
            struct instance_id *id, int *fd);

/* The identity id_lock would take now, without taking it (--dry-run); -1 if none. */
int id_peek(const char *dir, const struct id_range *r, bool (*taken)(uint32_t, uint32_t),
            struct instance_id *id);

/* Releases an identity taken by id_lock (unlinks its lock file, then unlocks). */
void id_unlock(const char *dir, const struct instance_id *id, int fd);

/* Removes uid's lock file if no one holds it: what a holder killed by
 * SIGKILL leaves (harmless, the slot is free, but clutter). */
void id_clear_stale(const char *dir, uint32_t uid);

#endif
