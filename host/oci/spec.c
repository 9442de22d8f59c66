/* SPDX-License-Identifier: BSD-2-Clause */
/* config.json into struct oci_spec; see spec.h. */
#include "oci/spec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "common/log.h"

static const struct {
    const char *name;
    int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

struct parse {
    struct oci_spec *s;
    char *err;
    size_t errlen;
};

static int fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parse *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
    log_one_line(p->err); /* a cause is one line */
    return -1;
}

/* obj.key as a string: 0 (and *out, NULL when absent), or -1 when not a string. */
static int get_string(struct parse *p, json_t *obj, const char *key, const char *path,
                      const char **out)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(p, "%s: want a string", path);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return fail(p, "%s: has a NUL byte", path);
    *out = json_string_value(v);
    return 0;
}

/* obj.key as an integer: 0 (*present false when absent), or -1 when not an integer. */
static int get_int(struct parse *p, json_t *obj, const char *key, const char *path, int64_t *out,
                   bool *present)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    *present = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return fail(p, "%s: want an integer", path);
    *out = (int64_t)json_integer_value(v);
    *present = true;
    return 0;
}

/* obj.key as an object (NULL when absent), or -1 when something else. */
static int get_object(struct parse *p, json_t *obj, const char *key, const char *path, json_t **out)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(p, "%s: want an object", path);
    *out = v;
    return 0;
}

static int get_array(struct parse *p, json_t *obj, const char *key, const char *path, json_t **out)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return fail(p, "%s: want an array", path);
    *out = v;
    return 0;
}

static int parse_process(struct parse *p, json_t *root)
{
    struct oci_spec *s = p->s;
    json_t *proc, *args, *rl, *v;
    size_t i;
    if (get_object(p, root, "process", "process", &proc) < 0)
        return -1;
    if (!proc)
        return fail(p, "process: missing (nothing to run)");
    if (get_array(p, proc, "args", "process.args", &args) < 0)
        return -1;
    if (!args || json_array_size(args) == 0)
        return fail(p, "process.args: want a non-empty array of strings");
    if (json_array_size(args) > OCI_ARGS_MAX)
        return fail(p, "process.args: more than %d arguments", OCI_ARGS_MAX);
    json_array_foreach(args, i, v)
    {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            return fail(p, "process.args[%zu]: want a string without NUL bytes", i);
        s->argv[s->argc++] = json_string_value(v);
    }
    v = json_object_get(proc, "terminal");
    if (v && !json_is_boolean(v) && !json_is_null(v))
        return fail(p, "process.terminal: want true or false");
    s->terminal = v && json_is_true(v);
    if (get_array(p, proc, "rlimits", "process.rlimits", &rl) < 0)
        return -1;
    json_array_foreach(rl, i, v)
    {
        const char *type;
        int64_t soft = 0, hard = 0;
        bool has_soft, has_hard;
        size_t k;
        if (!json_is_object(v))
            return fail(p, "process.rlimits[%zu]: want an object", i);
        if (get_string(p, v, "type", "process.rlimits[].type", &type) < 0 ||
            get_int(p, v, "soft", "process.rlimits[].soft", &soft, &has_soft) < 0 ||
            get_int(p, v, "hard", "process.rlimits[].hard", &hard, &has_hard) < 0)
            return -1;
        if (!type || !has_soft || !has_hard || soft < 0 || hard < 0)
            return fail(p, "process.rlimits[%zu]: want type, soft and hard (>= 0)", i);
        for (k = 0; k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++)
            if (strcmp(type, rlimit_names[k].name) == 0)
                break;
        if (k == sizeof(rlimit_names) / sizeof(rlimit_names[0]))
            return fail(p, "process.rlimits[%zu]: unknown type '%.64s'", i, type);
        if (s->nrlimits == OCI_RLIMITS_MAX)
            return fail(p, "process.rlimits: more than %d", OCI_RLIMITS_MAX);
        s->rlimits[s->nrlimits++] = (struct oci_rlimit){.resource = rlimit_names[k].resource,
                                                        .name = rlimit_names[k].name,
                                                        .soft = (uint64_t)soft,
                                                        .hard = (uint64_t)hard};
    }
    return 0;
}

