/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Split virtqueue (virtio 1.2 §2.7) between a driver and a device that run on
 * different CPUs, under a weak memory model. What is modelled and what is
 * proved: docs/verification.md. Run by spec/check.sh; configurations and
 * deliberately broken variants are chosen with -D flags (listed below).
 *
 * Memory: every shared ring field is a cell of mem[]. A process's stores go
 * to its own store buffer first (loads see their own buffered stores) and
 * reach mem[] later, in any order (the drain processes pick), except that
 * two stores to one cell keep their order and a write barrier keeps every
 * store before it ahead of every store after it. A full barrier (mb) waits
 * until the buffer is empty. Loads happen in program order; where the code
 * has a read barrier the broken variant swaps the two loads instead. This is
 * weaker than x86 (TSO, stores in order) and covers what virtio's memory
 * model allows for stores; see the doc for what it leaves out.
 *
 * The driver mirrors kernel/drivers/virtio/virtqueue.c as used by the vsock
 * service thread (kernel/drivers/vsock/virtio_vsock.c); the device mirrors
 * host/vsockd/vring.c and device.c. Both are cyclic (indices wrap forever),
 * so the state space is finite and any run is covered, not a bounded one.
 *
 * Configurations (-D):
 *   EVENT_IDX      VIRTIO_F_RING_EVENT_IDX: used_event / avail_event
 *   DRV_DISABLE    the driver may call vq_disable_cb before draining
 *   DEV_SUPPRESS   the device sets NO_NOTIFY while it works (with EVENT_IDX
 *                  it leaves avail_event behind instead) and re-enables
 *                  notifications with a recheck before it sleeps
 *   BATCH          the driver may add two chains before one kick
 *   DEV_NOTIFY_EARLY the device may also signal right after any used entry,
 *                  before it re-enables its own notifications and rechecks
 *                  (Linux vhost signals within a batch); without it the
 *                  device signals only at the end of a batch, after its
 *                  recheck's mb, which makes vq_notify's own mb redundant
 *                  with EVENT_IDX (that variant could not fail)
 *   QSIZE=n        ring size (power of two), default 2
 *   IDXBITS        index modulus is 2*QSIZE (default; 16-bit in C)
 * Broken variants (-D), each must be rejected:
 *   BUG_KICK_NO_MB       no mb between avail->idx and reading NO_NOTIFY/avail_event
 *   BUG_ENABLE_NO_MB     no mb in vq_enable_cb
 *   BUG_NOTIFY_NO_MB     device: no fence between used->idx and reading flags/used_event
 *                        (with EVENT_IDX: rejected with DEV_NOTIFY_EARLY only)
 *   BUG_DEV_ENABLE_NO_MB device: no mb between re-enabling notifications and the recheck
 *   BUG_DRV_NO_WMB       driver: no wmb before avail->idx
 *   BUG_DRV_NO_RMB       driver: used entry read before used->idx
 *   BUG_DEV_NO_WMB       device: no release before used->idx
 *   BUG_DEV_NO_RMB       device: avail entry read before avail->idx
 *   BUG_USE_AFTER_PUSH   device: returns a buffer before it is done with it
 *   BUG_EVENT_NO_WRAP    need_event compared without 16-bit wrap
 *   BUG_IDX_MOD_QSIZE    free-running indices kept modulo the ring size
 *   BUG_DEV_NO_AVAIL_EVENT  EVENT_IDX device that never writes avail_event
 *                           (vsockd if it offered EVENT_IDX today)
 *   BUG_UNBOUNDED_BATCH  EVENT_IDX device that may push 2^16 entries between
 *                        two notification decisions
 * Not a bug (-D), shown to still hold:
 *   DROP_GET_USED_MB     vq_get_used without its mb after writing used_event:
 *                        vq_enable_cb's mb comes before any sleep anyway
 */

