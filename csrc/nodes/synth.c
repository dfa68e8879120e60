/*
 * synth.c -- polyphonic subtractive synth: per voice one or two band-limited oscillators
 * (detuned pair), a resonant TPT low-pass with its own envelope, and an amp ADSR.
 *
 * Voices live in a static array of 32 (no allocation ever); the `voices` parameter caps
 * how many are used. Allocation: a free voice, else the oldest released one, else the
 * oldest pedal-sustained one, else the oldest held one. A stolen voice is not cut: it is
 * copied into a "ghost" slot that fades it out over 3 ms while the new note starts from
 * silence in the freed voice, so stealing never clicks and the new note starts on time.
 *
 * Per-sample work per voice: oscillator(s), envelopes, the filter with its g ramped
 * linearly between control points. control() (every 32 frames) computes each voice's
 * filter cutoff from its filter envelope, so modulation is block-size independent.
 */
#include "../node.h"
#include "voice.h"

#define MAXV 32
#define FADE_SECONDS 0.003

enum {
    P_WAVE, P_VOICES, P_DETUNE,
    P_ATTACK, P_DECAY, P_SUSTAIN, P_RELEASE,
    P_CUTOFF, P_RESONANCE, P_ENV_AMOUNT,
    P_FATTACK, P_FDECAY, P_FSUSTAIN, P_FRELEASE,
    P_KEY_TRACK, P_VEL_SENS, P_BEND_RANGE, P_LEVEL, P_PAN, P_SPREAD,
    P_COUNT
};

static const rt_param_info_t params[P_COUNT] = {
    { "wave", "", 0, 3, 0, RT_PARAM_ENUM, "saw|square|triangle|sine", "oscillator waveform (band-limited)" },
    { "voices", "", 1, MAXV, 8, RT_PARAM_INT, "", "polyphony; extra notes steal the oldest voice" },
    { "detune", "cents", 0, 100, 0, RT_PARAM_FLOAT, "", "spread of a second oscillator (-d/2, +d/2); 0 = one oscillator" },
    { "attack", "ms", 0, 10000, 5, RT_PARAM_FLOAT, "", "amp attack: linear to the peak, exact to the sample" },
    { "decay", "ms", 0, 10000, 300, RT_PARAM_FLOAT, "", "amp decay to the sustain level (exponential shape, exact length)" },
    { "sustain", "", 0, 1, 0.7f, RT_PARAM_FLOAT, "", "amp sustain level (linear gain)" },
    { "release", "ms", 1, 10000, 250, RT_PARAM_FLOAT, "", "amp release to silence after note-off (exact length)" },
    { "cutoff", "Hz", 20, 20000, 6000, RT_PARAM_FLOAT, "", "low-pass cutoff (-3 dB at resonance 0)" },
    { "resonance", "", 0, 1, 0.1f, RT_PARAM_FLOAT, "", "filter resonance: Q from 0.707 (0) to 20 (1)" },
    { "env_amount", "octaves", -4, 8, 1, RT_PARAM_FLOAT, "", "how far the filter envelope moves the cutoff" },
    { "fenv_attack", "ms", 0, 10000, 5, RT_PARAM_FLOAT, "", "filter envelope attack" },
    { "fenv_decay", "ms", 0, 10000, 400, RT_PARAM_FLOAT, "", "filter envelope decay" },
    { "fenv_sustain", "", 0, 1, 0.3f, RT_PARAM_FLOAT, "", "filter envelope sustain level" },
    { "fenv_release", "ms", 1, 10000, 300, RT_PARAM_FLOAT, "", "filter envelope release" },
    { "key_track", "", 0, 1, 0, RT_PARAM_FLOAT, "", "cutoff follows the note (1 = an octave per octave, around C4)" },
    { "velocity_sens", "", 0, 1, 0.5f, RT_PARAM_FLOAT, "", "0 = velocity ignored, 1 = gain (vel/127)^2" },
    { "bend_range", "semitones", 0, 24, 2, RT_PARAM_FLOAT, "", "pitch bend at full deflection" },
    { "level", "dB", -96, 12, -6, RT_PARAM_FLOAT, "", "output level (-96 = silent)" },
    { "pan", "", -1, 1, 0, RT_PARAM_FLOAT, "", "balance: -1 left, 0 both channels at full level, +1 right" },
    { "spread", "", 0, 1, 0, RT_PARAM_FLOAT, "", "places voices alternately left and right" },
};

