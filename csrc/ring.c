/* ring.c -- SPSC lock-free ring; see ring.h. */
#include "ring.h"
#include <stdlib.h>
#include <string.h>

int rt_ring_init(rt_ring_t *r, size_t capacity, size_t elem_size)
{
    size_t cap = 1;
    while (cap < capacity) cap <<= 1;
    r->data = calloc(cap, elem_size);
    if (!r->data) return -1;
    r->mask = cap - 1;
    r->elem_size = elem_size;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return 0;
}

void rt_ring_free(rt_ring_t *r)
{
    free(r->data);
    r->data = NULL;
}

int rt_ring_push(rt_ring_t *r, const void *elem)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - tail > r->mask) return 0;               /* full */
    memcpy(r->data + (head & r->mask) * r->elem_size, elem, r->elem_size);
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return 1;
}

int rt_ring_pop(rt_ring_t *r, void *elem)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (head == tail) return 0;                         /* empty */
    memcpy(elem, r->data + (tail & r->mask) * r->elem_size, r->elem_size);
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    return 1;
}

size_t rt_ring_count(rt_ring_t *r)
{
    return atomic_load_explicit(&r->head, memory_order_acquire)
         - atomic_load_explicit(&r->tail, memory_order_acquire);
}

size_t rt_ring_space(rt_ring_t *r)
{
    return r->mask + 1 - rt_ring_count(r);
}
