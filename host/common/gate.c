/* SPDX-License-Identifier: BSD-2-Clause */
#include "common/gate.h"

#include <string.h>
#include <sys/epoll.h>

#include "common/log.h"

void gate_init(struct accept_gate *g, unsigned limit)
{
    memset(g, 0, sizeof(*g));
    g->limit = limit;
}

int gate_add(struct accept_gate *g, struct watch *listener)
{
    if (g->nlisteners == GATE_LISTENERS_MAX)
        return -1;
    g->listener[g->nlisteners++] = listener;
    return 0;
}

bool gate_open(const struct accept_gate *g, unsigned active, uint64_t now)
{
    return active < g->limit && (!g->hold_until || now >= g->hold_until);
}

static void watch_listeners(struct accept_gate *g, bool on)
{
    g->paused = !on;
    for (unsigned i = 0; i < g->nlisteners; i++)
        loop_mod(g->listener[i], on ? EPOLLIN : 0);
}

void gate_update(struct accept_gate *g, unsigned active, uint64_t now)
{
    uint64_t skipped;
    if (g->hold_until && now >= g->hold_until)
        g->hold_until = 0;
    bool open = gate_open(g, active, now);
    if (open == !g->paused)
        return;
    watch_listeners(g, open);
    if (open || g->hold_until)
        return;
    g->pauses++;
    if (!log_due(&g->limit_log, now, GATE_LOG_EVERY_MS, &skipped))
        return;
    if (skipped)
        log_error("connection limit %u reached again, %llu times since the last line "
                  "(--max-conns): new clients wait in the listen queue",
                  g->limit, (unsigned long long)skipped + 1);
    else
        log_error("connection limit %u reached (--max-conns): new clients wait in the listen "
                  "queue until a connection ends",
                  g->limit);
}

void gate_hold(struct accept_gate *g, uint64_t now, uint64_t hold_ms, const char *what, int err)
{
    uint64_t skipped;
    if (log_due(&g->hold_log, now, GATE_LOG_EVERY_MS, &skipped))
        log_error("%s: %s; accepting stops for %llu ms at a time, new clients wait in the "
                  "listen queue (%llu more times since the last line)",
                  what, strerror(err), (unsigned long long)hold_ms, (unsigned long long)skipped);
    g->holds++;
    g->hold_until = now + hold_ms;
    if (!g->paused)
        watch_listeners(g, false);
}

uint64_t gate_deadline(const struct accept_gate *g)
{
    return g->hold_until;
}

unsigned gate_queued(const struct accept_gate *g)
{
    unsigned n = 0;
    for (unsigned i = 0; i < g->nlisteners; i++) {
        int q = listen_queued(g->listener[i]->fd);
        if (q > 0)
            n += (unsigned)q;
    }
    return n;
}
