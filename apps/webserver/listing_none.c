/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * No directory listings: what the webserver and webserver_pci images link in
 * place of listing.c. With the flag a constant 0, LTO drops serve()'s listing
 * branch and this stub with it.
 */
#include "server.h"

const int webserver_has_listing = 0;

int serve_listing(int sock, const struct http_request *req, const char *dir, const char *url_dir,
                  char *out, size_t out_size, struct http_response *resp)
{
    (void)sock, (void)req, (void)dir, (void)url_dir, (void)out, (void)out_size, (void)resp;
    return 0;
}
