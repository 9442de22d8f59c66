/* SPDX-License-Identifier: BSD-2-Clause */
/* The launcher's option parsers, exit decoding, quoting and command lines. */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "common/vm_args.h"
#include "common/pvh_image.h"
#include "common/vm_plan.h"
#include "launcher/listeners.h"
#include "launcher/stats.h"
#include "test.h"

/* Wait statuses as waitpid reports them (Linux layout). */
#define EXITED(code)  ((code) << 8)
#define SIGNALED(sig) (sig)

TEST(mem_sizes)
{
    uint32_t m;
    CHECK(parse_mem_mib("128M", &m) == 0);
    CHECK_EQ(m, 128);
    CHECK(parse_mem_mib("1G", &m) == 0);
    CHECK_EQ(m, 1024);
    CHECK(parse_mem_mib("2g", &m) == 0);
    CHECK_EQ(m, 2048);
    CHECK(parse_mem_mib("256", &m) == 0); /* bare: MiB, like qemu -m */
    CHECK_EQ(m, 256);
    CHECK(parse_mem_mib("131072K", &m) == 0);
    CHECK_EQ(m, 128);
    CHECK(parse_mem_mib("64MiB", &m) == 0);
    CHECK_EQ(m, 64);
    CHECK(parse_mem_mib("16MB", &m) == 0);
    CHECK_EQ(m, 16);
    CHECK(parse_mem_mib("1024G", &m) == 0);
    CHECK_EQ(m, 1024 * 1024);
}

TEST(mem_sizes_rejected)
{
    static const char *const bad[] = {
        "",
        "M",
        "0",
        "1M",
        "1025G",
        "1.5G",
        "12T",
        "-1",
        "+128M",
        " 1G",
        "1G ",
        "128MiBs",
        "100K",
        "128MM",
        "0x10M",
        "1GiB2",
        "128B",
        "iB",
        "1048577",
        "99999999999999999999999G",
        "4294967296M",
    };
    uint32_t m;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_mem_mib(bad[i], &m) == 0) {
            test_fail(__FILE__, __LINE__, "accepted '%s' as %u MiB", bad[i], m);
            return;
        }
    }
}

TEST(cids_and_cpus)
{
    uint32_t v;
    CHECK(parse_cid("3", &v) == 0);
    CHECK_EQ(v, 3);
    CHECK(parse_cid("4294967294", &v) == 0);
    CHECK_EQ(v, 4294967294u);
    CHECK(parse_cid("2", &v) < 0); /* the host */
    CHECK(parse_cid("0", &v) < 0);
    CHECK(parse_cid("4294967295", &v) < 0); /* VMADDR_CID_ANY */
    CHECK(parse_cid("99999999999999999999", &v) < 0);
    CHECK(parse_cid("3x", &v) < 0);
    CHECK(parse_cid("", &v) < 0);
    CHECK(parse_cpus("1", &v) == 0);
    CHECK_EQ(v, 1);
    CHECK(parse_cpus("64", &v) == 0);
    CHECK(parse_cpus("0", &v) < 0);
    CHECK(parse_cpus("65", &v) < 0);
    CHECK(parse_preopen("0", &v) == 0);
    CHECK_EQ(v, 0);
    CHECK(parse_preopen("64", &v) == 0);
    CHECK_EQ(v, 64);
    CHECK(parse_preopen("65", &v) < 0);
    CHECK(parse_preopen("-1", &v) < 0);
    CHECK(parse_preopen("4x", &v) < 0);
    CHECK(parse_preopen("", &v) < 0);
    CHECK(parse_uint("0", 0, 3600, &v) == 0);
    CHECK_EQ(v, 0);
    CHECK(parse_uint("3601", 0, 3600, &v) < 0);
}

