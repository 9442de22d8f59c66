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

/* Driver records: MIURA_DRIVER(virtio_driver, my_driver) registers
 * `const struct virtio_driver my_driver`; a bus walks the records of its kind
 * with driver_records() and matches on `kind`. */
struct driver_record {
    const char *kind;
    const void *driver;
};
#define MIURA_DRIVER(kind, var)                           \
    static const struct driver_record driver_record_##var \
        __attribute__((used, section(".miura_drivers." #kind), aligned(8))) = {#kind, &var}

extern const struct driver_record __drivers_start[], __drivers_end[];

#endif
