/* study/theory.h - Theorem 1 made runnable: a 3-block llama-architecture model, built from
 * closed-form weights, where one block has cosine score eps yet is the one that matters. */
#ifndef THEORY_H
#define THEORY_H

#include "../base/abl.h"

/* What the construction promises (computed analytically in double, before rounding to F32). */
typedef struct {
    double eps;             /* the crucial block's cosine score, by construction */
    int crucial;            /* index of that block (1) */
    double cos_score[3];    /* 1 - cos(in, out) of every block on every token */
    double delta;           /* size of the crucial edit along the signal direction */
    double gain;            /* RMSNorm gain that amplifies it in the next block */
    int n_items;            /* items of the toy task */
} theory_info;

/* Write into dir (created if needed): model/config.json, model/model.safetensors,
 * model/tokenizer.json (a byte-level BPE over the 256 bytes plus <|endoftext|>) and task.jsonl
 * (the toy multiple-choice task, for `jsonl:PATH`). eps must lie in [1e-9, 0.1] (ABL_E_ARG).
 * Files are written atomically. ABL_E_IO names the path on failure. A non-empty dir holding
 * anything but an earlier theory's files (model/, task.jsonl, study-eps*) is refused with
 * ABL_E_ARG, so a study run directory is never written into; re-running into its own output is
 * fine. */
abl_status theory_write(const char *dir, double eps, theory_info *info, abl_err *err);

#endif
