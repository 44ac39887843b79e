/* tests/test_eval_model.c - eval with a tokenizer and a model: lm-eval's pairing rule, prefix
 * sharing is exact on the tiny model, the whole run, and the real model against the goldens of
 * tools/golden/eval_golden.py (every choice within 1e-3, the same predicted choice). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../eval/eval.h"
#include "../eval/task.h"
#include "../kernels/kernels.h"
#include "t.h"

#define EV_TINY "tests/fixtures/tiny"
#define EV_REAL "models/smollm2-135m-instruct"

static tokenizer *ev_tok(tctx *t, const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    tokenizer *tok = NULL;
    abl_err e = {0};
    if (tok_load(&tok, path, &e)) {
        t_fail(t, "tok_load: %s", e.msg);
        return NULL;
    }
    return tok;
}

static void enc(tokenizer *tok, const char *s, tok_ids *out)
{
    abl_err e = {0};
    out->n = 0;
    tok_encode(tok, s, strlen(s), out, &e);
}

void test_eval_pairing_rule(tctx *t)
{
    tokenizer *tok = ev_tok(t, EV_TINY);
    if (!tok)
        return;
    abl_err e = {0};
    tok_ids out = {0}, a = {0}, w = {0};
    int nc = 0, nt = 0;
    /* trailing spaces of the context move to the continuation */
    const char *q = "Question: what is two plus two? \n ";
    T_CHECK(t, ev_pair(tok, q, strlen(q), "four.", 5, &out, &nc, &nt, &e) == ABL_OK);
    enc(tok, "Question: what is two plus two?", &a);
    enc(tok, "Question: what is two plus two? \n four.", &w);
    T_CHECK(t, nc == (int)a.n && nc + nt == (int)w.n && (size_t)(nc + nt) == out.n);
    T_CHECK(t, !memcmp(out.v, a.v, a.n * sizeof *a.v));
    T_CHECK(t, !memcmp(out.v + nc, w.v + a.n, (size_t)nt * sizeof *w.v));
    t_note(t, "ctx %d ids, continuation %d ids", nc, nt);
    /* an empty context is the <|endoftext|> token, the continuation encoded alone */
    out.n = 0;
    T_CHECK(t, ev_pair(tok, "", 0, " The cat", 8, &out, &nc, &nt, &e) == ABL_OK);
    enc(tok, " The cat", &w);
    T_CHECK(t, nc == 1 && out.v[0] == 0 && nt == (int)w.n && !memcmp(out.v + 1, w.v, w.n * sizeof *w.v));
    /* the continuation is the suffix of encode(context + continuation), even when BPE merges
     * across the boundary: ids = encode(ctx) + whole[len(encode(ctx)):] */
    out.n = 0;
    T_CHECK(t, ev_pair(tok, "The ca", 6, "t sat", 5, &out, &nc, &nt, &e) == ABL_OK);
    enc(tok, "The ca", &a);
    enc(tok, "The cat sat", &w);
    T_CHECK(t, nc == (int)a.n && (size_t)nt == (w.n > a.n ? w.n - a.n : 0));
    T_CHECK(t, nt == 0 || !memcmp(out.v + nc, w.v + a.n, (size_t)nt * sizeof *w.v));
    tok_ids_free(&out);
    tok_ids_free(&a);
    tok_ids_free(&w);
    tok_free(tok);
}

/* A toy JSONL task with shared contexts and choices that share leading tokens. */
static void write_toy(tctx *t, char *name, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/toy.jsonl", t_tmpdir(t));
    FILE *f = fopen(path, "w");
    if (!f) {
        t_fail(t, "cannot write %s", path);
        return;
    }
    static const char *ctx[] = {"The cat sat on the", "Paris is the capital of", "one, two, three,",
                                "Question: what colour is the sky? Answer:", ""};
    static const char *ch[] = {"mat", "mat.", "France", "Germany and Italy", "four", "four, five",
                               "blue", "blue sky", "the"};
    for (int i = 0; i < 12; i++) {
        int n = 2 + i % 3;
        fprintf(f, "{\"context\": \"%s\", \"choices\": [", ctx[i % 5]);
        for (int k = 0; k < n; k++)
            fprintf(f, "%s\"%s\"", k ? ", " : "", ch[(i + k) % 9]);
        fprintf(f, "], \"label\": %d}\n", i % n);
    }
    fclose(f);
    snprintf(name, cap, "jsonl:%s", path);
}

