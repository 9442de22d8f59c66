/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Self-confinement (host/common/confine.c), for real: each case forks a
 * child that confines itself and then tries things; the parent checks what
 * the kernel says about the child (/proc/PID/status, its namespaces), what
 * the child could reach, and how it ended (SIGSYS and its log line for a
 * call outside the allow-list). As root it also checks --user and the
 * unprivileged path (a child that first drops to uid 65534 confines itself
 * through a user namespace).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/confine.h"
#include "common/log.h"
#include "test.h"

#define NOBODY 65534

/* What the children may call on top of the base rules: open files (to show
 * what they can see), and what AddressSanitizer calls as a process ends. */
static const struct confine_rule test_rules[] = {
    CONFINE_ALLOW(openat),
    CONFINE_ALLOW(sigaltstack),
};

struct child {
    pid_t pid;
    int report; /* the child's lines (its stdout) */
    int err;    /* its stderr */
    int go;     /* closing it lets the child end */
};

enum body { BODY_LOOK, BODY_GETPID, BODY_INET, BODY_EXEC_MAP };

/*
 * Forks a child that (after dropping to uid `drop` when non-zero) confines
 * itself with paths {dir/sock} and user (if uid_to), reports "confined" or
 * "fail <cause>" and then does `body`.
 */
static int child_start(struct child *c, const char *dir, uid_t drop, uid_t uid_to, enum body body)
{
    int rep[2], err[2], go[2];
    if (pipe(rep) < 0 || pipe(err) < 0 || pipe(go) < 0)
        return -1;
    c->pid = fork();
    if (c->pid < 0)
        return -1;
    if (c->pid > 0) {
        close(rep[1]);
        close(err[1]);
        close(go[0]);
        c->report = rep[0];
        c->err = err[0];
        c->go = go[1];
        return 0;
    }
    close(rep[0]);
    close(err[0]);
    close(go[1]);
    dup2(err[1], STDERR_FILENO);
    FILE *out = fdopen(rep[1], "w");
    setvbuf(out, NULL, _IONBF, 0);
    if (drop && (setresgid(drop, drop, drop) < 0 || setresuid(drop, drop, drop) < 0)) {
        fprintf(out, "fail setresuid: %s\n", strerror(errno));
        _exit(3);
    }
    char sock[512], errbuf[512];
    snprintf(sock, sizeof(sock), "%s/s.sock", dir);
    const char *paths[] = {sock};
    /* No data limit: AddressSanitizer maps its own memory as it goes. */
    struct confine_spec spec = {.paths = paths,
                                .npaths = 1,
                                .rules = test_rules,
                                .nrules = sizeof(test_rules) / sizeof(test_rules[0])};
    if (uid_to)
        spec.user = (struct run_user){.set = true, .uid = uid_to, .gid = uid_to};
    if (confine_self(&spec, errbuf, sizeof(errbuf)) < 0) {
        fprintf(out, "fail %s\n", errbuf);
        _exit(3);
    }
    fprintf(out, "confined\n");
    char file[512];
    switch (body) {
    case BODY_LOOK:
        snprintf(file, sizeof(file), "%s/visible", dir);
        fprintf(out, "visible %d\n", open(file, O_RDONLY) >= 0 ? 0 : errno);
        fprintf(out, "passwd %d\n", open("/etc/passwd", O_RDONLY) >= 0 ? 0 : errno);
        fprintf(out, "proc %d\n", open("/proc/self/status", O_RDONLY) >= 0 ? 0 : errno);
        fprintf(out, "root-write %d\n", open("/new", O_CREAT | O_WRONLY, 0600) >= 0 ? 0 : errno);
        fprintf(out, "unix %d\n", socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : errno);
        fprintf(out, "done\n");
        char b;
        (void)!read(go[0], &b, 1); /* until the parent has looked at us */
        break;
    case BODY_GETPID:
        syscall(SYS_getpid); /* not allowed */
        break;
    case BODY_INET:
        socket(AF_INET, SOCK_STREAM, 0); /* socket, but not AF_INET */
        break;
    case BODY_EXEC_MAP:
        mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        break;
    }
    fprintf(out, "survived\n");
    _exit(0);
}

/* Everything the fd says until EOF (or the buffer is full). */
static void read_all(int fd, char *buf, size_t len)
{
    size_t got = 0;
    ssize_t n;
    while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
}

/* Reads the child's report up to a line starting with `until`. */
static void read_until(int fd, char *buf, size_t len, const char *until)
{
    size_t got = 0;
    buf[0] = '\0';
    while (got + 1 < len) {
        ssize_t n = read(fd, buf + got, 1);
        if (n <= 0)
            break;
        got++;
        buf[got] = '\0';
        if (buf[got - 1] == '\n') {
            char *last = buf + got - 1;
            while (last > buf && last[-1] != '\n')
                last--;
            if (strncmp(last, until, strlen(until)) == 0 || strncmp(last, "fail", 4) == 0)
                break;
        }
    }
}

