/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IDT, interrupt dispatch and the crash report.
 *
 * Every CPU exception is fatal: the report gives the vector, error code, CR2,
 * all registers and a frame-pointer backtrace with symbol names, then the VM
 * powers off with MIURA_EXIT_CRASH. Interrupt vectors call the handler
 * registered for them (irq_route / irq_set_vector_handler) and send the EOI.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "arch/x86_64/arch.h"
#include "arch/x86_64/gdt.h"

struct __attribute__((packed)) idt_entry {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t zero;
};

extern const char isr_stubs_low[], isr_stubs_high[]; /* isr.S (layout.h) */
#define ISR_STUBS_LOW      (ISR_LOW_LAST + 1)
#define ISR_STUBS_HIGH     (ISR_HIGH_LAST - ISR_HIGH_FIRST + 1)
#define IDT_INTERRUPT_GATE 0x8e /* present, ring 0, 64-bit interrupt gate */

static struct idt_entry idt[256];
static struct {
    irq_handler_fn fn;
    void *arg;
} handlers[256];

static void idt_set(unsigned vector, uint64_t stub, unsigned ist)
{
    struct idt_entry *e = &idt[vector];
    e->offset_low = stub & 0xffff;
    e->selector = GDT_KERNEL_CS;
    e->ist = ist;
    e->type_attr = IDT_INTERRUPT_GATE;
    e->offset_mid = (stub >> 16) & 0xffff;
    e->offset_high = stub >> 32;
    e->zero = 0;
}

void idt_init(void)
{
    for (unsigned v = 0; v < ISR_STUBS_LOW; v++)
        idt_set(v, (uint64_t)isr_stubs_low + ISR_STUB_BYTES * v, 0);
    for (unsigned v = 0; v < ISR_STUBS_HIGH; v++)
        idt_set(ISR_HIGH_FIRST + v, (uint64_t)isr_stubs_high + ISR_STUB_BYTES * v, 0);
    idt[VECTOR_NMI].ist = IST_NMI;
    idt[VECTOR_DOUBLE_FAULT].ist = IST_DOUBLE_FAULT;
    idt[VECTOR_PAGE_FAULT].ist = IST_PAGE_FAULT;
    idt[VECTOR_MACHINE_CHECK].ist = IST_MACHINE_CHECK;
    idt_load();
}

void idt_load(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } desc = {sizeof(idt) - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" : : "m"(desc));
}

void irq_set_vector_handler(unsigned vector, irq_handler_fn fn, void *arg)
{
    handlers[vector & 0xff].fn = fn;
    handlers[vector & 0xff].arg = arg;
}

int irq_route(unsigned gsi, bool level_triggered, unsigned cpu, irq_handler_fn fn, void *arg)
{
    if (gsi >= IRQ_MAX_GSI)
        return -EINVAL;
    unsigned vector = IRQ_VECTOR_BASE + gsi;
    if (handlers[vector].fn)
        return -EBUSY;
    irq_set_vector_handler(vector, fn, arg);
    int rc = ioapic_route(gsi, vector, level_triggered, irq_cpu_apic(cpu));
    if (rc < 0)
        irq_set_vector_handler(vector, NULL, NULL);
    return rc;
}

void irq_unroute(unsigned gsi)
{
    ioapic_mask(gsi);
    irq_set_vector_handler(IRQ_VECTOR_BASE + gsi, NULL, NULL);
}

/* Device vectors are shared: IOAPIC pin g has IRQ_VECTOR_BASE + g, and
 * message-signalled interrupts take the free ones no pin has, from the top. */
int irq_msi_alloc(unsigned dest_apic, irq_handler_fn fn, void *arg, struct msi_message *msg)
{
    if (dest_apic > MSI_MAX_APIC_ID)
        return -EINVAL;
    for (unsigned v = ISR_LOW_LAST; v >= IRQ_VECTOR_BASE; v--) {
        if (handlers[v].fn || ioapic_has_gsi(v - IRQ_VECTOR_BASE))
            continue;
        irq_set_vector_handler(v, fn, arg);
        msg->address = MSI_ADDRESS_BASE | (uint64_t)dest_apic << 12;
        msg->data = v; /* fixed delivery, edge-triggered */
        return (int)v;
    }
    return -EBUSY;
}

void irq_msi_free(unsigned vector)
{
    irq_set_vector_handler(vector, NULL, NULL);
}

/* Names of exceptions 0-21, NUL-separated (one string, not a table of
 * pointers: 192 B less image); vectors past the list are "exception". */
static const char exception_names[] = "divide error\0"
                                      "debug\0"
                                      "NMI\0"
                                      "breakpoint\0"
                                      "overflow\0"
                                      "bound range exceeded\0"
                                      "invalid opcode\0"
                                      "device not available\0"
                                      "double fault\0"
                                      "coprocessor segment overrun\0"
                                      "invalid TSS\0"
                                      "segment not present\0"
                                      "stack-segment fault\0"
                                      "general protection fault\0"
                                      "page fault\0"
                                      "reserved\0"
                                      "x87 floating-point error\0"
                                      "alignment check\0"
                                      "machine check\0"
                                      "SIMD floating-point error\0"
                                      "virtualization exception\0"
                                      "control protection exception\0";

