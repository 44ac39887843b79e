/* tests/test_backend.c - every op of the backend table (engine/backend.h) on every backend here:
 * the CPU backend with each kernel variant this machine runs, and CUDA when a device (or the
 * emulator, tools/cuda_emu) answers; the same seeded inputs, compared with the CPU backend on
 * the ref kernels under a tolerance per op (ggml's test-backend-ops habit). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels_cuda/kernels_cuda.h"
#include "test_model_util.h"

enum { BT = 24, BS = 5 }; /* tokens, scored rows */

typedef enum {
    OP_RMSNORM, OP_MATMUL_Q, OP_MATMUL_GATE, OP_MATMUL_HEAD, OP_ADD_BIAS, OP_ROPE,
    OP_ATTENTION, OP_SWIGLU, OP_ADD, OP_EMBED, OP_GATHER, OP_LOGSOFTMAX, OP_TOP1, OP_DOT3,
    OP_COUNT
} op_id;

/* name, absolute and relative tolerance against cpu/ref */
static const struct {
    const char *name;
    double atol, rtol;
} ops[OP_COUNT] = {
    [OP_RMSNORM] = {"rmsnorm", 1e-5, 1e-4},      [OP_MATMUL_Q] = {"matmul q_proj", 1e-4, 1e-3},
    [OP_MATMUL_GATE] = {"matmul gate", 1e-4, 1e-3}, [OP_MATMUL_HEAD] = {"matmul head", 1e-4, 1e-3},
    [OP_ADD_BIAS] = {"add_bias", 0, 0},          [OP_ROPE] = {"rope", 1e-5, 1e-4},
    [OP_ATTENTION] = {"attention", 1e-5, 1e-3},  [OP_SWIGLU] = {"swiglu", 1e-5, 1e-4},
    [OP_ADD] = {"add", 0, 0},                    [OP_EMBED] = {"embed", 0, 0},
    [OP_GATHER] = {"gather_rows", 0, 0},         [OP_LOGSOFTMAX] = {"logsoftmax_gather", 1e-5, 1e-5},
    [OP_TOP1] = {"top1", 0, 0},                  [OP_DOT3] = {"dot3", 0, 1e-6},
};

typedef struct {
    float *res[OP_COUNT]; /* host copies of each op's output */
    size_t n[OP_COUNT];   /* floats in each */
} op_results;

static void results_free(op_results *r)
{
    for (int i = 0; i < OP_COUNT; i++)
        free(r->res[i]);
    memset(r, 0, sizeof *r);
}

/* n seeded floats in [-scale, scale) */
static float *seeded(unsigned long long seed, size_t n, float scale)
{
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; p && i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = scale * ((float)(seed >> 40) / (float)(1ULL << 24) * 2 - 1);
    }
    return p;
}

