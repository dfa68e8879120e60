/*
 * audio_pa.c -- live audio: a PortAudio stream whose callback is C and calls
 * rt_engine_process() directly. No Python ever runs on this thread.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <portaudio.h>
#include "engine_internal.h"

#define RT_PA_SCRATCH RT_MAX_FRAMES_LIMIT

/* PortAudio's own stream header (pa_stream.h, PaUtilStreamRepresentation / PaUtilStreamInterface:
 * the same since V19 began). Only used to close a stream whose JACK server died: see defuse(). */
#define PA_STREAM_MAGIC 0x18273645UL
typedef struct {
    PaError (*Close)(PaStream *);
    PaError (*Start)(PaStream *);
    PaError (*Stop)(PaStream *);
    PaError (*Abort)(PaStream *);
    PaError (*IsStopped)(PaStream *);
    PaError (*IsActive)(PaStream *);
    PaTime  (*GetTime)(PaStream *);
    double  (*GetCpuLoad)(PaStream *);
    PaError (*Read)(PaStream *, void *, unsigned long);
    PaError (*Write)(PaStream *, const void *, unsigned long);
    signed long (*GetReadAvailable)(PaStream *);
    signed long (*GetWriteAvailable)(PaStream *);
} pa_stream_interface;
typedef struct {
    unsigned long magic;
    void *next_open_stream;
    pa_stream_interface *iface;
} pa_stream_header;

/* ... and its host API header (pa_hostapi.h, PaUtilHostApiRepresentation): see defuse() */
typedef struct {
    unsigned long base_device_index;
    PaHostApiInfo info;
    PaDeviceInfo **device_infos;
    void (*terminate)(void *host_api);
} pa_host_api_header;

struct rt_audio {
    rt_engine_t *engine;
    PaStream    *stream;
    int          in_channels, out_channels;
    float       *scratch;        /* right channel for a mono output device */
    int          started;
    int          lost;           /* the stream stopped on its own: its server or device is gone */
    char         device[128];    /* the output device's name and host API, for reopening it */
    char         host_api[64];
    pa_stream_interface dead_iface;   /* see defuse() */
};

static char last_error[256] = "";

const char *rt_audio_last_error(void) { return last_error; }

static int pa_fail(PaError err, const char *what)
{
    const char *text = err == paUnanticipatedHostError && Pa_GetLastHostErrorInfo()
                     ? Pa_GetLastHostErrorInfo()->errorText : Pa_GetErrorText(err);
    snprintf(last_error, sizeof last_error, "%s: %s", what, text ? text : "unknown PortAudio error");
    return RT_ERR_DEVICE;
}

/* [audio-thread] real-time: only arithmetic, the engine's lock-free process, and
 * CLOCK_MONOTONIC (vDSO) for the callback-time statistics. */
static int pa_callback(const void *input, void *output, unsigned long frames,
                       const PaStreamCallbackTimeInfo *time_info,
                       PaStreamCallbackFlags status, void *user)
{
    (void)time_info;
    rt_audio_t *a = user;
    int64_t t0 = rt_monotonic_ns();
    const float *const *ins = input;        /* paNonInterleaved: arrays of channel pointers */
    float *const *outs = output;
    int done = 0;
    while (done < (int)frames) {
        int n = (int)frames - done;
        if (n > RT_PA_SCRATCH) n = RT_PA_SCRATCH;
        const float *ip[2] = { NULL, NULL };
        if (a->in_channels >= 1 && ins) { ip[0] = ins[0] + done; ip[1] = ins[a->in_channels > 1 ? 1 : 0] + done; }
        float *op[2] = { outs[0] + done, a->out_channels > 1 ? outs[1] + done : a->scratch };
        rt_engine_process(a->engine, ip, op, n);
        if (a->out_channels == 1)
            for (int i = 0; i < n; i++) op[0][i] = 0.5f * (op[0][i] + op[1][i]);
        done += n;
    }
    int xrun = (int)(status & (paInputUnderflow | paInputOverflow | paOutputUnderflow | paOutputOverflow));
    rt_engine_note_callback(a->engine, rt_monotonic_ns() - t0, (int)frames, xrun);
    return paContinue;
}

