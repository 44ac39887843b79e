/* tests/test_model_util.c - what the engine tests share: the golden-file reader and comparer,
 * model loading for tests, teacher-forced and packed batches, residual grabbing hooks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_model_util.h"

void golden_free(golden *g)
{
    if (g) {
        free(g->res);
        free(g->sk_layer);
        free(g->sk_seq);
        free(g->sk_row);
        free(g->sk_tgt);
        free(g->sk_lp);
        free(g);
    }
}

/* Parse path; NULL (with a failure recorded) on any problem. */
golden *golden_load(tctx *t, const char *path, int d)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        t_fail(t, "%s: cannot open (hint: python3 tools/golden/forward.py)", path);
        return NULL;
    }
    golden *g = calloc(1, sizeof *g);
    size_t cap = 1 << 20;
    char *line = malloc(cap);
    if (g) {
        g->res = malloc((size_t)G_MAX_RES * d * sizeof(float));
        g->sk_layer = malloc(G_MAX_SKIP * sizeof(int));
        g->sk_seq = malloc(G_MAX_SKIP * sizeof(int));
        g->sk_row = malloc(G_MAX_SKIP * sizeof(int));
        g->sk_tgt = malloc(G_MAX_SKIP * sizeof(int));
        g->sk_lp = malloc(G_MAX_SKIP * sizeof(double));
    }
    if (!g || !line || !g->res || !g->sk_layer || !g->sk_seq || !g->sk_row || !g->sk_tgt ||
        !g->sk_lp) {
        t_fail(t, "out of memory");
        free(line);
        fclose(f);
        golden_free(g);
        return NULL;
    }
    g->d = d;
    int bad = 0;
    while (!bad && fgets(line, (int)cap, f)) {
        char *p = line, *end;
        if (!strncmp(p, "seq ", 4)) {
            int s = (int)strtol(p + 4, &end, 10), n = (int)strtol(end, &end, 10);
            bad = s != g->n_seq || s >= G_MAX_SEQ || n < 1 || n > G_MAX_LEN;
            for (int i = 0; !bad && i < n; i++)
                g->ids[s][i] = (int32_t)strtol(end, &end, 10);
            if (!bad)
                g->len[g->n_seq++] = n;
        } else if (!strncmp(p, "score ", 6)) {
            int i = g->n_score;
            bad = i >= G_MAX_SCORE;
            if (!bad) {
                g->sc_seq[i] = (int)strtol(p + 6, &end, 10);
                g->sc_row[i] = (int)strtol(end, &end, 10);
                g->sc_tgt[i] = (int)strtol(end, &end, 10);
                g->sc_lp[i] = strtod(end, &end);
                g->sc_top1[i] = (int)strtol(end, &end, 10);
                g->n_score++;
            }
        } else if (!strncmp(p, "skip ", 5)) {
            int i = g->n_skip;
            bad = i >= G_MAX_SKIP;
            if (!bad) {
                g->sk_layer[i] = (int)strtol(p + 5, &end, 10);
                g->sk_seq[i] = (int)strtol(end, &end, 10);
                g->sk_row[i] = (int)strtol(end, &end, 10);
                g->sk_tgt[i] = (int)strtol(end, &end, 10);
                g->sk_lp[i] = strtod(end, &end);
                bad = g->sk_seq[i] < 0 || g->sk_seq[i] >= g->n_seq || g->sk_row[i] < 0 ||
                      g->sk_row[i] >= g->len[g->sk_seq[i]];
                g->n_skip++;
            }
        } else if (!strncmp(p, "resid ", 6)) {
            int i = g->n_res;
            bad = i >= G_MAX_RES;
            if (!bad) {
                g->res_seq[i] = (int)strtol(p + 6, &end, 10);
                g->res_layer[i] = (int)strtol(end, &end, 10);
                g->res_pos[i] = (int)strtol(end, &end, 10);
                for (int j = 0; j < d; j++)
                    g->res[(size_t)i * d + j] = strtof(end, &end);
                g->n_res++;
            }
        }
    }
    free(line);
    fclose(f);
    if (bad || g->n_seq == 0 || g->n_score == 0) {
        t_fail(t, "%s: malformed golden file", path);
        golden_free(g);
        return NULL;
    }
    return g;
}

/* Captures the residual rows a golden asks for, from resid_post hooks. */
typedef struct {
    const golden *g;
    float *got; /* (n_res, d) */
} res_capture;

static void capture_hook(void *user, int layer, hook_point p, float *x, const fwd_batch *b)
{
    res_capture *c = user;
    (void)p;
    for (int i = 0; i < c->g->n_res; i++)
        if (c->g->res_layer[i] == layer) {
            int row = b->seq_start[c->g->res_seq[i]] + c->g->res_pos[i];
            memcpy(c->got + (size_t)i * c->g->d, x + (size_t)row * c->g->d,
                   (size_t)c->g->d * sizeof(float));
        }
}

