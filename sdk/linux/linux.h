/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Linux build of an appliance (docs/appliances.md, "Test on Linux"):
 * the appliance's own source, the HTTP component and these files, linked
 * with glibc into an ordinary program. What differs from the guest is kept
 * here, behind the same calls (the headers of include/miura):
 *
 *   start.c   main (options --share, --publish; the words become the
 *             command line), the clocks, memory, miura_listen_port (a TCP
 *             listener: the seam), miura_poweroff;
 *   thread.c  miura/thread.h on POSIX threads, run one at a time (the CPU);
 *   libc.c    the blocking calls of the libc subset, which let the other
 *             threads run meanwhile; paths inside the share (path.c); no
 *             AF_VSOCK.
 *
 * Threads: in the guest, the threads of a CPU are cooperative: one runs
 * until it blocks or yields, so code between two blocking calls needs no
 * lock (the HTTP component and examples/kv rely on it). Here every thread
 * holds "the CPU" (linux_cpu_enter) while it runs the appliance's code and
 * gives it up (linux_cpu_leave) only around the calls that block in the
 * guest too: socket and file calls, sleeps, yield, join. The CPU is handed
 * over in the order it was asked for (a ticket lock), as the guest's run
 * queue does.
 *
 * The appliance's references to main and to those libc calls are bound to
 * the __wrap_ functions here by the linker (-Wl,--wrap=NAME; the list is
 * MIURA_LINUX_WRAP in appliance.mk); __real_NAME is glibc's.
 */
#ifndef MIURA_SDK_LINUX_H
#define MIURA_SDK_LINUX_H

#include <errno.h>

void linux_cpu_enter(void);
void linux_cpu_leave(void);

/* Runs `call` (an expression) without the CPU; errno is the call's. */
#define LINUX_BLOCKING(call)                \
    ({                                      \
        linux_cpu_leave();                  \
        __typeof__(call) linux_r_ = (call); \
        int linux_e_ = errno;               \
        linux_cpu_enter();                  \
        errno = linux_e_;                   \
        linux_r_;                           \
    })

/*
 * path as a path relative to the current directory (the share's top) into
 * out: components joined by '/', without empty ones and ".", a ".." taking
 * the one before it off (none at the top: as the guest's VFS); "." for the
 * top itself; a trailing '/' kept (it asks for a directory). 0, or -1 with
 * errno ENAMETOOLONG or ENOENT (an empty path).
 */
#define LINUX_PATH_MAX 4096
int linux_share_path(const char *path, char out[LINUX_PATH_MAX]);

/* The calling thread becomes the first of the appliance (main's). */
void linux_thread_start(void);

/* The program's name for messages (argv[0]'s last component). */
extern const char *linux_program;

#endif
