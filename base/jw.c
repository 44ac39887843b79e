/* base/jw.c - JSON writer: separators and indentation from a small per-level state, RFC 8259
 * string escaping with UTF-8 validation, numbers printed with the fewest digits that round-trip. */
#include "jw.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void jw_init(jw *w, FILE *f, int indent)
{
    memset(w, 0, sizeof *w);
    w->f = f;
    w->indent = indent < 0 ? 0 : indent;
}

static void newline(jw *w)
{
    if (!w->indent)
        return;
    fputc('\n', w->f);
    for (int i = 0; i < w->depth * w->indent; i++)
        fputc(' ', w->f);
}

/* Separator before a value (or key) at the current level. */
static void pre_value(jw *w)
{
    if (w->want_value) { /* after "key": */
        w->want_value = false;
        return;
    }
    ABL_ASSERT(!w->is_obj[w->depth] || w->depth == 0); /* inside an object a key comes first */
    if (w->depth > 0) {
        if (w->has_items[w->depth])
            fputc(',', w->f);
        newline(w);
    }
    w->has_items[w->depth] = true;
}

static void open_c(jw *w, bool obj)
{
    pre_value(w);
    ABL_ASSERT(w->depth < JW_MAX_DEPTH);
    fputc(obj ? '{' : '[', w->f);
    w->depth++;
    w->has_items[w->depth] = false;
    w->is_obj[w->depth] = obj;
}

static void close_c(jw *w, bool obj)
{
    ABL_ASSERT(w->depth > 0 && w->is_obj[w->depth] == obj && !w->want_value);
    bool had = w->has_items[w->depth];
    w->depth--;
    if (had)
        newline(w);
    fputc(obj ? '}' : ']', w->f);
}

void jw_obj_begin(jw *w) { open_c(w, true); }
void jw_obj_end(jw *w) { close_c(w, true); }
void jw_arr_begin(jw *w) { open_c(w, false); }
void jw_arr_end(jw *w) { close_c(w, false); }

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when invalid (overlongs, surrogates and
 * code points above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; min = 0x80; }
    else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; min = 0x800; }
    else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void put_escaped(jw *w, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    fputc('"', w->f);
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            fputc('\\', w->f);
            fputc((int)c, w->f);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", w->f); break;
            case '\r': fputs("\\r", w->f); break;
            case '\t': fputs("\\t", w->f); break;
            case '\b': fputs("\\b", w->f); break;
            case '\f': fputs("\\f", w->f); break;
            default: fprintf(w->f, "\\u%04x", c); break;
            }
            i++;
        } else if (c < 0x80) {
            fputc((int)c, w->f);
            i++;
        } else {
            size_t len = utf8_len(u + i, n - i);
            if (len == 0) {
                fputs("\\ufffd", w->f);
                w->bad_utf8 = true;
                i++;
            } else {
                fwrite(u + i, 1, len, w->f);
                i += len;
            }
        }
    }
    fputc('"', w->f);
}

void jw_keyn(jw *w, const char *key, size_t n)
{
    ABL_ASSERT(w->depth > 0 && w->is_obj[w->depth] && !w->want_value);
    if (w->has_items[w->depth])
        fputc(',', w->f);
    newline(w);
    w->has_items[w->depth] = true;
    put_escaped(w, key, n);
    fputs(w->indent ? ": " : ":", w->f);
    w->want_value = true;
}

void jw_key(jw *w, const char *key) { jw_keyn(w, key, strlen(key)); }

void jw_strn(jw *w, const char *s, size_t n)
{
    pre_value(w);
    put_escaped(w, s, n);
}

void jw_str(jw *w, const char *s)
{
    if (!s) {
        jw_null(w);
        return;
    }
    jw_strn(w, s, strlen(s));
}

void jw_int(jw *w, int64_t v)
{
    pre_value(w);
    fprintf(w->f, "%" PRId64, v);
}

void jw_uint(jw *w, uint64_t v)
{
    pre_value(w);
    fprintf(w->f, "%" PRIu64, v);
}

void jw_num(jw *w, double v)
{
    pre_value(w);
    if (!isfinite(v)) {
        w->nonfinite = true;
        fputs("null", w->f);
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, w->f);
}

void jw_f32(jw *w, float v)
{
    pre_value(w);
    if (!isfinite(v)) {
        w->nonfinite = true;
        fputs("null", w->f);
        return;
    }
    char buf[40];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    fputs(buf, w->f);
}

void jw_bool(jw *w, bool v)
{
    pre_value(w);
    fputs(v ? "true" : "false", w->f);
}

void jw_null(jw *w)
{
    pre_value(w);
    fputs("null", w->f);
}

void jw_raw(jw *w, const char *json)
{
    pre_value(w);
    fputs(json, w->f);
}

abl_status jw_finish(jw *w, const char *what, abl_err *err)
{
    ABL_ASSERT(w->depth == 0 && !w->want_value);
    if (w->indent)
        fputc('\n', w->f);
    if (fflush(w->f) != 0 || ferror(w->f))
        return abl_fail(err, ABL_E_IO, "%s: write failed: %s (hint: check free disk space)",
                        what, strerror(errno));
    if (w->bad_utf8)
        return abl_fail(err, ABL_E_FORMAT,
                        "%s: expected UTF-8 strings, found invalid bytes (written as U+FFFD)",
                        what);
    if (w->nonfinite)
        return abl_fail(err, ABL_E_FORMAT,
                        "%s: expected finite numbers, found NaN or Inf (written as null)", what);
    return ABL_OK;
}
