/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The static web server appliance. Listens on a vsock port, serves the files
 * of the virtio-fs share with HTTP/1.1 (the logic is http.h's; this file only
 * moves bytes), one cooperative thread per connection.
 *
 * Kernel command line (defaults in brackets):
 *   port=N          vsock port to listen on [80]
 *   root=PATH       directory of the share to serve [/]
 *   log=0|1         access log on the console [1]
 *   idle_timeout=S  close a keep-alive connection idle this long [5]
 *   header_timeout=S  answer 408 when a request head is not complete within [10]
 *   backlog=N       listen backlog [128]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "filecache.h"
#include "http.h"
#include "server.h"
#include "miura/miura.h"

#define CONN_STACK      (8 * 1024)
#define BUF_INITIAL     2048 /* grows up to http_limits_buffer_size() for big heads */
#define OUT_SIZE        2048 /* response heads and error pages (>= HTTP_RESPONSE_MIN) */
#define ROOT_MAX        256
#define FCACHE_SLOTS    32          /* files kept open or in memory */
#define FCACHE_FILE_MAX (64 * 1024) /* the largest file whose content is kept */
#define PATH_MAX_LEN    1024

struct config {
    unsigned port;
    char root[ROOT_MAX];
    size_t root_len;
    int log;
    unsigned idle_timeout_s, header_timeout_s, backlog, stats_s;
    unsigned cache_kib; /* file content held in memory */
    int listing;        /* directory listings where index.html is missing */
};

static struct config cfg;

static unsigned arg_uint(const char *key, unsigned def, unsigned min, unsigned max)
{
    const char *v = miura_getarg(key);
    if (!v)
        return def;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (*v == 0 || *end != 0 || n < min || n > max) {
        printf("webserver: bad %s=%s (want %u..%u); using %u\n", key, v, min, max, def);
        return def;
    }
    return (unsigned)n;
}

static void configure(void)
{
    cfg.port = arg_uint("port", 80, 1, 0xfffffffe);
    cfg.log = (int)arg_uint("log", 1, 0, 1);
    cfg.idle_timeout_s = arg_uint("idle_timeout", 5, 1, 3600);
    cfg.header_timeout_s = arg_uint("header_timeout", 10, 1, 3600);
    cfg.backlog = arg_uint("backlog", 128, 1, 4096);
    cfg.stats_s = arg_uint("stats", 0, 0, 3600);
    cfg.listing = (int)arg_uint("listing", 0, 0, 1);
    /* Default content cache: 1/16 of RAM (256 KiB in 4 MiB), at most 16 MiB. */
    uint64_t def_kib = miura_mem_bytes() / 16 / 1024;
    cfg.cache_kib = arg_uint("cache", def_kib < 16384 ? (unsigned)def_kib : 16384, 0, 1u << 22);
    const char *root = miura_getarg("root");
    if (!root || !*root)
        root = "/";
    /* The root is a path inside the share; strip trailing '/' so that
     * root + "/a/b" is well formed ("/" becomes ""). */
    size_t n = strlen(root);
    while (n > 0 && root[n - 1] == '/')
        n--;
    if (n >= ROOT_MAX || root[0] != '/') {
        printf("webserver: bad root=%s; serving /\n", root);
        n = 0;
    }
    memcpy(cfg.root, root, n);
    cfg.root[n] = 0;
    cfg.root_len = n;
}

