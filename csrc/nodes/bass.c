/*
 * bass.c -- monophonic bass synth: band-limited main oscillator plus a sub-oscillator an
 * octave down, resonant TPT low-pass with a decaying filter envelope, amp ADSR, glide.
 *
 * Last-note priority over a note stack: releasing the sounding note falls back to the
 * most recent note still held. A new note while the voice still sounds never restarts
 * the oscillators (no phase jump) and retriggers the envelopes from their current level
 * (no click); with `legato` on, a note played while another is held changes only the
 * pitch. Glide is linear in pitch and takes exactly round(glide * sr / 1000) samples.
 * Building blocks (oscillators, ADSR, filter) are shared with the synth in voice.h.
 */
#include "../node.h"
#include "voice.h"

#define FADE_SECONDS 0.003   /* velocity changes and all-sound-off */

enum {
    P_WAVE, P_SUB_LEVEL, P_SUB_WAVE, P_GLIDE, P_LEGATO,
    P_ATTACK, P_DECAY, P_SUSTAIN, P_RELEASE,
    P_CUTOFF, P_RESONANCE, P_ENV_AMOUNT, P_FENV_DECAY,
    P_VEL_SENS, P_BEND_RANGE, P_LEVEL,
    P_COUNT
};

static const rt_param_info_t params[P_COUNT] = {
    { "wave", "", 0, 2, 0, RT_PARAM_ENUM, "saw|square|sine", "main oscillator waveform (band-limited)" },
    { "sub_level", "", 0, 1, 0.5f, RT_PARAM_FLOAT, "", "level of the sub-oscillator one octave down (linear)" },
    { "sub_wave", "", 0, 1, 0, RT_PARAM_ENUM, "square|sine", "sub-oscillator waveform" },
    { "glide", "ms", 0, 2000, 0, RT_PARAM_FLOAT, "", "portamento time between notes, linear in pitch; 0 = none" },
    { "legato", "", 0, 1, 0, RT_PARAM_BOOL, "", "1 = notes played while another is held do not retrigger the envelopes" },
    { "attack", "ms", 0, 5000, 2, RT_PARAM_FLOAT, "", "amp (and filter) attack, exact to the sample" },
    { "decay", "ms", 0, 5000, 300, RT_PARAM_FLOAT, "", "amp decay to the sustain level" },
    { "sustain", "", 0, 1, 0.8f, RT_PARAM_FLOAT, "", "amp sustain level (linear gain)" },
    { "release", "ms", 1, 5000, 80, RT_PARAM_FLOAT, "", "amp release after the last note-off" },
    { "cutoff", "Hz", 20, 20000, 1200, RT_PARAM_FLOAT, "", "low-pass cutoff (-3 dB at resonance 0)" },
    { "resonance", "", 0, 1, 0.2f, RT_PARAM_FLOAT, "", "filter resonance: Q from 0.707 (0) to 20 (1)" },
    { "env_amount", "octaves", -4, 8, 2, RT_PARAM_FLOAT, "", "how far the filter envelope moves the cutoff" },
    { "fenv_decay", "ms", 1, 5000, 250, RT_PARAM_FLOAT, "", "filter envelope decay (to 0; attack = amp attack)" },
    { "velocity_sens", "", 0, 1, 0.5f, RT_PARAM_FLOAT, "", "0 = velocity ignored, 1 = gain (vel/127)^2" },
    { "bend_range", "semitones", 0, 24, 2, RT_PARAM_FLOAT, "", "pitch bend at full deflection" },
    { "level", "dB", -96, 12, -6, RT_PARAM_FLOAT, "", "output level (-96 = silent)" },
};

static const int wave_map[3] = { RT_WAVE_SAW, RT_WAVE_SQUARE, RT_WAVE_SINE };

typedef struct {
    double sr;
    double ph, sub_ph;              /* phases, cycles in [0,1) */
    double pitch_inc;               /* gliding note frequency / sr, without bend */
    double target_inc, glide_mul;
    int glide_left, glide_len;
    double inc;                     /* pitch_inc * bend, clamped */
    double bend_ratio;
    float bend, bend_range;
    rt_env_t amp, filt;
    rt_env_cfg_t amp_cfg, filt_cfg;
    rt_svf_t svf;
    rt_ramp_t g, level;
    float k, cutoff, env_amount, vel_sens, sub_level;
    int wave, sub_wave, legato, fade_len;
    float vel_gain, vel_target, vel_step;
    int vel_left;
    uint8_t stack[128], svel[128], deferred[128];
    int depth, pedal, note, active;
} bass_t;

static void update_inc(bass_t *b)
{
    double inc = b->pitch_inc * b->bend_ratio;
    b->inc = inc > RT_OSC_MAX_INC ? RT_OSC_MAX_INC : inc;
}

static float bass_g(const bass_t *b)
{
    return rt_svf_g(b->cutoff * exp2(b->env_amount * b->filt.level), b->sr);
}

