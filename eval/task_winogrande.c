/* eval/task_winogrande.c - WinoGrande dev (xl), lm-eval's partial-scoring form
 * (winogrande/winogrande.jsonl): choice k = (context_options[k], " " + continuation); acc. */
#include "task.h"

static abl_status wino_line(ev_docs *d, const json_val *o, const char *where, void *user, abl_err *err)
{
    (void)user;
    const json_val *opts, *cont;
    int64_t gold;
    abl_status s;
    if ((s = ev_json_strs(o, "context_options", &opts, where, err)) ||
        (s = ev_json_str(o, "continuation", &cont, where, err)) || (s = ev_json_int(o, "gold", &gold, where, err)) ||
        (s = ev_docs_begin(d, "", 0, (int)gold, -1, err)))
        return s;
    for (size_t i = 0; i < opts->len; i++)
        if ((s = ev_docs_choice(d, opts->kids[i].str, opts->kids[i].len, " ", cont->str, cont->len, false, err)))
            return s;
    return ev_docs_end(d, where, err);
}

static abl_status wino_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)arg;
    return ev_each_jsonl(d, dir, "winogrande/winogrande.jsonl", wino_line, NULL, err);
}

const ev_task_def ev_def_winogrande = {"winogrande", EV_MC, EV_HEAD_ACC, false, wino_read, "winogrande"};
