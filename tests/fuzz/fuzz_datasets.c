/* tests/fuzz/fuzz_datasets.c - libFuzzer target for the dataset readers (eval/task_*.c): the first
 * byte picks a task, the rest becomes its file(s) in a scratch data folder; the reader must
 * accept it or fail with a one-line message, never crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../eval/task.h"

/* Each task and the file(s) it reads under the data folder; piqa reads a second (labels)
 * file: the input is split at its first NUL byte, the part after it goes there. */
static const struct {
    const ev_task_def *def;
    const char *file, *file2;
} fuzz_ds_tasks[] = {
    {&ev_def_piqa, "piqa/valid.jsonl", "piqa/valid-labels.lst"},
    {&ev_def_arc_easy, "arc_easy/test.json", NULL},
    {&ev_def_arc_challenge, "arc_challenge/test.jsonl", NULL},
    {&ev_def_hellaswag, "hellaswag/hellaswag_val_full.txt", NULL},
    {&ev_def_winogrande, "winogrande/winogrande.jsonl", NULL},
    {&ev_def_boolq, "boolq/boolq.jsonl", NULL},
    {&ev_def_openbookqa, "openbookqa/openbook_qa.jsonl", NULL},
    {&ev_def_copa, "copa/copa.jsonl", NULL},
    {&ev_def_lambada_openai, "lambada_openai/lambada_openai.jsonl", NULL},
    {&ev_def_mmlu, "mmlu/test/abstract_algebra_test.csv", NULL},
    {&ev_def_truthfulqa_mc1, "truthfulqa/v0/mc_task.json", NULL},
    {&ev_def_truthfulqa_mc2, "truthfulqa/v0/mc_task.json", NULL},
    {&ev_def_wikitext2, "corpus/wikitext2/wiki.test.raw", NULL},
    {&ev_def_jsonl, "any.jsonl", NULL},
    {&ev_def_corpus, "any.txt", NULL},
};

static char fuzz_ds_dir[64];

static void fuzz_ds_put(const char *rel, const uint8_t *data, size_t n)
{
    char path[256], sub[256];
    snprintf(path, sizeof path, "%s/%s", fuzz_ds_dir, rel);
    /* make the parent folders */
    for (char *p = strchr(path + strlen(fuzz_ds_dir) + 1, '/'); p; p = strchr(p + 1, '/')) {
        snprintf(sub, sizeof sub, "%.*s", (int)(p - path), path);
        mkdir(sub, 0755);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
        abort();
}

/* Remove the scratch data folder: every file the table names, then the folders, deepest first. */
static void fuzz_ds_cleanup(void)
{
    if (!fuzz_ds_dir[0])
        return;
    char path[256];
    for (size_t i = 0; i < sizeof fuzz_ds_tasks / sizeof fuzz_ds_tasks[0]; i++)
        for (int k = 0; k < 2; k++) {
            const char *rel = k ? fuzz_ds_tasks[i].file2 : fuzz_ds_tasks[i].file;
            if (!rel)
                continue;
            snprintf(path, sizeof path, "%s/%s", fuzz_ds_dir, rel);
            unlink(path);
            size_t root = strlen(fuzz_ds_dir);
            for (char *p = strrchr(path, '/'); p && p > path + root; p = strrchr(path, '/')) {
                *p = 0;
                rmdir(path); /* fails while another file remains: fine, a later one removes it */
            }
        }
    rmdir(fuzz_ds_dir);
}

/* One input: the checks the fuzzer runs (a corpus replay can call it too). */
int fuzz_datasets_one(const uint8_t *data, size_t size)
{
    if (!fuzz_ds_dir[0]) {
        snprintf(fuzz_ds_dir, sizeof fuzz_ds_dir, "/tmp/ablate-fuzz-ds-%d", (int)getpid());
        mkdir(fuzz_ds_dir, 0755);
        atexit(fuzz_ds_cleanup);
    }
    if (size < 1)
        return 0;
    size_t k = data[0] % (sizeof fuzz_ds_tasks / sizeof fuzz_ds_tasks[0]);
    data++;
    size--;
    const uint8_t *nul = memchr(data, 0, size);
    size_t n1 = fuzz_ds_tasks[k].file2 && nul ? (size_t)(nul - data) : size;
    fuzz_ds_put(fuzz_ds_tasks[k].file, data, n1);
    if (fuzz_ds_tasks[k].file2)
        fuzz_ds_put(fuzz_ds_tasks[k].file2, n1 < size ? data + n1 + 1 : data + n1,
                    n1 < size ? size - n1 - 1 : 0);
    char arg[256];
    snprintf(arg, sizeof arg, "%s/%s", fuzz_ds_dir, fuzz_ds_tasks[k].file);
    ev_docs d;
    memset(&d, 0, sizeof d);
    abl_err e = {0};
    abl_status s = fuzz_ds_tasks[k].def->read(&d, fuzz_ds_dir, arg, &e);
    if (s) {
        ABL_ASSERT(e.msg[0] && !strchr(e.msg, '\n'));
    } else {
        for (int i = 0; i < d.n_docs; i++) { /* every span inside the buffer */
            const ev_doc *doc = &d.docs[i];
            ABL_ASSERT(doc->ctx_off + doc->ctx_len <= d.buf.n);
            ABL_ASSERT(doc->choice0 >= 0 && doc->choice0 + doc->n_choices <= d.n_ch);
            ABL_ASSERT(doc->n_choices >= 1 && doc->gold >= 0 && doc->gold < doc->n_choices);
        }
        for (int i = 0; i < d.n_ch; i++) {
            ABL_ASSERT(d.ch[i].ctx_off + d.ch[i].ctx_len <= d.buf.n);
            ABL_ASSERT(d.ch[i].cont_off + d.ch[i].cont_len <= d.buf.n);
        }
    }
    ev_docs_free(&d);
    return 0;
}

#ifndef ABL_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_datasets_one(data, size); }
#endif
