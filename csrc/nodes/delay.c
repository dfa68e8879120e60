/*
 * delay.c -- stereo feedback delay with tempo sync, damping and ping-pong.
 *
 * The lines are allocated for MAX_SECONDS in init(). The delay in samples glides
 * (one-pole at control rate, then a per-sample linear ramp) and is read with linear
 * interpolation, so time, tempo and sync changes sweep the pitch instead of clicking.
 * At an integer delay the read is exact: an impulse returns at round(time*sr/1000).
 */
#include <stdlib.h>
#include <string.h>
#include "../node.h"
#include "dsp.h"

enum { P_TIME, P_SYNC, P_TEMPO, P_FEEDBACK, P_DAMPING, P_MIX, P_PING_PONG, P_COUNT };

static const rt_param_info_t params[P_COUNT] = {
    { "time", "ms", 1.0f, 2000.0f, 375.0f, RT_PARAM_FLOAT, "", "delay time when sync is off" },
    { "sync", "", 0.0f, 8.0f, 0.0f, RT_PARAM_ENUM, "off|1/4|1/8|1/8d|1/16|1/4t|1/8t|1/2|1",
      "tempo-synced note value (off = use time)" },
    { "tempo", "BPM", 20.0f, 300.0f, 120.0f, RT_PARAM_FLOAT, "", "tempo for sync (set from the engine tempo)" },
    { "feedback", "", 0.0f, 0.98f, 0.35f, RT_PARAM_FLOAT, "", "level of each echo relative to the previous" },
    { "damping", "", 0.0f, 1.0f, 0.0f, RT_PARAM_FLOAT, "",
      "low-pass in the feedback path: 0 = off, 1 = darkest (~400 Hz)" },
    { "mix", "", 0.0f, 1.0f, 0.35f, RT_PARAM_FLOAT, "", "dry/wet: 0 = dry only, 1 = echoes only" },
    { "ping_pong", "", 0.0f, 1.0f, 0.0f, RT_PARAM_BOOL, "", "1 = mono input, echoes alternate left/right" },
};

/* beats (quarter notes) per sync choice; index 0 = off */
static const float sync_beats[9] = { 0.0f, 1.0f, 0.5f, 0.75f, 0.25f, 2.0f / 3.0f, 1.0f / 3.0f, 2.0f, 4.0f };

#define MAX_SECONDS 4.0        /* time max 2 s; synced values up to 4 s (longer clamps) */
#define GLIDE_SECONDS 0.03     /* extra glide for delay jumps (sync/tempo switches) */

typedef struct {
    double sr;
    float *buf[2];
    uint32_t mask, w;
    float max_delay;           /* samples */
    float target, glide;       /* delay in samples: target and glided value (control rate) */
    float glide_coef;
    rt_ramp_t d;               /* per-sample delay in samples */
    rt_ramp_t wet, dry;
    float feedback, damp;      /* damping: pole of the one-pole in the feedback path */
    float lp[2];
    int ping_pong;
} delay_t;

static int delay_init(void *st, const rt_node_env_t *env, const float *p)
{
    delay_t *s = st;
    (void)p;
    s->sr = env->sample_rate;
    uint32_t need = (uint32_t)(MAX_SECONDS * s->sr) + 4, size = 1;
    while (size < need) size <<= 1;
    for (int c = 0; c < 2; c++) {
        s->buf[c] = calloc(size, sizeof(float));
        if (!s->buf[c]) { free(s->buf[0]); s->buf[0] = NULL; return RT_ERR_NOMEM; }
    }
    s->mask = size - 1;
    s->max_delay = (float)(MAX_SECONDS * s->sr);
    s->glide_coef = rt_onepole_coef(GLIDE_SECONDS, s->sr / RT_CONTROL_FRAMES);
    return RT_OK;
}

static void delay_destroy(void *st)
{
    delay_t *s = st;
    free(s->buf[0]); free(s->buf[1]);
}

static void delay_control(void *st, const float *p, int frames)
{
    delay_t *s = st;
    int sync = (int)(p[P_SYNC] + 0.5f);
    double sec = sync > 0 && sync < 9 ? 60.0 / p[P_TEMPO] * sync_beats[sync] : p[P_TIME] * 0.001;
    s->target = rt_clampf((float)(sec * s->sr), 1.0f, s->max_delay);
    if (frames == 0) s->glide = s->target;
    else {
        s->glide += (s->target - s->glide) * s->glide_coef;
        if (fabsf(s->target - s->glide) < 1e-3f) s->glide = s->target;   /* land exactly */
    }
    rt_ramp_to(&s->d, s->glide, frames);
    s->feedback = p[P_FEEDBACK];
    /* damping d -> corner 20 kHz * 0.02^d; the pole fades in over d < 0.05 so 0 is exactly off */
    float d = p[P_DAMPING];
    double fc = 20000.0 * pow(0.02, d);
    float pole = (float)exp(-2.0 * M_PI * fc / s->sr);
    s->damp = pole * (d < 0.05f ? d * 20.0f : 1.0f);
    s->ping_pong = p[P_PING_PONG] >= 0.5f;
    rt_ramp_to(&s->wet, p[P_MIX], frames);
    rt_ramp_to(&s->dry, 1.0f - p[P_MIX], frames);
}

static inline float read_frac(const float *b, uint32_t mask, uint32_t w, float d)
{
    uint32_t di = (uint32_t)d;                 /* d >= 1 */
    float fr = d - (float)di;
    float a = b[(w - di) & mask], c = b[(w - di - 1) & mask];
    return a + fr * (c - a);
}

static void delay_process(void *st, const float *const *in, float *const *out, int n)
{
    delay_t *s = st;
    float *bl = s->buf[0], *br = s->buf[1];
    const uint32_t mask = s->mask;
    const float fb = s->feedback, damp = s->damp;
    uint32_t w = s->w;
    float lpl = s->lp[0], lpr = s->lp[1];
    for (int i = 0; i < n; i++) {
        float d = rt_ramp_next(&s->d);
        float yl = read_frac(bl, mask, w, d), yr = read_frac(br, mask, w, d);
        lpl = yl + damp * (lpl - yl);
        lpr = yr + damp * (lpr - yr);
        float xl = in[0][i], xr = in[1][i];
        if (s->ping_pong) {
            bl[w] = 0.5f * (xl + xr) + fb * lpr;
            br[w] = fb * lpl;
        } else {
            bl[w] = xl + fb * lpl;
            br[w] = xr + fb * lpr;
        }
        w = (w + 1) & mask;
        float wet = rt_ramp_next(&s->wet), dry = rt_ramp_next(&s->dry);
        out[0][i] = dry * xl + wet * yl;
        out[1][i] = dry * xr + wet * yr;
    }
    s->w = w; s->lp[0] = lpl; s->lp[1] = lpr;
}

const rt_node_class_t rt_node_delay = {
    .name = "delay", .doc = "stereo feedback delay: tempo sync, damping, ping-pong",
    .flags = RT_NODE_TAKES_AUDIO, .params = params, .n_params = P_COUNT, .state_size = sizeof(delay_t),
    .init = delay_init, .destroy = delay_destroy, .control = delay_control, .process = delay_process,
};
