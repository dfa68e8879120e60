/*
 * host_lv2.c -- LV2 plugins as node types, through lilv.
 *
 * [main-thread] the lilv world (every installed bundle; LV2_PATH or lilv's default folders) is
 * loaded on first use and kept; rt_lv2_load() checks what a plugin requires against what rtcore
 * provides (urid:map/unmap, options with the block length and sample rate, bounded block length),
 * maps its ports -- control inputs become parameters (range, default, toggled/integer/enumeration
 * from the plugin's data), audio ports go onto the stereo buses, the first atom input that takes
 * MIDI events receives the node's notes -- and registers a node class.
 *
 * A node instantiates and activates its plugin in init() (the graph-building thread) and runs
 * one silent warm-up chunk there (some plugins allocate on their first run). On the audio
 * thread: event() appends the note as a MIDI event at frame 0 of the next chunk's atom sequence
 * (the engine cuts chunks at event times, so frame 0 IS the event's sample), control() writes
 * parameter values, process() runs the plugin. No allocation, no lock, no lilv world access.
 * The URID map takes a lock: plugins map URIs when they are instantiated, not while they run.
 */
#define _GNU_SOURCE
#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/midi/midi.h>
#include <lv2/options/options.h>
#include <lv2/parameters/parameters.h>
#include <lv2/units/units.h>
#include <lv2/urid/urid.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plugin.h"

#define FR RT_CONTROL_FRAMES
#define ATOM_BUF 8192                     /* bytes per atom port buffer */
#define MAX_ATOM_PORTS 8

/* ---- the URID map (shared by every plugin of the process) -------------------------------- */
static pthread_mutex_t urid_lock = PTHREAD_MUTEX_INITIALIZER;
static char **urids;
static uint32_t n_urids, cap_urids;

static LV2_URID urid_map(LV2_URID_Map_Handle h, const char *uri)
{
    (void)h;
    if (!uri) return 0;
    pthread_mutex_lock(&urid_lock);
    LV2_URID id = 0;
    for (uint32_t i = 0; i < n_urids; i++)
        if (strcmp(urids[i], uri) == 0) { id = i + 1; break; }
    if (!id) {
        if (n_urids == cap_urids) {
            uint32_t cap = cap_urids ? cap_urids * 2 : 256;
            char **grown = realloc(urids, cap * sizeof(char *));
            if (grown) { urids = grown; cap_urids = cap; }
        }
        char *copy = n_urids < cap_urids ? strdup(uri) : NULL;
        if (copy) { urids[n_urids++] = copy; id = n_urids; }
    }
    pthread_mutex_unlock(&urid_lock);
    return id;
}

static const char *urid_unmap(LV2_URID_Unmap_Handle h, LV2_URID id)
{
    (void)h;
    pthread_mutex_lock(&urid_lock);
    const char *uri = (id >= 1 && id <= n_urids) ? urids[id - 1] : NULL;
    pthread_mutex_unlock(&urid_lock);
    return uri;
}

static LV2_URID_Map map_feature_data = { NULL, urid_map };
static LV2_URID_Unmap unmap_feature_data = { NULL, urid_unmap };

/* ---- the lilv world --------------------------------------------------------------------- */
static pthread_mutex_t world_lock = PTHREAD_MUTEX_INITIALIZER;
static LilvWorld *world;
static const LilvPlugin **all;            /* every installed plugin, in lilv's order */
static int n_all;
static struct {
    LilvNode *audio, *control, *input, *output, *atom, *cv, *midi_event, *toggled, *integer,
             *enumeration, *unit, *optional;
} uri;
static LV2_URID u_sequence, u_chunk, u_midi, u_atom_int, u_atom_float, u_min_block, u_max_block, u_nominal_block,
                u_sample_rate;

