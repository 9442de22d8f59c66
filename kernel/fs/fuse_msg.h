/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * FUSE message layer: builds requests into caller buffers and turns replies
 * into trusted types. No I/O, no allocation, no kernel dependencies; the
 * virtio-fs driver moves the bytes, the VFS uses the results.
 *
 * Everything a reply says is checked here, once: the out header (length,
 * error range, unique), the exact body size for the opcode, attribute
 * sanity, and every directory record. A malformed reply gives -EPROTO and
 * never a read outside the buffer. A well-formed error reply gives the
 * server's negative errno.
 *
 * The reply buffer must stay unchanged while it is parsed (on virtio the
 * device has completed the chain and no longer writes to it); parsers copy
 * every field out with memcpy, so any alignment is fine.
 */
#ifndef MIURA_FS_FUSE_MSG_H
#define MIURA_FS_FUSE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/fuse.h"

/* ---- what we ask for at FUSE_INIT */
#define FUSE_MSG_MINOR     31 /* protocol minor we speak (QEMU's virtiofsd needs >= 31) */
#define FUSE_MSG_MIN_MINOR 12 /* oldest server we accept (umask in CREATE/MKDIR) */
#define FUSE_MSG_INIT_FLAGS                                                          \
    (FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_ATOMIC_O_TRUNC | FUSE_DO_READDIRPLUS | \
     FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES)
#define FUSE_MSG_PAGE_SIZE         4096u
#define FUSE_MSG_DEFAULT_MAX_PAGES 32u  /* without FUSE_MAX_PAGES (Linux's default) */
#define FUSE_MSG_MAX_PAGES         256u /* our ceiling: 1 MiB per READ or WRITE */
#define FUSE_MSG_MAX_READAHEAD     (FUSE_MSG_MAX_PAGES * FUSE_MSG_PAGE_SIZE)

/* Largest error a reply may carry (Linux's MAX_ERRNO). */
#define FUSE_MSG_MAX_ERRNO 4095

/*
 * ---- request builders
 *
 * Each writes fuse_in_header (len, opcode, unique, nodeid; uid, gid, pid 0)
 * then the op struct, then any names (NUL-terminated), into buf, and returns
 * the number of bytes written (> 0). Errors:
 *   -EINVAL       unique 0 (reserved for notifications), an empty name, a
 *                 name containing '/', a bad opcode for the builder
 *   -ENAMETOOLONG a name longer than FUSE_NAME_MAX bytes
 *   -ENOBUFS      cap is too small
 * Nothing is written on error. The caller picks unique (never reused while
 * the request is in flight) and owns the buffer.
 */
int fuse_build_init(void *buf, size_t cap, uint64_t unique);
int fuse_build_lookup(void *buf, size_t cap, uint64_t unique, uint64_t parent, const char *name);
/* FORGET has no reply (on virtio-fs it goes on the hiprio queue). */
int fuse_build_forget(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, uint64_t nlookup);
/* With has_fh, asks about the open file fh (FUSE_GETATTR_FH). */
int fuse_build_getattr(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, bool has_fh,
                       uint64_t fh);
int fuse_build_setattr(void *buf, size_t cap, uint64_t unique, uint64_t nodeid,
                       const struct fuse_setattr_in *in);
/* OPEN, or OPENDIR when dir. flags: O_* (Linux values). */
int fuse_build_open(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, uint32_t flags,
                    bool dir);
int fuse_build_create(void *buf, size_t cap, uint64_t unique, uint64_t parent, const char *name,
                      uint32_t flags, uint32_t mode, uint32_t umask);
int fuse_build_mkdir(void *buf, size_t cap, uint64_t unique, uint64_t parent, const char *name,
                     uint32_t mode, uint32_t umask);
/* UNLINK, or RMDIR when dir. */
int fuse_build_unlink(void *buf, size_t cap, uint64_t unique, uint64_t parent, const char *name,
                      bool dir);
int fuse_build_rename(void *buf, size_t cap, uint64_t unique, uint64_t olddir, const char *oldname,
                      uint64_t newdir, const char *newname);
/* opcode: FUSE_READ, FUSE_READDIR or FUSE_READDIRPLUS. */
int fuse_build_read(void *buf, size_t cap, uint64_t unique, uint32_t opcode, uint64_t nodeid,
                    uint64_t fh, uint64_t offset, uint32_t size);
