/*
 * pan.c -- stereo width then constant-power pan (sin/cos law, -3 dB per side at
 * centre for a mono source). Width works on mid/side (0 = mono, 1 = unchanged,
 * 2 = doubled side). The combined 2x2 matrix is built in control() and its four
 * coefficients ramp per sample, so pan and width moves are zipper-free.
 */
#include "../node.h"
#include "dsp.h"

enum { P_PAN, P_WIDTH, P_COUNT };

static const rt_param_info_t params[P_COUNT] = {
    { "pan", "", -1.0f, 1.0f, 0.0f, RT_PARAM_FLOAT, "", "-1 = hard left, 0 = centre (-3 dB each side), 1 = hard right" },
    { "width", "", 0.0f, 2.0f, 1.0f, RT_PARAM_FLOAT, "", "stereo width before panning: 0 = mono, 1 = unchanged" },
};

typedef struct { rt_ramp_t m[4]; } pan_t;

static void pan_control(void *st, const float *p, int frames)
{
    pan_t *s = st;
    float pm[4];
    rt_pan_matrix(p[P_PAN], pm);
    /* width on M/S: L' = a*L + b*R, R' = b*L + a*R */
    float a = 0.5f * (1.0f + p[P_WIDTH]), b = 0.5f * (1.0f - p[P_WIDTH]);
    rt_ramp_to(&s->m[0], pm[0] * a + pm[1] * b, frames);
    rt_ramp_to(&s->m[1], pm[0] * b + pm[1] * a, frames);
    rt_ramp_to(&s->m[2], pm[2] * a + pm[3] * b, frames);
    rt_ramp_to(&s->m[3], pm[2] * b + pm[3] * a, frames);
}

static void pan_process(void *st, const float *const *in, float *const *out, int n)
{
    pan_t *s = st;
    for (int i = 0; i < n; i++) {
        float l = in[0][i], r = in[1][i];
        float m0 = rt_ramp_next(&s->m[0]), m1 = rt_ramp_next(&s->m[1]);
        float m2 = rt_ramp_next(&s->m[2]), m3 = rt_ramp_next(&s->m[3]);
        out[0][i] = m0 * l + m1 * r;
        out[1][i] = m2 * l + m3 * r;
    }
}

const rt_node_class_t rt_node_pan = {
    .name = "pan", .doc = "constant-power pan with stereo width",
    .flags = RT_NODE_TAKES_AUDIO, .params = params, .n_params = P_COUNT, .state_size = sizeof(pan_t),
    .control = pan_control, .process = pan_process,
};
