/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * @NAME@: a Miura appliance (made by `miura new`). It serves HTTP/1.1 on
 * vsock port 80 with the HTTP component (miura/http.h): GET / answers
 * "Hello from @NAME@!". Add routes to the table; docs/appliances.md in Miura
 * has the API. `make linux` builds the same source as a Linux program.
 */
#include <errno.h>
#include <stdio.h>

#include "miura/http.h"
#include "miura/miura.h"

static bool hello(struct http_exchange *x)
{
    static const char text[] = "Hello from @NAME@!\n";
    return http_reply(x, 200, NULL, "text/plain", text, sizeof(text) - 1);
}

static const struct http_route routes[] = {
    {HTTP_ALLOW_GET, "/", hello},
};

static const struct http_router router = {routes, sizeof(routes) / sizeof(routes[0]), true, NULL};

static bool handle(int sock, const struct http_request *req, char *out, size_t out_size)
{
    return http_router_handle(&router, sock, req, out, out_size);
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    /* vsock port 80 in the VM; a TCP port on 127.0.0.1 in the Linux build */
    int ls = miura_listen_port(80, 64);
    if (ls < 0) {
        printf("@NAME@: cannot listen on vsock port 80: error %d\n", errno);
        return 1;
    }
    printf("@NAME@: serving HTTP on vsock port 80\n");
    static const struct http_server_config server = {.handler = handle, .methods = HTTP_ALLOW_GET};
    http_serve(ls, &server);
    printf("@NAME@: accept: error %d\n", errno);
    return 1;
}
