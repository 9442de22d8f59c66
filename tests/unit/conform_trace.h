/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance of the C vsock code to spec/vsock.pml: SPIN's random
 * simulations of the model (built with -DCONFORM, so one run holds many
 * connections, each ended by "T reset") are replayed against the real guest
 * stack (conform_guest.c) and the real miura-vsockd connection code
 * (conform_host.c). Each replays the lines of its own end ("G ..." or
 * "H ..."), feeding the C the events and packets the model's other end
 * produced, and checks that every packet the C sends and the state it is
 * left in are the ones the model's transition allows. docs/verification.md
 * explains the trace format and the mapping of units and counters.
 */
#ifndef MIURA_TEST_CONFORM_TRACE_H
#define MIURA_TEST_CONFORM_TRACE_H

#include <stdbool.h>
#include <stdint.h>

/* One model unit of data or buffer space in the C: 64 KiB for miura-vsockd
 * (its fixed credit, CONN_BUF_ALLOC, is 4 units); conform_guest defines its
 * own, 32 KiB, so that a unit goes out as one data packet (at most
 * VSOCK_TX_PKT_MAX) and builds conform_trace.c with it
 * (conform_trace_guest.c). */
#ifndef CF_UNIT
#define CF_UNIT 65536u
#endif
/* Counters: the model counts modulo CF_CM from CF_CINIT; the C starts at
 * CF_C0, two units below 2^32, so both wrap after two units, and the C's 0
 * (the fields of an RST to nowhere) is the model's 0. */
#define CF_CM    8u
#define CF_CINIT 6u
#define CF_C0    (0u - 2u * CF_UNIT)

/* Model errors (E_* in the model) as errno values; 0 for E_NONE. */
int cf_errno_of(unsigned model_err);

uint32_t cf_cnt_to_c(unsigned model);
/* The model value of a C counter, or -1 if it is not a whole number of
 * units from CF_C0. */
int cf_cnt_to_model(uint32_t c);

/* The C counter is the model's value (cf_cnt_to_model). */
bool cf_cnt_is(uint32_t c, unsigned model);
/* p holds one whole unit of data number seq (every byte seq & 0xff). */
bool cf_unit_is(const uint8_t *p, unsigned seq);

struct cf_config {
    const char *name;
    const char *flags; /* -D flags for spin */
    unsigned seed;
    unsigned steps; /* simulation steps (-u) */
};
extern const struct cf_config cf_configs[];
extern const unsigned cf_nconfigs;

/* Runs one simulation and calls line() for each line it prints (without
 * the newline); line() returns false to stop. Returns 0, or -1 with a
 * message in err if spin could not run or failed. */
int cf_simulate(const struct cf_config *cfg, bool (*line)(void *ctx, const char *text), void *ctx,
                char *err, unsigned errlen);

/* Coverage of the C transition tables: each row of a C table is reached by
 * one or more model rows (the "X row NAME" lines). */
struct cf_row {
    const char *c_row;    /* the row as the C comment table writes it */
    const char *model[6]; /* model rows that take it (none: outside the model) */
    const char *outside;  /* why the model cannot reach it, and what tests it */
    unsigned hits;
};
/* Counts a model row that the C was just checked to follow. Returns false
 * if no table row names it (then the harness's table is out of date). */
bool cf_row_hit(struct cf_row *rows, unsigned n, const char *model_row);
/* Prints one "ok"/"not ok" line per table row; returns the rows missed. */
unsigned cf_row_report(const char *suite, const struct cf_row *rows, unsigned n);

#endif
