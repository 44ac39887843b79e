/* tests/test_gguf.c - the GGUF reader and the GGUF-to-HF converter: an in-memory GGUF builder
 * makes a valid file and malformed variants; each must give its own clear error, never a crash. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../loader/gguf.h"
#include "../loader/gguf_convert.h"
#include "../loader/json.h"
#include "../loader/safetensors.h"
#include "t.h"

/* ---- a tiny GGUF builder ------------------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} gb;

static void gb_put(gb *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        size_t nc = (b->n + n) * 2 + 64;
        uint8_t *q = realloc(b->p, nc);
        ABL_ASSERT(q);
        b->p = q;
        b->cap = nc;
    }
    if (n)
        memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void gb_le(gb *b, uint64_t v, int n)
{
    uint8_t x[8];
    for (int i = 0; i < n; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    gb_put(b, x, (size_t)n);
}

static void gb_str(gb *b, const char *s)
{
    gb_le(b, strlen(s), 8);
    gb_put(b, s, strlen(s));
}

static void gb_f32(gb *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    gb_le(b, u, 4);
}

static void gb_kv_u32(gb *b, const char *k, uint32_t v)
{
    gb_str(b, k);
    gb_le(b, GGUF_V_U32, 4);
    gb_le(b, v, 4);
}

static void gb_kv_str(gb *b, const char *k, const char *v)
{
    gb_str(b, k);
    gb_le(b, GGUF_V_STR, 4);
    gb_str(b, v);
}

typedef struct {
    const char *name;
    uint32_t type, ndim;
    uint64_t ne[4];
    uint64_t offset;
    const float *values; /* F32 tensors: data to store (NULL: a pattern) */
} tspec;

/* The standard two tensors: "a" F32 (4, 2) at 0 and "b" Q8_0 (32) at 32. */
static const tspec STD[2] = {
    {"a", GGUF_T_F32, 2, {4, 2, 1, 1}, 0, NULL},
    {"b", GGUF_T_Q8_0, 1, {32, 1, 1, 1}, 32, NULL},
};

static size_t tbytes(const tspec *t)
{
    uint64_t n = 1;
    for (uint32_t d = 0; d < t->ndim && d < 4; d++) {
        if (t->ne[d] && n > UINT64_MAX / t->ne[d])
            return SIZE_MAX;
        n *= t->ne[d];
    }
    int blk = gguf_type_block((int)t->type);
    return blk ? (size_t)(n / (uint64_t)blk * (uint64_t)gguf_type_size((int)t->type)) : 0;
}

/* Header, metadata (the fixed test keys plus general.alignment when align != 0), tensor infos,
 * padding, then data holding each tensor (F32: 0,1,2,...; Q8_0: d=1, q=j-16). */
static void build(gb *b, uint32_t version, uint32_t align, const tspec *ts, int nt)
{
    b->n = 0;
    gb_put(b, "GGUF", 4);
    gb_le(b, version, 4);
    gb_le(b, (uint64_t)nt, 8);
    gb_le(b, align ? 10 : 9, 8);
    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_u32(b, "t.u32", 7);
    gb_str(b, "t.i8"); gb_le(b, GGUF_V_I8, 4); gb_le(b, 0xfd, 1);
    gb_str(b, "t.f32"); gb_le(b, GGUF_V_F32, 4); gb_f32(b, 0.5f);
    gb_str(b, "t.f64"); gb_le(b, GGUF_V_F64, 4); { double d = -2.25; uint64_t u; memcpy(&u, &d, 8); gb_le(b, u, 8); }
    gb_str(b, "t.bool"); gb_le(b, GGUF_V_BOOL, 4); gb_le(b, 1, 1);
    gb_str(b, "t.u64"); gb_le(b, GGUF_V_U64, 4); gb_le(b, (uint64_t)1 << 63, 8);
    gb_str(b, "t.arr_i32"); gb_le(b, GGUF_V_ARR, 4); gb_le(b, GGUF_V_I32, 4); gb_le(b, 3, 8);
    gb_le(b, 1, 4); gb_le(b, (uint32_t)-2, 4); gb_le(b, 3, 4);
    gb_str(b, "t.arr_str"); gb_le(b, GGUF_V_ARR, 4); gb_le(b, GGUF_V_STR, 4); gb_le(b, 3, 8);
    gb_str(b, "a"); gb_str(b, ""); gb_str(b, "xyz");
    if (align)
        gb_kv_u32(b, "general.alignment", align);
    for (int i = 0; i < nt; i++) {
        gb_str(b, ts[i].name);
        gb_le(b, ts[i].ndim, 4);
        for (uint32_t d = 0; d < ts[i].ndim; d++)
            gb_le(b, d < 4 ? ts[i].ne[d] : 1, 8);
        gb_le(b, ts[i].type, 4);
        gb_le(b, ts[i].offset, 8);
    }
    uint32_t al = align ? align : 32;
    while (b->n % al)
        gb_le(b, 0, 1);
    size_t start = b->n, end = 0;
    for (int i = 0; i < nt; i++)
        if (ts[i].offset < (1u << 20) && tbytes(&ts[i]) < (1u << 20) &&
            ts[i].offset + tbytes(&ts[i]) > end)
            end = (size_t)ts[i].offset + tbytes(&ts[i]);
    for (size_t i = 0; i < end; i++)
        gb_le(b, 0, 1);
    for (int i = 0; i < nt; i++) {
        if (ts[i].offset >= end || tbytes(&ts[i]) > end - ts[i].offset)
            continue;
        uint8_t *d = b->p + start + ts[i].offset;
        size_t nb = tbytes(&ts[i]);
        if (ts[i].type == GGUF_T_F32) {
            for (size_t j = 0; j < nb / 4; j++) {
                float v = ts[i].values ? ts[i].values[j] : (float)j;
                memcpy(d + 4 * j, &v, 4);
            }
        } else if (ts[i].type == GGUF_T_Q8_0) {
            for (size_t k = 0; k < nb / 34; k++) {
                d[34 * k] = 0x00;
                d[34 * k + 1] = 0x3c; /* d = 1.0 */
                for (int j = 0; j < 32; j++)
                    d[34 * k + 2 + j] = (uint8_t)(j - 16);
            }
        }
    }
}