/* The PortAudio index of the device called `name` (exactly) on the host API whose name contains
 * `host_api` (any host API if empty) and that has output channels; -1 if none. PortAudio must be
 * initialised. Indexes change when a host API comes or goes (a JACK server), names do not. */
static int find_device(const char *name, const char *host_api)
{
    int ndev = Pa_GetDeviceCount();
    for (int i = 0; i < ndev; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        const PaHostApiInfo *h = d ? Pa_GetHostApiInfo(d->hostApi) : NULL;
        if (!d || !h || d->maxOutputChannels < 1 || strcmp(d->name, name) != 0) continue;
        if (host_api && host_api[0] && !strstr(h->name, host_api)) continue;
        return i;
    }
    return -1;
}

/* Pa_Initialize() done by the caller (and undone here on failure). */
static int open_on(rt_engine_t *e, int device, int input_device, int frames_per_block,
                   int input_channels, int output_channels, double suggested_latency_s, rt_audio_t **out)
{
    PaError err;
    int ndev = Pa_GetDeviceCount();
    if (device < 0) device = Pa_GetDefaultOutputDevice();
    if (device < 0 || device >= ndev) {
        snprintf(last_error, sizeof last_error, "no output device %d (there are %d devices)", device, ndev);
        Pa_Terminate();
        return RT_ERR_DEVICE;
    }
    const PaDeviceInfo *info = Pa_GetDeviceInfo(device);
    if (!info || info->maxOutputChannels < output_channels) {
        snprintf(last_error, sizeof last_error, "device %d (%s) has %d output channels, %d needed",
                 device, info ? info->name : "?", info ? info->maxOutputChannels : 0, output_channels);
        Pa_Terminate();
        return RT_ERR_DEVICE;
    }
    PaStreamParameters op = { device, output_channels, paFloat32 | paNonInterleaved,
                              suggested_latency_s > 0 ? suggested_latency_s : info->defaultLowOutputLatency, NULL };
    PaStreamParameters ip, *ipp = NULL;
    if (input_channels > 0) {
        if (input_device < 0) input_device = device;
        const PaDeviceInfo *ii = input_device < ndev ? Pa_GetDeviceInfo(input_device) : NULL;
        if (!ii || ii->maxInputChannels < input_channels) {
            snprintf(last_error, sizeof last_error, "input device %d has %d input channels, %d needed",
                     input_device, ii ? ii->maxInputChannels : 0, input_channels);
            Pa_Terminate();
            return RT_ERR_DEVICE;
        }
        ip = (PaStreamParameters){ input_device, input_channels, paFloat32 | paNonInterleaved,
                                   suggested_latency_s > 0 ? suggested_latency_s : ii->defaultLowInputLatency, NULL };
        ipp = &ip;
    }

    rt_audio_t *a = calloc(1, sizeof(*a));
    if (!a) { Pa_Terminate(); return RT_ERR_NOMEM; }
    a->engine = e;
    a->in_channels = input_channels;
    a->out_channels = output_channels;
    const PaHostApiInfo *host = Pa_GetHostApiInfo(info->hostApi);
    snprintf(a->device, sizeof a->device, "%s", info->name);
    snprintf(a->host_api, sizeof a->host_api, "%s", host ? host->name : "");
    a->scratch = calloc(RT_PA_SCRATCH, sizeof(float));
    if (!a->scratch) { free(a); Pa_Terminate(); return RT_ERR_NOMEM; }

    err = Pa_IsFormatSupported(ipp, &op, e->sample_rate);
    if (err == paNoError)
        err = Pa_OpenStream(&a->stream, ipp, &op, e->sample_rate,
                            frames_per_block > 0 ? (unsigned long)frames_per_block : paFramesPerBufferUnspecified,
                            paClipOff | paDitherOff, pa_callback, a);
    if (err != paNoError) {
        int rc = pa_fail(err, info->name);
        free(a->scratch); free(a);
        Pa_Terminate();
        return rc;
    }
    e->audio = a;
    if (e->stream_lost_pending) {            /* the stream that was lost is back */
        e->stream_lost_pending = 0;
        atomic_fetch_add_explicit(&e->c_streams_reopened, 1, memory_order_relaxed);
    }
    *out = a;
    return RT_OK;
}

