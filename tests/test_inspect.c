/* tests/test_inspect.c - `ablate inspect` on tiny model folders written by the test: the
 * summary and tensor table on success, one-line errors and exit codes on every kind of problem. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "loader_fixture.h"
#include "t.h"

typedef struct {
    int rc;
    char out[65536], err[4096];
} run_result;

static void slurp(const char *path, char *buf, size_t n)
{
    buf[0] = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return;
    size_t r = fread(buf, 1, n - 1, fp);
    buf[r] = 0;
    fclose(fp);
}

/* Run cli_inspect with stdout and stderr captured into files under the test's tmpdir. */
static void run_inspect(tctx *t, int argc, char **argv, run_result *r)
{
    char po[600], pe[600];
    snprintf(po, sizeof po, "%s/stdout.txt", t_tmpdir(t));
    snprintf(pe, sizeof pe, "%s/stderr.txt", t_tmpdir(t));
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fo, 1);
    dup2(fe, 2);
    r->rc = cli_inspect(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(fo);
    close(fe);
    slurp(po, r->out, sizeof r->out);
    slurp(pe, r->err, sizeof r->err);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

void test_inspect_tiny_model(tctx *t)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/model", t_tmpdir(t));
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    T_CHECK(t, system(cmd) == 0);
    T_CHECK(t, lt_write_model(dir, lt_tiny_config, LT_GOOD));
    char *argv[] = {"inspect", "--model", dir, NULL};
    static run_result r;
    run_inspect(t, 3, argv, &r);
    T_CHECK(t, r.rc == 0);
    T_CHECK(t, r.err[0] == 0);
    T_CHECK(t, strstr(r.out, "arch       LlamaForCausalLM") != NULL);
    T_CHECK(t, strstr(r.out, "blocks     2   d_model 8   heads 2 / kv 1   head_dim 4   ffn 12   vocab 16"));
    /* 16*8*2 + 8 + 2*(8 + 64 + 32 + 32 + 64 + 8 + 3*96) = 256 + 8 + 2*496 = 1256 */
    T_CHECK(t, strstr(r.out, "parameters 1,256 (from config.json); the file holds 1,256 values in 21 tensors"));
    T_CHECK(t, strstr(r.out, "model.layers.1.mlp.down_proj.weight") && strstr(r.out, "(8, 12)"));
    T_CHECK(t, strstr(r.out, "check      ok"));
    if (t_failed(t))
        t_note(t, "stdout:\n%s\nstderr:\n%s", r.out, r.err);
}

void test_inspect_errors(tctx *t)
{
    struct { lt_variant v; const char *cfg; const char *want; } cases[] = {
        {LT_MISSING, NULL, "missing tensor 'model.layers.1.mlp.up_proj.weight'"},
        {LT_BADSHAPE, NULL, "expected shape (4, 8), found (5, 8)"},
        {LT_EXTRA, NULL, "unexpected tensor 'model.layers.7.mlp.extra.weight'"},
        {LT_INT_DTYPE, NULL, "found I32"},
        {LT_GOOD, "{\"architectures\":[\"GPT2LMHeadModel\"]}", "unsupported architecture 'GPT2LMHeadModel'"},
        {LT_GOOD, "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":8,\"num_hidden_layers\":2,"
                  "\"num_attention_heads\":2,\"intermediate_size\":12,\"vocab_size\":16,"
                  "\"rope_scaling\":{\"type\":\"dynamic\",\"factor\":2}}", "rope_scaling of type 'dynamic'"},
    };
    static run_result r;
    for (size_t i = 0; i < ABL_ARRAY_LEN(cases); i++) {
        char dir[600], cmd[700];
        snprintf(dir, sizeof dir, "%s/m%zu", t_tmpdir(t), i);
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
        T_CHECK(t, system(cmd) == 0);
        /* the fixture needs a parseable llama config to build tensors; swap the config after */
        T_CHECK(t, lt_write_model(dir, lt_tiny_config, cases[i].v));
        if (cases[i].cfg) {
            char p[700];
            snprintf(p, sizeof p, "%s/config.json", dir);
            FILE *fp = fopen(p, "w");
            fputs(cases[i].cfg, fp);
            fclose(fp);
        }
        char *argv[] = {"inspect", "--model", dir, NULL};
        run_inspect(t, 3, argv, &r);
        if (r.rc != 1 || !strstr(r.err, cases[i].want) || count_lines(r.err) != 1 ||
            strncmp(r.err, "ablate inspect: ", 16) != 0)
            t_fail(t, "case %zu: rc %d, stderr '%s' (want '%s')", i, r.rc, r.err, cases[i].want);
    }
    /* missing folder, truncated safetensors, usage errors, --help */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope", t_tmpdir(t));
    char *a1[] = {"inspect", "--model", missing, NULL};
    run_inspect(t, 3, a1, &r);
    T_CHECK(t, r.rc == 1 && strstr(r.err, "config.json: cannot open") && count_lines(r.err) == 1);

    char dir[600], p[700];
    snprintf(dir, sizeof dir, "%s/m0", t_tmpdir(t));
    T_CHECK(t, lt_write_model(dir, lt_tiny_config, LT_GOOD));
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    T_CHECK(t, truncate(p, 300) == 0);
    char *a2[] = {"inspect", "--model", dir, NULL};
    run_inspect(t, 3, a2, &r);
    T_CHECK(t, r.rc == 1 && strstr(r.err, "model.safetensors") && count_lines(r.err) == 1);

    char *a3[] = {"inspect", "--bogus", NULL};
    run_inspect(t, 2, a3, &r);
    T_CHECK(t, r.rc == 2 && strstr(r.err, "unknown argument '--bogus'"));
    char *a4[] = {"inspect", "--model", NULL};
    run_inspect(t, 2, a4, &r);
    T_CHECK(t, r.rc == 2 && strstr(r.err, "--model needs a value"));
    char *a5[] = {"inspect", "--help", NULL};
    run_inspect(t, 2, a5, &r);
    T_CHECK(t, r.rc == 0 && strstr(r.out, "usage: ablate inspect [--model DIR]") &&
               strstr(r.out, DEFAULT_MODEL_DIR));
}

/* The real default model (after `make model`): the check passes and the count is the published
 * 134,515,008 parameters in 272 tensors. */
void mtest_inspect_default_model(tctx *t)
{
    char cfg[600];
    snprintf(cfg, sizeof cfg, "%s/config.json", DEFAULT_MODEL_DIR);
    if (access(cfg, R_OK) != 0) {
        t_skip(t, "models/smollm2-135m-instruct is missing (run `make model`)");
        return;
    }
    char *argv[] = {"inspect", NULL};
    static run_result r;
    run_inspect(t, 1, argv, &r);
    T_CHECK(t, r.rc == 0);
    T_CHECK(t, strstr(r.out, "parameters 134,515,008 (from config.json); the file holds "
                             "134,515,008 values in 272 tensors") != NULL);
    T_CHECK(t, strstr(r.out, "check      ok") != NULL);
    if (t_failed(t))
        t_note(t, "stderr: %s", r.err);
}
