/*
 * ai.c -- the AI accompanist: hears the player's melody, answers with alto, tenor and bass
 * on the engine's 16th-note grid, through the ONNX step model (csrc/infer.c).
 *
 * Zero logical latency without running ONNX Runtime on the audio thread: while step t sounds,
 * a C inference thread computes step t+1 for EVERY possible melody token (RT_AI_VOCAB
 * candidates: rest, hold, each pitch), each sampled from the same RNG state. When step t+1
 * begins, the audio thread picks the candidate of the note the player actually plays -- a
 * table lookup. A note that comes a little late (within `late_window` ms) re-picks. If the
 * table is not ready when the step begins, the previous chord is held (a musical fallback)
 * and ai_missed_deadlines counts it. The chosen candidate is committed at the end of the
 * late window (grid mode); the thread then prepares the next step from that candidate's state.
 *
 * `follow = reactive`: every new note-on re-harmonizes at its own sample, anywhere in the
 * step, from the event callback (no late-window limit). The candidate tables are double
 * buffered by step parity, so step t's rows stay readable while the thread already writes
 * step t+1's; a re-pick after the commit asks the thread again for t+1 from the new pick.
 * A row that is not ready yet is counted (ai_missed_notes) and the note is taken at the
 * next step instead. Inline / freewheel, the commit waits for the step's end instead.
 *
 * Offline (freewheel) and in `mode = inline`, the audio thread instead runs the one step it
 * needs itself: same tokens (same state, same RNG stream), no deadline. Inline mode exists to
 * be measured: ONNX Runtime may allocate inside Run, so live playback defaults to the thread.
 *
 * Threads: configure/destroy [main-thread]; control/event [audio-thread] (no malloc, no locks:
 * a request slot and a results table handed over with acquire/release atomics, and a
 * semaphore post to wake the worker); worker [inference-thread].
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "../node.h"
#include "dsp.h"
#include "style_memory.h"

enum { P_ENABLED, P_ALTO, P_TENOR, P_BASS, P_TEMPERATURE, P_TOP_K, P_STYLE, P_DENSITY,
       P_TRANSPOSE, P_VELOCITY, P_SEED, P_MODE, P_LATE_WINDOW, P_FOLLOW, P_PERSONAL, P_MEMORY_VOICE,
       P_COUNT };
enum { STYLE_CHORALE, STYLE_ARPEGGIO, STYLE_BASS_PAD };
enum { MODE_THREAD, MODE_INLINE };
enum { FOLLOW_GRID, FOLLOW_REACTIVE };

static const rt_param_info_t params[P_COUNT] = {
    { "enabled", "", 0, 1, 1, RT_PARAM_BOOL, "", "the accompanist plays (0 = silent, notes released)" },
    { "alto", "", 0, 1, 1, RT_PARAM_BOOL, "", "alto voice on/off" },
    { "tenor", "", 0, 1, 1, RT_PARAM_BOOL, "", "tenor voice on/off" },
    { "bass", "", 0, 1, 1, RT_PARAM_BOOL, "", "bass voice on/off" },
    { "temperature", "", 0, 2, 0.5f, RT_PARAM_FLOAT, "", "sampling temperature: 0 = always the likeliest note" },
    { "top_k", "", 0, RT_AI_VOCAB, 8, RT_PARAM_INT, "", "sample among the k likeliest tokens (0 = all)" },
    { "style", "", 0, 2, 0, RT_PARAM_ENUM, "chorale|arpeggio|bass+pad",
      "chorale: three sustained voices; arpeggio: the chord broken in 16ths; bass+pad: rhythmic bass under a held pad" },
    { "density", "", 0, 1, 1, RT_PARAM_FLOAT, "", "arpeggio / bass+pad rhythm: 1 = 16ths, 0.5 = 8ths, 0.25 = quarters, less = halves" },
    { "transpose", "semitones", -24, 24, 0, RT_PARAM_INT, "", "register of the AI voices" },
    { "velocity", "", 1, 127, 80, RT_PARAM_INT, "", "MIDI velocity of the AI's notes" },
    { "seed", "", 0, 65535, 1, RT_PARAM_INT, "", "random seed of the sampling (same seed, same playing)" },
    { "mode", "", 0, 1, 0, RT_PARAM_ENUM, "thread|inline",
      "thread: predicted ahead on an inference thread (default); inline: computed in the audio callback" },
    { "late_window", "ms", 0, 100, 30, RT_PARAM_FLOAT, "", "a player's note this late into a step still changes that step's harmony" },
    /* appended last: the indices above are part of saved OSC / MIDI maps */
    { "follow", "", 0, 1, 0, RT_PARAM_ENUM, "grid|reactive",
      "grid: the harmony changes on the 16th grid (up to late_window late); reactive: every new note re-harmonizes at its own sample" },
    { "personal", "", 0, 1, 0, RT_PARAM_FLOAT, "",
      "style memory: 0 = the model alone; 1 = memory_voice plays the player's own phrases (learned while playing); between: a blend" },
    { "memory_voice", "", 0, 2, 0, RT_PARAM_ENUM, "alto|tenor|bass",
      "the voice that answers from the style memory (the player's phrases, moved to its register by octaves)" },
};

