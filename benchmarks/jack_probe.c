/*
 * jack_probe.c -- the measuring JACK client of rtcore's tests and benchmarks.
 *
 * Why C: a JACK process callback written in Python needs the GIL in the JACK thread.
 * python-rtmidi keeps the GIL while it opens or closes a JACK client, a server round trip
 * that waits for the graph to finish a cycle -- which waits for that Python callback: a
 * deadlock. And a Python callback is late now and then (the GIL, a garbage collection):
 * the server counts an xrun that is the measuring client's, not rtcore's. This client's
 * process callback never touches Python, never blocks, never allocates.
 *
 * Usage: jack_probe SERVER CLIENT N_AUDIO MIDI SECONDS
 *   N_AUDIO  audio input ports (0-2), "in_1", "in_2"
 *   MIDI     "-", "in", "out" or "inout": a MIDI input port "midi_in" / output port "midi_out"
 *   SECONDS  audio recording capacity
 * It prints "client NAME", one "port KIND FULLNAME" line per port and "ready RATE PERIOD",
 * or "error MESSAGE" and exits 1. Then it reads one command per line on stdin and answers
 * each with one line, "ok ..." or "err ...":
 *   arm              record audio from the next cycle on (its first frame is frame 0 of the
 *                    recording; the recording is NaN-filled first, frames never seen stay NaN);
 *                    the MIDI input log restarts too
 *   disarm           stop recording audio (answered once the process thread has stopped)
 *   dump PATH        write the recording so far, frames x channels float32 interleaved, raw
 *                    -> "ok t0=FRAME|-1 frames=N channels=C"
 *   midi FRAME B..   queue a MIDI message (1-16 bytes, decimal or 0x..) for absolute JACK
 *                    frame FRAME; queue them in frame order ("note" is the same command)
 *   flush            drop the queued messages not yet written -> "ok N"
 *   clear            restart the MIDI output log and the late/dropped counters
 *   midi_in K        MIDI received, from log entry K on -> "ok FRAME:HEX ..."
 *   midi_out K       MIDI written, from entry K on -> "ok FRAME:PLANNED:DONE:HEX ..." (DONE:
 *                    frames into its cycle when it had been written)
 *   xruns K          server xruns from the K-th on -> "ok FRAME:CLOCK_MONOTONIC_NS ..."
 *   now              -> "ok FRAME_TIME CYCLE_START PERIOD RATE" (jack_frame_time(); the first
 *                    frame of the last cycle this client ran in)
 *   status           -> "ok key=value ..." (counters)
 *   quit             close the client, answer "ok", exit (so does the end of stdin)
 *
 * Threads: the JACK process thread (real time) and the JACK notification thread (xruns)
 * share state with the control thread (main) through C11 atomics only; every buffer is
 * allocated, touched and locked in memory before the client is activated. Requests that
 * change the recording state (arm, disarm, clear, flush) are posted in a one-slot mailbox
 * and applied by the process thread itself at the start of its next cycle, so the process
 * thread owns that state and never waits for anyone; the control thread waits for the
 * acknowledgement (at most about one period).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <jack/jack.h>
#include <jack/midiport.h>

#define MAX_AUDIO 2
#define MIDI_BYTES 16            /* longer messages are queued/logged truncated to this */
#define QUEUE_CAP 32768u         /* MIDI out queue (a power of two: indices wrap by mask) */
#define LOG_CAP 32768u           /* MIDI in log, MIDI out log */
#define XRUN_CAP 8192u

typedef struct {
    uint32_t frame;              /* absolute JACK frame (written: where it went) */
    uint32_t planned;            /* out log: the frame it was queued for */
    uint32_t done;               /* out log: frames since the cycle start once written */
    uint16_t size;               /* the message's real size (bytes beyond MIDI_BYTES dropped) */
    uint8_t data[MIDI_BYTES];
} midi_rec_t;

enum { REQ_NONE, REQ_ARM, REQ_DISARM, REQ_CLEAR, REQ_FLUSH };

static jack_client_t *client;
static jack_port_t *audio_in[MAX_AUDIO], *midi_in, *midi_out;
static int n_audio;

/* Preallocated before activation; the process thread only indexes into them. */
static float *audio;             /* cap_frames x n_audio, interleaved */
static uint32_t cap_frames;
static midi_rec_t *queue, *in_log, *out_log;
static uint32_t *xrun_frame;
static uint64_t *xrun_ns;

/* Mailbox control -> process: the control thread writes req_op, then bumps req_seq
 * (release); the process thread applies it and stores req_ack = req_seq (release). */
