/* SPDX-License-Identifier: BSD-2-Clause */
/* miura-vsockd host endpoints: --publish specs, Unix listeners, PATH_<port>. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "vsockd/endpoint.h"

TEST(publish_specs)
{
    struct publish p;
    char err[160];
    CHECK_EQ(publish_parse("8080:80", &p, err, sizeof(err)), 0);
    CHECK_STR(p.addr, "127.0.0.1");
    CHECK_EQ(p.host_port, 8080);
    CHECK_EQ(p.guest_port, 80);
    CHECK_EQ(publish_parse("0.0.0.0:1:4294967295", &p, err, sizeof(err)), 0);
    CHECK_STR(p.addr, "0.0.0.0");
    CHECK_EQ(p.host_port, 1);
    CHECK_EQ(p.guest_port, 4294967295u);
    static const char *const bad[] = {
        "80",      "8080:",           ":80",       "0:80",          "65536:80",
        "8080:-1", "8080:4294967296", "x:8080:80", "1.2.3:8080:80", "::1:8080:80",
        "1:2:3:4", "8080:80 ",        "",          ":8080:80",
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (publish_parse(bad[i], &p, err, sizeof(err)) != -1) {
            test_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
            return;
        }
    }
    CHECK(strstr(err, "[ADDR:]HOSTPORT:GUESTPORT") != NULL);
}

TEST(unix_listener_replaces_only_sockets)
{
    char dir[] = "/tmp/vsockd-ep.XXXXXX", path[128], err[160];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/s", dir);
    int fd = unix_listen(path, err, sizeof(err));
    CHECK(fd >= 0);
    close(fd); /* leaves a stale socket file behind, like a killed daemon */
    fd = unix_listen(path, err, sizeof(err));
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    FILE *f = fopen(path, "w"); /* a regular file is never replaced */
    CHECK(f != NULL);
    fclose(f);
    CHECK_EQ(unix_listen(path, err, sizeof(err)), -1);
    CHECK(strstr(err, "not a socket") != NULL);
    unlink(path);
    rmdir(dir);
}

TEST(guest_port_paths)
{
    char dir[] = "/tmp/vsockd-ep.XXXXXX", base[128], path[160], err[160];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(base, sizeof(base), "%s/v.sock", dir);
    snprintf(path, sizeof(path), "%s_8000", base);
    CHECK_EQ(endpoint_connect_unix_port(base, 8000), -1); /* nobody listening */
    int l = unix_listen(path, err, sizeof(err));
    CHECK(l >= 0);
    int c = endpoint_connect_unix_port(base, 8000);
    CHECK(c >= 0);
    CHECK_EQ(endpoint_connect_unix_port(base, 8001), -1);
    CHECK_EQ(endpoint_connect_unix_port(NULL, 8000), -1); /* no --uds */
    char longbase[200];
    memset(longbase, 'a', sizeof(longbase) - 1);
    longbase[sizeof(longbase) - 1] = 0;
    CHECK_EQ(endpoint_connect_unix_port(longbase, 1), -1); /* does not fit sun_path */
    close(c);
    close(l);
    unlink(path);
    rmdir(dir);
}
