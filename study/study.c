/* study/study.c - the study driver: load model and tasks, then per packed batch (the journaled
 * work unit) one intact pass with cosine hooks and one resumed pass per removed unit. */
#include "study.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/sha256.h"
#include "../engine/model.h"
#include "../kernels/kernels.h"
#include "../eval/eval.h"
#include "journal.h"
#include "report.h"
#include "study_int.h"

const char *study_definitions(void)
{
    return "cosine score of block l   1 - cos(h_in, h_out), h_in = residual stream entering the\n"
           "                          block, h_out = leaving it (after attention and MLP adds).\n"
           "                          Sub-blocks: attn uses (resid_pre, resid_mid), mlp uses\n"
           "                          (resid_mid, resid_post). Low = 'prunable'.\n"
           "  tokens averaged         every row the scorer feeds the model, once: per item the\n"
           "                          longest token prefix common to all its (context + choice)\n"
           "                          sequences once (the context, plus leading continuation\n"
           "                          tokens every choice shares), then each choice's remaining\n"
           "                          tokens but its last (a target only, never fed); corpora:\n"
           "                          every fed token. One mean over all those rows of all items\n"
           "                          (rows, not items, weigh equally). Not a mean over every\n"
           "                          token of every (context, choice) request, which would count\n"
           "                          the shared context once per choice (up to 5% different).\n"
           "                          Why: these are exactly the hidden states the model computes\n"
           "                          for the task, each counted once.\n"
           "raw cosine                cos(h_in, h_out), mean over the same rows.\n"
           "angular distance          arccos(cos(h_in, h_out)) / pi at the last context token of\n"
           "                          each input, mean over inputs (Gromov et al.).\n"
           "removal of block l        skip it: the residual passes through unchanged; no\n"
           "                          rescaling, no healing (sub-blocks likewise).\n"
           "accuracy                  lm-eval zero-shot log-likelihood multiple choice: acc =\n"
           "                          argmax of the summed continuation log-prob; acc_norm = the\n"
           "                          same divided by the choice's length in characters. The\n"
           "                          headline is acc_norm for arc_easy, arc_challenge, hellaswag,\n"
           "                          openbookqa, piqa, acc otherwise (--metric overrides);\n"
           "                          corpora: next-token top-1 accuracy (token-weighted; its se\n"
           "                          by the delta method over documents).\n"
           "chance r(D)               mean over items of 1 / number of choices; 0 for next-token\n"
           "                          accuracy.\n"
           "accuracy drop             acc - acc(-l), in points. 95% CI: Newcombe's paired Wilson\n"
           "                          interval (0/1 hits: honest with few flipped items), else a\n"
           "                          paired bootstrap (cluster bootstrap over documents).\n"
           "accuracy relevance        1 - max(acc(-l) - r, 0) / max(acc - r, 0); n/a when\n"
           "                          acc <= r. Positive: removal hurts; negative: it helps.\n"
           "agreement                 Spearman (average ranks for ties) and Kendall tau-b (the\n"
           "                          headline), Pearson beside them, of the cosine score with\n"
           "                          the drop (and relevance) across removed units, per task and\n"
           "                          pooled; each also without block 0 and without the single\n"
           "                          most influential unit (leave-one-out, named). Percentile\n"
           "                          bootstrap 95% CIs resampling items within each task; an\n"
           "                          undefined (n/a) estimate has no CI; * = more than 5% of\n"
           "                          the replicates undefined. Coverage, seeded simulation of\n"
           "                          500 studies (tests/test_study_stats.c): Pearson 94.8%,\n"
           "                          drops 94.2%; Spearman and Kendall only 86% when blocks'\n"
           "                          drops lie within noise of each other (discrete ranks):\n"
           "                          read their CIs as too narrow there.\n"
           "pooled                    equal-weight mean over the pooled tasks of each unit's\n"
           "                          score and drop; default: tasks clearly above chance (not\n"
           "                          near chance), multiple-choice ones (next-token ones when no\n"
           "                          MC task qualifies); --pool all: every task. The set is\n"
           "                          fixed by the intact run for every bootstrap replicate.\n"
           "discordant pairs          share of unit pairs ordered one way by the cosine score and\n"
           "                          the other way by the drop, among pairs ordered by both\n"
           "                          (ties excluded) = (1 - gamma) / 2, Goodman-Kruskal gamma\n"
           "                          (the paper's 'misjudged relative importance'); with a CI.\n"
           "major misjudged           discordant pairs whose two drops differ significantly: the\n"
           "                          95% CI of the paired-bootstrap difference excludes 0.\n"
           "task dependence           per task z-score relevance and cosine score across units;\n"
           "                          per unit their sd across tasks; two-sided Wilcoxon signed-\n"
           "                          rank test of the difference over units.\n"
           "margin companion          NOT the paper's metric: per item the gold choice's log-\n"
           "                          likelihood / length minus the best other choice's; per unit\n"
           "                          the mean drop of that margin when removed, with its CI.\n"
           "KL baseline               NOT the paper's metric: KL(p_intact || p_removed) of the\n"
           "                          next-token distributions over the full vocabulary at every\n"
           "                          scored row, mean over those rows, in nats; correlated with\n"
           "                          the drop (CPU runs; measured in the same passes).\n"
           "near chance               intact accuracy - chance < 2 standard errors: that task's\n"
           "                          drops and relevances are noise.\n";
}

study_opts study_opts_default(void)
{
    study_opts o;
    memset(&o, 0, sizeof o);
    o.model_dir = "models/smollm2-135m-instruct";
    o.tasks = "piqa,arc_easy,hellaswag,wikitext2";
    o.seed = 1234;
    o.n_boot = 1000;
    o.progress = true;
    return o;
}

/* ---- argument lists ------------------------------------------------------------------------ */

