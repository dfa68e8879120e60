/*
 * drums.c -- a synthesized drum kit (no samples) on General MIDI drum notes.
 *
 *   35/36 kick    sine with an exponential pitch sweep (in octaves) + amp decay + noise click
 *   38/40 snare   two tuned sine partials + band-limited noise ("snappy" mixes them)
 *   37    rim     the snare voice, short and tone-heavy (side stick)
 *   39    clap    band-passed noise: 3 bursts 10 ms apart, then a decaying tail
 *   42/44 closed / pedal hat, 46 open hat: six square oscillators at the 808's inharmonic
 *         frequencies (+ a little noise) through a band-pass and a 4th-order high-pass.
 *         A closed or pedal hat chokes the open hat, as on a real kit.
 *
 * One instance per drum sound. A retrigger while a voice still sounds continues from
 * its current state (oscillator phase kept) and ramps the envelope to the new peak in
 * 1 ms instead of jumping (no click); a fresh hit starts at its peak on the event sample.
 * Decay times are T60 (time to fall 60 dB). Note-offs are ignored (one-shots);
 * all-notes-off / CC120 / CC123 choke every voice within ~10 ms.
 * Velocity: gain = 1 - velocity_sens * (1 - velocity/127).
 */
#include "../node.h"
#include "dsp.h"

enum {
    P_LEVEL, P_KICK_LEVEL, P_KICK_TUNE, P_KICK_DECAY, P_KICK_SWEEP, P_KICK_CLICK,
    P_SNARE_LEVEL, P_SNARE_TUNE, P_SNARE_DECAY, P_SNARE_SNAPPY,
    P_HAT_LEVEL, P_HAT_TONE, P_CLOSED_DECAY, P_OPEN_DECAY,
    P_CLAP_LEVEL, P_CLAP_TONE, P_CLAP_DECAY,
    P_SPREAD, P_VELOCITY_SENS, P_COUNT
};

#define LEVEL_MIN (-60.0f)

static const rt_param_info_t params[P_COUNT] = {
    { "level", "dB", LEVEL_MIN, 12.0f, 0.0f, RT_PARAM_FLOAT, "", "master level of the kit (-60 = off)" },
    { "kick_level", "dB", LEVEL_MIN, 12.0f, 0.0f, RT_PARAM_FLOAT, "", "kick level (-60 = off)" },
    { "kick_tune", "Hz", 30.0f, 200.0f, 50.0f, RT_PARAM_FLOAT, "", "kick base pitch (end of the sweep)" },
    { "kick_decay", "ms", 30.0f, 3000.0f, 450.0f, RT_PARAM_FLOAT, "", "kick amplitude decay (T60)" },
    { "kick_sweep", "semitones", 0.0f, 48.0f, 24.0f, RT_PARAM_FLOAT, "", "kick pitch sweep depth above kick_tune" },
    { "kick_click", "", 0.0f, 1.0f, 0.3f, RT_PARAM_FLOAT, "", "level of the kick's attack click" },
    { "snare_level", "dB", LEVEL_MIN, 12.0f, 0.0f, RT_PARAM_FLOAT, "", "snare / rim level (-60 = off)" },
    { "snare_tune", "Hz", 100.0f, 500.0f, 185.0f, RT_PARAM_FLOAT, "", "snare lower tone partial" },
    { "snare_decay", "ms", 30.0f, 1500.0f, 220.0f, RT_PARAM_FLOAT, "", "snare noise decay (T60; tone decays in half)" },
    { "snare_snappy", "", 0.0f, 1.0f, 0.6f, RT_PARAM_FLOAT, "", "snare noise vs tone mix (0 tone, 1 noise)" },
    { "hat_level", "dB", LEVEL_MIN, 12.0f, -3.0f, RT_PARAM_FLOAT, "", "hi-hat level (-60 = off)" },
    { "hat_tone", "Hz", 3000.0f, 16000.0f, 9000.0f, RT_PARAM_FLOAT, "", "hi-hat band-pass centre (high-pass at 0.7x)" },
    { "closed_decay", "ms", 10.0f, 500.0f, 60.0f, RT_PARAM_FLOAT, "", "closed hat decay (T60); pedal hat alike" },
    { "open_decay", "ms", 50.0f, 3000.0f, 450.0f, RT_PARAM_FLOAT, "", "open hat decay (T60)" },
    { "clap_level", "dB", LEVEL_MIN, 12.0f, 0.0f, RT_PARAM_FLOAT, "", "clap level (-60 = off)" },
    { "clap_tone", "Hz", 500.0f, 4000.0f, 1200.0f, RT_PARAM_FLOAT, "", "clap band-pass centre" },
    { "clap_decay", "ms", 30.0f, 2000.0f, 250.0f, RT_PARAM_FLOAT, "", "clap tail decay (T60)" },
    { "spread", "", 0.0f, 1.0f, 0.3f, RT_PARAM_FLOAT, "", "stereo spread of the kit (0 = mono)" },
    { "velocity_sens", "", 0.0f, 1.0f, 1.0f, RT_PARAM_FLOAT, "", "0 = velocity ignored, 1 = gain = velocity/127" },
};

