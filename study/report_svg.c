/* study/report_svg.c - the study's charts as SVG (title, labelled axes, legend inside the
 * canvas): heatmap (unit x task relevance), scatter (cosine score vs drop), pruning curves;
 * standalone files or inline in report.html. One palette: a task has one colour everywhere. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *report_task_color(int t)
{
    static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                          "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
    return t < 0 ? "#333333" : palette[t % 10];
}

/* Pruning curves are rankings, not tasks: black, grey and brown, told apart by dashes too. */
static const char *series_color(int i)
{
    static const char *const c[] = {"#000000", "#8a8a8a", "#a0522d", "#4b0082"};
    return c[i % 4];
}

static const char *series_dash(int i)
{
    static const char *const d[] = {"none", "6 4", "2 3", "8 3 2 3"};
    return d[i % 4];
}

/* Width in pixels a sans-serif string takes at font size px (an upper estimate: 0.6 em per
 * character), used to size canvases so that no label is cut off. */
static double text_w(const char *s, int px) { return 0.6 * px * (double)strlen(s); }

/* s, or when wider than max_w pixels at size px its head and tail around "..." (cut between
 * UTF-8 characters) in buf. The full text stays in the figure's tooltips. */
static const char *fit(const char *s, int px, double max_w, char *buf, size_t cap)
{
    size_t n = strlen(s), keep = (size_t)fmax(4, max_w / (0.6 * px)) - 3;
    if (text_w(s, px) <= max_w || keep + 4 > cap || keep >= n)
        return s;
    size_t head = keep / 2, tail = n - (keep - head);
    while (head > 0 && ((unsigned char)s[head] & 0xC0) == 0x80)
        head--;
    while (tail < n && ((unsigned char)s[tail] & 0xC0) == 0x80)
        tail++;
    snprintf(buf, cap, "%.*s...%s", (int)head, s, s + tail);
    return buf;
}

void report_xml_esc(FILE *f, const char *s)
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
    report_xml_esc(f, s);
    fputs("</text>\n", f);
}

/* The opening of a figure of w x h pixels. Standalone: an XML file of that size; inline (in
 * report.html): an element that scales to its container (class "fig"). */
static void header(FILE *f, int w, int h, const char *title, bool inline_svg)
{
    if (w < text_w(title, 16) + 40)
        w = (int)(text_w(title, 16) + 40);
    if (!inline_svg)
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fputs("<svg xmlns=\"http://www.w3.org/2000/svg\" ", f);
    if (inline_svg) /* scales down with the page, never up past its own size */
        fprintf(f, "class=\"fig\" role=\"img\" style=\"max-width:%dpx\" ", w);
    fprintf(f, "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">"
               "\n<title>", w, h, w, h);
    report_xml_esc(f, title);
    fprintf(f, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", w, h);
    text(f, w / 2.0, 24, "middle", 16, title, 0);
}

static void footer(FILE *f) { fputs("</svg>\n", f); }

/* "nice" tick step for a range */
static double tick_step(double span)
{
    double raw = span / 6, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Axes box [x0,x1]x[y0,y1] in pixels for data ranges; log_x: dx0/dx1 are log10 of x. */
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

static void x_tick(FILE *f, const frame *a, double v)
{
    char b[64];
    double x = fx(a, v);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n", x,
            a->py0, x, a->py1);
    snprintf(b, sizeof b, "%g", fabs(v) < 1e-12 ? 0 : v);
    text(f, x, a->py1 + 16, "middle", 11, b, 0);
}

static void axes(FILE *f, const frame *a, const char *xlabel, const char *ylabel)
{
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#333\"/>\n", a->px0, a->py0, a->px1 - a->px0, a->py1 - a->py0);
    char b[64];
    if (a->log_x) {
        /* Ticks at 1..9 x 10^d within a decade or so, 1-2-5 up to about three, else 1. */
        double span = a->dx1 - a->dx0;
        for (double d = floor(a->dx0); d <= ceil(a->dx1); d++)
            for (int m = 1; m <= 9; m++) {
                double v = m * pow(10, d);
                bool want = m == 1 || span <= 1.3 || (span <= 3 && (m == 2 || m == 5));
                if (want && log10(v) >= a->dx0 - 1e-9 && log10(v) <= a->dx1 + 1e-9)
                    x_tick(f, a, v);
            }
    } else {
        double st = tick_step(a->dx1 - a->dx0);
        if (a->int_x && st < 1)
            st = 1; /* counts: no ticks between whole numbers */
        for (double v = ceil(a->dx0 / st) * st; v <= a->dx1 + 1e-9 * st; v += st)
            x_tick(f, a, v);
    }
    double st = tick_step(a->dy1 - a->dy0);
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

/* One legend row at (x, y): a swatch (a dot, or a line with dash pattern) and its label. */
static void legend_item(FILE *f, double x, double y, const char *color, const char *label,
                        const char *dash)
{
    if (dash)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"2\" stroke-dasharray=\"%s\"/>\n", x, y - 4, x + 18, y - 4,
                color, dash);
    else
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", x + 9, y - 4,
                color);
    text(f, x + 24, y, "start", 12, label, 0);
}