TEST(names)
{
    char out[80];
    CHECK(name_is_valid("web-1"));
    CHECK(name_is_valid("a.b_c"));
    CHECK(!name_is_valid(""));
    CHECK(!name_is_valid("-x"));
    CHECK(!name_is_valid(".hidden"));
    CHECK(!name_is_valid(".."));
    CHECK(!name_is_valid("a/b"));
    CHECK(!name_is_valid("a,b"));
    CHECK(!name_is_valid("a b"));
    CHECK(!name_is_valid("cid-3.lock"));
    CHECK(name_is_valid("x.locks"));
    CHECK(!name_is_valid("x12345678901234567890123456789012345678901234567890123456789012345"));
    CHECK(default_name("build/apps/hello/hello.elf", 3, out, sizeof(out)) == 0);
    CHECK_STR(out, "hello-3");
    CHECK(default_name("/x/my app,v2", 17, out, sizeof(out)) == 0);
    CHECK_STR(out, "my_app_v2-17");
    CHECK(name_is_valid(out));
    CHECK(default_name(".elf", 3, out, sizeof(out)) == 0);
    CHECK(name_is_valid(out));
    CHECK(default_name("dir/", 3, out, sizeof(out)) == 0);
    CHECK_STR(out, "miura-3");
    CHECK(default_name("_x", 3, out, sizeof(out)) == 0);
    CHECK(name_is_valid(out));
    char longimg[200];
    memset(longimg, 'a', sizeof(longimg) - 1);
    longimg[sizeof(longimg) - 1] = '\0';
    CHECK(default_name(longimg, 4294967294u, out, sizeof(out)) == 0);
    CHECK(name_is_valid(out));
    CHECK(default_name("hello", 3, out, 5) < 0);
}

TEST(accel_auto_choice)
{
    const char *why;
    CHECK_EQ(accel_auto(true, true, false, &why), ACCEL_KVM);
    CHECK_EQ(accel_auto(false, true, false, &why), ACCEL_TCG);
    CHECK(strstr(why, "not usable") != NULL);
    CHECK_EQ(accel_auto(true, false, false, &why), ACCEL_TCG);
    CHECK(strstr(why, "vmx/svm") != NULL);
    CHECK_EQ(accel_auto(true, true, true, &why), ACCEL_TCG);
    CHECK(strstr(why, "kvm_pvm") != NULL);
    enum accel a;
    CHECK(parse_accel("auto", &a) == 0 && a == ACCEL_AUTO);
    CHECK(parse_accel("kvm", &a) == 0 && a == ACCEL_KVM);
    CHECK(parse_accel("tcg", &a) == 0 && a == ACCEL_TCG);
    CHECK(parse_accel("KVM", &a) < 0);
}

TEST(qemu_exit_decoding)
{
    int code;
    CHECK_EQ(decode_qemu_exit(EXITED(1), false, 0, &code), QEMU_END_GUEST);
    CHECK_EQ(code, 0);
    CHECK_EQ(decode_qemu_exit(EXITED(201), false, 0, &code), QEMU_END_GUEST);
    CHECK_EQ(code, 100); /* the crash status */
    CHECK_EQ(decode_qemu_exit(EXITED(15), true, 0, &code), QEMU_END_GUEST);
    CHECK_EQ(code, 7);
    CHECK_EQ(decode_qemu_exit(EXITED(1), true, 0, &code), QEMU_END_ERROR);
    CHECK_EQ(code, 1);
    CHECK_EQ(decode_qemu_exit(EXITED(2), false, 0, &code), QEMU_END_ERROR);
    CHECK_EQ(decode_qemu_exit(EXITED(0), false, 0, &code), QEMU_END_RESET);
    CHECK_EQ(decode_qemu_exit(EXITED(0), false, 15, &code), QEMU_END_SIGNAL);
    CHECK_EQ(code, 143);
    CHECK_EQ(decode_qemu_exit(SIGNALED(SIGKILL), false, 0, &code), QEMU_END_SIGNAL);
    CHECK_EQ(code, 137);
}

TEST(quoting)
{
    char out[64];
    CHECK_EQ(shell_quote("plain-arg_1,x=y:/z@%+.", out, sizeof(out)), 22);
    CHECK_STR(out, "plain-arg_1,x=y:/z@%+.");
    CHECK(shell_quote("a b", out, sizeof(out)) > 0);
    CHECK_STR(out, "'a b'");
    CHECK(shell_quote("", out, sizeof(out)) > 0);
    CHECK_STR(out, "''");
    CHECK(shell_quote("it's", out, sizeof(out)) > 0);
    CHECK_STR(out, "'it'\\''s'");
    CHECK(shell_quote("$HOME;`x`", out, sizeof(out)) > 0);
    CHECK_STR(out, "'$HOME;`x`'");
    CHECK(shell_quote("abcdef", out, 6) < 0);
    CHECK(shell_quote("a b", out, 5) < 0);
    CHECK(qemu_escape("/a,b,,c", out, sizeof(out)) == 10);
    CHECK_STR(out, "/a,,b,,,,c");
    CHECK(qemu_escape("a,b", out, 4) < 0);
}

