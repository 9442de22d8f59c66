/* SPDX-License-Identifier: BSD-2-Clause */
/* vsock addresses, laid out as Linux's <linux/vm_sockets.h>. */
#ifndef MIURA_LIBC_LINUX_VM_SOCKETS_H
#define MIURA_LIBC_LINUX_VM_SOCKETS_H

#include <sys/socket.h>

#define VMADDR_CID_ANY        (-1U)
#define VMADDR_PORT_ANY       (-1U)
#define VMADDR_CID_HYPERVISOR 0
#define VMADDR_CID_LOCAL      1
#define VMADDR_CID_HOST       2

struct sockaddr_vm {
    sa_family_t svm_family; /* AF_VSOCK */
    unsigned short svm_reserved1;
    unsigned int svm_port;
    unsigned int svm_cid;
    unsigned char svm_zero[4];
};

#endif
