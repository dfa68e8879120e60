/*
 * engine.c -- engine lifecycle, the per-block process(), graph swap with crossfade,
 * event scheduling, telemetry and statistics.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include "engine_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#define RT_FADE_SECONDS 0.010    /* graph-swap crossfade */
#define RT_GRAPH_RING 16

const char *rt_strerror(int code)
{
    switch (code) {
    case RT_OK: return "ok";
    case RT_ERR_NOMEM: return "out of memory";
    case RT_ERR_INVALID: return "invalid argument";
    case RT_ERR_STATE: return "not allowed in the engine's current state";
    case RT_ERR_FULL: return "queue or table full";
    case RT_ERR_NOT_FOUND: return "not found";
    case RT_ERR_RANGE: return "value out of range";
    case RT_ERR_CYCLE: return "connection makes a cycle";
    case RT_ERR_DEVICE: return "audio device error";
    case RT_ERR_FORMAT: return "unsupported format";
    default: return "unknown error";
    }
}

int64_t rt_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);   /* vDSO: no syscall, real-time safe */
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- denormals: flush to zero inside process(), restore the caller's mode after ---- */
typedef struct { unsigned int saved; } rt_fpmode_t;
static inline rt_fpmode_t fp_enter(void)
{
    rt_fpmode_t m = {0};
#if defined(__x86_64__) || defined(__i386__)
    m.saved = _mm_getcsr();
    _mm_setcsr(m.saved | 0x8040);            /* FTZ | DAZ */
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    m.saved = (unsigned int)fpcr;
    __asm__ volatile("msr fpcr, %0" :: "r"(fpcr | (1ull << 24)));
#endif
    return m;
}
static inline void fp_leave(rt_fpmode_t m)
{
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(m.saved);
#elif defined(__aarch64__)
    uint64_t fpcr = m.saved;
    __asm__ volatile("msr fpcr, %0" :: "r"(fpcr));
#else
    (void)m;
#endif
}

/* ---- lifecycle --------------------------------------------------------------- */
int rt_engine_create(rt_engine_t **out)
{
    if (!out) return RT_ERR_INVALID;
    rt_engine_t *e = calloc(1, sizeof(*e));
    if (!e) return RT_ERR_NOMEM;
    if (rt_ring_init(&e->events, RT_EVENT_RING_SIZE, sizeof(rt_event_t)) ||
        rt_ring_init(&e->graphs_in, RT_GRAPH_RING, sizeof(rt_graph_t *)) ||
        rt_ring_init(&e->graphs_out, RT_GRAPH_RING * 2, sizeof(rt_graph_t *)) ||
        rt_ring_init(&e->telemetry, RT_TELEMETRY_RING_SIZE, sizeof(rt_telemetry_t)) ||
        rt_ring_init(&e->notes_out, RT_NOTES_RING_SIZE, sizeof(rt_event_t)) ||
        rt_ring_init(&e->rec_audio, RT_REC_AUDIO_SLOTS, sizeof(rt_record_audio_t)) ||
        rt_ring_init(&e->rec_events, RT_REC_EVENT_SLOTS, sizeof(rt_record_event_t)) ||
        rt_ring_init(&e->clock_in, RT_CLOCK_RING_SIZE, sizeof(rt_clock_anchor_t))) {
        rt_engine_destroy(e);
        return RT_ERR_NOMEM;
    }
    pthread_mutex_init(&e->send_lock, NULL);
    pthread_mutex_init(&e->collect_lock, NULL);
    pthread_mutex_init(&e->clock_lock, NULL);
    e->render_freewheel = 1;
    *out = e;
    return RT_OK;
}

static void drop_graphs(rt_engine_t *e)
{
    rt_graph_t *g;
    while (rt_ring_pop(&e->graphs_in, &g)) rt_graph_free(g);
    while (rt_ring_pop(&e->graphs_out, &g)) rt_graph_free(g);
    rt_graph_free(e->cur); e->cur = NULL;
    rt_graph_free(e->old); e->old = NULL;
    e->last_committed = NULL;
    atomic_store(&e->live_generation, 0);
    atomic_store(&e->live_nodes, 0);
}

