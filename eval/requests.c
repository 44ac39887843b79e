/* eval/requests.c - from documents to tokenized requests: the seeded --limit sample, lm-eval's
 * context/continuation pairing, corpus chunking, and ev_task_load / ev_task_free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

typedef struct {
    tok_ids ids;        /* every request's ids, back to back */
} ev_priv;

ev_load_opts ev_load_opts_default(void)
{
    ev_load_opts o = {"data/tasks", 0, 1234, 256, false};
    return o;
}

/* splitmix64: a small, well-mixed, seedable generator (the sample must not depend on libc). */
static uint64_t ev_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

abl_status ev_sample(int n, int limit, uint64_t seed, int32_t **out, int *n_out, abl_err *err)
{
    *out = NULL;
    *n_out = 0;
    int k = (limit <= 0 || limit >= n) ? n : limit;
    int32_t *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p)
        return abl_fail(err, ABL_E_NOMEM, "eval: out of memory sampling %d items", n);
    for (int i = 0; i < n; i++)
        p[i] = i;
    if (k < n) {
        uint64_t st = seed;
        for (int i = 0; i < k; i++) { /* partial Fisher-Yates */
            int j = i + (int)(ev_rng(&st) % (uint64_t)(n - i));
            int32_t t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        qsort(p, (size_t)k, sizeof *p, cmp_i32);
    }
    *out = p;
    *n_out = k;
    return ABL_OK;
}

int32_t ev_prefix_id(const tokenizer *tok)
{
    int32_t id = tok_special_id(tok, "<|endoftext|>");
    if (id < 0)
        id = tok_bos_id(tok);
    if (id < 0)
        id = tok_eos_id(tok);
    return id < 0 ? 0 : id;
}

/* Python's str.isspace() for ASCII (what rstrip() removes in lm-eval's _encode_pair). */
static bool py_space(unsigned char c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
}

/* Scratch reused across the requests of one load. */
typedef struct {
    tok_ids ctx, whole;
    ev_str text;
    const char *key;    /* context whose ids are cached in ctx */
    size_t key_len;
    size_t cut;         /* its length without trailing whitespace */
} pair_scratch;

static void pair_scratch_free(pair_scratch *ps)
{
    tok_ids_free(&ps->ctx);
    tok_ids_free(&ps->whole);
    ev_str_free(&ps->text);
}

static abl_status push_id(tok_ids *v, int32_t id, abl_err *err)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 1024;
        int32_t *q = realloc(v->v, cap * sizeof *q);
        if (!q)
            return abl_fail(err, ABL_E_NOMEM, "eval: out of memory for %zu token ids", cap);
        v->v = q;
        v->cap = cap;
    }
    v->v[v->n++] = id;
    return ABL_OK;
}

static abl_status pair_cached(pair_scratch *ps, tokenizer *tok, const char *ctx, size_t ctx_len,
                              const char *cont, size_t cont_len, tok_ids *out, int *n_ctx, int *n_cont,
                              abl_err *err)
{
    abl_status s;
    bool bos = tok_adds_bos(tok);
    if (ps->key != ctx || ps->key_len != ctx_len) {
        size_t k = ctx_len;
        while (k && py_space((unsigned char)ctx[k - 1]))
            k--;
        ps->cut = k;
        ps->ctx.n = 0;
        if (k > 0) {
            if (bos && (s = push_id(&ps->ctx, tok_bos_id(tok), err)))
                return s;
            if ((s = tok_encode(tok, ctx, k, &ps->ctx, err)))
                return s;
        }
        ps->key = ctx;
        ps->key_len = ctx_len;
    }
    /* continuation = moved trailing whitespace + cont */
    ev_str_clear(&ps->text);
    size_t k = ps->cut;
    ps->whole.n = 0;
    size_t start = out->n;
    if (k == 0) {
        /* empty context: [prefix token] + encode(continuation) */
        if ((s = ev_str_cat(&ps->text, ctx, ctx_len, err)) || (s = ev_str_cat(&ps->text, cont, cont_len, err)) ||
            (s = push_id(out, ev_prefix_id(tok), err)) || (s = tok_encode(tok, ps->text.p, ps->text.n, out, err)))
            return s;
        *n_ctx = 1;
        *n_cont = (int)(out->n - start - 1);
        return ABL_OK;
    }
    if ((s = ev_str_cat(&ps->text, ctx, ctx_len, err)) || (s = ev_str_cat(&ps->text, cont, cont_len, err)))
        return s;
    if (bos && (s = push_id(&ps->whole, tok_bos_id(tok), err)))
        return s;
    if ((s = tok_encode(tok, ps->text.p, ps->text.n, &ps->whole, err)))
        return s;
    for (size_t i = 0; i < ps->ctx.n; i++)
        if ((s = push_id(out, ps->ctx.v[i], err)))
            return s;
    for (size_t i = ps->ctx.n; i < ps->whole.n; i++)
        if ((s = push_id(out, ps->whole.v[i], err)))
            return s;
    *n_ctx = (int)ps->ctx.n;
    *n_cont = (int)(out->n - start) - *n_ctx;
    return ABL_OK;
}

