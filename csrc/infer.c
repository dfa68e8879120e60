/*
 * infer.c -- AI step-model inference through ONNX Runtime's C API.
 *
 * libonnxruntime comes from the onnxruntime wheel (onnxruntime/capi/libonnxruntime.so.1.x): its
 * SONAME file is not shipped, so it cannot be linked; we dlopen the full path and dlsym
 * OrtGetApiBase. The header (onnxruntime_c_api.h, API 21) comes from Debian trixie's
 * libonnxruntime-dev (tools/fetch_ort_header.sh); the versioned API works on newer runtimes.
 *
 * One rt_model_t = one session + preallocated input/output buffers wrapped once in OrtValues, so a
 * step only writes the inputs, calls Run with the bound outputs and copies results out. A model is
 * used by one thread at a time (the engine's inference thread, or the audio thread inline).
 * ONNX Runtime itself may allocate inside Run: it is not a real-time guarantee.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <onnxruntime_c_api.h>

#include "rtcore.h"
#include "nodes/dsp.h"     /* rt_rand_u32 (xorshift32) */

#define WARMUP_STEPS 20
#define SAMPLE_MAX   1024  /* largest n rt_sample_token accepts (stack arrays) */

/* process-wide ONNX Runtime: loaded once by rt_ort_init, never unloaded */
static pthread_mutex_t g_ort_lock = PTHREAD_MUTEX_INITIALIZER;
static const OrtApi *g_ort;
static OrtEnv *g_env;
static void *g_dl;

enum { IN_MELODY, IN_BEAT, IN_PREV, IN_STATE, N_IN };
enum { OUT_LOGITS, OUT_STATE, N_OUT };
static const char *const IN_NAMES[N_IN] = {"melody", "beat", "prev", "state"};
static const char *const OUT_NAMES[N_OUT] = {"logits", "state_out"};

struct rt_model {
    OrtSession *session;
    OrtMemoryInfo *meminfo;
    OrtValue *in[N_IN];
    OrtValue *out[N_OUT];
    int64_t melody[1], beat[1], prev[RT_AI_VOICES];
    float logits[RT_AI_VOICES * RT_AI_VOCAB];
    float *state_in, *state_out;   /* L * H floats each */
    int layers, hidden, state_size;
};

/* ---- helpers ------------------------------------------------------------------------- */

static void set_err(char *err, int err_len, const char *fmt, ...)
{
    if (!err || err_len <= 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, (size_t)err_len, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++)             /* one line */
        if (*p == '\n' || *p == '\r') *p = ' ';
}

/* copies the status message (one line) into buf and releases the status */
static void status_text(OrtStatus *st, char *buf, size_t len)
{
    snprintf(buf, len, "%s", st ? g_ort->GetErrorMessage(st) : "");
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == ' ') buf[--n] = '\0';
    if (st) g_ort->ReleaseStatus(st);
}

static const char *dtype_name(ONNXTensorElementDataType t)
{
    switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return "float";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return "uint8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return "int8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: return "uint16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return "int16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return "int32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return "int64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING: return "string";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return "bool";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return "float16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return "double";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: return "uint32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: return "uint64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return "bfloat16";
    default: return "other";
    }
}

/* "[1,4]" ("?" for a symbolic dimension) */
static void dims_text(const int64_t *d, size_t n, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (size_t i = 0; i < n && k < len; i++) {
        if (d[i] < 0) k += (size_t)snprintf(buf + k, len - k, "%s?", i ? "," : "");
        else k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? "," : "", (long long)d[i]);
    }
    if (k < len) snprintf(buf + k, len - k, "]");
}

typedef struct {
    ONNXTensorElementDataType type;
    int64_t dims[8];
    size_t ndim;
    int is_tensor;
} io_info;

