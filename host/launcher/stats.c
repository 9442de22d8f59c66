/* SPDX-License-Identifier: BSD-2-Clause */
/* miura stats NAME, and the ps -v summary; see stats.h. */
#include "launcher/stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/control.h"
#include "common/vm_args.h"
#include "common/vm_plan.h"
#include "launcher/instance.h"
#include "launcher/run.h"

#define STATS_TIMEOUT_MS 2000

static const char usage_stats[] =
    "usage: miura stats NAME\n"
    "\n"
    "Prints the connection counters of instance NAME's miura-vsockd, one\n"
    "\"key value\" per line: active, peak, limit, queued (clients waiting in the\n"
    "listen queues), accepting, accepted, established, refused, guest_resets,\n"
    "retries, limit_pauses, fd_pauses, guest_connects, guest_refused, bad_packets\n"
    "(docs/vsockd.md says what each counts).\n";

long long stats_value(const char *text, const char *key)
{
    size_t klen = strlen(key);
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
            char *end;
            long long v = strtoll(p + klen + 1, &end, 10);
            return end == p + klen + 1 ? -1 : v;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

static int query(const char *run_dir, char *out, size_t len)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", run_dir, PLAN_VSOCKD_CONTROL);
    return control_query(path, "stats", out, len, STATS_TIMEOUT_MS);
}

void stats_summary(const char *run_dir, char *out, size_t len)
{
    char text[CONTROL_REPLY];
    if (query(run_dir, text, sizeof(text)) < 0) {
        snprintf(out, len, "no counters (%s)", strerror(errno));
        return;
    }
    snprintf(out, len,
             "connections %lld (peak %lld, limit %lld), queued %lld, accepted %lld, refused %lld, "
             "guest resets %lld, retries %lld",
             stats_value(text, "active"), stats_value(text, "peak"), stats_value(text, "limit"),
             stats_value(text, "queued"), stats_value(text, "accepted"),
             stats_value(text, "refused"), stats_value(text, "guest_resets"),
             stats_value(text, "retries"));
}

int cmd_stats(int argc, char **argv)
{
    char base[4096], dir[4096 + 80], text[CONTROL_REPLY];
    struct instance_meta m;
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage_stats, stdout);
        return 0;
    }
    if (argc != 2 || !name_is_valid(argv[1])) {
        fprintf(stderr, "miura: %s\n%s", argc != 2 ? "stats takes one NAME" : "bad instance name",
                usage_stats);
        return 2;
    }
    if (runtime_base(base, sizeof(base)) < 0) {
        fprintf(stderr, "miura: runtime directory %s: %s\n", base, strerror(errno));
        return EXIT_LAUNCHER_FAILED;
    }
    snprintf(dir, sizeof(dir), "%s/%s", base, argv[1]);
    if (meta_read(dir, &m) < 0 || !launcher_alive(m.pid)) {
        fprintf(stderr, "miura: no running instance named %s\n", argv[1]);
        return 1;
    }
    if (query(dir, text, sizeof(text)) < 0) {
        fprintf(stderr, "miura: %s/%s: %s\n", dir, PLAN_VSOCKD_CONTROL, strerror(errno));
        return EXIT_LAUNCHER_FAILED;
    }
    fputs(text, stdout);
    return 0;
}
