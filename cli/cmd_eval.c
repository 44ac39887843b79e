/* cli/cmd_eval.c - `ablate eval`: zero-shot benchmark accuracy (lm-eval conventions) for a list
 * of tasks, or perplexity and next-token accuracy over a text file; a table and optional JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/file.h"
#include "../engine/model.h"
#include "../eval/eval.h"
#include "cli.h"

static const char usage_text[] =
    "usage: ablate eval --tasks LIST [options]\n"
    "       ablate eval --corpus FILE [--ctx N] [options]\n\n"
    "Zero-shot log-likelihood scoring, the way lm-evaluation-harness does it: acc (argmax of the\n"
    "summed continuation log-prob) and acc_norm (log-prob / characters of the choice text), with\n"
    "standard errors (sample std / sqrt(n)) and chance (mean of 1/choices). Every choice of an\n"
    "item is scored in one packed sequence: the context once, each choice a branch.\n\n"
    "options:\n"
    "  --tasks LIST        comma-separated tasks, or `all`. Built in: piqa arc_easy arc_challenge\n"
    "                      hellaswag winogrande boolq openbookqa copa lambada_openai mmlu\n"
    "                      truthfulqa_mc1 truthfulqa_mc2 wikitext2 tinyshakespeare; also\n"
    "                      jsonl:PATH ({\"context\", \"choices\": [...], \"label\"} per line)\n"
    "                      and corpus:PATH (next-token accuracy on any text file)\n"
    "  --corpus FILE       perplexity and next-token accuracy over FILE in chunks (= corpus:FILE)\n"
    "  --ctx N             chunk length in predicted tokens for corpora (default 256)\n"
    "  --limit N           a seeded random sample of N items per task (default: all)\n"
    "  --seed S            sample seed (default 1234)\n"
    "  --json FILE         write every number (and per-item results) as JSON\n"
    "  --model DIR         model folder (default " DEFAULT_MODEL_DIR ")\n"
    "  --threads N         worker threads (default: all cores)\n"
    "  --device D          cpu | cuda (default: cpu; ABLATE_CUDA_TF32=1 uses TF32 matmuls)\n"
    "  --data-dir DIR      benchmark folders (default data/tasks, made by `make data`)\n"
    "  --batch-tokens N    token budget of one packed batch (default 2048)\n"
    "  --no-share          score every choice as its own sequence (slower; for checks)\n"
    "  --quiet             no progress display on stderr\n\n"
    "headline metric per task: acc_norm for arc_easy, arc_challenge, hellaswag, openbookqa, piqa;\n"
    "mc2 for truthfulqa_mc2; token accuracy for corpora; acc otherwise.\n";

typedef struct {
    ev_task *task;
    ev_results res;
    ev_metrics m;
    double seconds;
    double load_s;
} task_run;

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* A number, or null when it is not finite (JSON has no NaN). */
static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.10g", v);
    else
        fputs("null", f);
}

