/* tests/t.c - failure recording, notes, tolerance checks and scratch directories for tests.
 * Each test runs in a child process; the child writes its verdict to a pipe. */
#include "t.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t_int.h"

void t_fail(tctx *t, const char *fmt, ...)
{
    if (t->failed++)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->why, sizeof t->why, fmt, ap);
    va_end(ap);
}

void t_skip(tctx *t, const char *why)
{
    t->skipped = 1;
    snprintf(t->skip_why, sizeof t->skip_why, "%s", why);
}

int t_failed(const tctx *t) { return t->failed != 0; }

void t_note(tctx *t, const char *fmt, ...)
{
    size_t used = strlen(t->notes);
    if (used + 8 >= sizeof t->notes)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(t->notes + used, sizeof t->notes - used, "  ");
    n += vsnprintf(t->notes + used + n, sizeof t->notes - used - n, fmt, ap);
    va_end(ap);
    used = strlen(t->notes);
    if (used + 1 < sizeof t->notes) {
        t->notes[used] = '\n';
        t->notes[used + 1] = 0;
    }
}

const char *t_tmpdir(tctx *t)
{
    if (!t->tmp[0]) {
        snprintf(t->tmp, sizeof t->tmp, "/tmp/ablate-test-%d-XXXXXX", (int)getpid());
        if (!mkdtemp(t->tmp)) {
            t_fail(t, "cannot create a scratch directory");
            snprintf(t->tmp, sizeof t->tmp, "/tmp");
        }
    }
    return t->tmp;
}

int t_check_(tctx *t, int ok, const char *expr, const char *file, int line)
{
    if (!ok)
        t_fail(t, "%s:%d: check failed: %s", file, line, expr);
    return ok;
}

int t_close_f32(tctx *t, const char *what, const float *a, const float *b, size_t n,
                double atol, double rtol)
{
    double max_abs = 0, max_rel = 0;
    size_t worst = 0, bad = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (isnan(a[i]) != isnan(b[i]))
            d = INFINITY;
        else if (isnan(a[i]))
            d = 0;
        double r = d / (fabs((double)b[i]) + 1e-30);
        if (d > max_abs) {
            max_abs = d;
            worst = i;
        }
        if (r > max_rel && fabs((double)b[i]) > atol)
            max_rel = r;
        if (d > atol + rtol * fabs((double)b[i]) && bad == (size_t)-1)
            bad = i;
    }
    t_note(t, "%s: n=%zu max_abs_diff=%.3g max_rel_err=%.3g", what, n, max_abs, max_rel);
    if (bad != (size_t)-1) {
        t_fail(t, "%s: index %zu: got %.9g, want %.9g (max_abs_diff %.3g at %zu)", what, bad,
               (double)a[bad], (double)b[bad], max_abs, worst);
        return 0;
    }
    return 1;
}

void t_replay_corpus(tctx *t, const char *dir, int (*one)(const uint8_t *data, size_t size))
{
    DIR *d = opendir(dir);
    if (!d) {
        t_fail(t, "%s: cannot open the corpus (run the tests from the repository root)", dir);
        return;
    }
    int files = 0;
    size_t bytes = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *fp = fopen(path, "rb");
        long size = -1;
        if (fp && fseek(fp, 0, SEEK_END) == 0)
            size = ftell(fp);
        uint8_t *buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
        size_t n = 0;
        if (buf && fseek(fp, 0, SEEK_SET) == 0)
            n = fread(buf, 1, (size_t)size, fp);
        if (fp)
            fclose(fp);
        if (!buf || n != (size_t)size) {
            t_fail(t, "%s: cannot read", path);
            free(buf);
            continue;
        }
        one(buf, n);
        free(buf);
        files++;
        bytes += n;
    }
    closedir(d);
    t_note(t, "%s: %d files, %zu bytes replayed", dir, files, bytes);
    T_CHECK(t, files > 0);
}
