/* study/report.h - what a study run leaves behind: the terminal table and, in the run directory,
 * layers.csv, summary.json, report.md, report.html and the SVG figures (all atomically). */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "../base/abl.h"
#include "../base/file.h"
#include "study.h"

/* The terminal table to f: one row per removed unit with the cosine score, angular distance,
 * the drop per task and pooled, the pooled relevance, bar glyphs (UTF-8 blocks when utf8, else
 * '#'); then per task the intact accuracy with its CI and chance level, near-chance flags, and
 * the correlations with their bootstrap CIs. */
void report_table(const study_result *r, FILE *f, bool utf8);

/* True when LC_ALL / LC_CTYPE / LANG (the first one set) names UTF-8: bar glyphs allowed. */
bool report_utf8_locale(void);

/* Write layers.csv, summary.json, report.md, report.html, heatmap.svg, scatter.svg,
 * timing.json (and pruning.svg) into dir. */
abl_status report_write_all(const study_result *r, const char *dir, abl_err *err);

/* Individual writers (used by report_write_all and by tests). */
abl_status report_csv(const study_result *r, const char *dir, abl_err *err);
abl_status report_summary_json(const study_result *r, const char *dir, abl_err *err);
abl_status report_markdown(const study_result *r, const char *dir, abl_err *err);
abl_status report_heatmap_svg(const study_result *r, const char *dir, abl_err *err);
abl_status report_scatter_svg(const study_result *r, const char *dir, abl_err *err);
/* confusion.svg: one cell per unit at (rank by cosine score, rank by drop); the diagonal is
 * agreement. The title carries the misjudged and major-misjudged shares. */
abl_status report_confusion_svg(const study_result *r, const char *dir, abl_err *err);
/* timing.json: wall times and resumed-unit counts, kept apart so that every other file is
 * byte-identical between an uninterrupted run and an interrupted, resumed one. */
abl_status report_timing_json(const study_result *r, const char *dir, abl_err *err);

/* One greedy pruning curve: acc[k] = held-out accuracy after removing the first k blocks of
 * order (k = 0..n_steps), calib[k] the calibration-split accuracy (NaN when not measured). */
typedef struct {
    char metric[16];        /* "accuracy", "cosine", "cosine-iter" */
    int n_steps;
    int order[256];         /* removed blocks in order */
    double acc[257];
    double calib[257];
} report_curve;

/* pruning.svg: accuracy vs blocks removed, one line per curve, with legend and axis labels. */
abl_status report_pruning_svg(const report_curve *c, int n_curves, const char *title,
                              const char *x_label, const char *y_label, const char *dir,
                              abl_err *err);

/* The same figures drawn into an open stream f: standalone (an XML file of fixed size, what
 * the *.svg writers use) or inline_svg (an <svg class="fig"> element for report.html that
 * scales with the page). Every label lies inside the canvas (canvas sizes follow the text). */
void report_svg_scatter(const study_result *r, FILE *f, bool inline_svg);
void report_svg_heatmap(const study_result *r, FILE *f, bool inline_svg);
void report_svg_confusion(const study_result *r, FILE *f, bool inline_svg);
void report_svg_pruning(const report_curve *c, int n_curves, const char *title,
                        const char *x_label, const char *y_label, FILE *f, bool inline_svg);

/* Write s to f with the five characters special to HTML and XML escaped (&lt; &gt; &amp;
 * &quot;; ' is left alone: we quote attributes with "). */
void report_xml_esc(FILE *f, const char *s);

/* report.html: the whole run in one self-contained page (inline SVG and CSS, no script, no
 * network): definitions, per-unit table, every figure, CIs and flags, the configuration with
 * model and data hashes. report_html_write draws it into f; report_html commits it atomically
 * into dir (errors as abl_afile_open / abl_afile_commit). */
void report_html_write(const study_result *r, FILE *f);
abl_status report_html(const study_result *r, const char *dir, abl_err *err);

/* The colour of task t (its index in study_result.tasks) in every figure and in report.html;
 * t < 0: the pooled column. Static string. */
const char *report_task_color(int t);

/* The study's two one-shot pruning curves (r->prune_k > 0) into cv, their title into title. */
void report_study_curves(const study_result *r, report_curve cv[2], char *title, size_t cap);

/* Name of a study's one-shot pruning curve: 0 "cosine score", 1 "accuracy drop". */
const char *report_prune_curve_name(int curve);

/* Short label of unit u ("12", "12.attn", "12.mlp") into buf. */
const char *report_unit_label(const study_result *r, int u, char *buf, size_t cap);

#endif
