/* tests/html_png.c - `make test-html` helper: decodes a screenshot PNG (8-bit RGB/RGBA, our own
 * inflate) and says whether the page is blank: PASS when enough pixels differ from the corner.
 * usage: build/html_png FILE.png [NAME]   prints "PASS NAME ..." or "FAIL NAME: why", exit 0/1 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- inflate (RFC 1951): canonical Huffman codes decoded bit by bit ---------------------- */

typedef struct {
    const uint8_t *p, *end;
    uint32_t buf;
    int nbuf, bad;
} bits;

static int bit(bits *b)
{
    if (b->nbuf == 0) {
        if (b->p >= b->end) {
            b->bad = 1;
            return 0;
        }
        b->buf = *b->p++;
        b->nbuf = 8;
    }
    int v = (int)(b->buf & 1);
    b->buf >>= 1;
    b->nbuf--;
    return v;
}

static int nbits(bits *b, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v |= bit(b) << i;
    return v;
}

typedef struct {
    uint16_t count[16]; /* codes of each length */
    uint16_t sym[320];  /* symbols ordered by code */
} huff;

/* Build from code lengths len (n); 0 when the lengths over-subscribe the code space. */
static int huff_build(huff *h, const uint8_t *len, int n)
{
    uint16_t offs[16];
    memset(h->count, 0, sizeof h->count);
    for (int i = 0; i < n; i++)
        h->count[len[i]]++;
    h->count[0] = 0;
    int left = 1;
    for (int l = 1; l < 16; l++) {
        left = 2 * left - h->count[l];
        if (left < 0)
            return 0;
    }
    offs[1] = 0;
    for (int l = 1; l < 15; l++)
        offs[l + 1] = (uint16_t)(offs[l] + h->count[l]);
    for (int i = 0; i < n; i++)
        if (len[i])
            h->sym[offs[len[i]]++] = (uint16_t)i;
    return 1;
}

static int huff_decode(bits *b, const huff *h)
{
    int code = 0, first = 0, index = 0;
    for (int l = 1; l < 16 && !b->bad; l++) {
        code |= bit(b);
        int c = h->count[l];
        if (code - first < c)
            return h->sym[index + code - first];
        index += c;
        first = (first + c) << 1;
        code <<= 1;
    }
    b->bad = 1;
    return -1;
}

static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10,  11,  13,
                                      15, 17, 19, 23, 27, 31, 35, 43,  51,  59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145,  8193,  12289, 16385,
                                       24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* Decode one compressed block's symbols into out (cap), from *n on. 0 on corrupt data. */
static int codes(bits *b, const huff *lit, const huff *dist, uint8_t *out, size_t cap, size_t *n)
{
    for (;;) {
        int s = huff_decode(b, lit);
        if (s < 0 || b->bad)
            return 0;
        if (s < 256) {
            if (*n >= cap)
                return 0;
            out[(*n)++] = (uint8_t)s;
        } else if (s == 256) {
            return 1;
        } else {
            s -= 257;
            if (s >= 29)
                return 0;
            size_t len = len_base[s] + (size_t)nbits(b, len_extra[s]);
            int d = huff_decode(b, dist);
            if (d < 0 || d >= 30)
                return 0;
            size_t back = dist_base[d] + (size_t)nbits(b, dist_extra[d]);
            if (back > *n || *n + len > cap)
                return 0;
            for (size_t i = 0; i < len; i++, (*n)++)
                out[*n] = out[*n - back];
        }
    }
}

static int dynamic_tables(bits *b, huff *lit, huff *dist)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                      11, 4,  12, 3, 13, 2, 14, 1, 15};
    uint8_t len[320] = {0};
    int nlen = nbits(b, 5) + 257, ndist = nbits(b, 5) + 1, ncode = nbits(b, 4) + 4;
    if (nlen > 286 || ndist > 30)
        return 0;
    for (int i = 0; i < ncode; i++)
        len[order[i]] = (uint8_t)nbits(b, 3);
    huff lencode;
    if (!huff_build(&lencode, len, 19))
        return 0;
    memset(len, 0, sizeof len);
    for (int i = 0; i < nlen + ndist && !b->bad;) {
        int s = huff_decode(b, &lencode), rep = 0, val = 0;
        if (s < 0)
            return 0;
        if (s < 16) {
            len[i++] = (uint8_t)s;
            continue;
        }
        if (s == 16) {
            if (i == 0)
                return 0;
            val = len[i - 1];
            rep = 3 + nbits(b, 2);
        } else if (s == 17) {
            rep = 3 + nbits(b, 3);
        } else {
            rep = 11 + nbits(b, 7);
        }
        if (i + rep > nlen + ndist)
            return 0;
        while (rep--)
            len[i++] = (uint8_t)val;
    }
    return !b->bad && huff_build(lit, len, nlen) && huff_build(dist, len + nlen, ndist);
}