static struct launch_config base_config(void)
{
    struct launch_config c = {
        .image = "/img/hello.elf",
        .append = "",
        .name = "hello-3",
        .run_dir = "/run/miura/hello-3",
        .qemu_path = "/usr/bin/qemu-system-x86_64",
        .virtiofsd_path = "/usr/lib/qemu/virtiofsd",
        .vsockd_path = "/bin/miura-vsockd",
        .accel = ACCEL_TCG,
        .mem_mib = 128,
        .cpus = 1,
        .cid = 3,
    };
    return c;
}

static int formatted(const struct argv_list *a, char *out, size_t len)
{
    return plan_format(a, out, len);
}

TEST(plan_minimal)
{
    struct launch_config c = base_config();
    struct argv_list v, s, q;
    const char *err;
    char line[4096];
    CHECK(plan_build(&c, &v, &s, &q, &err) == 0);
    CHECK_EQ(v.argc, 0);
    CHECK(formatted(&s, line, sizeof(line)) == 0);
    CHECK_STR(line, "/bin/miura-vsockd --socket /run/miura/hello-3/vhost.sock --cid 3 --uds "
                    "/run/miura/hello-3/vsock.sock --control /run/miura/hello-3/vsockd.ctl");
    CHECK(formatted(&q, line, sizeof(line)) == 0);
    CHECK_STR(line, "/usr/bin/qemu-system-x86_64 -M microvm,acpi=off,memory-backend=mem -accel tcg "
                    "-cpu max -m 128M -smp 1 -global virtio-mmio.force-legacy=false -object "
                    "memory-backend-memfd,id=mem,size=128M,share=on -nodefaults -no-user-config "
                    "-display none -no-reboot -name hello-3,debug-threads=on -sandbox "
                    "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny "
                    "-chardev stdio,id=con0,mux=on -serial chardev:con0 -device "
                    "virtio-serial-device,max_ports=1 -device virtconsole,chardev=con0 -device "
                    "isa-debug-exit,iobase=0xf4,iosize=4 -chardev "
                    "socket,id=vs0,path=/run/miura/hello-3/vhost.sock -device "
                    "vhost-user-vsock-device,chardev=vs0 -kernel /img/hello.elf -append ''");
    CHECK(q.argv[q.argc] == NULL);
    plan_free(&s);
    plan_free(&q);
}

