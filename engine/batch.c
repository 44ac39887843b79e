/* engine/batch.c - building packed "prefix + branches" batches: token ids, RoPE positions, the
 * visible key span of every token, and the scored rows. Legend: T tokens in the batch. */
#include <stdlib.h>
#include <string.h>

#include "model.h"

void batch_init(fwd_batch *b) { memset(b, 0, sizeof *b); }

void batch_free(fwd_batch *b)
{
    if (!b)
        return;
    free(b->ids);
    free(b->pos);
    free(b->span);
    free(b->seq);
    free(b->branch);
    free(b->seq_start);
    free(b->seq_tag);
    free(b->score_row);
    free(b->score_tgt);
    free(b->score_lp);
    free(b->score_top1);
    memset(b, 0, sizeof *b);
}

void batch_clear(fwd_batch *b)
{
    b->n_tok = 0;
    b->n_seq = 0;
    b->n_score = 0;
}

/* realloc *p to n elements of size sz; false on failure (the old block stays valid). */
static bool grow(void **p, size_t n, size_t sz)
{
    void *q = realloc(*p, n * sz);
    if (!q)
        return false;
    *p = q;
    return true;
}

static bool reserve_tok(fwd_batch *b, int need)
{
    if (need <= b->cap_tok)
        return true;
    int cap = b->cap_tok ? b->cap_tok : 64;
    while (cap < need)
        cap *= 2;
    size_t n = (size_t)cap;
    if (!grow((void **)&b->ids, n, sizeof *b->ids) || !grow((void **)&b->pos, n, sizeof *b->pos) ||
        !grow((void **)&b->span, n, sizeof *b->span) ||
        !grow((void **)&b->seq, n, sizeof *b->seq) ||
        !grow((void **)&b->branch, n, sizeof *b->branch))
        return false;
    b->cap_tok = cap;
    return true;
}

static bool reserve_seq(fwd_batch *b, int need)
{
    if (need <= b->cap_seq)
        return true;
    int cap = b->cap_seq ? b->cap_seq * 2 : 16;
    while (cap < need)
        cap *= 2;
    if (!grow((void **)&b->seq_start, (size_t)cap, sizeof *b->seq_start) ||
        !grow((void **)&b->seq_tag, (size_t)cap, sizeof *b->seq_tag))
        return false;
    b->cap_seq = cap;
    return true;
}

int batch_add_seq(fwd_batch *b, int32_t tag, const int32_t *ids, int n)
{
    ABL_ASSERT(n >= 1 && ids);
    if (!reserve_tok(b, b->n_tok + n) || !reserve_seq(b, b->n_seq + 1))
        return -1;
    int s = b->n_tok;
    for (int i = 0; i < n; i++) {
        int r = s + i;
        b->ids[r] = ids[i];
        b->pos[r] = i;
        b->span[r] = (k_span){0, 0, s, r + 1};
        b->seq[r] = b->n_seq;
        b->branch[r] = 0;
    }
    b->seq_start[b->n_seq] = s;
    b->seq_tag[b->n_seq] = tag;
    b->n_seq++;
    b->n_tok += n;
    return s;
}

int batch_add_branch(fwd_batch *b, const int32_t *ids, int n)
{
    ABL_ASSERT(b->n_seq > 0 && n >= 1 && ids);
    if (!reserve_tok(b, b->n_tok + n))
        return -1;
    int sq = b->n_seq - 1, s = b->seq_start[sq];
    int plen = 0, nbr = 0; /* prefix length and branches so far */
    for (int r = s; r < b->n_tok; r++) {
        if (b->branch[r] == 0)
            plen++;
        if (b->branch[r] > nbr)
            nbr = b->branch[r];
    }
    int start = b->n_tok;
    for (int i = 0; i < n; i++) {
        int r = start + i;
        b->ids[r] = ids[i];
        b->pos[r] = plen + i;
        b->span[r] = (k_span){s, s + plen, start, r + 1};
        b->seq[r] = sq;
        b->branch[r] = nbr + 1;
    }
    b->n_tok += n;
    return start;
}

int batch_add_score(fwd_batch *b, int row, int32_t target)
{
    ABL_ASSERT(row >= 0 && row < b->n_tok);
    if (b->n_score >= b->cap_score) {
        int cap = b->cap_score ? b->cap_score * 2 : 64;
        size_t n = (size_t)cap;
        if (!grow((void **)&b->score_row, n, sizeof *b->score_row) ||
            !grow((void **)&b->score_tgt, n, sizeof *b->score_tgt) ||
            !grow((void **)&b->score_lp, n, sizeof *b->score_lp) ||
            !grow((void **)&b->score_top1, n, sizeof *b->score_top1))
            return -1;
        b->cap_score = cap;
    }
    int i = b->n_score++;
    b->score_row[i] = row;
    b->score_tgt[i] = target;
    b->score_lp[i] = 0.0f;
    b->score_top1[i] = 0;
    return i;
}

/* First row j in [lo, hi) with pos[j] > limit (pos increases along the range); hi if none. */
static int32_t first_after(const int32_t *pos, int32_t lo, int32_t hi, int32_t limit)
{
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (pos[mid] > limit)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int batch_window_spans(const fwd_batch *b, int window, k_span *out)
{
    ABL_ASSERT(window > 0);
    int changed = 0;
    for (int i = 0; i < b->n_tok; i++) {
        k_span sp = b->span[i];
        int32_t limit = b->pos[i] - window; /* keys at positions <= limit are out of the window */
        sp.a0 = first_after(b->pos, sp.a0, sp.a1, limit);
        sp.b0 = first_after(b->pos, sp.b0, sp.b1, limit);
        changed += sp.a0 != b->span[i].a0 || sp.b0 != b->span[i].b0;
        if (out)
            out[i] = sp;
    }
    return changed;
}