int rt_engine_deactivate(rt_engine_t *e)
{
    if (!e) return RT_ERR_INVALID;
    if (atomic_load(&e->running)) return RT_ERR_STATE;
    drop_graphs(e);
    free(e->pending); e->pending = NULL; e->n_pending = 0;
    for (int c = 0; c < 2; c++) { free(e->fade_buf[c]); e->fade_buf[c] = NULL; }
    e->active = 0;
    return RT_OK;
}

void rt_engine_destroy(rt_engine_t *e)
{
    if (!e) return;
    if (e->audio) rt_audio_close(e->audio);
    atomic_store(&e->running, 0);
    rt_engine_deactivate(e);
    rt_ring_free(&e->events);
    rt_ring_free(&e->graphs_in);
    rt_ring_free(&e->graphs_out);
    rt_ring_free(&e->telemetry);
    rt_ring_free(&e->notes_out);
    rt_ring_free(&e->rec_audio);
    rt_ring_free(&e->rec_events);
    rt_ring_free(&e->clock_in);
    pthread_mutex_destroy(&e->send_lock);
    pthread_mutex_destroy(&e->collect_lock);
    pthread_mutex_destroy(&e->clock_lock);
    free(e);
}

int rt_engine_activate(rt_engine_t *e, double sample_rate, int max_frames)
{
    if (!e) return RT_ERR_INVALID;
    if (atomic_load(&e->running)) return RT_ERR_STATE;
    if (!(sample_rate >= 8000.0 && sample_rate <= 384000.0)) return RT_ERR_RANGE;
    if (max_frames < 1 || max_frames > RT_MAX_FRAMES_LIMIT) return RT_ERR_RANGE;
    rt_engine_deactivate(e);
    e->sample_rate = sample_rate;
    e->max_frames = max_frames;
    e->pending = calloc(RT_PENDING_SIZE, sizeof(rt_event_t));
    for (int c = 0; c < 2; c++) e->fade_buf[c] = calloc((size_t)max_frames, sizeof(float));
    if (!e->pending || !e->fade_buf[0] || !e->fade_buf[1]) { rt_engine_deactivate(e); return RT_ERR_NOMEM; }
    e->fade_len = (int)(RT_FADE_SECONDS * sample_rate);
    e->frame = 0;
    e->transport = (rt_transport_t){ 0, 0, 120.0, 0, 0 };
    e->active = 1;
    return RT_OK;
}

/* ---- producers --------------------------------------------------------------- */
int rt_engine_set_freewheel(rt_engine_t *e, int on)
{
    if (!e) return RT_ERR_INVALID;
    if (atomic_load(&e->running)) return RT_ERR_STATE;
    e->render_freewheel = on ? 1 : 0;
    return RT_OK;
}

int rt_engine_send(rt_engine_t *e, const rt_event_t *ev)
{
    return rt_engine_send_many(e, ev, 1) == 1 ? RT_OK : (e && ev ? RT_ERR_FULL : RT_ERR_INVALID);
}

int rt_engine_send_many(rt_engine_t *e, const rt_event_t *evs, int count)
{
    if (!e || !evs || count < 0) return RT_ERR_INVALID;
    /* The ring is single-producer: producers (MIDI, OSC, main threads) take turns here.
     * The audio thread is the consumer and never touches this lock. */
    pthread_mutex_lock(&e->send_lock);
    int sent = 0;
    while (sent < count && rt_ring_push(&e->events, &evs[sent])) sent++;
    if (sent < count)
        atomic_fetch_add_explicit(&e->c_events_dropped_send, (uint64_t)(count - sent), memory_order_relaxed);
    pthread_mutex_unlock(&e->send_lock);
    return sent;
}

int rt_engine_commit_graph(rt_engine_t *e, rt_graph_t *g)
{
    if (!e || !g) return RT_ERR_INVALID;
    if (!e->active || g->committed) return RT_ERR_STATE;
    if (g->sample_rate != e->sample_rate || g->max_frames != e->max_frames) return RT_ERR_STATE;
    rt_engine_collect(e);
    if (rt_ring_space(&e->graphs_in) < 1) return RT_ERR_FULL;
    int rc = rt_graph_prepare(g);
    if (rc < 0) return rc;
    /* hot reload: the last committed graph is still allocated (it can only be retired after a
     * newer graph swaps in) and its structure no longer changes, so it can be read here */
    rc = rt_graph_plan_keeps(g, e->last_committed);
    if (rc < 0) return rc;
    if (!rt_ring_push(&e->graphs_in, &g)) return RT_ERR_FULL;
    g->committed = 1;
    e->last_committed = g;
    return RT_OK;
}