/* type and shape of input (is_input) or output `index`; returns 0 or an RT_ERR_* */
static int get_io_info(OrtSession *s, int is_input, size_t index, io_info *info, char *msg, size_t len)
{
    OrtTypeInfo *ti = NULL;
    OrtStatus *st = is_input ? g_ort->SessionGetInputTypeInfo(s, index, &ti)
                             : g_ort->SessionGetOutputTypeInfo(s, index, &ti);
    if (st) { status_text(st, msg, len); return RT_ERR_FORMAT; }
    memset(info, 0, sizeof *info);
    const OrtTensorTypeAndShapeInfo *tsi = NULL;
    st = g_ort->CastTypeInfoToTensorInfo(ti, &tsi);
    if (st) { status_text(st, msg, len); g_ort->ReleaseTypeInfo(ti); return RT_ERR_FORMAT; }
    if (tsi) {
        info->is_tensor = 1;
        size_t nd = 0;
        if (!(st = g_ort->GetTensorElementType(tsi, &info->type)) &&
            !(st = g_ort->GetDimensionsCount(tsi, &nd))) {
            info->ndim = nd > 8 ? 8 : nd;
            if (nd <= 8) st = g_ort->GetDimensions(tsi, info->dims, nd);
        }
        if (st) { status_text(st, msg, len); g_ort->ReleaseTypeInfo(ti); return RT_ERR_FORMAT; }
    }
    g_ort->ReleaseTypeInfo(ti);
    return 0;
}

/* checks one input/output against the contract; want_dims entries < 0 = any positive size */
static int check_io(const char *path, const char *kind, const char *name, const io_info *info,
                    ONNXTensorElementDataType want_type, const int64_t *want, size_t want_n,
                    char *err, int err_len)
{
    char want_s[64], found_s[96];
    size_t k = 0;
    want_s[0] = '\0';
    for (size_t i = 0; i < want_n; i++) {
        const char *sym = i == 0 ? "L" : "H";
        if (want[i] >= 0) k += (size_t)snprintf(want_s + k, sizeof want_s - k, "%s%lld", i ? "," : "", (long long)want[i]);
        else k += (size_t)snprintf(want_s + k, sizeof want_s - k, "%s%s", i ? "," : "", sym);
    }
    int ok = info->is_tensor && info->type == want_type && info->ndim == want_n;
    for (size_t i = 0; ok && i < want_n; i++)
        ok = want[i] >= 0 ? info->dims[i] == want[i] : info->dims[i] > 0;
    if (ok) return 0;
    if (!info->is_tensor) snprintf(found_s, sizeof found_s, "not a tensor");
    else {
        char d[64];
        dims_text(info->dims, info->ndim, d, sizeof d);
        snprintf(found_s, sizeof found_s, "%s %s", dtype_name(info->type), d);
    }
    set_err(err, err_len, "%s: %s '%s' must be %s [%s] (found %s)", path, kind, name,
            dtype_name(want_type), want_s, found_s);
    return RT_ERR_FORMAT;
}

/* ---- library ------------------------------------------------------------------------- */

/* [main-thread] */
int rt_ort_init(const char *library_path, char *err, int err_len)
{
    if (err && err_len > 0) err[0] = '\0';
    pthread_mutex_lock(&g_ort_lock);
    if (g_ort) { pthread_mutex_unlock(&g_ort_lock); return RT_OK; }
    int rc = RT_OK;
    if (!library_path || !*library_path) {
        set_err(err, err_len, "ONNX Runtime: no library path given");
        rc = RT_ERR_INVALID;
        goto out;
    }
    struct stat sb;
    if (stat(library_path, &sb) != 0) {
        set_err(err, err_len, "%s: no such ONNX Runtime library", library_path);
        rc = RT_ERR_NOT_FOUND;
        goto out;
    }
    void *dl = dlopen(library_path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        set_err(err, err_len, "%s: cannot load ONNX Runtime (%s)", library_path, dlerror());
        rc = RT_ERR_FORMAT;
        goto out;
    }
    typedef const OrtApiBase *(*get_base_fn)(void);
    get_base_fn get_base = (get_base_fn)dlsym(dl, "OrtGetApiBase");
    if (!get_base) {
        set_err(err, err_len, "%s: not an ONNX Runtime library (no OrtGetApiBase)", library_path);
        dlclose(dl);
        rc = RT_ERR_FORMAT;
        goto out;
    }
    const OrtApiBase *base = get_base();
    const OrtApi *api = base ? base->GetApi(ORT_API_VERSION) : NULL;
    if (!api) {
        set_err(err, err_len, "%s: ONNX Runtime %s does not provide C API version %d", library_path,
                base ? base->GetVersionString() : "?", ORT_API_VERSION);
        dlclose(dl);
        rc = RT_ERR_FORMAT;
        goto out;
    }
    OrtEnv *env = NULL;
    OrtStatus *st = api->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "rtcore", &env);
    if (st) {
        set_err(err, err_len, "%s: cannot create the ONNX Runtime environment (%s)", library_path,
                api->GetErrorMessage(st));
        api->ReleaseStatus(st);
        dlclose(dl);
        rc = RT_ERR_FORMAT;
        goto out;
    }
    g_dl = dl;
    g_env = env;
    g_ort = api;
