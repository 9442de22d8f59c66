/* SPDX-License-Identifier: BSD-2-Clause */
/* miura-vsockd vhost-user message handling: sizes, values, fds, replies, framing. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "vsockd/device.h"
#include "common/log.h"

static uint64_t zero_clock(void)
{
    return 0;
}
static int no_connect(struct vsock_dev *d, uint32_t p)
{
    (void)d;
    (void)p;
    return -1;
}
static const struct vsock_host_ops host = {no_connect, zero_clock};

static struct vsock_dev *dev_new(void)
{
    static struct vsock_dev d;
    log_level = -1;
    device_init(&d, 42, 16, &host);
    return &d;
}

static uint8_t reply[VU_HDR_SIZE + VU_MAX_PAYLOAD];
static size_t reply_len;

/* Handles a message built from header fields and payload; fds may be NULL. */
static int msg(struct vsock_dev *d, uint32_t req, uint32_t flags, const void *payload,
               uint32_t size, int *fds, unsigned nfds)
{
    uint8_t buf[VU_HDR_SIZE + 1024];
    uint32_t hdr[3] = {req, flags, size};
    memcpy(buf, hdr, 12);
    if (size)
        memcpy(buf + 12, payload, size);
    int rc = vu_handle_message(&d->vu, buf, 12 + size, fds, nfds, reply, &reply_len);
    for (unsigned i = 0; i < nfds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return rc;
}

static uint64_t reply_u64(void)
{
    uint64_t v;
    memcpy(&v, reply + 12, 8);
    return v;
}

TEST(get_features_reply)
{
    struct vsock_dev *d = dev_new();
    CHECK_EQ(msg(d, VU_GET_FEATURES, 1, NULL, 0, NULL, 0), 0);
    CHECK_EQ(reply_len, 20);
    uint32_t h[3];
    memcpy(h, reply, 12);
    CHECK_EQ(h[0], VU_GET_FEATURES);
    CHECK_EQ(h[1], VU_FLAG_VERSION | VU_FLAG_REPLY);
    CHECK_EQ(h[2], 8);
    CHECK(reply_u64() & VIRTIO_F_VERSION_1_BIT);
    CHECK(reply_u64() & VU_F_PROTOCOL_FEATURES);
    uint64_t f = VIRTIO_F_VERSION_1_BIT | VU_F_PROTOCOL_FEATURES;
    CHECK_EQ(msg(d, VU_SET_FEATURES, 1, &f, 8, NULL, 0), 0);
    CHECK_EQ(reply_len, 0);
    f |= 1ull << 28; /* indirect descriptors: not offered */
    CHECK_EQ(msg(d, VU_SET_FEATURES, 1, &f, 8, NULL, 0), -1);
}

TEST(malformed_messages)
{
    struct vsock_dev *d = dev_new();
    uint8_t buf[64] = {0};
    uint32_t hdr[3] = {VU_GET_FEATURES, 1, 0};
    memcpy(buf, hdr, 12);
    CHECK_EQ(vu_handle_message(&d->vu, buf, 11, NULL, 0, reply, &reply_len), -1); /* truncated */
    CHECK_EQ(vu_handle_message(&d->vu, buf, 13, NULL, 0, reply, &reply_len), -1); /* trailing */
    hdr[2] = VU_MAX_PAYLOAD + 1;
    memcpy(buf, hdr, 12);
    CHECK_EQ(vu_handle_message(&d->vu, buf, 12, NULL, 0, reply, &reply_len), -1); /* oversized */
    CHECK_EQ(msg(d, VU_GET_FEATURES, 2, NULL, 0, NULL, 0), -1);                   /* version 2 */
    CHECK_EQ(msg(d, 99, 1, NULL, 0, NULL, 0), -1);                                /* unknown */
    CHECK(strstr(d->vu.error, "unsupported") != NULL);
    uint32_t four = 4;
    CHECK_EQ(msg(d, VU_SET_FEATURES, 1, &four, 4, NULL, 0), -1); /* short payload */
    CHECK_EQ(msg(d, VU_SET_OWNER, 1, &four, 4, NULL, 0), -1);    /* payload where none */
    uint32_t st[2] = {0, 256};
    CHECK_EQ(msg(d, VU_SET_VRING_NUM, 1, st, 4, NULL, 0), -1);
}

TEST(protocol_features_and_reply_ack)
{
    struct vsock_dev *d = dev_new();
    CHECK_EQ(msg(d, VU_GET_PROTOCOL_FEATURES, 1, NULL, 0, NULL, 0), 0);
    CHECK(reply_u64() & VU_PROTOCOL_F_CONFIG);
    uint64_t pf = VU_PROTOCOL_F_CONFIG | VU_PROTOCOL_F_REPLY_ACK | (1ull << 16);
    CHECK_EQ(msg(d, VU_SET_PROTOCOL_FEATURES, 1, &pf, 8, NULL, 0), -1); /* STATUS not offered */
    pf = VU_PROTOCOL_F_CONFIG | VU_PROTOCOL_F_REPLY_ACK;
    CHECK_EQ(msg(d, VU_SET_PROTOCOL_FEATURES, 1, &pf, 8, NULL, 0), 0);
    CHECK_EQ(msg(d, VU_SET_OWNER, 1 | VU_FLAG_NEED_REPLY, NULL, 0, NULL, 0), 0);
    CHECK_EQ(reply_len, 20);
    CHECK_EQ(reply_u64(), 0);
    CHECK_EQ(msg(d, VU_SET_OWNER, 1, NULL, 0, NULL, 0), 0);
    CHECK_EQ(reply_len, 0);
}

TEST(get_config_gives_cid)
{
    struct vsock_dev *d = dev_new();
    uint8_t p[12 + 8] = {0};
    uint32_t h[3] = {0, 8, 0};
    memcpy(p, h, 12);
    CHECK_EQ(msg(d, VU_GET_CONFIG, 1, p, 20, NULL, 0), 0);
    CHECK_EQ(reply_len, 12 + 20);
    uint64_t cid;
    memcpy(&cid, reply + 24, 8);
    CHECK_EQ(cid, 42);
    h[0] = 4; /* offset 4: the high half, then zeros */
    memcpy(p, h, 12);
    CHECK_EQ(msg(d, VU_GET_CONFIG, 1, p, 20, NULL, 0), 0);
    memcpy(&cid, reply + 24, 8);
    CHECK_EQ(cid, 0);
    h[0] = 0;
    h[1] = 16; /* claims 16 bytes in an 8-byte payload */
    memcpy(p, h, 12);
    CHECK_EQ(msg(d, VU_GET_CONFIG, 1, p, 20, NULL, 0), -1);
    h[1] = 100000;
    memcpy(p, h, 12);
    CHECK_EQ(msg(d, VU_GET_CONFIG, 1, p, 20, NULL, 0), -1);
}

static int memfd_of(size_t size)
{
    int fd = memfd_create("t", MFD_CLOEXEC);
    if (fd >= 0 && ftruncate(fd, (off_t)size) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

struct memtable {
    uint32_t n, pad;
    uint64_t r[9][4];
};

TEST(mem_table)
{
    struct vsock_dev *d = dev_new();
    struct memtable t = {1, 0, {{0x1000, 0x10000, 0x7f0000, 0}}};
    int fds[2] = {memfd_of(0x10000), -1};
    CHECK_EQ(msg(d, VU_SET_MEM_TABLE, 1, &t, 8 + 32, fds, 1), 0);
    CHECK_EQ(d->vu.mem.count, 1);
    CHECK(vu_gpa_to_host(&d->vu.mem, 0x1000, 0x10000) != NULL);
    CHECK(vu_gpa_to_host(&d->vu.mem, 0x1000, 0x10001) == NULL);
    /* Writes through the mapping land in the region. */
    memset(vu_gpa_to_host(&d->vu.mem, 0x1000, 16), 0xab, 16);
    /* fd count mismatch, size mismatch, too many regions, region beyond its file, overlap. */
    fds[0] = memfd_of(0x10000);
    CHECK_EQ(msg(d, VU_SET_MEM_TABLE, 1, &t, 8 + 32, fds, 0), -1);
    close(fds[0]);
    fds[0] = memfd_of(0x10000);
    CHECK_EQ(msg(d, VU_SET_MEM_TABLE, 1, &t, 8 + 31, fds, 1), -1);
    t.n = 9;
    fds[0] = memfd_of(0x10000);
    CHECK_EQ(msg(d, VU_SET_MEM_TABLE, 1, &t, 8 + 9 * 32, fds, 1), -1);
    t.n = 1;
    t.r[0][3] = 0x1000; /* mmap_offset: region would end past the file */
    fds[0] = memfd_of(0x10000);
    CHECK_EQ(msg(d, VU_SET_MEM_TABLE, 1, &t, 8 + 32, fds, 1), -1);
    t.r[0][3] = UINT64_MAX - 10; /* offset overflow */
    fds[0] = memfd_of(0x10000);
    CHECK_EQ(msg(d, VU_SET_MEM_TABLE, 1, &t, 8 + 32, fds, 1), -1);
    struct memtable o = {2, 0, {{0, 0x10000, 0x100000, 0}, {0x8000, 0x10000, 0x200000, 0}}};
    fds[0] = memfd_of(0x10000);
    fds[1] = memfd_of(0x10000);
    CHECK_EQ(msg(d, VU_SET_MEM_TABLE, 1, &o, 8 + 64, fds, 2), -1);
    /* The good table is still in place after the failures. */
    CHECK_EQ(d->vu.mem.count, 1);
    CHECK_EQ(*(uint8_t *)vu_gpa_to_host(&d->vu.mem, 0x1000, 1), 0xab);
    vu_backend_reset(&d->vu);
    CHECK_EQ(d->vu.mem.count, 0);
}

TEST(vring_setup_and_stop)
{
    struct vsock_dev *d = dev_new();
    struct memtable t = {1, 0, {{0, 0x10000, 0x7f0000, 0}}};
    int fds[1] = {memfd_of(0x10000)};
    uint64_t f = VIRTIO_F_VERSION_1_BIT | VU_F_PROTOCOL_FEATURES;
    CHECK_EQ(msg(d, VU_SET_FEATURES, 1, &f, 8, NULL, 0), 0);
    CHECK_EQ(msg(d, VU_SET_MEM_TABLE, 1, &t, 40, fds, 1), 0);
    uint32_t st[2] = {1, 0};
    CHECK_EQ(msg(d, VU_SET_VRING_NUM, 1, st, 8, NULL, 0), -1); /* 0 */
    st[1] = 100;
    CHECK_EQ(msg(d, VU_SET_VRING_NUM, 1, st, 8, NULL, 0), -1); /* not a power of two */
    st[1] = 65536;
    CHECK_EQ(msg(d, VU_SET_VRING_NUM, 1, st, 8, NULL, 0), -1);
    st[0] = 2;
    st[1] = 64;
    CHECK_EQ(msg(d, VU_SET_VRING_NUM, 1, st, 8, NULL, 0), -1); /* event queue: not ours */
    st[0] = 1;
    CHECK_EQ(msg(d, VU_SET_VRING_NUM, 1, st, 8, NULL, 0), 0);
    st[1] = 7;
    CHECK_EQ(msg(d, VU_SET_VRING_BASE, 1, st, 8, NULL, 0), 0);
    struct {
        uint32_t index, flags;
        uint64_t desc, used, avail, log;
    } a = {1, 0, 0x7f0000 + 0x10000, 0x7f2000, 0x7f1000, 0};
    CHECK_EQ(msg(d, VU_SET_VRING_ADDR, 1, &a, sizeof(a), NULL, 0), -1); /* desc outside */
    a.desc = 0x7f0000;
    CHECK_EQ(msg(d, VU_SET_VRING_ADDR, 1, &a, sizeof(a), NULL, 0), 0);
    uint64_t v = 1 | VU_VRING_NOFD;
    CHECK_EQ(msg(d, VU_SET_VRING_KICK, 1, &v, 8, NULL, 0), -1); /* polling: unsupported */
    v = 1;
    CHECK_EQ(msg(d, VU_SET_VRING_KICK, 1, &v, 8, NULL, 0), -1); /* fd missing */
    /* A frontend that never sends SET_VRING_ENABLE: started means enabled. */
    int kfd[1] = {eventfd(0, EFD_CLOEXEC)};
    CHECK_EQ(msg(d, VU_SET_VRING_KICK, 1, &v, 8, kfd, 1), 0);
    CHECK(d->vu.vq[1].started && d->vu.vq[1].enabled);
    /* One that does: the ring starts disabled... */
    st[1] = 0;
    CHECK_EQ(msg(d, VU_SET_VRING_ENABLE, 1, st, 8, NULL, 0), 0);
    kfd[0] = eventfd(0, EFD_CLOEXEC);
    CHECK_EQ(msg(d, VU_SET_VRING_KICK, 1, &v, 8, kfd, 1), 0);
    CHECK(d->vu.vq[1].started);
    CHECK(!d->vu.vq[1].enabled);
    v = 1 | VU_VRING_NOFD;
    CHECK_EQ(msg(d, VU_SET_VRING_CALL, 1, &v, 8, NULL, 0), 0);
    st[1] = 1;
    CHECK_EQ(msg(d, VU_SET_VRING_ENABLE, 1, st, 8, NULL, 0), 0);
    CHECK(vq_ready(&d->vu.vq[1])); /* ...until SET_VRING_ENABLE */
    st[1] = 2;
    CHECK_EQ(msg(d, VU_SET_VRING_ENABLE, 1, st, 8, NULL, 0), -1);
    st[1] = 0;
    CHECK_EQ(msg(d, VU_GET_VRING_BASE, 1, st, 8, NULL, 0), 0);
    uint32_t got[2];
    memcpy(got, reply + 12, 8);
    CHECK_EQ(got[0], 1);
    CHECK_EQ(got[1], 7);
    CHECK(!d->vu.vq[1].started);
    CHECK_EQ(d->vu.vq[1].kick_fd, -1);
    vu_backend_reset(&d->vu);
}

/* Framing over a real socket: a header in pieces, fds riding along, replies, EOF. */
TEST(service_framing)
{
    struct vsock_dev *d = dev_new();
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    uint32_t h[3] = {VU_GET_FEATURES, 1, 0};
    CHECK_EQ(vu_service(&d->vu, sv[0]), 0); /* nothing yet */
    CHECK_EQ(send(sv[1], h, 5, 0), 5);
    CHECK_EQ(vu_service(&d->vu, sv[0]), 0);
    CHECK_EQ(send(sv[1], (uint8_t *)h + 5, 7, 0), 7);
    CHECK_EQ(vu_service(&d->vu, sv[0]), 1);
    uint8_t r[20];
    CHECK_EQ(recv(sv[1], r, sizeof(r), 0), 20);
    /* SET_VRING_CALL with its eventfd as SCM_RIGHTS. */
    struct {
        uint32_t h[3];
        uint64_t v;
    } __attribute__((packed)) m = {{VU_SET_VRING_CALL, 1, 8}, 0};
    int efd = eventfd(0, EFD_CLOEXEC);
    union {
        char c[CMSG_SPACE(sizeof(int))];
        struct cmsghdr a;
    } ctl;
    struct iovec iov = {&m, sizeof(m)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.c, .msg_controllen = sizeof(ctl.c)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &efd, sizeof(int));
    CHECK_EQ(sendmsg(sv[1], &mh, 0), (ssize_t)sizeof(m));
    close(efd);
    CHECK_EQ(vu_service(&d->vu, sv[0]), 1);
    CHECK(d->vu.vq[0].call_fd >= 0);
    /* Oversized size field: error before reading the payload. */
    uint32_t big[3] = {VU_SET_FEATURES, 1, 1u << 20};
    CHECK_EQ(send(sv[1], big, 12, 0), 12);
    CHECK_EQ(vu_service(&d->vu, sv[0]), -1);
    vu_backend_reset(&d->vu);
    close(sv[1]);
    CHECK_EQ(vu_service(&d->vu, sv[0]), -1); /* EOF */
    close(sv[0]);
}
