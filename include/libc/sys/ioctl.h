/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ioctl: on sockets only, the two queue sizes Linux gives (values are Linux
 * x86-64's): FIONREAD / SIOCINQ, the bytes received and not yet read, and
 * TIOCOUTQ / SIOCOUTQ, the bytes sent and not yet consumed by the peer (as
 * far as its last header said). The argument is an int *. Other requests fail with
 * ENOTTY, other descriptors with ENOTTY too (EBADF if not open).
 */
#ifndef MIURA_LIBC_SYS_IOCTL_H
#define MIURA_LIBC_SYS_IOCTL_H

#define FIONREAD 0x541b
#define TIOCINQ  FIONREAD
#define TIOCOUTQ 0x5411
#define SIOCINQ  FIONREAD
#define SIOCOUTQ TIOCOUTQ

int ioctl(int fd, unsigned long request, ...);

#endif
