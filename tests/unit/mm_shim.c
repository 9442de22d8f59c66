/* SPDX-License-Identifier: BSD-2-Clause */
/* Host stand-ins for mm_port.h: a settable CPU id (per host thread, so threads
 * can act as CPUs), a counting reporter and a pthread mutex for the page
 * allocator. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "mm/mm_port.h"
#include "mm_shim.h"

__thread unsigned mm_test_cpu;
unsigned mm_test_cpus = 4;
int mm_test_reports;
char mm_test_last_report[256];
static pthread_mutex_t mm_test_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mm_test_report_mutex = PTHREAD_MUTEX_INITIALIZER;

unsigned mm_cpu_id(void)
{
    return mm_test_cpu;
}

unsigned mm_cpu_count(void)
{
    return mm_test_cpus;
}

void mm_report(const char *fmt, ...)
{
    va_list ap;

    /* Several threads (CPUs) may report at once: the message buffer is shared. */
    pthread_mutex_lock(&mm_test_report_mutex);
    __atomic_fetch_add(&mm_test_reports, 1, __ATOMIC_RELAXED);
    va_start(ap, fmt);
    vsnprintf(mm_test_last_report, sizeof(mm_test_last_report), fmt, ap);
    va_end(ap);
    if (getenv("MM_VERBOSE") != NULL)
        printf("# mm: %s\n", mm_test_last_report);
    pthread_mutex_unlock(&mm_test_report_mutex);
}

void mm_lock(void)
{
    pthread_mutex_lock(&mm_test_mutex);
}

void mm_unlock(void)
{
    pthread_mutex_unlock(&mm_test_mutex);
}

void *mm_test_memory(size_t size)
{
    /* Aligned to the largest power of two <= size (at most 1 GiB): the buddy
     * blocks depend on physical alignment, so the tests must not depend on
     * where mmap happens to put the memory. */
    size_t align = 4096;
    while (align * 2 <= size && align < ((size_t)1 << 30))
        align *= 2;
    char *raw = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) {
        perror("mmap");
        abort();
    }
    char *p = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    if (p + size < raw + size + align)
        munmap(p + size, (size_t)(raw + size + align - (p + size)));
    return p;
}
