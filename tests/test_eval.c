/* tests/test_eval.c - eval without a model: dataset readers on fixture lines (and malformed ones),
 * the seeded sample, metric arithmetic (acc, acc_norm, se, chance, mc2) and batch planning. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/sha256.h"
#include "../eval/eval.h"
#include "../eval/task.h"
#include "t.h"

void ev_hellaswag_fix_ctx(char *p, size_t n);

/* Write text to dir/rel, creating the sub-folders. */
static void put(tctx *t, const char *dir, const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *p = path + strlen(dir) + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(path, 0755);
            *p = '/';
        }
    FILE *f = fopen(path, "wb");
    if (!f) {
        t_fail(t, "cannot write %s", path);
        return;
    }
    fputs(text, f);
    fclose(f);
}

static const char *ctx_of(const ev_docs *d, int doc)
{
    static char buf[4096];
    const ev_doc *x = &d->docs[doc];
    snprintf(buf, sizeof buf, "%.*s", (int)x->ctx_len, d->buf.p + x->ctx_off);
    return buf;
}

static const char *cont_of(const ev_docs *d, int doc, int k)
{
    static char buf[4096];
    const ev_doc_choice *c = &d->ch[d->docs[doc].choice0 + k];
    snprintf(buf, sizeof buf, "%.*s", (int)c->cont_len, d->buf.p + c->cont_off);
    return buf;
}

static const char *cctx_of(const ev_docs *d, int doc, int k)
{
    static char buf[4096];
    const ev_doc_choice *c = &d->ch[d->docs[doc].choice0 + k];
    snprintf(buf, sizeof buf, "%.*s", (int)c->ctx_len, d->buf.p + c->ctx_off);
    return buf;
}

static abl_status read_task(const char *name, const char *dir, ev_docs *d, abl_err *e)
{
    const char *arg;
    const ev_task_def *td = ev_task_find(name, &arg);
    memset(d, 0, sizeof *d);
    if (!td)
        return abl_fail(e, ABL_E_ARG, "no task %s", name);
    return td->read(d, dir, arg, e);
}

void test_eval_piqa_reader(tctx *t)
{
    const char *dir = t_tmpdir(t);
    put(t, dir, "piqa/valid.jsonl",
        "{\"goal\": \"Open a jar\", \"sol1\": \"Twist the lid.\", \"sol2\": \"Hit it, caf\xc3\xa9.\"}\n"
        "{\"goal\": \"g2\", \"sol1\": \"a\", \"sol2\": \"b\"}\n");
    put(t, dir, "piqa/valid-labels.lst", "1\n0\n");
    ev_docs d;
    abl_err e = {0};
    abl_status s = read_task("piqa", dir, &d, &e);
    T_CHECK(t, s == ABL_OK);
    if (s) {
        t_fail(t, "%s", e.msg);
        return;
    }
    T_CHECK(t, d.n_docs == 2);
    T_CHECK(t, !strcmp(ctx_of(&d, 0), "Question: Open a jar\nAnswer:"));
    T_CHECK(t, !strcmp(cont_of(&d, 0, 0), " Twist the lid."));
    T_CHECK(t, !strcmp(cont_of(&d, 0, 1), " Hit it, caf\xc3\xa9."));
    T_CHECK(t, d.docs[0].gold == 1 && d.docs[1].gold == 0);
    /* acc_norm divisor: characters (code points) of the choice, without the leading space */
    T_CHECK(t, d.ch[0].norm_len == 14);
    T_CHECK(t, d.ch[1].norm_len == 13); /* "Hit it, caf\xc3\xa9.": 14 bytes, 13 characters */
    ev_docs_free(&d);
}

void test_eval_malformed_line_names_file_and_line(tctx *t)
{
    const char *dir = t_tmpdir(t);
    put(t, dir, "piqa/valid.jsonl",
        "{\"goal\": \"a\", \"sol1\": \"b\", \"sol2\": \"c\"}\n"
        "{\"goal\": \"a\", \"sol1\": \"b\", \"sol2\": \"c\"}\n"
        "{\"goal\": \"a\", \"sol1\": 3, \"sol2\": \"c\"}\n");
    put(t, dir, "piqa/valid-labels.lst", "1\n0\n1\n");
    ev_docs d;
    abl_err e = {0};
    abl_status s = read_task("piqa", dir, &d, &e);
    T_CHECK(t, s == ABL_E_FORMAT);
    T_CHECK(t, strstr(e.msg, "piqa/valid.jsonl:3:") != NULL);
    T_CHECK(t, strstr(e.msg, "sol1") != NULL);
    ev_docs_free(&d);

    put(t, dir, "boolq/boolq.jsonl", "{\"query\": \"Passage: p\\nQuestion: q?\", \"choices\": [\"no\", \"yes\"], \"gold\": 1}\n{broken\n");
    s = read_task("boolq", dir, &d, &e);
    T_CHECK(t, s == ABL_E_FORMAT && strstr(e.msg, "boolq/boolq.jsonl:2:") != NULL);
    ev_docs_free(&d);

    put(t, dir, "copa/copa.jsonl", "{\"query\": \"x, because\", \"choices\": [\"a\", \"b\"], \"gold\": 2}\n");
    s = read_task("copa", dir, &d, &e);
    T_CHECK(t, s == ABL_E_FORMAT && strstr(e.msg, "copa/copa.jsonl:1:") != NULL);
    t_note(t, "message: %s", e.msg);
    ev_docs_free(&d);
}

