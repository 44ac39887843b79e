/* eval/task_openbookqa.c - OpenBookQA main test (openbookqa/openbook_qa.jsonl, same items as the
 * original test.tsv). lm-eval: context = question stem, continuations " <choice>"; acc_norm. */
#include "task.h"

static abl_status obqa_line(ev_docs *d, const json_val *o, const char *where, void *user, abl_err *err)
{
    (void)user;
    const json_val *q, *ch;
    int64_t gold;
    abl_status s;
    if ((s = ev_json_foundry(o, &q, &ch, &gold, where, err)) ||
        (s = ev_docs_begin(d, q->str, q->len, (int)gold, -1, err)))
        return s;
    return ev_docs_choices_end(d, ch, where, err);
}

static abl_status obqa_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)arg;
    return ev_each_jsonl(d, dir, "openbookqa/openbook_qa.jsonl", obqa_line, NULL, err);
}

const ev_task_def ev_def_openbookqa = {"openbookqa", EV_MC, EV_HEAD_ACC_NORM, true, obqa_read, "openbookqa"};
