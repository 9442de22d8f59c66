/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Init hooks and driver registration through linker sections: a component
 * that is not linked into an image simply has no entry here.
 *
 * MIURA_INIT(level, fn) runs `int fn(void)` in the init thread before main(),
 * in increasing level order (1-9), with threads, timers and interrupts
 * available. A negative return is reported on the console; boot goes on.
 */
#ifndef MIURA_INIT_H
#define MIURA_INIT_H

typedef int (*init_fn)(void);
struct init_hook {
    init_fn fn;
    const char *name;
};

#define INIT_LEVEL_EARLY  1
#define INIT_LEVEL_BUS    3
#define INIT_LEVEL_DEVICE 5
#define INIT_LEVEL_FS     7
#define INIT_LEVEL_LATE   9

#define MIURA_INIT_STR2(x) #x
#define MIURA_INIT_STR(x)  MIURA_INIT_STR2(x)
#define MIURA_INIT(level, fn)                                                                   \
    static const struct init_hook init_hook_##fn                                                \
        __attribute__((used, section(".miura_init." MIURA_INIT_STR(level)), aligned(8))) = {fn, \
                                                                                            #fn}

/*
 * Driver records: MIURA_DRIVER(bus, var) registers `var`, a driver of the
 * bus named `bus` (e.g. MIURA_DRIVER(virtio, my_driver) for a const struct
 * virtio_driver). The bus walks its records between
 * __start_miura_drivers_<bus> and __stop_miura_drivers_<bus>
 * (MIURA_DRIVERS_OF): in the guest the linker script puts them in .rodata
 * and defines these; for host tests the linker defines them, as it does for
 * any section named like a C identifier.
 */
#define MIURA_DRIVER(bus, var)                   \
    static const void *const driver_record_##var \
        __attribute__((used, section("miura_drivers_" #bus), aligned(8))) = &var

/* The bounds of bus's records. */
#define MIURA_DRIVERS_OF(bus)                               \
    extern const void *const __start_miura_drivers_##bus[]; \
    extern const void *const __stop_miura_drivers_##bus[]

#endif