typedef struct {
    double ph1, ph2;            /* oscillator phases, cycles in [0,1) */
    double base_inc;            /* note frequency / sr, without bend and detune */
    double inc1, inc2;
    rt_env_t amp, filt;
    rt_svf_t svf;
    rt_ramp_t g;                /* filter g, ramped between control points */
    float vel_gain;
    int note;
    int slot;                   /* index in v[] (a ghost keeps its voice's pan) */
    int active;                 /* sounding */
    int held;                   /* key down */
    int sustained;              /* key up, held by the pedal */
    int fade;                   /* ghosts only: samples left of the 3 ms fade-out */
    uint32_t on_stamp, off_stamp;
} voice_t;

typedef struct {
    double sr;
    voice_t v[MAXV];            /* playable voices, slots 0..n_voices-1 */
    voice_t ghost[MAXV];        /* stolen voices fading out */
    rt_env_cfg_t amp_cfg, filt_cfg;
    int wave, n_voices, fade_len, pedal;
    float k, cutoff, env_amount, key_track, vel_sens, detune, spread;
    float bend, bend_range;
    double bend_ratio, det_dn, det_up;
    uint32_t stamp;
    float vgl[MAXV], vgr[MAXV]; /* per-slot pan gains (spread) */
    rt_ramp_t out_l, out_r;     /* level x balance */
} synth_t;

static void voice_set_inc(const synth_t *s, voice_t *v)
{
    double base = v->base_inc * s->bend_ratio;
    v->inc1 = base * s->det_dn;
    v->inc2 = base * s->det_up;
    if (v->inc1 > RT_OSC_MAX_INC) v->inc1 = RT_OSC_MAX_INC;
    if (v->inc2 > RT_OSC_MAX_INC) v->inc2 = RT_OSC_MAX_INC;
}

static float voice_g(const synth_t *s, const voice_t *v)
{
    double oct = s->env_amount * v->filt.level + s->key_track * (v->note - 60) * (1.0 / 12.0);
    return rt_svf_g(s->cutoff * exp2(oct), s->sr);
}

static int synth_init(void *st, const rt_node_env_t *env, const float *p)
{
    synth_t *s = st;
    (void)p;
    s->sr = env->sample_rate;
    s->fade_len = (int)(FADE_SECONDS * env->sample_rate + 0.5);
    if (s->fade_len < 1) s->fade_len = 1;
    s->bend_ratio = s->det_dn = s->det_up = 1.0;
    s->n_voices = 8;
    return RT_OK;
}

/* move voice v into a ghost slot that fades it out; v becomes free */
static void voice_to_ghost(synth_t *s, int i)
{
    voice_t *v = &s->v[i];
    if (!v->active) return;
    int gi = i;
    if (s->ghost[gi].active) {                 /* stolen twice within 3 ms: find another */
        for (int j = 0; j < MAXV; j++) if (!s->ghost[j].active) { gi = j; break; }
    }
    s->ghost[gi] = *v;
    s->ghost[gi].fade = s->fade_len;
    v->active = v->held = v->sustained = 0;
}

static int pick_voice(synth_t *s)
{
    int best = -1, best_rank = 4;
    uint32_t best_age = 0;
    for (int i = 0; i < s->n_voices; i++) {
        voice_t *v = &s->v[i];
        if (!v->active) return i;
        int rank = v->amp.stage == RT_ENV_RELEASE ? 0 : (v->sustained ? 1 : 2);
        uint32_t age = s->stamp - (rank == 0 ? v->off_stamp : v->on_stamp);   /* wraps fine */
        if (rank < best_rank || (rank == best_rank && age > best_age)) {
            best = i; best_rank = rank; best_age = age;
        }
    }
    return best;
}

static void note_on(synth_t *s, int note, int vel)
{
    int i = -1;
    for (int j = 0; j < s->n_voices; j++)      /* a re-struck note reuses its own voice */
        if (s->v[j].active && s->v[j].note == note) { i = j; break; }
    if (i < 0) i = pick_voice(s);
    voice_to_ghost(s, i);                      /* no-op when the voice is free */
    voice_t *v = &s->v[i];
    v->note = note;
    v->slot = i;
    v->base_inc = rt_note_hz(note) / s->sr;
    voice_set_inc(s, v);
    v->ph1 = v->ph2 = rt_osc_start_phase(s->wave);
    v->svf.ic1 = v->svf.ic2 = 0.0f;
    v->amp.level = v->filt.level = 0.0f;
    rt_env_gate_on(&v->amp, &s->amp_cfg, 0);
    rt_env_gate_on(&v->filt, &s->filt_cfg, 0);
    float g = voice_g(s, v);
    v->g.value = v->g.target = g;              /* hold until the next control point */
    v->g.step = 0.0f;
    v->vel_gain = rt_velocity_gain(vel, s->vel_sens);
    v->active = v->held = 1;
    v->sustained = 0;
    v->fade = 0;
    v->on_stamp = ++s->stamp;
}

