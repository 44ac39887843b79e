/* study/shard.c - which shard computes which work unit: a deterministic, cost-balanced
 * assignment (longest processing time first) that every shard computes identically. */
#include <stdlib.h>

#include "study_int.h"

/* qsort context: costs of the units being sorted (qsort has no user pointer in C11). */
typedef struct {
    double cost;
    int i;
} unit_cost;

static int by_cost(const void *a, const void *b)
{
    const unit_cost *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

abl_status study_shard_assign(const double *cost, int n, int n_shards, int *owner, double *load,
                              abl_err *err)
{
    unit_cost *u = malloc(sizeof *u * (size_t)(n > 0 ? n : 1));
    double *ld = calloc((size_t)n_shards, sizeof *ld);
    if (!u || !ld) {
        free(u);
        free(ld);
        return abl_fail(err, ABL_E_NOMEM, "study: out of memory assigning %d units to shards",
                        n);
    }
    for (int i = 0; i < n; i++)
        u[i] = (unit_cost){cost[i], i};
    qsort(u, (size_t)n, sizeof *u, by_cost);
    for (int k = 0; k < n; k++) {
        int best = 0;
        for (int s = 1; s < n_shards; s++)
            if (ld[s] < ld[best])
                best = s;
        owner[u[k].i] = best;
        ld[best] += u[k].cost;
    }
    for (int s = 0; load && s < n_shards; s++)
        load[s] = ld[s];
    free(u);
    free(ld);
    return ABL_OK;
}
