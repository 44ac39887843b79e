/* study/report_svg.c - the study's charts as standalone SVG (title, labelled axes, legend):
 * heatmap.svg (unit x task relevance), scatter.svg (cosine score vs drop), pruning.svg. */
#include "report.h"

#include <math.h>
#include <string.h>

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

static void text(FILE *f, double x, double y, const char *anchor, int size, const char *s,
                 double rot)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\"", x, y, anchor,
            size);
    if (rot != 0)
        fprintf(f, " transform=\"rotate(%.0f %.1f %.1f)\"", rot, x, y);
    fputc('>', f);
    esc(f, s);
    fputs("</text>\n", f);
}

static void header(FILE *f, int w, int h, const char *title)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/"
               "svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">"
               "\n<title>", w, h, w, h);
    esc(f, title);
    fprintf(f, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", w, h);
    text(f, w / 2.0, 24, "middle", 16, title, 0);
}

static abl_status finish(abl_afile *rf, abl_err *err)
{
    fputs("</svg>\n", rf->f);
    return abl_afile_commit(rf, err);
}

/* "nice" tick step for a range */
static double tick_step(double span)
{
    double raw = span / 6, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Axes box [x0,x1]x[y0,y1] in pixels for data ranges; log_x plots log10 of x. */
typedef struct {
    double px0, px1, py0, py1, dx0, dx1, dy0, dy1;
    bool log_x;
    bool int_x;         /* x counts something: whole-number ticks only */
} frame;

static double fx(const frame *a, double v)
{
    if (a->log_x)
        v = log10(v);
    return a->px0 + (v - a->dx0) / (a->dx1 - a->dx0) * (a->px1 - a->px0);
}

static double fy(const frame *a, double v)
{
    return a->py1 - (v - a->dy0) / (a->dy1 - a->dy0) * (a->py1 - a->py0);
}

static void axes(FILE *f, const frame *a, const char *xlabel, const char *ylabel)
{
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#333\"/>\n", a->px0, a->py0, a->px1 - a->px0, a->py1 - a->py0);
    char b[64];
    double st = tick_step(a->dx1 - a->dx0);
    if (a->int_x && st < 1)
        st = 1; /* counts: no ticks between whole numbers */
    for (double v = ceil(a->dx0 / st) * st; v <= a->dx1 + 1e-9 * st; v += st) {
        double x = a->px0 + (v - a->dx0) / (a->dx1 - a->dx0) * (a->px1 - a->px0);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n",
                x, a->py0, x, a->py1);
        if (a->log_x)
            snprintf(b, sizeof b, "%g", pow(10, v));
        else
            snprintf(b, sizeof b, "%g", fabs(v) < 1e-12 ? 0 : v);
        text(f, x, a->py1 + 16, "middle", 11, b, 0);
    }
    st = tick_step(a->dy1 - a->dy0);
    for (double v = ceil(a->dy0 / st) * st; v <= a->dy1 + 1e-9 * st; v += st) {
        double y = fy(a, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n",
                a->px0, y, a->px1, y);
        snprintf(b, sizeof b, "%g", fabs(v) < 1e-12 ? 0 : v);
        text(f, a->px0 - 6, y + 4, "end", 11, b, 0);
    }
    text(f, (a->px0 + a->px1) / 2, a->py1 + 38, "middle", 13, xlabel, 0);
    text(f, a->px0 - 48, (a->py0 + a->py1) / 2, "middle", 13, ylabel, -90);
}

static void legend_item(FILE *f, double x, double y, const char *color, const char *label,
                        bool line)
{
    if (line)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"2\"/>\n", x, y - 4, x + 18, y - 4, color);
    else
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", x + 9, y - 4,
                color);
    text(f, x + 24, y, "start", 12, label, 0);
}

