/*
 * dsp.h -- small inline DSP helpers shared by the built-in nodes.
 * Everything here is real-time safe (pure arithmetic on caller-owned state).
 */
#ifndef RT_DSP_H
#define RT_DSP_H

#include <math.h>
#include <stdint.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static inline float rt_clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }
static inline float rt_db_to_lin(float db) { return powf(10.0f, db * 0.05f); }
static inline float rt_lin_to_db(float lin) { return lin > 1e-12f ? 20.0f * log10f(lin) : -240.0f; }
/* MIDI note (69 = A4) plus fractional semitones -> Hz */
static inline double rt_note_hz(double note) { return 440.0 * pow(2.0, (note - 69.0) / 12.0); }
/* one-pole coefficient reaching 1-1/e of a step in `seconds` at `rate` updates/s */
static inline float rt_onepole_coef(double seconds, double rate)
{
    if (seconds <= 0.0) return 1.0f;
    return (float)(1.0 - exp(-1.0 / (seconds * rate)));
}

/* xorshift32: deterministic noise, seeded per node */
static inline uint32_t rt_rand_u32(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9E3779B9u;
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    *s = x;
    return x;
}
/* uniform in [-1, 1) */
static inline float rt_rand_bipolar(uint32_t *s)
{
    return (float)((int32_t)rt_rand_u32(s)) * (1.0f / 2147483648.0f);
}

/* PolyBLEP residual for a phase in [0,1) advancing by dt per sample */
static inline float rt_polyblep(float t, float dt)
{
    if (t < dt) { t /= dt; return t + t - t * t - 1.0f; }
    if (t > 1.0f - dt) { t = (t - 1.0f) / dt; return t * t + t + t + 1.0f; }
    return 0.0f;
}

/* ---- RBJ biquad (transposed direct form II), coefficients normalized by a0 ---- */
typedef struct { float b0, b1, b2, a1, a2; } rt_biquad_coefs_t;
typedef struct { float z1, z2; } rt_biquad_state_t;

static inline float rt_biquad_tick(const rt_biquad_coefs_t *c, rt_biquad_state_t *s, float x)
{
    float y = c->b0 * x + s->z1;
    s->z1 = c->b1 * x - c->a1 * y + s->z2;
    s->z2 = c->b2 * x - c->a2 * y;
    return y;
}

enum { RT_BQ_LOWPASS, RT_BQ_HIGHPASS, RT_BQ_PEAK, RT_BQ_LOWSHELF, RT_BQ_HIGHSHELF };

/* Audio EQ Cookbook (R. Bristow-Johnson). freq Hz, q, gain dB (peak / shelves). */
static inline void rt_biquad_design(rt_biquad_coefs_t *c, int kind, double sr, double freq,
                                    double q, double gain_db)
{
    double f = freq < 1.0 ? 1.0 : (freq > 0.49 * sr ? 0.49 * sr : freq);
    double w0 = 2.0 * M_PI * f / sr, cw = cos(w0), sw = sin(w0);
    double alpha = sw / (2.0 * (q > 1e-3 ? q : 1e-3));
    double A = pow(10.0, gain_db / 40.0);
    double b0 = 1, b1 = 0, b2 = 0, a0 = 1, a1 = 0, a2 = 0;
    switch (kind) {
    case RT_BQ_LOWPASS:
        b0 = (1 - cw) / 2; b1 = 1 - cw; b2 = (1 - cw) / 2; a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha; break;
    case RT_BQ_HIGHPASS:
        b0 = (1 + cw) / 2; b1 = -(1 + cw); b2 = (1 + cw) / 2; a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha; break;
    case RT_BQ_PEAK:
        b0 = 1 + alpha * A; b1 = -2 * cw; b2 = 1 - alpha * A; a0 = 1 + alpha / A; a1 = -2 * cw; a2 = 1 - alpha / A; break;
    case RT_BQ_LOWSHELF: {
        double sq = 2 * sqrt(A) * alpha;
        b0 = A * ((A + 1) - (A - 1) * cw + sq); b1 = 2 * A * ((A - 1) - (A + 1) * cw);
        b2 = A * ((A + 1) - (A - 1) * cw - sq); a0 = (A + 1) + (A - 1) * cw + sq;
        a1 = -2 * ((A - 1) + (A + 1) * cw); a2 = (A + 1) + (A - 1) * cw - sq; break; }
    case RT_BQ_HIGHSHELF: {
        double sq = 2 * sqrt(A) * alpha;
        b0 = A * ((A + 1) + (A - 1) * cw + sq); b1 = -2 * A * ((A - 1) + (A + 1) * cw);
        b2 = A * ((A + 1) + (A - 1) * cw - sq); a0 = (A + 1) - (A - 1) * cw + sq;
        a1 = 2 * ((A - 1) - (A + 1) * cw); a2 = (A + 1) - (A - 1) * cw - sq; break; }
    }
    c->b0 = (float)(b0 / a0); c->b1 = (float)(b1 / a0); c->b2 = (float)(b2 / a0);
    c->a1 = (float)(a1 / a0); c->a2 = (float)(a2 / a0);
}

