/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A lock-free inbox: any number of producers push nodes, one consumer (the
 * owner, typically one CPU) takes everything pushed so far in one go. It is
 * the shape "work crosses CPUs by message" takes: the heap's remote-free
 * lists and the scheduler's wake inboxes.
 *
 * The node is intrusive: embed a struct inbox_node in the item (or overlay
 * it on memory the item no longer uses, as the heap does with a freed slot)
 * and get back to the item with container_of.
 *
 * Contract:
 * - inbox_push may run on any CPU, concurrently with other pushes and with
 *   inbox_take_all; a node must not be pushed again (on any inbox) before
 *   the consumer has taken it. It never fails and never waits (one
 *   compare-and-swap, retried only when another push or a take got in).
 * - Ordering: everything a producer wrote before inbox_push(n) is visible
 *   to the CPU whose inbox_take_all returns n (release push, acquire take).
 * - inbox_take_all returns the nodes pushed since the last take as a
 *   NULL-terminated list linked by `next`, NEWEST FIRST (the inbox is a
 *   stack). Each node pushed is returned by exactly one take. Pushes by one
 *   producer appear in that list in the reverse of the order it made them;
 *   inbox_reverse turns a batch into oldest-first order when the consumer
 *   needs per-producer FIFO order. Across producers there is no order beyond
 *   what the producers themselves established.
 * - The take is one atomic exchange, so several consumers would be safe too
 *   (each gets a disjoint batch), but order between batches is then lost.
 *
 * There is no ABA problem: nodes are only ever removed all at once, never
 * popped one by one, so a push's compare-and-swap on a head it read earlier
 * succeeds only if that head is still the top and the link it wrote is right.
 *
 * Freestanding: C11 __atomic builtins only, no allocation, no locks.
 */
#ifndef MIURA_LIB_INBOX_H
#define MIURA_LIB_INBOX_H

#include <stdbool.h>
#include <stddef.h>

struct inbox_node {
    struct inbox_node *next;
};

/* Zero-initialised means empty. */
struct inbox {
    struct inbox_node *head; /* the newest node, or NULL */
};

/* Pushes n. Returns true if the inbox was empty just before, i.e. this push
 * starts a batch: a producer that must wake the consumer (an IPI, a wait
 * queue) needs to do so only then, as long as the consumer re-checks the
 * inbox after it last took from it and before it sleeps. */
static inline bool inbox_push(struct inbox *ib, struct inbox_node *n)
{
    struct inbox_node *head = __atomic_load_n(&ib->head, __ATOMIC_RELAXED);

    do {
        n->next = head;
        /* Release: the consumer's acquire take sees n->next and whatever
         * the producer wrote into the item before the push. */
    } while (!__atomic_compare_exchange_n(&ib->head, &head, n, true, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
    return head == NULL;
}

/* A cheap look before a take: false means something was pushed. Relaxed, so
 * only a hint: a push that races with it is seen by the next look. */
static inline bool inbox_is_empty(struct inbox *ib)
{
    return __atomic_load_n(&ib->head, __ATOMIC_RELAXED) == NULL;
}

/* Takes every node pushed so far, newest first (NULL if none). */
static inline struct inbox_node *inbox_take_all(struct inbox *ib)
{
    /* Acquire: pairs with every push's release (each later push's
     * compare-and-swap continues the release sequence of the earlier ones). */
    return __atomic_exchange_n(&ib->head, NULL, __ATOMIC_ACQUIRE);
}

/* Reverses a list from inbox_take_all into push order (oldest first). */
static inline struct inbox_node *inbox_reverse(struct inbox_node *list)
{
    struct inbox_node *done = NULL;

    while (list != NULL) {
        struct inbox_node *next = list->next;
        list->next = done;
        done = list;
        list = next;
    }
    return done;
}

#endif
