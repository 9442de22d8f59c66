/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The descriptor layer on its own: numbers, the console, dispatch to a
 * kind's ops (and what a kind without an op gets), status flags, poll.
 * Two fake kinds stand for files and sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/console.h"
#include "lib/fd/fd.h"
#include "lib/fd/fd_port.h"
#include "test.h"

/* ---- fakes: the console and poll's port */

static char console_buf[64];
static size_t console_len;

void console_write(const char *s, size_t n)
{
    if (n > sizeof(console_buf) - console_len)
        n = sizeof(console_buf) - console_len;
    memcpy(console_buf + console_len, s, n);
    console_len += n;
}

struct waitq {
    int id;
};
static unsigned locks, waits;
static uint64_t now = 1000;
static struct waitq *waited_on[32]; /* the queues of the last sleep */
static unsigned waited_n;
static void (*wait_hook)(void); /* runs as another thread while poll sleeps */

uint64_t fd_lock(void)
{
    return locks++;
}

void fd_unlock(uint64_t flags)
{
    if (flags != --locks)
        abort();
}

int fd_wait_any(struct waitq *const *wqs, struct waitq_entry *entries, unsigned n,
                uint64_t deadline_ns)
{
    (void)entries;
    if (!locks)
        abort(); /* poll sleeps inside its section */
    waits++;
    if (n > 32)
        abort(); /* more than the tests poll */
    waited_n = n;
    for (unsigned i = 0; i < n; i++)
        waited_on[i] = wqs[i];
    if (wait_hook) {
        void (*h)(void) = wait_hook;
        wait_hook = NULL;
        h();
        return 0;
    }
    if (deadline_ns && now < deadline_ns)
        now = deadline_ns;
    return -ETIMEDOUT;
}

uint64_t fd_clock_ns(void)
{
    return now;
}

/* ---- a "file" kind: read and close only */

struct thing {
    struct fd_object fdo;
    int closed;
    short ready;
    struct waitq wq; /* sockets: their own queue, as net's have */
};

static int thing_close(struct fd_object *o);
static int sock_close(struct fd_object *o);
static const struct fd_kind file_kind = {thing_close, S_IFREG},
                            sock_kind = {sock_close, S_IFSOCK | 0777};

static int64_t thing_read(struct fd_object *o, void *buf, size_t n, const int64_t *at)
{
    (void)o;
    if (at)
        abort(); /* read() reads at the descriptor's position */
    memset(buf, 'r', n);
    return (int64_t)n;
}
FD_OP(read, file_kind, thing_read);

static int thing_close(struct fd_object *o)
{
    ((struct thing *)o)->closed++;
    return 0;
}

/* ---- a "socket" kind: close with an error, poll */

static int sock_close(struct fd_object *o)
{
    ((struct thing *)o)->closed++;
    return -EIO;
}

static short sock_poll(struct fd_object *o, short events, struct waitq **wq)
{
    *wq = &((struct thing *)o)->wq;
    return (short)(((struct thing *)o)->ready & (events | POLLERR | POLLHUP));
}
FD_OP(poll, sock_kind, sock_poll);

static int open_thing(struct thing *t, const struct fd_kind *kind, uint32_t flags)
{
    memset(t, 0, sizeof(*t));
    t->fdo.kind = kind;
    t->fdo.flags = flags;
    return fd_install(&t->fdo);
}

static void close_all(void)
{
    for (int fd = FD_CONSOLES; fd < FD_MAX; fd++)
        (void)fd_close(fd);
}

