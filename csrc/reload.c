/*
 * reload.c -- hot reload: nodes of a new graph take over the live state of the previous graph's
 * nodes (a held note keeps sounding, a reverb tail keeps ringing, the AI keeps its performance).
 *
 *   rt_graph_keep_node   [main-thread]  records "node i takes over old node k"
 *   rt_graph_plan_keeps  [main-thread]  at commit: validates the keeps against the last committed
 *                                       graph and precomputes everything the swap needs
 *   rt_graph_take_over   [audio-thread] at the swap: swaps state pointers, O(nodes), no allocation
 *   rt_graph_process_fade[audio-thread] the 10 ms fade after such a swap
 *
 * Ownership: the swap exchanges the two slots' state pointers, so the fresh state built for the
 * new node goes to the old graph and is freed with it (on the main thread, rt_engine_collect):
 * each graph frees exactly what it holds. A controller's emit context lives inside its state's
 * allocation (rt_emit_ctx_t) and is rewritten at the swap to name its new slot, so the AI's
 * notes go to the new graph and nothing points into a graph after it is freed. (The other choice,
 * a node-class rebind(state, env) callback, would put the burden on every controller written
 * later; the indirection makes it impossible to get wrong.) The AI's inference thread holds a
 * pointer to its state, which does not move.
 *
 * The fade: during the usual 10 ms crossfade the old graph keeps playing its nodes that were NOT
 * kept, but never a kept one: its slot now holds the fresh state, so processing it would make the
 * kept sound dip. Such an old slot is a mirror: wherever the old graph reads its output, it reads
 * the output of the new node that holds the state (the plan resolves the pointer: no copy). Both
 * graphs then run in one topological order (the plan, computed at commit), the new node first.
 * A kept node whose inputs changed (a synth upstream was replaced, a node added or removed) hears
 * its old inputs (from the old graph) crossfaded into its new ones, so a fresh synth feeding a
 * kept reverb crossfades exactly as a whole graph did before, and the reverb's tail goes on. If
 * every old node is kept and no inputs changed, the old graph has nothing left to play: it is
 * retired at the swap and the output is the same as if there had been no swap at all.
 */
#include <stdlib.h>
#include <string.h>
#include "engine_internal.h"

#define RT_MASTER 0

int rt_graph_keep_node(rt_graph_t *g, int node, uint32_t old_generation, int old_node)
{
    if (!g || node < 0 || node >= g->n_nodes) return RT_ERR_NOT_FOUND;
    if (g->committed) return RT_ERR_STATE;
    const rt_graph_t *old = g->engine->last_committed;
    /* graphs go live in commit order: only the last committed one can be live when g swaps in */
    if (!old || old->generation != old_generation) return RT_ERR_NOT_FOUND;
    if (old_node < 0 || old_node >= old->n_nodes) return RT_ERR_NOT_FOUND;
    if (g->keep_gen && g->keep_gen != old_generation) return RT_ERR_INVALID;
    if (old->nodes[old_node].cls != g->nodes[node].cls) return RT_ERR_INVALID;
    if ((node == RT_MASTER) != (old_node == RT_MASTER)) return RT_ERR_INVALID;
    for (int i = 0; i < g->n_nodes; i++)
        if (i != node && g->nodes[i].keep_from == old_node) return RT_ERR_INVALID;
    if (g->nodes[node].keep_from < 0) g->n_keeps++;
    g->nodes[node].keep_from = old_node;
    g->keep_gen = old_generation;
    return RT_OK;
}

static void clear_keeps(rt_graph_t *g)
{
    for (int i = 0; i < g->n_nodes; i++) { g->nodes[i].keep_from = -1; g->nodes[i].fade_inputs = 0; }
    g->n_keeps = 0;
    g->keep_gen = 0;
    g->n_plan = 0;
    g->seamless = 0;
}

static void unkeep(rt_graph_t *g, int i)
{
    g->old_to_new[g->nodes[i].keep_from] = -1;
    g->nodes[i].keep_from = -1;
    g->n_keeps--;
}

