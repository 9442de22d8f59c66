/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Probe paths, end to end on the host: virtio-mmio finds a device (its
 * registers emulated here), the virtio core negotiates, and the vsock or fs
 * driver sets it up. Each step that can fail is made to fail in turn (every
 * allocation, every page allocation, a queue the device lacks or will not
 * enable, the interrupt line, the service thread, features, config space,
 * the CID), and after each failure nothing may be left: no memory, no
 * interrupt route, no transport attached to net, no fs device waiting to
 * be mounted, and the device marked FAILED. And the interrupt CPUs the
 * command line chooses (irq_cpu.NAME, irq_cpu.NAME.QUEUE): one per device
 * on virtio-mmio, where vsock's service thread runs too.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "abi/virtio.h"
#include "arch/x86_64/arch.h"
#include "drivers/virtio/mmio/mmio.h"
#include "drivers/virtio/virtio.h"
#include "miura/miura.h"
#include "net/vsock_transport.h"
#include "lib/cmdline.h"
#include "sched/sched.h"
#include "test.h"

#define BASE     0xfeb00000u
#define GSI      12
#define SPEC     "0x200@0xfeb00000:12"
#define MAX_LIVE 1024

unsigned virtiofs_test_device_count(void);

/* ---- allocations: counted, and the Nth one can fail */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void __real_free(void *p);

static void *live[MAX_LIVE];
static unsigned nlive, nallocs, fail_alloc; /* fail the fail_alloc-th (1-based; 0: none) */

static void *track(void *p)
{
    if (p) {
        if (nlive == MAX_LIVE)
            abort();
        live[nlive++] = p;
    }
    return p;
}

static bool alloc_fails(void)
{
    return ++nallocs == fail_alloc;
}

void *__wrap_malloc(size_t n)
{
    return alloc_fails() ? NULL : track(__real_malloc(n));
}

void *__wrap_calloc(size_t n, size_t size)
{
    return alloc_fails() ? NULL : track(__real_calloc(n, size));
}

void __wrap_free(void *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < nlive; i++) {
        if (live[i] == p) {
            live[i] = live[--nlive];
            __real_free(p);
            return;
        }
    }
    abort(); /* not ours, or freed twice */
}

/* ---- pages */

static void *pages[MAX_LIVE];
static size_t page_counts[MAX_LIVE];
static unsigned npages, npage_allocs, fail_page;

void *page_alloc(size_t n)
{
    if (++npage_allocs == fail_page)
        return NULL;
    void *p = aligned_alloc(PAGE_SIZE, n * PAGE_SIZE);
    if (!p || npages == MAX_LIVE)
        abort();
    pages[npages] = p;
    page_counts[npages++] = n;
    return p;
}

void page_free(void *q, size_t n)
{
    for (unsigned i = 0; i < npages; i++) {
        if (pages[i] == q) {
            if (page_counts[i] != n)
                abort();
            __real_free(pages[i]);
            pages[i] = pages[--npages];
            page_counts[i] = page_counts[npages];
            return;
        }
    }
    abort();
}

/* ---- the kernel around the drivers */

static struct {
    irq_handler_fn fn;
    void *arg;
    bool level;
    unsigned cpu;
} routes[IRQ_MAX_GSI];
static bool fail_irq, fail_thread;
static int thread_cpu;
static char *args[4]; /* the command line miura_getarg reads */
static int nargs;
static thread_fn thread_started;
static struct vsock_transport *attached;
static bool attached_before_thread;
char *boot_argv[BOOT_MAX_ARGS + 2];
int boot_argc;

unsigned irq_cpu(void)
{
    return 0;
}

unsigned miura_cpu_count(void)
{
    return 4;
}

unsigned miura_cpu_id(void)
{
    return 0;
}

const char *miura_getarg(const char *key)
{
    return cmdline_value(args, nargs, key);
}

int irq_route(unsigned gsi, bool level, unsigned cpu, irq_handler_fn fn, void *arg)
{
    if (gsi >= IRQ_MAX_GSI)
        return -EINVAL;
    if (fail_irq || routes[gsi].fn)
        return -EBUSY;
    routes[gsi].fn = fn;
    routes[gsi].arg = arg;
    routes[gsi].level = level;
    routes[gsi].cpu = cpu;
    return 0;
}

