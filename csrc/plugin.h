/*
 * plugin.h -- what the LADSPA and LV2 hosts share (internal).
 *
 * A loaded plugin becomes a node class of its own, made at run time: its parameters are the
 * plugin's control input ports. The class lives until the process ends (graphs and the Python
 * side know node types by index; they are never unregistered).
 *
 * Audio: the engine's buses are stereo. A plugin's first two audio inputs and outputs are
 * mapped onto them (rt_plugin_layout); a mono effect (1 in, 1 out) runs as two instances, one
 * per channel, like every host does. Extra audio inputs hear silence, extra outputs are unused.
 */
#ifndef RT_PLUGIN_H
#define RT_PLUGIN_H

#include "node.h"

#define RT_PLUGIN_NAME_MAX 64

typedef struct rt_plugin_layout {
    int n_audio_in, n_audio_out;   /* the plugin's audio ports (all of them) */
    int audio_in[2], audio_out[2]; /* port indices of the first two of each, -1 if none */
    int instances;                 /* 2: mono in/out, one per channel; else 1 */
    int mono_in;                   /* 1 input port on one instance: it hears (L + R) / 2 */
    int mono_out;                  /* 1 output port (one instance): both channels get it */
} rt_plugin_layout_t;

/* Everything a plugin class owns, in one allocation (never freed). */
typedef struct rt_plugin_class {
    rt_node_class_t    cls;                       /* what the engine sees; cls.cls_data = this */
    rt_param_info_t    params[RT_MAX_PARAMS];
    int                param_port[RT_MAX_PARAMS]; /* plugin port of each parameter */
    char               param_names[RT_MAX_PARAMS][RT_PLUGIN_NAME_MAX];
    char               param_units[RT_MAX_PARAMS][16];
    char               param_docs[RT_MAX_PARAMS][128];
    char               param_choices[RT_MAX_PARAMS][256];
    char               type_name[4096 + 512];   /* "ladspa:<path>:<label>" or "lv2:<uri>" */
    char               doc[256];
    rt_plugin_layout_t layout;
    int                n_ports;
    double             sample_rate;              /* of the engine that loaded it (for hints) */
    const void        *format_data;              /* LADSPA_Descriptor * / the LV2 plugin */
} rt_plugin_class_t;

/* [main-thread] `name` made into a parameter name: lower case, runs of other characters to
 * '_', a unit in parentheses or brackets removed and returned in unit ("Delay (Seconds)" ->
 * "delay", "s"; "Dry Level [dB]" -> "dry_level", "dB");
 * a name that does not start with a letter gets a "p_" prefix; unique within pc->param_names
 * [0..index) (a "_2" ... suffix). */
void rt_plugin_param_name(rt_plugin_class_t *pc, int index, const char *name, char *unit, int unit_len);

/* [main-thread] decide the stereo mapping for a plugin with these audio port indices */
void rt_plugin_layout(rt_plugin_layout_t *l, const int *ins, int n_in, const int *outs, int n_out);

/* [main-thread] one instance's audio port buffers: bufs holds RT_CONTROL_FRAMES floats per plugin
 * port (port i at bufs + i * RT_CONTROL_FRAMES); port_in/port_out get the layout's two inputs and
 * outputs among them (NULL where the plugin has none) */
void rt_plugin_bind_audio(const rt_plugin_layout_t *l, float *bufs, float *port_in[2], float *port_out[2]);

/* [audio-thread] the engine's stereo input -> the plugin's input port buffers, per layout.
 * port_in[k][j]: instance k's buffer for the layout's input j (NULL if none). */
void rt_plugin_feed(const rt_plugin_layout_t *l, const float *const *in, float *port_in[2][2], int n);
/* [audio-thread] the plugin's output port buffers -> the engine's stereo output, per layout */
void rt_plugin_collect(const rt_plugin_layout_t *l, float *port_out[2][2], float *const *out, int n);

/* [main-thread] register pc (fills the class's name/params pointers); the type index or an error */
int rt_plugin_register(rt_plugin_class_t *pc);

/* [main-thread] snprintf into err (one line), returns code */
int rt_plugin_fail(char *err, int err_len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
