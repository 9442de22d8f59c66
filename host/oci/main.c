/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura-oci: an OCI runtime with runc's command line, so that container
 * engines (podman through conmon, containerd's runc shim, and Kubernetes
 * through either) run Miura appliances packaged as OCI images. Each
 * container is one microVM: the bundle's rootfs is the guest's "/" over
 * virtio-fs, the guest's ports are published in the container's network
 * namespace by miura-vsockd, and the container's process is miura-oci's
 * supervisor (supervise.h), which exits with the guest's status.
 * See docs/containers.md.
 *
 * Exit statuses: 0; 1 with a one-line cause (also in --log); 2 for a usage
 * error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cidlock.h"
#include "common/idrange.h"
#include "common/clock.h"
#include "common/runtime_dir.h"
#include "common/vm_parts.h"
#include "common/vm_programs.h"
#include "common/version.h"
#include "oci/cgroup.h"
#include "oci/commands.h"
#include "oci/oci_log.h"
#include "oci/spec.h"
#include "oci/state.h"
#include "oci/supervise.h"
#include "oci/vmconfig.h"

#define STOP_WAIT_MS 5000

static const char usage[] =
    "usage: miura-oci [global options] COMMAND [options] ID\n"
    "\n"
    "An OCI runtime (runc's command line) that runs Miura appliances as microVMs.\n"
    "\n"
    "commands:\n"
    "  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID\n"
    "                        prepare the container (virtiofsd, miura-vsockd, ports)\n"
    "  start ID              boot the guest\n"
    "  state ID              print the OCI state JSON\n"
    "  kill [--all] ID [SIGNAL]   send a signal (default TERM; KILL ends it at once)\n"
    "  delete [--force] ID   remove the container and everything it left\n"
    "  list [--format table|json] [-q]\n"
    "  ps [--format table|json] ID\n"
    "  features              print what this runtime supports (JSON)\n"
    "\n"
    "global options:\n"
    "  --root DIR            state directory (default /run/miura-oci as root)\n"
    "  --log FILE            append messages to FILE\n"
    "  --log-format text|json\n"
    "  --systemd-cgroup      cgroupsPath is SLICE:PREFIX:NAME\n"
    "  --debug, --criu PATH, --rootless VALUE   accepted, ignored\n"
    "  -v, --version, -h, --help\n";

struct global g;