#ifndef QSIZE
#define QSIZE 2
#endif
#ifdef BUG_IDX_MOD_QSIZE
#define IDXMOD QSIZE
#else
#define IDXMOD (2 * QSIZE)
#endif
#define WRAP(x)  (((x) + 4 * IDXMOD) % IDXMOD)
#define SLOT(i)  ((i) % QSIZE)
#define SEQMOD   4   /* buffer contents: sequence numbers */
/* Pushes per device batch between two notification decisions. With
 * EVENT_IDX it must stay below the index modulus (2^16 in C), else
 * need_event's window wraps to nothing (BUG_UNBOUNDED_BATCH). */
#ifdef BUG_UNBOUNDED_BATCH
#define DEV_BUDGET 255
#else
#define DEV_BUDGET (IDXMOD - 1)
#endif
#define NO_VALUE 7   /* descriptor never written */

/* §2.7.10 vring_need_event: the other side asked to hear when idx passes ev. */
#ifdef BUG_EVENT_NO_WRAP
#define NEED_EVENT(ev, nw, old) ((ev) >= (old) && (ev) < (nw))
#else
#define NEED_EVENT(ev, nw, old) (WRAP((nw) - (ev) - 1) < WRAP((nw) - (old)))
#endif

/* ---- shared memory cells */
#define V_DESC(d)  (d)                  /* descriptor d: the buffer it points at */
#define V_AVAIL(s) (QSIZE + (s))        /* avail->ring[s] */
#define V_AIDX     (2 * QSIZE)          /* avail->idx */
#define V_AFLAGS   (2 * QSIZE + 1)      /* avail->flags (NO_INTERRUPT) */
#define V_UEVENT   (2 * QSIZE + 2)      /* used_event */
#define V_USED(s)  (2 * QSIZE + 3 + (s)) /* used->ring[s].id */
#define V_UIDX     (3 * QSIZE + 3)      /* used->idx */
#define V_UFLAGS   (3 * QSIZE + 4)      /* used->flags (NO_NOTIFY) */
#define V_AEVENT   (3 * QSIZE + 5)      /* avail_event */
#define NV         (3 * QSIZE + 6)
byte mem[NV];

/* ---- store buffers: entries in program order; fence[i]: a barrier
 * separates entry i from the ones before it. */
#define SB  6
#define DRV 0
#define DEV 1
typedef storebuf {
    byte var[SB];
    byte val[SB];
    bit fence[SB];
    byte n;
    bit fence_next; /* a barrier was issued since the last store */
};
storebuf sb[2];

/* Notifications: latched, as an eventfd (kick) and a pending IRQ (call). */
bit kick, irq;

/* Ghost state: who owns each descriptor. */
#define O_FREE   0 /* the driver's free list */
#define O_DRIVER 1 /* written by the driver, in (or on its way to) the avail ring */
#define O_DEVICE 2 /* taken by the device */
#define O_USED   3 /* returned by the device, not yet collected */
byte owner[QSIZE];

inline STORE(st_p, st_var, st_val) {
    sb[st_p].n < SB;
    d_step {
        sb[st_p].var[sb[st_p].n] = st_var;
        sb[st_p].val[sb[st_p].n] = st_val;
        sb[st_p].fence[sb[st_p].n] = sb[st_p].fence_next;
        sb[st_p].fence_next = 0;
        sb[st_p].n++
    }
}

/* The newest buffered store to the cell, else memory. */
inline LOAD(ld_p, ld_var, ld_out) {
    d_step {
        ld_out = mem[ld_var];
        ld_i = 0;
        do
        :: ld_i < sb[ld_p].n ->
            if
            :: sb[ld_p].var[ld_i] == ld_var -> ld_out = sb[ld_p].val[ld_i]
            :: else
            fi;
            ld_i++
        :: else -> break
        od;
        ld_i = 0
    }
}

inline WMB(wb_p) {
    sb[wb_p].fence_next = (sb[wb_p].n > 0)
}

/* Full barrier: earlier stores are visible before anything after it. */
inline MB(mb_p) {
    (sb[mb_p].n == 0) -> sb[mb_p].fence_next = 0
}

/* Entry i may reach memory: it is in the first group (no fence at 1..i)
 * and no earlier entry writes the same cell. */
