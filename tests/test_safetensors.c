/* tests/test_safetensors.c - the safetensors reader: a tiny writer makes valid and malformed
 * files; each malformed variant must give its own error, never a crash. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../loader/safetensors.h"
#include "t.h"

/* Write an 8-byte little-endian length (hlen_field), the header bytes, then data. */
static int write_raw(const char *path, uint64_t hlen_field, const char *hdr, size_t hlen,
                     const void *data, size_t dlen)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return 0;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(hlen_field >> (8 * i));
    int ok = fwrite(le, 1, 8, fp) == 8 && fwrite(hdr, 1, hlen, fp) == hlen &&
             (dlen == 0 || fwrite(data, 1, dlen, fp) == dlen);
    return fclose(fp) == 0 && ok;
}

/* Write a well-framed file: header padded with spaces to `align` bytes (1: no padding). */
static int write_st(const char *path, const char *hdr, size_t align, const void *data, size_t dlen)
{
    size_t n = strlen(hdr), padded = (n + align - 1) / align * align;
    char *h = malloc(padded + 1);
    memcpy(h, hdr, n);
    memset(h + n, ' ', padded - n);
    int ok = write_raw(path, padded, h, padded, data, dlen);
    free(h);
    return ok;
}

static const char *tpath(tctx *t, const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", t_tmpdir(t), name);
    return buf;
}

/* 36 data bytes: a F32 (2,3), b F16 (4), c BF16 (2). */
static void sample_data(unsigned char *d)
{
    float a[6] = {1, -2, 3.5f, 0, 1e-3f, -7};
    uint16_t b[4] = {0x3c00, 0xc000, 0x0001, 0x7c00};   /* 1, -2, 2^-24, +inf */
    uint16_t c[2] = {0x3f80, 0xff80};                   /* 1, -inf */
    memcpy(d, a, 24);
    memcpy(d + 24, b, 8);
    memcpy(d + 32, c, 4);
}

#define GOOD_HDR "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,3]," \
                 "\"data_offsets\":[0,24]},\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":" \
                 "[24,32]},\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[32,36]}}"

void test_safetensors_valid_file(tctx *t)
{
    unsigned char d[36];
    sample_data(d);
    const char *p = tpath(t, "m.safetensors");
    T_CHECK(t, write_st(p, GOOD_HDR, 8, d, sizeof d));
    st_file *f = NULL;
    abl_err e = {0};
    if (!T_CHECK(t, st_open(&f, p, &e) == ABL_OK)) {
        t_fail(t, "%s", e.msg);
        return;
    }
    T_CHECK(t, st_count(f) == 3);
    T_CHECK(t, strcmp(st_at(f, 0)->name, "a") == 0 && strcmp(st_at(f, 2)->name, "c") == 0);
    const st_tensor *a = st_find(f, "a"), *b = st_find(f, "b"), *c = st_find(f, "c");
    T_CHECK(t, a && b && c && !st_find(f, "z") && !st_find(f, "__metadata__"));
    T_CHECK(t, a->dtype == ST_F32 && a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 3);
    T_CHECK(t, a->numel == 6 && a->nbytes == 24 && b->numel == 4 && c->nbytes == 4);
    T_CHECK(t, st_metadata(f, "format") && strcmp(st_metadata(f, "format"), "pt") == 0);
    T_CHECK(t, st_metadata(f, "nope") == NULL);
    const float *x;
    float *own;
    T_CHECK(t, st_read_f32(a, &x, &own, &e) == ABL_OK && own == NULL && x == a->data);
    T_CHECK(t, x[2] == 3.5f && x[5] == -7);
    T_CHECK(t, st_read_f32(b, &x, &own, &e) == ABL_OK && own != NULL);
    T_CHECK(t, x[0] == 1 && x[1] == -2 && x[2] == ldexpf(1, -24) && isinf(x[3]) && x[3] > 0);
    free(own);
    T_CHECK(t, st_read_f32(c, &x, &own, &e) == ABL_OK && x[0] == 1 && isinf(x[1]) && x[1] < 0);
    free(own);
    T_CHECK(t, strcmp(st_dtype_name(ST_BF16), "BF16") == 0 && st_dtype_size(ST_F64) == 8);
    st_close(f);
    st_close(NULL);
}

