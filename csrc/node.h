/*
 * node.h -- the interface every built-in node implements (internal).
 *
 * A node class is a static table: name, parameter table, and callbacks.
 * Threading:
 *   init/destroy/add_sample  [main-thread]  may allocate (called while building a graph)
 *   control/process/event    [audio-thread] never allocate, lock, log or do I/O
 *
 * Block-size invariance: the engine splits every host block into chunks that end at
 * event times and at multiples of RT_CONTROL_FRAMES on the engine clock. control()
 * runs at every grid point with the smoothed parameter values; process() must keep
 * all of its state per sample, so that processing n frames in one call or in several
 * calls gives bit-identical output. Anything recomputed "per block" belongs in control().
 */
#ifndef RT_NODE_H
#define RT_NODE_H

#include <stdatomic.h>
#include "rtcore.h"

/* The engine's musical clock and shared counters, owned by the engine, read by nodes on the
 * audio thread (written by the audio thread only, before nodes run). */
typedef struct rt_transport {
    int64_t now;            /* engine frame of the current control tick; inside event(), the event's frame */
    int64_t origin;         /* engine frame of beat 0 */
    double  tempo;          /* BPM */
    int     playing;
    int     freewheel;      /* offline render: no deadlines, compute synchronously */
} rt_transport_t;

typedef struct rt_node_counters {
    _Atomic uint64_t ai_steps, ai_missed_deadlines, ai_late_notes, ai_missed_notes;
    _Atomic uint64_t plugins_muted;
} rt_node_counters_t;

/* [audio-thread] deliver a note event from a controller to its event-connected nodes (now,
 * before they process this chunk) and to the engine's notes-out ring */
typedef void (*rt_emit_fn)(void *ctx, const rt_event_t *ev);

typedef struct rt_node_env {
    double sample_rate;     /* Hz */
    int    max_frames;      /* largest chunk process() will see */
    uint32_t seed;          /* deterministic per-node seed for noise generators */
    const rt_transport_t *transport;
    rt_node_counters_t   *counters;
    rt_emit_fn emit;        /* controllers only */
    void      *emit_ctx;
    const void *cls_data;   /* the class's own data (plugin node types: which plugin), or NULL */
} rt_node_env_t;

typedef struct rt_sample_zone {
    int      note_lo, note_hi, root;
    float   *data;          /* interleaved, owned by the node (free in destroy) */
    int64_t  frames;
    int      channels;      /* 1 or 2 */
    double   sample_rate;
    int      loop;          /* 0 one-shot, 1 looped */
    int64_t  loop_start, loop_end;
} rt_sample_zone_t;

typedef struct rt_node_class {
    const char            *name;        /* type name used in patches */
    const char            *doc;         /* one line */
    int                    flags;       /* RT_NODE_* */
    const rt_param_info_t *params;
    int                    n_params;
    size_t                 state_size;  /* bytes of state; zeroed before init */

    /* [main-thread] allocate internal buffers (delay lines ...); params hold the
     * initial values. Return RT_OK or an error. */
    int  (*init)(void *state, const rt_node_env_t *env, const float *params);
    /* [main-thread] free what init allocated (may be NULL) */
    void (*destroy)(void *state);
    /* [audio-thread] at every control grid point: params are the smoothed values;
     * `frames` is RT_CONTROL_FRAMES (the distance to the next grid point), or 0 once
     * when the graph is prepared: then jump to the values (no ramps). May be NULL. */
    void (*control)(void *state, const float *params, int frames);
    /* [audio-thread] in[0..1] is the summed input (zeros for sources), out[0..1] must
     * be written completely. n <= RT_CONTROL_FRAMES. */
    void (*process)(void *state, const float *const *in, float *const *out, int n);
    /* [audio-thread] RT_NODE_MULTI_INPUT nodes get this instead of process():
     * in[2*k], in[2*k+1] are input k's left/right, k < n_in (connection order). */
    void (*process_multi)(void *state, const float *const *in, int n_in, float *const *out, int n);
    /* [audio-thread] note / CC / bend / pressure / all-notes-off (may be NULL) */
    void (*event)(void *state, const rt_event_t *ev);
    /* [main-thread] a text setting (may be NULL); err gets one line on failure */
    int  (*configure)(void *state, const char *key, const char *value, char *err, int err_len);
    /* [main-thread] take ownership of a sample zone (may be NULL) */
    int  (*add_sample)(void *state, rt_sample_zone_t *zone);
    /* handed to init() as env->cls_data: classes made at run time (plugins) say which plugin */
    const void *cls_data;
} rt_node_class_t;

/* nodes/registry.c: the built-in classes, then the classes registered at run time */
extern const rt_node_class_t *const rt_node_classes[];
extern const int rt_node_class_count;
const rt_node_class_t *rt_node_class_find(const char *name);
/* [main-thread] add a class made at run time (a plugin's); returns its type index or an
 * error. The class must live until the process ends (types are never unregistered: graphs and
 * the Python side refer to them by index). Readers on any thread see it once this returns. */
int rt_node_class_register(const rt_node_class_t *cls);

#endif
