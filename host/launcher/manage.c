/* SPDX-License-Identifier: BSD-2-Clause */
/* ps, logs, stop, rm: instances already started; see manage.h. */
#include "launcher/manage.h"

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
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "common/cidlock.h"
#include "common/runtime_dir.h"
#include "common/symbolize.h"
#include "common/vm_args.h"
#include "launcher/instance.h"
#include "launcher/run.h"
#include "launcher/stats.h"

#define FOLLOW_CHECK_MS 500 /* -f: how often it looks whether the instance still runs */

int usage_error(const char *usage, const char *fmt, const char *arg)
{
    fputs("miura: ", stderr);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return EXIT_USAGE;
}

/* Finds BASE/NAME and reads its meta: 0, 1 (no such instance, said), or 125 (said). */
static int find_instance(const char *name, char *dir, size_t len, struct instance_meta *m)
{
    char base[PATH_MAX];
    if (runtime_base(base, sizeof(base)) < 0) {
        fprintf(stderr, "miura: runtime directory %s: %s\n", base, strerror(errno));
        return EXIT_LAUNCHER_FAILED;
    }
    snprintf(dir, len, "%s/%s", base, name);
    if (meta_read(dir, m) < 0) {
        fprintf(stderr, "miura: no instance named %s\n", name);
        return 1;
    }
    return 0;
}

/* Handles -h/--help and checks for exactly one valid NAME after the options. */
static int one_name(int argc, char **argv, const char *usage, const char **name)
{
    if (optind == argc - 1 &&
        (strcmp(argv[optind], "-h") == 0 || strcmp(argv[optind], "--help") == 0)) {
        fputs(usage, stdout);
        exit(0);
    }
    if (optind != argc - 1)
        return usage_error(usage, "%s takes one NAME", argv[0]);
    if (!name_is_valid(argv[optind]))
        return usage_error(usage, "bad instance name '%s'", argv[optind]);
    *name = argv[optind];
    return 0;
}

/* ---- ps */

static void ps_status(const struct instance_meta *m, bool alive, char *out, size_t len)
{
    if (alive && m->restarts)
        snprintf(out, len, "running, %u restart%s", m->restarts, m->restarts == 1 ? "" : "s");
    else if (alive)
        snprintf(out, len, "running");
    else if (m->ended)
        snprintf(out, len, "exited %d%s: %s", m->status, m->restarts ? " after restarts" : "",
                 m->cause);
    else
        snprintf(out, len, "gone: its launcher was killed (no status)");
}

int cmd_ps(int argc, char **argv)
{
    static const char usage_ps[] = "usage: miura ps [-a] [-v]\n"
                                   "  -a, --all       also ended detached instances, with their "
                                   "exit status and its cause\n"
                                   "  -v, --verbose   a line of connection counters for each "
                                   "running one\n";
    char base[PATH_MAX], dir[PATH_MAX + 256], up[32], status[700];
    struct dirent **names;
    bool all = false, verbose = false;
    int n;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_ps, stdout);
            return 0;
        }
        if (strcmp(argv[i], "-a") == 0 || strcmp(argv[i], "--all") == 0)
            all = true;
        else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
            verbose = true;
        else
            return usage_error(usage_ps, "unexpected argument '%s'", argv[i]);
    }
    if (runtime_base(base, sizeof(base)) < 0) {
        fprintf(stderr, "miura: runtime directory %s: %s\n", base, strerror(errno));
        return EXIT_LAUNCHER_FAILED;
    }
    n = scandir(base, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "miura: %s: %s\n", base, strerror(errno));
        return EXIT_LAUNCHER_FAILED;
    }
    printf("%-24s %-8s %-6s %-28s %-8s %s%s\n", "NAME", "PID", "CID", "PORTS", "UPTIME", "IMAGE",
           all ? "  STATUS" : "");
    for (int i = 0; i < n; i++) {
        struct instance_meta m;
        snprintf(dir, sizeof(dir), "%s/%s", base, names[i]->d_name);
        bool ok = name_is_valid(names[i]->d_name) && meta_read(dir, &m) == 0;
        free(names[i]);
        if (!ok)
            continue;
        bool alive = launcher_alive(m.pid);
        if (!alive && !all)
            continue;
        if (alive)
            format_uptime((long)time(NULL) - m.started, up, sizeof(up));
        else
            snprintf(up, sizeof(up), "-");
        printf("%-24s %-8d %-6u %-28s %-8s %s", m.name, (int)m.pid, m.cid, m.ports, up, m.image);
        if (all) {
            ps_status(&m, alive, status, sizeof(status));
            printf("  %s", status);
        }
        printf("\n");
        if (verbose && alive) {
            char line[512];
            stats_summary(dir, line, sizeof(line));
            printf("    %s\n", line);
        }
    }
    free(names);
    return 0;
}

/* ---- logs */