#define ENV_OFF     1e-4f   /* -80 dB: a voice below this is silent and resets its filters */
#define DECLICK_S   0.001   /* retrigger ramp */
#define CHOKE_S     0.010   /* T60 of a choked voice */
#define CLICK_S     0.004   /* T60 of the kick click */
#define KICK_TAU_S  0.015   /* time constant of the kick sweep (in octaves) */
#define SNARE_TAU_S 0.004   /* snare partials start a little sharp */
#define CLAP_GAP_S  0.010   /* distance between clap bursts */
#define CLAP_BURST_S 0.012  /* T60 of one burst */
#define RIM_S       0.040   /* T60 of the side stick */

enum { V_KICK, V_SNARE, V_CLAP, V_HAT, V_COUNT };
static const float voice_pan[V_COUNT] = { 0.0f, -0.25f, 0.35f, 0.6f };

/* 808 hi-hat oscillator frequencies (Hz) */
static const float hat_hz[6] = { 205.3f, 304.4f, 369.6f, 522.7f, 540.0f, 800.0f };

/* exponential envelope with a declick ramp on retrigger */
typedef struct { float level, step, target; int ramp; } denv_t;

static void denv_trigger(denv_t *e, float peak, int declick)
{
    if (e->level > 0.0f && declick > 0) {       /* still sounding: glide, no jump */
        e->target = peak; e->ramp = declick;
        e->step = (peak - e->level) / (float)declick;
    } else {
        e->level = peak; e->ramp = 0;
    }
}

static inline float denv_tick(denv_t *e, float coef)
{
    float v = e->level;
    if (e->ramp > 0) {
        e->level = --e->ramp == 0 ? e->target : e->level + e->step;
    } else {
        e->level *= coef;
        if (e->level < ENV_OFF) e->level = 0.0f;
    }
    return v;
}

typedef struct {
    double sr;
    int declick, clap_gap;
    float vel_sens;
    /* gains per voice and channel, ramped per sample */
    rt_ramp_t g[V_COUNT][2];
    /* decay coefficients (control rate) and fixed ones (init) */
    float kick_coef, snare_tone_coef, snare_noise_coef, closed_coef, open_coef, clap_coef;
    float choke_coef, click_coef, kick_pcoef, snare_pcoef, clap_burst_coef, rim_coef;
    float kick_hz, kick_sweep_oct, kick_click, snare_hz, snappy;
    /* kick */
    denv_t k_env, k_click;
    float k_phase, k_pitch;
    uint32_t k_rng;
    /* snare */
    denv_t s_tone, s_noise;
    float s_ph1, s_ph2, s_pitch, s_fmul, s_snappy;
    int s_rim;
    uint32_t s_rng;
    rt_biquad_coefs_t s_hp, s_lp;
    rt_biquad_state_t s_hp_z, s_lp_z;
    /* clap */
    denv_t c_burst, c_tail;
    int c_t;                 /* samples since the hit, saturates after the bursts */
    float c_peak;
    uint32_t c_rng;
    rt_biquad_coefs_t c_bp;
    rt_biquad_state_t c_bp_z;
    /* hats: one metallic source, two envelopes */
    denv_t h_closed, h_open;
    int h_choked;
    float h_phase[6], h_inc[6];
    uint32_t h_rng;
    rt_biquad_coefs_t h_bp, h_hp;
    rt_biquad_state_t h_bp_z, h_hp1_z, h_hp2_z;
} drums_t;

/* RBJ band-pass, 0 dB peak gain (dsp.h has no band-pass) */
static void bandpass_design(rt_biquad_coefs_t *c, double sr, double freq, double q)
{
    double f = freq < 1.0 ? 1.0 : (freq > 0.49 * sr ? 0.49 * sr : freq);
    double w0 = 2.0 * M_PI * f / sr, alpha = sin(w0) / (2.0 * q), a0 = 1.0 + alpha;
    c->b0 = (float)(alpha / a0); c->b1 = 0.0f; c->b2 = (float)(-alpha / a0);
    c->a1 = (float)(-2.0 * cos(w0) / a0); c->a2 = (float)((1.0 - alpha) / a0);
}

