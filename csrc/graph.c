/*
 * graph.c -- building a graph of nodes off the audio thread, and processing it
 * chunk by chunk on the audio thread.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "engine_internal.h"
#include "nodes/dsp.h"

#define RT_SMOOTH_SECONDS 0.010   /* parameter smoothing time constant */
#define RT_MASTER 0               /* node 0 is always the master limiter */

static void node_free(rt_graph_node_t *n)
{
    if (n->cls && n->state) {
        if (n->cls->destroy) n->cls->destroy(n->state);
        free(n->state);
    }
    for (int c = 0; c < 2; c++) { free(n->out[c]); free(n->sum[c]); }
    memset(n, 0, sizeof(*n));
}

void rt_graph_free(rt_graph_t *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_nodes; i++) node_free(&g->nodes[i]);
    free(g->zero);
    free(g->scratch);
    free(g);
}

void rt_graph_destroy(rt_graph_t *g)
{
    if (g && !g->committed) rt_graph_free(g);
}

int rt_graph_create(rt_engine_t *e, rt_graph_t **out)
{
    if (!e || !out) return RT_ERR_INVALID;
    if (!e->active) return RT_ERR_STATE;
    rt_graph_t *g = calloc(1, sizeof(*g));
    if (!g) return RT_ERR_NOMEM;
    g->engine = e;
    g->sample_rate = e->sample_rate;
    g->max_frames = e->max_frames;
    g->generation = ++e->next_generation;
    g->smooth_coef = rt_onepole_coef(RT_SMOOTH_SECONDS, e->sample_rate / RT_CONTROL_FRAMES);
    g->zero = calloc((size_t)e->max_frames, sizeof(float));
    if (!g->zero) { free(g); return RT_ERR_NOMEM; }
    int m = rt_graph_add_node(g, "limiter", "master");
    if (m != RT_MASTER) { rt_graph_free(g); return m < 0 ? m : RT_ERR_STATE; }
    *out = g;
    return RT_OK;
}

int rt_graph_add_node(rt_graph_t *g, const char *type, const char *name)
{
    if (!g || !type || !name) return RT_ERR_INVALID;
    if (g->committed) return RT_ERR_STATE;
    if (g->n_nodes >= RT_MAX_NODES) return RT_ERR_FULL;
    if (strlen(name) >= RT_NAME_MAX || !name[0]) return RT_ERR_INVALID;
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) return RT_ERR_INVALID;
    const rt_node_class_t *cls = rt_node_class_find(type);
    if (!cls) return RT_ERR_NOT_FOUND;

    int idx = g->n_nodes;
    rt_graph_node_t *n = &g->nodes[idx];
    memset(n, 0, sizeof(*n));
    n->cls = cls;
    strcpy(n->name, name);
    for (int p = 0; p < cls->n_params; p++) n->target[p] = n->current[p] = cls->params[p].def;
    /* the emit context shares the state's allocation (after it, aligned): see rt_emit_ctx_t */
    size_t ctx_off = (cls->state_size + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) * _Alignof(max_align_t);
    n->state = calloc(1, ctx_off + sizeof(rt_emit_ctx_t));
    n->keep_from = -1;
    for (int c = 0; c < 2; c++) {
        n->out[c] = calloc((size_t)g->max_frames, sizeof(float));
        n->sum[c] = calloc((size_t)g->max_frames, sizeof(float));
    }
    if (!n->state || !n->out[0] || !n->out[1] || !n->sum[0] || !n->sum[1]) {
        free(n->state); n->state = NULL; node_free(n); return RT_ERR_NOMEM;
    }
    n->emit_ctx = (rt_emit_ctx_t *)(void *)((char *)n->state + ctx_off);
    n->emit_ctx->graph = g;
    n->emit_ctx->node = idx;
    rt_node_env_t env = { g->sample_rate, g->max_frames, 0x2545F491u ^ (uint32_t)(idx * 2654435761u),
                          &g->engine->transport, &g->engine->node_counters, rt_graph_emit, n->emit_ctx,
                          cls->cls_data };
    if (cls->init) {
        int rc = cls->init(n->state, &env, n->current);
        if (rc < 0) { free(n->state); n->state = NULL; node_free(n); return rc; }
    }
    g->n_nodes++;
    return idx;
}

int rt_graph_set_channel(rt_graph_t *g, int node, int channel)
{
    if (!g || node < 0 || node >= g->n_nodes) return RT_ERR_NOT_FOUND;
    if (channel < 0 || channel > 16) return RT_ERR_RANGE;
    g->nodes[node].channel = channel;
    return RT_OK;
}

