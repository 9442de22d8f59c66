/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The static web server appliance. Listens on a vsock port, serves the files
 * of the virtio-fs share with HTTP/1.1 (the logic is http.h's; this file only
 * moves bytes), one cooperative thread per connection, connections spread
 * over every CPU (http_serve). The file cache, written for cooperative
 * threads, is used inside the cooperative section (thread.h), which keeps
 * that guarantee across CPUs.
 *
 * Kernel command line (defaults in brackets):
 *   port=N          vsock port to listen on [80]
 *   root=PATH       directory of the share to serve [/]
 *   log=0|1         access log on the console [1]
 *   idle_timeout=S  close a keep-alive connection idle this long, or one
 *                   whose client takes no response bytes this long [60]
 *   header_timeout=S  answer 408 when a request head is not complete within [10]
 *   backlog=N       listen backlog [128]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "filecache.h"
#include "http.h"
#include "server.h"
#include "miura/miura.h"

#define CONN_STACK      (8 * 1024)
#define ROOT_MAX        256
#define FCACHE_SLOTS    32          /* files kept open or in memory */
#define FCACHE_FILE_MAX (64 * 1024) /* the largest file whose content is kept */
#define PATH_MAX_LEN    1024
#define SENDFILE_MAX    0x7ffff000 /* the most one sendfile() moves, as Linux */

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

static void configure(void)
{
    cfg.port = miura_getarg_uint("port", 80, 1, 0xfffffffe);
    cfg.log = (int)miura_getarg_uint("log", 1, 0, 1);
    cfg.idle_timeout_s = miura_getarg_uint("idle_timeout", 60, 1, 3600);
    cfg.header_timeout_s = miura_getarg_uint("header_timeout", 10, 1, 3600);
    cfg.backlog = miura_getarg_uint("backlog", 128, 1, 4096);
    cfg.stats_s = miura_getarg_uint("stats", 0, 0, 3600);
    cfg.listing = (int)miura_getarg_uint("listing", 0, 0, 1);
    /* Default content cache: 1/16 of RAM (256 KiB in 4 MiB), at most 16 MiB. */
    uint64_t def_kib = miura_mem_bytes() / 16 / 1024;
    cfg.cache_kib =
        miura_getarg_uint("cache", def_kib < 16384 ? (unsigned)def_kib : 16384, 0, 1u << 22);
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

/* The answer for a file the host would not give us (errno from stat, open
 * or read): the file's own fault is 404 or 403; the host's is 503 or 500. */
static int status_for_errno(int e)
{
    return e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG ? 404
           : e == EACCES || e == EPERM                      ? 403
           : e == ENOMEM                                    ? 503
                                                            : 500;
}

/* Fills info's kind and the version from stat (the caller takes info's size
 * and mtime from the version); returns 0, or the error status when stat
 * failed for a reason other than the file's absence (info says MISSING
 * then, and the version stays zero). */
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
    v->ino = st.st_ino;
    v->size = (uint64_t)st.st_size;
    v->mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
    return 0;
}

static uint64_t file_bytes_copied; /* by the guest CPU: stats= shows it (atomic) */

static void count_copied(uint64_t n)
{
    __atomic_add_fetch(&file_bytes_copied, n, __ATOMIC_RELAXED);
}

__attribute__((noinline)) static struct fc_entry *
cache_get(const char *path, const struct file_version *v, uint64_t now)
{
    thread_coop_enter();
    struct fc_entry *f = fc_get(path, v, now);
    thread_coop_leave();
    return f;
}

static void cache_put(struct fc_entry *f)
{
    thread_coop_enter();
    fc_put(f);
    thread_coop_leave();
}

/* Sends [offset, offset + length) of the file: from memory when the cache
 * holds its content (send copies it), else with sendfile, which moves it
 * from the FUSE reply to the device without a copy. Returns 0, or -1 if the
 * connection must be dropped. */
static int send_file_range(int sock, struct fc_entry *f, uint64_t offset, uint64_t length)
{
    off_t off = (off_t)offset;
    if (f->data) {
        count_copied(length);
        return send_all(sock, f->data + offset, (size_t)length);
    }
    while (length > 0) {
        size_t want = length < SENDFILE_MAX ? (size_t)length : SENDFILE_MAX;
        if (sendfile(sock, f->fd, &off, want) != (ssize_t)want)
            return -1; /* shrank under us, or the client took nothing for SO_SNDTIMEO */
        length -= want;
    }
    return 0;
}