static int write_json(const char *path, const char *model_dir, long limit, long seed, task_run *runs, int n)
{
    abl_afile af;
    abl_err err = {0};
    if (abl_afile_open(&af, NULL, path, &err))
        return cli_report("eval", &err);
    FILE *f = af.f;
    fputs("{\n  \"model\": ", f);
    json_str(f, model_dir);
    fprintf(f, ",\n  \"limit\": %ld,\n  \"seed\": %ld,\n  \"tasks\": {", limit, seed);
    for (int i = 0; i < n; i++) {
        const task_run *r = &runs[i];
        const ev_task *t = r->task;
        const ev_metrics *m = &r->m;
        fprintf(f, "%s\n    ", i ? "," : "");
        json_str(f, t->name);
        fprintf(f, ": {\n      \"items\": %d, \"documents\": %d,", m->n_items, t->n_src);
        fputs("\n      \"acc\": ", f), json_num(f, m->acc);
        fputs(", \"acc_se\": ", f), json_num(f, m->acc_se);
        fputs(", \"acc_norm\": ", f), json_num(f, m->acc_norm);
        fputs(", \"acc_norm_se\": ", f), json_num(f, m->acc_norm_se);
        fputs(",\n      \"mc2\": ", f), json_num(f, m->mc2);
        fputs(", \"mc2_se\": ", f), json_num(f, m->mc2_se);
        fputs(", \"chance\": ", f), json_num(f, m->chance);
        fputs(", \"ppl\": ", f), json_num(f, m->ppl);
        fprintf(f, ", \"scored_tokens\": %lld,\n      \"headline\": \"%s\", \"headline_value\": ",
                (long long)m->n_tok, m->head_name);
        json_num(f, m->head);
        fputs(", \"headline_se\": ", f), json_num(f, m->head_se);
        fprintf(f, ", \"seconds\": %.3f,", r->seconds);
        if (m->n_cats) {
            fputs("\n      \"categories\": {", f);
            for (int c = 0; c < m->n_cats; c++) {
                fprintf(f, "%s\"%s\": {\"items\": %d, \"acc\": ", c ? ", " : "", m->cats[c].name, m->cats[c].n_items);
                json_num(f, m->cats[c].acc);
                fputs(", \"acc_se\": ", f), json_num(f, m->cats[c].acc_se);
                fputs("}", f);
            }
            fputs("},", f);
        }
        /* per item: document index, gold, correct, correct_norm, per-choice log-likelihoods */
        fputs("\n      \"per_item\": [", f);
        for (int k = 0; k < t->n_items; k++) {
            const ev_item *it = &t->items[k];
            ev_item_score sc;
            abl_err e = {0};
            int32_t idx = k;
            if (ev_item_scores(t, &r->res, &idx, 1, &sc, &e))
                break;
            fprintf(f, "%s\n        {\"doc\": %d, \"gold\": %d, \"correct\": %g, \"correct_norm\": %g, \"ll\": [",
                    k ? "," : "", (int)it->src, (int)it->gold, sc.correct, sc.correct_norm);
            for (int c = 0; c < it->n_choices; c++) {
                fputs(c ? ", " : "", f);
                json_num(f, r->res.ll[it->choice0 + c]);
            }
            fprintf(f, "], \"n_tok\": %d, \"n_top1\": %d}", (int)sc.n_tok, (int)sc.n_top1);
        }
        fputs("\n      ]\n    }", f);
    }
    fputs("\n  }\n}\n", f);
    if (abl_afile_commit(&af, &err))
        return cli_report("eval", &err);
    return 0;
}

static void pct(char *buf, size_t cap, double v, double se)
{
    if (!isfinite(v))
        snprintf(buf, cap, "-");
    else if (isfinite(se))
        snprintf(buf, cap, "%6.2f \xc2\xb1 %.2f", 100 * v, 100 * se);
    else
        snprintf(buf, cap, "%6.2f", 100 * v);
}

static void print_row(const task_run *r)
{
    const ev_metrics *m = &r->m;
    char acc[48], norm[48], head[48], ppl[32];
    pct(acc, sizeof acc, m->acc, m->acc_se);
    pct(norm, sizeof norm, m->acc_norm, m->acc_norm_se);
    snprintf(head, sizeof head, "%s %.2f", m->head_name, 100 * m->head);
    if (isfinite(m->ppl))
        snprintf(ppl, sizeof ppl, "%.3f", m->ppl);
    else
        snprintf(ppl, sizeof ppl, "-");
    /* the \xc2\xb1 sign is 2 bytes for 1 column: widen those fields by one */
    printf("%-16s %6d  %-*s  %-*s  %6.2f  %-18s %9s %8.1f\n", r->task->name, m->n_items,
           (int)(17 + (strstr(acc, "\xc2\xb1") != NULL)), acc, (int)(17 + (strstr(norm, "\xc2\xb1") != NULL)), norm,
           100 * m->chance, head, ppl, r->seconds);
    for (int c = 0; c < m->n_cats; c++) {
        pct(acc, sizeof acc, m->cats[c].acc, m->cats[c].acc_se);
        printf(" %-15s %6d  %-*s\n", m->cats[c].name, m->cats[c].n_items,
               (int)(17 + (strstr(acc, "\xc2\xb1") != NULL)), acc);
    }
}