void test_safetensors_unaligned_f32_is_copied(tctx *t)
{
    unsigned char d[36];
    sample_data(d);
    const char *p = tpath(t, "u.safetensors");
    /* header length odd: data starts at an odd address */
    const char *h = GOOD_HDR;
    size_t n = strlen(h);
    char *hh = malloc(n + 8);
    memcpy(hh, h, n);
    memcpy(hh + n, "   ", 3);
    size_t hl = n + ((n % 2) ? 0 : 1);
    T_CHECK(t, write_raw(p, hl, hh, hl, d, sizeof d));
    free(hh);
    st_file *f = NULL;
    abl_err e = {0};
    if (!T_CHECK(t, st_open(&f, p, &e) == ABL_OK))
        return;
    const float *x;
    float *own;
    const st_tensor *a = st_find(f, "a");
    T_CHECK(t, ((uintptr_t)a->data & 3) != 0);
    T_CHECK(t, st_read_f32(a, &x, &own, &e) == ABL_OK && own != NULL && x == own);
    float want[6] = {1, -2, 3.5f, 0, 1e-3f, -7};
    t_close_f32(t, "unaligned f32", x, want, 6, 0, 0);
    free(own);
    st_close(f);
}

/* Every F16 value against an independent formula; every BF16 exponent/mantissa class. */
void test_safetensors_half_conversion_exact(tctx *t)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        double ref;
        if (e == 31)
            ref = m ? NAN : INFINITY;
        else if (e == 0)
            ref = ldexp(m, -24);
        else
            ref = ldexp(1024 + m, e - 25);
        if (s)
            ref = -ref;
        float got = st_f16_to_f32((uint16_t)h);
        int ok = isnan(ref) ? isnan(got) : ((double)got == ref && !!signbit(got) == s);
        if (isnan(ref)) {
            uint32_t bits;
            memcpy(&bits, &got, 4);
            ok = ok && ((bits >> 13) & 1023) == (uint32_t)m; /* payload kept */
        }
        if (!ok && !bad++)
            t_fail(t, "f16 0x%04x: got %.9g want %.9g", h, (double)got, ref);
    }
    for (uint32_t h = 0; h < 65536; h++) {
        float got = st_bf16_to_f32((uint16_t)h);
        int s = h >> 15, e = (h >> 7) & 255, m = h & 127;
        double ref = e == 255 ? (m ? NAN : INFINITY) : e == 0 ? ldexp(m, -133) : ldexp(128 + m, e - 134);
        if (s)
            ref = -ref;
        int ok = isnan(ref) ? isnan(got) : ((double)got == ref && !!signbit(got) == s);
        if (!ok && !bad++)
            t_fail(t, "bf16 0x%04x: got %.9g want %.9g", h, (double)got, ref);
    }
    t_note(t, "f16 and bf16: 2 x 65536 values checked, %d mismatches", bad);
}

/* Expect st_open on a file with this header/data to fail with `want` in the message. */
static void expect_bad_hdr(tctx *t, const char *hdr, size_t align, const void *data, size_t dlen,
                           const char *want)
{
    const char *p = tpath(t, "bad.safetensors");
    write_st(p, hdr, align, data, dlen);
    st_file *f = (st_file *)1;
    abl_err e = {0};
    abl_status st = st_open(&f, p, &e);
    if (st == ABL_OK) {
        t_fail(t, "accepted a bad file (want '%s')", want);
        st_close(f);
        return;
    }
    if (f != NULL)
        t_fail(t, "*out not NULL after failure");
    if (!strstr(e.msg, want) || !strstr(e.msg, "bad.safetensors"))
        t_fail(t, "want '%s', got '%s'", want, e.msg);
    if (strchr(e.msg, '\n'))
        t_fail(t, "message is not one line: %s", e.msg);
}

#define TX(dt, shape, offs) "\"x\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" offs "}"
#define T1(dt, shape, offs) "{" TX(dt, shape, offs) "}"

