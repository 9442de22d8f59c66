/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura, the launcher: `miura run` starts virtiofsd, miura-vsockd and QEMU
 * for one instance and supervises them; `miura ps` lists instances; `miura
 * stop NAME` ends one. See docs/launcher.md.
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
#include "common/vm_args.h"
#include "common/vm_plan.h"
#include "common/vm_programs.h"
#include "launcher/instance.h"
#include "launcher/run.h"
#include "launcher/stats.h"

#define EXIT_USAGE   2
#define INSTALL_HINT "apt-get install qemu-system-x86"

static const char usage_main[] =
    "usage: miura COMMAND [options]\n"
    "\n"
    "Runs Miura appliances (one ELF image each) as QEMU microVMs.\n"
    "\n"
    "commands:\n"
    "  run [options] IMAGE   start an instance and supervise it (miura run --help)\n"
    "  ps [-v]               list running instances: name, pid, cid, ports, image, uptime\n"
    "                        (-v: and a line of connection counters each)\n"
    "  stats NAME            an instance's connection counters (miura-vsockd's)\n"
    "  stop NAME             stop an instance cleanly\n"
    "  help                  this text\n";

static const char usage_run[] =
    "usage: miura run [options] IMAGE\n"
    "\n"
    "Starts virtiofsd (with --share), miura-vsockd and QEMU microvm for IMAGE,\n"
    "prints the console, and exits with the guest's status.\n"
    "\n"
    "  -s, --share DIR         share DIR with the guest over virtio-fs (tag \"share\";\n"
    "                          the kernel command line gets fs=share)\n"
    "  -p, --publish [ADDR:]HOSTPORT:GUESTPORT\n"
    "                          carry TCP on ADDR:HOSTPORT (default 127.0.0.1) to guest\n"
    "                          vsock port GUESTPORT (repeatable, at most 32)\n"
    "  -c, --cid N             guest CID (default: the lowest free one >= 3)\n"
    "  -m, --mem SIZE          guest memory, e.g. 128M, 1G (default 128M)\n"
    "      --cpus N            guest CPUs (default 1)\n"
    "  -n, --name NAME         instance name (default: IMAGE-CID)\n"
    "      --accel kvm|tcg|auto  (default auto: KVM only on real hardware virtualisation)\n"
    "  -a, --append TEXT       extra kernel command line arguments (repeatable)\n"
    "  -d, --detach            run in the background (console in the run directory)\n"
    "      --ready-timeout S   wait at most S seconds for each published port to\n"
    "                          answer HTTP before saying \"serving\" (default 30)\n"
    "      --dry-run           print the command lines, one per line, and exit\n"
    "  -h, --help\n"
    "\n"
    "Exit status: the guest's; 128+N after signal N; 125 if miura or a part failed;\n"
    "2 for a usage error.\n"
    "Environment: MIURA_QEMU, MIURA_VIRTIOFSD, MIURA_VSOCKD (binaries),\n"
    "MIURA_RUNTIME_DIR (run directories and CID locks).\n";

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
    fputs("miura: ", stderr);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return EXIT_USAGE;
}

struct run_options {
    struct launch_config cfg;
    const char *image;
    const char *share;
    const char *name;
    bool cid_given;
    bool dry_run;
    bool detach;
    int ready_timeout_s;
    char append[4096];
};

