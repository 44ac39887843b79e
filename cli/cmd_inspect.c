/* cli/cmd_inspect.c - `ablate inspect [--model DIR]`: the architecture from config.json, the
 * parameter count, every tensor's name, dtype and shape, then the tensor check against the config. */
#include <stdio.h>
#include <string.h>

#include "../engine/model.h"
#include "../loader/config.h"
#include "../loader/hf_names.h"
#include "../loader/safetensors.h"
#include "cli.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: ablate inspect [--model DIR]\n"
            "  Print a Hugging Face llama-family model folder's architecture (config.json),\n"
            "  parameter count and tensors (model.safetensors or a sharded index), and check\n"
            "  that every tensor the architecture needs is present with the right shape.\n"
            "  --model DIR   model folder (default %s)\n"
            "  --help        this text\n"
            "  Exit status: 0 all good, 1 a problem with the files, 2 a usage error.\n",
            DEFAULT_MODEL_DIR);
}

/* 134515008 -> "134,515,008" */
static const char *thousands(char *buf, size_t n, long long v)
{
    char raw[32];
    int len = snprintf(raw, sizeof raw, "%lld", v < 0 ? -v : v);
    size_t w = 0;
    if (v < 0 && w + 1 < n)
        buf[w++] = '-';
    for (int i = 0; i < len && w + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[w++] = ',';
        buf[w++] = raw[i];
    }
    buf[w] = 0;
    return buf;
}

int cli_inspect(int argc, char **argv)
{
    const char *dir = DEFAULT_MODEL_DIR;
    for (int i = 1; i < argc; i++) {
        const char *val;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (cli_flag("inspect", argc, argv, &i, "--model", &val)) {
            if (!val)
                return 2;
            if (!val[0]) {
                cli_error("inspect", "--model: expected a folder, found an empty string");
                return 2;
            }
            dir = val;
        } else {
            cli_error("inspect", "unknown argument '%s' (see ablate inspect --help)", argv[i]);
            return 2;
        }
    }

    char path[4096];
    abl_err err = {0};
    hf_config c;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (cfg_load(&c, path, &err) != ABL_OK) {
        if (err.code == ABL_E_IO && strcmp(dir, DEFAULT_MODEL_DIR) == 0)
            cli_error("inspect", "%s; the default model is not there yet (hint: run `make model`)",
                      err.msg);
        else
            cli_report("inspect", &err);
        return 1;
    }
    st_file *f = NULL;
    if (st_open(&f, dir, &err) != ABL_OK)
        return cli_report("inspect", &err);

    char a[32], b[32], sh[160];
    printf("model      %s\n", dir);
    printf("arch       %s\n", c.arch);
    printf("blocks     %d   d_model %d   heads %d / kv %d   head_dim %d   ffn %d   vocab %d\n",
           c.n_layers, c.d_model, c.n_heads, c.n_kv_heads, c.head_dim, c.d_ff, c.vocab);
    static const char *const rope_names[] = {"default", "linear", "llama3"};
    printf("rope_theta %g   rms_norm_eps %g   max_pos %d   tied embeddings %s\n", c.rope_theta,
           c.norm_eps, c.max_pos, c.tie_embeddings ? "yes" : "no");
    printf("rope       %s", rope_names[c.rope_type]);
    if (c.rope_type != ROPE_DEFAULT)
        printf("   factor %g", c.rope_factor);
    if (c.rope_type == ROPE_LLAMA3)
        printf("   low_freq_factor %g   high_freq_factor %g   original_max_pos %d",
               c.rope_low_freq, c.rope_high_freq, c.rope_orig_max);
    printf("   rotary dims %d of %d\n", c.rotary_dim, c.head_dim);
    printf("biases     attention %s   mlp %s   bos %d   eos %d", c.attn_bias ? "yes" : "no",
           c.mlp_bias ? "yes" : "no", c.bos_id, c.eos_id);
    if (c.sliding_window)
        printf("   sliding window %d (blocks %d..%d)", c.sliding_window, c.sliding_from,
               c.n_layers - 1);
    printf("\n");

    long long file_values = 0, file_bytes = 0;
    for (int i = 0; i < st_count(f); i++) {
        file_values += st_at(f, i)->numel;
        file_bytes += (long long)st_at(f, i)->nbytes;
    }
    printf("parameters %s (from config.json); the file holds %s values in %d tensors (%s bytes)\n",
           thousands(a, sizeof a, cfg_param_count(&c)), thousands(b, sizeof b, file_values),
           st_count(f), thousands(sh, sizeof sh, file_bytes));
    double wbytes, need = model_mem_estimate(&c, 64, &wbytes), per1k = 0;
    per1k = model_mem_estimate(&c, 1024 + 64, NULL) - model_mem_estimate(&c, 64, NULL);
    double avail = model_mem_available();
    printf("memory     about %.2f GB to load (weights as F32: %.2f GB) + %.1f MB per 1024 tokens "
           "of batch; available now %.2f GB%s\n", need / 1e9, wbytes / 1e9, per1k / 1e6,
           avail / 1e9, avail > 0 && need > avail ? " (too little: a run would be refused)" : "");
    printf("\n%-56s %-5s %s\n", "tensor", "dtype", "shape");
    for (int i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_at(f, i);
        printf("%-56s %-5s %s\n", t->name, st_dtype_name(t->dtype),
               hf_shape_str(sh, sizeof sh, t->ndim, t->shape));
    }
    abl_status st = hf_check_tensors(&c, f, &err);
    st_close(f);
    if (st != ABL_OK) {
        fflush(stdout);
        return cli_report("inspect", &err);
    }
    printf("\ncheck      ok: every tensor %s needs is present with the expected shape\n", c.arch);
    return 0;
}
