/*
 * tone.c -- test tone / tuning reference for sound checks: a pure sine with a
 * level in dBFS. The phase is a double-precision accumulator (in cycles), so the
 * frequency stays exact over hours; the level is ramped per sample, so switching
 * the tone on or off never clicks. While the tone is silent the phase is held at 0,
 * so every switch-on starts at the same phase.
 */
#include "../node.h"
#include "dsp.h"

enum { P_FREQ, P_LEVEL, P_ENABLED, P_COUNT };

static const rt_param_info_t params[P_COUNT] = {
    { "freq", "Hz", 20.0f, 20000.0f, 1000.0f, RT_PARAM_FLOAT, "", "frequency of the sine" },
    { "level", "dB", -96.0f, 0.0f, -12.0f, RT_PARAM_FLOAT, "", "peak level in dBFS (-96 = silence)" },
    { "enabled", "", 0.0f, 1.0f, 1.0f, RT_PARAM_BOOL, "", "0 = silent (ramped)" },
};

typedef struct {
    double sr;
    double phase;   /* cycles, in [0, 1) */
    double inc;     /* cycles per sample, set at control rate */
    rt_ramp_t g;
} tone_t;

static int tone_init(void *st, const rt_node_env_t *env, const float *p)
{
    tone_t *s = st;
    (void)p;
    s->sr = env->sample_rate;
    return RT_OK;
}

static void tone_control(void *st, const float *p, int frames)
{
    tone_t *s = st;
    double f = p[P_FREQ];
    if (f > 0.49 * s->sr) f = 0.49 * s->sr;          /* never alias above Nyquist */
    s->inc = f / s->sr;
    float target = p[P_ENABLED] < 0.5f || p[P_LEVEL] <= -96.0f ? 0.0f : rt_db_to_lin(p[P_LEVEL]);
    /* the last ramp ended at exactly 0 here: restarting the phase cannot click, and
     * every switch-on then starts at phase 0 (sin = 0, gain ramping up from 0) */
    if (s->g.target == 0.0f) s->phase = 0.0;
    rt_ramp_to(&s->g, target, frames);
}

static void tone_process(void *st, const float *const *in, float *const *out, int n)
{
    tone_t *s = st;
    (void)in;
    double ph = s->phase;
    for (int i = 0; i < n; i++) {
        float y = (float)sin(2.0 * M_PI * ph) * rt_ramp_next(&s->g);
        out[0][i] = y;
        out[1][i] = y;
        ph += s->inc;
        if (ph >= 1.0) ph -= 1.0;
    }
    s->phase = ph;
}

const rt_node_class_t rt_node_tone = {
    .name = "tone", .doc = "test tone / tuning reference: sine at freq Hz and level dBFS",
    .flags = 0, .params = params, .n_params = P_COUNT, .state_size = sizeof(tone_t),
    .init = tone_init, .control = tone_control, .process = tone_process,
};
