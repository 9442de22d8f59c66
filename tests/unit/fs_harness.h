/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared by the fs unit tests: a fake server mounted at "/", the console
 * and command-line fakes the fs unit needs, and a teardown that checks the
 * session ended clean (everything released and forgotten).
 */
#ifndef MIURA_TESTS_FS_HARNESS_H
#define MIURA_TESTS_FS_HARNESS_H

#include "fuse_fake.h"

extern char console_out[4096];
extern size_t console_len;
extern const char *fake_cmdline_fs; /* value of `fs=` (NULL: absent) */
/* one more word: its key (e.g. "fs.data") and value (NULL: absent) */
extern const char *fake_cmdline_at_key, *fake_cmdline_at_value;

/* A fresh fake; cleans up whatever a failed earlier test left. Not mounted. */
struct fake_fs *harness_fake(void);
/* harness_fake() and mounted at "/"; NULL if the mount failed. */
struct fake_fs *harness_mount(void);
/* Unmounts "/"; returns a description of what did not end clean, or NULL.
 * fs stays valid (for inspection) until the next harness_fake(). */
const char *harness_unmount(struct fake_fs *fs);

#endif