/* Inflate a zlib stream (2-byte header, deflate blocks) into out (cap); returns bytes or 0. */
static size_t inflate_zlib(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    if (n < 2 || (in[0] & 15) != 8)
        return 0;
    bits b = {in + 2, in + n, 0, 0, 0};
    size_t got = 0;
    int last = 0;
    while (!last) {
        last = bit(&b);
        int type = nbits(&b, 2);
        if (b.bad)
            return 0;
        if (type == 0) {
            b.nbuf = 0; /* to a byte boundary */
            if (b.end - b.p < 4)
                return 0;
            size_t len = (size_t)b.p[0] | (size_t)b.p[1] << 8;
            b.p += 4;
            if ((size_t)(b.end - b.p) < len || got + len > cap)
                return 0;
            memcpy(out + got, b.p, len);
            b.p += len;
            got += len;
        } else if (type == 1) {
            huff lit, dist;
            uint8_t len[318];
            for (int i = 0; i < 288; i++)
                len[i] = (uint8_t)(i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8);
            for (int i = 0; i < 30; i++)
                len[288 + i] = 5;
            huff_build(&lit, len, 288);
            huff_build(&dist, len + 288, 30);
            if (!codes(&b, &lit, &dist, out, cap, &got))
                return 0;
        } else if (type == 2) {
            huff lit, dist;
            if (!dynamic_tables(&b, &lit, &dist) || !codes(&b, &lit, &dist, out, cap, &got))
                return 0;
        } else {
            return 0;
        }
    }
    return got;
}

/* ---- PNG --------------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undo the per-row filters of raw (h rows of 1 + stride bytes) in place. 0 on a bad filter. */
static int unfilter(uint8_t *raw, uint32_t h, size_t stride, int bpp)
{
    for (uint32_t y = 0; y < h; y++) {
        uint8_t *row = raw + y * (stride + 1), *cur = row + 1;
        const uint8_t *up = y ? raw + (y - 1) * (stride + 1) + 1 : NULL;
        for (size_t i = 0; i < stride; i++) {
            int a = i >= (size_t)bpp ? cur[i - bpp] : 0, b = up ? up[i] : 0;
            int c = up && i >= (size_t)bpp ? up[i - bpp] : 0;
            switch (row[0]) {
            case 0: break;
            case 1: cur[i] = (uint8_t)(cur[i] + a); break;
            case 2: cur[i] = (uint8_t)(cur[i] + b); break;
            case 3: cur[i] = (uint8_t)(cur[i] + (a + b) / 2); break;
            case 4: cur[i] = (uint8_t)(cur[i] + paeth(a, b, c)); break;
            default: return 0;
            }
        }
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *name = argc > 2 ? argv[2] : "png_not_blank";
    if (argc < 2) {
        fprintf(stderr, "usage: html_png FILE.png [NAME]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    uint8_t *file = NULL, *idat = NULL, *raw = NULL;
    size_t n = 0, ni = 0;
    const char *why = NULL;
    if (f) {
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        file = sz > 0 ? malloc((size_t)sz) : NULL;
        n = file && fread(file, 1, (size_t)sz, f) == (size_t)sz ? (size_t)sz : 0;
        fclose(f);
    }
    uint32_t w = 0, h = 0;
    int bpp = 0;
    if (n < 33 || memcmp(file, "\x89PNG\r\n\x1a\n", 8))
        why = "not a PNG file";
    idat = why ? NULL : malloc(n);
    for (size_t p = 8; !why && p + 12 <= n;) {
        uint32_t len = be32(file + p);
        if (len > n - p - 12) {
            why = "truncated chunk";
            break;
        }
        const uint8_t *d = file + p + 8;
        if (!memcmp(file + p + 4, "IHDR", 4) && len >= 13) {
            w = be32(d);
            h = be32(d + 4);
            bpp = d[8] != 8 || d[12] ? 0 : d[9] == 2 ? 3 : d[9] == 6 ? 4 : 0;
            if (!bpp)
                why = "expected an 8-bit RGB or RGBA non-interlaced PNG";
        } else if (!memcmp(file + p + 4, "IDAT", 4)) {
            memcpy(idat + ni, d, len);
            ni += len;
        }
        p += 12 + (size_t)len;
    }
    size_t stride = (size_t)w * (size_t)bpp, cap = (size_t)h * (stride + 1);
    if (!why && (w == 0 || h == 0 || w > 20000 || h > 40000))
        why = "bad image size";
    if (!why && !(raw = malloc(cap)))
        why = "out of memory";
    if (!why && inflate_zlib(idat, ni, raw, cap) != cap)
        why = "corrupt image data";
    if (!why && !unfilter(raw, h, stride, bpp))
        why = "bad row filter";
    long differ = 0;
    int distinct = 0;
    uint32_t seen[64];
    if (!why) {
        const uint8_t *bg = raw + 1;
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                const uint8_t *px = raw + y * (stride + 1) + 1 + (size_t)x * bpp;
                if (memcmp(px, bg, 3)) {
                    differ++;
                    uint32_t c = (uint32_t)px[0] << 16 | (uint32_t)px[1] << 8 | px[2];
                    int k = 0;
                    while (k < distinct && seen[k] != c)
                        k++;
                    if (k == distinct && distinct < 64)
                        seen[distinct++] = c;
                }
            }
    }
    free(file);
    free(idat);
    free(raw);
    if (why) {
        printf("FAIL %s: %s: %s\n", name, argv[1], why);
        return 1;
    }
    double share = (double)differ / ((double)w * h);
    /* A rendered report: text, tables and charts cover well over 1% of the pixels in more than
     * a few colours; a blank (or single-colour) page has none. */
    int ok = share > 0.01 && distinct >= 8;
    printf("%s %s: %ux%u, %.1f%% of pixels differ from the background, %s%d colours\n",
           ok ? "PASS" : "FAIL", name, w, h, 100 * share, distinct == 64 ? ">= " : "", distinct);
    return ok ? 0 : 1;
}
