/* eval/task_mmlu.c - MMLU test, 57 subjects (mmlu/test/<subject>_test.csv, RFC-4180 CSV with a
 * header row and integer answers). lm-eval zero-shot prompt, continuations " A".." D"; acc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

/* Categories as lm-eval groups the subjects. */
enum { STEM, HUM, SOC, OTHER };
static const char *const mmlu_cats[] = {"stem", "humanities", "social_sciences", "other"};

static const char *const mmlu_subj[] = {
    "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge",
    "college_biology", "college_chemistry", "college_computer_science", "college_mathematics",
    "college_medicine", "college_physics", "computer_security", "conceptual_physics", "econometrics",
    "electrical_engineering", "elementary_mathematics", "formal_logic", "global_facts",
    "high_school_biology", "high_school_chemistry", "high_school_computer_science",
    "high_school_european_history", "high_school_geography", "high_school_government_and_politics",
    "high_school_macroeconomics", "high_school_mathematics", "high_school_microeconomics",
    "high_school_physics", "high_school_psychology", "high_school_statistics", "high_school_us_history",
    "high_school_world_history", "human_aging", "human_sexuality", "international_law", "jurisprudence",
    "logical_fallacies", "machine_learning", "management", "marketing", "medical_genetics",
    "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition", "philosophy", "prehistory",
    "professional_accounting", "professional_law", "professional_medicine", "professional_psychology",
    "public_relations", "security_studies", "sociology", "us_foreign_policy", "virology",
    "world_religions"};

static const int mmlu_cat[] = {
    STEM,  STEM, STEM,  OTHER, OTHER, /* abstract_algebra .. clinical_knowledge */
    STEM,  STEM, STEM,  STEM,         /* college_biology .. college_mathematics */
    OTHER, STEM, STEM,  STEM,  SOC,   /* college_medicine .. econometrics */
    STEM,  STEM, HUM,   OTHER,        /* electrical_engineering .. global_facts */
    STEM,  STEM, STEM,                /* high_school_biology .. computer_science */
    HUM,   SOC,  SOC,                 /* hs european_history, geography, government */
    SOC,   STEM, SOC,                 /* hs macroeconomics, mathematics, microeconomics */
    STEM,  SOC,  STEM,  HUM,          /* hs physics, psychology, statistics, us_history */
    HUM,   OTHER, SOC,  HUM,  HUM,    /* hs world_history, human_aging, human_sexuality, intl law, jurisprudence */
    HUM,   STEM, OTHER, OTHER, OTHER, /* logical_fallacies, machine_learning, management, marketing, medical_genetics */
    OTHER, HUM,  HUM,   OTHER, HUM,  HUM, /* miscellaneous, moral_disputes, moral_scenarios, nutrition, philosophy, prehistory */
    OTHER, HUM,  OTHER, SOC,          /* professional accounting, law, medicine, psychology */
    SOC,   SOC,  SOC,   SOC,  OTHER,  /* public_relations, security_studies, sociology, us_foreign_policy, virology */
    HUM};                             /* world_religions */

_Static_assert(sizeof mmlu_subj / sizeof *mmlu_subj == 57, "57 MMLU subjects");
_Static_assert(sizeof mmlu_cat / sizeof *mmlu_cat == 57, "a category per subject");

/* CSV cursor: one RFC-4180 record at a time; fields are unquoted into *fields (a buffer of
 * NUL-separated fields). Returns 1 with a record, 0 at the end, -1 on an unterminated quote. */
typedef struct {
    const char *p, *end;
    int line;       /* 1-based line where the next record starts */
} csv_cur;

static int csv_record(csv_cur *c, ev_str *buf, size_t *off, int max, int *nf, abl_err *err)
{
    *nf = 0;
    if (c->p >= c->end)
        return 0;
    ev_str_clear(buf);
    for (;;) {
        if (*nf < max)
            off[*nf] = buf->n;
        (*nf)++;
        if (c->p < c->end && *c->p == '"') {
            c->p++;
            for (;;) {
                if (c->p >= c->end)
                    return -1;
                const char *q = memchr(c->p, '"', (size_t)(c->end - c->p));
                if (!q)
                    return -1;
                for (const char *r = c->p; r < q; r++)
                    c->line += *r == '\n';
                if (ev_str_cat(buf, c->p, (size_t)(q - c->p), err))
                    return -2;
                c->p = q + 1;
                if (c->p < c->end && *c->p == '"') {
                    if (ev_str_cat(buf, "\"", 1, err))
                        return -2;
                    c->p++;
                    continue;
                }
                break;
            }
        } else {
            const char *s = c->p;
            while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
                c->p++;
            if (ev_str_cat(buf, s, (size_t)(c->p - s), err))
                return -2;
        }
        if (ev_str_cat(buf, "", 1, err)) /* field separator NUL (ev_str keeps one more) */
            return -2;
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '\r')
            c->p++;
        if (c->p < c->end && *c->p == '\n')
            c->p++;
        c->line++;
        return 1;
    }
}

