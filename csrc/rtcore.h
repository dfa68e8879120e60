/*
 * rtcore.h -- the public C API of the rtcore real-time engine.
 *
 * This is the only header the cffi cdef mirrors (pymodule/build_rtcore.py).
 *
 * Conventions (after CLAP, JACK and PortAudio):
 *  - names rt_<noun>_<verb>(), types rt_<noun>_t, constants RT_*;
 *  - every function returns 0 (RT_OK) or a negative RT_ERR_* code unless noted;
 *    rt_strerror() gives the text;
 *  - every prototype carries its thread tag:
 *      [main-thread]          may allocate, block, do I/O; never call it from the audio thread;
 *      [audio-thread]         real-time safe: no malloc/free, no locks, no I/O, bounded time;
 *      [any-thread]           lock-free for the audio thread; producers may briefly contend
 *                             with each other (never with the audio thread).
 *  - times are in frames (samples per channel) of the engine clock unless noted;
 *    audio is float32, stereo, non-interleaved.
 */
#ifndef RTCORE_H
#define RTCORE_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RT_VERSION_MAJOR 0
#define RT_VERSION_MINOR 1

/* ---- error codes -------------------------------------------------------- */
#define RT_OK              0
#define RT_ERR_NOMEM      -1   /* allocation failed */
#define RT_ERR_INVALID    -2   /* bad argument */
#define RT_ERR_STATE      -3   /* call not allowed in the current lifecycle state */
#define RT_ERR_FULL       -4   /* a ring or table is full; try again later */
#define RT_ERR_NOT_FOUND  -5   /* unknown node type, parameter, node index */
#define RT_ERR_RANGE      -6   /* value outside its allowed range */
#define RT_ERR_CYCLE      -7   /* connection would make the graph cyclic */
#define RT_ERR_DEVICE     -8   /* audio device missing, busy or refused the stream */
#define RT_ERR_FORMAT     -9   /* data in an unsupported format */

/* [any-thread] static text for an error code; never NULL */
const char *rt_strerror(int code);

/* ---- limits ------------------------------------------------------------- */
#define RT_MAX_NODES          128   /* nodes per graph, master limiter included */
#define RT_MAX_PARAMS          64   /* parameters per node (plugins: control input ports) */
#define RT_MAX_INPUTS          16   /* incoming connections per node */
#define RT_MAX_FRAMES_LIMIT  8192   /* largest max_frames accepted by activate */
#define RT_CONTROL_FRAMES      32   /* control-rate grid: smoothing and coefficient updates
                                       happen every 32 frames of the engine clock, so output
                                       does not depend on the host block size */
#define RT_EVENT_RING_SIZE   8192   /* events in flight from producers to the audio thread */
#define RT_PENDING_SIZE      8192   /* events held by the audio thread until their time */
#define RT_TELEMETRY_RING_SIZE 1024
#define RT_NAME_MAX            48

/* ---- parameters ----------------------------------------------------------- */
#define RT_PARAM_FLOAT   0   /* continuous, smoothed */
#define RT_PARAM_INT     1   /* integer steps, not smoothed */
#define RT_PARAM_ENUM    2   /* index into choices ("saw|square|..."), not smoothed */
#define RT_PARAM_BOOL    3   /* 0 or 1, not smoothed */

typedef struct rt_param_info {
    const char *name;      /* e.g. "cutoff" */
    const char *unit;      /* "Hz", "dB", "ms", "s", "%", "semitones", "" ... */
    float       min;
    float       max;
    float       def;
    int         kind;      /* RT_PARAM_* */
    const char *choices;   /* RT_PARAM_ENUM: '|'-separated names, else "" */
    const char *doc;       /* one line for humans */
} rt_param_info_t;

