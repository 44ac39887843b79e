/* study/sweep.c - the one resume sweep, used by the study and by greedy pruning: a base pass
 * caches the residual entering every block, then each removal resumes from it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels.h"
#include "study_int.h"

void *study_reserve(void *p, size_t *cap, size_t need, size_t elt)
{
    if (need <= *cap)
        return p;
    free(p);
    void *q = malloc(need * elt);
    *cap = q ? need : 0;
    return q;
}

/* Row t of block l: its cosine from the sums s = {dot(in, out), |in|^2, |out|^2}, into
 * h->row_cos and the item's sum; returns 1 - cos. */
static double cos_row(cos_hook *h, int l, int t, const double *s, const fwd_batch *b)
{
    double c = s[1] > 0 && s[2] > 0 ? s[0] / sqrt(s[1] * s[2]) : (s[1] == s[2] ? 1.0 : 0.0);
    c = c > 1 ? 1 : c < -1 ? -1 : c;
    h->row_cos[t] = c;
    if (h->cos_sum)
        h->cos_sum[(size_t)b->seq_tag[b->seq[t]] * h->L + l] += 1 - c;
    return 1 - c;
}

/* After every row of block l: the totals and each sequence's angle at its last context row. */
static void cos_block_done(cos_hook *h, int l, double tot, const fwd_batch *b)
{
    if (h->tot_sum) {
        h->tot_sum[l] += tot;
        h->tot_n[l] += b->n_tok;
    }
    for (int q = 0; h->ang && q < b->n_seq; q++) {
        int item = b->seq_tag[q];
        h->ang[(size_t)item * h->L + l] = acos(h->row_cos[h->last_row[q]]) / M_PI;
    }
}

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
            tot += cos_row(h, l, t, s, b);
        }
        cos_block_done(h, l, tot, b);
    }
    if (p == in)
        memcpy(sv, x, sizeof(float) * h->stride);
}

static abl_status grow(study_sweep *sw, const fwd_batch *fb, abl_err *err)
{
    size_t need = (size_t)sw->L * fb->n_tok * sw->D;
    sw->save = study_reserve(sw->save, &sw->save_cap, need, sizeof(float));
    sw->row_cos = study_reserve(sw->row_cos, &sw->cap_tok, (size_t)fb->n_tok, sizeof(double));
    sw->last_row = study_reserve(sw->last_row, &sw->cap_seq, (size_t)fb->n_seq,
                                 sizeof(int32_t));
    if (sw->unit == STUDY_UNIT_BLOCK)
        sw->stats = study_reserve(sw->stats, &sw->stats_cap, (size_t)sw->L * fb->n_tok * 3,
                                  sizeof(double));
    if (!sw->save || !sw->row_cos || !sw->last_row ||
        (sw->unit == STUDY_UNIT_BLOCK && !sw->stats))
        return abl_fail(err, ABL_E_NOMEM, "study: out of memory for the saved residuals of a "
                        "batch of %d tokens (%zu MB; hint: smaller batches)", fb->n_tok,
                        need * 4 >> 20);
    return ABL_OK;
}

static abl_status grow_kl(study_sweep *sw, const fwd_batch *fb, abl_err *err)
{
    size_t ns = (size_t)(fb->n_score > 0 ? fb->n_score : 1);
    size_t V = (size_t)model_config(sw->m)->vocab;
    sw->kl_p = study_reserve(sw->kl_p, &sw->cap_klp, ns * V, sizeof(float));
    sw->kl_h = study_reserve(sw->kl_h, &sw->cap_klh, ns, sizeof(double));
    sw->kl_row = study_reserve(sw->kl_row, &sw->cap_klr, ns, sizeof(double));
    if (!sw->kl_p || !sw->kl_h || !sw->kl_row)
        return abl_fail(err, ABL_E_NOMEM, "study: out of memory for the intact distributions "
                        "of %d scored rows (%zu MB; hint: smaller batches)", fb->n_score,
                        ns * V * 4 >> 20);
    return ABL_OK;
}

static bool stopped(const study_sweep *sw)
{
    return sw->stop && *sw->stop;
}

