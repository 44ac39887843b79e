/* study/report.c - the terminal table, layers.csv, summary.json and report.md of a study run
 * (written through base/'s atomic writer). SVG charts are in study/report_svg.c. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/file.h"
#include "../base/jw.h"

const char *report_unit_label(const study_result *r, int u, char *buf, size_t cap)
{
    const char *suf = !strcmp(r->unit_name, "attn") ? ".attn" : !strcmp(r->unit_name, "mlp")
                          ? ".mlp" : "";
    snprintf(buf, cap, "%d%s", r->unit_layer[u], suf);
    return buf;
}

bool report_utf8_locale(void)
{
    const char *v[] = {getenv("LC_ALL"), getenv("LC_CTYPE"), getenv("LANG")};
    for (int i = 0; i < 3; i++)
        if (v[i] && *v[i])
            return strstr(v[i], "UTF-8") || strstr(v[i], "utf8") || strstr(v[i], "UTF8");
    return false;
}

/* ---- terminal table ------------------------------------------------------------------------ */

static void bar(FILE *f, double v, double vmax, int width, bool utf8)
{
    static const char *eighths[] = {"", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b",
                                    "\u258a", "\u2589"};
    if (!(vmax > 0) || !(v > 0)) {
        fprintf(f, "%*s", width, "");
        return;
    }
    double cells = v / vmax * width;
    if (cells > width)
        cells = width;
    int full = (int)cells, part = (int)((cells - full) * 8), used = 0;
    for (int i = 0; i < full; i++, used++)
        fputs(utf8 ? "\u2588" : "#", f);
    if (part && used < width) {
        fputs(utf8 ? eighths[part] : "", f);
        used += utf8;
    }
    fprintf(f, "%*s", width - used, "");
}

static void fmt_num(char *b, size_t n, double v, const char *fmt)
{
    if (isnan(v))
        snprintf(b, n, "n/a");
    else
        snprintf(b, n, fmt, v);
}

static void corr_line(FILE *f, const char *what, const study_corr *c)
{
    char p[64], s[64], k[64], d[32];
    if (isnan(c->pearson))
        snprintf(p, sizeof p, "n/a");
    else
        snprintf(p, sizeof p, "%+.2f [%+.2f,%+.2f]", c->pearson, c->pearson_lo, c->pearson_hi);
    if (isnan(c->spearman))
        snprintf(s, sizeof s, "n/a");
    else
        snprintf(s, sizeof s, "%+.2f [%+.2f,%+.2f]", c->spearman, c->spearman_lo,
                 c->spearman_hi);
    if (isnan(c->kendall))
        snprintf(k, sizeof k, "n/a");
    else
        snprintf(k, sizeof k, "%+.2f [%+.2f,%+.2f]", c->kendall, c->kendall_lo, c->kendall_hi);
    fmt_num(d, sizeof d, 100 * c->discordant, "%.1f%%");
    fprintf(f, "  %-16s pearson %-22s spearman %-22s kendall %-22s discordant %s of %d\n", what,
            p, s, k, d, c->n_pairs);
}

/* A column header for task `name`: a jsonl:/corpus: task shows its file's basename without the
 * extension ("jsonl:/tmp/x/task.jsonl" -> "task"), a built-in task its name. */
static const char *task_header(const char *name, char *buf, size_t cap)
{
    const char *p = !strncmp(name, "jsonl:", 6) ? name + 6 : !strncmp(name, "corpus:", 7) ? name + 7 : NULL;
    if (!p)
        return name;
    const char *slash = strrchr(p, '/');
    if (slash && slash[1])
        p = slash + 1;
    const char *dot = strrchr(p, '.');
    size_t n = dot && dot > p ? (size_t)(dot - p) : strlen(p);
    snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
    return buf;
}

