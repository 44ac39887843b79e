/* eval/task.h - what one benchmark file (eval/task_<name>.c) provides: a reader that turns the
 * dataset into documents of (context, choices) strings, plus the table entry naming its metric. */
#ifndef TASK_H
#define TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/abl.h"
#include "../loader/json.h"
#include "eval.h"

/* ---- a growable byte string (load time only) ---------------------------------------------- */

typedef struct {
    char *p;        /* NUL-terminated when non-NULL */
    size_t n, cap;
} ev_str;

/* Append s[0..n) / a NUL-terminated s. ABL_E_NOMEM. */
abl_status ev_str_cat(ev_str *s, const char *p, size_t n, abl_err *err);
abl_status ev_str_catz(ev_str *s, const char *p, abl_err *err);
void ev_str_clear(ev_str *s);   /* keep capacity */
void ev_str_free(ev_str *s);

/* Number of Unicode code points in UTF-8 text p[0..n) (what lm-eval's Python len() counts):
 * the bytes that are not continuation bytes (10xxxxxx). */
int ev_utf8_len(const char *p, size_t n);

/* ---- documents: the strings of every (context, choice) before tokenization ---------------- */

typedef struct {
    size_t ctx_off, ctx_len;    /* into ev_docs.buf */
    int32_t gold, group;
    int32_t choice0, n_choices;
} ev_doc;

typedef struct {
    size_t ctx_off, ctx_len;    /* context of this choice (the doc's, or its own: WinoGrande) */
    size_t cont_off, cont_len;  /* continuation = delimiter + choice text */
    int32_t norm_len;           /* code points of the choice text without the delimiter */
    uint8_t is_true;
} ev_doc_choice;

typedef struct {
    ev_str buf;                 /* every string, back to back */
    ev_doc *docs;
    int n_docs, cap_docs;
    ev_doc_choice *ch;
    int n_ch, cap_ch;
    /* groups (MMLU subjects), static strings owned by the task file */
    int n_groups;
    const char *const *group_names;
    const int *group_cat;
    int n_cats;
    const char *const *cat_names;
    /* EV_CORPUS only: the whole text (its own buffer, not split into docs) */
    ev_str corpus;
    /* every file the reader read (ev_read_file): path relative to data_dir (or as given) and
     * the sha256 of its bytes */
    int n_files, cap_files;
    char **file_rel;
    char (*file_hex)[65];
} ev_docs;

void ev_docs_free(ev_docs *d);

/* Start a document with context ctx[0..n), gold choice index and group (-1 = none). */
abl_status ev_docs_begin(ev_docs *d, const char *ctx, size_t n, int gold, int group, abl_err *err);

/* Add a choice to the current document: continuation = delim + text; norm_len counts text only.
 * ctx == NULL uses the document's context; otherwise this choice has its own context. */
abl_status ev_docs_choice(ev_docs *d, const char *ctx, size_t ctx_len, const char *delim,
                          const char *text, size_t text_len, bool is_true, abl_err *err);

/* Check the current document before starting the next: >= 1 choice, gold in range.
 * where = "file:line" for the message. */
abl_status ev_docs_end(ev_docs *d, const char *where, abl_err *err);

/* ---- file helpers for readers ------------------------------------------------------------- */

/* Read dir/rel entirely into a malloc'ed NUL-terminated buffer (*buf, *len) and record it in
 * d's file list with the sha256 of its bytes (the task's data hash). path (cap bytes) receives
 * "dir/rel" for messages. A missing file gives ABL_E_IO with the hint to run `make data` (or
 * to pass --data-dir); ABL_E_NOMEM. Every reader reads its files through this. */
abl_status ev_read_file(ev_docs *d, const char *dir, const char *rel, char **buf, size_t *len,
                        char *path, size_t cap, abl_err *err);

/* The data hash of the files d read (hex): one file given by path (jsonl:, corpus:) hashes
 * as that file's sha256; else sha256 over "RELPATH\0" + hex of each file, RELPATH relative to
 * folder (the task's folder under data_dir), files in path order compared folder by folder,
 * which equals the hash of the folder's tree when the task reads every file in it. */
abl_status ev_docs_hash(const ev_docs *d, const char *folder, char hex[65], abl_err *err);

/* Line cursor over a buffer: next line (without '\n' and a trailing '\r'), 1-based number. */
typedef struct {
    const char *p, *end;
    int lineno;
} ev_lines;

void ev_lines_init(ev_lines *it, const char *buf, size_t len);
bool ev_lines_next(ev_lines *it, const char **line, size_t *len);

