/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-console (virtio 1.2 §5.3), transmit only: the console's output
 * once the device is up. Through the 16550 UART every byte is two port
 * accesses and a write() by the VMM (under KVM, two VM exits); here one
 * console_write is one buffer and one notification, and the VMM writes it
 * with one write(). The web server's access log is what it is for.
 *
 * Port 0's transmitq (queue 1) only: MULTIPORT is not negotiated, so port 0
 * is the console and has no control messages; nothing is read. The queue
 * runs without interrupts: a writer takes back the buffers the device is
 * done with before it needs one, and waits a bounded time when all are in
 * use (a VMM that stopped reading) before it hands the bytes to the UART.
 * The arch's console_write calls us under its console lock, so one writer
 * at a time uses the queue (the virtqueue contract). Before a crash report
 * (other CPUs stopped: the UART only) it is called with nothing to write
 * and waits, bounded, for the device to take what is in flight, so the
 * report comes after it.
 *
 * CRs go before LFs as on the UART: the console's bytes are the same
 * whichever way they leave.
 */
#include <errno.h>
#include <stddef.h>

#include "arch/x86_64/cpu.h"
#include "drivers/virtio/virtio.h"
#include "lib/console.h"

#define VIRTIO_ID_CONSOLE 3
#define QUEUE_PORT0_TX    1
#define SLOTS             8   /* buffers in flight: the queue's size */
#define SLOT_BYTES        256 /* a log line, CRs included, in most cases */
#define WAIT_POLLS        1000000

static struct {
    struct virtio_device *dev; /* set once the queue runs */
    struct virtqueue tx;
    uint32_t free; /* bit i: slot i is ours */
    char slot[SLOTS][SLOT_BYTES];
} vcon;

size_t console_fast_write(const char *s, size_t n)
{
    size_t done = 0;
    for (int polls = 0; polls < WAIT_POLLS; polls++) {
        void *token; /* slot index + 1 */
        uint32_t len;
        int rc;
        if (!__atomic_load_n(&vcon.dev, __ATOMIC_ACQUIRE))
            break;
        while ((rc = vq_get_used(&vcon.tx, &token, &len)) > 0)
            vcon.free |= 1u << ((uintptr_t)token - 1);
        if (rc < 0)
            vcon.dev = NULL; /* broken: the UART's for good */
        else if (n == 0 ? vq_inflight(&vcon.tx) == 0 : done == n)
            break; /* drained, or all of it queued */
        else if (n > 0 && vcon.free) {
            unsigned i = (unsigned)__builtin_ctz(vcon.free);
            char *b = vcon.slot[i];
            uint32_t k = 0;
            for (; done < n && k < SLOT_BYTES - 1; done++) {
                if (s[done] == '\n')
                    b[k++] = '\r';
                b[k++] = s[done];
            }
            struct iobuf out = {b, k};
            vq_add_chain(&vcon.tx, &out, 1, NULL, 0, (void *)(uintptr_t)(i + 1));
            vcon.free &= ~(1u << i);
            virtio_queue_kick(vcon.dev, QUEUE_PORT0_TX, &vcon.tx);
        } else
            cpu_relax();
    }
    return done;
}

static int vcon_probe(struct virtio_device *dev)
{
    int rc = virtio_queue_create(dev, QUEUE_PORT0_TX, SLOTS, &vcon.tx);
    if (rc < 0)
        return rc;
    /* No interrupts: besides, the device then does not raise its line (under
     * KVM an ioctl by the VMM) for each line. */
    vq_disable_cb(&vcon.tx);
    vcon.free = (1u << vcon.tx.size) - 1;
    virtio_device_ready(dev);
    __atomic_store_n(&vcon.dev, dev, __ATOMIC_RELEASE); /* writers may use it */
    return 0;
}

static void vcon_interrupt(struct virtio_device *dev, uint32_t cause)
{
    (void)dev, (void)cause; /* none routed: writers poll */
}

static const struct virtio_driver vcon_driver = {
    .name = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .probe = vcon_probe,
    .interrupt = vcon_interrupt,
};
MIURA_DRIVER(virtio, vcon_driver);
