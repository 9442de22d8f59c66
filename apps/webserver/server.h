/* SPDX-License-Identifier: BSD-2-Clause */
/* What main.c and listing.c share. */
#ifndef WEBSERVER_SERVER_H
#define WEBSERVER_SERVER_H

#include <stddef.h>

#include "http.h"

/* Sends all of buf; 0, or -1 when the connection failed. */
static inline int send_all(int fd, const void *buf, size_t len)
{
    return http_send_all(fd, buf, len);
}

/* listing=1, and dir (url_dir in the URL) has no index.html: answers with its
 * entries. 1 when answered, 0 when there is nothing to list (the caller
 * answers 404), -1 when the connection must be dropped. listing.c has it; the
 * image without listing.c has a stub that returns 0. */
int serve_listing(int sock, const struct http_request *req, const char *dir, const char *url_dir,
                  char *out, size_t out_size, struct http_response *resp);
/* Defined (as 1) only where listing.c is linked. */
extern const int webserver_has_listing __attribute__((weak));

#endif