static int parse_mounts(struct parse *p, json_t *root)
{
    struct oci_spec *s = p->s;
    json_t *mounts, *m;
    size_t i;
    if (get_array(p, root, "mounts", "mounts", &mounts) < 0)
        return -1;
    if (json_array_size(mounts) > OCI_MOUNTS_MAX)
        return fail(p, "mounts: more than %d", OCI_MOUNTS_MAX);
    json_array_foreach(mounts, i, m)
    {
        struct oci_mount *o = &s->mounts[s->nmounts];
        json_t *opts, *v;
        size_t k;
        memset(o, 0, sizeof(*o));
        if (!json_is_object(m))
            return fail(p, "mounts[%zu]: want an object", i);
        if (get_string(p, m, "destination", "mounts[].destination", &o->destination) < 0 ||
            get_string(p, m, "source", "mounts[].source", &o->source) < 0 ||
            get_string(p, m, "type", "mounts[].type", &o->type) < 0 ||
            get_array(p, m, "options", "mounts[].options", &opts) < 0)
            return -1;
        if (!o->destination || o->destination[0] != '/')
            return fail(p, "mounts[%zu].destination: want an absolute path", i);
        o->bind = o->type && strcmp(o->type, "bind") == 0;
        json_array_foreach(opts, k, v)
        {
            const char *opt = json_string_value(v);
            if (!opt)
                return fail(p, "mounts[%zu].options[%zu]: want a string", i, k);
            if (strcmp(opt, "bind") == 0 || strcmp(opt, "rbind") == 0)
                o->bind = true;
            else if (strcmp(opt, "ro") == 0)
                o->readonly = true;
            else if (strcmp(opt, "rw") == 0)
                o->readonly = false;
        }
        s->nmounts++;
    }
    return 0;
}

static int parse_namespaces(struct parse *p, json_t *linux_obj)
{
    struct oci_spec *s = p->s;
    json_t *nss, *ns;
    size_t i;
    if (get_array(p, linux_obj, "namespaces", "linux.namespaces", &nss) < 0)
        return -1;
    json_array_foreach(nss, i, ns)
    {
        const char *type, *path;
        if (!json_is_object(ns))
            return fail(p, "linux.namespaces[%zu]: want an object", i);
        if (get_string(p, ns, "type", "linux.namespaces[].type", &type) < 0 ||
            get_string(p, ns, "path", "linux.namespaces[].path", &path) < 0)
            return -1;
        if (!type)
            return fail(p, "linux.namespaces[%zu].type: missing", i);
        if (strcmp(type, "network") == 0) {
            if (path && path[0] != '/')
                return fail(p, "linux.namespaces[%zu].path: want an absolute path", i);
            s->netns = path && path[0] ? OCI_NETNS_PATH : OCI_NETNS_NEW;
            s->netns_path = path && path[0] ? path : NULL;
        } else if (strcmp(type, "user") == 0) {
            s->userns = true;
        }
    }
    return 0;
}

static int parse_resources(struct parse *p, json_t *linux_obj)
{
    struct oci_spec *s = p->s;
    json_t *res, *mem, *cpu, *pids;
    int64_t v;
    bool has;
    if (get_object(p, linux_obj, "resources", "linux.resources", &res) < 0 ||
        get_object(p, res, "memory", "linux.resources.memory", &mem) < 0 ||
        get_object(p, res, "cpu", "linux.resources.cpu", &cpu) < 0 ||
        get_object(p, res, "pids", "linux.resources.pids", &pids) < 0)
        return -1;
    if (get_int(p, mem, "limit", "linux.resources.memory.limit", &v, &has) < 0)
        return -1;
    s->mem_limit = has && v > 0 ? v : -1; /* -1 (or 0) is "unlimited" */
    if (get_int(p, cpu, "quota", "linux.resources.cpu.quota", &v, &has) < 0)
        return -1;
    s->cpu_quota = has && v > 0 ? v : -1;
    if (get_int(p, cpu, "period", "linux.resources.cpu.period", &v, &has) < 0)
        return -1;
    if (has && v < 0)
        return fail(p, "linux.resources.cpu.period: want a positive number");
    s->cpu_period = has ? (uint64_t)v : 0;
    if (get_int(p, cpu, "shares", "linux.resources.cpu.shares", &v, &has) < 0)
        return -1;
    if (has && v < 0)
        return fail(p, "linux.resources.cpu.shares: want a positive number");
    s->cpu_shares = has ? (uint64_t)v : 0;
    if (get_string(p, cpu, "cpus", "linux.resources.cpu.cpus", &s->cpuset_cpus) < 0 ||
        get_string(p, cpu, "mems", "linux.resources.cpu.mems", &s->cpuset_mems) < 0)
        return -1;
    if (s->cpuset_cpus && !s->cpuset_cpus[0])
        s->cpuset_cpus = NULL;
    if (s->cpuset_mems && !s->cpuset_mems[0])
        s->cpuset_mems = NULL;
    if (get_int(p, pids, "limit", "linux.resources.pids.limit", &v, &has) < 0)
        return -1;
    s->pids_limit = has ? v : 0;
    return 0;
}

