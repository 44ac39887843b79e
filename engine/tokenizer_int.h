/* engine/tokenizer_int.h - internals shared by the tokenizer's files: the tokenizer struct, hash
 * maps (tok_bpe.c), pre-tokenizer (tok_pretok.c), NFC (tok_nfc.c), load/encode (tokenizer.c). */
#ifndef TOKENIZER_INT_H
#define TOKENIZER_INT_H

#include "tokenizer.h"

/* Regex flavours we implement by hand (recognized by their exact pattern text). */
typedef enum {
    TOK_RE_GPT2,   /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
    TOK_RE_LLAMA3, /* (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+... */
    TOK_RE_QWEN2   /* as LLAMA3 but \p{N} one at a time */
} tok_regex;

/* One pre-tokenizer step, applied in order to every piece the previous steps produced. */
typedef enum {
    TOK_STEP_DIGITS_EACH,  /* Digits(individual_digits=true), or Split(Regex "\p{N}", Isolated)
                            * (then with the regex's \p{N}): every numeric char alone */
    TOK_STEP_DIGITS_RUN,   /* Digits(individual_digits=false): numeric runs alone */
    TOK_STEP_SPLIT,        /* Split(Regex, Isolated, invert=false) with a known pattern */
    TOK_STEP_BYTELEVEL     /* ByteLevel: optional prefix space, optional GPT-2 regex; always last */
} tok_step_kind;

typedef struct {
    tok_step_kind kind;
    tok_regex re;        /* SPLIT */
    bool regex_n;        /* DIGITS_EACH from Split "\p{N}": numeric = the regex's \p{N} */
    bool prefix_space;   /* BYTELEVEL add_prefix_space */
    bool use_regex;      /* BYTELEVEL use_regex */
} tok_step;

/* An added token (tokenizer.json "added_tokens"), matched before pre-tokenization. */
typedef struct {
    int32_t id;
    uint32_t off, len;   /* content bytes in t->text */
    bool lstrip, rstrip, single_word, normalized, special;
} tok_added;

/* Open-addressing map from a byte string (a piece in t->text) to its id. */
typedef struct {
    uint32_t hash;
    int32_t id;          /* -1: empty slot */
    uint32_t off, len;   /* the key bytes in t->text (the model vocab piece of id) */
} tok_vslot;

/* Open-addressing map from a pair of ids to the merge's rank and result. */
typedef struct {
    uint64_t key;        /* (uint64)left << 32 | right; UINT64_MAX: empty */
    int32_t rank, id;
} tok_mslot;

/* Word cache: word bytes -> ids, in fixed arenas; emptied when full. */
typedef struct {
    uint64_t hash;       /* 0: empty */
    uint32_t key_off, key_len, ids_off, n_ids;
} tok_cslot;

/* One BPE symbol of the word being merged (a doubly linked list over the word's bytes). */
typedef struct {
    int32_t id;
    int32_t prev, next;  /* indices, -1 at the ends */
    int32_t alive;       /* 0 once merged into its left neighbour */
} tok_sym;

/* A candidate merge in the priority queue: lowest rank first, then leftmost. */
typedef struct {
    int32_t rank, pos, id;
} tok_cand;

#define TOK_MAX_STEPS 4
#define TOK_CACHE_SLOTS (1u << 16)       /* slots; at most half are used before a reset */
#define TOK_CACHE_KEY_BYTES (1u << 20)
#define TOK_CACHE_IDS (1u << 18)
#define TOK_CACHE_MAX_WORD 64            /* longer words are not cached */

struct tokenizer {
    int n_vocab;             /* max id + 1 over the model vocab and the added tokens */
    char *text;              /* every piece's bytes and added-token contents, back to back */
    size_t text_len, text_cap;
    uint32_t *piece_off;     /* (n_vocab) byte offset in text; piece_len UINT32_MAX: no token */
    uint32_t *piece_len;     /* (n_vocab) */
    size_t max_piece;        /* longest piece in bytes */

    tok_vslot *vmap;         /* byte string -> id for byte-level model tokens */
    size_t vmap_mask;
    tok_mslot *mmap;         /* (left, right) -> rank, merged id */
    size_t mmap_mask;
    int32_t byte_id[256];    /* id of each single byte's token; -1 when the vocab lacks it */
    int32_t unk_id;          /* -1 when none */
    bool ignore_merges;      /* Llama-3: a word already in the vocab is one token */