/* per-sample multiplier that falls 60 dB in `seconds` */
static float t60_coef(double seconds, double sr)
{
    return (float)pow(10.0, -3.0 / (seconds * sr));
}

static uint32_t seed_of(uint32_t seed, uint32_t salt)
{
    uint32_t s = seed ^ salt;
    return s ? s : 0x1u;
}

static int drums_init(void *st, const rt_node_env_t *env, const float *p)
{
    drums_t *s = st;
    (void)p;
    s->sr = env->sample_rate;
    s->declick = (int)(DECLICK_S * s->sr + 0.5);
    if (s->declick < 1) s->declick = 1;
    s->clap_gap = (int)(CLAP_GAP_S * s->sr + 0.5);
    s->c_t = 3 * s->clap_gap + 1;                /* idle: past the bursts */
    s->choke_coef = t60_coef(CHOKE_S, s->sr);
    s->click_coef = t60_coef(CLICK_S, s->sr);
    s->clap_burst_coef = t60_coef(CLAP_BURST_S, s->sr);
    s->rim_coef = t60_coef(RIM_S, s->sr);
    s->kick_pcoef = (float)exp(-1.0 / (KICK_TAU_S * s->sr));
    s->snare_pcoef = (float)exp(-1.0 / (SNARE_TAU_S * s->sr));
    s->k_rng = seed_of(env->seed, 0x6B69636Bu);
    s->s_rng = seed_of(env->seed, 0x736E6172u);
    s->c_rng = seed_of(env->seed, 0x636C6170u);
    s->h_rng = seed_of(env->seed, 0x68617473u);
    /* free-running hat oscillators with seeded phases (not all starting on an edge) */
    for (int k = 0; k < 6; k++) {
        s->h_phase[k] = (float)(rt_rand_u32(&s->h_rng) >> 8) * (1.0f / 16777216.0f);
        s->h_inc[k] = (float)(hat_hz[k] / s->sr);
    }
    rt_biquad_design(&s->s_hp, RT_BQ_HIGHPASS, s->sr, 1200.0, 0.707, 0.0);
    rt_biquad_design(&s->s_lp, RT_BQ_LOWPASS, s->sr, 10000.0, 0.707, 0.0);
    return RT_OK;
}

static inline float lvl(float db) { return db <= LEVEL_MIN ? 0.0f : rt_db_to_lin(db); }

static void drums_control(void *st, const float *p, int frames)
{
    drums_t *s = st;
    const double sr = s->sr;
    float master = lvl(p[P_LEVEL]);
    float vg[V_COUNT] = { lvl(p[P_KICK_LEVEL]), lvl(p[P_SNARE_LEVEL]), lvl(p[P_CLAP_LEVEL]), lvl(p[P_HAT_LEVEL]) };
    for (int v = 0; v < V_COUNT; v++) {
        /* unity in the centre, the far side fades linearly */
        float pan = voice_pan[v] * p[P_SPREAD];
        float gl = pan > 0.0f ? 1.0f - pan : 1.0f, gr = pan < 0.0f ? 1.0f + pan : 1.0f;
        rt_ramp_to(&s->g[v][0], master * vg[v] * gl, frames);
        rt_ramp_to(&s->g[v][1], master * vg[v] * gr, frames);
    }
    s->kick_coef = t60_coef(p[P_KICK_DECAY] * 0.001, sr);
    s->snare_noise_coef = t60_coef(p[P_SNARE_DECAY] * 0.001, sr);
    s->snare_tone_coef = t60_coef(p[P_SNARE_DECAY] * 0.0005, sr);
    s->closed_coef = t60_coef(p[P_CLOSED_DECAY] * 0.001, sr);
    s->open_coef = t60_coef(p[P_OPEN_DECAY] * 0.001, sr);
    s->clap_coef = t60_coef(p[P_CLAP_DECAY] * 0.001, sr);
    s->kick_hz = p[P_KICK_TUNE];
    s->kick_sweep_oct = p[P_KICK_SWEEP] / 12.0f;
    s->kick_click = p[P_KICK_CLICK];
    s->snare_hz = p[P_SNARE_TUNE];
    s->snappy = p[P_SNARE_SNAPPY];
    s->vel_sens = p[P_VELOCITY_SENS];
    bandpass_design(&s->c_bp, sr, p[P_CLAP_TONE], 1.2);
    bandpass_design(&s->h_bp, sr, p[P_HAT_TONE], 0.9);
    rt_biquad_design(&s->h_hp, RT_BQ_HIGHPASS, sr, 0.7 * p[P_HAT_TONE], 0.707, 0.0);
}

