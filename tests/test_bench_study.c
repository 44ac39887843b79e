/* tests/test_bench_study.c - `ablate bench study`: the run options plus --estimate, then the
 * study's own figures (full-pass equivalents, share of the FMA peak, CPU utilisation). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "t.h"
#include "test_hard_util.h"

void test_bench_study_figures(tctx *t)
{
    if (!hx_need_binary(t))
        return;
    char out[600], dir[600];
    snprintf(out, sizeof out, "%s/out.txt", t_tmpdir(t));
    snprintf(dir, sizeof dir, "%s/never", t_tmpdir(t));
    char *argv[] = {"bench", "study", "--model", "tests/fixtures/tiny", "--tasks",
                    "jsonl:tests/fixtures/study/toy.jsonl", "--limit", "4", "--threads", "1",
                    "--quiet", "--out", dir, NULL};
    pid_t pid = hx_spawn(argv, out, NULL, 0);
    T_CHECK(t, pid > 0);
    hx_result r;
    memset(&r, 0, sizeof r);
    hx_wait(pid, 120, hx_now(), &r);
    T_CHECK(t, r.rc == 0 && !r.hung);
    char *txt = hx_read(out, NULL);
    T_CHECK(t, txt != NULL);
    if (!txt)
        return;
    /* the tiny model has 4 blocks: intact + 4 removals resumed from the cached residual cost
     * more than one full pass and less than the 5 passes of a study without resuming */
    const char *p = strstr(txt, "sweep cost");
    double eq = 0;
    T_CHECK(t, p && sscanf(p, "sweep cost %lf full-pass equivalents", &eq) == 1);
    T_CHECK(t, eq > 1.0 && eq < 5.0);
    T_CHECK(t, strstr(txt, "without resuming from the cached residual: 5)") != NULL);
    T_CHECK(t, strstr(txt, "share of FMA peak") && strstr(txt, "CPU utilisation"));
    T_CHECK(t, strstr(txt, "estimate for ablate run") != NULL);
    struct stat st;
    T_CHECK(t, stat(dir, &st) != 0); /* writes nothing */
    free(txt);
}

void test_bench_study_bad_flag(tctx *t)
{
    if (!hx_need_binary(t))
        return;
    char *argv[] = {"bench", "study", "--limit", "many", NULL};
    hx_result r;
    memset(&r, 0, sizeof r);
    hx_run(argv, t_tmpdir(t), 0, 60, &r);
    T_CHECK(t, r.rc == 2);
    T_CHECK(t, strstr(r.err, "--limit") != NULL && strchr(r.err, '\n') == strrchr(r.err, '\n'));
}