abl_status ev_pair(tokenizer *tok, const char *ctx, size_t ctx_len, const char *cont, size_t cont_len,
                   tok_ids *out, int *n_ctx, int *n_cont, abl_err *err)
{
    pair_scratch ps = {0};
    abl_status s = pair_cached(&ps, tok, ctx, ctx_len, cont, cont_len, out, n_ctx, n_cont, err);
    pair_scratch_free(&ps);
    return s;
}

/* ---- ev_task_load ---------------------------------------------------------------------- */

void ev_task_free(ev_task *t)
{
    if (!t)
        return;
    ev_priv *pv = t->priv_;
    if (pv) {
        tok_ids_free(&pv->ids);
        free(pv);
    }
    free(t->items);
    free(t->choices);
    for (int i = 0; i < t->n_files; i++)
        free(t->files[i]);
    free(t->files);
    free(t);
}

static abl_status build_mc(ev_task *t, const ev_docs *d, const int32_t *sel, int n_sel, tokenizer *tok,
                           abl_err *err)
{
    ev_priv *pv = t->priv_;
    int n_ch = 0;
    for (int i = 0; i < n_sel; i++)
        n_ch += d->docs[sel[i]].n_choices;
    t->items = calloc((size_t)(n_sel > 0 ? n_sel : 1), sizeof *t->items);
    t->choices = calloc((size_t)(n_ch > 0 ? n_ch : 1), sizeof *t->choices);
    size_t *off = malloc((size_t)(n_ch > 0 ? n_ch : 1) * sizeof *off);
    if (!t->items || !t->choices || !off) {
        free(off);
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory for %d items", t->name, n_sel);
    }
    pair_scratch ps = {0};
    abl_status s = ABL_OK;
    int c = 0;
    for (int i = 0; i < n_sel && !s; i++) {
        const ev_doc *doc = &d->docs[sel[i]];
        ev_item *it = &t->items[i];
        it->src = sel[i];
        it->n_choices = doc->n_choices;
        it->choice0 = c;
        it->gold = doc->gold;
        it->group = doc->group;
        for (int k = 0; k < doc->n_choices && !s; k++, c++) {
            const ev_doc_choice *dc = &d->ch[doc->choice0 + k];
            ev_choice *ch = &t->choices[c];
            int nc = 0, nt = 0;
            off[c] = pv->ids.n;
            s = pair_cached(&ps, tok, d->buf.p + dc->ctx_off, dc->ctx_len, d->buf.p + dc->cont_off, dc->cont_len,
                            &pv->ids, &nc, &nt, err);
            ch->item = i;
            ch->n_ctx = nc;
            ch->n_cont = nt;
            ch->norm_len = dc->norm_len > 0 ? dc->norm_len : 1;
            ch->is_true = t->kind == EV_MC2 ? dc->is_true : (uint8_t)(k == doc->gold);
            t->n_tok_unshared += nc + nt;
        }
    }
    pair_scratch_free(&ps);
    if (!s) {
        t->n_items = n_sel;
        t->n_choices = n_ch;
        for (int k = 0; k < n_ch; k++)
            t->choices[k].ids = pv->ids.v + off[k];
    }
    free(off);
    return s;
}

