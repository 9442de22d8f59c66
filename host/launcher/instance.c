/* SPDX-License-Identifier: BSD-2-Clause */
/* Run directories and their meta files; see instance.h. */
#include "launcher/instance.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool launcher_alive(pid_t pid)
{
    char path[64], stat[512];
    const char *open_paren, *close_paren;
    size_t n;
    FILE *f;
    if (pid <= 0)
        return false;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return false;
    n = fread(stat, 1, sizeof(stat) - 1, f);
    fclose(f);
    stat[n] = '\0';
    /* "PID (COMM) STATE ...": a zombie (Z) or dead (X) launcher is gone. */
    open_paren = strchr(stat, '(');
    close_paren = strrchr(stat, ')');
    if (!open_paren || !close_paren || close_paren[1] != ' ')
        return false;
    return close_paren - open_paren - 1 == 5 && strncmp(open_paren + 1, "miura", 5) == 0 &&
           close_paren[2] != 'Z' && close_paren[2] != 'X';
}

void rundir_remove_sockets(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct stat st;
    if (!d)
        return;
    while ((e = readdir(d)) != NULL)
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

static bool dir_is_young(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && time(NULL) - st.st_mtime < 10;
}

int rundir_create(const char *base, const char *name, char *out, size_t len, pid_t *holder)
{
    int n = snprintf(out, len, "%s/%s", base, name);
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (int round = 0; round < 2; round++) {
        struct instance_meta m;
        if (mkdir(out, 0700) == 0)
            return 0;
        if (errno != EEXIST)
            return -1;
        bool has_meta = meta_read(out, &m) == 0;
        if (has_meta ? launcher_alive(m.pid) : dir_is_young(out)) {
            /* Live, or just created by a launcher that has not written meta
             * yet (its pid not known: 0). */
            *holder = has_meta ? m.pid : 0;
            errno = EEXIST;
            return -1;
        }
        rundir_remove(out); /* left by a launcher that is gone */
    }
    errno = EEXIST;
    *holder = 0;
    return -1;
}

int meta_write(const char *dir, const struct instance_meta *m)
{
    char path[4096], tmp[4096];
    FILE *f;
    snprintf(path, sizeof(path), "%s/meta", dir);
    snprintf(tmp, sizeof(tmp), "%s/meta.tmp", dir);
    f = fopen(tmp, "we");
    if (!f)
        return -1;
    fprintf(f,
            "name %s\npid %d\ncid %u\nstarted %ld\ndetached %d\naccel %s\nports %s\nimage %s\n"
            "restarts %u\nstop_timeout %u\n",
            m->name, (int)m->pid, m->cid, m->started, m->detached ? 1 : 0, m->accel, m->ports,
            m->image, m->restarts, m->stop_timeout_s);
    if (m->ended) {
        /* The cause is one line: a newline in it would end the record early. */
        char cause[sizeof(m->cause)];
        snprintf(cause, sizeof(cause), "%s", m->cause);
        cause[strcspn(cause, "\n")] = '\0';
        fprintf(f, "ended %ld\nstatus %d\ncause %s\n", m->ended, m->status, cause);
    }
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path); /* readers see the whole file or none */
}

/* Copies a value into a fixed field, truncating. */
static void set_field(char *dst, size_t len, const char *v)
{
    snprintf(dst, len, "%s", v);
}

int meta_read(const char *dir, struct instance_meta *m)
{
    char path[4096], line[8192];
    FILE *f;
    int have = 0;
    memset(m, 0, sizeof(*m));
    snprintf(path, sizeof(path), "%s/meta", dir);
    f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        char *v = strchr(line, ' ');
        line[strcspn(line, "\n")] = '\0';
        if (!v)
            continue;
        *v++ = '\0';
        if (strcmp(line, "name") == 0)
            set_field(m->name, sizeof(m->name), v), have |= 1;
        else if (strcmp(line, "pid") == 0)
            m->pid = (pid_t)strtol(v, NULL, 10), have |= 2;
        else if (strcmp(line, "cid") == 0)
            m->cid = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(line, "started") == 0)
            m->started = strtol(v, NULL, 10);
        else if (strcmp(line, "detached") == 0)
            m->detached = strcmp(v, "1") == 0;
        else if (strcmp(line, "accel") == 0)
            set_field(m->accel, sizeof(m->accel), v);
        else if (strcmp(line, "ports") == 0)
            set_field(m->ports, sizeof(m->ports), v);
        else if (strcmp(line, "image") == 0)
            set_field(m->image, sizeof(m->image), v);
        else if (strcmp(line, "restarts") == 0)
            m->restarts = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(line, "stop_timeout") == 0)
            m->stop_timeout_s = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(line, "ended") == 0)
            m->ended = strtol(v, NULL, 10);
        else if (strcmp(line, "status") == 0)
            m->status = (int)strtol(v, NULL, 10);
        else if (strcmp(line, "cause") == 0)
            set_field(m->cause, sizeof(m->cause), v);
    }
    fclose(f);
    return have == 3 ? 0 : -1;
}

void format_uptime(long s, char *out, size_t len)
{
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(out, len, "%lds", s);
    else if (s < 3600)
        snprintf(out, len, "%ldm%02lds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, len, "%ldh%02ldm", s / 3600, s % 3600 / 60);
    else
        snprintf(out, len, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
}
