/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The test driver's QEMU: a vhost-user frontend that negotiates features,
 * reads the config, hands over memfd guest memory (two regions) and sets up
 * the rx and tx rings with kick and call eventfds; then guest.c runs.
 */
#include "frontend_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- vhost-user messages ---- */

static int vu_send(struct frontend *fe, uint32_t req, uint32_t flags, const void *payload,
                   uint32_t size, const int *fds, unsigned nfds)
{
    uint8_t buf[12 + 512];
    uint32_t hdr[3] = {req, 1u | flags, size};
    union {
        char c[CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr a;
    } ctl;
    memcpy(buf, hdr, 12);
    memcpy(buf + 12, payload, size);
    struct iovec iov = {buf, 12 + size};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds) {
        mh.msg_control = ctl.c;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    return sendmsg(fe->sock, &mh, MSG_NOSIGNAL) == (ssize_t)(12 + size) ? 0 : -1;
}

static int vu_recv(struct frontend *fe, uint32_t req, void *payload, uint32_t size)
{
    uint32_t hdr[3];
    if (recv(fe->sock, hdr, 12, MSG_WAITALL) != 12 || hdr[0] != req || hdr[2] != size ||
        !(hdr[1] & 4))
        return -1;
    return size == 0 || recv(fe->sock, payload, size, MSG_WAITALL) == (ssize_t)size ? 0 : -1;
}

static int vu_u64(struct frontend *fe, uint32_t req, uint64_t v)
{
    return vu_send(fe, req, 0, &v, 8, NULL, 0);
}

static int vu_state(struct frontend *fe, uint32_t req, uint32_t index, uint32_t num)
{
    uint32_t s[2] = {index, num};
    return vu_send(fe, req, 0, s, 8, NULL, 0);
}

static int vu_fd(struct frontend *fe, uint32_t req, uint32_t index, int fd)
{
    uint64_t v = index;
    return vu_send(fe, req, 0, &v, 8, &fd, 1);
}

int fe_send_raw(struct frontend *fe, const void *buf, size_t len)
{
    return send(fe->sock, buf, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

bool fe_wait_closed(struct frontend *fe, int timeout_ms)
{
    struct pollfd p = {fe->sock, POLLIN, 0};
    char c;
    if (poll(&p, 1, timeout_ms) != 1)
        return false;
    return recv(fe->sock, &c, 1, MSG_DONTWAIT) == 0;
}

/* ---- setup ---- */

static int setup_ring(struct frontend *fe, unsigned q, struct gring *r, uint64_t desc,
                      uint64_t avail, uint64_t used)
{
    struct {
        uint32_t index, flags;
        uint64_t desc, used, avail, log;
    } a = {q,
           0,
           (uint64_t)(uintptr_t)gpa(fe, desc),
           (uint64_t)(uintptr_t)gpa(fe, used),
           (uint64_t)(uintptr_t)gpa(fe, avail),
           0};
    r->desc = gpa(fe, desc);
    r->avail = gpa(fe, avail);
    r->used = gpa(fe, used);
    r->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    r->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->kick < 0 || r->call < 0 || vu_state(fe, VU_SET_VRING_NUM, q, QNUM) ||
        vu_state(fe, VU_SET_VRING_BASE, q, 0) ||
        vu_send(fe, VU_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0) ||
        vu_fd(fe, VU_SET_VRING_KICK, q, r->kick) || vu_fd(fe, VU_SET_VRING_CALL, q, r->call) ||
        vu_state(fe, VU_SET_VRING_ENABLE, q, 1))
        return -1;
    return 0;
}

struct frontend *fe_start(const char *socket_path, char *err, size_t errlen)
{
    struct frontend *fe = calloc(1, sizeof(*fe));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {5, 0};
    uint64_t features, pf, ack;
    const char *what = "socket";
    fe->sock = fe->memfd = fe->cmd_efd = -1;
    fe->rx.kick = fe->rx.call = fe->tx.kick = fe->tx.call = -1;
    pthread_mutex_init(&fe->lock, NULL);
    pthread_cond_init(&fe->cond, NULL);
    fe->next_port = 40000;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path);
    fe->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fe->sock < 0 || connect(fe->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        goto fail;
    setsockopt(fe->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    what = "feature negotiation";
    if (vu_send(fe, VU_GET_FEATURES, 0, NULL, 0, NULL, 0) ||
        vu_recv(fe, VU_GET_FEATURES, &features, 8) || !(features & (1ull << 32)) ||
        !(features & (1ull << 30)) || vu_u64(fe, VU_SET_FEATURES, (1ull << 32) | (1ull << 30)) ||
        vu_send(fe, VU_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0) ||
        vu_recv(fe, VU_GET_PROTOCOL_FEATURES, &pf, 8) || !(pf & (1ull << 9)) ||
        vu_u64(fe, VU_SET_PROTOCOL_FEATURES, pf & ((1ull << 9) | (1ull << 3))) ||
        vu_send(fe, VU_SET_OWNER, 0, NULL, 0, NULL, 0))
        goto fail;
    what = "GET_CONFIG";
    uint8_t cfg[12 + 8] = {0};
    uint32_t ch[3] = {0, 8, 0};
    memcpy(cfg, ch, 12);
    if (vu_send(fe, VU_GET_CONFIG, 0, cfg, sizeof(cfg), NULL, 0) ||
        vu_recv(fe, VU_GET_CONFIG, cfg, sizeof(cfg)))
        goto fail;
    memcpy(&fe->cid, cfg + 12, 8);
    what = "guest memory";
    fe->memfd = memfd_create("guest-ram", MFD_CLOEXEC);
    if (fe->memfd < 0 || ftruncate(fe->memfd, MEM_SIZE) < 0)
        goto fail;
    fe->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fe->memfd, 0);
    if (fe->mem == MAP_FAILED) {
        fe->mem = NULL;
        goto fail;
    }
    struct {
        uint32_t n, pad;
        uint64_t r[2][4];
    } mt = {2,
            0,
            {{0, REGION1, (uint64_t)(uintptr_t)fe->mem, 0},
             {REGION1, MEM_SIZE - REGION1, (uint64_t)(uintptr_t)fe->mem + REGION1, REGION1}}};
    int fds[2] = {fe->memfd, fe->memfd};
    what = "SET_MEM_TABLE";
    if (vu_send(fe, VU_SET_MEM_TABLE, 8 /* NEED_REPLY */, &mt, sizeof(mt), fds, 2) ||
        vu_recv(fe, VU_SET_MEM_TABLE, &ack, 8) || ack != 0)
        goto fail;
    what = "ring setup";
    if (setup_ring(fe, 0, &fe->rx, RX_DESC, RX_AVAIL, RX_USED) ||
        setup_ring(fe, 1, &fe->tx, TX_DESC, TX_AVAIL, TX_USED))
        goto fail;
    for (unsigned i = 0; i < NBUF; i++) {
        guest_post_rx(fe, i);
        fe->tx_free[fe->ntx_free++] = (int)i;
    }
    guest_kick(fe->rx.kick);
    fe->cmd_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fe->cmd_efd < 0 || pthread_create(&fe->thread, NULL, guest_thread, fe))
        goto fail;
    return fe;
fail:
    snprintf(err, errlen, "%s failed (%s)", what, strerror(errno));
    fe->stop = true;
    fe->thread = 0;
    fe_stop(fe);
    return NULL;
}

uint64_t fe_config_cid(struct frontend *fe)
{
    return fe->cid;
}

void fe_stop(struct frontend *fe)
{
    fe->stop = true;
    if (fe->thread)
        pthread_join(fe->thread, NULL);
    int fds[] = {fe->sock,    fe->memfd,   fe->cmd_efd, fe->rx.kick,
                 fe->rx.call, fe->tx.kick, fe->tx.call};
    for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    guest_free_conns(fe);
    if (fe->mem)
        munmap(fe->mem, MEM_SIZE);
    free(fe);
}

unsigned long fe_errors(struct frontend *fe)
{
    return fe->errors;
}
