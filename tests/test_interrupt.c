/* tests/test_interrupt.c - interrupting a study of the tiny model through the real binary: SIGINT
 * saves the journal and exits 130 with a resume hint; SIGKILL anywhere, then the same command,
 * gives files identical to an uninterrupted run. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_hard_util.h"

/* The study command: 160 items of a small three-choice task, 32-token batches, so about 110
 * journaled units and about a second of wall time (one fsync per unit). @X = scratch root. */
static const char study_cmd[] =
    "run --model tests/fixtures/tiny --tasks jsonl:@X/task.jsonl --limit 0 --out @X/run "
    "--threads 1 --batch-tokens 32 --seed 7 --quiet";

enum { N_ITEMS = 160 };

/* Files whose contents may legitimately differ between two complete runs: timing.json holds
 * wall-clock seconds only. Everything else (journal included) must be byte-identical. */
static int volatile_file(const char *row) { return !strncmp(row, "timing.json ", 12); }

static void write_task(tctx *t, const char *root)
{
    static const char *w[] = {"the", "cat", "sat", "on", "a", "mat", "red", "sun", "moon", "tree",
                              "blue", "dog"};
    char path[1024];
    snprintf(path, sizeof path, "%s/task.jsonl", root);
    FILE *f = fopen(path, "w");
    if (!f) {
        t_fail(t, "cannot write %s", path);
        return;
    }
    unsigned s = 12345;
    for (int i = 0; i < N_ITEMS; i++) {
        const char *x[8];
        for (int k = 0; k < 8; k++) {
            s = s * 1103515245u + 12345u;
            x[k] = w[(s >> 16) % 12];
        }
        fprintf(f, "{\"context\": \"%s %s %s %s %s\", \"choices\": [\"%s\", \"%s %s\", \"%s\"], "
                   "\"label\": %d}\n", x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[2], i % 3);
    }
    if (fclose(f) != 0)
        t_fail(t, "cannot write %s", path);
}

/* Listing of dir without the volatile rows. Caller frees. */
static char *stable_tree(const char *dir)
{
    char *tr = hx_tree(dir);
    if (!tr)
        return NULL;
    char *out = malloc(strlen(tr) + 1), *o = out;
    for (const char *l = tr; out && *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l + 1) : strlen(l);
        if (!volatile_file(l)) {
            memcpy(o, l, len);
            o += len;
        }
        l += len;
    }
    if (out)
        *o = 0;
    free(tr);
    return out;
}

typedef struct {
    char *argv[64];
    char buf[4096];
    char root[512], run[600], ref[600], journal[700];
} setup_t;

/* Scratch tree, the command line, and the uninterrupted reference run (moved to @X/ref so the
 * run directory path, which the reports record, is the same for every run). Returns the
 * reference run's wall time, or -1 (the test is failed or skipped). */
static double setup(tctx *t, setup_t *S, char **ref_tree)
{
    snprintf(S->root, sizeof S->root, "%s", t_tmpdir(t));
    snprintf(S->run, sizeof S->run, "%s/run", S->root);
    snprintf(S->ref, sizeof S->ref, "%s/ref", S->root);
    snprintf(S->journal, sizeof S->journal, "%s/journal.tsv", S->run);
    const char *subst[26] = {0};
    subst['X' - 'A'] = S->root;
    if (hx_argv(study_cmd, subst, S->buf, sizeof S->buf, S->argv, 64) < 0) {
        t_fail(t, "command too long");
        return -1;
    }
    if (!hx_need_binary(t))
        return -1;
    write_task(t, S->root);
    hx_result r;
    hx_run(S->argv, S->root, 0, 300, &r);
    if (strstr(r.err, "not built yet")) {
        t_skip(t, "the study (`ablate run`) is not built yet");
        return -1;
    }
    if (r.rc != 0) {
        t_fail(t, "reference run failed: rc %d, signal %d, hung %d: %.500s", r.rc, r.sig, r.hung,
               r.err);
        return -1;
    }
    int units = hx_lines(S->journal) - 1;
    if (rename(S->run, S->ref) != 0) {
        t_fail(t, "cannot rename %s", S->run);
        return -1;
    }
    *ref_tree = stable_tree(S->ref);
    if (!*ref_tree || !strstr(*ref_tree, "summary.json ") || !strstr(*ref_tree, "journal.tsv ")) {
        t_fail(t, "reference run directory lacks summary.json or journal.tsv");
        return -1;
    }
    t_note(t, "reference run: %.2f s, %d journaled units", r.secs, units);
    return r.secs;
}

static void rm_rf(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return;
}

