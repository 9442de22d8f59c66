/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef MIURA_LAUNCHER_NEW_H
#define MIURA_LAUNCHER_NEW_H

#include <stdbool.h>
#include <stddef.h>

/* `miura new [--sdk PREFIX] NAME [DIR]`: a new appliance project in DIR
 * (default ./NAME) from the SDK's template (docs/appliances.md). */
int cmd_new(int argc, char **argv);

/* Whether NAME may name an appliance: a lower-case letter, then up to 63
 * lower-case letters, digits, '_' or '-'. */
bool appliance_name_valid(const char *name);

/* The template text with every "@NAME@" and "@PREFIX@" replaced, into out
 * (NUL-terminated); its length, or (size_t)-1 when it does not fit. */
size_t template_fill(const char *text, size_t len, const char *name, const char *prefix, char *out,
                     size_t out_size);

#endif
