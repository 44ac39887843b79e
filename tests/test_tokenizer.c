/* tests/test_tokenizer.c - the tokenizer against HF `tokenizers` goldens (tiny tokenizers in the
 * fast tier, SmolLM2 in the model tier) and hand-written tokenizer.json files made here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/chat.h"
#include "../engine/tokenizer.h"
#include "../engine/tokenizer_int.h"
#include "../engine/unicode_tables.h"
#include "t.h"

#define ABL_FUZZ_NO_ENTRY
#include "fuzz/fuzz_tokenizer.c"

#define REAL_TOK "models/smollm2-135m-instruct/tokenizer.json"

/* ---- golden files (format in tools/golden/tokenizer_golden.py) --------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1))) {
        if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        } else {
            buf[size] = 0;
            *len = (size_t)size;
        }
    }
    fclose(f);
    return buf;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Undo the golden escapes in place over s[0..n); returns the new length or -1 on a bad escape. */
static long unescape(char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            s[k++] = s[i];
            continue;
        }
        if (++i >= n)
            return -1;
        switch (s[i]) {
        case '\\': s[k++] = '\\'; break;
        case 'n': s[k++] = '\n'; break;
        case 't': s[k++] = '\t'; break;
        case 'r': s[k++] = '\r'; break;
        case 'x':
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
                return -1;
            s[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
            break;
        default:
            return -1;
        }
    }
    return (long)k;
}

/* Encode every golden line and compare ids (all of them) and the round trip (lines marked '=').
 * Returns the number of mismatching lines (-1 when a file cannot be used); with quiet, a mismatch
 * is counted but not recorded as a failure (for the planted-fault test). */
static long run_golden(tctx *t, const char *tok_path, const char *tsv_path, bool quiet)
{
    abl_err err = {0};
    tokenizer *tk = NULL;
    if (tok_load(&tk, tok_path, &err)) {
        t_fail(t, "%s: %s", tok_path, err.msg);
        return -1;
    }
    size_t len = 0;
    char *buf = slurp(tsv_path, &len);
    if (!buf) {
        t_fail(t, "%s: cannot read (hint: python3 tools/golden/tokenizer_golden.py)", tsv_path);
        tok_free(tk);
        return -1;
    }
    tok_ids ids = {0};
    long n_cases = 0, n_bad = 0, n_roundtrip = 0, line_no = 0;
    for (char *line = buf, *next; line < buf + len; line = next) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        next = nl ? nl + 1 : buf + len;
        if (nl)
            *nl = 0;
        line_no++;
        if (line[0] == '#' || (!line[0] && !nl))
            continue;
        char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        long tlen = tab1 ? unescape(line, (size_t)(tab1 - line)) : -1;
        if (!tab2 || tlen < 0) {
            t_fail(t, "%s:%ld: expected TEXT<TAB>IDS<TAB>R", tsv_path, line_no);
            break;
        }
        *tab2 = 0;
        n_cases++;
        ids.n = 0;
        if (tok_encode(tk, line, (size_t)tlen, &ids, &err)) {
            if (!quiet)
                t_fail(t, "%s:%ld: encode failed: %s", tsv_path, line_no, err.msg);
            n_bad++;
            continue;
        }
        size_t k = 0, first_diff = SIZE_MAX;
        for (char *p = tab1 + 1; *p;) {
            long v = strtol(p, &p, 10);
            if (k >= ids.n || ids.v[k] != v)
                first_diff = first_diff == SIZE_MAX ? k : first_diff;
            k++;
            if (*p == ',')
                p++;
        }
        if (k != ids.n && first_diff == SIZE_MAX)
            first_diff = k < ids.n ? k : ids.n;
        if (first_diff != SIZE_MAX) {
            if (!n_bad && !quiet)
                t_fail(t, "%s:%ld: ids differ from HF at index %zu (expected %zu ids, got %zu; "
                       "got id %d there)", tsv_path, line_no, first_diff, k, ids.n,
                       first_diff < ids.n ? ids.v[first_diff] : -1);
            n_bad++;
            continue;
        }
        if (tab2[1] == '=') {
            char *back = NULL;
            size_t blen = 0;
            if (tok_decode(tk, ids.v, ids.n, &back, &blen, &err) || blen != (size_t)tlen ||
                memcmp(back, line, blen)) {
                if (!n_bad && !quiet)
                    t_fail(t, "%s:%ld: decode(encode(x)) != x", tsv_path, line_no);
                n_bad++;
            } else {
                n_roundtrip++;
            }
            free(back);
        }
    }
    t_note(t, "%s: %ld strings, %ld identical to HF, %ld round trips checked, %ld mismatches",
           tsv_path, n_cases, n_cases - n_bad, n_roundtrip, n_bad);
    T_CHECK(t, n_cases > 0);
    tok_ids_free(&ids);
    free(buf);
    tok_free(tk);
    return n_bad;
}