void test_eval_missing_dataset_says_make_data(tctx *t)
{
    ev_docs d;
    abl_err e = {0};
    abl_status s = read_task("arc_easy", t_tmpdir(t), &d, &e);
    T_CHECK(t, s == ABL_E_IO);
    T_CHECK(t, strstr(e.msg, "make data") != NULL);
    T_CHECK(t, strstr(e.msg, "arc_easy/test.json") != NULL);
    ev_docs_free(&d);
    ev_task *task = NULL;
    s = ev_task_load(&task, "no_such_task", NULL, NULL, &e);
    T_CHECK(t, s == ABL_E_ARG && task == NULL && strstr(e.msg, "piqa") != NULL);
}

void test_eval_arc_readers(tctx *t)
{
    const char *dir = t_tmpdir(t);
    put(t, dir, "arc_easy/test.json",
        "[\n {\"id\": \"x\", \"question\": \"Q1?\", \"choices\": {\"text\": [\"a\", \"b\", \"c\"], \"label\": [\"1\", \"2\", \"3\"]},"
        " \"answerKey\": \"3\"},\n {\"id\": \"y\", \"question\": \"Q2\", \"choices\": {\"text\": [\"d\", \"e\"],"
        " \"label\": [\"A\", \"B\"]}, \"answerKey\": \"A\"}\n]\n");
    put(t, dir, "arc_challenge/test.jsonl",
        "{\"id\": \"x\", \"question\": \"Q\", \"choices\": {\"text\": [\"a\", \"b\"], \"label\": [\"A\", \"B\"]}, \"answerKey\": \"B\"}\n"
        "{\"id\": \"x\", \"question\": \"Q\", \"choices\": {\"text\": [\"a\", \"b\"], \"label\": [\"A\", \"B\"]}, \"answerKey\": \"E\"}\n");
    ev_docs d;
    abl_err e = {0};
    T_CHECK(t, read_task("arc_easy", dir, &d, &e) == ABL_OK);
    T_CHECK(t, d.n_docs == 2 && d.docs[0].gold == 2 && d.docs[0].n_choices == 3 && d.docs[1].gold == 0);
    T_CHECK(t, !strcmp(ctx_of(&d, 0), "Question: Q1?\nAnswer:") && !strcmp(cont_of(&d, 1, 1), " e"));
    ev_docs_free(&d);
    T_CHECK(t, read_task("arc_challenge", dir, &d, &e) == ABL_E_FORMAT);
    T_CHECK(t, strstr(e.msg, "arc_challenge/test.jsonl:2:") && strstr(e.msg, "answerKey"));
    ev_docs_free(&d);
}

void test_eval_hellaswag_reader_and_capitalisation(tctx *t)
{
    const char *dir = t_tmpdir(t);
    put(t, dir, "hellaswag/hellaswag_val_full.txt",
        "Roof shingle removal: A man is sitting on a roof. he\n3\nis a.\nis b.\nis c.\nstarts pulling.\n"
        "Cooking: Mix it. Then stir\n0\nx\ny\nz\nw\n");
    ev_docs d;
    abl_err e = {0};
    T_CHECK(t, read_task("hellaswag", dir, &d, &e) == ABL_OK);
    T_CHECK(t, d.n_docs == 2);
    T_CHECK(t, !strcmp(ctx_of(&d, 0), "Roof shingle removal: A man is sitting on a roof. He"));
    T_CHECK(t, !strcmp(ctx_of(&d, 1), "Cooking: Mix it. Then stir"));
    T_CHECK(t, d.docs[0].gold == 3 && !strcmp(cont_of(&d, 0, 3), " starts pulling."));
    T_CHECK(t, d.ch[3].norm_len == 15);
    ev_docs_free(&d);
    char s1[] = "a. b. c";
    ev_hellaswag_fix_ctx(s1, strlen(s1));
    T_CHECK(t, !strcmp(s1, "a. b. C"));
    char s2[] = "no period here";
    ev_hellaswag_fix_ctx(s2, strlen(s2));
    T_CHECK(t, !strcmp(s2, "no period here"));
    /* a truncated item is a file:line error */
    put(t, dir, "hellaswag/hellaswag_val_full.txt", "ctx\n1\na\nb\n");
    T_CHECK(t, read_task("hellaswag", dir, &d, &e) == ABL_E_FORMAT);
    T_CHECK(t, strstr(e.msg, "hellaswag_val_full.txt:4:") != NULL);
    t_note(t, "message: %s", e.msg);
    ev_docs_free(&d);
}