/*
 * Header and fuse_write_in only: the caller puts the `size` data bytes in
 * the chain right after them (a separate descriptor is fine). The in
 * header's len counts them. -EINVAL if size is 0 or the total overflows.
 */
int fuse_build_write(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, uint64_t fh,
                     uint64_t offset, uint32_t size);
/* RELEASE, or RELEASEDIR when dir. flags: the O_* flags the file was opened with. */
int fuse_build_release(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, uint64_t fh,
                       uint32_t flags, bool dir);
int fuse_build_flush(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, uint64_t fh);
/* FSYNC, or FSYNCDIR when dir. */
int fuse_build_fsync(void *buf, size_t cap, uint64_t unique, uint64_t nodeid, uint64_t fh,
                     bool datasync, bool dir);
int fuse_build_statfs(void *buf, size_t cap, uint64_t unique, uint64_t nodeid);

/*
 * ---- replies
 */
struct fuse_reply {
    uint32_t opcode;
    int error;        /* 0, or the server's errno, negative, ≥ -FUSE_MSG_MAX_ERRNO */
    const void *body; /* bytes after the out header */
    uint32_t body_len;
};

/*
 * Checks a reply that the device wrote into one contiguous buffer: written
 * is the byte count the device reported (the used-ring length). For READ,
 * READDIR and READDIRPLUS, read_size is the size requested; for other
 * opcodes it is ignored. Returns 0 with *r filled, -EPROTO for a malformed
 * reply, -EINVAL for an opcode that has no reply or that we do not know.
 *
 * Checked: written ≥ out header; header.len == written; error ≤ 0 and
 * ≥ -4095; unique matches; an error reply is the header alone; a success
 * body has exactly the size of the opcode's reply (LOOKUP/MKDIR entry_out,
 * CREATE entry_out + open_out, GETATTR/SETATTR attr_out, OPEN/OPENDIR
 * open_out, WRITE write_out, STATFS statfs_out, INIT the size its minor
 * implies, UNLINK/RMDIR/RENAME/RELEASE/FLUSH/FSYNC nothing) or, for reads,
 * at most read_size bytes.
 */
int fuse_reply_check(struct fuse_reply *r, const void *buf, size_t written, uint32_t opcode,
                     uint64_t unique, uint32_t read_size);

/*
 * The same for a reply split over two device-writable buffers: the out
 * header in `hdr` (16 bytes) and the body in `body` (body_cap bytes), as a
 * READ into a caller's data buffer is laid out. written counts both.
 */
int fuse_reply_check_split(struct fuse_reply *r, const void *hdr, const void *body, size_t body_cap,
                           size_t written, uint32_t opcode, uint64_t unique, uint32_t read_size);

/* ---- trusted results (fill only from a reply with r->error == 0) */

/* Attributes: mode has a valid file type, size ≤ INT64_MAX, nsec < 1e9. */
struct fuse_attr_info {
    uint64_t ino;
    uint64_t size;
    uint64_t blocks;
    int64_t atime, mtime, ctime; /* seconds since the epoch */
    uint32_t atime_nsec, mtime_nsec, ctime_nsec;
    uint32_t mode; /* FUSE_S_IF* type | permission bits */
    uint32_t nlink;
    uint32_t uid, gid;
    uint32_t rdev;
    uint32_t blksize;
};

struct fuse_entry_info {
    uint64_t nodeid; /* server's node id, opaque; 0 only for a negative LOOKUP */
    uint64_t generation;
    uint64_t entry_ttl_ns; /* how long the name may be cached */
    uint64_t attr_ttl_ns;  /* how long attr may be cached */
    struct fuse_attr_info attr;
};

struct fuse_open_info {
    uint64_t fh;
    uint32_t open_flags; /* FOPEN_* */
};

struct fuse_statfs_info {
    uint64_t blocks, bfree, bavail;
    uint64_t files, ffree;
    uint32_t bsize, namelen, frsize;
};