static model *ev_model(tctx *t, const char *dir)
{
    abl_err e = {0};
    model *m = NULL;
    model_opts mo = model_opts_default();
    mo.threads = 1;
    if (kern_init(NULL, &e) || model_load(&m, dir, &mo, &e)) {
        t_fail(t, "loading %s: %s", dir, e.msg);
        return NULL;
    }
    return m;
}

static int run_plan_into(tctx *t, model *m, const ev_task *task, const ev_plan_opts *po, ev_results *r)
{
    ev_plan p;
    abl_err e = {0};
    if (ev_plan_make(&p, task, NULL, 0, po, &e)) {
        t_fail(t, "plan: %s", e.msg);
        return 0;
    }
    for (int b = 0; b < p.n_batches; b++) {
        if (model_forward(m, &p.batches[b].fb, NULL, &e)) {
            t_fail(t, "forward: %s", e.msg);
            ev_plan_free(&p);
            return 0;
        }
        ev_accumulate(task, &p.batches[b], r);
    }
    int rows = (int)p.n_tok;
    ev_plan_free(&p);
    return rows;
}

void test_eval_prefix_sharing_is_exact(tctx *t)
{
    model *m = ev_model(t, EV_TINY);
    if (!m)
        return;
    char name[600];
    write_toy(t, name, sizeof name);
    ev_task *task = NULL;
    abl_err e = {0};
    ev_load_opts lo = ev_load_opts_default();
    if (ev_task_load(&task, name, model_tok(m), &lo, &e)) {
        t_fail(t, "load: %s", e.msg);
        model_free(m);
        return;
    }
    ev_results rs, rn, rb;
    ev_results_alloc(&rs, task, &e);
    ev_results_alloc(&rn, task, &e);
    ev_results_alloc(&rb, task, &e);
    ev_plan_opts shared = {4096, false}, alone = {4096, true}, small = {24, false};
    int rows_s = run_plan_into(t, m, task, &shared, &rs);
    int rows_n = run_plan_into(t, m, task, &alone, &rn);
    run_plan_into(t, m, task, &small, &rb);
    double worst = 0;
    int top1_bad = 0;
    for (int c = 0; c < task->n_choices; c++) {
        double d1 = fabs(rs.ll[c] - rn.ll[c]), d2 = fabs(rb.ll[c] - rn.ll[c]);
        worst = fmax(worst, fmax(d1, d2));
        top1_bad += rs.n_top1[c] != rn.n_top1[c];
        T_CHECK(t, rs.done[c] && rn.done[c] && rb.done[c]);
    }
    t_note(t, "max |ll shared - ll alone| = %.3g over %d choices; rows %d shared vs %d alone", worst,
           task->n_choices, rows_s, rows_n);
    T_CHECK(t, worst <= 1e-4);
    T_CHECK(t, top1_bad == 0);
    T_CHECK(t, rows_s < rows_n);
    ev_metrics ms, mn;
    T_CHECK(t, ev_metrics_compute(task, &rs, NULL, 0, &ms, &e) == ABL_OK);
    T_CHECK(t, ev_metrics_compute(task, &rn, NULL, 0, &mn, &e) == ABL_OK);
    T_CHECK(t, ms.acc == mn.acc && ms.acc_norm == mn.acc_norm);
    ev_results_free(&rs);
    ev_results_free(&rn);
    ev_results_free(&rb);
    ev_task_free(task);
    model_free(m);
}

