/* engine/tokenizer.h - byte-level BPE identical to Hugging Face `tokenizers` for GPT-2,
 * SmolLM2, Llama-3 and Qwen style tokenizer.json files. */
#ifndef TOKENIZER_H
#define TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/abl.h"

typedef struct tokenizer tokenizer;

/* A growable id vector owned by the caller; free with tok_ids_free. */
typedef struct {
    int32_t *v;
    size_t n, cap;
} tok_ids;

void tok_ids_free(tok_ids *ids);

/* Load tokenizer.json at path. Unsupported models (not BPE, not byte-level) give
 * ABL_E_UNSUPPORTED. */
abl_status tok_load(tokenizer **out, const char *path, abl_err *err);
void tok_free(tokenizer *t);

/* Append the ids of text[0..len) to out. Special/added tokens are matched first and kept whole.
 * Invalid UTF-8 bytes are encoded as their byte-level tokens (documented in the .c). Uses an
 * internal word cache: not thread-safe on one tokenizer. ABL_E_NOMEM only. */
abl_status tok_encode(tokenizer *t, const char *text, size_t len, tok_ids *out, abl_err *err);

/* Bytes of one token (raw bytes after byte-level decoding; special tokens as their text).
 * Returns NULL for an id out of range. *len receives the byte count. */
const char *tok_piece(const tokenizer *t, int32_t id, size_t *len);

/* Decode ids into a malloc'ed NUL-terminated string (*out, *len). */
abl_status tok_decode(const tokenizer *t, const int32_t *ids, size_t n, char **out, size_t *len,
                      abl_err *err);

int tok_vocab_size(const tokenizer *t);
int32_t tok_special_id(const tokenizer *t, const char *text); /* -1 when absent */
int32_t tok_bos_id(const tokenizer *t);  /* -1 when none */
int32_t tok_eos_id(const tokenizer *t);  /* -1 when none */
bool tok_adds_bos(const tokenizer *t);   /* whether encode of a document should prepend BOS */

/* Streaming decode: feed ids one at a time; returns the bytes that form complete UTF-8
 * characters so far (never splits a character). */
typedef struct {
    char pending[8];
    int n_pending;
} tok_stream;
size_t tok_stream_feed(const tokenizer *t, tok_stream *s, int32_t id, char *out, size_t cap);

/* ---- additions (tokenizer helper) -------------------------------------------------------- */

/* Longest piece in bytes. tok_stream_feed needs cap >= tok_max_piece_len(t) + 8 (asserted). */
size_t tok_max_piece_len(const tokenizer *t);

/* End of a stream: writes the held-back bytes of an unfinished character (as they are) to out
 * (cap >= 8) and empties s. Returns the byte count. */
size_t tok_stream_flush(tok_stream *s, char *out, size_t cap);

/* Word-cache counters since load (for benchmarks). */
void tok_cache_stats(const tokenizer *t, uint64_t *hits, uint64_t *misses);

#endif
