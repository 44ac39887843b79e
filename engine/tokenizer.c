/* engine/tokenizer.c - byte-level BPE tokenizer: loads tokenizer.json (model, added tokens,
 * pre-tokenizer steps), matches added tokens first, encodes, decodes and stream-decodes.
 *
 * Encode = added tokens (leftmost-longest; tokens with normalized=false first, then the rest in
 * the gaps, as HF does) -> pre-tokenizer steps (tok_pretok.c) -> BPE per word (tok_bpe.c).
 * Decode = each id's piece: the token's string mapped back through the byte-level table, or its
 * raw UTF-8 when some character is outside the table (HF's ByteLevel decoder rule). Unlike HF,
 * which replaces invalid UTF-8 with U+FFFD when decoding, we return the exact bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/file.h"
#include "../loader/json.h"
#include "tokenizer_int.h"
#include "unicode_tables.h"

/* ---- byte-level table (GPT-2): printable bytes stand for themselves, the other 68 bytes for
 * U+0100.. in order ------------------------------------------------------------------------ */

static bool byte_printable(int b)
{
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
}

/* u2b[cp] = byte for cp < 324, or -1. */
static void byte_table(int16_t u2b[324])
{
    for (int i = 0; i < 324; i++)
        u2b[i] = -1;
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        if (byte_printable(b))
            u2b[b] = (int16_t)b;
        else
            u2b[256 + extra++] = (int16_t)b;
    }
}

/* Map the token string s[0..n) back to bytes into dst (room for n); returns the length, or
 * SIZE_MAX when some character is not in the table (then the caller keeps the raw string). */
static size_t unmap_bytes(const int16_t u2b[324], const char *s, size_t n, char *dst)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        int len;
        uint32_t cp = tok_utf8_next((const uint8_t *)s, n, i, &len);
        if (cp >= 324 || u2b[cp] < 0)
            return SIZE_MAX;
        dst[k++] = (char)u2b[cp];
        i += (size_t)len;
    }
    return k;
}

/* ---- small helpers --------------------------------------------------------------------- */

void tok_ids_free(tok_ids *ids)
{
    if (!ids)
        return;
    free(ids->v);
    ids->v = NULL;
    ids->n = ids->cap = 0;
}

/* Append bytes to t->text; *off receives where they start. */
static abl_status text_add(tokenizer *t, const char *s, size_t n, uint32_t *off, abl_err *err)
{
    if (t->text_len + n > t->text_cap) {
        size_t cap = t->text_cap ? t->text_cap : 1 << 16;
        while (cap < t->text_len + n)
            cap *= 2;
        if (cap > UINT32_MAX)
            return abl_fail(err, ABL_E_FORMAT, "tokenizer: vocabulary text over 4 GiB");
        char *p = realloc(t->text, cap);
        if (!p)
            return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory for the vocabulary");
        t->text = p;
        t->text_cap = cap;
    }
    memcpy(t->text + t->text_len, s, n);
    *off = (uint32_t)t->text_len;
    t->text_len += n;
    return ABL_OK;
}

/* Store id's piece (the byte-level decoding of its string). Sets *bytelevel when every
 * character mapped. */
static abl_status set_piece(tokenizer *t, const int16_t u2b[324], int32_t id, const char *s,
                            size_t n, bool *bytelevel, abl_err *err)
{
    uint32_t off;
    abl_status st = text_add(t, s, n, &off, err); /* reserve n bytes, then unmap in place */
    if (st)
        return st;
    size_t k = unmap_bytes(u2b, s, n, t->text + off);
    *bytelevel = k != SIZE_MAX;
    if (k == SIZE_MAX) {
        memcpy(t->text + off, s, n);
        k = n;
    }
    t->text_len = off + k;
    t->piece_off[id] = off;
    t->piece_len[id] = (uint32_t)k;
    if (k > t->max_piece)
        t->max_piece = k;
    return ABL_OK;
}

static bool json_is_null(const json_val *v) { return !v || v->type == JSON_NULL; }