/* Build the golden's batch (every sequence packed) with its scores. */
int golden_batch(const golden *g, fwd_batch *b)
{
    batch_init(b);
    for (int s = 0; s < g->n_seq; s++)
        if (batch_add_seq(b, s, g->ids[s], g->len[s]) < 0)
            return 0;
    for (int i = 0; i < g->n_score; i++)
        if (batch_add_score(b, b->seq_start[g->sc_seq[i]] + g->sc_row[i], g->sc_tgt[i]) < 0)
            return 0;
    return 1;
}

/* Run the golden's batch on m; returns max |lp - golden| (or -1 on error) and fills *res_diff
 * with the max residual difference relative to the row's max magnitude. */
double golden_diff(tctx *t, model *m, const golden *g, double *res_diff, int *top1_bad)
{
    fwd_batch b;
    abl_err err = {0};
    res_capture cap = {g, malloc((size_t)(g->n_res ? g->n_res : 1) * g->d * sizeof(float))};
    if (!cap.got || !golden_batch(g, &b)) {
        t_fail(t, "out of memory");
        free(cap.got);
        return -1;
    }
    run_plan plan = {.hook = capture_hook, .hook_user = &cap,
                     .hook_mask = 1u << HOOK_RESID_POST};
    double worst = -1;
    if (model_forward(m, &b, &plan, &err)) {
        t_fail(t, "model_forward: %s", err.msg);
    } else {
        worst = 0;
        *top1_bad = 0;
        for (int i = 0; i < g->n_score; i++) {
            double d = fabs((double)b.score_lp[i] - g->sc_lp[i]);
            worst = d > worst ? d : worst;
            /* argmax may legitimately differ only on near ties; count disagreements */
            *top1_bad += (int)b.score_top1[i] != g->sc_top1[i];
        }
        *res_diff = 0;
        for (int i = 0; i < g->n_res; i++) {
            const float *a = cap.got + (size_t)i * g->d, *r = g->res + (size_t)i * g->d;
            double mag = 1e-6, dmax = 0;
            for (int j = 0; j < g->d; j++) {
                mag = fmax(mag, fabs(r[j]));
                dmax = fmax(dmax, fabs((double)a[j] - r[j]));
            }
            *res_diff = fmax(*res_diff, dmax / mag);
        }
    }
    batch_free(&b);
    free(cap.got);
    return worst;
}

double golden_skip_diff(tctx *t, model *m, const golden *g, int layer, int *n)
{
    const hf_config *c = model_config(m);
    fwd_batch b;
    abl_err err = {0};
    uint8_t *skip = calloc((size_t)c->n_layers, 1);
    int32_t *idx = malloc(G_MAX_SKIP * sizeof(int32_t));
    double worst = -1;
    *n = 0;
    batch_init(&b);
    int ok = skip && idx;
    for (int s = 0; ok && s < g->n_seq; s++)
        ok = batch_add_seq(&b, s, g->ids[s], g->len[s]) >= 0;
    for (int i = 0; ok && i < g->n_skip; i++)
        if (g->sk_layer[i] == layer) {
            idx[(*n)++] = i;
            ok = batch_add_score(&b, b.seq_start[g->sk_seq[i]] + g->sk_row[i], g->sk_tgt[i]) >= 0;
        }
    if (!ok) {
        t_fail(t, "out of memory");
    } else {
        skip[layer] = 1;
        run_plan plan = {.skip_attn = skip, .skip_mlp = skip};
        if (model_forward(m, &b, &plan, &err)) {
            t_fail(t, "model_forward: %s", err.msg);
        } else {
            worst = 0;
            for (int j = 0; j < *n; j++)
                worst = fmax(worst, fabs((double)b.score_lp[j] - g->sk_lp[idx[j]]));
        }
    }
    batch_free(&b);
    free(skip);
    free(idx);
    return worst;
}

model *load(tctx *t, const char *dir, int threads)
{
    abl_err err = {0};
    model_opts o = model_opts_default();
    o.threads = threads;
    model *m = NULL;
    if (model_load(&m, dir, &o, &err))
        t_fail(t, "model_load %s: %s", dir, err.msg);
    return m;
}

int have_real_model(tctx *t)
{
    if (access(REAL_DIR "/model.safetensors", R_OK) != 0) {
        t_skip(t, REAL_DIR " is missing (make model)");
        return 0;
    }
    return 1;
}

