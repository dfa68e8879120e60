/*
 * reverb.c -- stereo feedback-delay-network reverb (8 lines).
 *
 * Pre-delay -> 8 delay lines whose outputs go through a one-pole damping low-pass
 * and a per-line decay gain, are mixed by an 8x8 Hadamard matrix (fast transform:
 * 24 add/sub, energy preserving) and fed back with the input. Per-line gains
 * g = 10^(-3 * len / (sr * decay)) give the requested RT60 at low frequencies.
 * Left and right are injected and tapped with orthogonal sign patterns, so the two
 * outputs are decorrelated. Everything costly (pow, exp) happens in control().
 * Line lengths follow `size` in whole samples (a size sweep shifts them in steps).
 */
#include <stdlib.h>
#include <string.h>
#include "../node.h"
#include "dsp.h"

enum { P_DECAY, P_PREDELAY, P_SIZE, P_DAMPING, P_WIDTH, P_MIX, P_COUNT };

static const rt_param_info_t params[P_COUNT] = {
    { "decay", "s", 0.1f, 30.0f, 2.0f, RT_PARAM_FLOAT, "", "RT60: time for the tail to fall 60 dB (low frequencies)" },
    { "predelay", "ms", 0.0f, 250.0f, 10.0f, RT_PARAM_FLOAT, "", "delay before the reverb starts" },
    { "size", "", 0.25f, 2.0f, 1.0f, RT_PARAM_FLOAT, "", "room size: scales the delay lines (1 = 30-76 ms)" },
    { "damping", "", 0.0f, 1.0f, 0.3f, RT_PARAM_FLOAT, "", "high-frequency absorption: 0 = none, 1 = dark" },
    { "width", "", 0.0f, 1.0f, 1.0f, RT_PARAM_FLOAT, "", "stereo width of the reverb: 0 = mono, 1 = full" },
    { "mix", "", 0.0f, 1.0f, 0.3f, RT_PARAM_FLOAT, "", "dry/wet: 0 = dry only, 1 = reverb only" },
};

#define N 8
#define MAX_SIZE 2.0f
#define MAX_PREDELAY_S 0.25
/* line lengths at 48 kHz and size 1: mutually prime, 30-76 ms */
static const int base_len[N] = { 1427, 1777, 1993, 2269, 2593, 2897, 3253, 3637 };

typedef struct {
    double sr;
    float *line[N];
    float *pre[2];
    uint32_t line_mask, pre_mask, w, pw;
    int len[N];
    float coef[N], damp;       /* coef = decay gain * (1 - damp) / sqrt(8) */
    float lp[N];
    float pre_target;
    rt_ramp_t pre_d;           /* predelay in samples, per-sample ramp (fractional read) */
    rt_ramp_t wet_m, wet_s, dry;
    float last_decay, last_size, last_damping;
} reverb_t;

static void reverb_destroy(void *st)
{
    reverb_t *s = st;
    for (int i = 0; i < N; i++) { free(s->line[i]); s->line[i] = NULL; }
    for (int c = 0; c < 2; c++) { free(s->pre[c]); s->pre[c] = NULL; }
}

static uint32_t pow2_at_least(double x)
{
    uint32_t n = 1;
    while (n < (uint32_t)x) n <<= 1;
    return n;
}

static int reverb_init(void *st, const rt_node_env_t *env, const float *p)
{
    reverb_t *s = st;
    (void)p;
    s->sr = env->sample_rate;
    uint32_t ls = pow2_at_least(base_len[N - 1] * MAX_SIZE * s->sr / 48000.0 + 2);
    uint32_t ps = pow2_at_least(MAX_PREDELAY_S * s->sr + 4);
    int ok = 1;
    for (int i = 0; i < N; i++) ok &= (s->line[i] = calloc(ls, sizeof(float))) != NULL;
    for (int c = 0; c < 2; c++) ok &= (s->pre[c] = calloc(ps, sizeof(float))) != NULL;
    if (!ok) { reverb_destroy(s); return RT_ERR_NOMEM; }
    s->line_mask = ls - 1;
    s->pre_mask = ps - 1;
    s->last_decay = s->last_size = s->last_damping = -1.0f;
    return RT_OK;
}