int rt_graph_set_param(rt_graph_t *g, int node, int param, float value)
{
    if (!g || node < 0 || node >= g->n_nodes) return RT_ERR_NOT_FOUND;
    rt_graph_node_t *n = &g->nodes[node];
    if (param < 0 || param >= n->cls->n_params) return RT_ERR_NOT_FOUND;
    const rt_param_info_t *pi = &n->cls->params[param];
    if (!(value >= pi->min && value <= pi->max)) return RT_ERR_RANGE;   /* also rejects NaN */
    n->target[param] = n->current[param] = value;
    return RT_OK;
}

int rt_graph_connect(rt_graph_t *g, int from, int to)
{
    if (!g || from < 0 || from >= g->n_nodes || to < 0 || to >= g->n_nodes) return RT_ERR_NOT_FOUND;
    if (g->committed) return RT_ERR_STATE;
    if (from == RT_MASTER || from == to) return RT_ERR_CYCLE;
    rt_graph_node_t *dst = &g->nodes[to];
    if (!(dst->cls->flags & RT_NODE_TAKES_AUDIO)) return RT_ERR_INVALID;  /* instruments take no audio */
    for (int i = 0; i < dst->n_inputs; i++) if (dst->inputs[i] == from) return RT_OK;
    if (dst->n_inputs >= RT_MAX_INPUTS && to != RT_MASTER) return RT_ERR_FULL;
    dst->inputs[dst->n_inputs++] = from;
    g->nodes[from].has_output = 1;
    return RT_OK;
}

int rt_graph_node_add_sample(rt_graph_t *g, int node, int note_lo, int note_hi, int root,
                             const float *data, int64_t frames, int channels, double sample_rate,
                             int loop, int64_t loop_start, int64_t loop_end)
{
    if (!g || node < 0 || node >= g->n_nodes) return RT_ERR_NOT_FOUND;
    rt_graph_node_t *n = &g->nodes[node];
    if (!n->cls->add_sample) return RT_ERR_INVALID;
    if (!data || frames <= 0 || (channels != 1 && channels != 2) || !(sample_rate > 0)) return RT_ERR_INVALID;
    if (note_lo < 0 || note_hi > 127 || note_lo > note_hi || root < 0 || root > 127) return RT_ERR_RANGE;
    if (loop_end <= 0 || loop_end > frames) loop_end = frames;
    if (loop_start < 0 || loop_start >= loop_end) loop_start = 0;
    rt_sample_zone_t z = { note_lo, note_hi, root, NULL, frames, channels, sample_rate,
                           loop ? 1 : 0, loop_start, loop_end };
    z.data = malloc((size_t)frames * (size_t)channels * sizeof(float));
    if (!z.data) return RT_ERR_NOMEM;
    memcpy(z.data, data, (size_t)frames * (size_t)channels * sizeof(float));
    int rc = n->cls->add_sample(n->state, &z);
    if (rc < 0) free(z.data);
    return rc;
}

int rt_graph_node_configure(rt_graph_t *g, int node, const char *key, const char *value,
                            char *err, int err_len)
{
    if (err && err_len > 0) err[0] = 0;
    if (!g || node < 0 || node >= g->n_nodes) return RT_ERR_NOT_FOUND;
    if (!key || !value) return RT_ERR_INVALID;
    rt_graph_node_t *n = &g->nodes[node];
    if (g->committed) return RT_ERR_STATE;
    if (!n->cls->configure) return RT_ERR_NOT_FOUND;
    return n->cls->configure(n->state, key, value, err, err_len);
}

int rt_graph_connect_events(rt_graph_t *g, int from, int to)
{
    if (!g || from < 0 || from >= g->n_nodes || to < 0 || to >= g->n_nodes) return RT_ERR_NOT_FOUND;
    if (g->committed) return RT_ERR_STATE;
    rt_graph_node_t *src = &g->nodes[from];
    if (!(src->cls->flags & RT_NODE_CONTROLLER)) return RT_ERR_INVALID;
    if (!(g->nodes[to].cls->flags & RT_NODE_RECEIVES_NOTES) || from == to) return RT_ERR_INVALID;
    for (int i = 0; i < src->n_event_targets; i++) if (src->event_targets[i] == to) return RT_OK;
    src->event_targets[src->n_event_targets++] = to;
    return RT_OK;
}

int rt_graph_node_count(const rt_graph_t *g) { return g ? g->n_nodes : RT_ERR_INVALID; }
uint32_t rt_graph_generation(const rt_graph_t *g) { return g ? g->generation : 0; }

