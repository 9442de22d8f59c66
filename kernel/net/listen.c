/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura_listen_port: the listening socket an appliance serves on, a vsock port in
 * the guest. The Linux build of an appliance links sdk/linux/start.c's
 * instead (a TCP listener): this function is the seam between the two.
 */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <unistd.h>

#include "miura/miura.h"

int miura_listen_port(unsigned port, int backlog)
{
    struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, backlog) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}