static bool json_flag(const json_val *obj, const char *key, bool dflt)
{
    bool b;
    return json_as_bool(json_get(obj, key), &b) ? b : dflt;
}

/* ---- loading: model ---------------------------------------------------------------------- */

static abl_status check_model_options(const json_val *model, const char *path, abl_err *err)
{
    const char *type = json_as_str(json_get(model, "type"));
    if (type && strcmp(type, "BPE"))
        return abl_fail(err, ABL_E_UNSUPPORTED,
                        "%s: expected model type BPE, found %s (hint: only byte-level BPE "
                        "tokenizers such as GPT-2, SmolLM2, Llama-3 and Qwen are supported)",
                        path, type);
    static const char *const str_opts[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (size_t i = 0; i < ABL_ARRAY_LEN(str_opts); i++) {
        const char *v = json_as_str(json_get(model, str_opts[i]));
        if (v && *v)
            return abl_fail(err, ABL_E_UNSUPPORTED, "%s: model.%s \"%s\" is not supported "
                            "(hint: byte-level BPE uses none)", path, str_opts[i], v);
    }
    if (json_flag(model, "byte_fallback", false))
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: model.byte_fallback=true is not supported "
                        "(hint: that is a SentencePiece-style tokenizer, not byte-level BPE)",
                        path);
    double dropout = 0;
    if (json_as_num(json_get(model, "dropout"), &dropout) && dropout > 0)
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: model.dropout=%g is not supported "
                        "(hint: dropout is for training)", path, dropout);
    return ABL_OK;
}

/* The largest id in the vocab and the added tokens, validating each. */
static abl_status max_id(const json_val *vocab, const json_val *added, const char *path,
                         int64_t *out, abl_err *err)
{
    int64_t mx = -1;
    for (size_t i = 0; i < vocab->len; i++) {
        int64_t id;
        if (!json_as_int(&vocab->kids[i], &id) || id < 0 || id >= (1 << 24))
            return abl_fail(err, ABL_E_FORMAT, "%s: model.vocab[\"%s\"]: expected an id in "
                            "[0, 2^24), found something else", path, vocab->keys[i]);
        if (id > mx)
            mx = id;
    }
    for (size_t i = 0; added && i < added->len; i++) {
        int64_t id;
        if (!json_as_int(json_get(&added->kids[i], "id"), &id) || id < 0 || id >= (1 << 24))
            return abl_fail(err, ABL_E_FORMAT, "%s: added_tokens[%zu].id: expected an id in "
                            "[0, 2^24)", path, i);
        if (!json_as_str(json_get(&added->kids[i], "content")))
            return abl_fail(err, ABL_E_FORMAT, "%s: added_tokens[%zu].content: expected a "
                            "string", path, i);
        if (id > mx)
            mx = id;
    }
    if (mx < 0)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected a non-empty model.vocab", path);
    *out = mx;
    return ABL_OK;
}

static abl_status load_vocab(tokenizer *t, const int16_t u2b[324], const json_val *vocab,
                             const char *path, abl_err *err)
{
    int32_t *bl_ids = malloc((vocab->len + 1) * sizeof *bl_ids);
    if (!bl_ids)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", path);
    size_t n_bl = 0;
    abl_status st = ABL_OK;
    for (size_t i = 0; i < vocab->len && !st; i++) {
        int32_t id = (int32_t)vocab->kids[i].i64;
        if (t->piece_len[id] != UINT32_MAX) {
            st = abl_fail(err, ABL_E_FORMAT, "%s: model.vocab: id %d is used twice (\"%s\")",
                          path, id, vocab->keys[i]);
            break;
        }
        bool bl;
        st = set_piece(t, u2b, id, vocab->keys[i], vocab->key_lens[i], &bl, err);
        if (!st && bl)
            bl_ids[n_bl++] = id;
    }
    if (!st)
        st = tok_vmap_build(t, bl_ids, n_bl, err);
    free(bl_ids);
    return st;
}

