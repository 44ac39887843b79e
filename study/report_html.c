/* study/report_html.c - report.html: the whole run in one self-contained page (inline SVG and
 * CSS, no script, no network) that reads on a laptop, a phone (tables scroll) and on paper. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const css =
    ":root{--fg:#1a1a1a;--mute:#555;--rule:#ccc;--warn:#8a4b00;--warnbg:#fff4e0}\n"
    "*{box-sizing:border-box}\n"
    "body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);"
    "max-width:62rem;margin:0 auto;padding:1rem}\n"
    "h1{font-size:1.5rem;line-height:1.25;overflow-wrap:anywhere}\n"
    "h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid var(--rule)}\n"
    "p,li,dd{overflow-wrap:anywhere}\n"
    "code{font-size:.9em;overflow-wrap:anywhere;word-break:break-all}\n"
    ".scroll{overflow-x:auto;max-width:100%;margin:.5rem 0}\n"
    "table{border-collapse:collapse;font-size:.85rem;font-variant-numeric:tabular-nums}\n"
    "th,td{border-bottom:1px solid var(--rule);padding:.25rem .5rem;text-align:right;"
    "white-space:nowrap}\n"
    "th:first-child,td:first-child{text-align:left;position:sticky;left:0;background:#fff}\n"
    "td.l,th.l{text-align:left}\n"
    ".swatch{display:inline-block;width:.8em;height:.8em;margin-right:.3em;"
    "vertical-align:baseline}\n"
    ".flag{color:var(--warn);font-weight:600}\n"
    ".warn{background:var(--warnbg);border-left:4px solid var(--warn);padding:.5rem .75rem}\n"
    "figure{margin:1rem 0}\n"
    "figcaption{color:var(--mute);font-size:.9rem}\n"
    "svg.fig{display:block;width:100%;height:auto}\n"
    "dl.defs dt{font-weight:600;margin-top:.5rem}\n"
    "dl.defs dd{margin:0 0 0 1rem}\n"
    "pre.defs{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85rem;background:#f6f6f6;"
    "padding:.75rem}\n"
    "@media (max-width:40rem){body{font-size:15px;padding:.6rem}table{font-size:.8rem}"
    "svg.fig{min-width:36rem}}\n"
    "@media print{body{max-width:none;font-size:10pt;padding:0}h2{break-after:avoid}"
    "figure,tr{break-inside:avoid}.scroll{overflow:visible}svg.fig{min-width:0}"
    "table{font-size:7.5pt}"
    "th,td{padding:1px 3px}th:first-child,td:first-child{position:static}}\n";

/* Text with HTML's special characters escaped. */
static void esc(FILE *f, const char *s) { report_xml_esc(f, s); }

/* v formatted with fmt, or "n/a" when NaN (an undefined estimate has no interval). */
static void num(FILE *f, const char *fmt, double v)
{
    if (isnan(v))
        fputs("n/a", f);
    else
        fprintf(f, fmt, v);
}

static void ci(FILE *f, const char *fmt, double v, double lo, double hi)
{
    num(f, fmt, v);
    if (!isnan(v) && !isnan(lo) && !isnan(hi)) {
        fputs(" <small>[", f);
        fprintf(f, fmt, lo);
        fputs(", ", f);
        fprintf(f, fmt, hi);
        fputs("]</small>", f);
    }
}

static void task_name(FILE *f, const study_result *r, int t)
{
    fprintf(f, "<span class=\"swatch\" style=\"background:%s\"></span>", report_task_color(t));
    esc(f, t < 0 ? r->pooled.name : r->tasks[t].name);
}

