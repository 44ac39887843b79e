/* tests/test_study_guard.c - byte-identity guard of the study's outputs: small studies of the tiny
 * model (with pruning curves, a sub-block study, greedy pruning) through the real binary on the
 * scalar reference kernels, every output file compared with the bytes committed in
 * tests/fixtures/study/expected/. The expected files were captured from the code before the
 * study core was restructured (issue 16), so any refactor that changes one byte fails here.
 * After an intended change of the outputs: ABLATE_GUARD_UPDATE=1 ./build/runner study_guard
 * rewrites them (review the diff before committing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_hard_util.h"

#define GUARD_DIR "tests/fixtures/study/expected"
#define GUARD_TASK "jsonl:tests/fixtures/study/toy.jsonl"

/* data with every occurrence of tmp replaced by "@T" (the scratch path varies by run). */
static char *normalize(const char *data, const char *tmp, size_t *len)
{
    size_t tl = strlen(tmp), n = 0;
    char *out = malloc(strlen(data) + 1);
    if (!out)
        return NULL;
    for (const char *p = data; *p;) {
        if (tl && !strncmp(p, tmp, tl)) {
            memcpy(out + n, "@T", 2);
            n += 2;
            p += tl;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
    *len = n;
    return out;
}

/* Compare dir/NAME (normalized) with GUARD_DIR/PREFIX-NAME, or write it there in update mode. */
static void compare_file(tctx *t, const char *dir, const char *name, const char *prefix)
{
    char got_p[1200], want_p[600];
    snprintf(got_p, sizeof got_p, "%s/%s", dir, name);
    snprintf(want_p, sizeof want_p, GUARD_DIR "/%s-%s", prefix, name);
    size_t gl = 0, nl = 0, wl = 0;
    char *raw = hx_read(got_p, &gl);
    if (!raw) {
        t_fail(t, "%s was not written", got_p);
        return;
    }
    char *got = normalize(raw, t_tmpdir(t), &nl);
    free(raw);
    if (!got) {
        t_fail(t, "out of memory");
        return;
    }
    const char *upd = getenv("ABLATE_GUARD_UPDATE");
    if (upd && *upd == '1') {
        if (hx_write(want_p, got, nl) != 0)
            t_fail(t, "cannot write %s", want_p);
        t_note(t, "updated %s (%zu bytes)", want_p, nl);
        free(got);
        return;
    }
    char *want = hx_read(want_p, &wl);
    if (!want)
        t_fail(t, "%s is missing (hint: ABLATE_GUARD_UPDATE=1 ./build/runner study_guard)",
               want_p);
    else if (wl != nl || memcmp(want, got, nl) != 0) {
        size_t at = 0;
        while (at < wl && at < nl && want[at] == got[at])
            at++;
        t_fail(t, "%s differs from %s at byte %zu (%zu vs %zu bytes)", got_p, want_p, at, nl,
               wl);
    }
    free(want);
    free(got);
}

/* Run `ablate ARGS` (template with @X = scratch dir) on the reference kernels. */
static int run_cli(tctx *t, const char *tmpl)
{
    char buf[4096], *argv[64];
    const char *subst[26] = {0};
    subst['X' - 'A'] = t_tmpdir(t);
    if (hx_argv(tmpl, subst, buf, sizeof buf, argv, 64) < 0) {
        t_fail(t, "command too long");
        return 0;
    }
    setenv("ABLATE_KERNELS", "ref", 1); /* the same bytes on every CPU */
    hx_result r;
    hx_run(argv, t_tmpdir(t), 0, 600, &r);
    unsetenv("ABLATE_KERNELS");
    if (r.rc != 0) {
        t_fail(t, "ablate %s: rc %d, signal %d: %.400s", argv[0], r.rc, r.sig, r.err);
        return 0;
    }
    return 1;
}

static const char *const study_files[] = {"layers.csv",  "summary.json", "report.md",
                                          "report.html", "heatmap.svg",  "scatter.svg",
                                          "pruning.svg", "journal.tsv"};

void test_study_guard_block_study_with_pruning(tctx *t)
{
    if (!run_cli(t, "run --model tests/fixtures/tiny --tasks " GUARD_TASK " --limit 0 --threads 1 "
                    "--batch-tokens 96 --prune 2 --quiet --out @X/run"))
        return;
    char dir[700];
    snprintf(dir, sizeof dir, "%s/run", t_tmpdir(t));
    for (size_t i = 0; i < sizeof study_files / sizeof *study_files; i++)
        compare_file(t, dir, study_files[i], "block");
}

void test_study_guard_mlp_study_two_tasks(tctx *t)
{
    if (!run_cli(t, "run --model tests/fixtures/tiny --tasks " GUARD_TASK ",corpus:tests/"
                    "fixtures/study/toy.jsonl --limit 6 --unit mlp --layers 1,3 --metric acc "
                    "--seed 7 --threads 1 --batch-tokens 64 --quiet --out @X/run"))
        return;
    char dir[700];
    snprintf(dir, sizeof dir, "%s/run", t_tmpdir(t));
    for (size_t i = 0; i < sizeof study_files / sizeof *study_files; i++)
        if (strcmp(study_files[i], "pruning.svg") != 0) /* no curves for sub-block studies */
            compare_file(t, dir, study_files[i], "mlp");
}

void test_study_guard_greedy_prune(tctx *t)
{
    if (!run_cli(t, "prune --model tests/fixtures/tiny --calib " GUARD_TASK " --eval " GUARD_TASK
                    " --blocks 2 --limit 0 --threads 1 --quiet --out @X/prune"))
        return;
    char dir[700];
    snprintf(dir, sizeof dir, "%s/prune", t_tmpdir(t));
    compare_file(t, dir, "pruning.csv", "greedy");
    compare_file(t, dir, "pruning.svg", "greedy");
}