void irq_unroute(unsigned gsi)
{
    if (!routes[gsi].fn)
        abort(); /* undoing what was not done */
    routes[gsi].fn = NULL;
}

thread_t *thread_create(int cpu, size_t stack_size, thread_fn fn, void *arg)
{
    static char a_thread;
    (void)stack_size, (void)arg;
    if (fail_thread)
        return NULL;
    thread_cpu = cpu;
    thread_started = fn;
    return (thread_t *)&a_thread;
}

void vsock_net_attach(struct vsock_transport *t)
{
    attached_before_thread = !thread_started;
    attached = t;
}

void waitq_init(struct waitq *wq)
{
    list_init(&wq->waiters);
}

int waitq_wake_all(struct waitq *wq)
{
    (void)wq;
    return 0;
}

uint64_t miura_clock_ns(void)
{
    return 0;
}

/* Not reached while probing. */
void vsock_net_receive(struct vsock_transport *t, struct vsock_rx_buf *b)
{
    (void)t, (void)b;
    abort();
}
void vsock_net_tx_done(struct vsock_transport *t, struct vsock_pkt *p)
{
    (void)t, (void)p;
    abort();
}
void vsock_net_transport_reset(struct vsock_transport *t, uint64_t cid)
{
    (void)t, (void)cid;
    abort();
}
int waitq_wait(struct waitq *wq, uint64_t deadline)
{
    (void)wq, (void)deadline;
    abort();
}
int waitq_wait_unless(struct waitq *wq, uint64_t deadline, const unsigned *count, unsigned seen)
{
    (void)wq, (void)deadline, (void)count, (void)seen;
    abort();
}
void coop_enter(unsigned section)
{
    (void)section;
    abort();
}
void coop_leave(unsigned section)
{
    (void)section;
    abort();
}
void thread_yield(void)
{
    abort();
}
thread_t *thread_self(void)
{
    abort();
}
struct fuse_conn;
int vfs_mount_tag(const char *tag, struct fuse_conn *c)
{
    (void)tag, (void)c;
    abort();
}

/* ---- the device: virtio-mmio version 2 registers (virtio 1.2 §4.2.2) */

static struct {
    uint32_t magic, version, id, status, isr, generation;
    uint64_t features, driver_features;
    uint32_t dev_sel, drv_sel, queue_sel, notifies;
    bool refuse_features_ok, unstable_config;
    struct {
        uint32_t num_max, num, ready;
        bool refuse_ready;
        uint64_t desc, avail, used; /* ring addresses, as the driver set them */
    } q[4];
    uint8_t config[256];
} dev;

/* The console's transmit queue (1), as a device: what the driver queued is
 * appended to `out`, one buffer at a time, while `takes` says so; a buffer
 * is handed back (used ring) once taken. `bad_id` hands back an id the
 * driver never gave (a broken device). */
#define VIRTIO_ID_CONSOLE_TEST 3
static struct {
    char out[4096];
    size_t len;
    uint16_t next_avail;
    unsigned buffers, longest;
    bool takes, bad_id;
} con;

static void console_device_run(void)
{
    struct virtq_desc *desc = (void *)(uintptr_t)dev.q[1].desc;
    struct virtq_avail *avail = (void *)(uintptr_t)dev.q[1].avail;
    struct virtq_used *used = (void *)(uintptr_t)dev.q[1].used;
    while (con.takes && con.next_avail != __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE)) {
        uint16_t head = avail->ring[con.next_avail++ % dev.q[1].num];
        uint32_t n = desc[head].len;
        if (desc[head].flags != 0 || con.len + n > sizeof(con.out))
            abort(); /* one device-readable buffer per chain */
        memcpy(con.out + con.len, (void *)(uintptr_t)desc[head].addr, n);
        con.len += n;
        con.buffers++;
        con.longest = n > con.longest ? n : con.longest;
        used->ring[used->idx % dev.q[1].num] =
            (struct virtq_used_elem){.id = con.bad_id ? 999u : head, .len = 0};
        __atomic_store_n(&used->idx, (uint16_t)(used->idx + 1), __ATOMIC_RELEASE);
    }
}

