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

/* "v [lo,hi]" (sign forced), "n/a" when v is undefined; a trailing '*' when more than 5% of
 * the bootstrap replicates were undefined. */
static void fmt_ci(char *b, size_t n, double v, double lo, double hi, int undef, int n_boot,
                   int dec)
{
    if (isnan(v))
        snprintf(b, n, "n/a");
    else
        snprintf(b, n, "%+.*f [%+.*f,%+.*f]%s", dec, v, dec, lo, dec, hi,
                 undef * 20 > n_boot ? "*" : "");
}

/* The robustness line of c: without block 0 and without the most influential unit. */
static void robust_text(const study_result *r, const study_corr *c, char *b, size_t n)
{
    static const char *nm[3] = {"r", "rho", "tau"};
    static const int order[3] = {1, 2, 0};
    size_t k = (size_t)snprintf(b, n, "without block 0:");
    for (int j = 0; j < 3 && k < n; j++) {
        int i = order[j];
        char v[16];
        fmt_num(v, sizeof v, c->wo0[i], "%+.2f");
        k += (size_t)snprintf(b + k, n - k, " %s %s", nm[i], v);
    }
    k += (size_t)snprintf(b + k, n - k < n ? n - k : 0, "; without the most influential unit:");
    for (int j = 0; j < 3 && k < n; j++) {
        int i = order[j];
        char v[16], lab[32] = "-";
        fmt_num(v, sizeof v, c->woinf[i], "%+.2f");
        if (c->inf_unit[i] >= 0)
            report_unit_label(r, c->inf_unit[i], lab, sizeof lab);
        k += (size_t)snprintf(b + k, n - k, " %s %s (w/o %s)", nm[i], v, lab);
    }
}

