/* tests/test_json.c - JSON parser conformance: valid and invalid documents, UTF-8, escapes,
 * numbers, depth limit, error messages with byte offsets, and a tokenizer-sized document. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../loader/json.h"
#include "t.h"

/* Parse a NUL-terminated text; returns the status and leaves the error in *e. */
static abl_status parse_str(json_doc **d, const char *s, abl_err *e)
{
    memset(e, 0, sizeof *e);
    return json_parse(d, s, strlen(s), "t.json", e);
}

/* Expect the text to be rejected with a message containing `want` (NULL: any message). */
static void expect_bad(tctx *t, const char *text, size_t len, const char *want)
{
    json_doc *d = (json_doc *)1;
    abl_err e = {0};
    abl_status st = json_parse(&d, text, len, "t.json", &e);
    if (st == ABL_OK) {
        t_fail(t, "accepted invalid JSON: %.60s", text);
        json_free(d);
        return;
    }
    if (d != NULL)
        t_fail(t, "*out not NULL after failure");
    if (st != ABL_E_FORMAT)
        t_fail(t, "status %d for %.60s", (int)st, text);
    if (strncmp(e.msg, "t.json: byte ", 13) != 0)
        t_fail(t, "message lacks 't.json: byte N': %s", e.msg);
    if (want && !strstr(e.msg, want))
        t_fail(t, "for %.40s: message '%s' lacks '%s'", text, e.msg, want);
}

static void expect_good(tctx *t, const char *text)
{
    json_doc *d = NULL;
    abl_err e;
    if (parse_str(&d, text, &e) != ABL_OK)
        t_fail(t, "rejected valid JSON %.60s: %s", text, e.msg);
    json_free(d);
}

void test_json_valid_documents(tctx *t)
{
    const char *ok[] = {
        "0", "-0", "1.5", "-1.25e-3", "1E+2", "1e2", "true", "false", "null", "\"\"",
        "[]", "{}", " \t\r\n[ 1 , 2 ]\n", "{\"a\":{\"b\":[null,true,false]}}", "\"\\u00e9\"",
        "[\"\\ud83d\\ude00\"]", "\"\\/\\b\\f\\n\\r\\t\\\\\\\"\"", "{\"a\":1,\"a\":2}",
        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "[[[[[]]]]]", "123456789012345678901234567890",
        "\"\x7f\"",
    };
    for (size_t i = 0; i < ABL_ARRAY_LEN(ok); i++)
        expect_good(t, ok[i]);
}

void test_json_invalid_documents(tctx *t)
{
    struct { const char *text, *want; } bad[] = {
        {"", "expected a JSON value, found end of input"},
        {"   ", "found end of input"},
        {"[1,]", "expected a JSON value, found ']'"},
        {"[1 2]", "',' or ']'"},
        {"{\"a\" 1}", "':'"},
        {"{\"a\":1,}", "object key"},
        {"{a:1}", "object key"},
        {"01", "leading zeros"},
        {"-", "a digit"},
        {"1.", "digit after '.'"},
        {".5", "a JSON value"},
        {"1e", "exponent"},
        {"+1", "a JSON value"},
        {"NaN", "a JSON value"},
        {"Infinity", "a JSON value"},
        {"tru", "a JSON value"},
        {"nul", "a JSON value"},
        {"[1] x", "end of input after the JSON value"},
        {"{} {}", "end of input after"},
        {"\"abc", "closing the string"},
        {"\"a\tb\"", "control characters"},
        {"\"a\nb\"", "control characters"},
        {"\"\\x\"", "an escape"},
        {"\"\\u12\"", "4 hex digits"},
        {"\"\\u12G4\"", "4 hex digits"},
        {"\"\\ud800\"", "low surrogate"},
        {"\"\\ud800\\u0041\"", "low surrogate"},
        {"\"\\udc00\"", "high surrogate"},
        {"\"\\ud800\\ud800\"", "low surrogate"},
        {"['a']", "a JSON value"},
        {"[1,2", "',' or ']'"},
        {"{\"a\":1", "',' or '}'"},
        {"\xef\xbb\xbf{}", "byte order mark"},
        {"/* c */ 1", "a JSON value"},
        {"0x10", "end of input after"},
    };
    for (size_t i = 0; i < ABL_ARRAY_LEN(bad); i++)
        expect_bad(t, bad[i].text, strlen(bad[i].text), bad[i].want);
    /* embedded NUL outside and inside strings */
    expect_bad(t, "[1,\0 2]", 7, "byte 0x00");
    expect_bad(t, "\"a\0b\"", 5, "control characters");
}