static void log_request(const struct http_request *req, const struct http_response *resp)
{
    if (cfg.log)
        http_log(req, resp);
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
    uint64_t now = miura_clock_ns();
    int failed = 0;
    /* A file whose version a stat showed within FC_TRUST_NS is served from
     * its entry without another stat (a hot file is stat'ed once per 100 ms,
     * not once per request). */
    struct fc_entry *f = cache_get(full, NULL, now);
    if (f) {
        version = f->version;
        info.kind = HTTP_FILE_REGULAR;
    } else {
        failed = file_info(full, &info, &version);
    }
    info.size = version.size;
    info.mtime = (int64_t)(version.mtime_ns / 1000000000u);
    /* Directory listings: listing.c, linked only into the webserver_listing
     * image (with the directory-reading half of the Filesystem unit, ~4 KiB);
     * elsewhere the flag is a constant 0 and this branch is compiled out. */
    if (webserver_has_listing && cfg.listing && path.index_appended &&
        info.kind == HTTP_FILE_MISSING) {
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
    if (failed ||
        (resp.send_file && resp.file_length > 0 && !f && !(f = cache_get(full, &version, now)))) {
        /* the host failed us, or the file went (or became unreadable) since
         * the stat: nothing is sent yet, so say so */
        http_respond_error(req, failed ? failed : status_for_errno(errno), miura_realtime_s(), out,
                           out_size, &resp);
    }
    bool ok;
    if (f && f->data && resp.out_len + resp.file_length <= out_size) {
        /* a small cached file: head and body in one send (one packet) */
        memcpy(out + resp.out_len, f->data + resp.file_offset, (size_t)resp.file_length);
        count_copied(2 * resp.file_length); /* here, and by send */
        ok = send_all(sock, out, resp.out_len + (size_t)resp.file_length) == 0;
    } else {
        ok = send_all(sock, out, resp.out_len) == 0 &&
             (!f || send_file_range(sock, f, resp.file_offset, resp.file_length) == 0);
    }
    if (f)
        cache_put(f);
    if (!ok)
        return false;
    log_request(req, &resp);
    return resp.keep_alive;
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
        struct http_server_stats hs;
        miura_mem_info(&m);
        thread_coop_enter();
        fc_stats(&fs);
        thread_coop_leave();
        http_server_stats(&hs);
        /* connections each CPU served, "a/b/..." */
        char by_cpu[4 * 11];
        size_t at = 0;
        for (unsigned i = 0; i < miura_cpu_count() && at < sizeof(by_cpu) - 12; i++)
            at += (size_t)snprintf(by_cpu + at, sizeof(by_cpu) - at, "%s%u", i ? "/" : "",
                                   hs.by_cpu[i]);
        char irqs[96]; /* interrupts by device and CPU: "fs a/b vsock c/d" */
        /* formatted whole and written in one write: printf's console output
         * goes out 128 bytes at a time, and a reader could see half a line */
        char line[400];
        int n = snprintf(
            line, sizeof(line),
            "webserver: stats: %u connections (peak %u, %u dropped, %u idle closed for "
            "memory), %llu of %llu KiB free (lowest %llu), cache %u files %zu KiB, %llu "
            "hits %llu misses, %llu bytes of files copied, by CPU %s, interrupts %s\n",
            hs.open, hs.peak, hs.dropped, hs.reclaimed_idle,
            (unsigned long long)(m.free_bytes >> 10), (unsigned long long)(m.total_bytes >> 10),
            (unsigned long long)(m.min_free_bytes >> 10), fs.entries, fs.bytes >> 10,
            (unsigned long long)fs.hits, (unsigned long long)fs.misses,
            (unsigned long long)__atomic_load_n(&file_bytes_copied, __ATOMIC_RELAXED), by_cpu,
            miura_irq_counts(irqs, sizeof(irqs)));
        (void)!write(STDOUT_FILENO, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
    }
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
    int ls = miura_listen_port(cfg.port, (int)cfg.backlog);
    if (ls < 0) {
        printf("webserver: cannot listen on vsock port %u: error %d\n", cfg.port, errno);
        return 1;
    }
    printf("webserver: serving %s on vsock port %u\n", cfg.root_len ? cfg.root : "/", cfg.port);
    if (cfg.listing && !webserver_has_listing)
        printf("webserver: listing=1 ignored: no listings in this image\n");
    if (cfg.stats_s) {
        thread_t *t = thread_create(THREAD_CPU_CURRENT, 0, stats_thread, NULL);
        if (t)
            thread_detach(t);
    }
    struct http_server_config server = {
        .handler = serve,
        .methods = HTTP_ALLOW_GET,
        .idle_timeout_s = cfg.idle_timeout_s,
        .request_timeout_s = cfg.header_timeout_s,
        .stack_size = CONN_STACK,
        .log = cfg.log,
    };
    http_serve(ls, &server);
    printf("webserver: accept: error %d\n", errno);
    return 1;
}
