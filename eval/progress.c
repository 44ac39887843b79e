/* eval/progress.c - progress on stderr: a redrawn bar with items/s, tokens/s and ETA (or, in work
 * mode, one measure and one ETA) on a terminal, plain lines at most every 10 s otherwise. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "eval.h"

double ev_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double ev_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru))
        return 0;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

void ev_fmt_duration(char *buf, size_t cap, double s)
{
    if (!(s >= 0) || s > 1e8)
        snprintf(buf, cap, "?");
    else if (s >= 3600)
        snprintf(buf, cap, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else if (s >= 60)
        snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, cap, "%ds", (int)s);
}

/* 1234 -> "1234", 12345 -> "12.3k", 1.2e6 -> "1.20M", 3e9 -> "3.00G" */
static void fmt_count(char *buf, size_t cap, double v)
{
    if (v < 10000)
        snprintf(buf, cap, "%.0f", v);
    else if (v < 1e6)
        snprintf(buf, cap, "%.1fk", v / 1e3);
    else if (v < 1e9)
        snprintf(buf, cap, "%.2fM", v / 1e6);
    else
        snprintf(buf, cap, "%.2fG", v / 1e9);
}

/* Work mode: "label: 1.23M of 5.40M token-passes (22%), 2.1k token-passes/s, ETA 1m05s for
 * the whole run" (tty: with a bar, redrawn). */
static void draw_work(ev_progress *p, bool final)
{
    double now = ev_now(), dt = now - p->t0;
    double rate = dt > 0 ? (double)(p->done_tok - p->skip_tok) / dt : 0;
    double frac = p->total_tok > 0 ? (double)p->done_tok / (double)p->total_tok : 1;
    if (frac > 1)
        frac = 1;
    char done[16], tot[16], rt[16], eta[32];
    fmt_count(done, sizeof done, (double)p->done_tok);
    fmt_count(tot, sizeof tot, (double)p->total_tok);
    fmt_count(rt, sizeof rt, rate);
    ev_fmt_duration(eta, sizeof eta, final ? dt : rate > 0 ? (double)(p->total_tok - p->done_tok)
                                                                 / rate : -1);
    const char *tail = final ? "took" : "ETA";
    if (p->tty) {
        char bar[21];
        int fill = (int)(frac * 20 + 0.5);
        for (int i = 0; i < 20; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[20] = 0;
        fprintf(p->f, "\r[%s] %3d%% %s: %s of %s %s, %s/s, %s %s\033[K", bar, (int)(frac * 100),
                p->label, done, tot, p->unit, rt, tail, eta);
        if (final)
            fputc('\n', p->f);
    } else {
        fprintf(p->f, "%s: %s of %s %s (%d%%), %s %s/s, %s %s%s\n", p->label, done, tot, p->unit,
                (int)(frac * 100), rt, p->unit, tail, eta, final ? "" : " for the whole run");
    }
    if (final && p->skip_tok > 0) {
        fmt_count(done, sizeof done, (double)p->skip_tok);
        fprintf(p->f, "%s: %s %s resumed from the journal (not in the rate)\n", p->label, done,
                p->unit);
    }
    fflush(p->f);
    p->t_last = now;
}

static void draw(ev_progress *p, bool final)
{
    if (p->unit[0]) {
        draw_work(p, final);
        return;
    }
    double now = ev_now(), dt = now - p->t0;
    /* rates count computed work only: resumed (skipped) work arrives in no time */
    double ips = dt > 0 ? (double)(p->done_items - p->skip_items) / dt : 0;
    double tps = dt > 0 ? (double)(p->done_tok - p->skip_tok) / dt : 0;
    double frac = p->total_tok > 0 ? (double)p->done_tok / (double)p->total_tok
                                   : p->total_items > 0 ? (double)p->done_items / (double)p->total_items : 1;
    char eta[32];
    ev_fmt_duration(eta, sizeof eta, final ? dt : (tps > 0 ? (double)(p->total_tok - p->done_tok) / tps : -1));
    if (p->tty) {
        char bar[25];
        int fill = (int)(frac * 24 + 0.5);
        for (int i = 0; i < 24; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[24] = 0;
        fprintf(p->f, "\r%s [%s] %3d%% %lld/%lld items  %.1f it/s  %.0f tok/s  %s %s\033[K", p->label, bar,
                (int)(frac * 100), (long long)p->done_items, (long long)p->total_items, ips, tps,
                final ? "took" : "ETA", eta);
        if (final)
            fputc('\n', p->f);
    } else {
        fprintf(p->f, "%s: %lld/%lld items (%d%%), %.1f items/s, %.0f tokens/s, %s %s\n", p->label,
                (long long)p->done_items, (long long)p->total_items, (int)(frac * 100), ips, tps,
                final ? "took" : "ETA", eta);
    }
    if (final && p->skip_items > 0)
        fprintf(p->f, "%s: %lld of %lld items resumed from the journal\n", p->label,
                (long long)p->skip_items, (long long)p->total_items);
    fflush(p->f);
    p->t_last = now;
}

void ev_progress_begin(ev_progress *p, FILE *f, const char *label, int64_t total_items, int64_t total_tok)
{
    memset(p, 0, sizeof *p);
    p->f = f;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total_items = total_items;
    p->total_tok = total_tok;
    p->t0 = p->t_last = ev_now();
    p->tty = f && isatty(fileno(f));
    p->active = f != NULL;
    if (p->active && p->tty)
        draw(p, false);
}

void ev_progress_begin_work(ev_progress *p, FILE *f, const char *label, const char *unit,
                            int64_t total)
{
    ev_progress_begin(p, NULL, label, 0, total);
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "work");
    p->f = f;
    p->tty = f && isatty(fileno(f));
    p->active = f != NULL;
    if (p->active && p->tty)
        draw(p, false);
}

void ev_progress_label(ev_progress *p, const char *label)
{
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
}

void ev_progress_update(ev_progress *p, int64_t add_items, int64_t add_tok)
{
    p->done_items += add_items;
    p->done_tok += add_tok;
    if (!p->active)
        return;
    double since = ev_now() - p->t_last;
    if (since >= (p->tty ? 0.1 : 10.0))
        draw(p, false);
}

void ev_progress_skip(ev_progress *p, int64_t add_items, int64_t add_tok)
{
    p->skip_items += add_items;
    p->skip_tok += add_tok;
    ev_progress_update(p, add_items, add_tok);
}

void ev_progress_end(ev_progress *p)
{
    if (!p->active)
        return;
    draw(p, true);
    p->active = false;
}
