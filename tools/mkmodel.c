/* tools/mkmodel.c - writes a seeded random llama-style model folder (config.json,
 * model.safetensors in F32, tokenizer.json copied) of any shape; SmolLM2-135M's shape by default.
 * Used by tools/gpu_check.sh where the real weights cannot travel. Legend: L, D, H, Hkv, Dh, F, V. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/abl.h"
#include "../base/file.h"
#include "../loader/config.h"
#include "../loader/hf_names.h"
#include "../loader/st_write.h"

static const char usage_text[] =
    "usage: mkmodel --out DIR --tokenizer FILE [options]\n"
    "Writes DIR/config.json, DIR/model.safetensors (F32, seeded uniform weights) and copies FILE\n"
    "to DIR/tokenizer.json. Defaults are SmolLM2-135M's shape (tied embeddings, theta 1e5).\n"
    "  --layers L (30)  --dim D (576)  --heads H (9)  --kv-heads Hkv (3)  --head-dim Dh (64)\n"
    "  --ffn F (1536)   --vocab V (49152)  --theta T (100000)  --seed S (1)\n";

typedef struct {
    int L, D, H, Hkv, Dh, F, V;
    double theta;
    unsigned long long seed;
} mk_shape;

/* One tensor's fill: seeded uniform in [-amp, amp], or the constant `one` when amp == 0. */
typedef struct {
    unsigned long long seed;
    float amp, one;
} mk_fill;

static unsigned long long splitmix(unsigned long long *s)
{
    unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static abl_status fill_fn(void *ctx, float *dst, int64_t numel, abl_err *err)
{
    (void)err;
    const mk_fill *f = ctx;
    unsigned long long s = f->seed;
    for (int64_t i = 0; i < numel; i++)
        dst[i] = f->amp == 0 ? f->one
                             : f->amp * (float)((double)(splitmix(&s) >> 11) * 0x1p-52 - 1.0);
    return ABL_OK;
}

static unsigned long long name_hash(const char *s, unsigned long long seed)
{
    unsigned long long h = 1469598103934665603ULL ^ seed;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static abl_status write_config(const char *dir, const mk_shape *m, abl_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return abl_fail(err, ABL_E_IO, "%s: cannot create (%s)", path, strerror(errno));
    fprintf(f,
            "{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"model_type\": \"llama\",\n"
            "  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n  \"num_hidden_layers\": %d,\n"
            "  \"num_attention_heads\": %d,\n  \"num_key_value_heads\": %d,\n  \"head_dim\": %d,\n"
            "  \"hidden_act\": \"silu\",\n  \"rms_norm_eps\": 1e-05,\n  \"rope_theta\": %.17g,\n"
            "  \"rope_scaling\": null,\n  \"vocab_size\": %d,\n"
            "  \"max_position_embeddings\": 8192,\n  \"tie_word_embeddings\": true,\n"
            "  \"attention_bias\": false,\n  \"mlp_bias\": false,\n  \"bos_token_id\": 1,\n"
            "  \"eos_token_id\": 2,\n  \"torch_dtype\": \"float32\",\n"
            "  \"ablate_seeded_model\": %llu\n}\n",
            m->D, m->F, m->L, m->H, m->Hkv, m->Dh, m->theta, m->V, m->seed);
    int bad = ferror(f);
    if (fclose(f) || bad)
        return abl_fail(err, ABL_E_IO, "%s: write failed", path);
    return ABL_OK;
}

static abl_status copy_file(const char *src, const char *dst, abl_err *err)
{
    char *buf = NULL;
    size_t n = 0;
    abl_status s = abl_read_file(src, 0, "pass the model's tokenizer.json", &buf, &n, err);
    if (s)
        return s;
    FILE *f = fopen(dst, "wb");
    if (!f) {
        free(buf);
        return abl_fail(err, ABL_E_IO, "%s: cannot create (%s)", dst, strerror(errno));
    }
    size_t w = fwrite(buf, 1, n, f);
    free(buf);
    if (fclose(f) || w != n)
        return abl_fail(err, ABL_E_IO, "%s: write failed", dst);
    return ABL_OK;
}

/* Every tensor the config implies, seeded by its name: norms 1, linear weights uniform with
 * standard deviation 1/sqrt(fan_in), embeddings 0.1 (tied head logits ~ N(0, 0.1^2 D)). */
static abl_status write_weights(const char *dir, const mk_shape *m, abl_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    hf_config cfg;
    abl_status s = cfg_load(&cfg, path, err);
    if (s)
        return s;
    int n = hf_expected_tensors(&cfg, NULL, 0);
    hf_tensor_spec *sp = calloc((size_t)n, sizeof *sp);
    mk_fill *fl = calloc((size_t)n, sizeof *fl);
    st_writer *w = NULL;
    if (!sp || !fl) {
        s = abl_fail(err, ABL_E_NOMEM, "mkmodel: out of memory");
        goto done;
    }
    hf_expected_tensors(&cfg, sp, n);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if ((s = stw_open(&w, path, err)) || (s = stw_meta(w, "format", "pt", err)))
        goto done;
    for (int i = 0; i < n && !s; i++) {
        fl[i].seed = name_hash(sp[i].name, m->seed);
        if (sp[i].ndim == 1) {
            fl[i].one = 1.0f;
        } else {
            double sd = sp[i].role == HF_EMBED ? 0.1 : 1.0 / sqrt((double)sp[i].shape[1]);
            fl[i].amp = (float)(sd * sqrt(3.0));
        }
        s = stw_add_fn(w, sp[i].name, sp[i].shape, sp[i].ndim, fill_fn, &fl[i], err);
    }
    if (!s)
        s = stw_finish(w, err);
done:
    stw_close(w);
    free(sp);
    free(fl);
    return s;
}

static int arg_int(const char *flag, const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "mkmodel: %s: expected an integer in [%d, %d], found '%s'\n", flag, lo,
                hi, v ? v : "(nothing)");
        return 0;
    }
    *out = (int)x;
    return 1;
}

