/* kernels/kernels_entry.c - the threaded entry points the engine calls (k_matmul, k_attention),
 * weight packing for the active variant, and workspace sizing. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_int.h"

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

abl_status kweight_pack(kweight *w, const float *src, int n, int k, abl_err *err)
{
    memset(w, 0, sizeof *w);
    if (n <= 0 || k <= 0)
        return abl_fail(err, ABL_E_SHAPE, "kweight_pack: expected a positive shape, found (%d, %d)",
                        n, k);
    size_t count = kern.pack_count(n, k);
    size_t bytes = (count * sizeof(float) + 63) & ~(size_t)63;
    float *data = aligned_alloc(64, bytes ? bytes : 64);
    if (!data)
        return abl_fail(err, ABL_E_NOMEM, "kweight_pack: could not allocate %zu bytes for a "
                        "(%d, %d) weight (hint: free memory or use a smaller model)", bytes, n, k);
    kern.pack(data, src, n, k);
    w->n = n;
    w->k = k;
    w->variant = kern.variant;
    w->data = data;
    w->count = count;
    return ABL_OK;
}

void kweight_free(kweight *w)
{
    if (!w)
        return;
    free(w->data);
    memset(w, 0, sizeof *w);
}

size_t kern_attn_ws_floats(int dh)
{
    /* acc (QB, dh), running max and sum (QB each), scores (QB, KB), slack for alignment. */
    return round16((size_t)KERN_ATTN_QB * (size_t)dh + 2 * KERN_ATTN_QB +
                   (size_t)KERN_ATTN_QB * KERN_ATTN_KB + 64);
}

size_t kern_ws_floats(int max_m, int max_k, int dh)
{
    size_t s = KERN_SGEMM_WS_MAX, g = kern.sgemm_ws_floats(max_m, max_k);
    s = g > s ? g : s;
    size_t a = dh > 0 ? kern_attn_ws_floats(dh) : 0;
    return round16(a > s ? a : s);
}

/* ---- k_matmul ------------------------------------------------------------------------------ */

typedef struct {
    float *y;
    const float *x;
    const kweight *w;
    int m, accumulate;
    float *ws;
    size_t stride;
} matmul_job;

static void matmul_task(void *arg, int ith, int nth)
{
    matmul_job *j = arg;
    kern.sgemm(j->y, j->x, j->w, j->m, j->accumulate, j->ws + (size_t)ith * j->stride, ith, nth);
}

void k_matmul(kpool *pool, float *y, const float *x, const kweight *w, int m, int accumulate,
              float *ws)
{
    if (m <= 0)
        return;
    ABL_ASSERT(w->variant == (int)kern.variant);
    matmul_job j = {y, x, w, m, accumulate, ws, round16(kern.sgemm_ws_floats(m, w->k))};
    kpool_run(pool, matmul_task, &j);
}

/* ---- k_attention: work items are (head, block of KERN_ATTN_QB query rows) ------------------- */

typedef struct {
    float *out;
    const float *q, *k, *v;
    const k_span *span;
    int t, h, hkv, dh, qblocks;
    float *ws;
    size_t stride;
    atomic_int next;
} attn_job;

static void attn_task(void *arg, int ith, int nth)
{
    (void)nth;
    attn_job *j = arg;
    float *ws = j->ws + (size_t)ith * j->stride;
    int items = j->h * j->qblocks;
    for (;;) {
        int it = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (it >= items)
            break;
        /* Later query blocks see more keys under a causal rule: hand them out first. */
        int qb = j->qblocks - 1 - it / j->h, hh = it % j->h;
        int q0 = qb * KERN_ATTN_QB, q1 = q0 + KERN_ATTN_QB < j->t ? q0 + KERN_ATTN_QB : j->t;
        kern.attention_heads(j->out, j->q, j->k, j->v, j->span, j->h, j->hkv, j->dh, q0, q1, hh,
                             hh + 1, ws);
    }
}

void k_attention(kpool *pool, float *out, const float *q, const float *k, const float *v,
                 const k_span *span, int t, int h, int hkv, int dh, float *ws)
{
    if (t <= 0)
        return;
    attn_job j = {out, q, k, v, span, t, h, hkv, dh, (t + KERN_ATTN_QB - 1) / KERN_ATTN_QB, ws,
                  round16(kern_attn_ws_floats(dh)), 0};
    atomic_init(&j.next, 0);
    kpool_run(pool, attn_task, &j);
}