void test_tokenizer_golden_tiny(tctx *t)
{
    static const char *const names[] = {"llama3", "qwen2", "digits"};
    char tok[256], tsv[256];
    for (size_t i = 0; i < ABL_ARRAY_LEN(names); i++) {
        snprintf(tok, sizeof tok, "tests/golden/tok_tiny_%s.json", names[i]);
        snprintf(tsv, sizeof tsv, "tests/golden/tok_tiny_%s.tsv", names[i]);
        run_golden(t, tok, tsv, false);
    }
    run_golden(t, "tests/fixtures/tiny/tokenizer.json", "tests/golden/tok_tiny_gpt2.tsv", false);
}

void mtest_tokenizer_golden_smollm2(tctx *t)
{
    FILE *f = fopen(REAL_TOK, "rb");
    if (!f) {
        t_skip(t, REAL_TOK " is missing (make model)");
        return;
    }
    fclose(f);
    run_golden(t, REAL_TOK, "tests/golden/tokenizer_smollm2.tsv", false);
}

/* ---- hand-written tokenizer.json files --------------------------------------------------- */

/* GPT-2 byte-level character of byte b, as UTF-8 into out; returns its length. */
static int bl_char(int b, char *out)
{
    int cp = b;
    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)) {
        int n = 0;
        for (int k = 0; k < b; k++)
            if (!((k >= 33 && k <= 126) || (k >= 161 && k <= 172) || k >= 174))
                n++;
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* Append raw bytes as a JSON string body of byte-level characters. */
static void put_bl(FILE *f, const char *raw)
{
    for (const unsigned char *p = (const unsigned char *)raw; *p; p++) {
        char c[2];
        int n = bl_char(*p, c);
        if (n == 1 && (c[0] == '"' || c[0] == '\\'))
            fputc('\\', f);
        fwrite(c, 1, (size_t)n, f);
    }
}

typedef struct {
    const char *merges[16][2];  /* raw byte strings, by rank; NULL ends */
    const char *added;          /* added_tokens JSON array body, or NULL */
    const char *pre;            /* pre_tokenizer JSON, or NULL for plain ByteLevel */
    const char *extra;          /* extra top-level members ("normalizer": ...,), or NULL */
    const char *model_extra;    /* extra model members, or NULL */
} hand_spec;

/* Write a byte-level BPE tokenizer.json: 256 byte tokens (ids 0..255 by byte value), then one
 * token per merge result (ids 256..), then added tokens as given. Returns the path. */
static const char *write_hand(tctx *t, const hand_spec *h, const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", t_tmpdir(t), name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        t_fail(t, "cannot write %s", path);
        return path;
    }
    fprintf(f, "{\"version\": \"1.0\", \"added_tokens\": [%s],\n", h->added ? h->added : "");
    fprintf(f, "%s", h->extra ? h->extra : "\"normalizer\": null,");
    fprintf(f, "\"pre_tokenizer\": %s,\n", h->pre ? h->pre :
            "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}");
    fprintf(f, "\"post_processor\": null, \"decoder\": {\"type\": \"ByteLevel\"},\n");
    fprintf(f, "\"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, %s\"vocab\": {",
            h->model_extra ? h->model_extra : "");
    for (int b = 0; b < 256; b++) {
        char raw[2] = {(char)b, 0};
        fprintf(f, "%s\"", b ? ", " : "");
        if (b == 0) { /* put_bl stops at NUL: byte 0 is U+0100 */
            fputs("\xc4\x80", f);
        } else {
            put_bl(f, raw);
        }
        fprintf(f, "\": %d", b);
    }
    int n = 0;
    for (; n < 16 && h->merges[n][0]; n++) {
        fprintf(f, ", \"");
        put_bl(f, h->merges[n][0]);
        put_bl(f, h->merges[n][1]);
        fprintf(f, "\": %d", 256 + n);
    }
    fprintf(f, "}, \"merges\": [");
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s[\"", i ? ", " : "");
        put_bl(f, h->merges[i][0]);
        fprintf(f, "\", \"");
        put_bl(f, h->merges[i][1]);
        fprintf(f, "\"]");
    }
    fprintf(f, "]}}\n");
    fclose(f);
    return path;
}

static tokenizer *load_hand(tctx *t, const hand_spec *h)
{
    char path[512];
    abl_err err = {0};
    tokenizer *tk = NULL;
    if (tok_load(&tk, write_hand(t, h, "tokenizer.json", path, sizeof path), &err))
        t_fail(t, "hand-made tokenizer: %s", err.msg);
    return tk;
}

/* Encode text and render the pieces joined by '|' into out. */
static const char *pieces(tokenizer *tk, const char *text, char *out, size_t cap)
{
    tok_ids ids = {0};
    abl_err err = {0};
    out[0] = 0;
    if (tok_encode(tk, text, strlen(text), &ids, &err) == ABL_OK) {
        size_t k = 0;
        for (size_t i = 0; i < ids.n; i++) {
            size_t plen;
            const char *p = tok_piece(tk, ids.v[i], &plen);
            if (!p || k + plen + 2 >= cap)
                break;
            if (i)
                out[k++] = '|';
            memcpy(out + k, p, plen);
            k += plen;
        }
        out[k] = 0;
    }
    tok_ids_free(&ids);
    return out;
}