/* node class flags */
#define RT_NODE_RECEIVES_NOTES  1   /* instrument: note, CC, bend events are routed to it */
#define RT_NODE_TAKES_AUDIO     2   /* effect: processes the sum of its inputs */
#define RT_NODE_ENGINE_INPUT    4   /* source of the engine's audio input */
#define RT_NODE_TAKES_SAMPLES   8   /* accepts rt_graph_node_add_sample() */
#define RT_NODE_MULTI_INPUT    16   /* sees each input separately (mixer), in connection order */
#define RT_NODE_CONTROLLER     32   /* runs before the audio nodes each chunk and emits note events
                                       to the nodes it is event-connected to (the AI accompanist) */
#define RT_NODE_PLUGIN         64   /* third-party code (LADSPA, LV2): its output is checked every
                                       chunk; on NaN/Inf the node is muted for good and reported
                                       (RT_TM_PLUGIN_MUTED, stats.plugins_muted) */

/* [any-thread] the built-in node types */
int         rt_node_type_count(void);
const char *rt_node_type_name(int type_index);      /* NULL if out of range */
int         rt_node_type_find(const char *type);    /* index, or RT_ERR_NOT_FOUND */
int         rt_node_type_flags(int type_index);
const char *rt_node_type_doc(int type_index);
int         rt_node_type_param_count(int type_index);
/* fills *out; the strings are static */
int         rt_node_type_param_info(int type_index, int param, rt_param_info_t *out);

/* ---- events --------------------------------------------------------------- */
#define RT_EV_NOTE_ON        1   /* data1 = note 0-127, data2 = velocity 1-127 */
#define RT_EV_NOTE_OFF       2   /* data1 = note, data2 = release velocity */
#define RT_EV_CC             3   /* data1 = controller 0-127, data2 = value 0-127 */
#define RT_EV_PITCH_BEND     4   /* value = -1..+1 (full range of the instrument) */
#define RT_EV_PARAM          5   /* node, param, value (in the parameter's unit) */
#define RT_EV_ALL_NOTES_OFF  6   /* releases every voice of the target node(s) */
#define RT_EV_CHANNEL_PRESSURE 7 /* value = 0..1 */
#define RT_EV_TRANSPORT      8   /* musical clock: data1 = 1 play / 0 stop, value = tempo (BPM,
                                    <= 0 keeps the current one); beat 0 of bar 1 is at `time`.
                                    data1 = 2: tempo change only, the beat position at `time`
                                    (or at the next block) stays where it is */
#define RT_TRANSPORT_STOP    0
#define RT_TRANSPORT_PLAY    1
#define RT_TRANSPORT_TEMPO   2

#define RT_TIME_NOW  ((int64_t)-1)   /* apply at the start of the next block */
#define RT_NODE_ROUTE (-1)           /* node field: route by MIDI channel */

typedef struct rt_event {
    int64_t  time;     /* absolute engine frame, or RT_TIME_NOW */
    uint16_t type;     /* RT_EV_* */
    uint8_t  channel;  /* MIDI channel 1-16 (0 = any) used for routing when node < 0 */
    uint8_t  data1;    /* note or controller number, 0-127 */
    uint8_t  data2;    /* velocity or controller value, 0-127 */
    uint8_t  _pad;
    int16_t  node;     /* target node index in graph `graph`, or RT_NODE_ROUTE */
    uint16_t param;    /* RT_EV_PARAM: parameter index */
    uint32_t graph;    /* generation of the graph that `node` indexes (rt_graph_generation) */
    float    value;    /* RT_EV_PARAM value, pitch bend -1..1, pressure 0..1 */
} rt_event_t;

/* ---- telemetry -------------------------------------------------------------- */
#define RT_TM_XRUN        1   /* the audio driver reported an under/overflow; a = flags */
#define RT_TM_OVERRUN     2   /* a callback took longer than its period; value = µs */
#define RT_TM_DROPPED     3   /* events dropped (pending queue full); a = count */
#define RT_TM_NONFINITE   4   /* master output had NaN/Inf: block muted */
#define RT_TM_GRAPH_SWAP  5   /* a new graph went live; a = generation, value = how many of its
                                 nodes took over the previous graph's state (hot reload) */