int rt_engine_collect(rt_engine_t *e)
{
    if (!e) return 0;
    int n = 0;
    rt_graph_t *g;
    pthread_mutex_lock(&e->collect_lock);
    while (rt_ring_pop(&e->graphs_out, &g)) { rt_graph_free(g); n++; }
    pthread_mutex_unlock(&e->collect_lock);
    return n;
}

/* ---- audio thread ---------------------------------------------------------- */
void rt_engine_telemetry(rt_engine_t *e, uint32_t type, int32_t a, float value)
{
    rt_telemetry_t t = { e->frame, type, a, value };
    if (!rt_ring_push(&e->telemetry, &t))
        atomic_fetch_add_explicit(&e->c_telemetry_dropped, 1, memory_order_relaxed);
}

static inline void count(atomic_uint_fast64_t *c, uint64_t n)
{
    /* single writer: a relaxed load + store is enough and cheaper than a locked add */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

/* insert keeping time order; equal times keep arrival order. Events mostly arrive
 * in order, so the scan from the end is O(1) in the common case and bounded by
 * RT_PENDING_SIZE in the worst. */
static int pending_insert(rt_engine_t *e, const rt_event_t *ev)
{
    if (e->n_pending >= RT_PENDING_SIZE) return 0;
    int i = e->n_pending;
    while (i > 0 && e->pending[i - 1].time > ev->time) i--;
    if (i < e->n_pending)
        memmove(&e->pending[i + 1], &e->pending[i], (size_t)(e->n_pending - i) * sizeof(rt_event_t));
    e->pending[i] = *ev;
    e->n_pending++;
    return 1;
}

static void take_new_graph(rt_engine_t *e)
{
    if (e->old) return;                                   /* a crossfade is still running */
    if (rt_ring_space(&e->graphs_out) < 1) return;        /* nowhere to retire the old one */
    rt_graph_t *g;
    if (!rt_ring_pop(&e->graphs_in, &g)) return;
    if (e->cur) { e->old = e->cur; e->fade_pos = 0; }     /* crossfade old -> new */
    e->cur = g;
    int kept = rt_graph_take_over(g, e->old);             /* hot reload: states move to g */
    if (e->old && g->keeps_live && g->seamless) {
        /* every old node lives on in g with the same inputs: nothing to fade */
        rt_ring_push(&e->graphs_out, &e->old);            /* space was checked above */
        e->old = NULL;
    }
    atomic_store_explicit(&e->live_generation, g->generation, memory_order_relaxed);
    atomic_store_explicit(&e->live_nodes, g->n_nodes, memory_order_relaxed);
    count(&e->c_graph_swaps, 1);
    rt_engine_telemetry(e, RT_TM_GRAPH_SWAP, (int32_t)g->generation, (float)kept);
}

static void drain_events(rt_engine_t *e, int64_t block_start)
{
    rt_event_t ev;
    uint64_t got = 0, dropped = 0, late = 0;
    /* bounded: at most the ring's capacity per block */
    for (int k = 0; k < RT_EVENT_RING_SIZE && rt_ring_pop(&e->events, &ev); k++) {
        got++;
        if (ev.type == RT_EV_TRANSPORT) {
            /* the musical clock changes as soon as it is told; beat 0 may lie ahead, so
             * controllers (the AI) can prepare the first step before it sounds */
            int64_t at = ev.time == RT_TIME_NOW ? block_start : ev.time;
            rt_record_event(e, &ev, at, RT_REC_INPUT);
            if (ev.data1 == RT_TRANSPORT_TEMPO) {
                /* keep the beat phase continuous at `at`: (at - origin) * tempo is invariant */
                if (ev.value > 0.0f && e->transport.tempo > 0.0) {
                    double beats_frames = (double)(at - e->transport.origin) * e->transport.tempo;
                    e->transport.origin = at - (int64_t)llround(beats_frames / ev.value);
                    e->transport.tempo = ev.value;
                }
                continue;
            }
            e->transport.playing = ev.data1 != 0;
            if (e->transport.playing) e->transport.origin = at;
            if (ev.value > 0.0f) e->transport.tempo = ev.value;
            continue;
        }
        if (ev.time == RT_TIME_NOW) ev.time = block_start;
        else if (ev.time < block_start) { ev.time = block_start; late++; }
        if (!pending_insert(e, &ev)) dropped++;
    }
    if (got) count(&e->c_events_in, got);
    if (late) count(&e->c_events_late, late);
    if (dropped) {
        count(&e->c_events_dropped_pending, dropped);
        rt_engine_telemetry(e, RT_TM_DROPPED, (int32_t)dropped, 0.0f);
    }
}

/* Peak and sum of squares of one channel. The peak is the maximum of the samples' bit
 * patterns with the sign cleared: for floats that order is the numeric order, NaN/Inf
 * sort above every finite value, and integer max vectorizes without -ffast-math. The
 * sum of squares may be reassociated (omp simd): meters never feed the audio. */
static inline uint32_t channel_meter(const float *x, int n, float *sum_sq)
{
    uint32_t top = 0;
    float ss = 0.0f;
    const uint32_t *u = (const uint32_t *)(const void *)x;
#pragma omp simd reduction(max:top)
    for (int k = 0; k < n; k++) { uint32_t a = u[k] & 0x7fffffffu; top = a > top ? a : top; }
#pragma omp simd reduction(+:ss)
    for (int k = 0; k < n; k++) ss += x[k] * x[k];
    *sum_sq = ss;
    return top;
}

static inline float bits_to_float(uint32_t b) { union { uint32_t u; float f; } v = { b }; return v.f; }

static void publish_meters(rt_engine_t *e, int frames)
{
    rt_graph_t *g = e->cur;
    if (!g) return;
    unsigned s = atomic_load_explicit(&e->meter_seq, memory_order_relaxed);
    atomic_store_explicit(&e->meter_seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (int i = 0; i < g->n_nodes; i++) {
        rt_meter_t *m = &e->meters[i];
        for (int c = 0; c < 2; c++) {
            float ss;
            uint32_t top = channel_meter(g->nodes[i].out[c], frames, &ss);
            m->peak[c] = top >= 0x7f800000u ? INFINITY : bits_to_float(top);
            m->rms[c] = sqrtf(ss / (float)frames);
        }
        m->muted = g->nodes[i].muted;
    }
    e->n_meters = g->n_nodes;
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&e->meter_seq, s + 2, memory_order_relaxed);
}

/* one piece of at most max_frames */
static void process_piece(rt_engine_t *e, const float *const *in, float *const *out, int frames)
{
    const int64_t start = e->frame;
    take_new_graph(e);
    drain_events(e, start);
    rt_clock_block(e, frames);                   /* an external clock's anchors (Link, MIDI clock) */

    int head = 0, pos = 0, deferred = 0;
    while (pos < frames) {
        int64_t now = start + pos;
        e->transport.now = now;      /* event() handlers (and the notes they emit) see the event's frame */
        /* every event due now, in time order; events for a graph that is committed but
         * not live yet move to the front and wait for the next block */
        while (head < e->n_pending && e->pending[head].time <= now) {
            if (e->cur && !rt_graph_route_event(e->cur, &e->pending[head], &e->c_events_stale)) {
                e->pending[deferred] = e->pending[head];
                e->pending[deferred].time = start + frames;
                deferred++;
            } else {
                rt_record_event(e, &e->pending[head], now, RT_REC_INPUT);
            }
            head++;
        }
        int tick = (now % RT_CONTROL_FRAMES) == 0;
        int n = (int)(RT_CONTROL_FRAMES - now % RT_CONTROL_FRAMES);   /* up to the next grid point */
        if (n > frames - pos) n = frames - pos;
        if (head < e->n_pending && e->pending[head].time < now + n) n = (int)(e->pending[head].time - now);

        if (e->cur) {
            rt_graph_t *g = e->cur, *o = e->old;
            if (o && g->keeps_live) rt_graph_process_fade(g, o, in, pos, n, tick, e->fade_pos, e->fade_len);
            else {
                rt_graph_process(g, in, pos, n, tick);
                if (o) rt_graph_process(o, in, pos, n, tick);
            }
            const float *m0 = g->nodes[0].out[0] + pos, *m1 = g->nodes[0].out[1] + pos;
            if (o) {
                /* a kept master is not processed in the old graph: it mirrors the new one */
                int mirror = g->keeps_live && g->old_to_new[0] == 0;
                const float *o0 = mirror ? m0 : o->nodes[0].out[0] + pos;
                const float *o1 = mirror ? m1 : o->nodes[0].out[1] + pos;
                for (int i = 0; i < n; i++) {
                    /* new + w (old - new), w = 1 - t: exactly `new` wherever old == new */
                    float w = e->fade_pos < e->fade_len ? 1.0f - (float)e->fade_pos / (float)e->fade_len : 0.0f;
                    out[0][pos + i] = m0[i] + w * (o0[i] - m0[i]);
                    out[1][pos + i] = m1[i] + w * (o1[i] - m1[i]);
                    e->fade_pos++;
                }
            } else {
                memcpy(out[0] + pos, m0, (size_t)n * sizeof(float));
                memcpy(out[1] + pos, m1, (size_t)n * sizeof(float));
            }
        } else {
            memset(out[0] + pos, 0, (size_t)n * sizeof(float));
            memset(out[1] + pos, 0, (size_t)n * sizeof(float));
        }
        pos += n;
    }
    /* events consumed this block leave the queue */
    if (head > deferred) {
        memmove(e->pending + deferred, e->pending + head, (size_t)(e->n_pending - head) * sizeof(rt_event_t));
        e->n_pending -= head - deferred;
    }
    if (e->old && e->fade_pos >= e->fade_len) {
        rt_ring_push(&e->graphs_out, &e->old);            /* space was checked before the swap */
        e->old = NULL;
    }
    /* a NaN or Inf must never reach the speakers: mute the block, count it */
    float ss;
    if (channel_meter(out[0], frames, &ss) >= 0x7f800000u || channel_meter(out[1], frames, &ss) >= 0x7f800000u) {
        memset(out[0], 0, (size_t)frames * sizeof(float));
        memset(out[1], 0, (size_t)frames * sizeof(float));
        count(&e->c_nonfinite, 1);
        rt_engine_telemetry(e, RT_TM_NONFINITE, 0, 0.0f);
    }
    publish_meters(e, frames);
    rt_record_audio_piece(e, (const float *const *)out, frames, start);
    e->frame += frames;
    count(&e->c_frames, (uint64_t)frames);
}

int rt_engine_process(rt_engine_t *e, const float *const *in, float *const *out, int frames)
{
    if (!e || !out || !out[0] || !out[1] || frames < 0) return RT_ERR_INVALID;
    if (!e->active) {
        for (int c = 0; c < 2; c++) memset(out[c], 0, (size_t)frames * sizeof(float));
        return RT_ERR_STATE;
    }
    rt_fpmode_t fpm = fp_enter();
    if (atomic_exchange_explicit(&e->reset_requested, 0, memory_order_acquire)) {
        atomic_uint_fast64_t *cs[] = { &e->c_xruns, &e->c_overruns, &e->c_events_in,
            &e->c_events_dropped_pending, &e->c_events_late, &e->c_events_stale,
            &e->c_telemetry_dropped, &e->c_nonfinite, &e->c_callbacks, &e->cb_sum_ns, &e->cb_max_ns };
        for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) atomic_store_explicit(cs[i], 0, memory_order_relaxed);
        for (int i = 0; i <= RT_HIST_BINS; i++) atomic_store_explicit(&e->hist[i], 0, memory_order_relaxed);
    }
    /* the clock other threads use to timestamp events: frame <-> monotonic time */
    unsigned s = atomic_load_explicit(&e->clock_seq, memory_order_relaxed);
    atomic_store_explicit(&e->clock_seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    e->clock_frame = e->frame;
    e->clock_ns = rt_monotonic_ns();
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&e->clock_seq, s + 2, memory_order_relaxed);

    int done = 0;
    while (done < frames) {
        int n = frames - done;
        if (n > e->max_frames) n = e->max_frames;
        const float *ip[2] = { in && in[0] ? in[0] + done : NULL, in && in[1] ? in[1] + done : NULL };
        float *op[2] = { out[0] + done, out[1] + done };
        process_piece(e, ip, op, n);
        done += n;
    }
    count(&e->c_blocks, 1);
    atomic_store_explicit(&e->last_block, frames, memory_order_relaxed);
    fp_leave(fpm);
    return RT_OK;
}

