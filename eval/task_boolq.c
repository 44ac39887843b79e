/* eval/task_boolq.c - BoolQ validation in llm-foundry's prompt form (boolq/boolq.jsonl).
 * lm-eval: "<passage>\nQuestion: <question>?\nAnswer:", continuations " no" / " yes"; acc. */
#include <string.h>

#include "task.h"

static abl_status boolq_line(ev_docs *d, const json_val *o, const char *where, void *user, abl_err *err)
{
    ev_str *ctx = user;
    const json_val *q, *ch;
    int64_t gold;
    abl_status s;
    if ((s = ev_json_foundry(o, &q, &ch, &gold, where, err)))
        return s;
    static const char pre[] = "Passage: ";
    const char *p = q->str;
    size_t n = q->len;
    if (n < sizeof pre - 1 || memcmp(p, pre, sizeof pre - 1))
        return abl_fail(err, ABL_E_FORMAT, "%s: expected the query to start with \"Passage: \", found \"%.20s\"",
                        where, p);
    p += sizeof pre - 1;
    n -= sizeof pre - 1;
    ev_str_clear(ctx);
    if ((s = ev_str_cat(ctx, p, n, err)) || (s = ev_str_catz(ctx, "\nAnswer:", err)) ||
        (s = ev_docs_begin(d, ctx->p, ctx->n, (int)gold, -1, err)))
        return s;
    return ev_docs_choices_end(d, ch, where, err);
}

static abl_status boolq_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)arg;
    ev_str ctx = {0};
    abl_status s = ev_each_jsonl(d, dir, "boolq/boolq.jsonl", boolq_line, &ctx, err);
    ev_str_free(&ctx);
    return s;
}

const ev_task_def ev_def_boolq = {"boolq", EV_MC, EV_HEAD_ACC, false, boolq_read, "boolq"};