static int world_open(char *err, int err_len)
{
    if (world) return RT_OK;
    world = lilv_world_new();
    if (!world) return rt_plugin_fail(err, err_len, RT_ERR_NOMEM, "lilv: cannot create a world");
    lilv_world_load_all(world);
    uri.audio = lilv_new_uri(world, LV2_CORE__AudioPort);
    uri.control = lilv_new_uri(world, LV2_CORE__ControlPort);
    uri.input = lilv_new_uri(world, LV2_CORE__InputPort);
    uri.output = lilv_new_uri(world, LV2_CORE__OutputPort);
    uri.atom = lilv_new_uri(world, LV2_ATOM__AtomPort);
    uri.cv = lilv_new_uri(world, LV2_CORE__CVPort);
    uri.midi_event = lilv_new_uri(world, LV2_MIDI__MidiEvent);
    uri.toggled = lilv_new_uri(world, LV2_CORE__toggled);
    uri.integer = lilv_new_uri(world, LV2_CORE__integer);
    uri.enumeration = lilv_new_uri(world, LV2_CORE__enumeration);
    uri.unit = lilv_new_uri(world, LV2_UNITS__unit);
    uri.optional = lilv_new_uri(world, LV2_CORE__connectionOptional);
    u_sequence = urid_map(NULL, LV2_ATOM__Sequence);
    u_chunk = urid_map(NULL, LV2_ATOM__Chunk);
    u_midi = urid_map(NULL, LV2_MIDI__MidiEvent);
    u_atom_int = urid_map(NULL, LV2_ATOM__Int);
    u_atom_float = urid_map(NULL, LV2_ATOM__Float);
    u_min_block = urid_map(NULL, LV2_BUF_SIZE__minBlockLength);
    u_max_block = urid_map(NULL, LV2_BUF_SIZE__maxBlockLength);
    u_nominal_block = urid_map(NULL, LV2_BUF_SIZE__nominalBlockLength);
    u_sample_rate = urid_map(NULL, LV2_PARAMETERS__sampleRate);
    const LilvPlugins *plugins = lilv_world_get_all_plugins(world);
    all = calloc(lilv_plugins_size(plugins) + 1, sizeof(*all));
    if (!all) return RT_ERR_NOMEM;
    LILV_FOREACH(plugins, i, plugins) all[n_all++] = lilv_plugins_get(plugins, i);
    return RT_OK;
}

/* features rtcore gives every plugin instance */
static const char *const provided[] = { LV2_URID__map, LV2_URID__unmap, LV2_OPTIONS__options,
                                        LV2_BUF_SIZE__boundedBlockLength, NULL };

/* the features `p` requires that rtcore does not provide, as one text (empty if none) */
static void missing_features(const LilvPlugin *p, char *out, size_t len)
{
    out[0] = 0;
    LilvNodes *req = lilv_plugin_get_required_features(p);
    LILV_FOREACH(nodes, i, req) {
        const char *f = lilv_node_as_uri(lilv_nodes_get(req, i));
        int ok = 0;
        for (int k = 0; provided[k]; k++) ok |= strcmp(provided[k], f) == 0;
        if (!ok) {
            size_t used = strlen(out);
            snprintf(out + used, len - used, "%s%s", used ? ", " : "", f);
        }
    }
    lilv_nodes_free(req);
}

typedef struct {
    int audio_in, audio_out, control_in, control_out, midi_in, atom_other, unsupported;
    char problem[256];
} port_census_t;

static void census(const LilvPlugin *p, port_census_t *c)
{
    memset(c, 0, sizeof(*c));
    uint32_t n = lilv_plugin_get_num_ports(p);
    for (uint32_t i = 0; i < n; i++) {
        const LilvPort *port = lilv_plugin_get_port_by_index(p, i);
        int in = lilv_port_is_a(p, port, uri.input);
        if (lilv_port_is_a(p, port, uri.audio)) { if (in) c->audio_in++; else c->audio_out++; }
        else if (lilv_port_is_a(p, port, uri.control)) { if (in) c->control_in++; else c->control_out++; }
        else if (lilv_port_is_a(p, port, uri.atom)) {
            if (in && !c->midi_in && lilv_port_supports_event(p, port, uri.midi_event)) c->midi_in = 1;
            else c->atom_other++;
        } else if (!lilv_port_has_property(p, port, uri.optional)) {
            c->unsupported++;
            if (!c->problem[0])
                snprintf(c->problem, sizeof c->problem, "port '%s' is of a kind rtcore does not connect (%s)",
                         lilv_node_as_string(lilv_port_get_symbol(p, port)),
                         lilv_port_is_a(p, port, uri.cv) ? "CV" : "not audio, control or atom");
        }
    }
    if (!c->problem[0] && c->control_in > RT_MAX_PARAMS)
        snprintf(c->problem, sizeof c->problem, "%d control inputs: more than rtcore's %d parameters per node",
                 c->control_in, RT_MAX_PARAMS);
    if (!c->problem[0] && c->atom_other + c->midi_in > MAX_ATOM_PORTS)
        snprintf(c->problem, sizeof c->problem, "more than %d atom ports", MAX_ATOM_PORTS);
}