/* ---- scatter ----------------------------------------------------------------------------- */

/* Rank (0 = largest) of v[u] among the n values; NaN ranks last. */
static int rank_desc(const double *v, int n, int u)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (i != u && (v[i] > v[u] || (isnan(v[u]) && !isnan(v[i]))))
            k++;
    return k;
}

/* The points worth a block number, per task: the 3 largest drops, the 3 largest cosine
 * scores, the most negative drop (removal helps) and the 2 most misjudged (largest gap between
 * the rank by cosine score and the rank by drop). Sets mark[u]. */
static void points_that_matter(const study_task_res *T, int n, uint8_t *mark)
{
    memset(mark, 0, (size_t)n);
    int worst_gap[2] = {-1, -1}, gap[2] = {-1, -1}, low = -1;
    for (int u = 0; u < n; u++) {
        int rd = rank_desc(T->drop, n, u), rc = rank_desc(T->cos_score, n, u);
        if (rd < 3 || rc < 3)
            mark[u] = 1;
        if (T->drop[u] < 0 && (low < 0 || T->drop[u] < T->drop[low]))
            low = u;
        int g = abs(rd - rc);
        if (g > gap[0]) {
            gap[1] = gap[0];
            worst_gap[1] = worst_gap[0];
            gap[0] = g;
            worst_gap[0] = u;
        } else if (g > gap[1]) {
            gap[1] = g;
            worst_gap[1] = u;
        }
    }
    if (low >= 0)
        mark[low] = 1;
    for (int i = 0; i < 2; i++)
        if (worst_gap[i] >= 0 && gap[i] > n / 4)
            mark[worst_gap[i]] = 1;
}

typedef struct {
    double x0, y0, x1, y1;
} box;

/* Place a label of w x h pixels next to point (x, y): right, left, above or below, the first
 * spot inside the plot box that overlaps no earlier label. False when none is free. */
static bool place_label(const frame *a, double x, double y, double w, double h, box *placed,
                        int *n_placed, int cap, double *tx, double *ty)
{
    const double dx[4] = {6, -6 - w, -w / 2, -w / 2}, dy[4] = {h / 2 - 1, h / 2 - 1, -6, h + 5};
    for (int k = 0; k < 4 && *n_placed < cap; k++) {
        box b = {x + dx[k], y + dy[k] - h, x + dx[k] + w, y + dy[k]};
        if (b.x0 < a->px0 + 2 || b.x1 > a->px1 - 2 || b.y0 < a->py0 + 2 || b.y1 > a->py1 - 2)
            continue;
        bool free_spot = true;
        for (int i = 0; i < *n_placed && free_spot; i++)
            free_spot = b.x1 < placed[i].x0 || b.x0 > placed[i].x1 || b.y1 < placed[i].y0 ||
                        b.y0 > placed[i].y1;
        if (free_spot) {
            placed[(*n_placed)++] = b;
            *tx = b.x0;
            *ty = b.y1 - 1;
            return true;
        }
    }
    return false;
}

