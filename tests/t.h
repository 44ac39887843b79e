/* tests/t.h - the tiny test framework: each test is `void test_NAME(tctx *t)` in a
 * tests/test_*.c file (found by gen_registry.sh); mtest_ = needs the real model. */
#ifndef T_H
#define T_H

#include <stddef.h>
#include <stdint.h>

typedef struct tctx tctx;

typedef struct {
    const char *name;
    void (*fn)(tctx *t);
    int tier; /* 0 fast, 1 real model */
} t_case;

extern const t_case t_cases[];

/* Record a failure (first message is kept and printed); the test keeps running. */
void t_fail(tctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Mark the test skipped with a reason (counted as skipped, never passed). */
void t_skip(tctx *t, const char *why);
/* True when the test has failed so far (to stop early). */
int t_failed(const tctx *t);
/* Informational line printed under the test's verdict ("  max_abs_diff=..."). */
void t_note(tctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A scratch directory unique to this test (created, removed afterwards unless it failed). */
const char *t_tmpdir(tctx *t);

/* Run one(data, size) on every file of a committed fuzz corpus dir (names starting with '.'
 * skipped), so each saved input stays a regression test: the fuzz checks abort the forked test
 * on a violation. Fails when the dir cannot be opened, a file cannot be read, or it is empty. */
void t_replay_corpus(tctx *t, const char *dir, int (*one)(const uint8_t *data, size_t size));

/* Check helpers: record a failure naming file:line and the expression. Return the condition. */
int t_check_(tctx *t, int ok, const char *expr, const char *file, int line);
#define T_CHECK(t, c) t_check_((t), !!(c), #c, __FILE__, __LINE__)

/* |a-b| <= atol + rtol*|b| elementwise; on failure records the worst index and both values.
 * Always notes max_abs_diff and max_rel_err. Returns 1 when within tolerance. */
int t_close_f32(tctx *t, const char *what, const float *a, const float *b, size_t n,
                double atol, double rtol);

#endif
