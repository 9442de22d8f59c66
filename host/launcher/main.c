/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura, the launcher: `miura run` starts virtiofsd, miura-vsockd and QEMU
 * for one instance and supervises them; `miura ps`, `logs`, `stop` and `rm`
 * look after instances (manage.c), `miura stats` reads one's counters
 * (stats.c). See docs/launcher.md.
 *
 * Exit statuses: the guest's status; 128 + signal; 2 for a usage error;
 * EXIT_LAUNCHER_FAILED (125) with a one-line cause when miura or a part failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cidlock.h"
#include "common/clock.h"
#include "common/vm_args.h"
#include "common/pvh_image.h"
#include "common/vm_plan.h"
#include "common/vm_programs.h"
#include "common/vm_identity.h"
#include "common/version.h"
#include "launcher/instance.h"
#include "launcher/manage.h"
#include "launcher/new.h"
#include "launcher/run.h"
#include "launcher/stats.h"

#define INSTALL_HINT "apt-get install qemu-system-x86"

static uint64_t t0_us; /* when miura started (MIURA_START_TRACE) */

static const char usage_main[] =
    "usage: miura COMMAND [options]\n"
    "\n"
    "Runs Miura appliances (one ELF image each) as QEMU microVMs.\n"
    "\n"
    "commands:\n"
    "  run [options] IMAGE   start an instance and supervise it (miura run --help)\n"
    "  ps [-a] [-v]          list running instances: name, pid, cid, ports, uptime, image;\n"
    "                        -a: ended detached ones too, with their exit status and cause;\n"
    "                        -v: a line of connection counters each\n"
    "  logs [-f] [--part P] NAME  a detached instance's console (P: console, launcher,\n"
    "                        qemu, vsockd, virtiofsd, all); -f: follow it while it runs\n"
    "  stats NAME            an instance's connection counters (miura-vsockd's)\n"
    "  stop NAME             stop an instance cleanly (connections in flight finish)\n"
    "  rm NAME               remove an ended instance's run directory (its logs)\n"
    "  symbolize IMAGE [LOG] name the addresses of a console's crash reports (from\n"
    "                        IMAGE.elf, the unstripped image the build keeps)\n"
    "  new NAME [DIR]        make an appliance project from the SDK's template\n"
    "                        (miura new --help)\n"
    "  help                  this text\n"
    "  version               the release (also --version)\n";

static const char usage_run[] =
    "usage: miura run [options] IMAGE\n"
    "\n"
    "Starts virtiofsd (with --share), miura-vsockd and QEMU for IMAGE,\n"
    "prints the console, and exits with the guest's status.\n"
    "\n"
    "  -s, --share DIR         share DIR with the guest over virtio-fs (tag \"share\";\n"
    "                          the kernel command line gets fs=share)\n"
    "  -p, --publish [ADDR:]HOSTPORT:GUESTPORT\n"
    "                          carry TCP on ADDR:HOSTPORT (default 127.0.0.1) to guest\n"
    "                          vsock port GUESTPORT (repeatable, at most 32)\n"
    "      --preopen N         keep N connections (0..64, default 0: off) to each\n"
    "                          published guest port open before clients come: a new\n"
    "                          client skips the guest's connection handshake (the\n"
    "                          guest's app sees them as idle connections; docs/launcher.md)\n"
    "  -c, --cid N             guest CID (default: the lowest free one >= 3)\n"
    "  -m, --mem SIZE          guest memory, e.g. 128M, 1G (default 128M)\n"
    "      --cpus N            guest CPUs (default 1)\n"
    "  -n, --name NAME         instance name (default: IMAGE-CID)\n"
    "      --accel kvm|tcg|auto  (default auto: KVM only on real hardware virtualisation)\n"
    "      --machine microvm|q35|pc  QEMU machine (default microvm: virtio-mmio devices;\n"
    "                          q35 and pc: virtio-pci, for images with that transport)\n"
    "  -a, --append TEXT       extra kernel command line arguments (repeatable)\n"
    "  -d, --detach            run in the background (console in the run directory;\n"
    "                          kept after the end for miura logs and miura ps -a)\n"
    "      --restart no|on-failure[:N]|always\n"
    "                          start the parts again (same name, CID and ports) when the\n"
    "                          instance ends: after a failure (at most N times), or always;\n"
    "                          never after a stop by a signal (default no)\n"
    "      --stop-timeout S    on SIGTERM (miura stop), wait up to S seconds for the\n"
    "                          connections in flight (default 10; 0: stop at once)\n"
    "      --gdb [ADDR:]PORT   QEMU's gdbstub on loopback ADDR:PORT (default 127.0.0.1)\n"
    "      --gdb-wait          with --gdb: the guest waits for gdb before its first instruction\n"
    "      --ready-timeout S   wait at most S seconds for each published port to\n"
    "                          answer HTTP before saying \"serving\" (default 30)\n"
    "      --unconfined        no confinement (debugging, benchmarks): no identity or\n"
    "                          cgroup of its own, miura-vsockd --unconfined, QEMU without\n"
    "                          -sandbox or namespaces; by default, as root, each instance\n"
    "                          runs as its own uid and gid (MIURA_ID_RANGE) in its own\n"
    "                          cgroup (docs/security.md)\n"
    "      --dry-run           print the command lines, one per line, and exit\n"
    "  -h, --help\n"
    "\n"
    "Exit status: the guest's; 128+N after signal N; 125 if miura or a part failed;\n"
    "2 for a usage error.\n"
    "Environment: MIURA_QEMU, MIURA_VIRTIOFSD, MIURA_VSOCKD (binaries),\n"
    "MIURA_RUNTIME_DIR (run directories and CID locks), MIURA_ID_RANGE\n"
    "(UID:GID:COUNT or BASE:COUNT: the instances' identities).\n";

