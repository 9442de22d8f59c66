/* SPDX-License-Identifier: BSD-2-Clause */
/* Container records; see state.h. */
#include "oci/state.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/runtime_dir.h"

#define OCI_SPEC_VERSION "1.0.2"

bool oci_id_is_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > OCI_ID_MAX || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return false;
    for (const char *c = id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '+' || *c == '-' || *c == '.'))
            return false;
    return true;
}

int oci_default_root(char *out, size_t len)
{
    if (runtime_dir_default("miura-oci", out, len) < 0)
        return -1;
    return mkdir_p(out, 0700);
}

void oci_now_rfc3339(char *out, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, len - n, ".%09ldZ", ts.tv_nsec);
}

int oci_state_write(const char *dir, const struct oci_state *st)
{
    char path[PATH_MAX + 32], tmp[PATH_MAX + 32];
    json_t *cg = json_array();
    for (unsigned i = 0; cg && i < st->ncgroups; i++)
        json_array_append_new(cg, json_string(st->cgroups[i]));
    json_t *ann = st->annotations ? json_incref(st->annotations) : json_object();
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:s, s:o, s:o}", "id", st->id, "bundle",
                  st->bundle, "rootfs", st->rootfs, "created", st->created, "pid", (int)st->pid,
                  "pid_start", (json_int_t)st->pid_start, "cid", (json_int_t)st->cid, "uid",
                  (json_int_t)st->uid, "run_dir", st->run_dir, "cgroups", cg, "annotations", ann);
    int rc = -1;
    snprintf(path, sizeof(path), "%s/state.json", dir);
    snprintf(tmp, sizeof(tmp), "%s/state.json.tmp", dir);
    if (o && json_dump_file(o, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0)
        rc = 0; /* readers see the whole file or none */
    json_decref(o);
    return rc;
}

static void copy_string(char *dst, size_t len, json_t *v)
{
    snprintf(dst, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int oci_state_read(const char *dir, struct oci_state *st)
{
    char path[PATH_MAX + 32];
    json_error_t je;
    json_t *o, *cg, *v;
    size_t i;
    memset(st, 0, sizeof(*st));
    snprintf(path, sizeof(path), "%s/state.json", dir);
    if (access(path, F_OK) < 0)
        return -1; /* errno from access: ENOENT for no such container */
    o = json_load_file(path, 0, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        errno = EINVAL;
        return -1;
    }
    copy_string(st->id, sizeof(st->id), json_object_get(o, "id"));
    copy_string(st->bundle, sizeof(st->bundle), json_object_get(o, "bundle"));
    copy_string(st->rootfs, sizeof(st->rootfs), json_object_get(o, "rootfs"));
    copy_string(st->created, sizeof(st->created), json_object_get(o, "created"));
    copy_string(st->run_dir, sizeof(st->run_dir), json_object_get(o, "run_dir"));
    st->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
    st->pid_start = (unsigned long long)json_integer_value(json_object_get(o, "pid_start"));
    st->cid = (uint32_t)json_integer_value(json_object_get(o, "cid"));
    st->uid = (uint32_t)json_integer_value(json_object_get(o, "uid"));
    cg = json_object_get(o, "cgroups");
    json_array_foreach(cg, i, v)
    {
        if (st->ncgroups < OCI_CGROUPS_MAX && json_is_string(v))
            copy_string(st->cgroups[st->ncgroups++], PATH_MAX, v);
    }
    v = json_object_get(o, "annotations");
    st->annotations = json_is_object(v) ? json_incref(v) : json_object();
    json_decref(o);
    return 0;
}

void oci_state_free(struct oci_state *st)
{
    json_decref(st->annotations);
    st->annotations = NULL;
}

unsigned long long proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long long start = 0;
    char state;
    FILE *f;
    size_t n;
    if (pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *cp = strrchr(buf, ')'); /* the command may hold spaces and parentheses */
    /* after ")": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
     * utime stime cutime cstime priority nice num_threads itrealvalue starttime(22) */
    if (!cp || sscanf(cp + 1,
                      " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                      "%*d %*d %llu",
                      &state, &start) != 2)
        return 0;
    return state == 'Z' || state == 'X' ? 0 : start;
}

enum oci_status oci_status_of(const char *dir, const struct oci_state *st)
{
    char path[PATH_MAX + 16];
    unsigned long long t = proc_start_time(st->pid);
    if (t == 0 || t != st->pid_start)
        return OCI_STOPPED;
    snprintf(path, sizeof(path), "%s/started", dir);
    return access(path, F_OK) == 0 ? OCI_RUNNING : OCI_CREATED;
}

const char *oci_status_name(enum oci_status s)
{
    return s == OCI_CREATED ? "created" : s == OCI_RUNNING ? "running" : "stopped";
}

json_t *oci_state_json(const struct oci_state *st, enum oci_status status)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "ociVersion",
                          OCI_SPEC_VERSION, "id", st->id, "status", oci_status_name(status), "pid",
                          status == OCI_STOPPED ? 0 : (int)st->pid, "bundle", st->bundle, "rootfs",
                          st->rootfs, "created", st->created, "owner", "");
    if (o && st->annotations && json_object_size(st->annotations) > 0)
        json_object_set(o, "annotations", st->annotations);
    return o;
}

/* The parent of pid, or 0. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512];
    int ppid = 0;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *cp = strrchr(buf, ')');
    if (!cp || sscanf(cp + 1, " %*c %d", &ppid) != 1)
        return 0;
    return (pid_t)ppid;
}

unsigned proc_tree(pid_t root, pid_t *out, unsigned max)
{
    unsigned n = 0;
    if (max == 0 || proc_start_time(root) == 0)
        return 0;
    out[n++] = root;
    /* Repeat the scan until no new descendant shows up (a child listed
     * before its parent is found on the next round). */
    for (bool grew = true; grew && n < max;) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        grew = false;
        while (d && (e = readdir(d)) != NULL && n < max) {
            pid_t pid = (pid_t)atoi(e->d_name), pp;
            bool known = false;
            if (pid <= 0)
                continue;
            for (unsigned i = 0; i < n && !known; i++)
                known = out[i] == pid;
            if (known || (pp = parent_of(pid)) == 0)
                continue;
            for (unsigned i = 0; i < n; i++) {
                if (out[i] == pp) {
                    out[n++] = pid;
                    grew = true;
                    break;
                }
            }
        }
        if (d)
            closedir(d);
    }
    return n;
}
