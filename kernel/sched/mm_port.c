/* SPDX-License-Identifier: BSD-2-Clause */
/* What the Memory unit needs from the rest of the kernel (mm/mm_port.h). */
#include <stdarg.h>
#include <stdio.h>

#include "arch/x86_64/arch.h"
#include "mm/mm_port.h"
#include "sched/sched.h"

static int page_lock;
static uint64_t page_lock_flags;

unsigned mm_cpu_id(void)
{
    return this_cpu()->id;
}

unsigned mm_cpu_count(void)
{
    return platform_cpu_count();
}

/* The page allocator's lock: interrupts off (a handler never allocates, but
 * a thread must not be switched out while holding it) and a spinlock for the
 * day a second CPU runs. */
void mm_lock(void)
{
    uint64_t flags = irq_save();
    while (__atomic_exchange_n(&page_lock, 1, __ATOMIC_ACQUIRE))
        cpu_relax();
    page_lock_flags = flags;
}

void mm_unlock(void)
{
    uint64_t flags = page_lock_flags;
    __atomic_store_n(&page_lock, 0, __ATOMIC_RELEASE);
    irq_restore(flags);
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