uint32_t mmio_read32(uintptr_t addr)
{
    unsigned sel = dev.queue_sel < 4 ? dev.queue_sel : 0;
    switch (addr - BASE) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        return dev.magic;
    case VIRTIO_MMIO_VERSION:
        return dev.version;
    case VIRTIO_MMIO_DEVICE_ID:
        return dev.id;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        return (uint32_t)(dev.dev_sel ? dev.features >> 32 : dev.features);
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        return dev.queue_sel < 4 ? dev.q[sel].num_max : 0;
    case VIRTIO_MMIO_QUEUE_READY:
        return dev.queue_sel < 4 ? dev.q[sel].ready : 0;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return dev.isr;
    case VIRTIO_MMIO_STATUS:
        return dev.status;
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return dev.unstable_config ? dev.generation++ : dev.generation;
    default:
        return 0;
    }
}

uint8_t mmio_read8(uintptr_t addr)
{
    if (addr < BASE + VIRTIO_MMIO_CONFIG || addr >= BASE + VIRTIO_MMIO_CONFIG + 256)
        abort();
    return dev.config[addr - BASE - VIRTIO_MMIO_CONFIG];
}

void mmio_write32(uintptr_t addr, uint32_t v)
{
    unsigned sel = dev.queue_sel < 4 ? dev.queue_sel : 0;
    switch (addr - BASE) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        dev.dev_sel = v;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        dev.drv_sel = v;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        if (dev.drv_sel)
            dev.driver_features = (dev.driver_features & 0xffffffffu) | (uint64_t)v << 32;
        else
            dev.driver_features = (dev.driver_features & ~0xffffffffull) | v;
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        dev.queue_sel = v;
        break;
    case VIRTIO_MMIO_QUEUE_NUM:
        dev.q[sel].num = v;
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        dev.q[sel].ready = dev.q[sel].refuse_ready ? 0 : v;
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: {
        unsigned off = (unsigned)(addr - BASE);
        uint64_t *a = off < VIRTIO_MMIO_QUEUE_DRIVER_LOW   ? &dev.q[sel].desc
                      : off < VIRTIO_MMIO_QUEUE_DEVICE_LOW ? &dev.q[sel].avail
                                                           : &dev.q[sel].used;
        if (off & 4)
            *a = (*a & 0xffffffffull) | (uint64_t)v << 32;
        else
            *a = (*a & ~0xffffffffull) | v;
        break;
    }
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        dev.notifies++;
        if (v == 1 && dev.id == VIRTIO_ID_CONSOLE_TEST)
            console_device_run();
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        dev.isr &= ~v;
        break;
    case VIRTIO_MMIO_STATUS:
        if (v == 0) { /* reset: queues forgotten */
            for (unsigned i = 0; i < 4; i++)
                dev.q[i].ready = 0;
        }
        if ((v & VIRTIO_STATUS_FEATURES_OK) && dev.refuse_features_ok)
            v &= ~VIRTIO_STATUS_FEATURES_OK;
        dev.status = v;
        break;
    default:
        break;
    }
}

/* ---- cases */

static void fresh(uint32_t id)
{
    /* what an earlier successful probe keeps stays allocated: free it */
    while (nlive)
        __wrap_free(live[0]);
    while (npages) {
        __real_free(pages[0]);
        pages[0] = pages[--npages];
        page_counts[0] = page_counts[npages];
    }
    nallocs = fail_alloc = npage_allocs = fail_page = 0;
    memset(routes, 0, sizeof(routes));
    fail_irq = fail_thread = false;
    thread_started = NULL;
    attached = NULL;
    attached_before_thread = false;
    memset(&dev, 0, sizeof(dev));
    dev.magic = VIRTIO_MMIO_MAGIC;
    dev.version = VIRTIO_MMIO_VERSION_MODERN;
    dev.id = id;
    dev.features = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_F_RING_EVENT_IDX);
    for (unsigned i = 0; i < 4; i++)
        dev.q[i].num_max = 256;
    if (id == VIRTIO_ID_VSOCK) {
        struct virtio_vsock_config c = {.guest_cid = 42};
        memcpy(dev.config, &c, sizeof(c));
    } else {
        struct virtio_fs_config c = {.num_request_queues = 1};
        memcpy(c.tag, "share", 5);
        memcpy(dev.config, &c, sizeof(c));
    }
}

