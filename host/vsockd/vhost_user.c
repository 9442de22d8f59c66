/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vhost-user message handling. One handler per request; each checks the
 * payload size first and the values next, and fails with a reason.
 */
#include "vsockd/vhost_user.h"
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct vu_state_msg {
    uint32_t index;
    uint32_t num;
};

struct vu_addr_msg {
    uint32_t index;
    uint32_t flags;
    uint64_t desc_uva;
    uint64_t used_uva;
    uint64_t avail_uva;
    uint64_t log_gpa;
};

struct vu_region_msg {
    uint64_t gpa;
    uint64_t size;
    uint64_t uva;
    uint64_t mmap_offset;
};

struct vu_config_hdr {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
};

/* One request being handled: its payload, fds and the reply being built. */
struct vu_req {
    uint32_t request;
    uint32_t flags;
    const uint8_t *payload;
    uint32_t size;
    int *fds;
    unsigned nfds;
    uint8_t *reply_payload; /* VU_MAX_PAYLOAD bytes */
    uint32_t reply_size;
    bool has_reply;
};

static int fail(struct vu_backend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct vu_backend *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->error, sizeof(b->error), fmt, ap);
    va_end(ap);
    return -1;
}

static uint64_t offered_features(const struct vu_backend *b)
{
    return b->ops->features | VIRTIO_F_VERSION_1_BIT | VU_F_PROTOCOL_FEATURES;
}

static const uint64_t offered_protocol = VU_PROTOCOL_F_CONFIG | VU_PROTOCOL_F_REPLY_ACK;

void vu_backend_init(struct vu_backend *b, const struct vu_device_ops *ops, void *ctx)
{
    memset(b, 0, sizeof(*b));
    b->ops = ops;
    b->ctx = ctx;
    for (unsigned i = 0; i < VU_NUM_QUEUES; i++)
        vq_init(&b->vq[i]);
    for (unsigned i = 0; i < VU_MAX_FDS; i++)
        b->fds[i] = -1;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void stop_queue(struct vu_backend *b, unsigned i)
{
    struct virtqueue *vq = &b->vq[i];
    if (vq->kick_fd >= 0)
        b->ops->kick_unwatch(b->ctx, i, vq->kick_fd);
    close_fd(&vq->kick_fd);
    vq->started = false;
}

static void reset_queues(struct vu_backend *b)
{
    for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
        stop_queue(b, i);
        close_fd(&b->vq[i].call_fd);
        close_fd(&b->vq[i].err_fd);
        vq_init(&b->vq[i]);
    }
}

void vu_backend_reset(struct vu_backend *b)
{
    b->ops->reset(b->ctx);
    reset_queues(b);
    vu_mem_clear(&b->mem);
    for (unsigned i = 0; i < b->nfds; i++)
        close_fd(&b->fds[i]);
    b->nfds = 0;
    b->have = 0;
    b->features = 0;
    b->protocol_features = 0;
    b->owner = false;
    b->enable_seen = false;
}

static int want_size(struct vu_backend *b, const struct vu_req *r, uint32_t size)
{
    if (r->size != size)
        return fail(b, "request %u: payload %u bytes, want %u", r->request, r->size, size);
    return 0;
}

static int get_u64(struct vu_backend *b, const struct vu_req *r, uint64_t *v)
{
    if (want_size(b, r, sizeof(*v)))
        return -1;
    memcpy(v, r->payload, sizeof(*v));
    return 0;
}

static void reply_u64(struct vu_req *r, uint64_t v)
{
    memcpy(r->reply_payload, &v, sizeof(v));
    r->reply_size = sizeof(v);
    r->has_reply = true;
}

static int get_state(struct vu_backend *b, const struct vu_req *r, struct vu_state_msg *s)
{
    if (want_size(b, r, sizeof(*s)))
        return -1;
    memcpy(s, r->payload, sizeof(*s));
    if (s->index >= VU_NUM_QUEUES)
        return fail(b, "request %u: queue index %u out of range", r->request, s->index);
    return 0;
}

static int handle_set_features(struct vu_backend *b, struct vu_req *r)
{
    uint64_t f;
    if (get_u64(b, r, &f))
        return -1;
    if (f & ~offered_features(b))
        return fail(b, "SET_FEATURES: %#llx not offered",
                    (unsigned long long)(f & ~offered_features(b)));
    b->features = f;
    for (unsigned i = 0; i < VU_NUM_QUEUES; i++)
        b->vq[i].event_idx = (f >> VIRTIO_F_RING_EVENT_IDX) & 1;
    return 0;
}