#define RT_TM_PLUGIN_MUTED 6  /* a plugin node output NaN/Inf and was muted; a = node index,
                                 value = graph generation */

typedef struct rt_telemetry {
    int64_t  frame;    /* engine frame at the start of the block */
    uint32_t type;     /* RT_TM_* */
    int32_t  a;
    float    value;
} rt_telemetry_t;

typedef struct rt_stats {
    uint64_t blocks;             /* process() calls (host blocks) */
    uint64_t frames;             /* frames processed = engine clock */
    uint64_t xruns;              /* driver-reported under/overflows */
    uint64_t overruns;           /* callbacks longer than the period */
    uint64_t events_in;          /* events taken from the ring */
    uint64_t events_dropped;     /* send() on a full ring + pending queue overflow */
    uint64_t events_late;        /* scheduled in the past: applied at the block start */
    uint64_t events_stale;       /* aimed at a graph that is no longer live */
    uint64_t telemetry_dropped;  /* telemetry ring full */
    uint64_t graph_swaps;
    uint64_t nonfinite_blocks;   /* blocks muted because the master was NaN/Inf */
    uint64_t callbacks;          /* timed callbacks (live only) */
    double   cb_p50_us;          /* callback duration percentiles (live only) */
    double   cb_p99_us;
    double   cb_max_us;
    double   cb_mean_us;
    double   period_us;          /* duration of the last timed block */
    double   sample_rate;
    int32_t  max_frames;
    int32_t  last_block;         /* frames in the last process() call */
    uint32_t graph_generation;   /* generation of the live graph (0 = none) */
    int32_t  active_nodes;
    uint64_t notes_out;          /* note events emitted by controllers (the AI) */
    uint64_t notes_out_dropped;  /* ... lost because the notes-out ring was full */
    uint64_t ai_steps;           /* 16th-note steps the AI played */
    uint64_t ai_missed_deadlines;/* steps whose prediction was not ready: the chord was held */
    uint64_t ai_late_notes;      /* player notes after a step began, answered by a re-pick */
    uint64_t ai_missed_notes;    /* reactive mode: notes whose row was not ready (taken next step) */
    int32_t  transport_playing;
    double   tempo;              /* BPM */
    int64_t  transport_origin;   /* engine frame of beat 0 */
    uint64_t plugins_muted;      /* plugin nodes muted because their output was NaN/Inf */
    uint64_t clock_anchors;      /* external clock readings taken */
    uint64_t clock_jumps;        /* ... that moved the beat at once (a join, a jump) */
    double   clock_error_ms;     /* phase error of the last reading before correction (ms) */
    uint64_t record_frames;      /* frames journaled while recording */
    uint64_t record_dropped_frames;  /* ... lost because the recorder's audio ring was full */
    uint64_t record_dropped_events;  /* events lost because its event ring was full */
    uint64_t streams_lost;       /* live streams that stopped on their own (server/device gone);
                                    not cleared by rt_engine_reset_stats */
    uint64_t streams_reopened;   /* ... and were opened again (a reconnect); not cleared either */
} rt_stats_t;

/* per-node meters of the live graph, measured per block */
typedef struct rt_meter {
    float peak[2];   /* linear, absolute peak of the last block */
    float rms[2];    /* linear RMS of the last block */
    int32_t muted;   /* 1: a plugin node muted for NaN/Inf output (RT_NODE_PLUGIN) */
} rt_meter_t;

/* ---- engine lifecycle ------------------------------------------------------ */
typedef struct rt_engine rt_engine_t;
typedef struct rt_graph  rt_graph_t;

/* [main-thread] */ int  rt_engine_create(rt_engine_t **out);
/* [main-thread] stops the stream if any, frees every graph */
/* [main-thread] */ void rt_engine_destroy(rt_engine_t *e);
/* [main-thread] fixes the sample rate (Hz) and the largest block (frames);
 * all real-time memory is allocated here. Not allowed while running. */
/* [main-thread] */ int  rt_engine_activate(rt_engine_t *e, double sample_rate, int max_frames);
/* [main-thread] */ int  rt_engine_deactivate(rt_engine_t *e);

