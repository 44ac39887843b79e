/* study/study.c - the study driver: load the model and tasks, fix the configuration and its
 * fingerprint, assign work units to shards, run every task's units (study_task.c), then the
 * statistics, the pruning curves and the reports. */
#include "study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/sha256.h"
#include "../engine/model.h"
#include "../kernels/kernels.h"
#include "../eval/eval.h"
#include "report.h"
#include "study_int.h"

const char *study_definitions(void)
{
    return "cosine score of block l   1 - cos(h_in, h_out), h_in = residual stream entering the\n"
           "                          block, h_out = leaving it (after attention and MLP adds).\n"
           "                          Sub-blocks: attn uses (resid_pre, resid_mid), mlp uses\n"
           "                          (resid_mid, resid_post). Low = 'prunable'.\n"
           "  tokens averaged         every row the scorer feeds the model, once: per item the\n"
           "                          longest token prefix common to all its (context + choice)\n"
           "                          sequences once (the context, plus leading continuation\n"
           "                          tokens every choice shares), then each choice's remaining\n"
           "                          tokens but its last (a target only, never fed); corpora:\n"
           "                          every fed token. One mean over all those rows of all items\n"
           "                          (rows, not items, weigh equally). Not a mean over every\n"
           "                          token of every (context, choice) request, which would count\n"
           "                          the shared context once per choice (up to 5% different).\n"
           "                          Why: these are exactly the hidden states the model computes\n"
           "                          for the task, each counted once.\n"
           "raw cosine                cos(h_in, h_out), mean over the same rows.\n"
           "angular distance          arccos(cos(h_in, h_out)) / pi at the last context token of\n"
           "                          each input, mean over inputs (Gromov et al.).\n"
           "removal of block l        skip it: the residual passes through unchanged; no\n"
           "                          rescaling, no healing (sub-blocks likewise).\n"
           "accuracy                  lm-eval zero-shot log-likelihood multiple choice: acc =\n"
           "                          argmax of the summed continuation log-prob; acc_norm = the\n"
           "                          same divided by the choice's length in characters. The\n"
           "                          headline is acc_norm for arc_easy, arc_challenge, hellaswag,\n"
           "                          openbookqa, piqa, acc otherwise (--metric overrides);\n"
           "                          corpora: next-token top-1 accuracy (token-weighted; its se\n"
           "                          by the delta method over documents).\n"
           "chance r(D)               mean over items of 1 / number of choices; 0 for next-token\n"
           "                          accuracy.\n"
           "accuracy drop             acc - acc(-l), in points. 95% CI: Newcombe's paired Wilson\n"
           "                          interval (0/1 hits: honest with few flipped items), else a\n"
           "                          paired bootstrap (cluster bootstrap over documents).\n"
           "accuracy relevance        1 - max(acc(-l) - r, 0) / max(acc - r, 0); n/a when\n"
           "                          acc <= r. Positive: removal hurts; negative: it helps.\n"
           "agreement                 Spearman (average ranks for ties) and Kendall tau-b (the\n"
           "                          headline), Pearson beside them, of the cosine score with\n"
           "                          the drop (and relevance) across removed units, per task and\n"
           "                          pooled; each also without block 0 and without the single\n"
           "                          most influential unit (leave-one-out, named). Percentile\n"
           "                          bootstrap 95% CIs resampling items within each task; an\n"
           "                          undefined (n/a) estimate has no CI; * = more than 5% of\n"
           "                          the replicates undefined. Coverage, seeded simulation of\n"
           "                          500 studies (tests/test_study_stats.c): Pearson 94.8%,\n"
           "                          drops 94.2%; Spearman and Kendall only 86% when blocks'\n"
           "                          drops lie within noise of each other (discrete ranks):\n"
           "                          read their CIs as too narrow there.\n"
           "pooled                    equal-weight mean over the pooled tasks of each unit's\n"
           "                          score and drop; default: tasks clearly above chance (not\n"
           "                          near chance), multiple-choice ones (next-token ones when no\n"
           "                          MC task qualifies); --pool all: every task. The set is\n"
           "                          fixed by the intact run for every bootstrap replicate.\n"
           "discordant pairs          share of unit pairs ordered one way by the cosine score and\n"
           "                          the other way by the drop, among pairs ordered by both\n"
           "                          (ties excluded) = (1 - gamma) / 2, Goodman-Kruskal gamma\n"
           "                          (the paper's 'misjudged relative importance'); with a CI.\n"
           "major misjudged           discordant pairs whose two drops differ significantly: the\n"
           "                          95% CI of the paired-bootstrap difference excludes 0.\n"
           "task dependence           per task z-score relevance and cosine score across units;\n"
           "                          per unit their sd across tasks; two-sided Wilcoxon signed-\n"
           "                          rank test of the difference over units.\n"
           "margin companion          NOT the paper's metric: per item the gold choice's log-\n"
           "                          likelihood / length minus the best other choice's; per unit\n"
           "                          the mean drop of that margin when removed, with its CI.\n"
           "KL baseline               NOT the paper's metric: KL(p_intact || p_removed) of the\n"
           "                          next-token distributions over the full vocabulary at every\n"
           "                          scored row, mean over those rows, in nats; correlated with\n"
           "                          the drop (CPU runs; measured in the same passes).\n"
           "near chance               not clearly above chance: for 0/1 hits the Wilson 95% lower\n"
           "                          bound of the accuracy is at or below chance, otherwise\n"
           "                          acc - chance < 2 standard errors; that task's drops and\n"
           "                          relevances are noise, and it is not pooled by default.\n";
}