void rt_engine_note_callback(rt_engine_t *e, int64_t duration_ns, int frames, int xrun_flags)
{
    if (!e || frames <= 0) return;
    double period_ns = 1e9 * frames / e->sample_rate;
    if (xrun_flags) {
        count(&e->c_xruns, 1);
        rt_engine_telemetry(e, RT_TM_XRUN, xrun_flags, 0.0f);
    }
    if ((double)duration_ns > period_ns) {
        count(&e->c_overruns, 1);
        rt_engine_telemetry(e, RT_TM_OVERRUN, frames, (float)(duration_ns / 1000.0));
    }
    int64_t us = duration_ns / 1000;
    int bin = us < 0 ? 0 : (us > RT_HIST_BINS ? RT_HIST_BINS : (int)us);
    atomic_store_explicit(&e->hist[bin], atomic_load_explicit(&e->hist[bin], memory_order_relaxed) + 1,
                          memory_order_relaxed);
    count(&e->c_callbacks, 1);
    count(&e->cb_sum_ns, (uint64_t)(duration_ns > 0 ? duration_ns : 0));
    if ((uint64_t)duration_ns > atomic_load_explicit(&e->cb_max_ns, memory_order_relaxed))
        atomic_store_explicit(&e->cb_max_ns, (uint64_t)duration_ns, memory_order_relaxed);
    atomic_store_explicit(&e->period_us, period_ns / 1000.0, memory_order_relaxed);
}

