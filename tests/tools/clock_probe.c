/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Measures a web server's clock against this host's, from outside, through
 * the Date header (whole seconds): it finds the instant the server's Date
 * turns to the next second and brackets it between host clock readings.
 *
 *   clock_probe --tcp ADDR:PORT [--path /] [--edges N] [--max-width-ms W]
 *               [--timeout S]
 *
 * Requests go one at a time on a keep-alive connection (reopened when the
 * server closes it). Request i is answered at some host time g_i between its
 * send (s_i) and the end of its reply (r_i). If reply i says second D and
 * reply i+1 says a later one, the server's clock read D+1 exactly at some
 * host time h with s_i <= h <= r_{i+1}; so the offset (server minus host)
 * lies in [D+1 - r_{i+1}, D+1 - s_i]. That interval is exact, whatever the
 * delays: a slow or loaded machine only widens it.
 *
 * First a coarse pass (a request every 20 ms) finds an edge; then, for each
 * of N further edges (default 5), requests go back to back from 30 ms before
 * the expected edge until the Date changes. Prints one line per edge and
 * last the narrowest interval:
 *   offset_ns LO HI at_ns H width_ns W
 * (H: host realtime at the middle of that bracket). Exits 0 when the
 * narrowest interval is no wider than W ms (default 20), 1 otherwise or on
 * any error (one line on stderr says why).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr;
static const char *path = "/";
static int fd = -1;
static int64_t deadline_ns;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "clock_probe: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
    exit(1);
}

static void sleep_until(int64_t t)
{
    int64_t d = t - now_ns();
    if (d > 0) {
        struct timespec ts = {d / 1000000000, d % 1000000000};
        nanosleep(&ts, NULL);
    }
}

static void reconnect(void)
{
    if (fd >= 0)
        close(fd);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        die("connect");
}

/* Days since 1970-01-01 (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* "Date: Sun, 06 Nov 1994 08:49:37 GMT" in the header block; -1 if absent. */
static int64_t parse_date(const char *hdr)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *p = strcasestr(hdr, "\r\nDate: ");
    char mon[4];
    int d, y, h, mi, s;
    if (!p || sscanf(p + 8, "%*3s, %2d %3s %4d %2d:%2d:%2d GMT", &d, mon, &y, &h, &mi, &s) != 6)
        return -1;
    const char *m = strstr(months, mon);
    if (!m || (m - months) % 3)
        return -1;
    return days_from_civil(y, (int)(m - months) / 3 + 1, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* One request; fills send and reply times; returns the Date in seconds. */
static int64_t request(int64_t *sent, int64_t *replied)
{
    char req[512], buf[4096];
    int n = snprintf(req, sizeof(req), "HEAD %s HTTP/1.1\r\nHost: probe\r\n\r\n", path);
    for (int attempt = 0; attempt < 3; attempt++) {
        if (now_ns() > deadline_ns)
            die("timed out");
        if (fd < 0)
            reconnect();
        *sent = now_ns();
        if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
            reconnect();
            continue;
        }
        size_t len = 0;
        for (;;) {
            ssize_t got = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
            if (got <= 0)
                break;
            len += (size_t)got;
            buf[len] = 0;
            if (strstr(buf, "\r\n\r\n") || len == sizeof(buf) - 1)
                break;
        }
        *replied = now_ns();
        if (!strstr(buf, "\r\n\r\n") || len == 0) {
            reconnect();
            continue;
        }
        int64_t date = parse_date(buf);
        if (date < 0) {
            errno = 0;
            die("a reply without a Date header");
        }
        if (strcasestr(buf, "\r\nConnection: close")) {
            close(fd);
            fd = -1;
        }
        return date;
    }
    die("the server keeps closing the connection");
    return -1;
}

struct bracket {
    int64_t lo, hi, at; /* offset interval (server - host), host time of the edge */
};

/* Requests (gap_ns apart) until the Date changes; the bracket of that edge. */
static struct bracket find_edge(int64_t gap_ns)
{
    int64_t s0, r0, s1, r1;
    int64_t d0 = request(&s0, &r0);
    for (;;) {
        if (gap_ns)
            sleep_until(s0 + gap_ns);
        int64_t d1 = request(&s1, &r1);
        if (d1 > d0) {
            int64_t edge = (d0 + 1) * 1000000000;
            return (struct bracket){edge - r1, edge - s0, s0 / 2 + r1 / 2};
        }
        d0 = d1, s0 = s1, r0 = r1;
    }
}

int main(int argc, char **argv)
{
    const char *tcp = NULL;
    int edges = 5, timeout_s = 60;
    double max_width_ms = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tcp") && i + 1 < argc)
            tcp = argv[++i];
        else if (!strcmp(argv[i], "--path") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--edges") && i + 1 < argc)
            edges = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-width-ms") && i + 1 < argc)
            max_width_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout_s = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: clock_probe --tcp ADDR:PORT [--path /] [--edges N] "
                            "[--max-width-ms W] [--timeout S]\n");
            return 2;
        }
    }
    const char *colon = tcp ? strrchr(tcp, ':') : NULL;
    if (!colon || edges < 1 || edges > 100 || timeout_s < 1) {
        fprintf(stderr, "clock_probe: want --tcp ADDR:PORT, 1..100 edges, a timeout\n");
        return 2;
    }
    char host[64];
    snprintf(host, sizeof(host), "%.*s", (int)(colon - tcp), tcp);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "clock_probe: bad address '%s'\n", host);
        return 2;
    }
    deadline_ns = now_ns() + (int64_t)timeout_s * 1000000000;

    struct bracket b = find_edge(20000000), best = b;
    for (int k = 0; k < edges; k++) {
        /* The next edge is a second after this one (both clocks tick at
         * about the same rate); start 30 ms early, then back to back. */
        sleep_until(b.at + 1000000000 - 30000000);
        struct bracket e = find_edge(0);
        b = e;
        printf("edge: offset %+.3f .. %+.3f ms (width %.3f ms)\n", e.lo / 1e6, e.hi / 1e6,
               (e.hi - e.lo) / 1e6);
        if (e.hi - e.lo < best.hi - best.lo)
            best = e;
    }
    printf("offset_ns %lld %lld at_ns %lld width_ns %lld\n", (long long)best.lo, (long long)best.hi,
           (long long)best.at, (long long)(best.hi - best.lo));
    if (best.hi - best.lo > (int64_t)(max_width_ms * 1e6)) {
        errno = 0;
        fprintf(stderr, "clock_probe: no edge bracketed within %.0f ms (best %.3f ms)\n",
                max_width_ms, (best.hi - best.lo) / 1e6);
        return 1;
    }
    return 0;
}