static const char *exception_name(uint64_t vector)
{
    const char *s = exception_names;
    for (; *s && vector; vector--)
        s += __builtin_strlen(s) + 1;
    return *s ? s : "exception";
}

void trap_dispatch(struct trap_frame *f)
{
    if (f->vector < VECTOR_EXCEPTIONS) {
        if (f->vector == VECTOR_NMI && smp_stopped())
            smp_halt(); /* another CPU panicked: its report is the only output */
        trap_crash(f, exception_name(f->vector));
    }
    if (f->vector == VECTOR_SPURIOUS)
        return; /* no EOI for the spurious vector */
    if (handlers[f->vector].fn)
        handlers[f->vector].fn(handlers[f->vector].arg);
    lapic_eoi();
}

static int crashing;

_Noreturn void trap_crash(const struct trap_frame *f, const char *why)
{
    if (__atomic_exchange_n(&crashing, 1, __ATOMIC_SEQ_CST))
        arch_poweroff(MIURA_EXIT_CRASH); /* a fault inside the report: stop now */
    smp_stop_others();
    printf("\n*** CRASH: %s (vector %llu, error code %#llx)\n", why, (unsigned long long)f->vector,
           (unsigned long long)f->error);
    if (f->vector == VECTOR_PAGE_FAULT) {
        uint64_t cr2 = read_cr2();
        printf("    faulting address (CR2) %#018llx: %s %s%s\n", (unsigned long long)cr2,
               (f->error & 1) ? "protection violation" : "page not present",
               (f->error & 2) ? "on write" : "on read",
               (f->error & 16) ? " (instruction fetch)" : "");
        if (!paging_is_mapped(cr2) && cr2 >= 4096)
            printf("    (an unmapped page: a guard page hit means a stack overflow)\n");
        else if (cr2 < 4096)
            printf("    (NULL pointer dereference)\n");
    } else {
        printf("    CR2 %#018llx\n", (unsigned long long)read_cr2());
    }
    printf("    RIP %#018llx\n", (unsigned long long)f->rip);
    /* The general registers, four to a line: names and frame slots from tables
     * (one format string instead of four). */
#define SLOT(r) (offsetof(struct trap_frame, r) / 8)
    static const char names[] = "RAXRBXRCXRDXRSIRDIRBPRSPR8 R9 R10R11R12R13R14R15";
    static const uint8_t slots[16] = {
        SLOT(rax), SLOT(rbx), SLOT(rcx), SLOT(rdx), SLOT(rsi), SLOT(rdi), SLOT(rbp), SLOT(rsp),
        SLOT(r8),  SLOT(r9),  SLOT(r10), SLOT(r11), SLOT(r12), SLOT(r13), SLOT(r14), SLOT(r15)};
#undef SLOT
    for (unsigned i = 0; i < 16; i++)
        printf("%s%.3s %016llx%s", i % 4 ? " " : "    ", names + 3 * i,
               (unsigned long long)((const uint64_t *)f)[slots[i]], i % 4 == 3 ? "\n" : "");
    printf("    RFLAGS %016llx CS %04llx SS %04llx\n", (unsigned long long)f->rflags,
           (unsigned long long)f->cs, (unsigned long long)f->ss);
    /* A leaf function may not have set up a frame (gcc omits it in some leaf
     * functions whatever the flags): then its return address is at RSP. */
    extern char __image_start[], __text_end[];
    if (paging_is_mapped(f->rsp) && !(f->rsp & 7)) {
        uint64_t ret = *(const uint64_t *)f->rsp;
        if (ret > (uint64_t)__image_start + 5 && ret < (uint64_t)__text_end &&
            *(const uint8_t *)(ret - 5) == 0xe8) { /* preceded by a call rel32 */
            printf("    called from %#018llx\n", (unsigned long long)ret);
        }
    }
    backtrace_print(f->rbp, f->rip);
    printf("*** powering off (status %d)\n", MIURA_EXIT_CRASH);
    arch_poweroff(MIURA_EXIT_CRASH);
}

/* FNV-1a over the image's code: the host's symboliser (miura symbolize,
 * host/common/symbolize.h) checks with it that it names the addresses from the
 * ELF this guest was built from. */
static uint32_t text_hash(void)
{
    extern char __image_start[], __text_stop[];
    uint32_t h = 2166136261u;
    for (uintptr_t p = (uintptr_t)__image_start; p < (uintptr_t)__text_stop; p++)
        h = (h ^ *(const uint8_t *)p) * 16777619u;
    return h;
}

/* Walks the saved-RBP chain. Each frame is checked (aligned, mapped, growing
 * upwards) before it is read, so a corrupt stack ends the walk, not the report.
 * Addresses only: the host names them (docs/debugging.md). */
void backtrace_print(uint64_t rbp, uint64_t rip)
{
    printf("    backtrace (image %08x):\n      #0 %#018llx\n", text_hash(),
           (unsigned long long)rip);
    for (int depth = 1; depth < 32; depth++) {
        if (rbp == 0 || (rbp & 7) || !paging_is_mapped(rbp) || !paging_is_mapped(rbp + 8))
            break;
        const uint64_t *frame = (const uint64_t *)rbp;
        uint64_t ret = frame[1];
        if (ret == 0)
            break;
        printf("      #%d %#018llx\n", depth, (unsigned long long)ret);
        if (frame[0] <= rbp)
            break;
        rbp = frame[0];
    }
}