/* [audio-thread] process one host block of any length (split internally into
 * max_frames pieces). in may be NULL (silence) or in[0]/in[1] may be NULL. */
/* [audio-thread] */ int  rt_engine_process(rt_engine_t *e, const float *const *in,
                                            float *const *out, int frames);
/* [audio-thread] called by an audio driver around process(): records the callback
 * duration (ns) against the period and any driver status flags (xruns). */
/* [audio-thread] */ void rt_engine_note_callback(rt_engine_t *e, int64_t duration_ns,
                                                 int frames, int xrun_flags);
/* [main-thread] offline: render `frames` frames in host blocks of `block` frames.
 * in_l/in_r may be NULL. Same samples as live processing for the same events. */
/* [main-thread] */ int  rt_engine_render(rt_engine_t *e, const float *in_l, const float *in_r,
                                           float *out_l, float *out_r, int64_t frames, int block);

/* [main-thread] offline renders freewheel by default (1): controllers compute synchronously, no
 * deadlines, deterministic. 0 makes render() behave like a live stream (the AI's inference
 * thread and its deadlines apply): for tests and measurements paced in real time. */
/* [main-thread] */ int  rt_engine_set_freewheel(rt_engine_t *e, int on);

/* [any-thread] queue an event for the audio thread. RT_ERR_FULL when the ring
 * is full (counted in events_dropped). */
/* [any-thread] */ int  rt_engine_send(rt_engine_t *e, const rt_event_t *ev);
/* [any-thread] queue many events; returns how many were queued (>= 0) */
/* [any-thread] */ int  rt_engine_send_many(rt_engine_t *e, const rt_event_t *evs, int count);

/* [any-thread] engine clock: frame at the start of the last processed block and the
 * CLOCK_MONOTONIC time (ns) at which that block's processing started. */
/* [any-thread] */ int  rt_engine_clock(rt_engine_t *e, int64_t *frame, int64_t *monotonic_ns);
/* [any-thread] CLOCK_MONOTONIC now, in ns */
/* [any-thread] */ int64_t rt_monotonic_ns(void);

/* [main-thread] counters and callback-time percentiles */
/* [main-thread] */ int  rt_engine_stats(rt_engine_t *e, rt_stats_t *out);
/* [main-thread] zero the counters and the callback histogram (takes effect at the next block) */
/* [main-thread] */ int  rt_engine_reset_stats(rt_engine_t *e);
/* [main-thread] copy up to max meters of the live graph (index = node index; the
 * last live graph's master is at index node_count). Returns how many were copied. */
/* [main-thread] */ int  rt_engine_meters(rt_engine_t *e, rt_meter_t *out, int max);
/* [main-thread] drain the note events controllers emitted (absolute frame in `time`,
 * channel 2 alto, 3 tenor, 4 bass); returns how many were copied */
/* [main-thread] */ int  rt_engine_poll_notes(rt_engine_t *e, rt_event_t *out, int max);
/* [main-thread] drain telemetry records; returns how many were copied */
/* [main-thread] */ int  rt_engine_poll_telemetry(rt_engine_t *e, rt_telemetry_t *out, int max);
/* [any-thread] (not the audio thread) free graphs the audio thread has retired; callers
 * take turns on a lock (stats() is read from control threads too); returns how many */
/* [any-thread] */ int  rt_engine_collect(rt_engine_t *e);

/* ---- graphs ------------------------------------------------------------------
 * A graph is built off the audio thread, then handed over whole by
 * rt_engine_commit_graph(); the audio thread swaps it in at a block boundary
 * with a short crossfade and hands the old graph back to be freed here. */

/* [main-thread] an empty graph for an activated engine; the master limiter
 * (node 0, type "limiter", name "master") is always present. */