abl_status study_sweep_batch(study_sweep *sw, ev_batch *eb, const study_sweep_job *job,
                             abl_err *err)
{
    fwd_batch *fb = &eb->fb;
    int L = sw->L;
    if (stopped(sw))
        return abl_fail(err, ABL_E_INTERRUPTED, "interrupted");
    abl_status s = grow(sw, fb, err);
    if (!s && job->kl)
        s = grow_kl(sw, fb, err);
    if (s)
        return s;
    for (int q = 0; job->ang && q < fb->n_seq; q++) { /* last context row of each sequence */
        int end = q + 1 < fb->n_seq ? fb->seq_start[q + 1] : fb->n_tok, r = fb->seq_start[q];
        while (r + 1 < end && fb->branch[r + 1] == 0)
            r++;
        sw->last_row[q] = r;
    }
    for (int k = 0; job->cos_sum && k < eb->n_items; k++)
        for (int l = 0; l < L; l++)
            job->cos_sum[(size_t)eb->items[k] * L + l] = 0;
    cos_hook h = {L, sw->D, sw->unit, sw->save, (size_t)fb->n_tok * sw->D, sw->last_row,
                  sw->row_cos, job->cos_sum, job->ang, job->tot_sum, job->tot_n};
    run_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.skip_attn = job->removed;
    plan.skip_mlp = job->removed;
    bool want = job->n_units > 0 || job->cos_sum || job->ang || job->tot_sum;
    if (want && sw->unit == STUDY_UNIT_BLOCK) {
        /* whole blocks: the engine keeps the residuals and the per-row sums where the
         * activations live (kc_dot3 on a GPU), no hook; the same kern.dot3 sums on the CPU */
        plan.save_resid = sw->save;
        plan.block_stats = sw->stats;
    } else if (want) {
        hook_point in = sw->unit == STUDY_UNIT_MLP ? HOOK_RESID_MID : HOOK_RESID_PRE;
        hook_point out = sw->unit == STUDY_UNIT_ATTN ? HOOK_RESID_MID : HOOK_RESID_POST;
        plan.hook = study_cos_hook;
        plan.hook_user = &h;
        plan.hook_mask = (1u << in) | (1u << out);
    }
    if (job->kl) {
        plan.probs_out = sw->kl_p;
        plan.negent_out = sw->kl_h;
    }
    if ((s = model_forward(sw->m, fb, &plan, err)))
        return s;
    for (int l = 0; plan.block_stats && l < L; l++) {
        double tot = 0;
        for (int t = 0; t < fb->n_tok; t++)
            tot += cos_row(&h, l, t, sw->stats + ((size_t)l * fb->n_tok + t) * 3, fb);
        cos_block_done(&h, l, tot, fb);
    }
    if ((s = job->after(job->user, 0, err)))
        return s;
    uint8_t skip[STUDY_MAX_UNITS];
    for (int u = 0; u < job->n_units; u++) {
        if (stopped(sw))
            return abl_fail(err, ABL_E_INTERRUPTED, "interrupted");
        int l = job->units[u];
        memset(&plan, 0, sizeof plan);
        if (job->removed)
            memcpy(skip, job->removed, (size_t)L);
        else
            memset(skip, 0, (size_t)L);
        skip[l] = 1;
        plan.skip_attn = job->removed;
        plan.skip_mlp = job->removed;
        if (sw->no_resume) { /* reference: a full pass with the unit's skip flags */
            plan.skip_attn = sw->unit != STUDY_UNIT_MLP ? skip : job->removed;
            plan.skip_mlp = sw->unit != STUDY_UNIT_ATTN ? skip : job->removed;
        } else if (sw->unit == STUDY_UNIT_ATTN) { /* resume at l, its attention skipped */
            plan.skip_attn = skip;
            plan.start_layer = l;
            plan.resume = l > 0 ? sw->save + (size_t)l * h.stride : NULL;
        } else { /* the residual entering l (block) or its MLP (mlp) is the one leaving it */
            plan.start_layer = l + 1;
            plan.resume = sw->save + (size_t)l * h.stride;
        }
        double *kl = job->kl ? job->kl + (size_t)u * job->kl_items : NULL;
        if (kl) { /* KL(base || removed) at every scored row, summed per item */
            plan.kl_probs = sw->kl_p;
            plan.kl_negent = sw->kl_h;
            plan.kl_out = sw->kl_row;
            for (int k = 0; k < eb->n_items; k++)
                kl[eb->items[k]] = 0;
        }
        if ((s = model_forward(sw->m, fb, &plan, err)))
            return s;
        for (int i = 0; kl && i < fb->n_score; i++)
            kl[fb->seq_tag[fb->seq[fb->score_row[i]]]] += sw->kl_row[i];
        if ((s = job->after(job->user, 1 + u, err)))
            return s;
    }
    return ABL_OK;
}

double study_pass_flops(const hf_config *g, const fwd_batch *fb, int first)
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

double study_sweep_flops(const study_sweep *sw, const fwd_batch *fb, const int *units, int n)
{
    const hf_config *g = model_config(sw->m);
    double f = study_pass_flops(g, fb, 0);
    for (int u = 0; u < n; u++) {
        int l = units[u];
        f += study_pass_flops(g, fb, sw->no_resume ? 0 : sw->unit == STUDY_UNIT_ATTN ? l : l + 1);
    }
    return f;
}

void study_sweep_free(study_sweep *sw)
{
    free(sw->save);
    free(sw->row_cos);
    free(sw->last_row);
    free(sw->kl_p);
    free(sw->kl_h);
    free(sw->kl_row);
    free(sw->stats);
    sw->stats = NULL;
    sw->stats_cap = 0;
    sw->save = NULL;
    sw->row_cos = NULL;
    sw->last_row = NULL;
    sw->kl_p = NULL;
    sw->kl_h = sw->kl_row = NULL;
    sw->save_cap = sw->cap_tok = sw->cap_seq = 0;
    sw->cap_klp = sw->cap_klh = sw->cap_klr = 0;
}