static int targets(const rt_graph_node_t *c, int t)
{
    for (int j = 0; j < c->n_event_targets; j++) if (c->event_targets[j] == t) return 1;
    return 0;
}

/* A controller and the instruments it sends notes to are kept together or not at all: a kept AI
 * whose instrument starts fresh would leave its held chord silent; a kept instrument whose AI
 * starts fresh would hold the old AI's notes forever (nobody sends their note-offs). So a kept
 * node must have the same event sources and targets in both graphs, all of them kept. */
static int events_consistent(const rt_graph_t *g, const rt_graph_t *old, int i)
{
    const rt_graph_node_t *n = &g->nodes[i], *o = &old->nodes[n->keep_from];
    int k = n->keep_from;
    if (n->n_event_targets != o->n_event_targets) return 0;
    for (int j = 0; j < o->n_event_targets; j++) {
        int t = g->old_to_new[o->event_targets[j]];
        if (t < 0 || !targets(n, t)) return 0;
    }
    for (int c = 0; c < g->n_nodes; c++)              /* our sources: kept, and sources before */
        if (targets(&g->nodes[c], i) && (g->nodes[c].keep_from < 0 || !targets(&old->nodes[g->nodes[c].keep_from], k)))
            return 0;
    for (int c = 0; c < old->n_nodes; c++)            /* its old sources: kept as ours */
        if (targets(&old->nodes[c], k) && (g->old_to_new[c] < 0 || !targets(&g->nodes[g->old_to_new[c]], i)))
            return 0;
    return 1;
}

/* merged schedule vertices: our node i -> i; old node k (not kept) -> n + k */
static int old_vertex(const rt_graph_t *g, int k) { return g->old_to_new[k] >= 0 ? g->old_to_new[k] : g->n_nodes + k; }

/* the vertices whose outputs vertex v reads this chunk */
static int preds(const rt_graph_t *g, const rt_graph_t *old, int v, int *out)
{
    int np = 0;
    if (v < g->n_nodes) {
        const rt_graph_node_t *n = &g->nodes[v];
        for (int j = 0; j < n->n_inputs; j++) out[np++] = n->inputs[j];
        if (n->fade_inputs) {
            const rt_graph_node_t *o = &old->nodes[n->keep_from];
            for (int j = 0; j < o->n_inputs; j++) out[np++] = old_vertex(g, o->inputs[j]);
        }
    } else {
        const rt_graph_node_t *o = &old->nodes[v - g->n_nodes];
        for (int j = 0; j < o->n_inputs; j++) out[np++] = old_vertex(g, o->inputs[j]);
    }
    return np;
}

static int is_controller(const rt_graph_t *g, const rt_graph_t *old, int v)
{
    const rt_graph_node_t *n = v < g->n_nodes ? &g->nodes[v] : &old->nodes[v - g->n_nodes];
    return (n->cls->flags & RT_NODE_CONTROLLER) != 0;
}

