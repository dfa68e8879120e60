/*
 * floor_client.c -- the baseline for bench_live.py: the most trivial JACK client
 * possible (two inputs copied to two outputs, connected system:capture -> client ->
 * system:playback). Whatever xruns the server shows with only this client running are
 * the floor of the machine + server configuration, not anyone's DSP.
 *
 * Usage: floor_client [client-name]   (server: $JACK_DEFAULT_SERVER). Prints "ready"
 * once active and connected; runs until SIGTERM/SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <jack/jack.h>

static jack_port_t *in_port[2], *out_port[2];
static volatile sig_atomic_t stop_flag = 0;

/* [audio thread] a copy and nothing else */
static int process(jack_nframes_t n, void *arg)
{
    (void)arg;
    for (int c = 0; c < 2; c++) {
        const jack_default_audio_sample_t *in = jack_port_get_buffer(in_port[c], n);
        jack_default_audio_sample_t *out = jack_port_get_buffer(out_port[c], n);
        memcpy(out, in, n * sizeof(*out));
    }
    return 0;
}

static void on_signal(int sig) { (void)sig; stop_flag = 1; }

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "rtcore-floor";
    jack_status_t status;
    jack_client_t *client = jack_client_open(name, JackNoStartServer, &status);
    if (!client) {
        fprintf(stderr, "floor_client: cannot connect to the JACK server (status 0x%x)\n", (unsigned)status);
        return 1;
    }
    char pname[16];
    for (int c = 0; c < 2; c++) {
        snprintf(pname, sizeof pname, "in_%d", c + 1);
        in_port[c] = jack_port_register(client, pname, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        snprintf(pname, sizeof pname, "out_%d", c + 1);
        out_port[c] = jack_port_register(client, pname, JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        if (!in_port[c] || !out_port[c]) {
            fprintf(stderr, "floor_client: cannot register ports\n");
            jack_client_close(client);
            return 1;
        }
    }
    jack_set_process_callback(client, process, NULL);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (jack_activate(client)) {
        fprintf(stderr, "floor_client: cannot activate\n");
        jack_client_close(client);
        return 1;
    }
    for (int c = 0; c < 2; c++) {
        char src[64], dst[64];
        snprintf(src, sizeof src, "system:capture_%d", c + 1);
        jack_connect(client, src, jack_port_name(in_port[c]));
        snprintf(dst, sizeof dst, "system:playback_%d", c + 1);
        jack_connect(client, jack_port_name(out_port[c]), dst);
    }
    printf("ready\n");
    fflush(stdout);
    while (!stop_flag) usleep(20000);
    jack_deactivate(client);
    jack_client_close(client);
    return 0;
}