static int handle_set_protocol_features(struct vu_backend *b, struct vu_req *r)
{
    uint64_t f;
    if (get_u64(b, r, &f))
        return -1;
    if (f & ~offered_protocol)
        return fail(b, "SET_PROTOCOL_FEATURES: %#llx not offered",
                    (unsigned long long)(f & ~offered_protocol));
    b->protocol_features = f;
    return 0;
}

/* Maps one region's fd; the fd is closed here either way (the mapping stays). */
static int map_region(struct vu_backend *b, const struct vu_region_msg *m, int fd,
                      struct vu_region *out)
{
    struct stat st;
    int rc = -1;
    if (m->size == 0 || m->size > SIZE_MAX / 2 || m->mmap_offset > SIZE_MAX / 2 - m->size ||
        m->gpa > UINT64_MAX - m->size || m->uva > UINT64_MAX - m->size) {
        fail(b, "SET_MEM_TABLE: region size/offset out of range");
        goto out;
    }
    /* A region past the end of its file would SIGBUS on access. */
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < m->mmap_offset + m->size) {
        fail(b, "SET_MEM_TABLE: region larger than its file");
        goto out;
    }
    size_t len = m->mmap_offset + m->size;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED) {
        fail(b, "SET_MEM_TABLE: mmap: %s", strerror(errno));
        goto out;
    }
    out->gpa = m->gpa;
    out->size = m->size;
    out->uva = m->uva;
    out->map = p;
    out->map_len = len;
    out->host = (uint8_t *)p + m->mmap_offset;
    rc = 0;
out:
    close(fd);
    return rc;
}

static bool regions_overlap(const struct vu_mem *mem)
{
    for (unsigned i = 0; i < mem->count; i++)
        for (unsigned j = i + 1; j < mem->count; j++) {
            const struct vu_region *a = &mem->region[i], *c = &mem->region[j];
            if (a->gpa < c->gpa + c->size && c->gpa < a->gpa + a->size)
                return true;
        }
    return false;
}

static int handle_set_mem_table(struct vu_backend *b, struct vu_req *r)
{
    uint32_t nregions;
    struct vu_mem mem;
    if (r->size < 8)
        return fail(b, "SET_MEM_TABLE: payload %u bytes, too short", r->size);
    memcpy(&nregions, r->payload, sizeof(nregions));
    if (nregions == 0 || nregions > VU_MAX_REGIONS)
        return fail(b, "SET_MEM_TABLE: %u regions", nregions);
    if (want_size(b, r, 8 + nregions * (uint32_t)sizeof(struct vu_region_msg)))
        return -1;
    if (r->nfds != nregions)
        return fail(b, "SET_MEM_TABLE: %u fds for %u regions", r->nfds, nregions);
    memset(&mem, 0, sizeof(mem));
    for (uint32_t i = 0; i < nregions; i++) {
        struct vu_region_msg m;
        memcpy(&m, r->payload + 8 + i * sizeof(m), sizeof(m));
        int fd = r->fds[i];
        r->fds[i] = -1;
        if (map_region(b, &m, fd, &mem.region[mem.count]) < 0) {
            for (uint32_t j = i + 1; j < nregions; j++)
                close_fd(&r->fds[j]);
            vu_mem_clear(&mem);
            return -1;
        }
        mem.count++;
    }
    if (regions_overlap(&mem)) {
        vu_mem_clear(&mem);
        return fail(b, "SET_MEM_TABLE: regions overlap");
    }
    vu_mem_clear(&b->mem);
    b->mem = mem;
    /* The rings may live in the new table at other host addresses. */
    for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
        struct virtqueue *vq = &b->vq[i];
        if (vq->addr_set && !vq_translate(vq, &b->mem))
            vq->broken = true;
        b->ops->queue_changed(b->ctx, i);
    }
    return 0;
}

static int handle_set_vring_num(struct vu_backend *b, struct vu_req *r)
{
    struct vu_state_msg s;
    if (get_state(b, r, &s))
        return -1;
    /* Power of two: u16 ring indices wrap consistently modulo num. */
    if (s.num == 0 || s.num > VIRTQ_MAX_SIZE || (s.num & (s.num - 1)))
        return fail(b, "SET_VRING_NUM: bad size %u", s.num);
    if (b->vq[s.index].started)
        return fail(b, "SET_VRING_NUM: queue %u is running", s.index);
    b->vq[s.index].num = s.num;
    return 0;
}