TEST(plan_full)
{
    struct launch_config c = base_config();
    struct argv_list v, s, q;
    const char *err;
    char line[4096];
    c.share_dir = "/srv/www";
    c.append = "crash=divide x=1";
    c.accel = ACCEL_KVM;
    c.mem_mib = 1024;
    c.cpus = 2;
    c.cid = 42;
    c.run_dir = "/r,x";
    c.console_file = "/r,x/console.log";
    c.publish_fds = true;
    c.socket_fds = true;
    c.gdb = true;
    c.gdb_wait = true;
    parse_gdb("127.0.0.2:1234", &c.gdb_spec);
    c.npublish = 2;
    publish_parse("8080:80", &c.publish[0]);
    publish_parse("0.0.0.0:2222:22", &c.publish[1]);
    c.share_dir = "/srv/w,ww";
    CHECK(plan_build(&c, &v, &s, &q, &err) < 0); /* a comma cannot reach virtiofsd's -o */
    c.share_dir = "/srv/www";
    c.socket_fds = false;
    CHECK(plan_build(&c, &v, &s, &q, &err) < 0); /* nor its --socket-path */
    c.socket_fds = true;                         /* which --fd leaves out */
    CHECK(plan_build(&c, &v, &s, &q, &err) == 0);
    plan_free(&v);
    plan_free(&s);
    plan_free(&q);
    c.run_dir = "/r";
    CHECK(plan_build(&c, &v, &s, &q, &err) == 0);
    CHECK(formatted(&v, line, sizeof(line)) == 0);
    CHECK_STR(line, "/usr/lib/qemu/virtiofsd --fd=3 -o source=/srv/www -o "
                    "cache=auto -o sandbox=namespace");
    CHECK(formatted(&s, line, sizeof(line)) == 0);
    CHECK_STR(line, "/bin/miura-vsockd --socket /r/vhost.sock --socket-fd 5 --cid 42 --uds "
                    "/r/vsock.sock --control /r/vsockd.ctl --publish-fd 3:80 --publish-fd 4:22");
    CHECK(formatted(&q, line, sizeof(line)) == 0);
    CHECK(strstr(line, " -accel kvm -cpu host,-arch-capabilities -m 1024M -smp 2 ") != NULL);
    CHECK(strstr(line, " size=1024M,share=on ") == NULL); /* it is one word with the backend */
    CHECK(strstr(line, "memory-backend-memfd,id=mem,size=1024M,share=on") != NULL);
    CHECK(strstr(line,
                 " -chardev file,id=con0,mux=on,path=/r,,x/console.log -serial chardev:con0 ") !=
          NULL);
    CHECK(strstr(line, " -gdb tcp:127.0.0.2:1234 -S -kernel ") != NULL);
    CHECK(strstr(line, " -chardev socket,id=fs0,path=/r/fs.sock -device "
                       "vhost-user-fs-device,chardev=fs0,tag=share ") != NULL);
    CHECK(strstr(line, " -append 'fs=share crash=divide x=1'") != NULL);
    plan_free(&v);
    plan_free(&s);
    plan_free(&q);
    /* --preopen N reaches miura-vsockd (before the ports it applies to). */
    c.preopen = 8;
    CHECK(plan_build(&c, &v, &s, &q, &err) == 0);
    CHECK(formatted(&s, line, sizeof(line)) == 0);
    CHECK(
        strstr(line, " --control /r/vsockd.ctl --preopen 8 --publish-fd 3:80 --publish-fd 4:22") !=
        NULL);
    plan_free(&v);
    plan_free(&s);
    plan_free(&q);
    c.preopen = 0;
    /* Without publish_fds (miura-oci) miura-vsockd listens itself. */
    c.publish_fds = false;
    CHECK(plan_build(&c, &v, &s, &q, &err) == 0);
    CHECK(formatted(&s, line, sizeof(line)) == 0);
    CHECK(strstr(line, " --publish 127.0.0.1:8080:80 --publish 0.0.0.0:2222:22") != NULL);
    plan_free(&v);
    plan_free(&s);
    plan_free(&q);
}

/* docs/security.md: the identity reaches miura-vsockd; --unconfined drops both filters. */
TEST(plan_confinement)
{
    struct launch_config c = base_config();
    struct argv_list v, s, q;
    const char *err;
    char line[4096];
    c.share_dir = "/srv/www";
    c.own_id = true;
    c.uid = 1879048195;
    c.gid = 1879048196;
    CHECK(plan_build(&c, &v, &s, &q, &err) == 0);
    CHECK(formatted(&s, line, sizeof(line)) == 0);
    CHECK(strstr(line, " --user 1879048195:1879048196") != NULL);
    CHECK(strstr(line, "--unconfined") == NULL);
    CHECK(formatted(&q, line, sizeof(line)) == 0);
    CHECK(strstr(line, " -sandbox " PLAN_QEMU_SANDBOX " ") != NULL);
    CHECK(strstr(line, "-runas") == NULL); /* QEMU starts as the identity (vm_confine) */
    CHECK(formatted(&v, line, sizeof(line)) == 0);
    /* virtiofsd keeps its own sandbox: nothing here may weaken it */
    CHECK(strstr(line, " -o sandbox=namespace") != NULL);
    CHECK(strstr(line, "chroot") == NULL && strstr(line, "modcaps") == NULL);
    plan_free(&v);
    plan_free(&s);
    plan_free(&q);
    c.unconfined = true;
    CHECK(plan_build(&c, &v, &s, &q, &err) == 0);
    CHECK(formatted(&s, line, sizeof(line)) == 0);
    CHECK(strstr(line, " --unconfined") != NULL && strstr(line, "--user") == NULL);
    CHECK(formatted(&q, line, sizeof(line)) == 0);
    CHECK(strstr(line, "-sandbox") == NULL);
    plan_free(&v);
    plan_free(&s);
    plan_free(&q);
}

