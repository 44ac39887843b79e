/* engine/tok_nfc.c - Unicode NFC normalization for tokenizer.json "normalizer": {"type": "NFC"}
 * (Qwen style): canonical decomposition, canonical ordering, canonical composition (UAX #15).
 *
 * The tables (engine/unicode_nfc.c) are restricted to the Unicode data HF tokenizers' NFC knows,
 * so the result matches it. Invalid UTF-8 bytes pass through unchanged, each one a starter that
 * composes with nothing. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_int.h"
#include "unicode_tables.h"

enum { S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7 };
enum { L_COUNT = 19, V_COUNT = 21, T_COUNT = 28, N_COUNT = V_COUNT * T_COUNT };
enum { S_COUNT = L_COUNT * N_COUNT };
#define RAW_BYTE 0x110000u /* RAW_BYTE + b stands for the invalid byte b */

static size_t push_decomposed(uint32_t *out, size_t k, uint32_t cp)
{
    if (cp >= S_BASE && cp < S_BASE + S_COUNT) {
        uint32_t i = cp - S_BASE;
        out[k++] = L_BASE + i / N_COUNT;
        out[k++] = V_BASE + i % N_COUNT / T_COUNT;
        if (i % T_COUNT)
            out[k++] = T_BASE + i % T_COUNT;
        return k;
    }
    uint32_t m[2];
    size_t n = uni_decompose1(cp, m);
    if (!n) {
        out[k++] = cp;
        return k;
    }
    for (size_t j = 0; j < n; j++)
        k = push_decomposed(out, k, m[j]);
    return k;
}

static uint32_t compose(uint32_t a, uint32_t b)
{
    if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE && b < V_BASE + V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 && b > T_BASE &&
        b < T_BASE + T_COUNT)
        return a + (b - T_BASE);
    if (a >= RAW_BYTE || b >= RAW_BYTE)
        return 0;
    return uni_compose(a, b);
}

static uint8_t ccc_of(uint32_t cp) { return cp >= RAW_BYTE ? 0 : uni_ccc(cp); }

static size_t put_utf8(uint8_t *o, uint32_t c)
{
    if (c >= RAW_BYTE) {
        o[0] = (uint8_t)(c - RAW_BYTE);
        return 1;
    }
    if (c < 0x80) {
        o[0] = (uint8_t)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (uint8_t)(0xC0 | c >> 6);
        o[1] = (uint8_t)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (uint8_t)(0xE0 | c >> 12);
        o[1] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
        o[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | c >> 18);
    o[1] = (uint8_t)(0x80 | (c >> 12 & 0x3F));
    o[2] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
    o[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

abl_status tok_nfc(tokenizer *t, const uint8_t *s, size_t n, const uint8_t **out, size_t *out_n,
                   abl_err *err)
{
    size_t i = 0;
    while (i < n && s[i] < 0x80)
        i++;
    if (i == n) { /* ASCII is always NFC */
        *out = s;
        *out_n = n;
        return ABL_OK;
    }
    /* a character of b bytes decomposes into at most b + 1 code points (at most 4) */
    size_t need = 2 * n + 4;
    if (need > t->ncp_cap) {
        uint32_t *p = realloc(t->ncp, need * sizeof *p);
        if (!p)
            return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory normalizing %zu bytes", n);
        t->ncp = p;
        t->ncp_cap = need;
    }
    uint32_t *cp = t->ncp;
    size_t k = 0;
    for (i = 0; i < n;) {
        int len;
        uint32_t c = tok_utf8_next(s, n, i, &len);
        ABL_ASSERT(k + 4 <= need);
        if (c == TOK_INVALID_CP)
            cp[k++] = RAW_BYTE + s[i];
        else
            k = push_decomposed(cp, k, c);
        i += (size_t)len;
    }
    for (size_t a = 1; a < k; a++) /* canonical order: stable sort of each run of non-starters */
        for (size_t b = a; b > 0 && ccc_of(cp[b]) && ccc_of(cp[b - 1]) > ccc_of(cp[b]); b--) {
            uint32_t x = cp[b];
            cp[b] = cp[b - 1];
            cp[b - 1] = x;
        }
    size_t m = 0, starter = SIZE_MAX;
    int last = 256; /* ccc of the last kept character; 256: nothing may compose yet */
    for (size_t a = 0; a < k; a++) {
        uint32_t c = cp[a];
        int cc = ccc_of(c);
        if (starter != SIZE_MAX && (last < cc || last == 0)) {
            uint32_t comp = compose(cp[starter], c);
            if (comp) {
                cp[starter] = comp;
                continue;
            }
        }
        if (cc == 0)
            starter = m;
        last = cc;
        cp[m++] = c;
    }
    if (4 * m > t->nbuf_cap) {
        uint8_t *p = realloc(t->nbuf, 4 * m);
        if (!p)
            return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory normalizing %zu bytes", n);
        t->nbuf = p;
        t->nbuf_cap = 4 * m;
    }
    size_t o = 0;
    for (size_t a = 0; a < m; a++)
        o += put_utf8(t->nbuf + o, cp[a]);
    *out = t->nbuf;
    *out_n = o;
    return ABL_OK;
}