#define N_CAND RT_AI_VOCAB
#define NV RT_AI_VOICES
#define BANKS 2                  /* candidate tables by step parity: t readable while t+1 is written */

typedef struct {                 /* audio thread -> worker: prepare `step` */
    int64_t step;
    int beat, reset;
    int melody_prev;             /* the token the model saw at step-1 (selects the state) */
    int melody_note;             /* the player's sounding note (orders the candidates), -1 none */
    int prev_tokens[NV];         /* what the AI played at step-1 (the model's `prev` input) */
    float temperature;
    int top_k;
    uint32_t seed;
    float personal;              /* style memory blend 0..1 */
    int memory_voice;
    int mem_ctx[RT_MEM_ORDER];   /* memory_voice's own last tokens (player's register), oldest first */
    int mem_n;
} ai_request_t;

typedef struct {
    double sr;
    const rt_transport_t *tr;
    rt_node_counters_t *ctr;
    rt_emit_fn emit;
    void *emit_ctx;
    float p[P_COUNT];

    rt_model_t *model;
    int S;                                   /* floats in the recurrent state */

    /* ---- worker ---- */
    pthread_t thread;
    int thread_running;
    sem_t wake;
    atomic_int quit;
    atomic_int busy;                         /* the worker is inside a batch (owns the model) */
    atomic_int claim;                        /* the audio thread is inside an inline step */
    ai_request_t req;                        /* written by audio, read by worker after req_seq */
    atomic_llong req_seq;
    /* bank = step & 1. A row is valid when its tag is the sequence number of the latest request
     * for that bank (bank_seq): rows of superseded batches never match. The worker writes a
     * row only while its tag does not match, so the audio thread never reads a row being written. */
    atomic_llong cand_tag[BANKS][N_CAND];
    int cand_tok[BANKS][N_CAND][NV];
    uint32_t cand_rng[BANKS][N_CAND];
    float *cand_state;                       /* BANKS * N_CAND * S, worker only */
    float *w_state;                          /* S, worker: state before the step it prepares */
    float *w_logits;                         /* NV * VOCAB */

    /* ---- inline / freewheel path (audio thread) ---- */
    float *i_state, *i_next, *i_logits;
    int i_prev[NV];
    uint32_t i_rng, i_rng_next;              /* the RNG before this step / after the last inline step */

    /* ---- audio thread ---- */
    int64_t cur_step;                        /* step sounding now, -1 none */
    int64_t step_start;                      /* frame of its first tick */
    int committed, picked_melody, fallback, started;
    int window_open;                         /* inside the late window (tick path re-picks) */
    int64_t bank_seq[BANKS];                 /* sequence number of the last request per bank */
    int played[NV];                          /* tokens the AI played this step (model's view) */
    int melody_note, melody_new;             /* the player's sounding note (-1 none), new since the step began */
    unsigned char held[128];
    int voice_note[NV];                      /* sounding pitch per voice (after transpose), -1 */
    int chord[NV];                           /* current chord pitches per voice (before transpose), -1 */
    int chord_before[NV];                    /* chord[] before this step's tokens: a re-pick applies
                                                its row to this, not on top of the discarded row */
    int arp_note;                            /* arpeggio / bass+pad: the struck note, -1 */
    int arp_channel;
    int style, mode;
    int64_t last_seq;
    int64_t first_step;                      /* first step prepared after a (re)start, -1 none */

    /* ---- style memory (the player's phrases; written by the audio thread, read by both) ---- */
    rt_style_memory_t mem;
    int vhist[RT_MEM_ORDER];                 /* [audio] memory_voice's tokens before this step */
    int vhist_n;
    float w_mem[RT_AI_VOCAB];                /* [worker] the memory's next-token distribution */
    float i_mem[RT_AI_VOCAB];                /* [audio] the same, inline / freewheel */
} ai_t;