/* Run every op once on m->be; fills r (host copies). 0 after a recorded failure. */
static int run_ops(tctx *t, model *m, op_results *r)
{
    backend *be = m->be;
    const be_ops *o = be->ops;
    const hf_config *c = model_config(m);
    int D = c->d_model, H = c->n_heads, Hkv = c->n_kv_heads, Dh = c->head_dim, F = c->d_ff;
    int V = c->vocab, Q = H * Dh, KV = Hkv * Dh;
    abl_err e = {0};
    int32_t ids[BT], pos[BT], rows[BS] = {3, 0, 23, 11, 17}, tgt[BS];
    k_span span[BT];
    for (int i = 0; i < BT; i++) {
        ids[i] = (int32_t)((i * 37 + 5) % V);
        if (i < 12) { /* a plain causal sequence, then a prefix of 6 and a branch of 6 */
            pos[i] = i, span[i] = (k_span){0, 0, 0, i + 1};
        } else if (i < 18) {
            pos[i] = i - 12, span[i] = (k_span){0, 0, 12, i + 1};
        } else {
            pos[i] = i - 12, span[i] = (k_span){12, 18, 18, i + 1};
        }
    }
    for (int i = 0; i < BS; i++)
        tgt[i] = (int32_t)((i * 101 + 7) % V);
    float *x = seeded(1, (size_t)BT * D, 2), *q = seeded(2, (size_t)BT * Q, 1);
    float *k = seeded(3, (size_t)BT * KV, 1), *v = seeded(4, (size_t)BT * KV, 1);
    float *g = seeded(5, (size_t)BT * F, 3), *u = seeded(6, (size_t)BT * F, 1);
    float *y = seeded(7, (size_t)BT * D, 1), *lg = seeded(8, (size_t)BS * V, 4);
    size_t need[OP_COUNT] = {[OP_RMSNORM] = (size_t)BT * D, [OP_MATMUL_Q] = (size_t)BT * Q,
                             [OP_MATMUL_GATE] = (size_t)BT * F, [OP_MATMUL_HEAD] = (size_t)BS * V,
                             [OP_ADD_BIAS] = (size_t)BT * D, [OP_ROPE] = (size_t)BT * Q,
                             [OP_ATTENTION] = (size_t)BT * Q, [OP_SWIGLU] = (size_t)BT * F,
                             [OP_ADD] = (size_t)BT * D, [OP_EMBED] = (size_t)BT * D,
                             [OP_GATHER] = (size_t)BS * D, [OP_LOGSOFTMAX] = BS,
                             [OP_TOP1] = BS, [OP_DOT3] = (size_t)BT * 3};
    int okk = x && q && k && v && g && u && y && lg;
    for (int i = 0; okk && i < OP_COUNT; i++)
        okk = (r->res[i] = calloc(need[i], sizeof(float))) != NULL, r->n[i] = need[i];
    const be_block *b0 = &be->blk[0];
    size_t f4 = sizeof(float);
    abl_status s = okk ? o->reserve(be, BT, BS, &e) : ABL_E_NOMEM;
    uint8_t top1[BS];
    double d3[BT * 3];
#define PUT(dst, src, n) o->put(be, dst, src, (n) * f4, &e)
#define GET(op, src) o->get(be, r->res[op], src, r->n[op] * f4, &e)
    if (!s)
        s = o->put(be, be->ids, ids, sizeof ids, &e) || o->put(be, be->pos, pos, sizeof pos, &e) ||
            o->put(be, be->span, span, sizeof span, &e) ||
            o->put(be, be->score_row, rows, sizeof rows, &e) ||
            o->put(be, be->score_tgt, tgt, sizeof tgt, &e)
            ? e.code : ABL_OK;
    if (!s)
        s = PUT(be->x, x, (size_t)BT * D) ||
            o->rmsnorm(be, be->xn, be->x, b0->attn_norm, BT, D, (float)c->norm_eps, &e) ||
            GET(OP_RMSNORM, be->xn) ||
            o->matmul(be, be->q, be->xn, &b0->wq, BT, &e) || GET(OP_MATMUL_Q, be->q) ||
            o->matmul(be, be->gate, be->xn, &b0->wg, BT, &e) || GET(OP_MATMUL_GATE, be->gate) ||
            o->gather_rows(be, be->head_x, be->x, be->score_row, BS, D, &e) ||
            GET(OP_GATHER, be->head_x) ||
            o->matmul(be, be->logits, be->head_x, &be->head, BS, &e) ||
            GET(OP_MATMUL_HEAD, be->logits)
            ? e.code : ABL_OK;
    if (!s)
        s = PUT(be->sub, y, (size_t)BT * D) ||
            o->add_bias(be, be->sub, b0->mlp_norm, BT, D, &e) || GET(OP_ADD_BIAS, be->sub) ||
            PUT(be->q, q, (size_t)BT * Q) || o->rope(be, be->q, BT, H, Dh, be->pos, &e) ||
            GET(OP_ROPE, be->q) || PUT(be->k, k, (size_t)BT * KV) ||
            PUT(be->v, v, (size_t)BT * KV) ||
            o->attention(be, be->att, be->q, be->k, be->v, be->span, BT, H, Hkv, Dh, &e) ||
            GET(OP_ATTENTION, be->att) || PUT(be->gate, g, (size_t)BT * F) ||
            PUT(be->up, u, (size_t)BT * F) ||
            o->swiglu(be, be->gate, be->gate, be->up, (size_t)BT * F, &e) ||
            GET(OP_SWIGLU, be->gate)
            ? e.code : ABL_OK;
    if (!s)
        s = PUT(be->x, x, (size_t)BT * D) || PUT(be->sub, y, (size_t)BT * D) ||
            o->dot3(be, be->stats, be->x, be->sub, BT, D, &e) ||
            o->get(be, d3, be->stats, sizeof d3, &e) ||
            o->add(be, be->x, be->sub, (size_t)BT * D, &e) || GET(OP_ADD, be->x) ||
            o->embed(be, be->x, be->ids, BT, &e) || GET(OP_EMBED, be->x) ||
            PUT(be->logits, lg, (size_t)BS * V) ||
            o->logsoftmax_gather(be, be->score_lp, be->score_top1, be->logits, be->score_tgt,
                                 BS, V, &e) ||
            GET(OP_LOGSOFTMAX, be->score_lp) ||
            o->get(be, top1, be->score_top1, sizeof top1, &e) || o->sync(be, &e)
            ? e.code : ABL_OK;
#undef PUT
#undef GET
    if (!s) {
        for (int i = 0; i < BS; i++)
            r->res[OP_TOP1][i] = top1[i];
        for (int i = 0; i < BT * 3; i++) /* relative checks below; float keeps 7 digits */
            r->res[OP_DOT3][i] = (float)d3[i];
    } else {
        t_fail(t, "backend %s: %s", o->name, okk ? e.msg : "out of memory");
    }
    free(x), free(q), free(k), free(v), free(g), free(u), free(y), free(lg);
    return !s;
}