static const char *const log_parts[][2] = {
    {"console", "console.log"}, {"launcher", "launcher.log"},   {"qemu", "qemu.log"},
    {"vsockd", "vsockd.log"},   {"virtiofsd", "virtiofsd.log"},
};
#define NLOG_PARTS (sizeof(log_parts) / sizeof(log_parts[0]))

static void to_stdout(void *ctx, const char *text, size_t len)
{
    (void)ctx;
    fwrite(text, 1, len, stdout);
}

/* Copies fd to stdout from where it is to its end, without the console's CRs,
 * through the crash report filter f (NULL: as it is). */
static void copy_out(int fd, struct crash_filter *f)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        size_t k = 0;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != '\r')
                buf[k++] = buf[i];
        if (f)
            crash_filter_feed(f, buf, k);
        else if (fwrite(buf, 1, k, stdout) != k)
            return;
    }
    fflush(stdout);
}

/* -f: prints what is appended until the instance's launcher is gone. */
static void follow(int fd, const char *path, pid_t launcher, struct crash_filter *f)
{
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in >= 0)
        inotify_add_watch(in, path, IN_MODIFY);
    for (;;) {
        char ev[4096];
        bool alive = launcher_alive(launcher);
        copy_out(fd, f);
        if (!alive)
            break;
        struct pollfd p = {.fd = in, .events = POLLIN};
        if (poll(&p, in >= 0 ? 1 : 0, FOLLOW_CHECK_MS) > 0)
            while (read(in, ev, sizeof(ev)) > 0)
                ;
    }
    if (in >= 0)
        close(in);
}

/*
 * The console through the crash report filter, named from the image's ELF
 * (IMAGE itself or the IMAGE.elf the build keeps next to it). Without one,
 * the console as it is, and a line on stderr if it held a report.
 */
static void console_out(int fd, const char *path, const char *image, bool follow_it, pid_t pid)
{
    struct elf_symbols syms;
    static struct crash_filter f;
    char err[4400], used[4096];
    bool have = elf_symbols_open(image, &syms, used, sizeof(used), err, sizeof(err)) == 0;
    crash_filter_init(&f, have ? &syms : NULL, to_stdout, NULL);
    if (follow_it)
        follow(fd, path, pid, &f);
    else
        copy_out(fd, &f);
    crash_filter_end(&f);
    fflush(stdout);
    if (!have && f.reports > 0)
        fprintf(stderr, "miura: crash report addresses not named: %s\n", err);
    if (have)
        elf_symbols_free(&syms);
}

