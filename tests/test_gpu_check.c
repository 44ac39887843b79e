/* tests/test_gpu_check.c - the GPU-free parts of tools/gpu_check.sh (`make gpu-check`): its
 * refusals (one line each), the SGEMM summary, and a full CPU rehearsal on a seeded tiny model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../base/file.h"
#include "t.h"

/* Run `env ENV bash tools/gpu_check.sh ARGS` with stdout and stderr into files of the test's
 * temp dir; returns the exit status (-1 when it did not exit) and the captured texts (free). */
static int gc_run(tctx *t, const char *env, const char *args, char **out, char **err)
{
    char cmd[4096], po[1024], pe[1024];
    snprintf(po, sizeof po, "%s/gc.out", t_tmpdir(t));
    snprintf(pe, sizeof pe, "%s/gc.err", t_tmpdir(t));
    snprintf(cmd, sizeof cmd, "env %s bash tools/gpu_check.sh %s >%s 2>%s </dev/null", env, args,
             po, pe);
    int st = system(cmd);
    size_t n;
    abl_err e = {0};
    if (abl_read_file(po, 0, NULL, out, &n, &e) || abl_read_file(pe, 0, NULL, err, &n, &e))
        t_fail(t, "%s", e.msg);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void test_gpu_check_refusals(tctx *t)
{
    static const struct {
        const char *env, *args;
        int rc;
        const char *want;
    } cases[] = {
        {"", "--bogus", 2, "unknown option '--bogus'"},
        {"", "--items x", 2, "--items: expected a whole number, found 'x'"},
        {"", "--items 0 --device cpu", 2, "--items: expected at least 1"},
        {"", "--device tpu", 2, "--device: expected cuda or cpu, found 'tpu'"},
        {"", "--model", 2, "--model: expected a value"},
        {"NVIDIA_SMI=/nonexistent", "", 1, "no NVIDIA GPU here"},
        {"", "--device cpu --carry /nonexistent", 1,
         "/nonexistent/tokenizer.json missing (hint: run `make gpu-carry`"},
        {"", "--device cpu --model /nonexistent", 1, "--model /nonexistent: no config.json"},
        {"", "--sgemm-summary /dev/null", 1, "/dev/null: no gpu_sgemm_bench rows"},
        {"", "--device cpu --work /", 1, "--work /: expected a new or empty folder"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL, *err = NULL;
        int rc = gc_run(t, cases[i].env, cases[i].args, &out, &err);
        if (!out || !err) {
            free(out), free(err);
            return;
        }
        size_t n = strlen(err);
        if (rc != cases[i].rc || !strstr(err, cases[i].want) || strncmp(err, "gpu-check: ", 11) ||
            n == 0 || err[n - 1] != '\n' || memchr(err, '\n', n - 1))
            t_fail(t, "`%s %s`: exit %d (expected %d), stderr '%s' (expected one line with '%s')",
                   cases[i].env, cases[i].args, rc, cases[i].rc, err, cases[i].want);
        free(out);
        free(err);
    }
}

void test_gpu_check_sgemm_summary(tctx *t)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/sgemm.txt", t_tmpdir(t));
    FILE *f = fopen(path, "w");
    if (!T_CHECK(t, f != NULL))
        return;
    fputs("     M      N      K   ours_f32 cublas_f32  ours_tf32 cublas_tf32\n"
          "   512    576    576       5.00      10.00       8.00      16.00\n"
          "  4096  49152    576      36.00      40.00      30.00      60.00\n"
          "geomean 0.500 0.500\n", f);
    fclose(f);
    char args[1100], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "--sgemm-summary %s", path);
    int rc = gc_run(t, "", args, &out, &err);
    /* f32: ratios 0.5 and 0.9, geomean sqrt(0.45) = 0.67; tf32: 0.5 and 0.5 */
    T_CHECK(t, rc == 0);
    if (out && !(strstr(out, "SGEMM f32 / cuBLAS f32 (ours / theirs)|geomean 0.67, worst 0.50 "
                             "(M N x K = 512 576x576), head 4096x49152x576 36.0 TFLOPS|>= 0.70") &&
                 strstr(out, "SGEMM tf32 / cuBLAS tf32 (ours / theirs)|geomean 0.50, worst 0.50")))
        t_fail(t, "unexpected summary: %s (stderr %s)", out, err ? err : "");
    free(out);
    free(err);
}

/* Every GPU-free step on the CPU: seeded 2-block model with the real tokenizer, 3 PIQA items
 * compared CPU against CPU (differences exactly 0), a 2-item study, a 1-task estimate. */
void test_gpu_check_rehearsal(tctx *t)
{
    static const char *const need[] = {"models/smollm2-135m-instruct/tokenizer.json",
                                       "data/tasks/piqa/valid.jsonl", "ablate", "build/mkmodel"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (access(need[i], R_OK) != 0) {
            char why[256];
            snprintf(why, sizeof why, "%s missing (make model, make data, make test build it)",
                     need[i]);
            t_skip(t, why);
            return;
        }
    char cwd[1024], cmd[4096], args[4096];
    if (!T_CHECK(t, getcwd(cwd, sizeof cwd) != NULL))
        return;
    const char *d = t_tmpdir(t);
    snprintf(cmd, sizeof cmd, "mkdir -p %s/carry %s/out && ln -s %s/%s %s/carry/tokenizer.json && "
             "ln -s %s/data/tasks %s/carry/tasks", d, d, cwd, need[0], d, cwd, d);
    if (!T_CHECK(t, system(cmd) == 0))
        return;
    snprintf(args, sizeof args, "--device cpu --tiny --no-build --items 3 --study-limit 2 "
             "--estimate-tasks copa --carry %s/carry --work %s/work", d, d);
    char env[1100], *out = NULL, *err = NULL;
    snprintf(env, sizeof env, "OUT=%s/out", d);
    int rc = gc_run(t, env, args, &out, &err);
    char path[1100], *table = NULL;
    size_t n;
    abl_err e = {0};
    snprintf(path, sizeof path, "%s/out/gpu_check.txt", d);
    if (rc != 0 || abl_read_file(path, 0, NULL, &table, &n, &e)) {
        t_fail(t, "exit %d; stderr %s; %s", rc, err ? err : "", e.msg);
    } else {
        static const char *const rows[] = {
            "CUDA tests (runner cuda)", "skipped (CPU rehearsal)", "model ",
            "seeded, L=2 D=64", "PIQA 3 items, cpu f32 vs CPU",
            "max |ll diff| 0, same choice 3/3 (100.0%)", "PIQA 3 items, cpu tf32 vs CPU",
            "PIQA study (--limit 2 --prune 0) wall", "full study estimate (--tasks copa --limit 0)",
            "gpu-check wall time"};
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
            if (!strstr(table, rows[i]))
                t_fail(t, "the table lacks '%s':\n%s", rows[i], table);
        if (strstr(table, "FAILED") || !out || strcmp(out, table) != 0)
            t_fail(t, "a failed step, or stdout differs from gpu_check.txt:\n%s", table);
        t_note(t, "%s", table);
    }
    free(table);
    free(out);
    free(err);
}
