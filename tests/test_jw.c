/* tests/test_jw.c - the JSON writer: layout, escaping, round-trippable numbers, and that what it
 * writes parses back with loader/json to the same values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/jw.h"
#include "../loader/json.h"
#include "t.h"

/* Run fn on a memory stream; returns the malloc'ed text and the jw_finish status in *st. */
static char *render(void (*fn)(jw *w), int indent, abl_status *st, abl_err *err)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    jw w;
    jw_init(&w, m, indent);
    fn(&w);
    *st = jw_finish(&w, "mem.json", err);
    fclose(m);
    return buf;
}

static void doc_small(jw *w)
{
    jw_obj_begin(w);
    jw_key(w, "a");
    jw_int(w, -3);
    jw_key(w, "b");
    jw_arr_begin(w);
    jw_bool(w, true);
    jw_null(w);
    jw_obj_begin(w);
    jw_obj_end(w);
    jw_arr_begin(w);
    jw_arr_end(w);
    jw_arr_end(w);
    jw_key(w, "c");
    jw_str(w, "x");
    jw_obj_end(w);
}

void test_jw_layout_compact_and_indented(tctx *t)
{
    abl_status s;
    abl_err e = {0};
    char *c = render(doc_small, 0, &s, &e);
    T_CHECK(t, s == ABL_OK && strcmp(c, "{\"a\":-3,\"b\":[true,null,{},[]],\"c\":\"x\"}") == 0);
    t_note(t, "compact: %s", c);
    free(c);
    c = render(doc_small, 2, &s, &e);
    const char *want = "{\n  \"a\": -3,\n  \"b\": [\n    true,\n    null,\n    {},\n    []\n  ],\n"
                       "  \"c\": \"x\"\n}\n";
    T_CHECK(t, s == ABL_OK && strcmp(c, want) == 0);
    free(c);
}

static void doc_strings(jw *w)
{
    jw_arr_begin(w);
    jw_str(w, "q\"b\\s/\n\r\t\b\f\x01\x1f");
    jw_str(w, "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82");
    jw_strn(w, "nul\0mid", 7);
    jw_str(w, NULL);
    jw_arr_end(w);
}

void test_jw_escapes_strings(tctx *t)
{
    abl_status s;
    abl_err e = {0};
    char *c = render(doc_strings, 0, &s, &e);
    const char *want = "[\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\",\"caf\xc3\xa9 \xe6\x97\xa5 "
                       "\xf0\x9f\x99\x82\",\"nul\\u0000mid\",null]";
    T_CHECK(t, s == ABL_OK && strcmp(c, want) == 0);
    json_doc *d = NULL;
    if (T_CHECK(t, json_parse(&d, c, strlen(c), "mem.json", &e) == ABL_OK)) {
        const json_val *r = json_root(d);
        T_CHECK(t, r->len == 4 && strcmp(r->kids[0].str, "q\"b\\s/\n\r\t\b\f\x01\x1f") == 0);
        T_CHECK(t, r->kids[2].len == 7 && memcmp(r->kids[2].str, "nul\0mid", 7) == 0);
    }
    json_free(d);
    free(c);
}

static void doc_bad_utf8(jw *w)
{
    jw_arr_begin(w);
    jw_str(w, "a\xff" "b");       /* invalid byte */
    jw_str(w, "\xc0\xaf");        /* overlong '/' */
    jw_str(w, "\xed\xa0\x80");    /* surrogate */
    jw_arr_end(w);
}

void test_jw_reports_bad_utf8(tctx *t)
{
    abl_status s;
    abl_err e = {0};
    char *c = render(doc_bad_utf8, 0, &s, &e);
    T_CHECK(t, s == ABL_E_FORMAT && strstr(e.msg, "UTF-8") && strstr(e.msg, "mem.json"));
    T_CHECK(t, strncmp(c, "[\"a\\ufffdb\",\"\\ufffd\\ufffd\"", 24) == 0);
    t_note(t, "%s -> %s", c, e.msg);
    free(c);
}

static const double DBL[] = {0.0, -0.0, 1.0, 0.1, 1.0 / 3.0, 1e-5, 123456789012345678.0,
                             5e-324, 1.7976931348623157e308, -2.5e-300, 100000.0};
static const float FLT[] = {0.0f, 1e-5f, 0.1f, 1.0f / 3.0f, 3.4028235e38f, 1e-45f, -7.25f,
                            100000.0f, 16777217.0f};

static void doc_numbers(jw *w)
{
    jw_arr_begin(w);
    for (size_t i = 0; i < sizeof DBL / sizeof *DBL; i++)
        jw_num(w, DBL[i]);
    for (size_t i = 0; i < sizeof FLT / sizeof *FLT; i++)
        jw_f32(w, FLT[i]);
    jw_int(w, INT64_MIN);
    jw_uint(w, UINT64_MAX);
    jw_arr_end(w);
}

void test_jw_numbers_round_trip(tctx *t)
{
    abl_status s;
    abl_err e = {0};
    char *c = render(doc_numbers, 0, &s, &e);
    T_CHECK(t, s == ABL_OK);
    t_note(t, "%s", c);
    /* shortest forms where they exist */
    T_CHECK(t, strstr(c, "[0,-0,1,0.1,0.3333333333333333,1e-05,") == c);
    T_CHECK(t, strstr(c, ",1e-05,0.1,0.33333334,") != NULL);
    T_CHECK(t, strstr(c, ",-9223372036854775808,18446744073709551615]") != NULL);
    /* every value reads back identical */
    char *p = c + 1;
    for (size_t i = 0; i < sizeof DBL / sizeof *DBL; i++) {
        char *end;
        double v = strtod(p, &end);
        T_CHECK(t, v == DBL[i] && signbit(v) == signbit(DBL[i]));
        p = end + 1;
    }
    for (size_t i = 0; i < sizeof FLT / sizeof *FLT; i++) {
        char *end;
        float v = strtof(p, &end);
        T_CHECK(t, v == FLT[i]);
        p = end + 1;
    }
    free(c);
}

static void doc_nonfinite(jw *w)
{
    jw_obj_begin(w);
    jw_key(w, "x");
    jw_num(w, NAN);
    jw_key(w, "y");
    jw_f32(w, -INFINITY);
    jw_obj_end(w);
}

void test_jw_nonfinite_is_reported(tctx *t)
{
    abl_status s;
    abl_err e = {0};
    char *c = render(doc_nonfinite, 0, &s, &e);
    T_CHECK(t, s == ABL_E_FORMAT && strcmp(c, "{\"x\":null,\"y\":null}") == 0);
    T_CHECK(t, strstr(e.msg, "NaN") != NULL);
    free(c);
}

static void doc_keyn(jw *w)
{
    jw_obj_begin(w);
    jw_keyn(w, "a\0b", 3);
    jw_int(w, 1);
    jw_key(w, "\xc4\xa0t");
    jw_uint(w, 2);
    jw_obj_end(w);
}

void test_jw_keys_with_length(tctx *t)
{
    abl_status s;
    abl_err e = {0};
    char *c = render(doc_keyn, 0, &s, &e);
    T_CHECK(t, s == ABL_OK && strcmp(c, "{\"a\\u0000b\":1,\"\xc4\xa0t\":2}") == 0);
    free(c);
}
