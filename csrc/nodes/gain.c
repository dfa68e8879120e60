/* gain.c -- level in dB with a per-sample ramp (no zipper noise), optional mute. */
#include "../node.h"
#include "dsp.h"

enum { P_GAIN, P_MUTE, P_COUNT };

static const rt_param_info_t params[P_COUNT] = {
    { "gain", "dB", -96.0f, 24.0f, 0.0f, RT_PARAM_FLOAT, "", "level change" },
    { "mute", "", 0.0f, 1.0f, 0.0f, RT_PARAM_BOOL, "", "1 = silence (ramped)" },
};

typedef struct { rt_ramp_t g; } gain_t;

static void gain_control(void *st, const float *p, int frames)
{
    gain_t *s = st;
    float target = p[P_MUTE] >= 0.5f ? 0.0f : (p[P_GAIN] <= -96.0f ? 0.0f : rt_db_to_lin(p[P_GAIN]));
    rt_ramp_to(&s->g, target, frames);
}

static void gain_process(void *st, const float *const *in, float *const *out, int n)
{
    gain_t *s = st;
    for (int i = 0; i < n; i++) {
        float g = rt_ramp_next(&s->g);
        out[0][i] = in[0][i] * g;
        out[1][i] = in[1][i] * g;
    }
}

const rt_node_class_t rt_node_gain = {
    .name = "gain", .doc = "level in dB, ramped per sample",
    .flags = RT_NODE_TAKES_AUDIO, .params = params, .n_params = P_COUNT, .state_size = sizeof(gain_t),
    .control = gain_control, .process = gain_process,
};