void test_eval_prompt_formats(tctx *t)
{
    const char *dir = t_tmpdir(t);
    put(t, dir, "boolq/boolq.jsonl",
        "{\"query\": \"Passage: The sky is blue.\\nQuestion: is the sky blue?\", \"choices\": [\"no\", \"yes\"], \"gold\": 1}\n");
    put(t, dir, "copa/copa.jsonl",
        "{\"query\": \"The man turned on the faucet, therefore\", \"gold\": 1, \"choices\": [\"the toilet filled.\", \"water flowed.\"]}\n");
    put(t, dir, "winogrande/winogrande.jsonl",
        "{\"context_options\": [\"A so A\", \"A so B\"], \"continuation\": \"won.\", \"gold\": 1}\n");
    put(t, dir, "lambada_openai/lambada_openai.jsonl", "{\"context\": \"It was a\", \"continuation\": \"sign\"}\n");
    put(t, dir, "openbookqa/openbook_qa.jsonl", "{\"query\": \"Fog is around:\", \"choices\": [\"a marsh\", \"a desert\"], \"gold\": 0}\n");
    ev_docs d;
    abl_err e = {0};
    T_CHECK(t, read_task("boolq", dir, &d, &e) == ABL_OK);
    T_CHECK(t, !strcmp(ctx_of(&d, 0), "The sky is blue.\nQuestion: is the sky blue?\nAnswer:"));
    T_CHECK(t, !strcmp(cont_of(&d, 0, 0), " no") && !strcmp(cont_of(&d, 0, 1), " yes") && d.docs[0].gold == 1);
    ev_docs_free(&d);
    T_CHECK(t, read_task("copa", dir, &d, &e) == ABL_OK);
    T_CHECK(t, !strcmp(ctx_of(&d, 0), "The man turned on the faucet therefore"));
    T_CHECK(t, !strcmp(cont_of(&d, 0, 1), " water flowed."));
    ev_docs_free(&d);
    T_CHECK(t, read_task("winogrande", dir, &d, &e) == ABL_OK);
    T_CHECK(t, !strcmp(cctx_of(&d, 0, 0), "A so A") && !strcmp(cctx_of(&d, 0, 1), "A so B"));
    T_CHECK(t, !strcmp(cont_of(&d, 0, 0), " won.") && !strcmp(cont_of(&d, 0, 1), " won."));
    ev_docs_free(&d);
    T_CHECK(t, read_task("lambada_openai", dir, &d, &e) == ABL_OK);
    T_CHECK(t, !strcmp(ctx_of(&d, 0), "It was a") && !strcmp(cont_of(&d, 0, 0), " sign") && d.docs[0].n_choices == 1);
    ev_docs_free(&d);
    T_CHECK(t, read_task("openbookqa", dir, &d, &e) == ABL_OK);
    T_CHECK(t, !strcmp(ctx_of(&d, 0), "Fog is around:") && !strcmp(cont_of(&d, 0, 1), " a desert"));
    ev_docs_free(&d);
}