int rt_graph_plan_keeps(rt_graph_t *g, const rt_graph_t *old)
{
    if (!g->n_keeps) return RT_OK;
    if (!old || old->generation != g->keep_gen) { clear_keeps(g); return RT_OK; }
    const int n = g->n_nodes, no = old->n_nodes;
    g->n_old = no;
    for (int k = 0; k < RT_MAX_NODES; k++) g->old_to_new[k] = -1;
    for (int i = 0; i < n; i++) {
        int k = g->nodes[i].keep_from;
        if (k < 0) continue;
        if (k >= no || old->nodes[k].cls != g->nodes[i].cls || g->old_to_new[k] >= 0) {   /* checked at keep */
            clear_keeps(g);
            return RT_OK;
        }
        g->old_to_new[k] = (int16_t)i;
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < n; i++)
            if (g->nodes[i].keep_from >= 0 && !events_consistent(g, old, i)) { unkeep(g, i); changed = 1; }
    }
    if (!g->n_keeps) { clear_keeps(g); return RT_OK; }

    /* a kept node whose inputs are not exactly the old node's inputs (each kept, same order)
     * crossfades from the old ones to the new ones */
    int any_fade = 0;
    for (int i = 0; i < n; i++) {
        rt_graph_node_t *nd = &g->nodes[i];
        nd->fade_inputs = 0;
        if (nd->keep_from < 0) continue;
        const rt_graph_node_t *o = &old->nodes[nd->keep_from];
        int same = nd->n_inputs == o->n_inputs;
        for (int j = 0; same && j < nd->n_inputs; j++) same = g->old_to_new[o->inputs[j]] == nd->inputs[j];
        if (same) continue;
        nd->fade_inputs = 1;
        any_fade = 1;
    }
    int all_kept = 1;
    for (int k = 0; k < no; k++) all_kept &= g->old_to_new[k] >= 0;
    g->seamless = all_kept && !any_fade;

    /* one topological order over both graphs (Kahn; controllers first, as in rt_graph_prepare:
     * their notes reach their instruments in the same chunk). A reshuffled topology can make the
     * merged graph cyclic: then nothing is kept and the swap is a plain crossfade. */
    int indeg[2 * RT_MAX_NODES], queue[2 * RT_MAX_NODES], pv[2 * RT_MAX_NODES];
    int nv = n + no, qh = 0, qt = 0;
    for (int v = 0; v < nv; v++) {
        int vertex_used = v < n || g->old_to_new[v - n] < 0;
        indeg[v] = vertex_used ? preds(g, old, v, pv) : -1;
    }
    for (int pass = 0; pass < 2; pass++)
        for (int v = 0; v < nv; v++)
            if (indeg[v] == 0 && is_controller(g, old, v) == (pass == 0)) queue[qt++] = v;
    g->n_plan = 0;
    while (qh < qt) {
        int u = queue[qh++];
        g->plan[g->n_plan++] = (int16_t)(u < n ? u : -(u - n) - 1);
        for (int v = 0; v < nv; v++) {
            if (indeg[v] <= 0) continue;
            int np = preds(g, old, v, pv);
            for (int j = 0; j < np; j++)
                if (pv[j] == u && --indeg[v] == 0) queue[qt++] = v;
        }
    }
    int expected = n;
    for (int k = 0; k < no; k++) expected += g->old_to_new[k] < 0;
    if (g->n_plan != expected) { clear_keeps(g); return RT_OK; }

    if (any_fade && !g->scratch) {
        g->scratch = calloc((size_t)(2 * RT_MAX_INPUTS) * (size_t)g->max_frames, sizeof(float));
        if (!g->scratch) return RT_ERR_NOMEM;
    }
    return RT_OK;
}

int rt_graph_take_over(rt_graph_t *g, rt_graph_t *old)
{
    g->keeps_live = 0;
    if (!g->n_keeps || !old || old->generation != g->keep_gen) return 0;
    for (int i = 0; i < g->n_nodes; i++) {
        rt_graph_node_t *n = &g->nodes[i];
        if (n->keep_from < 0) continue;
        rt_graph_node_t *o = &old->nodes[n->keep_from];
        void *st = n->state; n->state = o->state; o->state = st;
        rt_emit_ctx_t *cx = n->emit_ctx; n->emit_ctx = o->emit_ctx; o->emit_ctx = cx;
        n->emit_ctx->graph = g;   n->emit_ctx->node = i;
        o->emit_ctx->graph = old; o->emit_ctx->node = n->keep_from;
        /* the smoothed values go on: new targets are glided to, not jumped to. Steps (int, enum,
         * bool) take the new graph's values at the next control tick, like a parameter event. */
        for (int p = 0; p < n->cls->n_params; p++)
            if (n->cls->params[p].kind == RT_PARAM_FLOAT) n->current[p] = o->current[p];
    }
    g->keeps_live = 1;
    return g->n_keeps;
}

/* [audio-thread] where node k of the old graph is read from during the fade: a kept node's slot
 * is a mirror of the new node holding its state */
static const rt_graph_node_t *old_source(const rt_graph_t *g, const rt_graph_t *old, int k)
{
    int i = g->old_to_new[k];
    return i >= 0 ? &g->nodes[i] : &old->nodes[k];
}

