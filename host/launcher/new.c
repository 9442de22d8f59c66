/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `miura new`: makes an appliance project out of the SDK's template
 * (PREFIX/lib/miura/template: Makefile and main.c), with the project's name
 * and the SDK's prefix filled in. The SDK is --sdk PREFIX, or the one this
 * program was installed with (its directory's ../lib/miura), or, for the
 * miura of a build tree (build/bin), build/sdk (`make sdk`).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/manage.h"
#include "launcher/new.h"

#define TEMPLATE_MAX (64 * 1024)

static const char usage_new[] =
    "usage: miura new [--sdk PREFIX] NAME [DIR]\n"
    "Makes an appliance project NAME in DIR (default ./NAME, which must not\n"
    "exist): a Makefile and a main.c that serves HTTP. Then: cd DIR && make &&\n"
    "make run (docs/appliances.md). NAME: a lower-case letter, then up to 63\n"
    "lower-case letters, digits, '_' or '-'.\n"
    "  --sdk PREFIX  the Miura installed into PREFIX (make install PREFIX=...);\n"
    "                default: the one this miura belongs to\n";

bool appliance_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || name[0] < 'a' || name[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

size_t template_fill(const char *text, size_t len, const char *name, const char *prefix, char *out,
                     size_t out_size)
{
    size_t o = 0;
    if (out_size == 0)
        return (size_t)-1;
    for (size_t i = 0; i < len;) {
        const char *piece = NULL;
        size_t skip = 1;
        if (text[i] == '@' && len - i >= 6 && memcmp(text + i, "@NAME@", 6) == 0)
            piece = name, skip = 6;
        else if (text[i] == '@' && len - i >= 8 && memcmp(text + i, "@PREFIX@", 8) == 0)
            piece = prefix, skip = 8;
        size_t n = piece ? strlen(piece) : 1;
        if (n >= out_size - o)
            return (size_t)-1;
        memcpy(out + o, piece ? piece : text + i, n);
        o += n;
        i += skip;
    }
    out[o] = '\0';
    return o;
}

/* Whether PREFIX holds an SDK (its template). */
static bool sdk_at(const char *prefix)
{
    char path[PATH_MAX];
    return snprintf(path, sizeof(path), "%s/lib/miura/template/main.c", prefix) <
               (int)sizeof(path) &&
           access(path, R_OK) == 0;
}

/* The SDK this program belongs to: 0 and its prefix (absolute), or -1. */
static int own_sdk(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0'; /* its bin directory */
    slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    if (snprintf(out, len, "%s", self[0] ? self : "/") < (int)len && sdk_at(out))
        return 0; /* PREFIX/bin/miura */
    if (snprintf(out, len, "%s/sdk", self) < (int)len && sdk_at(out))
        return 0; /* build/bin/miura of a tree: build/sdk */
    return -1;
}

/* Writes DIR/FILE from the template's FILE. 0, or -1 with the cause said. */
static int write_file(const char *sdk, const char *dir, const char *file, const char *name)
{
    char src[PATH_MAX], dst[PATH_MAX];
    static char text[TEMPLATE_MAX], filled[TEMPLATE_MAX + 4096];
    snprintf(src, sizeof(src), "%s/lib/miura/template/%s", sdk, file);
    snprintf(dst, sizeof(dst), "%s/%s", dir, file);
    FILE *f = fopen(src, "re");
    if (!f) {
        fprintf(stderr, "miura: %s: %s\n", src, strerror(errno));
        return -1;
    }
    size_t len = fread(text, 1, sizeof(text), f);
    bool bad = ferror(f) || !feof(f);
    fclose(f);
    size_t n = bad ? (size_t)-1 : template_fill(text, len, name, sdk, filled, sizeof(filled));
    if (n == (size_t)-1) {
        fprintf(stderr, "miura: %s: unreadable or larger than %d bytes\n", src, TEMPLATE_MAX);
        return -1;
    }
    int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, filled, n) != (ssize_t)n) {
        fprintf(stderr, "miura: %s: %s\n", dst, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return close(fd);
}

int cmd_new(int argc, char **argv)
{
    static const struct option opts[] = {{"sdk", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *sdk_arg = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 's')
            sdk_arg = optarg;
        else if (c == 'h') {
            fputs(usage_new, stdout);
            return 0;
        } else if (optopt == 's')
            return usage_error(usage_new, "option '%s' needs a value", argv[optind - 1]);
        else
            return usage_error(usage_new, "unknown option '%s'", argv[optind - 1]);
    }
    if (optind >= argc)
        return usage_error(usage_new, "%s", "NAME missing");
    if (argc - optind > 2)
        return usage_error(usage_new, "unexpected argument '%s'", argv[optind + 2]);
    const char *name = argv[optind];
    const char *dir = argc - optind == 2 ? argv[optind + 1] : name;
    if (!appliance_name_valid(name))
        return usage_error(usage_new,
                           "bad NAME '%s': want a lower-case letter, then up to 63 lower-case "
                           "letters, digits, '_' or '-'",
                           name);
    if (!dir[0] || strlen(dir) > PATH_MAX - 64)
        return usage_error(usage_new, "bad DIR '%s'", dir);
    char sdk[PATH_MAX];
    if (sdk_arg) {
        if (!realpath(sdk_arg, sdk) || !sdk_at(sdk)) {
            fprintf(stderr,
                    "miura: --sdk %s is not an installed Miura (no lib/miura/template in it)\n",
                    sdk_arg);
            return 1;
        }
    } else if (own_sdk(sdk, sizeof(sdk)) < 0) {
        fprintf(stderr, "miura: no Miura SDK next to this miura: install one (make install "
                        "PREFIX=DIR) and use DIR/bin/miura, or pass --sdk PREFIX\n");
        return 1;
    }
    if (mkdir(dir, 0755) < 0) {
        fprintf(stderr, "miura: cannot make %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (write_file(sdk, dir, "Makefile", name) < 0 || write_file(sdk, dir, "main.c", name) < 0) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/Makefile", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/main.c", dir);
        unlink(path);
        rmdir(dir); /* nothing half made stays */
        return 1;
    }
    printf("made %s: %s/Makefile and %s/main.c (Miura at %s)\n"
           "build and run: cd %s && make && make run\n",
           name, dir, dir, sdk, dir);
    return 0;
}