static void config_section(const study_result *r, FILE *f)
{
    fputs("<h2 id=\"config\">Run configuration</h2>\n<div class=\"scroll\"><table>\n", f);
    const char *k[] = {"command", "model", "model sha256 (model.safetensors)", "architecture",
                       "kernels", "unit removed"};
    const char *v[] = {r->command, r->model_dir, r->model_sha256, r->arch, r->kernels,
                       r->unit_name};
    for (int i = 0; i < 6; i++) {
        fprintf(f, "<tr><th class=\"l\">%s</th><td class=\"l\"><code>", k[i]);
        esc(f, v[i]);
        fputs("</code></td></tr>\n", f);
    }
    char items[48];
    if (r->limit > 0)
        snprintf(items, sizeof items, "a seeded sample of %d", r->limit);
    else
        snprintf(items, sizeof items, "every item");
    fprintf(f, "<tr><th class=\"l\">blocks</th><td class=\"l\">%d</td></tr>\n<tr><th class=\"l\">"
               "items per task</th><td class=\"l\">%s</td></tr>\n<tr><th class=\"l\">seed"
               "</th><td class=\"l\">%llu</td></tr>\n<tr><th class=\"l\">bootstrap resamples"
               "</th><td class=\"l\">%d</td></tr>\n</table></div>\n", r->n_layers, items,
            (unsigned long long)r->seed, r->n_boot);
    fputs("<p>Data files per task (sha256):</p>\n<div class=\"scroll\"><table>\n", f);
    for (int t = 0; t < r->n_tasks; t++) {
        fputs("<tr><td>", f);
        task_name(f, r, t);
        fputs("</td><td class=\"l\"><code>", f);
        esc(f, r->tasks[t].data_sha256);
        fputs("</code></td></tr>\n", f);
    }
    fputs("</table></div>\n<p>Wall times are in <code>timing.json</code>; this page, like "
          "<code>summary.json</code>, is identical whether or not the run was interrupted and "
          "resumed.</p>\n", f);
}

static void accuracy_section(const study_result *r, FILE *f)
{
    fputs("<h2 id=\"accuracy\">Intact accuracy</h2>\n<div class=\"scroll\"><table>\n<tr><th>"
          "task</th><th>metric</th><th>items</th><th>accuracy % [95% CI]</th><th>se</th><th>"
          "chance %</th><th class=\"l\">flag</th></tr>\n", f);
    int nc = 0;
    for (int t = 0; t < r->n_tasks; t++) {
        const study_task_res *T = &r->tasks[t];
        nc += T->near_chance;
        fputs("<tr><td>", f);
        task_name(f, r, t);
        fprintf(f, "</td><td>%s</td><td>%d</td><td>", T->metric, T->n_items);
        ci(f, "%.2f", 100 * T->acc, 100 * T->acc_lo, 100 * T->acc_hi);
        fprintf(f, "</td><td>%.2f</td><td>%.2f</td><td class=\"l\">%s</td></tr>\n",
                100 * T->acc_se, 100 * T->chance,
                T->near_chance ? "<span class=\"flag\">near chance</span>" : "");
    }
    fputs("</table></div>\n", f);
    if (nc)
        fputs("<p class=\"warn\">Tasks flagged <b>near chance</b> score within two standard "
              "errors of chance: their drops and relevances are noise. Use more items "
              "(<code>--limit</code>) or read the other tasks.</p>\n", f);
}

static void corr_row(FILE *f, const study_result *r, int t, const char *what,
                     const study_corr *c)
{
    fputs("<tr><td>", f);
    task_name(f, r, t);
    fprintf(f, "</td><td class=\"l\">%s</td><td>", what);
    ci(f, "%+.2f", c->spearman, c->spearman_lo, c->spearman_hi);
    fputs("</td><td>", f);
    ci(f, "%+.2f", c->kendall, c->kendall_lo, c->kendall_hi);
    fputs("</td><td>", f);
    ci(f, "%+.2f", c->pearson, c->pearson_lo, c->pearson_hi);
    fputs("</td><td>", f);
    num(f, "%.1f%%", 100 * c->discordant);
    fprintf(f, " of %d</td></tr>\n", c->n_pairs);
}