struct run_options {
    struct launch_config cfg;
    const char *image;
    const char *share;
    const char *name;
    bool cid_given;
    bool dry_run;
    bool detach;
    int ready_timeout_s;
    int stop_timeout_s;
    struct restart_policy restart;
    char append[4096];
};

static int parse_run(int argc, char **argv, struct run_options *o)
{
    enum {
        OPT_CPUS = 256,
        OPT_ACCEL,
        OPT_DRY_RUN,
        OPT_READY,
        OPT_RESTART,
        OPT_STOP_TIMEOUT,
        OPT_GDB,
        OPT_GDB_WAIT,
        OPT_UNCONFINED,
        OPT_MACHINE,
        OPT_PREOPEN
    };
    static const struct option longopts[] = {
        {"share", required_argument, 0, 's'},
        {"publish", required_argument, 0, 'p'},
        {"preopen", required_argument, 0, OPT_PREOPEN},
        {"cid", required_argument, 0, 'c'},
        {"mem", required_argument, 0, 'm'},
        {"cpus", required_argument, 0, OPT_CPUS},
        {"name", required_argument, 0, 'n'},
        {"accel", required_argument, 0, OPT_ACCEL},
        {"machine", required_argument, 0, OPT_MACHINE},
        {"append", required_argument, 0, 'a'},
        {"detach", no_argument, 0, 'd'},
        {"dry-run", no_argument, 0, OPT_DRY_RUN},
        {"ready-timeout", required_argument, 0, OPT_READY},
        {"restart", required_argument, 0, OPT_RESTART},
        {"stop-timeout", required_argument, 0, OPT_STOP_TIMEOUT},
        {"gdb", required_argument, 0, OPT_GDB},
        {"gdb-wait", no_argument, 0, OPT_GDB_WAIT},
        {"unconfined", no_argument, 0, OPT_UNCONFINED},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct launch_config *c = &o->cfg;
    uint32_t v;
    int ch;
    c->mem_mib = 128;
    c->cpus = 1;
    c->accel = ACCEL_AUTO;
    o->ready_timeout_s = 30;
    o->stop_timeout_s = 10;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":s:p:c:m:n:a:dh", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            o->share = optarg;
            break;
        case 'p':
            if (c->npublish == LAUNCHER_PUBLISH_MAX)
                return usage_error(usage_run, "at most 32 --publish (got '%s' too)", optarg);
            if (publish_parse(optarg, &c->publish[c->npublish]))
                return usage_error(usage_run, "bad --publish '%s': want " PUBLISH_SYNTAX, optarg);
            for (unsigned i = 0; i < c->npublish; i++)
                if (c->publish[i].host_port == c->publish[c->npublish].host_port)
                    return usage_error(usage_run, "host port of --publish '%s' is published twice",
                                       optarg);
            c->npublish++;
            break;
        case OPT_PREOPEN:
            if (parse_preopen(optarg, &c->preopen))
                return usage_error(usage_run, "bad --preopen '%s': want 0..64", optarg);
            break;
        case 'c':
            if (parse_cid(optarg, &c->cid))
                return usage_error(usage_run, "bad --cid '%s': want 3..4294967294", optarg);
            o->cid_given = true;
            break;
        case 'm':
            if (parse_mem_mib(optarg, &c->mem_mib))
                return usage_error(usage_run,
                                   "bad --mem '%s': want a whole number of MiB from 2M to 1024G "
                                   "(e.g. 128M, 1G)",
                                   optarg);
            break;
        case OPT_CPUS:
            if (parse_cpus(optarg, &v))
                return usage_error(usage_run, "bad --cpus '%s': want 1..64", optarg);
            c->cpus = v;
            break;
        case 'n':
            if (!name_is_valid(optarg))
                return usage_error(usage_run,
                                   "bad --name '%s': want 1..64 of [A-Za-z0-9_.-], starting "
                                   "with a letter or digit, not ending in .lock",
                                   optarg);
            o->name = optarg;
            break;
        case OPT_ACCEL:
            if (parse_accel(optarg, &c->accel))
                return usage_error(usage_run, "bad --accel '%s': want kvm, tcg or auto", optarg);
            break;
        case OPT_MACHINE:
            if (parse_machine(optarg, &c->machine))
                return usage_error(usage_run, "bad --machine '%s': want microvm, q35 or pc",
                                   optarg);
            break;
        case 'a': {
            size_t n = strlen(o->append);
            if (n + strlen(optarg) + 2 > sizeof(o->append))
                return usage_error(usage_run, "--append text too long (at '%s')", optarg);
            snprintf(o->append + n, sizeof(o->append) - n, "%s%s", n ? " " : "", optarg);
            break;
        }
        case 'd':
            o->detach = true;
            break;
        case OPT_DRY_RUN:
            o->dry_run = true;
            break;
        case OPT_READY:
            if (parse_uint(optarg, 0, 3600, &v))
                return usage_error(usage_run, "bad --ready-timeout '%s': want 0..3600", optarg);
            o->ready_timeout_s = (int)v;
            break;
        case OPT_STOP_TIMEOUT:
            if (parse_uint(optarg, 0, 3600, &v))
                return usage_error(usage_run, "bad --stop-timeout '%s': want 0..3600", optarg);
            o->stop_timeout_s = (int)v;
            break;
        case OPT_RESTART:
            if (parse_restart(optarg, &o->restart))
                return usage_error(usage_run,
                                   "bad --restart '%s': want no, on-failure, on-failure:N "
                                   "(N 1..1000000) or always",
                                   optarg);
            break;
        case OPT_GDB:
            if (parse_gdb(optarg, &c->gdb_spec))
                return usage_error(usage_run,
                                   "bad --gdb '%s': want [ADDR:]PORT, ADDR a loopback address "
                                   "(127.x.x.x; the gdbstub has no authentication)",
                                   optarg);
            c->gdb = true;
            break;
        case OPT_GDB_WAIT:
            c->gdb_wait = true;
            break;
        case OPT_UNCONFINED:
            c->unconfined = true;
            break;
        case 'h':
            fputs(usage_run, stdout);
            exit(0);
        case ':':
            return usage_error(usage_run, "option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error(usage_run, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return usage_error(usage_run, "%s", optind >= argc ? "IMAGE missing" : "one IMAGE only");
    if (c->gdb_wait && !c->gdb)
        return usage_error(usage_run, "%s", "--gdb-wait needs --gdb");
    if (c->preopen && !c->npublish)
        return usage_error(usage_run, "%s", "--preopen needs --publish");
    o->image = argv[optind];
    return 0;
}

/*
 * Resolves binaries and paths; prints a one-line cause on failure. For
 * --dry-run a missing program is shown by its plain name instead.
 */
static int resolve(struct run_options *o, char *image, char *share, char *qemu, char *vfs,
                   char *vsd)
{
    struct stat st;
    const char *qemu_name = getenv("MIURA_QEMU");
    if (!qemu_name || !qemu_name[0])
        qemu_name = "qemu-system-x86_64";
    if (find_program(qemu_name, qemu, PATH_MAX) < 0) {
        if (!o->dry_run) {
            fprintf(stderr, "miura: %s not found%s (install it: " INSTALL_HINT ")\n", qemu_name,
                    strchr(qemu_name, '/') ? "" : " in PATH");
            return -1;
        }
        snprintf(qemu, PATH_MAX, "%s", qemu_name);
    }
    if (o->share && find_virtiofsd(vfs, PATH_MAX) < 0) {
        if (!o->dry_run) {
            fprintf(stderr, "miura: virtiofsd not found (install it: " INSTALL_HINT ")\n");
            return -1;
        }
        snprintf(vfs, PATH_MAX, "virtiofsd");
    }
    if (find_vsockd(vsd, PATH_MAX) < 0) {
        if (!o->dry_run) {
            fprintf(stderr, "miura: miura-vsockd not found next to miura or in PATH (build it: "
                            "make host)\n");
            return -1;
        }
        snprintf(vsd, PATH_MAX, "miura-vsockd");
    }
    if (!realpath(o->image, image) || stat(image, &st) < 0) {
        fprintf(stderr, "miura: image %s: %s\n", o->image, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "miura: image %s: not a regular file\n", o->image);
        return -1;
    }
    if (o->share && (!realpath(o->share, share) || stat(share, &st) < 0)) {
        fprintf(stderr, "miura: --share %s: %s\n", o->share, strerror(errno));
        return -1;
    }
    if (o->share && !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "miura: --share %s: not a directory\n", o->share);
        return -1;
    }
    return 0;
}

/* IMAGE must be a Miura image (a static x86-64 ELF with the PVH entry note)
 * with the transport --machine needs (its transports note): said in one line
 * before anything starts (QEMU's own words were "invalid kernel header"). */
static int check_image(const char *image, enum machine machine)
{
    struct pvh_image img;
    struct stat st;
    const char *why = "cannot be read, or is over 64 MiB";
    size_t len = 0;
    ssize_t n = 1;
    unsigned char *buf = NULL;
    int fd = open(image, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size <= (64 << 20))
        buf = malloc((size_t)st.st_size + 1);
    while (buf && len < (size_t)st.st_size &&
           (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
        len += (size_t)n;
    int rc = buf && n > 0 ? pvh_image_check(buf, len, &img, &why) : -1;
    free(buf);
    if (fd >= 0)
        close(fd);
    if (rc < 0) {
        fprintf(stderr, "miura: image %s: not a Miura image: %s\n", image, why);
        return -1;
    }
    const char *missing = plan_missing_transport(img.transports, machine);
    if (missing) {
        fprintf(stderr, "miura: image %s has no %s transport, which --machine %s needs (%s)\n",
                image, missing, machine_name(machine),
                machine == MACHINE_MICROVM ? "run it with --machine q35 or pc"
                                           : "use an image with virtio_pci, e.g. webserver_pci");
        return -1;
    }
    return 0;
}

static void ports_text(const struct launch_config *c, char *out, size_t len)
{
    size_t n = 0;
    snprintf(out, len, "-");
    for (unsigned i = 0; i < c->npublish && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%s%s:%u->%u", i ? "," : "", c->publish[i].addr,
                              c->publish[i].host_port, c->publish[i].guest_port);
}

static int print_dry_run(const struct launch_config *c)
{
    struct argv_list lists[3];
    const char *err;
    static char line[65536];
    if (plan_build(c, &lists[0], &lists[1], &lists[2], &err) < 0) {
        fprintf(stderr, "miura: %s\n", err);
        return EXIT_LAUNCHER_FAILED;
    }
    for (int i = 0; i < 3; i++) {
        if (lists[i].argc == 0)
            continue;
        if (plan_format(&lists[i], line, sizeof(line)) < 0) {
            fprintf(stderr, "miura: a command line is too long\n");
            return EXIT_LAUNCHER_FAILED;
        }
        puts(line);
        plan_free(&lists[i]);
    }
    return 0;
}

/*
 * --detach: the child becomes the launcher of the instance in a new session;
 * its output comes to us through a pipe until it reports it started (one byte
 * on the status pipe) or fails (the pipe closes, and its exit status is ours).
 */
static int detach(struct run_request *req, int *status_fd)
{
    int out[2], err[2], st[2];
    pid_t pid;
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(st, O_CLOEXEC) < 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        setsid();
        if (nul >= 0)
            dup2(nul, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        close(st[0]);
        *status_fd = st[1];
        return 0;
    }
    /* The parent: relay the child's stdout and stderr to ours, each to its
     * own, until both close (the child moves them to launcher.log once
     * started), then learn the outcome. */
    close(out[1]);
    close(err[1]);
    close(st[1]);
    if (req->cid_fd >= 0)
        close(req->cid_fd); /* the child holds the lock now */
    if (req->id_fd >= 0)
        close(req->id_fd); /* and the identity's */
    struct pollfd p[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
    char buf[4096];
    while (p[0].fd >= 0 || p[1].fd >= 0) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            ssize_t n = read(p[i].fd, buf, sizeof(buf));
            if (n > 0 && write(i == 0 ? 1 : 2, buf, (size_t)n) >= 0)
                continue;
            if (n < 0 && errno == EINTR)
                continue;
            close(p[i].fd); /* end of stream (or nowhere to write it) */
            p[i].fd = -1;
        }
    }
    char b;
    ssize_t n = read(st[0], &b, 1);
    if (n == 1)
        exit(0);
    int ws;
    if (waitpid(pid, &ws, 0) < 0)
        exit(EXIT_LAUNCHER_FAILED);
    exit(WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
}

/* Before run_instance: the CID and the identity go back. */
static void release(struct run_request *req, const struct launch_config *c)
{
    cid_unlock(req->base, c->cid, req->cid_fd);
    id_unlock(IDRANGE_LOCK_DIR, &(struct instance_id){c->uid, c->gid}, req->id_fd);
    req->cid_fd = req->id_fd = -1;
}

static int cmd_run(int argc, char **argv)
{
    static struct run_options o;
    static char image[PATH_MAX], share[PATH_MAX], qemu[PATH_MAX], vfs[PATH_MAX], vsd[PATH_MAX];
    static char base[PATH_MAX], run_dir[PATH_MAX + 80], kernel[PATH_MAX + 96];
    static struct instance_meta m;
    char name[LAUNCHER_NAME_MAX + 1];
    struct launch_config *c = &o.cfg;
    int rc = parse_run(argc, argv, &o);
    pid_t holder;
    if (rc)
        return rc;
    snprintf(qemu, sizeof(qemu), "qemu-system-x86_64");
    snprintf(vfs, sizeof(vfs), "/usr/lib/qemu/virtiofsd");
    snprintf(vsd, sizeof(vsd), "miura-vsockd");
    if (resolve(&o, image, share, qemu, vfs, vsd) < 0 || check_image(image, c->machine) < 0)
        return EXIT_LAUNCHER_FAILED;
    if (runtime_base(base, sizeof(base)) < 0) {
        fprintf(stderr, "miura: runtime directory %s: %s\n", base, strerror(errno));
        return EXIT_LAUNCHER_FAILED;
    }
    if (c->accel == ACCEL_KVM && access("/dev/kvm", R_OK | W_OK) < 0) {
        fprintf(stderr, "miura: --accel kvm: /dev/kvm: %s\n", strerror(errno));
        return EXIT_LAUNCHER_FAILED;
    }
    c->accel = pick_accel(c->accel, "miura");
    c->image = image;
    c->share_dir = o.share ? share : NULL;
    c->append = o.append;
    c->qemu_path = qemu;
    c->virtiofsd_path = vfs;
    c->vsockd_path = vsd;
    c->publish_fds = true; /* we hold the listening sockets (run.c) */
    c->socket_fds = true;  /* and the daemons' vhost-user sockets (run.c) */

    struct run_request req = {.t0_us = t0_us,
                              .base = base,
                              .cid_fd = -1,
                              .id_fd = -1,
                              .status_fd = -1,
                              .ready_timeout_s = o.ready_timeout_s,
                              .stop_timeout_s = o.stop_timeout_s,
                              .restart = o.restart,
                              .meta = &m,
                              .detached = o.detach};
    if (o.dry_run) {
        if (!o.cid_given && (c->cid = cid_peek_lowest(base)) == 0) {
            fprintf(stderr, "miura: no free CID\n");
            return EXIT_LAUNCHER_FAILED;
        }
    } else if (o.cid_given) {
        int r = cid_lock(base, c->cid, &req.cid_fd);
        if (r != 0) {
            fprintf(stderr, "miura: CID %u %s\n", c->cid,
                    r > 0 ? "is in use by another instance" : strerror(errno));
            return EXIT_LAUNCHER_FAILED;
        }
    } else if (cid_lock_lowest(base, &c->cid, &req.cid_fd) < 0) {
        fprintf(stderr, "miura: cannot reserve a CID in %s: %s\n", base, strerror(errno));
        return EXIT_LAUNCHER_FAILED;
    }
    /* As root, the instance's own uid and gid (common/vm_identity.h). */
    if (!c->unconfined && geteuid() == 0) {
        struct instance_id id;
        char why[600];
        if (identity_take(o.dry_run, &id, &req.id_fd, why, sizeof(why)) < 0) {
            fprintf(stderr, "miura: %s\n", why);
            cid_unlock(base, c->cid, req.cid_fd);
            return EXIT_LAUNCHER_FAILED;
        }
        c->own_id = true;
        c->uid = id.uid;
        c->gid = id.gid;
    }
    if (o.name)
        snprintf(name, sizeof(name), "%s", o.name);
    else
        default_name(image, c->cid, name, sizeof(name));
    c->name = name;
    snprintf(run_dir, sizeof(run_dir), "%s/%s", base, name);
    c->run_dir = run_dir;
    c->console_file = NULL; /* -serial stdio: run.c points QEMU's stdout at console.log */

    if (c->own_id) {
        int n = snprintf(kernel, sizeof(kernel), "%s/%s", run_dir, IDENTITY_KERNEL);
        if (n < 0 || (size_t)n >= sizeof(kernel)) {
            fprintf(stderr, "miura: %s: path too long\n", run_dir);
            release(&req, c);
            return EXIT_LAUNCHER_FAILED;
        }
    }
    if (c->own_id)
        c->image = kernel; /* QEMU reads the copy (meta keeps the original's path) */
    if (o.dry_run)
        return print_dry_run(c);

    if (rundir_create(base, name, run_dir, sizeof(run_dir), &holder) < 0) {
        if (errno == EEXIST && holder > 0)
            fprintf(stderr, "miura: an instance named %s is running (pid %d)\n", name, (int)holder);
        else if (errno == EEXIST)
            fprintf(stderr,
                    "miura: an instance named %s is starting (another miura run took the name)\n",
                    name);
        else
            fprintf(stderr, "miura: run directory %s: %s\n", run_dir, strerror(errno));
        release(&req, c);
        return EXIT_LAUNCHER_FAILED;
    }
    req.run_dir = run_dir;
    if (c->own_id) {
        char why[1024];
        if (identity_rundir(run_dir, &(struct instance_id){c->uid, c->gid}, image, kernel, why,
                            sizeof(why)) < 0) {
            fprintf(stderr, "miura: %s\n", why);
            rundir_remove(run_dir);
            release(&req, c);
            return EXIT_LAUNCHER_FAILED;
        }
    }
    if (o.detach && detach(&req, &req.status_fd) < 0) {
        fprintf(stderr, "miura: cannot detach: %s\n", strerror(errno));
        rundir_remove(run_dir);
        release(&req, c);
        return EXIT_LAUNCHER_FAILED;
    }

    m = (struct instance_meta){.pid = getpid(),
                               .cid = c->cid,
                               .started = (long)time(NULL),
                               .detached = o.detach,
                               .stop_timeout_s = (uint32_t)o.stop_timeout_s};
    snprintf(m.name, sizeof(m.name), "%s", name);
    memcpy(m.image, image, sizeof(m.image)); /* both PATH_MAX, NUL-terminated */
    snprintf(m.accel, sizeof(m.accel), "%s", c->accel == ACCEL_KVM ? "kvm" : "tcg");
    ports_text(c, m.ports, sizeof(m.ports));
    if (meta_write(run_dir, &m) < 0) {
        fprintf(stderr, "miura: %s/meta: %s\n", run_dir, strerror(errno));
        rundir_remove(run_dir);
        release(&req, c);
        return EXIT_LAUNCHER_FAILED;
    }
    req.cfg = *c; /* a detached start says "started" once it has (run.c) */
    return run_instance(&req);
}

int main(int argc, char **argv)
{
    t0_us = monotonic_us();
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0); /* "serving" lines appear as they happen */
    if (argc < 2)
        return usage_error(usage_main, "%s", "a command is needed");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        puts("miura " MIURA_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "ps") == 0)
        return cmd_ps(argc - 1, argv + 1);
    if (strcmp(argv[1], "logs") == 0)
        return cmd_logs(argc - 1, argv + 1);
    if (strcmp(argv[1], "stats") == 0)
        return cmd_stats(argc - 1, argv + 1);
    if (strcmp(argv[1], "stop") == 0)
        return cmd_stop(argc - 1, argv + 1);
    if (strcmp(argv[1], "rm") == 0)
        return cmd_rm(argc - 1, argv + 1);
    if (strcmp(argv[1], "symbolize") == 0)
        return cmd_symbolize(argc - 1, argv + 1);
    if (strcmp(argv[1], "new") == 0)
        return cmd_new(argc - 1, argv + 1);
    return usage_error(usage_main, "unknown command '%s'", argv[1]);
}