/* [main-thread] */ int  rt_graph_create(rt_engine_t *e, rt_graph_t **out);
/* [main-thread] only for graphs never committed */
/* [main-thread] */ void rt_graph_destroy(rt_graph_t *g);
/* [main-thread] returns the new node's index (>= 0) or an error */
/* [main-thread] */ int  rt_graph_add_node(rt_graph_t *g, const char *type, const char *name);
/* [main-thread] MIDI channel filter for note/CC/bend routing: 0 = omni, 1-16 */
/* [main-thread] */ int  rt_graph_set_channel(rt_graph_t *g, int node, int channel);
/* [main-thread] initial parameter value (no smoothing); RT_ERR_RANGE if outside */
/* [main-thread] */ int  rt_graph_set_param(rt_graph_t *g, int node, int param, float value);
/* [main-thread] audio of `from` is summed into the input of `to` */
/* [main-thread] */ int  rt_graph_connect(rt_graph_t *g, int from, int to);
/* [main-thread] a sample zone for a sampler node. data is interleaved float32
 * (copied). Notes lo..hi play it, transposed from root; loop = 0 one-shot,
 * 1 looped between loop_start and loop_end (frames; end <= 0 = whole file). */
/* [main-thread] */ int  rt_graph_node_add_sample(rt_graph_t *g, int node, int note_lo, int note_hi,
                                                 int root, const float *data, int64_t frames,
                                                 int channels, double sample_rate, int loop,
                                                 int64_t loop_start, int64_t loop_end);
/* [main-thread] text settings of a node (e.g. the AI node's "model" path). On failure err gets
 * one line. May load files, start threads: never on the audio thread. */
/* [main-thread] */ int  rt_graph_node_configure(rt_graph_t *g, int node, const char *key,
                                                const char *value, char *err, int err_len);
/* [main-thread] note events emitted by controller node `from` are delivered to node `to`
 * (which must receive notes; its channel filter applies) */
/* [main-thread] */ int  rt_graph_connect_events(rt_graph_t *g, int from, int to);
/* [main-thread] node count (master included) */
/* [main-thread] */ int  rt_graph_node_count(const rt_graph_t *g);
/* [main-thread] generation number this graph will carry when committed */
/* [main-thread] */ uint32_t rt_graph_generation(const rt_graph_t *g);
/* [main-thread] hot reload: node `node` of g (not yet committed) takes over the live state of
 * node `old_node` of the graph of generation `old_generation` when g swaps in: held notes keep
 * sounding, tails keep ringing, a controller keeps its performance. Float parameters glide from
 * the old node's smoothed values to g's; int/enum/bool ones apply at the next control tick, like
 * a parameter event. RT_ERR_NOT_FOUND unless old_generation is the last committed graph (graphs go
 * live in commit order, so no other can be live when g swaps in) and both nodes exist;
 * RT_ERR_INVALID if the types differ, if only one of them is the master, or if the old node is
 * already taken. At commit, a controller and the instruments it sends notes to are kept together
 * or not at all (their held notes would hang). At the swap the keeps apply only if that graph is
 * still the live one (else g starts fresh); a kept node whose inputs changed hears them
 * crossfaded old -> new. RT_TM_GRAPH_SWAP's value says how many nodes kept their state. */
/* [main-thread] */ int  rt_graph_keep_node(rt_graph_t *g, int node, uint32_t old_generation, int old_node);
/* [main-thread] validates (no cycles), sorts, and hands the graph to the engine;
 * on success the engine owns it. RT_ERR_FULL if a swap is still in progress. */
/* [main-thread] */ int  rt_engine_commit_graph(rt_engine_t *e, rt_graph_t *g);

/* ---- AI accompaniment: the model contract ------------------------------------
 * Tokens (melody in, each AI voice out): RT_AI_REST, RT_AI_HOLD (the previous note goes on),
 * or a pitch: token = RT_AI_PITCH0 + (midi_note - RT_AI_PITCH_LO), notes RT_AI_PITCH_LO..HI.
 * One step = one 16th note. The ONNX step model (batch 1, static shapes):
 *   inputs  "melody" int64 [1]           this step's melody token
 *           "beat"   int64 [1]           position in the bar, 0..RT_AI_BEATS-1 (16ths)
 *           "prev"   int64 [3]           the AI's previous tokens: alto, tenor, bass
 *           "state"  float32 [L, 1, H]   recurrent state (zeros at the start)
 *   outputs "logits"    float32 [3, RT_AI_VOCAB]   alto, tenor, bass
 *           "state_out" float32 [L, 1, H]                                              */
