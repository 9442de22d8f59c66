/* SPDX-License-Identifier: BSD-2-Clause */
/* miura-vsockd descriptor walker, memory table and used ring, on fake guest memory. */
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "test.h"
#include "vsockd/vring.h"

#define MEM 0x10000
#define NUM 8

struct ring_fixture {
    uint8_t *mem;
    struct vu_mem table;
    struct virtqueue vq;
    struct virtq_desc *desc;
    uint16_t *avail;
};

/* Two regions: gpa 0..32K and 32K..64K, contiguous in gpa, separate on the host side. */
static void setup(struct ring_fixture *f)
{
    f->mem = aligned_alloc(4096, MEM);
    memset(f->mem, 0, MEM);
    memset(&f->table, 0, sizeof(f->table));
    f->table.count = 2;
    f->table.region[0] = (struct vu_region){0, MEM / 2, 0x7000000, f->mem, NULL, 0};
    f->table.region[1] = (struct vu_region){MEM / 2, MEM / 2, 0x9000000, f->mem + MEM / 2, NULL, 0};
    vq_init(&f->vq);
    f->vq.num = NUM;
    f->vq.desc_uva = 0x7000000 + 0x1000;
    f->vq.avail_uva = 0x7000000 + 0x2000;
    f->vq.used_uva = 0x7000000 + 0x3000;
    f->vq.addr_set = true;
    f->vq.started = f->vq.enabled = true;
    f->desc = (struct virtq_desc *)(f->mem + 0x1000);
    f->avail = (uint16_t *)(f->mem + 0x2000);
}

static void publish(struct ring_fixture *f, uint16_t head)
{
    f->avail[2 + f->avail[1] % NUM] = head;
    f->avail[1]++;
}

TEST(gpa_translation_is_bounded)
{
    struct ring_fixture f;
    setup(&f);
    CHECK(vu_gpa_to_host(&f.table, 0, MEM / 2) == f.mem);
    CHECK(vu_gpa_to_host(&f.table, MEM / 2 - 1, 1) == f.mem + MEM / 2 - 1);
    CHECK(vu_gpa_to_host(&f.table, MEM / 2 - 1, 2) == NULL); /* straddles regions */
    CHECK(vu_gpa_to_host(&f.table, MEM, 1) == NULL);
    CHECK(vu_gpa_to_host(&f.table, UINT64_MAX, 2) == NULL);
    CHECK(vu_gpa_to_host(&f.table, 16, UINT64_MAX) == NULL);
    CHECK(vu_uva_to_host(&f.table, 0x9000000 + 8, 8) == f.mem + MEM / 2 + 8);
    CHECK(vu_uva_to_host(&f.table, 0x7000000 - 1, 2) == NULL);
    free(f.mem);
}

TEST(ring_addresses_checked)
{
    struct ring_fixture f;
    setup(&f);
    CHECK(vq_translate(&f.vq, &f.table));
    CHECK(vq_ready(&f.vq));
    f.vq.used_uva = 0x7000000 + MEM / 2 - 8; /* used ring would run past the region */
    CHECK(!vq_translate(&f.vq, &f.table));
    CHECK(!vq_ready(&f.vq));
    f.vq.used_uva = 0x7000000 + 0x3002; /* misaligned */
    CHECK(!vq_translate(&f.vq, &f.table));
    free(f.mem);
}

TEST(walk_good_chain_with_region_split)
{
    struct ring_fixture f;
    struct vq_chain c;
    setup(&f);
    CHECK(vq_translate(&f.vq, &f.table));
    f.desc[0] = (struct virtq_desc){0x4000, 44, VIRTQ_DESC_F_NEXT, 3};
    f.desc[3] = (struct virtq_desc){MEM / 2 - 100, 200, VIRTQ_DESC_F_NEXT, 5}; /* crosses 32K */
    f.desc[5] =
        (struct virtq_desc){0x5000, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 6}; /* zero length */
    f.desc[6] = (struct virtq_desc){0x6000, 512, VIRTQ_DESC_F_WRITE, 0};
    publish(&f, 0);
    CHECK_EQ(vq_pop(&f.vq, &f.table, &c), 1);
    CHECK_EQ(c.head, 0);
    CHECK_EQ(c.n_out, 3);
    CHECK_EQ(c.out_len, 244);
    CHECK(c.out[1].iov_base == f.mem + MEM / 2 - 100 && c.out[1].iov_len == 100);
    CHECK(c.out[2].iov_base == f.mem + MEM / 2 && c.out[2].iov_len == 100);
    CHECK_EQ(c.n_in, 1);
    CHECK_EQ(c.in_len, 512);
    CHECK_EQ(vq_pop(&f.vq, &f.table, &c), 0);
    free(f.mem);
}

