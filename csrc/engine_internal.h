/* engine_internal.h -- structures shared by engine.c, graph.c and audio_pa.c. */
#ifndef RT_ENGINE_INTERNAL_H
#define RT_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include "rtcore.h"
#include "node.h"
#include "ring.h"

/* Where a controller's note events go: the graph slot its state lives in. It is allocated in
 * the same block as the node state, right after it (see rt_graph_add_node), so it moves with the
 * state when a hot reload hands the state to a node of the next graph; the swap rewrites it to
 * name the new slot. Nodes keep the pointer they were given at init and never see a stale one. */
typedef struct rt_emit_ctx {
    struct rt_graph *graph;
    int node;
} rt_emit_ctx_t;

typedef struct rt_graph_node {
    const rt_node_class_t *cls;
    void  *state;
    char   name[RT_NAME_MAX];
    int    channel;                     /* 0 = omni, 1-16 */
    float  target[RT_MAX_PARAMS];       /* set by events */
    float  current[RT_MAX_PARAMS];      /* smoothed at the control rate */
    int    n_inputs;
    int    inputs[RT_MAX_NODES];
    int    has_output;                  /* feeds another node */
    int    n_event_targets;             /* controllers: nodes their note events go to */
    int    event_targets[RT_MAX_NODES];
    rt_emit_ctx_t *emit_ctx;            /* inside the state's allocation: travels with it */
    float *out[2];                      /* max_frames each */
    float *sum[2];                      /* input summing buffer */
    /* hot reload (rt_graph_keep_node): set on the main thread before commit */
    int    keep_from;                   /* node of the previous graph whose state this one takes, -1 */
    int    fade_inputs;                 /* kept, but its inputs differ from the old node's: they are
                                           crossfaded old -> new during the swap fade */
    int    muted;                       /* [audio-thread] a plugin that output NaN/Inf: silent */
} rt_graph_node_t;

struct rt_graph {
    struct rt_engine *engine;
    double   sample_rate;
    int      max_frames;
    uint32_t generation;
    int      committed;
    float    smooth_coef;               /* one-pole coefficient per control tick */
    int      n_nodes;
    rt_graph_node_t nodes[RT_MAX_NODES];
    int      order[RT_MAX_NODES];       /* processing order, master last */
    float   *zero;                      /* max_frames of silence */

    /* hot reload: nodes taking over the live state of the previous graph's nodes. Planned on the
     * main thread at commit (rt_graph_plan_keeps), applied on the audio thread at the swap
     * (rt_graph_take_over) only if the live graph then is generation keep_gen. */
    uint32_t keep_gen;                  /* generation the kept states come from, 0 = none */
    int      n_keeps;
    int      n_old;                     /* node count of that graph */
    int16_t  old_to_new[RT_MAX_NODES];  /* its node -> our node holding that state now, or -1 */
    int      n_plan;                    /* fade schedule: both graphs in one topological order */
    int16_t  plan[2 * RT_MAX_NODES];    /* >= 0: our node; < 0: -(k + 1) = old node k (not kept) */
    int      seamless;                  /* every old node kept, no input crossfade: no fade at all */
    float   *scratch;                   /* input crossfade buffers, 2 * RT_MAX_INPUTS * max_frames */
    int      keeps_live;                /* [audio-thread] the keeps were applied at the swap */
};

#define RT_HIST_BINS 20000              /* callback-time histogram, 1 µs bins */
#define RT_NOTES_RING_SIZE 4096

struct rt_engine {
    double sample_rate;
    int    max_frames;
    int    active;
    atomic_int running;                 /* an audio stream is processing */

    rt_ring_t events;                   /* producers -> audio thread */
    pthread_mutex_t send_lock;          /* serializes producers; never taken by the audio thread */
    rt_ring_t graphs_in;                /* main -> audio: rt_graph_t* */
    rt_ring_t graphs_out;               /* audio -> main: retired rt_graph_t* */
    pthread_mutex_t collect_lock;       /* graphs_out has one consumer at a time; not the audio thread */
    rt_ring_t telemetry;                /* audio -> main: rt_telemetry_t */
    rt_ring_t notes_out;                /* audio -> main: rt_event_t emitted by controllers */
    rt_ring_t clock_in;                 /* clock sources -> audio: rt_clock_anchor_t */
    pthread_mutex_t clock_lock;         /* serializes clock producers; never taken by the audio thread */
    double  clock_target;               /* [audio-thread] origin the external clock asks for (frames) */
    int     clock_slewing;              /* [audio-thread] the origin moves toward clock_target */
    atomic_uint_fast64_t c_clock_anchors, c_clock_jumps;
    _Atomic double clock_error_ms;
    rt_ring_t rec_audio;                /* audio -> recorder: rt_record_audio_t (while recording) */
    rt_ring_t rec_events;               /* audio -> recorder: rt_record_event_t */
    atomic_int recording;               /* set by the main thread, read by the audio thread */
    atomic_uint_fast64_t c_rec_frames, c_rec_dropped_frames, c_rec_dropped_events;
    rt_transport_t transport;           /* musical clock (audio thread writes) */
    int     render_freewheel;           /* what rt_engine_render sets transport.freewheel to */
    rt_node_counters_t node_counters;   /* written by nodes on the audio thread */
    atomic_uint_fast64_t c_notes_out, c_notes_out_dropped;
    /* live streams lost (device or server gone) and reopened (audio_pa.c, main thread); not reset */
    atomic_uint_fast64_t c_streams_lost, c_streams_reopened;
    int     stream_lost_pending;        /* [main-thread] a lost stream awaits its reopening */

