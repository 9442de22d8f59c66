/* SPDX-License-Identifier: BSD-2-Clause */
/* miura-vsockd host endpoints: PATH_<port> for guest-initiated connections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "common/publish.h"
#include "vsockd/endpoint.h"

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