void test_eval_mmlu_csv(tctx *t)
{
    const char *dir = t_tmpdir(t);
    char rel[128];
    /* every subject file must exist; the first holds the interesting rows */
    const char *hdr = "question,choice0,choice1,choice2,choice3,answer\n";
    put(t, dir, "mmlu/test/abstract_algebra_test.csv",
        "question,choice0,choice1,choice2,choice3,answer\n"
        "\"  What is \"\"x\"\",\nreally? \",1,\"2, or 3\",3,4,2\n"
        "Plain?,a,b,c,d,0\n");
    static const char *const others[] = {"anatomy", "professional_law", "world_religions"};
    (void)others;
    ev_docs d;
    abl_err e = {0};
    /* with only one file present the reader names the next missing one */
    abl_status s = read_task("mmlu", dir, &d, &e);
    T_CHECK(t, s == ABL_E_IO && strstr(e.msg, "mmlu/test/anatomy_test.csv"));
    ev_docs_free(&d);
    const char *const *names = NULL;
    /* create the remaining 56 files (header only) using the task's own subject list via a load */
    static const char *const subj[] = {
        "anatomy", "astronomy", "business_ethics", "clinical_knowledge", "college_biology", "college_chemistry",
        "college_computer_science", "college_mathematics", "college_medicine", "college_physics",
        "computer_security", "conceptual_physics", "econometrics", "electrical_engineering",
        "elementary_mathematics", "formal_logic", "global_facts", "high_school_biology", "high_school_chemistry",
        "high_school_computer_science", "high_school_european_history", "high_school_geography",
        "high_school_government_and_politics", "high_school_macroeconomics", "high_school_mathematics",
        "high_school_microeconomics", "high_school_physics", "high_school_psychology", "high_school_statistics",
        "high_school_us_history", "high_school_world_history", "human_aging", "human_sexuality",
        "international_law", "jurisprudence", "logical_fallacies", "machine_learning", "management", "marketing",
        "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition", "philosophy",
        "prehistory", "professional_accounting", "professional_law", "professional_medicine",
        "professional_psychology", "public_relations", "security_studies", "sociology", "us_foreign_policy",
        "virology", "world_religions"};
    (void)names;
    for (size_t i = 0; i < sizeof subj / sizeof *subj; i++) {
        snprintf(rel, sizeof rel, "mmlu/test/%s_test.csv", subj[i]);
        put(t, dir, rel, !strcmp(subj[i], "world_religions") ? "question,choice0,choice1,choice2,choice3,answer\nQ,a,b,c,d,3\n" : hdr);
    }
    s = read_task("mmlu", dir, &d, &e);
    T_CHECK(t, s == ABL_OK);
    if (s) {
        t_fail(t, "%s", e.msg);
        return;
    }
    T_CHECK(t, d.n_docs == 3);
    T_CHECK(t, !strcmp(ctx_of(&d, 0),
                       "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
                       "What is \"x\",\nreally?\nA. 1\nB. 2, or 3\nC. 3\nD. 4\nAnswer:"));
    T_CHECK(t, d.docs[0].gold == 2 && d.docs[1].gold == 0 && d.docs[2].gold == 3);
    T_CHECK(t, !strcmp(cont_of(&d, 0, 0), " A") && !strcmp(cont_of(&d, 0, 3), " D"));
    T_CHECK(t, d.n_groups == 57 && d.docs[2].group == 56 && !strcmp(d.group_names[56], "world_religions"));
    T_CHECK(t, !strcmp(d.cat_names[d.group_cat[56]], "humanities"));
    T_CHECK(t, !strcmp(d.cat_names[d.group_cat[1]], "stem")); /* anatomy, as lm-eval */
    ev_docs_free(&d);
    /* malformed: a wrong field count names file:line; an unclosed quote too */
    put(t, dir, "mmlu/test/abstract_algebra_test.csv", "question,choice0,choice1,choice2,choice3,answer\nQ,a,b,c,0\n");
    T_CHECK(t, read_task("mmlu", dir, &d, &e) == ABL_E_FORMAT && strstr(e.msg, "abstract_algebra_test.csv:2:"));
    ev_docs_free(&d);
    put(t, dir, "mmlu/test/abstract_algebra_test.csv", "question,choice0,choice1,choice2,choice3,answer\nQ,a,b,c,d,0\n\"Q,a,b,c,d,0\n");
    T_CHECK(t, read_task("mmlu", dir, &d, &e) == ABL_E_FORMAT && strstr(e.msg, "abstract_algebra_test.csv:3:"));
    t_note(t, "message: %s", e.msg);
    ev_docs_free(&d);
}

void test_eval_truthfulqa_reader(tctx *t)
{
    const char *dir = t_tmpdir(t);
    put(t, dir, "truthfulqa/v0/mc_task.json",
        "[{\"question\": \"Why?\", \"mc1_targets\": {\"Because.\": 1, \"No.\": 0, \"Maybe.\": 0},"
        " \"mc2_targets\": {\"Because.\": 1, \"Since.\": 1, \"No.\": 0, \"Late true.\": 1}}]");
    ev_docs d;
    abl_err e = {0};
    T_CHECK(t, read_task("truthfulqa_mc1", dir, &d, &e) == ABL_OK);
    const char *c = ctx_of(&d, 0);
    T_CHECK(t, !strncmp(c, "Q: What is human life expectancy in the United States?\nA: Human", 63));
    size_t n = strlen(c);
    const char *tail = "held in Barcelona, Spain.\n\nQ: Why?\nA:";
    T_CHECK(t, n > strlen(tail) && !strcmp(c + n - strlen(tail), tail));
    T_CHECK(t, d.docs[0].n_choices == 3 && d.docs[0].gold == 0 && !strcmp(cont_of(&d, 0, 2), " Maybe."));
    ev_docs_free(&d);
    T_CHECK(t, read_task("truthfulqa_mc2", dir, &d, &e) == ABL_OK);
    T_CHECK(t, d.docs[0].n_choices == 4);
    /* lm-eval: the answers before the first 0 are the true ones */
    T_CHECK(t, d.ch[0].is_true && d.ch[1].is_true && !d.ch[2].is_true && !d.ch[3].is_true);
    ev_docs_free(&d);
}

