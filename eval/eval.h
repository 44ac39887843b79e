/* eval/eval.h - lm-eval-compatible zero-shot scoring: load a task into tokenized requests, pack
 * them into reusable "prefix + branches" batches, accumulate log-probs, compute metrics. */
#ifndef EVAL_H
#define EVAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../base/abl.h"
#include "../base/list.h"
#include "../engine/model.h"
#include "../engine/tokenizer.h"

/* Conventions (lm-evaluation-harness, zero-shot; details per task in eval/task_<name>.c):
 *  - a request is (context, continuation); trailing whitespace of the context moves to the
 *    continuation; ids = encode(context) + encode(context + continuation)[len(encode(context)):]
 *    (lm-eval's _encode_pair); no BOS unless the tokenizer adds one; an empty context is the
 *    single token <|endoftext|> (lm-eval's classic eot_token_id).
 *  - acc_norm divides by the choice text's length in Unicode characters, without the " "
 *    delimiter (lm-eval's len(choice)); ties go to the first choice (numpy argmax).
 *  - standard errors: sample standard deviation (n - 1) / sqrt(n) over items.
 *  - HellaSwag: the data keeps ctx_b lower-case; the first letter after the last ". " is
 *    upper-cased to approximate lm-eval's ctx_b.capitalize() (see its SOURCE.md).
 *  - TruthfulQA mc2: as lm-eval, the answers before the first false one are the true ones.
 *  - corpora: chunk k = tokens [kC, kC + C] of the whole tokenized file; every token but the
 *    file's first is predicted exactly once, with context from its own chunk only. */

/* How a task is scored.
 *  EV_MC      multiple choice: acc = argmax of summed continuation log-prob, acc_norm = argmax of
 *             log-prob / characters of the choice text (Unicode code points, without the leading
 *             delimiter space: lm-eval's len(choice)).
 *  EV_MC2     TruthfulQA mc2: per item, the probability mass of the true answers normalised over
 *             all answers (exp of the summed log-probs).
 *  EV_GREEDY  one continuation per item (LAMBADA): acc = every continuation token is the row's
 *             argmax; perplexity = exp(-mean over items of the summed log-prob).
 *  EV_CORPUS  next-token prediction on fixed-length chunks of a text: item = chunk; token
 *             accuracy = top-1 hits / scored tokens; perplexity = exp(-sum lp / scored tokens). */
typedef enum { EV_MC = 0, EV_MC2, EV_GREEDY, EV_CORPUS } ev_kind;

/* The metric a task headlines (what the study calls "the accuracy" of the task). */
typedef enum { EV_HEAD_ACC = 0, EV_HEAD_ACC_NORM, EV_HEAD_MC2, EV_HEAD_TOKEN_ACC } ev_head;

/* One document of the dataset (after the --limit sample). */
typedef struct {
    int32_t src;        /* 0-based index of the document in dataset order (before sampling) */
    int32_t n_choices;  /* >= 1 */
    int32_t choice0;    /* index of its first choice in ev_task.choices */
    int32_t gold;       /* gold choice in [0, n_choices); 0 for EV_GREEDY / EV_CORPUS / EV_MC2 */
    int32_t group;      /* index into ev_task.group_names (MMLU subject), -1 when none */
} ev_item;

/* One request: context ids then continuation ids (lm-eval pairing, see eval/requests.c). */
typedef struct {
    int32_t item;       /* owning item */
    int32_t n_ctx;      /* >= 1 context tokens (an empty context is the prefix/EOT token) */
    int32_t n_cont;     /* continuation tokens, the scored ones (>= 0) */
    const int32_t *ids; /* (n_ctx + n_cont) into the task's arena */
    int32_t norm_len;   /* acc_norm divisor: code points of the choice text, >= 1 */
    uint8_t is_true;    /* EV_MC2: true answer; EV_MC: 1 for the gold choice */
} ev_choice;

