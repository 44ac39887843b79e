/* tests/test_sampler.c - greedy, temperature and nucleus sampling: reproducible by seed,
 * frequencies that follow the softmax, draws that stay inside the nucleus. */
#include <math.h>

#include "../engine/sampler.h"
#include "t.h"

void test_sampler_choices(tctx *t)
{
    enum { V = 6 };
    float logits[V] = {0.5f, 2.0f, 1.0f, 2.0f - 1e-3f, -3.0f, 0.0f};
    sampler g, a, b, nuc;
    abl_err err = {0};
    T_CHECK(t, !sampler_init(&g, V, 0.0f, 0.9f, 1, &err));
    T_CHECK(t, sampler_pick(&g, logits) == 1);
    T_CHECK(t, sampler_init(&a, V, 1.0f, 0.0f, 1, &err) == ABL_E_ARG);
    T_CHECK(t, !sampler_init(&a, V, 1.0f, 1.0f, 42, &err));
    T_CHECK(t, !sampler_init(&b, V, 1.0f, 1.0f, 42, &err));
    T_CHECK(t, !sampler_init(&nuc, V, 1.0f, 0.5f, 7, &err));
    int same = 1, counts[V] = {0}, nuc_counts[V] = {0}, N = 20000;
    for (int i = 0; i < N; i++) {
        int x = sampler_pick(&a, logits);
        same &= x == sampler_pick(&b, logits);
        counts[x]++;
        nuc_counts[sampler_pick(&nuc, logits)]++;
    }
    T_CHECK(t, same);
    /* frequencies follow softmax(logits) */
    double z = 0, worst = 0;
    for (int v = 0; v < V; v++)
        z += exp(logits[v]);
    for (int v = 0; v < V; v++)
        worst = fmax(worst, fabs(counts[v] / (double)N - exp(logits[v]) / z));
    t_note(t, "temperature 1: max |freq - softmax| = %.4f over %d draws", worst, N);
    T_CHECK(t, worst < 0.02);
    /* top-p 0.5: ids 1 and 3 hold ~0.33 each, so only they may be drawn */
    T_CHECK(t, nuc_counts[1] + nuc_counts[3] == N && nuc_counts[1] > N / 3);
    /* a larger vocabulary: every draw lies in the nucleus computed naively (O(V^2)) */
    enum { W = 500 };
    static float big[W];
    static int in_nucleus[W];
    for (int v = 0; v < W; v++)
        big[v] = (float)sin(v * 12.9898) * 4.0f;
    double zz = 0;
    for (int v = 0; v < W; v++)
        zz += exp(big[v] / 0.7);
    for (int v = 0; v < W; v++) { /* v is in when the mass strictly above it is < 0.6 */
        double above = 0;
        for (int u = 0; u < W; u++)
            if (big[u] > big[v] || (big[u] == big[v] && u < v))
                above += exp(big[u] / 0.7) / zz;
        in_nucleus[v] = above < 0.6;
    }
    sampler wide;
    T_CHECK(t, !sampler_init(&wide, W, 0.7f, 0.6f, 99, &err));
    int outside = 0, distinct = 0, seen[W] = {0};
    for (int i = 0; i < 5000; i++) {
        int x = sampler_pick(&wide, big);
        outside += !in_nucleus[x];
        distinct += !seen[x];
        seen[x] = 1;
    }
    t_note(t, "top-p 0.6 over %d ids: %d distinct drawn, %d outside the nucleus", W, distinct,
           outside);
    T_CHECK(t, outside == 0 && distinct > 1);
    sampler_free(&wide);
    sampler_free(&g);
    sampler_free(&a);
    sampler_free(&b);
    sampler_free(&nuc);
    sampler_free(NULL);
}
