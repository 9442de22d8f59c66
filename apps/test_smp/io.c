/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * File and socket I/O from threads on every CPU at once, each check an
 * exact count (tests/e2e/smp.sh reads the lines):
 *
 *   files        workers create, write, fstat, stat, pread, pwrite and unlink
 *                files of their own in a directory of their own under /smp
 *                (the host checks it is empty afterwards), every byte read
 *                back checked;
 *   shared-read  the same workers read the host's /shared.bin meanwhile,
 *                each from its own offset in its own chunk size, every byte
 *                checked against the pattern the host wrote;
 *   sockets      workers open, bind (any port), listen on, name and close
 *                sockets, several held at once: no two live sockets get the
 *                same port, whichever CPUs bound them;
 *   bind-race    in each round every worker binds the same port: exactly one
 *                wins, the others get EADDRINUSE;
 *   accept-timeout  an accept with SO_RCVTIMEO on every CPU at once, nobody
 *                connecting: each fails with EAGAIN (or ETIMEDOUT) after the
 *                timeout, on its own CPU;
 *   echo         (with echo=PORT) connections from every CPU to the host's
 *                echo peer (CID 2, PORT), every byte sent back checked;
 *   descriptors  the lowest free descriptor is the same before and after.
 *
 * io_cpu=C puts every worker on CPU C instead (the same work, for comparing
 * its cost with the work spread over the CPUs: the "cost:" lines).
 *
 * A worker that fails says where first ("NAME: worker W: STEP, errno E").
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "miura/miura.h"
#include "miura/thread.h"
#include "smp.h"

#define MAX_WORKERS (2 * MIURA_MAX_CPUS)

/* ---- a barrier for n threads, reusable */

struct gate {
    thread_mutex_t m;
    thread_cond_t cv;
    unsigned n, waiting, gen;
};

static void gate_init(struct gate *g, unsigned n)
{
    thread_mutex_init(&g->m);
    thread_cond_init(&g->cv);
    g->n = n;
    g->waiting = g->gen = 0;
}

static void gate_pass(struct gate *g)
{
    thread_mutex_lock(&g->m);
    unsigned gen = g->gen;
    if (++g->waiting == g->n) {
        g->waiting = 0;
        g->gen++;
        thread_cond_broadcast(&g->cv);
    } else {
        while (g->gen == gen)
            thread_cond_wait(&g->cv, &g->m);
    }
    thread_mutex_unlock(&g->m);
}

/* ---- workers: n threads, worker i on CPU i % ncpu, all joined */

struct worker {
    unsigned id, cpu;
    unsigned long long good, tried; /* the check's unit: files, sockets, ... */
    unsigned long long good2, tried2;
    const char *why; /* the first failed step, and its errno */
    int err;
    uint8_t *buf, *buf2;
};

static struct worker workers[MAX_WORKERS];
static struct gate gate;
static int io_cpu = -1; /* io_cpu=C: every worker on CPU C (to compare) */

static void failed(struct worker *w, const char *why)
{
    if (!w->why) {
        w->why = why;
        w->err = errno;
    }
}

/* Runs fn on n workers (i on CPU i % ncpu, or all on io_cpu) with buffers
 * of bufsize bytes; returns how many ran. */
static unsigned run_workers(unsigned n, thread_fn fn, size_t bufsize)
{
    thread_t *t[MAX_WORKERS];
    unsigned ran = 0;
    gate_init(&gate, n);
    for (unsigned i = 0; i < n; i++) {
        workers[i] = (struct worker){.id = i, .cpu = io_cpu >= 0 ? (unsigned)io_cpu : i % ncpu};
        if (bufsize) {
            workers[i].buf = malloc(bufsize);
            workers[i].buf2 = malloc(bufsize);
        }
    }
    /* The gate counts the workers that exist (one may not, for want of
     * memory): the early ones wait for its mutex until it is set. */
    unsigned made = 0;
    thread_mutex_lock(&gate.m);
    for (unsigned i = 0; i < n; i++) {
        t[i] = thread_create((int)workers[i].cpu, 0, fn, &workers[i]);
        made += t[i] != NULL;
    }
    gate.n = made;
    thread_mutex_unlock(&gate.m);
    for (unsigned i = 0; i < n; i++)
        if (t[i] && thread_join(t[i], NULL) == 0)
            ran++;
    for (unsigned i = 0; i < n; i++) {
        free(workers[i].buf);
        free(workers[i].buf2);
    }
    return ran;
}