static bool is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static abl_status mmlu_file(ev_docs *d, const char *dir, int subj, ev_str *rec, ev_str *ctx, abl_err *err)
{
    char rel[128], path[512], where[600];
    char *buf = NULL;
    size_t len = 0;
    snprintf(rel, sizeof rel, "mmlu/test/%s_test.csv", mmlu_subj[subj]);
    abl_status s = ev_read_file(d, dir, rel, &buf, &len, path, sizeof path, err);
    if (s)
        return s;
    csv_cur c = {buf, buf + len, 1};
    size_t off[8];
    int nf, rows = 0;
    for (;;) {
        int line = c.line;
        snprintf(where, sizeof where, "%s:%d", path, line);
        int r = csv_record(&c, rec, off, 8, &nf, err);
        if (r == 0)
            break;
        if (r == -2) {
            s = ABL_E_NOMEM;
            break;
        }
        if (r < 0) {
            s = abl_fail(err, ABL_E_FORMAT, "%s: expected a closing quote, found end of file", where);
            break;
        }
        if (nf == 1 && rec->p[off[0]] == 0)
            continue; /* blank line */
        if (nf != 6) {
            s = abl_fail(err, ABL_E_FORMAT,
                         "%s: expected 6 CSV fields (question,choice0..3,answer), found %d", where, nf);
            break;
        }
        const char *f[6];
        for (int k = 0; k < 6; k++)
            f[k] = rec->p + off[k];
        if (rows++ == 0) {
            if (strcmp(f[0], "question") || strcmp(f[5], "answer")) {
                s = abl_fail(err, ABL_E_FORMAT,
                             "%s: expected the header question,choice0,choice1,choice2,choice3,answer, found "
                             "\"%.40s,...\"",
                             where, f[0]);
                break;
            }
            continue;
        }
        if (!(f[5][0] >= '0' && f[5][0] <= '3' && f[5][1] == 0)) {
            s = abl_fail(err, ABL_E_FORMAT, "%s: expected an answer 0..3, found \"%.20s\"", where, f[5]);
            break;
        }
        /* question.strip() */
        const char *q = f[0];
        size_t qn = strlen(q);
        while (qn && is_ws(*q))
            q++, qn--;
        while (qn && is_ws(q[qn - 1]))
            qn--;
        ev_str_clear(ctx);
        if ((s = ev_str_catz(ctx, "The following are multiple choice questions (with answers) about ", err)))
            break;
        for (const char *p = mmlu_subj[subj]; *p; p++)
            if ((s = ev_str_cat(ctx, *p == '_' ? " " : p, 1, err)))
                break;
        static const char *const lead[] = {"\nA. ", "\nB. ", "\nC. ", "\nD. "};
        if (s || (s = ev_str_catz(ctx, ".\n\n", err)) || (s = ev_str_cat(ctx, q, qn, err)))
            break;
        for (int k = 0; k < 4 && !s; k++)
            if (!(s = ev_str_catz(ctx, lead[k], err)))
                s = ev_str_catz(ctx, f[1 + k], err);
        if (s || (s = ev_str_catz(ctx, "\nAnswer:", err)) ||
            (s = ev_docs_begin(d, ctx->p, ctx->n, f[5][0] - '0', subj, err)))
            break;
        static const char *const letter[] = {"A", "B", "C", "D"};
        for (int k = 0; k < 4 && !s; k++)
            s = ev_docs_choice(d, NULL, 0, " ", letter[k], 1, false, err);
        if (s || (s = ev_docs_end(d, where, err)))
            break;
    }
    free(buf);
    return s;
}

static abl_status mmlu_read(ev_docs *d, const char *dir, const char *arg, abl_err *err)
{
    (void)arg;
    ev_str rec = {0}, ctx = {0};
    abl_status s = ABL_OK;
    for (int k = 0; k < 57 && !s; k++)
        s = mmlu_file(d, dir, k, &rec, &ctx, err);
    ev_str_free(&rec);
    ev_str_free(&ctx);
    d->n_groups = 57;
    d->group_names = mmlu_subj;
    d->group_cat = mmlu_cat;
    d->n_cats = 4;
    d->cat_names = mmlu_cats;
    return s;
}

const ev_task_def ev_def_mmlu = {"mmlu", EV_MC, EV_HEAD_ACC, false, mmlu_read, "mmlu"};
