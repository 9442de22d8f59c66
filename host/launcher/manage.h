/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The commands that look after instances already started: `miura ps [-a]`,
 * `miura logs [-f] [--part P] NAME`, `miura stop NAME`, `miura rm NAME`, and
 * `miura symbolize IMAGE [LOG]`.
 * Each takes its own argv (argv[0] is the command's name) and returns
 * miura's exit status (0; 1 for an unknown or wrong-state instance; 2 for a
 * usage error; 125 when the runtime directory cannot be used).
 */
#ifndef MIURA_LAUNCHER_MANAGE_H
#define MIURA_LAUNCHER_MANAGE_H

#define EXIT_USAGE 2

/* Prints "miura: " + fmt (with arg), then the usage; returns EXIT_USAGE. */
int usage_error(const char *usage, const char *fmt, const char *arg);

int cmd_ps(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_rm(int argc, char **argv);
/* `miura symbolize IMAGE [LOG]`: names a console's crash report addresses. */
int cmd_symbolize(int argc, char **argv);

#endif
