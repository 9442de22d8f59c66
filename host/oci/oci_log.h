/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura-oci's messages: each is one line "miura-oci: TEXT" on stderr and, with
 * the global --log FILE, one line appended to FILE in --log-format text
 * (`time="..." level=error msg="..."`) or json (`{"level":"error","msg":"...",
 * "time":"..."}`), the forms runc writes; containerd's shim reads the last
 * error of the json log as the cause of a failed command.
 */
#ifndef MIURA_OCI_LOG_H
#define MIURA_OCI_LOG_H

#include <stdbool.h>

/* Sets the log file (NULL: none) and its format; false for an unknown format. */
bool oci_log_setup(const char *path, const char *format);

void oci_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void oci_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* To the log file only (a successful step worth recording). */
void oci_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
