/* engine/generate.h - a generation session: a KV cache sized once at set-up, prefill of a prompt
 * (in chunks) and one-token decode steps, with nothing allocated per token.
 * Legend: L blocks, D model width, KV = Hkv*Dh, V vocabulary, C context capacity. */
#ifndef GENERATE_H
#define GENERATE_H

#include "model.h"

typedef struct {
    model *m;            /* borrowed */
    int max_ctx;         /* C: positions the cache holds */
    int n_past;          /* tokens already in the cache */
    int chunk;           /* prefill rows per pass (scratch reserved for it) */
    float *kcache;       /* (L, C, KV) */
    float *vcache;       /* (L, C, KV) */
    int32_t *pos;        /* (chunk) positions of the rows being fed */
    k_span *span;        /* (chunk) their visible cache rows */
    k_span *span_w;      /* (chunk) the same under the sliding window (blocks that slide) */
    float *logits;       /* (V) next-token logits after the last fed token */
    run_plan plan;       /* skips (and hooks; they receive b == NULL); start_layer is 0 */
} gen_session;

/* Set up a session on m for up to max_ctx tokens (clamped to the model's maximum position).
 * plan may be NULL (plain model); its skip arrays are borrowed and must outlive the session;
 * start_layer/resume must be 0/NULL (ABL_E_ARG otherwise). ABL_E_NOMEM on allocation failure.
 * The model must not run other passes while a feed is in progress (shared scratch). */
abl_status gen_open(gen_session *g, model *m, int max_ctx, const run_plan *plan, abl_err *err);
void gen_close(gen_session *g); /* NULL-safe */

/* Forget the context (keeps the buffers). */
void gen_reset(gen_session *g);

/* Append ids (n >= 1) to the context and run them through the model (prefill when n > 1, a
 * decode step when n == 1); g->logits then holds the next-token logits. ABL_E_ARG when an id
 * is out of range or the context would exceed max_ctx (nothing is fed then). */
abl_status gen_feed(gen_session *g, const int32_t *ids, int n, abl_err *err);

#endif
