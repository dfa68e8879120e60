/*
 * voice.h -- building blocks shared by the synth and bass instruments:
 * band-limited oscillators, a sample-exact ADSR and a TPT state-variable low-pass.
 * Everything is inline arithmetic on caller-owned state (real-time safe).
 */
#ifndef RT_VOICE_H
#define RT_VOICE_H

#include "dsp.h"

/* ---- oscillators ---------------------------------------------------------------
 * Phases are double accumulators in [0,1) (pitch stays exact over hours); the wave
 * shape itself is evaluated in float. Saw and square use PolyBLEP, the triangle
 * PolyBLAMP (the integrated residual, for its slope corners). */
enum { RT_WAVE_SAW, RT_WAVE_SQUARE, RT_WAVE_TRIANGLE, RT_WAVE_SINE };

#define RT_OSC_MAX_INC 0.45   /* highest oscillator frequency, as a fraction of the rate */

/* phase at which a freshly started oscillator begins, so every wave (square aside)
 * starts at a zero crossing going up; the first sample is taken one step later */
static inline double rt_osc_start_phase(int wave)
{
    switch (wave) {
    case RT_WAVE_SAW: return 0.5;
    case RT_WAVE_TRIANGLE: return 0.25;
    default: return 0.0;
    }
}

/* PolyBLAMP residual for a slope change: the integral of rt_polyblep's residual,
 * scaled for a change of slope of 2 per sample */
static inline float rt_polyblamp(float t, float dt)
{
    if (t < dt) { float x = 1.0f - t / dt; return x * x * x * (1.0f / 3.0f); }
    if (t > 1.0f - dt) { float x = 1.0f + (t - 1.0f) / dt; return x * x * x * (1.0f / 3.0f); }
    return 0.0f;
}

/* one sample of `wave` at phase t advancing dt per sample; range about -1..1 */
static inline float rt_osc_wave(int wave, float t, float dt)
{
    float t2 = t + 0.5f;
    if (t2 >= 1.0f) t2 -= 1.0f;
    switch (wave) {
    case RT_WAVE_SAW:
        return 2.0f * t - 1.0f - rt_polyblep(t, dt);
    case RT_WAVE_SQUARE:
        return (t < 0.5f ? 1.0f : -1.0f) + rt_polyblep(t, dt) - rt_polyblep(t2, dt);
    case RT_WAVE_TRIANGLE:
        /* corners: slope +8 -> at t=0, -8 at t=0.5 (per cycle), i.e. 8*dt per sample */
        return 1.0f - 4.0f * fabsf(t - 0.5f) + 4.0f * dt * (rt_polyblamp(t, dt) - rt_polyblamp(t2, dt));
    default:
        return sinf((float)(2.0 * M_PI) * t);
    }
}

/* phase increment (cycles per sample) for a frequency, clamped below Nyquist */
static inline double rt_osc_inc(double hz, double sr)
{
    double inc = hz / sr;
    return inc < 0.0 ? 0.0 : (inc > RT_OSC_MAX_INC ? RT_OSC_MAX_INC : inc);
}

static inline double rt_phase_wrap(double p) { return p >= 1.0 ? p - 1.0 : p; }

/* ---- ADSR with sample-exact stage lengths ---------------------------------------
 * For a gate-on at sample k (the event is handled before sample k is rendered):
 *   attack  linear from the current level (0 for a fresh voice) to 1, reached exactly at
 *           sample k + A, A = round(attack_ms * sr / 1000); sample k itself is already
 *           non-zero (1/(A+1) of the way), so a note sounds from its own sample;
 *   decay   exponential-shaped to the sustain level, landing on it exactly at k + A + D;
 *   release exponential-shaped to 0 from wherever it starts, landing exactly on 0 at
 *           sample k_off + R (k_off = the gate-off sample), then the envelope is idle.
 * The exponential parts are exp(-CURVE*x) renormalized so that they land exactly on
 * their target at the end of the stage (no endless tail, no jump). */
enum { RT_ENV_IDLE, RT_ENV_ATTACK, RT_ENV_DECAY, RT_ENV_SUSTAIN, RT_ENV_RELEASE };

#define RT_ENV_CURVE 5.0
#define RT_ENV_FLOOR 0.006737946999085467          /* exp(-RT_ENV_CURVE) */
#define RT_ENV_NORM  (1.0 / (1.0 - RT_ENV_FLOOR))

typedef struct {
    int attack, decay, release;     /* stage lengths in samples (see above) */
    float sustain;                  /* 0..1 */
    double decay_mul, release_mul;  /* per-sample factors of the exponential shapes */
} rt_env_cfg_t;

typedef struct {
    int stage, count, len;
    float from, level;
    double y, mul;                  /* exponential shape: y = mul^count */
} rt_env_t;

static inline int rt_ms_to_samples(double ms, double sr)
{
    double n = floor(ms * sr * 0.001 + 0.5);
    return n < 0.0 ? 0 : (n > 1e9 ? 1000000000 : (int)n);
}

static inline double rt_env_mul_for(int len) { return len > 0 ? exp(-RT_ENV_CURVE / (double)len) : 0.0; }