void test_eval_jsonl_generic(tctx *t)
{
    const char *dir = t_tmpdir(t);
    char path[1024], name[1100];
    put(t, dir, "toy.jsonl",
        "{\"context\": \"2+2=\", \"choices\": [\"4\", \"5\"], \"label\": 0}\n\n"
        "{\"context\": \"x\", \"choices\": [\"a\"], \"label\": 0, \"delimiter\": \"\"}\n"
        "{\"context\": \"x\", \"choices\": [\"a\"], \"label\": 1}\n");
    snprintf(path, sizeof path, "%s/toy.jsonl", dir);
    snprintf(name, sizeof name, "jsonl:%s", path);
    ev_docs d;
    abl_err e = {0};
    T_CHECK(t, read_task(name, "/nonexistent", &d, &e) == ABL_E_FORMAT);
    T_CHECK(t, strstr(e.msg, "toy.jsonl:4:") && strstr(e.msg, "label"));
    t_note(t, "message: %s", e.msg);
    T_CHECK(t, d.n_docs == 2 && !strcmp(cont_of(&d, 0, 0), " 4") && !strcmp(cont_of(&d, 1, 0), "a"));
    ev_docs_free(&d);
}

void test_eval_sample_is_seeded(tctx *t)
{
    int32_t *a = NULL, *b = NULL, *c = NULL;
    int na, nb, nc;
    abl_err e = {0};
    T_CHECK(t, ev_sample(1000, 50, 7, &a, &na, &e) == ABL_OK);
    T_CHECK(t, ev_sample(1000, 50, 7, &b, &nb, &e) == ABL_OK);
    T_CHECK(t, ev_sample(1000, 50, 8, &c, &nc, &e) == ABL_OK);
    T_CHECK(t, na == 50 && nb == 50 && nc == 50);
    T_CHECK(t, !memcmp(a, b, 50 * sizeof *a));
    T_CHECK(t, memcmp(a, c, 50 * sizeof *a) != 0);
    int sorted = 1, inrange = 1;
    for (int i = 0; i < 50; i++) {
        inrange &= a[i] >= 0 && a[i] < 1000;
        if (i)
            sorted &= a[i] > a[i - 1]; /* strictly increasing: distinct */
    }
    T_CHECK(t, sorted && inrange);
    free(a);
    free(b);
    free(c);
    T_CHECK(t, ev_sample(10, 0, 1, &a, &na, &e) == ABL_OK && na == 10 && a[9] == 9);
    free(a);
    T_CHECK(t, ev_sample(10, 20, 1, &a, &na, &e) == ABL_OK && na == 10);
    free(a);
}

/* ---- a hand-made task: 3 items, metrics from given log-likelihoods ----------------------- */

typedef struct {
    ev_task t;
    ev_item items[3];
    ev_choice ch[7];
    int32_t ids[64];
} toy_task;

static void toy_make(toy_task *x, ev_kind kind, ev_head head)
{
    memset(x, 0, sizeof *x);
    snprintf(x->t.name, sizeof x->t.name, "toy");
    x->t.kind = kind;
    x->t.head = head;
    x->t.has_norm = true;
    /* item 0: 2 choices gold 1; item 1: 3 choices gold 0; item 2: 2 choices gold 0 */
    int nch[3] = {2, 3, 2}, gold[3] = {1, 0, 0}, c = 0;
    for (int i = 0; i < 64; i++)
        x->ids[i] = 10 + i % 7;
    for (int i = 0; i < 3; i++) {
        x->items[i] = (ev_item){i, nch[i], c, gold[i], -1};
        for (int k = 0; k < nch[i]; k++, c++)
            x->ch[c] = (ev_choice){i, 3, 1 + k, x->ids + 4 * c, 1 + 2 * k, (uint8_t)(k == gold[i])};
    }
    x->t.items = x->items;
    x->t.n_items = 3;
    x->t.choices = x->ch;
    x->t.n_choices = 7;
}