void report_svg_scatter(const study_result *r, FILE *f, bool inline_svg)
{
    double xmin = INFINITY, xmax = -INFINITY, ymin = 0, ymax = 1;
    int n = r->n_units;
    for (int t = 0; t < r->n_tasks; t++)
        for (int u = 0; u < n; u++) {
            double x = r->tasks[t].cos_score[u], y = r->tasks[t].drop[u];
            xmin = x > 0 ? fmin(xmin, x) : xmin;
            xmax = fmax(xmax, x);
            ymin = fmin(ymin, y);
            ymax = fmax(ymax, y);
        }
    /* Legend width from its longest entry, so that nothing is cut at the right edge. */
    double leg_w = text_w("numbers: block", 12);
    char leg[160];
    for (int t = 0; t < r->n_tasks; t++) {
        snprintf(leg, sizeof leg, "%s (Spearman %+.2f)", r->tasks[t].name,
                 r->tasks[t].c_drop.spearman);
        leg_w = fmax(leg_w, text_w(leg, 12));
    }
    int W = (int)fmax(800, 620 + 24 + leg_w + 12), H = 480;
    frame a = {90, 600, 50, 420, 0, 1, ymin, ymax, false, false};
    /* One block (often block 0) scores near 1 while the rest sit near 0.01-0.1: a log axis
     * spreads them out. Linear only when the scores span less than a factor of 5. */
    if (xmax > 0 && xmin < INFINITY && xmax / xmin >= 5) {
        a.log_x = true;
        a.dx0 = log10(xmin) - 0.06 * (log10(xmax) - log10(xmin));
        a.dx1 = log10(xmax) + 0.06 * (log10(xmax) - log10(xmin));
    } else {
        a.dx0 = 0;
        a.dx1 = xmax > 0 ? xmax * 1.05 : 1;
    }
    double pad = (ymax - ymin) * 0.06;
    a.dy0 = ymin - pad;
    a.dy1 = ymax + pad;
    header(f, W, H, "Cosine score vs accuracy drop (one point per block and task)", inline_svg);
    axes(f, &a, a.log_x ? "cosine score 1 - cos(in, out)  (log scale)" :
                          "cosine score 1 - cos(in, out)", "accuracy drop when removed (points)");
    if (a.dy0 < 0 && a.dy1 > 0)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
                   "stroke-dasharray=\"4 3\"/>\n", a.px0, fy(&a, 0), a.px1, fy(&a, 0));
    uint8_t *mark = malloc((size_t)n + 1);
    box placed[256];
    int n_placed = 0;
    for (int t = 0; t < r->n_tasks; t++) {
        const study_task_res *T = &r->tasks[t];
        const char *col = report_task_color(t);
        for (int u = 0; u < n; u++) {
            double x = T->cos_score[u];
            if (a.log_x && !(x > 0))
                continue;
            char lab[32];
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" fill-opacity=\"0.75\">"
                       "<title>", fx(&a, x), fy(&a, T->drop[u]), col);
            report_xml_esc(f, T->name);
            fprintf(f, " unit %s: cos score %.5g, drop %.2f</title></circle>\n",
                    report_unit_label(r, u, lab, sizeof lab), x, T->drop[u]);
        }
        snprintf(leg, sizeof leg, "%s (Spearman %+.2f)", T->name, T->c_drop.spearman);
        legend_item(f, 620, 70 + 20 * t, col, leg, NULL);
    }
    /* Block numbers on the points that matter, in the task's colour, where there is room. */
    for (int t = 0; t < r->n_tasks && mark; t++) {
        const study_task_res *T = &r->tasks[t];
        points_that_matter(T, n, mark);
        for (int u = 0; u < n; u++) {
            char lab[32];
            double tx, ty, x = T->cos_score[u];
            if (!mark[u] || (a.log_x && !(x > 0)))
                continue;
            report_unit_label(r, u, lab, sizeof lab);
            if (place_label(&a, fx(&a, x), fy(&a, T->drop[u]), text_w(lab, 10), 10, placed,
                            &n_placed, 256, &tx, &ty))
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"%s\">%s</text>\n",
                        tx, ty, report_task_color(t), lab);
        }
    }
    free(mark);
    double ly = 70 + 20 * r->n_tasks + 12;
    text(f, 620, ly, "start", 11, "numbers: block", 0);
    text(f, 620, ly + 15, "start", 11, "(largest drops and", 0);
    text(f, 620, ly + 30, "start", 11, "scores, most misjudged)", 0);
    footer(f);
}

