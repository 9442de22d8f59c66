/* SPDX-License-Identifier: BSD-2-Clause */
/* miura-oci's messages; see oci_log.h. */
#include "oci/oci_log.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_path;
static bool log_json;

bool oci_log_setup(const char *path, const char *format)
{
    log_path = path && path[0] ? path : NULL;
    if (!format || strcmp(format, "text") == 0)
        log_json = false;
    else if (strcmp(format, "json") == 0)
        log_json = true;
    else
        return false;
    return true;
}

/* One line to the log file, opened and closed each time (a command logs a few lines at most). */
static void to_file(const char *level, const char *msg)
{
    char when[64], line[4096];
    struct timeval tv;
    struct tm tm;
    int fd, n;
    if (!log_path)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = (int)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - (size_t)n, ".%06ldZ", (long)tv.tv_usec);
    if (log_json) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", when);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        n = snprintf(line, sizeof(line), "%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
    } else {
        char esc[2048];
        size_t k = 0;
        for (const char *c = msg; *c && k + 3 < sizeof(esc); c++) {
            if (*c == '"' || *c == '\\')
                esc[k++] = '\\';
            esc[k++] = *c;
        }
        esc[k] = '\0';
        n = snprintf(line, sizeof(line), "time=\"%s\" level=%s msg=\"%s\"\n", when, level, esc);
    }
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1;
    fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (write(fd, line, (size_t)n) < 0) {
        /* nowhere else to say it */
    }
    close(fd);
}

static void emit(const char *level, bool to_stderr, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (to_stderr)
        fprintf(stderr, "miura-oci: %s\n", msg);
    to_file(level, msg);
}

void oci_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("error", true, fmt, ap);
    va_end(ap);
}

void oci_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("warning", true, fmt, ap);
    va_end(ap);
}

void oci_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("info", false, fmt, ap);
    va_end(ap);
}