void test_eval_metrics_arithmetic(tctx *t)
{
    toy_task x;
    toy_make(&x, EV_MC, EV_HEAD_ACC_NORM);
    ev_results r;
    abl_err e = {0};
    T_CHECK(t, ev_results_alloc(&r, &x.t, &e) == ABL_OK);
    /* norm_len per choice: 1, 3 | 1, 3, 5 | 1, 3 */
    double ll[7] = {-2.0, -3.0, /* acc: 0 (wrong), norm: -2 vs -1 -> 1 (right) */
                    -1.0, -4.0, -4.5, /* acc 0 right; norm -1, -1.33, -0.9 -> 2 wrong */
                    -5.0, -6.0}; /* acc 0 right; norm -5, -2 -> 1 wrong */
    for (int c = 0; c < 7; c++) {
        r.ll[c] = ll[c];
        r.done[c] = 1;
    }
    ev_metrics m;
    T_CHECK(t, ev_metrics_compute(&x.t, &r, NULL, 0, &m, &e) == ABL_OK);
    T_CHECK(t, fabs(m.acc - 2.0 / 3) < 1e-12);
    T_CHECK(t, fabs(m.acc_norm - 1.0 / 3) < 1e-12);
    /* se of {0,1,1}: sample std sqrt(1/3) / sqrt(3) = 1/3 */
    T_CHECK(t, fabs(m.acc_se - 1.0 / 3) < 1e-12 && fabs(m.acc_norm_se - 1.0 / 3) < 1e-12);
    T_CHECK(t, fabs(m.chance - (0.5 + 1.0 / 3 + 0.5) / 3) < 1e-6);
    T_CHECK(t, !strcmp(m.head_name, "acc_norm") && m.head == m.acc_norm);
    t_note(t, "acc=%.4f acc_norm=%.4f se=%.4f chance=%.4f", m.acc, m.acc_norm, m.acc_se, m.chance);
    /* a subset, and per-item outcomes */
    int32_t sub[2] = {2, 0};
    ev_item_score sc[2];
    T_CHECK(t, ev_item_scores(&x.t, &r, sub, 2, sc, &e) == ABL_OK);
    T_CHECK(t, sc[0].pred == 0 && sc[0].pred_norm == 1 && sc[0].correct == 1 && sc[0].correct_norm == 0);
    T_CHECK(t, sc[1].correct == 0 && sc[1].correct_norm == 1 && sc[1].value == 1 && sc[1].ll == -3.0);
    /* ties go to the first choice, as numpy.argmax */
    r.ll[5] = r.ll[6] = -1.0;
    T_CHECK(t, ev_item_scores(&x.t, &r, sub, 1, sc, &e) == ABL_OK && sc[0].pred == 0);
    /* missing results are refused */
    r.done[3] = 0;
    T_CHECK(t, ev_metrics_compute(&x.t, &r, NULL, 0, &m, &e) == ABL_E_STATE);
    T_CHECK(t, strstr(e.msg, "item 1") != NULL);
    ev_results_free(&r);
}

void test_eval_metrics_mc2_greedy_corpus(tctx *t)
{
    toy_task x;
    ev_results r;
    ev_metrics m;
    abl_err e = {0};
    toy_make(&x, EV_MC2, EV_HEAD_MC2);
    x.t.has_norm = false;
    x.ch[3].is_true = 1; /* item 1: choices 0 and 1 true */
    T_CHECK(t, ev_results_alloc(&r, &x.t, &e) == ABL_OK);
    double ll[7] = {log(0.2), log(0.6), log(0.1), log(0.3), log(0.6), log(0.5), log(0.5)};
    for (int c = 0; c < 7; c++) {
        r.ll[c] = ll[c];
        r.done[c] = 1;
    }
    T_CHECK(t, ev_metrics_compute(&x.t, &r, NULL, 0, &m, &e) == ABL_OK);
    double want = (0.6 / 0.8 + 0.4 / 1.0 + 0.5) / 3;
    T_CHECK(t, fabs(m.mc2 - want) < 1e-6 && m.head == m.mc2 && isnan(m.acc_norm));
    T_CHECK(t, fabs(m.chance - (0.5 + 2.0 / 3 + 0.5) / 3) < 1e-6);
    t_note(t, "mc2=%.6f want %.6f", m.mc2, want);
    ev_results_free(&r);

    toy_make(&x, EV_CORPUS, EV_HEAD_TOKEN_ACC);
    x.t.has_norm = false;
    /* make each item single-choice: items 0..2 use choices 0, 2, 5 */
    for (int i = 0; i < 3; i++)
        x.items[i].n_choices = 1, x.items[i].gold = 0;
    T_CHECK(t, ev_results_alloc(&r, &x.t, &e) == ABL_OK);
    for (int c = 0; c < 7; c++)
        r.done[c] = 1;
    /* n_cont: choice 0 -> 1 token, choice 2 -> 1 token, choice 5 -> 1 token */
    r.ll[0] = -1, r.ll[2] = -2, r.ll[5] = -3;
    r.n_top1[0] = 1, r.n_top1[2] = 0, r.n_top1[5] = 1;
    T_CHECK(t, ev_metrics_compute(&x.t, &r, NULL, 0, &m, &e) == ABL_OK);
    T_CHECK(t, fabs(m.acc - 2.0 / 3) < 1e-12 && m.n_tok == 3 && fabs(m.ppl - exp(2.0)) < 1e-9 && m.chance == 0);
    T_CHECK(t, !strcmp(m.head_name, "token_acc"));
    x.t.kind = EV_GREEDY;
    x.t.head = EV_HEAD_ACC;
    T_CHECK(t, ev_metrics_compute(&x.t, &r, NULL, 0, &m, &e) == ABL_OK);
    T_CHECK(t, fabs(m.acc - 2.0 / 3) < 1e-12 && fabs(m.ppl - exp(2.0)) < 1e-9);
    ev_results_free(&r);
}

/* Every score row of a plan must see exactly the choice's tokens before the target, at the
 * right positions: walk the row's prefix + branch and compare with the choice's ids. */