static int parse_run(int argc, char **argv, struct run_options *o)
{
    enum { OPT_CPUS = 256, OPT_ACCEL, OPT_DRY_RUN, OPT_READY };
    static const struct option longopts[] = {
        {"share", required_argument, 0, 's'},
        {"publish", required_argument, 0, 'p'},
        {"cid", required_argument, 0, 'c'},
        {"mem", required_argument, 0, 'm'},
        {"cpus", required_argument, 0, OPT_CPUS},
        {"name", required_argument, 0, 'n'},
        {"accel", required_argument, 0, OPT_ACCEL},
        {"append", required_argument, 0, 'a'},
        {"detach", no_argument, 0, 'd'},
        {"dry-run", no_argument, 0, OPT_DRY_RUN},
        {"ready-timeout", required_argument, 0, OPT_READY},
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

static int cmd_run(int argc, char **argv)
{
    static struct run_options o;
    static char image[PATH_MAX], share[PATH_MAX], qemu[PATH_MAX], vfs[PATH_MAX], vsd[PATH_MAX];
    static char base[PATH_MAX], run_dir[PATH_MAX + 80], console[PATH_MAX + 96];
    char name[LAUNCHER_NAME_MAX + 1];
    struct launch_config *c = &o.cfg;
    int rc = parse_run(argc, argv, &o);
    pid_t holder;
    if (rc)
        return rc;
    snprintf(qemu, sizeof(qemu), "qemu-system-x86_64");
    snprintf(vfs, sizeof(vfs), "/usr/lib/qemu/virtiofsd");
    snprintf(vsd, sizeof(vsd), "miura-vsockd");
    if (resolve(&o, image, share, qemu, vfs, vsd) < 0)
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

    struct run_request req = {.base = base,
                              .cid_fd = -1,
                              .status_fd = -1,
                              .ready_timeout_s = o.ready_timeout_s,
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
    if (o.name)
        snprintf(name, sizeof(name), "%s", o.name);
    else
        default_name(image, c->cid, name, sizeof(name));
    c->name = name;
    snprintf(run_dir, sizeof(run_dir), "%s/%s", base, name);
    c->run_dir = run_dir;
    snprintf(console, sizeof(console), "%s/console.log", run_dir);
    c->console_file = o.detach ? console : NULL;

    if (o.dry_run)
        return print_dry_run(c);

    if (rundir_create(base, name, run_dir, sizeof(run_dir), &holder) < 0) {
        if (errno == EEXIST)
            fprintf(stderr, "miura: an instance named %s is running (pid %d)\n", name, (int)holder);
        else
            fprintf(stderr, "miura: run directory %s: %s\n", run_dir, strerror(errno));
        cid_unlock(base, c->cid, req.cid_fd);
        return EXIT_LAUNCHER_FAILED;
    }
    req.run_dir = run_dir;
    if (o.detach && detach(&req, &req.status_fd) < 0) {
        fprintf(stderr, "miura: cannot detach: %s\n", strerror(errno));
        rundir_remove(run_dir);
        cid_unlock(base, c->cid, req.cid_fd);
        return EXIT_LAUNCHER_FAILED;
    }

    struct instance_meta m = {
        .pid = getpid(), .cid = c->cid, .started = (long)time(NULL), .detached = o.detach};
    snprintf(m.name, sizeof(m.name), "%s", name);
    memcpy(m.image, image, sizeof(m.image)); /* both PATH_MAX, NUL-terminated */
    snprintf(m.accel, sizeof(m.accel), "%s", c->accel == ACCEL_KVM ? "kvm" : "tcg");
    ports_text(c, m.ports, sizeof(m.ports));
    if (meta_write(run_dir, &m) < 0) {
        fprintf(stderr, "miura: %s/meta: %s\n", run_dir, strerror(errno));
        rundir_remove(run_dir);
        cid_unlock(base, c->cid, req.cid_fd);
        return EXIT_LAUNCHER_FAILED;
    }
    req.cfg = *c; /* a detached start says "started" once it has (run.c) */
    return run_instance(&req);
}

static int cmd_ps(bool verbose)
{
    char base[PATH_MAX], dir[PATH_MAX + 256], up[32];
    struct dirent *e;
    DIR *d;
    if (runtime_base(base, sizeof(base)) < 0) {
        fprintf(stderr, "miura: runtime directory %s: %s\n", base, strerror(errno));
        return EXIT_LAUNCHER_FAILED;
    }
    d = opendir(base);
    if (!d) {
        fprintf(stderr, "miura: %s: %s\n", base, strerror(errno));
        return EXIT_LAUNCHER_FAILED;
    }
    printf("%-24s %-8s %-6s %-28s %-8s %s\n", "NAME", "PID", "CID", "PORTS", "UPTIME", "IMAGE");
    while ((e = readdir(d)) != NULL) {
        struct instance_meta m;
        if (!name_is_valid(e->d_name))
            continue;
        snprintf(dir, sizeof(dir), "%s/%s", base, e->d_name);
        if (meta_read(dir, &m) < 0 || !launcher_alive(m.pid))
            continue;
        format_uptime((long)time(NULL) - m.started, up, sizeof(up));
        printf("%-24s %-8d %-6u %-28s %-8s %s\n", m.name, (int)m.pid, m.cid, m.ports, up, m.image);
        if (verbose) {
            char line[512];
            stats_summary(dir, line, sizeof(line));
            printf("    %s\n", line);
        }
    }
    closedir(d);
    return 0;
}

static int cmd_stop(int argc, char **argv)
{
    static const char usage_stop[] = "usage: miura stop NAME\n";
    char base[PATH_MAX], dir[PATH_MAX + 256];
    struct instance_meta m;
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage_stop, stdout);
        return 0;
    }
    if (argc != 2)
        return usage_error(usage_stop, "%s", "stop takes one NAME");
    if (!name_is_valid(argv[1]))
        return usage_error(usage_stop, "bad instance name '%s'", argv[1]);
    if (runtime_base(base, sizeof(base)) < 0) {
        fprintf(stderr, "miura: runtime directory %s: %s\n", base, strerror(errno));
        return EXIT_LAUNCHER_FAILED;
    }
    snprintf(dir, sizeof(dir), "%s/%s", base, argv[1]);
    if (meta_read(dir, &m) < 0) {
        fprintf(stderr, "miura: no instance named %s\n", argv[1]);
        return 1;
    }
    if (!launcher_alive(m.pid)) {
        fprintf(stderr, "miura: %s is not running (removed what it left)\n", argv[1]);
        rundir_remove(dir);
        return 1;
    }
    kill(m.pid, SIGTERM);
    /* Its teardown takes up to two grace periods; then force it. */
    for (int i = 0; i < 1000 && launcher_alive(m.pid); i++)
        usleep(10000);
    if (launcher_alive(m.pid)) {
        int fd;
        fprintf(stderr, "miura: %s did not stop in 10 s: killing it\n", argv[1]);
        kill(m.pid, SIGKILL); /* its children follow (PR_SET_PDEATHSIG) */
        for (int i = 0; i < 200 && kill(m.pid, 0) == 0; i++)
            usleep(10000);
        rundir_remove(dir);
        if (cid_lock(base, m.cid, &fd) == 0)
            cid_unlock(base, m.cid, fd);
    }
    printf("stopped %s\n", argv[1]);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0); /* "serving" lines appear as they happen */
    if (argc < 2)
        return usage_error(usage_main, "%s", "a command is needed");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "ps") == 0) {
        bool verbose = argc == 3 && strcmp(argv[2], "-v") == 0;
        if (argc != 2 && !verbose)
            return usage_error(usage_main, "%s", "ps takes no arguments but -v");
        return cmd_ps(verbose);
    }
    if (strcmp(argv[1], "stats") == 0)
        return cmd_stats(argc - 1, argv + 1);
    if (strcmp(argv[1], "stop") == 0)
        return cmd_stop(argc - 1, argv + 1);
    return usage_error(usage_main, "unknown command '%s'", argv[1]);
}
