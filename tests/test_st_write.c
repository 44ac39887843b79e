/* tests/test_st_write.c - the safetensors writer: files read back through loader/safetensors with
 * the same names, shapes, values and metadata; failures leave neither the file nor a temp file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../loader/safetensors.h"
#include "../loader/st_write.h"
#include "t.h"

static abl_status fill_ramp(void *ctx, float *dst, int64_t numel, abl_err *err)
{
    (void)err;
    float base = *(const float *)ctx;
    for (int64_t i = 0; i < numel; i++)
        dst[i] = base + (float)i;
    return ABL_OK;
}

static abl_status fill_fail(void *ctx, float *dst, int64_t numel, abl_err *err)
{
    (void)ctx, (void)dst, (void)numel;
    return abl_fail(err, ABL_E_NUMERIC, "planted failure");
}

void test_st_write_round_trip(tctx *t)
{
    char path[600];
    snprintf(path, sizeof path, "%s/m.safetensors", t_tmpdir(t));
    const float a[6] = {1, -2, 3.5f, 0, 1e-30f, 7};
    const int64_t sa[2] = {2, 3}, sb[1] = {5}, sc[3] = {1, 2, 2};
    float base = 100;
    st_writer *w;
    abl_err e = {0};
    T_CHECK(t, stw_open(&w, path, &e) == ABL_OK);
    T_CHECK(t, stw_meta(w, "format", "pt", &e) == ABL_OK);
    T_CHECK(t, stw_meta(w, "note", "quote\" and \\ \n", &e) == ABL_OK);
    T_CHECK(t, stw_meta(w, "format", "again", &e) == ABL_E_ARG);
    T_CHECK(t, stw_add(w, "a.weight", sa, 2, a, &e) == ABL_OK);
    T_CHECK(t, stw_add_fn(w, "b", sb, 1, fill_ramp, &base, &e) == ABL_OK);
    T_CHECK(t, stw_add_fn(w, "c", sc, 3, fill_ramp, &base, &e) == ABL_OK);
    T_CHECK(t, stw_add(w, "a.weight", sa, 2, a, &e) == ABL_E_ARG);
    T_CHECK(t, stw_add(w, "__metadata__", sa, 2, a, &e) == ABL_E_ARG);
    T_CHECK(t, stw_finish(w, &e) == ABL_OK);
    stw_close(w);
    st_file *f = NULL;
    if (!T_CHECK(t, st_open(&f, path, &e) == ABL_OK)) {
        t_fail(t, "%s", e.msg);
        return;
    }
    T_CHECK(t, st_count(f) == 3);
    const char *fmt = st_metadata(f, "format"), *note = st_metadata(f, "note");
    T_CHECK(t, fmt && strcmp(fmt, "pt") == 0 && note && strcmp(note, "quote\" and \\ \n") == 0);
    const st_tensor *ta = st_find(f, "a.weight"), *tb = st_find(f, "b"), *tc = st_find(f, "c");
    if (T_CHECK(t, ta && tb && tc)) {
        T_CHECK(t, ta->dtype == ST_F32 && ta->ndim == 2 && ta->shape[0] == 2 && ta->shape[1] == 3);
        T_CHECK(t, memcmp(ta->data, a, sizeof a) == 0);
        const float *b = tb->data, *c = tc->data;
        T_CHECK(t, tb->numel == 5 && b[0] == 100 && b[4] == 104);
        T_CHECK(t, tc->ndim == 3 && tc->numel == 4 && c[3] == 103);
    }
    st_close(f);
    /* header length is a multiple of 8 (the data starts aligned) */
    FILE *fp = fopen(path, "rb");
    unsigned char le[8] = {0};
    T_CHECK(t, fp && fread(le, 1, 8, fp) == 8);
    if (fp)
        fclose(fp);
    T_CHECK(t, le[0] % 8 == 0);
}

void test_st_write_failure_leaves_nothing(tctx *t)
{
    char path[600], tmp[700];
    snprintf(path, sizeof path, "%s/keep.safetensors", t_tmpdir(t));
    snprintf(tmp, sizeof tmp, "%s/.keep.safetensors.tmp.%ld", t_tmpdir(t), (long)getpid());
    /* an existing good file survives a failed rewrite untouched */
    const float one = 1;
    const int64_t s1[1] = {1};
    st_writer *w;
    abl_err e = {0};
    stw_open(&w, path, &e);
    stw_add(w, "x", s1, 1, &one, &e);
    T_CHECK(t, stw_finish(w, &e) == ABL_OK);
    stw_close(w);
    struct stat before, after, st;
    T_CHECK(t, stat(path, &before) == 0);
    stw_open(&w, path, &e);
    stw_add_fn(w, "y", s1, 1, fill_fail, NULL, &e);
    abl_status s = stw_finish(w, &e);
    stw_close(w);
    T_CHECK(t, s == ABL_E_NUMERIC && strstr(e.msg, "planted failure") && strstr(e.msg, "'y'"));
    t_note(t, "failed fill -> %s", e.msg);
    T_CHECK(t, stat(path, &after) == 0 && after.st_size == before.st_size);
    T_CHECK(t, stat(tmp, &st) != 0);
    /* a folder that does not exist: a clear IO error */
    char bad[700];
    snprintf(bad, sizeof bad, "%s/no/such/dir/m.safetensors", t_tmpdir(t));
    stw_open(&w, bad, &e);
    T_CHECK(t, stw_finish(w, &e) == ABL_E_IO && strstr(e.msg, "cannot create"));
    stw_close(w);
    stw_close(NULL);
    /* bad shapes */
    const int64_t neg[2] = {2, -1};
    stw_open(&w, path, &e);
    T_CHECK(t, stw_add(w, "n", neg, 2, &one, &e) == ABL_E_ARG);
    T_CHECK(t, stw_add(w, "n", s1, 9, &one, &e) == ABL_E_ARG);
    stw_close(w);
}