#define CHECK_PIECES(t, tk, text, want)                                                    \
    do {                                                                                    \
        char got_[512];                                                                     \
        pieces((tk), (text), got_, sizeof got_);                                            \
        if (strcmp(got_, (want)))                                                           \
            t_fail((t), "%s:%d: encode(\"%s\") gave \"%s\", expected \"%s\"", __FILE__,     \
                   __LINE__, (text), got_, (want));                                         \
    } while (0)

void test_tokenizer_merges_by_rank(tctx *t)
{
    hand_spec a = {.merges = {{"b", "c"}, {"a", "b"}, {"a", "a"}, {"aa", "aa"}}};
    tokenizer *tk = load_hand(t, &a);
    if (!tk)
        return;
    CHECK_PIECES(t, tk, "abc", "a|bc");   /* bc has the lower rank */
    CHECK_PIECES(t, tk, "aaa", "aa|a");   /* equal ranks: leftmost first */
    CHECK_PIECES(t, tk, "aaaa", "aaaa");  /* then the merged pair merges */
    CHECK_PIECES(t, tk, "aaaaa", "aaaa|a");
    CHECK_PIECES(t, tk, "ab ab", "ab| |ab"); /* " ab" is one word; (" ", "ab") has no merge */
    tok_free(tk);
    hand_spec b = {.merges = {{"a", "b"}, {"b", "c"}}};
    tk = load_hand(t, &b);
    if (!tk)
        return;
    CHECK_PIECES(t, tk, "abc", "ab|c");
    CHECK_PIECES(t, tk, "bcab", "bc|ab");
    tok_free(tk);
}

void test_tokenizer_special_tokens(tctx *t)
{
    hand_spec h = {
        .merges = {{" ", "a"}},
        .added = "{\"id\": 300, \"content\": \"<|s|>\", \"special\": true, \"normalized\": false},"
                 "{\"id\": 301, \"content\": \"<|s|>x\", \"special\": true, \"normalized\": false},"
                 "{\"id\": 302, \"content\": \"<|t|>\", \"special\": true, \"normalized\": false}"};
    tokenizer *tk = load_hand(t, &h);
    if (!tk)
        return;
    CHECK_PIECES(t, tk, "a<|s|>x<|s|>b<|t|>", "a|<|s|>x|<|s|>|b|<|t|>"); /* longest match */
    CHECK_PIECES(t, tk, " a<|t|> a", " a|<|t|>| a");
    CHECK_PIECES(t, tk, "<|s|", "<|||s||"); /* partial: plain bytes */
    CHECK_PIECES(t, tk, "<|t|><|t|>", "<|t|>|<|t|>");
    T_CHECK(t, tok_special_id(tk, "<|s|>x") == 301);
    T_CHECK(t, tok_special_id(tk, "<|nope|>") == -1);
    T_CHECK(t, tok_vocab_size(tk) == 303);
    size_t n;
    T_CHECK(t, tok_piece(tk, 299, &n) == NULL); /* a hole in the id range */
    T_CHECK(t, tok_piece(tk, 303, &n) == NULL && tok_piece(tk, -1, &n) == NULL);
    int32_t bad[] = {97, 299};
    char *s = NULL;
    size_t len;
    abl_err err = {0};
    T_CHECK(t, tok_decode(tk, bad, 2, &s, &len, &err) == ABL_E_ARG && s == NULL);
    tok_free(tk);
}

void test_tokenizer_byte_level_roundtrip(tctx *t)
{
    hand_spec h = {.merges = {{"\xc3", "\xa9"}, {" ", "\xc3\xa9"}}};
    tokenizer *tk = load_hand(t, &h);
    if (!tk)
        return;
    abl_err err = {0};
    tok_ids ids = {0};
    for (int b = 0; b < 256; b++) { /* every single byte is its own token, id = byte */
        char c = (char)b;
        ids.n = 0;
        T_CHECK(t, tok_encode(tk, &c, 1, &ids, &err) == ABL_OK);
        if (ids.n != 1 || ids.v[0] != b) {
            t_fail(t, "byte 0x%02x: expected id %d", b, b);
            break;
        }
    }
    char all[512];
    for (int i = 0; i < 512; i++)
        all[i] = (char)(i * 7 + 3);
    ids.n = 0;
    char *back = NULL;
    size_t blen = 0;
    T_CHECK(t, tok_encode(tk, all, sizeof all, &ids, &err) == ABL_OK);
    T_CHECK(t, tok_decode(tk, ids.v, ids.n, &back, &blen, &err) == ABL_OK);
    T_CHECK(t, back && blen == sizeof all && !memcmp(back, all, blen) && back[blen] == 0);
    free(back);
    CHECK_PIECES(t, tk, "caf\xc3\xa9 \xc3\xa9", "c|a|f|\xc3\xa9| \xc3\xa9");
    T_CHECK(t, tok_encode(tk, "", 0, &ids, &err) == ABL_OK); /* empty: nothing appended */
    tok_ids_free(&ids);
    tok_ids_free(&ids); /* twice is fine */
    tok_free(tk);
    tok_free(NULL);
}