int rt_lv2_count(char *err, int err_len)
{
    if (err && err_len > 0) err[0] = 0;
    pthread_mutex_lock(&world_lock);
    int rc = world_open(err, err_len);
    if (rc >= 0) rc = n_all;
    pthread_mutex_unlock(&world_lock);
    return rc;
}

int rt_lv2_describe(int index, rt_plugin_desc_t *out)
{
    if (!out) return RT_ERR_INVALID;
    pthread_mutex_lock(&world_lock);
    int rc = world_open(NULL, 0);
    if (rc >= 0 && (index < 0 || index >= n_all)) rc = RT_ERR_NOT_FOUND;
    if (rc >= 0) {
        const LilvPlugin *p = all[index];
        memset(out, 0, sizeof(*out));
        snprintf(out->uri, sizeof out->uri, "%s", lilv_node_as_uri(lilv_plugin_get_uri(p)));
        LilvNode *name = lilv_plugin_get_name(p), *maker = lilv_plugin_get_author_name(p);
        snprintf(out->name, sizeof out->name, "%s", name ? lilv_node_as_string(name) : "");
        snprintf(out->maker, sizeof out->maker, "%s", maker ? lilv_node_as_string(maker) : "");
        lilv_node_free(name);
        lilv_node_free(maker);
        port_census_t c;
        census(p, &c);
        out->audio_in = c.audio_in; out->audio_out = c.audio_out;
        out->control_in = c.control_in; out->control_out = c.control_out;
        out->midi_in = c.midi_in; out->other_ports = c.atom_other + c.unsupported;
        char missing[200];
        missing_features(p, missing, sizeof missing);
        if (missing[0]) snprintf(out->problem, sizeof out->problem, "requires %s", missing);
        else snprintf(out->problem, sizeof out->problem, "%s", c.problem);
        out->hostable = out->problem[0] == 0;
        rc = RT_OK;
    }
    pthread_mutex_unlock(&world_lock);
    return rc;
}

/* ---- the class's LV2 data --------------------------------------------------------------- */
typedef struct {
    const LilvPlugin *plugin;
    int32_t  min_block, max_block, nominal_block;
    float    rate;
    LV2_Options_Option options[5];
    LV2_Feature f_map, f_unmap, f_options, f_bounded;
    const LV2_Feature *features[5];
    int      midi_port;                   /* atom input taking our MIDI, -1 if none */
    int      n_atom;                      /* atom ports (midi_port among them) */
    int      atom_port[MAX_ATOM_PORTS];
    int      atom_is_output[MAX_ATOM_PORTS];
} lv2_data_t;

typedef struct {
    const rt_plugin_class_t *pc;
    const lv2_data_t *ld;
    LilvInstance *inst[2];
    int    n_inst;
    float  ctrl[RT_MAX_PARAMS];
    float *bufs[2];                       /* per instance: FR floats per port */
    uint8_t *atoms[2];                    /* per instance: ATOM_BUF bytes per atom port (8-aligned) */
    LV2_Atom_Sequence *midi[2];           /* the MIDI input sequence of each instance, or NULL */
    float *port_in[2][2], *port_out[2][2];
} lv2_node_t;

static LV2_Atom_Sequence *atom_at(lv2_node_t *s, int inst, int k)
{
    return (LV2_Atom_Sequence *)(void *)(s->atoms[inst] + (size_t)k * ATOM_BUF);
}

/* [audio-thread] an empty input sequence / an output buffer offered whole */
static void reset_atoms(lv2_node_t *s, int inst)
{
    for (int k = 0; k < s->ld->n_atom; k++) {
        LV2_Atom_Sequence *seq = atom_at(s, inst, k);
        if (s->ld->atom_is_output[k]) {
            seq->atom.type = u_chunk;
            seq->atom.size = ATOM_BUF - sizeof(LV2_Atom);
        } else {
            seq->atom.type = u_sequence;
            seq->atom.size = sizeof(LV2_Atom_Sequence_Body);
            seq->body.unit = 0;
            seq->body.pad = 0;
        }
    }
}

