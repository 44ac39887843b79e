/* eval/task_copa.c - COPA validation in llm-foundry's prompt form (copa/copa.jsonl).
 * lm-eval: premise[:-1] + " because|therefore", continuations " " + choice (first letter lower). */
#include <string.h>

#include "task.h"

static abl_status copa_line(ev_docs *d, const json_val *o, const char *where, void *user, abl_err *err)
{
    ev_str *ctx = user;
    const json_val *q, *ch;
    int64_t gold;
    abl_status s;
    if ((s = ev_json_foundry(o, &q, &ch, &gold, where, err)))
        return s;
    /* "<premise without period>, because" -> "<premise without period> because" */
    static const char *const conn[] = {", because", ", therefore"};
    size_t cut = 0, cl = 0;
    for (int k = 0; k < 2; k++) {
        size_t l = strlen(conn[k]);
        if (q->len >= l && !memcmp(q->str + q->len - l, conn[k], l)) {
            cut = q->len - l;
            cl = l;
        }
    }
    if (!cl)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected the query to end with \", because\" or \", therefore\"",
                        where);
    ev_str_clear(ctx);
    if ((s = ev_str_cat(ctx, q->str, cut, err)) || (s = ev_str_cat(ctx, q->str + cut + 1, cl - 1, err)) ||
        (s = ev_docs_begin(d, ctx->p, ctx->n, (int)gold, -1, err)))
        return s;
    return ev_docs_choices_end(d, ch, where, err);
}

static abl_status copa_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)arg;
    ev_str ctx = {0};
    abl_status s = ev_each_jsonl(d, dir, "copa/copa.jsonl", copa_line, &ctx, err);
    ev_str_free(&ctx);
    return s;
}

const ev_task_def ev_def_copa = {"copa", EV_MC, EV_HEAD_ACC, false, copa_read, "copa"};
