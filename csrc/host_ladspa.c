/*
 * host_ladspa.c -- LADSPA plugins as node types.
 *
 * rt_ladspa_load() dlopens a library [main-thread], finds the plugin by label or unique id and
 * registers a node class whose parameters are its control input ports (range and default from
 * the port hints, as the LADSPA spec defines them). Each node instantiates, connects and
 * activates the plugin in init() -- on the thread building the graph, never the audio thread --
 * and runs one silent warm-up chunk there too (some plugins allocate on their first run).
 * On the audio thread: control() writes the smoothed parameter values into the control ports,
 * process() copies audio in, calls run() and copies audio out; nothing else.
 * Libraries stay loaded until the process ends (a class points into them).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ladspa.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plugin.h"

#define FR RT_CONTROL_FRAMES               /* process() never sees more frames than this */
#define UNBOUNDED 1.0e6f                   /* range of a port with no hint of its bounds */

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- port hints (LADSPA spec, ladspa.h) ------------------------------------------------ */
static float hinted_default(LADSPA_PortRangeHintDescriptor h, float lo, float hi)
{
    int logarithmic = LADSPA_IS_HINT_LOGARITHMIC(h) && lo > 0.0f && hi > 0.0f;
    float w = -1.0f;                       /* weight of the upper bound */
    switch (h & LADSPA_HINT_DEFAULT_MASK) {
    case LADSPA_HINT_DEFAULT_MINIMUM: return lo;
    case LADSPA_HINT_DEFAULT_MAXIMUM: return hi;
    case LADSPA_HINT_DEFAULT_LOW:    w = 0.25f; break;
    case LADSPA_HINT_DEFAULT_MIDDLE: w = 0.5f; break;
    case LADSPA_HINT_DEFAULT_HIGH:   w = 0.75f; break;
    case LADSPA_HINT_DEFAULT_0:   return 0.0f;
    case LADSPA_HINT_DEFAULT_1:   return 1.0f;
    case LADSPA_HINT_DEFAULT_100: return 100.0f;
    case LADSPA_HINT_DEFAULT_440: return 440.0f;
    default: return lo > 0.0f ? lo : (hi < 0.0f ? hi : 0.0f);   /* no default: 0, within range */
    }
    if (logarithmic) return expf(logf(lo) * (1.0f - w) + logf(hi) * w);
    return lo * (1.0f - w) + hi * w;
}

static void port_param(rt_plugin_class_t *pc, int p, const LADSPA_Descriptor *d, unsigned long port)
{
    const LADSPA_PortRangeHint *rh = &d->PortRangeHints[port];
    LADSPA_PortRangeHintDescriptor h = rh->HintDescriptor;
    float scale = LADSPA_IS_HINT_SAMPLE_RATE(h) ? (float)pc->sample_rate : 1.0f;
    float lo = LADSPA_IS_HINT_BOUNDED_BELOW(h) ? rh->LowerBound * scale : -UNBOUNDED;
    float hi = LADSPA_IS_HINT_BOUNDED_ABOVE(h) ? rh->UpperBound * scale : UNBOUNDED;
    int kind = RT_PARAM_FLOAT;
    if (LADSPA_IS_HINT_TOGGLED(h)) { kind = RT_PARAM_BOOL; lo = 0.0f; hi = 1.0f; }
    else if (LADSPA_IS_HINT_INTEGER(h)) { kind = RT_PARAM_INT; lo = ceilf(lo); hi = floorf(hi); }
    if (!(hi >= lo)) hi = lo;
    float def = hinted_default(h, lo, hi);
    if (kind == RT_PARAM_BOOL) def = def >= 0.5f ? 1.0f : 0.0f;
    else if (kind == RT_PARAM_INT) def = roundf(def);
    def = def < lo ? lo : (def > hi ? hi : def);
    rt_plugin_param_name(pc, p, d->PortNames[port], pc->param_units[p], sizeof pc->param_units[p]);
    snprintf(pc->param_docs[p], sizeof pc->param_docs[p], "%s%s", d->PortNames[port],
             LADSPA_IS_HINT_LOGARITHMIC(h) ? " (logarithmic)" : "");
    pc->params[p] = (rt_param_info_t){ NULL, NULL, lo, hi, def, kind, NULL, NULL };
    pc->param_port[p] = (int)port;
}

/* what rtcore cannot run, in words (NULL if it can) */
static const char *unsupported(const LADSPA_Descriptor *d, int n_control_in)
{
    if (n_control_in > RT_MAX_PARAMS) return "more control inputs than rtcore's 64 parameters per node";
    if (!d->instantiate || !d->connect_port || !d->run) return "the descriptor lacks instantiate/connect_port/run";
    return NULL;
}

