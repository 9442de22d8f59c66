/* SPDX-License-Identifier: BSD-2-Clause */
/* Crashes the way the command line says (crash=KIND, after delay_ms=N);
 * tests/e2e/crash.sh checks the report, tests/e2e/faults.sh the launcher's handling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/arch.h"
#include "miura/miura.h"

__attribute__((noinline)) static void crash_pagefault(void)
{
    *(volatile int *)0xdead0000ul = 1; /* above RAM, below the MMIO window */
}

static volatile int *volatile null_pointer;

__attribute__((noinline)) static void crash_null(void)
{
    *null_pointer = 1;
}

__attribute__((noinline)) static int crash_divide(volatile int d)
{
    return 100 / d;
}

__attribute__((noinline)) static int crash_recurse(int depth)
{
    volatile char buf[512];
    buf[0] = (char)depth;
    if (depth > 1000000) /* never reached: the 16 KiB stack ends long before */
        return 0;
    return crash_recurse(depth + 1) + buf[0];
}

static void *stack_thread(void *arg)
{
    (void)arg;
    return (void *)(long)crash_recurse(0);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const char *kind = miura_getarg("crash");
    const char *delay = miura_getarg("delay_ms"); /* crash this long after start */
    printf("test_crash: %s\n", kind ? kind : "(none)");
    if (!kind)
        return 2;
    if (delay)
        thread_sleep_ms(strtoul(delay, NULL, 10));
    if (!strcmp(kind, "pagefault"))
        crash_pagefault();
    else if (!strcmp(kind, "null"))
        crash_null();
    else if (!strcmp(kind, "divide"))
        printf("100 / 0 = %d\n", crash_divide(0));
    else if (!strcmp(kind, "stack")) {
        thread_t *t = thread_create(THREAD_CPU_CURRENT, 16 * 1024, stack_thread, NULL);
        thread_join(t, NULL);
    } else if (!strcmp(kind, "panic")) {
        panic("on purpose");
    }
    printf("test_crash: still alive\n");
    return 3;
}