static int req_op;
static atomic_uint req_seq, req_ack;

/* Owned (written) by the process thread; the control thread reads them. */
static atomic_int armed, have_t0;
static atomic_uint t0, end_frame, last_cycle, cycles, gaps;
static atomic_uint in_count, in_overflow, out_count, out_overflow, late, dropped;
static atomic_uint q_read;       /* MIDI out queue: consumer index (process thread) */
static atomic_uint q_write;      /* ... producer index (control thread) */
static atomic_uint xrun_count;   /* written by the notification thread only */
static atomic_int server_gone;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);        /* vDSO: no system call, no lock */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* [process thread] apply a request of the control thread (O(1): counters and indices) */
static void apply_request(jack_nframes_t t)
{
    unsigned seq = atomic_load_explicit(&req_seq, memory_order_acquire);
    if (seq == atomic_load_explicit(&req_ack, memory_order_relaxed))
        return;
    switch (req_op) {
    case REQ_ARM:               /* the control thread NaN-filled the buffer while disarmed */
        atomic_store_explicit(&t0, t, memory_order_relaxed);
        atomic_store_explicit(&have_t0, 1, memory_order_relaxed);
        atomic_store_explicit(&end_frame, 0, memory_order_relaxed);
        atomic_store_explicit(&in_count, 0, memory_order_relaxed);
        atomic_store_explicit(&in_overflow, 0, memory_order_relaxed);
        atomic_store_explicit(&armed, 1, memory_order_relaxed);
        break;
    case REQ_DISARM:
        atomic_store_explicit(&armed, 0, memory_order_relaxed);
        break;
    case REQ_CLEAR:
        atomic_store_explicit(&out_count, 0, memory_order_relaxed);
        atomic_store_explicit(&out_overflow, 0, memory_order_relaxed);
        atomic_store_explicit(&late, 0, memory_order_relaxed);
        atomic_store_explicit(&dropped, 0, memory_order_relaxed);
        break;
    case REQ_FLUSH:              /* the consumer skips to the producer's index */
        atomic_store_explicit(&q_read, atomic_load_explicit(&q_write, memory_order_acquire),
                              memory_order_relaxed);
        break;
    }
    atomic_store_explicit(&req_ack, seq, memory_order_release);   /* publishes the above */
}

/* [process thread, real time] No malloc, no locks, no I/O, no waiting: copies into
 * preallocated memory, libjack's lock-free port buffer calls, atomic loads and stores. */
