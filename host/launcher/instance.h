/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Where instances live on the host, and what `miura ps` and `miura stop`
 * read. The runtime base is $MIURA_RUNTIME_DIR, else /run/miura for root,
 * else $XDG_RUNTIME_DIR/miura, else /tmp/miura-UID. It holds the CID locks
 * (cid-N.lock) and one private run directory per instance (BASE/NAME, 0700):
 *
 *   meta          key/value lines: name, pid, cid, image, ports, started, ...;
 *                 restarts; when it has ended: ended, status, cause
 *   vhost.sock    miura-vsockd's vhost-user socket (QEMU connects)
 *   vsock.sock    hybrid vsock socket (host -> guest "CONNECT <port>")
 *   vsockd.ctl    miura-vsockd's control socket (miura stats, miura ps -v)
 *   fs.sock       virtiofsd's vhost-user socket (with --share)
 *   *.log         each part's output (appended across restarts); console.log
 *                 and launcher.log when detached
 *
 * When a foreground instance ends, all of it is removed. A detached one
 * keeps its meta (with the end recorded) and logs, for `miura logs` and
 * `miura ps -a`, until `miura rm` or the next start under its name; only its
 * sockets go.
 */
#ifndef MIURA_LAUNCHER_INSTANCE_H
#define MIURA_LAUNCHER_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/runtime_dir.h" /* runtime_base, rundir_remove */

/* What the meta file of a run directory records. */
struct instance_meta {
    char name[65];
    pid_t pid; /* the launcher supervising the instance */
    uint32_t cid;
    long started; /* seconds since the epoch */
    bool detached;
    char image[4096];
    char ports[1024]; /* "ADDR:HOST->GUEST,..." or "-" */
    char accel[8];
    uint32_t restarts;       /* restarts so far (--restart) */
    uint32_t stop_timeout_s; /* the graceful stop's bound (--stop-timeout) */
    long ended;              /* seconds since the epoch; 0 while it runs */
    int status;              /* miura's exit status, once ended */
    char cause[512];         /* which part ended first and how, once ended */
};

/*
 * Creates BASE/NAME. A directory left by an instance whose launcher is gone
 * is removed first; a live one gives -1 with errno EEXIST and *holder set
 * (its launcher's pid, or 0 for one that is starting and has not said it).
 */
int rundir_create(const char *base, const char *name, char *out, size_t len, pid_t *holder);

/* Removes the sockets in the run directory (what an ended instance keeps is its logs). */
void rundir_remove_sockets(const char *dir);

int meta_write(const char *dir, const struct instance_meta *m);
int meta_read(const char *dir, struct instance_meta *m);

/* Whether pid is a running miura launcher. */
bool launcher_alive(pid_t pid);

/* Formats an uptime of secs seconds as "45s", "12m03s", "5h07m", "3d04h". */
void format_uptime(long secs, char *out, size_t len);

#endif
