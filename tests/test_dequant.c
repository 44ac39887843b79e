/* tests/test_dequant.c - the dequantizers against goldens from the independent `gguf` Python
 * package (tools/golden/gguf_dequant_golden.py): every supported type must match bit for bit. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../loader/dequant.h"
#include "../loader/gguf.h"
#include "t.h"

#define GOLDEN "tests/golden/dequant.bin"
#define GOLDEN_ROWS "tests/golden/dequant_rows.tsv"
#define MODEL_GGUF "models/cache/SmolLM2-135M-Instruct.Q4_1.gguf"

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = p;
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
    } while (got > 0);
    fclose(fp);
    *n = len;
    return buf;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void test_dequant_matches_gguf_golden(tctx *t)
{
    size_t n = 0;
    uint8_t *g = slurp(GOLDEN, &n);
    if (!T_CHECK(t, g && n >= 12 && memcmp(g, "ABLDQG1", 8) == 0)) {
        free(g);
        return;
    }
    uint32_t cases = rd32(g + 8);
    size_t pos = 12;
    int types_seen[64] = {0};
    for (uint32_t c = 0; c < cases; c++) {
        if (!T_CHECK(t, pos + 44 <= n))
            break;
        uint32_t type = rd32(g + pos), ne = rd32(g + pos + 4), nb = rd32(g + pos + 8);
        char label[33] = {0};
        memcpy(label, g + pos + 12, 32);
        pos += 44;
        if (!T_CHECK(t, pos + nb + 4 * (size_t)ne <= n))
            break;
        const uint8_t *raw = g + pos, *want = g + pos + nb;
        pos += nb + 4 * (size_t)ne;
        T_CHECK(t, (size_t)ne / (size_t)gguf_type_block((int)type) *
                       (size_t)gguf_type_size((int)type) == nb);
        float *y = malloc(4 * (size_t)ne), *w = malloc(4 * (size_t)ne);
        memcpy(w, want, 4 * (size_t)ne);
        abl_err e = {0};
        abl_status s = dq_to_f32((int)type, raw, ne, y, &e);
        T_CHECK(t, s == ABL_OK);
        size_t diff_bits = 0;
        double max_abs = 0;
        for (uint32_t i = 0; i < ne && !s; i++) {
            uint32_t a, b;
            memcpy(&a, &y[i], 4);
            memcpy(&b, &w[i], 4);
            if (a != b) {
                diff_bits++;
                if (!isnan(y[i]) && !isnan(w[i]) && fabs((double)y[i] - w[i]) > max_abs)
                    max_abs = fabs((double)y[i] - w[i]);
                if (diff_bits == 1)
                    t_fail(t, "%s: element %u: got 0x%08x (%g), want 0x%08x (%g)", label, i, a,
                           (double)y[i], b, (double)w[i]);
            }
        }
        t_note(t, "%-30s %-5s %4u elems: %zu differing (max_abs_diff %g) %s", label,
               gguf_type_name((int)type), ne, diff_bits, max_abs, diff_bits ? "FAIL" : "PASS");
        if (type < 64)
            types_seen[type] = 1;
        free(y);
        free(w);
    }
    T_CHECK(t, pos == n);
    const int want_types[] = {GGUF_T_F32, GGUF_T_F16, GGUF_T_BF16, GGUF_T_Q8_0, GGUF_T_Q4_0,
                              GGUF_T_Q4_1, GGUF_T_Q5_0, GGUF_T_Q5_1, GGUF_T_Q4_K, GGUF_T_Q5_K,
                              GGUF_T_Q6_K};
    for (size_t i = 0; i < sizeof want_types / sizeof *want_types; i++)
        if (!types_seen[want_types[i]])
            t_fail(t, "golden lacks type %s", gguf_type_name(want_types[i]));
    free(g);
}

/* All 65536 halves against an independent formula: (-1)^s * 2^(e-15) * (1 + m/1024), or
 * 2^-14 * m/1024 for subnormals, computed in double (exact) and rounded to float (exact). */