    /* audio-thread state */
    rt_event_t *pending;                /* sorted by time, stable */
    int     n_pending;
    rt_graph_t *cur, *old;              /* live graph, graph fading out */
    int     fade_pos, fade_len;
    float  *fade_buf[2];
    int64_t frame;                      /* engine clock: frames processed */

    /* counters written by the audio thread (single writer), read anywhere */
    atomic_uint_fast64_t c_blocks, c_frames, c_xruns, c_overruns, c_events_in,
                         c_events_dropped_pending, c_events_late, c_events_stale,
                         c_telemetry_dropped, c_graph_swaps, c_nonfinite, c_callbacks;
    atomic_uint_fast64_t c_events_dropped_send;   /* written by producers under send_lock */
    atomic_uint_fast64_t cb_sum_ns, cb_max_ns;
    atomic_uint_fast32_t hist[RT_HIST_BINS + 1];
    atomic_int  reset_requested;
    atomic_int  last_block;
    _Atomic double period_us;
    atomic_uint_fast32_t live_generation;
    atomic_int  live_nodes;

    /* seqlocks (single writer = audio thread) */
    atomic_uint clock_seq;
    int64_t clock_frame, clock_ns;
    atomic_uint meter_seq;
    int     n_meters;
    rt_meter_t meters[RT_MAX_NODES + 1];

    uint32_t next_generation;
    rt_graph_t *last_committed;         /* [main-thread] the only graph a new one can keep state from */
    struct rt_audio *audio;             /* open live stream, if any */
};

int  rt_graph_prepare(rt_graph_t *g);   /* topo sort + first control pass [main-thread] */
/* [main-thread] at commit, after prepare: check g's kept nodes against `old` (the last committed
 * graph, or NULL) and plan the swap fade; drops keeps that cannot apply. RT_OK or RT_ERR_NOMEM. */
int  rt_graph_plan_keeps(rt_graph_t *g, const rt_graph_t *old);
/* [audio-thread] at the swap: if `old` is the graph g planned against, move the kept states into
 * g (O(nodes), no allocation) and return how many; else 0 and g starts fresh */
int  rt_graph_take_over(rt_graph_t *g, rt_graph_t *old);
void rt_graph_process(rt_graph_t *g, const float *const *in, int pos, int n, int tick);
/* [audio-thread] one node: parameter smoothing + control() at a grid point; processing one chunk
 * with inputs src[2j], src[2j+1], j < n_src (summed unless the node is RT_NODE_MULTI_INPUT) */
void rt_node_tick(const rt_graph_t *g, rt_graph_node_t *node);
void rt_node_run(const rt_graph_t *g, rt_graph_node_t *node, const float *const *src, int n_src,
                 const float *const *in, int pos, int n);
/* [audio-thread] during the fade after a swap with kept states: both graphs, one schedule */
void rt_graph_process_fade(rt_graph_t *g, rt_graph_t *old, const float *const *in, int pos, int n,
                           int tick, int fade_pos, int fade_len);
int  rt_graph_route_event(rt_graph_t *g, const rt_event_t *ev, atomic_uint_fast64_t *stale);
void rt_graph_free(rt_graph_t *g);
/* [audio-thread] the recorder's journal (csrc/record.c): a processed piece of master output
 * starting at engine frame `start`; an event applied at `frame` (source RT_REC_*) */
void rt_record_audio_piece(rt_engine_t *e, const float *const *out, int frames, int64_t start);
void rt_record_event(rt_engine_t *e, const rt_event_t *ev, int64_t frame, int source);
/* [audio-thread] csrc/clock.c: take the external clock's anchors, slew the origin (block start) */
void rt_clock_block(rt_engine_t *e, int frames);
/* [audio-thread] push a telemetry record (counted in telemetry_dropped when the ring is full) */
void rt_engine_telemetry(rt_engine_t *e, uint32_t type, int32_t a, float value);
void rt_graph_emit(void *ctx, const rt_event_t *ev);

#endif