static int gather_old(const rt_graph_t *g, const rt_graph_t *old, const rt_graph_node_t *o,
                      const float **src, int pos)
{
    for (int j = 0; j < o->n_inputs; j++) {
        const rt_graph_node_t *s = old_source(g, old, o->inputs[j]);
        src[2 * j] = s->out[0] + pos;
        src[2 * j + 1] = s->out[1] + pos;
    }
    return o->n_inputs;
}

/* x = a + w (b - a) with w = 1 - t falling from 1 to 0 over the fade: the old signal b fades out,
 * the new a in. Written so that a == b gives exactly a. */
static void mix(float *x, const float *a, const float *b, int n, int fade_pos, int fade_len)
{
    for (int i = 0; i < n; i++) {
        int f = fade_pos + i;
        float w = f < fade_len ? 1.0f - (float)f / (float)fade_len : 0.0f;
        x[i] = a[i] + w * (b[i] - a[i]);
    }
}

/* sum of `ns` inputs into dst (or the one input itself, or silence) */
static const float *sum_of(const float *const *src, int ns, int c, float *dst, const float *zero, int n)
{
    if (ns == 0) return zero;
    if (ns == 1) return src[c];
    for (int i = 0; i < n; i++) dst[i] = src[c][i];
    for (int j = 1; j < ns; j++)
        for (int i = 0; i < n; i++) dst[i] += src[2 * j + c][i];
    return dst;
}

/* a kept node whose inputs changed: replace its new inputs in src by old -> new crossfades */
static int fade_node_inputs(rt_graph_t *g, const rt_graph_t *old, rt_graph_node_t *node, const float **src,
                            int ns, int pos, int n, int fade_pos, int fade_len)
{
    const float *osrc[2 * RT_MAX_NODES];
    int nos = gather_old(g, old, &old->nodes[node->keep_from], osrc, pos);
    float *scr = g->scratch;
    const int mf = g->max_frames;
    if (node->cls->flags & RT_NODE_MULTI_INPUT) {
        /* input j crossfades from the old node's input j (silence if it had fewer) */
        int m = ns < RT_MAX_INPUTS ? ns : RT_MAX_INPUTS;
        for (int j = 0; j < m; j++)
            for (int c = 0; c < 2; c++) {
                float *x = scr + (size_t)(2 * j + c) * mf;
                mix(x, src[2 * j + c], j < nos ? osrc[2 * j + c] : g->zero, n, fade_pos, fade_len);
                src[2 * j + c] = x;
            }
        return m;
    }
    for (int c = 0; c < 2; c++) {
        float *x = node->sum[c] + pos;
        const float *a = sum_of(src, ns, c, x, g->zero, n);
        const float *b = sum_of(osrc, nos, c, scr + (size_t)c * mf, g->zero, n);
        mix(x, a, b, n, fade_pos, fade_len);
        src[c] = x;
    }
    return 1;
}

void rt_graph_process_fade(rt_graph_t *g, rt_graph_t *old, const float *const *in, int pos, int n,
                           int tick, int fade_pos, int fade_len)
{
    const float *src[2 * RT_MAX_NODES];
    for (int s = 0; s < g->n_plan; s++) {
        int v = g->plan[s];
        if (v < 0) {                                   /* an old node that was not kept */
            rt_graph_node_t *node = &old->nodes[-v - 1];
            if (tick) rt_node_tick(old, node);
            int ns = gather_old(g, old, node, src, pos);
            rt_node_run(old, node, src, ns, in, pos, n);
            continue;
        }
        rt_graph_node_t *node = &g->nodes[v];
        if (tick) rt_node_tick(g, node);
        for (int j = 0; j < node->n_inputs; j++) {
            src[2 * j] = g->nodes[node->inputs[j]].out[0] + pos;
            src[2 * j + 1] = g->nodes[node->inputs[j]].out[1] + pos;
        }
        int ns = node->n_inputs;
        if (node->fade_inputs) ns = fade_node_inputs(g, old, node, src, ns, pos, n, fade_pos, fade_len);
        rt_node_run(g, node, src, ns, in, pos, n);
    }
}