#define RT_AI_REST       0
#define RT_AI_HOLD       1
#define RT_AI_PITCH0     2
#define RT_AI_PITCH_LO  28
#define RT_AI_PITCH_HI  96
#define RT_AI_VOCAB     71      /* 2 + (96 - 28 + 1) */
#define RT_AI_VOICES     3
#define RT_AI_BEATS     16

/* ---- AI inference: ONNX Runtime's C API, dlopen'ed from the onnxruntime wheel -------- */
typedef struct rt_model rt_model_t;

/* [main-thread] load libonnxruntime (full path, e.g. .../onnxruntime/capi/libonnxruntime.so.1.x)
 * once per process; later calls with any path return RT_OK. err gets one line on failure. */
/* [main-thread] */ int  rt_ort_init(const char *library_path, char *err, int err_len);
/* [main-thread] open a step model: checks input/output names, types and shapes against the
 * contract above, creates a session (1 intra-op thread, sequential, no spinning), preallocates
 * and binds every tensor, runs warm-up steps. err gets one line naming the file on failure. */
/* [main-thread] */ int  rt_model_open(const char *path, rt_model_t **out, char *err, int err_len);
/* [main-thread] */ void rt_model_close(rt_model_t *m);
/* [any-thread] floats in the recurrent state (L * H) */
/* [any-thread] */ int  rt_model_state_size(const rt_model_t *m);
/* [inference thread; the audio thread only in inline mode] one step. state_in and state_out may
 * be the same buffer. logits receives RT_AI_VOICES * RT_AI_VOCAB floats. ONNX Runtime may
 * allocate inside Run: see the README for why the engine runs it on its own thread. */
/* [inference-thread] */ int rt_model_step(rt_model_t *m, int melody, int beat, const int *prev,
                                           const float *state_in, float *state_out, float *logits);
/* [main-thread] time `steps` calls of rt_model_step on the calling thread (random valid inputs,
 * state carried); writes each duration in µs to us[0..steps-1] */
/* [main-thread] */ int  rt_model_bench(rt_model_t *m, int steps, float *us);
/* [any-thread] draw a token from n logits: temperature <= 0 = argmax, top_k <= 0 = no limit;
 * *rng is an xorshift32 state (deterministic for a given seed) */
/* [any-thread] */ int  rt_sample_token(const float *logits, int n, float temperature, int top_k,
                                        uint32_t *rng);

/* ---- external clocks: Ableton Link, MIDI clock in ------------------------------------
 * A clock source outside the engine tells it, now and then, where the shared beat is: at engine
 * frame `frame` the beat is `beat`, and beats advance at `tempo` per minute of the engine's
 * frames (a source corrects the tempo for the device's real rate). The anchors go through a ring;
 * the audio thread takes them at the next block and from then on extrapolates by itself, so it
 * never waits for the source. A small phase error is slewed away (at most RT_CLOCK_SLEW_PERMILLE / 1000 of the
 * frames played: inaudible, the AI's grid never skips a step); a larger one -- joining a
 * session, a jump -- is taken at once. */
#define RT_CLOCK_RING_SIZE   64
#define RT_CLOCK_SLEW_PERMILLE 50    /* the origin may move this many thousandths of a block per block */
#define RT_CLOCK_JUMP_MS       10    /* a phase error above this many ms is corrected at once */
#define RT_CLOCK_KEEP        (-1)    /* anchor.playing: leave the transport running or stopped */

