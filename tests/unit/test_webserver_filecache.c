/* SPDX-License-Identifier: BSD-2-Clause */
/* The web server's file cache against real files in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../apps/webserver/filecache.h"
#include "test.h"

static char dir[64];

__attribute__((destructor)) static void remove_dir(void)
{
    char cmd[128];
    if (dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
}

/* Writes n bytes (byte i = seed + i) to dir/name; returns its path. */
static const char *make_file(const char *name, size_t n, unsigned seed)
{
    static char path[4][128];
    static int k;
    char *p = path[k++ % 4];
    if (!dir[0]) {
        strcpy(dir, "/tmp/miura-fc.XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f)
        abort();
    for (size_t i = 0; i < n; i++)
        fputc((int)((seed + i) & 0xff), f);
    fclose(f);
    return p;
}

static struct file_version version_of(const char *path)
{
    struct stat st;
    struct file_version v = {0, 0, 0};
    if (stat(path, &st) == 0)
        v = (struct file_version){(uint64_t)st.st_ino, (uint64_t)st.st_size,
                                  (uint64_t)st.st_mtim.tv_sec * 1000000000u +
                                      (uint64_t)st.st_mtim.tv_nsec};
    return v;
}

static int content_is(const char *data, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)data[i] != ((seed + i) & 0xff))
            return 0;
    return 1;
}

static int fd_content_is(int fd, size_t n, unsigned seed)
{
    char *buf = malloc(n + 1);
    int ok = pread(fd, buf, n + 1, 0) == (ssize_t)n && content_is(buf, n, seed);
    free(buf);
    return ok;
}

TEST(small_file_is_held_in_memory_and_hit)
{
    const char *p = make_file("small", 100, 7);
    struct file_version v = version_of(p);
    CHECK_EQ(fc_init(4, 1000, 400), 0);
    struct fc_entry *a = fc_get(p, &v, 1);
    CHECK(a != NULL);
    CHECK(a->data != NULL);
    CHECK_EQ(a->fd, -1);
    CHECK(content_is(a->data, 100, 7));
    struct fc_entry *b = fc_get(p, &v, 1);
    CHECK(b == a);
    struct fc_stats st;
    fc_stats(&st);
    CHECK_EQ(st.hits, 1);
    CHECK_EQ(st.misses, 1);
    CHECK_EQ(st.loads, 1);
    CHECK_EQ(st.bytes, 100);
    CHECK_EQ(st.entries, 1);
    fc_put(a);
    fc_put(b);
    fc_reset();
}

TEST(large_file_stays_open_not_read)
{
    const char *p = make_file("large", 5000, 3);
    struct file_version v = version_of(p);
    CHECK_EQ(fc_init(4, 100000, 4096), 0);
    struct fc_entry *a = fc_get(p, &v, 1);
    CHECK(a != NULL);
    CHECK(a->data == NULL);
    CHECK(a->fd >= 0);
    CHECK(fd_content_is(a->fd, 5000, 3));
    struct fc_stats st;
    fc_stats(&st);
    CHECK_EQ(st.bytes, 0);
    CHECK_EQ(st.loads, 0);
    fc_put(a);
    fc_reset();
}

TEST(a_new_version_is_loaded_and_replaces_the_old)
{
    const char *p = make_file("changing", 200, 1);
    struct file_version v1 = version_of(p);
    CHECK_EQ(fc_init(4, 1000, 400), 0);
    struct fc_entry *a = fc_get(p, &v1, 1);
    CHECK(a && a->data && content_is(a->data, 200, 1));
    fc_put(a);
    make_file("changing", 200, 50); /* same size: only the version tells */
    struct file_version v2 = v1;
    v2.mtime_ns += 1;
    struct fc_entry *b = fc_get(p, &v2, 1);
    CHECK(b && b->data && content_is(b->data, 200, 50));
    struct fc_stats st;
    fc_stats(&st);
    CHECK_EQ(st.entries, 1); /* the old version's slot was reused */
    CHECK_EQ(st.bytes, 200);
    CHECK_EQ(st.misses, 2);
    fc_put(b);
    fc_reset();
}

TEST(content_budget_is_never_exceeded)
{
    CHECK_EQ(fc_init(8, 1000, 400), 0);
    char name[16];
    for (unsigned i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "b%u", i);
        const char *p = make_file(name, 300, i);
        struct file_version v = version_of(p);
        struct fc_entry *e = fc_get(p, &v, 1);
        CHECK(e && e->data && content_is(e->data, 300, i));
        struct fc_stats st;
        fc_stats(&st);
        CHECK(st.bytes <= 1000);
        fc_put(e);
    }
    struct fc_stats st;
    fc_stats(&st);
    CHECK_EQ(st.loads, 6);
    CHECK_EQ(st.bytes, 900); /* the three newest */
    CHECK_EQ(st.entries, 3);
    fc_reset();
}

