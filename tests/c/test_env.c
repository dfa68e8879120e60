/*
 * test_env.c -- the ADSR of csrc/nodes/voice.h in isolation: stage lengths exact to the
 * sample. Built and run by tests/unit/test_synth.py (gcc). Prints "ok" or the failure.
 */
#include <stdio.h>
#include "voice.h"

static int fails;
#define CHECK(c, ...) do { if (!(c)) { fails++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
                            printf(__VA_ARGS__); printf("\n"); } } while (0)

/* gate on at sample 0, gate off at sample `off`; level of every sample into lv[] */
static void run(double sr, float a, float d, float s, float r, int off, int n, float *lv)
{
    rt_env_cfg_t c = {0};
    rt_env_t e = {0};
    rt_env_configure(&c, sr, a, d, s, r);
    rt_env_gate_on(&e, &c, 0);
    for (int i = 0; i < n; i++) {
        if (i == off) rt_env_gate_off(&e, &c);
        lv[i] = rt_env_tick(&e, &c);
    }
}

static float lv[2000000];

int main(void)
{
    const double rates[] = { 44100.0, 48000.0, 96000.0 };
    const float cases[][4] = {     /* attack ms, decay ms, sustain, release ms */
        { 10, 50, 0.5f, 100 }, { 0, 0, 1, 1 }, { 0.5f, 3.3f, 0.25f, 7.7f }, { 1000, 2000, 0.0f, 1500 },
        { 2.7f, 0, 0.6f, 20 }, { 0, 12, 0.3f, 0.01f },
    };
    for (int ri = 0; ri < 3; ri++) {
        for (unsigned ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            double sr = rates[ri];
            const float *p = cases[ci];
            int A = (int)floor(p[0] * sr / 1000 + 0.5), D = (int)floor(p[1] * sr / 1000 + 0.5);
            int R = (int)floor(p[3] * sr / 1000 + 0.5);
            float S = p[2];
            int off = A + D + 1000, n = off + R + 1000;
            run(sr, p[0], p[1], S, p[3], off, n, lv);
            /* attack: linear, non-zero from the first sample, exactly 1 at sample A only */
            CHECK(lv[0] > 0.0f, "sr %g case %u: first sample is 0", sr, ci);
            for (int i = 0; i < A; i++) {
                CHECK(lv[i] < 1.0f, "sr %g case %u: attack at 1 early (sample %d of %d)", sr, ci, i, A);
                float want = (float)(i + 1) / (float)(A + 1);
                CHECK(fabsf(lv[i] - want) < 1e-6f, "sr %g case %u: attack not linear at %d", sr, ci, i);
                if (i > 0) CHECK(lv[i] > lv[i - 1], "sr %g case %u: attack not rising at %d", sr, ci, i);
            }
            CHECK(lv[A] == 1.0f, "sr %g case %u: level %g at sample A=%d, want 1", sr, ci, lv[A], A);
            /* decay: strictly falling, lands on S exactly at A + D, then stays */
            for (int i = A + 1; i < A + D; i++) {
                CHECK(lv[i] < lv[i - 1] && lv[i] > S, "sr %g case %u: decay at %d: %g", sr, ci, i, lv[i]);
            }
            for (int i = A + D; i < off; i++) {
                if (i == A + D && D == 0 && A + D < off) continue;   /* the peak sample itself */
                CHECK(lv[i] == S, "sr %g case %u: sustain at %d is %g, want %g", sr, ci, i, lv[i], S);
            }
            /* release: from S, non-increasing, exactly 0 at off + R and after */
            for (int i = off; i < off + R; i++) {
                CHECK(lv[i] <= (i == off ? S : lv[i - 1]), "sr %g case %u: release rises at %d", sr, ci, i);
                if (S > 0.0f) CHECK(lv[i] > 0.0f, "sr %g case %u: release hits 0 early at %d", sr, ci, i);
            }
            for (int i = off + R; i < n; i++)
                CHECK(lv[i] == 0.0f, "sr %g case %u: not silent at %d (off %d, R %d)", sr, ci, i, off, R);
        }
    }
    /* retrigger from the current level: no jump, reaches 1 at exactly A samples */
    {
        rt_env_cfg_t c = {0};
        rt_env_t e = {0};
        rt_env_configure(&c, 48000, 10, 100, 0.5f, 100);
        rt_env_gate_on(&e, &c, 0);
        for (int i = 0; i < 2000; i++) rt_env_tick(&e, &c);
        float before = e.level;
        rt_env_gate_on(&e, &c, 1);
        float first = rt_env_tick(&e, &c);
        CHECK(first >= before && first - before < 0.01f, "retrigger jumps %g -> %g", before, first);
        for (int i = 1; i < 480; i++) CHECK(rt_env_tick(&e, &c) < 1.0f, "retrigger peaks early at %d", i);
        CHECK(rt_env_tick(&e, &c) == 1.0f, "retrigger peak not at 480");
    }
    if (!fails) printf("ok\n");
    return fails != 0;
}