static void choke_all(drums_t *s)
{
    /* a choke reuses the declick ramp towards a tiny value; the envelope then dies */
    /* the clap: whatever burst is sounding becomes the tail, no more bursts */
    if (s->c_t <= 3 * s->clap_gap) {
        if (s->c_burst.level > s->c_tail.level) s->c_tail.level = s->c_burst.level;
        s->c_burst.level = 0.0f; s->c_burst.ramp = 0;
        s->c_t = 3 * s->clap_gap + 1;
    }
    denv_t *all[] = { &s->k_env, &s->k_click, &s->s_tone, &s->s_noise, &s->c_tail,
                      &s->h_closed, &s->h_open };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i]->level > 0.0f) denv_trigger(all[i], 2.0f * ENV_OFF, 4 * s->declick);
}

static void drums_event(void *st, const rt_event_t *ev)
{
    drums_t *s = st;
    if (ev->type == RT_EV_ALL_NOTES_OFF ||
        (ev->type == RT_EV_CC && (ev->data1 == 120 || ev->data1 == 123))) {
        choke_all(s);
        return;
    }
    if (ev->type != RT_EV_NOTE_ON || ev->data2 == 0) return;   /* note-offs: one-shots */
    float vel = 1.0f - s->vel_sens * (1.0f - (float)ev->data2 / 127.0f);
    switch (ev->data1) {
    case 35: case 36:
        denv_trigger(&s->k_env, vel, s->declick);
        denv_trigger(&s->k_click, vel * s->kick_click, s->declick);
        s->k_pitch = 1.0f;             /* the sweep restarts; the phase runs on */
        break;
    case 37: case 38: case 40: {
        int rim = ev->data1 == 37;
        s->s_rim = rim;
        s->s_fmul = rim ? 1.6f : 1.0f;
        s->s_snappy = rim ? 0.3f : s->snappy;
        float g = rim ? 0.7f * vel : vel;
        denv_trigger(&s->s_tone, g, s->declick);
        denv_trigger(&s->s_noise, g, s->declick);
        s->s_pitch = 1.0f;
        break; }
    case 39:
        s->c_t = 0;
        s->c_peak = vel;
        denv_trigger(&s->c_burst, vel, 0);
        s->c_tail.level = 0.0f; s->c_tail.ramp = 0;
        break;
    case 42: case 44:
        denv_trigger(&s->h_closed, ev->data1 == 44 ? 0.7f * vel : vel, s->declick);
        if (s->h_open.level > 0.0f) s->h_choked = 1;
        break;
    case 46:
        denv_trigger(&s->h_open, vel, s->declick);
        s->h_choked = 0;
        break;
    default:
        break;                         /* not part of this kit: silent */
    }
}

static inline float square_blep(float *ph, float inc)
{
    float t = *ph;
    float v = (t < 0.5f ? 1.0f : -1.0f) + rt_polyblep(t, inc);
    float t2 = t + 0.5f; if (t2 >= 1.0f) t2 -= 1.0f;
    v -= rt_polyblep(t2, inc);
    t += inc; if (t >= 1.0f) t -= 1.0f;
    *ph = t;
    return v;
}

