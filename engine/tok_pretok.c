/* engine/tok_pretok.c - the pre-tokenizer: Digits splitting, the GPT-2 / Llama-3 / Qwen2 split
 * regexes written by hand (no regex library), and ByteLevel's prefix space, feeding BPE per word.
 *
 * Invalid UTF-8 (HF can only be given valid strings, so this is our own, fixed rule): every byte
 * that does not begin a complete, valid UTF-8 sequence (stray continuation bytes, overlong forms,
 * surrogates, values past U+10FFFF, a sequence cut short) is one character on its own, of the
 * class "other" (neither letter, number nor space, like U+FFFD), not numeric; BPE then sees it as
 * that byte's byte-level symbol. So the same bytes always give the same ids, and decoding them
 * gives the original bytes back. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_int.h"
#include "unicode_tables.h"

uint32_t tok_utf8_next(const uint8_t *s, size_t n, size_t i, int *len)
{
    uint32_t c = s[i];
    if (c < 0x80) {
        *len = 1;
        return c;
    }
    int need;
    uint32_t min;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        min = 0x80;
        c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        min = 0x800;
        c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        min = 0x10000;
        c &= 0x07;
    } else {
        *len = 1;
        return TOK_INVALID_CP;
    }
    if (i + (size_t)need >= n) { /* cut short by the end of the text */
        *len = 1;
        return TOK_INVALID_CP;
    }
    for (int k = 1; k <= need; k++) {
        uint8_t b = s[i + (size_t)k];
        if ((b & 0xC0) != 0x80) {
            *len = 1;
            return TOK_INVALID_CP;
        }
        c = c << 6 | (b & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *len = 1;
        return TOK_INVALID_CP;
    }
    *len = need + 1;
    return c;
}

size_t tok_utf8_complete(const uint8_t *s, size_t n)
{
    /* Only the last (up to 3) bytes can be an unfinished character. */
    size_t start = n > 3 ? n - 3 : 0;
    for (size_t i = n; i-- > start;) {
        uint8_t b = s[i];
        if ((b & 0xC0) == 0x80)
            continue; /* continuation byte: look further left for the lead */
        int need = b >= 0xC2 && b <= 0xDF   ? 2
                   : b >= 0xE0 && b <= 0xEF ? 3
                   : b >= 0xF0 && b <= 0xF4 ? 4
                                            : 1;
        if (need == 1 || i + (size_t)need <= n)
            return n; /* ASCII, a byte that never starts a character, or a complete sequence */
        /* an incomplete tail: hold it back only if what is there is still a valid prefix */
        for (size_t k = i + 1; k < n; k++) {
            uint8_t c = s[k];
            bool ok = (c & 0xC0) == 0x80;
            if (k == i + 1 && b == 0xE0)
                ok = c >= 0xA0 && c <= 0xBF;
            else if (k == i + 1 && b == 0xED)
                ok = c >= 0x80 && c <= 0x9F;
            else if (k == i + 1 && b == 0xF0)
                ok = c >= 0x90 && c <= 0xBF;
            else if (k == i + 1 && b == 0xF4)
                ok = c >= 0x80 && c <= 0x8F;
            if (!ok)
                return n;
        }
        return i;
    }
    return n;
}

/* Character at s[i]: code point, byte length and class. */
typedef struct {
    uint32_t cp;
    int len;
    uni_class cls;
} uch;

static inline uch char_at(const uint8_t *s, size_t n, size_t i)
{
    uch c;
    c.cp = tok_utf8_next(s, n, i, &c.len);
    c.cls = c.cp == TOK_INVALID_CP ? UNI_OTHER : uni_classify(c.cp);
    return c;
}

/* End of the run of class cls starting at i. */
static size_t run_of(const uint8_t *s, size_t n, size_t i, uni_class cls)
{
    while (i < n) {
        if (s[i] < 0x80) { /* ASCII fast path */
            if ((uni_class)uni_classify(s[i]) != cls)
                break;
            i++;
            continue;
        }
        uch c = char_at(s, n, i);
        if (c.cls != cls)
            break;
        i += (size_t)c.len;
    }
    return i;
}