abl_status report_scatter_svg(const study_result *r, const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "scatter.svg", err);
    if (s)
        return s;
    FILE *f = rf.f;
    double xmin = INFINITY, xmax = -INFINITY, ymin = 0, ymax = 1;
    for (int t = 0; t < r->n_tasks; t++)
        for (int u = 0; u < r->n_units; u++) {
            double x = r->tasks[t].cos_score[u], y = r->tasks[t].drop[u];
            if (x > 0 && x < xmin)
                xmin = x;
            if (x > xmax)
                xmax = x;
            if (y < ymin)
                ymin = y;
            if (y > ymax)
                ymax = y;
        }
    frame a = {90, 600, 50, 420, 0, 1, ymin, ymax, false, false};
    if (xmax > 0 && xmin < INFINITY && xmax / xmin > 50) {
        a.log_x = true;
        a.dx0 = floor(log10(xmin));
        a.dx1 = ceil(log10(xmax));
    } else {
        a.dx0 = 0;
        a.dx1 = xmax > 0 ? xmax * 1.05 : 1;
    }
    double pad = (ymax - ymin) * 0.05;
    a.dy0 = ymin - pad;
    a.dy1 = ymax + pad;
    header(f, 800, 480, "Cosine score vs accuracy drop (one point per block and task)");
    axes(f, &a, a.log_x ? "cosine score 1 - cos(in, out)  (log scale)" :
                          "cosine score 1 - cos(in, out)", "accuracy drop when removed (points)");
    if (a.dy0 < 0 && a.dy1 > 0)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
                   "stroke-dasharray=\"4 3\"/>\n", a.px0, fy(&a, 0), a.px1, fy(&a, 0));
    for (int t = 0; t < r->n_tasks; t++) {
        const char *col = palette[t % 10];
        for (int u = 0; u < r->n_units; u++) {
            double x = r->tasks[t].cos_score[u];
            if (a.log_x && !(x > 0))
                continue;
            char lab[32];
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" fill-opacity=\"0.75\">"
                       "<title>", fx(&a, x), fy(&a, r->tasks[t].drop[u]), col);
            esc(f, r->tasks[t].name);
            fprintf(f, " unit %s: cos score %.5g, drop %.2f</title></circle>\n",
                    report_unit_label(r, u, lab, sizeof lab), x, r->tasks[t].drop[u]);
        }
        char leg[160];
        snprintf(leg, sizeof leg, "%s (r = %.2f)", r->tasks[t].name, r->tasks[t].c_drop.pearson);
        legend_item(f, 615, 70 + 20 * t, col, leg, false);
    }
    return finish(&rf, err);
}

/* Diverging colour for relevance in [-1, 1]: blue (removal helps) - white - red (hurts). */
static void rel_color(double v, char out[16])
{
    if (isnan(v)) {
        snprintf(out, 16, "#d9d9d9");
        return;
    }
    if (v > 1)
        v = 1;
    if (v < -1)
        v = -1;
    int r, g, b;
    if (v >= 0) {
        r = 255;
        g = b = (int)(255 * (1 - v));
    } else {
        r = g = (int)(255 * (1 + v));
        b = 255;
    }
    snprintf(out, 16, "#%02x%02x%02x", r, g, b);
}

abl_status report_heatmap_svg(const study_result *r, const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "heatmap.svg", err);
    if (s)
        return s;
    FILE *f = rf.f;
    int cols = r->n_tasks + (r->n_tasks > 1), cw = 90, ch = 16;
    int x0 = 80, y0 = 90, w = x0 + cols * cw + 220, h = y0 + r->n_units * ch + 70;
    header(f, w, h, "Accuracy relevance per block and task");
    for (int c = 0; c < cols; c++) {
        const study_task_res *T = c < r->n_tasks ? &r->tasks[c] : &r->pooled;
        text(f, x0 + c * cw + cw / 2.0, y0 - 8, "middle", 11, T->name, 0);
        for (int u = 0; u < r->n_units; u++) {
            char col[16], lab[32];
            rel_color(T->rel[u], col);
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
                       "stroke=\"white\"><title>", x0 + c * cw, y0 + u * ch, cw, ch, col);
            esc(f, T->name);
            fprintf(f, " unit %s: relevance ", report_unit_label(r, u, lab, sizeof lab));
            if (isnan(T->rel[u]))
                fputs("n/a", f);
            else
                fprintf(f, "%.3f", T->rel[u]);
            fprintf(f, ", drop %.2f points</title></rect>\n", T->drop[u]);
        }
    }
    for (int u = 0; u < r->n_units; u++) {
        char lab[32];
        text(f, x0 - 6, y0 + u * ch + ch - 4, "end", 11,
             report_unit_label(r, u, lab, sizeof lab), 0);
    }
    text(f, x0 + cols * cw / 2.0, y0 - 28, "middle", 13, "task", 0);
    text(f, 24, y0 + r->n_units * ch / 2.0, "middle", 13, "block removed", -90);
    /* legend: colour bar from -1 to 1 and the n/a swatch */
    int lx = x0 + cols * cw + 40;
    text(f, lx, y0 - 8, "start", 12, "relevance", 0);
    for (int i = 0; i <= 20; i++) {
        char col[16], b[16];
        double v = 1 - i / 10.0;
        rel_color(v, col);
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"20\" height=\"10\" fill=\"%s\"/>\n", lx,
                y0 + i * 10, col);
        if (i % 5 == 0) {
            snprintf(b, sizeof b, "%+.1f", v);
            text(f, lx + 26, y0 + i * 10 + 9, "start", 11, b, 0);
        }
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"20\" height=\"10\" fill=\"#d9d9d9\"/>\n", lx,
            y0 + 225);
    text(f, lx + 26, y0 + 234, "start", 11, "n/a (accuracy at or below chance)", 0);
    text(f, lx, y0 + 256, "start", 11, "+1 = removal destroys accuracy", 0);
    text(f, lx, y0 + 272, "start", 11, "<0 = removal helps", 0);
    return finish(&rf, err);
}

