/*
 * style_memory.h -- the AI's memory of the player's own phrases: a variable-order Markov model
 * over the player's melody tokens (one per 16th step), in the spirit of Pachet's Continuator.
 * No training: it learns while the performance runs, and one AI voice can answer with phrases
 * in the player's style (the `personal` amount blends it with the neural model).
 *
 * The history is a fixed ring (RT_MEM_STEPS tokens, preallocated inside the AI node's state).
 * The audio thread appends one token per step (single writer, a release store of the count);
 * the inference thread (or, inline / offline, the audio thread) reads it to predict. A
 * prediction is one bounded scan of the ring (RT_MEM_STEPS * RT_MEM_ORDER comparisons at most,
 * ~65k: tens of microseconds), no allocation, no lock.
 *
 * Prediction for a context (the answering voice's own last tokens, oldest first):
 *   - the longest suffix of the context, up to RT_MEM_ORDER steps, that also occurs in the
 *     history and holds a pitch; the tokens that followed its occurrences, counted, are the
 *     distribution (several occurrences: the player's own variations);
 *   - a context without a pitch (the voice is silent, or just started): the start of one of the
 *     player's last RT_MEM_STARTS phrases (a pitch after a rest), chosen by the RNG.
 * Long silences are stored as at most RT_MEM_MAX_REST rests, so a pause does not flood the ring.
 */
#ifndef RT_STYLE_MEMORY_H
#define RT_STYLE_MEMORY_H

#include <stdatomic.h>
#include <stdint.h>
#include "../rtcore.h"

#define RT_MEM_STEPS    4096    /* 16ths remembered: 8.5 minutes of playing at 120 BPM */
#define RT_MEM_ORDER    16      /* longest context matched: one 4/4 bar of 16ths */
#define RT_MEM_MAX_REST 16      /* consecutive rests stored at most (a bar: a phrase break) */
#define RT_MEM_STARTS   4       /* a silent voice starts one of the player's last 4 phrases */
#define RT_MEM_GUARD    64      /* the reader stays this far behind the writer's wrap */

typedef struct {
    int8_t tok[RT_MEM_STEPS];         /* tokens by step (ring); written by one thread */
    atomic_llong count;               /* tokens ever appended (the ring holds the last ones) */
    int rests;                        /* [writer] consecutive rests appended */
} rt_style_memory_t;

/* [writer: audio-thread] */
void rt_mem_clear(rt_style_memory_t *m);
void rt_mem_append(rt_style_memory_t *m, int token);

/* [reader] the next-token distribution after `ctx` (n tokens, oldest first) into `dist`
 * (RT_AI_VOCAB weights summing to 1). Returns the order matched (>= 1), 0 for a phrase start,
 * -1 when the memory holds no phrase yet (dist untouched). `rng` picks the phrase start. */
int rt_mem_predict(const rt_style_memory_t *m, const int *ctx, int n, float *dist, uint32_t *rng);

/* [reader] the number of tokens it remembers now (<= RT_MEM_STEPS) */
int rt_mem_size(const rt_style_memory_t *m);

#endif
