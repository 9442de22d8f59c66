/* SPDX-License-Identifier: BSD-2-Clause */
/* CID locks, run directories and meta files, in a temporary directory. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cidlock.h"
#include "launcher/instance.h"
#include "test.h"

static char dir[64];

static void fresh_dir(void)
{
    strcpy(dir, "/tmp/miura-unit.XXXXXX");
    if (!mkdtemp(dir))
        dir[0] = '\0';
}

static bool exists(const char *name)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

TEST(cid_lowest_free)
{
    uint32_t a, b, c;
    int fa, fb, fc;
    fresh_dir();
    CHECK(dir[0]);
    CHECK_EQ(cid_peek_lowest(dir), 3);
    CHECK(!exists("cid-3.lock")); /* peeking creates nothing */
    CHECK(cid_lock_lowest(dir, &a, &fa) == 0);
    CHECK_EQ(a, 3);
    CHECK(cid_lock_lowest(dir, &b, &fb) == 0); /* another open file: a different holder */
    CHECK_EQ(b, 4);
    CHECK_EQ(cid_peek_lowest(dir), 5);
    CHECK(!cid_is_free(dir, 3));
    CHECK(cid_is_free(dir, 5));
    cid_unlock(dir, a, fa);
    CHECK(!exists("cid-3.lock"));
    CHECK(cid_is_free(dir, 3));
    CHECK(cid_lock_lowest(dir, &c, &fc) == 0);
    CHECK_EQ(c, 3);
    cid_unlock(dir, b, fb);
    cid_unlock(dir, c, fc);
    CHECK(rmdir(dir) == 0); /* nothing left behind */
}

TEST(cid_explicit)
{
    int f1, f2;
    fresh_dir();
    CHECK(cid_lock(dir, 42, &f1) == 0);
    CHECK_EQ(cid_lock(dir, 42, &f2), 1);
    cid_unlock(dir, 42, f1);
    CHECK(cid_lock(dir, 42, &f2) == 0);
    cid_unlock(dir, 42, f2);
    CHECK(rmdir(dir) == 0);
}

TEST(cid_stale_file_is_free)
{
    char p[256];
    int fd;
    uint32_t cid;
    fresh_dir();
    snprintf(p, sizeof(p), "%s/cid-3.lock", dir);
    fd = open(p, O_CREAT | O_WRONLY, 0600); /* left by a launcher that was killed */
    CHECK(fd >= 0);
    close(fd);
    CHECK(cid_is_free(dir, 3));
    CHECK(cid_lock_lowest(dir, &cid, &fd) == 0);
    CHECK_EQ(cid, 3);
    cid_unlock(dir, cid, fd);
    CHECK(rmdir(dir) == 0);
}

TEST(rundir_and_meta)
{
    char rd[256], rd2[256];
    pid_t holder = -1;
    struct instance_meta m = {.pid = 12345, .cid = 7, .started = 1000, .detached = true};
    struct instance_meta r;
    fresh_dir();
    CHECK(rundir_create(dir, "web", rd, sizeof(rd), &holder) == 0);
    struct stat st;
    CHECK(stat(rd, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    /* Just created, no meta yet: taken (its launcher is about to write meta). */
    holder = -1;
    CHECK(rundir_create(dir, "web", rd2, sizeof(rd2), &holder) < 0);
    CHECK_EQ(holder, 0); /* no pid known yet (it was said as "pid <garbage>") */
    strcpy(m.name, "web");
    strcpy(m.image, "/img/web server.elf");
    strcpy(m.ports, "127.0.0.1:8080->80");
    strcpy(m.accel, "tcg");
    CHECK(meta_write(rd, &m) == 0);
    CHECK(meta_read(rd, &r) == 0);
    CHECK_STR(r.name, "web");
    CHECK_EQ(r.pid, 12345);
    CHECK_EQ(r.cid, 7);
    CHECK_EQ(r.started, 1000);
    CHECK(r.detached);
    CHECK_STR(r.image, "/img/web server.elf");
    CHECK_STR(r.ports, "127.0.0.1:8080->80");
    CHECK_STR(r.accel, "tcg");
    CHECK_EQ(r.ended, 0);
    CHECK_EQ(r.restarts, 0);
    /* The end, once recorded: status and a one-line cause (a newline cut off). */
    m.restarts = 2;
    m.stop_timeout_s = 30;
    m.ended = 2000;
    m.status = 137;
    strcpy(m.cause, "qemu was killed by signal 9 (Killed)\nsecond line");
    CHECK(meta_write(rd, &m) == 0);
    CHECK(meta_read(rd, &r) == 0);
    CHECK_EQ(r.restarts, 2);
    CHECK_EQ(r.stop_timeout_s, 30);
    CHECK_EQ(r.ended, 2000);
    CHECK_EQ(r.status, 137);
    CHECK_STR(r.cause, "qemu was killed by signal 9 (Killed)");
    CHECK_STR(r.image, "/img/web server.elf");
    /* What an ended instance keeps: everything but its sockets. */
    char sock_path[300], log_path[300];
    snprintf(sock_path, sizeof(sock_path), "%s/vhost.sock", rd);
    snprintf(log_path, sizeof(log_path), "%s/qemu.log", rd);
    int us = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    CHECK(strlen(sock_path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    CHECK(us >= 0 && bind(us, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    close(us);
    FILE *lf = fopen(log_path, "w");
    CHECK(lf != NULL);
    fclose(lf);
    rundir_remove_sockets(rd);
    CHECK(access(sock_path, F_OK) < 0 && access(log_path, F_OK) == 0);
    CHECK(meta_read(rd, &r) == 0);
    /* Its launcher is gone (this process is not named miura): the directory is reused. */
    m.pid = getpid(); /* alive, but not a process named miura */
    CHECK(meta_write(rd, &m) == 0);
    CHECK(!launcher_alive(getpid()));
    CHECK(rundir_create(dir, "web", rd2, sizeof(rd2), &holder) == 0);
    CHECK(access(rd2, F_OK) == 0);
    CHECK(meta_read(rd2, &r) < 0); /* the stale meta went with the old directory */
    rundir_remove(rd2);
    CHECK(access(rd2, F_OK) < 0);
    CHECK(rmdir(dir) == 0);
}

TEST(meta_rejects_partial)
{
    char rd[256], p[300];
    pid_t holder;
    struct instance_meta r;
    FILE *f;
    fresh_dir();
    CHECK(rundir_create(dir, "x", rd, sizeof(rd), &holder) == 0);
    snprintf(p, sizeof(p), "%s/meta", rd);
    f = fopen(p, "w");
    CHECK(f != NULL);
    fputs("cid 3\nimage /a\n", f); /* no name, no pid */
    fclose(f);
    CHECK(meta_read(rd, &r) < 0);
    rundir_remove(rd);
    CHECK(rmdir(dir) == 0);
}

TEST(uptime_format)
{
    char out[32];
    format_uptime(0, out, sizeof(out));
    CHECK_STR(out, "0s");
    format_uptime(59, out, sizeof(out));
    CHECK_STR(out, "59s");
    format_uptime(61, out, sizeof(out));
    CHECK_STR(out, "1m01s");
    format_uptime(3600 * 5 + 7 * 60 + 3, out, sizeof(out));
    CHECK_STR(out, "5h07m");
    format_uptime(86400 * 3 + 3600 * 4, out, sizeof(out));
    CHECK_STR(out, "3d04h");
    format_uptime(-5, out, sizeof(out));
    CHECK_STR(out, "0s");
}
