/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-instance identities (host/common/idrange.c): range strings, the
 * subordinate id files, which source wins, and the locks (lowest free slot,
 * a second holder, host accounts skipped, release), in a temporary directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/idrange.h"
#include "test.h"

static char dir[64];

static void fresh_dir(void)
{
    strcpy(dir, "/tmp/miura-idrange.XXXXXX");
    if (!mkdtemp(dir))
        dir[0] = '\0';
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static void write_file(const char *name, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

TEST(range_strings)
{
    struct id_range r;
    CHECK(id_range_parse("100000:65536", &r) == 0);
    CHECK_EQ(r.uid, 100000);
    CHECK_EQ(r.gid, 100000);
    CHECK_EQ(r.count, 65536);
    CHECK(id_range_parse("200000:300000:16", &r) == 0);
    CHECK_EQ(r.uid, 200000);
    CHECK_EQ(r.gid, 300000);
    CHECK_EQ(r.count, 16);
    CHECK(id_range_parse("4294967294:1", &r) == 0); /* the last id there is */
    CHECK_EQ(r.uid, 4294967294u);
    /* root, (uid_t)-1, an empty range, past the top, junk */
    const char *bad[] = {"0:10",  "4294967295:1",  "4294967294:2",  "1:0",
                         "100",   "1:2:3:4",       "a:1",           "1:",
                         ":1",    "-1:5",          "1 :5",          "1:5 ",
                         "",      "1::5",          "99999999999:1", "1:2:0",
                         "5:0:3", "5:4294967294:2"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (id_range_parse(bad[i], &r) == 0)
            test_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
}

TEST(subid_lines)
{
    uint32_t start = 0, count = 0;
    const char *text = "# comment\n\nalice:100000:65536\nmiura:165536:1000\nmiura:1:1\n";
    CHECK_EQ(subid_find(text, strlen(text), "miura", NULL, &start, &count), 1);
    CHECK_EQ(start, 165536);
    CHECK_EQ(count, 1000);
    CHECK_EQ(subid_find(text, strlen(text), "bob", NULL, &start, &count), 0);
    /* by uid, no newline at the end */
    const char *byuid = "998:500000:64";
    CHECK_EQ(subid_find(byuid, strlen(byuid), "miura", "998", &start, &count), 1);
    CHECK_EQ(start, 500000);
    CHECK_EQ(count, 64);
    CHECK_EQ(subid_find(byuid, strlen(byuid), "miura", "99", &start, &count), 0);
    /* a longer name that starts with ours is not ours */
    const char *other = "miurax:1:5\n";
    CHECK_EQ(subid_find(other, strlen(other), "miura", NULL, &start, &count), 0);
    /* our first line malformed: an error, not a skip */
    const char *bad[] = {"miura:0:5\n",           "miura:5\n",    "miura:5:0\n", "miura:x:5\n",
                         "miura:4294967290:10\n", "miura:5:5:5\n"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (subid_find(bad[i], strlen(bad[i]), "miura", NULL, &start, &count) != -1)
            test_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
    /* the length bounds the text: the line past it is not seen */
    CHECK_EQ(subid_find(text, 30, "miura", NULL, &start, &count), 0);
}

TEST(range_sources)
{
    struct id_range r;
    char err[256], su[128], sg[128], none[128];
    fresh_dir();
    CHECK(dir[0]);
    snprintf(none, sizeof(none), "%s/missing", dir);
    /* the environment first */
    CHECK(id_range_find("300000:10", none, none, &r, err, sizeof(err)) == 0);
    CHECK_EQ(r.uid, 300000);
    CHECK(strcmp(r.from, "MIURA_ID_RANGE") == 0);
    CHECK(id_range_find("0:10", none, none, &r, err, sizeof(err)) == -1);
    CHECK(strstr(err, "MIURA_ID_RANGE") != NULL);
    /* no files: the default */
    CHECK(id_range_find(NULL, none, none, &r, err, sizeof(err)) == 0);
    CHECK_EQ(r.uid, IDRANGE_DEFAULT_BASE);
    CHECK_EQ(r.gid, IDRANGE_DEFAULT_BASE);
    CHECK_EQ(r.count, IDRANGE_DEFAULT_COUNT);
    /* both files: uid and gid from each, the shorter count */
    write_file("subuid", "root:1:2\nmiura:400000:100\n", su, sizeof(su));
    write_file("subgid", "miura:500000:50\n", sg, sizeof(sg));
    CHECK(id_range_find(NULL, su, sg, &r, err, sizeof(err)) == 0);
    CHECK_EQ(r.uid, 400000);
    CHECK_EQ(r.gid, 500000);
    CHECK_EQ(r.count, 50);
    /* only one of them: an error that names both */
    CHECK(id_range_find(NULL, su, none, &r, err, sizeof(err)) == -1);
    CHECK(strstr(err, "subuid") && strstr(err, "missing"));
    /* a malformed line names its file */
    write_file("subgid", "miura:0:50\n", sg, sizeof(sg));
    CHECK(id_range_find(NULL, su, sg, &r, err, sizeof(err)) == -1);
    CHECK(strstr(err, "subgid") != NULL);
    remove_dir();
}

/* Test accounts: every odd uid is "a host account". */
static bool odd_taken(uint32_t uid, uint32_t gid)
{
    (void)gid;
    return uid % 2 == 1;
}

static bool none_taken(uint32_t uid, uint32_t gid)
{
    (void)uid;
    (void)gid;
    return false;
}

TEST(locks)
{
    struct id_range r = {.uid = 600000, .gid = 700000, .count = 3};
    struct instance_id a, b, c, d, p;
    int fa, fb, fc, fd;
    fresh_dir();
    CHECK(dir[0]);
    CHECK(id_peek(dir, &r, none_taken, &p) == 0);
    CHECK_EQ(p.uid, 600000);
    CHECK(id_lock(dir, &r, none_taken, &a, &fa) == 0);
    CHECK_EQ(a.uid, 600000);
    CHECK_EQ(a.gid, 700000);
    CHECK(id_peek(dir, &r, none_taken, &p) == 0);
    CHECK_EQ(p.uid, 600001); /* peeking takes nothing */
    CHECK(id_lock(dir, &r, none_taken, &b, &fb) == 0);
    CHECK_EQ(b.uid, 600001);
    CHECK_EQ(b.gid, 700001);
    CHECK(id_lock(dir, &r, none_taken, &c, &fc) == 0);
    CHECK_EQ(c.uid, 600002);
    errno = 0;
    CHECK(id_lock(dir, &r, none_taken, &d, &fd) == -1);
    CHECK_EQ(errno, EBUSY);
    CHECK(id_peek(dir, &r, none_taken, &p) == -1);
    /* a released slot is the lowest free one again, and its file is gone */
    id_unlock(dir, &b, fb);
    char path[128];
    snprintf(path, sizeof(path), "%s/id-600001.lock", dir);
    CHECK(access(path, F_OK) == -1);
    CHECK(id_lock(dir, &r, none_taken, &d, &fd) == 0);
    CHECK_EQ(d.uid, 600001);
    id_unlock(dir, &a, fa);
    id_unlock(dir, &c, fc);
    id_unlock(dir, &d, fd);
    /* host accounts are skipped */
    CHECK(id_lock(dir, &r, odd_taken, &a, &fa) == 0);
    CHECK_EQ(a.uid, 600000);
    CHECK(id_lock(dir, &r, odd_taken, &b, &fb) == 0);
    CHECK_EQ(b.uid, 600002);
    CHECK(id_lock(dir, &r, odd_taken, &c, &fc) == -1);
    id_unlock(dir, &a, fa);
    id_unlock(dir, &b, fb);
    remove_dir();
}

TEST(host_accounts_are_taken)
{
    CHECK(id_is_taken_by_host(0, 4294967294u)); /* root */
    CHECK(id_is_taken_by_host(4294967294u, 0)); /* group root */
    CHECK(!id_is_taken_by_host(IDRANGE_DEFAULT_BASE, IDRANGE_DEFAULT_BASE));
}