/* A loaded task. Read-only after ev_task_load; owned by the caller, freed by ev_task_free. */
typedef struct {
    char name[96];          /* "piqa", "mmlu", "jsonl:path", "corpus:path" */
    ev_kind kind;
    ev_head head;
    bool has_norm;          /* lm-eval reports acc_norm for this task */
    int n_src;              /* documents in the dataset file(s) before sampling */
    int n_items;
    ev_item *items;         /* (n_items) in dataset order */
    int n_choices;
    ev_choice *choices;     /* (n_choices) all choices, item by item */
    int n_groups;           /* MMLU: 57 subjects; else 0 */
    const char *const *group_names;   /* (n_groups) */
    const int *group_cat;   /* (n_groups) category index of each group */
    int n_cats;             /* MMLU: 4 (stem, humanities, social_sciences, other); else 0 */
    const char *const *cat_names;
    int64_t n_tok_unshared; /* sum over choices of n_ctx + n_cont */
    int n_files;            /* the files its reader read: paths relative to the data folder */
    char **files;           /* (n_files) (or as given: jsonl:PATH, corpus:PATH) */
    char data_sha256[65];   /* hash of those files' bytes (ev_docs_hash in eval/task.h) */
    void *priv_;            /* arena; do not touch */
} ev_task;

typedef struct {
    const char *data_dir;   /* root with the same layout as ../shared/data; NULL = "data/tasks" */
    int limit;              /* <= 0: every item; else a seeded sample of min(limit, n) items */
    uint64_t seed;          /* sample seed (the same seed and limit give the same items) */
    int corpus_ctx;         /* EV_CORPUS chunk length in predicted tokens; <= 0: 256 */
    bool first;             /* with limit > 0: the first `limit` items instead of a sample */
} ev_load_opts;

ev_load_opts ev_load_opts_default(void);

/* Names of the built-in tasks, in table order (NULL-terminated). `--tasks all` means these. */
const char *const *ev_task_names(void);

/* Parse a --tasks list into names without loading anything, so a typo fails before any work:
 * "all" is every built-in task (ev_task_names order); else a comma list (base/list.h rules) of
 * built-in names, jsonl:PATH and corpus:PATH. what names the flag in messages. Errors (out left
 * empty): those of abl_list_split, and ABL_E_ARG naming the first unknown task and listing the
 * known ones. Free out with abl_list_free. Thread-safe. */
abl_status ev_tasks_parse(const char *list, const char *what, abl_list *out, abl_err *err);

/* Fill err with "unknown task 'name' (known: ...)" and return ABL_E_ARG. Thread-safe. */
abl_status ev_task_unknown(const char *name, abl_err *err);

/* Load task `name` (a built-in name, "jsonl:PATH" for the generic multiple-choice JSONL format
 * {"context": str, "choices": [str...], "label": int}, or "corpus:PATH" for next-token accuracy
 * on any text file), sample --limit items with the seed, and tokenize every request with tok
 * (borrowed: only used during the call). Errors: unknown task (ABL_E_ARG), missing file
 * (ABL_E_IO, hint: run `make data`), malformed line (ABL_E_FORMAT, "file:line: reason"),
 * ABL_E_NOMEM. On failure *out is NULL. Not thread-safe on one tokenizer. */
abl_status ev_task_load(ev_task **out, const char *name, tokenizer *tok, const ev_load_opts *o,
                        abl_err *err);
void ev_task_free(ev_task *t);

/* ---- per-choice results ---------------------------------------------------------------- */

typedef struct {
    int n_choices;
    double *ll;         /* (n_choices) summed log P of the continuation tokens */
    int32_t *n_top1;    /* (n_choices) continuation tokens that were their row's argmax */
    uint8_t *done;      /* (n_choices) 1 once the choice's batch was accumulated */
} ev_results;