static void corr_line(FILE *f, const study_result *r, const char *what, const study_corr *c)
{
    char p[64], s[64], k[64], d[64], rb[256];
    fmt_ci(s, sizeof s, c->spearman, c->spearman_lo, c->spearman_hi, c->undef[1], r->n_boot, 2);
    fmt_ci(k, sizeof k, c->kendall, c->kendall_lo, c->kendall_hi, c->undef[2], r->n_boot, 2);
    fmt_ci(p, sizeof p, c->pearson, c->pearson_lo, c->pearson_hi, c->undef[0], r->n_boot, 2);
    if (isnan(c->discordant))
        snprintf(d, sizeof d, "n/a");
    else
        snprintf(d, sizeof d, "%.1f%% [%.1f,%.1f]%s of %d", 100 * c->discordant,
                 100 * c->discordant_lo, 100 * c->discordant_hi,
                 c->undef[3] * 20 > r->n_boot ? "*" : "", c->n_pairs);
    fprintf(f, "  %-16s spearman %-21s kendall %-21s pearson %-21s discordant %s\n", what, s, k,
            p, d);
    robust_text(r, c, rb, sizeof rb);
    fprintf(f, "  %-16s   %s\n", "", rb);
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

/* The confusion, task-dependence and companion lines, shared by the table and report.md
 * (md: markdown bullets). */
static void analyses(const study_result *r, FILE *f, bool md)
{
    const char *b = md ? "- " : "  ", *cont = md ? "  " : "    "; /* line, continuation */
    const study_confusion_res *c = &r->conf;
    fprintf(f, "%sranking confusion (pooled, confusion.svg): ", b);
    if (c->n_pairs > 0)
        fprintf(f, "misjudged %d of %d ordered block pairs (%.1f%%), major misjudged %d "
                   "(%.1f%%); %d pairs differ significantly\n", c->n_misjudged, c->n_pairs,
                100.0 * c->n_misjudged / c->n_pairs, c->n_major, 100.0 * c->n_major / c->n_pairs,
                c->n_significant);
    else
        fprintf(f, "n/a (no pair ordered by both)\n");
    fprintf(f, "%smisjudged = the cosine score orders the pair one way, the drop the other (ties "
               "excluded); major = misjudged and the two drops differ significantly (95%% "
               "percentile CI of the paired-bootstrap difference excludes 0)\n", cont);
    const study_taskdep_res *q = &r->taskdep;
    fprintf(f, "%stask dependence: ", b);
    if (q->n_tasks >= 2 && !isnan(q->p))
        fprintf(f, "Wilcoxon signed-rank over %d blocks, W = %.1f, p = %.3g (%s), %d tasks; "
                   "median spread across tasks: z-relevance %.3f, z-cosine %.3f\n", q->n_units,
                q->stat, q->p, q->method, q->n_tasks, q->median_spread_rel,
                q->median_spread_cos);
    else
        fprintf(f, "n/a (%d task%s clearly above chance with varying scores; needs 2)\n",
                q->n_tasks, q->n_tasks == 1 ? "" : "s");
    fprintf(f, "%sper block: z-score relevance and cosine score across blocks within each "
               "task, spread = sample sd across tasks; the test compares the two spreads "
               "(two-sided; exact p for small n, normal with tie correction otherwise)\n", cont);
    const study_corr *m = &r->pooled.c_margin;
    char sp[64], kd[64];
    fmt_ci(sp, sizeof sp, m->spearman, m->spearman_lo, m->spearman_hi, m->undef[1], r->n_boot, 2);
    fmt_ci(kd, sizeof kd, m->kendall, m->kendall_lo, m->kendall_hi, m->undef[2], r->n_boot, 2);
    fprintf(f, "%scontinuous companion (NOT the paper's metric): cosine score vs drop of the gold "
               "margin, pooled: spearman %s kendall %s (per-block values in summary.json)\n",
            b, sp, kd);
    const study_corr *k = &r->pooled.c_kl, *cd = &r->pooled.c_drop;
    char ks[64], kk[64], cs[64];
    fmt_ci(ks, sizeof ks, k->spearman, k->spearman_lo, k->spearman_hi, k->undef[1], r->n_boot, 2);
    fmt_ci(kk, sizeof kk, k->kendall, k->kendall_lo, k->kendall_hi, k->undef[2], r->n_boot, 2);
    fmt_ci(cs, sizeof cs, cd->spearman, cd->spearman_lo, cd->spearman_hi, cd->undef[1], r->n_boot,
           2);
    fprintf(f, "%soutput-side baseline (NOT the paper's metric): KL(intact || removed) next-token "
               "distributions over the full vocabulary at the scored rows vs drop, pooled: "
               "spearman %s kendall %s (the cosine score: spearman %s)\n", b, ks, kk, cs);
}

/* Units whose drop CI excludes 0: sign +1 where removal costs accuracy (lo > 0), -1 where it
 * helps (hi < 0), 0 otherwise (an undefined CI is not significant). */
static int drop_sign(const study_task_res *T, int u)
{
    return T->drop_lo[u] > 0 ? 1 : T->drop_hi[u] < 0 ? -1 : 0;
}

/* One line per task (and pooled): how many units' drops are significant and which, costing
 * accuracy first, then helping. md: a markdown list. */
static void significant_lines(const study_result *r, FILE *f, bool md)
{
    for (int t = 0; t <= r->n_tasks; t++) {
        const study_task_res *T = t < r->n_tasks ? &r->tasks[t] : &r->pooled;
        if (t == r->n_tasks && r->n_tasks < 2)
            break;
        int n[2] = {0, 0};
        for (int u = 0; u < r->n_units; u++)
            if (drop_sign(T, u))
                n[drop_sign(T, u) < 0]++;
        fprintf(f, "%s%-16s %2d of %d significant%s", md ? "- " : "  ", T->name, n[0] + n[1],
                r->n_units, n[0] ? "; removal costs accuracy:" : "");
        for (int sg = 1; sg >= -1; sg -= 2) {
            if (sg < 0 && n[1])
                fprintf(f, "; removal helps:");
            for (int u = 0; u < r->n_units; u++)
                if (drop_sign(T, u) == sg) {
                    char lab[32];
                    fprintf(f, " %s", report_unit_label(r, u, lab, sizeof lab));
                }
        }
        fprintf(f, "%s\n", T->near_chance ? " (near chance: noise)" : "");
    }
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
               "relevance; KL = output-side baseline, nats)\n\n", r->model_dir, r->unit_name);
    fprintf(f, "%-8s %-8s %-8s %-7s %7s", "unit", "cos", "", "angdist", "KL");
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
        fmt_num(b, sizeof b, P->kl[u], "%7.3f");
        fprintf(f, " %7s", b);
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
        fprintf(f, "  %-16s %-9s %6.2f%% [%6.2f, %6.2f] +- %.2f se  chance %5.2f%%  n=%d%s%s\n",
                T->name, T->metric, 100 * T->acc, 100 * T->acc_lo, 100 * T->acc_hi,
                100 * T->acc_se, 100 * T->chance, T->n_items, T->pooled_in ? "" : "  (not pooled)",
                T->near_chance ? "  WARNING: not clearly above chance, relevance is noise" : "");
    }
    if (r->n_tasks > 1)
        fprintf(f, "  pooled: %s\n", r->pool_rule);
    fprintf(f, "\n%ss whose accuracy drop is significant (95%% CI of the paired drop "
               "excludes 0):\n", r->unit_name);
    significant_lines(r, f, false);
    fprintf(f, "\ncosine score vs accuracy drop: rank correlations first (bootstrap 95%% "
               "percentile CIs over items, %d resamples; * = over 5%% of them undefined):\n",
            r->n_boot);
    for (int t = 0; t < r->n_tasks; t++)
        corr_line(f, r, r->tasks[t].name, &r->tasks[t].c_drop);
    if (r->n_tasks > 1)
        corr_line(f, r, "pooled", &P->c_drop);
    fprintf(f, "cosine score vs accuracy relevance:\n");
    for (int t = 0; t < r->n_tasks; t++)
        corr_line(f, r, r->tasks[t].name, &r->tasks[t].c_rel);
    if (r->n_tasks > 1)
        corr_line(f, r, "pooled", &P->c_rel);
    fprintf(f, "discordant = share of block pairs the cosine score orders one way and the drop "
               "the other, ties excluded = (1 - gamma) / 2\n");
    fprintf(f, "\nthe paper's analyses:\n");
    analyses(r, f, false);
    if (r->prune_k > 0) {
        fprintf(f, "\none-shot pruning, the k blocks ranked lowest removed together (mean "
                   "accuracy over the pooled tasks):\n  %-26s", "k");
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
          "drop_points,drop_lo,drop_hi,relevance,margin_drop,kl\n", f);
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
            csv_num(f, T->margin_drop[u]);
            csv_num(f, T->kl[u]);
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
    jarr(w, "discordant_ci95", (const double[]){c->discordant_lo, c->discordant_hi}, 2);
    jw_key(w, "gamma");
    jnum(w, 1 - 2 * c->discordant);
    jw_key(w, "ordered_pairs");
    jw_int(w, c->n_pairs);
    static const char *nm[4] = {"pearson", "spearman", "kendall_tau_b", "discordant_share"};
    jw_key(w, "undefined_replicates");
    jw_obj_begin(w);
    for (int i = 0; i < 4; i++) {
        jw_key(w, nm[i]);
        jw_int(w, c->undef[i]);
    }
    jw_obj_end(w);
    jw_key(w, "without_block0");
    jw_obj_begin(w);
    for (int i = 0; i < 3; i++) {
        jw_key(w, nm[i]);
        jnum(w, c->wo0[i]);
    }
    jw_obj_end(w);
    jw_key(w, "without_most_influential");
    jw_obj_begin(w);
    for (int i = 0; i < 3; i++) {
        jw_key(w, nm[i]);
        jnum(w, c->woinf[i]);
        char k[48];
        snprintf(k, sizeof k, "%s_unit_left_out", nm[i]);
        jw_key(w, k);
        if (c->inf_unit[i] >= 0)
            jw_int(w, c->inf_unit[i]);
        else
            jw_null(w);
    }
    jw_obj_end(w);
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
    if (T != &r->pooled) {
        jw_key(w, "pooled");
        jw_bool(w, T->pooled_in);
    }
    jw_key(w, "drop_ci_method");
    jw_str(w, T->drop_ci);
    /* units whose drop CI excludes 0, by block index: removal costs accuracy / helps */
    for (int sg = 1; sg >= -1; sg -= 2) {
        jw_key(w, sg > 0 ? "significant_cost_units" : "significant_help_units");
        jw_arr_begin(w);
        for (int u = 0; u < r->n_units; u++)
            if (drop_sign(T, u) == sg)
                jw_int(w, r->unit_layer[u]);
        jw_arr_end(w);
    }
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
    jw_key(w, "companion_not_the_papers_metric");
    jw_obj_begin(w);
    jw_key(w, "definition");
    jw_str(w, "per unit: mean over items of m(intact) - m(unit removed), m = gold choice's "
              "log-likelihood / its length in characters minus the best other choice's; "
              "multiple choice only");
    jarr(w, "margin_drop", T->margin_drop, r->n_units);
    jarr(w, "margin_drop_ci95_lo", T->margin_lo, r->n_units);
    jarr(w, "margin_drop_ci95_hi", T->margin_hi, r->n_units);
    jcorr(w, "cos_score_vs_margin_drop", &T->c_margin);
    jw_obj_end(w);
    jw_key(w, "kl_baseline_not_the_papers_metric");
    jw_obj_begin(w);
    jw_key(w, "definition");
    jw_str(w, "per unit: mean over the scored rows of KL(p_intact || p_removed) of the "
              "next-token distributions over the full vocabulary, in nats (null: not measured, "
              "CUDA runs)");
    jarr(w, "kl", T->kl, r->n_units);
    jarr(w, "kl_ci95_lo", T->kl_lo, r->n_units);
    jarr(w, "kl_ci95_hi", T->kl_hi, r->n_units);
    jcorr(w, "kl_vs_drop", &T->c_kl);
    jw_obj_end(w);
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
    jw_key(&w, "pool_rule");
    jw_str(&w, r->pool_rule);
    jw_key(&w, "pooled");
    jtask(&w, r, &r->pooled);
    const study_confusion_res *c = &r->conf;
    jw_key(&w, "confusion");
    jw_obj_begin(&w);
    jw_key(&w, "definition");
    jw_str(&w, "ranks of the pooled cosine score and pooled drop (1 = lowest, ties by unit "
               "order); misjudged = pairs ordered one way by the cosine score and the other by "
               "the drop (ties excluded); major = misjudged and the drops differ significantly "
               "(95% percentile CI of the paired-bootstrap difference excludes 0)");
    jw_key(&w, "rank_by_cos_score");
    jw_arr_begin(&w);
    for (int u = 0; u < c->n; u++)
        jw_int(&w, c->rank_cos[u]);
    jw_arr_end(&w);
    jw_key(&w, "rank_by_drop");
    jw_arr_begin(&w);
    for (int u = 0; u < c->n; u++)
        jw_int(&w, c->rank_drop[u]);
    jw_arr_end(&w);
    jw_key(&w, "ordered_pairs");
    jw_int(&w, c->n_pairs);
    jw_key(&w, "misjudged_pairs");
    jw_int(&w, c->n_misjudged);
    jw_key(&w, "misjudged_share");
    jnum(&w, c->n_pairs ? (double)c->n_misjudged / c->n_pairs : NAN);
    jw_key(&w, "significant_pairs");
    jw_int(&w, c->n_significant);
    jw_key(&w, "major_misjudged_pairs");
    jw_int(&w, c->n_major);
    jw_key(&w, "major_misjudged_share");
    jnum(&w, c->n_pairs ? (double)c->n_major / c->n_pairs : NAN);
    jw_obj_end(&w);
    const study_taskdep_res *q = &r->taskdep;
    jw_key(&w, "task_dependence");
    jw_obj_begin(&w);
    jw_key(&w, "definition");
    jw_str(&w, "per task z-score relevance and cosine score across units; per unit the sample "
               "sd across tasks of each; two-sided Wilcoxon signed-rank test of sd(relevance) - "
               "sd(cosine) over units (zeros dropped; exact for small n, else normal with tie "
               "correction); tasks clearly above chance");
    jw_key(&w, "tasks");
    jw_int(&w, q->n_tasks);
    jw_key(&w, "units");
    jw_int(&w, q->n_units);
    jw_key(&w, "statistic");
    jnum(&w, q->stat);
    jw_key(&w, "p");
    jnum(&w, q->p);
    jw_key(&w, "method");
    jw_str(&w, q->method ? q->method : "n/a");
    jw_key(&w, "median_spread_relevance");
    jnum(&w, q->median_spread_rel);
    jw_key(&w, "median_spread_cos_score");
    jnum(&w, q->median_spread_cos);
    if (q->spread_rel) {
        jarr(&w, "spread_relevance", q->spread_rel, r->n_units);
        jarr(&w, "spread_cos_score", q->spread_cos, r->n_units);
    }
    jw_obj_end(&w);
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

