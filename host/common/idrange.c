/* SPDX-License-Identifier: BSD-2-Clause */
/* Per-instance identities from a configured range; see idrange.h. */
#include "common/idrange.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cidlock.h"
#include "common/number.h"

/* start and count describe ids within 1..IDRANGE_ID_MAX. */
static bool span_ok(uint64_t start, uint64_t count)
{
    return start >= 1 && count >= 1 && start + count - 1 <= IDRANGE_ID_MAX;
}

/* Up to three ':'-separated decimal fields of s (NUL-terminated); how many, or -1. */
static int fields(const char *s, uint64_t v[3])
{
    int n = 0;
    for (const char *p = s;; n++) {
        char num[16];
        size_t len = strcspn(p, ":");
        if (n == 3 || len == 0 || len >= sizeof(num))
            return -1;
        memcpy(num, p, len);
        num[len] = '\0';
        if (parse_decimal(num, 0, UINT32_MAX, &v[n]) < 0)
            return -1;
        if (p[len] == '\0')
            return n + 1;
        p += len + 1;
    }
}

int id_range_parse(const char *s, struct id_range *r)
{
    uint64_t v[3];
    int n = fields(s, v);
    if (n == 2) {
        v[2] = v[1];
        v[1] = v[0];
    } else if (n != 3) {
        return -1;
    }
    if (!span_ok(v[0], v[2]) || !span_ok(v[1], v[2]))
        return -1;
    r->uid = (uint32_t)v[0];
    r->gid = (uint32_t)v[1];
    r->count = (uint32_t)v[2];
    return 0;
}

int subid_find(const char *text, size_t len, const char *user, const char *uid_text,
               uint32_t *start, uint32_t *count)
{
    size_t ulen = strlen(user), nlen = uid_text ? strlen(uid_text) : 0;
    for (size_t o = 0; o < len;) {
        const char *line = text + o;
        const char *nl = memchr(line, '\n', len - o);
        size_t llen = nl ? (size_t)(nl - line) : len - o;
        o += llen + (nl != NULL);
        if (llen == 0 || line[0] == '#')
            continue;
        const char *colon = memchr(line, ':', llen);
        if (!colon)
            continue; /* not a "NAME:START:COUNT" line: not ours either */
        size_t name = (size_t)(colon - line);
        if (!((name == ulen && memcmp(line, user, ulen) == 0) ||
              (uid_text && name == nlen && memcmp(line, uid_text, nlen) == 0)))
            continue;
        char rest[40];
        size_t rlen = llen - name - 1;
        uint64_t v[3];
        if (rlen >= sizeof(rest) || memchr(colon + 1, '\0', rlen))
            return -1;
        memcpy(rest, colon + 1, rlen);
        rest[rlen] = '\0';
        if (fields(rest, v) != 2 || !span_ok(v[0], v[1]))
            return -1;
        *start = (uint32_t)v[0];
        *count = (uint32_t)v[1];
        return 1;
    }
    return 0;
}

/* subid_find on a file; -2 if it cannot be read (other than missing: 0). */
static int subid_file(const char *path, const char *uid_text, uint32_t *start, uint32_t *count)
{
    char buf[65536];
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : -2;
    size_t n = fread(buf, 1, sizeof(buf), f);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return -2;
    return subid_find(buf, n, IDRANGE_SUBID_USER, uid_text, start, count);
}

