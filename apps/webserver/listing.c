/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Directory listings (listing=1) for the webserver_listing image: the entries
 * of a directory without index.html as an HTML page. The page itself comes
 * from the HTTP module (http_listing_body); this reads the directory.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "miura/miura.h"
#include "server.h"

const int webserver_has_listing = 1;

#define LISTING_ENTRIES 1024        /* entries read for a listing */
#define LISTING_BYTES   (64 * 1024) /* its page at most (more entries are counted, not shown) */

int serve_listing(int sock, const struct http_request *req, const char *dir, const char *url_dir,
                  char *out, size_t out_size, struct http_response *resp)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct http_dirent *ents = malloc(LISTING_ENTRIES * sizeof(*ents));
    char *body = malloc(LISTING_BYTES);
    size_t n = 0, len = 0;
    struct dirent *e;
    while (ents && body && n < LISTING_ENTRIES && (e = readdir(d)) != NULL) {
        if (!(ents[n].name = strdup(e->d_name)))
            break;
        ents[n++].dir = e->d_type == DT_DIR;
    }
    closedir(d);
    if (ents && body)
        len = http_listing_body(body, LISTING_BYTES, url_dir, ents, n);
    int rc = 0;
    if (len) {
        http_respond_listing(req, len, miura_realtime_s(), out, out_size, resp);
        rc = send_all(sock, out, resp->out_len) == 0 &&
                     (req->method == HTTP_METHOD_HEAD || resp->status != 200 ||
                      send_all(sock, body, len) == 0)
                 ? 1
                 : -1;
    }
    while (n)
        free((void *)ents[--n].name);
    free(ents);
    free(body);
    return rc;
}
