/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The router's I/O half: http_router_handle normalises a request's target,
 * matches it (router.c) and calls the route's function, or answers 400, 404,
 * 405 and 414 itself; http_reply and http_reply_error send responses.
 */
#include <string.h>

#include "miura/http.h"
#include "miura/miura.h"

bool http_reply(struct http_exchange *x, int status, const char *headers, const char *content_type,
                const void *body, size_t body_len)
{
    struct http_response resp;

    http_respond(x->req, status, headers, content_type, body, body_len, x->now, x->out, x->out_size,
                 &resp);
    if (http_send_all(x->sock, x->out, resp.out_len) < 0 ||
        (resp.body_left && http_send_all(x->sock, body, resp.body_left) < 0))
        return false;
    if (x->router->log)
        http_log(x->req, &resp);
    return resp.keep_alive;
}

bool http_reply_error(struct http_exchange *x, int status)
{
    struct http_response resp;

    if (x->router->error)
        return x->router->error(x, status);
    if (status == 405)
        http_respond_405(x->req, x->allow, x->now, x->out, x->out_size, &resp);
    else
        http_respond_error(x->req, status, x->now, x->out, x->out_size, &resp);
    if (http_send_all(x->sock, x->out, resp.out_len) < 0)
        return false;
    if (x->router->log)
        http_log(x->req, &resp);
    return resp.keep_alive;
}

bool http_router_handle(const struct http_router *r, int sock, const struct http_request *req,
                        char *out, size_t out_size)
{
    char path[HTTP_PATH_MAX];
    struct http_exchange x;
    struct http_match m;

    memset(&x, 0, sizeof(x));
    x.router = r;
    x.sock = sock;
    x.req = req;
    x.out = out;
    x.out_size = out_size;
    x.now = miura_realtime_s();
    int status =
        http_target_path(req->target.ptr, req->target.len, path, sizeof(path), NULL, &x.path);
    if (status)
        return http_reply_error(&x, status);
    http_route_match(r->routes, r->count, req->method, x.path.path, x.path.len, &m);
    x.allow = m.allow;
    if (m.status)
        return http_reply_error(&x, m.status);
    x.nparams = m.nparams;
    memcpy(x.params, m.params, sizeof(x.params));
    return r->routes[m.route].fn(&x);
}