int cmd_logs(int argc, char **argv)
{
    static const char usage_logs[] =
        "usage: miura logs [-f] [--part PART] NAME\n"
        "  -f, --follow       keep printing what is added while the instance runs\n"
        "  -p, --part PART    console (default: the guest's console, detached instances),\n"
        "                     launcher, qemu, vsockd, virtiofsd, or all (each with a header)\n"
        "The logs of an ended detached instance stay until `miura rm NAME` or the next\n"
        "start under its name.\n";
    static const struct option longopts[] = {
        {"follow", no_argument, 0, 'f'},
        {"part", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *part = "console", *name;
    char dir[PATH_MAX + 256], path[PATH_MAX + 300];
    struct instance_meta m;
    bool follow_it = false;
    int ch, rc, found = -1;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":fp:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            follow_it = true;
            break;
        case 'p':
            part = optarg;
            break;
        case 'h':
            fputs(usage_logs, stdout);
            return 0;
        case ':':
            return usage_error(usage_logs, "option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error(usage_logs, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if ((rc = one_name(argc, argv, usage_logs, &name)) != 0)
        return rc;
    for (size_t i = 0; i < NLOG_PARTS; i++)
        if (strcmp(part, log_parts[i][0]) == 0)
            found = (int)i;
    if (found < 0 && strcmp(part, "all") != 0)
        return usage_error(usage_logs,
                           "bad --part '%s': want console, launcher, qemu, vsockd, virtiofsd "
                           "or all",
                           part);
    if (found < 0 && follow_it)
        return usage_error(usage_logs, "%s", "--follow takes one part, not all");
    if ((rc = find_instance(name, dir, sizeof(dir), &m)) != 0)
        return rc;
    for (size_t i = 0; i < NLOG_PARTS; i++) {
        if (found >= 0 && (size_t)found != i)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, log_parts[i][1]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && found < 0)
            continue; /* all: the parts that have a log */
        if (fd < 0) {
            if (i == 0 && !m.detached)
                fprintf(stderr,
                        "miura: %s runs in the foreground: its console is on its "
                        "terminal\n",
                        name);
            else
                fprintf(stderr, "miura: %s has no %s log: %s\n", name, part, strerror(errno));
            return 1;
        }
        if (found < 0) {
            printf("==> %s <==\n", log_parts[i][1]);
            fflush(stdout);
        }
        if (i == 0)
            console_out(fd, path, m.image, follow_it, m.pid);
        else if (follow_it)
            follow(fd, path, m.pid, NULL);
        else
            copy_out(fd, NULL);
        close(fd);
    }
    return 0;
}

/* ---- symbolize */

int cmd_symbolize(int argc, char **argv)
{
    static const char usage_sym[] =
        "usage: miura symbolize IMAGE [LOG]\n"
        "Copies LOG (default: standard input) to standard output, naming the addresses\n"
        "of its crash reports from IMAGE's symbol table: IMAGE is the APP.elf the build\n"
        "keeps next to the shipped image (or the shipped image, if APP.elf is next to\n"
        "it). A report from another build is left unnamed, with a note saying so.\n";
    struct elf_symbols syms;
    struct crash_filter *f;
    char err[4400], used[4096], buf[65536];
    ssize_t n;
    int fd = STDIN_FILENO;
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage_sym, stdout);
        return 0;
    }
    if (argc < 2 || argc > 3)
        return usage_error(usage_sym, "%s", argc < 2 ? "an image is needed" : "too many arguments");
    if (elf_symbols_open(argv[1], &syms, used, sizeof(used), err, sizeof(err)) < 0) {
        fprintf(stderr, "miura: %s\n", err);
        return 1;
    }
    if (argc == 3 && (fd = open(argv[2], O_RDONLY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "miura: %s: %s\n", argv[2], strerror(errno));
        elf_symbols_free(&syms);
        return 1;
    }
    f = malloc(sizeof(*f));
    if (!f) {
        fprintf(stderr, "miura: out of memory\n");
        elf_symbols_free(&syms);
        return 1;
    }
    crash_filter_init(f, &syms, to_stdout, NULL);
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        crash_filter_feed(f, buf, (size_t)n);
    int rc = n < 0 ? 1 : 0;
    if (n < 0)
        fprintf(stderr, "miura: %s: %s\n", argc == 3 ? argv[2] : "standard input", strerror(errno));
    crash_filter_end(f);
    fflush(stdout);
    free(f);
    elf_symbols_free(&syms);
    if (fd != STDIN_FILENO)
        close(fd);
    return rc;
}

/* ---- stop, rm */

int cmd_stop(int argc, char **argv)
{
    static const char usage_stop[] =
        "usage: miura stop NAME\n"
        "Sends the instance's launcher SIGTERM: published ports take no new client,\n"
        "connections in flight get its --stop-timeout (10 s by default) to finish,\n"
        "then every part stops.\n";
    char dir[PATH_MAX + 256], base[PATH_MAX];
    struct instance_meta m;
    const char *name;
    int rc;
    optind = 1;
    if ((rc = one_name(argc, argv, usage_stop, &name)) != 0)
        return rc;
    if ((rc = find_instance(name, dir, sizeof(dir), &m)) != 0)
        return rc;
    if (!launcher_alive(m.pid)) {
        if (m.ended) {
            fprintf(stderr, "miura: %s is not running (it exited %d: %s)\n", name, m.status,
                    m.cause);
        } else {
            fprintf(stderr, "miura: %s is not running (removed what it left)\n", name);
            rundir_remove(dir);
        }
        return 1;
    }
    kill(m.pid, SIGTERM);
    /* The drain takes up to its stop timeout and the teardown up to two
     * grace periods of 3 s; then force it. */
    long wait_ms = ((long)m.stop_timeout_s + 10) * 1000;
    for (long t = 0; t < wait_ms && launcher_alive(m.pid); t += 10)
        usleep(10000);
    if (launcher_alive(m.pid)) {
        int fd;
        fprintf(stderr, "miura: %s did not stop in %ld s: killing it\n", name, wait_ms / 1000);
        kill(m.pid, SIGKILL); /* its children follow (PR_SET_PDEATHSIG) */
        for (int i = 0; i < 200 && kill(m.pid, 0) == 0; i++)
            usleep(10000);
        rundir_remove(dir);
        if (runtime_base(base, sizeof(base)) == 0 && cid_lock(base, m.cid, &fd) == 0)
            cid_unlock(base, m.cid, fd);
    }
    printf("stopped %s\n", name);
    return 0;
}

int cmd_rm(int argc, char **argv)
{
    static const char usage_rm[] = "usage: miura rm NAME\n"
                                   "Removes an ended instance's run directory (meta and logs).\n";
    char dir[PATH_MAX + 256];
    struct instance_meta m;
    const char *name;
    int rc;
    optind = 1;
    if ((rc = one_name(argc, argv, usage_rm, &name)) != 0)
        return rc;
    if ((rc = find_instance(name, dir, sizeof(dir), &m)) != 0)
        return rc;
    if (launcher_alive(m.pid)) {
        fprintf(stderr, "miura: %s is running (miura stop %s first)\n", name, name);
        return 1;
    }
    rundir_remove(dir);
    printf("removed %s\n", name);
    return 0;
}
