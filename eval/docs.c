/* eval/docs.c - the load-time helpers every task reader uses: a growable string, the document
 * builder (contexts and choices as strings), whole-file reading, a line cursor, JSON lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/file.h"
#include "../base/sha256.h"
#include "task.h"

/* ---- ev_str -------------------------------------------------------------------------- */

abl_status ev_str_cat(ev_str *s, const char *p, size_t n, abl_err *err)
{
    if (s->n + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->n + n + 1)
            cap *= 2;
        char *q = realloc(s->p, cap);
        if (!q)
            return abl_fail(err, ABL_E_NOMEM, "eval: out of memory growing a string to %zu bytes", cap);
        s->p = q;
        s->cap = cap;
    }
    if (n)
        memcpy(s->p + s->n, p, n);
    s->n += n;
    s->p[s->n] = 0;
    return ABL_OK;
}

abl_status ev_str_catz(ev_str *s, const char *p, abl_err *err)
{
    return ev_str_cat(s, p, strlen(p), err);
}

void ev_str_clear(ev_str *s)
{
    s->n = 0;
    if (s->p)
        s->p[0] = 0;
}

void ev_str_free(ev_str *s)
{
    free(s->p);
    s->p = NULL;
    s->n = s->cap = 0;
}

int ev_utf8_len(const char *p, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)p[i] & 0xC0) != 0x80;
    return k;
}

/* ---- ev_docs ------------------------------------------------------------------------- */

void ev_docs_free(ev_docs *d)
{
    if (!d)
        return;
    ev_str_free(&d->buf);
    ev_str_free(&d->corpus);
    free(d->docs);
    free(d->ch);
    for (int i = 0; i < d->n_files; i++)
        free(d->file_rel[i]);
    free(d->file_rel);
    free(d->file_hex);
    memset(d, 0, sizeof *d);
}

abl_status ev_docs_begin(ev_docs *d, const char *ctx, size_t n, int gold, int group, abl_err *err)
{
    if (d->n_docs == d->cap_docs) {
        int cap = d->cap_docs ? d->cap_docs * 2 : 1024;
        ev_doc *q = realloc(d->docs, (size_t)cap * sizeof *q);
        if (!q)
            return abl_fail(err, ABL_E_NOMEM, "eval: out of memory for %d documents", cap);
        d->docs = q;
        d->cap_docs = cap;
    }
    ev_doc *doc = &d->docs[d->n_docs];
    doc->ctx_off = d->buf.n;
    doc->ctx_len = n;
    doc->gold = gold;
    doc->group = group;
    doc->choice0 = d->n_ch;
    doc->n_choices = 0;
    abl_status s = ev_str_cat(&d->buf, ctx, n, err);
    if (s)
        return s;
    d->n_docs++;
    return ABL_OK;
}

abl_status ev_docs_choice(ev_docs *d, const char *ctx, size_t ctx_len, const char *delim,
                          const char *text, size_t text_len, bool is_true, abl_err *err)
{
    ABL_ASSERT(d->n_docs > 0);
    if (d->n_ch == d->cap_ch) {
        int cap = d->cap_ch ? d->cap_ch * 2 : 4096;
        ev_doc_choice *q = realloc(d->ch, (size_t)cap * sizeof *q);
        if (!q)
            return abl_fail(err, ABL_E_NOMEM, "eval: out of memory for %d choices", cap);
        d->ch = q;
        d->cap_ch = cap;
    }
    ev_doc *doc = &d->docs[d->n_docs - 1];
    ev_doc_choice *c = &d->ch[d->n_ch];
    abl_status s;
    if (ctx) {
        c->ctx_off = d->buf.n;
        c->ctx_len = ctx_len;
        if ((s = ev_str_cat(&d->buf, ctx, ctx_len, err)))
            return s;
    } else {
        c->ctx_off = doc->ctx_off;
        c->ctx_len = doc->ctx_len;
    }
    size_t dl = delim ? strlen(delim) : 0;
    c->cont_off = d->buf.n;
    c->cont_len = dl + text_len;
    if ((s = ev_str_cat(&d->buf, delim ? delim : "", dl, err)) ||
        (s = ev_str_cat(&d->buf, text, text_len, err)))
        return s;
    c->norm_len = ev_utf8_len(text, text_len);
    c->is_true = is_true;
    d->n_ch++;
    doc->n_choices++;
    return ABL_OK;
}