void test_eval_run_task_and_corpus(tctx *t)
{
    model *m = ev_model(t, EV_TINY);
    if (!m)
        return;
    char name[600], path[512];
    write_toy(t, name, sizeof name);
    ev_task *task = NULL;
    abl_err e = {0};
    ev_load_opts lo = ev_load_opts_default();
    lo.limit = 5;
    lo.seed = 3;
    T_CHECK(t, ev_task_load(&task, name, model_tok(m), &lo, &e) == ABL_OK);
    if (!task) {
        t_fail(t, "%s", e.msg);
        model_free(m);
        return;
    }
    T_CHECK(t, task->n_items == 5 && task->n_src == 12);
    ev_results r;
    ev_metrics mt;
    ev_results_alloc(&r, task, &e);
    ev_run_opts ro = {{64, false}, NULL, false, NULL};
    T_CHECK(t, ev_run_task(m, task, &ro, &r, &mt, NULL, &e) == ABL_OK);
    T_CHECK(t, mt.n_items == 5 && mt.acc >= 0 && mt.acc <= 1 && mt.chance > 0.2 && mt.chance < 0.6);
    t_note(t, "toy: acc %.3f acc_norm %.3f chance %.3f", mt.acc, mt.acc_norm, mt.chance);
    ev_results_free(&r);
    ev_task_free(task);

    /* a corpus: chunks of 16 predicted tokens, every token but the first predicted once */
    snprintf(path, sizeof path, "%s/text.txt", t_tmpdir(t));
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < 6; i++)
        fputs("The quick brown fox jumps over the lazy dog. Paris is the capital of France.\n", f);
    if (f)
        fclose(f);
    snprintf(name, sizeof name, "corpus:%s", path);
    lo = ev_load_opts_default();
    lo.corpus_ctx = 16;
    T_CHECK(t, ev_task_load(&task, name, model_tok(m), &lo, &e) == ABL_OK);
    if (!task) {
        t_fail(t, "%s", e.msg);
        model_free(m);
        return;
    }
    tok_ids all = {0};
    enc(model_tok(m), "", &all);
    int64_t pred = 0;
    for (int i = 0; i < task->n_items; i++)
        pred += task->choices[i].n_cont;
    ev_results_alloc(&r, task, &e);
    T_CHECK(t, ev_run_task(m, task, &ro, &r, &mt, NULL, &e) == ABL_OK);
    T_CHECK(t, mt.n_tok == pred && isfinite(mt.ppl) && mt.ppl > 1 && mt.chance == 0);
    T_CHECK(t, task->choices[0].n_cont == 16 && task->choices[1].ids == task->choices[0].ids + 16);
    t_note(t, "corpus: %d chunks, %lld tokens, token acc %.3f, ppl %.2f", task->n_items, (long long)mt.n_tok,
           mt.acc, mt.ppl);
    tok_ids_free(&all);
    ev_results_free(&r);
    ev_task_free(task);
    model_free(m);
}

/* ---- real model vs tools/golden/eval_golden.py ------------------------------------------- */

static uint32_t fnv_ids(const int32_t *ids, int n)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < n; i++)
        h = (h ^ (uint32_t)ids[i]) * 16777619u;
    return h;
}

static const char *data_dir(void)
{
    struct stat st;
    if (!stat("data/tasks/piqa/valid.jsonl", &st))
        return "data/tasks";
    if (!stat("../shared/data/piqa/valid.jsonl", &st))
        return "../shared/data";
    return NULL;
}

typedef struct {
    int src, k, n_ctx, n_cont, top1;
    uint32_t hash;
    double ll;
} gold_choice;