static void reverb_control(void *st, const float *p, int frames)
{
    reverb_t *s = st;
    if (p[P_DECAY] != s->last_decay || p[P_SIZE] != s->last_size || p[P_DAMPING] != s->last_damping) {
        s->last_decay = p[P_DECAY]; s->last_size = p[P_SIZE]; s->last_damping = p[P_DAMPING];
        double scale = p[P_SIZE] * s->sr / 48000.0;
        for (int i = 0; i < N; i++) {
            int L = (int)(base_len[i] * scale + 0.5);
            if (L < RT_CONTROL_FRAMES) L = RT_CONTROL_FRAMES;   /* see reverb_process */
            s->len[i] = L;
            s->coef[i] = (float)pow(10.0, -3.0 * L / (s->sr * p[P_DECAY]));
        }
        /* damping: one-pole corner from 20 kHz (0) down to 1 kHz (1), sample-rate aware;
         * the pole fades in below 0.05 so 0 is exactly no filtering */
        double d = p[P_DAMPING], fc = 20000.0 * pow(0.05, d);
        float pole = (float)exp(-2.0 * M_PI * fc / s->sr);
        s->damp = pole * (d < 0.05 ? (float)(d * 20.0) : 1.0f);
        for (int i = 0; i < N; i++) s->coef[i] *= (1.0f - s->damp) * 0.35355339f;
    }
    float pre = rt_clampf((float)(p[P_PREDELAY] * 0.001 * s->sr), 0.0f, (float)(MAX_PREDELAY_S * s->sr));
    rt_ramp_to(&s->pre_d, pre, frames);
    /* wet is mid/side: width scales the side; 0.5 keeps the wet level near the dry level */
    float mix = p[P_MIX];
    rt_ramp_to(&s->wet_m, 0.5f * mix, frames);
    rt_ramp_to(&s->wet_s, 0.5f * mix * p[P_WIDTH], frames);
    rt_ramp_to(&s->dry, 1.0f - mix, frames);
}

/* copy n samples between a ring buffer and a flat array, wrapping at the end */
static inline void ring_read(const float *ring, uint32_t mask, uint32_t pos, float *dst, int n)
{
    uint32_t first = mask + 1 - pos;
    if ((uint32_t)n <= first) { memcpy(dst, ring + pos, (size_t)n * sizeof(float)); return; }
    memcpy(dst, ring + pos, first * sizeof(float));
    memcpy(dst + first, ring, ((uint32_t)n - first) * sizeof(float));
}
static inline void ring_write(float *ring, uint32_t mask, uint32_t pos, const float *src, int n)
{
    uint32_t first = mask + 1 - pos;
    if ((uint32_t)n <= first) { memcpy(ring + pos, src, (size_t)n * sizeof(float)); return; }
    memcpy(ring + pos, src, first * sizeof(float));
    memcpy(ring, src + first, ((uint32_t)n - first) * sizeof(float));
}

/* Every line is at least RT_CONTROL_FRAMES long and n <= RT_CONTROL_FRAMES, so the n
 * samples read from the lines in this call were all written before it: read them
 * into flat arrays, run the network sample by sample on those, write back. Still
 * per-sample state, so the output does not depend on the chunking. */
