/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target: arbitrary bytes as the reply to each opcode Miura sends, then
 * the typed parser for that opcode, and the directory record iterator.
 *
 * Input: byte 0 selects the opcode (low 5 bits) and whether to patch the out
 * header so that it passes the header checks (bit 7: len = written, unique
 * matches), which lets the fuzzer spend its time on the bodies. Bytes 1..4
 * are read_size for READ/READDIR/READDIRPLUS. The rest is the reply as the
 * device wrote it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fuse_msg.h"

static const uint32_t opcodes[] = {
    FUSE_LOOKUP,  FUSE_MKDIR,  FUSE_CREATE,   FUSE_GETATTR, FUSE_SETATTR, FUSE_OPEN,
    FUSE_OPENDIR, FUSE_WRITE,  FUSE_STATFS,   FUSE_READ,    FUSE_READDIR, FUSE_READDIRPLUS,
    FUSE_INIT,    FUSE_UNLINK, FUSE_RMDIR,    FUSE_RENAME,  FUSE_RELEASE, FUSE_RELEASEDIR,
    FUSE_FLUSH,   FUSE_FSYNC,  FUSE_FSYNCDIR, FUSE_FORGET,  999,
};

#define UNIQUE 0x1122334455667788ull

static void walk_dirents(const void *body, size_t len, bool plus)
{
    struct fuse_dirent_iter it;
    struct fuse_dirent_info d;
    volatile uint64_t sink = 0;
    int rc;

    fuse_dirent_iter_init(&it, body, len, plus);
    while ((rc = fuse_dirent_next(&it, &d)) == 1) {
        /* touch what the iterator vouched for */
        for (uint32_t i = 0; i < d.namelen; i++)
            sink += (uint8_t)d.name[i];
        if (d.namelen == 0 || d.namelen > FUSE_NAME_MAX || memchr(d.name, '/', d.namelen))
            abort();
    }
    if (rc != 0 && rc != -EPROTO)
        abort();
    (void)sink;
}

static void parse_typed(const struct fuse_reply *r, uint32_t read_size)
{
    struct fuse_entry_info e;
    struct fuse_open_info o;
    struct fuse_attr_info a;
    struct fuse_statfs_info s;
    struct fuse_session_params p;
    uint64_t ttl;
    uint32_t n;

    if (r->error != 0) {
        if (r->body_len != 0 || r->error > 0 || r->error < -4095)
            abort();
        return;
    }
    switch (r->opcode) {
    case FUSE_LOOKUP:
    case FUSE_MKDIR:
        if (fuse_parse_entry(r, &e) == 0 && (e.nodeid == 0 || e.attr.size > INT64_MAX))
            abort();
        break;
    case FUSE_CREATE:
        fuse_parse_create(r, &e, &o);
        break;
    case FUSE_GETATTR:
    case FUSE_SETATTR:
        fuse_parse_attr(r, &a, &ttl);
        break;
    case FUSE_OPEN:
    case FUSE_OPENDIR:
        fuse_parse_open(r, &o);
        break;
    case FUSE_WRITE:
        if (fuse_parse_write(r, 4096, &n) == 0 && n > 4096)
            abort();
        break;
    case FUSE_STATFS:
        fuse_parse_statfs(r, &s);
        break;
    case FUSE_INIT:
        if (fuse_parse_init(r, &p) == 0 &&
            (p.max_pages < 1 || p.max_pages > FUSE_MSG_MAX_PAGES || p.max_write < 4096 ||
             p.max_write > p.max_read || p.time_gran < 1 || p.time_gran > 1000000000 ||
             (p.flags & ~FUSE_MSG_INIT_FLAGS)))
            abort();
        break;
    case FUSE_READ:
        if (r->body_len > read_size)
            abort();
        break;
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
        walk_dirents(r->body, r->body_len, r->opcode == FUSE_READDIRPLUS);
        break;
    default:
        if (r->body_len != 0)
            abort();
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t opcode, read_size;
    struct fuse_reply r;
    uint8_t *buf, *hdr, *body;
    size_t len;

    if (size < 5)
        return 0;
    opcode = opcodes[(data[0] & 0x1f) % (sizeof(opcodes) / sizeof(opcodes[0]))];
    memcpy(&read_size, data + 1, 4);
    len = size - 5;
    buf = malloc(len ? len : 1);
    memcpy(buf, data + 5, len);
    if ((data[0] & 0x80) && len >= sizeof(struct fuse_out_header)) {
        struct fuse_out_header oh;

        memcpy(&oh, buf, sizeof(oh));
        oh.len = (uint32_t)len;
        oh.unique = UNIQUE;
        memcpy(buf, &oh, sizeof(oh));
    }

    /* contiguous reply, exact-size buffer: any overread is an ASan report */
    if (fuse_reply_check(&r, buf, len, opcode, UNIQUE, read_size) == 0)
        parse_typed(&r, read_size);

    /* the same reply split into a header buffer and a body buffer */
    if (len >= sizeof(struct fuse_out_header)) {
        size_t n = len - sizeof(struct fuse_out_header);

        hdr = malloc(sizeof(struct fuse_out_header));
        body = malloc(n ? n : 1);
        memcpy(hdr, buf, sizeof(struct fuse_out_header));
        memcpy(body, buf + sizeof(struct fuse_out_header), n);
        if (fuse_reply_check_split(&r, hdr, body, n, len, opcode, UNIQUE, read_size) == 0)
            parse_typed(&r, read_size);
        free(hdr);
        free(body);
    }

    /* the raw bytes as directory records of both kinds */
    walk_dirents(buf, len, false);
    walk_dirents(buf, len, true);
    free(buf);
    return 0;
}
