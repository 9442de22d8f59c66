/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A fake FUSE server for host tests of the FUSE client and the VFS: an
 * in-memory tree behind a struct fuse_conn. It decodes each request from
 * the out[] buffers with its own reading of include/abi/fuse.h, checks it,
 * and writes the reply into the in[] buffers, like virtiofsd would.
 *
 * It records what the tests check: requests per opcode, the size of every
 * READ/WRITE, the lookups it counted and the FORGETs it got per node, the
 * handles still open. A request it finds malformed sets `protocol_errors`.
 */
#ifndef MIURA_TESTS_FUSE_FAKE_H
#define MIURA_TESTS_FUSE_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fuse_conn.h"

#define FAKE_MAX_SIZES 4096
#define FAKE_MAX_OPEN  8192 /* more than the descriptor table holds */

struct fake_node {
    bool used;
    bool unlinked;
    uint64_t parent;
    char name[FUSE_NAME_MAX + 1];
    uint32_t mode;
    uint8_t *data;
    size_t size;
    uint64_t lookups; /* lookups the server counted */
    uint64_t forgets; /* nlookup summed over FORGETs */
    int64_t mtime;
};

struct fake_open {
    uint64_t fh;
    uint64_t nodeid;
    bool dir;
    uint32_t flags;
};

struct fake_fs;
typedef void (*fake_hook)(struct fake_fs *fs, uint32_t opcode, uint64_t nodeid);

struct fake_fs {
    struct fuse_conn conn;   /* first: the client's pointer is ours */
    struct fake_node *nodes; /* nodeid n is nodes[n - 1]; root is 1 */
    size_t n_nodes, cap_nodes;
    uint64_t now_ns;

    /* what INIT grants */
    uint32_t max_pages; /* 0: don't grant FUSE_MAX_PAGES */
    uint32_t max_write;
    uint32_t grant_flags;

    uint64_t entry_ttl_ns, attr_ttl_ns, negative_ttl_ns;
    uint32_t read_cap;    /* each READ returns at most this much (0: no cap) */
    uint32_t write_cap;   /* each WRITE takes at most this much (0: no cap) */
    bool readonly;        /* modifications fail with EROFS */
    bool stuck_cookies;   /* every dirent's off is the offset asked for (a broken server) */
    uint32_t fail_opcode; /* the next request of this opcode fails ... */
    int fail_errno;       /* ... with this errno */

    /* statistics */
    unsigned ops[64];
    uint32_t read_sizes[FAKE_MAX_SIZES];
    unsigned n_reads;
    uint32_t write_sizes[FAKE_MAX_SIZES];
    unsigned n_writes;
    uint32_t last_open_flags;
    unsigned protocol_errors;
    unsigned dot_lookups;         /* LOOKUPs of "." or ".." (the VFS must never send them) */
    unsigned readdir_entries_max; /* most records in one READDIR(PLUS) reply */

    struct fake_open open[FAKE_MAX_OPEN];
    unsigned n_open;
    uint64_t next_fh;

    fake_hook hook; /* called for each request, after decoding, before the reply */
};

struct fake_fs *fake_new(void);
void fake_free(struct fake_fs *fs);

/* Tree set-up and inspection by path ("/a/b"); return nodeids (0: none). */
uint64_t fake_mkdir(struct fake_fs *fs, const char *path, uint32_t mode);
uint64_t fake_file(struct fake_fs *fs, const char *path, uint32_t mode, const void *data,
                   size_t len);
uint64_t fake_find(struct fake_fs *fs, const char *path);
struct fake_node *fake_node(struct fake_fs *fs, uint64_t nodeid);

/* Lookups counted minus FORGETs received, over every node; 0 when balanced. */
int64_t fake_unforgotten(const struct fake_fs *fs);

#endif