static int child_end(struct child *c)
{
    int st;
    char err[1024];
    close(c->go);
    waitpid(c->pid, &st, 0);
    read_all(c->err, err, sizeof(err));
    if (err[0])
        printf("# child status %#x, stderr: %s\n", st, err);
    close(c->report);
    close(c->err);
    return st;
}

/* The value after "Key:" in /proc/PID/status. */
static void status_field(pid_t pid, const char *key, char *out, size_t len)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    while (f && fgets(line, sizeof(line), f)) {
        size_t k = strlen(key);
        if (strncmp(line, key, k) == 0 && line[k] == ':') {
            const char *v = line + k + 1;
            v += strspn(v, " \t");
            snprintf(out, len, "%.*s", (int)strcspn(v, "\n"), v);
        }
    }
    if (f)
        fclose(f);
}

/* "soft hard" of a line of /proc/PID/limits, e.g. "0 0" for "Max core file size". */
static void limit_of(pid_t pid, const char *name, char *out, size_t len)
{
    char path[64], line[256], soft[32], hard[32];
    snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, name, strlen(name)) == 0 &&
            sscanf(line + strlen(name), "%31s %31s", soft, hard) == 2)
            snprintf(out, len, "%s %s", soft, hard);
    if (f)
        fclose(f);
}

static char dir[] = "/tmp/confine-test.XXXXXX";

static bool dir_made;

static int make_dir(void)
{
    char file[600];
    if (!dir_made && !mkdtemp(dir))
        return -1;
    dir_made = true;
    chmod(dir, 0777); /* the children may run as nobody */
    snprintf(file, sizeof(file), "%s/visible", dir);
    int fd = open(file, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) {
        printf("# %s: %s\n", file, strerror(errno));
        return -1;
    }
    close(fd);
    log_prog = "confine-test";
    return 0;
}

__attribute__((destructor)) static void remove_dir(void)
{
    char file[600];
    if (!dir_made)
        return;
    snprintf(file, sizeof(file), "%s/visible", dir);
    unlink(file);
    rmdir(dir);
}

static bool same_ns(pid_t pid, const char *ns)
{
    char a[64], b[64], la[64] = "", lb[64] = "";
    snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)pid, ns);
    snprintf(b, sizeof(b), "/proc/self/ns/%s", ns);
    if (readlink(a, la, sizeof(la) - 1) < 0 || readlink(b, lb, sizeof(lb) - 1) < 0)
        return true;
    return strcmp(la, lb) == 0;
}

TEST(dir_of)
{
    char out[256];
    CHECK(confine_dir_of("/a/b/c.sock", "/w", out, sizeof(out)) == 0);
    CHECK_STR(out, "/a/b");
    CHECK(confine_dir_of("x.sock", "/w/v", out, sizeof(out)) == 0);
    CHECK_STR(out, "/w/v");
    CHECK(confine_dir_of("../x.sock", "/w/v", out, sizeof(out)) == 0);
    CHECK_STR(out, "/w");
    CHECK(confine_dir_of("/a/./b//c/../d/x", "/", out, sizeof(out)) == 0);
    CHECK_STR(out, "/a/b/d");
    CHECK(confine_dir_of("/x.sock", "/w", out, sizeof(out)) == 0);
    CHECK_STR(out, "/");
    CHECK(confine_dir_of("a/../../../x", "/w", out, sizeof(out)) == 0);
    CHECK_STR(out, "/");
    CHECK(confine_dir_of("/long/dir/x", "/", out, 6) == -1);
}

/* Confined as we are (root: uid 0 kept, no --user). */
TEST(confined_view_and_status)
{
    struct child c;
    char rep[1024], v[64];
    CHECK(make_dir() == 0);
    CHECK(child_start(&c, dir, 0, 0, BODY_LOOK) == 0);
    read_until(c.report, rep, sizeof(rep), "done");
    if (!strstr(rep, "done")) {
        child_end(&c);
        test_fail(__FILE__, __LINE__, "child said: %s", rep);
        return;
    }
    status_field(c.pid, "NoNewPrivs", v, sizeof(v));
    CHECK_STR(v, "1");
    status_field(c.pid, "Seccomp", v, sizeof(v));
    CHECK_STR(v, "2");
    status_field(c.pid, "CapEff", v, sizeof(v));
    CHECK_STR(v, "0000000000000000");
    status_field(c.pid, "CapPrm", v, sizeof(v));
    CHECK_STR(v, "0000000000000000");
    if (geteuid() == 0) { /* an unprivileged child could never have had any */
        status_field(c.pid, "CapBnd", v, sizeof(v));
        CHECK_STR(v, "0000000000000000");
    }
    CHECK(!same_ns(c.pid, "mnt"));
    CHECK(!same_ns(c.pid, "net"));
    limit_of(c.pid, "Max core file size", v, sizeof(v));
    CHECK_STR(v, "0 0");
    limit_of(c.pid, "Max processes", v, sizeof(v));
    CHECK_STR(v, "0 0");
    limit_of(c.pid, "Max locked memory", v, sizeof(v));
    CHECK_STR(v, "0 0");
    char ours[64], nofile[130];
    limit_of(getpid(), "Max open files", ours, sizeof(ours));
    ours[strcspn(ours, " ")] = '\0';
    snprintf(nofile, sizeof(nofile), "%s %s", ours, ours); /* the soft limit, now hard too */
    limit_of(c.pid, "Max open files", v, sizeof(v));
    CHECK_STR(v, nofile);
    CHECK(child_end(&c) == 0);
    CHECK(strstr(rep, "visible 0\n")); /* its own directory */
    CHECK(strstr(rep, "passwd 2\n"));  /* ENOENT: the host's files are not there */
    CHECK(strstr(rep, "proc 2\n"));
    CHECK(strstr(rep, "root-write 30\n")); /* EROFS: the new root is read-only */
    CHECK(strstr(rep, "unix 0\n"));
}