/* A merge side given as a vocab string: its id through the byte-level table, -1 when absent. */
static int32_t merge_side(const tokenizer *t, const int16_t u2b[324], const char *s, size_t n,
                          char *scratch)
{
    size_t k = unmap_bytes(u2b, s, n, scratch);
    return k == SIZE_MAX ? -1 : tok_vmap_get(t, scratch, k);
}

static abl_status load_merges(tokenizer *t, const int16_t u2b[324], const json_val *merges,
                              const char *path, abl_err *err)
{
    abl_status st = tok_mmap_alloc(t, merges->len, err);
    if (st)
        return st;
    char *scratch = malloc(2 * t->max_piece + 16);
    if (!scratch)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", path);
    for (size_t r = 0; r < merges->len && !st; r++) {
        const json_val *m = &merges->kids[r];
        const char *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        if (m->type == JSON_STRING) { /* "left right" */
            const char *sp = memchr(m->str, ' ', m->len);
            if (sp && !memchr(sp + 1, ' ', m->len - (size_t)(sp + 1 - m->str))) {
                a = m->str;
                na = (size_t)(sp - m->str);
                b = sp + 1;
                nb = m->len - na - 1;
            }
        } else if (m->type == JSON_ARRAY && m->len == 2 && m->kids[0].type == JSON_STRING &&
                   m->kids[1].type == JSON_STRING) { /* ["left", "right"] */
            a = m->kids[0].str;
            na = m->kids[0].len;
            b = m->kids[1].str;
            nb = m->kids[1].len;
        }
        if (!a) {
            st = abl_fail(err, ABL_E_FORMAT, "%s: model.merges[%zu]: expected \"left right\" or "
                          "[\"left\", \"right\"]", path, r);
            break;
        }
        int32_t ia = -1, ib = -1, ic = -1;
        if (na <= 2 * t->max_piece && nb <= 2 * t->max_piece) { /* else too long for the vocab */
            ia = merge_side(t, u2b, a, na, scratch);
            ib = merge_side(t, u2b, b, nb, scratch);
        }
        if (ia >= 0 && ib >= 0) {
            memcpy(scratch, t->text + t->piece_off[ia], t->piece_len[ia]);
            memcpy(scratch + t->piece_len[ia], t->text + t->piece_off[ib], t->piece_len[ib]);
            ic = tok_vmap_get(t, scratch, t->piece_len[ia] + t->piece_len[ib]);
        }
        if (ic < 0)
            st = abl_fail(err, ABL_E_FORMAT, "%s: model.merges[%zu]: \"%.*s\" + \"%.*s\" or its "
                          "result is not in the vocab", path, r, (int)(na > 60 ? 60 : na), a,
                          (int)(nb > 60 ? 60 : nb), b);
        else
            tok_mmap_put(t, ia, ib, (int32_t)r, ic);
    }
    free(scratch);
    return st;
}

/* ---- loading: added tokens, pre-tokenizer, specials ------------------------------------ */