out:
    pthread_mutex_unlock(&g_ort_lock);
    return rc;
}

/* ---- models -------------------------------------------------------------------------- */

/* [main-thread] */
void rt_model_close(rt_model_t *m)
{
    if (!m) return;
    for (int i = 0; i < N_IN; i++) if (m->in[i]) g_ort->ReleaseValue(m->in[i]);
    for (int i = 0; i < N_OUT; i++) if (m->out[i]) g_ort->ReleaseValue(m->out[i]);
    if (m->session) g_ort->ReleaseSession(m->session);
    if (m->meminfo) g_ort->ReleaseMemoryInfo(m->meminfo);
    free(m->state_in);
    free(m->state_out);
    free(m);
}

/* [main-thread] creates the session options the engine wants; NULL + message on failure */
static OrtSessionOptions *make_options(char *msg, size_t len)
{
    OrtSessionOptions *o = NULL;
    OrtStatus *st = g_ort->CreateSessionOptions(&o);
    if (!st) st = g_ort->SetIntraOpNumThreads(o, 1);
    if (!st) st = g_ort->SetInterOpNumThreads(o, 1);
    if (!st) st = g_ort->SetSessionExecutionMode(o, ORT_SEQUENTIAL);
    if (!st) st = g_ort->AddSessionConfigEntry(o, "session.intra_op.allow_spinning", "0");
    if (!st) st = g_ort->AddSessionConfigEntry(o, "session.inter_op.allow_spinning", "0");
    if (!st) st = g_ort->SetSessionGraphOptimizationLevel(o, ORT_ENABLE_ALL);
    if (st) {
        status_text(st, msg, len);
        if (o) g_ort->ReleaseSessionOptions(o);
        return NULL;
    }
    return o;
}

