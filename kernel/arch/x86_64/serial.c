/* SPDX-License-Identifier: BSD-2-Clause */
/* 16550 UART on COM1 (0x3f8): the console. Output only. Where the image
 * has the virtio-console driver (lib/console.h) and the VMM the device, the
 * console's bytes go there once it is up; the UART keeps what comes before
 * it and the crash reports (other CPUs stopped). */
#include "arch/x86_64/arch.h"
#include "lib/console.h"

#define COM1          0x3f8
#define LSR_THR_EMPTY 0x20

void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no UART interrupts */
    outb(COM1 + 3, 0x80); /* DLAB on: divisor 1 = 115200 baud */
    outb(COM1 + 0, 0x01);
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1, DLAB off */
    outb(COM1 + 2, 0x07); /* FIFO on and cleared */
    outb(COM1 + 4, 0x03); /* DTR, RTS */
}

static void serial_putc(char c)
{
    /* A virtual UART accepts at once; the bound keeps a wedged one from hanging us. */
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & LSR_THR_EMPTY); i++)
        cpu_relax();
    outb(COM1, (uint8_t)c);
}

/* One writer at a time, except after a panic stopped the other CPUs (one
 * may have stopped holding the lock). */
static struct spinlock console_lock = SPINLOCK_INIT(LOCK_CONSOLE);

void console_write(const char *s, size_t n)
{
    bool locked = !smp_stopped();
    uint64_t flags = locked ? spin_lock(&console_lock) : 0;
    size_t i = 0;
    if (console_fast_write) /* linked in; a crash report waits for what is in flight */
        i = console_fast_write(s, locked ? n : 0);
    for (; i < n; i++) {
        if (s[i] == '\n')
            serial_putc('\r');
        serial_putc(s[i]);
    }
    if (locked)
        spin_unlock(&console_lock, flags);
}