static void count_ports(const LADSPA_Descriptor *d, rt_plugin_desc_t *o)
{
    for (unsigned long i = 0; i < d->PortCount; i++) {
        LADSPA_PortDescriptor pd = d->PortDescriptors[i];
        if (LADSPA_IS_PORT_AUDIO(pd)) { if (LADSPA_IS_PORT_INPUT(pd)) o->audio_in++; else o->audio_out++; }
        else if (LADSPA_IS_PORT_INPUT(pd)) o->control_in++;
        else o->control_out++;
    }
}

static void *open_library(const char *path, LADSPA_Descriptor_Function *fn, char *err, int err_len)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *why = dlerror();
        rt_plugin_fail(err, err_len, RT_ERR_FORMAT, "%s: cannot load: %s", path, why ? why : "dlopen failed");
        return NULL;
    }
    *fn = (LADSPA_Descriptor_Function)dlsym(dl, "ladspa_descriptor");
    if (!*fn) {
        rt_plugin_fail(err, err_len, RT_ERR_FORMAT, "%s: not a LADSPA library (no ladspa_descriptor)", path);
        dlclose(dl);
        return NULL;
    }
    return dl;
}

int rt_ladspa_describe(const char *path, int index, rt_plugin_desc_t *out, char *err, int err_len)
{
    if (err && err_len > 0) err[0] = 0;
    if (!path || !out || index < 0) return RT_ERR_INVALID;
    LADSPA_Descriptor_Function fn;
    void *dl = open_library(path, &fn, err, err_len);
    if (!dl) return RT_ERR_FORMAT;
    const LADSPA_Descriptor *d = fn((unsigned long)index);
    int rc = RT_ERR_NOT_FOUND;
    if (d) {
        memset(out, 0, sizeof(*out));
        snprintf(out->label, sizeof out->label, "%s", d->Label ? d->Label : "");
        snprintf(out->uri, sizeof out->uri, "%s", path);
        snprintf(out->name, sizeof out->name, "%s", d->Name ? d->Name : "");
        snprintf(out->maker, sizeof out->maker, "%s", d->Maker ? d->Maker : "");
        out->id = (uint32_t)d->UniqueID;
        count_ports(d, out);
        const char *why = unsupported(d, out->control_in);
        out->hostable = why == NULL;
        snprintf(out->problem, sizeof out->problem, "%s", why ? why : "");
        rc = RT_OK;
    }
    /* the library stays loaded: dlclose would unmap what a loaded class may point into, and
     * describing does not count references separately from loading */
    return rc;
}

/* ---- the node ------------------------------------------------------------------------- */
typedef struct {
    const rt_plugin_class_t *pc;
    const LADSPA_Descriptor *d;
    LADSPA_Handle h[2];
    int    n_inst;
    float  ctrl[RT_MAX_PARAMS];            /* control input ports read these */
    float *bufs[2];                        /* per instance: FR floats per port */
    float *port_in[2][2], *port_out[2][2];
} ladspa_node_t;

static float *port_buf(ladspa_node_t *s, int inst, int port) { return s->bufs[inst] + (size_t)port * FR; }

static void ladspa_destroy(void *st)
{
    ladspa_node_t *s = st;
    for (int k = 0; k < s->n_inst; k++) {
        if (!s->h[k]) continue;
        if (s->d->deactivate) s->d->deactivate(s->h[k]);
        if (s->d->cleanup) s->d->cleanup(s->h[k]);
        s->h[k] = NULL;
    }
    for (int k = 0; k < 2; k++) { free(s->bufs[k]); s->bufs[k] = NULL; }
}

static int ladspa_init(void *st, const rt_node_env_t *env, const float *params)
{
    ladspa_node_t *s = st;
    const rt_plugin_class_t *pc = env->cls_data;
    const LADSPA_Descriptor *d = pc->format_data;
    s->pc = pc;
    s->d = d;
    s->n_inst = pc->layout.instances;
    for (int p = 0; p < pc->cls.n_params; p++) s->ctrl[p] = params[p];
    for (int k = 0; k < s->n_inst; k++) {
        s->bufs[k] = calloc((size_t)pc->n_ports * FR, sizeof(float));
        s->h[k] = s->bufs[k] ? d->instantiate(d, (unsigned long)env->sample_rate) : NULL;
        if (!s->h[k]) { ladspa_destroy(s); return s->bufs[k] ? RT_ERR_INVALID : RT_ERR_NOMEM; }
        for (unsigned long i = 0; i < d->PortCount; i++) d->connect_port(s->h[k], i, port_buf(s, k, (int)i));
        for (int p = 0; p < pc->cls.n_params; p++)
            d->connect_port(s->h[k], (unsigned long)pc->param_port[p], &s->ctrl[p]);
        rt_plugin_bind_audio(&pc->layout, s->bufs[k], s->port_in[k], s->port_out[k]);
        if (d->activate) d->activate(s->h[k]);
        d->run(s->h[k], FR);               /* warm-up on this thread: first-run allocations happen here */
    }
    /* the warm-up left output in the buffers and maybe state in the plugin: start from silence */
    for (int k = 0; k < s->n_inst; k++) {
        if (d->deactivate) d->deactivate(s->h[k]);
        if (d->activate) d->activate(s->h[k]);
    }
    return RT_OK;
}