/* [main-thread] checks names, types and shapes; sets m->layers/hidden */
static int validate(rt_model_t *m, const char *path, char *err, int err_len)
{
    char msg[512];
    OrtAllocator *alloc = NULL;
    OrtStatus *st = g_ort->GetAllocatorWithDefaultOptions(&alloc);
    if (st) {
        status_text(st, msg, sizeof msg);
        set_err(err, err_len, "%s: %s", path, msg);
        return RT_ERR_FORMAT;
    }
    for (int pass = 0; pass < 2; pass++) {
        int is_input = pass == 0;
        const char *kind = is_input ? "input" : "output";
        const char *const *names = is_input ? IN_NAMES : OUT_NAMES;
        int want_n = is_input ? N_IN : N_OUT;
        size_t count = 0;
        st = is_input ? g_ort->SessionGetInputCount(m->session, &count)
                      : g_ort->SessionGetOutputCount(m->session, &count);
        if (st) {
            status_text(st, msg, sizeof msg);
            set_err(err, err_len, "%s: %s", path, msg);
            return RT_ERR_FORMAT;
        }
        int seen[N_IN] = {0};
        size_t index_of[N_IN] = {0};
        char listing[256];
        size_t lk = 0;
        listing[0] = '\0';
        for (size_t i = 0; i < count; i++) {
            char *name = NULL;
            st = is_input ? g_ort->SessionGetInputName(m->session, i, alloc, &name)
                          : g_ort->SessionGetOutputName(m->session, i, alloc, &name);
            if (st) {
                status_text(st, msg, sizeof msg);
                set_err(err, err_len, "%s: %s", path, msg);
                return RT_ERR_FORMAT;
            }
            int found = -1;
            for (int k = 0; k < want_n; k++)
                if (strcmp(name, names[k]) == 0) found = k;
            if (lk < sizeof listing)
                lk += (size_t)snprintf(listing + lk, sizeof listing - lk, "%s'%s'", i ? ", " : "", name);
            if (found < 0) {
                set_err(err, err_len, "%s: unexpected %s '%s' (the step model has %ss %s)", path, kind,
                        name, kind, is_input ? "'melody', 'beat', 'prev', 'state'" : "'logits', 'state_out'");
                alloc->Free(alloc, name);
                return RT_ERR_FORMAT;
            }
            alloc->Free(alloc, name);
            seen[found] = 1;
            index_of[found] = i;
        }
        for (int k = 0; k < want_n; k++) {
            if (!seen[k]) {
                set_err(err, err_len, "%s: the model has no %s '%s' (%ss: %s)", path, kind, names[k],
                        kind, count ? listing : "none");
                return RT_ERR_FORMAT;
            }
        }
        for (int k = 0; k < want_n; k++) {
            io_info info;
            if (get_io_info(m->session, is_input, index_of[k], &info, msg, sizeof msg)) {
                set_err(err, err_len, "%s: %s", path, msg);
                return RT_ERR_FORMAT;
            }
            int rc;
            if (is_input && k == IN_STATE) {
                const int64_t want[3] = {-1, 1, -1};
                rc = check_io(path, kind, names[k], &info, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, want, 3, err, err_len);
                if (!rc) { m->layers = (int)info.dims[0]; m->hidden = (int)info.dims[2]; }
            } else if (is_input) {
                const int64_t want[1] = {k == IN_PREV ? RT_AI_VOICES : 1};
                rc = check_io(path, kind, names[k], &info, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, want, 1, err, err_len);
            } else if (k == OUT_LOGITS) {
                const int64_t want[2] = {RT_AI_VOICES, RT_AI_VOCAB};
                rc = check_io(path, kind, names[k], &info, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, want, 2, err, err_len);
            } else {
                const int64_t want[3] = {m->layers, 1, m->hidden};
                rc = check_io(path, kind, names[k], &info, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, want, 3, err, err_len);
                if (rc) {   /* say why: it must match the state input */
                    char d[64];
                    dims_text(info.dims, info.ndim, d, sizeof d);
                    set_err(err, err_len, "%s: output 'state_out' must be float [%d,1,%d] like input 'state' (found %s %s)",
                            path, m->layers, m->hidden, info.is_tensor ? dtype_name(info.type) : "non-tensor", d);
                }
            }
            if (rc) return rc;
        }
    }
    if ((int64_t)m->layers * m->hidden > (1 << 24)) {
        set_err(err, err_len, "%s: state [%d,1,%d] is too large", path, m->layers, m->hidden);
        return RT_ERR_FORMAT;
    }
    return 0;
}

static int make_value(rt_model_t *m, void *data, size_t bytes, const int64_t *shape, size_t nd,
                      ONNXTensorElementDataType t, OrtValue **out, char *msg, size_t len)
{
    OrtStatus *st = g_ort->CreateTensorWithDataAsOrtValue(m->meminfo, data, bytes, shape, nd, t, out);
    if (st) { status_text(st, msg, len); return RT_ERR_FORMAT; }
    return 0;
}

