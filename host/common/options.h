/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Option values that miura-vsockd and miura-proxy both take. Each function
 * checks one value from getopt; on bad input it prints "<log_prog>: <cause>"
 * on stderr and returns -1, else it stores the value and returns 0.
 */
#ifndef HOST_COMMON_OPTIONS_H
#define HOST_COMMON_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/publish.h"

/* --user: the identity a program switches to once confined (common/confine.h). */
struct run_user {
    bool set;
    uid_t uid;
    gid_t gid;
};

/* The options both programs take, with one meaning. */
struct common_opts {
    const char *uds_path;                     /* -u, --uds: the hybrid vsock Unix socket */
    struct publish_spec publish[PUBLISH_MAX]; /* -p, --publish (repeatable) */
    unsigned npublish;
    unsigned max_conns;       /* -m, --max-conns 1..65536 (the program sets the default) */
    const char *control_path; /* --control: the control socket (common/control.h), or NULL */
    struct run_user user;     /* --user UID:GID or NAME: confined as this identity */
    bool unconfined;          /* --unconfined: skip confinement (debugging, benchmarks) */
};

/* For getopt_long: append to the program's own short options and long option table. */
#define COMMON_SHORTOPTS "u:p:m:vh"
#define OPT_CONTROL      0x100 /* --control has no short form */
#define OPT_USER         0x101 /* nor --user */
#define OPT_UNCONFINED   0x102 /* nor --unconfined */
#define OPT_VERSION      0x103 /* nor --version */
/* clang-format off */
#define COMMON_LONGOPTS                        \
    {"uds", required_argument, 0, 'u'},       \
    {"publish", required_argument, 0, 'p'},   \
    {"max-conns", required_argument, 0, 'm'}, \
    {"control", required_argument, 0, OPT_CONTROL}, \
    {"user", required_argument, 0, OPT_USER}, \
    {"unconfined", no_argument, 0, OPT_UNCONFINED}, \
    {"verbose", no_argument, 0, 'v'},         \
    {"version", no_argument, 0, OPT_VERSION}, \
    {"help", no_argument, 0, 'h'}
/* clang-format on */

/*
 * Takes one getopt_long result that is not the program's own: a shared
 * option is checked and stored in *o (-v raises log_level; -h prints usage on
 * stdout and exits 0; --version prints the program's name and MIURA_VERSION
 * and exits 0). Returns 0, or -1 for a bad value or an unknown option
 * (usage on stderr).
 */
int common_option(int ch, const char *arg, struct common_opts *o, const char *usage);

/* --NAME ARG: a decimal number from min to max; unit ("ms", or NULL) is named in the error. */
int opt_number(const char *name, const char *arg, uint64_t min, uint64_t max, const char *unit,
               uint64_t *out);

/* --publish ARG: appended to list[*n] (PUBLISH_MAX at most, each ADDR:HOSTPORT once). */
int opt_publish(const char *arg, struct publish_spec *list, unsigned *n);

/*
 * --user ARG: "UID:GID" (decimal, both > 0) or a user name (its uid and
 * primary group from the password database; not root).
 */
int opt_user(const char *arg, struct run_user *u);

/* After getopt: no operand may be left (argv[first] is the first one); usage on stderr if so. */
int opt_no_operands(int argc, char **argv, int first, const char *usage);

#endif
