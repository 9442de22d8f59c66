/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The web server's file cache (see filecache.h).
 *
 * A fixed table of slots. A hit is a scan of the table (32 slots by default:
 * cheaper than any round trip). A miss opens the file and, when it is small
 * enough and the content budget allows, reads it whole and closes it again.
 * open, pread and close may block, and other connections run meanwhile, so
 * the table is looked at again after them and nothing taken out of it is
 * touched by anyone else: a slot is emptied before what it held is closed.
 * With several CPUs the caller keeps this true by calling inside the
 * cooperative section (thread.h), which is given up exactly while it blocks.
 */
#include "filecache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct fc_entry *slots;
static unsigned nslots;
static size_t budget, file_max;
static size_t held; /* content bytes in entries and in loads under way */
static uint64_t use_clock, hits, misses, loads;

int fc_init(unsigned n, size_t content_budget, size_t largest_file)
{
    if (n == 0 || n > 1024 || slots) {
        errno = EINVAL;
        return -1;
    }
    slots = calloc(n, sizeof(*slots));
    if (!slots) {
        errno = ENOMEM;
        return -1;
    }
    for (unsigned i = 0; i < n; i++)
        slots[i].fd = -1;
    nslots = n;
    budget = content_budget;
    file_max = largest_file < content_budget ? largest_file : content_budget;
    return 0;
}

static bool same_version(const struct file_version *a, const struct file_version *b)
{
    return a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

/* The entry for this version of path; with no version, the entry for path
 * that a stat showed less than FC_TRUST_NS before now. */
static struct fc_entry *lookup(const char *path, const struct file_version *v, uint64_t now)
{
    for (unsigned i = 0; i < nslots; i++) {
        struct fc_entry *e = &slots[i];
        if (e->path && (v ? same_version(&e->version, v) : now - e->checked_ns < FC_TRUST_NS) &&
            !strcmp(e->path, path))
            return e;
    }
    return NULL;
}

static struct fc_entry *take(struct fc_entry *e)
{
    e->users++;
    e->last_use = ++use_clock;
    return e;
}

/* What a slot held, taken out of it so that it can be released while the
 * slot is reused. */
struct held_file {
    char *path;
    int fd;
    char *data;
    size_t size;
};

static struct held_file empty_slot(struct fc_entry *e)
{
    struct held_file h = {e->path, e->fd, (char *)e->data, e->data ? e->version.size : 0};
    e->path = NULL;
    e->fd = -1;
    e->data = NULL;
    return h;
}

static void release(struct held_file h) /* may block (close) */
{
    free(h.path);
    if (h.data) {
        free(h.data);
        held -= h.size;
    }
    if (h.fd >= 0)
        close(h.fd);
}

/* Evicts unused entries holding content, least recently used first, until
 * size more bytes fit in the budget. Such entries have no fd: nothing here
 * blocks. */
static bool make_room(size_t size)
{
    while (held + size > budget) {
        struct fc_entry *lru = NULL;
        for (unsigned i = 0; i < nslots; i++) {
            struct fc_entry *e = &slots[i];
            if (e->path && e->data && e->users == 0 && (!lru || e->last_use < lru->last_use))
                lru = e;
        }
        if (!lru)
            return false;
        release(empty_slot(lru));
    }
    return true;
}

static bool read_whole(int fd, char *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = pread(fd, buf + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = 0; /* shrank since the caller's stat */
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

struct fc_entry *fc_get(const char *path, const struct file_version *v, uint64_t now_ns)
{
    struct fc_entry *e = lookup(path, v, now_ns);
    if (e) {
        hits++;
        if (v)
            e->checked_ns = now_ns;
        return take(e);
    }
    if (!v)
        return NULL;
    misses++;
    int fd = open(path, O_RDONLY); /* blocks */
    if (fd < 0)
        return NULL;
    struct held_file mine = {strdup(path), fd, NULL, 0};
    size_t size = (size_t)v->size;
    if (mine.path && v->size > 0 && v->size <= file_max && make_room(size) &&
        (mine.data = malloc(size)) != NULL) {
        held += size; /* reserved before blocking, so loads under way count */
        mine.size = size;
        if (!read_whole(fd, mine.data, size)) { /* blocks */
            int e = errno;
            free(mine.data);
            held -= size;
            mine.data = NULL;
            mine.size = 0;
            if (e) { /* a read error, not a file that shrank: nothing to serve */
                release(mine);
                errno = e;
                return NULL;
            }
        }
    }
    /* Others ran while this blocked: one may have put the same version in. */
    if ((e = lookup(path, v, now_ns)) != NULL) {
        hits++;
        e->checked_ns = now_ns;
        take(e);
        release(mine);
        return e;
    }
    if (!mine.path) {
        release(mine);
        errno = ENOMEM;
        return NULL;
    }
    /* A free slot, else an older version of this file, else the least
     * recently used entry nobody is sending from. */
    struct fc_entry *slot = NULL;
    for (unsigned i = 0; i < nslots; i++) {
        struct fc_entry *s = &slots[i];
        if (s->users)
            continue;
        if (!s->path || !strcmp(s->path, path)) {
            slot = s;
            break;
        }
        if (!slot || s->last_use < slot->last_use)
            slot = s;
    }
    struct held_file old = {NULL, -1, NULL, 0};
    if (slot) {
        old = empty_slot(slot);
        slot->temporary = false;
    } else if ((slot = calloc(1, sizeof(*slot))) != NULL) {
        slot->temporary = true; /* every slot busy: this one lives for one use */
    } else {
        release(mine);
        errno = ENOMEM;
        return NULL;
    }
    slot->path = mine.path;
    slot->fd = mine.data ? -1 : fd;
    slot->data = mine.data;
    slot->version = *v;
    slot->checked_ns = now_ns;
    slot->users = 0;
    if (mine.data)
        loads++;
    take(slot);
    release(old); /* blocks; the new entry is in place and in use */
    if (mine.data)
        close(fd); /* the content is all here */
    return slot;
}

void fc_put(struct fc_entry *e)
{
    if (--e->users == 0 && e->temporary) {
        release(empty_slot(e));
        free(e);
    }
}

void fc_stats(struct fc_stats *s)
{
    unsigned used = 0;
    for (unsigned i = 0; i < nslots; i++)
        used += slots[i].path != NULL;
    *s = (struct fc_stats){.hits = hits,
                           .misses = misses,
                           .loads = loads,
                           .bytes = held,
                           .budget = budget,
                           .entries = used};
}

#ifdef MIURA_HOST_TEST
void fc_reset(void)
{
    for (unsigned i = 0; i < nslots; i++)
        release(empty_slot(&slots[i]));
    free(slots);
    slots = NULL;
    nslots = 0;
    held = 0;
    hits = misses = loads = use_clock = 0;
}
#endif