study_opts study_opts_default(void)
{
    study_opts o;
    memset(&o, 0, sizeof o);
    o.model_dir = "models/smollm2-135m-instruct";
    o.tasks = "piqa,arc_easy,hellaswag,wikitext2";
    o.seed = 1234;
    o.n_boot = 1000;
    o.progress = true;
    return o;
}

void study_result_free(study_result *r)
{
    if (!r)
        return;
    for (int t = 0; t < r->n_tasks; t++)
        study_task_free(&r->tasks[t]);
    free(r->tasks);
    study_task_free(&r->pooled);
    free(r->unit_layer);
    free(r->shard_flops);
    free(r->conf.rank_cos);
    free(r->conf.rank_drop);
    free(r->taskdep.spread_rel);
    free(r->taskdep.spread_cos);
    free(r);
}

enum { MAX_TASKS = 32 };

/* The configuration line: everything the numbers depend on. Its sha256 is the fingerprint that
 * names the default run directory and that every journal and config.txt must carry. */
static abl_status config_text(const study_opts *o, const study_result *r, ev_task **tasks,
                              const int *units, char *config, size_t cap, abl_err *err)
{
    int cl = snprintf(config, cap, "ablate-study-v2 model_sha256=%s kernels=%s "
                      "device=%d unit=%s metric=%d limit=%d seed=%llu batch_tokens=%d boot=%d "
                      "resume=%d layers=", r->model_sha256, r->kernels, o->device, r->unit_name,
                      (int)o->metric, o->limit, (unsigned long long)o->seed, o->batch_tokens,
                      o->n_boot, !o->no_resume);
    for (int u = 0; u < r->n_units && cl < (int)cap - 600; u++)
        cl += snprintf(config + cl, cap - (size_t)cl, "%s%d", u ? "," : "", units[u]);
    if (o->prune_k > 0 && o->unit == STUDY_UNIT_BLOCK) /* absent when off: older runs resume */
        cl += snprintf(config + cl, cap - (size_t)cl, " prune=%d pool=%s", o->prune_k,
                       o->pool_all ? "all" : "above-chance"); /* pooling orders the curves */
    for (int t = 0; t < r->n_tasks && cl < (int)cap - 300; t++)
        cl += snprintf(config + cl, cap - (size_t)cl, " task=%s:%.16s:%d", tasks[t]->name,
                       r->tasks[t].data_sha256, tasks[t]->n_items);
    if (cl >= (int)cap - 300)
        return abl_fail(err, ABL_E_ARG, "study: configuration too long (too many tasks or blocks)");
    return ABL_OK;
}