void test_json_error_offset(tctx *t)
{
    json_doc *d;
    abl_err e;
    T_CHECK(t, parse_str(&d, "{\"k\": [1, 2,, 3]}", &e) == ABL_E_FORMAT);
    T_CHECK(t, strcmp(e.msg, "t.json: byte 12: expected a JSON value, found ','") == 0);
    T_CHECK(t, parse_str(&d, "[1]\n\n  x", &e) == ABL_E_FORMAT);
    T_CHECK(t, strstr(e.msg, "byte 7:") != NULL);
}

void test_json_bad_utf8(tctx *t)
{
    const char *bad[] = {
        "\"\x80\"",                 /* lone continuation */
        "\"\xc0\xaf\"",             /* overlong '/' */
        "\"\xc1\xbf\"",             /* overlong */
        "\"\xe0\x80\xaf\"",         /* overlong 3-byte */
        "\"\xf0\x80\x80\xaf\"",     /* overlong 4-byte */
        "\"\xed\xa0\x80\"",         /* UTF-8 encoded surrogate U+D800 */
        "\"\xf4\x90\x80\x80\"",     /* U+110000 */
        "\"\xf5\x80\x80\x80\"",     /* invalid lead */
        "\"\xff\"",
        "\"\xc3\"",                 /* truncated */
        "\"\xe2\x82\"",             /* truncated 3-byte */
        "\"\xe2\x28\xa1\"",         /* bad continuation */
        "\xc3\xa9",                 /* non-ASCII outside a string */
    };
    for (size_t i = 0; i < ABL_ARRAY_LEN(bad); i++)
        expect_bad(t, bad[i], strlen(bad[i]), NULL);
    expect_bad(t, "\"\xed\xa0\x80\"", 5, "valid UTF-8");
    expect_good(t, "\"\xf4\x8f\xbf\xbf\"");      /* U+10FFFF is fine */
    expect_good(t, "\"\xed\x9f\xbf\"");          /* U+D7FF is fine */
    expect_good(t, "\"\xee\x80\x80\"");          /* U+E000 is fine */
}

