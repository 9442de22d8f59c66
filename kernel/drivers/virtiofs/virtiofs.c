/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-fs device driver (virtio 1.2 §5.11): the transport under the FUSE
 * client. Queue 0 is the high-priority queue (FORGET), queue 1 the one
 * request queue Miura uses.
 *
 * A request is a chain of device-readable buffers (FUSE request) and
 * device-writable ones (reply). The calling thread adds its chain, notifies,
 * and sleeps on the device's wait queue; the interrupt handler only wakes
 * that queue. Whichever requester runs first takes every completion off the
 * used ring and marks the owners' requests done, so several threads can have
 * requests in flight and nobody spins. Requesters run in the I/O section
 * (sched.h), on any CPU; the interrupt may be taken by another CPU, so it
 * counts itself before waking and a requester sleeps only if no interrupt
 * came since it last looked at the ring (waitq_wait_unless). A queue the device broke (bad used id
 * or length) fails every request in flight with -EIO.
 *
 * Probe: queues and interrupt, undone in reverse if a step fails; the
 * device is mounted later, by the FS-level init hook, only if it probed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/cpu.h"
#include "drivers/virtio/virtio.h"
#include "fs/fuse_conn.h"
#include "fs/vfs.h"
#include "lib/init.h"
#include "miura/miura.h"
#include "sched/sched.h"

#define VIRTIOFS_QUEUE_SIZE  128
#define VIRTIOFS_MAX_DEVICES 8

struct virtiofs_queue {
    struct virtqueue vq;
    unsigned index;
};

struct virtiofs {
    struct virtio_device *dev;
    struct virtiofs_queue hiprio, request;
    struct waitq completions; /* requesters sleep here; the IRQ wakes them */
    unsigned interrupts;      /* taken so far: added to before the wake */
    char tag[VIRTIO_FS_TAG_LEN + 1];
    struct fuse_conn conn;
};

struct virtiofs_request {
    bool done;
    int result; /* bytes written by the device, or -errno */
};

static struct virtiofs *devices[VIRTIOFS_MAX_DEVICES];
static unsigned device_count;

/* Takes every completion off the ring. Interrupts are off. */
static bool reap(struct virtiofs *fs, struct virtiofs_queue *q)
{
    bool any = false;
    void *token;
    uint32_t len;
    int rc;
    while ((rc = vq_get_used(&q->vq, &token, &len)) == 1) {
        struct virtiofs_request *req = token;
        req->result = (int)len;
        req->done = true;
        any = true;
    }
    if (rc < 0) {
        printf("virtio-fs %s: queue %u broken by the device; failing its requests\n", fs->tag,
               q->index);
        while (vq_drain_broken(&q->vq, &token) == 1) {
            struct virtiofs_request *req = token;
            req->result = -EIO;
            req->done = true;
            any = true;
        }
    }
    return any;
}

static int submit(struct virtiofs *fs, struct virtiofs_queue *q, const struct iobuf *out,
                  unsigned n_out, const struct iobuf *in, unsigned n_in)
{
    struct virtiofs_request req = {false, 0};
    uint64_t flags = irq_save();
    int rc;
    unsigned seen;
    while (seen = __atomic_load_n(&fs->interrupts, __ATOMIC_ACQUIRE),
           (rc = vq_add_chain(&q->vq, out, n_out, in, n_in, &req)) == -ENOSPC) {
        /* No room: a completion frees descriptors. */
        if (reap(fs, q)) {
            waitq_wake_all(&fs->completions);
            continue;
        }
        if (!vq_enable_cb(&q->vq))
            continue;
        waitq_wait_unless(&fs->completions, 0, &fs->interrupts, seen);
    }
    if (rc < 0) {
        irq_restore(flags);
        return rc;
    }
    virtio_queue_kick(fs->dev, q->index, &q->vq);
    while (seen = __atomic_load_n(&fs->interrupts, __ATOMIC_ACQUIRE), !req.done) {
        if (reap(fs, q)) {
            waitq_wake_all(&fs->completions); /* owners of what we reaped */
            continue;
        }
        if (!vq_enable_cb(&q->vq))
            continue; /* completions raced in: reap again before sleeping */
        waitq_wait_unless(&fs->completions, 0, &fs->interrupts, seen);
    }
    irq_restore(flags);
    return req.result;
}

static int virtiofs_call(struct fuse_conn *c, const struct iobuf *out, unsigned n_out,
                         const struct iobuf *in, unsigned n_in)
{
    struct virtiofs *fs = c->transport;
    return submit(fs, &fs->request, out, n_out, in, n_in);
}