void report_table(const study_result *r, FILE *f, bool utf8)
{
    const study_task_res *P = &r->pooled;
    double cmax = 0, dmax = 0;
    for (int u = 0; u < r->n_units; u++) {
        if (P->cos_score[u] > cmax)
            cmax = P->cos_score[u];
        for (int t = 0; t < r->n_tasks; t++)
            if (fabs(r->tasks[t].drop[u]) > dmax)
                dmax = fabs(r->tasks[t].drop[u]);
        if (fabs(P->drop[u]) > dmax)
            dmax = fabs(P->drop[u]);
    }
    fprintf(f, "\n%s  (%s removed one at a time; drop = accuracy points lost; rel = accuracy "
               "relevance)\n\n", r->model_dir, r->unit_name);
    fprintf(f, "%-8s %-8s %-8s %-7s", "unit", "cos", "", "angdist");
    for (int t = 0; t < r->n_tasks; t++) {
        char hb[64];
        fprintf(f, " %9.9s", task_header(r->tasks[t].name, hb, sizeof hb));
    }
    fprintf(f, " %9s %-10s %6s\n", "drop(avg)", "", "rel");
    for (int u = 0; u < r->n_units; u++) {
        char lab[32], b[32];
        fprintf(f, "%-8s %8.5f ", report_unit_label(r, u, lab, sizeof lab), P->cos_score[u]);
        bar(f, P->cos_score[u], cmax, 6, utf8);
        fprintf(f, " %7.4f", P->ang[u]);
        for (int t = 0; t < r->n_tasks; t++)
            fprintf(f, " %+9.2f", r->tasks[t].drop[u]);
        fprintf(f, " %+9.2f ", P->drop[u]);
        bar(f, P->drop[u], dmax, 10, utf8);
        fmt_num(b, sizeof b, P->rel[u], "%+.3f");
        fprintf(f, " %6s\n", b);
    }
    fprintf(f, "\nintact accuracy (95%% bootstrap CI), chance:\n");
    for (int t = 0; t < r->n_tasks; t++) {
        const study_task_res *T = &r->tasks[t];
        fprintf(f, "  %-16s %-9s %6.2f%% [%6.2f, %6.2f] +- %.2f se  chance %5.2f%%  n=%d%s\n",
                T->name, T->metric, 100 * T->acc, 100 * T->acc_lo, 100 * T->acc_hi,
                100 * T->acc_se, 100 * T->chance, T->n_items,
                T->near_chance ? "  WARNING: within 2 se of chance, relevance is noise" : "");
    }
    fprintf(f, "\ncosine score vs accuracy drop (bootstrap 95%% CIs over items):\n");
    for (int t = 0; t < r->n_tasks; t++)
        corr_line(f, r->tasks[t].name, &r->tasks[t].c_drop);
    if (r->n_tasks > 1)
        corr_line(f, "pooled", &P->c_drop);
    fprintf(f, "cosine score vs accuracy relevance:\n");
    for (int t = 0; t < r->n_tasks; t++)
        corr_line(f, r->tasks[t].name, &r->tasks[t].c_rel);
    if (r->n_tasks > 1)
        corr_line(f, "pooled", &P->c_rel);
    if (r->prune_k > 0) {
        fprintf(f, "\none-shot pruning, the k blocks ranked lowest removed together (mean "
                   "accuracy over tasks):\n  %-26s", "k");
        for (int k = 0; k <= r->prune_k; k++)
            fprintf(f, " %7d", k);
        for (int cv = 0; cv < 2; cv++) {
            fprintf(f, "\n  by %-23s", report_prune_curve_name(cv));
            for (int k = 0; k <= r->prune_k; k++)
                fprintf(f, " %6.2f%%", 100 * r->prune_acc[cv][k]);
            fprintf(f, "\n  %-26s %7s", "  block added", "");
            for (int k = 1; k <= r->prune_k; k++)
                fprintf(f, " %7d", r->unit_layer[r->prune_order[cv][k - 1]]);
        }
        fputc('\n', f);
    }
}

/* ---- layers.csv ------------------------------------------------------------------------------ */

static void csv_num(FILE *f, double v)
{
    if (isnan(v))
        fputs(",", f);
    else
        fprintf(f, ",%.9g", v);
}

abl_status report_csv(const study_result *r, const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "layers.csv", err);
    if (s)
        return s;
    FILE *f = rf.f;
    fputs("task,unit,layer,cos_score,cos_raw,angular_distance,acc_intact,acc_removed,"
          "drop_points,drop_lo,drop_hi,relevance\n", f);
    for (int t = 0; t <= r->n_tasks; t++) {
        const study_task_res *T = t < r->n_tasks ? &r->tasks[t] : &r->pooled;
        if (t == r->n_tasks && r->n_tasks < 2)
            break;
        for (int u = 0; u < r->n_units; u++) {
            char lab[32];
            fprintf(f, "%s,%s,%d", T->name, report_unit_label(r, u, lab, sizeof lab),
                    r->unit_layer[u]);
            csv_num(f, T->cos_score[u]);
            csv_num(f, T->cos_raw[u]);
            csv_num(f, T->ang[u]);
            csv_num(f, T->acc);
            csv_num(f, T->acc_abl[u]);
            csv_num(f, T->drop[u]);
            csv_num(f, T->drop_lo[u]);
            csv_num(f, T->drop_hi[u]);
            csv_num(f, T->rel[u]);
            fputc('\n', f);
        }
    }
    return abl_afile_commit(&rf, err);
}