void test_dequant_f16_all_values(tctx *t)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        float got = dq_f16_to_f32((uint16_t)h);
        double want;
        if (e == 31) {
            if (m == 0 ? !(isinf(got) && (signbit(got) != 0) == s) : !isnan(got))
                bad++;
            continue;
        }
        want = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp(m / 1024.0, -14);
        if (s)
            want = -want;
        if ((float)want != got || (signbit(got) != 0) != s)
            if (bad++ == 0)
                t_fail(t, "half 0x%04x: got %a, want %a", h, (double)got, want);
    }
    T_CHECK(t, bad == 0);
    T_CHECK(t, dq_bf16_to_f32(0x3f80) == 1.0f && dq_bf16_to_f32(0xc040) == -3.0f);
    t_note(t, "65536 halves, %d wrong", bad);
}

void test_dequant_rejects_bad_calls(tctx *t)
{
    uint8_t blk[210] = {0};
    float y[256];
    abl_err e = {0};
    T_CHECK(t, dq_to_f32(GGUF_T_Q2_K, blk, 256, y, &e) == ABL_E_UNSUPPORTED);
    T_CHECK(t, strstr(e.msg, "Q2_K") != NULL);
    T_CHECK(t, dq_to_f32(99, blk, 256, y, &e) == ABL_E_UNSUPPORTED);
    T_CHECK(t, dq_to_f32(GGUF_T_Q6_K, blk, 100, y, &e) == ABL_E_ARG);
    T_CHECK(t, strstr(e.msg, "multiple of 256") != NULL);
    T_CHECK(t, dq_supported(GGUF_T_Q4_K) && !dq_supported(GGUF_T_Q8_K));
    /* a hand-made Q4_0 block: d = 0.5, nibbles lo=j%16, hi=15-j%16 */
    blk[0] = 0x00, blk[1] = 0x38;
    for (int j = 0; j < 16; j++)
        blk[2 + j] = (uint8_t)(j | (15 - j) << 4);
    T_CHECK(t, dq_to_f32(GGUF_T_Q4_0, blk, 32, y, &e) == ABL_OK);
    T_CHECK(t, y[0] == -4.0f && y[15] == 3.5f && y[16] == 3.5f && y[31] == -4.0f);
}

static uint64_t fnv1a64(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* Whole rows of the real model file, hashed, against gguf-py's dequantization. */
void mtest_dequant_real_model_rows(tctx *t)
{
    gguf_file *f;
    abl_err e = {0};
    if (gguf_open(&f, MODEL_GGUF, &e) != ABL_OK) {
        t_skip(t, "models/cache/SmolLM2-135M-Instruct.Q4_1.gguf missing (run `make model`)");
        return;
    }
    FILE *fp = fopen(GOLDEN_ROWS, "r");
    T_CHECK(t, fp != NULL);
    char line[512];
    int rows = 0;
    while (fp && fgets(line, sizeof line, fp)) {
        if (line[0] == '#')
            continue;
        char name[128];
        long long row, ne;
        unsigned long long hash;
        if (!T_CHECK(t, sscanf(line, "%127s %lld %lld %llx", name, &row, &ne, &hash) == 4))
            break;
        const gguf_tensor *tt = gguf_find_tensor(f, name);
        if (!T_CHECK(t, tt && tt->ne[0] == ne))
            continue;
        size_t rb = (size_t)(ne / gguf_type_block(tt->type)) * (size_t)gguf_type_size(tt->type);
        float *y = malloc(sizeof(float) * (size_t)ne);
        T_CHECK(t, dq_to_f32(tt->type, (const uint8_t *)tt->data + (size_t)row * rb, (size_t)ne,
                             y, &e) == ABL_OK);
        uint64_t h = fnv1a64(y, sizeof(float) * (size_t)ne);
        if (h != hash)
            t_fail(t, "%s row %lld: hash %016llx, want %016llx", name, row,
                   (unsigned long long)h, hash);
        t_note(t, "%s row %lld (%s): %s", name, row, gguf_type_name(tt->type),
               h == hash ? "bit-exact" : "MISMATCH");
        rows++;
        free(y);
    }
    if (fp)
        fclose(fp);
    T_CHECK(t, rows == 6);
    gguf_close(f);
}
