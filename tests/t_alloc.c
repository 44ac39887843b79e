/* tests/t_alloc.c - the allocation counter behind t_alloc.h (the --wrap targets). */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "t_alloc.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
char *__wrap_strdup(const char *s);

static atomic_int armed;
static atomic_long count, fail_at, fired;

void t_alloc_arm(long n)
{
    atomic_store(&count, 0);
    atomic_store(&fired, 0);
    atomic_store(&fail_at, n > 0 ? n : -1);
    atomic_store(&armed, 1);
}

long t_alloc_disarm(void)
{
    atomic_store(&armed, 0);
    return atomic_load(&count);
}

int t_alloc_fired(void) { return atomic_load(&fired) != 0; }

/* 1 when this allocation is the one to fail. */
static int fail_now(void)
{
    if (!atomic_load(&armed))
        return 0;
    long k = atomic_fetch_add(&count, 1) + 1;
    if (k != atomic_load(&fail_at))
        return 0;
    atomic_store(&fired, 1);
    errno = ENOMEM;
    return 1;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return fail_now() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t a, size_t n)
{
    return fail_now() ? NULL : __real_aligned_alloc(a, n);
}

char *__wrap_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = __wrap_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}