void test_tokenizer_digits_split(tctx *t)
{
    static const hand_spec plain = {.merges = {{"1", "2"}, {"a", "1"}, {"\xd9", "\xa3"},
                                               {"\xd9", "\xa4"}, {"\xd9\xa3", "\xd9\xa4"}}};
    tokenizer *tk = load_hand(t, &plain);
    if (!tk)
        return;
    CHECK_PIECES(t, tk, "x12", "x|12"); /* GPT-2 regex: "x" and "12" are separate words */
    CHECK_PIECES(t, tk, " 12", " |12");
    CHECK_PIECES(t, tk, "\xd9\xa3\xd9\xa4", "\xd9\xa3\xd9\xa4");
    tok_free(tk);
    static const char *const pres[] = {
        "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\", \"individual_digits\": "
        "true}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false}]}",
        "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": "
        "\"\\\\p{N}\"}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", "
        "\"add_prefix_space\": false}]}",
    };
    for (size_t i = 0; i < ABL_ARRAY_LEN(pres); i++) {
        hand_spec d = plain;
        d.pre = pres[i];
        tk = load_hand(t, &d);
        if (!tk)
            return;
        CHECK_PIECES(t, tk, "a12", "a|1|2");
        CHECK_PIECES(t, tk, " 12 ", " |1|2| ");
        CHECK_PIECES(t, tk, "\xd9\xa3\xd9\xa4", "\xd9\xa3|\xd9\xa4"); /* Arabic-Indic digits */
        tok_free(tk);
    }
    hand_spec run = plain;
    run.pre = "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\"}, "
              "{\"type\": \"ByteLevel\", \"add_prefix_space\": false}]}";
    tk = load_hand(t, &run);
    if (!tk)
        return;
    CHECK_PIECES(t, tk, "a12b", "a|12|b");
    tok_free(tk);
    T_CHECK(t, uni_is_numeric('7') && !uni_is_numeric('x') && uni_is_numeric(0x0663));
    T_CHECK(t, uni_is_numeric(0x11DE3) && uni_classify(0x11DE3) == UNI_OTHER); /* Unicode 17 vs 16 */
}

/* Split expectations from HF tokenizers' Split(Regex(pattern), "isolated"). */
static const struct {
    tok_regex re;
    const char *in, *want;
} regex_cases[] = {
    {TOK_RE_GPT2, "Hello world", "Hello| world"},
    {TOK_RE_GPT2, "I've  been   there", "I|'ve| | been|  | there"},
    {TOK_RE_GPT2, "a \n\n b", "a| \n\n| b"},
    {TOK_RE_GPT2, "x\t\ty", "x|\t|\t|y"},
    {TOK_RE_GPT2, "  lead", " | lead"},
    {TOK_RE_GPT2, "trail  ", "trail|  "},
    {TOK_RE_GPT2, "12345 abc", "12345| abc"},
    {TOK_RE_GPT2, "don't DON'T", "don|'t| DON|'|T"},
    {TOK_RE_GPT2, "(hello) [x]", "(|hello|)| [|x|]"},
    {TOK_RE_GPT2, "\thello", "\t|hello"},
    {TOK_RE_GPT2, "\nhello", "\n|hello"},
    {TOK_RE_GPT2, "a\r\n\r\nb", "a|\r\n\r|\n|b"},
    {TOK_RE_GPT2, "!!\n\n", "!!|\n\n"},
    {TOK_RE_GPT2, "?? \r\n", "??| \r\n"},
    {TOK_RE_GPT2, "café 日本", "café| 日本"},
    {TOK_RE_GPT2, "x　 y", "x|　| y"},
    {TOK_RE_GPT2, "1234567", "1234567"},
    {TOK_RE_GPT2, "'ll'S'ſ", "'ll|'|S|'|ſ"},
    {TOK_RE_LLAMA3, "Hello world", "Hello| world"},
    {TOK_RE_LLAMA3, "I've  been   there", "I|'ve| | been|  | there"},
    {TOK_RE_LLAMA3, "a \n\n b", "a| \n\n| b"},
    {TOK_RE_LLAMA3, "x\t\ty", "x|\t|\ty"},
    {TOK_RE_LLAMA3, "  lead", " | lead"},
    {TOK_RE_LLAMA3, "trail  ", "trail|  "},
    {TOK_RE_LLAMA3, "12345 abc", "123|45| abc"},
    {TOK_RE_LLAMA3, "don't DON'T", "don|'t| DON|'T"},
    {TOK_RE_LLAMA3, "(hello) [x]", "(hello|)| [|x|]"},
    {TOK_RE_LLAMA3, "\thello", "\thello"},
    {TOK_RE_LLAMA3, "\nhello", "\n|hello"},
    {TOK_RE_LLAMA3, "a\r\n\r\nb", "a|\r\n\r\n|b"},
    {TOK_RE_LLAMA3, "!!\n\n", "!!\n\n"},
    {TOK_RE_LLAMA3, "?? \r\n", "??| \r\n"},
    {TOK_RE_LLAMA3, "café 日本", "café| 日本"},
    {TOK_RE_LLAMA3, "x　 y", "x|　| y"},
    {TOK_RE_LLAMA3, "1234567", "123|456|7"},
    {TOK_RE_LLAMA3, "'ll'S'ſ", "'ll|'S|'ſ"},
    {TOK_RE_QWEN2, "12345 abc", "1|2|3|4|5| abc"},
    {TOK_RE_QWEN2, "1234567", "1|2|3|4|5|6|7"},
    {TOK_RE_QWEN2, "(hello) [x]", "(hello|)| [|x|]"},
    /* our own rule for invalid UTF-8: each bad byte is one "other" character */
    {TOK_RE_GPT2, "a\xff" "b", "a|\xff|b"},
    {TOK_RE_GPT2, " \xff\xfe!x", " \xff\xfe!|x"},
    {TOK_RE_GPT2, "\xc3(", "\xc3(" },
    {TOK_RE_GPT2, "ab\xe6\x97", "ab|\xe6\x97"},
    {TOK_RE_LLAMA3, "\xff" "abc", "\xff" "abc"},
};

