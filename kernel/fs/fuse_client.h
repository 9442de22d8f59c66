/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * FUSE client: one function per node-level operation, on one session
 * (struct fuse_conn). Requests are built and replies checked by fuse_msg;
 * this layer picks request ids, lays out the buffers for the transport and
 * turns each reply into a trusted result. It keeps no state of its own: the
 * VFS decides what to cache and when to FORGET.
 *
 * Every function returns 0 (or a byte count) on success, else a negative
 * errno: the server's own error (-ENOENT, -EACCES, ...), -ENAMETOOLONG or
 * -EINVAL for a bad name (checked before anything is sent), -EPROTO for a
 * malformed reply, or the transport's error (-EIO, -ENOMEM).
 *
 * Each call blocks the calling thread while the request is in flight; other
 * threads may use the same session meanwhile. Request and small reply
 * buffers live on the caller's stack (under 1 KiB); READ and WRITE data go
 * directly between the server and the caller's buffer.
 */
#ifndef MIURA_FS_FUSE_CLIENT_H
#define MIURA_FS_FUSE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fuse_conn.h"

/*
 * LOOKUP name in directory parent. On success the server has counted one
 * lookup of e->nodeid, which the caller must FORGET in the end. -ENOENT when
 * the name does not exist; e->entry_ttl_ns then says how long that absence
 * may be cached (0 if the server gave no negative entry). A reply the
 * client rejects is forgotten here.
 */
int fuse_lookup(struct fuse_conn *c, uint64_t parent, const char *name, struct fuse_entry_info *e);

/* Drops nlookup lookups of nodeid (no reply). nlookup 0 sends nothing. */
int fuse_forget(struct fuse_conn *c, uint64_t nodeid, uint64_t nlookup);

/* GETATTR; with has_fh, of the open file fh. */
int fuse_getattr(struct fuse_conn *c, uint64_t nodeid, bool has_fh, uint64_t fh,
                 struct fuse_attr_info *a, uint64_t *attr_ttl_ns);

/* SETATTR with the FATTR_* fields of *in; the new attributes come back. */
int fuse_setattr(struct fuse_conn *c, uint64_t nodeid, const struct fuse_setattr_in *in,
                 struct fuse_attr_info *a, uint64_t *attr_ttl_ns);

/* OPEN (OPENDIR when dir) with O_* flags (Linux values). */
int fuse_open(struct fuse_conn *c, uint64_t nodeid, uint32_t flags, bool dir,
              struct fuse_open_info *o);

/*
 * CREATE name in parent and open it. Counts one lookup of e->nodeid, like
 * fuse_lookup, and opens o->fh, which must be released.
 */
int fuse_create(struct fuse_conn *c, uint64_t parent, const char *name, uint32_t flags,
                uint32_t mode, uint32_t umask, struct fuse_entry_info *e, struct fuse_open_info *o);

/*
 * READ len bytes at offset into buf, in requests of at most
 * params.max_read bytes, each straight into buf. Stops at the first short
 * reply (end of file). Returns the bytes read (0 at end of file); an error
 * after some bytes were read returns those bytes.
 */
int64_t fuse_read(struct fuse_conn *c, uint64_t nodeid, uint64_t fh, uint64_t offset, void *buf,
                  size_t len);

/*
 * WRITE len bytes from buf at offset, in requests of at most
 * params.max_write bytes, each straight from buf. Stops at the first short
 * write. Returns the bytes written; an error after some bytes were written
 * returns those bytes.
 */
int64_t fuse_write(struct fuse_conn *c, uint64_t nodeid, uint64_t fh, uint64_t offset,
                   const void *buf, size_t len);

int fuse_flush(struct fuse_conn *c, uint64_t nodeid, uint64_t fh);
int fuse_fsync(struct fuse_conn *c, uint64_t nodeid, uint64_t fh, bool datasync, bool dir);
/* RELEASE (RELEASEDIR when dir); flags as given to open. */
int fuse_release(struct fuse_conn *c, uint64_t nodeid, uint64_t fh, uint32_t flags, bool dir);

/*
 * READDIRPLUS (plus) or READDIR of the open directory fh from cookie
 * offset, at most cap bytes (clamped to params.max_read) into buf. Returns
 * the body length (0 at the end); iterate it with fuse_dirent_iter. Every
 * READDIRPLUS record with a nodeid counts one lookup that the caller must
 * forget.
 */
int fuse_readdir(struct fuse_conn *c, uint64_t nodeid, uint64_t fh, uint64_t offset, bool plus,
                 void *buf, uint32_t cap);

/* MKDIR name in parent; counts one lookup of e->nodeid. */
int fuse_mkdir(struct fuse_conn *c, uint64_t parent, const char *name, uint32_t mode,
               uint32_t umask, struct fuse_entry_info *e);
/* UNLINK (RMDIR when dir) name in parent. */
int fuse_unlink(struct fuse_conn *c, uint64_t parent, const char *name, bool dir);
int fuse_rename(struct fuse_conn *c, uint64_t olddir, const char *oldname, uint64_t newdir,
                const char *newname);
int fuse_statfs(struct fuse_conn *c, uint64_t nodeid, struct fuse_statfs_info *s);

#endif
