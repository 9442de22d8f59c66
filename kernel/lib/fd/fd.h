/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The descriptor table (DESIGN §2, "One descriptor table"): files, sockets
 * and any later kind share one POSIX table. A unit that hands out
 * descriptors defines a struct fd_kind, embeds a struct fd_object in its
 * objects and installs them here; close, read, write, poll and fstat reach
 * the kind's op for the call, so no unit needs to know another.
 *
 * Ops: the kind itself carries close (every descriptor is closed) and the
 * st_mode fstat reports. Each other op a kind has is a record, FD_OP(op,
 * kind, function), in a linker section of that op's own (fd_op_read, ...):
 * the kind's close, mode and records are its ops table. The call that
 * dispatches an op is the only reference to its section, so an image that
 * never calls, say, poll() links no poll op at all (the linker keeps a
 * section named like a C identifier only while __start_<name> is
 * referenced): the web server, which reads files with pread and sockets
 * with recv, links no file write, fstat or socket poll code.
 *
 * Numbers: a new descriptor gets the lowest free number, as POSIX says.
 * 0, 1 and 2 are the console's: always open, and close() on them succeeds
 * and leaves them open.
 *
 * Lifetime: an installed object carries one reference of its unit's for
 * the table. fd_close() empties the slot first (the number is free again at
 * once) and then calls the close op, which drops that reference. An op is
 * called with an object that is installed (or, for close, was until now).
 *
 * Concurrency: nothing here blocks, and threads are cooperative on one CPU,
 * so table changes need no lock. An object found by fd_lookup() is valid
 * until the calling thread blocks; an op that blocks takes a reference of
 * its own first (a close by another thread meanwhile only drops the
 * table's). When threads run on more than one CPU (#12), the table takes a
 * lock and lookups a reference here.
 */
#ifndef MIURA_LIB_FD_H
#define MIURA_LIB_FD_H

#include <stddef.h>
#include <stdint.h>

#define FD_MAX      4096        /* descriptors 0 .. FD_MAX - 1 */
#define FD_CONSOLES 3           /* 0, 1, 2 */
#define FD_MAX_RW   0x7ffff000u /* longest single read/write, as Linux */

struct fd_object;
struct stat;
struct waitq;

typedef int fd_close_op(struct fd_object *o);

/* A kind of descriptor (file, socket, ...); objects point at theirs. */
struct fd_kind {
    /* The descriptor is gone: drop the table's reference. May block. NULL:
     * the descriptor cannot be closed (the console). */
    fd_close_op *close;
    uint32_t mode; /* st_mode that fstat reports for a kind without an fstat op */
};

struct fd_object {
    const struct fd_kind *kind;
    /* Status flags: the access mode (O_RDONLY, O_WRONLY, O_RDWR) and
     * O_APPEND, O_NONBLOCK. fcntl F_GETFL reads them and F_SETFL changes
     * O_APPEND and O_NONBLOCK here; the kind acts on them. */
    uint32_t flags;
};

/*
 * The ops a kind may register. Each returns a negative errno on failure.
 * A kind without an op: read/write -EBADF (not open for it); poll: always
 * ready for reading and writing (a file); fstat: the kind's mode, one link,
 * nothing else; sendfile: sendfile() to it fails with EINVAL.
 *
 * read and write take a position, as pread and pwrite do: at is NULL for
 * the descriptor's own position (read, write: it moves), else the offset
 * (the position stays). A kind without positions gives -ESPIPE for one.
 * read gives at most n bytes (sendfile relies on it).
 */
typedef int64_t fd_read_op(struct fd_object *o, void *buf, size_t n, const int64_t *at);
typedef int64_t fd_write_op(struct fd_object *o, const void *buf, size_t n, const int64_t *at);
/* Readiness now, without blocking: the POLL* bits of events that hold,
 * plus POLLERR and POLLHUP when they do. Sets *wq to the wait queue that is
 * woken whenever this readiness may change, for poll() to sleep on. */
typedef short fd_poll_op(struct fd_object *o, short events, struct waitq **wq);
typedef int fd_fstat_op(struct fd_object *o, struct stat *st);
/* sendfile() to o (out): up to n bytes of in, which it reads with `read`
 * (in's kind's read) at *pos (pos NULL: at in's position, which moves),
 * adding to *pos what it sent. Returns the bytes sent, or a negative errno
 * when it sent none. The caller holds in for the call. */
typedef int64_t fd_sendfile_op(struct fd_object *o, struct fd_object *in, fd_read_op *read,
                               int64_t *pos, size_t n);

struct fd_op {
    const struct fd_kind *kind;
    union {
        fd_read_op *read;
        fd_write_op *write;
        fd_poll_op *poll;
        fd_fstat_op *fstat;
        fd_sendfile_op *sendfile;
    } fn;
};

#define FD_OP(op, kind_var, function)                 \
    static const struct fd_op fd_op_##op##_##kind_var \
        __attribute__((used, section("fd_op_" #op), aligned(8))) = {&(kind_var), {.op = function}}

/* Opens the lowest free number on o, whose kind and flags are set; the
 * table takes the unit's reference. The number, or -EMFILE when every one
 * is taken (the unit keeps its reference then). */
int fd_install(struct fd_object *o);

/* The object open at fd, or NULL (never open, closed, negative). */
struct fd_object *fd_lookup(int fd);

/* close() inside the kernel: 0 or a negative errno (-EBADF, or the op's). */
int fd_close(int fd);

/* For sendfile(), which the unit of in's kind defines (fs: in is a file):
 * out's kind's sendfile op, or -EINVAL when it has none (only sockets do). */
int64_t fd_sendfile(struct fd_object *out, struct fd_object *in, fd_read_op *read, int64_t *pos,
                    size_t n);

/*
 * The POSIX calls defined here (fd.c, poll.c): read, write, close, fstat,
 * fcntl (F_GETFD/F_SETFD: no-ops, FD_CLOEXEC means nothing without exec;
 * F_GETFL/F_SETFL: the status flags above), poll. Host unit tests link them
 * next to the system libc as miura_<name> (lib/libc_name.h), declared here.
 */
#ifdef MIURA_HOST_TEST
#include <poll.h>
#include <sys/types.h>

ssize_t miura_read(int fd, void *buf, size_t n);
ssize_t miura_write(int fd, const void *buf, size_t n);
int miura_close(int fd);
int miura_fstat(int fd, struct stat *st);
int miura_fcntl(int fd, int cmd, ...);
int miura_poll(struct pollfd *fds, nfds_t n, int timeout_ms);
#endif

#endif