/* A call outside the allow-list: one line naming it, then death by SIGSYS. */
static void forbidden(enum body body, const char *want)
{
    struct child c;
    char err[1024];
    CHECK(make_dir() == 0);
    CHECK(child_start(&c, dir, 0, 0, body) == 0);
    read_all(c.err, err, sizeof(err));
    int st = child_end(&c);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS) {
        test_fail(__FILE__, __LINE__, "child status %#x, stderr: %s", st, err);
        return;
    }
    CHECK(strstr(err, want));
}

TEST(forbidden_call_is_sigsys)
{
    forbidden(BODY_GETPID, "confine-test: seccomp: system call 39 (getpid) is not allowed: "
                           "ending the process\n");
}

TEST(forbidden_socket_family_is_sigsys)
{
    forbidden(BODY_INET, "system call 41 (socket) is not allowed");
}

TEST(executable_mapping_is_sigsys)
{
    forbidden(BODY_EXEC_MAP, "system call 9 (mmap) is not allowed");
}

/* --user: as root the child switches to it; otherwise it is refused. */
TEST(user_identity)
{
    struct child c;
    char rep[1024], v[64];
    CHECK(make_dir() == 0);
    if (geteuid() != 0) {
        CHECK(child_start(&c, dir, 0, 12345, BODY_LOOK) == 0);
        read_until(c.report, rep, sizeof(rep), "done");
        CHECK(child_end(&c) != 0);
        CHECK(strstr(rep, "fail --user needs root"));
        return;
    }
    CHECK(child_start(&c, dir, 0, NOBODY, BODY_LOOK) == 0);
    read_until(c.report, rep, sizeof(rep), "done");
    status_field(c.pid, "Uid", v, sizeof(v));
    CHECK_STR(v, "65534\t65534\t65534\t65534");
    status_field(c.pid, "Gid", v, sizeof(v));
    CHECK_STR(v, "65534\t65534\t65534\t65534");
    status_field(c.pid, "Groups", v, sizeof(v));
    CHECK_STR(v, "");
    status_field(c.pid, "CapBnd", v, sizeof(v));
    CHECK_STR(v, "0000000000000000");
    CHECK(child_end(&c) == 0);
    CHECK(strstr(rep, "visible 0\n"));
    CHECK(strstr(rep, "passwd 2\n"));
}

/* Not root (as root: a child that drops to nobody first): a user namespace of
 * its own makes the other namespaces possible. */
TEST(unprivileged_through_user_namespace)
{
    struct child c;
    char rep[1024], v[64];
    uid_t me = geteuid() == 0 ? NOBODY : geteuid();
    CHECK(make_dir() == 0);
    CHECK(child_start(&c, dir, geteuid() == 0 ? NOBODY : 0, 0, BODY_LOOK) == 0);
    read_until(c.report, rep, sizeof(rep), "done");
    if (!strstr(rep, "done")) {
        child_end(&c);
        test_fail(__FILE__, __LINE__, "child said: %s", rep);
        return;
    }
    char want[64];
    snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", me, me, me, me);
    status_field(c.pid, "Uid", v, sizeof(v));
    CHECK_STR(v, want);
    status_field(c.pid, "Seccomp", v, sizeof(v));
    CHECK_STR(v, "2");
    status_field(c.pid, "NoNewPrivs", v, sizeof(v));
    CHECK_STR(v, "1");
    CHECK(!same_ns(c.pid, "user"));
    CHECK(!same_ns(c.pid, "mnt"));
    CHECK(!same_ns(c.pid, "net"));
    CHECK(child_end(&c) == 0);
    CHECK(strstr(rep, "visible 0\n"));
    CHECK(strstr(rep, "passwd 2\n"));
}

TEST(socket_in_root_refused)
{
    struct child c;
    char rep[1024];
    CHECK(make_dir() == 0);
    CHECK(child_start(&c, "", 0, 0, BODY_LOOK) == 0); /* the path is "/s.sock" */
    read_until(c.report, rep, sizeof(rep), "done");
    CHECK(child_end(&c) != 0);
    CHECK(strstr(rep, "fail /s.sock: a socket in / would leave the whole file system in view"));
}