/* Compare one task with its golden file; returns the number of choices compared (0 on error). */
static int golden_task(tctx *t, model *m, const char *task_name, const char *gpath, double *worst,
                       int *pred_bad)
{
    FILE *f = fopen(gpath, "r");
    if (!f)
        return 0;
    gold_choice *g = NULL;
    int n = 0, cap = 0, n_items = 0, ctx = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        gold_choice c;
        int a, b, gd;
        if (sscanf(line, "ctx %d", &a) == 1)
            ctx = a;
        if (sscanf(line, "item %d %d %d", &a, &b, &gd) == 3)
            n_items++;
        if (sscanf(line, "choice %d %d %d %d %u %lf %d", &c.src, &c.k, &c.n_ctx, &c.n_cont, &c.hash, &c.ll,
                   &c.top1) == 7) {
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                gold_choice *q = realloc(g, (size_t)cap * sizeof *q);
                if (!q)
                    break;
                g = q;
            }
            g[n++] = c;
        }
    }
    fclose(f);
    ev_task *task = NULL;
    abl_err e = {0};
    ev_load_opts lo = ev_load_opts_default();
    lo.data_dir = data_dir();
    lo.limit = n_items;
    lo.first = true;
    lo.corpus_ctx = ctx;
    if (ev_task_load(&task, task_name, model_tok(m), &lo, &e)) {
        t_fail(t, "%s: %s", task_name, e.msg);
        free(g);
        return 0;
    }
    ev_results r;
    ev_results_alloc(&r, task, &e);
    ev_run_opts ro = {{2048, false}, NULL, false, NULL};
    if (ev_run_task(m, task, &ro, &r, NULL, NULL, &e)) {
        t_fail(t, "%s: %s", task_name, e.msg);
        n = 0;
    }
    int bad_tok = 0;
    double tw = 0;
    for (int i = 0; i < n && i < task->n_choices; i++) {
        const ev_choice *c = &task->choices[i];
        const ev_item *it = &task->items[c->item];
        if (it->src != g[i].src || i - it->choice0 != g[i].k || c->n_ctx != g[i].n_ctx ||
            c->n_cont != g[i].n_cont || fnv_ids(c->ids, c->n_ctx + c->n_cont) != g[i].hash) {
            if (!bad_tok++)
                t_fail(t, "%s item %d choice %d: tokens differ from the golden (ctx %d/%d, cont %d/%d)",
                       task_name, g[i].src, g[i].k, c->n_ctx, g[i].n_ctx, c->n_cont, g[i].n_cont);
            continue;
        }
        double d = fabs(r.ll[i] - g[i].ll);
        double tol = task->kind == EV_CORPUS ? 1e-3 + 2e-6 * fabs(g[i].ll) : 1e-3;
        if (d > tol && !t_failed(t))
            t_fail(t, "%s item %d choice %d: ll %.6f vs golden %.6f", task_name, g[i].src, g[i].k, r.ll[i],
                   g[i].ll);
        tw = fmax(tw, d);
    }
    if (n != task->n_choices)
        t_fail(t, "%s: %d choices vs %d in the golden", task_name, task->n_choices, n);
    /* the same predicted choice (acc and acc_norm), from the golden's numbers */
    for (int it = 0; it < task->n_items && task->kind != EV_CORPUS && n == task->n_choices; it++) {
        const ev_item *item = &task->items[it];
        int pc = 0, pg = 0, nc = 0, ng = 0;
        for (int k = 1; k < item->n_choices; k++) {
            const ev_choice *ch = &task->choices[item->choice0 + k];
            int i = item->choice0 + k;
            if (r.ll[i] > r.ll[item->choice0 + pc])
                pc = k;
            if (g[i].ll > g[item->choice0 + pg].ll)
                pg = k;
            double nlen = ch->norm_len;
            const ev_choice *bc = &task->choices[item->choice0 + nc], *bg = &task->choices[item->choice0 + ng];
            if (r.ll[i] / nlen > r.ll[item->choice0 + nc] / bc->norm_len)
                nc = k;
            if (g[i].ll / nlen > g[item->choice0 + ng].ll / bg->norm_len)
                ng = k;
        }
        *pred_bad += (pc != pg) + (nc != ng);
    }
    t_note(t, "%-16s %3d items %4d choices  max |ll - golden| = %.2e", task_name, task->n_items, n, tw);
    *worst = fmax(*worst, tw);
    ev_results_free(&r);
    ev_task_free(task);
    free(g);
    return n;
}

void mtest_eval_golden(tctx *t)
{
    struct stat st;
    if (stat(EV_REAL "/model.safetensors", &st)) {
        t_skip(t, "models/smollm2-135m-instruct is missing (run `make model`)");
        return;
    }
    if (!data_dir()) {
        t_skip(t, "benchmark data missing (run `make data`)");
        return;
    }
    model *m = ev_model(t, EV_REAL);
    if (!m)
        return;
    double worst = 0;
    int pred_bad = 0, n_tasks = 0;
    for (const char *const *nm = ev_task_names(); *nm; nm++) {
        char gpath[256];
        snprintf(gpath, sizeof gpath, "tests/golden/eval/%s.txt", *nm);
        if (stat(gpath, &st))
            continue;
        n_tasks += golden_task(t, m, *nm, gpath, &worst, &pred_bad) > 0;
    }
    t_note(t, "%d tasks, worst |ll - golden| = %.2e, predicted-choice mismatches %d", n_tasks, worst, pred_bad);
    T_CHECK(t, n_tasks > 0);
    T_CHECK(t, pred_bad == 0);
    model_free(m);
}