/* Kahn's algorithm; the master is forced last and collects every node that feeds nothing. */
int rt_graph_prepare(rt_graph_t *g)
{
    rt_graph_node_t *master = &g->nodes[RT_MASTER];
    for (int i = 1; i < g->n_nodes; i++) {
        if (g->nodes[i].cls->flags & RT_NODE_CONTROLLER) { g->nodes[i].has_output = 1; continue; }
        if (!g->nodes[i].has_output) {
            int dup = 0;
            for (int k = 0; k < master->n_inputs; k++) dup |= master->inputs[k] == i;
            if (!dup) master->inputs[master->n_inputs++] = i;
            g->nodes[i].has_output = 1;
        }
    }
    int indeg[RT_MAX_NODES] = {0}, queue[RT_MAX_NODES], qh = 0, qt = 0, n_order = 0;
    for (int i = 0; i < g->n_nodes; i++) indeg[i] = g->nodes[i].n_inputs;
    /* controllers (no audio inputs) first: their note events reach instruments in the same chunk */
    for (int i = 1; i < g->n_nodes; i++)
        if (indeg[i] == 0 && (g->nodes[i].cls->flags & RT_NODE_CONTROLLER)) queue[qt++] = i;
    for (int i = 1; i < g->n_nodes; i++)
        if (indeg[i] == 0 && !(g->nodes[i].cls->flags & RT_NODE_CONTROLLER)) queue[qt++] = i;
    while (qh < qt) {
        int u = queue[qh++];
        g->order[n_order++] = u;
        for (int v = 1; v < g->n_nodes; v++)
            for (int k = 0; k < g->nodes[v].n_inputs; k++)
                if (g->nodes[v].inputs[k] == u && --indeg[v] == 0) queue[qt++] = v;
    }
    if (n_order != g->n_nodes - 1) return RT_ERR_CYCLE;
    g->order[n_order++] = RT_MASTER;
    /* first control pass: coefficients and ramps jump to the initial values */
    for (int i = 0; i < g->n_nodes; i++) {
        rt_graph_node_t *n = &g->nodes[i];
        if (n->cls->control) n->cls->control(n->state, n->current, 0);
    }
    return RT_OK;
}

/* [audio-thread] at a control grid point: continuous parameters glide one-pole toward their
 * target, steps jump; both only at grid points so the result is block-size independent */
void rt_node_tick(const rt_graph_t *g, rt_graph_node_t *node)
{
    const rt_node_class_t *cls = node->cls;
    for (int p = 0; p < cls->n_params; p++) {
        float t = node->target[p], c = node->current[p];
        if (cls->params[p].kind != RT_PARAM_FLOAT) { node->current[p] = t; continue; }
        float d = t - c;
        float eps = 1e-6f * (cls->params[p].max - cls->params[p].min);
        node->current[p] = fabsf(d) <= eps ? t : c + d * g->smooth_coef;
    }
    if (cls->control) cls->control(node->state, node->current, RT_CONTROL_FRAMES);
}

/* [audio-thread] third-party code must not poison the mix: a plugin whose output holds a NaN
 * or an Inf is silenced for the rest of its life (its internal state is most likely ruined:
 * a filter that went NaN stays NaN) and reported once. Bounded: 2 * n compares. */
static void guard_plugin_output(const rt_graph_t *g, rt_graph_node_t *node, float *const *op, int n)
{
    int bad = 0;
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < n; i++) bad |= !isfinite(op[c][i]);
    if (!bad) return;
    memset(op[0], 0, sizeof(float) * (size_t)n);
    memset(op[1], 0, sizeof(float) * (size_t)n);
    node->muted = 1;
    rt_engine_t *e = g->engine;
    atomic_fetch_add_explicit(&e->node_counters.plugins_muted, 1, memory_order_relaxed);
    rt_engine_telemetry(e, RT_TM_PLUGIN_MUTED, (int32_t)(node - g->nodes), (float)g->generation);
}

/* [audio-thread] n frames of one node into node->out[.] + pos. src[2j], src[2j+1] are input j's
 * left/right at this chunk (n_src inputs); summing nodes add them up in node->sum. */
void rt_node_run(const rt_graph_t *g, rt_graph_node_t *node, const float *const *src, int n_src,
                 const float *const *in, int pos, int n)
{
    const rt_node_class_t *cls = node->cls;
    float *op[2] = { node->out[0] + pos, node->out[1] + pos };
    if (node->muted) {
        memset(op[0], 0, sizeof(float) * (size_t)n);
        memset(op[1], 0, sizeof(float) * (size_t)n);
        return;
    }
    if (cls->flags & RT_NODE_MULTI_INPUT) {
        cls->process_multi(node->state, src, n_src < RT_MAX_INPUTS ? n_src : RT_MAX_INPUTS, op, n);
        return;
    }
    const float *ip[2];
    if (cls->flags & RT_NODE_ENGINE_INPUT) {
        for (int c = 0; c < 2; c++) ip[c] = (in && in[c]) ? in[c] + pos : g->zero;
    } else if (n_src == 0) {
        ip[0] = ip[1] = g->zero;
    } else if (n_src == 1) {
        ip[0] = src[0]; ip[1] = src[1];
    } else {
        for (int c = 0; c < 2; c++) {
            float *s = node->sum[c] + pos;
            const float *a = src[c];
            for (int i = 0; i < n; i++) s[i] = a[i];
            for (int j = 1; j < n_src; j++) {
                const float *b = src[2 * j + c];
                for (int i = 0; i < n; i++) s[i] += b[i];
            }
            ip[c] = s;
        }
    }
    cls->process(node->state, ip, op, n);
    if (cls->flags & RT_NODE_PLUGIN) guard_plugin_output(g, node, op, n);
}