typedef struct rt_clock_anchor {
    int64_t frame;                   /* engine frame of the reading */
    double  beat;                    /* shared beat position at that frame (beat 0 = bar 1) */
    double  tempo;                   /* beats per minute of engine frames (BPM x nominal/real rate) */
    int32_t playing;                 /* 1 start (or keep running), 0 stop, RT_CLOCK_KEEP */
    int32_t jump;                    /* 1: take the phase at once (no slew) */
} rt_clock_anchor_t;

/* [any-thread] queue a reading of an external clock; RT_ERR_FULL when the ring is full */
/* [any-thread] */ int rt_engine_clock_anchor(rt_engine_t *e, const rt_clock_anchor_t *anchor);

/* ---- the recorder's journal -------------------------------------------------------
 * While recording is on, the audio thread copies the master output and every event it applies
 * (what came in, and the notes controllers -- the AI -- play) into two rings; one consumer thread
 * drains them to disk (rtcore/record.py). A full ring drops what does not fit and counts it
 * (stats: record_dropped_frames, record_dropped_events); the audio thread never waits. */
#define RT_REC_CHUNK        256     /* frames per audio record (rt_record_audio_t.data holds 2x) */
#define RT_REC_AUDIO_SLOTS 1024     /* audio records in flight: 1024 * 256 frames = 5.5 s at 48 kHz */
#define RT_REC_EVENT_SLOTS 16384    /* event records in flight */
#define RT_REC_INPUT        0       /* an event the engine received and applied */
#define RT_REC_GENERATED    1       /* a note a controller (the AI) played */

typedef struct rt_record_audio {
    int64_t frame;                  /* engine frame of data[0] */
    int32_t frames;                 /* 1..RT_REC_CHUNK */
    int32_t _pad;
    float   data[512];              /* 2 * RT_REC_CHUNK: interleaved left, right */
} rt_record_audio_t;

typedef struct rt_record_event {
    int64_t  frame;                 /* engine frame it took effect */
    uint32_t graph;                 /* generation of the live graph then (names its node indexes) */
    uint16_t type;                  /* RT_EV_* */
    uint8_t  source;                /* RT_REC_INPUT / RT_REC_GENERATED */
    uint8_t  channel, data1, data2;
    int16_t  node;                  /* target node index in that graph, or RT_NODE_ROUTE */
    uint16_t param;
    float    value;
} rt_record_event_t;

/* [main-thread] journaling on (1) or off (0), from the next block */
/* [main-thread] */ int rt_engine_record(rt_engine_t *e, int on);
/* [one consumer thread, not the audio thread] copy up to max waiting audio records; returns how many */
/* [any-thread] */ int rt_engine_record_audio(rt_engine_t *e, rt_record_audio_t *out, int max);
/* [one consumer thread, not the audio thread] copy up to max waiting event records; returns how many */
/* [any-thread] */ int rt_engine_record_events(rt_engine_t *e, rt_record_event_t *out, int max);

/* ---- third-party plugins: LADSPA and LV2 ------------------------------------------
 * Loading a plugin makes it a node type of its own -- "ladspa:<library path>:<label>" or
 * "lv2:<uri>" -- whose parameters are the plugin's control input ports (name, range and default
 * from its hints), and which rt_graph_add_node() then takes like a built-in type. A node's
 * plugin is instantiated, connected and activated in rt_graph_add_node(), on the thread building
 * the graph, and reaches the audio thread with the graph (the swap path). Mono plugins (1 audio
 * in, 1 out) run as two instances, one per stereo channel. Every plugin node is RT_NODE_PLUGIN:
 * NaN/Inf output mutes it. Loaded types stay for the life of the process. */
typedef struct rt_plugin_desc {
    char     label[128];     /* LADSPA label (LV2: empty) */
    char     uri[512];       /* LV2 URI; LADSPA: the library's path */
    char     name[128];
    char     maker[128];
    uint32_t id;             /* LADSPA unique id (LV2: 0) */
    int32_t  audio_in, audio_out, control_in, control_out, midi_in, other_ports;
    int32_t  hostable;       /* 1: rtcore can run it; 0: `problem` says why not */
    char     problem[256];
} rt_plugin_desc_t;