/* "0-9,20" -> sorted unique blocks in [0, L). NULL or "all" = every block. */
static abl_status parse_layers(const char *s, int L, int *out, int *n, abl_err *err)
{
    uint8_t on[STUDY_MAX_UNITS];
    if (L > STUDY_MAX_UNITS)
        return abl_fail(err, ABL_E_UNSUPPORTED, "model: %d blocks, at most %d supported", L,
                        STUDY_MAX_UNITS);
    abl_status st = abl_list_blocks(s, "--layers", L, on, err);
    *n = 0;
    for (int l = 0; l < L && !st; l++)
        if (on[l])
            out[(*n)++] = l;
    return st;
}

/* ---- hashes ------------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Feed every regular file under dir (recursively, sorted, *.md skipped) as name + bytes. */
static abl_status hash_tree(sha256_ctx *c, const char *dir, const char *rel, int depth,
                            abl_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", dir, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d)
        return abl_fail(err, ABL_E_IO, "%s: cannot list for hashing", path);
    char *names[4096];
    int n = 0;
    struct dirent *e;
    abl_status s = ABL_OK;
    while ((e = readdir(d)) && !s) {
        if (e->d_name[0] == '.')
            continue;
        if (n == 4096 || !(names[n] = strdup(e->d_name)))
            s = abl_fail(err, ABL_E_UNSUPPORTED, "%s: more than 4096 entries (or out of "
                         "memory) while hashing the task data", path);
        else
            n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n && !s; i++) {
        char sub[4096], full[8192];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
        snprintf(full, sizeof full, "%s/%s", dir, sub);
        struct stat st;
        size_t nl = strlen(names[i]);
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < 4) {
            s = hash_tree(c, dir, sub, depth + 1, err);
        } else if (S_ISREG(st.st_mode) && !(nl > 3 && !strcmp(names[i] + nl - 3, ".md"))) {
            char hex[65];
            s = sha256_file(full, hex, err);
            sha256_update(c, sub, strlen(sub) + 1);
            sha256_update(c, hex, 64);
        }
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    return s;
}

/* Hash of the data a task reads: the jsonl/corpus file, or the task's folder under data_dir. */
static void task_data_hash(const char *data_dir, const char *name, char hex[65])
{
    abl_err e;
    hex[0] = 0;
    if (!strncmp(name, "jsonl:", 6) || !strncmp(name, "corpus:", 7)) {
        if (sha256_file(strchr(name, ':') + 1, hex, &e))
            hex[0] = 0;
        return;
    }
    char base[128], path[4096];
    snprintf(base, sizeof base, "%.100s", name);
    const char *cand[3] = {base, NULL, NULL};
    char corpus[160], stem[128];
    snprintf(corpus, sizeof corpus, "corpus/%.100s", name);
    cand[1] = corpus;
    snprintf(stem, sizeof stem, "%.100s", name);
    char *us = strrchr(stem, '_');
    if (us)
        *us = 0;
    cand[2] = stem;
    for (int i = 0; i < 3; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", data_dir, cand[i]);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            sha256_ctx c;
            uint8_t d[32];
            sha256_init(&c);
            if (hash_tree(&c, path, "", 0, &e) == ABL_OK) {
                sha256_final(&c, d);
                for (int k = 0; k < 32; k++)
                    snprintf(hex + 2 * k, 3, "%02x", d[k]);
            }
            return;
        }
    }
}

/* ---- the cosine hook ----------------------------------------------------------------------- */


void study_cos_hook(void *user, int l, hook_point p, float *x, const fwd_batch *b)
{
    cos_hook *h = user;
    hook_point in = h->unit == STUDY_UNIT_MLP ? HOOK_RESID_MID : HOOK_RESID_PRE;
    hook_point out = h->unit == STUDY_UNIT_ATTN ? HOOK_RESID_MID : HOOK_RESID_POST;
    float *sv = h->save + (size_t)l * h->stride;
    if (p == out) { /* compare before saving: for attn, MID is the output, not an input */
        double tot = 0;
        for (int t = 0; t < b->n_tok; t++) {
            double s[3];
            kern.dot3(sv + (size_t)t * h->D, x + (size_t)t * h->D, h->D, s);
            double c = s[1] > 0 && s[2] > 0 ? s[0] / sqrt(s[1] * s[2])
                                             : (s[1] == s[2] ? 1.0 : 0.0);
            c = c > 1 ? 1 : c < -1 ? -1 : c;
            h->row_cos[t] = c;
            tot += 1 - c;
            if (h->cos_sum)
                h->cos_sum[(size_t)b->seq_tag[b->seq[t]] * h->L + l] += 1 - c;
        }
        if (h->tot_sum) {
            h->tot_sum[l] += tot;
            h->tot_n[l] += b->n_tok;
        }
        for (int q = 0; h->ang && q < b->n_seq; q++) {
            int item = b->seq_tag[q];
            h->ang[(size_t)item * h->L + l] = acos(h->row_cos[h->last_row[q]]) / M_PI;
        }
    }
    if (p == in)
        memcpy(sv, x, sizeof(float) * h->stride);
}

/* ---- one task ---------------------------------------------------------------------------- */

typedef struct {
    const study_opts *o;
    model *m;
    journal *j;
    int L, D, n_units;
    const int *unit_layer;
    int units_new, units_resumed, units_total;
    /* scratch reused across batches */
    float *save;
    size_t save_cap;        /* floats */
    double *row_cos;
    int32_t *last_row;
    size_t cap_tok, cap_seq;   /* elements of row_cos, last_row */
    char *payload;
    size_t payload_cap;
    /* KL baseline (CPU): the intact pass's distributions of this batch's scored rows, kept
     * only while the batch's removals run */
    bool kl_on;
    float *kl_p;            /* (n_score, V) */
    double *kl_h, *kl_row;  /* (n_score) sum p log p; one pass's KL per row */
    size_t cap_klp, cap_klh, cap_klr;
    /* estimate mode: the one timed work unit */
    double probe_s, probe_flops;
    long long probe_tok;
} study_ctx;