static void check_plan(tctx *t, const ev_task *task, const ev_plan *p, int *n_scores)
{
    *n_scores = 0;
    for (int bi = 0; bi < p->n_batches; bi++) {
        const ev_batch *b = &p->batches[bi];
        const fwd_batch *fb = &b->fb;
        for (int si = 0; si < fb->n_score; si++) {
            const ev_choice *c = &task->choices[b->score_choice[si]];
            int j = b->score_tok[si], q = c->n_ctx + j - 1, row = fb->score_row[si];
            (*n_scores)++;
            if (fb->score_tgt[si] != c->ids[q + 1] || fb->pos[row] != q) {
                t_fail(t, "batch %d score %d: target/position mismatch", bi, si);
                return;
            }
            /* the visible rows of `row` (its span) hold ids[0..q] in order */
            k_span sp = fb->span[row];
            int k = 0;
            for (int r = sp.a0; r < sp.a1; r++, k++)
                if (fb->ids[r] != c->ids[k]) {
                    t_fail(t, "batch %d score %d: prefix row %d holds the wrong token", bi, si, r);
                    return;
                }
            for (int r = sp.b0; r < sp.b1; r++, k++)
                if (fb->ids[r] != c->ids[k]) {
                    t_fail(t, "batch %d score %d: row %d holds the wrong token", bi, si, r);
                    return;
                }
            if (k != q + 1) {
                t_fail(t, "batch %d score %d: sees %d tokens, expected %d", bi, si, k, q + 1);
                return;
            }
        }
    }
}

void test_eval_plan_rows_match_requests(tctx *t)
{
    toy_task x;
    toy_make(&x, EV_MC, EV_HEAD_ACC);
    /* give item 1 a shared context and diverging continuations */
    int32_t a[] = {5, 6, 7, 8, 9}, b2[] = {5, 6, 7, 8, 1, 2}, c3[] = {5, 6, 7, 3};
    x.ch[2].ids = a, x.ch[2].n_ctx = 3, x.ch[2].n_cont = 2;
    x.ch[3].ids = b2, x.ch[3].n_ctx = 3, x.ch[3].n_cont = 3;
    x.ch[4].ids = c3, x.ch[4].n_ctx = 3, x.ch[4].n_cont = 1;
    ev_plan p[3];
    ev_plan_opts o[3] = {{6, false}, {1 << 20, false}, {6, true}};
    abl_err e = {0};
    int total = 0;
    for (int i = 0; i < 7; i++)
        total += x.ch[i].n_cont;
    for (int k = 0; k < 3; k++) {
        T_CHECK(t, ev_plan_make(&p[k], &x.t, NULL, 0, &o[k], &e) == ABL_OK);
        int ns = 0;
        check_plan(t, &x.t, &p[k], &ns);
        T_CHECK(t, ns == total && p[k].n_items == 3);
        int covered = 0;
        for (int bi = 0; bi < p[k].n_batches; bi++)
            covered += p[k].batches[bi].n_choice;
        T_CHECK(t, covered == 7);
        t_note(t, "budget %d share %d: %d batches, %lld rows", o[k].batch_tokens, !o[k].no_share,
               p[k].n_batches, (long long)p[k].n_tok);
    }
    T_CHECK(t, p[1].n_batches == 1);
    T_CHECK(t, p[1].n_tok < p[2].n_tok); /* sharing feeds fewer rows */
    /* item 1 shares "5 6 7" (and 8 between two branches cannot be shared: prefix is common to all) */
    int32_t only1 = 1;
    ev_plan q;
    T_CHECK(t, ev_plan_make(&q, &x.t, &only1, 1, &o[1], &e) == ABL_OK);
    T_CHECK(t, q.n_tok == 3 + 1 + 2 + 0);
    ev_plan_free(&q);
    int32_t bad = 7;
    T_CHECK(t, ev_plan_make(&q, &x.t, &bad, 1, &o[1], &e) == ABL_E_ARG);
    for (int k = 0; k < 3; k++)
        ev_plan_free(&p[k]);
}

/* Progress lines (not a tty): resumed work advances the count but not the rates, and the end
 * says how much was resumed; durations read as people write them. */
