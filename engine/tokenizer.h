/* engine/tokenizer.h - byte-level BPE identical to Hugging Face `tokenizers` for GPT-2,
 * SmolLM2, Llama-3 and Qwen style tokenizer.json files. */
#ifndef TOKENIZER_H
#define TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/abl.h"

typedef struct tokenizer tokenizer;

/* A growable id vector owned by the caller; start it as {0}, reuse it (set n = 0), free it with
 * tok_ids_free. */
typedef struct {
    int32_t *v;
    size_t n, cap;
} tok_ids;

/* Frees ids->v and zeroes *ids; NULL and an already freed vector are fine. */
void tok_ids_free(tok_ids *ids);

/* Load tokenizer.json at path into *out (caller frees with tok_free; *out is NULL on error).
 * Reads BOS/EOS from tokenizer_config.json / config.json beside it when present. Supported: model
 * BPE (byte_fallback false, no subword prefix/suffix, ignore_merges either way), no normalizer,
 * pre-tokenizer ByteLevel alone or last in a Sequence after Digits and Split (\p{N}, GPT-2,
 * Llama-3 or Qwen2 regex, Isolated), ByteLevel decoder. Errors: ABL_E_IO (missing file),
 * ABL_E_FORMAT (bad JSON, ids, merges), ABL_E_UNSUPPORTED (anything else, naming it),
 * ABL_E_NOMEM. Thread-safe (no globals). */
abl_status tok_load(tokenizer **out, const char *path, abl_err *err);
/* Frees everything; NULL is fine. */
void tok_free(tokenizer *t);

/* Append the ids of text[0..len) to out (grown as needed), identical to HF
 * encode(text, add_special_tokens=False); never adds BOS (see tok_adds_bos). Added/special tokens
 * are matched first (leftmost, longest) and kept whole. text may hold NUL and invalid UTF-8:
 * each invalid byte is one character of class "other", encoded as its byte-level token (rule in
 * engine/tok_pretok.c); a byte whose token the vocab lacks is dropped, as HF drops it. len 0
 * appends nothing. Uses an internal word cache and scratch: not thread-safe on one tokenizer
 * (load one per thread). ABL_E_NOMEM only. */
abl_status tok_encode(tokenizer *t, const char *text, size_t len, tok_ids *out, abl_err *err);

/* Bytes of one token (raw bytes after byte-level decoding; special tokens as their text), owned
 * by t and valid until tok_free. NULL (and *len = 0) for an id that is not a token. Thread-safe. */
const char *tok_piece(const tokenizer *t, int32_t id, size_t *len);

/* Decode ids into a malloc'ed NUL-terminated string (*out, *len; the caller frees): the exact
 * bytes of the pieces concatenated (HF would replace invalid UTF-8 by U+FFFD; we do not). n = 0
 * gives "". ABL_E_ARG (naming the position) for an id that is not a token, ABL_E_NOMEM.
 * Thread-safe. */
abl_status tok_decode(const tokenizer *t, const int32_t *ids, size_t n, char **out, size_t *len,
                      abl_err *err);

/* Largest id + 1 over the vocab and the added tokens. */
int tok_vocab_size(const tokenizer *t);
/* Id of an added token with exactly this content, else of a vocab token with these raw bytes;
 * -1 when absent. */
int32_t tok_special_id(const tokenizer *t, const char *text);
int32_t tok_bos_id(const tokenizer *t);  /* -1 when none */
int32_t tok_eos_id(const tokenizer *t);  /* -1 when none */
bool tok_adds_bos(const tokenizer *t);   /* whether encode of a document should prepend BOS */

/* Streaming decode: start with tok_stream s = {0}, feed ids one at a time; each call writes to
 * out the bytes that form complete UTF-8 characters so far and returns their count (never splits
 * a character: an unfinished one is held back, up to 3 bytes; bytes that can never complete one
 * are written as they are). out must hold the held-back bytes plus the piece: a cap of
 * tok_max_piece_len(t) + 8 always does (a smaller one that does not fit is a programmer bug:
 * ABL_ASSERT). An id that is not a token adds nothing. End with tok_stream_flush. Thread-safe per
 * stream. */
typedef struct {
    char pending[8];
    int n_pending;
} tok_stream;
size_t tok_stream_feed(const tokenizer *t, tok_stream *s, int32_t id, char *out, size_t cap);

/* ---- additions (tokenizer helper) -------------------------------------------------------- */

/* Longest piece in bytes (81 for SmolLM2); size tok_stream_feed buffers from it. */
size_t tok_max_piece_len(const tokenizer *t);

/* End of a stream: writes the held-back bytes of an unfinished character (as they are) to out
 * (cap >= 8) and empties s. Returns the byte count. */
size_t tok_stream_flush(tok_stream *s, char *out, size_t cap);

/* Word-cache counters since load (for benchmarks). */
void tok_cache_stats(const tokenizer *t, uint64_t *hits, uint64_t *misses);

#endif
