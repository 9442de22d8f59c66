/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Memory ordering between the driver and a virtio device that runs on another
 * CPU (a host thread) and shares ring memory with us.
 *
 * virtio_rmb: loads before it complete before loads after it.
 * virtio_wmb: stores before it are visible before stores after it.
 * virtio_mb:  all loads and stores before it complete before any after it,
 *             in particular a store is visible before a later load reads.
 *
 * x86-64 is TSO: loads are not reordered with loads, stores not with stores,
 * so rmb and wmb only have to stop the compiler. Only a store followed by a
 * load may be reordered (store buffer), which is what mb is for; a locked
 * read-modify-write of our own stack slot is a full fence and cheaper than
 * mfence. The host test build uses the same code (it is x86-64 too).
 *
 * Except where the CPU is not KVM's: QEMU's TCG before 8.1 (Debian 12 has
 * 7.2) drops every guest fence while it runs one vCPU (mfence becomes
 * nothing, a locked op a plain load and store), although a vhost-user device
 * reads and writes the rings from another host thread at the same time; a
 * store of ours may then still sit in the host's store buffer when our next
 * load reads, and a kick or an interrupt that EVENT_IDX suppressed is lost
 * for good (QEMU 8.1 emits guest barriers again: "tcg: Do not elide memory
 * barriers for !CF_PARALLEL in system mode"). There mb writes port 0x80 (the
 * POST port; writes to it are ignored): TCG performs a port write under QEMU's
 * global lock, a real host fence, and real CPUs serialise on port I/O. Under
 * KVM that write would be a VM exit, so there it stays the locked op.
 *
 * Shared ring fields are read and written with virtio_read_once /
 * virtio_write_once: single, untorn accesses the compiler may neither merge,
 * repeat nor drop. Ordering comes from the barriers, never from `volatile`.
 */
#ifndef MIURA_VIRTIO_BARRIER_H
#define MIURA_VIRTIO_BARRIER_H

#if defined(__x86_64__)

#ifndef MIURA_HOST_TEST
#include "arch/x86_64/cpu.h"
#endif

static inline void virtio_rmb(void)
{
    __asm__ __volatile__("" ::: "memory");
}

static inline void virtio_wmb(void)
{
    __asm__ __volatile__("" ::: "memory");
}

static inline void virtio_mb(void)
{
#ifndef MIURA_HOST_TEST
    if (!cpu_on_kvm) {
        __asm__ __volatile__("outb %%al, $0x80" ::: "memory");
        return;
    }
#endif
    __asm__ __volatile__("lock; orl $0, (%%rsp)" ::: "memory", "cc");
}

#else

static inline void virtio_rmb(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}

static inline void virtio_wmb(void)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void virtio_mb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#endif

#define virtio_read_once(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define virtio_write_once(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#endif