/* After a failed probe: nothing of it is left anywhere, and the device is
 * FAILED (or untouched, when the transport could not even wrap it). */
static const char *left_behind(unsigned fs_devices, uint32_t status)
{
    if (nlive)
        return "memory left allocated";
    if (npages)
        return "pages left allocated";
    for (unsigned i = 0; i < IRQ_MAX_GSI; i++)
        if (routes[i].fn)
            return "interrupt left routed";
    if (attached)
        return "transport left attached to net";
    if (virtiofs_test_device_count() != fs_devices)
        return "fs device left for mounting";
    if (dev.status != status)
        return status ? "device not marked FAILED" : "device touched";
    return NULL;
}

#define CHECK_CLEAN_STATUS(fs_devices, status)                         \
    do {                                                               \
        const char *why_ = left_behind(fs_devices, status);            \
        if (why_) {                                                    \
            test_fail(__FILE__, __LINE__, "%s (case %d)", why_, step); \
            return;                                                    \
        }                                                              \
    } while (0)

#define CHECK_CLEAN(fs_devices) CHECK_CLEAN_STATUS(fs_devices, VIRTIO_STATUS_FAILED)

#define READY (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)

TEST(vsock_probe_sets_up_everything_and_attaches_last)
{
    fresh(VIRTIO_ID_VSOCK);
    CHECK_EQ(virtio_mmio_probe(SPEC), 0);
    CHECK_EQ(dev.status, READY | VIRTIO_STATUS_DRIVER_OK);
    CHECK_EQ(dev.driver_features,
             VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_F_RING_EVENT_IDX));
    for (unsigned i = 0; i < 3; i++)
        CHECK_EQ(dev.q[i].ready, 1);
    CHECK_EQ(dev.q[0].num, 64);  /* rx ring */
    CHECK_EQ(dev.q[1].num, 128); /* tx ring */
    CHECK_EQ(dev.q[2].num, 4);   /* event buffers */
    CHECK(routes[GSI].fn != NULL);
    CHECK(routes[GSI].level); /* virtio-mmio's line is level-triggered */
    CHECK(thread_started != NULL);
    CHECK(attached != NULL);
    CHECK(!attached_before_thread);
    CHECK_EQ(attached->guest_cid, 42);
    CHECK_EQ(dev.notifies, 2); /* rx and event buffers posted */
    CHECK_EQ(npages, 3 + 64);  /* three rings, a page per rx buffer */
    /* an interrupt reaches the driver through the core and is acknowledged */
    dev.isr = VIRTIO_INT_USED_BUFFER;
    routes[GSI].fn(routes[GSI].arg);
    CHECK_EQ(dev.isr, 0);
}

TEST(vsock_probe_failures_leave_nothing)
{
    int step = 0;

    /* every allocation and page allocation of the probe, in turn; rx
     * buffers may run short without failing the probe */
    for (unsigned n = 1;; n++) {
        step = (int)n;
        fresh(VIRTIO_ID_VSOCK);
        fail_alloc = n;
        int rc = virtio_mmio_probe(SPEC);
        if (nallocs < n)
            break; /* no allocation left to fail */
        if (rc == 0)
            continue;
        CHECK_EQ(rc, -ENOMEM);
        /* the first is the transport's: the device is never touched */
        CHECK_CLEAN_STATUS(0, n == 1 ? 0 : VIRTIO_STATUS_FAILED);
    }
    CHECK_EQ(step, 3); /* two allocations (transport, driver); rx buffers are pages */
    unsigned failures = 0;
    for (unsigned n = 1;; n++) {
        step = 100 + (int)n;
        fresh(VIRTIO_ID_VSOCK);
        fail_page = n;
        int rc = virtio_mmio_probe(SPEC);
        if (npage_allocs < n)
            break;
        if (rc == 0) {
            CHECK(n > 3); /* only an rx buffer may be missing */
            CHECK(attached != NULL);
            continue;
        }
        failures++;
        CHECK_EQ(rc, -ENOMEM);
        CHECK_CLEAN(0);
    }
    CHECK_EQ(failures, 3); /* the three rings */
    for (unsigned q = 0; q < 3; q++) {
        step = 200 + (int)q;
        fresh(VIRTIO_ID_VSOCK);
        dev.q[q].num_max = 0; /* no such queue */
        CHECK_EQ(virtio_mmio_probe(SPEC), -ENOENT);
        CHECK_CLEAN(0);
        step = 210 + (int)q;
        fresh(VIRTIO_ID_VSOCK);
        dev.q[q].refuse_ready = true;
        CHECK_EQ(virtio_mmio_probe(SPEC), -EIO);
        CHECK_CLEAN(0);
    }
    step = 300;
    fresh(VIRTIO_ID_VSOCK);
    fail_irq = true;
    CHECK_EQ(virtio_mmio_probe(SPEC), -EBUSY);
    CHECK_CLEAN(0);
    step = 301;
    fresh(VIRTIO_ID_VSOCK);
    fail_thread = true;
    CHECK_EQ(virtio_mmio_probe(SPEC), -ENOMEM);
    CHECK_CLEAN(0);
    step = 302;
    fresh(VIRTIO_ID_VSOCK);
    dev.config[0] = 2; /* the host's CID */
    CHECK_EQ(virtio_mmio_probe(SPEC), -EINVAL);
    CHECK_CLEAN(0);
    step = 303;
    fresh(VIRTIO_ID_VSOCK);
    dev.unstable_config = true; /* the CID never reads consistently */
    CHECK_EQ(virtio_mmio_probe(SPEC), -EINVAL);
    CHECK_CLEAN(0);
}