TEST(in_use_content_is_not_evicted_for_the_budget)
{
    CHECK_EQ(fc_init(8, 500, 400), 0);
    const char *p1 = make_file("u1", 300, 1), *p2 = make_file("u2", 300, 2);
    struct file_version v1 = version_of(p1), v2 = version_of(p2);
    struct fc_entry *a = fc_get(p1, &v1, 1);
    struct fc_entry *b = fc_get(p2, &v2, 1); /* no room while a is in use: kept open */
    CHECK(a && a->data && content_is(a->data, 300, 1));
    CHECK(b && !b->data && b->fd >= 0 && fd_content_is(b->fd, 300, 2));
    fc_put(a);
    fc_put(b);
    fc_reset();
}

TEST(busy_slots_give_a_temporary_entry)
{
    CHECK_EQ(fc_init(2, 10000, 4000), 0);
    const char *p[3] = {make_file("t0", 10, 0), make_file("t1", 20, 1), make_file("t2", 30, 2)};
    struct fc_entry *e[3];
    for (int i = 0; i < 3; i++) {
        struct file_version v = version_of(p[i]);
        e[i] = fc_get(p[i], &v, 1);
        CHECK(e[i] && e[i]->data && content_is(e[i]->data, 10 * (size_t)(i + 1), (unsigned)i));
    }
    CHECK(!e[0]->temporary && !e[1]->temporary && e[2]->temporary);
    for (int i = 0; i < 3; i++)
        fc_put(e[i]);
    struct fc_stats st;
    fc_stats(&st);
    CHECK_EQ(st.entries, 2);
    CHECK_EQ(st.bytes, 30); /* the temporary entry's 30 bytes went with it */
    fc_reset();
}

TEST(missing_and_shrunk_files)
{
    CHECK_EQ(fc_init(4, 1000, 400), 0);
    struct file_version none = {1, 10, 1};
    errno = 0;
    char path[128];
    snprintf(path, sizeof(path), "%s/does-not-exist", dir[0] ? dir : "/tmp");
    CHECK(fc_get(path, &none, 1) == NULL);
    CHECK_EQ(errno, ENOENT);
    /* The stat said 200 bytes, the file has 100 now: not held in memory. */
    const char *p = make_file("shrunk", 100, 9);
    struct file_version v = version_of(p);
    v.size = 200;
    struct fc_entry *e = fc_get(p, &v, 1);
    CHECK(e && !e->data && e->fd >= 0);
    struct fc_stats st;
    fc_stats(&st);
    CHECK_EQ(st.bytes, 0);
    fc_put(e);
    fc_reset();
}

TEST(zero_budget_keeps_files_open_only)
{
    CHECK_EQ(fc_init(4, 0, 65536), 0);
    const char *p = make_file("z", 10, 4);
    struct file_version v = version_of(p);
    struct fc_entry *e = fc_get(p, &v, 1);
    CHECK(e && !e->data && e->fd >= 0 && fd_content_is(e->fd, 10, 4));
    fc_put(e);
    CHECK_EQ(fc_init(4, 0, 0), -1); /* once only */
    CHECK_EQ(errno, EINVAL);
    fc_reset();
}

/* fc_get without a version: an entry serves without a stat only within
 * FC_TRUST_NS of the last stat that showed its version; an older version
 * kept beside a newer one (still being sent from) stops being served once
 * its own window is over, and nothing is opened for such a call. */
TEST(entry_served_without_stat_only_within_its_trust_window)
{
    const char *p = make_file("recent", 100, 3);
    struct file_version v1 = version_of(p);
    const uint64_t t0 = 5000000000ull, w = FC_TRUST_NS;
    CHECK_EQ(fc_init(4, 1000, 400), 0);
    CHECK(fc_get(p, NULL, t0) == NULL); /* nothing yet, and nothing opened */
    struct fc_stats st;
    fc_stats(&st);
    CHECK_EQ(st.entries, 0);
    CHECK_EQ(st.misses, 0);
    struct fc_entry *a = fc_get(p, &v1, t0);
    CHECK(a && a->data && content_is(a->data, 100, 3));
    fc_put(a);
    struct fc_entry *r = fc_get(p, NULL, t0 + w - 1);
    CHECK(r == a);
    fc_put(r);
    CHECK(fc_get(p, NULL, t0 + w) == NULL); /* the window is over: stat again */
    CHECK(fc_get("/no/such/path", NULL, t0 + 1) == NULL);
    fc_stats(&st);
    CHECK_EQ(st.hits, 1);
    CHECK_EQ(st.misses, 1);
    /* a stat showing the same version again opens a new window */
    struct fc_entry *old = fc_get(p, &v1, t0 + 2 * w);
    CHECK(old == a);
    r = fc_get(p, NULL, t0 + 3 * w - 1);
    CHECK(r == a);
    fc_put(r);
    /* a new version while the old one is being sent from */
    make_file("recent", 100, 9);
    struct file_version v2 = v1;
    v2.mtime_ns += 1;
    struct fc_entry *b = fc_get(p, &v2, t0 + 4 * w);
    CHECK(b && b != old && b->data && content_is(b->data, 100, 9));
    fc_put(b);
    r = fc_get(p, NULL, t0 + 4 * w + 1); /* the old one's window is over */
    CHECK(r == b);
    fc_put(r);
    fc_put(old);
    fc_reset();
}