static int check_open_args(rt_engine_t *e, int frames_per_block, int input_channels, int output_channels,
                           rt_audio_t **out)
{
    if (!e || !out) return RT_ERR_INVALID;
    if (!e->active || e->audio) return RT_ERR_STATE;
    if (output_channels < 1 || output_channels > 2 || input_channels < 0 || input_channels > 2)
        return RT_ERR_RANGE;
    if (frames_per_block < 0 || frames_per_block > RT_MAX_FRAMES_LIMIT) return RT_ERR_RANGE;
    return RT_OK;
}

int rt_audio_open(rt_engine_t *e, int device, int input_device, int frames_per_block,
                  int input_channels, int output_channels, double suggested_latency_s,
                  rt_audio_t **out)
{
    int rc = check_open_args(e, frames_per_block, input_channels, output_channels, out);
    if (rc < 0) return rc;
    PaError err = Pa_Initialize();
    if (err != paNoError) return pa_fail(err, "PortAudio initialise");
    return open_on(e, device, input_device, frames_per_block, input_channels, output_channels,
                   suggested_latency_s, out);
}

int rt_audio_open_named(rt_engine_t *e, const char *device, const char *host_api, int frames_per_block,
                        int input_channels, int output_channels, double suggested_latency_s,
                        rt_audio_t **out)
{
    int rc = check_open_args(e, frames_per_block, input_channels, output_channels, out);
    if (rc < 0) return rc;
    if (!device || !device[0]) return RT_ERR_INVALID;
    /* a fresh initialisation (the caller closed every stream of this process): host APIs are
     * probed again, so a JACK server that came back is seen */
    PaError err = Pa_Initialize();
    if (err != paNoError) return pa_fail(err, "PortAudio initialise");
    int index = find_device(device, host_api);
    if (index < 0) {
        snprintf(last_error, sizeof last_error, "no output device '%s'%s%s%s", device,
                 host_api && host_api[0] ? " on host API '" : "", host_api && host_api[0] ? host_api : "",
                 host_api && host_api[0] ? "' (is its server running?)" : "");
        Pa_Terminate();
        return RT_ERR_DEVICE;
    }
    return open_on(e, index, -1, frames_per_block, input_channels, output_channels, suggested_latency_s, out);
}

int rt_audio_device(rt_audio_t *a, char *name, int name_len, char *host_api, int host_api_len)
{
    if (!a || !name || name_len < 1 || !host_api || host_api_len < 1) return RT_ERR_INVALID;
    snprintf(name, (size_t)name_len, "%s", a->device);
    snprintf(host_api, (size_t)host_api_len, "%s", a->host_api);
    return RT_OK;
}

int rt_audio_start(rt_audio_t *a)
{
    if (!a || !a->stream) return RT_ERR_INVALID;
    if (a->started) return RT_OK;
    atomic_store(&a->engine->running, 1);     /* render() refuses while a stream owns process() */
    PaError err = Pa_StartStream(a->stream);
    if (err != paNoError) { atomic_store(&a->engine->running, 0); return pa_fail(err, "start stream"); }
    a->started = 1;
    return RT_OK;
}

int rt_audio_stop(rt_audio_t *a)
{
    if (!a || !a->stream) return RT_ERR_INVALID;
    if (!a->started) return RT_OK;
    if (a->lost) {                              /* nothing runs it any more: see defuse() */
        a->started = 0;
        atomic_store(&a->engine->running, 0);
        return RT_OK;
    }
    PaError err = Pa_StopStream(a->stream);     /* waits for the last callback to return */
    a->started = 0;
    atomic_store(&a->engine->running, 0);
    return err == paNoError ? RT_OK : pa_fail(err, "stop stream");
}

static PaError dead_noop(PaStream *s) { (void)s; return paNoError; }
static PaError dead_is_stopped(PaStream *s) { (void)s; return 1; }
static void dead_terminate(void *host_api) { (void)host_api; }

