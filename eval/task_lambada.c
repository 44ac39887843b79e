/* eval/task_lambada.c - LAMBADA (OpenAI) test, context/target split (lambada_openai/lambada_openai.jsonl).
 * lm-eval: context, continuation " <last word>"; acc = greedy exact match, plus perplexity. */
#include "task.h"

static abl_status lambada_line(ev_docs *d, const json_val *o, const char *where, void *user, abl_err *err)
{
    (void)user;
    const json_val *c, *w;
    abl_status s;
    if ((s = ev_json_str(o, "context", &c, where, err)) || (s = ev_json_str(o, "continuation", &w, where, err)) ||
        (s = ev_docs_begin(d, c->str, c->len, 0, -1, err)) ||
        (s = ev_docs_choice(d, NULL, 0, " ", w->str, w->len, true, err)))
        return s;
    return ev_docs_end(d, where, err);
}

static abl_status lambada_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)arg;
    return ev_each_jsonl(d, dir, "lambada_openai/lambada_openai.jsonl", lambada_line, NULL, err);
}

const ev_task_def ev_def_lambada_openai = {"lambada_openai", EV_GREEDY, EV_HEAD_ACC, false, lambada_read, "lambada_openai"};