void test_tokenizer_regex_splits(tctx *t)
{
    for (size_t c = 0; c < ABL_ARRAY_LEN(regex_cases); c++) {
        const uint8_t *s = (const uint8_t *)regex_cases[c].in;
        size_t n = strlen(regex_cases[c].in), k = 0;
        char got[256];
        for (size_t i = 0; i < n;) {
            size_t j = tok_regex_match(regex_cases[c].re, s, n, i);
            if (j <= i || j > n || k + (j - i) + 2 >= sizeof got) {
                t_fail(t, "case %zu: match at %zu returned %zu", c, i, j);
                return;
            }
            if (i)
                got[k++] = '|';
            memcpy(got + k, s + i, j - i);
            k += j - i;
            i = j;
        }
        got[k] = 0;
        if (strcmp(got, regex_cases[c].want))
            t_fail(t, "case %zu (\"%s\"): got \"%s\", expected \"%s\"", c, regex_cases[c].in, got,
                   regex_cases[c].want);
    }
    tok_regex re;
    T_CHECK(t, !tok_regex_from_pattern("\\w+", &re));
    T_CHECK(t, tok_regex_from_pattern(
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", &re) &&
        re == TOK_RE_GPT2);
}

void test_tokenizer_invalid_utf8(tctx *t)
{
    hand_spec h = {.merges = {{"a", "b"}}};
    tokenizer *tk = load_hand(t, &h);
    if (!tk)
        return;
    static const char *const bad[] = {"\xff", "\xc3", "ab\xc3", "\xe2\x82", "\xed\xa0\x80",
                                      "\xf4\x90\x80\x80", "\xc0\xaf", "\x80\x80\x61\x62", "ab\xf0\x9f\x99",
                                      "\xf0\x9f\x99\x82\xff ab\xfe\n\xc3\xa9"};
    abl_err err = {0};
    for (size_t i = 0; i < ABL_ARRAY_LEN(bad); i++) {
        tok_ids a = {0}, b = {0};
        size_t n = strlen(bad[i]);
        T_CHECK(t, tok_encode(tk, bad[i], n, &a, &err) == ABL_OK);
        T_CHECK(t, tok_encode(tk, bad[i], n, &b, &err) == ABL_OK);
        T_CHECK(t, a.n == b.n && (!a.n || !memcmp(a.v, b.v, a.n * sizeof *a.v)));
        char *back = NULL;
        size_t blen = 0;
        T_CHECK(t, tok_decode(tk, a.v, a.n, &back, &blen, &err) == ABL_OK);
        if (!back || blen != n || memcmp(back, bad[i], n))
            t_fail(t, "invalid UTF-8 case %zu does not round-trip", i);
        free(back);
        tok_ids_free(&a);
        tok_ids_free(&b);
    }
    CHECK_PIECES(t, tk, "ab\xff" "ab", "ab|\xff|ab");
    tok_free(tk);
}

/* True when s[0..n) is complete valid UTF-8. */
static bool valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        int len;
        if (tok_utf8_next((const uint8_t *)s, n, i, &len) == TOK_INVALID_CP)
            return false;
        i += (size_t)len;
    }
    return true;
}

void test_tokenizer_stream_decode(tctx *t)
{
    hand_spec h = {.merges = {{"\xc3", "\xa9"}, {"\xe6", "\x97"}, {"a", "\xf0"}}};
    tokenizer *tk = load_hand(t, &h);
    if (!tk)
        return;
    const char *text = "\xc3\xa9\xe6\x97\xa5" "a\xf0\x9f\x99\x82 x\xe6\x97\xa5\xe6\x97\xa5";
    tok_ids ids = {0};
    abl_err err = {0};
    T_CHECK(t, tok_encode(tk, text, strlen(text), &ids, &err) == ABL_OK);
    T_CHECK(t, tok_max_piece_len(tk) >= 2);
    tok_stream st = {0};
    char out[64], all[128];
    size_t total = 0;
    for (size_t i = 0; i < ids.n; i++) {
        size_t k = tok_stream_feed(tk, &st, ids.v[i], out, sizeof out);
        if (!valid_utf8(out, k))
            t_fail(t, "stream chunk %zu splits a character", i);
        memcpy(all + total, out, k);
        total += k;
    }
    total += tok_stream_flush(&st, all + total, 8);
    T_CHECK(t, total == strlen(text) && !memcmp(all, text, total));
    /* an unfinished character is held back, then released as raw bytes when it cannot finish */
    tok_stream s2 = {0};
    T_CHECK(t, tok_stream_feed(tk, &s2, 0xe6, out, sizeof out) == 0);
    T_CHECK(t, tok_stream_feed(tk, &s2, 0x97, out, sizeof out) == 0);
    size_t k = tok_stream_feed(tk, &s2, 'z', out, sizeof out);
    T_CHECK(t, k == 3 && !memcmp(out, "\xe6\x97z", 3));
    T_CHECK(t, tok_stream_feed(tk, &s2, 0xff, out, sizeof out) == 1); /* never a lead byte */
    T_CHECK(t, tok_stream_feed(tk, &s2, 0xf0, out, sizeof out) == 0);
    T_CHECK(t, tok_stream_flush(&s2, out, 8) == 1 && (unsigned char)out[0] == 0xf0);
    T_CHECK(t, tok_stream_feed(tk, &s2, -5, out, sizeof out) == 0); /* not a token: nothing */
    tok_ids_free(&ids);
    tok_free(tk);
}