TEST(plan_extra_shares)
{
    struct launch_config c = base_config();
    struct argv_list v, s, q, e;
    const char *err;
    char line[4096];
    c.share_dir = "/rootfs";
    c.append = "root=/www";
    c.run_dir = "/r";
    c.nextra = 2;
    c.extra[0] = (struct plan_share){.dir = "/host/data", .guest_path = "/data", .tag = "m1"};
    c.extra[1] = (struct plan_share){.dir = "/host/b", .guest_path = "/my dir", .tag = "m2"};
    CHECK(plan_build(&c, &v, &s, &q, &err) == 0);
    CHECK(formatted(&q, line, sizeof(line)) == 0);
    CHECK(strstr(line, " -chardev socket,id=fs0,path=/r/fs.sock -device "
                       "vhost-user-fs-device,chardev=fs0,tag=share -chardev "
                       "socket,id=fs1,path=/r/fs-m1.sock -device "
                       "vhost-user-fs-device,chardev=fs1,tag=m1 -chardev "
                       "socket,id=fs2,path=/r/fs-m2.sock -device "
                       "vhost-user-fs-device,chardev=fs2,tag=m2 ") != NULL);
    CHECK(strstr(line, " -append 'fs=share fs.m1=/data \"fs.m2=/my dir\" root=/www'") != NULL);
    CHECK(plan_build_extra(&c, 1, &e, &err) == 0);
    CHECK(formatted(&e, line, sizeof(line)) == 0);
    CHECK_STR(line, "/usr/lib/qemu/virtiofsd --socket-path=/r/fs-m2.sock -o source=/host/b -o "
                    "cache=auto -o sandbox=namespace");
    plan_free(&e);
    CHECK(plan_build_extra(&c, 2, &e, &err) < 0); /* no such share */
    CHECK_EQ(e.argc, 0);
    plan_free(&v);
    plan_free(&s);
    plan_free(&q);
    c.extra[1].dir = "/a,b";
    CHECK(plan_build_extra(&c, 1, &e, &err) < 0);
    CHECK_EQ(e.argc, 0);
    c.extra[1].guest_path = "/a\"b"; /* cannot be quoted on the kernel command line */
    CHECK(plan_build(&c, &v, &s, &q, &err) < 0);
    CHECK_EQ(q.argc, 0);
}