#define NOFENCE(p, i) ((i) < 1 || !sb[p].fence[1]) && ((i) < 2 || !sb[p].fence[2]) && \
                      ((i) < 3 || !sb[p].fence[3]) && ((i) < 4 || !sb[p].fence[4]) && \
                      ((i) < 5 || !sb[p].fence[5])
#define NODUP(p, i) ((i) < 1 || sb[p].var[0] != sb[p].var[i]) && \
                    ((i) < 2 || sb[p].var[1] != sb[p].var[i]) && \
                    ((i) < 3 || sb[p].var[2] != sb[p].var[i]) && \
                    ((i) < 4 || sb[p].var[3] != sb[p].var[i]) && \
                    ((i) < 5 || sb[p].var[4] != sb[p].var[i])
#ifdef TSO
#define CAN_COMMIT(p, i) ((i) == 0 && sb[p].n > 0)
#else
#define CAN_COMMIT(p, i) ((i) < sb[p].n && NOFENCE(p, i) && NODUP(p, i))
#endif

inline COMMIT(p, ci) {
    d_step {
        mem[sb[p].var[ci]] = sb[p].val[ci];
        cm_j = ci;
        do
        :: cm_j + 1 < sb[p].n ->
            sb[p].var[cm_j] = sb[p].var[cm_j + 1];
            sb[p].val[cm_j] = sb[p].val[cm_j + 1];
            sb[p].fence[cm_j] = sb[p].fence[cm_j + 1];
            cm_j++
        :: else -> break
        od;
        sb[p].n--;
        sb[p].var[sb[p].n] = 0;
        sb[p].val[sb[p].n] = 0;
        sb[p].fence[sb[p].n] = 0;
        sb[p].fence[0] = 0;
        cm_j = 0
    }
}

proctype drain(bit p) {
    byte cm_j;
end:
    do
    :: CAN_COMMIT(p, 0) -> COMMIT(p, 0)
    :: CAN_COMMIT(p, 1) -> COMMIT(p, 1)
    :: CAN_COMMIT(p, 2) -> COMMIT(p, 2)
    :: CAN_COMMIT(p, 3) -> COMMIT(p, 3)
    :: CAN_COMMIT(p, 4) -> COMMIT(p, 4)
    :: CAN_COMMIT(p, 5) -> COMMIT(p, 5)
    od
}

/* ================================================================ driver */