abl_status report_pruning_svg(const report_curve *c, int n_curves, const char *title,
                              const char *x_label, const char *y_label, const char *dir,
                              abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "pruning.svg", err);
    if (s)
        return s;
    FILE *f = rf.f;
    int steps = 1;
    double ymin = 1, ymax = 0;
    for (int i = 0; i < n_curves; i++) {
        if (c[i].n_steps > steps)
            steps = c[i].n_steps;
        for (int k = 0; k <= c[i].n_steps; k++)
            if (!isnan(c[i].acc[k])) {
                ymin = fmin(ymin, 100 * c[i].acc[k]);
                ymax = fmax(ymax, 100 * c[i].acc[k]);
            }
    }
    if (!(ymax > ymin)) {
        ymin = 0;
        ymax = 100;
    }
    double pad = (ymax - ymin) * 0.08;
    frame a = {90, 600, 50, 420, 0, steps, ymin - pad, ymax + pad, false, true};
    header(f, 800, 480, title);
    axes(f, &a, x_label, y_label);
    for (int i = 0; i < n_curves; i++) {
        const char *col = palette[i % 10];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        for (int k = 0; k <= c[i].n_steps; k++)
            if (!isnan(c[i].acc[k]))
                fprintf(f, "%.1f,%.1f ", fx(&a, k), fy(&a, 100 * c[i].acc[k]));
        fputs("\"/>\n", f);
        for (int k = 0; k <= c[i].n_steps; k++)
            if (!isnan(c[i].acc[k])) {
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%s: %d "
                           "removed", fx(&a, k), fy(&a, 100 * c[i].acc[k]), col, c[i].metric, k);
                if (k > 0)
                    fprintf(f, " (last: block %d)", c[i].order[k - 1]);
                fprintf(f, ", %.2f%%</title></circle>\n", 100 * c[i].acc[k]);
            }
        char leg[64];
        snprintf(leg, sizeof leg, "ranked by %s", c[i].metric);
        legend_item(f, 615, 70 + 20 * i, col, leg, true);
    }
    return finish(&rf, err);
}

abl_status report_confusion_svg(const study_result *r, const char *dir, abl_err *err)
{
    const study_confusion_res *c = &r->conf;
    int n = c->n > 0 ? c->n : 1;
    double cell = n > 40 ? 8 : 480.0 / n, x0 = 90, y0 = 60, side = cell * n;
    int W = (int)(x0 + side + 40), H = (int)(y0 + side + 70);
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "confusion.svg", err);
    if (s)
        return s;
    FILE *f = rf.f;
    char title[200];
    if (c->n_pairs > 0)
        snprintf(title, sizeof title, "Block ranks: cosine score vs accuracy drop (pooled); "
                 "misjudged %.1f%%, major %.1f%% of %d pairs", 100.0 * c->n_misjudged / c->n_pairs,
                 100.0 * c->n_major / c->n_pairs, c->n_pairs);
    else
        snprintf(title, sizeof title, "Block ranks: cosine score vs accuracy drop (n/a)");
    header(f, W, H, title);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f4f4f4\" "
               "stroke=\"#888\"/>\n", x0, y0, side, side);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#bbb\" "
               "stroke-dasharray=\"4 3\"/>\n", x0, y0 + side, x0 + side, y0);
    for (int u = 0; u < c->n; u++) {
        double x = x0 + (c->rank_cos[u] - 1) * cell, y = y0 + side - c->rank_drop[u] * cell;
        int off = c->rank_cos[u] - c->rank_drop[u];
        off = off < 0 ? -off : off;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                x, y, cell, cell, off * 4 <= n ? palette[0] : palette[1]);
        char lab[32];
        report_unit_label(r, u, lab, sizeof lab);
        if (cell >= 12)
            text(f, x + cell / 2, y + cell / 2 + 4, "middle", cell >= 16 ? 10 : 7, lab, 0);
    }
    text(f, x0 + side / 2, y0 + side + 36, "middle", 13,
         "rank by cosine score (1 = lowest, 'most prunable')", 0);
    text(f, x0 - 40, y0 + side / 2, "middle", 13, "rank by accuracy drop (1 = smallest)", -90);
    text(f, x0 + side / 2, y0 + side + 56, "middle", 11,
         "blue: ranks within a quarter of the blocks; red: further apart; diagonal = agreement",
         0);
    return finish(&rf, err);
}