/* ---- summary.json ------------------------------------------------------------------------ */

static void jnum(jw *w, double v)
{
    if (isfinite(v))
        jw_num(w, v);
    else
        jw_null(w);
}

static void jarr(jw *w, const char *key, const double *v, int n)
{
    jw_key(w, key);
    jw_arr_begin(w);
    for (int i = 0; i < n; i++)
        jnum(w, v[i]);
    jw_arr_end(w);
}

static void jcorr(jw *w, const char *key, const study_corr *c)
{
    jw_key(w, key);
    jw_obj_begin(w);
    jw_key(w, "n");
    jw_int(w, c->n);
    jw_key(w, "pearson");
    jnum(w, c->pearson);
    jarr(w, "pearson_ci95", (const double[]){c->pearson_lo, c->pearson_hi}, 2);
    jw_key(w, "spearman");
    jnum(w, c->spearman);
    jarr(w, "spearman_ci95", (const double[]){c->spearman_lo, c->spearman_hi}, 2);
    jw_key(w, "kendall_tau_b");
    jnum(w, c->kendall);
    jarr(w, "kendall_ci95", (const double[]){c->kendall_lo, c->kendall_hi}, 2);
    jw_key(w, "discordant_share");
    jnum(w, c->discordant);
    jw_key(w, "ordered_pairs");
    jw_int(w, c->n_pairs);
    jw_obj_end(w);
}

static void jtask(jw *w, const study_result *r, const study_task_res *T)
{
    jw_obj_begin(w);
    jw_key(w, "name");
    jw_str(w, T->name);
    jw_key(w, "metric");
    jw_str(w, T->metric);
    if (T->data_sha256[0]) {
        jw_key(w, "data_sha256");
        jw_str(w, T->data_sha256);
    }
    jw_key(w, "n_items");
    jw_int(w, T->n_items);
    jw_key(w, "chance");
    jnum(w, T->chance);
    jw_key(w, "acc");
    jnum(w, T->acc);
    jw_key(w, "acc_se");
    jnum(w, T->acc_se);
    jarr(w, "acc_ci95", (const double[]){T->acc_lo, T->acc_hi}, 2);
    jw_key(w, "near_chance");
    jw_bool(w, T->near_chance);
    jarr(w, "cos_score", T->cos_score, r->n_units);
    jarr(w, "cos_raw", T->cos_raw, r->n_units);
    jarr(w, "angular_distance", T->ang, r->n_units);
    jarr(w, "acc_removed", T->acc_abl, r->n_units);
    jarr(w, "drop_points", T->drop, r->n_units);
    jarr(w, "drop_ci95_lo", T->drop_lo, r->n_units);
    jarr(w, "drop_ci95_hi", T->drop_hi, r->n_units);
    jarr(w, "relevance", T->rel, r->n_units);
    jcorr(w, "cos_score_vs_drop", &T->c_drop);
    jcorr(w, "cos_score_vs_relevance", &T->c_rel);
    jcorr(w, "cos_raw_vs_drop", &T->c_raw);
    jcorr(w, "angular_distance_vs_drop", &T->c_ang);
    jw_obj_end(w);
}

/* Finish a JSON document written through w into rf: committed atomically, or removed. */
static abl_status json_commit(jw *w, abl_afile *rf, abl_err *err)
{
    abl_status s = jw_finish(w, rf->path, err);
    if (s) {
        abl_afile_abort(rf);
        return s;
    }
    return abl_afile_commit(rf, err);
}