proctype driver() {
    byte ld_i;
    byte avail_idx, avail_pub, last_used; /* free-running, mod IDXMOD */
    byte shadow[QSIZE];                   /* avail_shadow: heads by slot */
    bit inflight[QSIZE], published[QSIZE];
    byte nfree = QSIZE, npub;             /* free descriptors; published and in flight */
    byte seq;                             /* next buffer's contents */
    bit cb_disabled;
    byte d, old, nw, v, id, pos;
    bit need, idle;

    do
    /* vq_add_chain (one or two), then vq_kick_prepare and the notify write:
     * vsock_send and rx_refill */
    :: nfree > 0 ->
        atomic {
          do
          :: true ->
            d = 0;
            do
            :: d < QSIZE && inflight[d] -> d++
            :: else -> break
            od;
            assert(owner[d] == O_FREE); /* never reused before the device used it */
            owner[d] = O_DRIVER;
            STORE(DRV, V_DESC(d), seq);
            STORE(DRV, V_AVAIL(SLOT(avail_idx)), d);
            shadow[SLOT(avail_idx)] = d;
            inflight[d] = 1;
            published[d] = 0;
            nfree--;
            seq = (seq + 1) % SEQMOD;
            avail_idx = WRAP(avail_idx + 1);
#ifdef BATCH
            if
            :: nfree > 0 /* another chain before the kick */
            :: true -> break
            fi
#else
            break
#endif
          od;
            /* vq_kick_prepare */
            old = avail_pub;
            nw = avail_idx;
            pos = old;
            do
            :: pos != nw -> published[shadow[SLOT(pos)]] = 1; npub++; pos = WRAP(pos + 1)
            :: else -> break
            od;
#ifndef BUG_DRV_NO_WMB
            WMB(DRV);
#endif
            STORE(DRV, V_AIDX, nw);
            avail_pub = nw
        }
#ifndef BUG_KICK_NO_MB
        MB(DRV);
#endif
        atomic {
#ifdef EVENT_IDX
            LOAD(DRV, V_AEVENT, v);
            need = NEED_EVENT(v, nw, old);
#else
            LOAD(DRV, V_UFLAGS, v);
            need = (v == 0);
#endif
        }
        /* the notify register write (writel): ordered after every earlier
         * store, so it reaches the device after them */
        if
        :: need -> (sb[DRV].n == 0) -> kick = 1
        :: else
        fi;
        d_step { d = 0; old = 0; nw = 0; v = 0; pos = 0; need = 0 } /* dead: not state */

    /* the service thread: an interrupt woke it (or it runs anyway) */
    :: npub > 0 ->
        irq = 0; /* a pending interrupt is taken here; its wake finds nobody waiting */
#ifdef DRV_DISABLE
        if
        :: atomic {
            cb_disabled = 1;
#ifdef EVENT_IDX
            STORE(DRV, V_UEVENT, WRAP(last_used - 1))
#else
            STORE(DRV, V_AFLAGS, 1)
#endif
           }
        :: true
        fi;
#endif
        /* drain: vq_get_used until it returns 0 */
        do
        :: atomic {
#ifdef BUG_DRV_NO_RMB
            LOAD(DRV, V_USED(SLOT(last_used)), id) /* hoisted above the idx load */
           }
           atomic {
#endif
            LOAD(DRV, V_UIDX, v)
           }
           if
           :: v == last_used -> break
           :: else
           fi;
           atomic {
            /* the device cannot have completed more than was published */
            assert(WRAP(v - last_used) <= npub);
#ifndef BUG_DRV_NO_RMB
            LOAD(DRV, V_USED(SLOT(last_used)), id);
#endif
            /* what vq_get_used checks (else: broken), and more: the device
             * returned exactly this one (it completes in order here) */
            assert(id < QSIZE && inflight[id] && published[id]);
            assert(owner[id] == O_USED && id == shadow[SLOT(last_used)]);
            owner[id] = O_FREE;
            inflight[id] = 0;
            published[id] = 0;
            nfree++;
            npub--;
            last_used = WRAP(last_used + 1);
#ifdef EVENT_IDX
            if
            :: !cb_disabled -> STORE(DRV, V_UEVENT, last_used)
            :: else -> STORE(DRV, V_UEVENT, WRAP(last_used - 1))
            fi
#endif
           }
progress_used:
#if defined(EVENT_IDX) && !defined(DROP_GET_USED_MB)
           if
           :: !cb_disabled -> MB(DRV)
           :: else
           fi
#else
           skip
#endif
        od;
        /* vq_enable_cb */
        atomic {
            cb_disabled = 0;
#ifdef EVENT_IDX
            STORE(DRV, V_UEVENT, last_used)
#else
            STORE(DRV, V_AFLAGS, 0)
#endif
        }
#ifndef BUG_ENABLE_NO_MB
        MB(DRV);
#endif
        atomic {
            LOAD(DRV, V_UIDX, v);
            idle = (v == last_used)
        }
        /* waitq_wait: interrupts are off until here, so an IRQ raised since
         * the top of the loop is still pending and ends the wait at once */
        d_step { v = 0; id = 0 };
        if
        :: idle && npub > 0 -> idle = 0; irq
        :: else -> idle = 0
        fi
    od
}

/* ================================================================ device */

/* vq_notify: tell the driver about what was pushed, unless it asked not to. */
inline DEV_NOTIFY() {
    if
    :: need_call ->
        need_call = 0;
#ifndef BUG_NOTIFY_NO_MB
        MB(DEV);
#endif
        atomic {
#ifdef EVENT_IDX
            LOAD(DEV, V_UEVENT, v);
            need = NEED_EVENT(v, used_idx, signalled);
            signalled = used_idx;
#else
            LOAD(DEV, V_AFLAGS, v);
            need = (v == 0);
#endif
            v = 0
        }
        /* write(call_fd): a system call, ordered after earlier stores */
        if
        :: need -> need = 0; (sb[DEV].n == 0) -> irq = 1
        :: else
        fi
    :: else
    fi
}

