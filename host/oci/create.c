/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `miura-oci create`: reads the bundle, checks the image, reserves a CID and
 * a run directory, forks the supervisor (supervise.h) and waits for its
 * report; on success records the container (state.h) and writes the pid
 * file, on failure says why in one line and leaves nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cidlock.h"
#include "common/vm_identity.h"
#include "common/pvh_image.h"
#include "common/runtime_dir.h"
#include "common/vm_programs.h"
#include "oci/cgroup.h"
#include "oci/commands.h"
#include "oci/oci_log.h"
#include "oci/spec.h"
#include "oci/state.h"
#include "oci/supervise.h"
#include "oci/vmconfig.h"

#define IMAGE_MAX_BYTES  (64u << 20)
#define CONFIG_MAX_BYTES (16u << 20)

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
    struct instance_id id; /* as root: the instance's own (vm_identity.h) */
    int id_fd;             /* its lock, or -1 */
    char run_dir[PATH_MAX];
    char dir[PATH_MAX];
};

static void release(struct reserved *rs, const struct oci_state *st)
{
    if (st)
        cgroup_remove((char(*)[PATH_MAX])st->cgroups, st->ncgroups, 2000);
    if (rs->run_dir[0])
        rundir_remove(rs->run_dir);
    identity_release(rs->run_dir, false, &rs->id, rs->id_fd);
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
    static char rootfs[PATH_MAX], image[PATH_MAX], paths[3][PATH_MAX], kernel[PATH_MAX + 16];
    static struct oci_vm vm;
    static struct supervise_request req;
    char cause[1024], rootfs_in[PATH_MAX * 2], name[32];
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
    /* As root, the instance's own uid and gid, as under `miura run`: QEMU
     * and miura-vsockd run as it, the run directory is root:GID 0710 and
     * QEMU reads a copy of the image in it (vm_identity.h). virtiofsd stays
     * root for its own sandbox (docs/security.md). */
    if (geteuid() == 0) {
        if (identity_take(false, &rs->id, &rs->id_fd, cause, sizeof(cause)) < 0) {
            oci_error("%s", cause);
            return -1;
        }
        snprintf(kernel, sizeof(kernel), "%s/%s", rs->run_dir, IDENTITY_KERNEL);
        if (identity_rundir(rs->run_dir, &rs->id, image, kernel, cause, sizeof(cause)) < 0) {
            oci_error("%s", cause);
            return -1;
        }
        req.cfg.own_id = true;
        req.cfg.uid = rs->id.uid;
        req.cfg.gid = rs->id.gid;
        req.cfg.image = kernel;
    }
    req.id_fd = rs->id_fd;
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
    /* The supervisor holds the CID and identity locks now; ours go. */
    close(rs->cid_fd);
    rs->cid_fd = -1;
    if (rs->id_fd >= 0)
        close(rs->id_fd);
    rs->id_fd = -1;
    snprintf(st->id, sizeof(st->id), "%s", o->id);
    if (!realpath(o->bundle, st->bundle))
        snprintf(st->bundle, sizeof(st->bundle), "%s", o->bundle);
    snprintf(st->rootfs, sizeof(st->rootfs), "%s", rootfs);
    oci_now_rfc3339(st->created, sizeof(st->created));
    st->pid = pid;
    st->pid_start = proc_start_time(pid);
    st->cid = rs->cid;
    st->uid = req.cfg.own_id ? req.cfg.uid : 0;
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

int cmd_create(int argc, char **argv)
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
    rs.id_fd = -1;
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