static int cmp_added(const void *pa, const void *pb, void *ctx)
{
    const tok_added *a = pa, *b = pb;
    const char *text = ctx;
    uint8_t fa = (uint8_t)text[a->off], fb = (uint8_t)text[b->off];
    if (fa != fb)
        return fa < fb ? -1 : 1;
    if (a->len != b->len)
        return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static abl_status load_added(tokenizer *t, const int16_t u2b[324], const json_val *added,
                             abl_err *err)
{
    if (!added || !added->len)
        return ABL_OK;
    t->added = calloc(added->len, sizeof *t->added);
    if (!t->added)
        return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory");
    for (size_t i = 0; i < added->len; i++) {
        const json_val *a = &added->kids[i];
        const json_val *c = json_get(a, "content");
        int32_t id = (int32_t)json_get(a, "id")->i64;
        bool bl;
        abl_status st = set_piece(t, u2b, id, c->str, c->len, &bl, err);
        if (st)
            return st;
        if (!c->len)
            continue; /* an empty added token never matches */
        tok_added *d = &t->added[t->n_added++];
        d->id = id;
        d->len = (uint32_t)c->len;
        if ((st = text_add(t, c->str, c->len, &d->off, err)))
            return st;
        d->special = json_flag(a, "special", false);
        d->normalized = json_flag(a, "normalized", !d->special);
        d->lstrip = json_flag(a, "lstrip", false);
        d->rstrip = json_flag(a, "rstrip", false);
        d->single_word = json_flag(a, "single_word", false);
        t->has_normalized |= d->normalized;
    }
    /* qsort has no context argument: sort by a simple insertion sort (few tokens) */
    for (size_t i = 1; i < t->n_added; i++) {
        tok_added x = t->added[i];
        size_t j = i;
        while (j > 0 && cmp_added(&t->added[j - 1], &x, t->text) > 0) {
            t->added[j] = t->added[j - 1];
            j--;
        }
        t->added[j] = x;
    }
    for (size_t i = 0; i < t->n_added; i++) {
        uint8_t f = (uint8_t)t->text[t->added[i].off];
        t->added_first[f >> 3] |= (uint8_t)(1u << (f & 7));
    }
    return ABL_OK;
}

static abl_status parse_step(tokenizer *t, const json_val *p, const char *path, abl_err *err)
{
    const char *type = json_as_str(json_get(p, "type"));
    if (!type)
        return abl_fail(err, ABL_E_FORMAT, "%s: pre_tokenizer: expected a \"type\"", path);
    if (t->n_steps == TOK_MAX_STEPS)
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: pre_tokenizer: more than %d steps", path,
                        TOK_MAX_STEPS);
    if (t->n_steps && t->steps[t->n_steps - 1].kind == TOK_STEP_BYTELEVEL)
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: pre_tokenizer: %s after ByteLevel is not "
                        "supported (hint: ByteLevel must be the last step)", path, type);
    tok_step *st = &t->steps[t->n_steps];
    memset(st, 0, sizeof *st);
    if (!strcmp(type, "ByteLevel")) {
        st->kind = TOK_STEP_BYTELEVEL;
        st->prefix_space = json_flag(p, "add_prefix_space", true);
        st->use_regex = json_flag(p, "use_regex", true);
    } else if (!strcmp(type, "Digits")) {
        st->kind = json_flag(p, "individual_digits", false) ? TOK_STEP_DIGITS_EACH
                                                            : TOK_STEP_DIGITS_RUN;
    } else if (!strcmp(type, "Split")) {
        const char *re = json_as_str(json_get(json_get(p, "pattern"), "Regex"));
        const char *behavior = json_as_str(json_get(p, "behavior"));
        bool each_n = re && !strcmp(re, "\\p{N}"); /* llama.cpp's "smollm" digit split */
        if (!re || (!each_n && !tok_regex_from_pattern(re, &st->re)))
            return abl_fail(err, ABL_E_UNSUPPORTED, "%s: pre_tokenizer Split: pattern %.200s is "
                            "not one we implement (hint: \\p{N}, GPT-2, Llama-3 and Qwen2 "
                            "patterns are)", path, re ? re : "(not a Regex)");
        if (!behavior || strcmp(behavior, "Isolated") || json_flag(p, "invert", false))
            return abl_fail(err, ABL_E_UNSUPPORTED, "%s: pre_tokenizer Split: expected behavior "
                            "Isolated without invert, found %s", path,
                            behavior ? behavior : "none");
        st->kind = each_n ? TOK_STEP_DIGITS_EACH : TOK_STEP_SPLIT;
        st->regex_n = each_n;
    } else {
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: pre_tokenizer %s is not supported (hint: "
                        "Sequence of Digits, Split and ByteLevel is)", path, type);
    }
    t->n_steps++;
    return ABL_OK;
}