void *study_reserve(void *p, size_t *cap, size_t need, size_t elt)
{
    if (need <= *cap)
        return p;
    free(p);
    void *q = malloc(need * elt);
    *cap = q ? need : 0;
    return q;
}

static abl_status grow(study_ctx *c, const fwd_batch *fb, abl_err *err)
{
    size_t need = (size_t)c->L * fb->n_tok * c->D;
    c->save = study_reserve(c->save, &c->save_cap, need, sizeof(float));
    c->row_cos = study_reserve(c->row_cos, &c->cap_tok, (size_t)fb->n_tok, sizeof(double));
    c->last_row = study_reserve(c->last_row, &c->cap_seq, (size_t)fb->n_seq, sizeof(int32_t));
    if (!c->save || !c->row_cos || !c->last_row)
        return abl_fail(err, ABL_E_NOMEM, "study: out of memory for the saved residuals of a "
                        "batch of %d tokens (%zu MB; hint: smaller batches)", fb->n_tok,
                        need * 4 >> 20);
    if (c->kl_on) {
        size_t ns = (size_t)(fb->n_score > 0 ? fb->n_score : 1);
        size_t V = (size_t)model_config(c->m)->vocab;
        c->kl_p = study_reserve(c->kl_p, &c->cap_klp, ns * V, sizeof(float));
        c->kl_h = study_reserve(c->kl_h, &c->cap_klh, ns, sizeof(double));
        c->kl_row = study_reserve(c->kl_row, &c->cap_klr, ns, sizeof(double));
        if (!c->kl_p || !c->kl_h || !c->kl_row)
            return abl_fail(err, ABL_E_NOMEM, "study: out of memory for the intact "
                            "distributions of %d scored rows (%zu MB; hint: smaller batches)",
                            fb->n_score, ns * V * 4 >> 20);
    }
    return ABL_OK;
}

typedef struct {
    char *p;
    size_t n, cap;
    int bad;
} pbuf;

