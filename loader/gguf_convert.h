/* loader/gguf_convert.h - llama-architecture GGUF to a Hugging Face folder (F32 safetensors,
 * config, tokenizer files), plus the Q/K row un-permutation it relies on. Used by tools/gguf2st. */
#ifndef GGUF_CONVERT_H
#define GGUF_CONVERT_H

#include <stdint.h>

#include "../base/abl.h"
#include "gguf.h"

/* Convert the GGUF at in into the folder out, which must not exist. Writes config.json
 * (LlamaForCausalLM), model.safetensors (F32, HF tensor names, tied embeddings stored once),
 * tokenizer.json (HF `tokenizers` BPE with the smollm pre-tokenizer), tokenizer_config.json (chat
 * template, special tokens) and generation_config.json into "<out>.tmp.<pid>", then renames it
 * to out; on failure the temp folder is removed and out is untouched. verbose prints a one-line
 * summary to stdout. Errors: ABL_E_IO, ABL_E_FORMAT, ABL_E_SHAPE, ABL_E_UNSUPPORTED (not llama,
 * not gguf2/smollm tokenizer, RoPE scaling, biases, tensor types without a dequantizer), with a
 * message naming the file. Thread-safe (no globals); peak memory is one F32 tensor. */
abl_status gguf_convert_hf(const char *in, const char *out, int verbose, abl_err *err);

/* llama.cpp's converter permutes the rows of q and k within each head of head_dim rows so that
 * GGUF row 2j+a holds HF row a*head_dim/2 + j (a in {0,1}, j < head_dim/2). Returns the HF row
 * for a GGUF row. head_dim must be even and > 0. */
int64_t gguf_unpermute_row(int64_t row, int64_t head_dim);

/* Dequantize tensor t (ne = (cols, rows), or any shape when unpermute_heads == 0) into dst
 * (rows, cols) row-major F32, caller-owned, t->numel floats. unpermute_heads > 0 also undoes the
 * q/k permutation for that many heads (rows must split into heads of even size, else
 * ABL_E_SHAPE). Errors from dq_to_f32 pass through. Thread-safe. */
abl_status gguf_dequant_matrix(const gguf_tensor *t, int unpermute_heads, float *dst,
                               abl_err *err);

#endif
