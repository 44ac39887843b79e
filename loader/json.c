/* loader/json.c - strict RFC 8259 JSON parser: one arena per document, a scratch stack for the
 * children of open containers, UTF-8 validated strings, exact int64 and correctly rounded doubles. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 512

/* ---- arena: a list of chunks, bump allocation, no per-value malloc -------------------------- */

typedef struct json_chunk json_chunk;
struct json_chunk {
    json_chunk *next;
    size_t cap, used;
    _Alignas(16) char mem[];
};

struct json_doc {
    json_chunk *chunks;     /* newest first */
    json_val root;
};

typedef struct {
    const char *s;          /* text */
    size_t n, i;            /* length, cursor */
    const char *name;
    abl_err *err;
    json_doc *doc;
    json_val *stk;          /* children of open containers */
    size_t sp, scap;
    const char **kstk;      /* keys of open objects (parallel to stk entries of objects) */
    size_t *klen;
    size_t ksp, kcap;
    size_t next_chunk;      /* size of the next arena chunk */
} jp;

static void *arena_alloc(jp *p, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    json_chunk *c = p->doc->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = p->next_chunk;
        if (cap < size)
            cap = size;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = p->doc->chunks;
        p->doc->chunks = c;
        if (p->next_chunk < ((size_t)1 << 28))
            p->next_chunk *= 2;
    }
    void *r = c->mem + c->used;
    c->used += size;
    return r;
}

/* Give back the tail of the most recent allocation (from `keep` bytes on). */
static void arena_shrink(jp *p, void *last, size_t keep)
{
    json_chunk *c = p->doc->chunks;
    size_t start = (size_t)((char *)last - c->mem);
    c->used = start + ((keep + 15) & ~(size_t)15);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static abl_status fail_at(jp *p, size_t at, const char *expected)
{
    char found[48];
    if (at >= p->n) {
        snprintf(found, sizeof found, "end of input");
    } else {
        unsigned char c = (unsigned char)p->s[at];
        if (c >= 0x20 && c < 0x7f)
            snprintf(found, sizeof found, "'%c'", c);
        else
            snprintf(found, sizeof found, "byte 0x%02x", c);
    }
    return abl_fail(p->err, ABL_E_FORMAT, "%s: byte %zu: expected %s, found %s", p->name, at,
                    expected, found);
}

static abl_status fail_nomem(jp *p)
{
    return abl_fail(p->err, ABL_E_NOMEM, "%s: out of memory while parsing JSON (%zu bytes)",
                    p->name, p->n);
}

/* ---- scratch stacks ------------------------------------------------------------------------- */

static bool push_val(jp *p, const json_val *v)
{
    if (p->sp == p->scap) {
        size_t cap = p->scap ? p->scap * 2 : 256;
        json_val *s = realloc(p->stk, cap * sizeof *s);
        if (!s)
            return false;
        p->stk = s;
        p->scap = cap;
    }
    p->stk[p->sp++] = *v;
    return true;
}

static bool push_key(jp *p, const char *k, size_t len)
{
    if (p->ksp == p->kcap) {
        size_t cap = p->kcap ? p->kcap * 2 : 256;
        const char **ks = realloc(p->kstk, cap * sizeof *ks);
        if (!ks)
            return false;
        p->kstk = ks;
        size_t *kl = realloc(p->klen, cap * sizeof *kl);
        if (!kl)
            return false;
        p->klen = kl;
        p->kcap = cap;
    }
    p->kstk[p->ksp] = k;
    p->klen[p->ksp++] = len;
    return true;
}

/* ---- lexing ---------------------------------------------------------------------------------- */

static void skip_ws(jp *p)
{
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->i++;
    }
}