/* What FUSE_INIT settled; the driver keeps it for the session. */
struct fuse_session_params {
    uint32_t minor;         /* min(ours, the server's) */
    uint32_t flags;         /* FUSE_MSG_INIT_FLAGS & what the server granted */
    uint32_t max_pages;     /* 1..FUSE_MSG_MAX_PAGES */
    uint32_t max_read;      /* bytes per READ/READDIR: max_pages * page */
    uint32_t max_write;     /* bytes per WRITE: page..max_read */
    uint32_t max_readahead; /* ≤ what we offered */
    uint32_t time_gran;     /* ns, 1..1e9 (1 if the server said nothing) */
    uint16_t max_background;
};

/*
 * LOOKUP or MKDIR reply. Returns 0; -ENOENT for a negative LOOKUP entry
 * (nodeid 0; entry_ttl_ns says how long the absence may be cached);
 * -EPROTO for bad attributes, nodeid 0 from MKDIR, or MKDIR giving a
 * non-directory. On -EPROTO with e->nodeid != 0 the server has counted a
 * lookup: the caller should FORGET(e->nodeid, 1). -EINVAL if r is not a
 * successful reply of those opcodes.
 */
int fuse_parse_entry(const struct fuse_reply *r, struct fuse_entry_info *e);
/*
 * CREATE reply: entry (a regular file) then open; *o is filled even on
 * -EPROTO, when the caller should also RELEASE o->fh. Errors as
 * fuse_parse_entry (nodeid 0 is -EPROTO here).
 */
int fuse_parse_create(const struct fuse_reply *r, struct fuse_entry_info *e,
                      struct fuse_open_info *o);
/* GETATTR or SETATTR reply. */
int fuse_parse_attr(const struct fuse_reply *r, struct fuse_attr_info *a, uint64_t *attr_ttl_ns);
/* OPEN or OPENDIR reply. */
int fuse_parse_open(const struct fuse_reply *r, struct fuse_open_info *o);
/* WRITE reply: *written ≤ requested, else -EPROTO. */
int fuse_parse_write(const struct fuse_reply *r, uint32_t requested, uint32_t *written);
int fuse_parse_statfs(const struct fuse_reply *r, struct fuse_statfs_info *s);
/*
 * INIT reply: -EPROTONOSUPPORT if major != 7 or minor < FUSE_MSG_MIN_MINOR,
 * -EPROTO if the size does not match the minor; absurd limits are clamped
 * into the ranges documented in struct fuse_session_params.
 */
int fuse_parse_init(const struct fuse_reply *r, struct fuse_session_params *s);

/*
 * ---- directory records (READDIR / READDIRPLUS reply bodies)
 *
 * Each record: namelen 1..FUSE_NAME_MAX, record length (header + name,
 * rounded up to 8) within the buffer, name without '/' or NUL, type < 16;
 * for READDIRPLUS, the entry's attributes as fuse_parse_entry when its
 * nodeid is not 0. A READDIRPLUS entry with nodeid != 0 counts as a lookup
 * on the server: the VFS must FORGET it when done.
 */
struct fuse_dirent_iter {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    bool plus;
    bool failed;
};

struct fuse_dirent_info {
    uint64_t ino;
    uint64_t off;     /* cookie: the offset to continue reading after this one */
    uint32_t type;    /* DT_* */
    const char *name; /* namelen bytes inside the reply buffer, NOT NUL-terminated */
    uint32_t namelen;
    bool has_entry; /* READDIRPLUS with nodeid != 0 */
    struct fuse_entry_info entry;
};

/* Iterates the body of a successful READDIR (plus = false) or READDIRPLUS. */
void fuse_dirent_iter_init(struct fuse_dirent_iter *it, const void *body, size_t len, bool plus);
/* 1 and *d for the next record, 0 at the end, -EPROTO (then always) if malformed. */
int fuse_dirent_next(struct fuse_dirent_iter *it, struct fuse_dirent_info *d);

/* ---- cache timeouts */

/* sec + nsec as nanoseconds, nsec clamped below 1e9, saturating at UINT64_MAX. */
uint64_t fuse_ttl_ns(uint64_t sec, uint32_t nsec);
/* now_ns + the timeout, saturating at UINT64_MAX ("valid forever"). */
uint64_t fuse_deadline_ns(uint64_t now_ns, uint64_t sec, uint32_t nsec);

#endif