static void sums(unsigned n, const char *name, unsigned long long s[4])
{
    int said = 0;
    s[0] = s[1] = s[2] = s[3] = 0;
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = &workers[i];
        s[0] += w->good, s[1] += w->tried, s[2] += w->good2, s[3] += w->tried2;
        if (w->why && !said) {
            printf("%s: worker %u on CPU %u: %s, errno %d\n", name, w->id, w->cpu, w->why, w->err);
            said = 1;
        }
    }
}

static unsigned long long ms_since(uint64_t t0)
{
    return (miura_clock_ns() - t0) / 1000000;
}

/* ---- files */

#define FILE_WORKERS_PER_CPU 2
#define FILE_ROUNDS          4
#define FILE_BUF             (64 * 1024)
#define SHARED_PATH          "/shared.bin"
#define SHARED_SIZE          150001 /* tests/e2e/smp.sh writes it: byte i is shared_byte(i) */

static uint8_t shared_byte(uint64_t i)
{
    return (uint8_t)(i * 131 + (i >> 11));
}

static uint8_t file_byte(unsigned id, unsigned r, uint64_t i)
{
    return (uint8_t)(i * 7 + id * 13 + r * 29 + (i >> 9));
}

/* Reads [off, off + n) with pread in pieces of `chunk`, checking each byte;
 * byte(i) gives the expected one. */
static int pread_check(struct worker *w, int fd, uint64_t off, uint64_t n, size_t chunk,
                       uint8_t (*byte)(unsigned, unsigned, uint64_t), unsigned a, unsigned b)
{
    while (n) {
        size_t want = n < chunk ? (size_t)n : chunk;
        ssize_t got = pread(fd, w->buf2, want, (off_t)off);
        if (got != (ssize_t)want) {
            failed(w, got < 0 ? "pread" : "pread short");
            return -1;
        }
        for (size_t i = 0; i < want; i++)
            if (w->buf2[i] != byte(a, b, off + i)) {
                errno = 0;
                failed(w, "pread: a wrong byte");
                return -1;
            }
        off += want;
        n -= want;
    }
    return 0;
}

static uint8_t shared_byte3(unsigned a, unsigned b, uint64_t i)
{
    (void)a;
    (void)b;
    return shared_byte(i);
}

/* One file: created, written, checked by fstat and stat, read back, patched
 * with pwrite, read again, unlinked. 0 when every step gave what it must. */
static int one_file(struct worker *w, unsigned r)
{
    char path[48];
    uint64_t size = 1 + (uint64_t)r * 12289 + w->id * 101;
    struct stat st;
    snprintf(path, sizeof(path), "/smp/w%u/f%u", w->id, r);
    for (uint64_t i = 0; i < size && i < FILE_BUF; i++)
        w->buf[i] = file_byte(w->id, r, i);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return failed(w, "create"), -1;
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < 8191 ? (size_t)(size - off) : 8191;
        if (write(fd, w->buf + off, n) != (ssize_t)n) {
            failed(w, "write");
            close(fd);
            return -1;
        }
        off += n;
    }
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != size || !S_ISREG(st.st_mode)) {
        failed(w, "fstat");
        close(fd);
        return -1;
    }
    if (close(fd) < 0)
        return failed(w, "close"), -1;
    errno = 0;
    if (open(path, O_WRONLY | O_CREAT | O_EXCL, 0644) >= 0 || errno != EEXIST)
        return failed(w, "create again: not EEXIST"), -1;
    if (stat(path, &st) < 0 || (uint64_t)st.st_size != size)
        return failed(w, "stat"), -1;
    fd = open(path, O_RDWR);
    if (fd < 0)
        return failed(w, "open"), -1;
    int rc = pread_check(w, fd, 0, size, 12289, file_byte, w->id, r);
    /* 16 bytes in the middle: the pattern of the next round */
    uint64_t mid = size / 2;
    if (rc == 0 && size >= 16) {
        uint8_t patch[16];
        for (unsigned i = 0; i < 16; i++)
            patch[i] = file_byte(w->id, r + 1, mid + i);
        if (pwrite(fd, patch, 16, (off_t)mid) != 16) {
            failed(w, "pwrite");
            rc = -1;
        } else if (pread_check(w, fd, mid, 16, 16, file_byte, w->id, r + 1) < 0 ||
                   pread_check(w, fd, 0, mid, 4096, file_byte, w->id, r) < 0 ||
                   pread_check(w, fd, mid + 16, size - mid - 16, 16411, file_byte, w->id, r) < 0) {
            rc = -1;
        }
    }
    if (rc == 0 && pread(fd, w->buf2, 1, (off_t)size) != 0) {
        failed(w, "pread at the end: not 0");
        rc = -1;
    }
    if (close(fd) < 0 && rc == 0) {
        failed(w, "close");
        rc = -1;
    }
    if (unlink(path) < 0)
        return failed(w, "unlink"), -1;
    errno = 0;
    if (rc == 0 && (stat(path, &st) == 0 || errno != ENOENT))
        return failed(w, "stat after unlink: not ENOENT"), -1;
    return rc;
}