TEST(restart_policies)
{
    struct restart_policy r;
    CHECK(parse_restart("no", &r) == 0 && r.mode == RESTART_NO);
    CHECK(parse_restart("always", &r) == 0 && r.mode == RESTART_ALWAYS && r.max == 0);
    CHECK(parse_restart("on-failure", &r) == 0 && r.mode == RESTART_ON_FAILURE && r.max == 0);
    CHECK(parse_restart("on-failure:3", &r) == 0 && r.mode == RESTART_ON_FAILURE && r.max == 3);
    CHECK(parse_restart("on-failure:1000000", &r) == 0 && r.max == 1000000);
    static const char *const bad[] = {"",
                                      "No",
                                      "on-failure:",
                                      "on-failure:0",
                                      "on-failure:-1",
                                      "on-failure:1000001",
                                      "on-failure:3x",
                                      "on-failure3",
                                      "always:2",
                                      "on-failurex",
                                      "never"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(parse_restart(bad[i], &r) < 0);
    /* What each policy restarts (failed?, restarts so far). */
    parse_restart("no", &r);
    CHECK(!restart_wanted(&r, true, 0));
    parse_restart("on-failure:2", &r);
    CHECK(restart_wanted(&r, true, 0) && restart_wanted(&r, true, 1) &&
          !restart_wanted(&r, true, 2));
    CHECK(!restart_wanted(&r, false, 0));
    parse_restart("on-failure", &r);
    CHECK(restart_wanted(&r, true, 999999) && !restart_wanted(&r, false, 0));
    parse_restart("always", &r);
    CHECK(restart_wanted(&r, false, 5) && restart_wanted(&r, true, 5));
    /* Back-off: 100 ms doubling, at most 30 s, no overflow however long the row. */
    CHECK_EQ(restart_backoff_ms(0), 100);
    CHECK_EQ(restart_backoff_ms(1), 200);
    CHECK_EQ(restart_backoff_ms(8), 25600);
    CHECK_EQ(restart_backoff_ms(9), 30000);
    CHECK_EQ(restart_backoff_ms(4000000000u), 30000);
}

TEST(gdb_specs)
{
    struct gdb_spec g;
    CHECK(parse_gdb("1234", &g) == 0 && g.port == 1234 && strcmp(g.addr, "127.0.0.1") == 0);
    CHECK(parse_gdb("127.0.0.5:65535", &g) == 0 && g.port == 65535 &&
          strcmp(g.addr, "127.0.0.5") == 0);
    static const char *const bad[] = {
        "",           "0",           "65536",         "0.0.0.0:1234",
        "10.0.0.1:1", ":1234",       "127.0.0.1:",    "localhost:1234",
        "1234:",      "127.0.0.1:x", "127.0.0.1:1:2", "-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(parse_gdb(bad[i], &g) < 0);
}

TEST(inflight_connections)
{
    /* /proc/net/tcp as the kernel writes it (ports in hex: 0x5DC1 = 24001). */
    static const char text[] =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        /* the listener itself */
        "   0: 0100007F:5DC1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
        "       0 1001 1 0000000000000000 100 0 0 10 0\n"
        /* held by a process (vsockd): counts */
        "   1: 0100007F:5DC1 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0 "
        "       0 1002 1 0000000000000000 20 4 30 10 -1\n"
        /* in the accept queue (no inode yet): counts */
        "   2: 0100007F:5DC1 0100007F:9C41 01 00000000:00000000 00:00000000 00000000     0 "
        "       0 0 1 0000000000000000 20 4 30 10 -1\n"
        /* closed by its process, the kernel finishes it (FIN_WAIT1, TIME_WAIT): no */
        "   3: 0100007F:5DC1 0100007F:9C42 04 00000000:00000000 01:00000014 00000000     0 "
        "       0 0 1 0000000000000000 20 4 30 10 -1\n"
        "   4: 0100007F:5DC1 0100007F:9C43 06 00000000:00000000 03:00000014 00000000     0 "
        "       0 0 3 0000000000000000\n"
        /* the client's end of a connection to the port (its local port differs): no */
        "   5: 0100007F:9C40 0100007F:5DC1 01 00000000:00000000 00:00000000 00000000     0 "
        "       0 1003 1 0000000000000000 20 4 30 10 -1\n"
        /* another published port, CLOSE_WAIT and still held: counts */
        "   6: 00000000:5DC2 0100007F:9C44 08 00000000:00000000 00:00000000 00000000     0 "
        "       0 1004 1 0000000000000000 20 4 30 10 -1\n"
        "garbage line\n";
    uint16_t one[] = {24001}, two[] = {24001, 24002}, none[] = {80};
    CHECK_EQ(tcp_inflight_parse(text, one, 1), 2);
    CHECK_EQ(tcp_inflight_parse(text, two, 2), 3);
    CHECK_EQ(tcp_inflight_parse(text, none, 1), 0);
    CHECK_EQ(tcp_inflight_parse("", one, 1), 0);
}

/* One SOCK_DIAG_BY_FAMILY message at *off in buf: a socket on local port
 * `port`, with TCP_INFO unless last_sent_ms is -1. */
static void diag_msg(char *buf, size_t *off, uint16_t port, uint8_t state, uint32_t inode,
                     uint32_t rq, uint32_t wq, long last_sent_ms, uint32_t last_recv_ms)
{
    struct inet_diag_msg m = {.idiag_family = AF_INET,
                              .idiag_state = state,
                              .idiag_rqueue = rq,
                              .idiag_wqueue = wq,
                              .idiag_inode = inode};
    m.id.idiag_sport = htons(port);
    struct tcp_info ti = {.tcpi_last_data_sent = (uint32_t)last_sent_ms,
                          .tcpi_last_data_recv = last_recv_ms};
    struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + sizeof(ti)), .nla_type = INET_DIAG_INFO};
    size_t len =
        NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(m)) + (last_sent_ms < 0 ? 0 : NLA_ALIGN(a.nla_len));
    struct nlmsghdr h = {.nlmsg_len = (uint32_t)len, .nlmsg_type = SOCK_DIAG_BY_FAMILY};
    memset(buf + *off, 0, NLMSG_ALIGN(len));
    memcpy(buf + *off, &h, sizeof(h));
    memcpy(buf + *off + NLMSG_HDRLEN, &m, sizeof(m));
    if (last_sent_ms >= 0) {
        memcpy(buf + *off + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(m)), &a, sizeof(a));
        memcpy(buf + *off + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(m)) + NLA_HDRLEN, &ti, sizeof(ti));
    }
    *off += NLMSG_ALIGN(len);
}

