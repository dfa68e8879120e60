/* registry.c -- the table of built-in node classes. One line per class. */
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

const rt_node_class_t *rt_node_class_find(const char *name)
{
    for (int i = 0; i < rt_node_class_count; i++)
        if (strcmp(rt_node_classes[i]->name, name) == 0) return rt_node_classes[i];
    return NULL;
}

/* ---- public queries (rtcore.h) ---- */
int rt_node_type_count(void) { return rt_node_class_count; }
const char *rt_node_type_name(int t) { return t >= 0 && t < rt_node_class_count ? rt_node_classes[t]->name : NULL; }
int rt_node_type_find(const char *type)
{
    for (int i = 0; type && i < rt_node_class_count; i++)
        if (strcmp(rt_node_classes[i]->name, type) == 0) return i;
    return RT_ERR_NOT_FOUND;
}
int rt_node_type_flags(int t) { return t >= 0 && t < rt_node_class_count ? rt_node_classes[t]->flags : RT_ERR_NOT_FOUND; }
const char *rt_node_type_doc(int t) { return t >= 0 && t < rt_node_class_count ? rt_node_classes[t]->doc : NULL; }
int rt_node_type_param_count(int t) { return t >= 0 && t < rt_node_class_count ? rt_node_classes[t]->n_params : RT_ERR_NOT_FOUND; }
int rt_node_type_param_info(int t, int p, rt_param_info_t *out)
{
    if (t < 0 || t >= rt_node_class_count || !out) return RT_ERR_NOT_FOUND;
    if (p < 0 || p >= rt_node_classes[t]->n_params) return RT_ERR_NOT_FOUND;
    *out = rt_node_classes[t]->params[p];
    return RT_OK;
}