int rt_engine_render(rt_engine_t *e, const float *in_l, const float *in_r,
                     float *out_l, float *out_r, int64_t frames, int block)
{
    if (!e || !out_l || !out_r || frames < 0 || block < 1) return RT_ERR_INVALID;
    if (!e->active) return RT_ERR_STATE;
    if (atomic_load(&e->running)) return RT_ERR_STATE;   /* the live stream owns process() */
    e->transport.freewheel = e->render_freewheel;
    for (int64_t done = 0; done < frames; done += block) {
        int n = (int)(frames - done < block ? frames - done : block);
        const float *ip[2] = { in_l ? in_l + done : NULL, in_r ? in_r + done : NULL };
        float *op[2] = { out_l + done, out_r + done };
        int rc = rt_engine_process(e, ip, op, n);
        if (rc < 0) { e->transport.freewheel = 0; return rc; }
    }
    e->transport.freewheel = 0;
    return RT_OK;
}

/* ---- readers ------------------------------------------------------------------ */
int rt_engine_clock(rt_engine_t *e, int64_t *frame, int64_t *ns)
{
    if (!e) return RT_ERR_INVALID;
    for (int tries = 0; tries < 1000; tries++) {
        unsigned s1 = atomic_load_explicit(&e->clock_seq, memory_order_acquire);
        if (s1 & 1) continue;
        int64_t f = e->clock_frame, t = e->clock_ns;
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&e->clock_seq, memory_order_relaxed) == s1) {
            if (frame) *frame = f;
            if (ns) *ns = t;
            return RT_OK;
        }
    }
    return RT_ERR_STATE;
}