static void ladspa_control(void *st, const float *params, int frames)
{
    ladspa_node_t *s = st;
    for (int p = 0; p < s->pc->cls.n_params; p++) s->ctrl[p] = params[p];
}

static void ladspa_process(void *st, const float *const *in, float *const *out, int n)
{
    ladspa_node_t *s = st;
    rt_plugin_feed(&s->pc->layout, in, s->port_in, n);
    for (int k = 0; k < s->n_inst; k++) s->d->run(s->h[k], (unsigned long)n);
    rt_plugin_collect(&s->pc->layout, s->port_out, out, n);
}

/* ---- loading a plugin as a node type ---------------------------------------------------- */
int rt_ladspa_load(const char *path, const char *label, uint32_t id, double sample_rate, char *err, int err_len)
{
    if (err && err_len > 0) err[0] = 0;
    if (!path || !(sample_rate > 0)) return RT_ERR_INVALID;
    char real[PATH_MAX];
    if (!realpath(path, real)) return rt_plugin_fail(err, err_len, RT_ERR_NOT_FOUND, "%s: no such file", path);
    pthread_mutex_lock(&load_lock);
    LADSPA_Descriptor_Function fn;
    int rc;
    void *dl = open_library(real, &fn, err, err_len);
    if (!dl) { rc = RT_ERR_FORMAT; goto out; }
    const LADSPA_Descriptor *d = NULL;
    for (unsigned long i = 0;; i++) {
        const LADSPA_Descriptor *c = fn(i);
        if (!c) break;
        if ((label && label[0]) ? (c->Label && strcmp(c->Label, label) == 0) : c->UniqueID == id) { d = c; break; }
    }
    if (!d) {
        if (label && label[0]) rc = rt_plugin_fail(err, err_len, RT_ERR_NOT_FOUND, "%s has no plugin labelled '%s'", real, label);
        else rc = rt_plugin_fail(err, err_len, RT_ERR_NOT_FOUND, "%s has no plugin with id %u", real, id);
        goto out;
    }
    char type[sizeof ((rt_plugin_class_t *)0)->type_name];
    snprintf(type, sizeof type, "ladspa:%s:%s", real, d->Label);
    rc = rt_node_type_find(type);
    if (rc >= 0) goto out;                                     /* loaded before */

    rt_plugin_desc_t info = { 0 };
    count_ports(d, &info);
    const char *why = unsupported(d, info.control_in);
    if (why) { rc = rt_plugin_fail(err, err_len, RT_ERR_FORMAT, "%s '%s': %s", real, d->Label, why); goto out; }

    rt_plugin_class_t *pc = calloc(1, sizeof(*pc));
    if (!pc) { rc = RT_ERR_NOMEM; goto out; }
    pc->sample_rate = sample_rate;
    pc->format_data = d;
    pc->n_ports = (int)d->PortCount;
    snprintf(pc->type_name, sizeof pc->type_name, "%s", type);
    snprintf(pc->doc, sizeof pc->doc, "LADSPA %s%s%s", d->Name ? d->Name : d->Label,
             d->Maker && d->Maker[0] ? " by " : "", d->Maker ? d->Maker : "");
    int ins[64], outs[64], n_in = 0, n_out = 0, n_params = 0;
    for (unsigned long i = 0; i < d->PortCount; i++) {
        LADSPA_PortDescriptor pdsc = d->PortDescriptors[i];
        if (LADSPA_IS_PORT_AUDIO(pdsc)) {
            if (LADSPA_IS_PORT_INPUT(pdsc)) { if (n_in < 64) ins[n_in++] = (int)i; }
            else if (n_out < 64) outs[n_out++] = (int)i;
        } else if (LADSPA_IS_PORT_INPUT(pdsc)) {
            port_param(pc, n_params++, d, i);
        }
    }
    rt_plugin_layout(&pc->layout, ins, n_in, outs, n_out);
    pc->cls.flags = RT_NODE_PLUGIN | (n_in > 0 ? RT_NODE_TAKES_AUDIO : 0);
    pc->cls.n_params = n_params;
    pc->cls.state_size = sizeof(ladspa_node_t);
    pc->cls.init = ladspa_init;
    pc->cls.destroy = ladspa_destroy;
    pc->cls.control = ladspa_control;
    pc->cls.process = ladspa_process;
    rc = rt_plugin_register(pc);
    if (rc < 0) free(pc);
out:
    pthread_mutex_unlock(&load_lock);
    return rc;
}