abl_status report_summary_json(const study_result *r, const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "summary.json", err);
    if (s)
        return s;
    jw w;
    jw_init(&w, rf.f, 1);
    jw_obj_begin(&w);
    jw_key(&w, "tool");
    jw_str(&w, "ablate");
    jw_key(&w, "config");
    jw_obj_begin(&w);
    jw_key(&w, "command");
    jw_str(&w, r->command);
    jw_key(&w, "model_dir");
    jw_str(&w, r->model_dir);
    jw_key(&w, "model_sha256");
    jw_str(&w, r->model_sha256);
    jw_key(&w, "architecture");
    jw_str(&w, r->arch);
    jw_key(&w, "kernels");
    jw_str(&w, r->kernels);
    jw_key(&w, "n_layers");
    jw_int(&w, r->n_layers);
    jw_key(&w, "unit");
    jw_str(&w, r->unit_name);
    jw_key(&w, "limit");
    jw_int(&w, r->limit);
    jw_key(&w, "seed");
    jw_uint(&w, r->seed);
    jw_key(&w, "bootstrap_resamples");
    jw_int(&w, r->n_boot);
    jw_key(&w, "units");
    jw_arr_begin(&w);
    for (int u = 0; u < r->n_units; u++) {
        char lab[32];
        jw_str(&w, report_unit_label(r, u, lab, sizeof lab));
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_key(&w, "definitions");
    jw_str(&w, study_definitions());
    jw_key(&w, "tasks");
    jw_arr_begin(&w);
    for (int t = 0; t < r->n_tasks; t++)
        jtask(&w, r, &r->tasks[t]);
    jw_arr_end(&w);
    jw_key(&w, "pooled");
    jtask(&w, r, &r->pooled);
    if (r->prune_k > 0) {
        jw_key(&w, "pruning");
        jw_arr_begin(&w);
        for (int cv = 0; cv < 2; cv++) {
            jw_obj_begin(&w);
            jw_key(&w, "ranked_by");
            jw_str(&w, report_prune_curve_name(cv));
            jw_key(&w, "removed_blocks");
            jw_arr_begin(&w);
            for (int k = 0; k < r->prune_k; k++)
                jw_int(&w, r->unit_layer[r->prune_order[cv][k]]);
            jw_arr_end(&w);
            jarr(&w, "mean_accuracy", r->prune_acc[cv], r->prune_k + 1);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
    }
    jw_obj_end(&w);
    return json_commit(&w, &rf, err);
}

/* ---- report.md --------------------------------------------------------------------------- */

static void md_corr(FILE *f, const char *name, const char *what, const study_corr *c)
{
    char d[32];
    fmt_num(d, sizeof d, 100 * c->discordant, "%.1f%%");
    fprintf(f, "| %s | %s | %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] | %s of %d "
               "|\n", name, what, c->pearson, c->pearson_lo, c->pearson_hi, c->spearman,
            c->spearman_lo, c->spearman_hi, c->kendall, c->kendall_lo, c->kendall_hi, d,
            c->n_pairs);
}

abl_status report_markdown(const study_result *r, const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "report.md", err);
    if (s)
        return s;
    FILE *f = rf.f;
    const study_task_res *P = &r->pooled;
    fprintf(f, "# Block relevance study: %s\n\n", r->model_dir);
    fprintf(f, "Command: `%s`  \nModel sha256 (model.safetensors): `%s`  \nArchitecture: %s, "
               "%d blocks; unit removed: %s; limit %d items per task; seed %llu; %d bootstrap "
               "resamples; kernels %s. Wall times are in timing.json (this file and "
               "summary.json are identical whether or not the run was interrupted and "
               "resumed).\n\n",
            r->command, r->model_sha256, r->arch, r->n_layers, r->unit_name, r->limit,
            (unsigned long long)r->seed, r->n_boot, r->kernels);
    fprintf(f, "## Intact accuracy\n\n| task | metric | items | accuracy | 95%% CI | se | "
               "chance | data sha256 |\n|---|---|---|---|---|---|---|---|\n");
    for (int t = 0; t < r->n_tasks; t++) {
        const study_task_res *T = &r->tasks[t];
        fprintf(f, "| %s | %s | %d | %.2f%%%s | [%.2f, %.2f] | %.2f | %.2f%% | `%.12s` |\n",
                T->name, T->metric, T->n_items, 100 * T->acc, T->near_chance ? " **(near "
                "chance)**" : "", 100 * T->acc_lo, 100 * T->acc_hi, 100 * T->acc_se,
                100 * T->chance, T->data_sha256);
    }
    int nc = 0;
    for (int t = 0; t < r->n_tasks; t++)
        nc += r->tasks[t].near_chance;
    if (nc)
        fprintf(f, "\n**Warning:** tasks marked *near chance* score within two standard errors "
                   "of chance; their drops and relevances are noise.\n");
    fprintf(f, "\n## Agreement of the cosine score with accuracy\n\nCorrelation across removed "
               "units, bootstrap 95%% CIs over items (%d resamples).\n\n| task | pair | Pearson | "
               "Spearman | Kendall tau-b | discordant pairs |\n|---|---|---|---|---|---|\n",
            r->n_boot);
    for (int t = 0; t <= r->n_tasks; t++) {
        const study_task_res *T = t < r->n_tasks ? &r->tasks[t] : P;
        if (t == r->n_tasks && r->n_tasks < 2)
            break;
        md_corr(f, T->name, "cos score vs drop", &T->c_drop);
        md_corr(f, T->name, "cos score vs relevance", &T->c_rel);
        md_corr(f, T->name, "angular dist. vs drop", &T->c_ang);
    }
    fprintf(f, "\n## Per unit\n\nDrop in accuracy points when the unit is removed, with the "
               "paired-bootstrap 95%% CI; relevance is chance-corrected.\n\n| unit | cos score | "
               "angular dist. |");
    for (int t = 0; t < r->n_tasks; t++)
        fprintf(f, " %s drop | %s rel |", r->tasks[t].name, r->tasks[t].name);
    fprintf(f, "\n|---|---|---|");
    for (int t = 0; t < r->n_tasks; t++)
        fprintf(f, "---|---|");
    fputc('\n', f);
    for (int u = 0; u < r->n_units; u++) {
        char lab[32];
        fprintf(f, "| %s | %.5f | %.4f |", report_unit_label(r, u, lab, sizeof lab),
                P->cos_score[u], P->ang[u]);
        for (int t = 0; t < r->n_tasks; t++) {
            const study_task_res *T = &r->tasks[t];
            char rel[32];
            fmt_num(rel, sizeof rel, T->rel[u], "%.3f");
            fprintf(f, " %+.2f [%+.2f, %+.2f] | %s |", T->drop[u], T->drop_lo[u], T->drop_hi[u],
                    rel);
        }
        fputc('\n', f);
    }
    if (r->prune_k > 0) {
        fprintf(f, "\n## One-shot pruning\n\nThe k blocks ranked lowest removed together "
                   "(no healing); mean headline accuracy over the tasks.\n\n| k | lowest cosine "
                   "score: removed | accuracy | smallest accuracy drop: removed | accuracy "
                   "|\n|---|---|---|---|---|\n");
        for (int k = 0; k <= r->prune_k; k++) {
            fprintf(f, "| %d |", k);
            for (int cv = 0; cv < 2; cv++) {
                if (k > 0)
                    fprintf(f, " +%d |", r->unit_layer[r->prune_order[cv][k - 1]]);
                else
                    fprintf(f, " none |");
                fprintf(f, " %.2f%% |", 100 * r->prune_acc[cv][k]);
            }
            fputc('\n', f);
        }
    }
    fprintf(f, "\n## Figures\n\n![relevance heatmap](heatmap.svg)\n\n![cosine score vs "
               "drop](scatter.svg)\n\n%s## Definitions\n\n```\n%s```\n",
            r->prune_k > 0 ? "![one-shot pruning](pruning.svg)\n\n" : "", study_definitions());
    return abl_afile_commit(&rf, err);
}