static void lv2_destroy(void *st)
{
    lv2_node_t *s = st;
    for (int k = 0; k < 2; k++) {
        if (s->inst[k]) {
            lilv_instance_deactivate(s->inst[k]);
            lilv_instance_free(s->inst[k]);
            s->inst[k] = NULL;
        }
        free(s->bufs[k]); s->bufs[k] = NULL;
        free(s->atoms[k]); s->atoms[k] = NULL;
    }
}

static int lv2_init(void *st, const rt_node_env_t *env, const float *params)
{
    lv2_node_t *s = st;
    const rt_plugin_class_t *pc = env->cls_data;
    const lv2_data_t *ld = pc->format_data;
    s->pc = pc;
    s->ld = ld;
    s->n_inst = pc->layout.instances;
    for (int p = 0; p < pc->cls.n_params; p++) s->ctrl[p] = params[p];
    for (int k = 0; k < s->n_inst; k++) {
        s->bufs[k] = calloc((size_t)pc->n_ports * FR, sizeof(float));
        s->atoms[k] = aligned_alloc(16, (size_t)(ld->n_atom ? ld->n_atom : 1) * ATOM_BUF);
        if (!s->bufs[k] || !s->atoms[k]) { lv2_destroy(s); return RT_ERR_NOMEM; }
        memset(s->atoms[k], 0, (size_t)(ld->n_atom ? ld->n_atom : 1) * ATOM_BUF);
        pthread_mutex_lock(&world_lock);        /* instantiate reads the world's data */
        s->inst[k] = lilv_plugin_instantiate(ld->plugin, env->sample_rate, ld->features);
        pthread_mutex_unlock(&world_lock);
        if (!s->inst[k]) { lv2_destroy(s); return RT_ERR_INVALID; }
        for (int i = 0; i < pc->n_ports; i++)
            lilv_instance_connect_port(s->inst[k], (uint32_t)i, s->bufs[k] + (size_t)i * FR);
        for (int p = 0; p < pc->cls.n_params; p++)
            lilv_instance_connect_port(s->inst[k], (uint32_t)pc->param_port[p], &s->ctrl[p]);
        for (int a = 0; a < ld->n_atom; a++) {
            lilv_instance_connect_port(s->inst[k], (uint32_t)ld->atom_port[a], atom_at(s, k, a));
            if (ld->atom_port[a] == ld->midi_port) s->midi[k] = atom_at(s, k, a);
        }
        rt_plugin_bind_audio(&pc->layout, s->bufs[k], s->port_in[k], s->port_out[k]);
        reset_atoms(s, k);
        lilv_instance_activate(s->inst[k]);
        lilv_instance_run(s->inst[k], FR);       /* warm-up here: first-run allocations happen off the audio thread */
        lilv_instance_deactivate(s->inst[k]);
        lilv_instance_activate(s->inst[k]);      /* and start from a clean state */
        reset_atoms(s, k);
    }
    return RT_OK;
}

static void lv2_control(void *st, const float *params, int frames)
{
    lv2_node_t *s = st;
    for (int p = 0; p < s->pc->cls.n_params; p++) s->ctrl[p] = params[p];
}

/* [audio-thread] append a MIDI message at frame 0 of the next chunk to every instance's
 * MIDI input; a full sequence drops it */
static void push_midi(lv2_node_t *s, const uint8_t *msg, uint32_t len)
{
    for (int k = 0; k < s->n_inst; k++) {
        LV2_Atom_Sequence *seq = s->midi[k];
        if (!seq) continue;
        uint32_t used = sizeof(LV2_Atom) + seq->atom.size;
        uint32_t need = (uint32_t)lv2_atom_pad_size(sizeof(LV2_Atom_Event) + len);
        if (used + need > ATOM_BUF) continue;
        LV2_Atom_Event *ev = (LV2_Atom_Event *)(void *)((uint8_t *)seq + used);
        ev->time.frames = 0;
        ev->body.type = u_midi;
        ev->body.size = len;
        memcpy(ev + 1, msg, len);
        seq->atom.size += need;
    }
}

