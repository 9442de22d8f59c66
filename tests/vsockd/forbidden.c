/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Linked only into the test-only miura-vsockd-forbidden: on a control
 * request, what an exploited daemon would try first, opening a host file.
 * openat is not on the allow-list, so the process ends by SIGSYS with the
 * line "miura-vsockd: seccomp: system call 257 (openat) is not allowed".
 */
#include <fcntl.h>
#include <unistd.h>

void vsockd_test_on_control(void);

void vsockd_test_on_control(void)
{
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        close(fd); /* unconfined (--unconfined): it may */
}