static abl_status load_pipeline(tokenizer *t, const json_val *root, const char *path, abl_err *err)
{
    const json_val *norm = json_get(root, "normalizer");
    if (!json_is_null(norm)) {
        const char *type = json_as_str(json_get(norm, "type"));
        if (!type || strcmp(type, "NFC"))
            return abl_fail(err, ABL_E_UNSUPPORTED, "%s: normalizer %s is not supported (hint: "
                            "none and NFC are, as GPT-2, SmolLM2, Llama-3 and Qwen use)", path,
                            type ? type : "?");
        t->nfc = true;
    }
    const json_val *pre = json_get(root, "pre_tokenizer");
    const char *type = json_as_str(json_get(pre, "type"));
    abl_status st = ABL_OK;
    if (type && !strcmp(type, "Sequence")) {
        const json_val *list = json_get(pre, "pretokenizers");
        if (!list || list->type != JSON_ARRAY)
            return abl_fail(err, ABL_E_FORMAT, "%s: pre_tokenizer Sequence: expected "
                            "\"pretokenizers\": [...]", path);
        for (size_t i = 0; i < list->len && !st; i++)
            st = parse_step(t, &list->kids[i], path, err);
    } else if (type) {
        st = parse_step(t, pre, path, err);
    }
    if (st)
        return st;
    if (!t->n_steps || t->steps[t->n_steps - 1].kind != TOK_STEP_BYTELEVEL)
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: expected a ByteLevel pre-tokenizer, found %s "
                        "(hint: only byte-level BPE is supported)", path, type ? type : "none");
    const json_val *dec = json_get(root, "decoder");
    const char *dtype = json_as_str(json_get(dec, "type"));
    if (!dtype || strcmp(dtype, "ByteLevel"))
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: expected a ByteLevel decoder, found %s",
                        path, dtype ? dtype : "none");
    return ABL_OK;
}

/* Content of "bos_token"-style entries: a string or {"content": "..."}. */
static const char *token_text(const json_val *v)
{
    const char *s = json_as_str(v);
    return s ? s : json_as_str(json_get(v, "content"));
}

/* BOS/EOS and whether BOS is added: first the post-processor's template (a TemplateProcessing
 * that starts with a special token adds it), then tokenizer_config.json beside the file (token
 * strings and add_bos_token override), then config.json (ids, only where still unknown). Missing
 * or malformed side files are simply not used. */
static void load_specials(tokenizer *t, const json_val *root, const char *path)
{
    t->bos_id = t->eos_id = -1;
    const json_val *post = json_get(root, "post_processor");
    const char *ptype = json_as_str(json_get(post, "type"));
    const json_val *procs =
        ptype && !strcmp(ptype, "Sequence") ? json_get(post, "processors") : NULL;
    for (size_t i = 0; i < (procs ? procs->len : 1); i++) {
        const json_val *p = procs ? &procs->kids[i] : post;
        const char *type = json_as_str(json_get(p, "type"));
        const json_val *single = json_get(p, "single");
        if (type && !strcmp(type, "TemplateProcessing") && single && single->type == JSON_ARRAY &&
            single->len) {
            const json_val *special = json_get(&single->kids[0], "SpecialToken");
            const char *first = json_as_str(json_get(special, "id"));
            if (first && (t->bos_id = tok_special_id(t, first)) >= 0)
                t->add_bos = true;
        }
    }
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path + 1) : 0;
    static const char *const side[] = {"tokenizer_config.json", "config.json"};
    for (int f = 0; f < 2; f++) {
        char p[4096];
        if (dir + strlen(side[f]) + 1 > sizeof p)
            return;
        memcpy(p, path, dir);
        strcpy(p + dir, side[f]);
        char *buf;
        size_t len;
        json_doc *doc = NULL;
        if (abl_read_file(p, 0, NULL, &buf, &len, NULL) != ABL_OK)
            continue;
        if (json_parse(&doc, buf, len, p, NULL) == ABL_OK) {
            const json_val *r = json_root(doc);
            if (f == 0) {
                const char *b = token_text(json_get(r, "bos_token"));
                const char *e = token_text(json_get(r, "eos_token"));
                if (b && tok_special_id(t, b) >= 0)
                    t->bos_id = tok_special_id(t, b);
                if (e && tok_special_id(t, e) >= 0)
                    t->eos_id = tok_special_id(t, e);
                json_as_bool(json_get(r, "add_bos_token"), &t->add_bos);
            } else {
                int64_t id;
                const json_val *e = json_get(r, "eos_token_id");
                if (e && e->type == JSON_ARRAY && e->len)
                    e = &e->kids[0];
                if (t->bos_id < 0 && json_as_int(json_get(r, "bos_token_id"), &id) && id >= 0 &&
                    id < t->n_vocab)
                    t->bos_id = (int32_t)id;
                if (t->eos_id < 0 && json_as_int(e, &id) && id >= 0 && id < t->n_vocab)
                    t->eos_id = (int32_t)id;
            }
        }
        json_free(doc);
        free(buf);
    }
}