static int walk_one(struct ring_fixture *f)
{
    struct vq_chain c;
    vq_translate(&f->vq, &f->table);
    return vq_walk(&f->vq, &f->table, 0, &c);
}

TEST(walk_rejects_bad_descriptors)
{
    struct ring_fixture f;
    setup(&f);
    f.desc[0] = (struct virtq_desc){MEM, 1, 0, 0}; /* outside memory */
    CHECK_EQ(walk_one(&f), -1);
    f.desc[0] = (struct virtq_desc){MEM - 10, 11, 0, 0}; /* runs off the end */
    CHECK_EQ(walk_one(&f), -1);
    f.desc[0] = (struct virtq_desc){UINT64_MAX - 5, 100, 0, 0}; /* address wraps */
    CHECK_EQ(walk_one(&f), -1);
    f.desc[0] = (struct virtq_desc){0x100, 10, VIRTQ_DESC_F_INDIRECT, 0}; /* not negotiated */
    CHECK_EQ(walk_one(&f), -1);
    f.desc[0] = (struct virtq_desc){0x100, 10, VIRTQ_DESC_F_NEXT, NUM}; /* next out of range */
    CHECK_EQ(walk_one(&f), -1);
    f.desc[0] = (struct virtq_desc){0x100, 10, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1};
    f.desc[1] = (struct virtq_desc){0x200, 10, 0, 0}; /* readable after writable */
    CHECK_EQ(walk_one(&f), -1);
    f.desc[0] = (struct virtq_desc){0x100, 10, 0, 0};
    CHECK_EQ(walk_one(&f), 0);
    free(f.mem);
}

TEST(walk_rejects_loops)
{
    struct ring_fixture f;
    setup(&f);
    f.desc[0] = (struct virtq_desc){0x100, 0, VIRTQ_DESC_F_NEXT, 0}; /* self loop, zero length */
    CHECK_EQ(walk_one(&f), -1);
    for (uint16_t i = 0; i < NUM; i++) /* a cycle through every descriptor */
        f.desc[i] = (struct virtq_desc){0x100, 1, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % NUM)};
    CHECK_EQ(walk_one(&f), -1);
    f.desc[NUM - 1].flags = 0; /* the longest legal chain: all of them */
    CHECK_EQ(walk_one(&f), 0);
    free(f.mem);
}

TEST(segments_are_bounded)
{
    struct ring_fixture f;
    struct vq_chain c;
    setup(&f);
    f.vq.num = 128;
    f.vq.desc_uva = 0x7000000 + 0x4000; /* 2 KiB table */
    f.vq.avail_uva = 0x7000000 + 0x2000;
    f.vq.used_uva = 0x7000000 + 0x3000;
    CHECK(vq_translate(&f.vq, &f.table));
    struct virtq_desc *d = (struct virtq_desc *)(f.mem + 0x4000);
    for (uint16_t i = 0; i < 100; i++)
        d[i] = (struct virtq_desc){0x100, 1, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1)};
    d[99].flags = 0;
    CHECK_EQ(vq_walk(&f.vq, &f.table, 0, &c), -1); /* more than VQ_MAX_SEGMENTS */
    free(f.mem);
}

TEST(avail_index_jump_and_bad_head_break_queue)
{
    struct ring_fixture f;
    struct vq_chain c;
    setup(&f);
    CHECK(vq_translate(&f.vq, &f.table));
    f.avail[1] = NUM + 1; /* more entries than the ring has */
    CHECK_EQ(vq_pop(&f.vq, &f.table, &c), -1);
    CHECK(f.vq.broken);
    CHECK_EQ(vq_pop(&f.vq, &f.table, &c), 0); /* stays stopped */
    free(f.mem);
    setup(&f);
    CHECK(vq_translate(&f.vq, &f.table));
    f.avail[2] = NUM; /* head out of range */
    f.avail[1] = 1;
    CHECK_EQ(vq_pop(&f.vq, &f.table, &c), -1);
    free(f.mem);
}

