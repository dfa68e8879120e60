/* style_memory.c -- see style_memory.h. No allocation, no lock, bounded loops: callable from
 * the audio thread and the inference thread. */
#include <string.h>
#include "style_memory.h"
#include "dsp.h"

void rt_mem_clear(rt_style_memory_t *m)
{
    memset(m->tok, 0, sizeof m->tok);
    m->rests = 0;
    atomic_store_explicit(&m->count, 0, memory_order_release);
}

void rt_mem_append(rt_style_memory_t *m, int token)
{
    if (token < 0 || token >= RT_AI_VOCAB) return;
    if (token == RT_AI_REST) {
        if (m->rests >= RT_MEM_MAX_REST) return;      /* a long pause: one bar of rests is enough */
        m->rests++;
    } else {
        m->rests = 0;
    }
    long long c = atomic_load_explicit(&m->count, memory_order_relaxed);
    m->tok[c % RT_MEM_STEPS] = (int8_t)token;
    atomic_store_explicit(&m->count, c + 1, memory_order_release);   /* publish after the write */
}

int rt_mem_size(const rt_style_memory_t *m)
{
    long long c = atomic_load_explicit(&m->count, memory_order_acquire);
    return (int)(c < RT_MEM_STEPS - RT_MEM_GUARD ? c : RT_MEM_STEPS - RT_MEM_GUARD);
}

static int is_pitch(int t) { return t >= RT_AI_PITCH0; }

int rt_mem_predict(const rt_style_memory_t *m, const int *ctx, int n, float *dist, uint32_t *rng)
{
    long long count = atomic_load_explicit(&m->count, memory_order_acquire);
    /* the readable window: the last `len` tokens, staying RT_MEM_GUARD behind the writer (it
     * appends one token per 16th, so it cannot reach the tokens read during one scan) */
    int len = (int)(count < RT_MEM_STEPS - RT_MEM_GUARD ? count : RT_MEM_STEPS - RT_MEM_GUARD);
    long long first = count - len;
#define H(i) ((int)m->tok[(first + (i)) % RT_MEM_STEPS])
    if (len < 2) return -1;
    if (n > RT_MEM_ORDER) { ctx += n - RT_MEM_ORDER; n = RT_MEM_ORDER; }
    /* the context's suffixes worth matching end with its last pitch in them */
    int last_pitch = -1;
    for (int k = n - 1; k >= 0; k--) if (is_pitch(ctx[k])) { last_pitch = k; break; }
    int best = 0;
    float counts[RT_AI_VOCAB];
    memset(counts, 0, sizeof counts);
    if (last_pitch >= 0) {
        int need = n - last_pitch;               /* a match must reach back to that pitch */
        for (int i = need; i < len; i++) {
            int l = 0;
            while (l < n && l < i && H(i - 1 - l) == ctx[n - 1 - l]) l++;
            if (l < need || l < best) continue;
            if (l > best) { best = l; memset(counts, 0, sizeof counts); }
            counts[H(i)] += 1.0f;
        }
    }
    if (best == 0) {
        /* a phrase start: one of the last RT_MEM_STARTS pitches that follow a rest (or open
         * the memory), most recent first */
        int starts[RT_MEM_STARTS], ns = 0;
        for (int i = len - 1; i >= 0 && ns < RT_MEM_STARTS; i--)
            if (is_pitch(H(i)) && (i == 0 || H(i - 1) == RT_AI_REST)) starts[ns++] = i;
        if (ns == 0) return -1;
        int pick = ns == 1 ? 0 : (int)(rt_rand_u32(rng) % (uint32_t)ns);
        for (int t = 0; t < RT_AI_VOCAB; t++) dist[t] = 0.0f;
        dist[H(starts[pick])] = 1.0f;
        return 0;
    }
#undef H
    float sum = 0.0f;
    for (int t = 0; t < RT_AI_VOCAB; t++) sum += counts[t];
    for (int t = 0; t < RT_AI_VOCAB; t++) dist[t] = counts[t] / sum;
    return best;
}