static bool is_crlf(uint32_t cp) { return cp == '\r' || cp == '\n'; }

/* Contractions 's 't 're 've 'm 'll 'd at s[i] == '\''; 0 when none. Case-insensitive for the
 * Llama-3 style patterns ("(?i:...)"), where U+017F (long s) also folds to s. */
static size_t contraction(const uint8_t *s, size_t n, size_t i, bool icase)
{
    if (i + 1 >= n)
        return 0;
    uint8_t a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
    if (icase) {
        if (a >= 'A' && a <= 'Z')
            a = (uint8_t)(a + 32);
        if (b >= 'A' && b <= 'Z')
            b = (uint8_t)(b + 32);
        if (a == 0xC5 && b == 0xBF) /* U+017F LATIN SMALL LETTER LONG S */
            return 3;
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/* Whitespace run starting at i: its end, and the start of its last character. */
static size_t space_run(const uint8_t *s, size_t n, size_t i, size_t *last, size_t *after_nl)
{
    *last = i;
    *after_nl = 0;
    while (i < n) {
        uch c = char_at(s, n, i);
        if (c.cls != UNI_SPACE)
            break;
        *last = i;
        i += (size_t)c.len;
        if (is_crlf(c.cp))
            *after_nl = i;
    }
    return i;
}

/* \s+(?!\S)|\s+ at a whitespace run [i, end) whose last character starts at last. */
static size_t space_tail(size_t i, size_t end, size_t last, size_t n)
{
    if (end == n || last == i)
        return end;
    return last; /* leave the last space to lead the next word */
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t match_gpt2(const uint8_t *s, size_t n, size_t i)
{
    if (s[i] == '\'') {
        size_t k = contraction(s, n, i, false);
        if (k)
            return i + k;
    }
    uch c = char_at(s, n, i);
    size_t j = i;
    uni_class cls = c.cls;
    if (s[i] == ' ' && i + 1 < n) {
        uch d = char_at(s, n, i + 1);
        if (d.cls != UNI_SPACE) {
            cls = d.cls;
            j = i + 1;
        }
    }
    if (cls != UNI_SPACE)
        return run_of(s, n, j, cls);
    size_t last, nl;
    size_t end = space_run(s, n, i, &last, &nl);
    return space_tail(i, end, last, n);
}

/* Llama-3 / Qwen2:
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static size_t match_llama3(const uint8_t *s, size_t n, size_t i, int max_digits)
{
    if (s[i] == '\'') {
        size_t k = contraction(s, n, i, true);
        if (k)
            return i + k;
    }
    uch c = char_at(s, n, i);
    if (c.cls == UNI_LETTER)
        return run_of(s, n, i, UNI_LETTER);
    if (c.cls != UNI_NUMBER && !is_crlf(c.cp) && i + (size_t)c.len < n) {
        uch d = char_at(s, n, i + (size_t)c.len);
        if (d.cls == UNI_LETTER)
            return run_of(s, n, i + (size_t)c.len, UNI_LETTER);
    }
    if (c.cls == UNI_NUMBER) {
        size_t j = i;
        for (int k = 0; k < max_digits && j < n; k++) {
            uch d = char_at(s, n, j);
            if (d.cls != UNI_NUMBER)
                break;
            j += (size_t)d.len;
        }
        return j;
    }
    size_t j = i;
    uni_class cls = c.cls;
    if (s[i] == ' ' && i + 1 < n) {
        uch d = char_at(s, n, i + 1);
        if (d.cls == UNI_OTHER) {
            cls = UNI_OTHER;
            j = i + 1;
        }
    }
    if (cls == UNI_OTHER) {
        j = run_of(s, n, j, UNI_OTHER);
        while (j < n && (s[j] == '\r' || s[j] == '\n'))
            j++;
        return j;
    }
    size_t last, nl;
    size_t end = space_run(s, n, i, &last, &nl);
    if (nl)
        return nl;
    return space_tail(i, end, last, n);
}

size_t tok_regex_match(tok_regex re, const uint8_t *s, size_t n, size_t i)
{
    switch (re) {
    case TOK_RE_GPT2:
        return match_gpt2(s, n, i);
    case TOK_RE_LLAMA3:
        return match_llama3(s, n, i, 3);
    case TOK_RE_QWEN2:
        return match_llama3(s, n, i, 1);
    }
    ABL_ASSERT(0);
    return n;
}

bool tok_regex_from_pattern(const char *p, tok_regex *out)
{
    static const struct {
        const char *pattern;
        tok_regex re;
    } known[] = {
        {"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
         TOK_RE_GPT2},
        {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
         " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
         TOK_RE_LLAMA3},
        {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
         " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
         TOK_RE_QWEN2},
    };
    for (size_t k = 0; k < ABL_ARRAY_LEN(known); k++)
        if (!strcmp(p, known[k].pattern)) {
            *out = known[k].re;
            return true;
        }
    return false;
}

/* The ByteLevel step: prefix space (when asked and missing), then the GPT-2 regex or the whole
 * piece as one word. */
static abl_status bytelevel(tokenizer *t, const tok_step *st, const uint8_t *s, size_t n,
                            tok_ids *out, abl_err *err)
{
    if (st->prefix_space && n > 0 && s[0] != ' ') {
        if (n + 1 > t->pbuf_cap) {
            size_t cap = n + 1 < 256 ? 256 : 2 * (n + 1);
            uint8_t *b = realloc(t->pbuf, cap);
            if (!b)
                return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory for a %zu-byte piece",
                                n);
            t->pbuf = b;
            t->pbuf_cap = cap;
        }
        t->pbuf[0] = ' ';
        memcpy(t->pbuf + 1, s, n);
        s = t->pbuf;
        n++;
    }
    if (!st->use_regex)
        return tok_bpe_word(t, s, n, out, err);
    for (size_t i = 0; i < n;) {
        size_t j = match_gpt2(s, n, i);
        ABL_ASSERT(j > i && j <= n);
        abl_status e = tok_bpe_word(t, s + i, j - i, out, err);
        if (e)
            return e;
        i = j;
    }
    return ABL_OK;
}

abl_status tok_pretokenize(tokenizer *t, int k, const uint8_t *s, size_t n, tok_ids *out,
                           abl_err *err)
{
    if (n == 0)
        return ABL_OK;
    const tok_step *st = &t->steps[k];
    abl_status e = ABL_OK;
    switch (st->kind) {
    case TOK_STEP_BYTELEVEL:
        return bytelevel(t, st, s, n, out, err);
    case TOK_STEP_SPLIT:
        for (size_t i = 0; i < n && !e;) {
            size_t j = tok_regex_match(st->re, s, n, i);
            ABL_ASSERT(j > i && j <= n);
            e = tok_pretokenize(t, k + 1, s + i, j - i, out, err);
            i = j;
        }
        return e;
    case TOK_STEP_DIGITS_EACH:
    case TOK_STEP_DIGITS_RUN: {
        size_t start = 0; /* start of the pending non-numeric (or numeric run) piece */
        bool in_num = false;
        for (size_t i = 0; i < n && !e;) {
            int len;
            uint32_t cp = s[i] < 0x80 ? s[i] : tok_utf8_next(s, n, i, &len);
            if (s[i] < 0x80)
                len = 1;
            bool num = cp != TOK_INVALID_CP &&
                       (st->regex_n ? uni_classify(cp) == UNI_NUMBER : uni_is_numeric(cp));
            if (num && st->kind == TOK_STEP_DIGITS_EACH) {
                e = tok_pretokenize(t, k + 1, s + start, i - start, out, err);
                if (!e)
                    e = tok_pretokenize(t, k + 1, s + i, (size_t)len, out, err);
                start = i + (size_t)len;
            } else if (num != in_num) {
                e = tok_pretokenize(t, k + 1, s + start, i - start, out, err);
                start = i;
                in_num = num;
            }
            i += (size_t)len;
        }
        if (!e)
            e = tok_pretokenize(t, k + 1, s + start, n - start, out, err);
        return e;
    }
    }
    ABL_ASSERT(0);
    return ABL_OK;
}