TEST(used_ring_and_wraparound)
{
    struct ring_fixture f;
    struct vq_chain c;
    setup(&f);
    CHECK(vq_translate(&f.vq, &f.table));
    f.vq.last_avail = f.vq.used_idx = 65534; /* indices wrap at 2^16 */
    f.avail[1] = 65534;
    f.desc[2] = (struct virtq_desc){0x100, 64, VIRTQ_DESC_F_WRITE, 0};
    for (int i = 0; i < 4; i++) {
        publish(&f, 2);
        CHECK_EQ(vq_pop(&f.vq, &f.table, &c), 1);
        CHECK_EQ(c.head, 2);
        vq_push(&f.vq, c.head, 10 + (uint32_t)i);
    }
    uint16_t used_idx;
    memcpy(&used_idx, f.mem + 0x3000 + 2, 2);
    CHECK_EQ(used_idx, 2); /* 65534 + 4 */
    uint32_t e[2];
    memcpy(e, f.mem + 0x3000 + 4 + 8 * (65535 % NUM), 8);
    CHECK_EQ(e[0], 2);
    CHECK_EQ(e[1], 11);
    vq_unpop(&f.vq);
    CHECK_EQ(f.vq.last_avail, 1);
    free(f.mem);
}

/* Calls the guest got since the last look (its call eventfd's counter). */
static uint64_t calls_taken(int efd)
{
    uint64_t v = 0;
    return read(efd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

TEST(event_idx_calls_only_past_used_event_and_asks_for_kicks)
{
    struct ring_fixture f;
    struct vq_chain c;
    setup(&f);
    CHECK(vq_translate(&f.vq, &f.table));
    f.vq.event_idx = true;
    f.vq.call_fd = eventfd(0, EFD_NONBLOCK);
    CHECK(f.vq.call_fd >= 0);
    uint16_t *used_event = &f.avail[2 + NUM];                           /* after the avail ring */
    uint16_t *avail_event = (uint16_t *)(f.mem + 0x3000 + 4 + 8 * NUM); /* after used */
    f.desc[1] = (struct virtq_desc){0x100, 64, VIRTQ_DESC_F_WRITE, 0};
    /* The first call always goes (nothing signalled yet). */
    publish(&f, 1);
    CHECK_EQ(vq_pop(&f.vq, &f.table, &c), 1);
    vq_push(&f.vq, 1, 8);
    vq_notify(&f.vq);
    CHECK_EQ(calls_taken(f.vq.call_fd), 1);
    /* The guest is still busy (used_event still 0): three more, no call. */
    for (int i = 0; i < 3; i++) {
        publish(&f, 1);
        CHECK_EQ(vq_pop(&f.vq, &f.table, &c), 1);
        vq_push(&f.vq, 1, 8);
        vq_notify(&f.vq);
    }
    CHECK_EQ(calls_taken(f.vq.call_fd), 0);
    CHECK_EQ(f.vq.calls, 1);
    /* It took all four and sleeps asking for the fifth (used_event 4): one
     * call when that entry is used, none for the sixth. */
    *used_event = 4;
    for (int i = 0; i < 2; i++) {
        publish(&f, 1);
        CHECK_EQ(vq_pop(&f.vq, &f.table, &c), 1);
        vq_push(&f.vq, 1, 8);
        vq_notify(&f.vq);
        CHECK_EQ(calls_taken(f.vq.call_fd), i == 0 ? 1 : 0);
    }
    /* Kicks: the device asks for one at the next chain when it goes idle, and
     * learns of a chain that slipped in meanwhile. */
    CHECK(!vq_want_kick(&f.vq));
    CHECK_EQ(*avail_event, 6);
    publish(&f, 1);
    CHECK(vq_want_kick(&f.vq));
    /* Without EVENT_IDX: a call per batch unless NO_INTERRUPT, no kick asked. */
    f.vq.event_idx = false;
    CHECK(!vq_want_kick(&f.vq));
    CHECK_EQ(vq_pop(&f.vq, &f.table, &c), 1);
    vq_push(&f.vq, 1, 8);
    vq_notify(&f.vq);
    CHECK_EQ(calls_taken(f.vq.call_fd), 1);
    close(f.vq.call_fd);
    free(f.mem);
}

TEST(iov_helpers)
{
    uint8_t a[5] = "abcd", b[7] = "efghij", out[16] = {0};
    struct iovec iov[2] = {{a, 4}, {b, 6}}, s[2];
    CHECK_EQ(iov_copy_from(out, iov, 2, 2, 5), 5);
    CHECK(memcmp(out, "cdefg", 5) == 0);
    CHECK_EQ(iov_copy_from(out, iov, 2, 8, 100), 2);
    CHECK_EQ(iov_slice(s, iov, 2, 3, 4), 2);
    CHECK(s[0].iov_base == a + 3 && s[0].iov_len == 1 && s[1].iov_len == 3);
    CHECK_EQ(iov_copy_to(iov, 2, 3, "XYZ", 3), 3);
    CHECK(memcmp(a, "abcX", 4) == 0 && memcmp(b, "YZ", 2) == 0);
}