void test_eval_progress_lines(tctx *t)
{
    char out[4096] = "";
    FILE *f = tmpfile();
    if (!T_CHECK(t, f != NULL))
        return;
    ev_progress p;
    ev_progress_begin(&p, f, "1/1 toy", 10, 1000);
    ev_progress_skip(&p, 6, 600);
    ev_progress_update(&p, 4, 400);
    ev_progress_end(&p);
    rewind(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    fclose(f);
    t_note(t, "%s", out);
    T_CHECK(t, strstr(out, "1/1 toy: 10/10 items (100%)") != NULL);
    T_CHECK(t, strstr(out, "1/1 toy: 6 of 10 items resumed from the journal\n") != NULL);
    char d[32];
    ev_fmt_duration(d, sizeof d, 42.4);
    T_CHECK(t, strcmp(d, "42s") == 0);
    ev_fmt_duration(d, sizeof d, 187);
    T_CHECK(t, strcmp(d, "3m07s") == 0);
    ev_fmt_duration(d, sizeof d, 57 * 3600 + 46 * 60 + 5);
    T_CHECK(t, strcmp(d, "57h46m") == 0);
    ev_fmt_duration(d, sizeof d, -1);
    T_CHECK(t, strcmp(d, "?") == 0);
}

/* Work mode (the study's progress): one measure, done of total, its rate and one ETA for the
 * whole job; resumed work counts in done but not in the rate; the end says how much resumed. */
void test_eval_progress_work_mode(tctx *t)
{
    char out[4096] = "";
    FILE *f = tmpfile();
    if (!T_CHECK(t, f != NULL))
        return;
    ev_progress p;
    ev_progress_begin_work(&p, f, "study", "token-passes", 3100000);
    ev_progress_label(&p, "sweep 1/2 toy");
    ev_progress_skip(&p, 0, 1550000);
    ev_progress_label(&p, "sweep 2/2 toy");
    ev_progress_update(&p, 7, 1550000);
    ev_progress_label(&p, "study");
    ev_progress_end(&p);
    rewind(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    fclose(f);
    t_note(t, "%s", out);
    T_CHECK(t, strstr(out, "study: 3.10M of 3.10M token-passes (100%), ") != NULL);
    T_CHECK(t, strstr(out, " token-passes/s, took ") != NULL);
    T_CHECK(t, strstr(out, "items") == NULL); /* one measure only */
    T_CHECK(t, strstr(out, "study: 1.55M token-passes resumed from the journal") != NULL);
}

/* A task reports the files it read and their hash: a jsonl file hashes as itself; a built-in
 * task as its folder's tree (names and file hashes in tree order), unread files left out. */
void test_eval_task_reports_files_read(tctx *t)
{
    char root[600], p1[700], p2[700], p3[700];
    snprintf(root, sizeof root, "%s/data", t_tmpdir(t));
    snprintf(p1, sizeof p1, "%s/piqa", root);
    mkdir(root, 0777);
    mkdir(p1, 0777);
    snprintf(p1, sizeof p1, "%s/piqa/valid.jsonl", root);
    snprintf(p2, sizeof p2, "%s/piqa/valid-labels.lst", root);
    snprintf(p3, sizeof p3, "%s/piqa/unread.txt", root);
    FILE *f = fopen(p1, "w");
    for (int i = 0; f && i < 3; i++)
        fprintf(f, "{\"goal\": \"g%d\", \"sol1\": \"a\", \"sol2\": \"b\"}\n", i);
    if (f)
        fclose(f);
    f = fopen(p2, "w");
    if (f) {
        fputs("0\n1\n0\n", f);
        fclose(f);
    }
    f = fopen(p3, "w");
    if (f) {
        fputs("not read by the task\n", f);
        fclose(f);
    }
    tokenizer *tok = NULL;
    abl_err e = {0};
    if (tok_load(&tok, "tests/fixtures/tiny/tokenizer.json", &e)) {
        t_fail(t, "tok_load: %s", e.msg);
        return;
    }
    ev_load_opts lo = ev_load_opts_default();
    lo.data_dir = root;
    ev_task *tk = NULL;
    if (ev_task_load(&tk, "piqa", tok, &lo, &e)) {
        t_fail(t, "piqa: %s", e.msg);
        tok_free(tok);
        return;
    }
    T_CHECK(t, tk->n_files == 2 && !strcmp(tk->files[0], "piqa/valid.jsonl") &&
                   !strcmp(tk->files[1], "piqa/valid-labels.lst"));
    char h1[65], h2[65], want[65];
    T_CHECK(t, sha256_file(p1, h1, &e) == ABL_OK && sha256_file(p2, h2, &e) == ABL_OK);
    sha256_ctx c;
    uint8_t d[32];
    sha256_init(&c); /* tree order: "valid-labels.lst" < "valid.jsonl" */
    sha256_update(&c, "valid-labels.lst", 17);
    sha256_update(&c, h2, 64);
    sha256_update(&c, "valid.jsonl", 12);
    sha256_update(&c, h1, 64);
    sha256_final(&c, d);
    for (int k = 0; k < 32; k++)
        snprintf(want + 2 * k, 3, "%02x", d[k]);
    T_CHECK(t, !strcmp(tk->data_sha256, want));
    ev_task_free(tk);
    char spec[800];
    snprintf(spec, sizeof spec, "jsonl:tests/fixtures/study/toy.jsonl");
    T_CHECK(t, ev_task_load(&tk, spec, tok, &lo, &e) == ABL_OK);
    T_CHECK(t, tk && tk->n_files == 1 && !strcmp(tk->files[0], "tests/fixtures/study/toy.jsonl"));
    T_CHECK(t, sha256_file("tests/fixtures/study/toy.jsonl", h1, &e) == ABL_OK && tk &&
                   !strcmp(tk->data_sha256, h1));
    ev_task_free(tk);
    tok_free(tok);
}
