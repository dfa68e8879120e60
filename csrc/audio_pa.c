/*
 * audio_pa.c -- live audio: a PortAudio stream whose callback is C and calls
 * rt_engine_process() directly. No Python ever runs on this thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <portaudio.h>
#include "engine_internal.h"

#define RT_PA_SCRATCH RT_MAX_FRAMES_LIMIT

struct rt_audio {
    rt_engine_t *engine;
    PaStream    *stream;
    int          in_channels, out_channels;
    float       *scratch;        /* right channel for a mono output device */
    int          started;
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

int rt_audio_open(rt_engine_t *e, int device, int input_device, int frames_per_block,
                  int input_channels, int output_channels, double suggested_latency_s,
                  rt_audio_t **out)
{
    if (!e || !out) return RT_ERR_INVALID;
    if (!e->active || e->audio) return RT_ERR_STATE;
    if (output_channels < 1 || output_channels > 2 || input_channels < 0 || input_channels > 2)
        return RT_ERR_RANGE;
    if (frames_per_block < 0 || frames_per_block > RT_MAX_FRAMES_LIMIT) return RT_ERR_RANGE;

    PaError err = Pa_Initialize();
    if (err != paNoError) return pa_fail(err, "PortAudio initialise");

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
    *out = a;
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
    PaError err = Pa_StopStream(a->stream);     /* waits for the last callback to return */
    a->started = 0;
    atomic_store(&a->engine->running, 0);
    return err == paNoError ? RT_OK : pa_fail(err, "stop stream");
}

void rt_audio_close(rt_audio_t *a)
{
    if (!a) return;
    if (a->stream) {
        rt_audio_stop(a);
        Pa_CloseStream(a->stream);
        a->stream = NULL;
        Pa_Terminate();
    }
    if (a->engine && a->engine->audio == a) a->engine->audio = NULL;
    free(a->scratch);
    free(a);
}

int rt_audio_is_active(rt_audio_t *a)
{
    if (!a || !a->stream) return RT_ERR_INVALID;
    PaError r = Pa_IsStreamActive(a->stream);
    return r < 0 ? pa_fail(r, "stream state") : (int)r;
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
