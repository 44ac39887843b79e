/* tests/fuzz/fuzz_tokjson.c - libFuzzer target for loading tokenizer.json (engine/tokenizer.c): a
 * file from the internet must load or fail with a one-line message; a loaded one must encode,
 * decode and stream-decode a fixed text without crashing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/tokenizer.h"
#include "fuzz_memfile.h"

/* One input: the checks the fuzzer runs (a corpus replay can call it too). */
int fuzz_tokjson_one(const uint8_t *data, size_t size)
{
    const char *path = fuzz_memfile(data, size);
    tokenizer *t = NULL;
    abl_err e = {0};
    if (tok_load(&t, path, &e) != ABL_OK) {
        ABL_ASSERT(t == NULL && e.msg[0] && !strchr(e.msg, '\n'));
        return 0;
    }
    static const char text[] = "Hello, world! 123 <|im_start|>user\n caf\xc3\xa9 \xe2\x82\xac\xff\n";
    tok_ids ids = {0};
    if (tok_encode(t, text, sizeof text - 1, &ids, &e) == ABL_OK) {
        int V = tok_vocab_size(t);
        for (size_t i = 0; i < ids.n; i++)
            ABL_ASSERT(ids.v[i] >= 0 && ids.v[i] < V);
        char *back = NULL;
        size_t blen = 0;
        if (tok_decode(t, ids.v, ids.n, &back, &blen, &e) == ABL_OK)
            ABL_ASSERT(back && back[blen] == 0);
        free(back);
        size_t cap = tok_max_piece_len(t) + 8;
        char *chunk = malloc(cap);
        ABL_ASSERT(chunk);
        tok_stream s = {0};
        for (size_t i = 0; i < ids.n; i++)
            (void)tok_stream_feed(t, &s, ids.v[i], chunk, cap);
        (void)tok_stream_flush(&s, chunk, 8);
        free(chunk);
    }
    /* every id decodes on its own */
    for (int id = 0; id < tok_vocab_size(t) && id < 4096; id++) {
        size_t n = 0;
        (void)tok_piece(t, id, &n);
    }
    tok_ids_free(&ids);
    tok_free(t);
    return 0;
}

#ifndef ABL_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_tokjson_one(data, size); }
#endif
