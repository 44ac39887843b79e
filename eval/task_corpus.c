/* eval/task_corpus.c - next-token accuracy and perplexity on plain text: wikitext2
 * (corpus/wikitext2/wiki.test.raw), tinyshakespeare (corpus/tinyshakespeare/input.txt), any file. */
#include <stdlib.h>

#include "task.h"

static abl_status corpus_file(ev_docs *d, const char *dir, const char *rel, abl_err *err)
{
    char path[512];
    char *buf = NULL;
    size_t len = 0;
    abl_status s = ev_read_file(d, dir, rel, &buf, &len, path, sizeof path, err);
    if (!s && len == 0)
        s = abl_fail(err, ABL_E_FORMAT, "%s: expected some text, found an empty file", path);
    if (!s) {
        ev_str_free(&d->corpus);
        d->corpus.p = buf; /* take the buffer over */
        d->corpus.n = len;
        d->corpus.cap = len + 1;
        return ABL_OK;
    }
    free(buf);
    return s;
}

static abl_status wikitext2_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)arg;
    return corpus_file(d, dir, "corpus/wikitext2/wiki.test.raw", err);
}

static abl_status shakespeare_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)arg;
    return corpus_file(d, dir, "corpus/tinyshakespeare/input.txt", err);
}

/* corpus:PATH reads PATH itself (data_dir ignored). */
static abl_status anyfile_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)dir;
    return corpus_file(d, NULL, arg, err);
}

const ev_task_def ev_def_wikitext2 = {"wikitext2", EV_CORPUS, EV_HEAD_TOKEN_ACC, false, wikitext2_read, "corpus/wikitext2"};
const ev_task_def ev_def_tinyshakespeare = {"tinyshakespeare", EV_CORPUS, EV_HEAD_TOKEN_ACC, false,
                                            shakespeare_read, "corpus/tinyshakespeare"};
const ev_task_def ev_def_corpus = {"corpus", EV_CORPUS, EV_HEAD_TOKEN_ACC, false, anyfile_read, NULL};
