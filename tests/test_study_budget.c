/* tests/test_study_budget.c - `ablate run --time`: the item split on hand-made tasks, the plan on
 * the tiny model within its budget per the cost model and deterministic, and bad budgets refused. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../kernels/kernels.h"
#include "../study/study.h"
#include "t.h"
#include "test_hard_util.h"

static study_budget_task mk(const char *name, double acc, double sd, double chance,
                            double item_flops, int n_avail)
{
    study_budget_task b;
    memset(&b, 0, sizeof b);
    snprintf(b.name, sizeof b.name, "%s", name);
    b.n_avail = n_avail;
    b.n_pilot = 40;
    b.acc = acc;
    b.se = sd / sqrt(40);
    b.chance = chance;
    b.item_flops = item_flops;
    return b;
}

static double plan_cost(const study_budget_task *t, int n)
{
    double c = 0;
    for (int i = 0; i < n; i++)
        c += t[i].n * t[i].item_flops;
    return c;
}

/* n_need = ceil((3 sd / (acc - chance))^2); with room every task gets its need and the spare
 * grows them by one factor; a short budget satisfies the cheapest needs first; the split is
 * within the budget and the same twice. */
void test_budget_alloc_split(tctx *t)
{
    study_budget_task a[3] = {mk("arc", 0.6, 0.49, 0.25, 1e9, 1000),
                              mk("piqa", 0.62, 0.485, 0.5, 1.5e9, 1000),
                              mk("corpus", 0.35, 0.05, 0, 8e9, 50)};
    abl_err e = {0};
    T_CHECK(t, study_budget_alloc(a, 3, 1e12, &e) == ABL_OK);
    T_CHECK(t, a[0].n_need == 18);  /* (3 * 0.49 / 0.35)^2 = 17.6 */
    T_CHECK(t, a[1].n_need == 148); /* (3 * 0.485 / 0.12)^2 = 147.02 */
    T_CHECK(t, a[2].n_need == 2);   /* (3 * 0.05 / 0.35)^2 = 0.18, at least 2 */
    for (int i = 0; i < 3; i++)
        T_CHECK(t, a[i].n >= a[i].n_need && a[i].n <= a[i].n_avail);
    double c = plan_cost(a, 3);
    t_note(t, "room: n = %d %d %d, %.3g of 1e12 FLOP", a[0].n, a[1].n, a[2].n, c);
    T_CHECK(t, c <= 1e12 && c > 0.95e12);
    int n0[3] = {a[0].n, a[1].n, a[2].n};
    T_CHECK(t, study_budget_alloc(a, 3, 1e12, &e) == ABL_OK);
    T_CHECK(t, a[0].n == n0[0] && a[1].n == n0[1] && a[2].n == n0[2]);
    /* 1.5e11 holds arc's need (1.8e10) and the corpus's (1.6e10), not piqa's (2.22e11) */
    T_CHECK(t, study_budget_alloc(a, 3, 1.5e11, &e) == ABL_OK);
    t_note(t, "short: n = %d %d %d", a[0].n, a[1].n, a[2].n);
    T_CHECK(t, a[0].n == 18 && a[2].n == 2 && a[1].n >= 2 && a[1].n < 148);
    T_CHECK(t, plan_cost(a, 3) <= 1.5e11);
    /* not even 2 items each */
    T_CHECK(t, study_budget_alloc(a, 3, 1e10, &e) == ABL_E_ARG);
    T_CHECK(t, strstr(e.msg, "budget too small") != NULL && !strchr(e.msg, '\n'));
    /* a task at chance has no need and aims at its pilot's size */
    study_budget_task z[1] = {mk("coin", 0.5, 0.5, 0.5, 1e9, 100)};
    T_CHECK(t, study_budget_alloc(z, 1, 1e11, &e) == ABL_OK);
    T_CHECK(t, z[0].n_need == 0 && z[0].n == 100);
}

/* A small multiple-choice file the tiny model can score (24 items, 3 or 4 choices). */
static void write_task(tctx *t, char *spec, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/toy.jsonl", t_tmpdir(t));
    FILE *f = fopen(path, "w");
    static const char *ch[] = {"mat", "sea", "violin", "pen", "hat", "dog", "cloud"};
    for (int i = 0; f && i < 24; i++) {
        int n = 3 + i % 2;
        fprintf(f, "{\"context\": \"Item %d says the\", \"choices\": [", i);
        for (int k = 0; k < n; k++)
            fprintf(f, "%s\"%s\"", k ? ", " : "", ch[(i + 2 * k) % 7]);
        fprintf(f, "], \"label\": %d}\n", i % n);
    }
    if (f)
        fclose(f);
    snprintf(spec, cap, "jsonl:%s", path);
}

