/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The key-value store appliance: JSON values over HTTP/1.1 on a vsock port,
 * each key a file in a directory of the virtio-fs share (docs/kv.md).
 *
 *   PUT    /kv/KEY         store the body (a JSON text): 201 new, 204 replaced
 *   POST   /kv/KEY         create only: 201, or 409 when KEY exists
 *   GET    /kv/KEY         200 and the value, 404
 *   DELETE /kv/KEY         204, 404
 *   GET    /kv?prefix=P    200 {"keys":[...]}: the keys starting with P
 *
 * Durability: a value is written to a temporary file, fsync'ed, renamed over
 * the key's file and the directory fsync'ed before the response: an
 * acknowledged write survives a crash of the guest or the host process, and
 * a reader sees the old value or the new one, never a torn one. Temporary
 * files left by a crash are removed at start.
 *
 * Values of up to CACHE_VALUE_MAX bytes are kept in memory (CACHE_SLOTS of
 * them, least recently used out), so a GET of a cached key reads nothing
 * from the share. The instance is the only writer of its directory (one
 * instance per directory, docs/kv.md), so its own writes are all that can
 * change a value: each write drops the key before it starts and puts the
 * new value in once it is durable if no other write started or ended
 * meanwhile, and a GET's read fills the cache only when no write started or
 * ended while it read (write_gen).
 *
 * Kernel command line (defaults in brackets):
 *   port=N        vsock port [80]
 *   dir=PATH      directory of the share holding the keys [/]
 *   max_value=N   largest value in bytes [65536], at most 1048576: 413
 *   log=0|1       access log [0]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "miura/http.h"
#include "miura/miura.h"

#define DIR_MAX    256
#define LIST_MAX   10000 /* keys in one listing */
#define CREATING   16    /* POSTs in flight at once */
#define TMP_PREFIX ".tmp."

static struct {
    unsigned port;
    char dir[DIR_MAX];
    size_t max_value;
    int log;
} cfg;

static unsigned long tmp_counter;

/* ---- the value cache (threads are cooperative and on one CPU: nothing
 * here blocks, so each function runs whole) ---- */
#define CACHE_SLOTS     64
#define CACHE_VALUE_MAX 4096

static struct cache_entry {
    size_t klen, vlen;
    uint64_t used; /* cache_clock when last read or written; 0: free */
    char key[KV_KEY_MAX];
    char *value;
} cache[CACHE_SLOTS];
static uint64_t cache_clock;
static uint64_t write_gen; /* +1 when a write or delete starts and when it ends */

static struct cache_entry *cache_find(struct http_slice key)
{
    for (unsigned i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].used && cache[i].klen == key.len &&
            memcmp(cache[i].key, key.ptr, key.len) == 0)
            return &cache[i];
    return NULL;
}

static void cache_drop(struct http_slice key)
{
    struct cache_entry *e = cache_find(key);
    if (e) {
        free(e->value);
        e->value = NULL;
        e->used = 0;
    }
}

/* Keeps a copy of value for key (replacing any), if it is small enough and
 * memory allows; evicts the least recently used entry for room. */
static void cache_put(struct http_slice key, const char *value, size_t len)
{
    cache_drop(key);
    if (len > CACHE_VALUE_MAX)
        return;
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    memcpy(copy, value, len);
    struct cache_entry *e = &cache[0];
    for (unsigned i = 1; i < CACHE_SLOTS && e->used; i++)
        if (cache[i].used < e->used)
            e = &cache[i];
    free(e->value);
    e->klen = key.len;
    memcpy(e->key, key.ptr, key.len);
    e->value = copy;
    e->vlen = len;
    e->used = ++cache_clock;
}

/* A copy of key's cached value (the caller frees it; sending may block, and
 * a write may replace the entry meanwhile), or NULL. */
