/* eval/batcher.c - packs items into reusable fwd_batch "prefix + branches" sequences under a
 * token budget: longest items first, one sequence per item with its shared prefix computed once. */
#include <stdlib.h>
#include <string.h>

#include "eval.h"

/* The fed rows of one item. P = shared prefix length (0 = each choice its own sequence). */
typedef struct {
    int32_t item;
    int32_t P;
    int64_t tok;        /* rows it adds to a batch */
    int32_t n_score;    /* score rows */
} item_shape;

static int choice_len(const ev_choice *c)
{
    return c->n_ctx + c->n_cont;
}

static void shape_item(const ev_task *t, int32_t it, bool no_share, item_shape *sh)
{
    const ev_item *item = &t->items[it];
    const ev_choice *ch = &t->choices[item->choice0];
    int P = -1, n_active = 0;
    sh->item = it;
    sh->n_score = 0;
    for (int k = 0; k < item->n_choices; k++) {
        const ev_choice *c = &ch[k];
        sh->n_score += c->n_cont;
        if (c->n_cont <= 0)
            continue;
        int fed = choice_len(c) - 1; /* the last token is only a target */
        if (n_active++ == 0) {
            P = fed;
            continue;
        }
        const ev_choice *c0 = NULL;
        for (int q = 0; q < k; q++)
            if (ch[q].n_cont > 0) {
                c0 = &ch[q];
                break;
            }
        int lim = P < fed ? P : fed, l = 0;
        while (l < lim && c0->ids[l] == c->ids[l])
            l++;
        P = l;
    }
    if (n_active == 0 || no_share)
        P = 0;
    sh->P = P;
    int64_t tok = P;
    for (int k = 0; k < item->n_choices; k++)
        if (ch[k].n_cont > 0)
            tok += choice_len(&ch[k]) - 1 - P;
    sh->tok = tok;
}

static int cmp_shape(const void *a, const void *b)
{
    const item_shape *x = a, *y = b;
    if (x->tok != y->tok)
        return x->tok > y->tok ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

void ev_plan_free(ev_plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_batches; i++) {
        ev_batch *b = &p->batches[i];
        batch_free(&b->fb);
        free(b->items);
        free(b->score_choice);
        free(b->score_tok);
        free(b->choice_list);
    }
    free(p->batches);
    memset(p, 0, sizeof *p);
}

/* Add one item's sequence(s) and score rows to b. false on NOMEM. */
static bool emit_item(const ev_task *t, const item_shape *sh, ev_batch *b)
{
    const ev_item *item = &t->items[sh->item];
    const ev_choice *ch = &t->choices[item->choice0];
    int P = sh->P, seq_row = -1;
    b->items[b->n_items++] = sh->item;
    for (int k = 0; k < item->n_choices; k++)
        b->choice_list[b->n_choice++] = item->choice0 + k;
    for (int k = 0; k < item->n_choices; k++) {
        const ev_choice *c = &ch[k];
        if (c->n_cont <= 0)
            continue;
        int fed = choice_len(c) - 1, base, split;
        if (P > 0) {
            if (seq_row < 0 && (seq_row = batch_add_seq(&b->fb, sh->item, c->ids, P)) < 0)
                return false;
            base = -1;
            if (fed > P && (base = batch_add_branch(&b->fb, c->ids + P, fed - P)) < 0)
                return false;
            split = P;
        } else {
            if ((base = batch_add_seq(&b->fb, sh->item, c->ids, fed)) < 0)
                return false;
            seq_row = base;
            split = 0;
        }
        for (int j = 0; j < c->n_cont; j++) {
            int q = c->n_ctx + j - 1; /* position whose next-token distribution scores token q+1 */
            int row = q < split ? seq_row + q : base + (q - split);
            int si = batch_add_score(&b->fb, row, c->ids[q + 1]);
            if (si < 0)
                return false;
            b->score_choice[si] = item->choice0 + k;
            b->score_tok[si] = j;
        }
    }
    return true;
}

abl_status ev_plan_make(ev_plan *p, const ev_task *t, const int32_t *items, int n_items,
                        const ev_plan_opts *o, abl_err *err)
{
    memset(p, 0, sizeof *p);
    int budget = o && o->batch_tokens > 0 ? o->batch_tokens : 2048;
    bool no_share = o && o->no_share;
    if (!items)
        n_items = t->n_items;
    if (n_items <= 0)
        return ABL_OK;
    item_shape *sh = malloc((size_t)n_items * sizeof *sh);
    if (!sh)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory planning %d items", t->name, n_items);
    for (int i = 0; i < n_items; i++) {
        int32_t it = items ? items[i] : i;
        if (it < 0 || it >= t->n_items) {
            free(sh);
            return abl_fail(err, ABL_E_ARG, "%s: item %d is out of range [0, %d)", t->name, (int)it, t->n_items);
        }
        shape_item(t, it, no_share, &sh[i]);
    }
    qsort(sh, (size_t)n_items, sizeof *sh, cmp_shape);
    /* count batches first so every array is allocated once */
    int nb = 0;
    int64_t acc = 0;
    for (int i = 0; i < n_items; i++) {
        if (i == 0 || acc + sh[i].tok > budget) {
            nb++;
            acc = 0;
        }
        acc += sh[i].tok;
    }
    p->batches = calloc((size_t)nb, sizeof *p->batches);
    if (!p->batches) {
        free(sh);
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory for %d batches", t->name, nb);
    }
    p->n_batches = nb;
    p->n_items = n_items;
    int i = 0;
    for (int bi = 0; bi < nb; bi++) {
        ev_batch *b = &p->batches[bi];
        batch_init(&b->fb);
        int j = i, n_sc = 0, n_ch = 0;
        int64_t tok = 0;
        while (j < n_items && (j == i || tok + sh[j].tok <= budget)) {
            tok += sh[j].tok;
            n_sc += sh[j].n_score;
            n_ch += t->items[sh[j].item].n_choices;
            j++;
        }
        b->items = malloc((size_t)(j - i) * sizeof *b->items);
        b->choice_list = malloc((size_t)n_ch * sizeof *b->choice_list);
        b->score_choice = malloc((size_t)(n_sc ? n_sc : 1) * sizeof *b->score_choice);
        b->score_tok = malloc((size_t)(n_sc ? n_sc : 1) * sizeof *b->score_tok);
        bool ok = b->items && b->choice_list && b->score_choice && b->score_tok;
        for (int k = i; ok && k < j; k++)
            ok = emit_item(t, &sh[k], b);
        if (!ok) {
            free(sh);
            ev_plan_free(p);
            return abl_fail(err, ABL_E_NOMEM, "%s: out of memory building batch %d", t->name, bi);
        }
        p->n_tok += b->fb.n_tok;
        i = j;
    }
    free(sh);
    return ABL_OK;
}
