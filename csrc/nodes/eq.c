/*
 * eq.c -- five-band stereo EQ: low cut, low shelf, peak, high shelf, high cut.
 * RBJ biquads (dsp.h) run in direct form I: the state is past inputs/outputs, so
 * coefficient changes do not disturb it, and the output recursion is only one
 * multiply-add deep (faster than TDF2 here). Coefficients are recomputed in control()
 * only when a parameter moved. A band that does nothing (shelf/peak at 0 dB, low cut at its
 * minimum, high cut at its maximum) is skipped entirely and its state cleared, so
 * flat settings are a bit-exact pass-through and cost nothing.
 */
#include <string.h>
#include "../node.h"
#include "dsp.h"

enum {
    P_LOW_CUT, P_LS_FREQ, P_LS_GAIN, P_PK_FREQ, P_PK_GAIN, P_PK_Q,
    P_HS_FREQ, P_HS_GAIN, P_HIGH_CUT, P_COUNT
};

#define LOW_CUT_OFF  10.0f
#define HIGH_CUT_OFF 20000.0f
#define SHELF_Q      0.70710678

static const rt_param_info_t params[P_COUNT] = {
    { "low_cut", "Hz", LOW_CUT_OFF, 5000.0f, LOW_CUT_OFF, RT_PARAM_FLOAT, "",
      "12 dB/oct Butterworth high-pass corner (-3 dB); 10 = off" },
    { "low_shelf_freq", "Hz", 20.0f, 2000.0f, 100.0f, RT_PARAM_FLOAT, "", "low shelf corner (half gain)" },
    { "low_shelf_gain", "dB", -24.0f, 24.0f, 0.0f, RT_PARAM_FLOAT, "", "low shelf gain; 0 = off" },
    { "peak_freq", "Hz", 20.0f, 20000.0f, 1000.0f, RT_PARAM_FLOAT, "", "peak band centre" },
    { "peak_gain", "dB", -24.0f, 24.0f, 0.0f, RT_PARAM_FLOAT, "", "peak band gain at its centre; 0 = off" },
    { "peak_q", "", 0.1f, 18.0f, 1.0f, RT_PARAM_FLOAT, "", "peak band Q (higher = narrower)" },
    { "high_shelf_freq", "Hz", 500.0f, 20000.0f, 8000.0f, RT_PARAM_FLOAT, "", "high shelf corner (half gain)" },
    { "high_shelf_gain", "dB", -24.0f, 24.0f, 0.0f, RT_PARAM_FLOAT, "", "high shelf gain; 0 = off" },
    { "high_cut", "Hz", 100.0f, HIGH_CUT_OFF, HIGH_CUT_OFF, RT_PARAM_FLOAT, "",
      "12 dB/oct Butterworth low-pass corner (-3 dB); 20000 = off" },
};

enum { B_LOW_CUT, B_LOW_SHELF, B_PEAK, B_HIGH_SHELF, B_HIGH_CUT, N_BANDS };

typedef struct {
    double sr;
    float last[P_COUNT];              /* params the coefficients were made from */
    int active[N_BANDS];
    rt_biquad_coefs_t c[N_BANDS];
    float z[N_BANDS][2][4];   /* DF1: x1 x2 y1 y2 */
} eq_t;

static int eq_init(void *st, const rt_node_env_t *env, const float *p)
{
    eq_t *s = st;
    (void)p;
    s->sr = env->sample_rate;
    for (int i = 0; i < P_COUNT; i++) s->last[i] = -1e30f;   /* force the first design */
    return RT_OK;
}

static void set_band(eq_t *s, int b, int on, int kind, double f, double q, double g)
{
    if (on) rt_biquad_design(&s->c[b], kind, s->sr, f, q, g);
    else memset(s->z[b], 0, sizeof s->z[b]);   /* re-enabled bands start from rest */
    s->active[b] = on;
}

static void eq_control(void *st, const float *p, int frames)
{
    eq_t *s = st;
    (void)frames;
    if (memcmp(s->last, p, sizeof s->last) == 0) return;
    memcpy(s->last, p, sizeof s->last);
    set_band(s, B_LOW_CUT, p[P_LOW_CUT] > LOW_CUT_OFF, RT_BQ_HIGHPASS, p[P_LOW_CUT], SHELF_Q, 0);
    set_band(s, B_LOW_SHELF, p[P_LS_GAIN] != 0.0f, RT_BQ_LOWSHELF, p[P_LS_FREQ], SHELF_Q, p[P_LS_GAIN]);
    set_band(s, B_PEAK, p[P_PK_GAIN] != 0.0f, RT_BQ_PEAK, p[P_PK_FREQ], p[P_PK_Q], p[P_PK_GAIN]);
    set_band(s, B_HIGH_SHELF, p[P_HS_GAIN] != 0.0f, RT_BQ_HIGHSHELF, p[P_HS_FREQ], SHELF_Q, p[P_HS_GAIN]);
    /* a 20 kHz low-pass is not transparent near Nyquist, so "max" means off */
    set_band(s, B_HIGH_CUT, p[P_HIGH_CUT] < HIGH_CUT_OFF && p[P_HIGH_CUT] < 0.49 * s->sr,
             RT_BQ_LOWPASS, p[P_HIGH_CUT], SHELF_Q, 0);
}

static void eq_process(void *st, const float *const *in, float *const *out, int n)
{
    eq_t *s = st;
    const float *l = in[0], *r = in[1];
    /* band by band over the chunk: each band's state is still per sample, so the
     * result does not depend on how the block is chunked */
    for (int b = 0; b < N_BANDS; b++) {
        if (!s->active[b]) continue;
        const float b0 = s->c[b].b0, b1 = s->c[b].b1, b2 = s->c[b].b2, a1 = s->c[b].a1, a2 = s->c[b].a2;
        float lx1 = s->z[b][0][0], lx2 = s->z[b][0][1], ly1 = s->z[b][0][2], ly2 = s->z[b][0][3];
        float rx1 = s->z[b][1][0], rx2 = s->z[b][1][1], ry1 = s->z[b][1][2], ry2 = s->z[b][1][3];
        float *ol = out[0], *or_ = out[1];
        for (int i = 0; i < n; i++) {
            float xl = l[i], xr = r[i];
            float yl = (b0 * xl + b1 * lx1 + b2 * lx2 - a2 * ly2) - a1 * ly1;
            float yr = (b0 * xr + b1 * rx1 + b2 * rx2 - a2 * ry2) - a1 * ry1;
            lx2 = lx1; lx1 = xl; ly2 = ly1; ly1 = yl;
            rx2 = rx1; rx1 = xr; ry2 = ry1; ry1 = yr;
            ol[i] = yl; or_[i] = yr;
        }
        s->z[b][0][0] = lx1; s->z[b][0][1] = lx2; s->z[b][0][2] = ly1; s->z[b][0][3] = ly2;
        s->z[b][1][0] = rx1; s->z[b][1][1] = rx2; s->z[b][1][2] = ry1; s->z[b][1][3] = ry2;
        l = out[0]; r = out[1];
    }
    if (l == in[0]) {                          /* every band off */
        memcpy(out[0], in[0], (size_t)n * sizeof(float));
        memcpy(out[1], in[1], (size_t)n * sizeof(float));
    }
}

const rt_node_class_t rt_node_eq = {
    .name = "eq", .doc = "stereo 5-band EQ: low cut, low shelf, peak, high shelf, high cut",
    .flags = RT_NODE_TAKES_AUDIO, .params = params, .n_params = P_COUNT, .state_size = sizeof(eq_t),
    .init = eq_init, .control = eq_control, .process = eq_process,
};