/* ---- helpers ---------------------------------------------------------------- */
static int synchronous(const ai_t *s) { return s->mode == MODE_INLINE || s->tr->freewheel; }
static int reactive(const ai_t *s) { return s->p[P_FOLLOW] >= 0.5f; }

static void bump(_Atomic uint64_t *c)
{
    /* single writer (the audio thread): a relaxed load + store, no locked add */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

static int melody_token(int note, int is_new)
{
    if (note < 0) return RT_AI_REST;
    if (!is_new) return RT_AI_HOLD;
    while (note < RT_AI_PITCH_LO) note += 12;        /* fold into the model's range */
    while (note > RT_AI_PITCH_HI) note -= 12;
    return RT_AI_PITCH0 + note - RT_AI_PITCH_LO;
}

static void sample_tokens(const float *logits, float temperature, int top_k, uint32_t *rng, int *out)
{
    for (int v = 0; v < NV; v++)
        out[v] = rt_sample_token(logits + v * RT_AI_VOCAB, RT_AI_VOCAB, temperature, top_k, rng);
}

/* ---- style memory glue ---------------------------------------------------------------------
 * The memory holds the player's line at its own pitch; memory_voice plays it whole octaves
 * lower (alto: as played, tenor: -12, bass: -24), folded into the model's range. */
static const int MEMORY_SHIFT[NV] = { 0, -12, -24 };

static int shift_token(int tok, int semitones)
{
    if (tok < RT_AI_PITCH0 || semitones == 0) return tok;
    int p = RT_AI_PITCH_LO + tok - RT_AI_PITCH0 + semitones;
    while (p < RT_AI_PITCH_LO) p += 12;
    while (p > RT_AI_PITCH_HI) p -= 12;
    return RT_AI_PITCH0 + p - RT_AI_PITCH_LO;
}

static float uniform01(uint32_t *rng) { return (float)(rt_rand_u32(rng) >> 8) * (1.0f / 16777216.0f); }

/* The mixture (1 - w) * model + w * memory for one voice: the model's token was drawn already;
 * with probability w it is replaced by a draw from the memory (token in the player's register).
 * w = 1 draws no coin, so the memory alone decides. */
static void blend_memory(const float *dist, float w, int shift, uint32_t *rng, int *tok)
{
    if (w <= 0.0f) return;
    if (w < 1.0f && uniform01(rng) >= w) return;
    float u = uniform01(rng), c = 0.0f;
    int pick = -1, last = -1;
    for (int t = 0; t < RT_AI_VOCAB; t++) {
        if (dist[t] <= 0.0f) continue;
        last = t;
        c += dist[t];
        if (u < c) { pick = t; break; }
    }
    if (pick < 0) pick = last;                  /* rounding */
    if (pick >= 0) *tok = shift_token(pick, shift);
}

static int memory_voice(const ai_t *s) { return (int)s->p[P_MEMORY_VOICE] % NV; }

/* ---- worker thread ------------------------------------------------------------ */
static float *cand_row(ai_t *s, int bank, int m)
{
    return s->cand_state + ((size_t)bank * N_CAND + (size_t)m) * (size_t)s->S;
}

/* Nice value of the inference thread. With a real-time audio server the callback runs
 * SCHED_FIFO and nothing here can delay it; without one (jackd --no-realtime, a desktop
 * without rtprio) the callback is an ordinary thread too, and a 71-candidate burst of ONNX
 * Runtime work at nice 0 competes with it for the CPU (measured: overruns and xruns that a
 * patch without the AI does not have). At nice 5 the callback wins those contests; the thread
 * still has a whole 16th note to finish. */
#define AI_THREAD_NICE 5

static void *worker_main(void *arg)
{
    ai_t *s = arg;
    int64_t seen = 0;
    /* per-thread on Linux (the tid); failing is harmless: the thread runs at nice 0 */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), AI_THREAD_NICE);
    while (!atomic_load_explicit(&s->quit, memory_order_acquire)) {
        sem_wait(&s->wake);
        int64_t seq = atomic_load_explicit(&s->req_seq, memory_order_acquire);
        if (seq == seen) continue;
        if (seq & 1) { sem_post(&s->wake); continue; }     /* being written: look again */
        ai_request_t r = s->req;
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->req_seq, memory_order_relaxed) != seq) { sem_post(&s->wake); continue; }
        seen = seq;
        int prev[NV];
        uint32_t rng;
        /* Dekker handshake with inline_step(): announce, then look; at most one side proceeds */
        atomic_store_explicit(&s->busy, 1, memory_order_seq_cst);
        while (atomic_load_explicit(&s->claim, memory_order_seq_cst)) {
            atomic_store_explicit(&s->busy, 0, memory_order_seq_cst);
            struct timespec ts = { 0, 200000 };
            nanosleep(&ts, NULL);                    /* an inline step takes microseconds */
            atomic_store_explicit(&s->busy, 1, memory_order_seq_cst);
        }
        int bank = (int)(r.step & 1), pbank = bank ^ 1;       /* step-1's rows: the other bank */
        if (r.reset) {
            memset(s->w_state, 0, sizeof(float) * (size_t)s->S);
            for (int v = 0; v < NV; v++) prev[v] = RT_AI_REST;
            rng = r.seed ? r.seed : 1;
        } else {
            memcpy(s->w_state, cand_row(s, pbank, r.melody_prev), sizeof(float) * (size_t)s->S);
            memcpy(prev, r.prev_tokens, sizeof prev);
            rng = s->cand_rng[pbank][r.melody_prev];
        }
        /* likeliest first: the melody holds, rests, or moves to a near pitch. Each row is usable
         * on its own as soon as it is written, so a slow model still answers most steps. */
        /* the memory's proposal depends on the answering voice's past only: once per request */
        int use_mem = 0;
        if (r.personal > 0.0f) {
            uint32_t mrng = rng ^ 0x9E3779B9u;
            use_mem = rt_mem_predict(&s->mem, r.mem_ctx, r.mem_n, s->w_mem, &mrng) >= 0;
        }
        int order[N_CAND], k = 0, centre = r.melody_note >= 0 ? r.melody_note : 67;
        order[k++] = RT_AI_HOLD;
        order[k++] = RT_AI_REST;
        for (int d = 0; k < N_CAND && d <= RT_AI_PITCH_HI - RT_AI_PITCH_LO; d++) {
            int up = centre + d, down = centre - d;
            if (up >= RT_AI_PITCH_LO && up <= RT_AI_PITCH_HI) order[k++] = RT_AI_PITCH0 + up - RT_AI_PITCH_LO;
            if (d && down >= RT_AI_PITCH_LO && down <= RT_AI_PITCH_HI) order[k++] = RT_AI_PITCH0 + down - RT_AI_PITCH_LO;
        }
        for (int i = 0; i < k; i++) {
            if (atomic_load_explicit(&s->req_seq, memory_order_acquire) != seq) break;   /* superseded */
            int m = order[i];
            uint32_t crng = rng;
            rt_model_step(s->model, m, r.beat, prev, s->w_state, cand_row(s, bank, m), s->w_logits);
            sample_tokens(s->w_logits, r.temperature, r.top_k, &crng, s->cand_tok[bank][m]);
            if (use_mem)
                blend_memory(s->w_mem, r.personal, MEMORY_SHIFT[r.memory_voice], &crng,
                             &s->cand_tok[bank][m][r.memory_voice]);
            s->cand_rng[bank][m] = crng;
            atomic_store_explicit(&s->cand_tag[bank][m], seq, memory_order_release);
        }
        atomic_store_explicit(&s->busy, 0, memory_order_release);
    }
    return NULL;
}