TEST(tcp_diag_tells_idle_keepalive_from_busy)
{
    static char buf[8192];
    size_t off = 0;
    const uint8_t est = 1, fin_wait1 = 4, close_wait = 8, listen = 10;
    /* counted: */
    diag_msg(buf, &off, 24001, est, 11, 0, 4096, 900, 2000);     /* response still queued */
    diag_msg(buf, &off, 24001, est, 12, 80, 0, 900, 2000);       /* a request not read yet */
    diag_msg(buf, &off, 24001, est, 13, 0, 0, 2000, 900);        /* request in, no answer yet */
    diag_msg(buf, &off, 24001, est, 14, 0, 0, 100, 300);         /* answered 100 ms ago */
    diag_msg(buf, &off, 24001, est, 0, 0, 0, 900, 2000);         /* in the accept queue */
    diag_msg(buf, &off, 24001, close_wait, 15, 0, 0, 900, 2000); /* client closed, held */
    diag_msg(buf, &off, 24001, est, 16, 0, 0, -1, 0);            /* no TCP_INFO: busy */
    /* not counted: */
    diag_msg(buf, &off, 24001, est, 17, 0, 0, 900, 2000); /* idle keep-alive */
    /* answered within the request's clock tick (the kernel keeps these
     * times in scheduler ticks, 4 ms at HZ=250): both the same */
    diag_msg(buf, &off, 24001, est, 20, 0, 0, 1012, 1012);
    diag_msg(buf, &off, 24001, listen, 18, 0, 0, 0, 0);        /* the listener */
    diag_msg(buf, &off, 24001, fin_wait1, 0, 0, 0, 900, 2000); /* the kernel finishes it */
    diag_msg(buf, &off, 9999, est, 19, 0, 4096, 900, 2000);    /* another port */
    uint16_t ports[] = {24001};
    unsigned count = 0;
    CHECK_EQ(tcp_diag_count(buf, off, ports, 1, &count), 0);
    CHECK_EQ(count, 7);
    /* The end of the dump, and errors. */
    struct nlmsghdr done = {.nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = NLMSG_DONE};
    memcpy(buf + off, &done, sizeof(done));
    count = 0;
    CHECK_EQ(tcp_diag_count(buf, off + NLMSG_HDRLEN, ports, 1, &count), 1);
    CHECK_EQ(count, 7);
    count = 0;
    CHECK_EQ(tcp_diag_count(buf, off - 8, ports, 1, &count), -1); /* the last one cut short */
    struct nlmsghdr err = {.nlmsg_len = NLMSG_HDRLEN + 20, .nlmsg_type = NLMSG_ERROR};
    memset(buf, 0, sizeof(buf));
    memcpy(buf, &err, sizeof(err));
    CHECK_EQ(tcp_diag_count(buf, NLMSG_HDRLEN + 20, ports, 1, &count), -1);
    struct nlmsghdr tiny = {.nlmsg_len = 4, .nlmsg_type = SOCK_DIAG_BY_FAMILY};
    memcpy(buf, &tiny, sizeof(tiny));
    CHECK_EQ(tcp_diag_count(buf, 64, ports, 1, &count), -1);
    CHECK_EQ(tcp_diag_count(buf, 3, ports, 1, &count), 0); /* less than a header: read on */
}