static void lv2_event(void *st, const rt_event_t *ev)
{
    lv2_node_t *s = st;
    if (!s->ld->n_atom || s->ld->midi_port < 0) return;
    uint8_t ch = (uint8_t)((ev->channel >= 1 && ev->channel <= 16 ? ev->channel : 1) - 1);
    uint8_t m[3];
    switch (ev->type) {
    case RT_EV_NOTE_ON:  m[0] = 0x90 | ch; m[1] = ev->data1 & 0x7F; m[2] = ev->data2 ? ev->data2 & 0x7F : 1;
                         push_midi(s, m, 3); break;
    case RT_EV_NOTE_OFF: m[0] = 0x80 | ch; m[1] = ev->data1 & 0x7F; m[2] = ev->data2 & 0x7F; push_midi(s, m, 3); break;
    case RT_EV_CC:       m[0] = 0xB0 | ch; m[1] = ev->data1 & 0x7F; m[2] = ev->data2 & 0x7F; push_midi(s, m, 3); break;
    case RT_EV_PITCH_BEND: {
        float v = ev->value < -1.0f ? -1.0f : (ev->value > 1.0f ? 1.0f : ev->value);
        int b = (int)lrintf(8192.0f + v * (v < 0 ? 8192.0f : 8191.0f));
        m[0] = 0xE0 | ch; m[1] = (uint8_t)(b & 0x7F); m[2] = (uint8_t)((b >> 7) & 0x7F);
        push_midi(s, m, 3);
        break;
    }
    case RT_EV_CHANNEL_PRESSURE: {
        float v = ev->value < 0.0f ? 0.0f : (ev->value > 1.0f ? 1.0f : ev->value);
        m[0] = 0xD0 | ch; m[1] = (uint8_t)lrintf(v * 127.0f);
        push_midi(s, m, 2);
        break;
    }
    case RT_EV_ALL_NOTES_OFF:               /* every channel: sound and notes off */
        for (uint8_t c = 0; c < 16; c++) {
            uint8_t off[3] = { (uint8_t)(0xB0 | c), 123, 0 };
            push_midi(s, off, 3);
        }
        break;
    default: break;
    }
}

static void lv2_process(void *st, const float *const *in, float *const *out, int n)
{
    lv2_node_t *s = st;
    rt_plugin_feed(&s->pc->layout, in, s->port_in, n);
    for (int k = 0; k < s->n_inst; k++) {
        lilv_instance_run(s->inst[k], (uint32_t)n);
        reset_atoms(s, k);                  /* the events were for this chunk; outputs offered again */
    }
    rt_plugin_collect(&s->pc->layout, s->port_out, out, n);
}

/* ---- loading a plugin as a node type ---------------------------------------------------- */
static void control_param(rt_plugin_class_t *pc, int p, const LilvPlugin *pl, const LilvPort *port,
                          float lo, float hi, float def)
{
    const char *sym = lilv_node_as_string(lilv_port_get_symbol(pl, port));
    LilvNode *name = lilv_port_get_name(pl, port);
    int kind = RT_PARAM_FLOAT;
    if (!(lo == lo)) lo = 0.0f;
    if (!(hi == hi)) hi = lo + 1.0f;
    if (hi < lo) { float t = lo; lo = hi; hi = t; }
    if (lilv_port_has_property(pl, port, uri.toggled)) { kind = RT_PARAM_BOOL; lo = 0.0f; hi = 1.0f; }
    else if (lilv_port_has_property(pl, port, uri.integer)) { kind = RT_PARAM_INT; lo = ceilf(lo); hi = floorf(hi); }
    /* an enumeration whose values are exactly 0, 1, ... n-1 becomes an enum with its labels */
    if (lilv_port_has_property(pl, port, uri.enumeration)) {
        LilvScalePoints *sp = lilv_port_get_scale_points(pl, port);
        int n = sp ? (int)lilv_scale_points_size(sp) : 0;
        const char *labels[64] = { 0 };
        int ok = n > 0 && n <= 64;
        LILV_FOREACH(scale_points, i, sp) {
            const LilvScalePoint *pt = lilv_scale_points_get(sp, i);
            float v = lilv_node_as_float(lilv_scale_point_get_value(pt));
            int k = (int)v;
            if (!ok || v != (float)k || k < 0 || k >= n || labels[k]) { ok = 0; continue; }
            labels[k] = lilv_node_as_string(lilv_scale_point_get_label(pt));
            if (strchr(labels[k], '|')) ok = 0;
        }
        if (ok) {
            char *c = pc->param_choices[p];
            size_t used = 0;
            for (int k = 0; k < n && used < sizeof pc->param_choices[p]; k++)
                used += (size_t)snprintf(c + used, sizeof pc->param_choices[p] - used, "%s%s", k ? "|" : "", labels[k]);
            if (used < sizeof pc->param_choices[p]) { kind = RT_PARAM_ENUM; lo = 0.0f; hi = (float)(n - 1); }
            else c[0] = 0;
        }
        lilv_scale_points_free(sp);
    }
    if (!(def == def)) def = lo;
    if (kind != RT_PARAM_FLOAT) def = roundf(def);
    def = def < lo ? lo : (def > hi ? hi : def);
    snprintf(pc->param_names[p], RT_PLUGIN_NAME_MAX, "%s", sym);
    snprintf(pc->param_docs[p], sizeof pc->param_docs[p], "%s", name ? lilv_node_as_string(name) : sym);
    lilv_node_free(name);
    LilvNodes *units = lilv_port_get_value(pl, port, uri.unit);
    if (units && lilv_nodes_size(units)) {
        const char *u = lilv_node_as_uri(lilv_nodes_get_first(units));
        static const struct { const char *uri, *text; } known[] = {
            { LV2_UNITS__db, "dB" }, { LV2_UNITS__hz, "Hz" }, { LV2_UNITS__ms, "ms" }, { LV2_UNITS__s, "s" },
            { LV2_UNITS__pc, "%" }, { LV2_UNITS__semitone12TET, "semitones" }, { LV2_UNITS__cent, "cents" },
            { LV2_UNITS__bpm, "BPM" }, { LV2_UNITS__khz, "kHz" },
        };
        for (size_t i = 0; u && i < sizeof known / sizeof known[0]; i++)
            if (strcmp(u, known[i].uri) == 0) snprintf(pc->param_units[p], sizeof pc->param_units[p], "%s", known[i].text);
    }
    lilv_nodes_free(units);
    pc->params[p] = (rt_param_info_t){ NULL, NULL, lo, hi, def, kind, NULL, NULL };
    pc->param_port[p] = (int)lilv_port_get_index(pl, port);
}