TEST(feature_negotiation_failures)
{
    int step = 0;

    fresh(VIRTIO_ID_VSOCK);
    dev.features = VIRTIO_FEATURE(VIRTIO_F_RING_EVENT_IDX); /* legacy only */
    CHECK_EQ(virtio_mmio_probe(SPEC), -ENODEV);
    CHECK_CLEAN(0);
    step = 1;
    fresh(VIRTIO_ID_VSOCK);
    dev.refuse_features_ok = true;
    CHECK_EQ(virtio_mmio_probe(SPEC), -ENODEV);
    CHECK_CLEAN(0);
    step = 2; /* only what the driver asked for is accepted */
    fresh(VIRTIO_ID_VSOCK);
    dev.features |= VIRTIO_FEATURE(VIRTIO_F_RING_PACKED) | VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC);
    CHECK_EQ(virtio_mmio_probe(SPEC), 0);
    CHECK_EQ(dev.driver_features,
             VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_F_RING_EVENT_IDX));
}

TEST(fs_probe_sets_up_and_waits_to_be_mounted)
{
    unsigned before;

    fresh(VIRTIO_ID_FS);
    before = virtiofs_test_device_count();
    CHECK_EQ(virtio_mmio_probe(SPEC), 0);
    CHECK_EQ(dev.status, READY | VIRTIO_STATUS_DRIVER_OK);
    CHECK_EQ(dev.q[0].ready, 1); /* hiprio */
    CHECK_EQ(dev.q[1].ready, 1); /* requests */
    CHECK_EQ(dev.q[2].ready, 0);
    CHECK(routes[GSI].fn != NULL);
    CHECK_EQ(virtiofs_test_device_count(), before + 1);
}

TEST(fs_probe_failures_leave_nothing)
{
    int step = 0;
    unsigned devices;

    fresh(VIRTIO_ID_FS);
    devices = virtiofs_test_device_count();
    for (unsigned n = 1;; n++) {
        step = (int)n;
        fresh(VIRTIO_ID_FS);
        fail_alloc = n;
        int rc = virtio_mmio_probe(SPEC);
        if (nallocs < n)
            break;
        CHECK_EQ(rc, -ENOMEM);
        CHECK_CLEAN_STATUS(devices, n == 1 ? 0 : VIRTIO_STATUS_FAILED);
    }
    CHECK_EQ(step, 3);                      /* the transport's device and the driver's state */
    devices = virtiofs_test_device_count(); /* the last round probed */
    for (unsigned n = 1; n <= 2; n++) {
        step = 100 + (int)n;
        fresh(VIRTIO_ID_FS);
        fail_page = n;
        CHECK_EQ(virtio_mmio_probe(SPEC), -ENOMEM);
        CHECK_CLEAN(devices);
    }
    for (unsigned q = 0; q < 2; q++) {
        step = 200 + (int)q;
        fresh(VIRTIO_ID_FS);
        dev.q[q].refuse_ready = true;
        CHECK_EQ(virtio_mmio_probe(SPEC), -EIO);
        CHECK_CLEAN(devices);
    }
    step = 300;
    fresh(VIRTIO_ID_FS);
    fail_irq = true;
    CHECK_EQ(virtio_mmio_probe(SPEC), -EBUSY);
    CHECK_CLEAN(devices);
    step = 301;
    fresh(VIRTIO_ID_FS);
    dev.unstable_config = true;
    CHECK_EQ(virtio_mmio_probe(SPEC), -EIO);
    CHECK_CLEAN(devices);
    step = 302;
    fresh(VIRTIO_ID_FS);
    memset(dev.config + 36, 0, 4); /* no request queue */
    CHECK_EQ(virtio_mmio_probe(SPEC), -ENODEV);
    CHECK_CLEAN(devices);
}

