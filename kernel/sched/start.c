/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kmain: from the PVH entry (arch's pvh.S) to the appliance's main().
 *
 * The console first, then this CPU's scheduler state (errno and the current
 * thread live behind %gs), then the machine (arch_init). The boot context
 * becomes CPU 0's idle thread; an init thread runs the init hooks in level
 * order and then main(argc, argv), whose return value powers the VM off.
 */
#include <stdio.h>

#include "arch/x86_64/arch.h"
#include "lib/init.h"
#include "miura/miura.h"
#include "sched/sched.h"

extern int main(int argc, char **argv);
extern const struct init_hook __init_start[], __init_end[];

static uint64_t main_tsc; /* TSC when main() was called */

static void *init_thread(void *unused)
{
    (void)unused;
    io_enter(); /* the hooks probe drivers and mount file systems */
    for (const struct init_hook *h = __init_start; h < __init_end; h++) {
        int rc = h->fn();
        if (rc < 0)
            printf("init: %s failed: error %d\n", h->name,
                   -rc); /* no strerror table in every image */
    }
    io_leave();
    main_tsc = rdtsc();
    /* Called through a volatile pointer so that link-time optimisation does
     * not inline main here: backtraces then show the appliance's main. */
    int (*volatile app_main)(int, char **) = main;
    int status = app_main(boot_argc, boot_argv);
    miura_poweroff(status);
}

void kmain(uint32_t start_info)
{
    serial_init();
    sched_init(); /* first: per-CPU state (errno, current thread) behind %gs */
    arch_init(start_info);
    unsigned n = smp_start();
    if (n > 1)
        printf("smp: %u CPUs online\n", n);
    if (!thread_create(0, MAIN_STACK_SIZE, init_thread, NULL))
        panic("boot: cannot create the main thread");
    sched_idle_loop();
}

/* An application processor, from arch's ap_main on its own stack. */
_Noreturn void kmain_ap(unsigned cpu)
{
    sched_init_cpu(cpu);
    smp_cpu_online();
    sched_idle_loop();
}

uint64_t miura_boot_ns(void)
{
    return main_tsc ? tsc_to_ns(main_tsc - boot_tsc) : 0;
}
