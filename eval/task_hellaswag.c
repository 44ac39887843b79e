/* eval/task_hellaswag.c - HellaSwag validation, llama.cpp text export (hellaswag/
 * hellaswag_val_full.txt: 6 lines per item). Continuations " <ending>"; headline acc_norm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

/* The file keeps HF's ctx = ctx_a + " " + ctx_b with ctx_b not capitalised; lm-eval uses
 * ctx_b.capitalize(). Approximation (SOURCE.md): upper-case the first letter after the last
 * ". " when it is an ASCII lower-case letter. Exposed for the tests. */
void ev_hellaswag_fix_ctx(char *p, size_t n);

void ev_hellaswag_fix_ctx(char *p, size_t n)
{
    for (size_t i = n; i >= 2; i--)
        if (p[i - 2] == '.' && p[i - 1] == ' ') {
            if (i < n && p[i] >= 'a' && p[i] <= 'z')
                p[i] = (char)(p[i] - 'a' + 'A');
            return;
        }
}

static abl_status hs_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)arg;
    char path[512];
    char *buf = NULL;
    size_t len = 0;
    ev_str ctx = {0};
    abl_status s = ev_read_file(d, dir, "hellaswag/hellaswag_val_full.txt", &buf, &len, path, sizeof path, err);
    ev_lines it;
    ev_lines_init(&it, buf, len);
    const char *line;
    size_t n;
    while (!s && ev_lines_next(&it, &line, &n)) {
        int first = it.lineno;
        char where[600];
        snprintf(where, sizeof where, "%s:%d", path, first);
        if (n == 0) {
            s = abl_fail(err, ABL_E_FORMAT, "%s: expected a context line, found an empty line", where);
            break;
        }
        ev_str_clear(&ctx);
        if ((s = ev_str_cat(&ctx, line, n, err)))
            break;
        ev_hellaswag_fix_ctx(ctx.p, ctx.n);
        const char *lab;
        size_t nl;
        bool got = ev_lines_next(&it, &lab, &nl);
        if (!got || nl != 1 || lab[0] < '0' || lab[0] > '3') {
            s = abl_fail(err, ABL_E_FORMAT, "%s:%d: expected a label 0..3 (6 lines per item), found %s", path,
                         it.lineno, got ? "another line" : "end of file");
            break;
        }
        if ((s = ev_docs_begin(d, ctx.p, ctx.n, lab[0] - '0', -1, err)))
            break;
        for (int k = 0; k < 4 && !s; k++) {
            bool got_e = ev_lines_next(&it, &line, &n);
            if (!got_e || n == 0)
                s = abl_fail(err, ABL_E_FORMAT, "%s:%d: expected ending %d of the item at line %d, found %s", path,
                             it.lineno, k, first, got_e ? "an empty line" : "end of file");
            else
                s = ev_docs_choice(d, NULL, 0, " ", line, n, false, err);
        }
        if (!s)
            s = ev_docs_end(d, where, err);
    }
    ev_str_free(&ctx);
    free(buf);
    return s;
}

const ev_task_def ev_def_hellaswag = {"hellaswag", EV_MC, EV_HEAD_ACC_NORM, true, hs_read, "hellaswag"};