void test_tokenizer_word_cache(tctx *t)
{
    hand_spec h = {.merges = {{"w", "1"}, {"w1", "2"}, {" ", "w"}, {" w", "1"}}};
    tokenizer *a = load_hand(t, &h), *b = load_hand(t, &h);
    if (!a || !b) {
        tok_free(a);
        tok_free(b);
        return;
    }
    /* more distinct words than the cache holds, so it is emptied and refilled on the way */
    size_t cap = 70000 * 8, n = 0;
    char *text = malloc(cap);
    T_CHECK(t, text != NULL);
    for (int i = 0; text && i < 70000; i++)
        n += (size_t)snprintf(text + n, cap - n, " w%d", (i * 7919) % 100000);
    tok_ids all = {0}, again = {0}, one = {0};
    abl_err err = {0};
    T_CHECK(t, tok_encode(a, text, n, &all, &err) == ABL_OK);
    T_CHECK(t, tok_encode(a, text, n, &again, &err) == ABL_OK);
    T_CHECK(t, all.n == again.n && !memcmp(all.v, again.v, all.n * sizeof *all.v));
    /* the same words one call each on a fresh tokenizer: digits split per GPT-2 regex word */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && text[j] != ' ')
            j++;
        T_CHECK(t, tok_encode(b, text + i, j - i, &one, &err) == ABL_OK);
        i = j;
    }
    T_CHECK(t, one.n == all.n && !memcmp(one.v, all.v, all.n * sizeof *all.v));
    uint64_t hits, misses;
    tok_cache_stats(a, &hits, &misses);
    t_note(t, "%zu ids; cache hits %llu, misses %llu", all.n, (unsigned long long)hits,
           (unsigned long long)misses);
    T_CHECK(t, hits > 0 && misses > 0);
    tok_ids_free(&all);
    tok_ids_free(&again);
    tok_ids_free(&one);
    free(text);
    tok_free(a);
    tok_free(b);
}

static abl_status load_text(tctx *t, const char *json, const char *name, abl_err *err)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", t_tmpdir(t), name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return ABL_E_IO;
    fputs(json, f);
    fclose(f);
    tokenizer *tk = NULL;
    abl_status st = tok_load(&tk, path, err);
    T_CHECK(t, (st == ABL_OK) == (tk != NULL));
    tok_free(tk);
    return st;
}

void test_tokenizer_load_errors(tctx *t)
{
    abl_err err = {0};
    tokenizer *tk = NULL;
    T_CHECK(t, tok_load(&tk, "/nonexistent/tokenizer.json", &err) == ABL_E_IO && !tk);
    T_CHECK(t, strstr(err.msg, "/nonexistent/tokenizer.json") != NULL);
    T_CHECK(t, load_text(t, "{\"model\": ", "a.json", &err) == ABL_E_FORMAT);
    T_CHECK(t, load_text(t, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}", "b.json",
                         &err) == ABL_E_UNSUPPORTED);
    T_CHECK(t, strstr(err.msg, "WordPiece") != NULL);
    static const struct {
        hand_spec h;
        abl_status want;
        const char *says;
    } cases[] = {
        {{.extra = "\"normalizer\": {\"type\": \"NFKC\"},"}, ABL_E_UNSUPPORTED, "NFKC"},
        {{.pre = "{\"type\": \"Metaspace\"}"}, ABL_E_UNSUPPORTED, "Metaspace"},
        {{.pre = "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\w+\"}, \"behavior\": "
                 "\"Isolated\"}"}, ABL_E_UNSUPPORTED, "pattern"},
        {{.pre = "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\"}]}"},
         ABL_E_UNSUPPORTED, "ByteLevel"},
        {{.model_extra = "\"byte_fallback\": true, "}, ABL_E_UNSUPPORTED, "byte_fallback"},
        {{.model_extra = "\"continuing_subword_prefix\": \"##\", "}, ABL_E_UNSUPPORTED, "##"},
        {{.added = "{\"id\": -4, \"content\": \"x\"}"}, ABL_E_FORMAT, "added_tokens[0]"},
    };
    for (size_t i = 0; i < ABL_ARRAY_LEN(cases); i++) {
        char path[512];
        write_hand(t, &cases[i].h, "bad.json", path, sizeof path);
        err = (abl_err){0};
        abl_status st = tok_load(&tk, path, &err);
        if (st != cases[i].want || !strstr(err.msg, cases[i].says))
            t_fail(t, "case %zu: got %s \"%s\", expected %s mentioning %s", i, abl_status_name(st),
                   err.msg, abl_status_name(cases[i].want), cases[i].says);
        tok_free(tk);
        tk = NULL;
    }
    /* a merge whose parts are not in the vocab */
    T_CHECK(t, load_text(t, "{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"decoder\": {\"type\": "
                         "\"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
                         "\"merges\": [\"a b\"]}}", "c.json", &err) == ABL_E_FORMAT);
    T_CHECK(t, strstr(err.msg, "merges[0]") != NULL);
}