static void set_timeout(int fd, uint64_t ms)
{
    struct timeval tv = {(long)(ms / 1000), (long)(ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The answer for a file the host would not give us (errno from stat, open
 * or read): the file's own fault is 404 or 403; the host's is 503 or 500. */
static int status_for_errno(int e)
{
    return e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG ? 404
           : e == EACCES || e == EPERM                      ? 403
           : e == ENOMEM                                    ? 503
                                                            : 500;
}

/* Fills info from stat; returns 0, or the error status when stat failed
 * for a reason other than the file's absence (info says MISSING then). */
static int file_info(const char *full, struct http_file_info *info, struct file_version *v)
{
    struct stat st;
    memset(info, 0, sizeof(*info));
    if (stat(full, &st) < 0) {
        int status = status_for_errno(errno);
        info->kind = status == 403 ? HTTP_FILE_FORBIDDEN : HTTP_FILE_MISSING;
        return status == 404 || status == 403 ? 0 : status;
    }
    info->kind = S_ISREG(st.st_mode)   ? HTTP_FILE_REGULAR
                 : S_ISDIR(st.st_mode) ? HTTP_FILE_DIRECTORY
                                       : HTTP_FILE_FORBIDDEN;
    info->size = (uint64_t)st.st_size;
    info->mtime = st.st_mtim.tv_sec;
    v->ino = st.st_ino;
    v->size = info->size;
    v->mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
    return 0;
}

static uint64_t file_bytes_copied; /* by the guest CPU: stats= shows it */

/* Sends [offset, offset + length) of the file: from memory when the cache
 * holds its content (send copies it), else with sendfile, which moves it
 * from the FUSE reply to the device without a copy. Returns 0, or -1 if the
 * connection must be dropped. */
static int send_file_range(int sock, struct fc_entry *f, uint64_t offset, uint64_t length)
{
    off_t off = (off_t)offset;
    if (f->data) {
        file_bytes_copied += length;
        return send_all(sock, f->data + offset, (size_t)length);
    }
    while (length > 0) {
        ssize_t n = sendfile(sock, f->fd, &off, (size_t)length);
        if (n <= 0)
            return -1; /* shrank under us: the promised length cannot be kept */
        length -= (uint64_t)n;
    }
    return 0;
}

static void log_request(const struct http_request *req, const struct http_response *resp)
{
    if (!cfg.log)
        return;
    char line[256];
    http_log_format(line, sizeof(line), req, resp->status, resp->body_bytes);
    printf("%s\n", line);
}

/* Directory listings live in listing.c, linked only into the
 * webserver_listing image (they pull in the directory-reading half of the
 * Filesystem unit, ~4 KiB). Here, without them: none. */
__attribute__((weak)) int serve_listing(int sock, const struct http_request *req, const char *dir,
                                        const char *url_dir, char *out, size_t out_size,
                                        struct http_response *resp)
{
    (void)sock, (void)req, (void)dir, (void)url_dir, (void)out, (void)out_size, (void)resp;
    return 0;
}

/* Serves one parsed request. Returns false when the connection must close. */
static bool serve(int sock, const struct http_request *req, char *out, size_t out_size)
{
    struct http_response resp;
    /* One buffer, root then the normalised path, which is decoded straight
     * after it (connection stacks are small). */
    char full[ROOT_MAX + PATH_MAX_LEN];
    struct http_path path;
    memcpy(full, cfg.root, cfg.root_len);
    int status = http_path_normalize(req->target.ptr, req->target.len, full + cfg.root_len,
                                     PATH_MAX_LEN, &path);
    if (status != 0) {
        http_respond_error(req, status, miura_realtime_s(), out, out_size, &resp);
        send_all(sock, out, resp.out_len);
        log_request(req, &resp);
        return resp.keep_alive;
    }
    struct http_file_info info;
    struct file_version version = {0, 0, 0};
    int failed = file_info(full, &info, &version);
    if (cfg.listing && path.index_appended && info.kind == HTTP_FILE_MISSING) {
        size_t cut = cfg.root_len + path.len - (sizeof(HTTP_INDEX_FILE) - 1);
        full[cut] = '\0';                                           /* the directory itself */
        path.path[path.len - (sizeof(HTTP_INDEX_FILE) - 1)] = '\0'; /* its URL path */
        int rc = serve_listing(sock, req, full, path.path, out, out_size, &resp);
        if (rc < 0)
            return false;
        if (rc > 0) {
            log_request(req, &resp);
            return resp.keep_alive;
        }
        /* unreadable: the 404 below */
    }
    http_respond_file(req, &path, &info, miura_realtime_s(), out, out_size, &resp);
    struct fc_entry *f = NULL;
    if (failed || (resp.send_file && resp.file_length > 0 && !(f = fc_get(full, &version)))) {
        /* the host failed us, or the file went (or became unreadable) since
         * the stat: nothing is sent yet, so say so */
        http_respond_error(req, failed ? failed : status_for_errno(errno), miura_realtime_s(), out,
                           out_size, &resp);
    }
    bool ok;
    if (f && f->data && resp.out_len + resp.file_length <= out_size) {
        /* a small cached file: head and body in one send (one packet) */
        memcpy(out + resp.out_len, f->data + resp.file_offset, (size_t)resp.file_length);
        file_bytes_copied += 2 * resp.file_length; /* here, and by send */
        ok = send_all(sock, out, resp.out_len + (size_t)resp.file_length) == 0;
    } else {
        ok = send_all(sock, out, resp.out_len) == 0 &&
             (!f || send_file_range(sock, f, resp.file_offset, resp.file_length) == 0);
    }
    if (f)
        fc_put(f);
    if (!ok)
        return false;
    log_request(req, &resp);
    return resp.keep_alive;
}

static unsigned open_connections, peak_connections, dropped_for_memory, reclaimed_idle;

/* Connections waiting for their next request, oldest first. When memory runs
 * out, the accept loop ends some of them (as nginx reuses idle keep-alive
 * connections) rather than make new clients wait for their idle timeout. */
struct idle_conn {
    int sock;
    struct idle_conn *prev, *next; /* itself when not listed */
};
static struct idle_conn idle_list = {-1, &idle_list, &idle_list};

static void idle_enter(struct idle_conn *c)
{
    c->prev = idle_list.prev;
    c->next = &idle_list;
    idle_list.prev->next = c;
    idle_list.prev = c;
}

static void idle_leave(struct idle_conn *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->prev = c->next = c;
}

/* Shuts down up to n idle connections: their threads see the end of the
 * stream, exit and free their memory. Returns how many. */
static unsigned reclaim_idle(unsigned n)
{
    unsigned done = 0;
    while (done < n && idle_list.next != &idle_list) {
        struct idle_conn *c = idle_list.next;
        idle_leave(c);
        shutdown(c->sock, SHUT_RDWR);
        done++;
    }
    reclaimed_idle += done;
    return done;
}

/* stats=N: every N seconds, a console line with connections and memory
 * (what bench/http reads to find the memory 100 connections take). */
static void *stats_thread(void *arg)
{
    (void)arg;
    for (;;) {
        thread_sleep_ms(cfg.stats_s * 1000ull);
        struct miura_mem_info m;
        struct fc_stats fs;
        miura_mem_info(&m);
        fc_stats(&fs);
        printf("webserver: stats: %u connections (peak %u, %u dropped, %u idle closed for "
               "memory), %llu of %llu KiB free (lowest %llu), cache %u files %zu KiB, %llu "
               "hits %llu misses, %llu bytes of files copied\n",
               open_connections, peak_connections, dropped_for_memory, reclaimed_idle,
               (unsigned long long)(m.free_bytes >> 10), (unsigned long long)(m.total_bytes >> 10),
               (unsigned long long)(m.min_free_bytes >> 10), fs.entries, fs.bytes >> 10,
               (unsigned long long)fs.hits, (unsigned long long)fs.misses,
               (unsigned long long)file_bytes_copied);
    }
    return NULL;
}

static void *connection(void *arg)
{
    int sock = (int)(intptr_t)arg;
    size_t max_cap = http_limits_buffer_size(&http_default_limits);
    /* One page holds the request buffer (first half) and the response head
     * buffer (second half): one exact page per connection, nothing that needs
     * contiguous pages. A big request head moves to a larger buffer. */
    char *page = malloc(BUF_INITIAL + OUT_SIZE);
    char *buf = page, *out = page ? page + BUF_INITIAL : NULL;
    size_t cap = BUF_INITIAL;
    size_t len = 0;
    struct http_request req;
    struct http_response resp;
    struct idle_conn idle = {sock, &idle, &idle};

    if (!page)
        dropped_for_memory++;
    if (++open_connections > peak_connections)
        peak_connections = open_connections;
    while (page) {
        /* Idle (nothing of the next request yet) or reading a head. */
        uint64_t started = 0;
        enum http_parse_status st =
            len ? http_parse_request(buf, len, &http_default_limits, &req) : HTTP_PARSE_INCOMPLETE;
        while (st == HTTP_PARSE_INCOMPLETE) {
            uint64_t now = miura_clock_ns();
            uint64_t limit_ms;
            if (len == 0) {
                limit_ms = cfg.idle_timeout_s * 1000ull;
            } else {
                if (!started)
                    started = now;
                uint64_t spent = (now - started) / 1000000;
                uint64_t budget = cfg.header_timeout_s * 1000ull;
                limit_ms = spent >= budget ? 1 : budget - spent;
            }
            if (len == cap && cap < max_cap) { /* a big head: grow the buffer */
                size_t grown = cap * 4 < max_cap ? cap * 4 : max_cap;
                char *p = buf == page ? malloc(grown) : realloc(buf, grown);
                if (!p)
                    goto done;
                if (buf == page)
                    memcpy(p, buf, len);
                buf = p;
                cap = grown;
            }
            set_timeout(sock, limit_ms);
            if (len == 0)
                idle_enter(&idle);
            ssize_t n = recv(sock, buf + len, cap - len, 0);
            if (idle.next != &idle)
                idle_leave(&idle);
            if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == ETIMEDOUT) && len > 0) {
                    http_respond_error(NULL, 408, miura_realtime_s(), out, OUT_SIZE, &resp);
                    send_all(sock, out, resp.out_len);
                    log_request(NULL, &resp);
                }
                goto done; /* peer closed, idle timeout, or error */
            }
            len += (size_t)n;
            st = http_parse_request(buf, len, &http_default_limits, &req);
        }
        if (st == HTTP_PARSE_ERROR) {
            http_respond_error(&req, req.error_status, miura_realtime_s(), out, OUT_SIZE, &resp);
            send_all(sock, out, resp.out_len);
            log_request(&req, &resp);
            break;
        }
        bool keep = serve(sock, &req, out, OUT_SIZE);
        /* Pipelining: what follows this head is the next request. */
        memmove(buf, buf + req.head_length, len - req.head_length);
        len -= req.head_length;
        if (!keep)
            break;
    }
done:
    open_connections--;
    if (buf != page)
        free(buf);
    free(page);
    close(sock);
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    configure();
    if (fc_init(FCACHE_SLOTS, (size_t)cfg.cache_kib * 1024, FCACHE_FILE_MAX) < 0) {
        printf("webserver: no memory for the file cache\n");
        return 1;
    }
    int ls = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (ls < 0) {
        printf("webserver: socket: error %d\n", errno);
        return 1;
    }
    struct sockaddr_vm addr = {
        .svm_family = AF_VSOCK, .svm_port = cfg.port, .svm_cid = VMADDR_CID_ANY};
    if (bind(ls, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(ls, (int)cfg.backlog) < 0) {
        printf("webserver: cannot listen on vsock port %u: error %d\n", cfg.port, errno);
        return 1;
    }
    printf("webserver: serving %s on vsock port %u\n", cfg.root_len ? cfg.root : "/", cfg.port);
    if (cfg.listing && !&webserver_has_listing)
        printf("webserver: listing=1 ignored: this image has no directory listings (the "
               "webserver_listing image has)\n");
    if (cfg.stats_s) {
        thread_t *t = thread_create(THREAD_CPU_CURRENT, 0, stats_thread, NULL);
        if (t)
            thread_detach(t);
    }
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0) {
            if (errno == EMFILE || errno == ENOMEM)
                thread_sleep_ms(10); /* out of resources: back off, then retry */
            continue;
        }
        /* Out of memory: end idle keep-alive connections (oldest first) and
         * wait, up to a second, for memory, accepting no more meanwhile, so a
         * burst queues in the backlog instead of being dropped; then drop
         * this one. */
        thread_t *t;
        for (int tries = 0; !(t = thread_create(THREAD_CPU_CURRENT, CONN_STACK, connection,
                                                (void *)(intptr_t)c)) &&
                            tries < 100;
             tries++) {
            reclaim_idle(2);
            thread_sleep_ms(10);
        }
        if (!t) {
            dropped_for_memory++;
            close(c);
            continue;
        }
        thread_detach(t);
    }
}
