/* tests/test_study_shard.c - sharded studies of the tiny model through the real binary: shards
 * run one after another, or as parallel processes, then the report run gives files byte-equal
 * to a one-process run; a killed shard resumes; other configurations are refused, never mixed;
 * --no-compute names the missing shards; the cost-balanced assignment itself. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../study/study_int.h"
#include "test_hard_util.h"

/* The study: 16 items, 64-token batches (several sweep units), 2 pruning steps. @X = scratch. */
#define SHARD_CMD "run --model tests/fixtures/tiny --tasks jsonl:tests/fixtures/study/toy.jsonl " \
                  "--limit 0 --threads 1 --batch-tokens 64 --prune 2 --quiet --out @X/run"

static const char *const outputs[] = {"layers.csv", "summary.json", "report.md", "heatmap.svg",
                                      "scatter.svg", "pruning.svg", "config.txt"};

/* Run `ablate SHARD_CMD extra` (extra: space-separated words, may be ""); returns the result. */
static hx_result run(tctx *t, const char *extra)
{
    char tmpl[1024], buf[4096], *argv[64];
    snprintf(tmpl, sizeof tmpl, "%s%s%s", SHARD_CMD, *extra ? " " : "", extra);
    const char *subst[26] = {0};
    subst['X' - 'A'] = t_tmpdir(t);
    hx_result r;
    memset(&r, 0, sizeof r);
    r.rc = -1;
    if (hx_argv(tmpl, subst, buf, sizeof buf, argv, 64) < 0) {
        t_fail(t, "command too long");
        return r;
    }
    hx_run(argv, t_tmpdir(t), 0, 300, &r);
    return r;
}

static int ok(tctx *t, const char *what, const hx_result *r)
{
    if (r->rc == 0)
        return 1;
    t_fail(t, "%s: rc %d, signal %d: %.400s", what, r->rc, r->sig, r->err);
    return 0;
}

static int exists(tctx *t, const char *dir, const char *name)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s/%s", t_tmpdir(t), dir, name);
    return access(p, F_OK) == 0;
}

/* The one-process reference in @X/run, moved to @X/ref (the reports echo the --out path). */
static int reference(tctx *t)
{
    hx_result r = run(t, "");
    if (!ok(t, "one-process run", &r))
        return 0;
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/run", t_tmpdir(t));
    snprintf(b, sizeof b, "%s/ref", t_tmpdir(t));
    if (rename(a, b) != 0) {
        t_fail(t, "cannot rename %s", a);
        return 0;
    }
    return 1;
}

/* Every output of @X/run equals @X/ref's, byte for byte. */
static void same_outputs(tctx *t, const char *what)
{
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++) {
        char p1[700], p2[700];
        snprintf(p1, sizeof p1, "%s/ref/%s", t_tmpdir(t), outputs[i]);
        snprintf(p2, sizeof p2, "%s/run/%s", t_tmpdir(t), outputs[i]);
        size_t n1 = 0, n2 = 0;
        char *a = hx_read(p1, &n1), *b = hx_read(p2, &n2);
        if (!a || !b || n1 != n2 || memcmp(a, b, n1) != 0)
            t_fail(t, "%s: %s differs from the one-process run's (%zu vs %zu bytes)", what,
                   outputs[i], n2, n1);
        free(a);
        free(b);
    }
}

static void run_shards(tctx *t, int n, const char *round)
{
    for (int i = 0; i < n && !t_failed(t); i++) {
        char ex[64], what[96];
        snprintf(ex, sizeof ex, "--shard %d/%d", i, n);
        snprintf(what, sizeof what, "%s round, shard %d/%d", round, i, n);
        hx_result r = run(t, ex);
        ok(t, what, &r);
    }
}

void test_study_shard_sequential_equals_one_process(tctx *t)
{
    if (!reference(t))
        return;
    run_shards(t, 3, "first");
    T_CHECK(t, exists(t, "run", "journal.shard-0-of-3.tsv") &&
                   exists(t, "run", "journal.shard-2-of-3.tsv") && exists(t, "run", "config.txt"));
    T_CHECK(t, !exists(t, "run", "summary.json") && !exists(t, "run", "journal.tsv"));
    /* shards 0 and 1 ran before the sweep was complete: their pruning units are missing */
    hx_result r = run(t, "--no-compute");
    T_CHECK(t, r.rc == 1 && strstr(r.err, "missing from shards 0/3, 1/3") &&
                   !strstr(r.err, "2/3"));
    t_note(t, "--no-compute after one round: %.200s", r.err);
    T_CHECK(t, !exists(t, "run", "summary.json"));
    run_shards(t, 3, "second"); /* the same commands again: the pruning shares */
    r = run(t, "--no-compute");
    if (ok(t, "report run", &r))
        same_outputs(t, "3 shards, two rounds, then --no-compute");
}

