/* eval/task_piqa.c - PIQA validation (piqa/valid.jsonl + piqa/valid-labels.lst).
 * lm-eval: "Question: <goal>\nAnswer:", continuations " <sol1>" / " <sol2>"; headline acc_norm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

static abl_status piqa_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)arg;
    char jpath[512], lpath[512];
    char *jbuf = NULL, *lbuf = NULL;
    size_t jlen = 0, llen = 0;
    json_doc *doc = NULL;
    ev_str ctx = {0};
    abl_status s = ev_read_file(d, dir, "piqa/valid.jsonl", &jbuf, &jlen, jpath, sizeof jpath, err);
    if (!s)
        s = ev_read_file(d, dir, "piqa/valid-labels.lst", &lbuf, &llen, lpath, sizeof lpath, err);
    ev_lines jl, ll;
    ev_lines_init(&jl, jbuf, jlen);
    ev_lines_init(&ll, lbuf, llen);
    const char *line, *lab;
    size_t n, nl;
    while (!s && ev_lines_next(&jl, &line, &n)) {
        if (n == 0 && jl.p >= jl.end)
            break; /* final newline */
        char where[600];
        snprintf(where, sizeof where, "%s:%d", jpath, jl.lineno);
        if (!ev_lines_next(&ll, &lab, &nl) || nl != 1 || (lab[0] != '0' && lab[0] != '1')) {
            s = abl_fail(err, ABL_E_FORMAT, "%s:%d: expected a label 0 or 1 for %s, found %s", lpath,
                         ll.lineno, where, nl ? "another value" : "nothing");
            break;
        }
        const json_val *goal, *sol1, *sol2;
        if ((s = ev_json_line(&doc, line, n, jpath, jl.lineno, err)) ||
            (s = ev_json_str(json_root(doc), "goal", &goal, where, err)) ||
            (s = ev_json_str(json_root(doc), "sol1", &sol1, where, err)) ||
            (s = ev_json_str(json_root(doc), "sol2", &sol2, where, err)))
            break;
        ev_str_clear(&ctx);
        if ((s = ev_str_catz(&ctx, "Question: ", err)) || (s = ev_str_cat(&ctx, goal->str, goal->len, err)) ||
            (s = ev_str_catz(&ctx, "\nAnswer:", err)) ||
            (s = ev_docs_begin(d, ctx.p, ctx.n, lab[0] - '0', -1, err)) ||
            (s = ev_docs_choice(d, NULL, 0, " ", sol1->str, sol1->len, false, err)) ||
            (s = ev_docs_choice(d, NULL, 0, " ", sol2->str, sol2->len, false, err)) ||
            (s = ev_docs_end(d, where, err)))
            break;
        json_free(doc);
        doc = NULL;
    }
    json_free(doc);
    ev_str_free(&ctx);
    free(jbuf);
    free(lbuf);
    return s;
}

const ev_task_def ev_def_piqa = {"piqa", EV_MC, EV_HEAD_ACC_NORM, true, piqa_read, "piqa"};
