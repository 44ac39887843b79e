/* tests/fuzz/fuzz_tokenizer.c - libFuzzer target for engine/tokenizer: any byte string must encode
 * the same way twice, decode back exactly (where the tokenizer adds nothing) and stream-decode
 * without splitting a character. Uses the committed tiny tokenizers in tests/golden/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/tokenizer.h"

/* llama3: no normalizer, every byte has a token, so decode(encode(x)) == x for any bytes;
 * qwen2: NFC; digits: a prefix space per piece and lstrip/rstrip added tokens. */
static const char *const fuzz_tok_files[] = {"tests/golden/tok_tiny_llama3.json",
                                             "tests/golden/tok_tiny_qwen2.json",
                                             "tests/golden/tok_tiny_digits.json"};
static tokenizer *fuzz_toks[3];
static int fuzz_tok_ready;

static void fuzz_tok_init(void)
{
    if (fuzz_tok_ready)
        return;
    for (int i = 0; i < 3; i++) {
        abl_err err = {0};
        if (tok_load(&fuzz_toks[i], fuzz_tok_files[i], &err))
            abl_assert_fail(err.msg, __FILE__, __LINE__); /* run from the repository root */
    }
    fuzz_tok_ready = 1;
}

static int fuzz_tokenizer_one(const uint8_t *data, size_t size)
{
    fuzz_tok_init();
    for (int k = 0; k < 3; k++) {
        tokenizer *t = fuzz_toks[k];
        tok_ids a = {0}, b = {0};
        abl_err err = {0};
        ABL_ASSERT(tok_encode(t, (const char *)data, size, &a, &err) == ABL_OK);
        ABL_ASSERT(tok_encode(t, (const char *)data, size, &b, &err) == ABL_OK);
        ABL_ASSERT(a.n == b.n && (!a.n || !memcmp(a.v, b.v, a.n * sizeof *a.v)));
        char *back = NULL;
        size_t blen = 0;
        ABL_ASSERT(tok_decode(t, a.v, a.n, &back, &blen, &err) == ABL_OK && back[blen] == 0);
        if (k == 0)
            ABL_ASSERT(blen == size && !memcmp(back, data, size));
        /* streaming gives the same bytes in the same order */
        size_t cap = tok_max_piece_len(t) + 8, got = 0;
        char *chunk = malloc(cap), *all = malloc(blen + 8);
        ABL_ASSERT(chunk && all);
        tok_stream s = {0};
        for (size_t i = 0; i < a.n; i++) {
            size_t m = tok_stream_feed(t, &s, a.v[i], chunk, cap);
            ABL_ASSERT(got + m <= blen);
            memcpy(all + got, chunk, m);
            got += m;
        }
        got += tok_stream_flush(&s, all + got, 8);
        ABL_ASSERT(got == blen && !memcmp(all, back, blen));
        free(chunk);
        free(all);
        free(back);
        tok_ids_free(&a);
        tok_ids_free(&b);
    }
    return 0;
}

#ifndef ABL_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_tokenizer_one(data, size); }
#endif