int main(int argc, char **argv)
{
    mk_shape m = {30, 576, 9, 3, 64, 1536, 49152, 1e5, 1};
    const char *out = NULL, *tok = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int seed = 0, ok = 1, used = 1, theta = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(a, "--out"))
            ok = (out = v) != NULL;
        else if (!strcmp(a, "--tokenizer"))
            ok = (tok = v) != NULL;
        else if (!strcmp(a, "--layers"))
            ok = arg_int(a, v, 1, 1024, &m.L);
        else if (!strcmp(a, "--dim"))
            ok = arg_int(a, v, 1, 65536, &m.D);
        else if (!strcmp(a, "--heads"))
            ok = arg_int(a, v, 1, 1024, &m.H);
        else if (!strcmp(a, "--kv-heads"))
            ok = arg_int(a, v, 1, 1024, &m.Hkv);
        else if (!strcmp(a, "--head-dim"))
            ok = arg_int(a, v, 2, 1024, &m.Dh);
        else if (!strcmp(a, "--ffn"))
            ok = arg_int(a, v, 1, 1 << 20, &m.F);
        else if (!strcmp(a, "--vocab"))
            ok = arg_int(a, v, 1, 1 << 22, &m.V);
        else if (!strcmp(a, "--theta"))
            ok = arg_int(a, v, 1, 1 << 30, &theta), m.theta = ok ? theta : m.theta;
        else if (!strcmp(a, "--seed"))
            ok = arg_int(a, v, 0, 0x7fffffff, &seed), m.seed = (unsigned long long)seed;
        else
            used = 0;
        if (!used) {
            fprintf(stderr, "mkmodel: unknown option '%s' (hint: mkmodel --help)\n", a);
            return 2;
        }
        if (!ok) {
            if (!v)
                fprintf(stderr, "mkmodel: %s: expected a value\n", a);
            return 2;
        }
        i++;
    }
    if (!out || !tok) {
        fprintf(stderr, "mkmodel: expected --out DIR and --tokenizer FILE (hint: mkmodel --help)\n");
        return 2;
    }
    if (m.H % m.Hkv) {
        fprintf(stderr, "mkmodel: --heads %d: expected a multiple of --kv-heads %d\n", m.H, m.Hkv);
        return 2;
    }
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mkmodel: %s: cannot create (%s)\n", out, strerror(errno));
        return 1;
    }
    char dst[4096];
    snprintf(dst, sizeof dst, "%s/tokenizer.json", out);
    abl_err err = {0};
    abl_status s = write_config(out, &m, &err);
    if (!s)
        s = copy_file(tok, dst, &err);
    if (!s)
        s = write_weights(out, &m, &err);
    if (s) {
        fprintf(stderr, "mkmodel: error (%s): %s\n", abl_status_name(s), err.msg);
        return 1;
    }
    return 0;
}