/* The whole shared file from offset `start` round to it again, in pieces of `chunk`. */
static int shared_read(struct worker *w, unsigned r)
{
    size_t chunk = 16384 + w->id * 1000 + r * 517;
    uint64_t start = ((uint64_t)w->id * 7919 + r * 104729) % SHARED_SIZE;
    struct stat st;
    int fd = open(SHARED_PATH, O_RDONLY);
    if (fd < 0)
        return failed(w, "open " SHARED_PATH), -1;
    int rc = 0;
    if (fstat(fd, &st) < 0 || st.st_size != SHARED_SIZE) {
        failed(w, "fstat " SHARED_PATH);
        rc = -1;
    }
    if (rc == 0 && (pread_check(w, fd, start, SHARED_SIZE - start, chunk, shared_byte3, 0, 0) < 0 ||
                    pread_check(w, fd, 0, start, chunk, shared_byte3, 0, 0) < 0))
        rc = -1;
    if (rc == 0 && pread(fd, w->buf2, chunk, SHARED_SIZE) != 0) {
        failed(w, "pread past the end of " SHARED_PATH);
        rc = -1;
    }
    close(fd);
    return rc;
}

static void *file_worker(void *arg)
{
    struct worker *w = arg;
    char dir[32];
    snprintf(dir, sizeof(dir), "/smp/w%u", w->id);
    if (!w->buf || !w->buf2) {
        errno = ENOMEM;
        failed(w, "buffers");
    }
    gate_pass(&gate);
    if (w->why || mkdir(dir, 0755) < 0) {
        failed(w, "mkdir");
        w->tried = w->tried2 = FILE_ROUNDS;
        return NULL;
    }
    for (unsigned r = 0; r < FILE_ROUNDS; r++) {
        w->tried++;
        w->good += one_file(w, r) == 0 && miura_cpu_id() == w->cpu;
        w->tried2++;
        w->good2 += shared_read(w, r) == 0 && miura_cpu_id() == w->cpu;
    }
    if (rmdir(dir) < 0) {
        failed(w, "rmdir");
        w->good = 0;
    }
    return NULL;
}

static void files(void)
{
    unsigned n = ncpu * FILE_WORKERS_PER_CPU;
    unsigned long long s[4];
    uint64_t t0 = miura_clock_ns();
    unsigned ran = run_workers(n, file_worker, FILE_BUF);
    unsigned long long ms = ms_since(t0);
    sums(n, "files", s);
    unsigned long long want = (unsigned long long)n * FILE_ROUNDS;
    check("files", ran == n && s[0] == want && s[1] == want, "%llu of %llu files", s[0], want);
    check("shared-read", ran == n && s[2] == want && s[3] == want,
          "%llu of %llu whole reads of " SHARED_PATH, s[2], want);
    printf("cost: files %llu ms (%u workers)\n", ms, n);
}

/* ---- sockets: the socket table from every CPU at once */

#define SOCK_WORKERS_PER_CPU 2
#define SOCK_ROUNDS          16
#define SOCK_HELD            4
#define RACE_PORT            6000 /* + the round */

static thread_mutex_t live_m;
static uint32_t live_ports[MAX_WORKERS * SOCK_HELD];
static unsigned live_n;
static unsigned race_wins[SOCK_ROUNDS], race_lost[SOCK_ROUNDS];

/* 0, or -1 if a live socket already has the port. */
static int live_add(uint32_t port)
{
    int rc = 0;
    thread_mutex_lock(&live_m);
    for (unsigned i = 0; i < live_n; i++)
        if (live_ports[i] == port)
            rc = -1;
    if (rc == 0)
        live_ports[live_n++] = port;
    thread_mutex_unlock(&live_m);
    return rc;
}

static void live_del(uint32_t port)
{
    thread_mutex_lock(&live_m);
    for (unsigned i = 0; i < live_n; i++)
        if (live_ports[i] == port) {
            live_ports[i] = live_ports[--live_n];
            break;
        }
    thread_mutex_unlock(&live_m);
}

static int bind_port(int fd, uint32_t port)
{
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    return bind(fd, (struct sockaddr *)&a, sizeof(a));
}