/* [audio-thread] one chunk of n frames starting at pos inside the current block */
void rt_graph_process(rt_graph_t *g, const float *const *in, int pos, int n, int tick)
{
    const float *src[2 * RT_MAX_NODES];
    for (int k = 0; k < g->n_nodes; k++) {
        rt_graph_node_t *node = &g->nodes[g->order[k]];
        if (tick) rt_node_tick(g, node);
        for (int j = 0; j < node->n_inputs; j++) {
            src[2 * j] = g->nodes[node->inputs[j]].out[0] + pos;
            src[2 * j + 1] = g->nodes[node->inputs[j]].out[1] + pos;
        }
        rt_node_run(g, node, src, node->n_inputs, in, pos, n);
    }
}

static void deliver(rt_graph_node_t *n, const rt_event_t *ev);

/* [audio-thread] a controller's note event: to its targets now, and to the notes-out ring */
void rt_graph_emit(void *ctx, const rt_event_t *ev)
{
    rt_emit_ctx_t *c = ctx;
    rt_graph_t *g = c->graph;
    rt_graph_node_t *src = &g->nodes[c->node];
    for (int i = 0; i < src->n_event_targets; i++) {
        rt_graph_node_t *t = &g->nodes[src->event_targets[i]];
        if (t->channel && ev->channel && t->channel != ev->channel) continue;
        deliver(t, ev);
    }
    rt_engine_t *e = g->engine;
    if (g != e->cur) return;                        /* a graph fading out: heard, not reported */
    rt_record_event(e, ev, e->transport.now, RT_REC_GENERATED);
    rt_event_t out = *ev;
    out.time = e->transport.now;
    out.node = RT_NODE_ROUTE;
    atomic_uint_fast64_t *cnt = rt_ring_push(&e->notes_out, &out) ? &e->c_notes_out : &e->c_notes_out_dropped;
    atomic_store_explicit(cnt, atomic_load_explicit(cnt, memory_order_relaxed) + 1, memory_order_relaxed);
}

static void deliver(rt_graph_node_t *n, const rt_event_t *ev)
{
    if (ev->type == RT_EV_PARAM) {
        if (ev->param >= n->cls->n_params) return;
        const rt_param_info_t *pi = &n->cls->params[ev->param];
        float v = ev->value;
        if (!(v == v)) return;                      /* NaN: ignore */
        n->target[ev->param] = v < pi->min ? pi->min : (v > pi->max ? pi->max : v);
        return;
    }
    if (n->cls->event) n->cls->event(n->state, ev);
}

/* [audio-thread] returns 0 when the event is for a graph committed but not live yet
 * (the caller keeps it for the next block), 1 when it was delivered or discarded */
int rt_graph_route_event(rt_graph_t *g, const rt_event_t *ev, atomic_uint_fast64_t *stale)
{
    if (ev->node >= 0) {
        if (ev->graph > g->generation) return 0;
        int node = ev->node;
        /* sent to the graph this one replaced, at a node whose state lives on here: it still
         * reaches that state (a parameter move or note made just before a hot reload) */
        if (ev->graph != g->generation && g->keeps_live && ev->graph == g->keep_gen && node < g->n_old)
            node = g->old_to_new[node];
        else if (ev->graph != g->generation)
            node = -1;
        if (node < 0 || node >= g->n_nodes) {
            atomic_store_explicit(stale, atomic_load_explicit(stale, memory_order_relaxed) + 1,
                                  memory_order_relaxed);
            return 1;
        }
        deliver(&g->nodes[node], ev);
        return 1;
    }
    if (ev->type == RT_EV_PARAM) return 1;          /* a parameter needs a node */
    for (int i = 0; i < g->n_nodes; i++) {
        rt_graph_node_t *n = &g->nodes[i];
        if (!(n->cls->flags & RT_NODE_RECEIVES_NOTES)) continue;
        if (n->channel && ev->channel && n->channel != ev->channel) continue;
        deliver(n, ev);
    }
    return 1;
}
