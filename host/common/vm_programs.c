/* SPDX-License-Identifier: BSD-2-Clause */
/* Finding the programs of an instance, and the accelerator; see vm_programs.h. */
#include "common/vm_programs.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Finds an executable: an absolute or relative path as is, else along PATH. */
int find_program(const char *name, char *out, size_t len)
{
    const char *path = getenv("PATH");
    if (strchr(name, '/')) {
        snprintf(out, len, "%s", name);
        return access(out, X_OK);
    }
    while (path && *path) {
        size_t n = strcspn(path, ":");
        int w = snprintf(out, len, "%.*s/%s", (int)n, n ? path : ".", name);
        if (w > 0 && (size_t)w < len && access(out, X_OK) == 0)
            return 0;
        path += n + (path[n] == ':');
    }
    return -1;
}

int find_vsockd(char *out, size_t len)
{
    const char *env = getenv("MIURA_VSOCKD");
    char self[PATH_MAX];
    ssize_t n;
    if (env && env[0])
        return find_program(env, out, len);
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            if (snprintf(out, len, "%s/miura-vsockd", self) < (int)len && access(out, X_OK) == 0)
                return 0;
        }
    }
    return find_program("miura-vsockd", out, len);
}

int find_virtiofsd(char *out, size_t len)
{
    const char *env = getenv("MIURA_VIRTIOFSD");
    static const char *const known[] = {"/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd"};
    if (env && env[0])
        return find_program(env, out, len);
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (find_program(known[i], out, len) == 0)
            return 0;
    return find_program("virtiofsd", out, len);
}

static bool file_has_word(const char *path, const char *w1, const char *w2)
{
    char line[4096];
    FILE *f = fopen(path, "re");
    bool found = false;
    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        for (char *t = strtok(line, " \t\n"); t && !found; t = strtok(NULL, " \t\n"))
            found = strcmp(t, w1) == 0 || strcmp(t, w2) == 0;
    }
    fclose(f);
    return found;
}

/* --accel auto (DESIGN §5): says what it picked and why, on stderr. */
enum accel pick_accel(enum accel want, const char *prog)
{
    const char *why;
    struct stat st;
    int fd;
    bool usable;
    if (want != ACCEL_AUTO)
        return want;
    fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    usable = fd >= 0;
    if (fd >= 0)
        close(fd);
    enum accel a = accel_auto(usable, file_has_word("/proc/cpuinfo", "vmx", "svm"),
                              stat("/sys/module/kvm_pvm", &st) == 0, &why);
    if (prog)
        fprintf(stderr, "%s: accel %s: %s\n", prog, a == ACCEL_KVM ? "kvm" : "tcg", why);
    return a;
}