/* [main-thread] */
int rt_model_open(const char *path, rt_model_t **out, char *err, int err_len)
{
    if (err && err_len > 0) err[0] = '\0';
    if (!out || !path) { set_err(err, err_len, "rt_model_open: null argument"); return RT_ERR_INVALID; }
    *out = NULL;
    if (!g_ort) {
        set_err(err, err_len, "%s: ONNX Runtime is not loaded (call rt_ort_init first)", path);
        return RT_ERR_STATE;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        set_err(err, err_len, "%s: no such model file", path);
        return RT_ERR_NOT_FOUND;
    }
    rt_model_t *m = calloc(1, sizeof *m);
    if (!m) { set_err(err, err_len, "%s: out of memory", path); return RT_ERR_NOMEM; }

    char msg[512];
    int rc = RT_OK;
    OrtSessionOptions *opts = make_options(msg, sizeof msg);
    if (!opts) {
        set_err(err, err_len, "%s: session options: %s", path, msg);
        rc = RT_ERR_FORMAT;
        goto fail;
    }
    OrtStatus *st = g_ort->CreateSession(g_env, path, opts, &m->session);
    g_ort->ReleaseSessionOptions(opts);
    if (st) {
        status_text(st, msg, sizeof msg);
        set_err(err, err_len, "%s: not a valid ONNX model (%s)", path, msg);
        m->session = NULL;
        rc = RT_ERR_FORMAT;
        goto fail;
    }
    if ((rc = validate(m, path, err, err_len))) goto fail;

    m->state_size = m->layers * m->hidden;
    m->state_in = calloc((size_t)m->state_size, sizeof(float));
    m->state_out = calloc((size_t)m->state_size, sizeof(float));
    if (!m->state_in || !m->state_out) {
        set_err(err, err_len, "%s: out of memory", path);
        rc = RT_ERR_NOMEM;
        goto fail;
    }
    if ((st = g_ort->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &m->meminfo))) {
        status_text(st, msg, sizeof msg);
        set_err(err, err_len, "%s: %s", path, msg);
        rc = RT_ERR_FORMAT;
        goto fail;
    }
    const int64_t s1[1] = {1}, s3[1] = {RT_AI_VOICES}, sl[2] = {RT_AI_VOICES, RT_AI_VOCAB};
    const int64_t ss[3] = {m->layers, 1, m->hidden};
    const ONNXTensorElementDataType I64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64,
                                    F32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    size_t sbytes = (size_t)m->state_size * sizeof(float);
    if (make_value(m, m->melody, sizeof m->melody, s1, 1, I64, &m->in[IN_MELODY], msg, sizeof msg) ||
        make_value(m, m->beat, sizeof m->beat, s1, 1, I64, &m->in[IN_BEAT], msg, sizeof msg) ||
        make_value(m, m->prev, sizeof m->prev, s3, 1, I64, &m->in[IN_PREV], msg, sizeof msg) ||
        make_value(m, m->state_in, sbytes, ss, 3, F32, &m->in[IN_STATE], msg, sizeof msg) ||
        make_value(m, m->logits, sizeof m->logits, sl, 2, F32, &m->out[OUT_LOGITS], msg, sizeof msg) ||
        make_value(m, m->state_out, sbytes, ss, 3, F32, &m->out[OUT_STATE], msg, sizeof msg)) {
        set_err(err, err_len, "%s: cannot create tensors (%s)", path, msg);
        rc = RT_ERR_FORMAT;
        goto fail;
    }

    /* warm-up: the first Runs allocate and plan; do them now, not live */
    float *state = calloc((size_t)m->state_size, sizeof(float));
    float *logits = malloc(sizeof m->logits);
    if (!state || !logits) {
        free(state); free(logits);
        set_err(err, err_len, "%s: out of memory", path);
        rc = RT_ERR_NOMEM;
        goto fail;
    }
    uint32_t rng = 0x1234567u;
    for (int i = 0; i < WARMUP_STEPS && rc == RT_OK; i++) {
        int prev[RT_AI_VOICES];
        for (int v = 0; v < RT_AI_VOICES; v++) prev[v] = (int)(rt_rand_u32(&rng) % RT_AI_VOCAB);
        rc = rt_model_step(m, (int)(rt_rand_u32(&rng) % RT_AI_VOCAB), i % RT_AI_BEATS, prev, state, state, logits);
    }
    free(state);
    free(logits);
    if (rc) {
        /* run once more by hand to get ORT's message */
        st = g_ort->Run(m->session, NULL, IN_NAMES, (const OrtValue *const *)m->in, N_IN, OUT_NAMES, N_OUT, m->out);
        status_text(st, msg, sizeof msg);
        set_err(err, err_len, "%s: the model fails to run (%s)", path, msg[0] ? msg : "unknown error");
        rc = RT_ERR_FORMAT;
        goto fail;
    }
    *out = m;
    return RT_OK;
fail:
    rt_model_close(m);
    return rc;
}

/* [any-thread] */
int rt_model_state_size(const rt_model_t *m)
{
    return m ? m->state_size : RT_ERR_INVALID;
}