/* Offset just past the first occurrence of s in the buffer (its key), or 0. */
static size_t after(const gb *b, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= b->n; i++)
        if (memcmp(b->p + i, s, n) == 0)
            return i + n;
    return 0;
}

static void patch(gb *b, size_t at, uint64_t v, int n)
{
    ABL_ASSERT(at + (size_t)n <= b->n);
    for (int i = 0; i < n; i++)
        b->p[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* Expect open to fail with code and a message containing needle. */
static void expect_fail(tctx *t, const gb *b, abl_status code, const char *needle,
                        const char *what)
{
    gguf_file *f = (gguf_file *)1;
    abl_err e = {0};
    abl_status s = gguf_open_mem(&f, b->p, b->n, "x.gguf", &e);
    if (s != code || f != NULL || !strstr(e.msg, needle) || !strstr(e.msg, "x.gguf"))
        t_fail(t, "%s: expected %s error with '%s', got %s: %s", what, abl_status_name(code),
               needle, abl_status_name(s), e.msg);
    else
        t_note(t, "%s -> %s", what, e.msg);
    if (s == ABL_OK)
        gguf_close(f);
}

/* ---- valid files ----------------------------------------------------------------------------- */

void test_gguf_reads_valid_file(tctx *t)
{
    gb b = {0};
    build(&b, 3, 0, STD, 2);
    gguf_file *f;
    abl_err e = {0};
    if (!T_CHECK(t, gguf_open_mem(&f, b.p, b.n, "x.gguf", &e) == ABL_OK)) {
        t_fail(t, "%s", e.msg);
        free(b.p);
        return;
    }
    T_CHECK(t, gguf_version(f) == 3 && gguf_alignment(f) == 32);
    T_CHECK(t, gguf_kv_count(f) == 9 && gguf_tensor_count(f) == 2);
    int64_t i;
    double d;
    gguf_str s;
    T_CHECK(t, gguf_kv_str(gguf_find_kv(f, "general.architecture"), 0, &s) && s.len == 5 &&
                   memcmp(s.ptr, "llama", 5) == 0);
    T_CHECK(t, gguf_kv_int(gguf_find_kv(f, "t.u32"), 0, &i) && i == 7);
    T_CHECK(t, gguf_kv_int(gguf_find_kv(f, "t.i8"), 0, &i) && i == -3);
    T_CHECK(t, gguf_kv_num(gguf_find_kv(f, "t.f32"), 0, &d) && d == 0.5);
    T_CHECK(t, !gguf_kv_int(gguf_find_kv(f, "t.f32"), 0, &i));
    T_CHECK(t, gguf_kv_num(gguf_find_kv(f, "t.f64"), 0, &d) && d == -2.25);
    T_CHECK(t, gguf_kv_int(gguf_find_kv(f, "t.bool"), 0, &i) && i == 1);
    T_CHECK(t, !gguf_kv_int(gguf_find_kv(f, "t.u64"), 0, &i)); /* above INT64_MAX */
    T_CHECK(t, gguf_kv_num(gguf_find_kv(f, "t.u64"), 0, &d) && d == 9223372036854775808.0);
    const gguf_kv *arr = gguf_find_kv(f, "t.arr_i32");
    T_CHECK(t, arr && arr->type == GGUF_V_ARR && arr->arr_type == GGUF_V_I32 && arr->n == 3);
    T_CHECK(t, gguf_kv_int(arr, 1, &i) && i == -2);
    T_CHECK(t, !gguf_kv_int(arr, 3, &i));
    const gguf_kv *as = gguf_find_kv(f, "t.arr_str");
    T_CHECK(t, gguf_kv_str(as, 2, &s) && s.len == 3 && memcmp(s.ptr, "xyz", 3) == 0);
    T_CHECK(t, gguf_kv_str(as, 1, &s) && s.len == 0);
    T_CHECK(t, !gguf_kv_str(as, 3, &s) && !gguf_kv_str(NULL, 0, &s));
    T_CHECK(t, gguf_find_kv(f, "nope") == NULL && gguf_find_tensor(f, "nope") == NULL);
    const gguf_tensor *a = gguf_find_tensor(f, "a"), *q = gguf_find_tensor(f, "b");
    if (T_CHECK(t, a && q)) {
        T_CHECK(t, a->type == GGUF_T_F32 && a->ndim == 2 && a->ne[0] == 4 && a->ne[1] == 2);
        T_CHECK(t, a->numel == 8 && a->nbytes == 32 && a->offset == 0);
        float v;
        memcpy(&v, (const uint8_t *)a->data + 4 * 5, 4);
        T_CHECK(t, v == 5.0f);
        T_CHECK(t, q->type == GGUF_T_Q8_0 && q->nbytes == 34 && q->numel == 32);
        T_CHECK(t, (const uint8_t *)q->data - (const uint8_t *)a->data == 32);
        T_CHECK(t, (size_t)((const uint8_t *)q->data - b.p) + 34 == b.n);
    }
    gguf_close(f);
    gguf_close(NULL);
    free(b.p);
}

void test_gguf_version2_and_alignment(tctx *t)
{
    gb b = {0};
    tspec ts[2] = {STD[0], STD[1]};
    ts[1].offset = 64;
    build(&b, 2, 64, ts, 2);
    gguf_file *f;
    abl_err e = {0};
    if (T_CHECK(t, gguf_open_mem(&f, b.p, b.n, "v2.gguf", &e) == ABL_OK)) {
        T_CHECK(t, gguf_version(f) == 2 && gguf_alignment(f) == 64);
        const gguf_tensor *a = gguf_find_tensor(f, "a");
        T_CHECK(t, a && (size_t)((const uint8_t *)a->data - b.p) % 64 == 0);
        gguf_close(f);
    } else {
        t_fail(t, "%s", e.msg);
    }
    /* offset 32 is not a multiple of 64 */
    ts[1].offset = 32;
    build(&b, 3, 64, ts, 2);
    expect_fail(t, &b, ABL_E_FORMAT, "aligned to 64", "offset not aligned to general.alignment");
    /* alignment 48 is not a power of two */
    build(&b, 3, 48, STD, 2);
    expect_fail(t, &b, ABL_E_FORMAT, "power of two", "alignment 48");
    free(b.p);
}

void test_gguf_open_from_path(tctx *t)
{
    char path[512];
    snprintf(path, sizeof path, "%s/m.gguf", t_tmpdir(t));
    gb b = {0};
    build(&b, 3, 0, STD, 2);
    FILE *fp = fopen(path, "wb");
    T_CHECK(t, fp && fwrite(b.p, 1, b.n, fp) == b.n);
    if (fp)
        fclose(fp);
    gguf_file *f;
    abl_err e = {0};
    T_CHECK(t, gguf_open(&f, path, &e) == ABL_OK);
    if (f) {
        T_CHECK(t, strcmp(gguf_name(f), path) == 0 && gguf_tensor_count(f) == 2);
        gguf_close(f);
    }
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none.gguf", t_tmpdir(t));
    T_CHECK(t, gguf_open(&f, missing, &e) == ABL_E_IO && !f && strstr(e.msg, "none.gguf"));
    T_CHECK(t, gguf_open(&f, t_tmpdir(t), &e) == ABL_E_IO && !f);
    fp = fopen(path, "wb");
    if (fp)
        fclose(fp); /* now empty */
    T_CHECK(t, gguf_open(&f, path, &e) == ABL_E_FORMAT && !f && strstr(e.msg, "magic"));
    t_note(t, "empty file -> %s", e.msg);
    free(b.p);
}

/* ---- malformed files ----------------------------------------------------------------------- */

void test_gguf_rejects_bad_header(tctx *t)
{
    gb b = {0};
    build(&b, 3, 0, STD, 2);
    b.p[0] = 'X';
    expect_fail(t, &b, ABL_E_FORMAT, "magic", "bad magic");
    build(&b, 1, 0, STD, 2);
    expect_fail(t, &b, ABL_E_UNSUPPORTED, "version 1", "version 1");
    build(&b, 3, 0, STD, 2);
    patch(&b, 4, 0x03000000u, 4);
    expect_fail(t, &b, ABL_E_UNSUPPORTED, "big-endian", "big-endian file");
    build(&b, 3, 0, STD, 2);
    patch(&b, 8, (uint64_t)1 << 62, 8);
    expect_fail(t, &b, ABL_E_FORMAT, "counts that fit", "huge tensor count");
    build(&b, 3, 0, STD, 2);
    patch(&b, 16, 0xffffffffffffull, 8);
    expect_fail(t, &b, ABL_E_FORMAT, "counts that fit", "huge key count");
    gb tiny = {0};
    gb_put(&tiny, "GGUF\3\0\0", 7);
    expect_fail(t, &tiny, ABL_E_FORMAT, "truncated", "7-byte file");
    free(tiny.p);
    free(b.p);
}

void test_gguf_rejects_bad_metadata(tctx *t)
{
    gb b = {0};
    build(&b, 3, 0, STD, 2);
    patch(&b, 24, (uint64_t)1 << 40, 8); /* first key's length */
    expect_fail(t, &b, ABL_E_FORMAT, "a length of", "key length past the end");
    build(&b, 3, 0, STD, 2);
    patch(&b, 24, 0, 8);
    expect_fail(t, &b, ABL_E_FORMAT, "non-empty metadata key", "empty key");
    build(&b, 3, 0, STD, 2);
    patch(&b, after(&b, "general.architecture") + 4, b.n, 8); /* its string value's length */
    expect_fail(t, &b, ABL_E_FORMAT, "general.architecture", "string value past the end");
    build(&b, 3, 0, STD, 2);
    patch(&b, after(&b, "t.u32"), 13, 4);
    expect_fail(t, &b, ABL_E_FORMAT, "value type 13", "unknown value type");
    build(&b, 3, 0, STD, 2);
    patch(&b, after(&b, "t.arr_i32") + 4, GGUF_V_ARR, 4);
    expect_fail(t, &b, ABL_E_UNSUPPORTED, "nested array", "nested array");
    build(&b, 3, 0, STD, 2);
    patch(&b, after(&b, "t.arr_i32") + 4, 77, 4);
    expect_fail(t, &b, ABL_E_FORMAT, "element type 77", "unknown array element type");
    build(&b, 3, 0, STD, 2);
    patch(&b, after(&b, "t.arr_i32") + 8, (uint64_t)1 << 61, 8);
    expect_fail(t, &b, ABL_E_FORMAT, "past the end", "huge array count");
    build(&b, 3, 0, STD, 2);
    patch(&b, after(&b, "t.arr_str") + 8, (uint64_t)1 << 60, 8);
    expect_fail(t, &b, ABL_E_FORMAT, "strings in", "huge string array count");
    build(&b, 3, 0, STD, 2);
    patch(&b, after(&b, "t.bool") + 4, 2, 1);
    expect_fail(t, &b, ABL_E_FORMAT, "bool 0 or 1", "bool value 2");
    build(&b, 3, 0, STD, 2);
    memcpy(b.p + after(&b, "t.f64") - 3, "u32", 3); /* "t.f64" becomes a second "t.u32" */
    expect_fail(t, &b, ABL_E_FORMAT, "'t.u32' twice", "duplicate key");
    free(b.p);
}

void test_gguf_rejects_bad_tensors(tctx *t)
{
    gb b = {0};
    tspec ts[2];
    memcpy(ts, STD, sizeof ts);
    ts[1].type = 16; /* IQ2_XXS: a real ggml type we do not implement */
    build(&b, 3, 0, ts, 2);
    expect_fail(t, &b, ABL_E_UNSUPPORTED, "type number 16", "unsupported tensor type");
    ts[1].type = 4000000000u;
    build(&b, 3, 0, ts, 2);
    expect_fail(t, &b, ABL_E_UNSUPPORTED, "type number 4000000000", "unknown tensor type");
    memcpy(ts, STD, sizeof ts);
    ts[1].ne[0] = 16; /* Q8_0 rows need a multiple of 32 */
    build(&b, 3, 0, ts, 2);
    expect_fail(t, &b, ABL_E_FORMAT, "multiple of the block", "row not a block multiple");
    memcpy(ts, STD, sizeof ts);
    ts[0].ndim = 5;
    build(&b, 3, 0, ts, 2);
    expect_fail(t, &b, ABL_E_FORMAT, "1 to 4 dimensions", "5 dimensions");
    memcpy(ts, STD, sizeof ts);
    ts[0].ne[0] = ts[0].ne[1] = (uint64_t)1 << 20;
    build(&b, 3, 0, ts, 2);
    expect_fail(t, &b, ABL_E_FORMAT, "past the end of the file", "tensor larger than the file");
    ts[0].ne[0] = ts[0].ne[1] = (uint64_t)1 << 62;
    build(&b, 3, 0, ts, 2);
    expect_fail(t, &b, ABL_E_FORMAT, "64 bits", "element count overflow");
    memcpy(ts, STD, sizeof ts);
    ts[1].offset = 40;
    build(&b, 3, 0, ts, 2);
    expect_fail(t, &b, ABL_E_FORMAT, "aligned to 32", "unaligned offset");
    memcpy(ts, STD, sizeof ts);
    ts[0].ne[1] = 16; /* "a" now spans 256 bytes and runs over "b" at 32 */
    ts[1].offset = 32;
    build(&b, 3, 0, ts, 2);
    expect_fail(t, &b, ABL_E_FORMAT, "overlapping", "overlapping tensors");
    memcpy(ts, STD, sizeof ts);
    ts[1].offset = (uint64_t)1 << 50;
    build(&b, 3, 0, ts, 2);
    expect_fail(t, &b, ABL_E_FORMAT, "past the end", "offset past the end");
    memcpy(ts, STD, sizeof ts);
    ts[1].name = "a";
    build(&b, 3, 0, ts, 2);
    expect_fail(t, &b, ABL_E_FORMAT, "'a' twice", "duplicate tensor name");
    free(b.p);
}

/* Every proper prefix of a valid file must be rejected cleanly (the data runs to the end). */
void test_gguf_truncated_everywhere(tctx *t)
{
    gb b = {0};
    build(&b, 3, 0, STD, 2);
    int bad = 0;
    for (size_t n = 0; n < b.n; n++) {
        gguf_file *f;
        abl_err e = {0};
        uint8_t *copy = malloc(n ? n : 1); /* exact-size copy so ASan sees any over-read */
        memcpy(copy, b.p, n);
        abl_status s = gguf_open_mem(&f, copy, n, "cut.gguf", &e);
        if (s != ABL_E_FORMAT || f || !e.msg[0]) {
            bad++;
            if (bad == 1)
                t_fail(t, "prefix of %zu bytes: got %s (%s)", n, abl_status_name(s), e.msg);
        }
        if (!s)
            gguf_close(f);
        free(copy);
    }
    t_note(t, "%zu prefixes checked, %d not rejected as format errors", b.n, bad);
    free(b.p);
}

/* Random byte corruption of a valid file: never a crash or over-read; accepted files must have
 * their tensors inside the buffer. Deterministic generator. */
void test_gguf_random_corruption(tctx *t)
{
    gb b = {0};
    build(&b, 3, 0, STD, 2);
    uint8_t *copy = malloc(b.n);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int accepted = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(copy, b.p, b.n);
        int flips = 1 + it % 4;
        for (int k = 0; k < flips; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = (size_t)(x % (b.n - 66)); /* the header and infos, not the data */
            copy[at] = (uint8_t)(x >> 32);
        }
        gguf_file *f;
        abl_err e = {0};
        if (gguf_open_mem(&f, copy, b.n, "rnd.gguf", &e) == ABL_OK) {
            accepted++;
            for (int i = 0; i < gguf_tensor_count(f); i++) {
                const gguf_tensor *tt = gguf_tensor_at(f, i);
                const uint8_t *p = tt->data;
                if (p < copy || p + tt->nbytes > copy + b.n)
                    t_fail(t, "tensor '%s' outside the buffer", tt->name);
            }
            for (int i = 0; i < gguf_kv_count(f); i++) {
                const gguf_kv *kv = gguf_kv_at(f, i);
                int64_t v;
                double d;
                gguf_str s;
                for (uint64_t j = 0; j < kv->n && j < 8; j++)
                    (void)(gguf_kv_int(kv, j, &v) + gguf_kv_num(kv, j, &d) +
                           gguf_kv_str(kv, j, &s));
            }
            gguf_close(f);
        } else if (!e.msg[0]) {
            t_fail(t, "error without a message at iteration %d", it);
        }
    }
    t_note(t, "3000 corrupted files, %d still valid", accepted);
    free(copy);
    free(b.p);
}

/* ---- Q/K un-permutation ------------------------------------------------------------------------ */

void test_gguf_unpermute_qk(tctx *t)
{
    /* head_dim 4: GGUF rows (0,1,2,3) hold HF rows (0,2,1,3) -- literal from the definition
     * "GGUF row 2j+a is HF row a*Dh/2+j" */
    const int64_t want4[] = {0, 2, 1, 3, 4, 6, 5, 7};
    for (int r = 0; r < 8; r++)
        T_CHECK(t, gguf_unpermute_row(r, 4) == want4[r]);
    /* head_dim 8, 3 heads: llama.cpp permutes HF rows with reshape(H, 2, Dh/2).swapaxes(1, 2);
     * rebuild that forward permutation independently and check the inverse maps it back. */
    enum { H = 3, DH = 8, COLS = 4, ROWS = H * DH };
    float hf[ROWS * COLS], gg[ROWS * COLS], back[ROWS * COLS];
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++)
            hf[r * COLS + c] = (float)(r * 100 + c);
    for (int h = 0; h < H; h++)
        for (int a = 0; a < 2; a++)
            for (int j = 0; j < DH / 2; j++) {
                int src = h * DH + a * (DH / 2) + j;  /* index (h, a, j) of the HF view */
                int dst = h * DH + j * 2 + a;         /* after swapaxes: (h, j, a) */
                memcpy(&gg[dst * COLS], &hf[src * COLS], sizeof(float) * COLS);
            }
    gguf_tensor tt = {.name = "q", .type = GGUF_T_F32, .ndim = 2, .ne = {COLS, ROWS, 1, 1},
                      .numel = ROWS * COLS, .nbytes = sizeof gg, .data = gg};
    abl_err e = {0};
    T_CHECK(t, gguf_dequant_matrix(&tt, H, back, &e) == ABL_OK);
    T_CHECK(t, memcmp(back, hf, sizeof hf) == 0);
    T_CHECK(t, memcmp(gg, hf, sizeof hf) != 0); /* the permutation did move rows */
    T_CHECK(t, gguf_dequant_matrix(&tt, 0, back, &e) == ABL_OK && memcmp(back, gg, sizeof gg) == 0);
    T_CHECK(t, gguf_dequant_matrix(&tt, 5, back, &e) == ABL_E_SHAPE); /* 24 rows, 5 heads */
    t_note(t, "rows permuted for H=%d Dh=%d and restored exactly", H, DH);
}