static int bass_init(void *st, const rt_node_env_t *env, const float *p)
{
    bass_t *b = st;
    (void)p;
    b->sr = env->sample_rate;
    b->fade_len = (int)(FADE_SECONDS * env->sample_rate + 0.5);
    if (b->fade_len < 1) b->fade_len = 1;
    b->bend_ratio = 1.0;
    return RT_OK;
}

/* start or move to `note`; retrigger = restart the envelopes (from their level) */
static void play(bass_t *b, int note, int vel, int retrigger)
{
    double inc = rt_note_hz(note) / b->sr;
    float vg = rt_velocity_gain(vel, b->vel_sens);
    if (!b->active) {
        b->ph = rt_osc_start_phase(b->wave);
        b->sub_ph = 0.0;
        b->svf.ic1 = b->svf.ic2 = 0.0f;
        b->pitch_inc = inc;
        b->glide_left = 0;
        rt_env_gate_on(&b->amp, &b->amp_cfg, 0);
        rt_env_gate_on(&b->filt, &b->filt_cfg, 0);
        b->g.value = b->g.target = bass_g(b);
        b->g.step = 0.0f;
        b->vel_gain = b->vel_target = vg;
        b->vel_left = 0;
        b->active = 1;
    } else {
        if (b->glide_len > 0 && inc != b->pitch_inc) {
            b->target_inc = inc;
            b->glide_mul = pow(inc / b->pitch_inc, 1.0 / b->glide_len);
            b->glide_left = b->glide_len;
        } else {
            b->pitch_inc = inc;
            b->glide_left = 0;
        }
        if (retrigger) {
            rt_env_gate_on(&b->amp, &b->amp_cfg, 1);
            rt_env_gate_on(&b->filt, &b->filt_cfg, 1);
        }
        if (vg != b->vel_gain) {               /* ramp, a jump would click */
            b->vel_target = vg;
            b->vel_left = b->fade_len;
            b->vel_step = (vg - b->vel_gain) / (float)b->fade_len;
        }
    }
    b->note = note;
    update_inc(b);
}

static void gate_off(bass_t *b)
{
    rt_env_gate_off(&b->amp, &b->amp_cfg);
    rt_env_gate_off(&b->filt, &b->filt_cfg);
}

static int stack_find(const bass_t *b, int note)
{
    for (int i = 0; i < b->depth; i++) if (b->stack[i] == note) return i;
    return -1;
}

static void stack_remove(bass_t *b, int note)
{
    int i = stack_find(b, note);
    if (i < 0) return;
    for (; i < b->depth - 1; i++) b->stack[i] = b->stack[i + 1];
    b->depth--;
}

/* after notes left the stack: fall back to the newest held note, or release */
static void follow_top(bass_t *b, int old_top)
{
    if (b->depth == 0) { gate_off(b); return; }
    int top = b->stack[b->depth - 1];
    if (top != old_top) play(b, top, b->svel[top], !b->legato);
}

static void note_on(bass_t *b, int note, int vel)
{
    int gate = b->depth > 0;
    stack_remove(b, note);
    b->stack[b->depth++] = (uint8_t)note;
    b->svel[note] = (uint8_t)vel;
    b->deferred[note] = 0;
    play(b, note, vel, !(b->legato && gate));
}

static void note_off(bass_t *b, int note)
{
    if (stack_find(b, note) < 0) return;
    if (b->pedal) { b->deferred[note] = 1; return; }
    int old_top = b->stack[b->depth - 1];
    stack_remove(b, note);
    follow_top(b, old_top);
}

static void pedal_up(bass_t *b)
{
    b->pedal = 0;
    if (b->depth == 0) return;
    int old_top = b->stack[b->depth - 1], j = 0;
    for (int i = 0; i < b->depth; i++) {
        int n = b->stack[i];
        if (b->deferred[n]) b->deferred[n] = 0;
        else b->stack[j++] = (uint8_t)n;
    }
    b->depth = j;
    follow_top(b, old_top);
}

static void clear_notes(bass_t *b)
{
    for (int i = 0; i < b->depth; i++) b->deferred[b->stack[i]] = 0;
    b->depth = 0;
}

static void set_bend(bass_t *b)
{
    b->bend_ratio = exp2(b->bend * b->bend_range * (1.0 / 12.0));
    update_inc(b);
}