int id_range_find(const char *env, const char *subuid_path, const char *subgid_path,
                  struct id_range *r, char *err, size_t errlen)
{
    if (env) {
        if (id_range_parse(env, r) < 0) {
            snprintf(err, errlen,
                     "bad MIURA_ID_RANGE '%s': want UID:GID:COUNT or BASE:COUNT, ids within "
                     "1..%u",
                     env, IDRANGE_ID_MAX);
            return -1;
        }
        r->from = "MIURA_ID_RANGE";
        return 0;
    }
    char uid_text[16], *uid_p = NULL;
    const struct passwd *pw = getpwnam(IDRANGE_SUBID_USER);
    if (pw) {
        snprintf(uid_text, sizeof(uid_text), "%u", (unsigned)pw->pw_uid);
        uid_p = uid_text;
    }
    uint32_t us = 0, uc = 0, gs = 0, gc = 0;
    int u = subid_file(subuid_path, uid_p, &us, &uc), ue = errno;
    int g = subid_file(subgid_path, uid_p, &gs, &gc), ge = errno;
    if (u < 0 || g < 0) {
        const char *path = u < 0 ? subuid_path : subgid_path;
        int which = u < 0 ? u : g;
        if (which == -2)
            snprintf(err, errlen, "%s: %s", path, strerror(u < 0 ? ue : ge));
        else
            snprintf(err, errlen,
                     "%s: the line of user %s is not NAME:START:COUNT with ids within 1..%u", path,
                     IDRANGE_SUBID_USER, IDRANGE_ID_MAX);
        return -1;
    }
    if (u != g) {
        snprintf(err, errlen, "user %s has subordinate ids in %s but not in %s", IDRANGE_SUBID_USER,
                 u ? subuid_path : subgid_path, u ? subgid_path : subuid_path);
        return -1;
    }
    if (u == 1) {
        *r = (struct id_range){
            .uid = us, .gid = gs, .count = uc < gc ? uc : gc, .from = "subordinate ids of miura"};
        return 0;
    }
    *r = (struct id_range){.uid = IDRANGE_DEFAULT_BASE,
                           .gid = IDRANGE_DEFAULT_BASE,
                           .count = IDRANGE_DEFAULT_COUNT,
                           .from = "the default range"};
    return 0;
}

int id_range_configured(struct id_range *r, char *err, size_t errlen)
{
    return id_range_find(getenv("MIURA_ID_RANGE"), "/etc/subuid", "/etc/subgid", r, err, errlen);
}

bool id_is_taken_by_host(uint32_t uid, uint32_t gid)
{
    return getpwuid((uid_t)uid) != NULL || getgrgid((gid_t)gid) != NULL;
}

#define ID_LOCK_PREFIX "id-"

struct walk_ctx {
    const struct id_range *r;
    bool (*taken)(uint32_t, uint32_t);
};

static bool slot_taken(uint32_t uid, const void *ctx)
{
    const struct walk_ctx *w = ctx;
    return w->taken(uid, w->r->gid + (uid - w->r->uid));
}

/* The lowest free slot; with fd, taken, else only looked at. */
static int walk(const char *dir, const struct id_range *r, bool (*taken)(uint32_t, uint32_t),
                struct instance_id *id, int *fd)
{
    struct walk_ctx w = {.r = r, .taken = taken ? taken : id_is_taken_by_host};
    uint32_t uid;
    if (lockfile_lowest(dir, ID_LOCK_PREFIX, r->uid, r->count, slot_taken, &w, &uid, fd) < 0)
        return -1;
    *id = (struct instance_id){.uid = uid, .gid = r->gid + (uid - r->uid)};
    return 0;
}

int id_lock(const char *dir, const struct id_range *r, bool (*taken)(uint32_t, uint32_t),
            struct instance_id *id, int *fd)
{
    return walk(dir, r, taken, id, fd);
}

int id_peek(const char *dir, const struct id_range *r, bool (*taken)(uint32_t, uint32_t),
            struct instance_id *id)
{
    return walk(dir, r, taken, id, NULL);
}

void id_clear_stale(const char *dir, uint32_t uid)
{
    char path[4096];
    int fd;
    if (lockfile_path(dir, ID_LOCK_PREFIX, uid, path, sizeof(path)) == 0 &&
        lockfile_is_free(path) == 1 && lockfile_take(path, &fd) == 0)
        lockfile_release(path, fd);
}

void id_unlock(const char *dir, const struct instance_id *id, int fd)
{
    char path[4096];
    if (fd < 0)
        return;
    if (lockfile_path(dir, ID_LOCK_PREFIX, id->uid, path, sizeof(path)) < 0) {
        close(fd);
        return;
    }
    lockfile_release(path, fd);
}