/* Allocate zeroed results for t (one slot per choice). ABL_E_NOMEM. Free accepts zeroed/NULL. */
abl_status ev_results_alloc(ev_results *r, const ev_task *t, abl_err *err);
void ev_results_free(ev_results *r);
void ev_results_clear(ev_results *r);

/* ---- packed batches -------------------------------------------------------------------- */

/* One packed batch plus the mapping from its score rows back to choices. The fwd_batch can be
 * run by model_forward any number of times with any run_plan; ev_accumulate reads its
 * score_lp / score_top1 after each run. seq_tag of every sequence is the item index. */
typedef struct {
    fwd_batch fb;
    int n_items;
    int32_t *items;         /* (n_items) item indices in this batch */
    int32_t *score_choice;  /* (fb.n_score) flat choice index of each score row */
    int32_t *score_tok;     /* (fb.n_score) index of the token within the continuation */
    int n_choice;
    int32_t *choice_list;   /* (n_choice) flat choice indices whose tokens are all in this batch */
} ev_batch;

typedef struct {
    int n_batches;
    ev_batch *batches;
    int n_items;
    int64_t n_tok;          /* rows fed to the model over all batches */
} ev_plan;

typedef struct {
    int batch_tokens;       /* token budget per batch (<= 0: 2048); a larger item gets a batch alone */
    bool no_share;          /* every choice its own sequence (baseline and exactness check) */
} ev_plan_opts;

/* Pack items[0..n_items) of t (NULL = all items) into batches: items sorted by length (longest
 * first), each item one sequence whose prefix is the longest common token prefix of its choices
 * (capped so each choice keeps >= 1 fed token of its own or scores from the prefix) and one
 * branch per choice; filled greedily up to the token budget. Each choice's rows all land in one
 * batch. On failure *p is zeroed. ABL_E_NOMEM, ABL_E_ARG (item index out of range). */
abl_status ev_plan_make(ev_plan *p, const ev_task *t, const int32_t *items, int n_items,
                        const ev_plan_opts *o, abl_err *err);
void ev_plan_free(ev_plan *p);  /* accepts a zeroed plan */

/* After model_forward(m, &b->fb, plan, ...): set r's slots for every choice of the batch from
 * b->fb.score_lp / score_top1 (overwrites, so re-running a batch into the same r is idempotent).
 * Thread-safe for distinct batches only when their choices differ (they always do in one plan). */
void ev_accumulate(const ev_task *t, const ev_batch *b, ev_results *r);

/* ---- metrics ---------------------------------------------------------------------------- */

/* Per-item outcome; the study bootstraps over these. */
typedef struct {
    int32_t pred;       /* argmax of ll (EV_MC/EV_MC2); 0 otherwise */
    int32_t pred_norm;  /* argmax of ll / norm_len */
    float correct;      /* EV_MC: pred == gold; EV_MC2: pred is a true answer;
                           EV_GREEDY: exact greedy match; EV_CORPUS: chunk token accuracy */
    float correct_norm; /* EV_MC: pred_norm == gold; else = correct */
    float mc2;          /* EV_MC2: true-answer probability mass; else 0 */
    float value;        /* the headline value of this item (what the task's accuracy averages) */
    double ll;          /* gold (or only) choice's summed log-prob */
    int32_t n_tok;      /* scored tokens of the gold/only choice */
    int32_t n_top1;     /* of which argmax hits */
    float chance;       /* 1/n_choices (EV_MC), n_true/n_choices (EV_MC2), 0 otherwise */
} ev_item_score;

/* Fill out[k] for items[k] (items NULL = all, n = t->n_items). ABL_E_STATE when an item's
 * choices have no results yet (message names the item). */
abl_status ev_item_scores(const ev_task *t, const ev_results *r, const int32_t *items, int n,
                          ev_item_score *out, abl_err *err);

typedef struct {
    char name[32];
    int n_items;
    double acc, acc_se;
} ev_cat_metric;