static int virtiofs_send_noreply(struct fuse_conn *c, const struct iobuf *out, unsigned n_out)
{
    struct virtiofs *fs = c->transport;
    int rc = submit(fs, &fs->hiprio, out, n_out, NULL, 0);
    return rc < 0 ? rc : 0;
}

static uint64_t virtiofs_now(struct fuse_conn *c)
{
    (void)c;
    return miura_clock_ns();
}

static void virtiofs_interrupt(struct virtio_device *dev, uint32_t cause)
{
    struct virtiofs *fs = dev->driver_data;
    if (cause & VIRTIO_INT_USED_BUFFER) {
        __atomic_add_fetch(&fs->interrupts, 1, __ATOMIC_RELEASE);
        waitq_wake_all(&fs->completions);
    }
}

static int virtiofs_probe(struct virtio_device *dev)
{
    struct virtio_fs_config config;
    struct virtiofs *fs;
    int rc;
    if (device_count == VIRTIOFS_MAX_DEVICES)
        return -ENOSPC;
    rc = virtio_read_config(dev, 0, &config, sizeof(config));
    if (rc < 0)
        return rc;
    if (config.num_request_queues < 1)
        return -ENODEV;
    fs = calloc(1, sizeof(*fs));
    if (!fs)
        return -ENOMEM;
    memcpy(fs->tag, config.tag, VIRTIO_FS_TAG_LEN);
    fs->tag[VIRTIO_FS_TAG_LEN] = 0;
    fs->dev = dev;
    waitq_init(&fs->completions);
    fs->hiprio.index = VIRTIO_FS_QUEUE_HIPRIO;
    fs->request.index = VIRTIO_FS_QUEUE_FIRST_REQUEST;
    fs->conn.call = virtiofs_call;
    fs->conn.send_noreply = virtiofs_send_noreply;
    fs->conn.now_ns = virtiofs_now;
    fs->conn.transport = fs;
    fs->conn.next_unique = 1;
    dev->driver_data = fs;
    rc = virtio_queue_create(dev, fs->hiprio.index, VIRTIOFS_QUEUE_SIZE, &fs->hiprio.vq);
    if (rc < 0)
        goto err_free;
    rc = virtio_queue_create(dev, fs->request.index, VIRTIOFS_QUEUE_SIZE, &fs->request.vq);
    if (rc < 0)
        goto err_hiprio_queue;
    rc = virtio_irq_enable(dev);
    if (rc < 0)
        goto err_request_queue;
    virtio_device_ready(dev);
    devices[device_count++] = fs; /* mounted by virtiofs_mount_root */
    return 0;

err_request_queue:
    virtio_queue_destroy(&fs->request.vq);
err_hiprio_queue:
    virtio_queue_destroy(&fs->hiprio.vq);
err_free:
    dev->driver_data = NULL;
    free(fs);
    return rc;
}

#ifdef MIURA_HOST_TEST
/* Tests: how many devices probed and wait to be mounted. */
unsigned virtiofs_test_device_count(void);
unsigned virtiofs_test_device_count(void)
{
    return device_count;
}
#endif

static const struct virtio_driver virtiofs_driver = {
    .name = "virtio-fs",
    .device_id = VIRTIO_ID_FS,
    .features = VIRTIO_FEATURE(VIRTIO_F_RING_EVENT_IDX),
    .probe = virtiofs_probe,
    .interrupt = virtiofs_interrupt,
};
MIURA_DRIVER(virtio, virtiofs_driver);

/* Mounts the device the command line names with `fs=TAG` at "/" (without
 * `fs=`, the first device) and each device named by a `fs.TAG=PATH` word at
 * PATH (vfs_mount_tag). FUSE_INIT happens here, in the init thread. */
static int virtiofs_mount_root(void)
{
    const char *want = miura_getarg("fs");
    int mounted = 0;
    for (unsigned i = 0; i < device_count; i++) {
        int rc = vfs_mount_tag(devices[i]->tag, &devices[i]->conn);
        if (rc < 0)
            printf("virtio-fs %s: mount failed: error %d\n", devices[i]->tag, -rc);
        else if (rc == 0)
            mounted++;
    }
    if (want && !mounted) {
        printf("virtio-fs: no device with tag '%s' (%u found)\n", want, device_count);
        return -ENODEV;
    }
    return 0;
}
MIURA_INIT(INIT_LEVEL_FS, virtiofs_mount_root);