static void pput(pbuf *b, const char *fmt, double v, int i)
{
    if (b->bad)
        return;
    if (b->cap - b->n < 64) {
        size_t nc = b->cap ? 2 * b->cap : 1 << 16;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->bad = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    int w = fmt[1] == 'a' ? snprintf(b->p + b->n, b->cap - b->n, "%a ", v)
                          : snprintf(b->p + b->n, b->cap - b->n, "%d ", i);
    b->n += (size_t)w;
}

/* Encode / decode one unit's results: for every variant and choice of the batch ll and top-1
 * count, then for every item and block the cosine sum and the angular distance. */
static char *encode(study_ctx *c, const ev_batch *eb, ev_results *R, const double *cs,
                    const double *ang, const double *kl, int n_items)
{
    pbuf b = {c->payload, 0, c->payload_cap, 0};
    for (int v = 0; v <= c->n_units; v++)
        for (int k = 0; k < eb->n_choice; k++) {
            int ch = eb->choice_list[k];
            pput(&b, "%a", R[v].ll[ch], 0);
            pput(&b, "%d", 0, R[v].n_top1[ch]);
        }
    for (int k = 0; k < eb->n_items; k++)
        for (int l = 0; l < c->L; l++) {
            size_t at = (size_t)eb->items[k] * c->L + l;
            pput(&b, "%a", cs[at], 0);
            pput(&b, "%a", ang[at], 0);
        }
    for (int k = 0; k < eb->n_items; k++) /* KL sums of every unit (nan when not measured) */
        for (int u = 0; u < c->n_units; u++)
            pput(&b, "%a", kl ? kl[(size_t)u * n_items + eb->items[k]] : NAN, 0);
    c->payload = b.p;
    c->payload_cap = b.cap;
    if (b.bad || !b.p)
        return NULL;
    if (b.n)
        b.p[b.n - 1] = 0; /* drop the trailing space */
    else
        b.p[0] = 0;
    return b.p;
}

static int decode(study_ctx *c, const char *p, const ev_batch *eb, ev_results *R, double *cs,
                  double *ang, double *kl, int n_items)
{
    char *e;
    for (int v = 0; v <= c->n_units; v++)
        for (int k = 0; k < eb->n_choice; k++) {
            int ch = eb->choice_list[k];
            R[v].ll[ch] = strtod(p, &e);
            if (e == p)
                return -1;
            p = e;
            long t = strtol(p, &e, 10);
            if (e == p)
                return -1;
            p = e;
            R[v].n_top1[ch] = (int32_t)t;
            R[v].done[ch] = 1;
        }
    for (int k = 0; k < eb->n_items; k++)
        for (int l = 0; l < c->L; l++) {
            size_t at = (size_t)eb->items[k] * c->L + l;
            cs[at] = strtod(p, &e);
            if (e == p)
                return -1;
            p = e;
            ang[at] = strtod(p, &e);
            if (e == p)
                return -1;
            p = e;
        }
    for (int k = 0; k < eb->n_items; k++)
        for (int u = 0; u < c->n_units; u++) {
            double v = strtod(p, &e);
            if (e == p)
                return -1;
            p = e;
            if (kl)
                kl[(size_t)u * n_items + eb->items[k]] = v;
        }
    while (*p == ' ')
        p++;
    return *p ? -1 : 0;
}

/* The intact pass with hooks, then one resumed pass per unit. Returns INTERRUPTED when the stop
 * flag rises between passes (the unit is then not recorded). */
static abl_status run_unit(study_ctx *c, const ev_task *t, ev_batch *eb, ev_results *R,
                           double *cs, double *ang, double *kl, abl_err *err)
{
    fwd_batch *fb = &eb->fb;
    abl_status s = grow(c, fb, err);
    if (s)
        return s;
    for (int q = 0; q < fb->n_seq; q++) {
        int end = q + 1 < fb->n_seq ? fb->seq_start[q + 1] : fb->n_tok, r = fb->seq_start[q];
        while (r + 1 < end && fb->branch[r + 1] == 0)
            r++;
        c->last_row[q] = r;
    }
    for (int k = 0; k < eb->n_items; k++)
        for (int l = 0; l < c->L; l++)
            cs[(size_t)eb->items[k] * c->L + l] = 0;
    cos_hook h = {c->L, c->D, c->o->unit, c->save, (size_t)fb->n_tok * c->D, c->last_row,
                  c->row_cos, cs, ang, NULL, NULL};
    run_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.hook = study_cos_hook;
    plan.hook_user = &h;
    plan.hook_mask = (1u << HOOK_RESID_PRE) | (1u << HOOK_RESID_MID) | (1u << HOOK_RESID_POST);
    if (kl) {
        plan.probs_out = c->kl_p;
        plan.negent_out = c->kl_h;
    }
    if ((s = model_forward(c->m, fb, &plan, err)))
        return s;
    ev_accumulate(t, eb, &R[0]);
    uint8_t skip[STUDY_MAX_UNITS];
    for (int u = 0; u < c->n_units; u++) {
        if (c->o->stop && *c->o->stop)
            return abl_fail(err, ABL_E_INTERRUPTED, "interrupted");
        int l = c->unit_layer[u];
        memset(&plan, 0, sizeof plan);
        memset(skip, 0, sizeof skip);
        skip[l] = 1;
        if (c->o->no_resume) { /* reference: a full pass with the unit's skip flags */
            plan.skip_attn = c->o->unit != STUDY_UNIT_MLP ? skip : NULL;
            plan.skip_mlp = c->o->unit != STUDY_UNIT_ATTN ? skip : NULL;
        } else if (c->o->unit == STUDY_UNIT_ATTN) { /* resume at l, its attention skipped */
            plan.skip_attn = skip;
            plan.start_layer = l;
            plan.resume = l > 0 ? c->save + (size_t)l * h.stride : NULL;
        } else { /* the residual entering l (block) or its MLP (mlp) is the one leaving it */
            plan.start_layer = l + 1;
            plan.resume = c->save + (size_t)l * h.stride;
        }
        if (kl) { /* KL(intact || removed) at every scored row, summed per item */
            plan.kl_probs = c->kl_p;
            plan.kl_negent = c->kl_h;
            plan.kl_out = c->kl_row;
            for (int k = 0; k < eb->n_items; k++)
                kl[(size_t)u * t->n_items + eb->items[k]] = 0;
        }
        if ((s = model_forward(c->m, fb, &plan, err)))
            return s;
        for (int i = 0; kl && i < fb->n_score; i++)
            kl[(size_t)u * t->n_items + fb->seq_tag[fb->seq[fb->score_row[i]]]] += c->kl_row[i];
        ev_accumulate(t, eb, &R[1 + u]);
    }
    return ABL_OK;
}

/* 2 x multiply-adds of one pass over fb through blocks [first, L) and the LM head on its scored
 * rows: the projections, causal attention over each packed sequence (rows x (rows + 1) / 2
 * query-key pairs, an upper bound when branches share a prefix), and the head. */
static double pass_flops(const hf_config *g, const fwd_batch *fb, int first)
{
    double D = g->d_model, Q = (double)g->n_heads * g->head_dim;
    double KV = (double)g->n_kv_heads * g->head_dim;
    double per_row = 2 * (D * Q + 2 * D * KV + Q * D + 3 * D * g->d_ff), pairs = 0;
    for (int q = 0; q < fb->n_seq; q++) {
        double n = (q + 1 < fb->n_seq ? fb->seq_start[q + 1] : fb->n_tok) - fb->seq_start[q];
        pairs += n * (n + 1) / 2;
    }
    return (g->n_layers - first) * (per_row * fb->n_tok + 4 * Q * pairs) +
           2 * D * g->vocab * fb->n_score;
}

/* The same for one work unit: the intact pass, then each unit's pass as run_unit runs it. */
static double unit_flops(const study_ctx *c, const fwd_batch *fb)
{
    const hf_config *g = model_config(c->m);
    double f = pass_flops(g, fb, 0);
    for (int u = 0; u < c->n_units; u++) {
        int l = c->unit_layer[u];
        f += pass_flops(g, fb, c->o->no_resume ? 0 : c->o->unit == STUDY_UNIT_ATTN ? l : l + 1);
    }
    return f;
}

void study_item_hits(const ev_task *t, study_metric metric, const ev_item_score *sc, double *hit,
                      double *w, const char **name)
{
    *w = 1;
    if (t->kind == EV_CORPUS) {
        *hit = sc->n_top1;
        *w = sc->n_tok;
        *name = "token_acc";
    } else if (metric == STUDY_METRIC_ACC || (metric == STUDY_METRIC_DEFAULT &&
                                              t->head == EV_HEAD_ACC)) {
        *hit = sc->correct;
        *name = "acc";
    } else if ((metric == STUDY_METRIC_ACC_NORM || t->head == EV_HEAD_ACC_NORM) && t->has_norm) {
        *hit = sc->correct_norm;
        *name = "acc_norm";
    } else if (t->head == EV_HEAD_MC2 && metric == STUDY_METRIC_DEFAULT) {
        *hit = sc->mc2;
        *name = "mc2";
    } else {
        *hit = sc->correct;
        *name = "acc";
    }
}

static abl_status run_task(study_ctx *c, const ev_task *t, int ti, int n_tasks, study_raw *raw,
                           study_task_res *T, abl_err *err)
{
    int n = t->n_items, nv = 1 + c->n_units, L = c->L;
    ev_plan plan;
    memset(&plan, 0, sizeof plan);
    ev_results *R = calloc((size_t)nv, sizeof *R);
    ev_item_score *sc = malloc(sizeof *sc * (size_t)(n > 0 ? n : 1));
    raw->n_items = n;
    raw->n_var = nv;
    raw->L = L;
    raw->hits = malloc(sizeof(double) * (size_t)nv * n);
    raw->weight = malloc(sizeof(double) * (size_t)n);
    raw->chance = malloc(sizeof(double) * (size_t)n);
    raw->cos_sum = calloc((size_t)n * L, sizeof(double));
    raw->ang = calloc((size_t)n * L, sizeof(double));
    raw->n_tok = calloc((size_t)n, sizeof(double));
    raw->n_score = calloc((size_t)n, sizeof(double));
    raw->kl = c->kl_on ? calloc((size_t)c->n_units * n + 1, sizeof(double)) : NULL;
    abl_status s = ABL_OK;
    if (!R || !sc || !raw->hits || !raw->weight || !raw->chance || !raw->cos_sum || !raw->ang ||
        !raw->n_tok || !raw->n_score || (c->kl_on && !raw->kl)) {
        s = abl_fail(err, ABL_E_NOMEM, "%s: out of memory for results", t->name);
        goto done;
    }
    for (int v = 0; v < nv && !s; v++)
        s = ev_results_alloc(&R[v], t, err);
    /* 512-token batches: finer journal units and progress, bounded saved residuals */
    ev_plan_opts po = {c->o->batch_tokens > 0 ? c->o->batch_tokens : STUDY_BATCH_TOKENS, false};
    if (s || (s = ev_plan_make(&plan, t, NULL, n, &po, err)))
        goto done;
    if (c->o->estimate) { /* cost of every batch; time the first unit of the first task */
        T->n_items = n;
        T->n_tok_pass = plan.n_tok;
        snprintf(T->name, sizeof T->name, "%s", t->name);
        int K = c->o->unit != STUDY_UNIT_BLOCK ? 0 : c->o->prune_k < c->n_units ?
                c->o->prune_k : c->n_units - 1;
        for (int bi = 0; bi < plan.n_batches; bi++) {
            T->flops += unit_flops(c, &plan.batches[bi].fb);
            for (int k = 1; k <= K; k++) /* two pruning curves, k blocks skipped */
                T->flops += 2 * pass_flops(model_config(c->m), &plan.batches[bi].fb, k);
            T->n_score_pass += plan.batches[bi].fb.n_score;
        }
        if (c->probe_s <= 0 && plan.n_batches > 0) {
            double t0 = ev_now();
            if ((s = run_unit(c, t, &plan.batches[0], R, raw->cos_sum, raw->ang, raw->kl, err)))
                goto done;
            c->probe_s = ev_now() - t0;
            c->probe_flops = unit_flops(c, &plan.batches[0].fb);
            c->probe_tok = plan.batches[0].fb.n_tok;
        }
        goto done;
    }
    ev_progress pr;
    char label[128];
    snprintf(label, sizeof label, "%d/%d %.30s x%d passes", ti + 1, n_tasks, t->name, nv);
    if (c->o->progress)
        ev_progress_begin(&pr, stderr, label, n, plan.n_tok);
    double t0 = ev_now();
    for (int bi = 0; bi < plan.n_batches; bi++) {
        ev_batch *eb = &plan.batches[bi];
        for (int q = 0; q < eb->fb.n_tok; q++)
            raw->n_tok[eb->fb.seq_tag[eb->fb.seq[q]]] += 1;
        for (int q = 0; q < eb->fb.n_score; q++)
            raw->n_score[eb->fb.seq_tag[eb->fb.seq[eb->fb.score_row[q]]]] += 1;
        char key[160];
        snprintf(key, sizeof key, "%s/%d", t->name, bi);
        c->units_total++;
        const char *rec = c->j ? journal_find(c->j, key) : NULL;
        if (rec) {
            if (decode(c, rec, eb, R, raw->cos_sum, raw->ang, raw->kl, n) != 0) {
                s = abl_fail(err, ABL_E_FORMAT, "%s/journal.tsv: record '%s' does not match "
                             "this run's batches (hint: delete the run directory)",
                             journal_dir(c->j), key);
                break;
            }
            c->units_resumed++;
        } else {
            if (c->o->stop && *c->o->stop) {
                s = abl_fail(err, ABL_E_INTERRUPTED, "interrupted");
                break;
            }
            if ((s = run_unit(c, t, eb, R, raw->cos_sum, raw->ang, raw->kl, err)))
                break;
            if (c->j) {
                const char *p = encode(c, eb, R, raw->cos_sum, raw->ang, raw->kl, n);
                if (!p) {
                    s = abl_fail(err, ABL_E_NOMEM, "study: out of memory encoding a unit");
                    break;
                }
                if ((s = journal_append(c->j, key, p, err)))
                    break;
            }
            c->units_new++;
            if (c->o->stop_after_units > 0 && c->units_new >= c->o->stop_after_units) {
                s = abl_fail(err, ABL_E_INTERRUPTED, "stopped after %d units (test hook)",
                             c->units_new);
                break;
            }
        }
        if (c->o->progress && rec)
            ev_progress_skip(&pr, eb->n_items, eb->fb.n_tok);
        else if (c->o->progress)
            ev_progress_update(&pr, eb->n_items, eb->fb.n_tok);
    }
    if (c->o->progress)
        ev_progress_end(&pr);
    if (s)
        goto done;
    T->seconds = ev_now() - t0;
    T->n_tok_pass = plan.n_tok;
    const char *mname = "acc";
    for (int v = 0; v < nv && !s; v++) {
        s = ev_item_scores(t, &R[v], NULL, n, sc, err);
        for (int i = 0; i < n && !s; i++) {
            study_item_hits(t, c->o->metric, &sc[i], &raw->hits[(size_t)v * n + i],
                            &raw->weight[i], &mname);
            raw->chance[i] = t->kind == EV_MC ? 1.0 / t->items[i].n_choices : sc[i].chance;
        }
    }
    if (!s && t->kind == EV_MC) /* the continuous companion: normalized ll margins */
        raw->margin = malloc(sizeof(double) * (size_t)nv * (size_t)n);
    for (int v = 0; raw->margin && v < nv; v++)
        for (int i = 0; i < n; i++) {
            const ev_item *it = &t->items[i];
            double gold = NAN, best = -INFINITY;
            for (int k = 0; k < it->n_choices; k++) {
                int ci = it->choice0 + k;
                double z = R[v].ll[ci] / t->choices[ci].norm_len;
                if (k == it->gold)
                    gold = z;
                else if (z > best)
                    best = z;
            }
            raw->margin[(size_t)v * n + i] = it->n_choices > 1 ? gold - best : NAN;
        }
    if (!s) {
        snprintf(T->name, sizeof T->name, "%s", t->name);
        snprintf(T->metric, sizeof T->metric, "%s", mname);
        study_estimate(raw, NULL, c->unit_layer, c->n_units, T);
        /* the se of the same (token-weighted) ratio the accuracy is: delta method */
        T->acc_se = stats_ratio_se(raw->hits, raw->weight, n);
        T->near_chance = !(T->acc - T->chance >= 2 * T->acc_se);
    }
done:
    ev_plan_free(&plan);
    if (R)
        for (int v = 0; v < nv; v++)
            ev_results_free(&R[v]);
    free(R);
    free(sc);
    return s;
}

/* ---- one-shot pruning curves -------------------------------------------------------------- */

static bool ranks_before(double a, double b)
{
    return !isnan(a) && (isnan(b) || a < b);
}

/* order[0..n) = units sorted by key, lowest first; NaN last; ties keep unit order. */
static void rank_units(const double *key, int n, int *order)
{
    for (int i = 0; i < n; i++) {
        int k = i;
        while (k > 0 && ranks_before(key[i], key[order[k - 1]])) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
}

/* Headline accuracy of t with the blocks in skip[] removed: one pass over every batch of plan,
 * each batch a journaled work unit ("prune/CURVE/K/TASK/BATCH": hits and weight in %a). */
static abl_status pruned_acc(study_ctx *c, const ev_task *t, ev_plan *plan, ev_results *R,
                             ev_item_score *sc, const uint8_t *skip, int curve, int k,
                             double *acc, bool *resumed, abl_err *err)
{
    double h = 0, w = 0;
    *resumed = true;
    for (int bi = 0; bi < plan->n_batches; bi++) {
        ev_batch *eb = &plan->batches[bi];
        char key[200], pay[80];
        snprintf(key, sizeof key, "prune/%d/%d/%s/%d", curve, k, t->name, bi);
        const char *rec = c->j ? journal_find(c->j, key) : NULL;
        double bh = 0, bw = 0;
        c->units_total++;
        if (rec) {
            if (sscanf(rec, "%la %la", &bh, &bw) != 2)
                return abl_fail(err, ABL_E_FORMAT, "%s/journal.tsv: record '%s' is not two "
                                "numbers (hint: delete the run directory)", journal_dir(c->j),
                                key);
            c->units_resumed++;
        } else {
            *resumed = false;
            if (c->o->stop && *c->o->stop)
                return abl_fail(err, ABL_E_INTERRUPTED, "interrupted");
            run_plan p;
            memset(&p, 0, sizeof p);
            p.skip_attn = skip;
            p.skip_mlp = skip;
            abl_status s = model_forward(c->m, &eb->fb, &p, err);
            if (!s) {
                ev_accumulate(t, eb, R);
                s = ev_item_scores(t, R, eb->items, eb->n_items, sc, err);
            }
            if (s)
                return s;
            for (int i = 0; i < eb->n_items; i++) {
                double hi, wi;
                const char *name;
                study_item_hits(t, c->o->metric, &sc[i], &hi, &wi, &name);
                bh += hi;
                bw += wi;
            }
            snprintf(pay, sizeof pay, "%a %a", bh, bw);
            if (c->j && (s = journal_append(c->j, key, pay, err)))
                return s;
            c->units_new++;
            if (c->o->stop_after_units > 0 && c->units_new >= c->o->stop_after_units)
                return abl_fail(err, ABL_E_INTERRUPTED, "stopped after %d units (test hook)",
                                c->units_new);
        }
        h += bh;
        w += bw;
    }
    *acc = w > 0 ? h / w : NAN;
    return ABL_OK;
}

/* After the sweep: for curve 0 (cosine score order) and 1 (accuracy-drop order), remove the
 * first k blocks, k = 1..K, and measure every task; r->prune_acc gets the mean over tasks. */
static abl_status prune_curves(study_ctx *c, ev_task **tasks, int n_tasks, study_result *r,
                               abl_err *err)
{
    int K = c->o->prune_k < r->n_units ? c->o->prune_k : r->n_units - 1;
    if (c->o->unit != STUDY_UNIT_BLOCK || K < 1)
        return ABL_OK;
    rank_units(r->pooled.cos_score, r->n_units, r->prune_order[0]);
    rank_units(r->pooled.drop, r->n_units, r->prune_order[1]);
    for (int cv = 0; cv < 2; cv++) {
        r->prune_acc[cv][0] = r->pooled.acc;
        for (int k = 1; k <= K; k++)
            r->prune_acc[cv][k] = 0;
    }
    abl_status s = ABL_OK;
    for (int t = 0; t < n_tasks && !s; t++) {
        const ev_task *tk = tasks[t];
        ev_plan plan;
        memset(&plan, 0, sizeof plan);
        ev_results R;
        memset(&R, 0, sizeof R);
        ev_item_score *sc = malloc(sizeof *sc * (size_t)(tk->n_items > 0 ? tk->n_items : 1));
        ev_plan_opts po = {c->o->batch_tokens > 0 ? c->o->batch_tokens : STUDY_BATCH_TOKENS,
                           false};
        if (!sc)
            s = abl_fail(err, ABL_E_NOMEM, "%s: out of memory for pruning", tk->name);
        if (!s)
            s = ev_results_alloc(&R, tk, err);
        if (!s)
            s = ev_plan_make(&plan, tk, NULL, tk->n_items, &po, err);
        ev_progress pr;
        if (!s && c->o->progress) {
            char label[128];
            snprintf(label, sizeof label, "%d/%d %.30s pruning x%d passes", t + 1, n_tasks,
                     tk->name, 2 * K);
            ev_progress_begin(&pr, stderr, label, 2LL * K * tk->n_items, 2LL * K * plan.n_tok);
        }
        for (int cv = 0; cv < 2 && !s; cv++) {
            uint8_t skip[STUDY_MAX_UNITS];
            memset(skip, 0, sizeof skip);
            for (int k = 1; k <= K && !s; k++) {
                skip[r->unit_layer[r->prune_order[cv][k - 1]]] = 1;
                double a = NAN;
                bool resumed = false;
                s = pruned_acc(c, tk, &plan, &R, sc, skip, cv, k, &a, &resumed, err);
                r->prune_acc[cv][k] += a / n_tasks;
                if (!s && c->o->progress)
                    (resumed ? ev_progress_skip : ev_progress_update)(&pr, tk->n_items,
                                                                      plan.n_tok);
            }
        }
        if (!s && c->o->progress)
            ev_progress_end(&pr);
        ev_plan_free(&plan);
        ev_results_free(&R);
        free(sc);
    }
    r->prune_k = s ? 0 : K;
    return s;
}

static void raw_free(study_raw *r)
{
    free(r->hits);
    free(r->weight);
    free(r->chance);
    free(r->cos_sum);
    free(r->ang);
    free(r->n_tok);
    free(r->margin);
    free(r->kl);
    free(r->n_score);
}

void study_result_free(study_result *r)
{
    if (!r)
        return;
    for (int t = 0; t < r->n_tasks; t++)
        study_task_free(&r->tasks[t]);
    free(r->tasks);
    study_task_free(&r->pooled);
    free(r->unit_layer);
    free(r->conf.rank_cos);
    free(r->conf.rank_drop);
    free(r->taskdep.spread_rel);
    free(r->taskdep.spread_cos);
    free(r);
}

static const char *unit_name(study_unit u)
{
    return u == STUDY_UNIT_ATTN ? "attn" : u == STUDY_UNIT_MLP ? "mlp" : "block";
}

abl_status study_run(const study_opts *o, study_result **out, abl_err *err)
{
    *out = NULL;
    double t_start = ev_now();
    enum { MAX_TASKS = 32 };
    abl_list tl;
    abl_status s0 = ev_tasks_parse(o->tasks, "--tasks", &tl, err); /* before loading anything */
    if (s0)
        return s0;
    int n_tasks = tl.n;
    char names[MAX_TASKS][96];
    for (int t = 0; t < n_tasks && !s0; t++)
        if (strlen(tl.v[t]) >= sizeof names[t] || t >= MAX_TASKS)
            s0 = abl_fail(err, ABL_E_ARG, "--tasks: at most %d tasks of at most %zu bytes each",
                          MAX_TASKS, sizeof names[t] - 1);
        else
            snprintf(names[t], sizeof names[t], "%s", tl.v[t]);
    abl_list_free(&tl);
    if (s0)
        return s0;
    if (o->n_boot < 1)
        return abl_fail(err, ABL_E_ARG, "bootstrap resamples: expected >= 1, found %d",
                        o->n_boot);
    study_result *r = calloc(1, sizeof *r);
    ev_task *tasks[MAX_TASKS] = {0};
    study_raw raw[MAX_TASKS];
    memset(raw, 0, sizeof raw);
    model *m = NULL;
    journal *j = NULL;
    study_ctx c;
    memset(&c, 0, sizeof c);
    int units[STUDY_MAX_UNITS], n_units = 0;
    if (!r)
        return abl_fail(err, ABL_E_NOMEM, "study: out of memory");
    model_opts mo = model_opts_default();
    mo.threads = o->threads;
    mo.device = o->device;
    abl_status s = model_load(&m, o->model_dir, &mo, err);
    if (s) {
        abl_wrap(err, "loading the model");
        goto fail;
    }
    const hf_config *cfg = model_config(m);
    if ((s = parse_layers(o->layers, cfg->n_layers, units, &n_units, err)))
        goto fail;
    /* model hash */
    char mpath[4200];
    snprintf(mpath, sizeof mpath, "%s/model.safetensors", o->model_dir);
    struct stat st;
    if (stat(mpath, &st) != 0)
        snprintf(mpath, sizeof mpath, "%s/model.safetensors.index.json", o->model_dir);
    if ((s = sha256_file(mpath, r->model_sha256, err)))
        goto fail;
    snprintf(r->model_dir, sizeof r->model_dir, "%s", o->model_dir);
    snprintf(r->arch, sizeof r->arch, "%s", cfg->arch);
    snprintf(r->kernels, sizeof r->kernels, "%s", kern.name ? kern.name : "?");
    snprintf(r->command, sizeof r->command, "%s", o->command ? o->command : "");
    snprintf(r->unit_name, sizeof r->unit_name, "%s", unit_name(o->unit));
    r->n_layers = cfg->n_layers;
    r->limit = o->limit;
    r->seed = o->seed;
    r->n_boot = o->n_boot;
    r->n_units = n_units;
    r->unit_layer = malloc(sizeof(int) * (size_t)n_units);
    r->tasks = calloc((size_t)n_tasks, sizeof *r->tasks);
    if (!r->unit_layer || !r->tasks) {
        s = abl_fail(err, ABL_E_NOMEM, "study: out of memory");
        goto fail;
    }
    memcpy(r->unit_layer, units, sizeof(int) * (size_t)n_units);
    r->n_tasks = n_tasks;
    /* tasks */
    ev_load_opts lo = ev_load_opts_default();
    lo.data_dir = o->data_dir;
    lo.limit = o->limit;
    lo.seed = o->seed;
    const char *ddir = o->data_dir ? o->data_dir : "data/tasks";
    char config[8192];
    int cl = snprintf(config, sizeof config, "ablate-study-v2 model_sha256=%s kernels=%s "
                      "device=%d unit=%s metric=%d limit=%d seed=%llu batch_tokens=%d boot=%d "
                      "resume=%d layers=", r->model_sha256, r->kernels, o->device, r->unit_name,
                      (int)o->metric, o->limit, (unsigned long long)o->seed, o->batch_tokens,
                      o->n_boot, !o->no_resume);
    for (int u = 0; u < n_units && cl < (int)sizeof config - 600; u++)
        cl += snprintf(config + cl, sizeof config - (size_t)cl, "%s%d", u ? "," : "", units[u]);
    if (o->prune_k > 0 && o->unit == STUDY_UNIT_BLOCK) /* absent when off: older runs resume */
        cl += snprintf(config + cl, sizeof config - (size_t)cl, " prune=%d pool=%s",
                       o->prune_k, o->pool_all ? "all" : "above-chance");
    for (int t = 0; t < n_tasks; t++) {
        if ((s = ev_task_load(&tasks[t], names[t], model_tok(m), &lo, err)))
            goto fail;
        if ((s = study_task_alloc(&r->tasks[t], n_units))) {
            abl_fail(err, s, "study: out of memory");
            goto fail;
        }
        task_data_hash(ddir, names[t], r->tasks[t].data_sha256);
        if (cl < (int)sizeof config - 300)
            cl += snprintf(config + cl, sizeof config - (size_t)cl, " task=%s:%.16s:%d",
                           names[t], r->tasks[t].data_sha256, tasks[t]->n_items);
    }
    if (cl >= (int)sizeof config - 300) {
        s = abl_fail(err, ABL_E_ARG, "study: configuration too long (too many tasks or blocks)");
        goto fail;
    }
    if ((s = study_task_alloc(&r->pooled, n_units))) {
        abl_fail(err, s, "study: out of memory");
        goto fail;
    }
    snprintf(r->pooled.name, sizeof r->pooled.name, "pooled");
    snprintf(r->pooled.metric, sizeof r->pooled.metric, "mean");
    if (o->out_dir && !o->estimate && (s = journal_open(&j, o->out_dir, config, err)))
        goto fail;
    c.o = o;
    c.m = m;
    c.j = j;
    c.L = cfg->n_layers;
    c.D = cfg->d_model;
    c.n_units = n_units;
    c.unit_layer = r->unit_layer;
    c.kl_on = o->device == 0; /* the KL baseline needs the CPU scorer's distributions */
    for (int t = 0; t < n_tasks; t++)
        if ((s = run_task(&c, tasks[t], t, n_tasks, &raw[t], &r->tasks[t], err)))
            goto fail;
    if (o->estimate) {
        r->estimated = true;
        r->probe_seconds = c.probe_s;
        r->probe_flops = c.probe_flops;
        r->probe_tokens = c.probe_tok;
        r->flops_per_s = c.probe_s > 0 ? c.probe_flops / c.probe_s : 0;
        r->wall_seconds = ev_now() - t_start;
        goto cleanup;
    }
    study_choose_pool(r, o->pool_all);
    study_pool(r->tasks, r->tasks, n_tasks, n_units, &r->pooled);
    if ((s = prune_curves(&c, tasks, n_tasks, r, err)))
        goto fail;
    r->units_total = c.units_total;
    r->units_resumed = c.units_resumed;
    double se2 = 0;
    int n_pool = 0;
    for (int t = 0; t < n_tasks; t++)
        if (r->tasks[t].pooled_in) {
            se2 += r->tasks[t].acc_se * r->tasks[t].acc_se;
            n_pool++;
        }
    r->pooled.acc_se = sqrt(se2) / n_pool;
    if ((s = study_bootstrap(r, raw, o->seed, err)))
        goto fail;
    study_robustness(r);
    study_task_dependence(r);
    r->wall_seconds = ev_now() - t_start;
    if (o->out_dir && (s = report_write_all(r, o->out_dir, err)))
        goto fail;
    goto cleanup;
fail:
    if (s == ABL_E_INTERRUPTED && o->out_dir)
        abl_fail(err, ABL_E_INTERRUPTED, "interrupted: %d work units finished and saved in "
                 "%s/journal.tsv (hint: run the same command again to resume)",
                 c.units_new + c.units_resumed, o->out_dir);
    study_result_free(r);
    r = NULL;
cleanup:
    for (int t = 0; t < n_tasks; t++) {
        ev_task_free(tasks[t]);
        raw_free(&raw[t]);
    }
    journal_close(j);
    model_free(m);
    free(c.save);
    free(c.row_cos);
    free(c.last_row);
    free(c.payload);
    free(c.kl_p);
    free(c.kl_h);
    free(c.kl_row);
    *out = r;
    return s;
}