abl_status report_scatter_svg(const study_result *r, const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "scatter.svg", err);
    if (s)
        return s;
    report_svg_scatter(r, rf.f, false);
    return abl_afile_commit(&rf, err);
}

/* ---- heatmap ----------------------------------------------------------------------------- */

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

void report_svg_heatmap(const study_result *r, FILE *f, bool inline_svg)
{
    static const char *const notes[] = {"n/a (accuracy at or below chance)",
                                        "+1 = removal destroys accuracy", "<0 = removal helps"};
    int cols = r->n_tasks + (r->n_tasks > 1), ch = 16;
    double name_w = 0;
    for (int c = 0; c < cols; c++)
        name_w = fmax(name_w, text_w(c < r->n_tasks ? r->tasks[c].name : r->pooled.name, 11));
    int cw = (int)fmin(fmax(70, name_w + 10), 220);
    double note_w = 0;
    for (int i = 0; i < 3; i++)
        note_w = fmax(note_w, text_w(notes[i], 11));
    int x0 = 80, y0 = 90, lx = x0 + cols * cw + 30;
    int w = (int)(lx + 26 + note_w + 16);
    int h = y0 + (r->n_units * ch > 280 ? r->n_units * ch : 280) + 40; /* the legend is 280 tall */
    header(f, w, h, "Accuracy relevance per block and task", inline_svg);
    for (int c = 0; c < cols; c++) {
        const study_task_res *T = c < r->n_tasks ? &r->tasks[c] : &r->pooled;
        char nm[128];
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"4\" fill=\"%s\"/>\n",
                x0 + c * cw + 4, y0 - 6, cw - 8, report_task_color(c < r->n_tasks ? c : -1));
        text(f, x0 + c * cw + cw / 2.0, y0 - 10, "middle", 11,
             fit(T->name, 11, cw - 6, nm, sizeof nm), 0);
        for (int u = 0; u < r->n_units; u++) {
            char col[16], lab[32];
            rel_color(T->rel[u], col);
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
                       "stroke=\"white\"><title>", x0 + c * cw, y0 + u * ch, cw, ch, col);
            report_xml_esc(f, T->name);
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
    text(f, x0 + cols * cw / 2.0, y0 - 30, "middle", 13, "task", 0);
    text(f, 24, y0 + r->n_units * ch / 2.0, "middle", 13, "block removed", -90);
    /* legend: colour bar from -1 to 1 and the n/a swatch */
    text(f, lx, y0 - 10, "start", 12, "relevance", 0);
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
    text(f, lx + 26, y0 + 234, "start", 11, notes[0], 0);
    text(f, lx, y0 + 256, "start", 11, notes[1], 0);
    text(f, lx, y0 + 272, "start", 11, notes[2], 0);
    footer(f);
}

abl_status report_heatmap_svg(const study_result *r, const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "heatmap.svg", err);
    if (s)
        return s;
    report_svg_heatmap(r, rf.f, false);
    return abl_afile_commit(&rf, err);
}

/* ---- pruning curves ---------------------------------------------------------------------- */

void report_svg_pruning(const report_curve *c, int n_curves, const char *title,
                        const char *x_label, const char *y_label, FILE *f, bool inline_svg)
{
    int steps = 1;
    double ymin = 1, ymax = 0, leg_w = 0;
    char leg[64];
    for (int i = 0; i < n_curves; i++) {
        if (c[i].n_steps > steps)
            steps = c[i].n_steps;
        for (int k = 0; k <= c[i].n_steps; k++)
            if (!isnan(c[i].acc[k])) {
                ymin = fmin(ymin, 100 * c[i].acc[k]);
                ymax = fmax(ymax, 100 * c[i].acc[k]);
            }
        snprintf(leg, sizeof leg, "ranked by %s", c[i].metric);
        leg_w = fmax(leg_w, text_w(leg, 12));
    }
    if (!(ymax > ymin)) {
        ymin = 0;
        ymax = 100;
    }
    double pad = (ymax - ymin) * 0.08;
    frame a = {90, 600, 50, 420, 0, steps, ymin - pad, ymax + pad, false, true};
    header(f, (int)fmax(800, 620 + 24 + leg_w + 12), 480, title, inline_svg);
    axes(f, &a, x_label, y_label);
    for (int i = 0; i < n_curves; i++) {
        const char *col = series_color(i);
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                   "stroke-dasharray=\"%s\" points=\"", col, series_dash(i));
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
        snprintf(leg, sizeof leg, "ranked by %s", c[i].metric);
        legend_item(f, 620, 70 + 20 * i, col, leg, series_dash(i));
    }
    footer(f);
}