TEST(mmio_finds_only_modern_devices_it_can_map)
{
    static const char *const bad[] = {
        "0x200@0xfeb00000",     "0x200@0xfeb00000:12x", "junk",
        "0x200@0x1000:12",      "0x100@0xfeb00000:12",  "0x200@0xffffff00:12",
        "0x200@0xfeb00000:999",
    };
    int step = 0;

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fresh(VIRTIO_ID_VSOCK);
        CHECK_EQ(virtio_mmio_probe(bad[i]), -EINVAL);
        CHECK_EQ(dev.status, 0); /* never touched */
        CHECK_EQ(nlive, 0);
    }
    fresh(VIRTIO_ID_VSOCK);
    dev.magic = 0;
    CHECK_EQ(virtio_mmio_probe(SPEC), -ENODEV);
    fresh(0); /* an empty slot */
    CHECK_EQ(virtio_mmio_probe(SPEC), -ENODEV);
    fresh(VIRTIO_ID_VSOCK);
    dev.version = 1; /* legacy */
    CHECK_EQ(virtio_mmio_probe(SPEC), -ENODEV);
    CHECK_EQ(dev.status, 0);
    CHECK_EQ(nlive, 0);
    /* a device no linked driver handles is left alone and forgotten */
    fresh(VIRTIO_ID_VSOCK);
    dev.id = 1; /* a network card */
    CHECK_EQ(virtio_mmio_probe(SPEC), -ENODEV);
    CHECK_EQ(dev.status, 0);
    CHECK_EQ(nlive, 0);
    /* no memory for the transport's device */
    step = 1;
    fresh(VIRTIO_ID_VSOCK);
    fail_alloc = 1;
    CHECK_EQ(virtio_mmio_probe(SPEC), -ENOMEM);
    CHECK_EQ(dev.status, 0);
    CHECK_EQ(nlive, 0);
    (void)step;
}

/* Last: it leaves an fs device probed, which the cases above count. irq_cpu.vsock=2 routes the
 * device's line to CPU 2 and starts the service thread there; a queue's own CPU cannot be honoured
 * on virtio-mmio (one line per device): the device's stands. Out of range: the default, CPU 0. */
TEST(vsock_interrupt_cpu_on_mmio)
{
    char a0[] = "irq_cpu.vsock=2", a1[] = "irq_cpu.vsock.0=3", a2[] = "irq_cpu.fs=1";
    args[0] = a0, args[1] = a1, args[2] = a2, nargs = 3;
    fresh(VIRTIO_ID_VSOCK);
    CHECK_EQ(virtio_mmio_probe(SPEC), 0);
    CHECK_EQ(routes[GSI].cpu, 2);
    CHECK_EQ(thread_cpu, 2);
    fresh(VIRTIO_ID_FS);
    CHECK_EQ(virtio_mmio_probe(SPEC), 0);
    CHECK_EQ(routes[GSI].cpu, 1);
    char b0[] = "irq_cpu.vsock=4", b1[] = "irq_cpu.vsock.0=1";
    args[0] = b0, args[1] = b1, nargs = 2;
    fresh(VIRTIO_ID_VSOCK);
    CHECK_EQ(virtio_mmio_probe(SPEC), 0);
    CHECK_EQ(routes[GSI].cpu, 0);
    CHECK_EQ(thread_cpu, 0);
    nargs = 0;
}