int usage_error(const char *fmt, const char *arg)
{
    fputs("miura-oci: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(usage, stderr);
    return EXIT_USAGE;
}

int state_dir(const char *id, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s", g.root, id);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ------------------------------------------------------------ runc for pod sandboxes */

/* A pod's sandbox container goes to runc: see commands.h. */
int run_runc(void)
{
    char runc[PATH_MAX], root[PATH_MAX + 8];
    const char *env = getenv("MIURA_OCI_RUNC");
    char *args[64 + 16];
    int n = 0;
    if ((env && env[0] ? find_program(env, runc, sizeof(runc))
                       : find_program("runc", runc, sizeof(runc))) < 0 &&
        find_program("/usr/sbin/runc", runc, sizeof(runc)) < 0 &&
        find_program("/usr/bin/runc", runc, sizeof(runc)) < 0) {
        oci_error("a pod sandbox container runs under runc, and runc is not installed");
        return 1;
    }
    snprintf(root, sizeof(root), "%s/runc", g.root);
    args[n++] = runc;
    args[n++] = "--root";
    args[n++] = root;
    if (g.log) {
        args[n++] = "--log";
        args[n++] = (char *)g.log;
    }
    if (g.log_format) {
        args[n++] = "--log-format";
        args[n++] = (char *)g.log_format;
    }
    if (g.systemd_cgroup)
        args[n++] = "--systemd-cgroup";
    for (int i = 0; i < g.argc && n < 64 + 15; i++)
        args[n++] = g.argv[i];
    args[n] = NULL;
    execv(runc, args);
    oci_error("cannot run %s: %s", runc, strerror(errno));
    return 1;
}

bool runc_has(const char *id)
{
    char path[PATH_MAX + 300];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s/state.json", g.root, id);
    if (stat(path, &st) == 0)
        return false;
    snprintf(path, sizeof(path), "%s/runc/%s", g.root, id);
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ------------------------------------------------------------ the others */

/* Loads ID's record; 1 with a cause if there is none. */
static int load(const char *id, char *dir, size_t len, struct oci_state *st)
{
    if (!oci_id_is_valid(id) || state_dir(id, dir, len) < 0) {
        oci_error("bad container ID '%s'", id);
        return 1;
    }
    if (oci_state_read(dir, st) < 0) {
        if (errno == ENOENT)
            oci_error("container %s does not exist", id);
        else
            oci_error("container %s: unreadable state (%s/state.json)", id, dir);
        return 1;
    }
    return 0;
}

static int one_id(int argc, char **argv, const char *what)
{
    if (argc != 2 || argv[1][0] == '-') {
        char msg[64];
        snprintf(msg, sizeof(msg), "%s takes one container ID", what);
        usage_error("%s", msg);
        return -1;
    }
    return 0;
}

static int cmd_start(int argc, char **argv)
{
    struct oci_state st;
    char dir[PATH_MAX * 2], reply[600];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = 0;
    ssize_t n;
    int fd, rc;
    if (one_id(argc, argv, "start") < 0)
        return EXIT_USAGE;
    if (runc_has(argv[1]))
        return run_runc();
    if ((rc = load(argv[1], dir, sizeof(dir), &st)))
        return rc;
    enum oci_status s = oci_status_of(dir, &st);
    oci_state_free(&st);
    if (s != OCI_CREATED) {
        oci_error("container %s is %s: only a created container starts", argv[1],
                  oci_status_name(s));
        return 1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || supervise_start_socket(st.run_dir, sa.sun_path, sizeof(sa.sun_path)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        oci_error("container %s: cannot reach its supervisor: %s", argv[1], strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    while (len < sizeof(reply) - 1 && (n = read(fd, reply + len, sizeof(reply) - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    reply[len] = '\0';
    reply[strcspn(reply, "\n")] = '\0';
    if (strcmp(reply, "ok") != 0) {
        oci_error("container %s: %s", argv[1],
                  strncmp(reply, "error: ", 7) == 0 ? reply + 7 : "the supervisor did not answer");
        return 1;
    }
    oci_info("started %s", argv[1]);
    return 0;
}

static int cmd_state(int argc, char **argv)
{
    struct oci_state st;
    char dir[PATH_MAX * 2];
    int rc;
    if (one_id(argc, argv, "state") < 0)
        return EXIT_USAGE;
    if (runc_has(argv[1]))
        return run_runc();
    if ((rc = load(argv[1], dir, sizeof(dir), &st)))
        return rc;
    json_t *o = oci_state_json(&st, oci_status_of(dir, &st));
    oci_state_free(&st);
    if (!o || json_dumpf(o, stdout, JSON_INDENT(2)) < 0) {
        json_decref(o);
        oci_error("out of memory");
        return 1;
    }
    json_decref(o);
    fputs("\n", stdout);
    return 0;
}

static int parse_signal(const char *s)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"KILL", SIGKILL},
                 {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM},   {"ALRM", SIGALRM},
                 {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"WINCH", SIGWINCH}, {"PWR", SIGPWR}};
    char *end;
    long v = strtol(s, &end, 10);
    if (*s && !*end)
        return v >= 1 && v < NSIG ? (int)v : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(s, names[i].name) == 0)
            return names[i].sig;
    return -1;
}

/* SIGKILL to the supervisor, every process below it and every one in its cgroups. */
static void kill_all(struct oci_state *st)
{
    pid_t pids[256];
    unsigned n = proc_tree(st->pid, pids, 256);
    if (n && proc_start_time(st->pid) == st->pid_start)
        for (unsigned i = 0; i < n; i++)
            kill(pids[i], SIGKILL);
    cgroup_kill(st->cgroups, st->ncgroups, SIGKILL);
}

static int cmd_kill(int argc, char **argv)
{
    struct oci_state st;
    char dir[PATH_MAX * 2];
    int sig = SIGTERM, rc, i = 1;
    if (i < argc && (strcmp(argv[i], "--all") == 0 || strcmp(argv[i], "-a") == 0))
        i++;
    if (argc - i < 1 || argc - i > 2)
        return usage_error("%s", "kill takes a container ID and maybe a SIGNAL");
    if (runc_has(argv[i]))
        return run_runc();
    if (argc - i == 2 && (sig = parse_signal(argv[i + 1])) < 0)
        return usage_error("bad signal '%s'", argv[i + 1]);
    if ((rc = load(argv[i], dir, sizeof(dir), &st)))
        return rc;
    if (oci_status_of(dir, &st) == OCI_STOPPED) {
        oci_error("container %s is not running", argv[i]);
        oci_state_free(&st);
        return 1;
    }
    if (sig == SIGKILL)
        kill_all(&st);
    else if (kill(st.pid, sig) < 0)
        oci_error("kill %d: %s", (int)st.pid, strerror(errno));
    oci_state_free(&st);
    return 0;
}

/* Waits until the supervisor is gone (a zombie counts as gone). */
static bool wait_gone(const struct oci_state *st, int ms)
{
    uint64_t deadline = monotonic_ms() + (uint64_t)ms;
    while (proc_start_time(st->pid) == st->pid_start) {
        if (monotonic_ms() > deadline)
            return false;
        vm_sleep_ms(5);
    }
    return true;
}

static int cmd_delete(int argc, char **argv)
{
    struct oci_state st;
    char dir[PATH_MAX * 2], path[PATH_MAX * 2 + 16], base[PATH_MAX];
    bool force = false;
    int rc, i = 1, fd;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0)
            force = true;
        else
            return usage_error("delete: unknown option '%s'", argv[i]);
    }
    if (argc - i != 1)
        return usage_error("%s", "delete takes one container ID");
    if (runc_has(argv[i]))
        return run_runc();
    if (force && oci_id_is_valid(argv[i]) && state_dir(argv[i], dir, sizeof(dir)) == 0 &&
        oci_state_read(dir, &st) < 0 && errno == ENOENT) {
        rmdir(dir); /* a create that failed half-way, or nothing: gone, as runc says */
        return 0;
    }
    if ((rc = load(argv[i], dir, sizeof(dir), &st)))
        return rc;
    enum oci_status s = oci_status_of(dir, &st);
    if (s == OCI_RUNNING && !force) {
        oci_error("container %s is running: stop it first, or delete --force", argv[i]);
        oci_state_free(&st);
        return 1;
    }
    if (s != OCI_STOPPED) {
        kill_all(&st);
        if (!wait_gone(&st, STOP_WAIT_MS))
            oci_warn("container %s: pid %d did not end after SIGKILL", argv[i], (int)st.pid);
    }
    cgroup_kill(st.cgroups, st.ncgroups, SIGKILL); /* anything left in them */
    cgroup_remove(st.cgroups, st.ncgroups, CGROUP_LEAVE_MS);
    /* The run directory, CID and identity locks, if the supervisor could not remove them
     * (SIGKILL) and no other instance has taken the CID since. */
    if (runtime_base(base, sizeof(base)) == 0 && cid_lock(base, st.cid, &fd) == 0) {
        rundir_remove(st.run_dir);
        cid_unlock(base, st.cid, fd);
    }
    if (st.uid) /* the identity's lock file, in the same case */
        id_clear_stale(IDRANGE_LOCK_DIR, st.uid);
    snprintf(path, sizeof(path), "%s/started", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/state.json", dir);
    unlink(path);
    if (rmdir(dir) < 0)
        oci_warn("%s: %s", dir, strerror(errno));
    oci_state_free(&st);
    oci_info("deleted %s", argv[i]);
    return 0;
}

static int format_option(int argc, char **argv, int *i, bool *json, bool *quiet)
{
    for (; *i < argc && argv[*i][0] == '-'; (*i)++) {
        const char *a = argv[*i];
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            *quiet = true;
        } else if ((strcmp(a, "--format") == 0 || strcmp(a, "-f") == 0) && *i + 1 < argc) {
            a = argv[++*i];
            if (strcmp(a, "json") != 0 && strcmp(a, "table") != 0)
                return usage_error("bad --format '%s': want table or json", a);
            *json = strcmp(a, "json") == 0;
        } else if (strncmp(a, "--format=", 9) == 0) {
            if (strcmp(a + 9, "json") != 0 && strcmp(a + 9, "table") != 0)
                return usage_error("bad --format '%s': want table or json", a + 9);
            *json = strcmp(a + 9, "json") == 0;
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    bool json = false, quiet = false;
    int i = 1, rc = format_option(argc, argv, &i, &json, &quiet);
    json_t *all = json_array();
    DIR *d;
    struct dirent *e;
    if (rc)
        return rc;
    if (i != argc)
        return usage_error("%s", "list takes no container ID");
    d = opendir(g.root);
    if (!json && !quiet)
        printf("%-24s %-8s %-8s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
    while (d && (e = readdir(d)) != NULL) {
        struct oci_state st;
        char dir[PATH_MAX * 2];
        if (!oci_id_is_valid(e->d_name) || state_dir(e->d_name, dir, sizeof(dir)) < 0 ||
            oci_state_read(dir, &st) < 0)
            continue;
        enum oci_status s = oci_status_of(dir, &st);
        if (json)
            json_array_append_new(all, oci_state_json(&st, s));
        else if (quiet)
            printf("%s\n", st.id);
        else
            printf("%-24s %-8d %-8s %-32s %s\n", st.id, s == OCI_STOPPED ? 0 : (int)st.pid,
                   oci_status_name(s), st.bundle, st.created);
        oci_state_free(&st);
    }
    if (d)
        closedir(d);
    if (json) {
        json_dumpf(all, stdout, JSON_COMPACT);
        fputs("\n", stdout);
    }
    json_decref(all);
    return 0;
}

static int cmd_ps(int argc, char **argv)
{
    struct oci_state st;
    char dir[PATH_MAX * 2];
    bool json = false, quiet = false;
    pid_t pids[256];
    unsigned n = 0;
    int i = 1, rc = format_option(argc, argv, &i, &json, &quiet);
    if (rc)
        return rc;
    if (argc - i != 1)
        return usage_error("%s", "ps takes one container ID");
    if (runc_has(argv[i]))
        return run_runc();
    if ((rc = load(argv[i], dir, sizeof(dir), &st)))
        return rc;
    if (oci_status_of(dir, &st) != OCI_STOPPED)
        n = proc_tree(st.pid, pids, 256);
    oci_state_free(&st);
    if (json) {
        json_t *a = json_array();
        for (unsigned k = 0; k < n; k++)
            json_array_append_new(a, json_integer(pids[k]));
        json_dumpf(a, stdout, JSON_COMPACT);
        fputs("\n", stdout);
        json_decref(a);
    } else {
        printf("PID\n");
        for (unsigned k = 0; k < n; k++)
            printf("%d\n", (int)pids[k]);
    }
    return 0;
}

static int cmd_features(void)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:[], s:[s,s,s,s], s:{s:[s], s:[], s:{s:b, s:b, s:b, s:b}, s:{s:b}, "
        "s:{s:b}, s:{s:b}}, s:{s:s}}",
        "ociVersionMin", "1.0.0", "ociVersionMax", "1.0.2", "hooks", "mountOptions", "bind",
        "rbind", "ro", "rw", "linux", "namespaces", "network", "capabilities", "cgroup", "v1", 1,
        "v2", 1, "systemd", 0, "systemdUser", 0, "seccomp", "enabled", 0, "apparmor", "enabled", 0,
        "selinux", "enabled", 0, "annotations", OCI_PORTS_ANNOTATION,
        "guest ports to publish: GUESTPORT, PORT:GUESTPORT or ADDR:PORT:GUESTPORT, comma-separated "
        "(default 80)");
    if (!o || json_dumpf(o, stdout, JSON_INDENT(2)) < 0) {
        json_decref(o);
        return 1;
    }
    fputs("\n", stdout);
    json_decref(o);
    return 0;
}

static int unsupported(const char *cmd)
{
    static const struct {
        const char *cmd, *why;
    } table[] = {
        {"exec", "an appliance is one program in a microVM: there is no process to exec into"},
        {"checkpoint", "checkpointing a microVM is not supported"},
        {"restore", "restoring a checkpoint is not supported"},
        {"pause", "pausing a microVM is not supported"},
        {"resume", "pausing a microVM is not supported, so there is nothing to resume"},
        {"update", "changing a running microVM's resources is not supported"},
        {"events", "events and statistics are not supported"},
        {"run", "use create, then start"},
        {"spec", "write config.json with your engine (podman, ctr)"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(cmd, table[i].cmd) == 0) {
            oci_error("%s: %s", cmd, table[i].why);
            return 1;
        }
    }
    return -1;
}

static int parse_global(int argc, char **argv)
{
    enum {
        OPT_ROOT = 256,
        OPT_LOG,
        OPT_LOG_FORMAT,
        OPT_SYSTEMD,
        OPT_DEBUG,
        OPT_CRIU,
        OPT_ROOTLESS
    };
    static const struct option longopts[] = {
        {"root", required_argument, 0, OPT_ROOT},
        {"log", required_argument, 0, OPT_LOG},
        {"log-format", required_argument, 0, OPT_LOG_FORMAT},
        {"systemd-cgroup", no_argument, 0, OPT_SYSTEMD},
        {"debug", no_argument, 0, OPT_DEBUG},
        {"criu", required_argument, 0, OPT_CRIU},
        {"rootless", required_argument, 0, OPT_ROOTLESS},
        {"version", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *root = NULL;
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+:vh", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_ROOT:
            root = optarg;
            break;
        case OPT_LOG:
            g.log = optarg;
            break;
        case OPT_LOG_FORMAT:
            g.log_format = optarg;
            break;
        case OPT_SYSTEMD:
            g.systemd_cgroup = true;
            break;
        case OPT_DEBUG:
        case OPT_CRIU:
        case OPT_ROOTLESS:
            break;
        case 'v':
            printf("miura-oci version " MIURA_VERSION "\nspec: 1.0.2\n");
            exit(0);
        case 'h':
            fputs(usage, stdout);
            exit(0);
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown global option '%s'", argv[optind - 1]);
        }
    }
    if (!oci_log_setup(g.log, g.log_format))
        return usage_error("bad --log-format '%s': want text or json", g.log_format);
    if (root) {
        if (snprintf(g.root, sizeof(g.root), "%s", root) >= (int)sizeof(g.root) ||
            mkdir_p(g.root, 0700) < 0) {
            oci_error("--root %s: %s", root, strerror(errno));
            return 1;
        }
    } else if (oci_default_root(g.root, sizeof(g.root)) < 0) {
        oci_error("state directory %s: %s", g.root, strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int rc;
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1 && strcmp(argv[1], "__supervise") == 0)
        return supervise_main(argc, argv); /* supervise.h: our own hand-over */
    if ((rc = parse_global(argc, argv)))
        return rc;
    if (optind >= argc)
        return usage_error("%s", "a command is needed");
    g.argv = argv + optind;
    g.argc = argc - optind;
    const char *cmd = g.argv[0];
    if (strcmp(cmd, "create") == 0)
        return cmd_create(g.argc, g.argv);
    if (strcmp(cmd, "start") == 0)
        return cmd_start(g.argc, g.argv);
    if (strcmp(cmd, "state") == 0)
        return cmd_state(g.argc, g.argv);
    if (strcmp(cmd, "kill") == 0)
        return cmd_kill(g.argc, g.argv);
    if (strcmp(cmd, "delete") == 0)
        return cmd_delete(g.argc, g.argv);
    if (strcmp(cmd, "list") == 0)
        return cmd_list(g.argc, g.argv);
    if (strcmp(cmd, "ps") == 0)
        return cmd_ps(g.argc, g.argv);
    if (strcmp(cmd, "features") == 0)
        return cmd_features();
    if (strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if ((rc = unsupported(cmd)) >= 0)
        return rc;
    return usage_error("unknown command '%s'", cmd);
}