abl_status report_pruning_svg(const report_curve *c, int n_curves, const char *title,
                              const char *x_label, const char *y_label, const char *dir,
                              abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "pruning.svg", err);
    if (s)
        return s;
    report_svg_pruning(c, n_curves, title, x_label, y_label, rf.f, false);
    return abl_afile_commit(&rf, err);
}

void report_study_curves(const study_result *r, report_curve cv[2], char *title, size_t cap)
{
    memset(cv, 0, 2 * sizeof *cv);
    for (int c = 0; c < 2; c++) {
        snprintf(cv[c].metric, sizeof cv[c].metric, "%s", report_prune_curve_name(c));
        cv[c].n_steps = r->prune_k;
        for (int k = 0; k <= r->prune_k; k++) {
            cv[c].acc[k] = r->prune_acc[c][k];
            cv[c].calib[k] = NAN;
            if (k < r->prune_k)
                cv[c].order[k] = r->unit_layer[r->prune_order[c][k]];
        }
    }
    snprintf(title, cap, "One-shot pruning of %.100s: mean accuracy over %d task%s",
             r->model_dir, r->n_tasks, r->n_tasks == 1 ? "" : "s");
}

/* ---- rank confusion -------------------------------------------------------------------- */

void report_svg_confusion(const study_result *r, FILE *f, bool inline_svg)
{
    /* not task colours: agreement (blue) and ranks far apart (red) */
    static const char *const agree = "#1f77b4", *const apart = "#d62728";
    const study_confusion_res *c = &r->conf;
    int n = c->n > 0 ? c->n : 1;
    double cell = n > 40 ? 8 : 480.0 / n, x0 = 90, y0 = 60, side = cell * n;
    const char *note =
        "blue: ranks within a quarter of the blocks; red: further apart; diagonal = agreement";
    int W = (int)fmax(x0 + side + 40, x0 + side / 2 + text_w(note, 11) / 2 + 10);
    int H = (int)(y0 + side + 70);
    char title[200];
    if (c->n_pairs > 0)
        snprintf(title, sizeof title, "Block ranks: cosine score vs accuracy drop (pooled); "
                 "misjudged %.1f%%, major %.1f%% of %d pairs", 100.0 * c->n_misjudged / c->n_pairs,
                 100.0 * c->n_major / c->n_pairs, c->n_pairs);
    else
        snprintf(title, sizeof title, "Block ranks: cosine score vs accuracy drop (n/a)");
    header(f, W, H, title, inline_svg);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f4f4f4\" "
               "stroke=\"#888\"/>\n", x0, y0, side, side);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#bbb\" "
               "stroke-dasharray=\"4 3\"/>\n", x0, y0 + side, x0 + side, y0);
    for (int u = 0; u < c->n; u++) {
        double x = x0 + (c->rank_cos[u] - 1) * cell, y = y0 + side - c->rank_drop[u] * cell;
        int off = c->rank_cos[u] - c->rank_drop[u];
        off = off < 0 ? -off : off;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                x, y, cell, cell, off * 4 <= n ? agree : apart);
        char lab[32];
        report_unit_label(r, u, lab, sizeof lab);
        if (cell >= 12)
            text(f, x + cell / 2, y + cell / 2 + 4, "middle", cell >= 16 ? 10 : 7, lab, 0);
    }
    text(f, x0 + side / 2, y0 + side + 36, "middle", 13,
         "rank by cosine score (1 = lowest, 'most prunable')", 0);
    text(f, x0 - 40, y0 + side / 2, "middle", 13, "rank by accuracy drop (1 = smallest)", -90);
    text(f, x0 + side / 2, y0 + side + 56, "middle", 11, note, 0);
    footer(f);
}

abl_status report_confusion_svg(const study_result *r, const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "confusion.svg", err);
    if (s)
        return s;
    report_svg_confusion(r, rf.f, false);
    return abl_afile_commit(&rf, err);
}