    tok_added *added;        /* sorted by (first byte, length descending) */
    size_t n_added;
    uint8_t added_first[32]; /* bitmap of first bytes of added tokens */
    bool has_normalized;     /* some added token has normalized=true (matched in a second pass) */

    tok_step steps[TOK_MAX_STEPS];
    int n_steps;

    int32_t bos_id, eos_id;
    bool add_bos;

    /* word cache */
    tok_cslot *cache;
    uint8_t *cache_keys;
    int32_t *cache_ids;
    uint32_t cache_n, cache_key_used, cache_ids_used;
    uint64_t cache_hits, cache_misses;

    /* scratch grown on demand, reused across calls (why encode is not thread-safe) */
    tok_sym *syms;
    tok_cand *heap;
    size_t sym_cap, heap_cap;
    uint8_t *pbuf;           /* a piece with its prefix space */
    size_t pbuf_cap;

    bool nfc;                /* normalizer NFC (tok_nfc.c) */
    uint32_t *ncp;           /* NFC scratch: code points */
    size_t ncp_cap;
    uint8_t *nbuf;           /* NFC result */
    size_t nbuf_cap;
};

/* ---- tok_bpe.c ------------------------------------------------------------------------- */

/* 64-bit hash of a byte string (never 0). */
uint64_t tok_hash(const void *p, size_t n);
/* Build vmap from the pieces of the given ids (byte-level tokens only). ABL_E_NOMEM only. */
abl_status tok_vmap_build(tokenizer *t, const int32_t *ids, size_t n, abl_err *err);
/* Id of the byte string s[0..n) in the vocab, -1 when absent. */
int32_t tok_vmap_get(const tokenizer *t, const void *s, size_t n);
/* Allocate the merge map for n merges. */
abl_status tok_mmap_alloc(tokenizer *t, size_t n, abl_err *err);
/* Add merge (left, right) -> id with rank; the first of duplicates wins (as in HF). */
void tok_mmap_put(tokenizer *t, int32_t left, int32_t right, int32_t rank, int32_t id);
/* Allocate the word cache arenas. */
abl_status tok_cache_alloc(tokenizer *t, abl_err *err);
/* Append the ids of one pre-tokenized word (raw bytes, before byte-level mapping) to out. */
abl_status tok_bpe_word(tokenizer *t, const uint8_t *w, size_t n, tok_ids *out, abl_err *err);
/* Append one id to out, growing it. */
abl_status tok_ids_push(tok_ids *out, int32_t id, abl_err *err);

/* ---- tok_nfc.c ------------------------------------------------------------------------- */

/* NFC of s[0..n): *out points at s itself (ASCII only) or at t->nbuf, valid until the next call.
 * Invalid UTF-8 bytes pass through. ABL_E_NOMEM only. */
abl_status tok_nfc(tokenizer *t, const uint8_t *s, size_t n, const uint8_t **out, size_t *out_n,
                   abl_err *err);

/* ---- tok_pretok.c ---------------------------------------------------------------------- */

/* Decode the UTF-8 character at s[i] (i < n): returns the code point and sets *len; an invalid
 * or truncated sequence gives TOK_INVALID_CP with *len = 1 (one byte, class other). */
#define TOK_INVALID_CP 0xFFFFFFFFu
uint32_t tok_utf8_next(const uint8_t *s, size_t n, size_t i, int *len);
/* Length in bytes of the longest prefix of s[0..n) that holds only complete, valid UTF-8
 * characters or bytes that can never start one; a trailing incomplete but so far valid sequence
 * is left out. */
size_t tok_utf8_complete(const uint8_t *s, size_t n);
/* Run the pre-tokenizer steps from step k on s[0..n) and BPE every resulting word into out. */
abl_status tok_pretokenize(tokenizer *t, int k, const uint8_t *s, size_t n, tok_ids *out,
                           abl_err *err);
/* End of the regex match that starts at s[i] (i < n); every flavour matches at every position,
 * so consecutive matches tile the text. */
size_t tok_regex_match(tok_regex re, const uint8_t *s, size_t n, size_t i);
/* Recognize a Split regex pattern; false when it is not one we implement. */
bool tok_regex_from_pattern(const char *pattern, tok_regex *out);

#endif