static void md_corr(FILE *f, const study_result *r, const char *name, const char *what,
                    const study_corr *c)
{
    char p[64], s[64], k[64], d[80], rb[256];
    fmt_ci(s, sizeof s, c->spearman, c->spearman_lo, c->spearman_hi, c->undef[1], r->n_boot, 3);
    fmt_ci(k, sizeof k, c->kendall, c->kendall_lo, c->kendall_hi, c->undef[2], r->n_boot, 3);
    fmt_ci(p, sizeof p, c->pearson, c->pearson_lo, c->pearson_hi, c->undef[0], r->n_boot, 3);
    if (isnan(c->discordant))
        snprintf(d, sizeof d, "n/a");
    else
        snprintf(d, sizeof d, "%.1f%% [%.1f, %.1f]%s of %d", 100 * c->discordant,
                 100 * c->discordant_lo, 100 * c->discordant_hi,
                 c->undef[3] * 20 > r->n_boot ? "*" : "", c->n_pairs);
    robust_text(r, c, rb, sizeof rb);
    fprintf(f, "| %s | %s | %s | %s | %s | %s | %s |\n", name, what, s, k, p, d, rb);
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
               "chance | pooled | data sha256 |\n|---|---|---|---|---|---|---|---|---|\n");
    for (int t = 0; t < r->n_tasks; t++) {
        const study_task_res *T = &r->tasks[t];
        fprintf(f, "| %s | %s | %d | %.2f%%%s | [%.2f, %.2f] | %.2f | %.2f%% | %s | `%.12s` |\n",
                T->name, T->metric, T->n_items, 100 * T->acc, T->near_chance ? " **(near "
                "chance)**" : "", 100 * T->acc_lo, 100 * T->acc_hi, 100 * T->acc_se,
                100 * T->chance, T->pooled_in ? "yes" : "no", T->data_sha256);
    }
    int nc = 0;
    for (int t = 0; t < r->n_tasks; t++)
        nc += r->tasks[t].near_chance;
    if (nc)
        fprintf(f, "\n**Warning:** tasks marked *near chance* are not clearly above chance (0/1 "
                   "hits: the Wilson 95%% lower bound is at or below it; otherwise within two "
                   "standard errors); their drops and relevances are noise.\n");
    if (r->n_tasks > 1)
        fprintf(f, "\nPooled figures: %s.\n", r->pool_rule);
    fprintf(f, "\n## Agreement of the cosine score with accuracy\n\nCorrelation across removed "
               "units; the rank correlations (Spearman, Kendall tau-b) are the headline, Pearson "
               "is beside them. Percentile bootstrap 95%% CIs over items within each task (%d "
               "resamples); an undefined estimate (n/a) has no interval; * marks a CI with more "
               "than 5%% undefined replicates (counts in summary.json). Discordant share: block "
               "pairs ordered one way by the cosine score and the other by the drop, among the "
               "pairs ordered by both (ties excluded), = (1 - gamma) / 2 with Goodman-Kruskal "
               "gamma. Robustness: each coefficient again without block 0 and without the single "
               "most influential block (leave-one-block-out, named).\n\n| task | pair | "
               "Spearman | Kendall tau-b | Pearson | discordant pairs | robustness "
               "|\n|---|---|---|---|---|---|---|\n", r->n_boot);
    for (int t = 0; t <= r->n_tasks; t++) {
        const study_task_res *T = t < r->n_tasks ? &r->tasks[t] : P;
        if (t == r->n_tasks && r->n_tasks < 2)
            break;
        md_corr(f, r, T->name, "cos score vs drop", &T->c_drop);
        md_corr(f, r, T->name, "cos score vs relevance", &T->c_rel);
        md_corr(f, r, T->name, "angular dist. vs drop", &T->c_ang);
    }
    fprintf(f, "\n## Per unit\n\nDrop in accuracy points when the unit is removed, with its "
               "95%% CI: for tasks with 0/1 hits Newcombe's paired interval (Wilson score "
               "intervals of both accuracies combined with the correlation of the pairs; honest "
               "with few flipped items), otherwise a paired bootstrap (for next-token accuracy "
               "a cluster bootstrap over documents); relevance is chance-corrected.\n\n"
               "| unit | cos score | angular dist. |");
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
            char rel[32], dr[64];
            fmt_num(rel, sizeof rel, T->rel[u], "%.3f");
            fmt_ci(dr, sizeof dr, T->drop[u], T->drop_lo[u], T->drop_hi[u], 0, r->n_boot, 2);
            fprintf(f, " %s | %s |", dr, rel);
        }
        fputc('\n', f);
    }
    fprintf(f, "\n## Significant drops\n\nRemoved %ss whose drop's 95%% CI (above) excludes 0: "
               "removing them costs (or helps) accuracy beyond the noise of these items.\n\n",
            r->unit_name);
    significant_lines(r, f, true);
    fprintf(f, "\n## The paper's analyses\n\n");
    analyses(r, f, true);
    fprintf(f, "\nPer unit, pooled, with bootstrap 95%% CIs; neither is the paper's metric: "
               "the drop of the gold choice's normalized log-likelihood margin (continuous "
               "companion) and KL(intact || removed) in nats (output-side baseline).\n\n"
               "| unit | margin drop | KL |\n|---|---|---|\n");
    for (int u = 0; u < r->n_units; u++) {
        char lab[32], v[64], kv[64];
        fmt_ci(v, sizeof v, P->margin_drop[u], P->margin_lo[u], P->margin_hi[u], 0, r->n_boot, 4);
        fmt_ci(kv, sizeof kv, P->kl[u], P->kl_lo[u], P->kl_hi[u], 0, r->n_boot, 4);
        fprintf(f, "| %s | %s | %s |\n", report_unit_label(r, u, lab, sizeof lab), v, kv);
    }
    if (r->prune_k > 0) {
        fprintf(f, "\n## One-shot pruning\n\nThe k blocks ranked lowest removed together "
                   "(no healing); mean headline accuracy over the pooled tasks.\n\n| k | lowest cosine "
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
               "drop](scatter.svg)\n\n![ranking confusion](confusion.svg)\n\n%s## Definitions\n\n```\n%s```\n",
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
        (s = report_scatter_svg(r, dir, err)) || (s = report_confusion_svg(r, dir, err)) ||
        (s = report_timing_json(r, dir, err)) || (s = report_html(r, dir, err)))
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