abl_status report_timing_json(const study_result *r, const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "timing.json", err);
    if (s)
        return s;
    jw w;
    jw_init(&w, rf.f, 1);
    jw_obj_begin(&w);
    jw_key(&w, "wall_seconds");
    jnum(&w, r->wall_seconds);
    jw_key(&w, "units_total");
    jw_int(&w, r->units_total);
    jw_key(&w, "units_resumed_from_journal");
    jw_int(&w, r->units_resumed);
    jw_key(&w, "tasks");
    jw_arr_begin(&w);
    for (int t = 0; t < r->n_tasks; t++) {
        jw_obj_begin(&w);
        jw_key(&w, "name");
        jw_str(&w, r->tasks[t].name);
        jw_key(&w, "seconds");
        jnum(&w, r->tasks[t].seconds);
        jw_key(&w, "tokens_per_pass");
        jw_int(&w, r->tasks[t].n_tok_pass);
        jw_key(&w, "passes");
        jw_int(&w, 1 + r->n_units);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    return json_commit(&w, &rf, err);
}

const char *report_prune_curve_name(int curve)
{
    return curve == 0 ? "cosine score" : "accuracy drop";
}

abl_status report_write_all(const study_result *r, const char *dir, abl_err *err)
{
    abl_status s;
    if ((s = report_csv(r, dir, err)) || (s = report_summary_json(r, dir, err)) ||
        (s = report_markdown(r, dir, err)) || (s = report_heatmap_svg(r, dir, err)) ||
        (s = report_scatter_svg(r, dir, err)) || (s = report_timing_json(r, dir, err)) ||
        (s = report_html(r, dir, err)))
        return s;
    if (r->prune_k > 0) {
        report_curve cv[2];
        char title[160];
        report_study_curves(r, cv, title, sizeof title);
        if ((s = report_pruning_svg(cv, 2, title, "blocks removed (the k ranked lowest)",
                                    "mean accuracy (%)", dir, err)))
            return s;
    }
    return ABL_OK;
}