static char *cache_get(struct http_slice key, size_t *len)
{
    struct cache_entry *e = cache_find(key);
    char *copy = e ? malloc(e->vlen ? e->vlen : 1) : NULL;
    if (!copy)
        return NULL;
    memcpy(copy, e->value, e->vlen);
    *len = e->vlen;
    e->used = ++cache_clock;
    return copy;
}

/* dir + "/" + name into out (DIR_MAX + KV_KEY_MAX + 32 bytes). */
static void path_of(char *out, size_t size, const char *name, size_t len)
{
    snprintf(out, size, "%s/%.*s", cfg.dir, (int)len, name);
}
#define PATH_SIZE (DIR_MAX + KV_KEY_MAX + 32)

/* The router's error hook: errors as JSON, {"error":"Not Found"}. */
static bool reply_json_error(struct http_exchange *x, int status)
{
    char body[64], allow[HTTP_ALLOW_FIELD_MAX];
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", http_reason(status));
    struct http_response resp;

    if (status == 405)
        http_allow_field(allow, x->allow);
    http_respond(x->req, status, status == 405 ? allow : NULL, "application/json", body, (size_t)n,
                 x->now, x->out, x->out_size, &resp);
    if (http_send_all(x->sock, x->out, resp.out_len) < 0)
        return false;
    if (cfg.log)
        http_log(x->req, &resp);
    return resp.keep_alive;
}

static bool reply_errno(struct http_exchange *x, int err)
{
    if (err == ENOENT)
        return http_reply_error(x, 404);
    printf("kv: storage error %d\n", err);
    return http_reply_error(x, err == ENOMEM ? 503 : 500);
}

/* The key of /kv/KEY, checked; false after answering 400. */
static bool key_of(struct http_exchange *x, struct http_slice *key, bool *answered_keep)
{
    *key = x->params[0];
    if (kv_key_valid(key->ptr, key->len))
        return true;
    *answered_keep = http_reply_error(x, 400);
    return false;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes the value durably: temporary file, fsync, rename, fsync of the
 * directory. 0 or an errno. */
static int store(struct http_slice key, const struct http_slice *value)
{
    char tmp[PATH_SIZE], final[PATH_SIZE];
    int err = 0;

    snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "%lu", cfg.dir, ++tmp_counter);
    path_of(final, sizeof(final), key.ptr, key.len);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return errno;
    if (write_all(fd, value->ptr, value->len) < 0 || fsync(fd) < 0)
        err = errno ? errno : EIO;
    if (close(fd) < 0 && !err)
        err = errno;
    if (!err && rename(tmp, final) < 0)
        err = errno;
    if (err) {
        unlink(tmp);
        return err;
    }
    int dfd = open(cfg.dir[0] ? cfg.dir : "/", O_RDONLY | O_DIRECTORY);
    if (dfd < 0)
        return errno;
    if (fsync(dfd) < 0)
        err = errno;
    close(dfd);
    return err;
}

static bool exists(struct http_slice key)
{
    char path[PATH_SIZE];
    struct stat st;
    path_of(path, sizeof(path), key.ptr, key.len);
    return stat(path, &st) == 0;
}

/* Keys being created by a POST: cooperative threads on one CPU make the
 * check-and-insert below atomic. */
static struct {
    size_t len;
    char key[KV_KEY_MAX];
} creating[CREATING];

