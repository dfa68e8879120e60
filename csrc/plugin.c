/* plugin.c -- parameter naming, stereo layout and registration shared by the plugin hosts. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "plugin.h"

int rt_plugin_fail(char *err, int err_len, int code, const char *fmt, ...)
{
    if (err && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, (size_t)err_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* a few spellings of units in LADSPA port names, e.g. "Delay (Seconds)", "Gain (dB)" */
static const char *unit_of(const char *text)
{
    static const struct { const char *in, *unit; } units[] = {
        { "db", "dB" }, { "hz", "Hz" }, { "khz", "kHz" }, { "ms", "ms" }, { "msec", "ms" },
        { "s", "s" }, { "sec", "s" }, { "secs", "s" }, { "seconds", "s" }, { "%", "%" },
        { "cents", "cents" }, { "semitones", "semitones" }, { "bpm", "BPM" }, { "degrees", "degrees" },
        { "deg", "degrees" },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(text, units[i].in) == 0) return units[i].unit;
    return NULL;
}

void rt_plugin_param_name(rt_plugin_class_t *pc, int index, const char *name, char *unit, int unit_len)
{
    char base[RT_PLUGIN_NAME_MAX];
    int n = 0, sep = 0;
    if (unit && unit_len > 0) unit[0] = 0;
    for (const char *c = name ? name : ""; *c && n < RT_PLUGIN_NAME_MAX - 8; c++) {
        if (*c == '(' || *c == '[') {          /* "(dB)", "[ms]": a unit, not part of the name */
            const char *close = strchr(c, *c == '(' ? ')' : ']');
            if (close && close - c - 1 < 15) {
                char u[16];
                memcpy(u, c + 1, (size_t)(close - c - 1));
                u[close - c - 1] = 0;
                const char *known = unit_of(u);
                if (known && unit && unit_len > 0) snprintf(unit, (size_t)unit_len, "%s", known);
                if (known) { c = close; continue; }
            }
        }
        if (isalnum((unsigned char)*c)) {
            if (sep && n > 0) base[n++] = '_';
            base[n++] = (char)tolower((unsigned char)*c);
            sep = 0;
        } else {
            sep = 1;
        }
    }
    base[n] = 0;
    char *out = pc->param_names[index];
    if (!base[0]) snprintf(out, RT_PLUGIN_NAME_MAX, "p%d", index);
    else if (!isalpha((unsigned char)base[0])) snprintf(out, RT_PLUGIN_NAME_MAX, "p_%.56s", base);
    else snprintf(out, RT_PLUGIN_NAME_MAX, "%s", base);
    /* unique among the parameters named so far */
    char candidate[RT_PLUGIN_NAME_MAX];
    snprintf(candidate, sizeof candidate, "%s", out);
    for (int k = 2;; k++) {
        int clash = 0;
        for (int j = 0; j < index; j++) clash |= strcmp(pc->param_names[j], candidate) == 0;
        if (!clash) break;
        snprintf(candidate, sizeof candidate, "%.*s_%d", RT_PLUGIN_NAME_MAX - 8, out, k);
    }
    snprintf(out, RT_PLUGIN_NAME_MAX, "%s", candidate);
}

void rt_plugin_layout(rt_plugin_layout_t *l, const int *ins, int n_in, const int *outs, int n_out)
{
    memset(l, 0, sizeof(*l));
    l->n_audio_in = n_in;
    l->n_audio_out = n_out;
    for (int j = 0; j < 2; j++) {
        l->audio_in[j] = j < n_in ? ins[j] : -1;
        l->audio_out[j] = j < n_out ? outs[j] : -1;
    }
    l->instances = (n_in == 1 && n_out == 1) ? 2 : 1;
    l->mono_in = n_in == 1 && l->instances == 1;
    l->mono_out = n_out == 1 && l->instances == 1;
}

void rt_plugin_bind_audio(const rt_plugin_layout_t *l, float *bufs, float *port_in[2], float *port_out[2])
{
    for (int j = 0; j < 2; j++) {
        port_in[j] = l->audio_in[j] >= 0 ? bufs + (size_t)l->audio_in[j] * RT_CONTROL_FRAMES : NULL;
        port_out[j] = l->audio_out[j] >= 0 ? bufs + (size_t)l->audio_out[j] * RT_CONTROL_FRAMES : NULL;
    }
}

void rt_plugin_feed(const rt_plugin_layout_t *l, const float *const *in, float *port_in[2][2], int n)
{
    if (l->instances == 2) {                          /* one mono instance per channel */
        memcpy(port_in[0][0], in[0], sizeof(float) * (size_t)n);
        memcpy(port_in[1][0], in[1], sizeof(float) * (size_t)n);
    } else if (l->mono_in) {
        for (int i = 0; i < n; i++) port_in[0][0][i] = 0.5f * (in[0][i] + in[1][i]);
    } else {
        for (int j = 0; j < 2; j++)
            if (port_in[0][j]) memcpy(port_in[0][j], in[j], sizeof(float) * (size_t)n);
    }
}

void rt_plugin_collect(const rt_plugin_layout_t *l, float *port_out[2][2], float *const *out, int n)
{
    if (l->instances == 2) {
        memcpy(out[0], port_out[0][0], sizeof(float) * (size_t)n);
        memcpy(out[1], port_out[1][0], sizeof(float) * (size_t)n);
    } else if (l->n_audio_out == 0) {
        memset(out[0], 0, sizeof(float) * (size_t)n);
        memset(out[1], 0, sizeof(float) * (size_t)n);
    } else if (l->mono_out) {
        memcpy(out[0], port_out[0][0], sizeof(float) * (size_t)n);
        memcpy(out[1], port_out[0][0], sizeof(float) * (size_t)n);
    } else {
        memcpy(out[0], port_out[0][0], sizeof(float) * (size_t)n);
        memcpy(out[1], port_out[0][1], sizeof(float) * (size_t)n);
    }
}

int rt_plugin_register(rt_plugin_class_t *pc)
{
    pc->cls.name = pc->type_name;
    pc->cls.doc = pc->doc;
    pc->cls.params = pc->params;
    pc->cls.cls_data = pc;
    for (int p = 0; p < pc->cls.n_params; p++) {
        pc->params[p].name = pc->param_names[p];
        pc->params[p].unit = pc->param_units[p];
        pc->params[p].doc = pc->param_docs[p];
        pc->params[p].choices = pc->param_choices[p];
    }
    return rt_node_class_register(&pc->cls);
}