static abl_status build_corpus(ev_task *t, const ev_docs *d, const ev_load_opts *o, tokenizer *tok,
                               abl_err *err)
{
    ev_priv *pv = t->priv_;
    int C = o->corpus_ctx > 0 ? o->corpus_ctx : 256;
    abl_status s = tok_encode(tok, d->corpus.p, d->corpus.n, &pv->ids, err);
    if (s)
        return s;
    size_t N = pv->ids.n;
    if (N < 2)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected at least 2 tokens of text, found %zu", t->name, N);
    int n_chunks = (int)((N - 2) / (size_t)C + 1); /* chunk k starts at k*C and needs >= 2 tokens */
    t->n_src = n_chunks;
    if (o->first && o->limit > 0 && o->limit < n_chunks)
        n_chunks = o->limit; /* the first chunks only */
    int32_t *sel = NULL;
    int n_sel = 0;
    if ((s = ev_sample(n_chunks, o->first ? 0 : o->limit, o->seed, &sel, &n_sel, err)))
        return s;
    t->items = calloc((size_t)n_sel, sizeof *t->items);
    t->choices = calloc((size_t)n_sel, sizeof *t->choices);
    if (!t->items || !t->choices) {
        free(sel);
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory for %d chunks", t->name, n_sel);
    }
    for (int i = 0; i < n_sel; i++) {
        size_t start = (size_t)sel[i] * (size_t)C;
        size_t len = N - start < (size_t)C + 1 ? N - start : (size_t)C + 1;
        t->items[i] = (ev_item){sel[i], 1, i, 0, -1};
        t->choices[i] = (ev_choice){i, 1, (int32_t)(len - 1), pv->ids.v + start, 1, 1};
        t->n_tok_unshared += (int64_t)len;
    }
    t->n_items = t->n_choices = n_sel;
    free(sel);
    return ABL_OK;
}

abl_status ev_task_load(ev_task **out, const char *name, tokenizer *tok, const ev_load_opts *o,
                        abl_err *err)
{
    *out = NULL;
    ev_load_opts def = ev_load_opts_default();
    if (!o)
        o = &def;
    const char *arg = NULL;
    const ev_task_def *td = ev_task_find(name, &arg);
    if (!td)
        return ev_task_unknown(name, err);
    ev_task *t = calloc(1, sizeof *t);
    ev_priv *pv = calloc(1, sizeof *pv);
    if (!t || !pv) {
        free(t);
        free(pv);
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", name);
    }
    t->priv_ = pv;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = td->kind;
    t->head = td->head;
    t->has_norm = td->has_norm;
    ev_docs d = {0};
    const char *dir = o->data_dir ? o->data_dir : "data/tasks";
    abl_status s = td->read(&d, dir, arg, err);
    if (!s)
        s = ev_docs_hash(&d, td->folder, t->data_sha256, err);
    if (!s && d.n_files) { /* the task reports what it read: take the list over */
        t->files = d.file_rel;
        t->n_files = d.n_files;
        d.file_rel = NULL;
        d.n_files = 0;
    }
    if (!s && td->kind == EV_CORPUS) {
        s = build_corpus(t, &d, o, tok, err);
    } else if (!s) {
        int32_t *sel = NULL;
        int n_sel = 0;
        t->n_src = d.n_docs;
        if (d.n_docs == 0)
            s = abl_fail(err, ABL_E_FORMAT, "%s: expected at least one item, found none", name);
        if (!s)
            s = ev_sample(o->first && o->limit > 0 && o->limit < d.n_docs ? o->limit : d.n_docs,
                          o->first ? 0 : o->limit, o->seed, &sel, &n_sel, err);
        if (!s)
            s = build_mc(t, &d, sel, n_sel, tok, err);
        free(sel);
        t->n_groups = d.n_groups;
        t->group_names = d.group_names;
        t->group_cat = d.group_cat;
        t->n_cats = d.n_cats;
        t->cat_names = d.cat_names;
    }
    ev_docs_free(&d);
    if (s) {
        ev_task_free(t);
        return s;
    }
    *out = t;
    return ABL_OK;
}