static bool put_or_post(struct http_exchange *x, bool create_only)
{
    struct http_slice key;
    bool keep;
    if (!key_of(x, &key, &keep))
        return keep;
    if (!kv_json_valid(x->req->body.ptr, x->req->body.len))
        return http_reply_error(x, 400);
    int slot = -1;
    if (create_only) {
        for (int i = 0; i < CREATING; i++) {
            if (creating[i].len == key.len && memcmp(creating[i].key, key.ptr, key.len) == 0)
                return http_reply_error(x, 409);
            if (!creating[i].len && slot < 0)
                slot = i;
        }
        if (slot < 0)
            return http_reply_error(x, 503);
        creating[slot].len = key.len; /* claimed before anything blocks */
        memcpy(creating[slot].key, key.ptr, key.len);
    }
    bool existed = exists(key);
    int err = 0;
    if (!(create_only && existed)) {
        uint64_t gen = ++write_gen;
        cache_drop(key);
        err = store(key, &x->req->body);
        /* Cached only when no other write started or ended meanwhile: two
         * writers' renames and their answers need not come in one order,
         * and the cache must hold what the share holds. */
        write_gen++;
        if (!err && write_gen == gen + 1)
            cache_put(key, x->req->body.ptr, x->req->body.len);
        else
            cache_drop(key);
    }
    if (slot >= 0)
        creating[slot].len = 0;
    if (create_only && existed)
        return http_reply_error(x, 409);
    if (err)
        return reply_errno(x, err);
    return http_reply(x, existed ? 204 : 201, NULL, NULL, NULL, 0);
}

static bool kv_put(struct http_exchange *x)
{
    return put_or_post(x, false);
}

static bool kv_post(struct http_exchange *x)
{
    return put_or_post(x, true);
}

static bool kv_get(struct http_exchange *x)
{
    struct http_slice key;
    bool keep;
    char path[PATH_SIZE];
    struct stat st;
    if (!key_of(x, &key, &keep))
        return keep;
    size_t size;
    char *buf = cache_get(key, &size);
    if (buf) {
        keep = http_reply(x, 200, NULL, "application/json", buf, size);
        free(buf);
        return keep;
    }
    uint64_t gen = write_gen;
    path_of(path, sizeof(path), key.ptr, key.len);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return reply_errno(x, errno);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > 16u << 20) {
        int err = errno;
        close(fd);
        return reply_errno(x, S_ISREG(st.st_mode) ? err : ENOENT);
    }
    size = (size_t)st.st_size;
    buf = malloc(size ? size : 1);
    size_t got = 0;
    while (buf && got < size) {
        ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    bool keep_open;
    if (!buf || got != size)
        keep_open = reply_errno(x, buf ? EIO : ENOMEM);
    else {
        if (gen == write_gen) /* no write started or ended while it was read */
            cache_put(key, buf, size);
        keep_open = http_reply(x, 200, NULL, "application/json", buf, size);
    }
    free(buf);
    return keep_open;
}

static bool kv_delete(struct http_exchange *x)
{
    struct http_slice key;
    bool keep;
    char path[PATH_SIZE];
    if (!key_of(x, &key, &keep))
        return keep;
    path_of(path, sizeof(path), key.ptr, key.len);
    write_gen++;
    cache_drop(key);
    int rc = unlink(path), err = errno;
    write_gen++;
    cache_drop(key); /* a GET may have cached the value while unlink ran */
    if (rc < 0)
        return reply_errno(x, exists(key) ? err : ENOENT);
    int dfd = open(cfg.dir[0] ? cfg.dir : "/", O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return http_reply(x, 204, NULL, NULL, NULL, 0);
}

/* A growing text buffer for the listing. */
struct text {
    char *p;
    size_t len, cap;
};

static bool text_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap < t->len + n)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p)
            return false;
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    return true;
}

static bool kv_list(struct http_exchange *x)
{
    char prefix[KV_KEY_MAX + 1];
    long plen = http_query_param(x->path.query, "prefix", prefix, sizeof(prefix));
    if (plen == -1)
        plen = 0, prefix[0] = 0;
    if (plen < 0)
        return http_reply_error(x, 400);
    DIR *d = opendir(cfg.dir[0] ? cfg.dir : "/");
    if (!d)
        return reply_errno(x, errno);
    struct text t = {NULL, 0, 0};
    bool ok = text_add(&t, "{\"keys\":[", 9), truncated = false;
    unsigned n = 0;
    struct dirent *e;
    while (ok && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_type == DT_DIR || !kv_key_valid(e->d_name, len) || len < (size_t)plen ||
            memcmp(e->d_name, prefix, (size_t)plen) != 0)
            continue;
        if (n == LIST_MAX) {
            truncated = true;
            break;
        }
        /* keys need no JSON escaping: their bytes are A-Z a-z 0-9 . _ - */
        ok = (n == 0 || text_add(&t, ",", 1)) && text_add(&t, "\"", 1) &&
             text_add(&t, e->d_name, len) && text_add(&t, "\"", 1);
        n++;
    }
    closedir(d);
    ok = ok && (truncated ? text_add(&t, "],\"truncated\":true}\n", 20) : text_add(&t, "]}\n", 3));
    bool keep =
        ok ? http_reply(x, 200, NULL, "application/json", t.p, t.len) : reply_errno(x, ENOMEM);
    free(t.p);
    return keep;
}