/* Compare r with the reference per op; notes the worst difference of each. */
static void compare(tctx *t, const char *name, const op_results *ref, const op_results *r)
{
    for (int i = 0; i < OP_COUNT; i++) {
        char what[96];
        snprintf(what, sizeof what, "%s %s", name, ops[i].name);
        t_close_f32(t, what, r->res[i], ref->res[i], r->n[i], ops[i].atol, ops[i].rtol);
    }
}

void test_backend_ops_cpu_and_cuda(tctx *t)
{
    static const char *const variants[] = {"ref", "avx2", "avx512", "neon"};
    op_results ref = {0}, got = {0};
    int n_run = 0;
    char ran[256] = "", skipped[256] = "";
    for (size_t vi = 0; vi < ABL_ARRAY_LEN(variants) && !t_failed(t); vi++) {
        abl_err e = {0};
        if (kern_init(variants[vi], &e) != ABL_OK) {
            snprintf(skipped + strlen(skipped), sizeof skipped - strlen(skipped), " cpu/%s",
                     variants[vi]);
            continue;
        }
        model *m = load(t, TINY_DIR, 2);
        if (m && run_ops(t, m, vi == 0 ? &ref : &got)) {
            if (vi)
                compare(t, kern.name, &ref, &got);
            n_run++;
            snprintf(ran + strlen(ran), sizeof ran - strlen(ran), " cpu/%s", variants[vi]);
        }
        results_free(&got);
        model_free(m);
    }
    /* CUDA: the same ops through kernels_cuda (a GPU, or the emulator) */
    abl_err e = {0};
    if (!t_failed(t) && kern_init("ref", &e) == ABL_OK) {
        model *m = load(t, TINY_DIR, 1);
        if (m && model_cuda_attach(m, 0, &e) == ABL_OK) {
            if (run_ops(t, m, &got)) {
                compare(t, "cuda", &ref, &got);
                n_run++;
                snprintf(ran + strlen(ran), sizeof ran - strlen(ran), " cuda");
            }
        } else if (m) {
            snprintf(skipped + strlen(skipped), sizeof skipped - strlen(skipped), " cuda (%.80s)",
                     e.msg);
        }
        results_free(&got);
        model_free(m);
    }
    t_note(t, "%d ops on:%s; not here:%s", OP_COUNT, ran, skipped[0] ? skipped : " none");
    T_CHECK(t, n_run >= 1);
    results_free(&ref);
}