static void agreement_section(const study_result *r, FILE *f)
{
    fprintf(f, "<h2 id=\"agreement\">Does the cosine score predict the drop?</h2>\n<p>"
               "Correlation across the removed units; 95%% bootstrap intervals over items "
               "(%d resamples). Positive = blocks with a larger cosine score cost more when "
               "removed. <i>Discordant</i>: the share of unit pairs the two rankings order "
               "differently.</p>\n<div class=\"scroll\"><table>\n<tr><th>task</th><th class=\"l\">"
               "pair</th><th>Spearman</th><th>Kendall tau-b</th><th>Pearson</th><th>discordant"
               "</th></tr>\n", r->n_boot);
    for (int t = 0; t <= r->n_tasks; t++) {
        if (t == r->n_tasks && r->n_tasks < 2)
            break;
        const study_task_res *T = t < r->n_tasks ? &r->tasks[t] : &r->pooled;
        int ti = t < r->n_tasks ? t : -1;
        corr_row(f, r, ti, "cos score vs drop", &T->c_drop);
        corr_row(f, r, ti, "cos score vs relevance", &T->c_rel);
        corr_row(f, r, ti, "angular dist. vs drop", &T->c_ang);
    }
    fputs("</table></div>\n", f);
}

static void units_section(const study_result *r, FILE *f)
{
    fputs("<h2 id=\"units\">Per block</h2>\n<p>Drop = intact accuracy minus accuracy with the "
          "unit removed, in points, with its paired-bootstrap 95% interval; rel = accuracy "
          "relevance (chance-corrected; n/a when the task is at or below chance).</p>\n"
          "<div class=\"scroll\"><table>\n<tr><th>unit</th><th>cos score</th><th>angular "
          "dist.</th>", f);
    for (int t = 0; t < r->n_tasks; t++) {
        fputs("<th>", f);
        task_name(f, r, t);
        fputs(" drop</th><th>rel</th>", f);
    }
    fputs("</tr>\n", f);
    for (int u = 0; u < r->n_units; u++) {
        char lab[32];
        fprintf(f, "<tr><td>%s</td><td>%.5f</td><td>%.4f</td>",
                report_unit_label(r, u, lab, sizeof lab), r->pooled.cos_score[u],
                r->pooled.ang[u]);
        for (int t = 0; t < r->n_tasks; t++) {
            const study_task_res *T = &r->tasks[t];
            fputs("<td>", f);
            ci(f, "%+.2f", T->drop[u], T->drop_lo[u], T->drop_hi[u]);
            fputs("</td><td>", f);
            num(f, "%.3f", T->rel[u]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
}

static void pruning_section(const study_result *r, FILE *f)
{
    report_curve cv[2];
    char title[160];
    report_study_curves(r, cv, title, sizeof title);
    fputs("<h2 id=\"pruning\">One-shot pruning</h2>\n<p>The k blocks ranked lowest removed "
          "together (no healing); mean headline accuracy over the tasks.</p>\n<div class=\""
          "scroll\"><table>\n<tr><th>k</th><th>lowest cosine score: removed</th><th>accuracy %"
          "</th><th>smallest drop: removed</th><th>accuracy %</th></tr>\n", f);
    for (int k = 0; k <= r->prune_k; k++) {
        fprintf(f, "<tr><td>%d</td>", k);
        for (int c = 0; c < 2; c++) {
            if (k > 0)
                fprintf(f, "<td>+%d</td>", cv[c].order[k - 1]);
            else
                fputs("<td>none</td>", f);
            fputs("<td>", f);
            num(f, "%.2f", 100 * cv[c].acc[k]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n<figure><div class=\"scroll\">\n", f);
    report_svg_pruning(cv, 2, title, "blocks removed (the k ranked lowest)", "mean accuracy (%)",
                       f, true);
    fputs("</div><figcaption>Solid: blocks removed in order of the cosine score; dashed: in order "
          "of the measured accuracy drop.</figcaption>\n</figure>\n", f);
}

static void figures_section(const study_result *r, FILE *f)
{
    fputs("<h2 id=\"figures\">Figures</h2>\n<figure><div class=\"scroll\">\n", f);
    report_svg_scatter(r, f, true);
    fputs("</div><figcaption>One point per removed unit and task (task colours as in the tables). "
          "If the cosine score told you which blocks matter, the points would rise from left to "
          "right; points far from that trend are blocks it misjudges.</figcaption>\n</figure>\n"
          "<figure><div class=\"scroll\">\n", f);
    report_svg_heatmap(r, f, true);
    fputs("</div><figcaption>Accuracy relevance: red = removing the block destroys accuracy, "
          "white = no effect, blue = removing it helps, grey = undefined (task at chance)."
          "</figcaption>\n</figure>\n<figure><div class=\"scroll\">\n", f);
    report_svg_confusion(r, f, true);
    fputs("</div><figcaption>Each block at (its rank by cosine score, its rank by measured "
          "drop), pooled over the tasks: on the diagonal the two agree; red cells are blocks "
          "the cosine score misplaces by more than a quarter of the ranking.</figcaption>\n"
          "</figure>\n", f);
}

/* The headline sentence: how well the cosine score ranked the blocks on the pooled tasks (or
 * the one task). */
static void headline(const study_result *r, FILE *f)
{
    const study_task_res *T = r->n_tasks > 1 ? &r->pooled : &r->tasks[0];
    int top_cos = 0, top_drop = 0;
    for (int u = 1; u < r->n_units; u++) {
        top_cos = T->cos_score[u] > T->cos_score[top_cos] ? u : top_cos;
        top_drop = T->drop[u] > T->drop[top_drop] ? u : top_drop;
    }
    char a[32], b[32];
    fputs("<p><b>In one line:</b> ", f);
    if (r->n_tasks > 1) {
        fputs("pooled over the tasks", f);
    } else {
        fputs("on ", f);
        esc(f, T->name);
    }
    fputs(", the cosine score and the accuracy drop have Spearman ", f);
    ci(f, "%+.2f", T->c_drop.spearman, T->c_drop.spearman_lo, T->c_drop.spearman_hi);
    fputs(" and order ", f);
    num(f, "%.1f%%", 100 * T->c_drop.discordant);
    fprintf(f, " of block pairs differently. Largest cosine score: unit %s; largest drop: unit "
               "%s (%+.2f points).</p>\n", report_unit_label(r, top_cos, a, sizeof a),
            report_unit_label(r, top_drop, b, sizeof b), T->drop[top_drop]);
}

void report_html_write(const study_result *r, FILE *f)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name="
          "\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Block relevance: ",
          f);
    esc(f, r->model_dir);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>Which blocks matter? ", css);
    esc(f, r->model_dir);
    fprintf(f, "</h1>\n<p>%d %s of a %d-block %s removed one at a time, on %d task%s. Sections: "
               "<a href=\"#accuracy\">accuracy</a> &middot; <a href=\"#agreement\">agreement"
               "</a> &middot; <a href=\"#figures\">figures</a> &middot; <a href=\"#units\">per "
               "block</a> &middot; %s<a href=\"#defs\">definitions</a> &middot; <a href=\""
               "#config\">configuration</a>.</p>\n", r->n_units,
            r->n_units == 1 ? "unit" : "units", r->n_layers, r->arch, r->n_tasks,
            r->n_tasks == 1 ? "" : "s",
            r->prune_k > 0 ? "<a href=\"#pruning\">pruning</a> &middot; " : "");
    if (r->n_tasks > 0 && r->n_units > 0)
        headline(r, f);
    accuracy_section(r, f);
    agreement_section(r, f);
    figures_section(r, f);
    units_section(r, f);
    if (r->prune_k > 0)
        pruning_section(r, f);
    fputs("<h2 id=\"defs\">Definitions</h2>\n<pre class=\"defs\">", f);
    esc(f, study_definitions());
    fputs("</pre>\n", f);
    config_section(r, f);
    fputs("<p><small>Written by ablate. Every number here is also in summary.json and "
          "layers.csv.</small></p>\n</body>\n</html>\n", f);
}

abl_status report_html(const study_result *r, const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "report.html", err);
    if (s)
        return s;
    report_html_write(r, rf.f);
    return abl_afile_commit(&rf, err);
}