/* [audio-thread] (two exp() per call: call it from control(), not per sample) */
static inline void rt_env_configure(rt_env_cfg_t *c, double sr, float attack_ms, float decay_ms,
                                    float sustain, float release_ms)
{
    int d = rt_ms_to_samples(decay_ms, sr), r = rt_ms_to_samples(release_ms, sr) + 1;
    c->attack = rt_ms_to_samples(attack_ms, sr);
    c->sustain = rt_clampf(sustain, 0.0f, 1.0f);
    if (d != c->decay || c->decay_mul == 0.0) { c->decay = d; c->decay_mul = rt_env_mul_for(d); }
    if (r != c->release || c->release_mul == 0.0) { c->release = r; c->release_mul = rt_env_mul_for(r); }
}

/* gate on; retrigger = 1 starts the attack from the current level (no click) */
static inline void rt_env_gate_on(rt_env_t *e, const rt_env_cfg_t *c, int retrigger)
{
    e->from = retrigger ? e->level : 0.0f;
    if (!retrigger) e->level = 0.0f;
    e->stage = RT_ENV_ATTACK;
    e->count = 0;
    e->len = c->attack + 1;
}

static inline void rt_env_gate_off(rt_env_t *e, const rt_env_cfg_t *c)
{
    if (e->stage == RT_ENV_IDLE || e->stage == RT_ENV_RELEASE) return;
    e->stage = RT_ENV_RELEASE;
    e->from = e->level;
    e->count = 0;
    e->len = c->release;
    e->y = 1.0;
    e->mul = c->release_mul;
}

/* the level for the next sample */
static inline float rt_env_tick(rt_env_t *e, const rt_env_cfg_t *c)
{
    switch (e->stage) {
    case RT_ENV_ATTACK:
        if (++e->count < e->len) {
            e->level = e->from + (1.0f - e->from) * ((float)e->count / (float)e->len);
            break;
        }
        e->level = 1.0f;
        e->count = 0;
        e->len = c->decay;
        e->y = 1.0;
        e->mul = c->decay_mul;
        e->stage = e->len > 0 ? RT_ENV_DECAY : RT_ENV_SUSTAIN;
        break;
    case RT_ENV_DECAY:
        if (++e->count < e->len) {
            e->y *= e->mul;
            e->level = c->sustain + (1.0f - c->sustain) * (float)((e->y - RT_ENV_FLOOR) * RT_ENV_NORM);
        } else {
            e->level = c->sustain;
            e->stage = RT_ENV_SUSTAIN;
        }
        break;
    case RT_ENV_SUSTAIN:
        e->level = c->sustain;
        break;
    case RT_ENV_RELEASE:
        if (++e->count < e->len) {
            e->y *= e->mul;
            e->level = e->from * (float)((e->y - RT_ENV_FLOOR) * RT_ENV_NORM);
        } else {
            e->level = 0.0f;
            e->stage = RT_ENV_IDLE;
        }
        break;
    default:
        e->level = 0.0f;
    }
    return e->level;
}

/* ---- TPT state-variable low-pass (Zavalishin / Simper) --------------------------
 * g = tan(pi fc / sr), k = 1/Q. Stable for any g > 0, k > 0, also when g moves every
 * sample; bilinear with pre-warping, so |H(fc)| = Q exactly (-3.01 dB at Q = 1/sqrt2). */
typedef struct { float ic1, ic2; } rt_svf_t;

#define RT_SVF_Q_MIN 0.70710678   /* resonance 0: Butterworth */
#define RT_SVF_Q_MAX 20.0         /* resonance 1: +26 dB at the cutoff */

static inline float rt_svf_lp(rt_svf_t *s, float x, float g, float k)
{
    float a1 = 1.0f / (1.0f + g * (g + k)), a2 = g * a1, a3 = g * a2;
    float v3 = x - s->ic2;
    float v1 = a1 * s->ic1 + a2 * v3;
    float v2 = s->ic2 + a2 * s->ic1 + a3 * v3;
    s->ic1 = 2.0f * v1 - s->ic1;
    s->ic2 = 2.0f * v2 - s->ic2;
    return v2;
}

/* cutoff (Hz, clamped to 10 Hz .. min(20 kHz, 0.45 sr)) -> g */
static inline float rt_svf_g(double hz, double sr)
{
    double hi = 0.45 * sr < 20000.0 ? 0.45 * sr : 20000.0;
    if (!(hz > 10.0)) hz = 10.0;
    if (hz > hi) hz = hi;
    return (float)tan(M_PI * hz / sr);
}

/* resonance 0..1 -> k = 1/Q, Q exponential from 0.7071 to RT_SVF_Q_MAX */
static inline float rt_svf_k(float resonance)
{
    double r = rt_clampf(resonance, 0.0f, 1.0f);
    return (float)(1.0 / (RT_SVF_Q_MIN * pow(RT_SVF_Q_MAX / RT_SVF_Q_MIN, r)));
}

/* ---- velocity --------------------------------------------------------------------
 * sens 0: every velocity plays at full level; sens 1: gain (v/127)^2 (about -12 dB at 64). */
static inline float rt_velocity_gain(int velocity, float sens)
{
    float v = (float)velocity * (1.0f / 127.0f);
    return 1.0f + rt_clampf(sens, 0.0f, 1.0f) * (v * v - 1.0f);
}

#endif