TEST(lowest_free_number_across_kinds)
{
    struct thing a, b, c, d;

    close_all();
    CHECK_EQ(open_thing(&a, &file_kind, O_RDONLY), 3);
    CHECK_EQ(open_thing(&b, &sock_kind, O_RDWR), 4);
    CHECK_EQ(open_thing(&c, &file_kind, O_RDONLY), 5);
    CHECK_EQ(miura_close(3), 0);
    CHECK_EQ(a.closed, 1);
    CHECK(fd_lookup(3) == NULL);
    CHECK_EQ(miura_close(3), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(open_thing(&d, &sock_kind, O_RDWR), 3); /* the lowest free */
    CHECK_EQ(miura_close(4), -1); /* the op's error, and the number is free all the same */
    CHECK_EQ(errno, EIO);
    CHECK_EQ(b.closed, 1);
    CHECK(fd_lookup(4) == NULL);
    CHECK_EQ(open_thing(&a, &file_kind, O_RDONLY), 4);
    CHECK_EQ(open_thing(&b, &file_kind, O_RDONLY), 6);
    CHECK_EQ(d.closed, 0);
    close_all();
}

TEST(table_full_gives_emfile)
{
    static struct thing t[FD_MAX];
    int n = 0, fd;

    close_all();
    while ((fd = open_thing(&t[n], &file_kind, O_RDONLY)) >= 0)
        CHECK_EQ(fd, FD_CONSOLES + n++);
    CHECK_EQ(fd, -EMFILE);
    CHECK_EQ(n, FD_MAX - FD_CONSOLES);
    CHECK_EQ(miura_close(100), 0);
    CHECK_EQ(open_thing(&t[n], &file_kind, O_RDONLY), 100);
    CHECK_EQ(open_thing(&t[n], &file_kind, O_RDONLY), -EMFILE);
    close_all();
}

TEST(console_descriptors_stay_open)
{
    char buf[4];
    struct stat st;

    console_len = 0;
    CHECK_EQ(miura_write(1, "out", 3), 3);
    CHECK_EQ(miura_write(2, "err", 3), 3);
    CHECK_EQ(console_len, 6);
    CHECK(memcmp(console_buf, "outerr", 6) == 0);
    CHECK_EQ(miura_read(0, buf, sizeof(buf)), 0);
    CHECK_EQ(miura_read(1, buf, 1), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(miura_write(0, "x", 1), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(miura_fstat(2, &st), 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK_EQ(miura_fcntl(1, F_GETFL), O_RDWR);
    CHECK_EQ(miura_close(1), 0);
    CHECK_EQ(miura_write(1, "!", 1), 1);
}

TEST(ops_a_kind_lacks)
{
    struct thing f, s;
    struct stat st;
    char buf[4];

    close_all();
    int ffd = open_thing(&f, &file_kind, O_RDONLY);
    int sfd = open_thing(&s, &sock_kind, O_RDWR);
    CHECK_EQ(miura_read(ffd, buf, 2), 2);
    CHECK_EQ(buf[0], 'r');
    CHECK_EQ(miura_write(ffd, "x", 1), -1); /* no write op */
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(miura_read(sfd, buf, 1), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(miura_fstat(sfd, &st), 0); /* no fstat op: the kind's mode */
    CHECK_EQ(st.st_mode, S_IFSOCK | 0777);
    CHECK_EQ(st.st_size, 0);
    CHECK_EQ(miura_read(-1, buf, 1), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(miura_fstat(FD_MAX, &st), -1);
    CHECK_EQ(errno, EBADF);
    close_all();
}

TEST(fcntl_status_flags)
{
    struct thing f;

    close_all();
    int fd = open_thing(&f, &file_kind, O_WRONLY | O_APPEND | O_CREAT);
    CHECK_EQ(miura_fcntl(fd, F_GETFL), O_WRONLY | O_APPEND);
    CHECK_EQ(miura_fcntl(fd, F_SETFL, O_NONBLOCK | O_RDWR), 0); /* the access mode stays */
    CHECK_EQ(miura_fcntl(fd, F_GETFL), O_WRONLY | O_NONBLOCK);
    CHECK_EQ(f.fdo.flags, O_WRONLY | O_NONBLOCK | O_CREAT);
    CHECK_EQ(miura_fcntl(fd, F_GETFD), 0);
    CHECK_EQ(miura_fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
    CHECK_EQ(miura_fcntl(fd, 1234), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(miura_fcntl(77, F_GETFL), -1);
    CHECK_EQ(errno, EBADF);
    close_all();
}

static struct thing *wake_target;
static void becomes_readable(void)
{
    wake_target->ready = POLLIN;
}

TEST(poll_over_kinds)
{
    struct thing f, s;

    close_all();
    int ffd = open_thing(&f, &file_kind, O_RDONLY);
    int sfd = open_thing(&s, &sock_kind, O_RDWR);
    struct pollfd p[4] = {{.fd = ffd, .events = POLLIN},
                          {.fd = sfd, .events = POLLIN},
                          {.fd = 99, .events = POLLIN},
                          {.fd = -1, .events = POLLIN}};
    CHECK_EQ(miura_poll(p, 4, 0), 2); /* a file is always ready; 99 is not open */
    CHECK_EQ(p[0].revents, POLLIN);
    CHECK_EQ(p[1].revents, 0);
    CHECK_EQ(p[2].revents, POLLNVAL);
    CHECK_EQ(p[3].revents, 0);
    /* poll sleeps on the queue the socket named, until it becomes ready */
    waits = 0;
    wake_target = &s;
    wait_hook = becomes_readable;
    CHECK_EQ(miura_poll(&p[1], 1, -1), 1);
    CHECK_EQ(p[1].revents, POLLIN);
    CHECK_EQ(waits, 1);
    CHECK_EQ(waited_n, 1);
    CHECK(waited_on[0] == &s.wq);
    /* a timeout, with nothing to wake it */
    s.ready = 0;
    uint64_t t0 = now;
    CHECK_EQ(miura_poll(&p[1], 1, 30), 0);
    CHECK_EQ(now - t0, 30000000ull);
    /* no descriptors: a plain sleep on no queue */
    waited_n = 99;
    CHECK_EQ(miura_poll(NULL, 0, 5), 0);
    CHECK_EQ(waited_n, 0);
    CHECK_EQ(miura_poll(NULL, 1, 0), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(locks, 0);
    close_all();
}

static struct thing many[12];
static void last_becomes_readable(void)
{
    many[11].ready = POLLOUT;
}

TEST(poll_sleeps_on_the_queue_of_every_descriptor)
{
    struct pollfd p[13];

    close_all();
    for (unsigned i = 0; i < 12; i++) {
        p[i].fd = open_thing(&many[i], &sock_kind, O_RDWR);
        p[i].events = POLLIN | POLLOUT;
    }
    struct thing f;
    p[12].fd = open_thing(&f, &file_kind, O_RDONLY);
    p[12].events = 0; /* a file with no events asked: never ready, no queue */
    /* more descriptors than poll keeps on its stack, each with its own queue */
    waits = 0;
    wait_hook = last_becomes_readable;
    CHECK_EQ(miura_poll(p, 13, -1), 1);
    CHECK_EQ(waits, 1);
    CHECK_EQ(waited_n, 12);
    for (unsigned i = 0; i < 12; i++)
        CHECK(waited_on[i] == &many[i].wq);
    CHECK_EQ(p[11].revents, POLLOUT);
    CHECK_EQ(p[0].revents, 0);
    CHECK_EQ(locks, 0);
    close_all();
}