static int hex4(const char *s)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the valid UTF-8 sequence starting at s[i] (lead byte >= 0x80), or 0 when invalid
 * (bad lead, truncated, bad continuation, overlong, surrogate, above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t i, size_t n)
{
    unsigned char c = s[i];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;  /* overlong */
        if (c == 0xed)
            hi = 0x9f;  /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;  /* overlong */
        if (c == 0xf4)
            hi = 0x8f;  /* > U+10FFFF */
    } else
        return 0;
    if (n - i < len)
        return 0;
    if (s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[i + k] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* Parse a string starting at the opening quote; decoded copy goes to the arena. */
static abl_status parse_string(jp *p, const char **out, size_t *out_len)
{
    size_t start = ++p->i; /* past the quote */
    /* Find the closing quote to size the buffer (decoded length never exceeds raw length). */
    const char *q = p->s + start;
    size_t raw_max = p->n - start;
    /* Size exactly: scan to the first quote preceded by an even run of backslashes. */
    size_t k = 0;
    while (k < raw_max) {
        const char *hit = memchr(q + k, '"', raw_max - k);
        if (!hit) {
            k = raw_max;
            break;
        }
        size_t pos = (size_t)(hit - q);
        size_t bs = 0;
        while (pos > bs && q[pos - 1 - bs] == '\\')
            bs++;
        k = pos;
        if (bs % 2 == 0)
            break;
        k = pos + 1;
    }
    char *o = arena_alloc(p, k + 1);
    if (!o)
        return fail_nomem(p);
    const unsigned char *s = (const unsigned char *)p->s;
    size_t i = start, n = p->n, w = 0;
    for (;;) {
        if (i >= n)
            return fail_at(p, i, "'\"' closing the string");
        unsigned char c = s[i];
        if (c == '"')
            break;
        if (c < 0x20) {
            return fail_at(p, i, "a string character (control characters must be escaped)");
        } else if (c < 0x80 && c != '\\') {
            o[w++] = (char)c;
            i++;
        } else if (c >= 0x80) {
            size_t L = utf8_seq(s, i, n);
            if (!L)
                return fail_at(p, i, "valid UTF-8");
            memcpy(o + w, s + i, L);
            w += L;
            i += L;
        } else {
            if (i + 1 >= n)
                return fail_at(p, i + 1, "an escape character");
            char e = (char)s[i + 1];
            char r;
            switch (e) {
            case '"': r = '"'; break;
            case '\\': r = '\\'; break;
            case '/': r = '/'; break;
            case 'b': r = '\b'; break;
            case 'f': r = '\f'; break;
            case 'n': r = '\n'; break;
            case 'r': r = '\r'; break;
            case 't': r = '\t'; break;
            case 'u': r = 0; break;
            default: return fail_at(p, i + 1, "an escape (one of \" \\ / b f n r t u)");
            }
            if (e != 'u') {
                o[w++] = r;
                i += 2;
                continue;
            }
            int cp = n - i >= 6 ? hex4(p->s + i + 2) : -1;
            if (cp < 0)
                return fail_at(p, i, "\\u followed by 4 hex digits");
            size_t at = i;
            i += 6;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail_at(p, at, "a high surrogate before a low surrogate \\u escape");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                int lo = (n - i >= 6 && s[i] == '\\' && s[i + 1] == 'u') ? hex4(p->s + i + 2) : -1;
                if (lo < 0xdc00 || lo > 0xdfff)
                    return fail_at(p, i, "a low surrogate \\u escape after a high surrogate");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
            w += put_utf8(o + w, (unsigned)cp);
        }
    }
    o[w] = 0;
    arena_shrink(p, o, w + 1);
    p->i = i + 1;
    *out = o;
    *out_len = w;
    return ABL_OK;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static abl_status parse_number(jp *p, json_val *v)
{
    const char *s = p->s;
    size_t n = p->n, b = p->i, i = b;
    bool neg = false, integral = true;
    if (s[i] == '-') {
        neg = true;
        i++;
    }
    if (i >= n || !is_digit(s[i]))
        return fail_at(p, i, "a digit");
    if (s[i] == '0') {
        i++;
        if (i < n && is_digit(s[i]))
            return fail_at(p, i, "'.', 'e' or the end of the number (no leading zeros)");
    } else
        while (i < n && is_digit(s[i]))
            i++;
    size_t int_end = i;
    if (i < n && s[i] == '.') {
        integral = false;
        i++;
        if (i >= n || !is_digit(s[i]))
            return fail_at(p, i, "a digit after '.'");
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integral = false;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return fail_at(p, i, "a digit in the exponent");
        while (i < n && is_digit(s[i]))
            i++;
    }
    p->i = i;
    v->type = JSON_NUMBER;
    v->is_int = false;
    if (integral) {
        /* exact int64 accumulation, negative side to reach INT64_MIN */
        int64_t acc = 0;
        bool fits = true;
        for (size_t k = b + neg; k < int_end; k++) {
            int d = s[k] - '0';
            if (acc < (INT64_MIN + d) / 10) {
                fits = false;
                break;
            }
            acc = acc * 10 - d;
        }
        if (fits && !neg && acc == INT64_MIN)
            fits = false;
        if (fits) {
            v->i64 = neg ? acc : -acc;
            v->is_int = true;
            v->num = (double)v->i64;
            if (neg && v->i64 == 0)
                v->num = -0.0;
            return ABL_OK;
        }
    }
    /* strtod needs a NUL-terminated copy; numbers are short except in hostile input */
    size_t len = i - b;
    char small[64];
    char *tmp = len < sizeof small ? small : arena_alloc(p, len + 1);
    if (!tmp)
        return fail_nomem(p);
    memcpy(tmp, s + b, len);
    tmp[len] = 0;
    v->num = strtod(tmp, NULL); /* +-HUGE_VAL on overflow, as documented */
    if (tmp != small)
        arena_shrink(p, tmp, 0);
    v->i64 = 0;
    return ABL_OK;
}

static bool match_lit(jp *p, const char *lit, size_t len)
{
    if (p->n - p->i < len || memcmp(p->s + p->i, lit, len) != 0)
        return false;
    p->i += len;
    return true;
}

/* Copy the top `count` children from the scratch stack into the arena. */
static abl_status close_container(jp *p, json_val *v, size_t base, size_t kbase)
{
    size_t cnt = p->sp - base;
    v->len = cnt;
    v->kids = NULL;
    v->keys = NULL;
    v->key_lens = NULL;
    if (cnt) {
        v->kids = arena_alloc(p, cnt * sizeof *v->kids);
        if (!v->kids)
            return fail_nomem(p);
        memcpy(v->kids, p->stk + base, cnt * sizeof *v->kids);
        if (v->type == JSON_OBJECT) {
            v->keys = arena_alloc(p, cnt * sizeof *v->keys);
            v->key_lens = arena_alloc(p, cnt * sizeof *v->key_lens);
            if (!v->keys || !v->key_lens)
                return fail_nomem(p);
            memcpy(v->keys, p->kstk + kbase, cnt * sizeof *v->keys);
            memcpy(v->key_lens, p->klen + kbase, cnt * sizeof *v->key_lens);
        }
    }
    p->sp = base;
    p->ksp = kbase;
    return ABL_OK;
}

static abl_status parse_value(jp *p, json_val *v, int depth)
{
    memset(v, 0, sizeof *v);
    skip_ws(p);
    if (p->i >= p->n)
        return fail_at(p, p->i, "a JSON value");
    char c = p->s[p->i];
    abl_status st;
    switch (c) {
    case '{':
    case '[': {
        bool obj = c == '{';
        if (depth >= JSON_MAX_DEPTH)
            return fail_at(p, p->i, "nesting depth at most 512");
        v->type = obj ? JSON_OBJECT : JSON_ARRAY;
        size_t base = p->sp, kbase = p->ksp;
        p->i++;
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == (obj ? '}' : ']')) {
            p->i++;
            return close_container(p, v, base, kbase);
        }
        for (;;) {
            json_val kid;
            if (obj) {
                skip_ws(p);
                if (p->i >= p->n || p->s[p->i] != '"')
                    return fail_at(p, p->i, "'\"' starting an object key");
                const char *k;
                size_t kl;
                if ((st = parse_string(p, &k, &kl)) != ABL_OK)
                    return st;
                if (!push_key(p, k, kl))
                    return fail_nomem(p);
                skip_ws(p);
                if (p->i >= p->n || p->s[p->i] != ':')
                    return fail_at(p, p->i, "':' after an object key");
                p->i++;
            }
            if ((st = parse_value(p, &kid, depth + 1)) != ABL_OK)
                return st;
            if (!push_val(p, &kid))
                return fail_nomem(p);
            skip_ws(p);
            if (p->i < p->n && p->s[p->i] == ',') {
                p->i++;
                continue;
            }
            if (p->i < p->n && p->s[p->i] == (obj ? '}' : ']')) {
                p->i++;
                return close_container(p, v, base, kbase);
            }
            return fail_at(p, p->i, obj ? "',' or '}' in an object" : "',' or ']' in an array");
        }
    }
    case '"':
        v->type = JSON_STRING;
        return parse_string(p, &v->str, &v->len);
    case 't':
        if (!match_lit(p, "true", 4))
            return fail_at(p, p->i, "a JSON value");
        v->type = JSON_TRUE;
        return ABL_OK;
    case 'f':
        if (!match_lit(p, "false", 5))
            return fail_at(p, p->i, "a JSON value");
        v->type = JSON_FALSE;
        return ABL_OK;
    case 'n':
        if (!match_lit(p, "null", 4))
            return fail_at(p, p->i, "a JSON value");
        v->type = JSON_NULL;
        return ABL_OK;
    default:
        if (c == '-' || is_digit(c))
            return parse_number(p, v);
        return fail_at(p, p->i, "a JSON value");
    }
}

/* ---- public API ------------------------------------------------------------------------------ */

abl_status json_parse(json_doc **out, const char *text, size_t len, const char *name, abl_err *err)
{
    ABL_ASSERT(out);
    *out = NULL;
    if (!name)
        name = "JSON";
    if (!text && len)
        return abl_fail(err, ABL_E_ARG, "%s: no text given", name);
    json_doc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", name);
    jp p = {.s = text ? text : "", .n = len, .name = name, .err = err, .doc = doc};
    /* values take about 24x the bytes of short tokens; start big enough for typical files */
    p.next_chunk = len < 2048 ? 4096 : len * 2;
    abl_status st;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        st = abl_fail(err, ABL_E_FORMAT,
                      "%s: byte 0: expected a JSON value, found a UTF-8 byte order mark "
                      "(hint: RFC 8259 forbids it; save the file without BOM)", name);
    } else {
        st = parse_value(&p, &doc->root, 0);
        if (st == ABL_OK) {
            skip_ws(&p);
            if (p.i != p.n)
                st = fail_at(&p, p.i, "end of input after the JSON value");
        }
    }
    free(p.stk);
    free(p.kstk);
    free(p.klen);
    if (st != ABL_OK) {
        json_free(doc);
        return st;
    }
    *out = doc;
    return ABL_OK;
}