/* Enumerate every work unit (per task: its sweep batches, then its pruning passes by curve,
 * step and batch), and with n_shards > 0 assign them: each phase balanced on its own, so a
 * second round of the shards (pruning, once every sweep is in) is balanced too. load (n_shards,
 * or NULL) gets each shard's FLOPs. */
static abl_status plan_units(study_ctx *c, ev_task **tasks, int n_tasks, int n_shards,
                             double *load, abl_err *err)
{
    int n1 = 0, n2 = 0;
    abl_status s = ABL_OK;
    c->off1 = calloc((size_t)n_tasks, sizeof(int));
    c->off2 = calloc((size_t)n_tasks, sizeof(int));
    c->nb = calloc((size_t)n_tasks, sizeof(int));
    if (!c->off1 || !c->off2 || !c->nb)
        return abl_fail(err, ABL_E_NOMEM, "study: out of memory");
    for (int t = 0; t < n_tasks && !s; t++) {
        long long tok = 0;
        s = study_task_costs(c, tasks[t], NULL, NULL, &c->nb[t], &tok, err);
        c->work_total += tok * (1 + c->n_units + 2 * c->prune_K);
        c->off1[t] = n1;
        n1 += c->nb[t];
    }
    for (int t = 0; t < n_tasks && !s; t++) {
        c->off2[t] = n1 + n2;
        n2 += 2 * c->prune_K * c->nb[t];
    }
    c->n_all = n1 + n2;
    if (s || (n_shards <= 0 && !c->o->no_compute))
        return s;
    double *cost = malloc(sizeof(double) * (size_t)(c->n_all + 1));
    double *ld = calloc((size_t)(n_shards > 0 ? n_shards : 1), sizeof(double));
    c->owner = malloc(sizeof(int) * (size_t)(c->n_all + 1));
    c->missing = calloc((size_t)c->n_all + 1, 1);
    if (!cost || !ld || !c->owner || !c->missing)
        s = abl_fail(err, ABL_E_NOMEM, "study: out of memory");
    for (int t = 0; t < n_tasks && !s; t++)
        s = study_task_costs(c, tasks[t], cost + c->off1[t], cost + c->off2[t], &c->nb[t], NULL,
                             err);
    if (!s && n_shards > 0)
        s = study_shard_assign(cost, n1, n_shards, c->owner, ld, err);
    if (!s && n_shards > 0)
        s = study_shard_assign(cost + n1, n2, n_shards, c->owner + n1, load ? load : ld, err);
    for (int k = 0; !s && load && k < n_shards; k++)
        load[k] += ld[k];
    free(cost);
    free(ld);
    return s;
}

/* --no-compute with units missing: name the shards that owe them, under every shard count
 * whose journals are in the run directory. */
static abl_status missing_error(study_ctx *c, ev_task **tasks, int n_tasks, abl_err *err)
{
    int ns[8], nn = c->store ? study_store_shard_counts(c->store, ns, 8) : 0;
    char list[600] = "";
    size_t ll = 0;
    int n1 = n_tasks > 0 ? c->off2[0] : 0;
    int *own = malloc(sizeof(int) * (size_t)(c->n_all + 1));
    double *cost = malloc(sizeof(double) * (size_t)(c->n_all + 1));
    abl_status s = own && cost ? ABL_OK : abl_fail(err, ABL_E_NOMEM, "study: out of memory");
    for (int t = 0; !s && t < n_tasks; t++)
        s = study_task_costs(c, tasks[t], cost + c->off1[t], cost + c->off2[t], &c->nb[t], NULL,
                             err);
    for (int i = 0; i < nn && !s && ll < sizeof list - 40; i++) {
        if ((s = study_shard_assign(cost, n1, ns[i], own, NULL, err)) ||
            (s = study_shard_assign(cost + n1, c->n_all - n1, ns[i], own + n1, NULL, err)))
            break;
        for (int k = 0; k < ns[i] && ll < sizeof list - 40; k++) {
            int miss = 0;
            for (int u = 0; u < c->n_all && !miss; u++)
                miss = c->missing[u] && own[u] == k;
            if (miss)
                ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s%d/%d", ll ? ", " : "", k,
                                       ns[i]);
        }
    }
    free(own);
    free(cost);
    if (s)
        return s;
    return abl_fail(err, ABL_E_STATE, "%s: %d work units are not journaled yet%s%s (hint: "
                    "run %s with the same options and --shard I/N, or drop --no-compute to "
                    "compute them here)", c->dir ? c->dir : "(no run directory)",
                    c->units_missing, nn ? "; missing from shards " : " and no shard journals "
                    "are there", list, nn ? "those shards" : "the shards");
}

