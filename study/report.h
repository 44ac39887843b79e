/* study/report.h - what a study run leaves behind: the terminal table and, in the run directory,
 * layers.csv, summary.json, report.md, heatmap.svg, scatter.svg and pruning.svg (atomically). */
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

/* Write layers.csv, summary.json, report.md, heatmap.svg, scatter.svg, timing.json into dir. */
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

/* Name of a study's one-shot pruning curve: 0 "cosine score", 1 "accuracy drop". */
const char *report_prune_curve_name(int curve);

/* Short label of unit u ("12", "12.attn", "12.mlp") into buf. */
const char *report_unit_label(const study_result *r, int u, char *buf, size_t cap);

#endif
