/* tests/test_report_html.c - report.html and the figures without a browser: every section,
 * escaping, no script or external resource, hashes present; every SVG label inside its canvas.
 * (The rendering itself is checked by `make test-html` in headless Chromium.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/file.h"
#include "../kernels/kernels.h"
#include "../study/report.h"
#include "../study/study.h"
#include "t.h"

static char *slurp(const char *path)
{
    char *b = NULL;
    size_t n = 0;
    return abl_read_file(path, 0, NULL, &b, &n, NULL) == ABL_OK ? b : NULL;
}

/* Every <text> of an SVG document lies inside its width x height, by the same upper estimate
 * of glyph width the writer sizes canvases with (0.6 em); rotated labels are skipped. Returns
 * the number of labels outside (each noted). */
static int labels_outside(tctx *t, const char *name, const char *svg)
{
    double W = 0, H = 0;
    const char *p = strstr(svg, "<svg ");
    if (!p || sscanf(strstr(p, "width=\"") + 7, "%lf", &W) != 1 ||
        sscanf(strstr(p, "height=\"") + 8, "%lf", &H) != 1) {
        t_fail(t, "%s: no <svg width height>", name);
        return 1;
    }
    int bad = 0, n = 0;
    for (p = strstr(p, "<text "); p; p = strstr(p + 1, "<text ")) {
        double x = 0, y = 0;
        int size = 0;
        char anchor[8] = "";
        const char *end = strchr(p, '>'), *close = strstr(p, "</text>");
        if (!end || !close || sscanf(p, "<text x=\"%lf\" y=\"%lf\"", &x, &y) != 2)
            continue;
        const char *a = strstr(p, "text-anchor=\""), *s = strstr(p, "font-size=\"");
        if (a && a < end)
            sscanf(a + 13, "%7[a-z]", anchor);
        if (s && s < end)
            size = atoi(s + 11);
        if (strstr(p, "transform=") && strstr(p, "transform=") < end)
            continue;
        /* characters of the label, entities counting as one */
        int len = 0;
        for (const char *c = end + 1; c < close; c++, len++)
            if (*c == '&')
                c = strchr(c, ';') ? strchr(c, ';') : c;
        double w = 0.6 * (size ? size : 12) * len;
        double x0 = !strcmp(anchor, "end") ? x - w : !strcmp(anchor, "middle") ? x - w / 2 : x;
        n++;
        if (x0 < -0.5 || x0 + w > W + 0.5 || y > H + 0.5 || y - (size ? size : 12) < -0.5) {
            if (bad++ < 3)
                t_note(t, "%s: label '%.*s' spans x [%.0f, %.0f] y %.0f, canvas %.0f x %.0f",
                       name, (int)(close - end - 1), end + 1, x0, x0 + w, y, W, H);
        }
    }
    t_note(t, "%s: %d labels, %d outside the canvas", name, n, bad);
    return bad;
}

void test_report_html_tiny_run(tctx *t)
{
    abl_err e = {0};
    if (kern_init(NULL, &e)) {
        t_fail(t, "kern_init: %s", e.msg);
        return;
    }
    /* A task whose path needs escaping, with a long name (legends must still fit). */
    char path[600], task[700], dir[600];
    snprintf(path, sizeof path, "%s/a&b<c>_a_rather_long_task_file_name.jsonl", t_tmpdir(t));
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < 12; i++)
        fprintf(f, "{\"context\": \"Item %d is\", \"choices\": [\"red\", \"green\", \"blue\"], "
                   "\"label\": %d}\n", i, i % 3);
    if (!T_CHECK(t, f != NULL))
        return;
    fclose(f);
    snprintf(task, sizeof task, "jsonl:%s", path);
    snprintf(dir, sizeof dir, "%s/run", t_tmpdir(t));
    study_opts o = study_opts_default();
    o.model_dir = "tests/fixtures/tiny";
    o.tasks = task;
    o.limit = 0;
    o.threads = 1;
    o.progress = false;
    o.command = "test <run> & report";
    o.out_dir = dir;
    o.prune_k = 2;
    study_result *r = NULL;
    if (study_run(&o, &r, &e)) {
        t_fail(t, "study_run: %s", e.msg);
        return;
    }
    char p[700];
    snprintf(p, sizeof p, "%s/report.html", dir);
    char *html = slurp(p);
    if (T_CHECK(t, html != NULL)) {
        const char *must[] = {"<!DOCTYPE html>", "name=\"viewport\"", "@media print",
                              "id=\"accuracy\"", "id=\"agreement\"", "id=\"figures\"",
                              "id=\"units\"", "id=\"pruning\"", "id=\"defs\"", "id=\"config\"",
                              "near chance", "a&amp;b&lt;c&gt;_a_rather",
                              "test &lt;run&gt; &amp; report",
                              r->model_sha256, r->tasks[0].data_sha256, "class=\"scroll\""};
        for (size_t i = 0; i < sizeof must / sizeof *must; i++)
            if (!strstr(html, must[i]))
                t_fail(t, "report.html lacks '%s'", must[i]);
        T_CHECK(t, strstr(html, "a&b<c>") == NULL); /* escaped everywhere */
        const char *never[] = {"<script", "<link", "<img", "@import", "url(", "src="};
        for (size_t i = 0; i < sizeof never / sizeof *never; i++)
            if (strstr(html, never[i]))
                t_fail(t, "report.html holds '%s' (must be self-contained, script-free)",
                       never[i]);
        int n_svg = 0;
        for (const char *s = strstr(html, "<svg "); s; s = strstr(s + 1, "<svg "))
            n_svg++;
        T_CHECK(t, n_svg == 4); /* scatter, heatmap, confusion, pruning */
    }
    const char *svgs[] = {"scatter.svg", "heatmap.svg", "pruning.svg", "confusion.svg"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, svgs[i]);
        char *svg = slurp(p);
        if (T_CHECK(t, svg != NULL))
            T_CHECK(t, labels_outside(t, svgs[i], svg) == 0);
        free(svg);
    }
    free(html);
    study_result_free(r);
}

/* One palette: a task's colour is the same in every figure and distinct for the first ten. */
void test_report_task_colors(tctx *t)
{
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < i; j++)
            T_CHECK(t, strcmp(report_task_color(i), report_task_color(j)) != 0);
    T_CHECK(t, !strcmp(report_task_color(3), report_task_color(13)));
    T_CHECK(t, report_task_color(-1)[0] == '#');
}