static void voice_release(synth_t *s, voice_t *v)
{
    rt_env_gate_off(&v->amp, &s->amp_cfg);
    rt_env_gate_off(&v->filt, &s->filt_cfg);
    v->held = v->sustained = 0;
    v->off_stamp = ++s->stamp;
}

static void note_off(synth_t *s, int note)
{
    for (int i = 0; i < MAXV; i++) {
        voice_t *v = &s->v[i];
        if (!v->active || !v->held || v->note != note) continue;
        if (s->pedal) { v->held = 0; v->sustained = 1; }
        else voice_release(s, v);
    }
}

static void release_all(synth_t *s, int include_held)
{
    for (int i = 0; i < MAXV; i++) {
        voice_t *v = &s->v[i];
        if (v->active && (v->sustained || (include_held && v->held))) voice_release(s, v);
    }
}

static void set_bend(synth_t *s)
{
    s->bend_ratio = exp2(s->bend * s->bend_range * (1.0 / 12.0));
    for (int i = 0; i < MAXV; i++) {
        voice_set_inc(s, &s->v[i]);
        voice_set_inc(s, &s->ghost[i]);
    }
}

static void synth_event(void *st, const rt_event_t *ev)
{
    synth_t *s = st;
    switch (ev->type) {
    case RT_EV_NOTE_ON:
        if (ev->data2 == 0) note_off(s, ev->data1 & 127);
        else note_on(s, ev->data1 & 127, ev->data2 > 127 ? 127 : ev->data2);
        break;
    case RT_EV_NOTE_OFF:
        note_off(s, ev->data1 & 127);
        break;
    case RT_EV_CC:
        if (ev->data1 == 64) {                 /* sustain pedal */
            int down = ev->data2 >= 64;
            if (s->pedal && !down) release_all(s, 0);
            s->pedal = down;
        } else if (ev->data1 == 120) {         /* all sound off: fade everything out now */
            for (int i = 0; i < MAXV; i++) voice_to_ghost(s, i);
        } else if (ev->data1 == 123) {         /* all notes off */
            release_all(s, 1);
        } else if (ev->data1 == 121) {         /* reset controllers */
            if (s->pedal) release_all(s, 0);
            s->pedal = 0;
            s->bend = 0.0f;
            set_bend(s);
        }
        break;
    case RT_EV_PITCH_BEND:
        s->bend = rt_clampf(ev->value, -1.0f, 1.0f);
        if (!(s->bend == s->bend)) s->bend = 0.0f;
        set_bend(s);
        break;
    case RT_EV_ALL_NOTES_OFF:
        release_all(s, 1);
        break;
    default:
        break;
    }
}

