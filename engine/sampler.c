/* engine/sampler.c - greedy, temperature and nucleus (top-p) sampling over one logits row,
 * with an xorshift64* generator seeded through splitmix64. Legend: V vocabulary. */
#include "sampler.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

abl_status sampler_init(sampler *s, int vocab, float temp, float top_p, uint64_t seed,
                        abl_err *err)
{
    memset(s, 0, sizeof *s);
    if (vocab <= 0)
        return abl_fail(err, ABL_E_ARG, "sampler: expected a vocabulary size > 0, found %d",
                        vocab);
    if (!(top_p > 0.0f && top_p <= 1.0f))
        return abl_fail(err, ABL_E_ARG, "sampler: expected top-p in (0, 1], found %g",
                        (double)top_p);
    s->vocab = vocab;
    s->temp = temp > 0.0f ? temp : 0.0f;
    s->top_p = top_p;
    /* splitmix64 of the seed, so nearby seeds give unrelated streams; never a zero state. */
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    s->rng = z ? z : 0x2545f4914f6cdd1dULL;
    s->prob = malloc((size_t)vocab * sizeof *s->prob);
    s->cand = malloc((size_t)vocab * sizeof *s->cand);
    if (!s->prob || !s->cand) {
        sampler_free(s);
        return abl_fail(err, ABL_E_NOMEM, "sampler: out of memory for %d entries", vocab);
    }
    return ABL_OK;
}

void sampler_free(sampler *s)
{
    if (!s)
        return;
    free(s->prob);
    free(s->cand);
    s->prob = NULL;
    s->cand = NULL;
}

double sampler_uniform(sampler *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    uint64_t r = s->rng * 0x2545f4914f6cdd1dULL;
    return (double)(r >> 11) * (1.0 / 9007199254740992.0); /* 53 bits */
}

/* a goes before b: higher probability first, then lower id (a total order, so deterministic). */
static bool cand_before(const sampler_cand *a, const sampler_cand *b)
{
    return a->p > b->p || (a->p == b->p && a->id < b->id);
}

/* Move the root of heap c[0..n) down (a heap whose root is the candidate that goes last). */
static void sift_down(sampler_cand *c, int i, int n)
{
    for (;;) {
        int j = 2 * i + 1;
        if (j >= n)
            return;
        if (j + 1 < n && cand_before(&c[j], &c[j + 1]))
            j++;
        if (!cand_before(&c[i], &c[j]))
            return;
        sampler_cand tmp = c[i];
        c[i] = c[j];
        c[j] = tmp;
        i = j;
    }
}

/* In-place heapsort of c[0..n) into cand_before order (qsort may allocate; this never does). */
static void sort_cands(sampler_cand *c, int n)
{
    for (int i = n / 2 - 1; i >= 0; i--)
        sift_down(c, i, n);
    for (int end = n - 1; end > 0; end--) {
        sampler_cand tmp = c[0];
        c[0] = c[end];
        c[end] = tmp;
        sift_down(c, 0, end);
    }
}

int32_t sampler_pick(sampler *s, const float *logits)
{
    int V = s->vocab;
    int32_t best = 0;
    for (int v = 1; v < V; v++)
        if (logits[v] > logits[best])
            best = v;
    if (s->temp <= 0.0f)
        return best;
    /* softmax(logits / temp) in double for the normaliser */
    double sum = 0.0, inv_t = 1.0 / s->temp, mx = logits[best];
    for (int v = 0; v < V; v++) {
        double p = exp(((double)logits[v] - mx) * inv_t);
        s->prob[v] = (float)p;
        sum += p;
    }
    double u = sampler_uniform(s);
    if (s->top_p >= 1.0f) {
        double acc = 0.0, target = u * sum;
        for (int v = 0; v < V; v++) {
            acc += s->prob[v];
            if (acc > target)
                return v;
        }
        return best;
    }
    /* Nucleus: the smallest set of most likely ids whose mass reaches top_p. Ids below `cut`
     * together hold less than (1 - top_p) of the mass, so they are never needed: sort the rest. */
    int n = 0;
    double cut = (1.0 - s->top_p) / (V > 1 ? V - 1 : 1) * sum;
    for (int v = 0; v < V; v++)
        if (s->prob[v] >= cut || v == best)
            s->cand[n++] = (sampler_cand){s->prob[v], v};
    sort_cands(s->cand, n);
    double mass = 0.0, want = s->top_p * sum;
    int keep = n;
    for (int i = 0; i < n; i++) {
        mass += s->cand[i].p;
        if (mass >= want) {
            keep = i + 1;
            break;
        }
    }
    double acc = 0.0, target = u * mass;
    for (int i = 0; i < keep; i++) {
        acc += s->cand[i].p;
        if (acc > target)
            return s->cand[i].id;
    }
    return s->cand[keep - 1].id;
}
