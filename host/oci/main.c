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
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cidlock.h"
#include "common/clock.h"
#include "common/pvh_image.h"
#include "common/runtime_dir.h"
#include "common/vm_parts.h"
#include "common/vm_programs.h"
#include "oci/cgroup.h"
#include "oci/oci_log.h"
#include "oci/spec.h"
#include "oci/state.h"
#include "oci/supervise.h"
#include "oci/vmconfig.h"

#define EXIT_USAGE        2
#define MIURA_OCI_VERSION "0.1.0"
#define IMAGE_MAX_BYTES   (64u << 20)
#define CONFIG_MAX_BYTES  (16u << 20)
#define STOP_WAIT_MS      5000

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

struct global {
    char root[PATH_MAX];
    const char *log, *log_format;
    bool systemd_cgroup;
    char **argv; /* from the command on, for handing a pod sandbox to runc */
    int argc;
};

static struct global g;

static int usage_error(const char *fmt, const char *arg)
{
    fputs("miura-oci: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(usage, stderr);
    return EXIT_USAGE;
}

static int state_dir(const char *id, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s", g.root, id);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ------------------------------------------------------------ runc for pod sandboxes */

/*
 * A Kubernetes pod's sandbox ("pause") container is a Linux process that
 * holds the pod's namespaces, not an appliance: it runs under runc, with its
 * state under ROOT/runc. Returns only if runc cannot be run.
 */
static int run_runc(void)
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

/* Whether ID is a container runc holds for us (see run_runc). */
static bool runc_has(const char *id)
{
    char path[PATH_MAX + 300];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s/state.json", g.root, id);
    if (stat(path, &st) == 0)
        return false;
    snprintf(path, sizeof(path), "%s/runc/%s", g.root, id);
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ------------------------------------------------------------ create */

struct create_opts {
    const char *bundle, *pid_file, *console_socket, *id;
};

static int parse_create(int argc, char **argv, struct create_opts *o)
{
    enum { OPT_PID = 256, OPT_CONSOLE, OPT_NOPIVOT, OPT_NOKEYRING, OPT_PRESERVE };
    static const struct option longopts[] = {
        {"bundle", required_argument, 0, 'b'},
        {"pid-file", required_argument, 0, OPT_PID},
        {"console-socket", required_argument, 0, OPT_CONSOLE},
        {"no-pivot", no_argument, 0, OPT_NOPIVOT},
        {"no-new-keyring", no_argument, 0, OPT_NOKEYRING},
        {"preserve-fds", required_argument, 0, OPT_PRESERVE},
        {0, 0, 0, 0},
    };
    int ch;
    o->bundle = ".";
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":b:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            o->bundle = optarg;
            break;
        case OPT_PID:
            o->pid_file = optarg;
            break;
        case OPT_CONSOLE:
            o->console_socket = optarg;
            break;
        case OPT_NOPIVOT:
        case OPT_NOKEYRING:
        case OPT_PRESERVE: /* a microVM has no pivot_root, keyring or inherited fds to keep */
            break;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("create: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return usage_error("%s", "create takes one container ID");
    o->id = argv[optind];
    return 0;
}

static int read_file(const char *path, size_t max, char **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
        return -1;
    }
    *buf = malloc((size_t)st.st_size + 1);
    *len = 0;
    while (*buf && *len < (size_t)st.st_size) {
        ssize_t n = read(fd, *buf + *len, (size_t)st.st_size - *len);
        if (n <= 0)
            break;
        *len += (size_t)n;
    }
    close(fd);
    if (!*buf || *len != (size_t)st.st_size) {
        free(*buf);
        errno = EIO;
        return -1;
    }
    return 0;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The appliance's ELF: process.args[0] resolved inside the rootfs (symbolic
 * links cannot leave it), checked for a PVH entry. Writes its host path.
 */
static int check_image(const char *rootfs, const char *path, char *host_path, uint32_t *need_mib)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;
    unsigned char *buf = NULL;
    struct pvh_image img;
    struct stat st;
    const char *why;
    char link[64];
    size_t len = 0;
    ssize_t n;
    if (root < 0) {
        oci_error("rootfs %s: %s", rootfs, strerror(errno));
        return -1;
    }
    fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
    close(root);
    if (fd < 0) {
        oci_error("not a Miura image: %s is not in the image (%s)", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > IMAGE_MAX_BYTES) {
        oci_error("not a Miura image: %s is not a regular file of at most 64 MiB", path);
        close(fd);
        return -1;
    }
    buf = malloc((size_t)st.st_size + 1);
    while (buf && len < (size_t)st.st_size &&
           (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
        len += (size_t)n;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, host_path, PATH_MAX - 1);
    close(fd);
    if (!buf || len != (size_t)st.st_size || n <= 0) {
        oci_error("%s: cannot read it", path);
        free(buf);
        return -1;
    }
    host_path[n] = '\0';
    if (pvh_image_check(buf, len, &img, &why) < 0) {
        oci_error("not a Miura image: %s: %s", path, why);
        free(buf);
        return -1;
    }
    free(buf);
    *need_mib = pvh_image_need_mib(&img);
    return 0;
}

/* Finds the programs; a one-line cause when one is missing. */
static int find_programs(char *qemu, char *vfs, char *vsd)
{
    const char *qemu_name = getenv("MIURA_QEMU");
    if (!qemu_name || !qemu_name[0])
        qemu_name = "qemu-system-x86_64";
    if (find_program(qemu_name, qemu, PATH_MAX) < 0 &&
        find_program("/usr/bin/qemu-system-x86_64", qemu, PATH_MAX) < 0) {
        oci_error("%s not found (install it: apt-get install qemu-system-x86)", qemu_name);
        return -1;
    }
    if (find_virtiofsd(vfs, PATH_MAX) < 0) {
        oci_error("virtiofsd not found (install it: apt-get install qemu-system-x86)");
        return -1;
    }
    if (find_vsockd(vsd, PATH_MAX) < 0) {
        oci_error("miura-vsockd not found next to miura-oci or in PATH");
        return -1;
    }
    return 0;
}

/*
 * Reads the supervisor's set-up report (supervise.h): true on "@ok". Messages
 * before it are warnings on success; on failure the last one is the cause.
 */
static bool read_report(int fd, struct oci_state *st)
{
    static char buf[65536];
    char msgs[16][600];
    unsigned nmsg = 0;
    size_t len = 0;
    ssize_t n;
    bool ok = false;
    while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            len += (size_t)n;
    buf[len] = '\0';
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        const char *text = line;
        if (strcmp(line, "@ok") == 0) {
            ok = true;
        } else if (strncmp(line, "@cgroup ", 8) == 0) {
            if (st->ncgroups < OCI_CGROUPS_MAX)
                snprintf(st->cgroups[st->ncgroups++], PATH_MAX, "%s", line + 8);
        } else {
            if (strncmp(text, "miura-oci: ", 11) == 0)
                text += 11;
            if (nmsg == 16)
                memmove(msgs[0], msgs[1], sizeof(msgs[0]) * 15), nmsg = 15;
            snprintf(msgs[nmsg++], sizeof(msgs[0]), "%s", text);
        }
    }
    for (unsigned i = 0; i < nmsg; i++) {
        if (!ok && i == nmsg - 1)
            oci_error("%s", msgs[i]);
        else
            oci_warn("%s", msgs[i]);
    }
    if (!ok && nmsg == 0)
        oci_error("the supervisor ended during set-up without a cause");
    return ok;
}

static int write_pid_file(const char *path, pid_t pid)
{
    char tmp[PATH_MAX + 8], text[32];
    int fd, n = snprintf(text, sizeof(text), "%d", (int)pid);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (write(fd, text, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    close(fd);
    return rename(tmp, path);
}

/* What create has reserved so far, released when it fails. */
struct reserved {
    char base[PATH_MAX];
    uint32_t cid;
    int cid_fd;
    char run_dir[PATH_MAX];
    char dir[PATH_MAX];
};

static void release(struct reserved *rs, const struct oci_state *st)
{
    if (st)
        cgroup_remove((char(*)[PATH_MAX])st->cgroups, st->ncgroups);
    if (rs->run_dir[0])
        rundir_remove(rs->run_dir);
    if (rs->cid_fd >= 0)
        cid_unlock(rs->base, rs->cid, rs->cid_fd);
    if (rs->dir[0])
        rmdir(rs->dir);
}

/* Fills the launch configuration; -1 with a cause. */
static int configure(struct launch_config *c, const struct oci_vm *vm, const char *image,
                     const char *rootfs, char paths[3][PATH_MAX], const char *name)
{
    if (find_programs(paths[0], paths[1], paths[2]) < 0)
        return -1;
    memset(c, 0, sizeof(*c));
    c->image = image;
    c->share_dir = rootfs;
    c->append = vm->append;
    c->name = name;
    c->console_file = NULL; /* -serial stdio: our stdout, the container's */
    c->qemu_path = paths[0];
    c->virtiofsd_path = paths[1];
    c->vsockd_path = paths[2];
    c->accel = pick_accel(ACCEL_AUTO, NULL);
    c->mem_mib = vm->mem_mib;
    c->cpus = vm->cpus;
    c->npublish = vm->npublish;
    memcpy(c->publish, vm->publish, sizeof(c->publish));
    c->nextra = vm->nshares;
    for (unsigned i = 0; i < vm->nshares; i++) {
        c->extra[i].dir = vm->shares[i].source;
        c->extra[i].guest_path = vm->shares[i].destination;
        snprintf(c->extra[i].tag, sizeof(c->extra[i].tag), "m%u", i + 1);
    }
    return 0;
}

/* The supervisor's instance name: "oci-" and the id's first 12 characters. */
static void instance_name(const char *id, char *out, size_t len)
{
    snprintf(out, len, "oci-%.12s", id);
    for (char *p = out; *p; p++)
        if (*p == '+')
            *p = '_';
}

static int do_create(struct create_opts *o, struct oci_spec *spec, struct reserved *rs,
                     struct oci_state *st)
{
    static char rootfs[PATH_MAX], image[PATH_MAX], paths[3][PATH_MAX];
    static struct oci_vm vm;
    static struct supervise_request req;
    char cause[512], rootfs_in[PATH_MAX * 2], name[32];
    uint32_t need_mib;
    int sp[2];
    pid_t pid;

    if (spec->userns) {
        oci_error("user namespaces (rootless containers) are not supported");
        return -1;
    }
    if (spec->terminal && !o->console_socket) {
        oci_error("process.terminal is set but no --console-socket was given");
        return -1;
    }
    if (spec->has_hooks)
        oci_warn("hooks are not run (a microVM has no container process to hook)");
    snprintf(rootfs_in, sizeof(rootfs_in), "%s%s%s", spec->root_path[0] == '/' ? "" : o->bundle,
             spec->root_path[0] == '/' ? "" : "/", spec->root_path);
    if (!realpath(rootfs_in, rootfs) || !is_dir(rootfs)) {
        oci_error("root.path %s: not a directory", rootfs_in);
        return -1;
    }
    if (check_image(rootfs, spec->argv[0], image, &need_mib) < 0)
        return -1;
    if (oci_vm_from_spec(spec, need_mib, is_dir, &vm, cause, sizeof(cause)) < 0) {
        oci_error("%s", cause);
        return -1;
    }
    if (vm.notes[0])
        oci_warn("%s", vm.notes);
    if (runtime_base(rs->base, sizeof(rs->base)) < 0) {
        oci_error("runtime directory %s: %s", rs->base, strerror(errno));
        return -1;
    }
    if (cid_lock_lowest(rs->base, &rs->cid, &rs->cid_fd) < 0) {
        oci_error("cannot reserve a CID in %s: %s", rs->base, strerror(errno));
        return -1;
    }
    if (snprintf(rs->run_dir, sizeof(rs->run_dir), "%s/oci-%u", rs->base, rs->cid) >=
        (int)sizeof(rs->run_dir)) {
        oci_error("runtime directory %s: path too long", rs->base);
        rs->run_dir[0] = '\0';
        return -1;
    }
    rundir_remove(rs->run_dir); /* left by an instance that was killed: its CID was free */
    if (mkdir(rs->run_dir, 0700) < 0) {
        oci_error("run directory %s: %s", rs->run_dir, strerror(errno));
        rs->run_dir[0] = '\0';
        return -1;
    }
    instance_name(o->id, name, sizeof(name));
    if (configure(&req.cfg, &vm, image, rootfs, paths, name) < 0)
        return -1;
    req.cfg.run_dir = rs->run_dir;
    req.cfg.cid = rs->cid;
    req.spec = spec;
    req.state_dir = rs->dir;
    req.base = rs->base;
    req.cid_fd = rs->cid_fd;
    req.console_socket = o->console_socket;
    if (pipe2(sp, O_CLOEXEC) < 0) {
        oci_error("pipe: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        oci_error("fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(sp[0]);
        req.status_fd = sp[1];
        supervise(&req);
    }
    close(sp[1]);
    bool ok = read_report(sp[0], st);
    close(sp[0]);
    if (!ok) {
        waitpid(pid, NULL, 0);
        return -1;
    }
    /* The supervisor holds the CID lock now; ours goes. */
    close(rs->cid_fd);
    rs->cid_fd = -1;
    snprintf(st->id, sizeof(st->id), "%s", o->id);
    if (!realpath(o->bundle, st->bundle))
        snprintf(st->bundle, sizeof(st->bundle), "%s", o->bundle);
    snprintf(st->rootfs, sizeof(st->rootfs), "%s", rootfs);
    oci_now_rfc3339(st->created, sizeof(st->created));
    st->pid = pid;
    st->pid_start = proc_start_time(pid);
    st->cid = rs->cid;
    snprintf(st->run_dir, sizeof(st->run_dir), "%s", rs->run_dir);
    st->annotations = json_incref(spec->annotations);
    if (oci_state_write(rs->dir, st) < 0 || (o->pid_file && write_pid_file(o->pid_file, pid) < 0)) {
        oci_error("cannot record the container: %s", strerror(errno));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    oci_info("created %s: pid %d, cid %u, %u MiB, %u CPU(s)", o->id, (int)pid, rs->cid, vm.mem_mib,
             vm.cpus);
    return 0;
}

static int cmd_create(int argc, char **argv)
{
    static struct oci_spec spec;
    static struct oci_state st;
    static struct reserved rs;
    struct create_opts o = {0};
    char path[PATH_MAX * 2], err[512], *json;
    size_t len;
    int rc = parse_create(argc, argv, &o);
    if (rc)
        return rc;
    if (!oci_id_is_valid(o.id))
        return usage_error("bad container ID '%s': want 1..256 of [A-Za-z0-9_+.-]", o.id);
    snprintf(path, sizeof(path), "%s/config.json", o.bundle);
    if (read_file(path, CONFIG_MAX_BYTES, &json, &len) < 0) {
        oci_error("%s: %s", path, strerror(errno));
        return 1;
    }
    rc = oci_spec_parse(json, len, &spec, err, sizeof(err));
    free(json);
    if (rc < 0) {
        oci_error("%s", err);
        return 1;
    }
    if (oci_spec_is_sandbox(&spec)) {
        oci_spec_free(&spec);
        return run_runc();
    }
    rs.cid_fd = -1;
    if (state_dir(o.id, rs.dir, sizeof(rs.dir)) < 0 || mkdir(rs.dir, 0700) < 0) {
        if (errno == EEXIST)
            oci_error("container %s exists", o.id);
        else
            oci_error("%s: %s", rs.dir, strerror(errno));
        oci_spec_free(&spec);
        return 1;
    }
    rc = do_create(&o, &spec, &rs, &st);
    if (rc < 0)
        release(&rs, &st);
    oci_state_free(&st);
    oci_spec_free(&spec);
    return rc < 0 ? 1 : 0;
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
    cgroup_remove(st.cgroups, st.ncgroups);
    /* The run directory and CID lock, if the supervisor could not remove them
     * (SIGKILL) and no other instance has taken the CID since. */
    if (runtime_base(base, sizeof(base)) == 0 && cid_lock(base, st.cid, &fd) == 0) {
        rundir_remove(st.run_dir);
        cid_unlock(base, st.cid, fd);
    }
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
            printf("miura-oci version " MIURA_OCI_VERSION "\nspec: 1.0.2\n");
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