abl_status tok_load(tokenizer **out, const char *path, abl_err *err)
{
    *out = NULL;
    char *buf;
    size_t len;
    abl_status st = abl_read_file(path, 0, "run `make model` or pass --model DIR", &buf, &len, err);
    if (st)
        return st;
    json_doc *doc = NULL;
    st = json_parse(&doc, buf, len, path, err);
    free(buf);
    if (st)
        return st;
    const json_val *root = json_root(doc);
    const json_val *model = json_get(root, "model");
    const json_val *vocab = json_get(model, "vocab");
    const json_val *merges = json_get(model, "merges");
    const json_val *added = json_get(root, "added_tokens");
    if (added && added->type != JSON_ARRAY)
        added = NULL;
    tokenizer *t = calloc(1, sizeof *t);
    int64_t mx = 0;
    int16_t u2b[324];
    byte_table(u2b);
    if (!t) {
        st = abl_fail(err, ABL_E_NOMEM, "%s: out of memory", path);
    } else if (!model || model->type != JSON_OBJECT) {
        st = abl_fail(err, ABL_E_FORMAT, "%s: expected a \"model\" object", path);
    } else if ((st = check_model_options(model, path, err))) {
        /* err is filled */
    } else if (!vocab || vocab->type != JSON_OBJECT || !merges || merges->type != JSON_ARRAY) {
        st = abl_fail(err, ABL_E_UNSUPPORTED, "%s: expected model.vocab {...} and model.merges "
                      "[...] (hint: only BPE tokenizers are supported)", path);
    } else if (!(st = load_pipeline(t, root, path, err)) &&
               !(st = max_id(vocab, added, path, &mx, err))) {
        t->n_vocab = (int)mx + 1;
        t->piece_off = malloc((size_t)t->n_vocab * sizeof *t->piece_off);
        t->piece_len = malloc((size_t)t->n_vocab * sizeof *t->piece_len);
        if (!t->piece_off || !t->piece_len)
            st = abl_fail(err, ABL_E_NOMEM, "%s: out of memory", path);
        for (int i = 0; !st && i < t->n_vocab; i++)
            t->piece_len[i] = UINT32_MAX;
    }
    if (!st)
        st = load_vocab(t, u2b, vocab, path, err);
    if (!st)
        st = load_merges(t, u2b, merges, path, err);
    if (!st)
        st = load_added(t, u2b, added, err);
    if (!st)
        st = tok_cache_alloc(t, err);
    if (!st) {
        for (int b = 0; b < 256; b++) {
            char c = (char)b;
            t->byte_id[b] = tok_vmap_get(t, &c, 1);
        }
        const char *unk = json_as_str(json_get(model, "unk_token"));
        t->unk_id = unk ? tok_special_id(t, unk) : -1;
        t->ignore_merges = json_flag(model, "ignore_merges", false);
        load_specials(t, root, path);
    }
    json_free(doc);
    if (st) {
        tok_free(t);
        return st;
    }
    *out = t;
    return ABL_OK;
}

void tok_free(tokenizer *t)
{
    if (!t)
        return;
    free(t->text);
    free(t->piece_off);
    free(t->piece_len);
    free(t->vmap);
    free(t->mmap);
    free(t->added);
    free(t->cache);
    free(t->cache_keys);
    free(t->cache_ids);
    free(t->syms);
    free(t->heap);
    free(t->pbuf);
    free(t->ncp);
    free(t->nbuf);
    free(t);
}

/* ---- encode ------------------------------------------------------------------------------ */

