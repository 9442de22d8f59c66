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
 * answers 404), -1 when the connection must be dropped. listing.c has it; an
 * image without listing.c links listing_none.c's stub, which returns 0. */
int serve_listing(int sock, const struct http_request *req, const char *dir, const char *url_dir,
                  char *out, size_t out_size, struct http_response *resp);
/* 1 where listing.c is linked, 0 where listing_none.c is: a constant that
 * LTO folds, so that the image without listings has no listing code. */
extern const int webserver_has_listing;

#endif
