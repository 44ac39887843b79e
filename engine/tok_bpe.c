/* engine/tok_bpe.c - the BPE model: vocab and merge-rank hash maps, the word cache, and merging
 * one pre-tokenized word by rank exactly as HF `tokenizers` does (lowest rank, then leftmost). */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_int.h"

uint64_t tok_hash(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)n * 0xFF51AFD7ED558CCDull);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    if (n) {
        uint64_t v = 0;
        memcpy(&v, s, n);
        h = (h ^ v) * 0x94D049BB133111EBull;
        h ^= h >> 29;
    }
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ull;
    h ^= h >> 32;
    return h ? h : 1;
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

abl_status tok_vmap_build(tokenizer *t, const int32_t *ids, size_t n, abl_err *err)
{
    size_t cap = pow2_at_least(2 * n + 1);
    t->vmap = malloc(cap * sizeof *t->vmap);
    if (!t->vmap)
        return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory for a %zu-entry vocab map", n);
    for (size_t i = 0; i < cap; i++)
        t->vmap[i].id = -1;
    t->vmap_mask = cap - 1;
    for (size_t k = 0; k < n; k++) {
        int32_t id = ids[k];
        const char *s = t->text + t->piece_off[id];
        size_t len = t->piece_len[id];
        uint64_t h = tok_hash(s, len);
        size_t i = (size_t)h & t->vmap_mask;
        bool dup = false;
        while (t->vmap[i].id >= 0) {
            const tok_vslot *v = &t->vmap[i];
            if (v->hash == (uint32_t)h && v->len == len && !memcmp(t->text + v->off, s, len)) {
                dup = true; /* two vocab strings with the same bytes: keep the first */
                break;
            }
            i = (i + 1) & t->vmap_mask;
        }
        if (!dup) {
            t->vmap[i] = (tok_vslot){(uint32_t)h, id, t->piece_off[id], (uint32_t)len};
        }
    }
    return ABL_OK;
}

int32_t tok_vmap_get(const tokenizer *t, const void *s, size_t n)
{
    uint64_t h = tok_hash(s, n);
    size_t i = (size_t)h & t->vmap_mask;
    while (t->vmap[i].id >= 0) {
        const tok_vslot *v = &t->vmap[i];
        if (v->hash == (uint32_t)h && v->len == n && !memcmp(t->text + v->off, s, n))
            return v->id;
        i = (i + 1) & t->vmap_mask;
    }
    return -1;
}

static size_t pair_slot(uint64_t key, size_t mask)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 29)) & mask;
}

abl_status tok_mmap_alloc(tokenizer *t, size_t n, abl_err *err)
{
    size_t cap = pow2_at_least(2 * n + 1);
    t->mmap = malloc(cap * sizeof *t->mmap);
    if (!t->mmap)
        return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory for %zu merges", n);
    for (size_t i = 0; i < cap; i++)
        t->mmap[i].key = UINT64_MAX;
    t->mmap_mask = cap - 1;
    return ABL_OK;
}

void tok_mmap_put(tokenizer *t, int32_t left, int32_t right, int32_t rank, int32_t id)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    size_t i = pair_slot(key, t->mmap_mask);
    while (t->mmap[i].key != UINT64_MAX) {
        if (t->mmap[i].key == key)
            return;
        i = (i + 1) & t->mmap_mask;
    }
    t->mmap[i].key = key;
    t->mmap[i].rank = rank;
    t->mmap[i].id = id;
}

static const tok_mslot *mmap_get(const tokenizer *t, int32_t left, int32_t right)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    size_t i = pair_slot(key, t->mmap_mask);
    while (t->mmap[i].key != UINT64_MAX) {
        if (t->mmap[i].key == key)
            return &t->mmap[i];
        i = (i + 1) & t->mmap_mask;
    }
    return NULL;
}

abl_status tok_cache_alloc(tokenizer *t, abl_err *err)
{
    t->cache = calloc(TOK_CACHE_SLOTS, sizeof *t->cache);
    t->cache_keys = malloc(TOK_CACHE_KEY_BYTES);
    t->cache_ids = malloc(TOK_CACHE_IDS * sizeof *t->cache_ids);
    if (!t->cache || !t->cache_keys || !t->cache_ids)
        return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory for the word cache");
    return ABL_OK;
}

abl_status tok_ids_push(tok_ids *out, int32_t id, abl_err *err)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 256;
        int32_t *v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory for %zu ids", cap);
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n++] = id;
    return ABL_OK;
}

static abl_status push_many(tok_ids *out, const int32_t *ids, size_t n, abl_err *err)
{
    if (out->n + n > out->cap) {
        size_t cap = out->cap ? out->cap : 256;
        while (cap < out->n + n)
            cap *= 2;
        int32_t *v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory for %zu ids", cap);
        out->v = v;
        out->cap = cap;
    }
    memcpy(out->v + out->n, ids, n * sizeof *ids);
    out->n += n;
    return ABL_OK;
}

static void cache_put(tokenizer *t, uint64_t h, const uint8_t *w, size_t n, const int32_t *ids,
                      size_t k)
{
    if (t->cache_n >= TOK_CACHE_SLOTS / 2 || t->cache_key_used + n > TOK_CACHE_KEY_BYTES ||
        t->cache_ids_used + k > TOK_CACHE_IDS) { /* full: start over */
        memset(t->cache, 0, TOK_CACHE_SLOTS * sizeof *t->cache);
        t->cache_n = t->cache_key_used = t->cache_ids_used = 0;
    }
    size_t i = (size_t)h & (TOK_CACHE_SLOTS - 1);
    while (t->cache[i].hash)
        i = (i + 1) & (TOK_CACHE_SLOTS - 1);
    tok_cslot *c = &t->cache[i];
    c->hash = h;
    c->key_off = t->cache_key_used;
    c->key_len = (uint32_t)n;
    c->ids_off = t->cache_ids_used;
    c->n_ids = (uint32_t)k;
    memcpy(t->cache_keys + t->cache_key_used, w, n);
    memcpy(t->cache_ids + t->cache_ids_used, ids, k * sizeof *ids);
    t->cache_key_used += (uint32_t)n;
    t->cache_ids_used += (uint32_t)k;
    t->cache_n++;
}