proctype device() {
    byte ld_i;
    byte last_avail, used_idx, signalled; /* signalled: used->idx at the last decision */
    byte seq;                             /* contents expected in the next buffer */
    byte v, head, x;
    byte budget; /* pushes left in this batch (vsockd: TX_BUDGET, RX_BUDGET) */
    bit need_call, need, more;

end_idle:
    do
    :: atomic { kick -> kick = 0; budget = DEV_BUDGET } /* the kick eventfd is read */
#if defined(DEV_SUPPRESS) && !defined(EVENT_IDX)
        STORE(DEV, V_UFLAGS, 1);
#endif
        /* process: vq_pop until empty, each buffer used then vq_push */
        do
        :: budget == 0 ->
            kick = 1; /* budget spent: notify now, run again (device_has_work) */
            break
        :: budget > 0 ->
           atomic {
#ifdef BUG_DEV_NO_RMB
            LOAD(DEV, V_AVAIL(SLOT(last_avail)), head) /* hoisted above the idx load */
           }
           atomic {
#endif
            LOAD(DEV, V_AIDX, v)
           }
           if
           :: v != last_avail ->
               atomic {
                assert(WRAP(v - last_avail) <= QSIZE); /* vq_pop: else broken */
#ifndef BUG_DEV_NO_RMB
                LOAD(DEV, V_AVAIL(SLOT(last_avail)), head)
#endif
               }
               atomic {
                assert(head < QSIZE && owner[head] == O_DRIVER);
                owner[head] = O_DEVICE;
                LOAD(DEV, V_DESC(head), x);
                assert(x == seq); /* the buffer the driver published, not a stale one */
                seq = (seq + 1) % SEQMOD;
                last_avail = WRAP(last_avail + 1)
               }
#ifndef BUG_USE_AFTER_PUSH
               atomic { assert(owner[head] == O_DEVICE); owner[head] = O_USED }
#endif
               /* vq_push: entry, release, idx */
               atomic {
                STORE(DEV, V_USED(SLOT(used_idx)), head);
#ifndef BUG_DEV_NO_WMB
                WMB(DEV);
#endif
                used_idx = WRAP(used_idx + 1);
                STORE(DEV, V_UIDX, used_idx);
                need_call = 1;
                budget--
               }
#ifdef BUG_USE_AFTER_PUSH
               atomic { assert(owner[head] == O_DEVICE); owner[head] = O_USED }
#endif
               d_step { head = 0; x = 0; v = 0 } /* dead: not state */
#ifdef DEV_NOTIFY_EARLY
               /* a device may signal after any used entry, before it
                * re-enables its own notifications (Linux vhost signals
                * within a batch) */
               if
               :: DEV_NOTIFY()
               :: true
               fi
#endif
           :: else ->
               v = 0;
#if defined(EVENT_IDX) && !defined(BUG_DEV_NO_AVAIL_EVENT)
               STORE(DEV, V_AEVENT, last_avail);
#define DEV_RECHECK
#elif defined(DEV_SUPPRESS) && !defined(EVENT_IDX)
               STORE(DEV, V_UFLAGS, 0);
#define DEV_RECHECK
#endif
#ifdef DEV_RECHECK
#ifndef BUG_DEV_ENABLE_NO_MB
               MB(DEV);
#endif
               atomic {
                LOAD(DEV, V_AIDX, v);
                more = (v != last_avail);
                v = 0
               }
               if
               :: more ->
                   more = 0;
#if defined(DEV_SUPPRESS) && !defined(EVENT_IDX)
                   STORE(DEV, V_UFLAGS, 1)
#else
                   skip
#endif
               :: else -> break
               fi
#else
               break
#endif
           fi
        od;
        DEV_NOTIFY()
    od
}

init {
    byte i;
    atomic {
        for (i : 0 .. QSIZE - 1) {
            mem[V_DESC(i)] = NO_VALUE
        }
        run drain(DRV);
        run drain(DEV);
        run driver();
        run device()
    }
}