void test_safetensors_malformed_headers(tctx *t)
{
    unsigned char d[64] = {0};
    struct { const char *hdr; size_t dlen; const char *want; } cases[] = {
        {"[1,2]", 0, "expected a JSON object, found array"},
        {"{\"x\":", 0, "(header): byte"},
        {"{\"x\":1}", 0, "tensor 'x': expected an object"},
        {T1("F17", "[2]", "[0,8]"), 8, "unknown dtype 'F17'"},
        {T1("F8_E4M3", "[2]", "[0,2]"), 2, "unknown dtype"},
        {"{\"x\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "\"dtype\""},
        {T1("F32", "[2,3]", "[0,20]"), 20, "shape/size mismatch"},
        {T1("F32", "[2]", "[0,12]"), 12, "shape/size mismatch"},
        {T1("F32", "[-2]", "[0,8]"), 8, "non-negative"},
        {T1("F32", "[2.5]", "[0,8]"), 8, "non-negative integer"},
        {T1("F32", "2", "[0,8]"), 8, "\"shape\" array"},
        {T1("F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]"), 4, "at most 8"},
        {T1("F64", "[4294967296,4294967296]", "[0,8]"), 8, "overflows"},
        {T1("F32", "[9223372036854775807]", "[0,8]"), 8, "overflows"},
        {T1("F32", "[2]", "[8,0]"), 8, "0 <= begin <= end"},
        {T1("F32", "[2]", "[0]"), 8, "data_offsets"},
        {T1("F32", "[2]", "[-8,0]"), 8, "data_offsets"},
        {T1("F32", "[2]", "[0,8]"), 4, "run past the end of the data section"},
        {T1("F32", "[2]", "[100,108]"), 8, "run past the end"},
        {T1("F32", "[2]", "[0,18446744073709551615]"), 8, "data_offsets"},
        {T1("F32", "[2]", "[0,8]"), 12, "trailing bytes"},
        {T1("F32", "[2]", "[4,12]"), 12, "gap of 4 unused bytes"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8, "overlap"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16,
         "duplicate tensor name 'x'"},
        {"{\"\xff\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "valid UTF-8"},
        {"{\"a\\nb\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a\\x0ab'"},
        {"{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "NUL"},
        {"{\"__metadata__\":{\"k\":1}," TX("F32", "[2]", "[0,8]") "}", 8, "bad __metadata__"},
        {"{\"__metadata__\":[\"k\"]," TX("F32", "[2]", "[0,8]") "}", 8, "bad __metadata__"},
        {"{\"__metadata__\":{\"k\":null}}", 0, "bad __metadata__"},
    };
    for (size_t i = 0; i < ABL_ARRAY_LEN(cases); i++)
        expect_bad_hdr(t, cases[i].hdr, 8, d, cases[i].dlen, cases[i].want);
    /* an empty header object with no data is a valid (empty) file */
    const char *p = tpath(t, "empty.safetensors");
    write_st(p, "{}", 8, NULL, 0);
    st_file *f = NULL;
    abl_err e;
    T_CHECK(t, st_open(&f, p, &e) == ABL_OK && st_count(f) == 0 && !st_find(f, "x"));
    st_close(f);
    /* zero-size tensors and a scalar are fine */
    p = tpath(t, "z.safetensors");
    write_st(p, "{\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
                "\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}", 8, d, 8);
    T_CHECK(t, st_open(&f, p, &e) == ABL_OK && st_find(f, "s")->numel == 1 &&
               st_find(f, "e")->numel == 0 && st_find(f, "e")->ndim == 2);
    st_close(f);
}

void test_safetensors_bad_framing(tctx *t)
{
    const char *p = tpath(t, "f.safetensors");
    st_file *f = NULL;
    abl_err e = {0};
    unsigned char d[8] = {0};
    /* header length over the 100 MB limit */
    write_raw(p, 200000000ull, "{}", 2, NULL, 0);
    T_CHECK(t, st_open(&f, p, &e) == ABL_E_FORMAT && strstr(e.msg, "header too long"));
    /* header length past the end of the file */
    write_raw(p, 100, "{}", 2, NULL, 0);
    T_CHECK(t, st_open(&f, p, &e) == ABL_E_FORMAT && strstr(e.msg, "truncated"));
    write_raw(p, UINT64_MAX, "{}", 2, NULL, 0);
    T_CHECK(t, st_open(&f, p, &e) == ABL_E_FORMAT && strstr(e.msg, "header too long"));
    /* shorter than the length field */
    FILE *fp = fopen(p, "wb");
    fwrite("abc", 1, 3, fp);
    fclose(fp);
    T_CHECK(t, st_open(&f, p, &e) == ABL_E_FORMAT && strstr(e.msg, "truncated") &&
               strstr(e.msg, "found 3"));
    fp = fopen(p, "wb");
    fclose(fp);
    T_CHECK(t, st_open(&f, p, &e) == ABL_E_FORMAT && strstr(e.msg, "found 0"));
    /* data section cut short: the tensor runs past the end */
    write_st(p, T1("F32", "[2]", "[0,8]"), 8, d, 5);
    T_CHECK(t, st_open(&f, p, &e) == ABL_E_FORMAT && strstr(e.msg, "run past the end"));
    /* missing file and a directory without a model */
    T_CHECK(t, st_open(&f, tpath(t, "nope.safetensors"), &e) == ABL_E_IO &&
               strstr(e.msg, "cannot open"));
    T_CHECK(t, st_open(&f, t_tmpdir(t), &e) == ABL_E_IO && strstr(e.msg, "model.safetensors"));
    T_CHECK(t, st_open(&f, "", &e) == ABL_E_ARG);
    T_CHECK(t, f == NULL);
}

/* Two shards and an index: open through the folder; bad indexes give clear errors. */
void test_safetensors_sharded(tctx *t)
{
    const char *dir = t_tmpdir(t);
    char p[600];
    float a[2] = {1, 2}, b[3] = {3, 4, 5};
    snprintf(p, sizeof p, "%s/model-00001-of-00002.safetensors", dir);
    write_st(p, "{\"__metadata__\":{\"format\":\"pt\"},"
                "\"w.a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"w.z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}", 8, a, 8);
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", dir);
    write_st(p, "{\"w.b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", 8, b, 12);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    FILE *fp = fopen(p, "w");
    fputs("{\"metadata\":{\"total_size\":20},\"weight_map\":{\"w.a\":\"model-00001-of-00002."
          "safetensors\",\"w.b\":\"model-00002-of-00002.safetensors\",\"w.z\":\"model-00001-of-"
          "00002.safetensors\"}}", fp);
    fclose(fp);
    st_file *f = NULL;
    abl_err e = {0};
    if (!T_CHECK(t, st_open(&f, dir, &e) == ABL_OK)) {
        t_fail(t, "%s", e.msg);
        return;
    }
    T_CHECK(t, st_count(f) == 3);
    const st_tensor *tb = st_find(f, "w.b");
    T_CHECK(t, tb && tb->shard == 1 && ((const float *)tb->data)[2] == 5);
    T_CHECK(t, st_find(f, "w.a")->shard == 0 && st_metadata(f, "format"));
    st_close(f);
    /* the index file itself also works */
    T_CHECK(t, st_open(&f, p, &e) == ABL_OK && st_count(f) == 3);
    st_close(f);
    struct { const char *json, *want; } bad[] = {
        {"{\"weight_map\":{\"w.a\":\"model-00001-of-00002.safetensors\"}}", "'w.z' of"},
        {"{\"weight_map\":{\"w.a\":\"model-00001-of-00002.safetensors\",\"w.b\":\"model-00002-of-"
         "00002.safetensors\",\"w.c\":\"model-00002-of-00002.safetensors\"}}", "no shard holds it"},
        {"{\"weight_map\":{\"w.a\":\"../etc/passwd\"}}", "same folder"},
        {"{\"weight_map\":{\"w.a\":\"gone.safetensors\"}}", "cannot open"},
        {"{\"weight_map\":{}}", "non-empty \"weight_map\""},
        {"{\"weight_map\":{\"w.a\":\"model-00002-of-00002.safetensors\",\"w.b\":\"model-00002-of-"
         "00002.safetensors\",\"w.z\":\"model-00001-of-00002.safetensors\"}}", "weight_map puts 'w.a'"},
        {"{\"weight_map\":", "byte 14"},
    };
    for (size_t i = 0; i < ABL_ARRAY_LEN(bad); i++) {
        fp = fopen(p, "w");
        fputs(bad[i].json, fp);
        fclose(fp);
        abl_status st = st_open(&f, dir, &e);
        if (st == ABL_OK) {
            t_fail(t, "accepted bad index %s", bad[i].json);
            st_close(f);
        } else if (!strstr(e.msg, bad[i].want))
            t_fail(t, "index case %zu: want '%s', got '%s'", i, bad[i].want, e.msg);
    }
    /* the same tensor in two shards */
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", dir);
    write_st(p, "{\"w.a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", 8, b, 12);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    fp = fopen(p, "w");
    fputs("{\"weight_map\":{\"w.a\":\"model-00001-of-00002.safetensors\",\"w.b\":\"model-00002-of-"
          "00002.safetensors\"}}", fp);
    fclose(fp);
    T_CHECK(t, st_open(&f, dir, &e) == ABL_E_FORMAT && strstr(e.msg, "duplicate tensor name 'w.a'"));
}

/* Random byte flips and truncations of a valid file: must either open or fail, never crash. */
void test_safetensors_random_corruption(tctx *t)
{
    unsigned char d[36];
    sample_data(d);
    const char *p = tpath(t, "c.safetensors");
    write_st(p, GOOD_HDR, 8, d, sizeof d);
    FILE *fp = fopen(p, "rb");
    unsigned char buf[1024];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    uint64_t rng = 12345;
    int opened = 0, failed = 0;
    for (int it = 0; it < 400; it++) {
        unsigned char m[1024];
        memcpy(m, buf, n);
        size_t len = n;
        for (int k = 0; k < 3; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t pos = (size_t)(rng >> 33) % n;
            m[pos] = (unsigned char)(rng >> 20);
        }
        if (it % 4 == 0)
            len = (size_t)(rng >> 40) % n;
        fp = fopen(p, "wb");
        fwrite(m, 1, len, fp);
        fclose(fp);
        st_file *f = NULL;
        abl_err e = {0};
        if (st_open(&f, p, &e) == ABL_OK) {
            opened++;
            for (int i = 0; i < st_count(f); i++) {
                const float *x;
                float *own;
                if (st_read_f32(st_at(f, i), &x, &own, &e) == ABL_OK)
                    free(own);
            }
            st_close(f);
        } else {
            failed++;
            if (!e.msg[0] || strchr(e.msg, '\n'))
                t_fail(t, "iteration %d: empty or multi-line message '%s'", it, e.msg);
        }
    }
    t_note(t, "400 corrupted files: %d opened, %d rejected", opened, failed);
}

/* Integer, bool and F64 tensors convert to F32; st_copy_f32 fills a caller buffer. */
void test_safetensors_other_dtypes(tctx *t)
{
    unsigned char d[64];
    int64_t i64 = -5;
    double f64[2] = {1e300, 0.1};
    int8_t i8[2] = {-128, 127};
    memcpy(d, &i64, 8);
    d[8] = 1, d[9] = 0, d[10] = 255;  /* BOOL [1,0], U8 [255] */
    memcpy(d + 11, f64, 16);
    memcpy(d + 27, i8, 2);
    const char *p = tpath(t, "o.safetensors");
    write_st(p, "{\"i\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[8,10]},"
                "\"u\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[10,11]},"
                "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[11,27]},"
                "\"c\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[27,29]}}", 8, d, 29);
    st_file *f = NULL;
    abl_err e = {0};
    if (!T_CHECK(t, st_open(&f, p, &e) == ABL_OK)) {
        t_fail(t, "%s", e.msg);
        return;
    }
    float x[2];
    T_CHECK(t, st_copy_f32(st_find(f, "i"), x, 1, &e) == ABL_OK && x[0] == -5);
    T_CHECK(t, st_copy_f32(st_find(f, "b"), x, 2, &e) == ABL_OK && x[0] == 1 && x[1] == 0);
    T_CHECK(t, st_copy_f32(st_find(f, "u"), x, 1, &e) == ABL_OK && x[0] == 255);
    T_CHECK(t, st_copy_f32(st_find(f, "d"), x, 2, &e) == ABL_OK && isinf(x[0]) && x[1] == 0.1f);
    T_CHECK(t, st_copy_f32(st_find(f, "c"), x, 2, &e) == ABL_OK && x[0] == -128 && x[1] == 127);
    T_CHECK(t, st_copy_f32(st_find(f, "c"), x, 1, &e) == ABL_E_SHAPE && strstr(e.msg, "expected 1 elements, found 2"));
    st_close(f);
}

/* A file written by the official `safetensors` package (tools/golden/safetensors_golden.py),
 * read back and compared value by value with what numpy read (tests/golden/st_official.tsv). */
void test_safetensors_official_golden(tctx *t)
{
    st_file *f = NULL;
    abl_err e = {0};
    if (!T_CHECK(t, st_open(&f, "tests/golden/st_official.safetensors", &e) == ABL_OK)) {
        t_fail(t, "%s", e.msg);
        return;
    }
    FILE *fp = fopen("tests/golden/st_official.tsv", "r");
    if (!T_CHECK(t, fp != NULL)) {
        st_close(f);
        return;
    }
    T_CHECK(t, st_metadata(f, "format") && strcmp(st_metadata(f, "format"), "np") == 0);
    static char line[8192];
    int rows = 0, values = 0;
    while (fgets(line, sizeof line, fp)) {
        char *col[4] = {line, NULL, NULL, NULL};
        for (int k = 1; k < 4 && col[k - 1]; k++) {
            char *tab = strchr(col[k - 1], '\t');
            if (tab)
                *tab = 0;
            col[k] = tab ? tab + 1 : NULL;
        }
        char *name = col[0], *dt = col[1], *shape = col[2], *vals = col[3];
        if (!dt || !shape || !vals)
            continue;
        rows++;
        const st_tensor *ts = st_find(f, name);
        if (!ts) {
            t_fail(t, "tensor %s missing", name);
            continue;
        }
        if (strcmp(st_dtype_name(ts->dtype), dt) != 0)
            t_fail(t, "%s: dtype %s, want %s", name, st_dtype_name(ts->dtype), dt);
        char got_shape[64] = "";
        for (int k = 0; k < ts->ndim; k++)
            snprintf(got_shape + strlen(got_shape), sizeof got_shape - strlen(got_shape), "%s%lld",
                     k ? "," : "", (long long)ts->shape[k]);
        if (strcmp(got_shape, shape) != 0)
            t_fail(t, "%s: shape %s, want %s", name, got_shape, shape);
        const float *x;
        float *own;
        if (!T_CHECK(t, st_read_f32(ts, &x, &own, &e) == ABL_OK))
            continue;
        char *sv = vals, *tok;
        int64_t i = 0;
        while (sv && (tok = strtok_r(sv, " \n", &sv)) != NULL) {
            float want = strtof(tok, NULL);
            int ok = i < ts->numel && (isnan(want) ? isnan(x[i]) : (x[i] == want && signbit(x[i]) == signbit(want)));
            if (!ok)
                t_fail(t, "%s[%lld]: got %.9g, want %s", name, (long long)i, i < ts->numel ? (double)x[i] : 0.0, tok);
            i++;
            values++;
        }
        if (i != ts->numel)
            t_fail(t, "%s: %lld values in the golden, %lld in the file", name, (long long)i, (long long)ts->numel);
        free(own);
    }
    fclose(fp);
    T_CHECK(t, rows == 10 && rows == st_count(f));
    t_note(t, "%d tensors, %d values identical to numpy's reading", rows, values);
    st_close(f);
}
