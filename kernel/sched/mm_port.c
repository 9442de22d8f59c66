/* SPDX-License-Identifier: BSD-2-Clause */
/* What the Memory unit needs from the rest of the kernel (mm/mm_port.h). */
#include <stdarg.h>
#include <stdio.h>

#include "arch/x86_64/arch.h"
#include "mm/mm_port.h"
#include "sched/sched.h"

static struct spinlock page_lock = SPINLOCK_INIT(LOCK_MM);
static uint64_t page_lock_flags;

unsigned mm_cpu_id(void)
{
    return this_cpu()->id;
}

unsigned mm_cpu_count(void)
{
    return platform_cpus_online();
}

/* The page allocator's lock (a handler never allocates). */
void mm_lock(void)
{
    uint64_t flags = spin_lock(&page_lock);
    page_lock_flags = flags;
}

void mm_unlock(void)
{
    spin_unlock(&page_lock, page_lock_flags);
}

void mm_report(const char *fmt, ...)
{
    va_list ap;
    printf("mm: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(" (caller %p)\n", __builtin_return_address(0));
}
