/* eval/task.c - the table of built-in tasks (adding a task = one eval/task_<name>.c file plus
 * one line here) and name lookup, including "jsonl:PATH" and "corpus:PATH". */
#include <stdio.h>
#include <string.h>

#include "task.h"

static const ev_task_def *const ev_table[] = {
    &ev_def_piqa,       &ev_def_arc_easy,       &ev_def_arc_challenge,  &ev_def_hellaswag,
    &ev_def_winogrande, &ev_def_boolq,          &ev_def_openbookqa,     &ev_def_copa,
    &ev_def_lambada_openai, &ev_def_mmlu,       &ev_def_truthfulqa_mc1, &ev_def_truthfulqa_mc2,
    &ev_def_wikitext2,  &ev_def_tinyshakespeare,
};

static const char *const ev_names[] = {
    "piqa",       "arc_easy", "arc_challenge", "hellaswag",      "winogrande",
    "boolq",      "openbookqa", "copa",        "lambada_openai", "mmlu",
    "truthfulqa_mc1", "truthfulqa_mc2", "wikitext2", "tinyshakespeare", NULL,
};

_Static_assert(sizeof ev_table / sizeof *ev_table + 1 == sizeof ev_names / sizeof *ev_names,
               "one name per table entry");

const char *const *ev_task_names(void)
{
    return ev_names;
}

const ev_task_def *ev_task_find(const char *name, const char **arg)
{
    *arg = NULL;
    if (!name)
        return NULL;
    if (!strncmp(name, "jsonl:", 6) && name[6]) {
        *arg = name + 6;
        return &ev_def_jsonl;
    }
    if (!strncmp(name, "corpus:", 7) && name[7]) {
        *arg = name + 7;
        return &ev_def_corpus;
    }
    for (size_t i = 0; i < sizeof ev_table / sizeof *ev_table; i++)
        if (!strcmp(ev_table[i]->name, name))
            return ev_table[i];
    return NULL;
}

abl_status ev_task_unknown(const char *name, abl_err *err)
{
    char list[512] = "";
    for (const char *const *n = ev_names; *n; n++) {
        strncat(list, *n, sizeof list - strlen(list) - 1);
        strncat(list, " ", sizeof list - strlen(list) - 1);
    }
    return abl_fail(err, ABL_E_ARG, "unknown task '%s' (known: %sjsonl:PATH corpus:PATH; "
                    "see `ablate eval --help`)", name ? name : "", list);
}

abl_status ev_tasks_parse(const char *list, const char *what, abl_list *out, abl_err *err)
{
    out->n = 0;
    out->v = NULL;
    if (list && !strcmp(list, "all")) {
        for (const char *const *n = ev_names; *n; n++) {
            abl_status s = abl_list_add(out, *n, err);
            if (s) {
                abl_list_free(out);
                return s;
            }
        }
        return ABL_OK;
    }
    abl_status s = abl_list_split(list, what, out, err);
    for (int i = 0; i < out->n && !s; i++) {
        const char *arg;
        if (!ev_task_find(out->v[i], &arg))
            s = ev_task_unknown(out->v[i], err);
    }
    if (s)
        abl_list_free(out);
    return s;
}
