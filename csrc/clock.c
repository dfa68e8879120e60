/* clock.c -- following an external clock (Ableton Link, MIDI clock in): anchors in through a
 * ring, the musical clock's origin and tempo moved on the audio thread at block starts. */
#include <math.h>
#include "engine_internal.h"

static inline void bump(atomic_uint_fast64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

int rt_engine_clock_anchor(rt_engine_t *e, const rt_clock_anchor_t *a)
{
    if (!e || !a) return RT_ERR_INVALID;
    if (!e->active) return RT_ERR_STATE;
    if (!(a->tempo >= 1.0 && a->tempo <= 1000.0) || !isfinite(a->beat)) return RT_ERR_RANGE;
    pthread_mutex_lock(&e->clock_lock);              /* producers take turns; never the audio thread */
    int ok = rt_ring_push(&e->clock_in, a);
    pthread_mutex_unlock(&e->clock_lock);
    return ok ? RT_OK : RT_ERR_FULL;
}

/* [audio-thread] one anchor: where the beat should be, and how fast it goes */
static void take_anchor(rt_engine_t *e, const rt_clock_anchor_t *a)
{
    rt_transport_t *tr = &e->transport;
    bump(&e->c_clock_anchors);
    if (a->playing == 0) {                           /* the source stopped */
        tr->playing = 0;
        e->clock_slewing = 0;
        return;
    }
    double target = (double)a->frame - a->beat * 60.0 * e->sample_rate / a->tempo;
    double err = target - (double)tr->origin;
    int starting = a->playing == 1 && !tr->playing;
    tr->tempo = a->tempo;
    atomic_store_explicit(&e->clock_error_ms, starting ? 0.0 : err / e->sample_rate * 1000.0,
                          memory_order_relaxed);
    if (starting || a->jump || fabs(err) > RT_CLOCK_JUMP_MS * 0.001 * e->sample_rate) {
        tr->origin = (int64_t)llround(target);       /* joining, or too far to slew: at once */
        e->clock_slewing = 0;
        if (!starting) bump(&e->c_clock_jumps);
        if (starting) tr->playing = 1;
        return;
    }
    e->clock_target = target;                        /* close: glide there (see rt_clock_block) */
    e->clock_slewing = 1;
}

/* [audio-thread] at a block start: take the anchors that came (bounded by the ring), then move
 * the origin a little toward the one they ask for -- at most 5 % (RT_CLOCK_SLEW_PERMILLE) of the block,
 * so the beat runs at most 5 % fast or slow while it catches up (10 ms in 0.2 s), and no 16th is skipped. */
void rt_clock_block(rt_engine_t *e, int frames)
{
    rt_clock_anchor_t a;
    for (int k = 0; k < RT_CLOCK_RING_SIZE && rt_ring_pop(&e->clock_in, &a); k++) take_anchor(e, &a);
    if (!e->clock_slewing) return;
    rt_transport_t *tr = &e->transport;
    double d = e->clock_target - (double)tr->origin;
    double step = RT_CLOCK_SLEW_PERMILLE * 0.001 * frames;
    if (fabs(d) <= step) {
        tr->origin = (int64_t)llround(e->clock_target);
        e->clock_slewing = 0;
        return;
    }
    tr->origin += (int64_t)llround(d > 0 ? step : -step);
}
