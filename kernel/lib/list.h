/* SPDX-License-Identifier: BSD-2-Clause */
/* Intrusive circular doubly-linked lists. An unlinked node points to itself. */
#ifndef MIURA_LIST_H
#define MIURA_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list {
    struct list *prev, *next;
};

#define LIST_INIT(name)  \
    {                    \
        &(name), &(name) \
    }
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define list_entry(ptr, type, member)   container_of(ptr, type, member)

/* list_init and list_insert_before are out of line: inlined at their ~40
 * call sites they cost the web server image 336 B more (a call is a few
 * instructions more on paths that take microseconds). One copy per file
 * that uses them; identical copies are folded at link time. */
#define LIST_OUT_OF_LINE __attribute__((noinline, unused)) static

LIST_OUT_OF_LINE void list_init(struct list *l)
{
    l->prev = l->next = l;
}
static inline bool list_empty(const struct list *l)
{
    return l->next == l;
}
LIST_OUT_OF_LINE void list_insert_before(struct list *pos, struct list *n)
{
    n->prev = pos->prev;
    n->next = pos;
    pos->prev->next = n;
    pos->prev = n;
}
static inline void list_push_back(struct list *head, struct list *n)
{
    list_insert_before(head, n);
}
static inline void list_push_front(struct list *head, struct list *n)
{
    list_insert_before(head->next, n);
}
static inline void list_remove(struct list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}
static inline struct list *list_pop_front(struct list *head)
{
    if (list_empty(head))
        return NULL;
    struct list *n = head->next;
    list_remove(n);
    return n;
}

#define list_for_each(pos, head) \
    for (struct list *pos = (head)->next; pos != (head); pos = pos->next)

#endif
