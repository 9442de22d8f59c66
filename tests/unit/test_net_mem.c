/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Memory of idle vsock connections, measured in the guest's own heap
 * (kernel/mm/heap.c over host pages): net's sources are built into this
 * file with malloc/calloc/free bound to the Miura heap, so size classes and
 * slab overhead count as they would in the guest.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/libc_name.h"
#include "mm/heap.h"
#include "mm/page.h"
#include "mm_shim.h"

#define malloc miura_malloc
#define calloc miura_calloc
#define free   miura_free
#include "../../kernel/net/socket.c"
#include "../../kernel/net/vsock_conn.c"
#include "../../kernel/net/vsock_proto.c"
#undef malloc
#undef calloc
#undef free

#include "net_fake.h"
#include "test.h"

#define MiB (1024ull * 1024)

static void heap_setup(void)
{
    static char *mem;
    if (!mem) {
        mem = mm_test_memory(64 * MiB);
        page_add_region((uintptr_t)mem, 64 * MiB);
    }
    mm_test_cpu = 0;
}

TEST(a_thousand_idle_connections_in_the_guest_heap)
{
    heap_setup();
    fake_init();
    vsock_net_initial_cnt = 0;
    struct heap_stats before, after;
    heap_trim();
    heap_stats(&before);
    int lfd = fake_listen(1234, 1000);
    CHECK(lfd >= 0);
    for (uint32_t i = 0; i < 1000; i++) {
        int fd = fake_accept_new(lfd, 1234, 10000 + i);
        CHECK(fd >= 0);
        fake_inject(VSOCK_OP_RW, 10000 + i, 1234, 0, VSOCK_BUF_DEFAULT, 0, "x", 1);
        char b;
        CHECK_EQ(miura_recv(fd, &b, 1, 0), 1);
    }
    heap_stats(&after);
    CHECK_EQ(after.live_allocations - before.live_allocations, 1001);
    CHECK_EQ(vsock_net_stats.rx_bufs_held, 0);
    uint64_t heap_bytes = (after.pages_held - before.pages_held) * PAGE_SIZE;
    uint64_t static_bytes =
        sizeof(struct fd_object *) * FD_MAX + sizeof(conn_table) + sizeof(bind_table);
    printf("# 1000 idle connections: %zu heap pages (%llu bytes, %llu per connection) + "
           "%llu static bytes\n",
           after.pages_held - before.pages_held, (unsigned long long)heap_bytes,
           (unsigned long long)(heap_bytes / 1000), (unsigned long long)static_bytes);
    CHECK(heap_bytes + static_bytes < 16 * MiB);
    CHECK(heap_bytes / 1000 <= 512);
    CHECK(fake_teardown());
    heap_trim();
    heap_stats(&after);
    CHECK_EQ(after.live_allocations, before.live_allocations);
    CHECK_EQ(after.pages_held, before.pages_held);
}
