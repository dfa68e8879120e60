/*
 * sampler.c -- plays sample zones (WAV data handed over through add_sample).
 *
 * Zones: the first zone with note_lo <= note <= note_hi plays; no zone = silence.
 * Pitch: 2^((note - root + tune + fine/100 + bend * bend_range) / 12) * zone_sr / engine_sr,
 * read with 4-point cubic Hermite (Catmull-Rom) interpolation, which returns the
 * stored samples exactly at integer positions (a sample at its root note and rate is
 * reproduced bit-exactly).
 * Envelope: linear attack (`attack` ms) from 0 to 1, linear release (`release` ms) from
 * the current level to 0; with attack 0 a note starts at full level on its event sample.
 * One-shot zones play to their end; note-off is ignored unless `oneshot_release` is on.
 * Looped zones loop loop_start..loop_end for as long as they sound (also during the
 * release) and stop when the release ends.
 * Mono zones play on both channels; stereo zones keep L/R.
 * Polyphony: `voices` sounding notes at most; the oldest one is stolen with a 2 ms fade
 * (fading voices use spare slots). A note played again releases its previous voice.
 * CC64 sustain holds released notes; CC123 / all-notes-off release everything;
 * CC120 (all sound off) fades everything out in 2 ms.
 * Velocity: gain = 1 - velocity_sens * (1 - velocity/127).
 */
#include <stdlib.h>
#include "../node.h"
#include "dsp.h"

enum { P_LEVEL, P_TUNE, P_FINE, P_ATTACK, P_RELEASE, P_VELOCITY_SENS, P_BEND_RANGE, P_VOICES,
       P_ONESHOT_RELEASE, P_COUNT };

#define LEVEL_MIN (-60.0f)
#define MAX_VOICES 64
#define SPARE_SLOTS 16          /* for voices fading out after being stolen */
#define MAX_SLOTS (MAX_VOICES + SPARE_SLOTS)
#define MAX_ZONES 128
#define STEAL_S 0.002

static const rt_param_info_t params[P_COUNT] = {
    { "level", "dB", LEVEL_MIN, 12.0f, 0.0f, RT_PARAM_FLOAT, "", "output level (-60 = off)" },
    { "tune", "semitones", -48.0f, 48.0f, 0.0f, RT_PARAM_FLOAT, "", "transpose" },
    { "fine", "cents", -100.0f, 100.0f, 0.0f, RT_PARAM_FLOAT, "", "fine tuning" },
    { "attack", "ms", 0.0f, 10000.0f, 0.0f, RT_PARAM_FLOAT, "", "linear fade-in of each note" },
    { "release", "ms", 0.0f, 10000.0f, 100.0f, RT_PARAM_FLOAT, "", "linear fade-out after note-off" },
    { "velocity_sens", "", 0.0f, 1.0f, 1.0f, RT_PARAM_FLOAT, "", "0 = velocity ignored, 1 = gain = velocity/127" },
    { "bend_range", "semitones", 0.0f, 24.0f, 2.0f, RT_PARAM_FLOAT, "", "pitch bend at full deflection" },
    { "voices", "", 1.0f, 64.0f, 16.0f, RT_PARAM_INT, "", "polyphony (the oldest note is stolen)" },
    { "oneshot_release", "", 0.0f, 1.0f, 0.0f, RT_PARAM_BOOL, "", "1 = note-off releases one-shot zones too" },
};

enum { V_OFF, V_ATTACK, V_SUSTAIN, V_RELEASE, V_FADE };

typedef struct {
    int state, note, zone, pedal_held;
    int wrapped;            /* looped once: indices before loop_start wrap to the loop end */
    int left;               /* samples left in the attack / release ramp */
    uint64_t age;
    double pos, inc;
    float env, env_step, gain;
} voice_t;

typedef struct {
    double sr;
    rt_sample_zone_t zones[MAX_ZONES];
    int n_zones;
    voice_t v[MAX_SLOTS];
    uint64_t next_age;
    rt_ramp_t level;
    float transpose, bend, bend_range, vel_sens, attack_ms, release_ms;
    int max_voices, oneshot_release, pedal;
} sampler_t;

static int sampler_init(void *st, const rt_node_env_t *env, const float *p)
{
    sampler_t *s = st;
    (void)p;
    s->sr = env->sample_rate;
    return RT_OK;
}

static void sampler_destroy(void *st)
{
    sampler_t *s = st;
    for (int i = 0; i < s->n_zones; i++) free(s->zones[i].data);
    s->n_zones = 0;
}

/* [main-thread] the zone table lives in the state, so nothing is allocated here */
static int sampler_add_sample(void *st, rt_sample_zone_t *z)
{
    sampler_t *s = st;
    if (s->n_zones >= MAX_ZONES) return RT_ERR_FULL;
    s->zones[s->n_zones++] = *z;
    return RT_OK;
}