/* [audio-thread] ask the worker for `step` (lock-free: a slot + a sequence number + sem_post) */
static void request(ai_t *s, int64_t step, int reset)
{
    /* a seqlock: odd while the slot is being written, so the worker never uses a torn request */
    atomic_store_explicit(&s->req_seq, ++s->last_seq, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    s->req.step = step;
    s->req.beat = (int)(step % RT_AI_BEATS);
    s->req.reset = reset;
    s->req.melody_prev = s->picked_melody < 0 ? RT_AI_REST : s->picked_melody;
    s->req.melody_note = s->melody_note;
    memcpy(s->req.prev_tokens, s->played, sizeof s->played);
    s->req.temperature = s->p[P_TEMPERATURE];
    s->req.top_k = (int)s->p[P_TOP_K];
    s->req.seed = (uint32_t)s->p[P_SEED] * 2654435761u + 1u;
    s->req.personal = s->p[P_PERSONAL];
    s->req.memory_voice = memory_voice(s);
    /* the voice's context for step+1: its tokens before this step, then this step's */
    int mv = s->req.memory_voice, n = 0;
    for (int i = s->vhist_n >= RT_MEM_ORDER ? 1 : 0; i < s->vhist_n; i++) s->req.mem_ctx[n++] = s->vhist[i];
    s->req.mem_ctx[n++] = shift_token(reset ? RT_AI_REST : s->played[mv], -MEMORY_SHIFT[mv]);
    s->req.mem_n = n;
    atomic_store_explicit(&s->req_seq, ++s->last_seq, memory_order_release);
    s->bank_seq[step & 1] = s->last_seq;         /* only rows of this request are valid now */
    sem_post(&s->wake);
}

/* ---- emitting notes ----------------------------------------------------------------- */
static void note(ai_t *s, int on, int pitch, int voice)
{
    rt_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = on ? RT_EV_NOTE_ON : RT_EV_NOTE_OFF;
    ev.channel = (uint8_t)(2 + voice);               /* alto 2, tenor 3, bass 4 */
    ev.data1 = (uint8_t)pitch;
    ev.data2 = on ? (uint8_t)s->p[P_VELOCITY] : 0;
    ev.node = RT_NODE_ROUTE;
    s->emit(s->emit_ctx, &ev);
}

static void release_all(ai_t *s)
{
    for (int v = 0; v < NV; v++)
        if (s->voice_note[v] >= 0) { note(s, 0, s->voice_note[v], v); s->voice_note[v] = -1; }
    if (s->arp_note >= 0) { note(s, 0, s->arp_note, s->arp_channel); s->arp_note = -1; }
}

static int voice_on(const ai_t *s, int v) { return s->p[P_ALTO + v] >= 0.5f; }

/* the arpeggio / bass patterns strike every `n` 16ths: 16ths, 8ths, quarters or halves */
static int pattern_every(float density)
{
    return density >= 0.99f ? 1 : density >= 0.5f ? 2 : density >= 0.25f ? 4 : 8;
}

/* [audio-thread] the AI's tokens for this step -> note events, in the chosen style */
static void play_tokens(ai_t *s, const int *tok, int64_t step, int restrike)
{
    int tr = (int)s->p[P_TRANSPOSE];
    for (int v = 0; v < NV; v++) {
        if (tok[v] == RT_AI_REST) s->chord[v] = -1;
        else if (tok[v] >= RT_AI_PITCH0) s->chord[v] = RT_AI_PITCH_LO + tok[v] - RT_AI_PITCH0;
    }
    for (int v = 0; v < NV; v++) {
        int sustained = s->style == STYLE_CHORALE || (s->style == STYLE_BASS_PAD && v < 2);
        int want = (voice_on(s, v) && sustained && s->chord[v] >= 0) ? rt_clampf(s->chord[v] + tr, 0, 127) : -1;
        int changed = tok[v] >= RT_AI_PITCH0 || want < 0;
        if (s->voice_note[v] >= 0 && (changed || want != s->voice_note[v])) {
            note(s, 0, s->voice_note[v], v);
            s->voice_note[v] = -1;
        }
        if (want >= 0 && s->voice_note[v] < 0) { note(s, 1, want, v); s->voice_note[v] = want; }
    }
    if (s->style == STYLE_CHORALE || !restrike) return;
    /* arpeggio: bass, tenor, alto, tenor ...; bass+pad: the bass, struck on the pattern */
    int every = pattern_every(s->p[P_DENSITY]);
    if (step % every != 0) return;
    int v = 2;
    if (s->style == STYLE_ARPEGGIO) {
        static const int order[4] = { 2, 1, 0, 1 };
        v = order[(step / every) % 4];
        for (int k = 0; k < 4 && (s->chord[v] < 0 || !voice_on(s, v)); k++) v = order[(step / every + k + 1) % 4];
    }
    if (s->arp_note >= 0) { note(s, 0, s->arp_note, s->arp_channel); s->arp_note = -1; }
    if (s->chord[v] >= 0 && voice_on(s, v)) {
        int pitch = (int)rt_clampf(s->chord[v] + tr, 0, 127);
        note(s, 1, pitch, v);
        s->arp_note = pitch;
        s->arp_channel = v;
    }
}

/* [audio-thread] inline / freewheel: run the one step needed, from the committed state.
 * The model's buffers are shared with the worker: if it is still inside a batch (a switch from
 * the thread mode a moment ago), hold instead of waiting. Returns 0 when it could not run. */
static int inline_step(ai_t *s, int64_t step, int melody, int *out)
{
    atomic_store_explicit(&s->claim, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&s->busy, memory_order_seq_cst)) {
        atomic_store_explicit(&s->claim, 0, memory_order_release);
        for (int v = 0; v < NV; v++) out[v] = RT_AI_HOLD;
        return 0;
    }
    uint32_t rng = s->i_rng;
    rt_model_step(s->model, melody, (int)(step % RT_AI_BEATS), s->i_prev, s->i_state, s->i_next, s->i_logits);
    atomic_store_explicit(&s->claim, 0, memory_order_release);
    sample_tokens(s->i_logits, s->p[P_TEMPERATURE], (int)s->p[P_TOP_K], &rng, out);
    if (s->p[P_PERSONAL] > 0.0f) {
        /* inline / offline: the memory scan (bounded, ~65k comparisons) runs right here */
        int mv = memory_voice(s);
        uint32_t mrng = s->i_rng ^ 0x9E3779B9u;
        if (rt_mem_predict(&s->mem, s->vhist, s->vhist_n, s->i_mem, &mrng) >= 0)
            blend_memory(s->i_mem, s->p[P_PERSONAL], MEMORY_SHIFT[mv], &rng, &out[mv]);
    }
    s->i_rng_next = rng;                         /* kept until commit */
    return 1;
}

