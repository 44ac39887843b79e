/* tests/test_alloc_fail.c - every allocation along a model load, an eval batch and a study work
 * unit is made to fail in turn (tests/t_alloc.h): each gives a clean one-line error or a
 * correct result, never a crash; the study's journal stays readable and a rerun completes with
 * the right numbers. Under `make test-asan` LeakSanitizer checks that nothing leaked. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/file.h"
#include "../engine/model.h"
#include "../eval/eval.h"
#include "../kernels/kernels.h"
#include "../study/journal.h"
#include "../study/study.h"
#include "t.h"
#include "t_alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN 1
#endif
#endif

#define TINY "tests/fixtures/tiny"
#define TASK "jsonl:tests/fixtures/study/toy.jsonl"

typedef abl_status (*op_fn)(void *ctx, abl_err *err);
/* After op, with no failure planted: ABL_OK when what op left is sound (s: op's status). */
typedef abl_status (*check_fn)(void *ctx, abl_status s, abl_err *err);

/* Run op once counting allocations, then once per allocation with that one failing; check
 * (may be NULL) after each. */
static void every_allocation(tctx *t, const char *what, op_fn op, check_fn check, void *ctx)
{
    abl_err e = {0};
    t_alloc_arm(0);
    abl_status s = op(ctx, &e);
    long total = t_alloc_disarm();
    if (s) {
        t_fail(t, "%s without planted failures: %s", what, e.msg);
        return;
    }
    int errors = 0, fine = 0;
    for (long n = 1; n <= total && !t_failed(t); n++) {
        memset(&e, 0, sizeof e);
        t_alloc_arm(n);
        s = op(ctx, &e);
        t_alloc_disarm();
        abl_err ce = {0};
        if (check && check(ctx, s, &ce)) {
            t_fail(t, "%s, allocation %ld failing (%s): %s", what, n,
                   s ? e.msg : "absorbed", ce.msg);
            break;
        }
        if (s == ABL_OK) {
            fine++; /* the failure was absorbed (a cache, a retry): the result is checked */
            continue;
        }
        errors++;
        if (!e.msg[0] || strchr(e.msg, '\n'))
            t_fail(t, "%s, allocation %ld failing: status %s with message '%s'", what, n,
                   abl_status_name(s), e.msg);
        if (errors == 1)
            t_note(t, "%s: e.g. allocation %ld failing -> %s", what, n, e.msg);
    }
    t_note(t, "%s: %ld allocations, each failed in turn: %d clean errors, %d absorbed", what,
           total, errors, fine);
#ifdef HAVE_LSAN
    if (__lsan_do_recoverable_leak_check())
        t_fail(t, "%s: LeakSanitizer found leaks after the planted failures", what);
#endif
}

static int setup(tctx *t)
{
    abl_err e = {0};
    if (kern_init(NULL, &e)) {
        t_fail(t, "kern_init: %s", e.msg);
        return 0;
    }
    return 1;
}

static abl_status op_load(void *ctx, abl_err *err)
{
    (void)ctx;
    model_opts mo = model_opts_default();
    mo.threads = 1;
    model *m = NULL;
    abl_status s = model_load(&m, TINY, &mo, err);
    model_free(m);
    return s;
}

void test_alloc_fail_model_load(tctx *t)
{
    if (setup(t))
        every_allocation(t, "model load", op_load, NULL, NULL);
}

/* One eval batch: load the task, plan it, run the first batch, score its items. */
typedef struct {
    model *m;
    double acc; /* the first batch's correct count without failures */
} eval_ctx;

static abl_status op_eval(void *ctx, abl_err *err)
{
    eval_ctx *c = ctx;
    ev_load_opts lo = ev_load_opts_default();
    lo.limit = 4;
    ev_task *tk = NULL;
    ev_plan plan;
    memset(&plan, 0, sizeof plan);
    ev_results R;
    memset(&R, 0, sizeof R);
    ev_item_score sc[4];
    ev_plan_opts po = {64, false};
    abl_status s = ev_task_load(&tk, TASK, model_tok(c->m), &lo, err);
    if (!s)
        s = ev_results_alloc(&R, tk, err);
    if (!s)
        s = ev_plan_make(&plan, tk, NULL, tk->n_items, &po, err);
    if (!s)
        s = model_forward(c->m, &plan.batches[0].fb, NULL, err);
    if (!s) {
        ev_accumulate(tk, &plan.batches[0], &R);
        s = ev_item_scores(tk, &R, plan.batches[0].items, plan.batches[0].n_items, sc, err);
    }
    double acc = 0;
    for (int i = 0; !s && i < plan.batches[0].n_items; i++)
        acc += sc[i].correct;
    if (!s && c->acc >= 0 && acc != c->acc)
        s = abl_fail(err, ABL_E_STATE, "absorbed failure changed the result: %g != %g", acc,
                     c->acc);
    if (!s)
        c->acc = acc;
    ev_plan_free(&plan);
    ev_results_free(&R);
    ev_task_free(tk);
    return s;
}