static void bass_event(void *st, const rt_event_t *ev)
{
    bass_t *b = st;
    switch (ev->type) {
    case RT_EV_NOTE_ON:
        if (ev->data2 == 0) note_off(b, ev->data1 & 127);
        else note_on(b, ev->data1 & 127, ev->data2 > 127 ? 127 : ev->data2);
        break;
    case RT_EV_NOTE_OFF:
        note_off(b, ev->data1 & 127);
        break;
    case RT_EV_CC:
        if (ev->data1 == 64) {
            if (ev->data2 >= 64) b->pedal = 1;
            else if (b->pedal) pedal_up(b);
        } else if (ev->data1 == 123) {
            clear_notes(b);
            gate_off(b);
        } else if (ev->data1 == 120) {         /* all sound off: 3 ms release */
            clear_notes(b);
            rt_env_cfg_t quick = b->amp_cfg;
            quick.release = b->fade_len;
            quick.release_mul = rt_env_mul_for(b->fade_len);
            if (b->amp.stage == RT_ENV_RELEASE) b->amp.stage = RT_ENV_SUSTAIN;   /* restart it short */
            rt_env_gate_off(&b->amp, &quick);
            rt_env_gate_off(&b->filt, &b->filt_cfg);
        } else if (ev->data1 == 121) {
            if (b->pedal) pedal_up(b);
            b->bend = 0.0f;
            set_bend(b);
        }
        break;
    case RT_EV_PITCH_BEND:
        b->bend = rt_clampf(ev->value, -1.0f, 1.0f);
        if (!(b->bend == b->bend)) b->bend = 0.0f;
        set_bend(b);
        break;
    case RT_EV_ALL_NOTES_OFF:
        clear_notes(b);
        gate_off(b);
        break;
    default:
        break;
    }
}

static void bass_control(void *st, const float *p, int frames)
{
    bass_t *b = st;
    int w = (int)p[P_WAVE];
    b->wave = wave_map[w < 0 ? 0 : (w > 2 ? 2 : w)];
    b->sub_wave = p[P_SUB_WAVE] >= 0.5f ? RT_WAVE_SINE : RT_WAVE_SQUARE;
    b->sub_level = p[P_SUB_LEVEL];
    b->glide_len = rt_ms_to_samples(p[P_GLIDE], b->sr);
    b->legato = p[P_LEGATO] >= 0.5f;
    rt_env_configure(&b->amp_cfg, b->sr, p[P_ATTACK], p[P_DECAY], p[P_SUSTAIN], p[P_RELEASE]);
    rt_env_configure(&b->filt_cfg, b->sr, p[P_ATTACK], p[P_FENV_DECAY], 0.0f, p[P_RELEASE]);
    b->k = rt_svf_k(p[P_RESONANCE]);
    b->cutoff = p[P_CUTOFF];
    b->env_amount = p[P_ENV_AMOUNT];
    b->vel_sens = p[P_VEL_SENS];
    if (p[P_BEND_RANGE] != b->bend_range) { b->bend_range = p[P_BEND_RANGE]; set_bend(b); }
    rt_ramp_to(&b->level, p[P_LEVEL] <= -96.0f ? 0.0f : rt_db_to_lin(p[P_LEVEL]), frames);
    if (b->active) rt_ramp_to(&b->g, bass_g(b), frames);
}

static void bass_process(void *st, const float *const *in, float *const *out, int n)
{
    bass_t *b = st;
    (void)in;
    float *L = out[0], *R = out[1];
    const int wave = b->wave, sub_wave = b->sub_wave;
    const float sub_level = b->sub_level, k = b->k;
    for (int i = 0; i < n; i++) {
        float lvl = rt_ramp_next(&b->level);   /* stepped every sample, sounding or not */
        if (!b->active) { L[i] = R[i] = 0.0f; continue; }
        if (b->glide_left) {
            if (--b->glide_left == 0) b->pitch_inc = b->target_inc;   /* lands exactly */
            else b->pitch_inc *= b->glide_mul;
            update_inc(b);
        }
        const double inc = b->inc, sub_inc = 0.5 * inc;
        b->ph = rt_phase_wrap(b->ph + inc);
        b->sub_ph = rt_phase_wrap(b->sub_ph + sub_inc);
        float o = rt_osc_wave(wave, (float)b->ph, (float)inc);
        if (sub_level > 0.0f) o += sub_level * rt_osc_wave(sub_wave, (float)b->sub_ph, (float)sub_inc);
        float f = rt_svf_lp(&b->svf, o, rt_ramp_next(&b->g), k);
        float a = rt_env_tick(&b->amp, &b->amp_cfg);
        rt_env_tick(&b->filt, &b->filt_cfg);
        if (b->vel_left) {
            b->vel_gain += b->vel_step;
            if (--b->vel_left == 0) b->vel_gain = b->vel_target;
        }
        float y = f * a * b->vel_gain * lvl;
        L[i] = R[i] = y;
        if (b->amp.stage == RT_ENV_IDLE) b->active = 0;
    }
}

const rt_node_class_t rt_node_bass = {
    .name = "bass",
    .doc = "monophonic bass: oscillator + sub-octave, resonant low-pass, glide, last-note priority",
    .flags = RT_NODE_RECEIVES_NOTES, .params = params, .n_params = P_COUNT,
    .state_size = sizeof(bass_t),
    .init = bass_init, .control = bass_control, .process = bass_process, .event = bass_event,
};