/* ---- converter, end to end ------------------------------------------------------------------------ */

/* A tiny llama GGUF (L=1, D=8, H=2, Hkv=1, Dh=4, F=4, V=6), all F32; tensor i holds
 * i*10000 + row*100 + col, so the converted layout can be checked exactly. with_output adds an
 * untied output.weight. */
static void build_llama(gb *b, int with_output)
{
    enum { D = 8, H = 2, HKV = 1, DH = 4, F = 4, V = 6 };
    static const char *toks[V] = {"<|endoftext|>", "<|im_start|>", "a", "b", "ab", "Ġ"};
    static const int32_t types[V] = {3, 3, 1, 1, 1, 1};
    struct { const char *name; int64_t rows, cols; } tl[] = {
        {"token_embd.weight", V, D}, {"blk.0.attn_norm.weight", 0, D},
        {"blk.0.attn_q.weight", H * DH, D}, {"blk.0.attn_k.weight", HKV * DH, D},
        {"blk.0.attn_v.weight", HKV * DH, D}, {"blk.0.attn_output.weight", D, H * DH},
        {"blk.0.ffn_norm.weight", 0, D}, {"blk.0.ffn_gate.weight", F, D},
        {"blk.0.ffn_up.weight", F, D}, {"blk.0.ffn_down.weight", D, F},
        {"output_norm.weight", 0, D}, {"output.weight", V, D},
    };
    int nt = with_output ? 12 : 11;
    b->n = 0;
    gb_put(b, "GGUF", 4);
    gb_le(b, 3, 4);
    gb_le(b, (uint64_t)nt, 8);
    gb_le(b, 17, 8);
    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_u32(b, "llama.block_count", 1);
    gb_kv_u32(b, "llama.embedding_length", D);
    gb_kv_u32(b, "llama.feed_forward_length", F);
    gb_kv_u32(b, "llama.attention.head_count", H);
    gb_kv_u32(b, "llama.attention.head_count_kv", HKV);
    gb_kv_u32(b, "llama.context_length", 64);
    gb_str(b, "llama.rope.freq_base"); gb_le(b, GGUF_V_F32, 4); gb_f32(b, 100000.0f);
    gb_str(b, "llama.attention.layer_norm_rms_epsilon"); gb_le(b, GGUF_V_F32, 4); gb_f32(b, 1e-5f);
    gb_kv_str(b, "tokenizer.ggml.model", "gpt2");
    gb_kv_str(b, "tokenizer.ggml.pre", "smollm");
    gb_str(b, "tokenizer.ggml.tokens"); gb_le(b, GGUF_V_ARR, 4); gb_le(b, GGUF_V_STR, 4);
    gb_le(b, V, 8);
    for (int i = 0; i < V; i++)
        gb_str(b, toks[i]);
    gb_str(b, "tokenizer.ggml.token_type"); gb_le(b, GGUF_V_ARR, 4); gb_le(b, GGUF_V_I32, 4);
    gb_le(b, V, 8);
    for (int i = 0; i < V; i++)
        gb_le(b, (uint32_t)types[i], 4);
    gb_str(b, "tokenizer.ggml.merges"); gb_le(b, GGUF_V_ARR, 4); gb_le(b, GGUF_V_STR, 4);
    gb_le(b, 1, 8);
    gb_str(b, "a b");
    gb_kv_u32(b, "tokenizer.ggml.bos_token_id", 1);
    gb_kv_u32(b, "tokenizer.ggml.eos_token_id", 0);
    gb_kv_str(b, "tokenizer.chat_template", "{{ \"quote\\\" \" }}\n");
    uint64_t off = 0;
    for (int i = 0; i < nt; i++) {
        gb_str(b, tl[i].name);
        gb_le(b, tl[i].rows ? 2 : 1, 4);
        gb_le(b, (uint64_t)tl[i].cols, 8);
        if (tl[i].rows)
            gb_le(b, (uint64_t)tl[i].rows, 8);
        gb_le(b, GGUF_T_F32, 4);
        gb_le(b, off, 8);
        off += (uint64_t)((tl[i].rows ? tl[i].rows : 1) * tl[i].cols * 4 + 31) / 32 * 32;
    }
    while (b->n % 32)
        gb_le(b, 0, 1);
    for (int i = 0; i < nt; i++) {
        size_t start = b->n;
        int64_t rows = tl[i].rows ? tl[i].rows : 1;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < tl[i].cols; c++)
                gb_f32(b, (float)(i * 10000 + r * 100 + c));
        while ((b->n - start) % 32)
            gb_le(b, 0, 1);
    }
}

