/*
 * mixer.c -- sums up to RT_MAX_INPUTS stereo inputs (connection order) with
 * per-input gain and pan for inputs 1-8 (9-16 pass at unity), then a master gain.
 * Pan uses the constant-power law of the pan node scaled by sqrt(2): 0 dB at centre,
 * +3 dB at the sides for a mono source (same power everywhere). Each input's 2x2
 * matrix (gain * pan * master) ramps per sample: fader moves are zipper-free.
 */
#include "../node.h"
#include "dsp.h"

#define N_CH 8
enum { P_GAIN_1 = 0, P_PAN_1 = N_CH, P_MASTER = 2 * N_CH, P_COUNT };

#define GAIN(i) { "gain_" #i, "dB", -96.0f, 12.0f, 0.0f, RT_PARAM_FLOAT, "", "input " #i " level; -96 = off" }
#define PAN(i) { "pan_" #i, "", -1.0f, 1.0f, 0.0f, RT_PARAM_FLOAT, "", "input " #i " pan: -1 left, 0 centre, 1 right" }
static const rt_param_info_t params[P_COUNT] = {
    GAIN(1), GAIN(2), GAIN(3), GAIN(4), GAIN(5), GAIN(6), GAIN(7), GAIN(8),
    PAN(1), PAN(2), PAN(3), PAN(4), PAN(5), PAN(6), PAN(7), PAN(8),
    { "master", "dB", -96.0f, 12.0f, 0.0f, RT_PARAM_FLOAT, "", "output level; -96 = off" },
};

typedef struct {
    rt_ramp_t m[N_CH][4];      /* per-input matrix, master included */
    rt_ramp_t master;          /* inputs 9-16 */
} mixer_t;

static float db_gain(float db) { return db <= -96.0f ? 0.0f : rt_db_to_lin(db); }

static void mixer_control(void *st, const float *p, int frames)
{
    mixer_t *s = st;
    float master = db_gain(p[P_MASTER]);
    for (int k = 0; k < N_CH; k++) {
        float pm[4];
        rt_pan_matrix(p[P_PAN_1 + k], pm);
        float g = db_gain(p[P_GAIN_1 + k]) * master * (float)M_SQRT2;
        for (int j = 0; j < 4; j++) rt_ramp_to(&s->m[k][j], pm[j] * g, frames);
    }
    rt_ramp_to(&s->master, master, frames);
}

static void mixer_process_multi(void *st, const float *const *in, int n_in, float *const *out, int n)
{
    mixer_t *s = st;
    float *ol = out[0], *or_ = out[1];
    for (int i = 0; i < n; i++) ol[i] = or_[i] = 0.0f;
    /* ramps of unconnected inputs need not advance: rt_ramp_to() restarts every
     * ramp from its previous target at the next grid point */
    for (int k = 0; k < N_CH && k < n_in; k++) {
        rt_ramp_t *m = s->m[k];
        const float *l = in[2 * k], *r = in[2 * k + 1];
        for (int i = 0; i < n; i++) {
            float a = rt_ramp_next(&m[0]), b = rt_ramp_next(&m[1]);
            float c = rt_ramp_next(&m[2]), d = rt_ramp_next(&m[3]);
            ol[i] += a * l[i] + b * r[i];
            or_[i] += c * l[i] + d * r[i];
        }
    }
    /* inputs 9-16: the same master ramp for each (a copy), advanced once */
    for (int k = N_CH; k < n_in; k++) {
        const float *l = in[2 * k], *r = in[2 * k + 1];
        rt_ramp_t mg = s->master;
        for (int i = 0; i < n; i++) {
            float g = rt_ramp_next(&mg);
            ol[i] += g * l[i];
            or_[i] += g * r[i];
        }
        if (k == n_in - 1) s->master = mg;
    }
}

const rt_node_class_t rt_node_mixer = {
    .name = "mixer", .doc = "sums up to 16 stereo inputs: gain and pan for inputs 1-8, master gain",
    .flags = RT_NODE_TAKES_AUDIO | RT_NODE_MULTI_INPUT, .params = params, .n_params = P_COUNT,
    .state_size = sizeof(mixer_t), .control = mixer_control, .process_multi = mixer_process_multi,
};