abl_status ev_docs_end(ev_docs *d, const char *where, abl_err *err)
{
    ABL_ASSERT(d->n_docs > 0);
    const ev_doc *doc = &d->docs[d->n_docs - 1];
    if (doc->n_choices < 1)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected at least one choice, found none", where);
    if (doc->gold < 0 || doc->gold >= doc->n_choices)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected a gold index in [0, %d), found %d", where,
                        doc->n_choices, (int)doc->gold);
    return ABL_OK;
}

/* ---- files --------------------------------------------------------------------------- */

abl_status ev_read_file(ev_docs *d, const char *dir, const char *rel, char **buf, size_t *len,
                        char *path, size_t cap, abl_err *err)
{
    *buf = NULL;
    *len = 0;
    if (dir && *dir)
        snprintf(path, cap, "%s/%s", dir, rel);
    else
        snprintf(path, cap, "%s", rel);
    abl_status s = abl_read_file(path, 0, dir && *dir ? "run `make data`, or pass --data-dir "
                                 "DIR holding the benchmark folders" : NULL, buf, len, err);
    if (s)
        return s;
    if (d->n_files == d->cap_files) {
        int nc = d->cap_files ? 2 * d->cap_files : 4;
        char **nr = realloc(d->file_rel, sizeof *nr * (size_t)nc);
        if (nr)
            d->file_rel = nr;
        char(*nh)[65] = nr ? realloc(d->file_hex, sizeof *nh * (size_t)nc) : NULL;
        if (nh)
            d->file_hex = nh;
        if (nh)
            d->cap_files = nc;
    }
    char *r = d->n_files < d->cap_files ? strdup(rel) : NULL;
    if (!r) {
        free(*buf);
        *buf = NULL;
        *len = 0;
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", path);
    }
    sha256_hex(*buf, *len, d->file_hex[d->n_files]);
    d->file_rel[d->n_files++] = r;
    return ABL_OK;
}

/* Order of two relative paths as a sorted walk of their folder tree visits them: component by
 * component, each compared as a name. */
static int tree_order(const char *a, const char *b)
{
    for (;;) {
        size_t na = strcspn(a, "/"), nb = strcspn(b, "/");
        int c = strncmp(a, b, na < nb ? na : nb);
        if (c == 0 && na != nb)
            c = na < nb ? -1 : 1;
        if (c || (!a[na] && !b[nb]))
            return c ? c : 0;
        if (!a[na] || !b[nb])
            return !a[na] ? -1 : 1;
        a += na + 1;
        b += nb + 1;
    }
}

abl_status ev_docs_hash(const ev_docs *d, const char *folder, char hex[65], abl_err *err)
{
    hex[0] = 0;
    if (!folder && d->n_files == 1) {
        memcpy(hex, d->file_hex[0], 65);
        return ABL_OK;
    }
    int *ord = malloc(sizeof(int) * (size_t)(d->n_files + 1));
    if (!ord)
        return abl_fail(err, ABL_E_NOMEM, "out of memory hashing the task data");
    size_t fl = folder ? strlen(folder) : 0;
    const char *rp[4096];
    int n = d->n_files < 4096 ? d->n_files : 4096;
    for (int i = 0; i < n; i++) {
        const char *r = d->file_rel[i];
        rp[i] = folder && !strncmp(r, folder, fl) && r[fl] == '/' ? r + fl + 1 : r;
        int k = i;
        while (k > 0 && tree_order(rp[ord[k - 1]], rp[i]) > 0) {
            ord[k] = ord[k - 1];
            k--;
        }
        ord[k] = i;
    }
    sha256_ctx c;
    uint8_t dg[32];
    sha256_init(&c);
    for (int k = 0; k < n; k++) {
        if (k && !strcmp(rp[ord[k]], rp[ord[k - 1]]))
            continue; /* read twice: once in the hash */
        sha256_update(&c, rp[ord[k]], strlen(rp[ord[k]]) + 1);
        sha256_update(&c, d->file_hex[ord[k]], 64);
    }
    sha256_final(&c, dg);
    for (int k = 0; k < 32; k++)
        snprintf(hex + 2 * k, 3, "%02x", dg[k]);
    free(ord);
    return ABL_OK;
}

void ev_lines_init(ev_lines *it, const char *buf, size_t len)
{
    it->p = buf;
    it->end = buf + len;
    it->lineno = 0;
}

