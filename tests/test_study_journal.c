/* tests/test_study_journal.c - the run journal: records survive reopening, a torn tail is
 * dropped, another configuration's directory is refused and left untouched. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../study/journal.h"
#include "t.h"

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

void test_study_journal_roundtrip(tctx *t)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/runs/a", t_tmpdir(t));
    snprintf(path, sizeof path, "%s/journal.tsv", dir);
    abl_err e = {0};
    journal *j = NULL;
    T_CHECK(t, journal_open(&j, dir, "model=x tasks=piqa", &e) == ABL_OK);
    if (!j)
        return;
    T_CHECK(t, journal_count(j) == 0);
    T_CHECK(t, journal_append(j, "piqa/0", "1 0 0.25", &e) == ABL_OK);
    T_CHECK(t, journal_append(j, "piqa/1", "0 1 -3.5e-7", &e) == ABL_OK);
    T_CHECK(t, journal_append(j, "piqa/1", "again", &e) == ABL_E_STATE);
    T_CHECK(t, journal_append(j, "bad\tkey", "x", &e) == ABL_E_ARG);
    journal_close(j);
    long full = file_size(path);

    /* simulate kill -9 in the middle of a write: a partial line at the end */
    FILE *f = fopen(path, "ab");
    fputs("piqa/2\t1 1 0.5", f);
    fclose(f);
    T_CHECK(t, journal_open(&j, dir, "model=x tasks=piqa", &e) == ABL_OK);
    if (!j)
        return;
    T_CHECK(t, journal_count(j) == 2);
    T_CHECK(t, journal_find(j, "piqa/2") == NULL);
    const char *p = journal_find(j, "piqa/1");
    T_CHECK(t, p && !strcmp(p, "0 1 -3.5e-7"));
    T_CHECK(t, file_size(path) == full); /* torn tail cut off */
    T_CHECK(t, journal_append(j, "piqa/2", "1 1 0.5", &e) == ABL_OK);
    journal_close(j);

    /* a corrupted record (bit flip in the payload) is dropped with everything after it */
    f = fopen(path, "r+b");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    char *hit = memmem(buf, n, "-3.5e-7", 7);
    T_CHECK(t, hit != NULL);
    if (hit) {
        fseek(f, hit - buf, SEEK_SET);
        fputc('+', f);
    }
    fclose(f);
    T_CHECK(t, journal_open(&j, dir, "model=x tasks=piqa", &e) == ABL_OK);
    if (!j)
        return;
    T_CHECK(t, journal_count(j) == 1);
    journal_close(j);
}

void test_study_journal_refuses_other_config(tctx *t)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/r", t_tmpdir(t));
    snprintf(path, sizeof path, "%s/journal.tsv", dir);
    abl_err e = {0};
    journal *j = NULL;
    T_CHECK(t, journal_open(&j, dir, "limit=10", &e) == ABL_OK);
    if (!j)
        return;
    T_CHECK(t, journal_append(j, "u", "1", &e) == ABL_OK);
    journal_close(j);
    long before = file_size(path);
    T_CHECK(t, journal_open(&j, dir, "limit=20", &e) == ABL_E_STATE);
    T_CHECK(t, j == NULL);
    t_note(t, "message: %s", e.msg);
    T_CHECK(t, strstr(e.msg, "another configuration") != NULL);
    T_CHECK(t, file_size(path) == before);

    /* outputs without a journal: unknown configuration, refused */
    char d2[512], p2[600];
    snprintf(d2, sizeof d2, "%s/other", t_tmpdir(t));
    mkdir(d2, 0777);
    snprintf(p2, sizeof p2, "%s/summary.json", d2);
    FILE *f = fopen(p2, "w");
    fputs("{}", f);
    fclose(f);
    T_CHECK(t, journal_open(&j, d2, "limit=10", &e) == ABL_E_STATE);
}

/* Read-only loading of another process's journal (a shard still writing): the torn tail is
 * skipped but never cut, nothing can be appended; an empty file loads empty, a foreign one
 * and a missing one are errors. */
void test_study_journal_readonly(tctx *t)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/run", t_tmpdir(t));
    snprintf(path, sizeof path, "%s/journal.shard-1-of-2.tsv", dir);
    abl_err e = {0};
    journal *j = NULL, *r = NULL;
    T_CHECK(t, journal_open_at(&j, dir, "journal.shard-1-of-2.tsv", "cfg", 0, &e) == ABL_OK);
    if (!j)
        return;
    T_CHECK(t, journal_append(j, "u/0", "1 2", &e) == ABL_OK);
    journal_close(j);
    FILE *f = fopen(path, "ab"); /* the writer is mid-record */
    fputs("u/1\t3 4", f);
    fclose(f);
    long size = file_size(path);
    T_CHECK(t, journal_open_at(&r, dir, "journal.shard-1-of-2.tsv", "cfg", JOURNAL_READONLY,
                               &e) == ABL_OK);
    T_CHECK(t, r && journal_count(r) == 1 && journal_find(r, "u/0") && !journal_find(r, "u/1"));
    T_CHECK(t, r && journal_append(r, "u/2", "5", &e) == ABL_E_STATE);
    journal_close(r);
    T_CHECK(t, file_size(path) == size); /* not cut */
    T_CHECK(t, journal_open_at(&r, dir, "journal.shard-1-of-2.tsv", "other", JOURNAL_READONLY,
                               &e) == ABL_E_STATE && strstr(e.msg, "another configuration"));
    char p2[700];
    snprintf(p2, sizeof p2, "%s/journal.shard-0-of-2.tsv", dir);
    f = fopen(p2, "wb"); /* created, header not written yet */
    fclose(f);
    T_CHECK(t, journal_open_at(&r, dir, "journal.shard-0-of-2.tsv", "cfg", JOURNAL_READONLY,
                               &e) == ABL_OK && r && journal_count(r) == 0);
    journal_close(r);
    f = fopen(p2, "wb");
    fputs("hello\nworld\n", f);
    fclose(f);
    T_CHECK(t, journal_open_at(&r, dir, "journal.shard-0-of-2.tsv", "cfg", JOURNAL_READONLY,
                               &e) == ABL_E_FORMAT && r == NULL);
    T_CHECK(t, journal_open_at(&r, dir, "journal.tsv", "cfg", JOURNAL_READONLY, &e) ==
                   ABL_E_IO);
}