abl_status study_run(const study_opts *o, study_result **out, abl_err *err)
{
    *out = NULL;
    double t_start = ev_now();
    abl_list tl;
    abl_status s0 = ev_tasks_parse(o->tasks, "--tasks", &tl, err); /* before loading anything */
    if (s0)
        return s0;
    int n_tasks = tl.n;
    char names[MAX_TASKS][96];
    for (int t = 0; t < n_tasks && !s0; t++)
        if (strlen(tl.v[t]) >= sizeof names[t] || t >= MAX_TASKS)
            s0 = abl_fail(err, ABL_E_ARG, "--tasks: at most %d tasks of at most %zu bytes each",
                          MAX_TASKS, sizeof names[t] - 1);
        else
            snprintf(names[t], sizeof names[t], "%s", tl.v[t]);
    abl_list_free(&tl);
    if (s0)
        return s0;
    if (o->n_boot < 1)
        return abl_fail(err, ABL_E_ARG, "bootstrap resamples: expected >= 1, found %d",
                        o->n_boot);
    if (o->n_shards > 0 && (o->shard < 0 || o->shard >= o->n_shards))
        return abl_fail(err, ABL_E_ARG, "--shard %d/%d: expected 0 <= I < N", o->shard,
                        o->n_shards);
    study_result *r = calloc(1, sizeof *r);
    ev_task *tasks[MAX_TASKS] = {0};
    study_raw raw[MAX_TASKS];
    memset(raw, 0, sizeof raw);
    model *m = NULL;
    study_ctx c;
    memset(&c, 0, sizeof c);
    c.my = o->n_shards > 0 ? o->shard : -1;
    int units[STUDY_MAX_UNITS], n_units = 0;
    char *config = malloc(8192);
    if (!r || !config) {
        free(r);
        free(config);
        return abl_fail(err, ABL_E_NOMEM, "study: out of memory");
    }
    model_opts mo = model_opts_default();
    mo.threads = o->threads;
    mo.device = o->device;
    abl_status s = model_load(&m, o->model_dir, &mo, err);
    if (s) {
        abl_wrap(err, "loading the model");
        goto fail;
    }
    const hf_config *cfg = model_config(m);
    if ((s = study_parse_layers(o->layers, cfg->n_layers, units, &n_units, err)))
        goto fail;
    /* model hash */
    char mpath[4200];
    snprintf(mpath, sizeof mpath, "%s/model.safetensors", o->model_dir);
    struct stat st;
    if (stat(mpath, &st) != 0)
        snprintf(mpath, sizeof mpath, "%s/model.safetensors.index.json", o->model_dir);
    if ((s = sha256_file(mpath, r->model_sha256, err)))
        goto fail;
    snprintf(r->model_dir, sizeof r->model_dir, "%s", o->model_dir);
    snprintf(r->arch, sizeof r->arch, "%s", cfg->arch);
    snprintf(r->kernels, sizeof r->kernels, "%s", kern.name ? kern.name : "?");
    snprintf(r->command, sizeof r->command, "%s", o->command ? o->command : "");
    snprintf(r->unit_name, sizeof r->unit_name, "%s", study_unit_name(o->unit));
    r->n_layers = cfg->n_layers;
    r->limit = o->limit;
    r->seed = o->seed;
    r->n_boot = o->n_boot;
    r->n_units = n_units;
    r->unit_layer = malloc(sizeof(int) * (size_t)n_units);
    r->tasks = calloc((size_t)n_tasks, sizeof *r->tasks);
    if (!r->unit_layer || !r->tasks) {
        s = abl_fail(err, ABL_E_NOMEM, "study: out of memory");
        goto fail;
    }
    memcpy(r->unit_layer, units, sizeof(int) * (size_t)n_units);
    r->n_tasks = n_tasks;
    /* tasks */
    ev_load_opts lo = ev_load_opts_default();
    lo.data_dir = o->data_dir;
    lo.seed = o->seed;
    if (o->task_limits && o->n_task_limits != n_tasks) {
        s = abl_fail(err, ABL_E_ARG, "--limit: %d item counts for %d tasks (hint: one per task "
                     "in --tasks order, or one for all)", o->n_task_limits, n_tasks);
        goto fail;
    }
    for (int t = 0; t < n_tasks; t++) {
        lo.limit = o->task_limits ? o->task_limits[t] : o->limit;
        if ((s = ev_task_load(&tasks[t], names[t], model_tok(m), &lo, err)))
            goto fail;
        if ((s = study_task_alloc(&r->tasks[t], n_units))) {
            abl_fail(err, s, "study: out of memory");
            goto fail;
        }
        /* the task reports the files it read and their hash */
        snprintf(r->tasks[t].data_sha256, sizeof r->tasks[t].data_sha256, "%s",
                 tasks[t]->data_sha256);
    }
    if ((s = config_text(o, r, tasks, units, config, 8192, err)))
        goto fail;
    if ((s = study_task_alloc(&r->pooled, n_units))) {
        abl_fail(err, s, "study: out of memory");
        goto fail;
    }
    snprintf(r->pooled.name, sizeof r->pooled.name, "pooled");
    snprintf(r->pooled.metric, sizeof r->pooled.metric, "mean");
    /* the fingerprint and the run directory */
    sha256_hex(config, strlen(config), r->fingerprint);
    if (o->out_dir) {
        snprintf(r->run_dir, sizeof r->run_dir, "%s", o->out_dir);
    } else if (o->out_root) {
        const char *base = strrchr(o->model_dir, '/');
        base = base && base[1] ? base + 1 : o->model_dir;
        snprintf(r->run_dir, sizeof r->run_dir, "%s/%.200s-%.8s", o->out_root, base,
                 r->fingerprint);
    }
    c.dir = r->run_dir[0] ? r->run_dir : NULL;
    if (c.dir && !o->estimate &&
        (s = study_store_open(&c.store, c.dir, config, c.my, o->n_shards, err)))
        goto fail;
    if (c.dir && !o->estimate && o->progress)
        fprintf(stderr, "ablate run: run directory %s%s\n", c.dir, o->n_shards > 0 ?
                " (this shard's units only)" : "");
    c.o = o;
    c.m = m;
    c.L = cfg->n_layers;
    c.D = cfg->d_model;
    c.n_units = n_units;
    c.unit_layer = r->unit_layer;
    c.sw = (study_sweep){m, c.L, c.D, o->unit, o->no_resume, o->stop, NULL, 0, NULL, NULL, 0, 0,
                         NULL, NULL, NULL, 0, 0, 0, NULL, 0};
    int K = o->prune_k < n_units ? o->prune_k : n_units - 1;
    c.prune_K = o->unit == STUDY_UNIT_BLOCK && K >= 1 ? K : 0;
    int est_n = o->estimate ? o->estimate_shards : 0;
    if (est_n > 0 && !(r->shard_flops = calloc((size_t)est_n, sizeof(double)))) {
        s = abl_fail(err, ABL_E_NOMEM, "study: out of memory");
        goto fail;
    }
    if ((s = plan_units(&c, tasks, n_tasks, est_n > 0 ? est_n : o->n_shards, r->shard_flops,
                        err)))
        goto fail;
    r->n_shard_est = est_n;
    c.show = o->progress && !o->estimate;
    if (c.show)
        ev_progress_begin_work(&c.pr, stderr, "study", "token-passes", c.work_total);
    for (int t = 0; t < n_tasks; t++)
        if ((s = study_task_run(&c, tasks[t], t, n_tasks, &raw[t], &r->tasks[t], err)))
            goto fail;
    if (o->estimate) {
        r->estimated = true;
        r->probe_seconds = c.probe_s;
        r->probe_cpu_seconds = c.probe_cpu;
        r->probe_flops = c.probe_flops;
        r->probe_tokens = c.probe_tok;
        r->flops_per_s = o->rate > 0 ? o->rate : c.probe_s > 0 ? c.probe_flops / c.probe_s : 0;
        r->wall_seconds = ev_now() - t_start;
        goto cleanup;
    }
    if (c.units_missing && c.my >= 0 && c.prune_K > 0) {
        /* this shard's sweep is in; the pruning passes need every shard's */
        if ((s = study_store_refresh(c.store, err)))
            goto fail;
        c.units_missing = c.units_total = c.units_resumed = 0; /* counted again below */
        if (c.show)
            ev_progress_begin_work(&c.pr, stderr, "study", "token-passes", c.work_total);
        for (int t = 0; t < n_tasks; t++) {
            study_raw_free(&raw[t]);
            memset(&raw[t], 0, sizeof raw[t]);
            if ((s = study_task_run(&c, tasks[t], t, n_tasks, &raw[t], &r->tasks[t], err)))
                goto fail;
        }
    }
    if (c.units_missing) {
        if (c.my < 0) {
            s = missing_error(&c, tasks, n_tasks, err);
            goto fail;
        }
        for (int u = n_tasks > 0 ? c.off2[0] : 0; u < c.n_all; u++)
            r->units_pending += c.owner[u] == c.my;
        goto shard_done;
    }
    study_choose_pool(r, o->pool_all);
    study_pool(r->tasks, r->tasks, n_tasks, n_units, &r->pooled);
    if ((s = study_prune_curves(&c, tasks, n_tasks, r, err)))
        goto fail;
    if (c.show) {
        ev_progress_label(&c.pr, "study");
        ev_progress_end(&c.pr);
    }
    if (c.my >= 0)
        goto shard_done;
    if (c.units_missing) {
        s = missing_error(&c, tasks, n_tasks, err);
        goto fail;
    }
    r->units_total = c.units_total;
    r->units_resumed = c.units_resumed;
    r->units_new = c.units_new;
    double se2 = 0;
    int n_pool = 0;
    for (int t = 0; t < n_tasks; t++)
        if (r->tasks[t].pooled_in) {
            se2 += r->tasks[t].acc_se * r->tasks[t].acc_se;
            n_pool++;
        }
    r->pooled.acc_se = sqrt(se2) / n_pool;
    if ((s = study_bootstrap(r, raw, o->seed, err)))
        goto fail;
    study_robustness(r);
    if ((s = study_task_dependence(r, err)))
        goto fail;
    r->wall_seconds = ev_now() - t_start;
    if (c.dir && (s = report_write_all(r, c.dir, err)))
        goto fail;
    goto cleanup;
shard_done:
    r->shard_only = true;
    r->units_total = c.units_total;
    r->units_resumed = c.units_resumed;
    r->units_new = c.units_new;
    r->wall_seconds = ev_now() - t_start;
    goto cleanup;
fail:
    if (c.show && c.pr.active && c.pr.tty)
        fputc('\n', stderr); /* end the redrawn line */
    if (s == ABL_E_INTERRUPTED && c.dir)
        abl_fail(err, ABL_E_INTERRUPTED, "interrupted: %d work units finished and saved in "
                 "%s (hint: run the same command again to resume)",
                 c.units_new + c.units_resumed, c.dir);
    study_result_free(r);
    r = NULL;
cleanup:
    for (int t = 0; t < n_tasks; t++) {
        ev_task_free(tasks[t]);
        study_raw_free(&raw[t]);
    }
    study_store_close(c.store);
    model_free(m);
    study_sweep_free(&c.sw);
    free(c.payload);
    free(c.owner);
    free(c.missing);
    free(c.off1);
    free(c.off2);
    free(c.nb);
    free(config);
    *out = r;
    return s;
}
