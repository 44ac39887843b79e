/* eval/task_arc.c - ARC-Easy (arc_easy/test.json, one JSON array) and ARC-Challenge
 * (arc_challenge/test.jsonl). lm-eval: "Question: <q>\nAnswer:", continuations " <choice>". */
#include <string.h>

#include "task.h"

/* One ARC object {"question", "choices": {"text": [...], "label": [...]}, "answerKey"} -> doc. */
static abl_status arc_doc(ev_docs *d, const json_val *o, const char *where, ev_str *ctx, abl_err *err)
{
    const json_val *q, *key;
    abl_status s;
    if ((s = ev_json_str(o, "question", &q, where, err)) || (s = ev_json_str(o, "answerKey", &key, where, err)))
        return s;
    const json_val *ch = json_get(o, "choices");
    const json_val *text = json_get(ch, "text"), *label = json_get(ch, "label");
    if (!text || !label || text->type != JSON_ARRAY || label->type != JSON_ARRAY || text->len != label->len ||
        text->len == 0)
        return abl_fail(err, ABL_E_FORMAT,
                        "%s: expected \"choices\": {\"text\": [...], \"label\": [...]} of equal non-zero "
                        "length, found something else",
                        where);
    int gold = -1;
    for (size_t i = 0; i < label->len; i++) {
        const json_val *l = &label->kids[i];
        if (l->type != JSON_STRING || text->kids[i].type != JSON_STRING)
            return abl_fail(err, ABL_E_FORMAT, "%s: expected string choice text and label, found another type",
                            where);
        if (gold < 0 && l->len == key->len && !memcmp(l->str, key->str, key->len))
            gold = (int)i;
    }
    if (gold < 0)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected answerKey \"%s\" among the choice labels, found none",
                        where, key->str);
    ev_str_clear(ctx);
    if ((s = ev_str_catz(ctx, "Question: ", err)) || (s = ev_str_cat(ctx, q->str, q->len, err)) ||
        (s = ev_str_catz(ctx, "\nAnswer:", err)) || (s = ev_docs_begin(d, ctx->p, ctx->n, gold, -1, err)))
        return s;
    return ev_docs_choices_end(d, text, where, err);
}

static abl_status arc_line(ev_docs *d, const json_val *o, const char *where, void *user, abl_err *err)
{
    return arc_doc(d, o, where, user, err);
}

static abl_status arc_easy_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)arg;
    ev_str ctx = {0};
    abl_status s = ev_each_json_array(d, dir, "arc_easy/test.json", arc_line, &ctx, err);
    ev_str_free(&ctx);
    return s;
}

static abl_status arc_challenge_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)arg;
    ev_str ctx = {0};
    abl_status s = ev_each_jsonl(d, dir, "arc_challenge/test.jsonl", arc_line, &ctx, err);
    ev_str_free(&ctx);
    return s;
}

const ev_task_def ev_def_arc_easy = {"arc_easy", EV_MC, EV_HEAD_ACC_NORM, true, arc_easy_read, "arc_easy"};
const ev_task_def ev_def_arc_challenge = {"arc_challenge", EV_MC, EV_HEAD_ACC_NORM, true, arc_challenge_read, "arc_challenge"};