static char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, fp) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) {
        buf[len] = 0;
        *n = (size_t)len;
    }
    return buf;
}

static const json_val *jget_path(const json_val *v, const char *a, const char *b)
{
    v = json_get(v, a);
    return b ? json_get(v, b) : v;
}

void test_gguf_convert_tiny_llama(tctx *t)
{
    char in[512], out[512], p[600];
    snprintf(in, sizeof in, "%s/tiny.gguf", t_tmpdir(t));
    snprintf(out, sizeof out, "%s/hf", t_tmpdir(t));
    gb b = {0};
    build_llama(&b, 0);
    FILE *fp = fopen(in, "wb");
    T_CHECK(t, fp && fwrite(b.p, 1, b.n, fp) == b.n);
    if (fp)
        fclose(fp);
    abl_err e = {0};
    if (!T_CHECK(t, gguf_convert_hf(in, out, 0, &e) == ABL_OK)) {
        t_fail(t, "%s", e.msg);
        free(b.p);
        return;
    }
    /* config.json */
    size_t n = 0;
    snprintf(p, sizeof p, "%s/config.json", out);
    char *txt = slurp(p, &n);
    json_doc *doc = NULL;
    if (T_CHECK(t, txt && json_parse(&doc, txt, n, "config.json", &e) == ABL_OK)) {
        const json_val *r = json_root(doc);
        int64_t i;
        double d;
        bool tied = false;
        T_CHECK(t, json_as_int(json_get(r, "hidden_size"), &i) && i == 8);
        T_CHECK(t, json_as_int(json_get(r, "num_key_value_heads"), &i) && i == 1);
        T_CHECK(t, json_as_int(json_get(r, "head_dim"), &i) && i == 4);
        T_CHECK(t, json_as_int(json_get(r, "vocab_size"), &i) && i == 6);
        T_CHECK(t, json_as_num(json_get(r, "rope_theta"), &d) && d == 100000.0);
        T_CHECK(t, json_as_num(json_get(r, "rms_norm_eps"), &d) && (float)d == 1e-5f);
        T_CHECK(t, json_as_bool(json_get(r, "tie_word_embeddings"), &tied) && tied);
        T_CHECK(t, json_as_int(json_get(r, "bos_token_id"), &i) && i == 1);
    }
    json_free(doc);
    free(txt);
    /* tokenizer.json */
    snprintf(p, sizeof p, "%s/tokenizer.json", out);
    txt = slurp(p, &n);
    doc = NULL;
    if (T_CHECK(t, txt && json_parse(&doc, txt, n, "tokenizer.json", &e) == ABL_OK)) {
        const json_val *r = json_root(doc), *m = json_get(r, "model");
        int64_t i;
        const char *s = json_as_str(json_get(m, "type"));
        T_CHECK(t, s && strcmp(s, "BPE") == 0);
        T_CHECK(t, json_as_int(jget_path(m, "vocab", "ab"), &i) && i == 4);
        T_CHECK(t, json_as_int(jget_path(m, "vocab", "\xc4\xa0"), &i) && i == 5);
        const json_val *merges = json_get(m, "merges"), *added = json_get(r, "added_tokens");
        T_CHECK(t, merges && merges->len == 1 && strcmp(json_as_str(&merges->kids[0]), "a b") == 0);
        T_CHECK(t, added && added->len == 2);
        const json_val *pre = json_get(json_get(r, "pre_tokenizer"), "pretokenizers");
        T_CHECK(t, pre && pre->len == 2);
    }
    json_free(doc);
    free(txt);
    snprintf(p, sizeof p, "%s/tokenizer_config.json", out);
    txt = slurp(p, &n);
    doc = NULL;
    if (T_CHECK(t, txt && json_parse(&doc, txt, n, "tokenizer_config.json", &e) == ABL_OK)) {
        const char *tmpl = json_as_str(json_get(json_root(doc), "chat_template"));
        T_CHECK(t, tmpl && strcmp(tmpl, "{{ \"quote\\\" \" }}\n") == 0);
        const char *bos = json_as_str(json_get(json_root(doc), "bos_token"));
        T_CHECK(t, bos && strcmp(bos, "<|im_start|>") == 0);
    }
    json_free(doc);
    free(txt);
    /* model.safetensors: names, shapes, q/k rows un-permuted */
    st_file *sf = NULL;
    if (T_CHECK(t, st_open(&sf, out, &e) == ABL_OK)) {
        T_CHECK(t, st_count(sf) == 11 && st_find(sf, "lm_head.weight") == NULL);
        const st_tensor *q = st_find(sf, "model.layers.0.self_attn.q_proj.weight");
        const st_tensor *k = st_find(sf, "model.layers.0.self_attn.k_proj.weight");
        const st_tensor *o = st_find(sf, "model.layers.0.self_attn.o_proj.weight");
        const st_tensor *nw = st_find(sf, "model.norm.weight");
        if (T_CHECK(t, q && k && o && nw)) {
            T_CHECK(t, q->ndim == 2 && q->shape[0] == 8 && q->shape[1] == 8);
            T_CHECK(t, o->shape[0] == 8 && o->shape[1] == 8 && nw->ndim == 1);
            const float *qd = q->data, *kd = k->data, *od = o->data;
            /* GGUF q (tensor index 2) row 1 = (j 0, a 1) -> HF row 2; row 5 -> HF row 6 */
            T_CHECK(t, qd[2 * 8 + 3] == 20103.0f && qd[6 * 8] == 20500.0f);
            T_CHECK(t, qd[1 * 8] == 20200.0f && qd[0] == 20000.0f);
            T_CHECK(t, kd[2 * 8] == 30100.0f && kd[3 * 8 + 7] == 30307.0f);
            T_CHECK(t, od[1 * 8 + 2] == 50102.0f); /* o_proj is not permuted */
        }
        st_close(sf);
    } else {
        t_fail(t, "%s", e.msg);
    }
    /* a second conversion into the same folder is refused and changes nothing */
    T_CHECK(t, gguf_convert_hf(in, out, 0, &e) == ABL_E_ARG && strstr(e.msg, "remove it"));
    /* untied: lm_head.weight appears, and a broken input leaves no output folder */
    snprintf(out, sizeof out, "%s/hf2", t_tmpdir(t));
    build_llama(&b, 1);
    fp = fopen(in, "wb");
    T_CHECK(t, fp && fwrite(b.p, 1, b.n, fp) == b.n);
    if (fp)
        fclose(fp);
    T_CHECK(t, gguf_convert_hf(in, out, 0, &e) == ABL_OK);
    if (st_open(&sf, out, &e) == ABL_OK) {
        T_CHECK(t, st_find(sf, "lm_head.weight") != NULL);
        st_close(sf);
    }
    snprintf(out, sizeof out, "%s/hf3", t_tmpdir(t));
    memcpy(b.p + after(&b, "llama.block_count") + 4, "\x02", 1); /* 2 layers, 1 present */
    fp = fopen(in, "wb");
    T_CHECK(t, fp && fwrite(b.p, 1, b.n, fp) == b.n);
    if (fp)
        fclose(fp);
    T_CHECK(t, gguf_convert_hf(in, out, 0, &e) == ABL_E_FORMAT && strstr(e.msg, "missing"));
    t_note(t, "missing tensor -> %s", e.msg);
    struct stat st;
    T_CHECK(t, stat(out, &st) != 0);
    snprintf(p, sizeof p, "%s.tmp.%d", out, (int)getpid());
    T_CHECK(t, stat(p, &st) != 0);
    free(b.p);
}