static void synth_control(void *st, const float *p, int frames)
{
    synth_t *s = st;
    s->wave = (int)p[P_WAVE];
    if (s->wave < 0 || s->wave > RT_WAVE_SINE) s->wave = RT_WAVE_SAW;
    int nv = (int)p[P_VOICES];
    s->n_voices = nv < 1 ? 1 : (nv > MAXV ? MAXV : nv);
    for (int i = s->n_voices; i < MAXV; i++) voice_to_ghost(s, i);   /* polyphony lowered */

    rt_env_configure(&s->amp_cfg, s->sr, p[P_ATTACK], p[P_DECAY], p[P_SUSTAIN], p[P_RELEASE]);
    rt_env_configure(&s->filt_cfg, s->sr, p[P_FATTACK], p[P_FDECAY], p[P_FSUSTAIN], p[P_FRELEASE]);
    s->k = rt_svf_k(p[P_RESONANCE]);
    s->cutoff = p[P_CUTOFF];
    s->env_amount = p[P_ENV_AMOUNT];
    s->key_track = p[P_KEY_TRACK];
    s->vel_sens = p[P_VEL_SENS];

    int retune = 0;
    if (p[P_DETUNE] != s->detune) {
        s->detune = p[P_DETUNE];
        s->det_dn = exp2(-s->detune / 2400.0);
        s->det_up = exp2(s->detune / 2400.0);
        retune = 1;
    }
    if (p[P_BEND_RANGE] != s->bend_range) { s->bend_range = p[P_BEND_RANGE]; retune = 1; }
    if (retune) set_bend(s);

    if (p[P_SPREAD] != s->spread || frames == 0) {
        s->spread = p[P_SPREAD];
        for (int i = 0; i < MAXV; i++) {
            float pos = s->spread * ((i & 1) ? 1.0f : -1.0f) * (((i >> 1) & 1) ? 0.5f : 1.0f);
            s->vgl[i] = pos > 0.0f ? 1.0f - pos : 1.0f;
            s->vgr[i] = pos < 0.0f ? 1.0f + pos : 1.0f;
        }
    }
    float lvl = p[P_LEVEL] <= -96.0f ? 0.0f : rt_db_to_lin(p[P_LEVEL]), pan = p[P_PAN];
    rt_ramp_to(&s->out_l, lvl * (pan > 0.0f ? 1.0f - pan : 1.0f), frames);
    rt_ramp_to(&s->out_r, lvl * (pan < 0.0f ? 1.0f + pan : 1.0f), frames);

    for (int i = 0; i < MAXV; i++) {
        if (s->v[i].active) rt_ramp_to(&s->v[i].g, voice_g(s, &s->v[i]), frames);
        if (s->ghost[i].active) rt_ramp_to(&s->ghost[i].g, voice_g(s, &s->ghost[i]), frames);
    }
}

/* render one voice (or ghost) and add it to L/R */
static void voice_render(synth_t *s, voice_t *v, float *L, float *R, int n)
{
    const float gl = s->vgl[v->slot], gr = s->vgr[v->slot];
    const int wave = s->wave, two = s->detune > 0.0f;
    const float k = s->k, inv_fade = 1.0f / (float)s->fade_len;
    for (int i = 0; i < n; i++) {
        v->ph1 = rt_phase_wrap(v->ph1 + v->inc1);
        float o = rt_osc_wave(wave, (float)v->ph1, (float)v->inc1);
        if (two) {
            v->ph2 = rt_phase_wrap(v->ph2 + v->inc2);
            o = 0.5f * (o + rt_osc_wave(wave, (float)v->ph2, (float)v->inc2));
        } else {
            v->ph2 = v->ph1;                   /* in step, so detune can start any time */
        }
        float f = rt_svf_lp(&v->svf, o, rt_ramp_next(&v->g), k);
        float a = rt_env_tick(&v->amp, &s->amp_cfg);
        rt_env_tick(&v->filt, &s->filt_cfg);
        float y = f * a * v->vel_gain;
        if (v->fade) {
            y *= (float)v->fade * inv_fade;
            if (--v->fade == 0) v->amp.stage = RT_ENV_IDLE;
        }
        L[i] += y * gl;
        R[i] += y * gr;
        if (v->amp.stage == RT_ENV_IDLE ||
            (v->amp.stage == RT_ENV_SUSTAIN && v->amp.level == 0.0f)) {   /* silent for good */
            v->active = v->held = v->sustained = 0;
            break;
        }
    }
}

static void synth_process(void *st, const float *const *in, float *const *out, int n)
{
    synth_t *s = st;
    (void)in;
    float *L = out[0], *R = out[1];
    for (int i = 0; i < n; i++) L[i] = R[i] = 0.0f;
    for (int i = 0; i < MAXV; i++) {
        if (s->v[i].active) voice_render(s, &s->v[i], L, R, n);
        if (s->ghost[i].active) voice_render(s, &s->ghost[i], L, R, n);
    }
    for (int i = 0; i < n; i++) {
        L[i] *= rt_ramp_next(&s->out_l);
        R[i] *= rt_ramp_next(&s->out_r);
    }
}

const rt_node_class_t rt_node_synth = {
    .name = "synth",
    .doc = "polyphonic subtractive synth: band-limited oscillators, resonant low-pass, two ADSRs",
    .flags = RT_NODE_RECEIVES_NOTES, .params = params, .n_params = P_COUNT,
    .state_size = sizeof(synth_t),
    .init = synth_init, .control = synth_control, .process = synth_process, .event = synth_event,
};