/* ---- linear per-sample ramp for gains: set at control(), stepped in process() ----
 * rt_ramp_to(r, x, frames) starts a ramp from the previous target (so rounding never
 * accumulates) to x over `frames` samples; frames == 0 jumps (graph preparation). */
typedef struct { float value, step, target; } rt_ramp_t;
static inline void rt_ramp_to(rt_ramp_t *r, float target, int frames)
{
    if (frames <= 0) { r->value = r->target = target; r->step = 0.0f; return; }
    r->value = r->target;
    r->target = target;
    r->step = (target - r->value) / (float)frames;
}
static inline float rt_ramp_next(rt_ramp_t *r) { float v = r->value; r->value += r->step; return v; }

/* ---- effects helpers ---- */

/* log2(x) for x > 0 normal (callers clamp, e.g. fmaxf(x, 1e-10f)); max error ~2e-4
 * (0.001 dB as 20*log10). Cheap enough for per-sample level detection. */
static inline float rt_fast_log2(float x)
{
    union { float f; uint32_t i; } u = { x };
    float e = (float)((int)((u.i >> 23) & 255) - 127);
    u.i = (u.i & 0x007FFFFFu) | 0x3F800000u;              /* mantissa in [1, 2) */
    float t = u.f - 1.0f;
    return e + t * (1.4385479f + t * (-0.6780895f + t * (0.3236463f + t * -0.0842947f)));
}
/* 2^x for x in about [-120, 120]; relative error ~3e-6, exact at integers (2^0 == 1) */
static inline float rt_fast_exp2(float x)
{
    x = rt_clampf(x, -126.0f, 126.0f);
    int e = (int)(x + 127.0f);                 /* floor(x) + 127 without calling floorf */
    float f = x - (float)(e - 127);
    float p = 1.0f + f * (0.6930321f + f * (0.2413798f + f * (0.0520324f + f * 0.0135557f)));
    union { float f; uint32_t i; } u;
    u.i = (uint32_t)e << 23;
    return p * u.f;
}

/* Constant-power stereo panner as a 2x2 matrix: outL = m[0]*L + m[1]*R,
 * outR = m[2]*L + m[3]*R. pan -1..1 (sin/cos law, -3 dB per side at centre for a
 * mono source); moving off-centre folds the far channel into the near one, so at
 * hard left the output is (L+R)/2 on the left only (a mono source keeps 0 dB there). */
static inline void rt_pan_matrix(float pan, float m[4])
{
    pan = rt_clampf(pan, -1.0f, 1.0f);
    float th = (pan + 1.0f) * (float)(M_PI / 4.0);
    float gl = cosf(th), gr = sinf(th);
    if (pan <= -1.0f) { gl = 1.0f; gr = 0.0f; }          /* exact silence, not cos(pi/2) */
    if (pan >= 1.0f) { gl = 0.0f; gr = 1.0f; }
    float a = pan < 0.0f ? -pan * 0.5f : 0.0f;           /* share of R folded into L */
    float b = pan > 0.0f ? pan * 0.5f : 0.0f;            /* share of L folded into R */
    m[0] = gl * (1.0f - a); m[1] = gl * a;
    m[2] = gr * b;          m[3] = gr * (1.0f - b);
}

#endif
