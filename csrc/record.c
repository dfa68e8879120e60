/* record.c -- the recorder's journal: the audio thread's side (copy into the rings) and the
 * consumer's (copy out). The rings are allocated with the engine (rt_engine_activate); while
 * recording is off the audio thread only reads one atomic flag. */
#include <string.h>
#include "engine_internal.h"

_Static_assert(sizeof(((rt_record_audio_t *)0)->data) == 2 * RT_REC_CHUNK * sizeof(float), "record chunk size");

static inline void bump(atomic_uint_fast64_t *c, uint64_t n)
{
    /* single writer (the audio thread): relaxed load + store */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

/* [audio-thread] bounded: frames / RT_REC_CHUNK records of one memcpy-sized copy each */
void rt_record_audio_piece(rt_engine_t *e, const float *const *out, int frames, int64_t start)
{
    if (!atomic_load_explicit(&e->recording, memory_order_relaxed)) return;
    rt_record_audio_t rec;
    for (int pos = 0; pos < frames; pos += RT_REC_CHUNK) {
        int n = frames - pos < RT_REC_CHUNK ? frames - pos : RT_REC_CHUNK;
        rec.frame = start + pos;
        rec.frames = n;
        rec._pad = 0;
        for (int i = 0; i < n; i++) {
            rec.data[2 * i] = out[0][pos + i];
            rec.data[2 * i + 1] = out[1][pos + i];
        }
        if (rt_ring_push(&e->rec_audio, &rec)) bump(&e->c_rec_frames, (uint64_t)n);
        else bump(&e->c_rec_dropped_frames, (uint64_t)n);    /* the disk writer fell behind */
    }
}

/* [audio-thread] */
void rt_record_event(rt_engine_t *e, const rt_event_t *ev, int64_t frame, int source)
{
    if (!atomic_load_explicit(&e->recording, memory_order_relaxed)) return;
    rt_record_event_t r = {
        .frame = frame, .graph = e->cur ? e->cur->generation : 0, .type = ev->type,
        .source = (uint8_t)source, .channel = ev->channel, .data1 = ev->data1, .data2 = ev->data2,
        .node = ev->node, .param = ev->param, .value = ev->value,
    };
    if (!rt_ring_push(&e->rec_events, &r)) bump(&e->c_rec_dropped_events, 1);
}

int rt_engine_record(rt_engine_t *e, int on)
{
    if (!e) return RT_ERR_INVALID;
    if (!e->active) return RT_ERR_STATE;
    atomic_store_explicit(&e->recording, on ? 1 : 0, memory_order_release);
    return RT_OK;
}

int rt_engine_record_audio(rt_engine_t *e, rt_record_audio_t *out, int max)
{
    if (!e || !out || max < 0) return RT_ERR_INVALID;
    if (!e->active) return 0;
    int n = 0;
    while (n < max && rt_ring_pop(&e->rec_audio, &out[n])) n++;
    return n;
}

int rt_engine_record_events(rt_engine_t *e, rt_record_event_t *out, int max)
{
    if (!e || !out || max < 0) return RT_ERR_INVALID;
    if (!e->active) return 0;
    int n = 0;
    while (n < max && rt_ring_pop(&e->rec_events, &out[n])) n++;
    return n;
}