static void reverb_process(void *st, const float *const *in, float *const *out, int n)
{
    reverb_t *s = st;
    const uint32_t lm = s->line_mask, pm = s->pre_mask;
    const float damp = s->damp;
    uint32_t w = s->w, pw = s->pw;
    float *pl = s->pre[0], *pr = s->pre[1];
    float rd[N][RT_CONTROL_FRAMES], wr[N][RT_CONTROL_FRAMES];
    for (int k = 0; k < N; k++) ring_read(s->line[k], lm, (w - (uint32_t)s->len[k]) & lm, rd[k], n);
    float c0 = s->coef[0], c1 = s->coef[1], c2 = s->coef[2], c3 = s->coef[3];
    float c4 = s->coef[4], c5 = s->coef[5], c6 = s->coef[6], c7 = s->coef[7];
    float v0 = s->lp[0], v1 = s->lp[1], v2 = s->lp[2], v3 = s->lp[3];
    float v4 = s->lp[4], v5 = s->lp[5], v6 = s->lp[6], v7 = s->lp[7];
    rt_ramp_t pre_d = s->pre_d, wet_m = s->wet_m, wet_s = s->wet_s, dry = s->dry;
    for (int i = 0; i < n; i++) {
        float xl = in[0][i], xr = in[1][i];
        /* pre-delay, linear interpolation (d >= 0; at d == 0 the input passes straight) */
        pl[pw] = xl; pr[pw] = xr;
        float d = rt_ramp_next(&pre_d);
        uint32_t di = (uint32_t)d;
        float fr = d - (float)di;
        uint32_t a = (pw - di) & pm, b = (pw - di - 1) & pm;
        float il = 0.5f * (pl[a] + fr * (pl[b] - pl[a]));
        float ir = 0.5f * (pr[a] + fr * (pr[b] - pr[a]));
        pw = (pw + 1) & pm;

        /* damping low-pass with the decay gain (and 1/sqrt(8)) folded into its input */
        v0 = c0 * rd[0][i] + damp * v0; v1 = c1 * rd[1][i] + damp * v1;
        v2 = c2 * rd[2][i] + damp * v2; v3 = c3 * rd[3][i] + damp * v3;
        v4 = c4 * rd[4][i] + damp * v4; v5 = c5 * rd[5][i] + damp * v5;
        v6 = c6 * rd[6][i] + damp * v6; v7 = c7 * rd[7][i] + damp * v7;
        /* feedback: 8x8 Walsh-Hadamard transform (orthonormal with the 1/sqrt(8)) */
        float a0 = v0 + v1, a1 = v0 - v1, a2 = v2 + v3, a3 = v2 - v3;
        float a4 = v4 + v5, a5 = v4 - v5, a6 = v6 + v7, a7 = v6 - v7;
        float b0 = a0 + a2, b1 = a1 + a3, b2 = a0 - a2, b3 = a1 - a3;
        float b4 = a4 + a6, b5 = a5 + a7, b6 = a4 - a6, b7 = a5 - a7;
        /* input: left and right with orthogonal sign patterns (+++-+++-) and
         * (++----++), written with sums p and differences q */
        float p = il + ir, q = il - ir;
        wr[0][i] = (b0 + b4) + p;   wr[1][i] = (b1 + b5) + p;
        wr[2][i] = (b2 + b6) + q;   wr[3][i] = (b3 + b7) - p;
        wr[4][i] = (b0 - b4) + q;   wr[5][i] = (b1 - b5) + q;
        wr[6][i] = (b2 - b6) + p;   wr[7][i] = (b3 - b7) - q;

        /* output taps: two more orthogonal sign patterns over the lines. Neither these nor
         * the input patterns are Hadamard rows (the matrix would fold them onto single
         * lines); chosen by simulation for low L/R correlation with mono and one-sided
         * input. Wet in mid/side so width scales the side. */
        float ol = (v0 - v1) + (v2 + v3) + (v5 - v4) + (v6 + v7);
        float orr = (v0 + v1) - (v2 - v3) - (v4 + v5) + (v7 - v6);
        float m = ol + orr, sd = ol - orr;
        float wm = rt_ramp_next(&wet_m), ws = rt_ramp_next(&wet_s), dr = rt_ramp_next(&dry);
        out[0][i] = dr * xl + wm * m + ws * sd;
        out[1][i] = dr * xr + wm * m - ws * sd;
    }
    for (int k = 0; k < N; k++) ring_write(s->line[k], lm, w, wr[k], n);
    s->lp[0] = v0; s->lp[1] = v1; s->lp[2] = v2; s->lp[3] = v3;
    s->lp[4] = v4; s->lp[5] = v5; s->lp[6] = v6; s->lp[7] = v7;
    s->pre_d = pre_d; s->wet_m = wet_m; s->wet_s = wet_s; s->dry = dry;
    s->w = (w + (uint32_t)n) & lm; s->pw = pw;
}

const rt_node_class_t rt_node_reverb = {
    .name = "reverb", .doc = "stereo 8-line FDN reverb: RT60 decay, pre-delay, size, damping, width",
    .flags = RT_NODE_TAKES_AUDIO, .params = params, .n_params = P_COUNT, .state_size = sizeof(reverb_t),
    .init = reverb_init, .destroy = reverb_destroy, .control = reverb_control, .process = reverb_process,
};