void check_golden(tctx *t, const char *dir, const char *gpath, double tol_lp,
                         double tol_res, int threads)
{
    if (kern_init(NULL, NULL) != ABL_OK) {
        t_fail(t, "kern_init failed");
        return;
    }
    model *m = load(t, dir, threads);
    if (!m)
        return;
    golden *g = golden_load(t, gpath, model_config(m)->d_model);
    if (g) {
        double rd = 0;
        int top1_bad = 0;
        double d = golden_diff(t, m, g, &rd, &top1_bad);
        t_note(t, "%s: %d log-probs max_abs_diff=%.3g (tol %.0e); %d residual rows max "
               "rel diff=%.3g (tol %.0e); top1 disagreements %d", gpath, g->n_score, d, tol_lp,
               g->n_res, rd, tol_res, top1_bad);
        T_CHECK(t, d >= 0 && d < tol_lp);
        T_CHECK(t, rd < tol_res);
        T_CHECK(t, top1_bad <= g->n_score / 50);
    }
    golden_free(g);
    model_free(m);
}

/* Teacher-forced batch over the tiny golden's sequences: every row scored. */
int teacher_batch(const golden *g, fwd_batch *b)
{
    batch_init(b);
    for (int s = 0; s < g->n_seq; s++) {
        int r0 = batch_add_seq(b, s, g->ids[s], g->len[s]);
        if (r0 < 0)
            return 0;
        for (int i = 0; i + 1 < g->len[s]; i++)
            if (batch_add_score(b, r0 + i, g->ids[s][i + 1]) < 0)
                return 0;
    }
    return 1;
}

void grab_hook(void *user, int layer, hook_point p, float *x, const fwd_batch *b)
{
    grab *gr = user;
    (void)b;
    if (layer == gr->layer && p == gr->point)
        memcpy(gr->buf, x, gr->n * sizeof(float));
}

/* Packed prefix + 4 branches vs 4 separate sequences prefix+branch, on model m. */
void check_packed(tctx *t, model *m, const int32_t *prefix, int np,
                         const int32_t *br[4], const int nb[4], double tol)
{
    fwd_batch pk, sep;
    batch_init(&pk);
    batch_init(&sep);
    abl_err err = {0};
    int32_t seqbuf[G_MAX_LEN * 2];
    /* packed: one sequence; a second unrelated sequence after it checks isolation */
    int ok = batch_add_seq(&pk, 0, prefix, np) >= 0;
    int brow[4];
    for (int k = 0; k < 4 && ok; k++) {
        brow[k] = batch_add_branch(&pk, br[k], nb[k]);
        ok = brow[k] >= 0;
        ok = ok && batch_add_score(&pk, np - 1, br[k][0]) >= 0;
        for (int i = 0; ok && i + 1 < nb[k]; i++)
            ok = batch_add_score(&pk, brow[k] + i, br[k][i + 1]) >= 0;
        ok = ok && batch_add_score(&pk, brow[k] + nb[k] - 1, prefix[0]) >= 0;
    }
    ok = ok && batch_add_seq(&pk, 1, br[0], nb[0]) >= 0;
    for (int k = 0; k < 4 && ok; k++) {
        memcpy(seqbuf, prefix, (size_t)np * sizeof(int32_t));
        memcpy(seqbuf + np, br[k], (size_t)nb[k] * sizeof(int32_t));
        int r0 = batch_add_seq(&sep, k, seqbuf, np + nb[k]);
        ok = r0 >= 0;
        for (int i = np - 1; ok && i + 1 < np + nb[k]; i++)
            ok = batch_add_score(&sep, r0 + i, seqbuf[i + 1]) >= 0;
        ok = ok && batch_add_score(&sep, r0 + np + nb[k] - 1, prefix[0]) >= 0;
    }
    if (!T_CHECK(t, ok) || !T_CHECK(t, pk.n_score == sep.n_score)) {
        batch_free(&pk);
        batch_free(&sep);
        return;
    }
    /* positions continue from the prefix; spans see the prefix and the own branch */
    T_CHECK(t, pk.pos[brow[2]] == np && pk.span[brow[2] + 1].a1 == np &&
               pk.span[brow[2] + 1].b0 == brow[2] && pk.span[brow[2] + 1].b1 == brow[2] + 2);
    T_CHECK(t, pk.branch[brow[3]] == 4 && pk.seq[brow[3]] == 0);
    T_CHECK(t, !model_forward(m, &pk, NULL, &err));
    T_CHECK(t, !model_forward(m, &sep, NULL, &err));
    t_close_f32(t, "packed prefix + 4 branches vs 4 sequences", pk.score_lp, sep.score_lp,
                (size_t)pk.n_score, tol, 0);
    batch_free(&pk);
    batch_free(&sep);
}

/* Log-softmax of logits (V) at tgt, in double. */
double log_softmax_at(const float *logits, int V, int tgt)
{
    double mx = logits[0], s = 0;
    for (int v = 1; v < V; v++)
        mx = fmax(mx, logits[v]);
    for (int v = 0; v < V; v++)
        s += exp(logits[v] - mx);
    return logits[tgt] - mx - log(s);
}