static uint64_t fnv1a64(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* The converted real model: rows of model.safetensors hash like gguf-py's dequantization of the
 * matching GGUF rows (tests/golden/dequant_rows.tsv), q/k rows at their un-permuted index. */
void mtest_gguf_converted_model_rows(tctx *t)
{
    static const struct { const char *gg, *hf; int qk; } MAP[] = {
        {"token_embd.weight", "model.embed_tokens.weight", 0},
        {"blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight", 1},
        {"blk.0.attn_k.weight", "model.layers.0.self_attn.k_proj.weight", 1},
        {"blk.29.ffn_down.weight", "model.layers.29.mlp.down_proj.weight", 0},
        {"output_norm.weight", "model.norm.weight", 0},
    };
    st_file *f = NULL;
    abl_err e = {0};
    if (st_open(&f, "models/smollm2-135m-instruct", &e) != ABL_OK) {
        t_skip(t, "models/smollm2-135m-instruct missing (run `make model`)");
        return;
    }
    T_CHECK(t, st_count(f) == 272 && st_find(f, "lm_head.weight") == NULL);
    FILE *fp = fopen("tests/golden/dequant_rows.tsv", "r");
    T_CHECK(t, fp != NULL);
    char line[512];
    int rows = 0;
    while (fp && fgets(line, sizeof line, fp)) {
        char name[128];
        long long row, ne;
        unsigned long long want;
        if (line[0] == '#' || sscanf(line, "%127s %lld %lld %llx", name, &row, &ne, &want) != 4)
            continue;
        size_t k = 0;
        while (k < sizeof MAP / sizeof *MAP && strcmp(MAP[k].gg, name) != 0)
            k++;
        if (!T_CHECK(t, k < sizeof MAP / sizeof *MAP))
            continue;
        const st_tensor *st = st_find(f, MAP[k].hf);
        long long hf_row = MAP[k].qk ? gguf_unpermute_row(row, 64) : row;
        if (!T_CHECK(t, st && st->dtype == ST_F32 && st->shape[st->ndim - 1] == ne))
            continue;
        uint64_t h = fnv1a64((const float *)st->data + hf_row * ne, sizeof(float) * (size_t)ne);
        if (h != want)
            t_fail(t, "%s row %lld: hash %016llx, want %016llx (GGUF %s row %lld)", MAP[k].hf,
                   hf_row, (unsigned long long)h, want, name, row);
        t_note(t, "%s row %lld == %s row %lld: %s", MAP[k].hf, hf_row, name, row,
               h == want ? "bit-exact" : "MISMATCH");
        rows++;
    }
    if (fp)
        fclose(fp);
    T_CHECK(t, rows == 6);
    st_close(f);
}