static int process(jack_nframes_t n, void *arg)
{
    (void)arg;
    jack_nframes_t t = jack_last_frame_time(client);
    static jack_nframes_t prev_t, prev_n;       /* this thread's own */
    if (prev_n && t != prev_t + prev_n)
        atomic_fetch_add_explicit(&gaps, 1, memory_order_relaxed);   /* a cycle we did not run in */
    prev_t = t, prev_n = n;

    apply_request(t);

    /* (a) audio by JACK frame: frame i of the recording is JACK frame t0 + i */
    if (atomic_load_explicit(&armed, memory_order_relaxed)) {
        uint32_t i = t - atomic_load_explicit(&t0, memory_order_relaxed);   /* wraps like JACK's */
        if (i <= cap_frames && n <= cap_frames - i) {
            for (int c = 0; c < n_audio; c++) {
                const float *src = jack_port_get_buffer(audio_in[c], n);
                float *dst = audio + (size_t)i * n_audio + c;
                for (jack_nframes_t k = 0; k < n; k++)
                    dst[(size_t)k * n_audio] = src[k];
            }
            atomic_store_explicit(&end_frame, i + n, memory_order_release);   /* frames before it are final */
        }
    }

    /* (b) every incoming MIDI event at its absolute JACK frame */
    if (midi_in) {
        void *buf = jack_port_get_buffer(midi_in, n);
        uint32_t count = jack_midi_get_event_count(buf);
        uint32_t w = atomic_load_explicit(&in_count, memory_order_relaxed);
        for (uint32_t k = 0; k < count; k++) {
            jack_midi_event_t ev;
            if (jack_midi_event_get(&ev, buf, k) != 0)
                continue;
            if (w >= LOG_CAP) {
                atomic_fetch_add_explicit(&in_overflow, 1, memory_order_relaxed);
                continue;
            }
            midi_rec_t *r = &in_log[w];
            r->frame = r->planned = t + ev.time;
            r->done = 0;
            r->size = (uint16_t)(ev.size > 0xffff ? 0xffff : ev.size);
            memcpy(r->data, ev.buffer, ev.size < MIDI_BYTES ? ev.size : MIDI_BYTES);
            atomic_store_explicit(&in_count, ++w, memory_order_release);   /* the entry is complete */
        }
    }

    /* (c) queued MIDI out at its absolute frame; a message whose frame is past goes out at
     * offset 0 of this cycle, counted late. The output buffer is cleared every cycle. */
    if (midi_out) {
        void *buf = jack_port_get_buffer(midi_out, n);
        jack_midi_clear_buffer(buf);
        uint32_t r = atomic_load_explicit(&q_read, memory_order_relaxed);
        uint32_t w = atomic_load_explicit(&q_write, memory_order_acquire);   /* entries before w are complete */
        uint32_t o = atomic_load_explicit(&out_count, memory_order_relaxed);
        jack_nframes_t last_off = 0;
        for (; r != w; r++) {
            const midi_rec_t *e = &queue[r & (QUEUE_CAP - 1)];
            int32_t d = (int32_t)(e->frame - t);          /* from this cycle's start, wrap-safe */
            if (d >= (int32_t)n)
                break;                                      /* due in a later cycle */
            jack_nframes_t off = d < 0 ? 0 : (jack_nframes_t)d;
            if (d < 0)
                atomic_fetch_add_explicit(&late, 1, memory_order_relaxed);
            if (off < last_off)
                off = last_off;                             /* JACK wants non-decreasing times */
            if (jack_midi_event_write(buf, off, e->data, e->size) != 0) {
                atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);   /* buffer full */
                continue;
            }
            last_off = off;
            if (o < LOG_CAP) {
                midi_rec_t *l = &out_log[o];
                *l = *e;
                l->planned = e->frame;
                l->frame = t + off;
                l->done = jack_frames_since_cycle_start(client);   /* reads the clock: no lock */
                atomic_store_explicit(&out_count, ++o, memory_order_release);
            } else {
                atomic_fetch_add_explicit(&out_overflow, 1, memory_order_relaxed);
            }
        }
        atomic_store_explicit(&q_read, r, memory_order_release);   /* the slots may be reused */
    }

    atomic_store_explicit(&last_cycle, t, memory_order_relaxed);
    atomic_fetch_add_explicit(&cycles, 1, memory_order_release);
    return 0;
}

/* [notification thread] the server's xruns: an atomic counter and a preallocated log (this
 * thread is the only writer) */
static int on_xrun(void *arg)
{
    (void)arg;
    unsigned k = atomic_load_explicit(&xrun_count, memory_order_relaxed);
    if (k < XRUN_CAP) {
        xrun_frame[k] = jack_frame_time(client);
        xrun_ns[k] = mono_ns();
    }
    atomic_store_explicit(&xrun_count, k + 1, memory_order_release);
    return 0;
}

/* [libjack's thread] the server went away: only a flag */
static void on_shutdown(void *arg)
{
    (void)arg;
    atomic_store(&server_gone, 1);
}

/* ---- the control thread -------------------------------------------------------------- */

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

/* Wait until the process thread has applied request number seq (a cycle at most). With
 * the server gone no cycle comes: apply it here (the process thread no longer runs). */
static int wait_ack(unsigned seq)
{
    for (int k = 0; k < 20000; k++) {                 /* 4 s */
        if (atomic_load_explicit(&req_ack, memory_order_acquire) == seq)
            return 0;
        if (atomic_load(&server_gone)) {
            apply_request(atomic_load(&last_cycle));
            return 0;
        }
        sleep_us(200);
    }
    return -1;
}

/* Post a request once the previous one has been applied (req_op is only ever written while
 * no request is pending, so the process thread never reads it half-written). */
static int request(int op)
{
    unsigned seq = atomic_load(&req_seq);
    if (wait_ack(seq) < 0)
        return -1;
    req_op = op;
    atomic_store_explicit(&req_seq, seq + 1, memory_order_release);
    return wait_ack(seq + 1);
}