static double hist_percentile(rt_engine_t *e, uint64_t total, double q)
{
    if (!total) return 0.0;
    uint64_t want = (uint64_t)ceil(q * (double)total), acc = 0;
    if (want < 1) want = 1;
    for (int i = 0; i <= RT_HIST_BINS; i++) {
        acc += atomic_load_explicit(&e->hist[i], memory_order_relaxed);
        if (acc >= want) return i + 0.5;              /* bin centre, µs */
    }
    return RT_HIST_BINS;
}

int rt_engine_stats(rt_engine_t *e, rt_stats_t *o)
{
    if (!e || !o) return RT_ERR_INVALID;
    memset(o, 0, sizeof(*o));
#define LD(x) atomic_load_explicit(&e->x, memory_order_relaxed)
    o->blocks = LD(c_blocks); o->frames = LD(c_frames); o->xruns = LD(c_xruns);
    o->overruns = LD(c_overruns); o->events_in = LD(c_events_in);
    o->events_dropped = LD(c_events_dropped_pending) + LD(c_events_dropped_send);
    o->events_late = LD(c_events_late); o->events_stale = LD(c_events_stale);
    o->telemetry_dropped = LD(c_telemetry_dropped); o->graph_swaps = LD(c_graph_swaps);
    o->nonfinite_blocks = LD(c_nonfinite); o->callbacks = LD(c_callbacks);
    uint64_t total = 0;
    for (int i = 0; i <= RT_HIST_BINS; i++) total += LD(hist[i]);
    o->cb_p50_us = hist_percentile(e, total, 0.50);
    o->cb_p99_us = hist_percentile(e, total, 0.99);
    o->cb_max_us = LD(cb_max_ns) / 1000.0;
    o->cb_mean_us = o->callbacks ? LD(cb_sum_ns) / 1000.0 / (double)o->callbacks : 0.0;
    o->period_us = LD(period_us);
    o->sample_rate = e->sample_rate;
    o->max_frames = e->max_frames;
    o->last_block = LD(last_block);
    o->graph_generation = (uint32_t)LD(live_generation);
    o->active_nodes = LD(live_nodes);
    o->notes_out = LD(c_notes_out);
    o->notes_out_dropped = LD(c_notes_out_dropped);
    o->ai_steps = LD(node_counters.ai_steps);
    o->ai_missed_deadlines = LD(node_counters.ai_missed_deadlines);
    o->ai_late_notes = LD(node_counters.ai_late_notes);
    o->ai_missed_notes = LD(node_counters.ai_missed_notes);
    o->transport_playing = e->transport.playing;
    o->tempo = e->transport.tempo;
    o->transport_origin = e->transport.origin;
    o->plugins_muted = LD(node_counters.plugins_muted);
    o->clock_anchors = LD(c_clock_anchors);
    o->clock_jumps = LD(c_clock_jumps);
    o->clock_error_ms = LD(clock_error_ms);
    o->record_frames = LD(c_rec_frames);
    o->record_dropped_frames = LD(c_rec_dropped_frames);
    o->record_dropped_events = LD(c_rec_dropped_events);
    o->streams_lost = LD(c_streams_lost);
    o->streams_reopened = LD(c_streams_reopened);
#undef LD
    return RT_OK;
}