static int handle_set_vring_addr(struct vu_backend *b, struct vu_req *r)
{
    struct vu_addr_msg a;
    if (want_size(b, r, sizeof(a)))
        return -1;
    memcpy(&a, r->payload, sizeof(a));
    if (a.index >= VU_NUM_QUEUES)
        return fail(b, "SET_VRING_ADDR: queue index %u out of range", a.index);
    struct virtqueue *vq = &b->vq[a.index];
    vq->desc_uva = a.desc_uva;
    vq->avail_uva = a.avail_uva;
    vq->used_uva = a.used_uva;
    vq->addr_set = true;
    if (!vq_translate(vq, &b->mem))
        return fail(b, "SET_VRING_ADDR: queue %u rings outside guest memory or misaligned",
                    a.index);
    b->ops->queue_changed(b->ctx, a.index);
    return 0;
}

static int handle_set_vring_base(struct vu_backend *b, struct vu_req *r)
{
    struct vu_state_msg s;
    if (get_state(b, r, &s))
        return -1;
    if (s.num > 0xffff)
        return fail(b, "SET_VRING_BASE: base %u", s.num);
    b->vq[s.index].last_avail = (uint16_t)s.num;
    b->vq[s.index].used_idx = (uint16_t)s.num;
    b->vq[s.index].broken = false; /* the frontend sets the ring up afresh */
    b->vq[s.index].signalled_valid = false;
    return 0;
}

static int handle_get_vring_base(struct vu_backend *b, struct vu_req *r)
{
    struct vu_state_msg s;
    if (get_state(b, r, &s))
        return -1;
    /* vhost-user.rst: GET_VRING_BASE stops the ring. */
    struct virtqueue *vq = &b->vq[s.index];
    vq_notify(vq);
    stop_queue(b, s.index);
    b->ops->queue_changed(b->ctx, s.index);
    s.num = vq->last_avail;
    memcpy(r->reply_payload, &s, sizeof(s));
    r->reply_size = sizeof(s);
    r->has_reply = true;
    return 0;
}

static int handle_vring_fd(struct vu_backend *b, struct vu_req *r)
{
    uint64_t v;
    if (get_u64(b, r, &v))
        return -1;
    unsigned index = v & VU_VRING_IDX_MASK;
    bool nofd = v & VU_VRING_NOFD;
    if (index >= VU_NUM_QUEUES)
        return fail(b, "request %u: queue index %u out of range", r->request, index);
    if (r->nfds != (nofd ? 0u : 1u))
        return fail(b, "request %u: %u fds with%s NOFD flag", r->request, r->nfds,
                    nofd ? "" : "out");
    int fd = nofd ? -1 : r->fds[0];
    struct virtqueue *vq = &b->vq[index];
    switch (r->request) {
    case VU_SET_VRING_KICK:
        if (nofd)
            return fail(b, "SET_VRING_KICK: polling mode is not supported");
        stop_queue(b, index);
        vq->kick_fd = fd;
        vq->started = true;
        /*
         * Without protocol features a ring is enabled as soon as it starts.
         * With them it starts disabled, but some QEMU versions negotiate
         * them for vhost-user-vsock and never send SET_VRING_ENABLE; so
         * until the frontend has sent one, a started ring counts as enabled.
         */
        if (!(b->features & VU_F_PROTOCOL_FEATURES) || !b->enable_seen)
            vq->enabled = true;
        break;
    case VU_SET_VRING_CALL:
        close_fd(&vq->call_fd);
        vq->call_fd = fd;
        break;
    default:
        close_fd(&vq->err_fd);
        vq->err_fd = fd;
        break;
    }
    if (!nofd)
        r->fds[0] = -1;
    b->ops->queue_changed(b->ctx, index);
    return 0;
}

static int handle_set_vring_enable(struct vu_backend *b, struct vu_req *r)
{
    struct vu_state_msg s;
    if (get_state(b, r, &s))
        return -1;
    if (s.num > 1)
        return fail(b, "SET_VRING_ENABLE: value %u", s.num);
    b->vq[s.index].enabled = s.num;
    b->enable_seen = true;
    b->ops->queue_changed(b->ctx, s.index);
    return 0;
}