static bool is_space_at(const uint8_t *s, size_t n, size_t i, int *len)
{
    uint32_t cp = tok_utf8_next(s, n, i, len);
    return cp != TOK_INVALID_CP && uni_classify(cp) == UNI_SPACE;
}

/* Start of the character ending just before i (i > lo), or SIZE_MAX when the bytes there do not
 * form one valid character. */
static size_t char_before(const uint8_t *s, size_t n, size_t lo, size_t i)
{
    for (size_t k = i; k-- > lo && i - k <= 4;) {
        if ((s[k] & 0xC0) == 0x80)
            continue;
        int len;
        uint32_t cp = tok_utf8_next(s, n, k, &len);
        return cp != TOK_INVALID_CP && k + (size_t)len == i ? k : SIZE_MAX;
    }
    return SIZE_MAX;
}

static bool is_word_char(const uint8_t *s, size_t n, size_t i)
{
    int len;
    uint32_t cp = tok_utf8_next(s, n, i, &len);
    if (cp == '_')
        return true;
    uni_class c = cp == TOK_INVALID_CP ? UNI_OTHER : uni_classify(cp);
    return c == UNI_LETTER || c == UNI_NUMBER;
}

/* The longest added token of this pass at s[i]; NULL when none. single_word (no word character
 * right before or after) approximates HF's Rust is_alphanumeric with \p{L}, \p{N} and '_';
 * none of the supported model families uses it. */
static const tok_added *added_at(const tokenizer *t, const uint8_t *s, size_t n, size_t i,
                                 bool normalized)
{
    uint8_t f = s[i];
    if (!(t->added_first[f >> 3] & (1u << (f & 7))))
        return NULL;
    for (size_t k = 0; k < t->n_added; k++) { /* sorted by first byte, longest first */
        const tok_added *a = &t->added[k];
        uint8_t af = (uint8_t)t->text[a->off];
        if (af < f)
            continue;
        if (af > f)
            break;
        if (a->normalized != normalized || a->len > n - i ||
            memcmp(t->text + a->off, s + i, a->len))
            continue;
        if (a->single_word) {
            size_t b = i > 0 ? char_before(s, n, 0, i) : SIZE_MAX;
            if ((b != SIZE_MAX && is_word_char(s, n, b)) ||
                (i + a->len < n && is_word_char(s, n, i + a->len)))
                continue;
        }
        return a;
    }
    return NULL;
}

static abl_status encode_gap(tokenizer *t, const uint8_t *s, size_t n, bool normalized,
                             tok_ids *out, abl_err *err);

/* Encode s[0..n): split on the added tokens of this pass (false: normalized=false ones), the
 * gaps go to the next pass or to the pre-tokenizer. */
static abl_status encode_pass(tokenizer *t, const uint8_t *s, size_t n, bool normalized,
                              tok_ids *out, abl_err *err)
{
    size_t gap = 0; /* start of the text not yet emitted */
    abl_status st = ABL_OK;
    for (size_t i = 0; i < n && !st;) {
        const tok_added *a = t->n_added ? added_at(t, s, n, i, normalized) : NULL;
        if (!a) {
            i++;
            continue;
        }
        size_t start = i, end = i + a->len;
        if (a->lstrip)
            for (size_t b; start > gap && (b = char_before(s, n, gap, start)) != SIZE_MAX;) {
                int len;
                if (!is_space_at(s, n, b, &len))
                    break;
                start = b;
            }
        if (a->rstrip)
            for (int len; end < n && is_space_at(s, n, end, &len);)
                end += (size_t)len;
        st = encode_gap(t, s + gap, start - gap, normalized, out, err);
        if (!st)
            st = tok_ids_push(out, a->id, err);
        gap = i = end;
    }
    if (st)
        return st;
    return encode_gap(t, s + gap, n - gap, normalized, out, err);
}

/* Text between added tokens of the first pass is normalized (NFC) and then searched for the
 * normalized=true added tokens; after that it goes to the pre-tokenizer. */