static const struct http_route routes[] = {
    {HTTP_ALLOW_GET, "/kv", kv_list},
    {HTTP_ALLOW_GET, "/kv/*", kv_get},
    {HTTP_ALLOW(HTTP_METHOD_PUT), "/kv/*", kv_put},
    {HTTP_ALLOW(HTTP_METHOD_POST), "/kv/*", kv_post},
    {HTTP_ALLOW(HTTP_METHOD_DELETE), "/kv/*", kv_delete},
};

static struct http_router router = {routes, sizeof(routes) / sizeof(routes[0]), false,
                                    reply_json_error};

static bool handle(int sock, const struct http_request *req, char *out, size_t out_size)
{
    return http_router_handle(&router, sock, req, out, out_size);
}

/* Removes the temporary files a crash left behind. */
static void clean_tmp(void)
{
    DIR *d = opendir(cfg.dir[0] ? cfg.dir : "/");
    struct dirent *e;
    unsigned removed = 0;
    if (!d)
        return;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) != 0)
            continue;
        char path[PATH_SIZE];
        path_of(path, sizeof(path), e->d_name, strlen(e->d_name));
        if (unlink(path) == 0)
            removed++;
    }
    closedir(d);
    if (removed)
        printf("kv: removed %u temporary files of unfinished writes\n", removed);
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    cfg.port = miura_getarg_uint("port", 80, 1, 0xfffffffe);
    cfg.max_value = miura_getarg_uint("max_value", 65536, 1, 1u << 20);
    cfg.log = (int)miura_getarg_uint("log", 0, 0, 1);
    const char *dir = miura_getarg("dir");
    size_t n = dir ? strlen(dir) : 0;
    while (n > 0 && dir[n - 1] == '/')
        n--;
    if (dir && (n >= DIR_MAX || (n && dir[0] != '/'))) {
        printf("kv: bad dir=%s (an absolute path in the share)\n", dir);
        return 1;
    }
    memcpy(cfg.dir, dir ? dir : "", n);
    cfg.dir[n] = 0;
    router.log = cfg.log;
    struct stat st;
    if (stat(cfg.dir[0] ? cfg.dir : "/", &st) < 0 || !S_ISDIR(st.st_mode)) {
        printf("kv: %s is not a directory of the share (error %d)\n", cfg.dir[0] ? cfg.dir : "/",
               errno);
        return 1;
    }
    clean_tmp();

    int ls = miura_listen_port(cfg.port, 128);
    if (ls < 0) {
        printf("kv: cannot listen on vsock port %u: error %d\n", cfg.port, errno);
        return 1;
    }
    printf("kv: serving %s on vsock port %u (values up to %zu bytes)\n", cfg.dir[0] ? cfg.dir : "/",
           cfg.port, cfg.max_value);
    static struct http_limits limits;
    limits = http_default_limits;
    limits.max_body = cfg.max_value;
    static struct http_server_config server;
    server.handler = handle;
    server.limits = &limits;
    server.methods = HTTP_ALLOW_ALL;
    server.stack_size = 16 * 1024;
    server.log = cfg.log;
    http_serve(ls, &server);
    printf("kv: accept: error %d\n", errno);
    return 1;
}
