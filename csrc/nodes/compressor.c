/*
 * compressor.c -- feed-forward stereo-linked compressor, gain computed in dB.
 *
 * Detector: per-sample level of the louder channel (peak), or a 10 ms mean square
 * of it (rms). Gain computer: soft-knee static curve (threshold, ratio, knee) giving
 * the gain reduction in dB. Ballistics: the "smooth decoupled" peak detector of
 * Giannoulis, Massberg & Reiss (JAES 2012) applied to the gain reduction -- release
 * holds the peaks of the reduction, attack smooths it -- so a steady tone above the
 * threshold sits on the static curve with little ripple.
 * log2/exp2 are fast polynomial versions (dsp.h): no libm call per sample.
 */
#include "../node.h"
#include "dsp.h"

enum { P_THRESHOLD, P_RATIO, P_ATTACK, P_RELEASE, P_KNEE, P_MAKEUP, P_MIX, P_DETECTOR, P_COUNT };

static const rt_param_info_t params[P_COUNT] = {
    { "threshold", "dB", -60.0f, 0.0f, -18.0f, RT_PARAM_FLOAT, "", "level where compression starts" },
    { "ratio", "", 1.0f, 20.0f, 4.0f, RT_PARAM_FLOAT, "", "input dB over threshold per output dB" },
    { "attack", "ms", 0.1f, 200.0f, 10.0f, RT_PARAM_FLOAT, "", "gain reduction rise time (1-1/e)" },
    { "release", "ms", 5.0f, 2000.0f, 100.0f, RT_PARAM_FLOAT, "", "gain reduction fall time (1-1/e)" },
    { "knee", "dB", 0.0f, 24.0f, 0.0f, RT_PARAM_FLOAT, "", "soft knee width around the threshold" },
    { "makeup", "dB", 0.0f, 24.0f, 0.0f, RT_PARAM_FLOAT, "", "gain after compression" },
    { "mix", "", 0.0f, 1.0f, 1.0f, RT_PARAM_FLOAT, "", "1 = fully compressed, < 1 = parallel compression" },
    { "detector", "", 0.0f, 1.0f, 0.0f, RT_PARAM_ENUM, "peak|rms", "level measured: sample peak or 10 ms RMS" },
};

#define RMS_SECONDS 0.010f
#define FLOOR_LIN   1e-10f      /* -200 dB: keeps log2 away from zero/denormals */
#define DB_PER_LOG2 6.0205999f  /* 20*log10(2) */

typedef struct {
    double sr;
    /* from control() */
    float thr, slope, half_knee, inv_2knee, att, rel, rms_coef;
    int rms;
    rt_ramp_t wet, dry;         /* makeup*mix and 1-mix, ramped per sample */
    /* per-sample state */
    float ms, red_peak, red;    /* mean square, held reduction, smoothed reduction (dB >= 0) */
} comp_t;

static int comp_init(void *st, const rt_node_env_t *env, const float *p)
{
    comp_t *s = st;
    (void)p;
    s->sr = env->sample_rate;
    s->rms_coef = rt_onepole_coef(RMS_SECONDS, s->sr);
    return RT_OK;
}

static void comp_control(void *st, const float *p, int frames)
{
    comp_t *s = st;
    s->thr = p[P_THRESHOLD];
    s->slope = 1.0f - 1.0f / p[P_RATIO];
    s->half_knee = 0.5f * p[P_KNEE];
    s->inv_2knee = p[P_KNEE] > 1e-3f ? 0.5f / p[P_KNEE] : 0.0f;
    /* pole of a one-pole smoother reaching 1-1/e in the given time */
    s->att = 1.0f - rt_onepole_coef(p[P_ATTACK] * 0.001, s->sr);
    s->rel = 1.0f - rt_onepole_coef(p[P_RELEASE] * 0.001, s->sr);
    s->rms = p[P_DETECTOR] >= 0.5f;
    float mix = p[P_MIX];
    rt_ramp_to(&s->wet, mix * rt_db_to_lin(p[P_MAKEUP]), frames);
    rt_ramp_to(&s->dry, 1.0f - mix, frames);
}

static inline float maxf(float a, float b) { return a > b ? a : b; }   /* maxss, no libm */
static inline float minf(float a, float b) { return a < b ? a : b; }

/* static curve: gain reduction in dB (>= 0) for a level in dB. Branch-free: above the
 * knee the reduction is slope*over; in the knee the quadratic blend, which is never
 * below slope*over there (their difference is (over - knee/2)^2 / (2 knee)). */
static inline float reduction(float level_db, float thr, float slope, float hk, float inv_2knee)
{
    float over = level_db - thr;
    float k = minf(maxf(over + hk, 0.0f), 2.0f * hk);
    return slope * maxf(over, k * k * inv_2knee);
}

static void comp_process(void *st, const float *const *in, float *const *out, int n)
{
    comp_t *s = st;
    const float att = s->att, rel = s->rel, rc = s->rms_coef;
    float ms = s->ms, rp = s->red_peak, red = s->red;
    float lev[RT_CONTROL_FRAMES];
    /* level in log2 units: peak, or mean square (half the log2 of it) */
    if (s->rms) {
        for (int i = 0; i < n; i++) {
            float l = in[0][i], r = in[1][i];
            ms += rc * (maxf(l * l, r * r) - ms);
            lev[i] = 0.5f * rt_fast_log2(maxf(ms, FLOOR_LIN * FLOOR_LIN));
        }
    } else {
        for (int i = 0; i < n; i++)
            lev[i] = rt_fast_log2(maxf(maxf(fabsf(in[0][i]), fabsf(in[1][i])), FLOOR_LIN));
    }
    rt_ramp_t wet = s->wet, dry = s->dry;
    const float rel1 = 1.0f - rel, att1 = 1.0f - att;
    /* locals: stores to out[] could alias the state, forcing reloads every sample */
    const float thr = s->thr, slope = s->slope, hk = s->half_knee, ik = s->inv_2knee;
    for (int i = 0; i < n; i++) {
        float x = reduction(DB_PER_LOG2 * lev[i], thr, slope, hk, ik);
        /* written so each recursion is one multiply-add deep */
        rp = maxf(x, rel * rp + rel1 * x);         /* instant rise, release fall */
        red = att * red + att1 * rp;               /* attack smoothing */
        float g = rt_fast_exp2(red * (-1.0f / DB_PER_LOG2));
        float k = rt_ramp_next(&wet) * g + rt_ramp_next(&dry);
        out[0][i] = in[0][i] * k;
        out[1][i] = in[1][i] * k;
    }
    s->ms = ms; s->red_peak = rp; s->red = red;
    s->wet = wet; s->dry = dry;
}

const rt_node_class_t rt_node_compressor = {
    .name = "compressor", .doc = "feed-forward stereo-linked compressor (peak/RMS, soft knee, parallel mix)",
    .flags = RT_NODE_TAKES_AUDIO, .params = params, .n_params = P_COUNT, .state_size = sizeof(comp_t),
    .init = comp_init, .control = comp_control, .process = comp_process,
};