static abl_status encode_gap(tokenizer *t, const uint8_t *s, size_t n, bool normalized,
                             tok_ids *out, abl_err *err)
{
    if (normalized || n == 0)
        return tok_pretokenize(t, 0, s, n, out, err);
    if (t->nfc) {
        abl_status st = tok_nfc(t, s, n, &s, &n, err);
        if (st)
            return st;
    }
    if (t->has_normalized)
        return encode_pass(t, s, n, true, out, err);
    return tok_pretokenize(t, 0, s, n, out, err);
}

abl_status tok_encode(tokenizer *t, const char *text, size_t len, tok_ids *out, abl_err *err)
{
    if (!len)
        return ABL_OK;
    return encode_pass(t, (const uint8_t *)text, len, false, out, err);
}

/* ---- decode and accessors ---------------------------------------------------------------- */

const char *tok_piece(const tokenizer *t, int32_t id, size_t *len)
{
    if (id < 0 || id >= t->n_vocab || t->piece_len[id] == UINT32_MAX) {
        *len = 0;
        return NULL;
    }
    *len = t->piece_len[id];
    return t->text + t->piece_off[id];
}

abl_status tok_decode(const tokenizer *t, const int32_t *ids, size_t n, char **out, size_t *len,
                      abl_err *err)
{
    *out = NULL;
    *len = 0;
    size_t total = 0, plen;
    for (size_t i = 0; i < n; i++) {
        if (!tok_piece(t, ids[i], &plen))
            return abl_fail(err, ABL_E_ARG, "decode: id %d (position %zu) is not a token of this "
                            "vocabulary (expected 0..%d)", ids[i], i, t->n_vocab - 1);
        total += plen;
    }
    char *s = malloc(total + 1);
    if (!s)
        return abl_fail(err, ABL_E_NOMEM, "decode: out of memory for %zu bytes", total);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = tok_piece(t, ids[i], &plen);
        memcpy(s + k, p, plen);
        k += plen;
    }
    s[k] = 0;
    *out = s;
    *len = k;
    return ABL_OK;
}

size_t tok_stream_feed(const tokenizer *t, tok_stream *s, int32_t id, char *out, size_t cap)
{
    size_t plen;
    const char *p = tok_piece(t, id, &plen);
    if (!p)
        plen = 0; /* not a token: contributes nothing */
    ABL_ASSERT(s->n_pending >= 0 && s->n_pending <= 3);
    ABL_ASSERT(cap >= (size_t)s->n_pending + plen);
    memcpy(out, s->pending, (size_t)s->n_pending);
    if (plen)
        memcpy(out + s->n_pending, p, plen);
    size_t total = (size_t)s->n_pending + plen;
    size_t k = tok_utf8_complete((const uint8_t *)out, total);
    s->n_pending = (int)(total - k);
    memcpy(s->pending, out + k, (size_t)s->n_pending);
    return k;
}

size_t tok_stream_flush(tok_stream *s, char *out, size_t cap)
{
    ABL_ASSERT(s->n_pending >= 0 && (size_t)s->n_pending <= cap);
    size_t k = (size_t)s->n_pending;
    memcpy(out, s->pending, k);
    s->n_pending = 0;
    return k;
}

size_t tok_max_piece_len(const tokenizer *t) { return t->max_piece; }

void tok_cache_stats(const tokenizer *t, uint64_t *hits, uint64_t *misses)
{
    *hits = t->cache_hits;
    *misses = t->cache_misses;
}

int tok_vocab_size(const tokenizer *t) { return t->n_vocab; }

int32_t tok_special_id(const tokenizer *t, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && !memcmp(t->text + t->added[i].off, text, n))
            return t->added[i].id;
    int32_t id = -1;
    if (t->vmap) { /* a plain vocab token, e.g. GPT-2's <|endoftext|> without added_tokens */
        id = tok_vmap_get(t, text, n);
    }
    return id;
}

int32_t tok_bos_id(const tokenizer *t) { return t->bos_id; }
int32_t tok_eos_id(const tokenizer *t) { return t->eos_id; }
bool tok_adds_bos(const tokenizer *t) { return t->add_bos && t->bos_id >= 0; }