static int handle_get_config(struct vu_backend *b, struct vu_req *r)
{
    struct vu_config_hdr h;
    uint8_t space[VU_MAX_CONFIG];
    if (r->size < sizeof(h))
        return fail(b, "GET_CONFIG: payload %u bytes, too short", r->size);
    memcpy(&h, r->payload, sizeof(h));
    if (h.size > VU_MAX_CONFIG || r->size != sizeof(h) + h.size)
        return fail(b, "GET_CONFIG: size %u in a %u-byte payload", h.size, r->size);
    memset(space, 0, sizeof(space));
    size_t have = b->ops->get_config(b->ctx, space, sizeof(space));
    memcpy(r->reply_payload, &h, sizeof(h));
    memset(r->reply_payload + sizeof(h), 0, h.size);
    if (h.offset < have) {
        size_t n = have - h.offset < h.size ? have - h.offset : h.size;
        memcpy(r->reply_payload + sizeof(h), space + h.offset, n);
    }
    r->reply_size = sizeof(h) + h.size;
    r->has_reply = true;
    return 0;
}

static int dispatch(struct vu_backend *b, struct vu_req *r)
{
    switch (r->request) {
    case VU_GET_FEATURES:
        if (want_size(b, r, 0) && want_size(b, r, 8))
            return -1;
        reply_u64(r, offered_features(b));
        return 0;
    case VU_SET_FEATURES:
        return handle_set_features(b, r);
    case VU_GET_PROTOCOL_FEATURES:
        if (want_size(b, r, 0) && want_size(b, r, 8))
            return -1;
        reply_u64(r, offered_protocol);
        return 0;
    case VU_SET_PROTOCOL_FEATURES:
        return handle_set_protocol_features(b, r);
    case VU_SET_OWNER:
        if (want_size(b, r, 0))
            return -1;
        b->owner = true;
        return 0;
    case VU_RESET_OWNER:
        if (want_size(b, r, 0))
            return -1;
        b->ops->reset(b->ctx);
        reset_queues(b);
        b->owner = false;
        b->features = 0;
        return 0;
    case VU_SET_MEM_TABLE:
        return handle_set_mem_table(b, r);
    case VU_SET_VRING_NUM:
        return handle_set_vring_num(b, r);
    case VU_SET_VRING_ADDR:
        return handle_set_vring_addr(b, r);
    case VU_SET_VRING_BASE:
        return handle_set_vring_base(b, r);
    case VU_GET_VRING_BASE:
        return handle_get_vring_base(b, r);
    case VU_SET_VRING_KICK:
    case VU_SET_VRING_CALL:
    case VU_SET_VRING_ERR:
        return handle_vring_fd(b, r);
    case VU_SET_VRING_ENABLE:
        return handle_set_vring_enable(b, r);
    case VU_GET_CONFIG:
        return handle_get_config(b, r);
    case VU_SET_CONFIG:
        /* The vsock config space (the CID) is read-only: ignore writes. */
        if (r->size < sizeof(struct vu_config_hdr))
            return fail(b, "SET_CONFIG: payload %u bytes, too short", r->size);
        return 0;
    default:
        return fail(b, "unsupported request %u", r->request);
    }
}

int vu_handle_message(struct vu_backend *b, const uint8_t *msg, size_t len, int *fds, unsigned nfds,
                      uint8_t *reply, size_t *reply_len)
{
    struct vu_req r;
    uint32_t hdr[3];
    *reply_len = 0;
    if (len < VU_HDR_SIZE)
        return fail(b, "message of %zu bytes is shorter than a header", len);
    memcpy(hdr, msg, sizeof(hdr));
    memset(&r, 0, sizeof(r));
    r.request = hdr[0];
    r.flags = hdr[1];
    r.size = hdr[2];
    if ((r.flags & 0x3) != VU_FLAG_VERSION)
        return fail(b, "request %u: protocol version %u", r.request, r.flags & 0x3);
    if (r.size > VU_MAX_PAYLOAD || len != VU_HDR_SIZE + (size_t)r.size)
        return fail(b, "request %u: payload size %u (message %zu bytes)", r.request, r.size, len);
    r.payload = msg + VU_HDR_SIZE;
    r.fds = fds;
    r.nfds = nfds;
    r.reply_payload = reply + VU_HDR_SIZE;
    if (dispatch(b, &r) < 0)
        return -1;
    /* REPLY_ACK: requests without a reply of their own answer 0 for success. */
    if (!r.has_reply && (r.flags & VU_FLAG_NEED_REPLY) &&
        (b->protocol_features & VU_PROTOCOL_F_REPLY_ACK))
        reply_u64(&r, 0);
    if (r.has_reply) {
        uint32_t rh[3] = {r.request, VU_FLAG_VERSION | VU_FLAG_REPLY, r.reply_size};
        memcpy(reply, rh, sizeof(rh));
        *reply_len = VU_HDR_SIZE + r.reply_size;
    }
    return 0;
}