/* A bound, listening socket; its port in *port. */
static int listener(struct worker *w, uint32_t *port)
{
    struct sockaddr_vm a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0)
        return failed(w, "socket"), -1;
    if (bind_port(fd, VMADDR_PORT_ANY) < 0 || listen(fd, 8) < 0) {
        failed(w, "bind or listen");
        close(fd);
        return -1;
    }
    memset(&a, 0, sizeof(a));
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0 || len != sizeof(a) ||
        a.svm_family != AF_VSOCK || a.svm_port == VMADDR_PORT_ANY) {
        failed(w, "getsockname");
        close(fd);
        return -1;
    }
    *port = a.svm_port;
    return fd;
}

static void *sock_worker(void *arg)
{
    struct worker *w = arg;
    for (unsigned r = 0; r < SOCK_ROUNDS; r++) {
        int fd[SOCK_HELD];
        uint32_t port[SOCK_HELD];
        for (unsigned k = 0; k < SOCK_HELD; k++) {
            w->tried++;
            fd[k] = listener(w, &port[k]);
            if (fd[k] >= 0 && live_add(port[k]) < 0) {
                errno = 0;
                failed(w, "a port another live socket has");
                close(fd[k]);
                fd[k] = -1;
            }
        }
        /* every worker binds the round's port while holding its others */
        int race = socket(AF_VSOCK, SOCK_STREAM, 0);
        errno = 0;
        int won = race >= 0 && bind_port(race, RACE_PORT + r) == 0;
        int lost = !won && race >= 0 && errno == EADDRINUSE;
        __atomic_fetch_add(&race_wins[r], won, __ATOMIC_SEQ_CST);
        __atomic_fetch_add(&race_lost[r], lost, __ATOMIC_SEQ_CST);
        if (!won && !lost)
            failed(w, "race bind: neither 0 nor EADDRINUSE");
        gate_pass(&gate);
        if (race >= 0 && close(race) < 0)
            failed(w, "close");
        for (unsigned k = 0; k < SOCK_HELD; k++) {
            if (fd[k] < 0)
                continue;
            live_del(port[k]);
            if (close(fd[k]) < 0)
                failed(w, "close");
            else
                w->good += miura_cpu_id() == w->cpu;
        }
    }
    return NULL;
}

static void sockets(void)
{
    unsigned n = ncpu * SOCK_WORKERS_PER_CPU;
    unsigned long long s[4];
    thread_mutex_init(&live_m);
    live_n = 0;
    memset(race_wins, 0, sizeof(race_wins));
    memset(race_lost, 0, sizeof(race_lost));
    uint64_t t0 = miura_clock_ns();
    unsigned ran = run_workers(n, sock_worker, 0);
    unsigned long long ms = ms_since(t0);
    sums(n, "sockets", s);
    unsigned long long want = (unsigned long long)n * SOCK_ROUNDS * SOCK_HELD, rounds = 0;
    check("sockets", ran == n && s[0] == want && s[1] == want && live_n == 0,
          "%llu of %llu sockets bound, listening, named and closed", s[0], want);
    for (unsigned r = 0; r < SOCK_ROUNDS; r++)
        rounds += race_wins[r] == 1 && race_lost[r] == n - 1;
    check("bind-race", ran == n && rounds == SOCK_ROUNDS,
          "%llu of %llu rounds had one winner, the others EADDRINUSE", rounds, SOCK_ROUNDS);
    printf("cost: sockets %llu ms (%u workers)\n", ms, n);
}

/* ---- accept with a timeout on every CPU at once */

#define ACCEPT_TIMEOUT_MS 40

static void *accept_worker(void *arg)
{
    struct worker *w = arg;
    uint32_t port;
    struct timeval tv = {0, ACCEPT_TIMEOUT_MS * 1000};
    w->tried = 1;
    gate_pass(&gate);
    int fd = listener(w, &port);
    if (fd < 0)
        return NULL;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
        failed(w, "setsockopt SO_RCVTIMEO");
        close(fd);
        return NULL;
    }
    uint64_t t0 = miura_clock_ns();
    errno = 0;
    int rc = accept(fd, NULL, NULL);
    uint64_t took = miura_clock_ns() - t0;
    if (rc >= 0 || (errno != EAGAIN && errno != ETIMEDOUT))
        failed(w, "accept: not EAGAIN or ETIMEDOUT");
    else if (took < ACCEPT_TIMEOUT_MS * 1000000ull)
        failed(w, "accept: back before the timeout");
    else if (miura_cpu_id() != w->cpu)
        failed(w, "accept: on another CPU");
    else
        w->good = 1;
    close(fd);
    return NULL;
}

