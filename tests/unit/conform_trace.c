/* SPDX-License-Identifier: BSD-2-Clause */
#include "conform_trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MODEL "spec/vsock.pml"

/* The model's configurations (spec/vsock.pml's header), each simulated
 * once with a fixed seed: together they reach every model row. */
const struct cf_config cf_configs[] = {
    {"host_tcp", "-DHOST_TCP -DGN=3 -DHN=3", 1, 400000},
    {"host_tcp_guest_sends", "-DHOST_TCP -DGN=6 -DHN=1", 2, 400000},
    {"host_tcp_host_sends", "-DHOST_TCP -DGN=1 -DHN=6", 3, 400000},
    {"host_tcp_early_close", "-DHOST_TCP -DEARLY_CLOSE -DGN=2 -DHN=2", 4, 400000},
    {"host_uds", "-DHOST_UDS -DEARLY_CLOSE -DGN=2 -DHN=2", 5, 300000},
    {"guest_client", "-DGUEST_CLIENT -DGN=3 -DHN=3", 6, 400000},
    {"guest_client_guest_sends", "-DGUEST_CLIENT -DGN=6 -DHN=1", 22, 300000},
    {"guest_client_early_close", "-DGUEST_CLIENT -DEARLY_CLOSE -DGN=2 -DHN=2", 7, 400000},
    {"guest_client_no_listener", "-DGUEST_CLIENT -DNO_LISTENER -DGN=1 -DHN=1", 8, 50000},
    {"host_stops", "-DHOST_TCP -DHOST_STOPS -DGN=2 -DHN=2", 9, 200000},
    {"guest_client_host_stops", "-DGUEST_CLIENT -DHOST_STOPS -DGN=2 -DHN=2", 10, 200000},
    {"eager_timeouts", "-DHOST_TCP -DEAGER_TIMEOUTS -DGN=2 -DHN=2", 11, 200000},
    {"guest_client_eager_timeouts", "-DGUEST_CLIENT -DEAGER_TIMEOUTS -DGN=2 -DHN=2", 12, 200000},
    {"rcvbuf_shrink", "-DHOST_TCP -DRCVBUF_SHRINK -DGN=1 -DHN=6", 20, 300000},
    {"guest_client_rcvbuf_shrink", "-DGUEST_CLIENT -DRCVBUF_SHRINK -DGN=1 -DHN=6", 21, 300000},
    {"hostile_to_guest", "-DHOST_TCP -DHOSTILE_GUEST -DEARLY_CLOSE -DGN=1 -DHN=1", 13, 300000},
    {"guest_client_hostile_to_guest", "-DGUEST_CLIENT -DHOSTILE_GUEST -DEARLY_CLOSE -DGN=1 -DHN=1",
     14, 300000},
    {"hostile_to_host", "-DHOST_TCP -DHOSTILE_HOST -DEARLY_CLOSE -DGN=1 -DHN=1", 15, 300000},
    {"guest_client_hostile_to_host", "-DGUEST_CLIENT -DHOSTILE_HOST -DEARLY_CLOSE -DGN=1 -DHN=1",
     16, 300000},
    {"hostile_to_host_established",
     "-DHOST_TCP -DHOSTILE_HOST -DNOISE_AT=HS_ESTAB -DEARLY_CLOSE -DGN=2 -DHN=1", 23, 200000},
    {"hostile_to_host_closing",
     "-DHOST_TCP -DHOSTILE_HOST -DNOISE_AT=HS_CLOSING -DEARLY_CLOSE -DGN=1 -DHN=1", 19, 200000},
    {"transport_reset", "-DHOST_TCP -DTRANSPORT_RESET -DEARLY_CLOSE -DGN=1 -DHN=1", 17, 200000},
    {"guest_client_transport_reset", "-DGUEST_CLIENT -DTRANSPORT_RESET -DEARLY_CLOSE -DGN=1 -DHN=1",
     18, 200000},
};
const unsigned cf_nconfigs = sizeof(cf_configs) / sizeof(cf_configs[0]);