int rt_lv2_load(const char *plugin_uri, double sample_rate, char *err, int err_len)
{
    if (err && err_len > 0) err[0] = 0;
    if (!plugin_uri || !(sample_rate > 0)) return RT_ERR_INVALID;
    pthread_mutex_lock(&world_lock);
    int rc = world_open(err, err_len);
    if (rc < 0) goto out;
    char type[sizeof ((rt_plugin_class_t *)0)->type_name];
    snprintf(type, sizeof type, "lv2:%s", plugin_uri);
    rc = rt_node_type_find(type);
    if (rc >= 0) goto out;
    const LilvPlugin *pl = NULL;
    for (int i = 0; i < n_all && !pl; i++)
        if (strcmp(lilv_node_as_uri(lilv_plugin_get_uri(all[i])), plugin_uri) == 0) pl = all[i];
    if (!pl) { rc = rt_plugin_fail(err, err_len, RT_ERR_NOT_FOUND, "no LV2 plugin <%s> is installed", plugin_uri); goto out; }
    char missing[200];
    missing_features(pl, missing, sizeof missing);
    if (missing[0]) {
        rc = rt_plugin_fail(err, err_len, RT_ERR_FORMAT, "LV2 plugin <%s> requires %s, which rtcore does not provide",
                            plugin_uri, missing);
        goto out;
    }
    port_census_t c;
    census(pl, &c);
    if (c.problem[0]) { rc = rt_plugin_fail(err, err_len, RT_ERR_FORMAT, "LV2 plugin <%s>: %s", plugin_uri, c.problem); goto out; }

    rt_plugin_class_t *pc = calloc(1, sizeof(*pc));
    lv2_data_t *ld = calloc(1, sizeof(*ld));
    if (!pc || !ld) { free(pc); free(ld); rc = RT_ERR_NOMEM; goto out; }
    ld->plugin = pl;
    ld->midi_port = -1;
    ld->min_block = 1;
    ld->max_block = FR;                   /* the engine never runs a node on more than one control chunk */
    ld->nominal_block = FR;
    ld->rate = (float)sample_rate;
    ld->options[0] = (LV2_Options_Option){ LV2_OPTIONS_INSTANCE, 0, u_min_block, sizeof(int32_t), u_atom_int, &ld->min_block };
    ld->options[1] = (LV2_Options_Option){ LV2_OPTIONS_INSTANCE, 0, u_max_block, sizeof(int32_t), u_atom_int, &ld->max_block };
    ld->options[2] = (LV2_Options_Option){ LV2_OPTIONS_INSTANCE, 0, u_nominal_block, sizeof(int32_t), u_atom_int, &ld->nominal_block };
    ld->options[3] = (LV2_Options_Option){ LV2_OPTIONS_INSTANCE, 0, u_sample_rate, sizeof(float), u_atom_float, &ld->rate };
    ld->options[4] = (LV2_Options_Option){ LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL };
    ld->f_map = (LV2_Feature){ LV2_URID__map, &map_feature_data };
    ld->f_unmap = (LV2_Feature){ LV2_URID__unmap, &unmap_feature_data };
    ld->f_options = (LV2_Feature){ LV2_OPTIONS__options, ld->options };
    ld->f_bounded = (LV2_Feature){ LV2_BUF_SIZE__boundedBlockLength, NULL };
    ld->features[0] = &ld->f_map; ld->features[1] = &ld->f_unmap;
    ld->features[2] = &ld->f_options; ld->features[3] = &ld->f_bounded; ld->features[4] = NULL;

    uint32_t n_ports = lilv_plugin_get_num_ports(pl);
    float *mins = calloc(n_ports, sizeof(float)), *maxs = calloc(n_ports, sizeof(float)),
          *defs = calloc(n_ports, sizeof(float));
    if (!mins || !maxs || !defs) { free(mins); free(maxs); free(defs); free(pc); free(ld); rc = RT_ERR_NOMEM; goto out; }
    lilv_plugin_get_port_ranges_float(pl, mins, maxs, defs);
    int ins[64], outs[64], n_in = 0, n_out = 0, n_params = 0;
    for (uint32_t i = 0; i < n_ports; i++) {
        const LilvPort *port = lilv_plugin_get_port_by_index(pl, i);
        int in = lilv_port_is_a(pl, port, uri.input);
        if (lilv_port_is_a(pl, port, uri.audio)) {
            if (in) { if (n_in < 64) ins[n_in++] = (int)i; } else if (n_out < 64) outs[n_out++] = (int)i;
        } else if (lilv_port_is_a(pl, port, uri.control)) {
            if (in) control_param(pc, n_params++, pl, port, mins[i], maxs[i], defs[i]);
        } else if (lilv_port_is_a(pl, port, uri.atom)) {
            if (in && ld->midi_port < 0 && lilv_port_supports_event(pl, port, uri.midi_event)) ld->midi_port = (int)i;
            ld->atom_is_output[ld->n_atom] = !in;
            ld->atom_port[ld->n_atom++] = (int)i;
        }
    }
    free(mins); free(maxs); free(defs);
    for (int p = 0; p < n_params; p++)            /* symbols are unique by the spec; make sure */
        for (int q = 0; q < p; q++)
            if (strcmp(pc->param_names[p], pc->param_names[q]) == 0) {
                char sym[RT_PLUGIN_NAME_MAX];
                snprintf(sym, sizeof sym, "%s", pc->param_names[p]);
                rt_plugin_param_name(pc, p, sym, NULL, 0);
            }
    pc->sample_rate = sample_rate;
    pc->format_data = ld;
    pc->n_ports = (int)n_ports;
    snprintf(pc->type_name, sizeof pc->type_name, "%s", type);
    LilvNode *name = lilv_plugin_get_name(pl), *maker = lilv_plugin_get_author_name(pl);
    snprintf(pc->doc, sizeof pc->doc, "LV2 %s%s%s", name ? lilv_node_as_string(name) : plugin_uri,
             maker ? " by " : "", maker ? lilv_node_as_string(maker) : "");
    lilv_node_free(name);
    lilv_node_free(maker);
    rt_plugin_layout(&pc->layout, ins, n_in, outs, n_out);
    pc->cls.flags = RT_NODE_PLUGIN | (n_in > 0 ? RT_NODE_TAKES_AUDIO : 0) | (ld->midi_port >= 0 ? RT_NODE_RECEIVES_NOTES : 0);
    pc->cls.n_params = n_params;
    pc->cls.state_size = sizeof(lv2_node_t);
    pc->cls.init = lv2_init;
    pc->cls.destroy = lv2_destroy;
    pc->cls.control = lv2_control;
    pc->cls.process = lv2_process;
    pc->cls.event = lv2_event;
    rc = rt_plugin_register(pc);
    if (rc < 0) { free(pc); free(ld); }
out:
    pthread_mutex_unlock(&world_lock);
    return rc;
}
