/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Linux build's start (linux.h): the program's options, then the
 * appliance's main with the remaining words as its command line; and the
 * calls of miura/miura.h, from the host.
 *
 *   NAME-linux [--share DIR] [--publish [ADDR:]HOSTPORT:PORT]... [--] [WORD]...
 *
 * --share DIR: the directory that stands in for the virtio-fs share (the
 * program runs in it; default: the current directory). --publish: as
 * `miura run --publish`, the TCP address miura_listen_port(PORT) listens on
 * (default 127.0.0.1:PORT). The WORDs are the kernel command line (what
 * `miura run --append` gives): miura_getarg reads them and main gets them
 * in argv[1..].
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/publish.h"
#include "lib/cmdline.h"
#include "linux.h"
#include "miura/miura.h"

#define CMDLINE_MAX 4096

int __real_main(int argc, char **argv, char **envp);
int __real_socket(int domain, int type, int protocol);

const char *linux_program = "miura-linux";
static struct publish_spec publish[PUBLISH_MAX];
static unsigned npublish;
static char **words; /* the command line's words, words[nwords] NULL */
static int nwords;
static char cmdline[CMDLINE_MAX];
static uint64_t start_ns, main_ns;
static uint64_t min_free = UINT64_MAX;

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((constructor)) static void linux_start_clock(void)
{
    start_ns = monotonic_ns();
}

static _Noreturn void usage(const char *why, const char *arg)
{
    fprintf(stderr, "%s: %s%s%s\n", linux_program, why, arg ? " " : "", arg ? arg : "");
    fprintf(stderr,
            "usage: %s [--share DIR] [--publish [ADDR:]HOSTPORT:PORT]... [--] [KEY=VALUE]...\n",
            linux_program);
    exit(2);
}

int __wrap_main(int argc, char **argv, char **envp)
{
    static char *no_args[] = {"miura-linux", NULL};
    const char *share = NULL;
    int i = 1;
    if (argc < 1 || !argv[0]) { /* started without even a name (execve) */
        argc = 1;
        argv = no_args;
    } else {
        const char *slash = strrchr(argv[0], '/');
        linux_program = slash ? slash + 1 : argv[0];
    }
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--share") != 0 && strcmp(argv[i], "--publish") != 0)
            usage("unknown option", argv[i]);
        if (i + 1 >= argc)
            usage("a value is missing after", argv[i]);
        if (argv[i][2] == 's') {
            share = argv[++i];
        } else if (npublish == PUBLISH_MAX) {
            usage("too many --publish options", NULL);
        } else if (publish_parse(argv[++i], &publish[npublish]) < 0) {
            usage("bad --publish value (want " PUBLISH_SYNTAX "):", argv[i]);
        } else {
            npublish++;
        }
    }
    if (share && chdir(share) < 0) {
        fprintf(stderr, "%s: --share %s: %s\n", linux_program, share, strerror(errno));
        return 1;
    }
    /* main's argv: argv[0], then the words, as the guest gives them. */
    words = argv + i - 1;
    nwords = argc - i;
    words[0] = argv[0];
    size_t len = 0;
    for (int w = 1; w <= nwords; w++) {
        size_t n = strlen(words[w]);
        if (len + n + 1 >= sizeof(cmdline)) {
            fprintf(stderr, "%s: the words are longer than a command line (%d bytes)\n",
                    linux_program, CMDLINE_MAX - 1);
            return 2;
        }
        if (w > 1)
            cmdline[len++] = ' ';
        memcpy(cmdline + len, words[w], n);
        len += n;
    }
    signal(SIGPIPE, SIG_IGN);         /* a peer that went away is an error, as in the guest */
    setvbuf(stdout, NULL, _IOLBF, 0); /* the console: each line as it is printed */
    linux_thread_start();
    main_ns = monotonic_ns();
    return __real_main(nwords + 1, words, envp);
}

int miura_listen_port(unsigned port, int backlog)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    const struct publish_spec *p = NULL;
    for (unsigned i = 0; i < npublish && !p; i++)
        if (publish[i].guest_port == port)
            p = &publish[i];
    if (p) {
        inet_pton(AF_INET, p->addr, &sa.sin_addr);
        sa.sin_port = htons(p->host_port);
    } else if (port >= 1 && port <= 65535) {
        sa.sin_port = htons((uint16_t)port);
    } else {
        fprintf(stderr, "%s: vsock port %u has no TCP port: --publish HOSTPORT:%u\n", linux_program,
                port, port);
        errno = EINVAL;
        return -1;
    }
    int one = 1, fd = __real_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, backlog) == 0) {
        char addr[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof(addr));
        fprintf(stderr, "%s: vsock port %u is http://%s:%u\n", linux_program, port, addr,
                ntohs(sa.sin_port));
        return fd;
    }
    int err = errno;
    fprintf(stderr, "%s: vsock port %u: cannot listen on TCP port %u: %s\n", linux_program, port,
            ntohs(sa.sin_port), strerror(err));
    if (fd >= 0)
        close(fd);
    errno = err;
    return -1;
}

/* ---- miura/miura.h from the host: one CPU runs the appliance ---- */

unsigned miura_cpu_count(void)
{
    return 1;
}

unsigned miura_cpu_id(void)
{
    return 0;
}

void miura_mem_info(struct miura_mem_info *m)
{
    struct sysinfo si;
    sysinfo(&si);
    m->total_bytes = (uint64_t)si.totalram * si.mem_unit;
    m->free_bytes = (uint64_t)si.freeram * si.mem_unit;
    if (m->free_bytes < min_free)
        min_free = m->free_bytes;
    m->min_free_bytes = min_free; /* the fewest this program has seen */
}

uint64_t miura_mem_bytes(void)
{
    struct miura_mem_info m;
    miura_mem_info(&m);
    return m.total_bytes;
}

uint64_t miura_clock_ns(void)
{
    return monotonic_ns() - start_ns;
}

int64_t miura_realtime_s(void)
{
    return (int64_t)time(NULL);
}

uint64_t miura_boot_ns(void)
{
    return main_ns ? main_ns - start_ns : 0;
}

const char *miura_cmdline(void)
{
    return cmdline;
}

const char *miura_getarg(const char *key)
{
    return words ? cmdline_value(words + 1, nwords, key) : NULL;
}

_Noreturn void miura_poweroff(int status)
{
    exit(status);
}