static void commit(ai_t *s)
{
    s->committed = 1;
    s->window_open = 0;
    if (synchronous(s)) {
        if (s->fallback) return;                 /* nothing ran: the state stays where it was */
        float *t = s->i_state; s->i_state = s->i_next; s->i_next = t;   /* the state after this step */
        s->i_rng = s->i_rng_next;
        memcpy(s->i_prev, s->played, sizeof s->played);
        return;
    }
    request(s, s->cur_step + 1, 0);
}

/* [audio-thread] the candidate row of melody token m for the current step, if it is written */
static int row_ready(ai_t *s, int m)
{
    int b = (int)(s->cur_step & 1);
    return atomic_load_explicit(&s->cand_tag[b][m], memory_order_acquire) == s->bank_seq[b];
}


/* [audio-thread] the step that just ended goes into the memories: the player's melody token
 * (what the model heard) and the answering voice's token (its own context) */
static void remember_step(ai_t *s)
{
    rt_mem_append(&s->mem, s->picked_melody);
    int mv = memory_voice(s);
    if (s->vhist_n == RT_MEM_ORDER) {
        memmove(s->vhist, s->vhist + 1, sizeof(int) * (RT_MEM_ORDER - 1));
        s->vhist_n--;
    }
    s->vhist[s->vhist_n++] = shift_token(s->played[mv], -MEMORY_SHIFT[mv]);
}

