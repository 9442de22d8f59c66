/* SPDX-License-Identifier: BSD-2-Clause */
/* The command lines of an instance; see vm_plan.h. */
#include "common/vm_plan.h"

#include <stdarg.h>
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
    const char *fs = c->share_dir ? "fs=share" : "";
    const char *sep = c->share_dir && c->append[0] ? " " : "";
    int n = snprintf(out, len, "%s%s%s", fs, sep, c->append);
    return n < 0 || (size_t)n >= len ? -1 : 0;
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
        *err = "a path or the kernel command line is too long";
        return -1;
    }

    if (c->share_dir) {
        add(virtiofsd, "%s", c->virtiofsd_path);
        add(virtiofsd, "--socket-path=%s", fs_sock);
        add(virtiofsd, "-o");
        /* virtiofsd's -o is a comma-separated list with no escape we can rely on. */
        if (strchr(c->share_dir, ',') || strchr(fs_sock, ',')) {
            *err = "virtiofsd cannot take a path with a comma";
            goto fail;
        }
        add(virtiofsd, "source=%s", c->share_dir);
        add(virtiofsd, "-o");
        add(virtiofsd, "cache=auto");
    }

    add(vsockd, "%s", c->vsockd_path);
    add(vsockd, "--socket");
    add(vsockd, "%s", vhost_sock);
    add(vsockd, "--cid");
    add(vsockd, "%u", c->cid);
    add(vsockd, "--uds");
    add(vsockd, "%s", uds);
    add(vsockd, "--control"); /* miura stats, miura ps -v */
    add(vsockd, "%s", ctl);
    for (unsigned i = 0; i < c->npublish; i++) {
        add(vsockd, "--publish");
        add(vsockd, "%s:%u:%u", c->publish[i].addr, c->publish[i].host_port,
            c->publish[i].guest_port);
    }

    bool kvm = c->accel == ACCEL_KVM;
    add(qemu, "%s", c->qemu_path);
    add(qemu, "-M");
    add(qemu, "microvm,acpi=off,memory-backend=mem");
    add(qemu, "-accel");
    add(qemu, "%s", kvm ? "kvm" : "tcg");
    add(qemu, "-cpu");
    add(qemu, "%s", kvm ? "host,-arch-capabilities" : "max");
    add(qemu, "-m");
    add(qemu, "%uM", c->mem_mib);
    add(qemu, "-smp");
    add(qemu, "%u", c->cpus);
    add(qemu, "-global");
    add(qemu, "virtio-mmio.force-legacy=false");
    add(qemu, "-object");
    add(qemu, "memory-backend-memfd,id=mem,size=%uM,share=on", c->mem_mib);
    add(qemu, "-nodefaults");
    add(qemu, "-no-user-config");
    add(qemu, "-display");
    add(qemu, "none");
    add(qemu, "-no-reboot");
    add(qemu, "-name");
    add(qemu, "%s", c->name);
    add(qemu, "-serial");
    if (c->console_file) {
        if (qemu_escape(c->console_file, esc, sizeof(esc)) < 0) {
            *err = "the console path is too long";
            goto fail;
        }
        add(qemu, "file:%s", esc);
    } else {
        add(qemu, "stdio");
    }
    add(qemu, "-device");
    add(qemu, "isa-debug-exit,iobase=0xf4,iosize=4");
    if (c->share_dir) {
        qemu_escape(fs_sock, esc, sizeof(esc));
        add(qemu, "-chardev");
        add(qemu, "socket,id=fs0,path=%s", esc);
        add(qemu, "-device");
        add(qemu, "vhost-user-fs-device,chardev=fs0,tag=share");
    }
    qemu_escape(vhost_sock, esc, sizeof(esc));
    add(qemu, "-chardev");
    add(qemu, "socket,id=vs0,path=%s", esc);
    add(qemu, "-device");
    add(qemu, "vhost-user-vsock-device,chardev=vs0");
    add(qemu, "-kernel");
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
