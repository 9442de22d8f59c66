/* SPDX-License-Identifier: BSD-2-Clause */
#include "fs_harness.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/vfs.h"
#include "lib/fd/fd.h"

char console_out[4096];
size_t console_len;
const char *fake_cmdline_fs;

void console_write(const char *s, size_t n)
{
    if (n > sizeof(console_out) - console_len)
        n = sizeof(console_out) - console_len;
    memcpy(console_out + console_len, s, n);
    console_len += n;
}

const char *fake_cmdline_at_key, *fake_cmdline_at_value;

const char *miura_getarg(const char *key)
{
    if (fake_cmdline_at_key && strcmp(key, fake_cmdline_at_key) == 0)
        return fake_cmdline_at_value;
    return strcmp(key, "fs") == 0 ? fake_cmdline_fs : NULL;
}

static struct fake_fs *current;

struct fake_fs *harness_fake(void)
{
    if (current) { /* an earlier test failed half-way */
        for (int fd = FD_CONSOLES; fd < FD_MAX; fd++)
            (void)fd_close(fd);
        current->hook = NULL;
        (void)vfs_unmount("/");
        fake_free(current);
    }
    vfs_set_cache_limit(VFS_DCACHE_LIMIT);
    console_len = 0;
    current = fake_new();
    return current;
}

struct fake_fs *harness_mount(void)
{
    struct fake_fs *fs = harness_fake();

    return vfs_mount("/", &fs->conn) == 0 ? fs : NULL;
}

const char *harness_unmount(struct fake_fs *fs)
{
    static char why[200];
    int rc = vfs_unmount("/");

    if (rc != 0)
        snprintf(why, sizeof(why), "unmount: %d", rc);
    else if (fake_unforgotten(fs) != 0)
        snprintf(why, sizeof(why), "%lld lookups not forgotten", (long long)fake_unforgotten(fs));
    else if (fs->n_open != 0)
        snprintf(why, sizeof(why), "%u handles not released", fs->n_open);
    else if (fs->protocol_errors != 0)
        snprintf(why, sizeof(why), "%u protocol errors", fs->protocol_errors);
    else if (fs->dot_lookups != 0)
        snprintf(why, sizeof(why), "%u lookups of . or ..", fs->dot_lookups);
    else if (vfs_cache_stats().inodes != 0 || vfs_cache_stats().dentries != 0)
        snprintf(why, sizeof(why), "caches not empty: %u inodes, %u dentries",
                 vfs_cache_stats().inodes, vfs_cache_stats().dentries);
    else
        return NULL; /* fs stays readable until the next harness_fake() */
    return why;
}

__attribute__((destructor)) static void harness_exit(void)
{
    if (current && vfs_unmount("/") != -EBUSY)
        fake_free(current);
}