static double voice_inc(const sampler_t *s, const voice_t *v)
{
    const rt_sample_zone_t *z = &s->zones[v->zone];
    double semis = v->note - z->root + s->transpose + s->bend * s->bend_range;
    return pow(2.0, semis / 12.0) * z->sample_rate / s->sr;
}

static void sampler_control(void *st, const float *p, int frames)
{
    sampler_t *s = st;
    rt_ramp_to(&s->level, p[P_LEVEL] <= LEVEL_MIN ? 0.0f : rt_db_to_lin(p[P_LEVEL]), frames);
    float transpose = p[P_TUNE] + 0.01f * p[P_FINE], range = p[P_BEND_RANGE];
    int changed = transpose != s->transpose || range != s->bend_range;
    s->transpose = transpose;
    s->bend_range = range;
    s->vel_sens = p[P_VELOCITY_SENS];
    s->attack_ms = p[P_ATTACK];
    s->release_ms = p[P_RELEASE];
    s->max_voices = (int)p[P_VOICES];
    s->oneshot_release = p[P_ONESHOT_RELEASE] >= 0.5f;
    if (changed)
        for (int i = 0; i < MAX_SLOTS; i++)
            if (s->v[i].state != V_OFF) s->v[i].inc = voice_inc(s, &s->v[i]);
}

/* linear ramp from the current level to 0 in exactly `seconds` (counted, so it ends on 0) */
static void fade_out(voice_t *v, float seconds, double sr)
{
    int n = (int)(seconds * sr + 0.5);
    if (n < 1 || v->env <= 0.0f) { v->state = V_OFF; return; }
    v->env_step = v->env / (float)n;
    v->left = n;
}

static void release_voice(sampler_t *s, voice_t *v)
{
    v->state = V_RELEASE;
    v->pedal_held = 0;
    fade_out(v, s->release_ms * 0.001f, s->sr);
}

static void steal_voice(sampler_t *s, voice_t *v)
{
    v->state = V_FADE;
    fade_out(v, (float)STEAL_S, s->sr);
}

static void note_on(sampler_t *s, int note, int vel)
{
    int zone = -1;
    for (int i = 0; i < s->n_zones; i++)
        if (s->zones[i].note_lo <= note && note <= s->zones[i].note_hi) { zone = i; break; }
    if (zone < 0) return;

    /* the same note again: its previous voice releases; count the rest */
    int sounding = 0;
    for (int i = 0; i < MAX_SLOTS; i++) {
        voice_t *v = &s->v[i];
        if ((v->state == V_ATTACK || v->state == V_SUSTAIN) && v->note == note) release_voice(s, v);
        if (v->state != V_OFF && v->state != V_FADE) sounding++;
    }
    while (sounding >= s->max_voices) {           /* steal the oldest */
        voice_t *old = NULL;
        for (int i = 0; i < MAX_SLOTS; i++) {
            voice_t *v = &s->v[i];
            if (v->state != V_OFF && v->state != V_FADE && (!old || v->age < old->age)) old = v;
        }
        if (!old) break;
        steal_voice(s, old);
        sounding--;
    }
    voice_t *v = NULL;
    for (int i = 0; i < MAX_SLOTS && !v; i++) if (s->v[i].state == V_OFF) v = &s->v[i];
    if (!v) {           /* every slot fading (only under floods of notes): reuse the quietest */
        for (int i = 0; i < MAX_SLOTS; i++) if (!v || s->v[i].env < v->env) v = &s->v[i];
    }
    v->note = note;
    v->zone = zone;
    v->age = s->next_age++;
    v->pos = 0.0;
    v->wrapped = 0;
    v->pedal_held = 0;
    v->gain = 1.0f - s->vel_sens * (1.0f - (float)vel / 127.0f);
    v->inc = voice_inc(s, v);
    int atk = (int)(s->attack_ms * 0.001 * s->sr + 0.5);
    if (atk < 1) { v->state = V_SUSTAIN; v->env = 1.0f; v->env_step = 0.0f; }
    else { v->state = V_ATTACK; v->env = 0.0f; v->env_step = 1.0f / (float)atk; v->left = atk; }
}

static void note_off(sampler_t *s, int note)
{
    for (int i = 0; i < MAX_SLOTS; i++) {
        voice_t *v = &s->v[i];
        if (v->note != note || (v->state != V_ATTACK && v->state != V_SUSTAIN) || v->pedal_held) continue;
        if (!s->zones[v->zone].loop && !s->oneshot_release) continue;   /* one-shots play out */
        if (s->pedal) v->pedal_held = 1;
        else release_voice(s, v);
    }
}

