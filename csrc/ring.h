/*
 * ring.h -- single-producer single-consumer lock-free ring of fixed-size records.
 *
 * C11 atomics only: the producer owns `head`, the consumer owns `tail`; each reads
 * the other's index with acquire and publishes its own with release. The storage is
 * allocated once by rt_ring_init() [main-thread]; push/pop never allocate and never
 * block, so either side may be the audio thread.
 */
#ifndef RT_RING_H
#define RT_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_ring {
    _Alignas(64) atomic_size_t head;   /* next slot to write (producer) */
    _Alignas(64) atomic_size_t tail;   /* next slot to read (consumer) */
    _Alignas(64) size_t mask;          /* capacity - 1; capacity is a power of two */
    size_t elem_size;
    unsigned char *data;
} rt_ring_t;

/* [main-thread] capacity is rounded up to a power of two */
int    rt_ring_init(rt_ring_t *r, size_t capacity, size_t elem_size);
/* [main-thread] */
void   rt_ring_free(rt_ring_t *r);
/* [producer] 1 if pushed, 0 if full */
int    rt_ring_push(rt_ring_t *r, const void *elem);
/* [consumer] 1 if popped, 0 if empty */
int    rt_ring_pop(rt_ring_t *r, void *elem);
/* [either] records waiting (a snapshot) */
size_t rt_ring_count(rt_ring_t *r);
/* [either] free slots (a snapshot) */
size_t rt_ring_space(rt_ring_t *r);

#endif
