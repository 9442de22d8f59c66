/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The web server's file cache: files kept open between requests and, for
 * small files, their whole content kept in memory, so that a hot request
 * makes no round trip to the host at all. Plain POSIX (open, pread, close,
 * malloc): the same code runs in the guest and in the host's unit tests.
 *
 * An entry stands for one version of a file, named by path and identified by
 * (inode, size, mtime) as the caller's stat() gave them; a request whose stat
 * shows another version gets a fresh entry, so content is never older than
 * the attribute cache that answered the stat. Single-threaded use, or
 * cooperative threads on one CPU: fc_get may block in open/pread, and other
 * callers may run meanwhile.
 */
#ifndef WEBSERVER_FILECACHE_H
#define WEBSERVER_FILECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct file_version {
    uint64_t ino, size, mtime_ns;
};

struct fc_entry {
    char *path;                  /* NULL: the slot is empty */
    int fd;                      /* the open file, or -1 when data holds it all */
    const char *data;            /* the whole file (version.size bytes), or NULL */
    struct file_version version; /* what it was opened as */
    unsigned users;              /* fc_get without fc_put yet */
    uint64_t last_use;           /* for replacement */
    uint64_t checked_ns;         /* when a caller's stat last showed this version */
    bool temporary;              /* every slot was busy: freed by its last fc_put */
};

/*
 * slots: entries kept (at most 1024); budget: bytes of file content held in
 * memory in all (0: none); file_max: the largest file whose content is held.
 * Returns 0 or -1 (ENOMEM, EINVAL). Call once, before fc_get.
 */
int fc_init(unsigned slots, size_t budget, size_t file_max);

/* The entry for this version of path, opened (and for a small file, read) on
 * a miss. NULL with errno set when the file cannot be opened, or a small
 * file's read fails (not when it merely shrank: then it is kept open and
 * streamed, and the short read ends the connection). now_ns: a monotonic
 * time, when the caller's stat showed v.
 *
 * v NULL: the entry for path that a stat showed less than FC_TRUST_NS before
 * now_ns, without opening anything (NULL if none; not counted as a miss): a
 * caller that trusts what it saw that recently skips its stat (nginx's
 * open_file_cache_valid). A file changed or removed on the host is thus
 * served as it was for at most FC_TRUST_NS after the stat that last showed
 * it (beyond the attribute cache that answered that stat).
 *
 * Every non-NULL result must be given back with fc_put. */
#define FC_TRUST_NS 100000000u /* 100 ms */
struct fc_entry *fc_get(const char *path, const struct file_version *v, uint64_t now_ns);
void fc_put(struct fc_entry *e);

struct fc_stats {
    uint64_t hits, misses; /* fc_get calls answered from an entry, or not */
    uint64_t loads;        /* misses that read the content into memory */
    size_t bytes, budget;  /* content bytes held now, and the limit */
    unsigned entries;      /* slots in use */
};
void fc_stats(struct fc_stats *s);

#ifdef MIURA_HOST_TEST
/* Releases every entry (none may be in use) and forgets fc_init. */
void fc_reset(void);
#endif

#endif