/* The finished run directory must equal the reference; a mismatch names the first differing row. */
static void compare(tctx *t, const char *what, const char *ref_tree, const char *run)
{
    char *tr = stable_tree(run);
    if (!tr) {
        t_fail(t, "%s: cannot read %s", what, run);
        return;
    }
    if (strcmp(tr, ref_tree) != 0) {
        const char *a = ref_tree, *b = tr;
        while (*a && *a == *b)
            a++, b++;
        while (a > ref_tree && a[-1] != '\n')
            a--, b--;
        t_fail(t, "%s: files differ from the uninterrupted run; reference row '%.90s', this run "
               "'%.90s'", what, a, b);
    }
    if (strstr(tr, ".tmp"))
        t_fail(t, "%s: a temporary file was left in the run directory", what);
    free(tr);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

void test_interrupt_sigint_saves_and_resumes(tctx *t)
{
    static setup_t S;
    char *ref_tree = NULL;
    if (setup(t, &S, &ref_tree) < 0) {
        free(ref_tree);
        return;
    }
    char ep[700];
    snprintf(ep, sizeof ep, "%s/sigint.err", S.root);
    double t0 = hx_now();
    pid_t pid = hx_spawn(S.argv, NULL, ep, 0);
    int seen = 0, st = 0, gone = 0;
    while (hx_now() - t0 < 120 && (seen = hx_lines(S.journal)) < 4) { /* header + 3 units */
        if ((gone = waitpid(pid, &st, WNOHANG) == pid))
            break;
        sleep_s(0.002);
    }
    if (gone) {
        t_fail(t, "the run ended (status 0x%x) before SIGINT could be sent; journal %d lines", st,
               seen);
        free(ref_tree);
        return;
    }
    kill(pid, SIGINT);
    hx_result r;
    hx_wait(pid, 120, t0, &r);
    char *err = hx_read(ep, NULL);
    int after = hx_lines(S.journal);
    size_t jn = 0;
    char *j = hx_read(S.journal, &jn);
    t_note(t, "SIGINT after %d journal lines; exit %d after %.2f s; %d lines saved; stderr: %.300s",
           seen, r.rc, r.secs, after, err ? err : "");
    if (r.rc == 0)
        t_fail(t, "the run finished before SIGINT arrived (journal had %d lines): make the task "
               "bigger", seen);
    else if (r.rc != 130)
        t_fail(t, "SIGINT: exit %d (signal %d), expected 130", r.rc, r.sig);
    T_CHECK(t, err && strstr(err, "interrupted"));
    T_CHECK(t, err && strstr(err, "run the same command again to resume"));
    T_CHECK(t, after >= seen);
    T_CHECK(t, j && jn > 0 && j[jn - 1] == '\n'); /* no torn record */
    free(err);
    free(j);

    /* the same command resumes and ends with the same files */
    char op[700];
    snprintf(op, sizeof op, "%s/resume.out", S.root);
    t0 = hx_now();
    pid = hx_spawn(S.argv, op, ep, 0);
    hx_wait(pid, 300, t0, &r);
    char *out = hx_read(op, NULL);
    if (r.rc != 0)
        t_fail(t, "resume after SIGINT: exit %d, signal %d", r.rc, r.sig);
    char want[64];
    snprintf(want, sizeof want, "(%d of ", after - 1);
    if (!out || !strstr(out, want))
        t_fail(t, "resume did not report %d units resumed from the journal: %.200s", after - 1,
               out ? (strstr(out, "wall time") ? strstr(out, "wall time") : out) : "(no output)");
    free(out);
    compare(t, "after SIGINT and resume", ref_tree, S.run);
    free(ref_tree);
}

void test_interrupt_sigkill_anywhere(tctx *t)
{
    static setup_t S;
    char *ref_tree = NULL;
    double T = setup(t, &S, &ref_tree);
    if (T < 0) {
        free(ref_tree);
        return;
    }
    const char *se = getenv("ABLATE_TEST_SEED");
    unsigned seed = se ? (unsigned)strtoul(se, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
    srand(seed);
    int landed = 0, trials = 0, resumed_kills = 0;
    pid_t last_pid = 0; /* a killed and reaped child: its pid names a dead process */
    double scale = 1.1;
    char pts[512] = "";
    /* fresh directory per trial; a point in [0, scale*T] of a fresh run; every other trial also
     * kills the first resume, so a journal cut by one kill is resumed and cut again */
    while (landed < 5 && trials < 14 && !t_failed(t)) {
        trials++;
        rm_rf(S.run);
        int kills_this = (trials % 2 == 0) ? 2 : 1;
        for (int k = 0; k < kills_this; k++) {
            double at = scale * T * rand() / (double)RAND_MAX;
            double t0 = hx_now();
            pid_t pid = hx_spawn(S.argv, NULL, NULL, 0);
            last_pid = pid;
            sleep_s(at);
            kill(pid, SIGKILL);
            hx_result r;
            hx_wait(pid, 120, t0, &r);
            int lines = hx_lines(S.journal);
            size_t pl = strlen(pts);
            if (r.sig == SIGKILL) {
                landed++;
                resumed_kills += k > 0;
                snprintf(pts + pl, sizeof pts - pl, " %.3fs/%dl", at, lines);
            } else {
                snprintf(pts + pl, sizeof pts - pl, " %.3fs/done", at);
                if (r.rc != 0)
                    t_fail(t, "a run killed late exited %d (signal %d)", r.rc, r.sig);
                scale *= 0.6; /* the runs are faster now than the reference was */
            }
        }
        if (trials == 1) { /* what a kill during report writing leaves: a dead process's temp */
            char stale[800];
            snprintf(stale, sizeof stale, "%s/.summary.json.tmp.%d", S.run, (int)last_pid);
            mkdir(S.run, 0755);
            hx_write(stale, "{\"partial", 9);
        }
        hx_result r;
        double t0 = hx_now();
        pid_t pid = hx_spawn(S.argv, NULL, NULL, 0);
        hx_wait(pid, 300, t0, &r);
        if (r.rc != 0) {
            t_fail(t, "trial %d: the resumed run exited %d (signal %d)", trials, r.rc, r.sig);
            break;
        }
        char what[64];
        snprintf(what, sizeof what, "trial %d (seed %u)", trials, seed);
        compare(t, what, ref_tree, S.run);
    }
    t_note(t, "seed %u: %d SIGKILLs landed mid-run (%d of them in a resumed run) in %d trials; "
           "kill points (delay/journal lines):%s", seed, landed, resumed_kills, trials, pts);
    if (landed < 5 && !t_failed(t))
        t_fail(t, "only %d of the kills landed while the study was running (want >= 5)", landed);
    free(ref_tree);
}
