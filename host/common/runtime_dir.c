/* SPDX-License-Identifier: BSD-2-Clause */
/* The runtime base and run directories; see runtime_dir.h. */
#include "common/runtime_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mkdir_p(const char *path, mode_t mode)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

int runtime_dir_default(const char *name, char *out, size_t len)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (geteuid() == 0)
        n = snprintf(out, len, "/run/%s", name);
    else if (xdg && xdg[0] == '/')
        n = snprintf(out, len, "%s/%s", xdg, name);
    else
        n = snprintf(out, len, "/tmp/%s-%u", name, (unsigned)geteuid());
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int runtime_base(char *out, size_t len)
{
    const char *env = getenv("MIURA_RUNTIME_DIR");
    if (env && env[0]) {
        if ((size_t)snprintf(out, len, "%s", env) >= len) {
            errno = ENAMETOOLONG;
            return -1;
        }
    } else if (runtime_dir_default("miura", out, len) < 0) {
        return -1;
    }
    if (mkdir_p(out, 0700) < 0)
        return -1;
    struct stat st;
    if (stat(out, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
        errno = EPERM; /* someone else's directory: not a place for our sockets */
        return -1;
    }
    return 0;
}

/*
 * The cgroups a launcher recorded (RUNDIR_CGROUPS, one directory a line):
 * a launcher that was killed could not remove them. Only directories under
 * /sys/fs/cgroup/ in a miura.slice are taken, and rmdir takes only an empty
 * cgroup, so a file written by anyone else can do no harm.
 */
static void remove_recorded_cgroups(const char *dir)
{
    char path[4096], line[4096];
    FILE *f;
    if ((size_t)snprintf(path, sizeof(path), "%s/" RUNDIR_CGROUPS, dir) >= sizeof(path) ||
        !(f = fopen(path, "re")))
        return;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "/sys/fs/cgroup/", 15) == 0 && strstr(line, "/miura.slice/") &&
            !strstr(line, "/../"))
            rmdir(line);
    }
    fclose(f);
}

void rundir_remove(const char *dir)
{
    DIR *d;
    struct dirent *e;
    remove_recorded_cgroups(dir);
    d = opendir(dir);
    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            unlinkat(dirfd(d), e->d_name, 0);
        }
        closedir(d);
    }
    rmdir(dir);
}