bool ev_lines_next(ev_lines *it, const char **line, size_t *len)
{
    if (it->p >= it->end)
        return false;
    const char *s = it->p;
    const char *nl = memchr(s, '\n', (size_t)(it->end - s));
    const char *e = nl ? nl : it->end;
    it->p = nl ? nl + 1 : it->end;
    it->lineno++;
    if (e > s && e[-1] == '\r')
        e--;
    *line = s;
    *len = (size_t)(e - s);
    return true;
}

abl_status ev_json_line(json_doc **out, const char *line, size_t len, const char *path, int lineno,
                        abl_err *err)
{
    char name[600];
    snprintf(name, sizeof name, "%s:%d", path, lineno);
    return json_parse(out, line, len, name, err);
}

abl_status ev_json_str(const json_val *obj, const char *key, const json_val **out, const char *where,
                       abl_err *err)
{
    const json_val *v = json_get(obj, key);
    if (!v || v->type != JSON_STRING)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected string field \"%s\", found %s", where, key,
                        v ? "another type" : "none");
    *out = v;
    return ABL_OK;
}

abl_status ev_each_jsonl(ev_docs *d, const char *dir, const char *rel, ev_jsonl_fn fn, void *user,
                         abl_err *err)
{
    char path[512], where[600];
    char *buf = NULL;
    size_t len, n;
    json_doc *doc = NULL;
    const char *line;
    ev_lines it;
    abl_status s = ev_read_file(d, dir, rel, &buf, &len, path, sizeof path, err);
    ev_lines_init(&it, buf, len);
    while (!s && ev_lines_next(&it, &line, &n)) {
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t'))
            k++;
        if (k == n)
            continue;
        snprintf(where, sizeof where, "%s:%d", path, it.lineno);
        if (!(s = ev_json_line(&doc, line, n, path, it.lineno, err)))
            s = fn(d, json_root(doc), where, user, err);
        json_free(doc);
        doc = NULL;
    }
    free(buf);
    return s;
}

abl_status ev_each_json_array(ev_docs *d, const char *dir, const char *rel, ev_jsonl_fn fn,
                              void *user, abl_err *err)
{
    char path[512], where[600];
    char *buf = NULL;
    size_t len = 0;
    json_doc *doc = NULL;
    abl_status s = ev_read_file(d, dir, rel, &buf, &len, path, sizeof path, err);
    if (!s)
        s = json_parse(&doc, buf, len, path, err);
    if (!s && json_root(doc)->type != JSON_ARRAY)
        s = abl_fail(err, ABL_E_FORMAT, "%s: expected a JSON array of questions, found another type", path);
    for (size_t i = 0; !s && i < json_root(doc)->len; i++) {
        snprintf(where, sizeof where, "%s: element %zu", path, i);
        s = fn(d, &json_root(doc)->kids[i], where, user, err);
    }
    json_free(doc);
    free(buf);
    return s;
}

abl_status ev_json_foundry(const json_val *obj, const json_val **query, const json_val **choices,
                           int64_t *gold, const char *where, abl_err *err)
{
    abl_status s;
    if ((s = ev_json_str(obj, "query", query, where, err)) ||
        (s = ev_json_strs(obj, "choices", choices, where, err)))
        return s;
    return ev_json_int(obj, "gold", gold, where, err);
}

abl_status ev_docs_choices_end(ev_docs *d, const json_val *choices, const char *where, abl_err *err)
{
    abl_status s;
    for (size_t i = 0; i < choices->len; i++)
        if ((s = ev_docs_choice(d, NULL, 0, " ", choices->kids[i].str, choices->kids[i].len, false,
                                err)))
            return s;
    return ev_docs_end(d, where, err);
}

abl_status ev_json_int(const json_val *obj, const char *key, int64_t *out, const char *where,
                       abl_err *err)
{
    const json_val *v = json_get(obj, key);
    if (!json_as_int(v, out))
        return abl_fail(err, ABL_E_FORMAT, "%s: expected integer field \"%s\", found %s", where, key,
                        v ? "another type" : "none");
    return ABL_OK;
}

abl_status ev_json_strs(const json_val *obj, const char *key, const json_val **out, const char *where,
                        abl_err *err)
{
    const json_val *v = json_get(obj, key);
    bool ok = v && v->type == JSON_ARRAY && v->len > 0;
    for (size_t i = 0; ok && i < v->len; i++)
        ok = v->kids[i].type == JSON_STRING;
    if (!ok)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected a non-empty array of strings \"%s\", found %s",
                        where, key, v ? "something else" : "none");
    *out = v;
    return ABL_OK;
}