/* The plan on the tiny model at an assumed rate: its cost-model FLOPs fit what the budget
 * leaves after the pilot and the overhead, and the same inputs give the same plan. */
void test_budget_plan_tiny_model(tctx *t)
{
    abl_err e = {0};
    if (kern_init(NULL, &e)) {
        t_fail(t, "kern_init: %s", e.msg);
        return;
    }
    char task[600];
    write_task(t, task, sizeof task);
    study_opts o = study_opts_default();
    o.model_dir = "tests/fixtures/tiny";
    o.tasks = task;
    o.threads = 1;
    o.progress = false;
    o.batch_tokens = 96;
    o.command = "test";
    o.prune_k = 1;
    o.rate = 1e6; /* FLOP/s: the tiny model's passes then take seconds, independent of speed */
    o.estimate = true;
    study_result *full = NULL;
    if (study_run(&o, &full, &e)) {
        t_fail(t, "estimate: %s", e.msg);
        return;
    }
    double all = full->tasks[0].flops;
    int n_all = full->tasks[0].n_items;
    study_result_free(full);
    o.estimate = false;
    /* room for 40-60% of the items after the overhead (5 s + 5%) and the pilot */
    study_budget b1, b2;
    double budget = (5 + 0.6 * all / o.rate) / 0.95; /* the pilot: one pass of the ~7 */
    abl_status s1 = study_budget_plan(&o, budget, &b1, &e);
    abl_status s2 = s1 ? s1 : study_budget_plan(&o, budget, &b2, &e);
    if (s1 || s2) {
        t_fail(t, "plan: %s", e.msg);
        if (!s1)
            study_budget_free(&b1);
        return;
    }
    double avail = (budget - b1.overhead_s - b1.pilot_s) * b1.rate;
    t_note(t, "budget %.1f s: %d of %d items, %.3g FLOP of %.3g available (pilot %.1f s)",
           budget, b1.t[0].n, n_all, b1.flops, avail, b1.pilot_s);
    T_CHECK(t, b1.n_tasks == 1 && b1.t[0].n_pilot == n_all && b1.t[0].n_avail == n_all);
    T_CHECK(t, b1.flops <= avail && b1.flops > 0 && b1.t[0].n >= 2 && b1.t[0].n < n_all);
    T_CHECK(t, b1.flops == b2.flops && b1.t[0].n == b2.t[0].n);
    study_budget_free(&b1);
    study_budget_free(&b2);
    /* a budget that holds only the overhead */
    T_CHECK(t, study_budget_plan(&o, 5.5, &b1, &e) == ABL_E_ARG);
    T_CHECK(t, strstr(e.msg, "too short") != NULL && !strchr(e.msg, '\n'));
    study_budget_free(&b1);
}

/* Nonsense budgets and conflicting options: exit 2, one line on stderr, before any loading. */
void test_run_time_refuses_bad_budgets(tctx *t)
{
    if (!hx_need_binary(t))
        return;
    const char *bad[] = {"0s", "5", "5x", "abc", "-5m", "", "5m3", "31d", "1e400s", "nan", "5ms"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char *argv[] = {"run", "--time", (char *)bad[k], "--model", "/nonexistent", NULL};
        hx_result r;
        hx_run(argv, t_tmpdir(t), 0, 60, &r);
        int lines = 0;
        for (const char *p = r.err; *p; p++)
            lines += *p == '\n';
        if (r.rc != 2 || lines != 1 || !strstr(r.err, "--time"))
            t_fail(t, "--time '%s': rc %d, stderr '%s'", bad[k], r.rc, r.err);
    }
    char *conflict[] = {"run", "--time", "5m", "--limit", "3", NULL};
    hx_result r;
    hx_run(conflict, t_tmpdir(t), 0, 60, &r);
    T_CHECK(t, r.rc == 2 && strstr(r.err, "not with --limit"));
    char *rate[] = {"run", "--rate", "100", NULL};
    hx_run(rate, t_tmpdir(t), 0, 60, &r);
    T_CHECK(t, r.rc == 2 && strstr(r.err, "--rate"));
}