TEST(tcp_inflight_on_this_host_sees_a_connection)
{
    /* A real connection on a loopback port (the dump, or /proc/net/tcp where
     * the dump is refused): busy while a byte waits unread. */
    int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    CHECK(l >= 0 && c >= 0);
    CHECK_EQ(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_EQ(listen(l, 1), 0);
    CHECK_EQ(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
    CHECK_EQ(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int a = accept(l, NULL, NULL);
    CHECK(a >= 0);
    CHECK_EQ(write(c, "x", 1), 1);
    uint16_t port = ntohs(sa.sin_port);
    struct pollfd p = {.fd = a, .events = POLLIN};
    CHECK_EQ(poll(&p, 1, 60000), 1); /* the byte is in a's receive queue */
    CHECK_EQ(tcp_inflight(&port, 1), 1);
    close(a);
    close(c);
    close(l);
}

TEST(machines)
{
    enum machine m;
    CHECK(parse_machine("microvm", &m) == 0 && m == MACHINE_MICROVM);
    CHECK(parse_machine("q35", &m) == 0 && m == MACHINE_Q35);
    CHECK(parse_machine("pc", &m) == 0 && m == MACHINE_PC);
    CHECK(parse_machine("Q35", &m) < 0);
    CHECK(parse_machine("pc-q35-7.2", &m) < 0);
    CHECK(parse_machine("", &m) < 0);
    CHECK_STR(machine_name(MACHINE_Q35), "q35");
    CHECK(plan_missing_transport(PVH_TRANSPORT_MMIO, MACHINE_MICROVM) == NULL);
    CHECK_STR(plan_missing_transport(PVH_TRANSPORT_MMIO, MACHINE_Q35), "virtio-pci");
    CHECK_STR(plan_missing_transport(PVH_TRANSPORT_PCI, MACHINE_MICROVM), "virtio-mmio");
    CHECK(plan_missing_transport(PVH_TRANSPORT_PCI, MACHINE_PC) == NULL);
    CHECK(plan_missing_transport(PVH_TRANSPORT_MMIO | PVH_TRANSPORT_PCI, MACHINE_PC) == NULL);
    CHECK(plan_missing_transport(0, MACHINE_Q35) == NULL); /* no devices: runs anywhere */
}

TEST(plan_pci_machines)
{
    struct launch_config c = base_config();
    struct argv_list v, s, q;
    const char *err;
    char line[4096];
    c.share_dir = "/srv/www";
    c.run_dir = "/r";
    c.machine = MACHINE_Q35;
    CHECK(plan_build(&c, &v, &s, &q, &err) == 0);
    CHECK(formatted(&q, line, sizeof(line)) == 0);
    CHECK_STR(line, "/usr/bin/qemu-system-x86_64 -M q35,memory-backend=mem -accel tcg -cpu max "
                    "-m 128M -smp 1 -object memory-backend-memfd,id=mem,size=128M,share=on "
                    "-nodefaults -no-user-config -display none -no-reboot -name "
                    "hello-3,debug-threads=on -sandbox "
                    "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny "
                    "-chardev stdio,id=con0,mux=on -serial chardev:con0 -device "
                    "virtio-serial-pci,max_ports=1 -device virtconsole,chardev=con0 -device "
                    "isa-debug-exit,iobase=0xf4,iosize=4 -chardev "
                    "socket,id=fs0,path=/r/fs.sock -device "
                    "vhost-user-fs-pci,chardev=fs0,tag=share -chardev "
                    "socket,id=vs0,path=/r/vhost.sock -device vhost-user-vsock-pci,chardev=vs0 "
                    "-kernel /img/hello.elf -append fs=share");
    plan_free(&v);
    plan_free(&s);
    plan_free(&q);
    c.machine = MACHINE_PC;
    CHECK(plan_build(&c, &v, &s, &q, &err) == 0);
    CHECK(formatted(&q, line, sizeof(line)) == 0);
    CHECK(strstr(line, " -M pc,memory-backend=mem ") != NULL);
    CHECK(strstr(line, "force-legacy") == NULL); /* a virtio-mmio setting */
    CHECK(strstr(line, "vhost-user-fs-pci,chardev=fs0,tag=share") != NULL);
    plan_free(&v);
    plan_free(&s);
    plan_free(&q);
}

TEST(plan_too_long)
{
    static char big[9000];
    struct launch_config c = base_config();
    struct argv_list v, s, q;
    const char *err = NULL;
    memset(big, 'x', sizeof(big) - 1);
    c.append = big;
    CHECK(plan_build(&c, &v, &s, &q, &err) < 0);
    CHECK(err != NULL);
    CHECK_EQ(q.argc, 0);
}

/* miura stats / ps -v: a counter out of miura-vsockd's "key value" lines. */
TEST(stats_values)
{
    const char *text = "active 3\npeak 600\nlimit 4096\nqueued 0\nrefused_x 9\nrefused 12\n";
    CHECK_EQ(stats_value(text, "active"), 3);
    CHECK_EQ(stats_value(text, "peak"), 600);
    CHECK_EQ(stats_value(text, "queued"), 0);
    CHECK_EQ(stats_value(text, "refused"), 12); /* not refused_x's */
    CHECK_EQ(stats_value(text, "peaks"), -1);
    CHECK_EQ(stats_value(text, "accepted"), -1);
    CHECK_EQ(stats_value("active\n", "active"), -1);
    CHECK_EQ(stats_value("active x\n", "active"), -1);
    CHECK_EQ(stats_value("", "active"), -1);
}