static void sampler_event(void *st, const rt_event_t *ev)
{
    sampler_t *s = st;
    switch (ev->type) {
    case RT_EV_NOTE_ON:
        if (ev->data2 == 0) note_off(s, ev->data1);
        else note_on(s, ev->data1, ev->data2);
        break;
    case RT_EV_NOTE_OFF:
        note_off(s, ev->data1);
        break;
    case RT_EV_PITCH_BEND:
        s->bend = rt_clampf(ev->value, -1.0f, 1.0f);
        for (int i = 0; i < MAX_SLOTS; i++)
            if (s->v[i].state != V_OFF) s->v[i].inc = voice_inc(s, &s->v[i]);
        break;
    case RT_EV_CC:
        if (ev->data1 == 64) {
            s->pedal = ev->data2 >= 64;
            if (!s->pedal)
                for (int i = 0; i < MAX_SLOTS; i++)
                    if (s->v[i].pedal_held && s->v[i].state != V_OFF && s->v[i].state != V_FADE)
                        release_voice(s, &s->v[i]);
        } else if (ev->data1 == 120) {
            for (int i = 0; i < MAX_SLOTS; i++) if (s->v[i].state != V_OFF) steal_voice(s, &s->v[i]);
        } else if (ev->data1 == 123) {
            goto all_off;
        }
        break;
    case RT_EV_ALL_NOTES_OFF:
    all_off:
        for (int i = 0; i < MAX_SLOTS; i++)
            if (s->v[i].state == V_ATTACK || s->v[i].state == V_SUSTAIN) release_voice(s, &s->v[i]);
        break;
    default:
        break;
    }
}

/* sample j of channel c, with the loop wrapped in and silence outside the data */
static inline float zone_at(const rt_sample_zone_t *z, int64_t j, int c, int wrapped)
{
    if (z->loop) {
        int64_t span = z->loop_end - z->loop_start;
        if (j >= z->loop_end) j = z->loop_start + (j - z->loop_end) % span;
        else if (wrapped && j < z->loop_start) j = z->loop_end - 1 - (z->loop_start - 1 - j) % span;
    }
    if (j < 0) return 0.0f;
    if (j >= z->frames) return 0.0f;
    return z->data[j * z->channels + c];
}

static inline float hermite(const rt_sample_zone_t *z, int64_t i, float f, int c, int w)
{
    float xm1 = zone_at(z, i - 1, c, w), x0 = zone_at(z, i, c, w);
    float x1 = zone_at(z, i + 1, c, w), x2 = zone_at(z, i + 2, c, w);
    float c1 = 0.5f * (x1 - xm1);
    float c2 = xm1 - 2.5f * x0 + 2.0f * x1 - 0.5f * x2;
    float c3 = 0.5f * (x2 - xm1) + 1.5f * (x0 - x1);
    return ((c3 * f + c2) * f + c1) * f + x0;
}

static void sampler_process(void *st, const float *const *in, float *const *out, int n)
{
    sampler_t *s = st;
    (void)in;
    for (int i = 0; i < n; i++) out[0][i] = out[1][i] = 0.0f;
    for (int k = 0; k < MAX_SLOTS; k++) {
        voice_t *v = &s->v[k];
        if (v->state == V_OFF) continue;
        const rt_sample_zone_t *z = &s->zones[v->zone];
        const double span = (double)(z->loop_end - z->loop_start);
        for (int i = 0; i < n; i++) {
            int64_t ip = (int64_t)v->pos;
            if (!z->loop && ip >= z->frames) { v->state = V_OFF; break; }   /* one-shot ended */
            float f = (float)(v->pos - (double)ip);
            float g = v->env * v->gain;
            float l = hermite(z, ip, f, 0, v->wrapped);
            float r = z->channels == 2 ? hermite(z, ip, f, 1, v->wrapped) : l;
            out[0][i] += g * l;
            out[1][i] += g * r;
            v->pos += v->inc;
            if (z->loop && v->pos >= (double)z->loop_end) {
                v->pos -= span;
                v->wrapped = 1;
                if (v->pos >= (double)z->loop_end) v->pos = fmod(v->pos - z->loop_start, span) + z->loop_start;
            }
            if (v->state == V_ATTACK) {
                v->env += v->env_step;
                if (--v->left <= 0) { v->env = 1.0f; v->state = V_SUSTAIN; }
            } else if (v->state == V_RELEASE || v->state == V_FADE) {
                v->env -= v->env_step;
                if (--v->left <= 0 || v->env <= 0.0f) { v->env = 0.0f; v->state = V_OFF; break; }
            }
        }
    }
    for (int i = 0; i < n; i++) {
        float g = rt_ramp_next(&s->level);
        out[0][i] *= g;
        out[1][i] *= g;
    }
}

const rt_node_class_t rt_node_sampler = {
    .name = "sampler", .doc = "polyphonic sample player (zones by note range, loops, cubic interpolation)",
    .flags = RT_NODE_RECEIVES_NOTES | RT_NODE_TAKES_SAMPLES, .params = params, .n_params = P_COUNT,
    .state_size = sizeof(sampler_t), .init = sampler_init, .destroy = sampler_destroy,
    .control = sampler_control, .process = sampler_process, .event = sampler_event,
    .add_sample = sampler_add_sample,
};