static int parse_all(struct parse *p, json_t *root)
{
    struct oci_spec *s = p->s;
    json_t *root_obj, *hooks, *linux_obj, *v;
    const char *key;
    if (!json_is_object(root))
        return fail(p, "config.json: want a JSON object");
    if (get_string(p, root, "ociVersion", "ociVersion", &s->oci_version) < 0)
        return -1;
    if (!s->oci_version || strncmp(s->oci_version, "1.", 2) != 0)
        return fail(p, "ociVersion: want 1.x (got %.32s)",
                    s->oci_version ? s->oci_version : "nothing");
    if (get_object(p, root, "root", "root", &root_obj) < 0 ||
        get_string(p, root_obj, "path", "root.path", &s->root_path) < 0)
        return -1;
    if (!s->root_path || !s->root_path[0])
        return fail(p, "root.path: missing");
    v = json_object_get(root_obj, "readonly");
    s->root_readonly = v && json_is_true(v);
    if (parse_process(p, root) < 0 || parse_mounts(p, root) < 0)
        return -1;
    if (get_object(p, root, "hooks", "hooks", &hooks) < 0)
        return -1;
    json_object_foreach(hooks, key, v) if (json_is_array(v) && json_array_size(v) > 0)
        s->has_hooks = true;
    if (get_object(p, root, "annotations", "annotations", &s->annotations) < 0)
        return -1;
    if (!s->annotations) {
        s->annotations = json_object();
        if (!s->annotations || json_object_set_new(root, "annotations", s->annotations) < 0)
            return fail(p, "out of memory");
    }
    json_object_foreach(s->annotations, key, v) if (!json_is_string(v)) return fail(
        p, "annotations.%.64s: want a string", key);
    if (get_object(p, root, "linux", "linux", &linux_obj) < 0 ||
        parse_namespaces(p, linux_obj) < 0 ||
        get_string(p, linux_obj, "cgroupsPath", "linux.cgroupsPath", &s->cgroups_path) < 0 ||
        parse_resources(p, linux_obj) < 0)
        return -1;
    if (s->cgroups_path && !s->cgroups_path[0])
        s->cgroups_path = NULL;
    return 0;
}

int oci_spec_parse(const char *buf, size_t len, struct oci_spec *s, char *err, size_t errlen)
{
    struct parse p = {.s = s, .err = err, .errlen = errlen};
    json_error_t je;
    memset(s, 0, sizeof(*s));
    s->doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!s->doc) {
        snprintf(err, errlen, "config.json: line %d column %d: %s", je.line, je.column, je.text);
        log_one_line(err); /* jansson quotes the text near the error, newlines too */
        return -1;
    }
    if (parse_all(&p, s->doc) < 0) {
        json_decref(s->doc);
        memset(s, 0, sizeof(*s));
        return -1;
    }
    return 0;
}

void oci_spec_free(struct oci_spec *s)
{
    if (s->doc)
        json_decref(s->doc);
    memset(s, 0, sizeof(*s));
}

const char *oci_spec_annotation(const struct oci_spec *s, const char *key)
{
    return s->annotations ? json_string_value(json_object_get(s->annotations, key)) : NULL;
}

bool oci_spec_is_sandbox(const struct oci_spec *s)
{
    const char *a = oci_spec_annotation(s, "io.kubernetes.cri.container-type");
    const char *b = oci_spec_annotation(s, "io.kubernetes.cri-o.ContainerType");
    return (a && strcmp(a, "sandbox") == 0) || (b && strcmp(b, "sandbox") == 0);
}