const json_val *json_root(const json_doc *doc)
{
    ABL_ASSERT(doc);
    return &doc->root;
}

void json_free(json_doc *doc)
{
    if (!doc)
        return;
    json_chunk *c = doc->chunks;
    while (c) {
        json_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(doc);
}

const json_val *json_get(const json_val *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT || !key)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < obj->len; i++)
        if (obj->key_lens[i] == kl && memcmp(obj->keys[i], key, kl) == 0)
            return &obj->kids[i];
    return NULL;
}

bool json_as_int(const json_val *v, int64_t *out)
{
    if (!v || v->type != JSON_NUMBER || !v->is_int)
        return false;
    *out = v->i64;
    return true;
}

bool json_as_num(const json_val *v, double *out)
{
    if (!v || v->type != JSON_NUMBER)
        return false;
    *out = v->num;
    return true;
}

bool json_as_bool(const json_val *v, bool *out)
{
    if (!v || (v->type != JSON_TRUE && v->type != JSON_FALSE))
        return false;
    *out = v->type == JSON_TRUE;
    return true;
}

const char *json_as_str(const json_val *v)
{
    return v && v->type == JSON_STRING ? v->str : NULL;
}

const char *json_type_name(json_type t)
{
    static const char *names[] = {"null", "false", "true", "number", "string", "array", "object"};
    return (unsigned)t < ABL_ARRAY_LEN(names) ? names[t] : "unknown";
}

const char *json_quote(char *buf, size_t n, const char *s)
{
    ABL_ASSERT(buf && n >= 8);
    if (!s)
        s = "(null)";
    size_t w = 0, limit = n - 4; /* room for "..." and the NUL */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        size_t need = (*p < 0x20 || *p == 0x7f) ? 4 : 1;
        if (w + need > limit) {
            if ((*p & 0xc0) == 0x80) { /* cut inside a UTF-8 sequence: drop its start */
                while (w > 0 && ((unsigned char)buf[w - 1] & 0xc0) == 0x80)
                    w--;
                if (w > 0 && (unsigned char)buf[w - 1] >= 0xc0)
                    w--;
            }
            memcpy(buf + w, "...", 4);
            return buf;
        }
        if (need == 4)
            w += (size_t)snprintf(buf + w, 5, "\\x%02x", *p);
        else
            buf[w++] = (char)*p;
    }
    buf[w] = 0;
    return buf;
}
