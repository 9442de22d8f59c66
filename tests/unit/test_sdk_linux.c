/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the Linux build's stand-ins (sdk/linux/path.c, thread.c). */
#include "test.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../sdk/linux/linux.h"
#include "miura/thread.h"

static bool path_is(const char *in, const char *want)
{
    char out[LINUX_PATH_MAX];
    return linux_share_path(in, out) == 0 && strcmp(out, want) == 0;
}

TEST(share_paths)
{
    CHECK(path_is("/", "./"));
    CHECK(path_is("/kv/a", "kv/a"));
    CHECK(path_is("kv/a", "kv/a"));
    CHECK(path_is("//kv//./a", "kv/a"));
    CHECK(path_is("/kv/", "kv/"));
    CHECK(path_is("/..", "."));
    CHECK(path_is("../../etc/passwd", "etc/passwd"));
    CHECK(path_is("/a/b/../../../c", "c"));
    CHECK(path_is("/a/..", "."));
    CHECK(path_is(".", "."));
    char out[LINUX_PATH_MAX], longer[LINUX_PATH_MAX + 1];
    errno = 0;
    CHECK(linux_share_path("", out) == -1 && errno == ENOENT);
    memset(longer, 'a', LINUX_PATH_MAX);
    longer[LINUX_PATH_MAX] = 0;
    errno = 0;
    CHECK(linux_share_path(longer, out) == -1 && errno == ENAMETOOLONG);
    longer[LINUX_PATH_MAX - 1] = 0; /* the longest path taken */
    CHECK(linux_share_path(longer, out) == 0 && strlen(out) == LINUX_PATH_MAX - 1);
}

/* The test's thread holds the CPU as an appliance's main does. */
static void be_main(void)
{
    static bool started;
    if (!started)
        linux_thread_start();
    started = true;
}

static int order[8];
static unsigned norder;

static void *turns(void *arg)
{
    int id = (int)(intptr_t)arg;
    order[norder++] = id;
    thread_yield();
    order[norder++] = id + 10;
    return (void *)(intptr_t)(id * 100);
}

TEST(threads_take_turns_in_order)
{
    be_main();
    norder = 0;
    thread_t *a = thread_create(THREAD_CPU_CURRENT, 0, turns, (void *)1);
    thread_t *b = thread_create(0, 8192, turns, (void *)2);
    CHECK(a && b);
    CHECK_EQ(norder, 0u); /* the creator goes on until it blocks */
    thread_yield();       /* a, then b, run until they yield */
    CHECK_EQ(norder, 2u);
    CHECK_EQ(order[0], 1);
    CHECK_EQ(order[1], 2);
    void *ret = NULL;
    CHECK_EQ(thread_join(a, &ret), 0); /* a, then b, finish meanwhile */
    CHECK_EQ((intptr_t)ret, 100);
    CHECK_EQ(norder, 4u);
    CHECK_EQ(order[2], 11);
    CHECK_EQ(order[3], 12);
    CHECK_EQ(thread_join(b, &ret), 0);
    CHECK_EQ((intptr_t)ret, 200);
}

static void *nothing(void *arg)
{
    return arg;
}

TEST(thread_errors)
{
    be_main();
    errno = 0;
    CHECK(thread_create(1, 0, nothing, NULL) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(thread_create(THREAD_CPU_CURRENT, 0, NULL, NULL) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(thread_create(0, (size_t)THREAD_STACK_MAX + 1, nothing, NULL) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(thread_join(thread_self(), NULL) == -1 && errno == EDEADLK);
    errno = 0;
    CHECK(thread_join(NULL, NULL) == -1 && errno == EINVAL);
    thread_t *t = thread_create(THREAD_CPU_CURRENT, 0, nothing, NULL);
    CHECK(t != NULL);
    CHECK_EQ(thread_detach(t), 0);
    errno = 0;
    CHECK(thread_detach(t) == -1 && errno == EINVAL); /* still queued: not freed yet */
    thread_t *done = thread_create(THREAD_CPU_CURRENT, 0, nothing, NULL);
    thread_sleep_ms(1);               /* both run and end meanwhile */
    CHECK_EQ(thread_detach(done), 0); /* an ended thread: freed now */
}
