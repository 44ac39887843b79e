/* engine/generate.c - KV-cache generation: prefill in chunks and decode steps, both through
 * model_block_run with keys/values written straight into the cache.
 * Legend: L blocks, D model width, KV = Hkv*Dh, V vocabulary, C context capacity. */
#include "generate.h"

#include <stdlib.h>
#include <string.h>

#include "model_int.h"

#define GEN_CHUNK 128 /* prefill rows per pass */

abl_status gen_open(gen_session *g, model *m, int max_ctx, const run_plan *plan, abl_err *err)
{
    memset(g, 0, sizeof *g);
    const hf_config *c = &m->cfg;
    if (plan && (plan->start_layer != 0 || plan->resume))
        return abl_fail(err, ABL_E_ARG, "generation: expected start_layer 0 and no resume "
                        "residual, found start_layer %d", plan->start_layer);
    if (max_ctx < 1)
        return abl_fail(err, ABL_E_ARG, "generation: expected a context of at least 1 token, "
                        "found %d", max_ctx);
    if (max_ctx > m->rope_len)
        max_ctx = m->rope_len;
    g->m = m;
    g->max_ctx = max_ctx;
    g->chunk = max_ctx < GEN_CHUNK ? max_ctx : GEN_CHUNK;
    if (plan)
        g->plan = *plan;
    size_t kv = (size_t)c->n_kv_heads * c->head_dim;
    size_t n = (size_t)c->n_layers * (size_t)max_ctx * kv;
    g->kcache = malloc(n * sizeof(float));
    g->vcache = malloc(n * sizeof(float));
    g->pos = malloc((size_t)g->chunk * sizeof *g->pos);
    g->span = malloc((size_t)g->chunk * sizeof *g->span);
    g->span_w = malloc((size_t)g->chunk * sizeof *g->span_w);
    g->logits = malloc((size_t)c->vocab * sizeof(float));
    if (!g->kcache || !g->vcache || !g->pos || !g->span || !g->span_w || !g->logits) {
        gen_close(g);
        return abl_fail(err, ABL_E_NOMEM, "generation: out of memory for a KV cache of %d "
                        "tokens (%zu MB)", max_ctx, 2 * n * sizeof(float) >> 20);
    }
    abl_status s = m->cpu.ops->reserve(&m->cpu, g->chunk, 0, err);
    if (s)
        gen_close(g);
    return s;
}

void gen_close(gen_session *g)
{
    if (!g)
        return;
    free(g->kcache);
    free(g->vcache);
    free(g->pos);
    free(g->span);
    free(g->span_w);
    free(g->logits);
    memset(g, 0, sizeof *g);
}

void gen_reset(gen_session *g) { g->n_past = 0; }

abl_status gen_feed(gen_session *g, const int32_t *ids, int n, abl_err *err)
{
    model *m = g->m;
    const hf_config *c = &m->cfg;
    if (n < 1 || g->n_past + n > g->max_ctx)
        return abl_fail(err, ABL_E_ARG, "generation: expected at most %d tokens of context, "
                        "found %d (hint: raise the context or shorten the prompt)", g->max_ctx,
                        g->n_past + n);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab)
            return abl_fail(err, ABL_E_ARG, "generation: expected token ids in [0, %d), found "
                            "%d", c->vocab, (int)ids[i]);
    size_t D = (size_t)c->d_model, kv = (size_t)c->n_kv_heads * c->head_dim;
    size_t layer_stride = (size_t)g->max_ctx * kv;
    float *x = m->s.x; /* (chunk, D) */
    int T = 0;
    for (int done = 0; done < n; done += T) {
        T = n - done < g->chunk ? n - done : g->chunk;
        for (int i = 0; i < T; i++) {
            g->pos[i] = g->n_past + i;
            int p = g->n_past + i, w = c->sliding_window; /* cache row j holds position j */
            g->span[i] = (k_span){0, 0, 0, p + 1};
            g->span_w[i] = (k_span){0, 0, w > 0 && p + 1 > w ? p + 1 - w : 0, p + 1};
        }
        model_embed(m, ids + done, T, x);
        for (int l = 0; l < c->n_layers; l++) { /* on the CPU backend: it never fails */
            float *kc = g->kcache + (size_t)l * layer_stride;
            float *vc = g->vcache + (size_t)l * layer_stride;
            abl_status s = model_block_run(m, &m->cpu, l, x, T, g->pos,
                                           model_layer_span(m, l, g->span, g->span_w),
                                           kc + (size_t)g->n_past * kv,
                                           vc + (size_t)g->n_past * kv, kc, vc, &g->plan, NULL,
                                           err);
            if (s)
                return s;
        }
        g->n_past += T;
    }
    model_logits(m, x + (size_t)(T - 1) * D, g->logits, true);
    return ABL_OK;
}
