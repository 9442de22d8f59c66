/* SPDX-License-Identifier: BSD-2-Clause */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>

const char *log_prog = "miura";
int log_level;

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;
    char line[512];
    if (level > log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", log_prog, line);
}

int log_due(struct log_limit *l, uint64_t now_ms, uint64_t interval_ms, uint64_t *skipped)
{
    if (l->said && now_ms - l->last_ms < interval_ms) {
        l->skipped++;
        return 0;
    }
    *skipped = l->skipped;
    l->skipped = 0;
    l->last_ms = now_ms;
    l->said = 1;
    return 1;
}

void log_one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}
