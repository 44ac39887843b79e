/* tests/test_theory.c - Theorem 1 through the real pipeline: the constructed model loads from
 * its safetensors checkpoint, block 1's cosine score is eps (within 1%), every other block's is
 * higher, accuracy is 100% intact and 0% without block 1. */
#include <math.h>
#include <stdio.h>

#include "../study/study.h"
#include "../study/theory.h"
#include "../kernels/kernels.h"
#include "t.h"

static void check_eps(tctx *t, double eps)
{
    abl_err e = {0};
    if (kern_init(NULL, &e)) {
        t_fail(t, "kern_init: %s", e.msg);
        return;
    }
    char dir[512], mdir[600], task[600];
    snprintf(dir, sizeof dir, "%s/theory", t_tmpdir(t));
    theory_info info;
    if (theory_write(dir, eps, &info, &e)) {
        t_fail(t, "theory_write: %s", e.msg);
        return;
    }
    snprintf(mdir, sizeof mdir, "%s/model", dir);
    snprintf(task, sizeof task, "jsonl:%s/task.jsonl", dir);
    study_opts o = study_opts_default();
    o.model_dir = mdir;
    o.tasks = task;
    o.limit = 0;
    o.threads = 1;
    o.progress = false;
    study_result *r = NULL;
    if (study_run(&o, &r, &e)) {
        t_fail(t, "study: %s", e.msg);
        return;
    }
    const study_task_res *T = &r->tasks[0];
    double rel = fabs(T->cos_score[1] - eps) / eps;
    t_note(t, "eps %g: cosine scores %.6g %.6g %.6g (block 1 rel err %.2g), acc %.2f, "
           "removed %.2f %.2f %.2f", eps, T->cos_score[0], T->cos_score[1], T->cos_score[2], rel,
           T->acc, T->acc_abl[0], T->acc_abl[1], T->acc_abl[2]);
    T_CHECK(t, r->n_units == 3);
    T_CHECK(t, rel <= 0.01);
    T_CHECK(t, T->cos_score[0] > T->cos_score[1] && T->cos_score[2] > T->cos_score[1]);
    T_CHECK(t, T->acc == 1.0);
    T_CHECK(t, T->acc_abl[1] == 0.0);
    T_CHECK(t, T->acc_abl[0] == 1.0); /* the block with the largest score is harmless */
    T_CHECK(t, T->n_items == info.n_items);
    study_result_free(r);
}

void test_theory_eps_1e3(tctx *t)
{
    check_eps(t, 1e-3);
}
void test_theory_eps_1e6(tctx *t)
{
    check_eps(t, 1e-6);
}

void test_theory_rejects_bad_eps(tctx *t)
{
    abl_err e = {0};
    theory_info info;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/x", t_tmpdir(t));
    T_CHECK(t, theory_write(dir, 0.5, &info, &e) == ABL_E_ARG);
    T_CHECK(t, theory_write(dir, 0, &info, &e) == ABL_E_ARG);
    T_CHECK(t, theory_write(dir, NAN, &info, &e) == ABL_E_ARG);
}