static void begin_step(ai_t *s, int64_t step)
{
    if (s->started) remember_step(s);
    s->cur_step = step;
    s->step_start = s->tr->now;
    s->committed = 0;
    s->window_open = 1;
    int m = melody_token(s->melody_note, s->melody_new);
    s->melody_new = 0;
    s->picked_melody = m;
    s->fallback = 0;
    int tok[NV];
    if (synchronous(s)) {
        s->fallback = !inline_step(s, step, m, tok);
    } else if (row_ready(s, m)) {
        memcpy(tok, s->cand_tok[s->cur_step & 1][m], sizeof tok);
    } else {
        for (int v = 0; v < NV; v++) tok[v] = RT_AI_HOLD;
        s->fallback = 1;
    }
    if (s->fallback) {
        /* late: the chord is held (the musical fallback), and counted */
        if (s->started) bump(&s->ctr->ai_missed_deadlines);
    }
    s->started = 1;
    memcpy(s->played, tok, sizeof tok);
    memcpy(s->chord_before, s->chord, sizeof s->chord);
    play_tokens(s, tok, step, 1);
    bump(&s->ctr->ai_steps);
}

/* [audio-thread] a player's note arrived after the step began: re-pick this step's row.
 * Grid mode: only inside the late window (before the commit). Reactive mode: anywhere in the
 * step; after the commit the worker is asked again for step+1, from this pick. */
static void repick(ai_t *s, int count_miss)
{
    int m = melody_token(s->melody_note, 1);
    if (m == s->picked_melody) { s->melody_new = 0; return; }
    int tok[NV], ok;
    if (synchronous(s)) ok = inline_step(s, s->cur_step, m, tok);
    else if ((ok = row_ready(s, m))) memcpy(tok, s->cand_tok[s->cur_step & 1][m], sizeof tok);
    if (!ok) {
        /* grid: the onset is dropped, as before. reactive: counted, and the note stays new
         * so the next step (or a later tick inside the window) takes it */
        if (!reactive(s)) s->melody_new = 0;
        else if (count_miss) bump(&s->ctr->ai_missed_notes);
        return;
    }
    s->melody_new = 0;
    s->picked_melody = m;
    s->fallback = 0;
    memcpy(s->played, tok, sizeof tok);
    memcpy(s->chord, s->chord_before, sizeof s->chord);   /* HOLD means the chord of step-1 */
    play_tokens(s, tok, s->cur_step, 0);
    bump(&s->ctr->ai_late_notes);
    if (s->committed && !synchronous(s)) request(s, s->cur_step + 1, 0);
}