void test_tokenizer_bos_eos(tctx *t)
{
    abl_err err = {0};
    tokenizer *tk = NULL;
    if (tok_load(&tk, "tests/golden/tok_tiny_llama3.json", &err)) {
        t_fail(t, "%s", err.msg);
        return;
    }
    T_CHECK(t, tok_adds_bos(tk) && tok_bos_id(tk) == tok_special_id(tk, "<|begin_of_text|>"));
    tok_free(tk);
    hand_spec h = {.added = "{\"id\": 256, \"content\": \"<s>\", \"special\": true},"
                            "{\"id\": 257, \"content\": \"</s>\", \"special\": true}"};
    char path[512], cfg[512];
    write_hand(t, &h, "tokenizer.json", path, sizeof path);
    if (tok_load(&tk, path, &err)) {
        t_fail(t, "%s", err.msg);
        return;
    }
    T_CHECK(t, tok_bos_id(tk) == -1 && tok_eos_id(tk) == -1 && !tok_adds_bos(tk));
    tok_free(tk);
    snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", t_tmpdir(t));
    FILE *f = fopen(cfg, "wb");
    if (!f) {
        t_fail(t, "cannot write %s", cfg);
        return;
    }
    fputs("{\"bos_token\": \"<s>\", \"eos_token\": {\"content\": \"</s>\"}, \"add_bos_token\": true}", f);
    fclose(f);
    if (tok_load(&tk, path, &err)) {
        t_fail(t, "%s", err.msg);
        return;
    }
    T_CHECK(t, tok_bos_id(tk) == 256 && tok_eos_id(tk) == 257 && tok_adds_bos(tk));
    tok_free(tk);
}