void test_study_shard_report_run_computes_the_rest(tctx *t)
{
    if (!reference(t))
        return;
    run_shards(t, 2, "first");
    run(t, "--shard 0/2"); /* resumes: computes nothing new but its pruning share */
    hx_result r = run(t, "");
    if (ok(t, "report run", &r))
        same_outputs(t, "2 shards, then the unsharded command");
    T_CHECK(t, exists(t, "run", "journal.tsv")); /* what it computed itself */
    r = run(t, "--no-compute"); /* complete now: nothing to compute, the same files */
    if (ok(t, "second report run", &r))
        same_outputs(t, "--no-compute on a complete directory");
}

void test_study_shard_parallel_processes(tctx *t)
{
    if (!reference(t))
        return;
    for (int round = 0; round < 2 && !t_failed(t); round++) {
        pid_t pid[4];
        char bufs[4][4096], *argv[4][64], ep[4][700];
        double t0 = hx_now();
        for (int i = 0; i < 4; i++) {
            char tmpl[1024];
            snprintf(tmpl, sizeof tmpl, "%s --shard %d/4", SHARD_CMD, i);
            const char *subst[26] = {0};
            subst['X' - 'A'] = t_tmpdir(t);
            hx_argv(tmpl, subst, bufs[i], sizeof bufs[i], argv[i], 64);
            snprintf(ep[i], sizeof ep[i], "%s/shard%d.err", t_tmpdir(t), i);
            pid[i] = hx_spawn(argv[i], NULL, ep[i], 0);
        }
        for (int i = 0; i < 4; i++) {
            hx_result r;
            hx_wait(pid[i], 300, t0, &r);
            if (r.rc != 0) {
                char *e = hx_read(ep[i], NULL);
                t_fail(t, "parallel shard %d/4 (round %d): rc %d, signal %d: %.300s", i, round,
                       r.rc, r.sig, e ? e : "");
                free(e);
            }
        }
    }
    hx_result r = run(t, "--no-compute");
    if (ok(t, "report run after 4 parallel shards, two rounds", &r))
        same_outputs(t, "4 parallel shards");
}

void test_study_shard_killed_resumes(tctx *t)
{
    if (!reference(t))
        return;
    setenv("ABLATE_STOP_AFTER_UNITS", "1", 1); /* stops like a kill after one new unit */
    hx_result r = run(t, "--shard 1/2");
    unsetenv("ABLATE_STOP_AFTER_UNITS");
    T_CHECK(t, r.rc == 130 && strstr(r.err, "run the same command again"));
    char jp[700];
    snprintf(jp, sizeof jp, "%s/run/journal.shard-1-of-2.tsv", t_tmpdir(t));
    int lines = hx_lines(jp);
    T_CHECK(t, lines == 2);
    FILE *f = fopen(jp, "a"); /* a kill -9 in the middle of the next record */
    if (f) {
        fputs("jsonl:tests/fixtures/study/toy.jsonl/9\t-0x1.8p+3 0 -0x1", f);
        fclose(f);
    }
    r = run(t, "--shard 1/2");
    ok(t, "rerun of the killed shard", &r);
    run_shards(t, 2, "after the kill");
    r = run(t, "--no-compute");
    if (ok(t, "report run", &r))
        same_outputs(t, "a killed and resumed shard");
}