static void drums_process(void *st, const float *const *in, float *const *out, int n)
{
    drums_t *s = st;
    (void)in;
    const float two_pi = 2.0f * (float)M_PI;
    const float inv_sr = (float)(1.0 / s->sr);
    for (int i = 0; i < n; i++) {
        float v[V_COUNT] = { 0.0f, 0.0f, 0.0f, 0.0f };

        /* kick */
        if (s->k_env.level > 0.0f || s->k_click.level > 0.0f) {
            float hz = s->kick_hz * exp2f(s->kick_sweep_oct * s->k_pitch);
            s->k_pitch = s->k_pitch > 1e-6f ? s->k_pitch * s->kick_pcoef : 0.0f;   /* no denormals */
            float a = denv_tick(&s->k_env, s->kick_coef);
            float c = denv_tick(&s->k_click, s->click_coef);
            v[V_KICK] = a * sinf(two_pi * s->k_phase) + c * rt_rand_bipolar(&s->k_rng);
            s->k_phase += hz * inv_sr;
            if (s->k_phase >= 1.0f) s->k_phase -= 1.0f;
        }

        /* snare / rim */
        if (s->s_tone.level > 0.0f || s->s_noise.level > 0.0f) {
            float tone_c = s->s_rim ? s->rim_coef : s->snare_tone_coef;
            float noise_c = s->s_rim ? s->rim_coef : s->snare_noise_coef;
            float f1 = s->snare_hz * s->s_fmul * (1.0f + 0.3f * s->s_pitch);
            s->s_pitch = s->s_pitch > 1e-6f ? s->s_pitch * s->snare_pcoef : 0.0f;
            float t = denv_tick(&s->s_tone, tone_c);
            float nz = denv_tick(&s->s_noise, noise_c);
            float tone = 0.65f * sinf(two_pi * s->s_ph1) + 0.35f * sinf(two_pi * s->s_ph2);
            s->s_ph1 += f1 * inv_sr;          if (s->s_ph1 >= 1.0f) s->s_ph1 -= 1.0f;
            s->s_ph2 += 1.84f * f1 * inv_sr;  if (s->s_ph2 >= 1.0f) s->s_ph2 -= 1.0f;
            float x = rt_biquad_tick(&s->s_hp, &s->s_hp_z, rt_rand_bipolar(&s->s_rng));
            x = rt_biquad_tick(&s->s_lp, &s->s_lp_z, x);
            v[V_SNARE] = (1.0f - s->s_snappy) * t * tone + s->s_snappy * 1.5f * nz * x;
            if (s->s_tone.level == 0.0f && s->s_noise.level == 0.0f) {
                s->s_hp_z = (rt_biquad_state_t){ 0 }; s->s_lp_z = (rt_biquad_state_t){ 0 };
            }
        }

        /* clap: bursts at 0, gap, 2 gap; the tail takes over at 3 gap */
        if (s->c_t <= 3 * s->clap_gap || s->c_tail.level > 0.0f) {
            float e;
            if (s->c_t < 3 * s->clap_gap) {
                if (s->c_t > 0 && s->c_t % s->clap_gap == 0) denv_trigger(&s->c_burst, s->c_peak, 0);
                e = denv_tick(&s->c_burst, s->clap_burst_coef);
            } else {
                if (s->c_t == 3 * s->clap_gap) {
                    denv_trigger(&s->c_tail, s->c_peak, 0);
                    s->c_burst.level = 0.0f;
                }
                e = denv_tick(&s->c_tail, s->clap_coef);
            }
            if (s->c_t <= 3 * s->clap_gap) s->c_t++;
            v[V_CLAP] = 2.5f * rt_biquad_tick(&s->c_bp, &s->c_bp_z, e * rt_rand_bipolar(&s->c_rng));
            if (s->c_t > 3 * s->clap_gap && s->c_tail.level == 0.0f) s->c_bp_z = (rt_biquad_state_t){ 0 };
        }

        /* hats */
        if (s->h_closed.level > 0.0f || s->h_open.level > 0.0f) {
            float m = 0.0f;
            for (int k = 0; k < 6; k++) m += square_blep(&s->h_phase[k], s->h_inc[k]);
            m = m * (1.0f / 6.0f) + 0.25f * rt_rand_bipolar(&s->h_rng);
            float e = denv_tick(&s->h_closed, s->closed_coef)
                    + denv_tick(&s->h_open, s->h_choked ? s->choke_coef : s->open_coef);
            float x = rt_biquad_tick(&s->h_bp, &s->h_bp_z, m * e);
            x = rt_biquad_tick(&s->h_hp, &s->h_hp1_z, x);
            x = rt_biquad_tick(&s->h_hp, &s->h_hp2_z, x);
            v[V_HAT] = 3.0f * x;
            if (s->h_closed.level == 0.0f && s->h_open.level == 0.0f) {
                s->h_bp_z = s->h_hp1_z = s->h_hp2_z = (rt_biquad_state_t){ 0 };
                s->h_choked = 0;
            }
        }

        float l = 0.0f, r = 0.0f;
        for (int k = 0; k < V_COUNT; k++) {
            l += rt_ramp_next(&s->g[k][0]) * v[k];
            r += rt_ramp_next(&s->g[k][1]) * v[k];
        }
        out[0][i] = l;
        out[1][i] = r;
    }
}

const rt_node_class_t rt_node_drums = {
    .name = "drums", .doc = "synthesized drum kit on GM notes (kick, snare, rim, clap, closed/pedal/open hat)",
    .flags = RT_NODE_RECEIVES_NOTES, .params = params, .n_params = P_COUNT, .state_size = sizeof(drums_t),
    .init = drums_init, .control = drums_control, .process = drums_process, .event = drums_event,
};
