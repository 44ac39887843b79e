/* kernels/pool.c - the pthreads pool behind kpool_run: n-1 workers created once, woken by a
 * generation counter (spin briefly, then sleep on a condition variable); no allocation per run. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "../base/abl.h"

/* How long a waiting thread polls before sleeping: short, because the machine may be shared. */
#define KPOOL_SPIN 4000

typedef struct {
    kpool *pool;
    int ith;
    pthread_t th;
} kpool_worker;

struct kpool {
    int n;                  /* threads in all, the caller included */
    kpool_worker *workers;  /* (n - 1) */
    int started;            /* workers actually created */
    pthread_mutex_t mu;
    pthread_cond_t wake;    /* workers sleep here waiting for a new generation */
    pthread_cond_t done;    /* the caller sleeps here waiting for pending == 0 */
    atomic_uint gen;        /* bumped once per kpool_run (and once to stop) */
    atomic_int pending;     /* workers still running the current generation */
    atomic_int stop;
    kpool_fn fn;
    void *arg;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline unsigned gen_now(kpool *p)
{
    return atomic_load_explicit(&p->gen, memory_order_acquire);
}

static void *worker_main(void *arg)
{
    kpool_worker *w = arg;
    kpool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        for (int s = 0; s < KPOOL_SPIN && gen_now(p) == seen; s++)
            cpu_relax();
        if (gen_now(p) == seen) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen)
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        seen = atomic_load(&p->gen);
        if (atomic_load(&p->stop))
            break;
        p->fn(p->arg, w->ith, p->n);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

kpool *kpool_create(int n)
{
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    kpool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = n;
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return NULL;
    }
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (n > 1) {
        p->workers = calloc((size_t)(n - 1), sizeof *p->workers);
        if (!p->workers) {
            kpool_free(p);
            return NULL;
        }
        for (int i = 0; i < n - 1; i++) {
            p->workers[i].pool = p;
            p->workers[i].ith = i + 1;
            if (pthread_create(&p->workers[i].th, NULL, worker_main, &p->workers[i]) != 0) {
                kpool_free(p);
                return NULL;
            }
            p->started++;
        }
    }
    return p;
}

void kpool_free(kpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->workers[i].th, NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p);
}

int kpool_nthreads(const kpool *p) { return p ? p->n : 1; }

void kpool_run(kpool *p, kpool_fn fn, void *arg)
{
    if (!p || p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    ABL_ASSERT(atomic_load(&p->pending) == 0);
    p->fn = fn;
    p->arg = arg;
    atomic_store(&p->pending, p->n - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n);
    for (int s = 0; s < KPOOL_SPIN && atomic_load_explicit(&p->pending, memory_order_acquire); s++)
        cpu_relax();
    if (atomic_load_explicit(&p->pending, memory_order_acquire)) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending))
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