/* [main-thread] plugin number `index` (0, 1, ...) of the LADSPA library `path`: RT_OK,
 * RT_ERR_NOT_FOUND past the last one, RT_ERR_FORMAT (err: one line) if it is no LADSPA library */
/* [main-thread] */ int rt_ladspa_describe(const char *path, int index, rt_plugin_desc_t *out,
                                            char *err, int err_len);
/* [main-thread] load the plugin labelled `label` -- or, when label is NULL or "", the one whose
 * unique id is `id` -- of the LADSPA library `path` as a node type; returns its type index (the
 * same one when loaded before). Port bounds hinted as fractions of the sample rate use
 * `sample_rate` (Hz). err gets one line on failure. */
/* [main-thread] */ int rt_ladspa_load(const char *path, const char *label, uint32_t id,
                                        double sample_rate, char *err, int err_len);
/* [main-thread] the installed LV2 plugins (lilv reads LV2_PATH, else its default folders; the
 * first call scans them): how many, or an error */
/* [main-thread] */ int rt_lv2_count(char *err, int err_len);
/* [main-thread] */ int rt_lv2_describe(int index, rt_plugin_desc_t *out);
/* [main-thread] load the LV2 plugin `uri` as a node type; its type index, or an error (err: one
 * line, e.g. the features it requires that rtcore does not provide) */
/* [main-thread] */ int rt_lv2_load(const char *uri, double sample_rate, char *err, int err_len);

/* ---- live audio (PortAudio, C callback) ------------------------------------ */
typedef struct rt_audio rt_audio_t;

/* [main-thread] open a PortAudio stream whose callback runs rt_engine_process.
 * device = PortAudio device index or -1 for the default output; frames_per_block
 * 0 = let the host choose; input_channels 0-2, output_channels 1-2. */
/* [main-thread] */ int  rt_audio_open(rt_engine_t *e, int device, int input_device,
                                        int frames_per_block, int input_channels,
                                        int output_channels, double suggested_latency_s,
                                        rt_audio_t **out);
/* [main-thread] the same on the output device called exactly `device` on the host API whose name
 * contains `host_api` ("" = any); PortAudio is initialised afresh when no other stream of this
 * process is open, so a server that came back (JACK) is found. For reopening a lost stream:
 * device indexes change when a host API comes or goes, names do not. */
/* [main-thread] */ int  rt_audio_open_named(rt_engine_t *e, const char *device, const char *host_api,
                                              int frames_per_block, int input_channels,
                                              int output_channels, double suggested_latency_s,
                                              rt_audio_t **out);
/* [main-thread] the open stream's output device name and host API name */
/* [main-thread] */ int  rt_audio_device(rt_audio_t *a, char *name, int name_len, char *host_api,
                                          int host_api_len);
/* [main-thread] */ int  rt_audio_start(rt_audio_t *a);
/* [main-thread] */ int  rt_audio_stop(rt_audio_t *a);
/* [main-thread] */ void rt_audio_close(rt_audio_t *a);
/* [main-thread] 1 while the stream runs, 0 when it stopped, < 0 on error. A started stream found
 * inactive was lost (its server or device went away): counted once in stats.streams_lost. */
/* [main-thread] */ int  rt_audio_is_active(rt_audio_t *a);
/* [main-thread] 1 when the started stream stopped on its own (lost; close it and open another),
 * 0 otherwise, < 0 on error */
/* [main-thread] */ int  rt_audio_lost(rt_audio_t *a);
/* [main-thread] the stream's real input/output latency (s) and sample rate (Hz) */
/* [main-thread] */ int  rt_audio_info(rt_audio_t *a, double *in_latency, double *out_latency,
                                        double *sample_rate);
/* [any-thread] text of the last PortAudio error seen by this process */
/* [any-thread] */ const char *rt_audio_last_error(void);

#ifdef __cplusplus
}
#endif
#endif /* RTCORE_H */