static bool cand_less(const tok_cand *a, const tok_cand *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(tok_cand *h, size_t *n, tok_cand c)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&c, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}

static tok_cand heap_pop(tok_cand *h, size_t *n)
{
    tok_cand top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const tok_cand *best = &last;
        if (l < *n && cand_less(&h[l], best)) {
            m = l;
            best = &h[l];
        }
        if (l + 1 < *n && cand_less(&h[l + 1], best))
            m = l + 1;
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    if (*n)
        h[i] = last;
    return top;
}

static void push_pair(const tokenizer *t, tok_cand *heap, size_t *nh, const tok_sym *sym,
                      int32_t pos)
{
    const tok_mslot *m = mmap_get(t, sym[pos].id, sym[sym[pos].next].id);
    if (m)
        heap_push(heap, nh, (tok_cand){m->rank, pos, m->id});
}

static abl_status grow_scratch(tokenizer *t, size_t n, abl_err *err)
{
    if (n > t->sym_cap) {
        size_t cap = n < 64 ? 64 : n;
        tok_sym *s = realloc(t->syms, cap * sizeof *s);
        if (!s)
            return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory for a %zu-byte word", n);
        t->syms = s;
        t->sym_cap = cap;
    }
    if (3 * n > t->heap_cap) {
        size_t cap = 3 * n < 192 ? 192 : 3 * n;
        tok_cand *h = realloc(t->heap, cap * sizeof *h);
        if (!h)
            return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory for a %zu-byte word", n);
        t->heap = h;
        t->heap_cap = cap;
    }
    return ABL_OK;
}

/* Merge w[0..n) into t->syms; returns the number of symbols written back compacted as ids into
 * ids_out (which must hold n). */
static size_t bpe_merge(tokenizer *t, const uint8_t *w, size_t n, int32_t *ids_out)
{
    tok_sym *sym = t->syms;
    tok_cand *heap = t->heap;
    size_t ns = 0, nh = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_id[w[i]];
        if (id < 0)
            id = t->unk_id;
        if (id < 0)
            continue; /* HF drops a character missing from the vocab when there is no unk */
        sym[ns] = (tok_sym){id, (int32_t)ns - 1, (int32_t)ns + 1, 1};
        ns++;
    }
    if (!ns)
        return 0;
    sym[ns - 1].next = -1;
    for (size_t i = 0; i + 1 < ns; i++)
        push_pair(t, heap, &nh, sym, (int32_t)i);
    while (nh) {
        tok_cand c = heap_pop(heap, &nh);
        tok_sym *a = &sym[c.pos];
        if (!a->alive || a->next < 0)
            continue;
        const tok_mslot *m = mmap_get(t, a->id, sym[a->next].id);
        if (!m || m->id != c.id)
            continue; /* stale: one side was merged since this candidate was queued */
        tok_sym *b = &sym[a->next];
        a->id = c.id;
        b->alive = 0;
        a->next = b->next;
        if (a->next >= 0)
            sym[a->next].prev = c.pos;
        if (a->prev >= 0)
            push_pair(t, heap, &nh, sym, a->prev);
        if (a->next >= 0)
            push_pair(t, heap, &nh, sym, c.pos);
    }
    size_t k = 0;
    for (int32_t i = 0; i >= 0; i = sym[i].next)
        ids_out[k++] = sym[i].id;
    return k;
}

abl_status tok_bpe_word(tokenizer *t, const uint8_t *w, size_t n, tok_ids *out, abl_err *err)
{
    if (n == 0)
        return ABL_OK;
    uint64_t h = 0;
    if (n <= TOK_CACHE_MAX_WORD) {
        h = tok_hash(w, n);
        for (size_t i = (size_t)h & (TOK_CACHE_SLOTS - 1); t->cache[i].hash;
             i = (i + 1) & (TOK_CACHE_SLOTS - 1)) {
            const tok_cslot *c = &t->cache[i];
            if (c->hash == h && c->key_len == n && !memcmp(t->cache_keys + c->key_off, w, n)) {
                t->cache_hits++;
                return push_many(out, t->cache_ids + c->ids_off, c->n_ids, err);
            }
        }
        t->cache_misses++;
    }
    if (t->ignore_merges) {
        int32_t id = tok_vmap_get(t, w, n);
        if (id >= 0) {
            if (h)
                cache_put(t, h, w, n, &id, 1);
            return tok_ids_push(out, id, err);
        }
    }
    abl_status st = grow_scratch(t, n, err);
    if (st)
        return st;
    /* merge into the tail of out directly: make room for n ids first */
    if (out->n + n > out->cap) {
        size_t cap = out->cap ? out->cap : 256;
        while (cap < out->n + n)
            cap *= 2;
        int32_t *v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return abl_fail(err, ABL_E_NOMEM, "tokenizer: out of memory for %zu ids", cap);
        out->v = v;
        out->cap = cap;
    }
    size_t k = bpe_merge(t, w, n, out->v + out->n);
    if (h)
        cache_put(t, h, w, n, out->v + out->n, k);
    out->n += k;
    return ABL_OK;
}