static void accept_timeouts(void)
{
    unsigned long long s[4];
    unsigned ran = run_workers(ncpu, accept_worker, 0);
    sums(ncpu, "accept-timeout", s);
    check("accept-timeout", ran == ncpu && s[0] == ncpu && s[1] == ncpu,
          "%llu of %llu CPUs timed out with EAGAIN", s[0], ncpu);
}

/* ---- echo through the host's peer */

#define ECHO_WORKERS_PER_CPU 2
#define ECHO_CONNS           3
#define ECHO_CHUNK           8192
#define ECHO_BUF             ECHO_CHUNK

static unsigned echo_port;

static uint8_t echo_byte(unsigned id, unsigned c, uint64_t i)
{
    return (uint8_t)(i * 11 + id * 17 + c * 5 + (i >> 10));
}

static int one_echo(struct worker *w, unsigned c, uint64_t size)
{
    struct sockaddr_vm host = {
        .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = echo_port};
    struct sockaddr_vm peer;
    socklen_t len = sizeof(peer);
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0)
        return failed(w, "socket"), -1;
    if (connect(fd, (struct sockaddr *)&host, sizeof(host)) < 0) {
        failed(w, "connect");
        close(fd);
        return -1;
    }
    int rc = 0;
    if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0 || peer.svm_cid != VMADDR_CID_HOST ||
        peer.svm_port != echo_port) {
        failed(w, "getpeername");
        rc = -1;
    }
    for (uint64_t off = 0; rc == 0 && off < size;) {
        size_t n = size - off < ECHO_CHUNK ? (size_t)(size - off) : ECHO_CHUNK;
        for (size_t i = 0; i < n; i++)
            w->buf[i] = echo_byte(w->id, c, off + i);
        for (size_t sent = 0; rc == 0 && sent < n;) {
            ssize_t k = send(fd, w->buf + sent, n - sent, 0);
            if (k <= 0) {
                failed(w, "send");
                rc = -1;
            } else {
                sent += (size_t)k;
            }
        }
        for (size_t got = 0; rc == 0 && got < n;) {
            ssize_t k = recv(fd, w->buf2 + got, n - got, 0);
            if (k <= 0) {
                failed(w, k == 0 ? "recv: end of stream" : "recv");
                rc = -1;
            } else {
                got += (size_t)k;
            }
        }
        if (rc == 0 && memcmp(w->buf, w->buf2, n) != 0) {
            errno = 0;
            failed(w, "recv: a wrong byte");
            rc = -1;
        }
        off += n;
    }
    if (close(fd) < 0 && rc == 0) {
        failed(w, "close");
        rc = -1;
    }
    return rc;
}

static void *echo_worker(void *arg)
{
    struct worker *w = arg;
    if (!w->buf || !w->buf2) {
        errno = ENOMEM;
        failed(w, "buffers");
    }
    gate_pass(&gate);
    for (unsigned c = 0; c < ECHO_CONNS; c++) {
        uint64_t size = 3 * ECHO_CHUNK + w->id * 37 + c * 11;
        w->tried++;
        if (!w->why && one_echo(w, c, size) == 0 && miura_cpu_id() == w->cpu) {
            w->good++;
            w->good2 += size;
        }
    }
    return NULL;
}

static void echo(void)
{
    unsigned n = ncpu * ECHO_WORKERS_PER_CPU;
    unsigned long long s[4];
    uint64_t t0 = miura_clock_ns();
    unsigned ran = run_workers(n, echo_worker, ECHO_BUF);
    unsigned long long ms = ms_since(t0);
    sums(n, "echo", s);
    unsigned long long want = (unsigned long long)n * ECHO_CONNS;
    check("echo", ran == n && s[0] == want && s[1] == want,
          "%llu of %llu connections echoed byte for byte", s[0], want);
    printf("cost: echo %llu ms (%llu bytes each way, %u workers)\n", ms, s[2], n);
}

/* ---- all of them */

static int lowest_free_fd(void)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd >= 0)
        close(fd);
    return fd;
}

void io_checks(void)
{
    int fd0 = lowest_free_fd();
    if (miura_getarg("io_cpu"))
        io_cpu = (int)miura_getarg_uint("io_cpu", 0, 0, ncpu - 1);
    if (miura_getarg("fs"))
        files();
    sockets();
    accept_timeouts();
    echo_port = miura_getarg_uint("echo", 0, 1, 0xfffffffe);
    if (echo_port)
        echo();
    int fd1 = lowest_free_fd();
    check("descriptors", fd0 >= 0 && fd0 == fd1, "lowest free %llu -> %llu",
          (unsigned long long)fd0, (unsigned long long)fd1);
}
