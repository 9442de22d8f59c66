/* SPDX-License-Identifier: BSD-2-Clause */
#include "common/options.h"

#include <errno.h> /* program_invocation_short_name */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "common/log.h"
#include "common/number.h"
#include "common/version.h"

int opt_number(const char *name, const char *arg, uint64_t min, uint64_t max, const char *unit,
               uint64_t *out)
{
    if (parse_decimal(arg, min, max, out) == 0)
        return 0;
    fprintf(stderr, "%s: bad --%s '%s': want %llu..%llu%s%s%s\n", log_prog, name, arg,
            (unsigned long long)min, (unsigned long long)max, unit ? " (" : "", unit ? unit : "",
            unit ? ")" : "");
    return -1;
}

int opt_publish(const char *arg, struct publish_spec *list, unsigned *n)
{
    struct publish_spec *p = &list[*n];
    if (*n == PUBLISH_MAX) {
        fprintf(stderr, "%s: at most %d --publish\n", log_prog, PUBLISH_MAX);
        return -1;
    }
    if (publish_parse(arg, p)) {
        fprintf(stderr, "%s: bad --publish '%s': want " PUBLISH_SYNTAX "\n", log_prog, arg);
        return -1;
    }
    for (unsigned i = 0; i < *n; i++)
        if (list[i].host_port == p->host_port && strcmp(list[i].addr, p->addr) == 0) {
            fprintf(stderr, "%s: %s:%u is published twice\n", log_prog, p->addr, p->host_port);
            return -1;
        }
    (*n)++;
    return 0;
}

int opt_user(const char *arg, struct run_user *u)
{
    const char *colon = strchr(arg, ':');
    uint64_t uid, gid;
    if (colon) {
        char num[24];
        size_t n = (size_t)(colon - arg);
        if (n == 0 || n >= sizeof(num))
            goto bad;
        memcpy(num, arg, n);
        num[n] = '\0';
        /* 0 is root; (uid_t)-1 means "unchanged" to setresuid. */
        if (parse_decimal(num, 1, UINT32_MAX - 1, &uid) ||
            parse_decimal(colon + 1, 1, UINT32_MAX - 1, &gid))
            goto bad;
    } else {
        const struct passwd *pw = arg[0] ? getpwnam(arg) : NULL;
        if (!pw) {
            fprintf(stderr, "%s: --user %s: no such user\n", log_prog, arg);
            return -1;
        }
        if (pw->pw_uid == 0 || pw->pw_gid == 0) {
            fprintf(stderr, "%s: --user %s: that is root (uid or gid 0)\n", log_prog, arg);
            return -1;
        }
        uid = pw->pw_uid;
        gid = pw->pw_gid;
    }
    *u = (struct run_user){.set = true, .uid = (uid_t)uid, .gid = (gid_t)gid};
    return 0;
bad:
    fprintf(stderr, "%s: bad --user '%s': want UID:GID (1..4294967294 each) or a user name\n",
            log_prog, arg);
    return -1;
}

int opt_no_operands(int argc, char **argv, int first, const char *usage)
{
    if (first >= argc)
        return 0;
    fprintf(stderr, "%s: unexpected argument '%s'\n%s", log_prog, argv[first], usage);
    return -1;
}

/* A Unix socket path of ours: not empty, fits sun_path. */
static int unix_path(const char *name, const char *arg)
{
    if (arg[0] && strlen(arg) < sizeof(((struct sockaddr_un *)0)->sun_path))
        return 0;
    fprintf(stderr, "%s: bad --%s '%s': empty or too long for a Unix socket\n", log_prog, name,
            arg);
    return -1;
}

int common_option(int ch, const char *arg, struct common_opts *o, const char *usage)
{
    uint64_t v;
    switch (ch) {
    case 'u':
        if (unix_path("uds", arg))
            return -1;
        o->uds_path = arg;
        return 0;
    case OPT_CONTROL:
        if (unix_path("control", arg))
            return -1;
        o->control_path = arg;
        return 0;
    case OPT_USER:
        return opt_user(arg, &o->user);
    case OPT_UNCONFINED:
        o->unconfined = true;
        return 0;
    case 'p':
        return opt_publish(arg, o->publish, &o->npublish);
    case 'm':
        if (opt_number("max-conns", arg, 1, 65536, NULL, &v))
            return -1;
        o->max_conns = (unsigned)v;
        return 0;
    case 'v':
        log_level++;
        return 0;
    case 'h':
        fputs(usage, stdout);
        exit(0);
    case OPT_VERSION:
        printf("%s %s\n", program_invocation_short_name, MIURA_VERSION);
        exit(0);
    default:
        fputs(usage, stderr);
        return -1;
    }
}