int cli_eval(int argc, char **argv)
{
    const char *tasks = NULL, *corpus = NULL, *json = NULL, *model_dir = DEFAULT_MODEL_DIR;
    const char *data_dir = "data/tasks";
    long limit = 0, seed = 1234, threads = 0, ctx = 256, batch_tokens = 2048;
    int device = 0;
    bool no_share = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(a, "--no-share")) {
            no_share = true;
        } else if (!strcmp(a, "--quiet")) {
            quiet = true;
        } else if (cli_flag("eval", argc, argv, &i, "--tasks", &v)) {
            if (!(tasks = v))
                return 2;
        } else if (cli_flag("eval", argc, argv, &i, "--corpus", &v)) {
            if (!(corpus = v))
                return 2;
        } else if (cli_flag("eval", argc, argv, &i, "--json", &v)) {
            if (!(json = v))
                return 2;
        } else if (cli_flag("eval", argc, argv, &i, "--model", &v)) {
            if (!(model_dir = v))
                return 2;
        } else if (cli_flag("eval", argc, argv, &i, "--data-dir", &v)) {
            if (!(data_dir = v))
                return 2;
        } else if (cli_flag("eval", argc, argv, &i, "--limit", &v)) {
            if (!v || !cli_int("eval", "--limit", v, 0, 100000000, &limit))
                return 2;
        } else if (cli_flag("eval", argc, argv, &i, "--seed", &v)) {
            if (!v || !cli_int("eval", "--seed", v, 0, 2147483647L, &seed))
                return 2;
        } else if (cli_flag("eval", argc, argv, &i, "--threads", &v)) {
            if (!v || !cli_int("eval", "--threads", v, 1, 1024, &threads))
                return 2;
        } else if (cli_flag("eval", argc, argv, &i, "--device", &v)) {
            if (!v || (device = cli_device("eval", v)) < 0)
                return 2;
        } else if (cli_flag("eval", argc, argv, &i, "--ctx", &v)) {
            if (!v || !cli_int("eval", "--ctx", v, 1, 1 << 20, &ctx))
                return 2;
        } else if (cli_flag("eval", argc, argv, &i, "--batch-tokens", &v)) {
            if (!v || !cli_int("eval", "--batch-tokens", v, 16, 1 << 22, &batch_tokens))
                return 2;
        } else {
            cli_error("eval", "unknown option '%s' (see --help)", a);
            return 2;
        }
    }
    if (!tasks && !corpus) {
        cli_error("eval", "say what to evaluate: --tasks LIST (or all) or --corpus FILE (see --help)");
        return 2;
    }
    abl_list names = {0, NULL};
    abl_err err = {0};
    if (tasks && ev_tasks_parse(tasks, "--tasks", &names, &err))
        return cli_report("eval", &err);
    if (corpus) {
        size_t len = strlen(corpus) + 8;
        char *s = malloc(len);
        if (s)
            snprintf(s, len, "corpus:%s", corpus);
        if (!s || abl_list_add(&names, s, &err)) {
            free(s);
            abl_list_free(&names);
            cli_error("eval", "out of memory");
            return 1;
        }
        free(s);
    }
    int n_names = names.n;

    model *m = NULL;
    model_opts mo = model_opts_default();
    mo.threads = (int)threads;
    mo.device = device;
    task_run *runs = calloc((size_t)n_names, sizeof *runs);
    int rc = 0, n_done = 0;
    if (!runs) {
        cli_error("eval", "out of memory");
        rc = 1;
    } else if (kern_init(NULL, &err) || model_load(&m, model_dir, &mo, &err)) {
        rc = cli_report("eval", &err);
    }
    const hf_config *cfg = m ? model_config(m) : NULL;
    if (!rc && cfg && cfg->max_pos > 0 && ctx + 1 > cfg->max_pos && corpus) {
        cli_error("eval", "--ctx %ld: chunks of %ld tokens exceed the model's %d positions", ctx, ctx + 1,
                  cfg->max_pos);
        rc = 2;
    }
    if (!rc)
        printf("%-16s %6s  %-17s  %-17s  %6s  %-18s %9s %8s\n", "task", "items", "acc", "acc_norm", "chance",
               "headline", "ppl", "seconds");
    fflush(stdout);
    for (int i = 0; !rc && i < n_names; i++) {
        task_run *r = &runs[i];
        ev_load_opts lo = ev_load_opts_default();
        lo.data_dir = data_dir;
        lo.limit = (int)limit;
        lo.seed = (uint64_t)seed;
        lo.corpus_ctx = (int)ctx;
        double t0 = ev_now();
        if (ev_task_load(&r->task, names.v[i], model_tok(m), &lo, &err) ||
            ev_results_alloc(&r->res, r->task, &err)) {
            rc = cli_report("eval", &err);
            break;
        }
        r->load_s = ev_now() - t0;
        ev_run_opts ro = {{(int)batch_tokens, no_share}, NULL, !quiet, &cli_interrupted};
        if (ev_run_task(m, r->task, &ro, &r->res, &r->m, &r->seconds, &err)) {
            rc = cli_report("eval", &err);
            break;
        }
        n_done++;
        print_row(r);
        fflush(stdout);
    }
    if (json && n_done && !rc)
        rc = write_json(json, model_dir, limit, seed, runs, n_done);
    for (int i = 0; i < n_names; i++) {
        if (runs) {
            ev_results_free(&runs[i].res);
            ev_task_free(runs[i].task);
        }
    }
    abl_list_free(&names);
    free(runs);
    model_free(m);
    return rc;
}
