/* registry.c -- the table of node classes: the built-in ones (one line per class), then the
 * classes registered at run time (third-party plugins, csrc/host_*.c). */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "../node.h"

extern const rt_node_class_t rt_node_limiter, rt_node_gain, rt_node_input, rt_node_tone;
/* instruments */
extern const rt_node_class_t rt_node_synth, rt_node_bass, rt_node_drums, rt_node_sampler;
/* controllers */
extern const rt_node_class_t rt_node_ai;
/* effects */
extern const rt_node_class_t rt_node_eq, rt_node_compressor, rt_node_delay, rt_node_reverb,
    rt_node_pan, rt_node_mixer;

const rt_node_class_t *const rt_node_classes[] = {
    &rt_node_limiter, &rt_node_gain, &rt_node_input, &rt_node_tone,
    &rt_node_synth, &rt_node_bass, &rt_node_drums, &rt_node_sampler,
    &rt_node_ai,
    &rt_node_eq, &rt_node_compressor, &rt_node_delay, &rt_node_reverb, &rt_node_pan, &rt_node_mixer,
};
const int rt_node_class_count = (int)(sizeof rt_node_classes / sizeof rt_node_classes[0]);

/* Run-time classes: a fixed array published by an atomic count, so readers need no lock
 * (a slot is written before the count that makes it visible); writers take turns. */
#define RT_MAX_DYNAMIC_CLASSES 1024
static const rt_node_class_t *dyn[RT_MAX_DYNAMIC_CLASSES];
static atomic_int n_dyn;
static pthread_mutex_t dyn_lock = PTHREAD_MUTEX_INITIALIZER;

static const rt_node_class_t *class_at(int t)
{
    if (t >= 0 && t < rt_node_class_count) return rt_node_classes[t];
    t -= rt_node_class_count;
    if (t >= 0 && t < atomic_load_explicit(&n_dyn, memory_order_acquire)) return dyn[t];
    return NULL;
}

static int count_all(void) { return rt_node_class_count + atomic_load_explicit(&n_dyn, memory_order_acquire); }

int rt_node_type_find(const char *type)
{
    int n = count_all();
    for (int i = 0; type && i < n; i++)
        if (strcmp(class_at(i)->name, type) == 0) return i;
    return RT_ERR_NOT_FOUND;
}

const rt_node_class_t *rt_node_class_find(const char *name)
{
    int t = rt_node_type_find(name);
    return t >= 0 ? class_at(t) : NULL;
}

int rt_node_class_register(const rt_node_class_t *cls)
{
    if (!cls || !cls->name || cls->n_params > RT_MAX_PARAMS) return RT_ERR_INVALID;
    pthread_mutex_lock(&dyn_lock);
    int t = rt_node_type_find(cls->name);
    int rc;
    if (t >= 0) rc = RT_ERR_INVALID;                          /* names are unique */
    else if (atomic_load_explicit(&n_dyn, memory_order_relaxed) >= RT_MAX_DYNAMIC_CLASSES) rc = RT_ERR_FULL;
    else {
        int k = atomic_load_explicit(&n_dyn, memory_order_relaxed);
        dyn[k] = cls;
        atomic_store_explicit(&n_dyn, k + 1, memory_order_release);
        rc = rt_node_class_count + k;
    }
    pthread_mutex_unlock(&dyn_lock);
    return rc;
}

/* ---- public queries (rtcore.h) ---- */
int rt_node_type_count(void) { return count_all(); }
const char *rt_node_type_name(int t) { const rt_node_class_t *c = class_at(t); return c ? c->name : NULL; }
int rt_node_type_flags(int t) { const rt_node_class_t *c = class_at(t); return c ? c->flags : RT_ERR_NOT_FOUND; }
const char *rt_node_type_doc(int t) { const rt_node_class_t *c = class_at(t); return c ? c->doc : NULL; }
int rt_node_type_param_count(int t) { const rt_node_class_t *c = class_at(t); return c ? c->n_params : RT_ERR_NOT_FOUND; }
int rt_node_type_param_info(int t, int p, rt_param_info_t *out)
{
    const rt_node_class_t *c = class_at(t);
    if (!c || !out || p < 0 || p >= c->n_params) return RT_ERR_NOT_FOUND;
    *out = c->params[p];
    return RT_OK;
}
