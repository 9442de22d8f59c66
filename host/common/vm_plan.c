/* SPDX-License-Identifier: BSD-2-Clause */
/* The command lines of an instance; see vm_plan.h. */
#include "common/vm_plan.h"

#include "common/pvh_image.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_ARG_MAX 8192

/* Appends one formatted argument; records failure in a->argc = -1. */
static void add(struct argv_list *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct argv_list *a, const char *fmt, ...)
{
    char buf[PLAN_ARG_MAX];
    va_list ap;
    int n;
    if (a->argc < 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf) || a->argc >= PLAN_ARGV_MAX) {
        plan_free(a);
        a->argc = -1;
        return;
    }
    a->argv[a->argc] = strdup(buf);
    if (!a->argv[a->argc]) {
        plan_free(a);
        a->argc = -1;
        return;
    }
    a->argc++;
    a->argv[a->argc] = NULL;
}

void plan_free(struct argv_list *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    a->argc = 0;
    a->argv[0] = NULL;
}

int plan_path(const struct launch_config *c, const char *file, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s", c->run_dir, file);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int plan_kernel_cmdline(const struct launch_config *c, char *out, size_t len)
{
    size_t o = 0;
    int n;
    if (len == 0)
        return -1;
    out[0] = '\0';
    if (c->share_dir) {
        n = snprintf(out, len, "fs=share");
        if (n < 0 || (size_t)n >= len)
            return -1;
        o = (size_t)n;
        for (unsigned i = 0; i < c->nextra; i++) {
            const char *p = c->extra[i].guest_path;
            bool blank = strpbrk(p, " \t\r\n") != NULL;
            if (strchr(p, '"'))
                return -1;
            n = snprintf(out + o, len - o, blank ? " \"fs.%s=%s\"" : " fs.%s=%s", c->extra[i].tag,
                         p);
            if (n < 0 || (size_t)n >= len - o)
                return -1;
            o += (size_t)n;
        }
    }
    n = snprintf(out + o, len - o, "%s%s", o && c->append[0] ? " " : "", c->append);
    return n < 0 || (size_t)n >= len - o ? -1 : 0;
}

/* virtiofsd for dir on socket sock (NULL: on the listener PLAN_FS_FD); 0, or -1 with *err set. */
static int virtiofsd_line(const struct launch_config *c, const char *dir, const char *sock,
                          struct argv_list *a, const char **err)
{
    add(a, "%s", c->virtiofsd_path);
    if (!sock)
        add(a, "--fd=%d", PLAN_FS_FD);
    else
        add(a, "--socket-path=%s", sock);
    add(a, "-o");
    /* virtiofsd's -o is a comma-separated list with no escape we can rely on. */
    if (strchr(dir, ',') || (sock && strchr(sock, ','))) {
        *err = "virtiofsd cannot take a path with a comma";
        return -1;
    }
    add(a, "source=%s", dir);
    add(a, "-o");
    add(a, "cache=auto");
    /* Its default, said so that no option here ever weakens it: mount, pid and
     * network namespaces with the shared directory as the root (pivot_root),
     * and its own seccomp filter (docs/security.md). */
    add(a, "-o");
    add(a, "sandbox=namespace");
    return 0;
}

int plan_extra_socket(const struct launch_config *c, unsigned i, char *out, size_t len)
{
    char file[PLAN_TAG_MAX + 16];
    snprintf(file, sizeof(file), "fs-%s.sock", c->extra[i].tag);
    return plan_path(c, file, out, len);
}

int plan_build_extra(const struct launch_config *c, unsigned i, struct argv_list *virtiofsd,
                     const char **err)
{
    char sock[PLAN_ARG_MAX];
    memset(virtiofsd, 0, sizeof(*virtiofsd));
    if (i >= c->nextra || plan_extra_socket(c, i, sock, sizeof(sock))) {
        *err = "a path is too long";
        return -1;
    }
    if (virtiofsd_line(c, c->extra[i].dir, sock, virtiofsd, err) < 0 || virtiofsd->argc < 0) {
        if (virtiofsd->argc < 0)
            *err = "a command line is too long";
        if (virtiofsd->argc > 0)
            plan_free(virtiofsd);
        virtiofsd->argc = 0;
        return -1;
    }
    return 0;
}

int plan_build(const struct launch_config *c, struct argv_list *virtiofsd, struct argv_list *vsockd,
               struct argv_list *qemu, const char **err)
{
    char fs_sock[PLAN_ARG_MAX], vhost_sock[PLAN_ARG_MAX], uds[PLAN_ARG_MAX], ctl[PLAN_ARG_MAX];
    char esc[PLAN_ARG_MAX], cmdline[PLAN_ARG_MAX];
    memset(virtiofsd, 0, sizeof(*virtiofsd));
    memset(vsockd, 0, sizeof(*vsockd));
    memset(qemu, 0, sizeof(*qemu));
    if (plan_path(c, "fs.sock", fs_sock, sizeof(fs_sock)) ||
        plan_path(c, "vhost.sock", vhost_sock, sizeof(vhost_sock)) ||
        plan_path(c, "vsock.sock", uds, sizeof(uds)) ||
        plan_path(c, PLAN_VSOCKD_CONTROL, ctl, sizeof(ctl)) ||
        plan_kernel_cmdline(c, cmdline, sizeof(cmdline))) {
        *err = "a path or the kernel command line is too long (or a guest path has a '\"')";
        return -1;
    }

    if (c->share_dir &&
        virtiofsd_line(c, c->share_dir, c->socket_fds ? NULL : fs_sock, virtiofsd, err) < 0)
        goto fail;

    add(vsockd, "%s", c->vsockd_path);
    add(vsockd, "--socket");
    add(vsockd, "%s", vhost_sock);
    if (c->socket_fds) {
        add(vsockd, "--socket-fd");
        add(vsockd, "%u", PLAN_PUBLISH_FD + c->npublish);
    }
    add(vsockd, "--cid");
    add(vsockd, "%u", c->cid);
    add(vsockd, "--uds");
    add(vsockd, "%s", uds);
    add(vsockd, "--control"); /* miura stats, miura ps -v */
    add(vsockd, "%s", ctl);
    if (c->unconfined) {
        add(vsockd, "--unconfined");
    } else if (c->own_id) {
        add(vsockd, "--user");
        add(vsockd, "%u:%u", c->uid, c->gid);
    }
    if (c->preopen && c->npublish) {
        add(vsockd, "--preopen");
        add(vsockd, "%u", c->preopen);
    }
    for (unsigned i = 0; i < c->npublish; i++) {
        if (c->publish_fds) {
            add(vsockd, "--publish-fd");
            add(vsockd, "%u:%u", PLAN_PUBLISH_FD + i, c->publish[i].guest_port);
        } else {
            add(vsockd, "--publish");
            add(vsockd, "%s:%u:%u", c->publish[i].addr, c->publish[i].host_port,
                c->publish[i].guest_port);
        }
    }

    bool kvm = c->accel == ACCEL_KVM, pci = c->machine != MACHINE_MICROVM;
    const char *bus = pci ? "pci" : "device"; /* vhost-user-*-pci or -device (mmio) */
    add(qemu, "%s", c->qemu_path);
    add(qemu, "-M");
    if (pci)
        add(qemu, "%s,memory-backend=mem", machine_name(c->machine));
    else
        add(qemu, "microvm,acpi=off,memory-backend=mem");
    add(qemu, "-accel");
    /* TCG runs several vCPUs in one host thread unless told otherwise */
    add(qemu, "%s", kvm ? "kvm" : c->cpus > 1 ? "tcg,thread=multi" : "tcg");
    add(qemu, "-cpu");
    add(qemu, "%s", kvm ? "host,-arch-capabilities" : "max");
    add(qemu, "-m");
    add(qemu, "%uM", c->mem_mib);
    add(qemu, "-smp");
    add(qemu, "%u", c->cpus);
    if (!pci) {
        add(qemu, "-global");
        add(qemu, "virtio-mmio.force-legacy=false");
    }
    add(qemu, "-object");
    add(qemu, "memory-backend-memfd,id=mem,size=%uM,share=on", c->mem_mib);
    add(qemu, "-nodefaults");
    add(qemu, "-no-user-config");
    add(qemu, "-display");
    add(qemu, "none");
    add(qemu, "-no-reboot");
    add(qemu, "-name");
    /* thread names: "CPU n/TCG" (or /KVM) tells the guest's CPU time apart */
    add(qemu, "%s,debug-threads=on", c->name);
    if (!c->unconfined) {
        add(qemu, "-sandbox");
        add(qemu, PLAN_QEMU_SANDBOX);
    }
    /* One console, two ways in: the UART (boot, crash reports) and a
     * virtio-console the guest takes over once it is up (a write per line,
     * not a VM exit per byte; docs/kernel.md). mux=on lets both front ends
     * share the one back end; input goes nowhere (the guest reads none). */
    add(qemu, "-chardev");
    if (c->console_file) {
        if (qemu_escape(c->console_file, esc, sizeof(esc)) < 0) {
            *err = "the console path is too long";
            goto fail;
        }
        add(qemu, "file,id=con0,mux=on,path=%s", esc);
    } else {
        add(qemu, "stdio,id=con0,mux=on");
    }
    add(qemu, "-serial");
    add(qemu, "chardev:con0");
    add(qemu, "-device");
    add(qemu, "virtio-serial-%s,max_ports=1", bus);
    add(qemu, "-device");
    add(qemu, "virtconsole,chardev=con0");
    add(qemu, "-device");
    add(qemu, "isa-debug-exit,iobase=0xf4,iosize=4");
    if (c->share_dir) {
        qemu_escape(fs_sock, esc, sizeof(esc));
        add(qemu, "-chardev");
        if (c->own_id)
            add(qemu, "socket,id=fs0,fd=%d", PLAN_QEMU_FD_FS);
        else
            add(qemu, "socket,id=fs0,path=%s", esc);
        add(qemu, "-device");
        add(qemu, "vhost-user-fs-%s,chardev=fs0,tag=share", bus);
        for (unsigned i = 0; i < c->nextra; i++) {
            char sock[PLAN_ARG_MAX];
            if (plan_extra_socket(c, i, sock, sizeof(sock)) ||
                qemu_escape(sock, esc, sizeof(esc)) < 0) {
                *err = "a path is too long";
                goto fail;
            }
            add(qemu, "-chardev");
            if (c->own_id)
                add(qemu, "socket,id=fs%u,fd=%u", i + 1, PLAN_QEMU_FD_FS + 1 + i);
            else
                add(qemu, "socket,id=fs%u,path=%s", i + 1, esc);
            add(qemu, "-device");
            add(qemu, "vhost-user-fs-%s,chardev=fs%u,tag=%s", bus, i + 1, c->extra[i].tag);
        }
    }
    qemu_escape(vhost_sock, esc, sizeof(esc));
    add(qemu, "-chardev");
    if (c->own_id)
        add(qemu, "socket,id=vs0,fd=%d", PLAN_QEMU_FD_VSOCK);
    else
        add(qemu, "socket,id=vs0,path=%s", esc);
    add(qemu, "-device");
    add(qemu, "vhost-user-vsock-%s,chardev=vs0", bus);
    if (c->gdb) {
        add(qemu, "-gdb");
        add(qemu, "tcp:%s:%u", c->gdb_spec.addr, c->gdb_spec.port);
        if (c->gdb_wait)
            add(qemu, "-S");
    }
    add(qemu, "-kernel");
    if (c->own_id)
        add(qemu, "/proc/self/fd/%d", PLAN_QEMU_FD_KERNEL);
    else
        add(qemu, "%s", c->image);
    add(qemu, "-append");
    add(qemu, "%s", cmdline);

    if (virtiofsd->argc < 0 || vsockd->argc < 0 || qemu->argc < 0) {
        *err = "a command line is too long";
        goto fail;
    }
    return 0;
fail:
    if (virtiofsd->argc > 0)
        plan_free(virtiofsd);
    if (vsockd->argc > 0)
        plan_free(vsockd);
    if (qemu->argc > 0)
        plan_free(qemu);
    virtiofsd->argc = vsockd->argc = qemu->argc = 0;
    return -1;
}

const char *plan_missing_transport(uint32_t transports, enum machine m)
{
    uint32_t need = m == MACHINE_MICROVM ? PVH_TRANSPORT_MMIO : PVH_TRANSPORT_PCI;
    if (transports == 0 || (transports & need))
        return NULL;
    return need == PVH_TRANSPORT_PCI ? "virtio-pci" : "virtio-mmio";
}

int plan_format(const struct argv_list *a, char *out, size_t len)
{
    size_t n = 0;
    for (int i = 0; i < a->argc; i++) {
        if (i > 0) {
            if (n + 2 > len)
                return -1;
            out[n++] = ' ';
        }
        int q = shell_quote(a->argv[i], out + n, len - n);
        if (q < 0)
            return -1;
        n += (size_t)q;
    }
    if (n + 1 > len)
        return -1;
    out[n] = '\0';
    return 0;
}