void test_json_escapes_decode(tctx *t)
{
    json_doc *d;
    abl_err e;
    const char *src = "[\"a\\u00e9\\u20ac\\ud83d\\ude00\\n\", \"x\\u0000y\", \"\\\"\\\\\"]";
    if (!T_CHECK(t, parse_str(&d, src, &e) == ABL_OK))
        return;
    const json_val *r = json_root(d);
    T_CHECK(t, r->type == JSON_ARRAY && r->len == 3);
    T_CHECK(t, r->kids[0].len == 1 + 2 + 3 + 4 + 1);
    T_CHECK(t, memcmp(r->kids[0].str, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n", 11) == 0);
    T_CHECK(t, r->kids[0].str[11] == 0);
    T_CHECK(t, r->kids[1].len == 3 && memcmp(r->kids[1].str, "x\0y", 3) == 0);
    T_CHECK(t, strcmp(r->kids[2].str, "\"\\") == 0);
    json_free(d);
}

void test_json_numbers(tctx *t)
{
    json_doc *d;
    abl_err e;
    const char *src = "[9223372036854775807, -9223372036854775808, 9223372036854775808, "
                      "1e400, -1e400, 1e-400, 0.1, -0, 12345678901234567890123, 2.5e3, 42]";
    if (!T_CHECK(t, parse_str(&d, src, &e) == ABL_OK))
        return;
    const json_val *k = json_root(d)->kids;
    int64_t i;
    double x;
    T_CHECK(t, json_as_int(&k[0], &i) && i == INT64_MAX);
    T_CHECK(t, json_as_int(&k[1], &i) && i == INT64_MIN);
    T_CHECK(t, !json_as_int(&k[2], &i) && k[2].num == 9223372036854775808.0);
    T_CHECK(t, isinf(k[3].num) && k[3].num > 0);
    T_CHECK(t, isinf(k[4].num) && k[4].num < 0);
    T_CHECK(t, k[5].num == 0.0);
    T_CHECK(t, json_as_num(&k[6], &x) && x == 0.1);
    T_CHECK(t, k[7].is_int && k[7].i64 == 0 && signbit(k[7].num));
    T_CHECK(t, !k[8].is_int && k[8].num == 12345678901234567890123.0);
    T_CHECK(t, !k[9].is_int && k[9].num == 2500.0);
    T_CHECK(t, json_as_int(&k[10], &i) && i == 42 && k[10].num == 42.0);
    json_free(d);
    /* a 5000-digit number is handled without truncation or overflow */
    size_t n = 5000;
    char *big = malloc(n + 1);
    memset(big, '9', n);
    big[0] = '1';
    big[n] = 0;
    T_CHECK(t, parse_str(&d, big, &e) == ABL_OK && isinf(json_root(d)->num));
    json_free(d);
    big[1] = '.';
    T_CHECK(t, parse_str(&d, big, &e) == ABL_OK && fabs(json_root(d)->num - 2.0) < 1e-12);
    json_free(d);
    free(big);
}

void test_json_objects_keep_order(tctx *t)
{
    json_doc *d;
    abl_err e;
    if (!T_CHECK(t, parse_str(&d, "{\"z\":1,\"a\":\"s\",\"m\":[true],\"a\":2,\"k\\u0000x\":3}", &e) == ABL_OK))
        return;
    const json_val *r = json_root(d);
    T_CHECK(t, r->len == 5);
    T_CHECK(t, strcmp(r->keys[0], "z") == 0 && strcmp(r->keys[1], "a") == 0);
    T_CHECK(t, strcmp(r->keys[2], "m") == 0 && r->kids[2].type == JSON_ARRAY);
    T_CHECK(t, r->key_lens[4] == 3);
    T_CHECK(t, strcmp(json_as_str(json_get(r, "a")), "s") == 0); /* first duplicate wins */
    T_CHECK(t, json_get(r, "k") == NULL);                         /* "k\0x" is not "k" */
    T_CHECK(t, json_get(r, "nope") == NULL && json_get(NULL, "a") == NULL);
    T_CHECK(t, json_get(&r->kids[0], "a") == NULL);
    bool b;
    T_CHECK(t, json_as_bool(&json_get(r, "m")->kids[0], &b) && b);
    T_CHECK(t, json_as_str(&r->kids[0]) == NULL);
    json_free(d);
    json_free(NULL);
}

static char *nested(int depth, const char *open, const char *close)
{
    char *s = malloc((size_t)depth * 2 + 2);
    for (int i = 0; i < depth; i++) {
        s[i] = open[i % strlen(open)];
        s[2 * depth - 1 - i] = close[i % strlen(close)];
    }
    s[2 * depth] = 0;
    return s;
}

void test_json_depth_limit(tctx *t)
{
    json_doc *d;
    abl_err e;
    char *s = nested(512, "[", "]");
    T_CHECK(t, parse_str(&d, s, &e) == ABL_OK);
    json_free(d);
    free(s);
    s = nested(513, "[", "]");
    T_CHECK(t, parse_str(&d, s, &e) == ABL_E_FORMAT && strstr(e.msg, "nesting depth at most 512"));
    free(s);
    /* 100000 unclosed brackets: must fail cleanly (no stack overflow) */
    size_t n = 100000;
    s = malloc(n + 1);
    memset(s, '[', n);
    s[n] = 0;
    T_CHECK(t, parse_str(&d, s, &e) == ABL_E_FORMAT && strstr(e.msg, "byte 512:"));
    free(s);
    /* objects nest too */
    char buf[8 * 600 + 8];
    size_t w = 0;
    for (int i = 0; i < 600; i++)
        w += (size_t)sprintf(buf + w, "{\"a\":");
    buf[w] = 0;
    T_CHECK(t, parse_str(&d, buf, &e) == ABL_E_FORMAT && strstr(e.msg, "nesting depth"));
}

/* A document shaped like tokenizer.json: a 49152-entry vocab object and 49k merges. */
void test_json_tokenizer_sized(tctx *t)
{
    size_t cap = 8u << 20, w = 0;
    char *s = malloc(cap);
    w += (size_t)sprintf(s + w, "{\"version\":\"1.0\",\"model\":{\"type\":\"BPE\",\"vocab\":{");
    for (int i = 0; i < 49152; i++)
        w += (size_t)sprintf(s + w, "%s\"\\u0120tok%d\xc3\xa9\":%d", i ? "," : "", i, i);
    w += (size_t)sprintf(s + w, "},\"merges\":[");
    for (int i = 0; i < 49000; i++)
        w += (size_t)sprintf(s + w, "%s\"\\u0120t%d k%d\"", i ? "," : "", i, i + 1);
    w += (size_t)sprintf(s + w, "]}}");
    json_doc *d = NULL;
    abl_err e;
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    abl_status st = json_parse(&d, s, w, "tokenizer.json", &e);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    t_note(t, "parsed %.2f MB tokenizer-shaped JSON in %.1f ms CPU", (double)w / 1e6, ms);
    if (T_CHECK(t, st == ABL_OK)) {
        const json_val *m = json_get(json_root(d), "model");
        const json_val *v = json_get(m, "vocab"), *mg = json_get(m, "merges");
        T_CHECK(t, v && v->len == 49152 && mg && mg->len == 49000);
        T_CHECK(t, strcmp(v->keys[49151], "\xc4\xa0tok49151\xc3\xa9") == 0 && v->kids[49151].i64 == 49151);
        T_CHECK(t, strcmp(mg->kids[7].str, "\xc4\xa0t7 k8") == 0);
    }
    json_free(d);
    free(s);
}

/* JSONL: each line parsed on its own; a bad line gives its own error. */
void test_json_lines(tctx *t)
{
    const char *text = "{\"q\":\"a\",\"n\":1}\n{\"q\":\"b\",\"n\":2}\n{\"q\":\"c\" \"n\":3}\n";
    const char *p = text;
    int good = 0, bad = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        json_doc *d;
        abl_err e;
        if (json_parse(&d, p, (size_t)(nl - p), "x.jsonl:line", &e) == ABL_OK) {
            good++;
            json_free(d);
        } else {
            bad++;
            T_CHECK(t, strstr(e.msg, "line: byte 9: expected ',' or '}' in an object") != NULL);
        }
        p = nl + 1;
    }
    T_CHECK(t, good == 2 && bad == 1);
}

void test_json_quote_for_messages(tctx *t)
{
    char b[16];
    T_CHECK(t, strcmp(json_quote(b, sizeof b, "abc"), "abc") == 0);
    T_CHECK(t, strcmp(json_quote(b, sizeof b, "a\nb\x01"), "a\\x0ab\\x01") == 0);
    T_CHECK(t, strcmp(json_quote(b, sizeof b, "0123456789abcdefghij"), "0123456789ab...") == 0);
    /* never cut inside a UTF-8 sequence: "0123456789a" + e-acute (2 bytes) */
    T_CHECK(t, strcmp(json_quote(b, sizeof b, "0123456789a\xc3\xa9xyz"), "0123456789a...") == 0);
    T_CHECK(t, strcmp(json_quote(b, sizeof b, NULL), "(null)") == 0);
    T_CHECK(t, strcmp(json_type_name(JSON_OBJECT), "object") == 0);
}

/* The real tokenizer.json (after `make model`): parses, has the 49152-entry vocab; notes time. */
void mtest_json_real_tokenizer(tctx *t)
{
    const char *path = "models/smollm2-135m-instruct/tokenizer.json";
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        t_skip(t, "models/smollm2-135m-instruct/tokenizer.json is missing (run `make model`)");
        return;
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = malloc((size_t)n);
    size_t got = fread(s, 1, (size_t)n, fp);
    fclose(fp);
    T_CHECK(t, got == (size_t)n);
    json_doc *d = NULL;
    abl_err e;
    struct timespec a, b, ca, cb;
    double best = 1e9, best_cpu = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        json_free(d);
        d = NULL;
        clock_gettime(CLOCK_MONOTONIC, &a);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
        abl_status st = json_parse(&d, s, got, path, &e);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (!T_CHECK(t, st == ABL_OK))
            break;
        double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        double cms = (double)(cb.tv_sec - ca.tv_sec) * 1e3 + (double)(cb.tv_nsec - ca.tv_nsec) / 1e6;
        best = ms < best ? ms : best;
        best_cpu = cms < best_cpu ? cms : best_cpu;
    }
    if (d) {
        const json_val *m = json_get(json_root(d), "model");
        const json_val *v = json_get(m, "vocab");
        T_CHECK(t, v && v->type == JSON_OBJECT && v->len == 49152);
        T_CHECK(t, json_get(m, "merges") && json_get(m, "merges")->len > 40000);
    }
    t_note(t, "tokenizer.json %.2f MB parsed in %.1f ms wall, %.1f ms CPU (best of 3)",
           (double)got / 1e6, best, best_cpu);
    json_free(d);
    free(s);
}