void test_tokenizer_chat_format(tctx *t)
{
    chat_msg msgs[] = {{"user", "Hi!"}, {"assistant", "Hello."}, {"user", "2+2?"}};
    char *s = NULL;
    size_t n = 0;
    abl_err err = {0};
    T_CHECK(t, chat_format(msgs, 3, "Be brief.", true, &s, &n, &err) == ABL_OK);
    const char *want = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
                       "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
                       "<|im_start|>assistant\n";
    T_CHECK(t, s && n == strlen(want) && !strcmp(s, want));
    free(s);
    chat_msg sys[] = {{"system", "S"}, {"user", "U"}};
    T_CHECK(t, chat_format(sys, 2, "ignored", false, &s, &n, &err) == ABL_OK);
    T_CHECK(t, s && !strcmp(s, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"));
    free(s);
    chat_msg bad[] = {{"user", NULL}};
    T_CHECK(t, chat_format(bad, 1, NULL, true, &s, &n, &err) == ABL_E_ARG && !s);
    /* the default system message comes from the folder's chat template */
    T_CHECK(t, chat_default_system(t_tmpdir(t)) == NULL);
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", t_tmpdir(t));
    FILE *f = fopen(cfg, "wb");
    if (!f) {
        t_fail(t, "cannot write %s", cfg);
        return;
    }
    fputs("{\"chat_template\": \"{% if x %}{{ '<|im_start|>system\\nYou are SmolLM<|im_end|>\\n' }}"
          "{% endif %}\"}", f);
    fclose(f);
    char *d = chat_default_system(t_tmpdir(t));
    T_CHECK(t, d && !strcmp(d, "You are SmolLM"));
    free(d);
    T_CHECK(t, chat_prompt(t_tmpdir(t), "Q", &s, &n, &err) == ABL_OK);
    T_CHECK(t, s && !strcmp(s, "<|im_start|>system\nYou are SmolLM<|im_end|>\n<|im_start|>user\nQ"
                               "<|im_end|>\n<|im_start|>assistant\n"));
    free(s);
}

void mtest_tokenizer_chat_smollm2(tctx *t)
{
    abl_err err = {0};
    tokenizer *tk = NULL;
    if (tok_load(&tk, REAL_TOK, &err)) {
        t_skip(t, REAL_TOK " is missing (make model)");
        return;
    }
    char *s = NULL, *d = chat_default_system("models/smollm2-135m-instruct");
    size_t n = 0;
    T_CHECK(t, d && !strcmp(d, CHAT_SMOLLM2_SYSTEM));
    T_CHECK(t, chat_prompt("models/smollm2-135m-instruct", "Hi", &s, &n, &err) == ABL_OK);
    tok_ids ids = {0};
    T_CHECK(t, s && tok_encode(tk, s, n, &ids, &err) == ABL_OK);
    int32_t start = tok_special_id(tk, "<|im_start|>"), end = tok_special_id(tk, "<|im_end|>");
    T_CHECK(t, start == 1 && end == 2 && tok_eos_id(tk) == 2 && tok_bos_id(tk) == 1);
    T_CHECK(t, !tok_adds_bos(tk));
    int n_start = 0, n_end = 0;
    for (size_t i = 0; i < ids.n; i++) {
        n_start += ids.v[i] == start;
        n_end += ids.v[i] == end;
    }
    T_CHECK(t, ids.n > 10 && ids.v[0] == start && n_start == 3 && n_end == 2);
    tok_ids_free(&ids);
    free(s);
    free(d);
    tok_free(tk);
}

/* The golden check itself can fail: a wrong id, a missing id and an extra id are caught. */
void test_tokenizer_golden_detects_faults(tctx *t)
{
    hand_spec h = {.merges = {{"a", "b"}}}; /* "ab" is id 256 */
    char path[512], tsv[512];
    write_hand(t, &h, "tokenizer.json", path, sizeof path);
    snprintf(tsv, sizeof tsv, "%s/planted.tsv", t_tmpdir(t));
    FILE *f = fopen(tsv, "wb");
    if (!f) {
        t_fail(t, "cannot write %s", tsv);
        return;
    }
    /* right, wrong id, one id short, one id too many, right (the empty string) */
    fputs("# planted faults\nab\t256\t=\nab\t1\t=\nab ab\t256\t=\nab\t256,5\t=\n\t\t=\n", f);
    fclose(f);
    long bad = run_golden(t, path, tsv, true);
    if (bad != 3)
        t_fail(t, "planted golden faults: expected 3 mismatches, found %ld", bad);
}

/* Random byte strings (valid and invalid UTF-8, specials, digits, spaces) through every
 * pre-tokenizer shape: no crash, the same ids twice, and exact round trips where the
 * pre-tokenizer adds nothing. */
void test_tokenizer_random_bytes(tctx *t)
{
    static const char *const pres[] = {
        NULL,
        "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": "
        "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s"
        "\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"}, \"behavior\": "
        "\"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
        "\"use_regex\": false}]}",
        "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\", \"individual_digits\": "
        "true}, {\"type\": \"ByteLevel\", \"add_prefix_space\": true}]}",
    };
    static const char *const atoms[] = {
        "a", "b", "ab", "Z", " ", "  ", "\n", "\r\n", "\t", "'", "'s", "'LL", "1", "23", "\xc3\xa9",
        "\xe6\x97\xa5", "\xf0\x9f\x99\x82", "\xe3\x80\x80", "\xd9\xa3", "\xff", "\x80", "\xc3",
        "\xe6\x97", "\xf0\x9f", "<|s|>", "<|s", "!", "?.", "\xcc\x81", "\xc2\xa0", "\x00"};
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (size_t p = 0; p < ABL_ARRAY_LEN(pres); p++) {
        hand_spec h = {.merges = {{"a", "b"}, {" ", "ab"}, {"\xc3", "\xa9"}, {"2", "3"}},
                       .pre = pres[p],
                       .added = "{\"id\": 300, \"content\": \"<|s|>\", \"special\": true, "
                                "\"lstrip\": true, \"rstrip\": true}"};
        tokenizer *tk = load_hand(t, &h);
        if (!tk)
            return;
        tok_ids a = {0}, b = {0};
        abl_err err = {0};
        char s[512];
        for (int iter = 0; iter < 1500 && !t_failed(t); iter++) {
            size_t n = 0;
            int k = (int)(rng % 24);
            for (int j = 0; j < k; j++) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                const char *at = atoms[rng % ABL_ARRAY_LEN(atoms)];
                size_t len = at[0] ? strlen(at) : 1; /* "\x00" is one NUL byte */
                memcpy(s + n, at, len);
                n += len;
            }
            a.n = b.n = 0;
            T_CHECK(t, tok_encode(tk, s, n, &a, &err) == ABL_OK);
            T_CHECK(t, tok_encode(tk, s, n, &b, &err) == ABL_OK);
            T_CHECK(t, a.n == b.n && (!a.n || !memcmp(a.v, b.v, a.n * sizeof *a.v)));
            char *back = NULL;
            size_t blen = 0;
            T_CHECK(t, tok_decode(tk, a.v, a.n, &back, &blen, &err) == ABL_OK);
            bool strips = memmem(s, n, "<|s|>", 5) != NULL; /* lstrip/rstrip drop spaces */
            if (p != 2 && !strips && (blen != n || memcmp(back, s, n)))
                t_fail(t, "pre-tokenizer %zu, string %d: decode(encode(x)) != x", p, iter);
            free(back);
        }
        tok_ids_free(&a);
        tok_ids_free(&b);
        tok_free(tk);
    }
}

/* Replays the committed fuzz seeds (tests/fuzz/corpus/tokenizer) through the fuzz target's checks,
 * which abort on a violation. */
void test_tokenizer_fuzz_corpus(tctx *t)
{
    t_replay_corpus(t, "tests/fuzz/corpus/tokenizer", fuzz_tokenizer_one);
}