int cf_errno_of(unsigned model_err)
{
    static const int map[] = {0,     ECONNRESET, ECONNREFUSED, EPROTO, ETIMEDOUT,
                              EPIPE, ENOTCONN,   EAGAIN,       EIO};
    return model_err < sizeof(map) / sizeof(map[0]) ? map[model_err] : -1;
}

uint32_t cf_cnt_to_c(unsigned model)
{
    return CF_C0 + ((model + CF_CM - CF_CINIT) % CF_CM) * CF_UNIT;
}

int cf_cnt_to_model(uint32_t c)
{
    uint32_t d = c - CF_C0;
    if (d % CF_UNIT)
        return -1;
    return (int)((CF_CINIT + d / CF_UNIT) % CF_CM);
}

bool cf_cnt_is(uint32_t c, unsigned model)
{
    return cf_cnt_to_model(c) == (int)model;
}

bool cf_unit_is(const uint8_t *p, unsigned seq)
{
    for (uint32_t i = 0; i < CF_UNIT; i++)
        if (p[i] != (uint8_t)seq)
            return false;
    return true;
}

int cf_simulate(const struct cf_config *cfg, bool (*line)(void *ctx, const char *text), void *ctx,
                char *err, unsigned errlen)
{
    char cmd[512];
    if (access(MODEL, R_OK) != 0) {
        snprintf(err, errlen, "%s not found (run from the repository root)", MODEL);
        return -1;
    }
    snprintf(cmd, sizeof(cmd), "spin -T -n%u -u%u -DCONFORM %s %s 2>&1", cfg->seed, cfg->steps,
             cfg->flags, MODEL);
    FILE *p = popen(cmd, "r");
    if (!p) {
        snprintf(err, errlen, "cannot run spin: %s", strerror(errno));
        return -1;
    }
    char buf[512];
    bool go = true, any = false, bad = false;
    while (fgets(buf, sizeof(buf), p)) {
        buf[strcspn(buf, "\n")] = 0;
        /* The model's own checks fail a simulation loudly. */
        if (strstr(buf, "assertion violated") || strstr(buf, "Error:"))
            bad = true, snprintf(err, errlen, "spin: %s", buf);
        if (!go)
            continue; /* drain the pipe */
        if ((buf[0] == 'G' || buf[0] == 'H' || buf[0] == 'T') && buf[1] == ' ') {
            any = true;
            go = line(ctx, buf);
        }
    }
    int st = pclose(p);
    if (bad)
        return -1;
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) == 127) {
        snprintf(err, errlen, "'%s' failed (is spin installed? tools/deps.sh)", cmd);
        return -1;
    }
    if (!any) {
        snprintf(err, errlen, "'%s' printed no trace", cmd);
        return -1;
    }
    return 0;
}

bool cf_row_hit(struct cf_row *rows, unsigned n, const char *model_row)
{
    bool found = false;
    for (unsigned i = 0; i < n; i++)
        for (unsigned k = 0; k < 6 && rows[i].model[k]; k++)
            if (strcmp(rows[i].model[k], model_row) == 0) {
                rows[i].hits++;
                found = true;
            }
    return found;
}

unsigned cf_row_report(const char *suite, const struct cf_row *rows, unsigned n)
{
    unsigned missed = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!rows[i].model[0]) {
            /* A row the one-connection model cannot reach: said, not counted. */
            printf("# %s/row \"%s\": outside the model (%s)\n", suite, rows[i].c_row,
                   rows[i].outside);
            continue;
        }
        if (rows[i].hits) {
            printf("ok - %s/row \"%s\": %u transitions matched\n", suite, rows[i].c_row,
                   rows[i].hits);
        } else {
            printf("not ok - %s/row \"%s\": no trace reached it\n", suite, rows[i].c_row);
            missed++;
        }
    }
    return missed;
}