void test_alloc_fail_eval_batch(tctx *t)
{
    if (!setup(t))
        return;
    model_opts mo = model_opts_default();
    mo.threads = 1;
    eval_ctx c = {NULL, -1};
    abl_err e = {0};
    if (model_load(&c.m, TINY, &mo, &e)) {
        t_fail(t, "model load: %s", e.msg);
        return;
    }
    every_allocation(t, "eval batch", op_eval, NULL, &c);
    model_free(c.m);
}

/* A small study (one block removed, pruning, two work-unit kinds) into a run directory that
 * persists across the failures; after each, its journal must load. */
typedef struct {
    study_opts o;
    char dir[600];
    char *want;          /* the reference's summary.json */
    size_t want_n;
    int keep;            /* keep what a run left (the last one) */
} study_ctx_t;

static abl_status journal_readable(const char *dir, abl_err *err)
{
    char path[700];
    snprintf(path, sizeof path, "%s/journal.tsv", dir);
    if (access(path, F_OK) != 0)
        return ABL_OK; /* the failure came before the journal */
    char *text = NULL;
    size_t len = 0;
    abl_status s = abl_read_file(path, 0, NULL, &text, &len, err);
    if (s)
        return s;
    char *tab = strchr(text, '\t'), *nl = strchr(text, '\n');
    journal *j = NULL;
    if (tab && nl && tab < nl) {
        *nl = 0;
        s = journal_open_at(&j, dir, "journal.tsv", tab + 1, JOURNAL_READONLY, err);
    } else if (len) {
        s = abl_fail(err, ABL_E_FORMAT, "%s: no header line", path);
    }
    journal_close(j);
    free(text);
    return s;
}

/* Remove the files of dir and dir (one level: a run directory). */
static void clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
            remove(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static abl_status op_study(void *ctx, abl_err *err)
{
    study_ctx_t *c = ctx;
    study_result *r = NULL;
    abl_status s = study_run(&c->o, &r, err);
    study_result_free(r);
    return s;
}

/* The journal loads; a run that absorbed a failure wrote the reference's summary.json. Then
 * the directory is cleared so that the next run computes and appends every unit again. */
static abl_status check_study(void *ctx, abl_status s, abl_err *err)
{
    study_ctx_t *c = ctx;
    abl_status cs = journal_readable(c->dir, err);
    if (!cs && s == ABL_OK) {
        char p[800], *got = NULL;
        size_t n = 0;
        snprintf(p, sizeof p, "%s/summary.json", c->dir);
        abl_read_file(p, 0, NULL, &got, &n, NULL);
        if (!got || n != c->want_n || memcmp(got, c->want, n))
            cs = abl_fail(err, ABL_E_STATE, "the run absorbed the failure but its summary.json "
                          "differs from the reference's");
        free(got);
    }
    if (!c->keep)
        clear_dir(c->dir);
    return cs;
}

void test_alloc_fail_study_unit(tctx *t)
{
    if (!setup(t))
        return;
    study_ctx_t c;
    memset(&c, 0, sizeof c);
    c.o = study_opts_default();
    c.o.model_dir = TINY;
    c.o.tasks = TASK;
    c.o.limit = 3;
    c.o.layers = "1,2";
    c.o.threads = 1;
    c.o.progress = false;
    c.o.batch_tokens = 48;
    c.o.n_boot = 1;
    c.o.prune_k = 1;
    c.o.command = "test";
    snprintf(c.dir, sizeof c.dir, "%s/run", t_tmpdir(t));
    c.o.out_dir = c.dir;
    /* the reference, in its own directory, before any failure */
    char ref[700];
    snprintf(ref, sizeof ref, "%s/ref", t_tmpdir(t));
    study_opts ro = c.o;
    ro.out_dir = ref;
    study_result *r = NULL;
    abl_err e = {0};
    if (study_run(&ro, &r, &e)) {
        t_fail(t, "reference study: %s", e.msg);
        return;
    }
    study_result_free(r);
    char sp[800];
    snprintf(sp, sizeof sp, "%s/summary.json", ref);
    abl_read_file(sp, 0, NULL, &c.want, &c.want_n, NULL);
    every_allocation(t, "study", op_study, check_study, &c);
    free(c.want);
    /* what a failure in the middle leaves (half the units journaled), resumed cleanly */
    c.keep = 1;
    t_alloc_arm(250);
    op_study(&c, &e);
    t_alloc_disarm();
    /* a clean rerun over what the last failure left resumes to the reference's numbers */
    if (study_run(&c.o, &r, &e)) {
        t_fail(t, "rerun after the failures: %s", e.msg);
        return;
    }
    study_result_free(r);
    char p1[800], p2[800];
    snprintf(p1, sizeof p1, "%s/layers.csv", ref);
    snprintf(p2, sizeof p2, "%s/layers.csv", c.dir);
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    abl_read_file(p1, 0, NULL, &a, &na, NULL);
    abl_read_file(p2, 0, NULL, &b, &nb, NULL);
    T_CHECK(t, a && b && na == nb && !memcmp(a, b, na));
    free(a);
    free(b);
}