static void hex(char *out, const midi_rec_t *r)
{
    int n = r->size < MIDI_BYTES ? r->size : MIDI_BYTES;
    for (int i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", r->data[i]);
    out[2 * n] = 0;
}

/* "ok" and the entries [from, count) of a log, one token each */
static void print_log(const midi_rec_t *log, unsigned count, unsigned from, int out)
{
    char h[2 * MIDI_BYTES + 1];
    fputs("ok", stdout);
    for (unsigned k = from; k < count && k < LOG_CAP; k++) {
        hex(h, &log[k]);
        if (out)
            printf(" %u:%u:%u:%s", log[k].frame, log[k].planned, log[k].done, h);
        else
            printf(" %u:%s", log[k].frame, h);
    }
    reply("%s", "");
}

static void *alloc_locked(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (p) {
        memset(p, 0, bytes);                          /* fault every page in now, not in the RT thread */
        mlock(p, bytes);                              /* best effort: keep them resident */
    }
    return p;
}

static int command(char *line)
{
    char *save = NULL, *cmd = strtok_r(line, " \t\r\n", &save);
    if (!cmd)
        return 0;
    if (!strcmp(cmd, "quit"))
        return 1;
    if (!strcmp(cmd, "arm")) {
        if (request(REQ_DISARM) < 0)
            return reply("err the process thread does not run"), 0;
        for (size_t k = 0; k < (size_t)cap_frames * n_audio; k++)   /* disarmed: ours alone */
            audio[k] = NAN;
        reply("%s", request(REQ_ARM) < 0 ? "err the process thread does not run" : "ok");
    } else if (!strcmp(cmd, "disarm") || !strcmp(cmd, "clear") || !strcmp(cmd, "flush")) {
        int op = cmd[0] == 'd' ? REQ_DISARM : cmd[0] == 'c' ? REQ_CLEAR : REQ_FLUSH;
        unsigned before = atomic_load(&q_write) - atomic_load(&q_read);
        if (request(op) < 0)
            reply("err the process thread does not run");
        else if (op == REQ_FLUSH)
            reply("ok %u", before);
        else
            reply("ok");
    } else if (!strcmp(cmd, "dump")) {
        char *path = strtok_r(NULL, "\r\n", &save);
        uint32_t end = atomic_load_explicit(&end_frame, memory_order_acquire);
        int have = atomic_load(&have_t0);
        FILE *f = path ? fopen(path, "wb") : NULL;
        if (!f)
            return reply("err cannot write %s: %s", path ? path : "(no path)", strerror(errno)), 0;
        size_t want = (size_t)end * n_audio;
        size_t wrote = want ? fwrite(audio, sizeof(float), want, f) : 0;
        if (fclose(f) != 0 || wrote != want)
            return reply("err writing %s failed", path), 0;
        reply("ok t0=%lld frames=%u channels=%d", have ? (long long)atomic_load(&t0) : -1LL, end, n_audio);
    } else if (!strcmp(cmd, "midi") || !strcmp(cmd, "note")) {
        char *tok = strtok_r(NULL, " \t\r\n", &save);
        if (!midi_out || !tok)
            return reply("%s", midi_out ? "err usage: midi FRAME BYTE..." : "err no MIDI output port"), 0;
        uint32_t w = atomic_load_explicit(&q_write, memory_order_relaxed);
        if (w - atomic_load_explicit(&q_read, memory_order_acquire) >= QUEUE_CAP)
            return reply("err queue full"), 0;
        midi_rec_t *e = &queue[w & (QUEUE_CAP - 1)];   /* a free slot: the consumer is past it */
        e->frame = (uint32_t)strtoul(tok, NULL, 0);
        e->size = 0;
        while ((tok = strtok_r(NULL, " \t\r\n", &save)) && e->size < MIDI_BYTES)
            e->data[e->size++] = (uint8_t)strtoul(tok, NULL, 0);
        if (!e->size)
            return reply("err no bytes"), 0;
        atomic_store_explicit(&q_write, w + 1, memory_order_release);   /* publishes the slot */
        reply("ok");
    } else if (!strcmp(cmd, "midi_in") || !strcmp(cmd, "midi_out")) {
        char *tok = strtok_r(NULL, " \t\r\n", &save);
        unsigned from = tok ? (unsigned)strtoul(tok, NULL, 10) : 0;
        if (cmd[5] == 'i')
            print_log(in_log, atomic_load_explicit(&in_count, memory_order_acquire), from, 0);
        else
            print_log(out_log, atomic_load_explicit(&out_count, memory_order_acquire), from, 1);
    } else if (!strcmp(cmd, "xruns")) {
        char *tok = strtok_r(NULL, " \t\r\n", &save);
        unsigned from = tok ? (unsigned)strtoul(tok, NULL, 10) : 0;
        unsigned count = atomic_load_explicit(&xrun_count, memory_order_acquire);
        fputs("ok", stdout);
        for (unsigned k = from; k < count && k < XRUN_CAP; k++)
            printf(" %u:%llu", xrun_frame[k], (unsigned long long)xrun_ns[k]);
        reply("%s", "");
    } else if (!strcmp(cmd, "now")) {
        reply("ok %u %u %u %u", jack_frame_time(client), atomic_load(&last_cycle),
              jack_get_buffer_size(client), jack_get_sample_rate(client));
    } else if (!strcmp(cmd, "status")) {
        reply("ok armed=%d t0=%lld frames=%u cycles=%u gaps=%u midi_in=%u midi_in_overflow=%u midi_out=%u "
              "midi_out_overflow=%u queued=%u late=%u dropped=%u xruns=%u server_gone=%d",
              atomic_load(&armed), atomic_load(&have_t0) ? (long long)atomic_load(&t0) : -1LL,
              atomic_load(&end_frame), atomic_load(&cycles), atomic_load(&gaps), atomic_load(&in_count),
              atomic_load(&in_overflow), atomic_load(&out_count), atomic_load(&out_overflow),
              atomic_load(&q_write) - atomic_load(&q_read), atomic_load(&late), atomic_load(&dropped),
              atomic_load(&xrun_count), atomic_load(&server_gone));
    } else {
        reply("err unknown command %s", cmd);
    }
    return 0;
}

static int fail(const char *msg)
{
    printf("error %s\n", msg);
    fflush(stdout);
    if (client)
        jack_client_close(client);
    return 1;
}

int main(int argc, char **argv)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);                 /* never outlive the controlling process */
    if (argc != 6)
        return fail("usage: jack_probe SERVER CLIENT N_AUDIO -|in|out|inout SECONDS");
    const char *server = argv[1], *name = argv[2], *midi = argv[4];
    n_audio = atoi(argv[3]);
    if (n_audio < 0 || n_audio > MAX_AUDIO)
        return fail("N_AUDIO must be 0, 1 or 2");
    int want_in = !strcmp(midi, "in") || !strcmp(midi, "inout");
    int want_out = !strcmp(midi, "out") || !strcmp(midi, "inout");
    if (!want_in && !want_out && strcmp(midi, "-"))
        return fail("MIDI must be -, in, out or inout");
    double seconds = atof(argv[5]);

    jack_status_t status;
    client = jack_client_open(name, JackNoStartServer | JackServerName, &status, server);
    if (!client) {
        char msg[160];
        snprintf(msg, sizeof msg, "cannot open a client on JACK server '%s' (status 0x%x)", server, (unsigned)status);
        return fail(msg);
    }
    jack_nframes_t rate = jack_get_sample_rate(client);
    cap_frames = n_audio && seconds > 0 ? (uint32_t)(seconds * rate) : 0;
    audio = alloc_locked((size_t)cap_frames * n_audio * sizeof(float));
    queue = alloc_locked(QUEUE_CAP * sizeof(midi_rec_t));
    in_log = alloc_locked(LOG_CAP * sizeof(midi_rec_t));
    out_log = alloc_locked(LOG_CAP * sizeof(midi_rec_t));
    xrun_frame = alloc_locked(XRUN_CAP * sizeof(uint32_t));
    xrun_ns = alloc_locked(XRUN_CAP * sizeof(uint64_t));
    if (!audio || !queue || !in_log || !out_log || !xrun_frame || !xrun_ns)
        return fail("out of memory");
    for (size_t k = 0; k < (size_t)cap_frames * n_audio; k++)
        audio[k] = NAN;

    char pname[16];
    for (int c = 0; c < n_audio; c++) {
        snprintf(pname, sizeof pname, "in_%d", c + 1);
        if (!(audio_in[c] = jack_port_register(client, pname, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0)))
            return fail("cannot register an audio port");
    }
    if (want_in && !(midi_in = jack_port_register(client, "midi_in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0)))
        return fail("cannot register the MIDI input port");
    if (want_out && !(midi_out = jack_port_register(client, "midi_out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0)))
        return fail("cannot register the MIDI output port");
    jack_set_process_callback(client, process, NULL);
    jack_set_xrun_callback(client, on_xrun, NULL);
    jack_on_shutdown(client, on_shutdown, NULL);
    if (jack_activate(client))
        return fail("cannot activate the client");

    printf("client %s\n", jack_get_client_name(client));
    for (int c = 0; c < n_audio; c++)
        printf("port audio_in %s\n", jack_port_name(audio_in[c]));
    if (midi_in)
        printf("port midi_in %s\n", jack_port_name(midi_in));
    if (midi_out)
        printf("port midi_out %s\n", jack_port_name(midi_out));
    reply("ready %u %u", rate, jack_get_buffer_size(client));

    static char line[8192];
    while (fgets(line, sizeof line, stdin))
        if (command(line))
            break;
    if (!atomic_load(&server_gone))
        jack_deactivate(client);
    jack_client_close(client);
    reply("ok");
    return 0;
}