int rt_engine_reset_stats(rt_engine_t *e)
{
    if (!e) return RT_ERR_INVALID;
    atomic_store_explicit(&e->c_events_dropped_send, 0, memory_order_relaxed);
    if (!atomic_load(&e->running)) {
        /* nobody is processing: the main thread may clear directly */
        atomic_store(&e->reset_requested, 0);
        atomic_uint_fast64_t *cs[] = { &e->c_xruns, &e->c_overruns, &e->c_events_in,
            &e->c_events_dropped_pending, &e->c_events_late, &e->c_events_stale,
            &e->c_telemetry_dropped, &e->c_nonfinite, &e->c_callbacks, &e->cb_sum_ns, &e->cb_max_ns };
        for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) atomic_store(cs[i], 0);
        for (int i = 0; i <= RT_HIST_BINS; i++) atomic_store(&e->hist[i], 0);
        return RT_OK;
    }
    atomic_store_explicit(&e->reset_requested, 1, memory_order_release);
    return RT_OK;
}

int rt_engine_meters(rt_engine_t *e, rt_meter_t *out, int max)
{
    if (!e || !out || max < 0) return RT_ERR_INVALID;
    for (int tries = 0; tries < 1000; tries++) {
        unsigned s1 = atomic_load_explicit(&e->meter_seq, memory_order_acquire);
        if (s1 & 1) continue;
        int n = e->n_meters < max ? e->n_meters : max;
        memcpy(out, e->meters, (size_t)n * sizeof(rt_meter_t));
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&e->meter_seq, memory_order_relaxed) == s1) return n;
    }
    return RT_ERR_STATE;
}

int rt_engine_poll_notes(rt_engine_t *e, rt_event_t *out, int max)
{
    if (!e || !out || max < 0) return RT_ERR_INVALID;
    int n = 0;
    while (n < max && rt_ring_pop(&e->notes_out, &out[n])) n++;
    return n;
}

int rt_engine_poll_telemetry(rt_engine_t *e, rt_telemetry_t *out, int max)
{
    if (!e || !out || max < 0) return RT_ERR_INVALID;
    int n = 0;
    while (n < max && rt_ring_pop(&e->telemetry, &out[n])) n++;
    return n;
}
