/* kernels/pool.h - a pthreads pool created once; work is split by (ith, nth).
 * No thread creation or allocation per call. */
#ifndef POOL_H
#define POOL_H

typedef struct kpool kpool;

/* fn(arg, ith, nth) is called once for each ith in [0, nth). */
typedef void (*kpool_fn)(void *arg, int ith, int nth);

/* Create a pool of n threads in all (the caller counts as one; n-1 workers are started).
 * n <= 0 means the number of online CPUs. Returns NULL on failure. */
kpool *kpool_create(int n);

/* Joins the workers and frees the pool. NULL is fine. */
void kpool_free(kpool *p);

int kpool_nthreads(const kpool *p); /* 1 for NULL */

/* Run fn on every thread (the caller runs ith = 0) and wait for all. Not re-entrant: one
 * kpool_run at a time per pool. p == NULL runs fn(arg, 0, 1) inline. */
void kpool_run(kpool *p, kpool_fn fn, void *arg);

#endif
