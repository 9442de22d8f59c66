/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The descriptor table and the POSIX calls that take any descriptor:
 * read, write, close, fstat, fcntl (poll is in poll.c). Contract: fd.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/console.h"
#include "lib/fd/fd.h"
#include "lib/fd/fd_op.h"
#include "lib/fd/fd_port.h"
#include "lib/libc_name.h"
#include "lib/posix_result.h"

/* fcntl F_SETFL changes these; the access mode stays. */
#define SETFL_FLAGS (O_APPEND | O_NONBLOCK)

FD_OP_SECTION(read);
FD_OP_SECTION(write);
FD_OP_SECTION(fstat);

static struct fd_object *table[FD_MAX]; /* 0..FD_CONSOLES - 1 unused: the console's */

/* ---- the console: 0 reads as end of file, 1 and 2 write to it. read and
 * write handle it themselves; its object gives fstat, fcntl and the kinds'
 * typed lookups something to look at. */

static const struct fd_kind console_kind = {NULL, S_IFCHR | 0620};
static struct fd_object console; /* set up at first use: no data in the image */

/* ---- the table */

#ifndef MIURA_HOST_TEST
__attribute__((noreturn, cold)) void fd_io_stop(void)
{
    panic("fd: descriptor table used outside the I/O section (CPU %u)", arch_cpu_index());
}
#endif

int fd_install(struct fd_object *o)
{
    fd_io_check();
    for (int fd = FD_CONSOLES; fd < FD_MAX; fd++) {
        if (!table[fd]) {
            table[fd] = o;
            return fd;
        }
    }
    return -EMFILE;
}

struct fd_object *fd_lookup(int fd)
{
    if (fd < 0 || fd >= FD_MAX)
        return NULL;
    if (fd < FD_CONSOLES) {
        if (!console.kind)
            console = (struct fd_object){&console_kind, O_RDWR};
        return &console;
    }
    fd_io_check();
    return table[fd];
}

int fd_close(int fd)
{
    struct fd_object *o = fd_lookup(fd);

    if (!o)
        return -EBADF;
    if (!o->kind->close)
        return 0; /* the console stays */
    table[fd] = NULL;
    return o->kind->close(o);
}

/* ---- the POSIX calls */

static ssize_t do_read(int fd, void *buf, size_t n)
{
    struct fd_object *o = fd_lookup(fd);
    const struct fd_op *op = o ? fd_op_find(read, o) : NULL;

    if (fd == STDIN_FILENO)
        return 0; /* no console input: end of file */
    return posix_result(op ? op->fn.read(o, buf, n, NULL) : -EBADF);
}

static ssize_t do_write(int fd, const void *buf, size_t n)
{
    struct fd_object *o = fd_lookup(fd);
    const struct fd_op *op = o ? fd_op_find(write, o) : NULL;

    if (fd == STDOUT_FILENO || fd == STDERR_FILENO) {
        if (n > FD_MAX_RW)
            n = FD_MAX_RW;
        console_write(buf, n);
        return (ssize_t)n;
    }
    return posix_result(op ? op->fn.write(o, buf, n, NULL) : -EBADF);
}

ssize_t LIBC_NAME(read)(int fd, void *buf, size_t n)
{
    return IO_CALL(do_read(fd, buf, n));
}

ssize_t LIBC_NAME(write)(int fd, const void *buf, size_t n)
{
    if (fd == STDOUT_FILENO || fd == STDERR_FILENO)
        return do_write(fd, buf, n); /* the console has a lock of its own */
    return IO_CALL(do_write(fd, buf, n));
}

int LIBC_NAME(close)(int fd)
{
    return (int)posix_result(IO_CALL(fd_close(fd)));
}

static int do_fstat(int fd, struct stat *st)
{
    struct fd_object *o = fd_lookup(fd);
    const struct fd_op *op;

    if (!o)
        return (int)posix_result(-EBADF);
    op = fd_op_find(fstat, o);
    if (op)
        return (int)posix_result(op->fn.fstat(o, st));
    memset(st, 0, sizeof(*st));
    st->st_mode = o->kind->mode;
    st->st_nlink = 1;
    st->st_blksize = 1024;
    return 0;
}

int LIBC_NAME(fstat)(int fd, struct stat *st)
{
    return IO_CALL(do_fstat(fd, st));
}

static int do_fcntl(int fd, int cmd, long arg)
{
    struct fd_object *o = fd_lookup(fd);

    if (!o)
        return (int)posix_result(-EBADF);
    switch (cmd) {
    case F_GETFD:
    case F_SETFD:
        return 0; /* FD_CLOEXEC means nothing without exec */
    case F_GETFL:
        return (int)(o->flags & (O_ACCMODE | SETFL_FLAGS));
    case F_SETFL:
        o->flags = (o->flags & ~(uint32_t)SETFL_FLAGS) | ((uint32_t)arg & SETFL_FLAGS);
        return 0;
    default:
        return (int)posix_result(-EINVAL);
    }
}

int LIBC_NAME(fcntl)(int fd, int cmd, ...)
{
    long arg = 0;
    va_list ap;

    if (cmd == F_SETFL || cmd == F_SETFD) {
        va_start(ap, cmd);
        arg = va_arg(ap, int);
        va_end(ap);
    }
    return IO_CALL(do_fcntl(fd, cmd, arg));
}