typedef struct {
    int n_items;
    double acc, acc_se;         /* see ev_kind; se = sample std (n-1) / sqrt(n) over items */
    double acc_norm, acc_norm_se; /* NAN unless has_norm */
    double mc2, mc2_se;         /* NAN unless EV_MC2 */
    double chance;              /* mean over items of ev_item_score.chance */
    const char *head_name;      /* "acc", "acc_norm", "mc2", "token_acc" (static string) */
    double head, head_se;       /* the headline metric and its se */
    double ppl;                 /* EV_GREEDY / EV_CORPUS perplexity; NAN otherwise */
    int64_t n_tok;              /* EV_CORPUS: scored tokens */
    int n_cats;                 /* MMLU per-category accuracy (item means) */
    ev_cat_metric cats[8];
} ev_metrics;

/* Metrics over items[0..n) (NULL = all). EV_CORPUS acc is pooled over tokens and its se comes
 * from the per-chunk accuracies. ABL_E_STATE when results are missing, ABL_E_ARG when n == 0. */
abl_status ev_metrics_compute(const ev_task *t, const ev_results *r, const int32_t *items, int n,
                              ev_metrics *m, abl_err *err);

/* ---- the whole plain evaluation ---------------------------------------------------------- */

typedef struct {
    ev_plan_opts plan;          /* packing options */
    const run_plan *run;        /* passed to model_forward; NULL = plain forward */
    bool progress;              /* progress bar / lines on stderr */
    volatile int *stop;         /* polled between batches; nonzero -> ABL_E_INTERRUPTED */
} ev_run_opts;

/* Plan every item of t, run each batch through m, accumulate into r (allocated by the caller
 * with ev_results_alloc), compute *metrics (may be NULL). *seconds (may be NULL) gets the
 * wall time of the forward passes. Errors from model_forward are passed on. */
abl_status ev_run_task(model *m, const ev_task *t, const ev_run_opts *o, ev_results *r,
                       ev_metrics *metrics, double *seconds, abl_err *err);

/* ---- progress (stderr) ------------------------------------------------------------------- */

/* A progress display: a redrawn bar with items/s, tokens/s and ETA when the stream is a tty,
 * otherwise a plain line at most every 10 s (and at the end). No allocation. */
typedef struct {
    FILE *f;
    char label[64];
    char unit[24];              /* work mode (ev_progress_begin_work): the one measure's name */
    int64_t total_items, total_tok, done_items, done_tok;
    int64_t skip_items, skip_tok;   /* of done: resumed, not computed (kept out of the rates) */
    double t0, t_last;
    bool tty, active;
} ev_progress;

void ev_progress_begin(ev_progress *p, FILE *f, const char *label, int64_t total_items,
                       int64_t total_tok);
/* Work mode: one measure only (named unit, e.g. "token-passes"), total of it for the whole
 * job; lines show done of total, the rate of computed work and one ETA for the whole job.
 * Advance with ev_progress_update / ev_progress_skip (add_items ignored). */
void ev_progress_begin_work(ev_progress *p, FILE *f, const char *label, const char *unit,
                            int64_t total);
/* Name the current phase (shown before the figures). */
void ev_progress_label(ev_progress *p, const char *label);
void ev_progress_update(ev_progress *p, int64_t add_items, int64_t add_tok);
/* Work that was resumed (from a journal) rather than computed: advances the display, not
 * the rates. */
void ev_progress_skip(ev_progress *p, int64_t add_items, int64_t add_tok);
void ev_progress_end(ev_progress *p);   /* final line; the tty bar ends with a newline */

/* A duration for people: "42s", "3m07s", "70h12m"; "?" when negative, NaN or absurd. */
void ev_fmt_duration(char *buf, size_t cap, double seconds);

/* Monotonic wall clock in seconds. */
double ev_now(void);

/* CPU time of this process (user + system, every thread) in seconds; 0 when unknown. */
double ev_cpu_seconds(void);

#endif
