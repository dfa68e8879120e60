/*
 * limiter.c -- zero-latency peak limiter; the master bus runs one by default.
 * Instant attack (the gain drops to exactly what the loudest channel needs, so no
 * sample leaves above the ceiling), exponential release. Below the ceiling it is a
 * bit-exact pass-through (gain stays exactly 1). No lookahead: live players hear
 * no added latency.
 */
#include "../node.h"
#include "dsp.h"

enum { P_CEILING, P_RELEASE, P_ENABLED, P_COUNT };

static const rt_param_info_t params[P_COUNT] = {
    { "ceiling", "dB", -24.0f, 0.0f, -0.3f, RT_PARAM_FLOAT, "", "highest output peak" },
    { "release", "ms", 1.0f, 2000.0f, 80.0f, RT_PARAM_FLOAT, "", "time for the gain to recover (1-1/e)" },
    { "enabled", "", 0.0f, 1.0f, 1.0f, RT_PARAM_BOOL, "", "0 = bypass" },
};

typedef struct {
    double sr;
    float ceiling, release_coef, gain;
    int enabled;
} limiter_t;

static int limiter_init(void *st, const rt_node_env_t *env, const float *p)
{
    limiter_t *s = st;
    (void)p;
    s->sr = env->sample_rate;
    s->gain = 1.0f;
    return RT_OK;
}

static void limiter_control(void *st, const float *p, int frames)
{
    limiter_t *s = st;
    (void)frames;
    s->ceiling = rt_db_to_lin(p[P_CEILING]);
    s->release_coef = rt_onepole_coef(p[P_RELEASE] * 0.001, s->sr);
    s->enabled = p[P_ENABLED] >= 0.5f;
}

static void limiter_process(void *st, const float *const *in, float *const *out, int n)
{
    limiter_t *s = st;
    const float c = s->ceiling;
    float g = s->gain;
    for (int i = 0; i < n; i++) {
        float l = in[0][i], r = in[1][i];
        if (!s->enabled) { out[0][i] = l; out[1][i] = r; continue; }
        float pk = fmaxf(fabsf(l), fabsf(r));
        float need = pk > c ? c / pk : 1.0f;
        if (need < g) g = need;                             /* instant attack */
        else if (g < 1.0f) {
            g += (need - g) * s->release_coef;              /* release */
            if (g > 0.999999f) g = 1.0f;
        }
        out[0][i] = rt_clampf(l * g, -c, c);
        out[1][i] = rt_clampf(r * g, -c, c);
    }
    s->gain = g;
}

const rt_node_class_t rt_node_limiter = {
    .name = "limiter", .doc = "zero-latency peak limiter (instant attack, smooth release)",
    .flags = RT_NODE_TAKES_AUDIO, .params = params, .n_params = P_COUNT, .state_size = sizeof(limiter_t),
    .init = limiter_init, .control = limiter_control, .process = limiter_process,
};