static void reset_performance(ai_t *s)
{
    release_all(s);
    s->cur_step = -1;
    s->first_step = -1;
    s->started = 0;
    s->committed = 1;
    s->window_open = 0;
    s->picked_melody = RT_AI_REST;
    s->vhist_n = 0;                          /* the voice's past; the memory of the player stays */
    for (int v = 0; v < NV; v++) { s->played[v] = RT_AI_REST; s->chord[v] = -1; s->i_prev[v] = RT_AI_REST; }
    if (s->i_state) memset(s->i_state, 0, sizeof(float) * (size_t)s->S);
    s->i_rng = (uint32_t)s->p[P_SEED] * 2654435761u + 1u;
}

/* ---- node callbacks ----------------------------------------------------------------- */
static int ai_init(void *st, const rt_node_env_t *env, const float *p)
{
    ai_t *s = st;
    s->sr = env->sample_rate;
    s->tr = env->transport;
    s->ctr = env->counters;
    s->emit = env->emit;
    s->emit_ctx = env->emit_ctx;
    memcpy(s->p, p, sizeof s->p);
    s->melody_note = -1;
    s->arp_note = -1;
    for (int v = 0; v < NV; v++) s->voice_note[v] = -1;
    atomic_init(&s->req_seq, 0);
    for (int b = 0; b < BANKS; b++) {
        s->bank_seq[b] = -1;                 /* no request yet: no row is valid */
        for (int m = 0; m < N_CAND; m++) atomic_init(&s->cand_tag[b][m], 0);
    }
    atomic_init(&s->quit, 0);
    atomic_init(&s->busy, 0);
    atomic_init(&s->claim, 0);
    rt_mem_clear(&s->mem);
    reset_performance(s);
    return RT_OK;
}

static void stop_worker(ai_t *s)
{
    if (!s->thread_running) return;
    atomic_store(&s->quit, 1);
    sem_post(&s->wake);
    pthread_join(s->thread, NULL);
    sem_destroy(&s->wake);
    s->thread_running = 0;
}

static void ai_destroy(void *st)
{
    ai_t *s = st;
    stop_worker(s);
    if (s->model) rt_model_close(s->model);
    free(s->cand_state); free(s->w_state); free(s->w_logits);
    free(s->i_state); free(s->i_next); free(s->i_logits);
}

static int ai_configure(void *st, const char *key, const char *value, char *err, int err_len)
{
    ai_t *s = st;
    if (strcmp(key, "ort") == 0) return rt_ort_init(value, err, err_len);
    if (strcmp(key, "model") != 0) {
        if (err && err_len > 0) snprintf(err, (size_t)err_len, "unknown setting '%s' (allowed: model, ort)", key);
        return RT_ERR_NOT_FOUND;
    }
    if (s->model) return RT_ERR_STATE;
    rt_model_t *m = NULL;
    int rc = rt_model_open(value, &m, err, err_len);
    if (rc < 0) return rc;
    int S = rt_model_state_size(m);
    s->cand_state = calloc((size_t)BANKS * N_CAND * (size_t)S, sizeof(float));
    s->w_state = calloc((size_t)S, sizeof(float));
    s->w_logits = calloc(NV * RT_AI_VOCAB, sizeof(float));
    s->i_state = calloc((size_t)S, sizeof(float));
    s->i_next = calloc((size_t)S, sizeof(float));
    s->i_logits = calloc(NV * RT_AI_VOCAB, sizeof(float));
    if (!s->cand_state || !s->w_state || !s->w_logits || !s->i_state || !s->i_next || !s->i_logits) {
        rt_model_close(m);
        return RT_ERR_NOMEM;
    }
    s->model = m;
    s->S = S;
    if (sem_init(&s->wake, 0, 0) != 0 || pthread_create(&s->thread, NULL, worker_main, s) != 0) {
        if (err && err_len > 0) snprintf(err, (size_t)err_len, "%s: cannot start the inference thread", value);
        return RT_ERR_NOMEM;
    }
    s->thread_running = 1;
    return RT_OK;
}

/* [audio-thread] the 16th step sounding at the current frame; -1 before beat 0 */
static int64_t step_now(const ai_t *s)
{
    const rt_transport_t *tr = s->tr;
    double step_frames = s->sr * 60.0 / (tr->tempo * 4.0);
    int64_t pos = tr->now - tr->origin;
    return pos < 0 ? -1 : (int64_t)floor((double)pos / step_frames);
}