/* Parse one JSON line; errors read "path:lineno: <parser message>". */
abl_status ev_json_line(json_doc **out, const char *line, size_t len, const char *path, int lineno,
                        abl_err *err);

/* Required string member; error "where: expected string field \"key\"". */
abl_status ev_json_str(const json_val *obj, const char *key, const json_val **out, const char *where,
                       abl_err *err);

/* Required integer member; error "where: expected integer field \"key\"". */
abl_status ev_json_int(const json_val *obj, const char *key, int64_t *out, const char *where,
                       abl_err *err);

/* Required non-empty array of strings; error "where: expected ... field \"key\"". */
abl_status ev_json_strs(const json_val *obj, const char *key, const json_val **out, const char *where,
                        abl_err *err);

/* Call fn(d, root, where, user, err) for every line of the JSON-lines file dir/rel (where =
 * "path:line"); blank lines are skipped; stops at the first error. */
typedef abl_status (*ev_jsonl_fn)(ev_docs *d, const json_val *root, const char *where, void *user,
                                  abl_err *err);
abl_status ev_each_jsonl(ev_docs *d, const char *dir, const char *rel, ev_jsonl_fn fn, void *user,
                         abl_err *err);

/* Call fn(d, element, where, user, err) for every element of the JSON file dir/rel, which must
 * hold one array (where = "path: element i"); stops at the first error. */
abl_status ev_each_json_array(ev_docs *d, const char *dir, const char *rel, ev_jsonl_fn fn,
                              void *user, abl_err *err);

/* The llm-foundry item form {"query": str, "choices": [str...], "gold": int}: the three
 * required members (borrowed from obj), or ABL_E_FORMAT naming where and the field. */
abl_status ev_json_foundry(const json_val *obj, const json_val **query, const json_val **choices,
                           int64_t *gold, const char *where, abl_err *err);

/* Add every string of the array choices as the continuation " " + text (norm over the text),
 * then ev_docs_end the document. */
abl_status ev_docs_choices_end(ev_docs *d, const json_val *choices, const char *where, abl_err *err);

/* ---- the task table -------------------------------------------------------------------- */

typedef struct {
    const char *name;
    ev_kind kind;
    ev_head head;
    bool has_norm;
    /* Read the dataset under data_dir into d (arg: "jsonl:"/"corpus:" path, else NULL). */
    abl_status (*read)(ev_docs *d, const char *data_dir, const char *arg, abl_err *err);
    const char *folder;         /* its folder under data_dir (NULL: reads the arg path) */
} ev_task_def;

/* The built-in tasks, one per eval/task_<name>.c. */
extern const ev_task_def ev_def_piqa, ev_def_arc_easy, ev_def_arc_challenge, ev_def_hellaswag,
    ev_def_winogrande, ev_def_boolq, ev_def_openbookqa, ev_def_copa, ev_def_lambada_openai,
    ev_def_mmlu, ev_def_truthfulqa_mc1, ev_def_truthfulqa_mc2, ev_def_wikitext2,
    ev_def_tinyshakespeare, ev_def_jsonl, ev_def_corpus;

/* Look a task definition up: a built-in name, "jsonl:PATH" or "corpus:PATH" (*arg = PATH).
 * NULL when unknown. */
const ev_task_def *ev_task_find(const char *name, const char **arg);

/* ---- requests (eval/requests.c) -------------------------------------------------------- */

/* Choose the documents of a --limit sample: min(limit, n) distinct indices in increasing
 * order, the same for the same (n, limit, seed). limit <= 0 or >= n: all. *out malloc'ed. */
abl_status ev_sample(int n, int limit, uint64_t seed, int32_t **out, int *n_out, abl_err *err);

/* lm-eval pairing of one request: trailing whitespace of ctx moves to the front of cont; then
 * ctx_ids = encode(ctx), whole = encode(ctx + cont), cont_ids = whole[len(ctx_ids):]. An empty
 * context becomes [prefix_id] and cont_ids = encode(cont). Appends ctx ids then cont ids to
 * out and sets *n_ctx / *n_cont. BOS is prepended to the context when tok_adds_bos(tok). */
abl_status ev_pair(tokenizer *tok, const char *ctx, size_t ctx_len, const char *cont,
                   size_t cont_len, tok_ids *out, int *n_ctx, int *n_cont, abl_err *err);

/* The token used as context for an empty context: <|endoftext|> (lm-eval's classic
 * eot_token_id; recent lm-eval versions prefer the tokenizer's BOS), else BOS, else EOS, else 0. */
int32_t ev_prefix_id(const tokenizer *tok);

#endif