/* PortAudio 19.6 cannot let go of a JACK server that died (Debian builds it with its asserts on):
 *  - stopping the stream waits up to ten minutes for the process callback to acknowledge it
 *    (later versions wait a second);
 *  - closing it aborts the process: jack_port_unregister() on the dead client fails an assert;
 *  - so does Pa_Terminate(): jack_deactivate() of the JACK host API's dead client.
 * And without Pa_Terminate() no new Pa_Initialize() probes the host APIs again, so a server that
 * comes back is never seen. So for a lost JACK stream, this stream's copy of its interface reports
 * it stopped and makes stop and close do nothing (nothing runs it any more: the server marked it
 * inactive), and the JACK host API's terminate does nothing: the dead stream, the dead JACK client
 * and its host API's memory are left behind (a few kB per server death; a new client of the same
 * process works beside a dead one). Both headers are PortAudio's internal ones, unchanged since
 * V19 began; each is checked before anything is written (the stream's magic number; the host
 * API's device table against Pa_GetDeviceInfo()). Returns 1 when both were defused. */
static int defuse(rt_audio_t *a)
{
    pa_stream_header *h = (pa_stream_header *)a->stream;
    if (h->magic != PA_STREAM_MAGIC || !h->iface) return 0;
    PaHostApiIndex api = Pa_HostApiTypeIdToHostApiIndex(paJACK);
    if (api < 0) return 0;
    const PaHostApiInfo *info = Pa_GetHostApiInfo(api);
    if (!info || info->deviceCount < 1) return 0;
    pa_host_api_header *host = (pa_host_api_header *)(void *)((char *)info - offsetof(pa_host_api_header, info));
    if ((int)host->base_device_index != Pa_HostApiDeviceIndexToDeviceIndex(api, 0) || !host->device_infos)
        return 0;
    for (int k = 0; k < info->deviceCount; k++)
        if (host->device_infos[k] != Pa_GetDeviceInfo(Pa_HostApiDeviceIndexToDeviceIndex(api, k))) return 0;
    a->dead_iface = *h->iface;
    a->dead_iface.Close = dead_noop;
    a->dead_iface.Stop = dead_noop;
    a->dead_iface.Abort = dead_noop;
    a->dead_iface.IsStopped = dead_is_stopped;
    h->iface = &a->dead_iface;
    host->terminate = dead_terminate;
    return 1;
}

void rt_audio_close(rt_audio_t *a)
{
    if (!a) return;
    if (a->stream) {
        if (a->started && !a->lost) rt_audio_is_active(a);   /* notices a lost stream */
        int dead_jack = a->lost && Pa_GetStreamHostApiType(a->stream) == paJACK;
        if (dead_jack && !defuse(a)) {
            /* an unknown PortAudio: closing would hang or abort; leave it all (no reconnect) */
            a->started = 0;
            atomic_store(&a->engine->running, 0);
            a->stream = NULL;
        }
        if (a->stream) {
            rt_audio_stop(a);
            Pa_CloseStream(a->stream);
            a->stream = NULL;
            Pa_Terminate();
        }
    }
    if (a->engine && a->engine->audio == a) a->engine->audio = NULL;
    free(a->scratch);
    free(a);
}

int rt_audio_is_active(rt_audio_t *a)
{
    if (!a || !a->stream) return RT_ERR_INVALID;
    if (a->lost) return 0;
    PaError r = Pa_IsStreamActive(a->stream);
    if (r < 0) return pa_fail(r, "stream state");
    /* our callback never ends the stream: inactive while started = the server or device is gone */
    if (r == 0 && a->started) {
        a->lost = 1;
        a->engine->stream_lost_pending = 1;
        atomic_fetch_add_explicit(&a->engine->c_streams_lost, 1, memory_order_relaxed);
    }
    return (int)r;
}

int rt_audio_lost(rt_audio_t *a)
{
    if (!a || !a->stream) return RT_ERR_INVALID;
    if (!a->lost && a->started) {
        int r = rt_audio_is_active(a);
        if (r < 0) return r;
    }
    return a->lost;
}

int rt_audio_info(rt_audio_t *a, double *in_latency, double *out_latency, double *sample_rate)
{
    if (!a || !a->stream) return RT_ERR_INVALID;
    const PaStreamInfo *si = Pa_GetStreamInfo(a->stream);
    if (!si) return RT_ERR_DEVICE;
    if (in_latency) *in_latency = si->inputLatency;
    if (out_latency) *out_latency = si->outputLatency;
    if (sample_rate) *sample_rate = si->sampleRate;
    return RT_OK;
}