/* [audio-thread] follow the musical clock at the current frame: a control tick, or (reactive
 * mode) a player's note-on, which may fall past a step boundary before the tick that would
 * begin that step: the step then begins at the note's frame. */
static void follow_transport(ai_t *s)
{
    const rt_transport_t *tr = s->tr;
    if (!tr->playing || s->p[P_ENABLED] < 0.5f) {
        if (s->cur_step >= 0 || s->arp_note >= 0) reset_performance(s);
        return;
    }
    int threaded = !synchronous(s);
    int64_t step = step_now(s);
    if (step < 0) {                                  /* beat 0 lies ahead: prepare step 0 */
        if (threaded && s->first_step < 0) { request(s, 0, 1); s->first_step = 0; }
        return;
    }
    if (step == s->cur_step) {
        if (s->window_open) {
            if (s->melody_new) repick(s, 0);
            if ((double)(tr->now - s->step_start) >= s->p[P_LATE_WINDOW] * 0.001 * s->sr) {
                s->window_open = 0;
                /* the worker starts on step+1 now; inline / freewheel reactive mode keeps the
                 * state before this step until its end, for re-picks anywhere in it */
                if (!(reactive(s) && !threaded)) commit(s);
            }
        }
        return;
    }
    if (s->cur_step >= 0) {
        if (!s->committed) commit(s);
    } else if (threaded) {
        /* not started: the first step we can be ready for is the next one */
        if (s->first_step < 0) { request(s, step + 1, 1); s->first_step = step + 1; }
        if (step < s->first_step) return;
    }
    begin_step(s, step);
}

/* [audio-thread] reactive mode: a new note-on re-harmonizes now, at its own frame */
static void react(ai_t *s)
{
    if (!s->model || !s->tr->playing || s->p[P_ENABLED] < 0.5f) return;
    if (step_now(s) != s->cur_step) { follow_transport(s); return; }   /* a new step begins here */
    if (s->cur_step >= 0 && s->melody_new) repick(s, 1);
}

static void ai_event(void *st, const rt_event_t *ev)
{
    ai_t *s = st;
    int n = ev->data1 & 127;
    switch (ev->type) {
    case RT_EV_NOTE_ON:
        if (ev->data2 > 0) {
            s->held[n] = 1; s->melody_note = n; s->melody_new = 1;
            if (reactive(s)) react(s);
            break;
        }
        __attribute__((fallthrough));     /* velocity 0 is a note-off */
    case RT_EV_NOTE_OFF:
        s->held[n] = 0;
        if (n == s->melody_note) {
            s->melody_note = -1;
            for (int k = 127; k >= 0; k--) if (s->held[k]) { s->melody_note = k; s->melody_new = 1; break; }
        }
        break;
    case RT_EV_CC:
        if (ev->data1 == 120 || ev->data1 == 123) { memset(s->held, 0, sizeof s->held); s->melody_note = -1; }
        break;
    case RT_EV_ALL_NOTES_OFF:
        memset(s->held, 0, sizeof s->held);
        s->melody_note = -1;
        break;
    default: break;
    }
}

static void ai_control(void *st, const float *p, int frames)
{
    ai_t *s = st;
    int style = (int)p[P_STYLE], mode = (int)p[P_MODE];
    int restart = frames == 0 || style != s->style || mode != s->mode
               || (p[P_SEED] != s->p[P_SEED]) || ((p[P_ENABLED] >= 0.5f) != (s->p[P_ENABLED] >= 0.5f));
    memcpy(s->p, p, sizeof s->p);
    if (restart) {               /* also at preparation (frames == 0): seeds the RNG from the patch */
        s->style = style;
        s->mode = mode;
        reset_performance(s);
    }
    if (!s->model || frames == 0) return;
    follow_transport(s);
}

static void ai_process(void *st, const float *const *in, float *const *out, int n)
{
    (void)st; (void)in;
    for (int i = 0; i < n; i++) out[0][i] = out[1][i] = 0.0f;   /* a controller makes no sound */
}

const rt_node_class_t rt_node_ai = {
    .name = "ai", .doc = "AI accompanist: alto, tenor and bass answering the melody it hears (ONNX model)",
    .flags = RT_NODE_RECEIVES_NOTES | RT_NODE_CONTROLLER, .params = params, .n_params = P_COUNT,
    .state_size = sizeof(ai_t), .init = ai_init, .destroy = ai_destroy, .control = ai_control,
    .process = ai_process, .event = ai_event, .configure = ai_configure,
};
