/* tests/fuzz/fuzz_json.c - libFuzzer target for loader/json.c: any byte string must either parse
 * into a tree every pointer of which is readable, or fail with a one-line message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../loader/json.h"

/* Touch every value so ASan sees any bad pointer; returns a checksum to keep the reads alive. */
static size_t walk(const json_val *v)
{
    size_t h = (size_t)v->type;
    switch (v->type) {
    case JSON_STRING:
        ABL_ASSERT(v->str && v->str[v->len] == 0);
        for (size_t i = 0; i < v->len; i++)
            h = h * 31 + (unsigned char)v->str[i];
        break;
    case JSON_NUMBER:
        h += (size_t)v->is_int + (size_t)(v->i64 & 7) + (v->num > 0);
        break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        for (size_t i = 0; i < v->len; i++) {
            if (v->type == JSON_OBJECT) {
                ABL_ASSERT(v->keys[i][v->key_lens[i]] == 0);
                h += v->key_lens[i] + (unsigned char)v->keys[i][0];
                ABL_ASSERT(json_get(v, v->keys[i]) != NULL || strlen(v->keys[i]) != v->key_lens[i]);
            }
            h += walk(&v->kids[i]);
        }
        break;
    default:
        break;
    }
    return h;
}

/* One input: the checks the fuzzer runs; tests/test_fuzz.c replays the corpus through it. */
int fuzz_json_one(const uint8_t *data, size_t size)
{
    json_doc *d = NULL;
    abl_err e = {0};
    abl_status st = json_parse(&d, (const char *)data, size, "fuzz.json", &e);
    if (st == ABL_OK) {
        volatile size_t h = walk(json_root(d));
        (void)h;
        json_free(d);
    } else {
        ABL_ASSERT(d == NULL && e.msg[0] && !strchr(e.msg, '\n'));
    }
    return 0;
}

#ifndef ABL_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_json_one(data, size); }
#endif