void test_study_shard_refuses_other_configuration(tctx *t)
{
    hx_result r = run(t, "--shard 0/2");
    if (!ok(t, "shard 0/2", &r))
        return;
    char cfg[700], jp[700], other[700];
    snprintf(cfg, sizeof cfg, "%s/run/config.txt", t_tmpdir(t));
    snprintf(jp, sizeof jp, "%s/run/journal.shard-1-of-2.tsv", t_tmpdir(t));
    size_t n0 = 0, n1 = 0;
    char *before = hx_read(cfg, &n0);
    r = run(t, "--shard 1/2 --seed 5"); /* another configuration into the same directory */
    T_CHECK(t, r.rc == 1 && strstr(r.err, "another configuration"));
    T_CHECK(t, access(jp, F_OK) != 0); /* nothing written */
    char *after = hx_read(cfg, &n1);
    T_CHECK(t, before && after && n0 == n1 && !memcmp(before, after, n0));
    free(before);
    free(after);
    /* a shard journal of another configuration dropped into the directory: refused, not mixed */
    char tmpl[1024], buf[4096], *argv[64];
    snprintf(tmpl, sizeof tmpl, "%s --shard 1/2 --seed 5", SHARD_CMD);
    char *o = strstr(tmpl, "@X/run");
    memcpy(o, "@X/oth", 6);
    const char *subst[26] = {0};
    subst['X' - 'A'] = t_tmpdir(t);
    hx_argv(tmpl, subst, buf, sizeof buf, argv, 64);
    hx_result r2;
    hx_run(argv, t_tmpdir(t), 0, 300, &r2);
    snprintf(other, sizeof other, "%s/oth/journal.shard-1-of-2.tsv", t_tmpdir(t));
    size_t on = 0;
    char *oj = hx_read(other, &on);
    T_CHECK(t, r2.rc == 0 && oj && hx_write(jp, oj, on) == 0);
    free(oj);
    r = run(t, "");
    T_CHECK(t, r.rc == 1 && strstr(r.err, "journal.shard-1-of-2.tsv") &&
                   strstr(r.err, "another configuration"));
    T_CHECK(t, !exists(t, "run", "summary.json"));
    t_note(t, "foreign shard journal: %.240s", r.err);
}

void test_study_shard_flags_and_estimate(tctx *t)
{
    const char *bad[] = {"--shard 3/3", "--shard -1/2", "--shard 1", "--shard 1/2x",
                         "--shard 0/2 --no-compute", "--shards 4", NULL};
    for (int i = 0; bad[i]; i++) {
        hx_result r = run(t, bad[i]);
        if (r.rc != 2)
            t_fail(t, "'%s': rc %d, expected 2 (%.200s)", bad[i], r.rc, r.err);
    }
    char tmpl[1024], buf[4096], *argv[64], op[700];
    snprintf(tmpl, sizeof tmpl, "%s --estimate --shards 3", SHARD_CMD);
    const char *subst[26] = {0};
    subst['X' - 'A'] = t_tmpdir(t);
    hx_argv(tmpl, subst, buf, sizeof buf, argv, 64);
    snprintf(op, sizeof op, "%s/est.out", t_tmpdir(t));
    double t0 = hx_now();
    hx_result r;
    hx_wait(hx_spawn(argv, op, NULL, 0), 300, t0, &r);
    char *out = hx_read(op, NULL);
    T_CHECK(t, r.rc == 0 && out && strstr(out, "shard 0/3:") && strstr(out, "shard 2/3:") &&
                   !strstr(out, "shard 3/3"));
    T_CHECK(t, !exists(t, "run", "config.txt")); /* --estimate writes nothing */
    free(out);
}

/* The assignment: every unit to one shard, deterministic, balanced (longest first). */
void test_study_shard_assignment(tctx *t)
{
    double cost[] = {5, 1, 4, 4, 2, 3, 3, 1, 5, 2};
    int n = 10, own[10], own2[10];
    double load[3], sum = 0;
    abl_err e = {0};
    T_CHECK(t, study_shard_assign(cost, n, 3, own, load, &e) == ABL_OK);
    T_CHECK(t, study_shard_assign(cost, n, 3, own2, NULL, &e) == ABL_OK);
    T_CHECK(t, !memcmp(own, own2, sizeof own));
    double chk[3] = {0};
    for (int i = 0; i < n; i++) {
        T_CHECK(t, own[i] >= 0 && own[i] < 3);
        chk[own[i]] += cost[i];
        sum += cost[i];
    }
    /* LPT: 5 5 4 | 4 3 3 | ... gives loads 10, 10, 10 for this set (total 30) */
    for (int s = 0; s < 3; s++)
        T_CHECK(t, chk[s] == load[s] && load[s] == 10);
    T_CHECK(t, own[0] == 0 && own[8] == 1); /* equal costs: the lower index goes first */
    T_CHECK(t, study_shard_assign(cost, n, 1, own, load, &e) == ABL_OK && load[0] == sum);
    T_CHECK(t, study_shard_assign(cost, 0, 2, own, load, &e) == ABL_OK && load[0] == 0);
}