/* ---- the virtio console (transmit only) */

size_t console_fast_write(const char *s, size_t n);

static void console_fresh(void)
{
    fresh(VIRTIO_ID_CONSOLE_TEST);
    dev.q[0].num_max = dev.q[1].num_max = 8;
    memset(&con, 0, sizeof(con));
    con.takes = true;
}

static bool con_is(const char *want)
{
    return con.len == strlen(want) && memcmp(con.out, want, con.len) == 0;
}

TEST(console_writes_a_buffer_and_a_notification_per_call)
{
    console_fresh();
    CHECK_EQ(console_fast_write("early", 5), 0); /* no device yet: the UART's */
    CHECK_EQ(virtio_mmio_probe(SPEC), 0);
    CHECK_EQ(dev.status, READY | VIRTIO_STATUS_DRIVER_OK);
    CHECK_EQ(dev.driver_features, VIRTIO_FEATURE(VIRTIO_F_VERSION_1)); /* not MULTIPORT */
    CHECK_EQ(dev.q[1].ready, 1);
    CHECK_EQ(dev.q[0].ready, 0);   /* nothing is read */
    CHECK(routes[GSI].fn == NULL); /* and no interrupt wanted: */
    CHECK(((struct virtq_avail *)(uintptr_t)dev.q[1].avail)->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    CHECK_EQ(console_fast_write("GET / HTTP/1.1 200 6\n", 21), 21);
    CHECK_EQ(console_fast_write("b\n\n", 3), 3);
    CHECK(con_is("GET / HTTP/1.1 200 6\r\nb\r\n\r\n")); /* CR LF, as the UART writes */
    CHECK_EQ(con.buffers, 2);
    CHECK_EQ(dev.notifies, 2);
    /* more than the queue holds, over and over: buffers are taken back */
    for (int i = 0; i < 40; i++)
        CHECK_EQ(console_fast_write("x", 1), 1);
    CHECK_EQ(con.buffers, 42);
    CHECK_EQ(console_fast_write(NULL, 0), 0); /* nothing in flight: returns at once */
}

TEST(console_splits_a_long_write_into_buffers_in_order)
{
    char line[1000], want[2000];
    size_t w = 0;
    console_fresh();
    CHECK_EQ(virtio_mmio_probe(SPEC), 0);
    for (size_t i = 0; i < sizeof(line); i++) {
        line[i] = i % 50 == 49 ? '\n' : (char)('a' + i % 26);
        if (line[i] == '\n')
            want[w++] = '\r';
        want[w++] = line[i];
    }
    want[w] = '\0';
    CHECK_EQ(console_fast_write(line, sizeof(line)), sizeof(line));
    CHECK(con_is(want));
    CHECK_EQ(con.buffers, 4); /* 1,020 B, at most 255 (and a CR) each */
    CHECK(con.longest <= 256);
}

TEST(console_device_that_stops_taking_gets_the_rest_to_the_uart)
{
    console_fresh();
    CHECK_EQ(virtio_mmio_probe(SPEC), 0);
    con.takes = false; /* the VMM stopped reading (its output blocked) */
    for (int i = 0; i < 8; i++)
        CHECK_EQ(console_fast_write("abcd", 4), 4); /* eight buffers in flight */
    CHECK_EQ(console_fast_write("efgh", 4), 0);     /* none free: bounded wait, then the UART */
    CHECK_EQ(console_fast_write(NULL, 0), 0);       /* a drain gives up too, bounded */
    con.takes = true;
    console_device_run();
    CHECK_EQ(con.buffers, 8);
    CHECK_EQ(console_fast_write("ijkl", 4), 4); /* the device is used again */
    CHECK(con_is("abcdabcdabcdabcdabcdabcdabcdabcdijkl"));
}

TEST(console_device_that_breaks_the_ring_loses_the_console)
{
    console_fresh();
    CHECK_EQ(virtio_mmio_probe(SPEC), 0);
    con.bad_id = true;
    CHECK_EQ(console_fast_write("one", 3), 3);
    CHECK_EQ(console_fast_write("two", 3), 0); /* the bad used id seen: the UART's */
    con.bad_id = false;
    CHECK_EQ(console_fast_write("three", 5), 0); /* for good */
    CHECK(con_is("one"));
}
