/* input.c -- the engine's audio input (a sound card's inputs, or --input WAV offline). */
#include "../node.h"
#include "dsp.h"

enum { P_GAIN, P_COUNT };

static const rt_param_info_t params[P_COUNT] = {
    { "gain", "dB", -96.0f, 24.0f, 0.0f, RT_PARAM_FLOAT, "", "input level" },
};

typedef struct { rt_ramp_t g; } input_t;

static void input_control(void *st, const float *p, int frames)
{
    input_t *s = st;
    rt_ramp_to(&s->g, p[P_GAIN] <= -96.0f ? 0.0f : rt_db_to_lin(p[P_GAIN]), frames);
}

static void input_process(void *st, const float *const *in, float *const *out, int n)
{
    input_t *s = st;
    for (int i = 0; i < n; i++) {
        float g = rt_ramp_next(&s->g);
        out[0][i] = in[0][i] * g;
        out[1][i] = in[1][i] * g;
    }
}

const rt_node_class_t rt_node_input = {
    .name = "input", .doc = "the engine's stereo audio input",
    .flags = RT_NODE_ENGINE_INPUT, .params = params, .n_params = P_COUNT, .state_size = sizeof(input_t),
    .control = input_control, .process = input_process,
};
