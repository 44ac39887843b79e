/* engine/forward_plain.h - the textbook forward pass (engine/forward_plain.c): one causal
 * sequence, one token at a time, plain loops. The oracle for model_forward; `generate --plain`.
 * Legend: L blocks, D model width, V vocabulary, C context capacity. */
#ifndef FORWARD_PLAIN_H
#define FORWARD_PLAIN_H

#include <stdint.h>

#include "model.h"

typedef struct fwd_plain fwd_plain;

/* Prepare a plain pass over up to max_ctx tokens (clamped to the model's maximum position) on
 * m (borrowed; it must outlive the pass). skip_attn / skip_mlp (L) name removed sub-blocks
 * (nonzero = skip; NULL = none); they are copied. The weights are read from the checkpoint in
 * Hugging Face layout (a pointer into the mmap for F32 files, an F32 copy otherwise). On
 * failure *out is NULL. ABL_E_ARG (max_ctx < 1), ABL_E_NOMEM, or the loader's errors. The
 * caller owns *out (fwdp_close; NULL is fine). Not thread-safe per pass. */
abl_status fwdp_open(fwd_plain **out, model *m, int max_ctx, const uint8_t *skip_attn,
                     const uint8_t *skip_mlp, abl_err *err);
void fwdp_close(fwd_plain *p);

/* Tokens already in the pass (the position the next token gets), and how many it can hold. */
int fwdp_n_past(const fwd_plain *p);
int fwdp_max_ctx(const fwd_plain *p);

/* Run token id at the next position through the whole model; logits (V) receive its
 * next-token logits. ABL_E_ARG when id is out of range or the context is full (nothing
 * changes then). */
abl_status fwdp_step(fwd_plain *p, int32_t id, float *logits, abl_err *err);

/* Teacher-forced log-probs of one sequence ids (T >= 2) from the start: lp (T-1) receives
 * log P(ids[t+1] | ids[0..t]) and top1 (T-1, may be NULL) 1 when ids[t+1] is the argmax.
 * Masks as for fwdp_open. Same errors as fwdp_open and fwdp_step. */
abl_status fwdp_logprobs(model *m, const int32_t *ids, int T, const uint8_t *skip_attn,
                         const uint8_t *skip_mlp, float *lp, uint8_t *top1, abl_err *err);

#endif
