/*
 * alloc_check.c -- proves that rt_engine_process() never allocates.
 *
 * Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,... so every
 * allocation made by rtcore's own code goes through the counters below. Counting is
 * switched on only while rt_engine_process() runs. The graph holds one node of every
 * built-in type (found through the public type table, so new nodes are covered
 * automatically); the run throws note storms, CCs, pitch bends, parameter sweeps over
 * every parameter's full range, host-block-size changes and graph swaps at it. The swaps
 * rotate through hot reloads keeping every node's state, keeping every other node's (the
 * rest start fresh, so kept nodes crossfade their inputs), and keeping nothing.
 * Prints "allocations during process: N" and exits 0 when N == 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "rtcore.h"

static __thread int counting;     /* per thread: only the thread inside process() counts (the AI's
                                     inference thread may allocate inside ONNX Runtime: it is not
                                     the audio thread) */
static long n_alloc, n_free;

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void  __real_free(void *);
int   __real_posix_memalign(void **, size_t, size_t);
void *__real_aligned_alloc(size_t, size_t);

void *__wrap_malloc(size_t n) { if (counting) n_alloc++; return __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { if (counting) n_alloc++; return __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { if (counting) n_alloc++; return __real_realloc(p, n); }
void  __wrap_free(void *p) { if (counting && p) n_free++; __real_free(p); }
int   __wrap_posix_memalign(void **p, size_t a, size_t n) { if (counting) n_alloc++; return __real_posix_memalign(p, a, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { if (counting) n_alloc++; return __real_aligned_alloc(a, n); }

static uint32_t rng = 12345;
static uint32_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

#define CHECK(x) do { int rc_ = (x); if (rc_ < 0) { fprintf(stderr, "%s failed: %s\n", #x, rt_strerror(rc_)); exit(2); } } while (0)

typedef struct { int idx, type; } node_ref;

static const char *ort_lib, *model_path;   /* argv: with them the AI node runs with a model */

static rt_graph_t *build(rt_engine_t *e, node_ref *nodes, int *n_nodes)
{
    rt_graph_t *g;
    CHECK(rt_graph_create(e, &g));
    int prev_fx = -1, n = 0;
    static float sample[4800];
    for (int i = 0; i < 4800; i++) sample[i] = sinf(i * 0.05f) * (1.0f - i / 4800.0f);
    for (int t = 0; t < rt_node_type_count(); t++) {
        char name[32];
        snprintf(name, sizeof name, "n%d", t);     /* plugin types have long names: nodes are n<type> */
        int idx = rt_graph_add_node(g, rt_node_type_name(t), name);
        CHECK(idx);
        int flags = rt_node_type_flags(t);
        if (flags & RT_NODE_TAKES_SAMPLES) {
            CHECK(rt_graph_node_add_sample(g, idx, 0, 63, 60, sample, 4800, 1, 44100.0, 0, 0, 0));
            CHECK(rt_graph_node_add_sample(g, idx, 64, 127, 72, sample, 4800, 1, 48000.0, 1, 100, 4000));
        }
        if ((flags & RT_NODE_CONTROLLER) && ort_lib && model_path) {
            char err[256];
            if (rt_graph_node_configure(g, idx, "ort", ort_lib, err, sizeof err) < 0 ||
                rt_graph_node_configure(g, idx, "model", model_path, err, sizeof err) < 0) {
                fprintf(stderr, "AI model: %s\n", err);
                exit(2);
            }
            for (int k = 0; k < n; k++)                      /* its notes go to every instrument so far */
                if ((rt_node_type_flags(nodes[k].type) & RT_NODE_RECEIVES_NOTES) &&
                    !(rt_node_type_flags(nodes[k].type) & RT_NODE_CONTROLLER))
                    CHECK(rt_graph_connect_events(g, idx, nodes[k].idx));
        }
        nodes[n].idx = idx; nodes[n].type = t; n++;
        /* effects form a chain fed by everything before them */
        if (flags & (RT_NODE_TAKES_AUDIO | RT_NODE_MULTI_INPUT)) {
            if (prev_fx >= 0) CHECK(rt_graph_connect(g, prev_fx, idx));
            for (int k = 0; k < n - 1; k++) {
                int f = rt_node_type_flags(nodes[k].type);
                if (!(f & (RT_NODE_TAKES_AUDIO | RT_NODE_MULTI_INPUT)) && nodes[k].idx != 0 && k % 2 == 0)
                    rt_graph_connect(g, nodes[k].idx, idx);
            }
            prev_fx = idx;
        }
    }
    *n_nodes = n;
    return g;
}

int main(int argc, char **argv)
{
    if (argc >= 3) { ort_lib = argv[1]; model_path = argv[2]; }
    /* third-party plugins join the type table (when Debian's packages are installed): their nodes
     * are built, swapped, fed notes and parameter sweeps like every built-in one */
    int plugins = 0;
    char perr[512];
    plugins += rt_ladspa_load("/usr/lib/ladspa/cmt.so", "delay_5s", 0, 48000.0, perr, sizeof perr) >= 0;
    plugins += rt_ladspa_load("/usr/lib/ladspa/cmt.so", "amp_stereo", 0, 48000.0, perr, sizeof perr) >= 0;
    plugins += rt_lv2_load("http://drobilla.net/plugins/mda/EPiano", 48000.0, perr, sizeof perr) >= 0;
    plugins += rt_lv2_load("http://lv2plug.in/plugins/eg-amp", 48000.0, perr, sizeof perr) >= 0;
    printf("plugins loaded: %d\n", plugins);
    rt_engine_t *e;
    CHECK(rt_engine_create(&e));
    CHECK(rt_engine_activate(e, 48000.0, 1024));
    node_ref nodes[RT_MAX_NODES];
    int n_nodes = 0;
    CHECK(rt_engine_record(e, 1));                   /* the recorder's journal copies every block too */
    static rt_record_audio_t rec_audio[64];
    static rt_record_event_t rec_events[1024];
    long journaled = 0;
    rt_graph_t *first = build(e, nodes, &n_nodes);
    uint32_t last_gen = rt_graph_generation(first);   /* the last committed graph */
    CHECK(rt_engine_commit_graph(e, first));
    uint32_t gen = 0;
    int swaps = 0, kept_total = 0, kept_partial = 0;
    rt_event_t tr;                                   /* start the musical clock: the AI plays */
    memset(&tr, 0, sizeof tr);
    tr.time = 0; tr.type = RT_EV_TRANSPORT; tr.data1 = 1; tr.value = 240.0f; tr.node = RT_NODE_ROUTE;
    rt_engine_send(e, &tr);
    static float in_l[1024], in_r[1024], out_l[1024], out_r[1024];
    const float *in[2] = { in_l, in_r };
    float *out[2] = { out_l, out_r };
    int sizes[] = { 1, 7, 32, 64, 100, 128, 256, 1024 };
    long total_frames = 0;
    rt_stats_t st;

    for (int block = 0; block < 3000; block++) {
        int frames = sizes[rnd() % 8];
        for (int i = 0; i < frames; i++) { in_l[i] = (rnd() % 2000) / 1000.0f - 1.0f; in_r[i] = in_l[i] * 0.5f; }
        rt_engine_stats(e, &st);
        gen = st.graph_generation;
        /* a storm: many events per block, at offsets inside it and a little ahead */
        rt_event_t evs[64];
        int ne = 0;
        for (int k = 0; k < 48; k++) {
            rt_event_t *ev = &evs[ne++];
            memset(ev, 0, sizeof *ev);
            ev->time = (int64_t)total_frames + (int64_t)(rnd() % (frames + 64));
            ev->node = RT_NODE_ROUTE;
            ev->graph = gen;
            ev->channel = (uint8_t)(rnd() % 17);
            switch (rnd() % 6) {
            case 0: case 1: ev->type = RT_EV_NOTE_ON; ev->data1 = rnd() % 128; ev->data2 = 1 + rnd() % 127; break;
            case 2: ev->type = RT_EV_NOTE_OFF; ev->data1 = rnd() % 128; break;
            case 3: ev->type = RT_EV_CC; ev->data1 = (uint8_t)((int[]){1, 7, 64, 74, 120, 123}[rnd() % 6]); ev->data2 = rnd() % 128; break;
            case 4: ev->type = RT_EV_PITCH_BEND; ev->value = (rnd() % 2001) / 1000.0f - 1.0f; break;
            default: {
                node_ref *nr = &nodes[rnd() % n_nodes];
                int np = rt_node_type_param_count(nr->type);
                if (np <= 0) { ev->type = RT_EV_ALL_NOTES_OFF; break; }
                rt_param_info_t pi;
                int p = (int)(rnd() % (uint32_t)np);
                rt_node_type_param_info(nr->type, p, &pi);
                ev->type = RT_EV_PARAM; ev->node = (int16_t)nr->idx; ev->param = (uint16_t)p;
                float u = (rnd() % 1001) / 1000.0f;
                ev->value = pi.min + (pi.max - pi.min) * u;
                if (pi.kind != RT_PARAM_FLOAT) ev->value = floorf(ev->value + 0.5f);
                break; }
            }
        }
        rt_engine_send_many(e, evs, ne);
        /* now and then a new graph (built here, off the "audio thread", as Python does) */
        if (block % 250 == 125) {
            rt_engine_collect(e);
            rt_graph_t *g = build(e, nodes, &n_nodes);
            int mode = swaps++ % 3;                        /* 0 keep all, 1 every other, 2 none */
            for (int k = 0; mode < 2 && k < n_nodes + 1; k++) {
                int idx = k < n_nodes ? nodes[k].idx : 0;  /* + the master */
                if (mode == 0 || idx % 2 == 0) CHECK(rt_graph_keep_node(g, idx, last_gen, idx));
            }
            uint32_t gen_g = rt_graph_generation(g);
            if (rt_engine_commit_graph(e, g) < 0) rt_graph_destroy(g);
            else last_gen = gen_g;
        }
        counting = 1;
        rt_engine_process(e, in, out, frames);
        counting = 0;
        for (int k; (k = rt_engine_record_audio(e, rec_audio, 64)) > 0;) journaled += k;   /* the writer's side */
        while (rt_engine_record_events(e, rec_events, 1024) > 0) {}
        rt_telemetry_t tm[16];
        for (int k = rt_engine_poll_telemetry(e, tm, 16); k > 0; k = rt_engine_poll_telemetry(e, tm, 16))
            for (int j = 0; j < k; j++)
                if (tm[j].type == RT_TM_GRAPH_SWAP && tm[j].value > 0) {
                    kept_total += (int)tm[j].value;
                    kept_partial += (int)tm[j].value < n_nodes;
                }
        for (int i = 0; i < frames; i++)
            if (!isfinite(out_l[i]) || !isfinite(out_r[i])) { fprintf(stderr, "non-finite output\n"); return 3; }
        total_frames += frames;
    }
    rt_engine_stats(e, &st);
    printf("node types: %d, frames: %ld, events in: %llu, graph swaps: %llu\n", rt_node_type_count(),
           total_frames, (unsigned long long)st.events_in, (unsigned long long)st.graph_swaps);
    printf("AI steps: %llu, AI notes: %llu, missed deadlines: %llu\n", (unsigned long long)st.ai_steps,
           (unsigned long long)st.notes_out, (unsigned long long)st.ai_missed_deadlines);
    printf("nodes that kept their state across swaps: %d (swaps keeping only some: %d)\n",
           kept_total, kept_partial);
    printf("journal records: %ld audio, %llu frames dropped\n", journaled,
           (unsigned long long)st.record_dropped_frames);
    printf("allocations during process: %ld, frees during process: %ld\n", n_alloc, n_free);
    rt_engine_destroy(e);
    return (n_alloc == 0 && n_free == 0) ? 0 : 1;
}
