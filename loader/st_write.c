/* loader/st_write.c - safetensors writer: tensors are declared first, then stw_finish writes the
 * JSON header (through base/jw) and streams each tensor's bytes into a temp file it renames. */
#include "st_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/file.h"
#include "../base/jw.h"

#define STW_MAX_DIMS 8

typedef struct {
    char *name;
    int ndim;
    int64_t shape[STW_MAX_DIMS];
    int64_t numel;
    const float *data;   /* borrowed, or NULL when fill is set */
    stw_fill_fn fill;
    void *ctx;
} stw_tensor;

struct st_writer {
    char *path;
    stw_tensor *t;
    int n, cap;
    char **meta;         /* key, value pairs */
    int n_meta, cap_meta;
};

abl_status stw_open(st_writer **out, const char *path, abl_err *err)
{
    *out = NULL;
    st_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", path);
    }
    *out = w;
    return ABL_OK;
}

void stw_close(st_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n; i++)
        free(w->t[i].name);
    for (int i = 0; i < 2 * w->n_meta; i++)
        free(w->meta[i]);
    free(w->t);
    free(w->meta);
    free(w->path);
    free(w);
}

abl_status stw_meta(st_writer *w, const char *key, const char *value, abl_err *err)
{
    for (int i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta[2 * i], key) == 0)
            return abl_fail(err, ABL_E_ARG, "%s: metadata key '%s' given twice", w->path, key);
    if (w->n_meta == w->cap_meta) {
        int nc = w->cap_meta ? 2 * w->cap_meta : 8;
        char **p = realloc(w->meta, (size_t)nc * 2 * sizeof *p);
        if (!p)
            return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", w->path);
        w->meta = p;
        w->cap_meta = nc;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", w->path);
    }
    w->meta[2 * w->n_meta] = k;
    w->meta[2 * w->n_meta + 1] = v;
    w->n_meta++;
    return ABL_OK;
}

static abl_status add(st_writer *w, const char *name, const int64_t *shape, int ndim,
                      const float *data, stw_fill_fn fill, void *ctx, abl_err *err)
{
    if (!name[0] || strcmp(name, "__metadata__") == 0)
        return abl_fail(err, ABL_E_ARG, "%s: expected a tensor name, found '%s'", w->path, name);
    if (ndim < 0 || ndim > STW_MAX_DIMS)
        return abl_fail(err, ABL_E_ARG, "%s: tensor '%s': expected 0..8 dims, found %d", w->path,
                        name, ndim);
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || (shape[d] && numel > INT64_MAX / 4 / shape[d]))
            return abl_fail(err, ABL_E_ARG, "%s: tensor '%s': bad dimension %lld", w->path, name,
                            (long long)shape[d]);
        numel *= shape[d];
    }
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return abl_fail(err, ABL_E_ARG, "%s: tensor '%s' added twice", w->path, name);
    if (w->n == w->cap) {
        int nc = w->cap ? 2 * w->cap : 64;
        stw_tensor *p = realloc(w->t, (size_t)nc * sizeof *p);
        if (!p)
            return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", w->path);
        w->t = p;
        w->cap = nc;
    }
    stw_tensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name)))
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", w->path);
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d];
    t->numel = numel;
    t->data = data;
    t->fill = fill;
    t->ctx = ctx;
    w->n++;
    return ABL_OK;
}

abl_status stw_add(st_writer *w, const char *name, const int64_t *shape, int ndim,
                   const float *data, abl_err *err)
{
    return add(w, name, shape, ndim, data, NULL, NULL, err);
}

abl_status stw_add_fn(st_writer *w, const char *name, const int64_t *shape, int ndim,
                      stw_fill_fn fill, void *ctx, abl_err *err)
{
    ABL_ASSERT(fill);
    return add(w, name, shape, ndim, NULL, fill, ctx, err);
}

/* The JSON header in a malloc'ed buffer, padded with spaces to a multiple of 8. */
static abl_status build_header(st_writer *w, char **out, size_t *len, abl_err *err)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    if (!m)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", w->path);
    jw j;
    jw_init(&j, m, 0);
    jw_obj_begin(&j);
    if (w->n_meta) {
        jw_key(&j, "__metadata__");
        jw_obj_begin(&j);
        for (int i = 0; i < w->n_meta; i++) {
            jw_key(&j, w->meta[2 * i]);
            jw_str(&j, w->meta[2 * i + 1]);
        }
        jw_obj_end(&j);
    }
    uint64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const stw_tensor *t = &w->t[i];
        jw_key(&j, t->name);
        jw_obj_begin(&j);
        jw_key(&j, "dtype");
        jw_str(&j, "F32");
        jw_key(&j, "shape");
        jw_arr_begin(&j);
        for (int d = 0; d < t->ndim; d++)
            jw_int(&j, t->shape[d]);
        jw_arr_end(&j);
        jw_key(&j, "data_offsets");
        jw_arr_begin(&j);
        jw_uint(&j, off);
        off += (uint64_t)t->numel * 4;
        jw_uint(&j, off);
        jw_arr_end(&j);
        jw_obj_end(&j);
    }
    jw_obj_end(&j);
    abl_status s = jw_finish(&j, w->path, err);
    while (!s && ftell(m) % 8)
        fputc(' ', m);
    if (fclose(m) != 0 && !s)
        s = abl_fail(err, ABL_E_NOMEM, "%s: out of memory", w->path);
    if (s) {
        free(buf);
        return s;
    }
    *out = buf;
    *len = n;
    return ABL_OK;
}

static abl_status write_all(st_writer *w, FILE *fp, const char *tmp, abl_err *err)
{
    char *hdr = NULL;
    size_t hlen = 0;
    abl_status s = build_header(w, &hdr, &hlen, err);
    if (s)
        return s;
    uint8_t n8[8];
    for (int i = 0; i < 8; i++)
        n8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    int ok = fwrite(n8, 1, 8, fp) == 8 && fwrite(hdr, 1, hlen, fp) == hlen;
    free(hdr);
    int64_t max_fill = 0;
    for (int i = 0; i < w->n; i++)
        if (w->t[i].fill && w->t[i].numel > max_fill)
            max_fill = w->t[i].numel;
    float *scratch = NULL;
    if (max_fill && !(scratch = malloc((size_t)max_fill * sizeof *scratch)))
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory (%lld floats)", w->path,
                        (long long)max_fill);
    for (int i = 0; i < w->n && ok; i++) {
        const stw_tensor *t = &w->t[i];
        const float *src = t->data;
        if (t->fill) {
            if ((s = t->fill(t->ctx, scratch, t->numel, err))) {
                free(scratch);
                return abl_wrap(err, "%s: tensor '%s'", w->path, t->name);
            }
            src = scratch;
        }
        /* safetensors is little-endian; so is every host we build for */
        if (t->numel && fwrite(src, sizeof(float), (size_t)t->numel, fp) != (size_t)t->numel)
            ok = 0;
    }
    free(scratch);
    if (!ok || fflush(fp) != 0)
        return abl_fail(err, ABL_E_IO, "%s: write failed: %s (hint: check free disk space)", tmp,
                        strerror(errno));
    return ABL_OK;
}

abl_status stw_finish(st_writer *w, abl_err *err)
{
    abl_afile af;
    abl_status s = abl_afile_open(&af, NULL, w->path, err);
    if (s)
        return s;
    if ((s = write_all(w, af.f, af.tmp, err))) {
        abl_afile_abort(&af);
        return s;
    }
    return abl_afile_commit(&af, err);
}
