/* eval/task_jsonl.c - the generic multiple-choice task `jsonl:PATH`: one object per line,
 * {"context": str, "choices": [str...], "label": int, "delimiter": str (optional, default " ")}. */
#include "task.h"

static abl_status gen_line(ev_docs *d, const json_val *o, const char *where, void *user, abl_err *err)
{
    (void)user;
    const json_val *c, *ch;
    int64_t gold;
    abl_status s;
    if ((s = ev_json_str(o, "context", &c, where, err)) || (s = ev_json_strs(o, "choices", &ch, where, err)) ||
        (s = ev_json_int(o, "label", &gold, where, err)))
        return s;
    const char *delim = " ";
    const json_val *dl = json_get(o, "delimiter");
    if (dl && !(delim = json_as_str(dl)))
        return abl_fail(err, ABL_E_FORMAT, "%s: expected \"delimiter\" to be a string", where);
    if (gold < 0 || gold >= (int64_t)ch->len)
        return abl_fail(err, ABL_E_FORMAT, "%s: expected \"label\" in [0, %zu), found %lld", where, ch->len,
                        (long long)gold);
    if ((s = ev_docs_begin(d, c->str, c->len, (int)gold, -1, err)))
        return s;
    for (size_t i = 0; i < ch->len; i++)
        if ((s = ev_docs_choice(d, NULL, 0, delim, ch->kids[i].str, ch->kids[i].len, false, err)))
            return s;
    return ev_docs_end(d, where, err);
}

/* arg is the file path itself (data_dir is ignored). */
static abl_status gen_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)dir;
    return ev_each_jsonl(d, NULL, arg, gen_line, NULL, err);
}

const ev_task_def ev_def_jsonl = {"jsonl", EV_MC, EV_HEAD_ACC, true, gen_read, NULL};