/* Receives up to `want` bytes into the frame buffer, collecting any fds. */
static int recv_part(struct vu_backend *b, int sock, size_t want)
{
    union {
        char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = b->buf + b->have, .iov_len = want};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf)};
    ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0)
        return fail(b, "recvmsg: %s", strerror(errno));
    int rc = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        unsigned count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (unsigned i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (b->nfds < VU_MAX_FDS)
                b->fds[b->nfds++] = fd;
            else {
                close(fd);
                rc = fail(b, "more than %d fds with one message", VU_MAX_FDS);
            }
        }
    }
    if (mh.msg_flags & MSG_CTRUNC)
        rc = fail(b, "too many fds with one message");
    if (rc < 0)
        return -1;
    if (n == 0)
        return fail(b, "%s", VU_EOF_REASON);
    b->have += (size_t)n;
    return 1;
}

const char *vu_request_name(uint32_t request)
{
    static const char *const names[] = {
        [VU_GET_FEATURES] = "GET_FEATURES",
        [VU_SET_FEATURES] = "SET_FEATURES",
        [VU_SET_OWNER] = "SET_OWNER",
        [VU_RESET_OWNER] = "RESET_OWNER",
        [VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
        [VU_SET_VRING_NUM] = "SET_VRING_NUM",
        [VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
        [VU_SET_VRING_BASE] = "SET_VRING_BASE",
        [VU_GET_VRING_BASE] = "GET_VRING_BASE",
        [VU_SET_VRING_KICK] = "SET_VRING_KICK",
        [VU_SET_VRING_CALL] = "SET_VRING_CALL",
        [VU_SET_VRING_ERR] = "SET_VRING_ERR",
        [VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
        [VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
        [VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
        [VU_GET_CONFIG] = "GET_CONFIG",
        [VU_SET_CONFIG] = "SET_CONFIG",
    };
    if (request < sizeof(names) / sizeof(names[0]) && names[request])
        return names[request];
    return "unknown";
}

int vu_service(struct vu_backend *b, int sock)
{
    uint8_t reply[VU_HDR_SIZE + VU_MAX_PAYLOAD];
    size_t reply_len;
    int rc;
    if (b->have < VU_HDR_SIZE) {
        rc = recv_part(b, sock, VU_HDR_SIZE - b->have);
        if (rc <= 0 || b->have < VU_HDR_SIZE)
            return rc < 0 ? -1 : 0;
    }
    uint32_t size;
    memcpy(&size, b->buf + 8, sizeof(size));
    if (size > VU_MAX_PAYLOAD)
        return fail(b, "request %u: payload size %u exceeds %u", b->buf[0], size, VU_MAX_PAYLOAD);
    if (b->have < VU_HDR_SIZE + size) {
        rc = recv_part(b, sock, VU_HDR_SIZE + size - b->have);
        if (rc <= 0 || b->have < VU_HDR_SIZE + size)
            return rc < 0 ? -1 : 0;
    }
    uint32_t request;
    memcpy(&request, b->buf, sizeof(request));
    log_debug("vhost-user request %u (%s), %u payload bytes, %u fds", request,
              vu_request_name(request), size, b->nfds);
    rc = vu_handle_message(b, b->buf, b->have, b->fds, b->nfds, reply, &reply_len);
    for (unsigned i = 0; i < b->nfds; i++)
        close_fd(&b->fds[i]);
    b->nfds = 0;
    b->have = 0;
    if (rc < 0)
        return -1;
    if (reply_len > 0 && send(sock, reply, reply_len, MSG_NOSIGNAL) != (ssize_t)reply_len)
        return fail(b, "sending the reply: %s", strerror(errno));
    return 1;
}