/* [inference-thread] (the audio thread in inline mode) */
int rt_model_step(rt_model_t *m, int melody, int beat, const int *prev,
                  const float *state_in, float *state_out, float *logits)
{
    if (!m || !prev || !state_in || !state_out || !logits) return RT_ERR_INVALID;
    if (melody < 0 || melody >= RT_AI_VOCAB || beat < 0 || beat >= RT_AI_BEATS) return RT_ERR_RANGE;
    for (int v = 0; v < RT_AI_VOICES; v++)
        if (prev[v] < 0 || prev[v] >= RT_AI_VOCAB) return RT_ERR_RANGE;
    m->melody[0] = melody;
    m->beat[0] = beat;
    for (int v = 0; v < RT_AI_VOICES; v++) m->prev[v] = prev[v];
    memcpy(m->state_in, state_in, (size_t)m->state_size * sizeof(float));
    OrtStatus *st = g_ort->Run(m->session, NULL, IN_NAMES, (const OrtValue *const *)m->in, N_IN,
                               OUT_NAMES, N_OUT, m->out);
    if (st) {
        g_ort->ReleaseStatus(st);
        return RT_ERR_FORMAT;
    }
    memcpy(logits, m->logits, sizeof m->logits);
    memcpy(state_out, m->state_out, (size_t)m->state_size * sizeof(float));
    return RT_OK;
}

/* [main-thread] */
int rt_model_bench(rt_model_t *m, int steps, float *us)
{
    if (!m || steps < 0 || (steps > 0 && !us)) return RT_ERR_INVALID;
    float *state = calloc((size_t)m->state_size, sizeof(float));
    float logits[RT_AI_VOICES * RT_AI_VOCAB];
    if (!state) return RT_ERR_NOMEM;
    uint32_t rng = 0xC0FFEEu;
    int rc = RT_OK;
    for (int i = 0; i < steps; i++) {
        int prev[RT_AI_VOICES];
        for (int v = 0; v < RT_AI_VOICES; v++) prev[v] = (int)(rt_rand_u32(&rng) % RT_AI_VOCAB);
        int melody = (int)(rt_rand_u32(&rng) % RT_AI_VOCAB);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = rt_model_step(m, melody, i % RT_AI_BEATS, prev, state, state, logits);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rc) break;
        us[i] = (float)((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-3);
    }
    free(state);
    return rc;
}

/* ---- sampling ------------------------------------------------------------------------ */

/* [any-thread] no allocation; returns a token index in 0..n-1 or RT_ERR_INVALID */
int rt_sample_token(const float *logits, int n, float temperature, int top_k, uint32_t *rng)
{
    if (!logits || !rng || n <= 0 || n > SAMPLE_MAX) return RT_ERR_INVALID;
    if (!(temperature > 1e-30f) || top_k == 1) {      /* also NaN and 1/T overflowing */
        int best = 0;
        for (int i = 1; i < n; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
    int idx[SAMPLE_MAX];
    float p[SAMPLE_MAX];
    for (int i = 0; i < n; i++) idx[i] = i;
    int k = n;
    if (top_k > 0 && top_k < n) {
        /* partial selection: the top_k largest go to idx[0..top_k-1] (ties: lower index first) */
        k = top_k;
        for (int i = 0; i < k; i++) {
            int b = i;
            for (int j = i + 1; j < n; j++)
                if (logits[idx[j]] > logits[idx[b]] ||
                    (logits[idx[j]] == logits[idx[b]] && idx[j] < idx[b])) b = j;
            int t = idx[i]; idx[i] = idx[b]; idx[b] = t;
        }
    }
    float mx = logits[idx[0]];
    for (int i = 1; i < k; i++)
        if (logits[idx[i]] > mx) mx = logits[idx[i]];
    float inv_t = 1.0f / temperature, sum = 0.0f;
    for (int i = 0; i < k; i++) {
        p[i] = expf((logits[idx[i]] - mx) * inv_t);
        sum += p[i];
    }
    /* uniform in [0, 1) from the top 24 bits */
    float u = (float)(rt_rand_u32(rng) >> 8) * (1.0f / 16777216.0f) * sum;
    float c = 0.0f;
    for (int i = 0; i < k; i++) {
        c += p[i];
        if (u < c) return idx[i];
    }
    for (int i = k - 1; i >= 0; i--)     /* rounding: the last candidate with p > 0 */
        if (p[i] > 0.0f) return idx[i];
    return idx[0];
}
