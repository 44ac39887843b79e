/* loader/safetensors.c - mmap-based safetensors reader that validates every header field,
 * byte span and the file size before exposing a tensor; sharded sets via the index JSON. */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/file.h"
#include "json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host (the file format is little-endian)"
#endif

#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

typedef struct {
    char *path;
    const unsigned char *map;   /* whole file, read-only */
    size_t size;
    json_doc *hdr;              /* owns tensor names and metadata strings */
} st_shard;

struct st_file {
    char *path;                 /* as given to st_open */
    st_shard *shards;
    int n_shards;
    st_tensor *t;               /* all tensors, shard by shard, in header order */
    int n;
    int *hash;                  /* open addressing: index into t, -1 empty */
    size_t hash_cap;            /* power of two */
    const json_val *meta;       /* __metadata__ of the first shard, or NULL */
};

static const struct { const char *name; size_t size; } dtypes[ST_DTYPE_COUNT] = {
    [ST_F32] = {"F32", 4}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2}, [ST_F64] = {"F64", 8},
    [ST_I8] = {"I8", 1}, [ST_I16] = {"I16", 2}, [ST_I32] = {"I32", 4}, [ST_I64] = {"I64", 8},
    [ST_U8] = {"U8", 1}, [ST_U16] = {"U16", 2}, [ST_U32] = {"U32", 4}, [ST_U64] = {"U64", 8},
    [ST_BOOL] = {"BOOL", 1},
};

const char *st_dtype_name(st_dtype d)
{
    return (unsigned)d < ST_DTYPE_COUNT ? dtypes[d].name : "?";
}

size_t st_dtype_size(st_dtype d)
{
    return (unsigned)d < ST_DTYPE_COUNT ? dtypes[d].size : 0;
}

/* ---- name lookup --------------------------------------------------------------------------- */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Insert t[i]; returns the index of an existing tensor with the same name, or -1. */
static int hash_insert(st_file *f, int i)
{
    size_t m = f->hash_cap - 1, h = (size_t)hash_name(f->t[i].name) & m;
    while (f->hash[h] >= 0) {
        if (strcmp(f->t[f->hash[h]].name, f->t[i].name) == 0)
            return f->hash[h];
        h = (h + 1) & m;
    }
    f->hash[h] = i;
    return -1;
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    if (!f || !name || !f->hash_cap)
        return NULL;
    size_t m = f->hash_cap - 1, h = (size_t)hash_name(name) & m;
    while (f->hash[h] >= 0) {
        if (strcmp(f->t[f->hash[h]].name, name) == 0)
            return &f->t[f->hash[h]];
        h = (h + 1) & m;
    }
    return NULL;
}

int st_count(const st_file *f) { return f ? f->n : 0; }

const char *st_path(const st_file *f) { return f && f->path ? f->path : "safetensors"; }

const char *st_shard_path(const st_file *f, int shard)
{
    if (!f || shard < 0 || shard >= f->n_shards || !f->shards[shard].path)
        return st_path(f);
    return f->shards[shard].path;
}

const st_tensor *st_at(const st_file *f, int i)
{
    ABL_ASSERT(f && i >= 0 && i < f->n);
    return &f->t[i];
}

const char *st_metadata(const st_file *f, const char *key)
{
    return f ? json_as_str(json_get(f->meta, key)) : NULL;
}

/* ---- one file ------------------------------------------------------------------------------ */

static abl_status map_file(st_shard *sh, const char *path, abl_err *err)
{
    sh->path = strdup(path);
    if (!sh->path)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return abl_fail(err, ABL_E_IO, "%s: cannot open: %s (hint: check the path)", path,
                        strerror(errno));
    struct stat stt;
    if (fstat(fd, &stt) != 0 || !S_ISREG(stt.st_mode)) {
        close(fd);
        return abl_fail(err, ABL_E_IO, "%s: expected a regular file", path);
    }
    sh->size = (size_t)stt.st_size;
    if (sh->size < 8) {
        close(fd);
        return abl_fail(err, ABL_E_FORMAT,
                        "%s: truncated: expected at least 8 bytes (header length), found %zu",
                        path, sh->size);
    }
    void *m = mmap(NULL, sh->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return abl_fail(err, ABL_E_IO, "%s: cannot mmap %zu bytes: %s", path, sh->size,
                        strerror(errno));
    sh->map = m;
    return ABL_OK;
}

static bool parse_dtype(const char *s, st_dtype *out)
{
    for (int d = 0; d < ST_DTYPE_COUNT; d++)
        if (strcmp(s, dtypes[d].name) == 0) {
            *out = (st_dtype)d;
            return true;
        }
    return false;
}

/* Validate one tensor entry of shard `sh` (data section of data_len bytes) into *t. */
static abl_status parse_entry(const char *path, const char *name, const json_val *v,
                              const unsigned char *data, uint64_t data_len, st_tensor *t,
                              uint64_t *begin_out, abl_err *err)
{
    char qn[96], qd[32];
    json_quote(qn, sizeof qn, name);
    if (v->type != JSON_OBJECT)
        return abl_fail(err, ABL_E_FORMAT, "%s: tensor '%s': expected an object, found %s",
                        path, qn, json_type_name(v->type));
    const char *dt = json_as_str(json_get(v, "dtype"));
    const json_val *shape = json_get(v, "shape"), *offs = json_get(v, "data_offsets");
    if (!dt)
        return abl_fail(err, ABL_E_FORMAT, "%s: tensor '%s': expected a string \"dtype\"", path, qn);
    if (!parse_dtype(dt, &t->dtype))
        return abl_fail(err, ABL_E_FORMAT,
                        "%s: tensor '%s': unknown dtype '%s' (hint: expected F32, F16, BF16, F64, "
                        "I8..I64, U8..U64 or BOOL)", path, qn, json_quote(qd, sizeof qd, dt));
    if (!shape || shape->type != JSON_ARRAY)
        return abl_fail(err, ABL_E_FORMAT, "%s: tensor '%s': expected a \"shape\" array", path, qn);
    if (shape->len > ST_MAX_DIMS)
        return abl_fail(err, ABL_E_FORMAT, "%s: tensor '%s': shape has %zu dims, at most %d supported",
                        path, qn, shape->len, ST_MAX_DIMS);
    size_t esz = dtypes[t->dtype].size;
    int64_t numel = 1;
    t->ndim = (int)shape->len;
    for (size_t k = 0; k < shape->len; k++) {
        int64_t dim;
        if (!json_as_int(&shape->kids[k], &dim) || dim < 0)
            return abl_fail(err, ABL_E_FORMAT,
                            "%s: tensor '%s': shape[%zu]: expected a non-negative integer", path,
                            qn, k);
        if (dim && numel > INT64_MAX / (int64_t)esz / dim)
            return abl_fail(err, ABL_E_FORMAT, "%s: tensor '%s': shape size overflows", path, qn);
        numel *= dim;
        t->shape[k] = dim;
    }
    int64_t b, e;
    if (!offs || offs->type != JSON_ARRAY || offs->len != 2 || !json_as_int(&offs->kids[0], &b) ||
        !json_as_int(&offs->kids[1], &e) || b < 0 || e < b)
        return abl_fail(err, ABL_E_FORMAT,
                        "%s: tensor '%s': expected \"data_offsets\" [begin, end] with "
                        "0 <= begin <= end", path, qn);
    if ((uint64_t)e > data_len)
        return abl_fail(err, ABL_E_FORMAT,
                        "%s: tensor '%s': data_offsets [%lld, %lld] run past the end of the data "
                        "section (%llu bytes) (hint: the file is truncated or corrupt)",
                        path, qn, (long long)b, (long long)e, (unsigned long long)data_len);
    if ((uint64_t)(e - b) != (uint64_t)numel * esz)
        return abl_fail(err, ABL_E_FORMAT,
                        "%s: tensor '%s': shape/size mismatch: %lld elements of %s need %llu "
                        "bytes, data_offsets span %lld", path, qn, (long long)numel,
                        dtypes[t->dtype].name,
                        (unsigned long long)numel * esz, (long long)(e - b));
    t->name = name;
    t->numel = numel;
    t->nbytes = (size_t)(e - b);
    t->data = data + b;
    *begin_out = (uint64_t)b;
    return ABL_OK;
}

typedef struct {
    uint64_t begin, end;
    int idx;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->idx - y->idx;
}

static abl_status grow(st_file *f, size_t extra, abl_err *err)
{
    size_t need = (size_t)f->n + extra;
    st_tensor *t = realloc(f->t, (need ? need : 1) * sizeof *t);
    if (!t)
        return abl_fail(err, ABL_E_NOMEM, "out of memory for %zu tensors", need);
    f->t = t;
    size_t cap = 16;
    while (cap < need * 2)
        cap *= 2;
    if (cap > f->hash_cap) {
        int *h = malloc(cap * sizeof *h);
        if (!h)
            return abl_fail(err, ABL_E_NOMEM, "out of memory for %zu tensors", need);
        free(f->hash);
        f->hash = h;
        f->hash_cap = cap;
        for (size_t i = 0; i < cap; i++)
            h[i] = -1;
        for (int i = 0; i < f->n; i++)
            hash_insert(f, i);
    }
    return ABL_OK;
}

/* Append the validated tensors of shard `si` to f->t (capacity already reserved by caller). */
static abl_status load_shard(st_file *f, int si, abl_err *err)
{
    st_shard *sh = &f->shards[si];
    const char *path = sh->path;
    uint64_t n;
    memcpy(&n, sh->map, 8);
    if (n > ST_MAX_HEADER)
        return abl_fail(err, ABL_E_FORMAT,
                        "%s: header too long: length field says %llu bytes, limit is 100 MB "
                        "(hint: not a safetensors file?)", path, (unsigned long long)n);
    if (n > sh->size - 8)
        return abl_fail(err, ABL_E_FORMAT,
                        "%s: truncated: header length %llu runs past the end of the file "
                        "(%zu bytes)", path, (unsigned long long)n, sh->size);
    char label[512];
    snprintf(label, sizeof label, "%s (header)", path);
    abl_status st = json_parse(&sh->hdr, (const char *)sh->map + 8, (size_t)n, label, err);
    if (st != ABL_OK)
        return st;
    const json_val *root = json_root(sh->hdr);
    if (root->type != JSON_OBJECT)
        return abl_fail(err, ABL_E_FORMAT, "%s: header: expected a JSON object, found %s", path,
                        json_type_name(root->type));
    const unsigned char *data = sh->map + 8 + n;
    uint64_t data_len = sh->size - 8 - n;
    size_t n_t = 0;
    for (size_t k = 0; k < root->len; k++)
        n_t += strcmp(root->keys[k], "__metadata__") != 0 || root->key_lens[k] != 12;
    if ((st = grow(f, n_t, err)) != ABL_OK)
        return st;
    span *sp = malloc((n_t ? n_t : 1) * sizeof *sp);
    if (!sp)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", path);
    size_t ns = 0;
    char q1[96], q2[96];
    for (size_t k = 0; k < root->len; k++) {
        const char *name = root->keys[k];
        const json_val *v = &root->kids[k];
        if (strlen(name) != root->key_lens[k]) {
            st = abl_fail(err, ABL_E_FORMAT, "%s: a tensor name contains a NUL character", path);
            break;
        }
        if (strcmp(name, "__metadata__") == 0) {
            if (v->type != JSON_OBJECT) {
                st = abl_fail(err, ABL_E_FORMAT,
                              "%s: bad __metadata__: expected an object of strings, found %s",
                              path, json_type_name(v->type));
                break;
            }
            for (size_t j = 0; j < v->len && st == ABL_OK; j++)
                if (v->kids[j].type != JSON_STRING)
                    st = abl_fail(err, ABL_E_FORMAT,
                                  "%s: bad __metadata__: value of '%s' must be a string, found %s",
                                  path, json_quote(q1, sizeof q1, v->keys[j]),
                                  json_type_name(v->kids[j].type));
            if (st != ABL_OK)
                break;
            if (si == 0)
                f->meta = v;
            continue;
        }
        st_tensor *t = &f->t[f->n];
        memset(t, 0, sizeof *t);
        t->shard = si;
        uint64_t b = 0;
        st = parse_entry(path, name, v, data, data_len, t, &b, err);
        if (st != ABL_OK)
            break;
        int dup = hash_insert(f, f->n);
        if (dup >= 0) {
            st = abl_fail(err, ABL_E_FORMAT, "%s: duplicate tensor name '%s' (first in %s)", path,
                          json_quote(q1, sizeof q1, name), f->shards[f->t[dup].shard].path);
            break;
        }
        sp[ns].begin = b;
        sp[ns].end = b + t->nbytes;
        sp[ns].idx = f->n;
        ns++;
        f->n++;
    }
    if (st == ABL_OK) {
        qsort(sp, ns, sizeof *sp, cmp_span);
        uint64_t cur = 0;
        for (size_t k = 0; k < ns && st == ABL_OK; k++) {
            if (sp[k].begin < cur)
                st = abl_fail(err, ABL_E_FORMAT,
                              "%s: tensors '%s' and '%s' overlap (bytes %llu.. of the data section)",
                              path, json_quote(q1, sizeof q1, f->t[sp[k - 1].idx].name),
                              json_quote(q2, sizeof q2, f->t[sp[k].idx].name),
                              (unsigned long long)sp[k].begin);
            else if (sp[k].begin > cur)
                st = abl_fail(err, ABL_E_FORMAT,
                              "%s: gap of %llu unused bytes before tensor '%s' at data offset %llu",
                              path, (unsigned long long)(sp[k].begin - cur),
                              json_quote(q1, sizeof q1, f->t[sp[k].idx].name),
                              (unsigned long long)cur);
            cur = sp[k].end;
        }
        if (st == ABL_OK && cur != data_len)
            st = abl_fail(err, ABL_E_FORMAT,
                          "%s: trailing bytes: tensors cover %llu bytes of the %llu-byte data "
                          "section (file size %zu)", path, (unsigned long long)cur,
                          (unsigned long long)data_len, sh->size);
    }
    free(sp);
    return st;
}

static abl_status add_shard(st_file *f, const char *path, abl_err *err)
{
    st_shard *s = realloc(f->shards, (size_t)(f->n_shards + 1) * sizeof *s);
    if (!s)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", path);
    f->shards = s;
    st_shard *sh = &s[f->n_shards++];
    memset(sh, 0, sizeof *sh);
    abl_status st = map_file(sh, path, err);
    if (st == ABL_OK)
        st = load_shard(f, f->n_shards - 1, err);
    return st;
}

/* ---- sharded sets -------------------------------------------------------------------------- */

static abl_status open_index(st_file *f, const char *index_path, abl_err *err)
{
    char *text;
    size_t len = 0;
    abl_status st = abl_read_file(index_path, (size_t)256 << 20, NULL, &text, &len, err);
    if (st != ABL_OK)
        return st;
    json_doc *doc = NULL;
    st = json_parse(&doc, text, len, index_path, err);
    free(text);
    if (st != ABL_OK)
        return st;
    const json_val *wm = json_get(json_root(doc), "weight_map");
    if (!wm || wm->type != JSON_OBJECT || wm->len == 0) {
        json_free(doc);
        return abl_fail(err, ABL_E_FORMAT, "%s: expected a non-empty \"weight_map\" object",
                        index_path);
    }
    /* directory of the index */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", index_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = 0;
    else
        dir[0] = 0;
    char q1[96], q2[96];
    for (size_t k = 0; k < wm->len && st == ABL_OK; k++) {
        const char *file = json_as_str(&wm->kids[k]);
        if (!file || !file[0] || strlen(file) > 255 || strchr(file, '/') ||
            strcmp(file, "..") == 0 || strlen(file) != wm->kids[k].len ||
            strlen(wm->keys[k]) != wm->key_lens[k]) {
            st = abl_fail(err, ABL_E_FORMAT,
                          "%s: weight_map['%s']: expected a file name in the same folder", index_path,
                          json_quote(q1, sizeof q1, wm->keys[k]));
            break;
        }
        bool seen = false;
        for (size_t j = 0; j < k && !seen; j++)
            seen = strcmp(json_as_str(&wm->kids[j]), file) == 0;
        if (seen)
            continue;
        char path[4096 + 256];
        snprintf(path, sizeof path, "%s%s", dir, file);
        st = add_shard(f, path, err);
    }
    /* every mapped name must be in the shard the map names, and every tensor must be mapped */
    for (size_t k = 0; k < wm->len && st == ABL_OK; k++) {
        const st_tensor *t = st_find(f, wm->keys[k]);
        const char *file = wm->kids[k].str;
        if (!t)
            st = abl_fail(err, ABL_E_FORMAT, "%s: weight_map names '%s' but no shard holds it",
                          index_path, json_quote(q1, sizeof q1, wm->keys[k]));
        else {
            const char *sp = f->shards[t->shard].path;
            size_t pl = strlen(sp), fl = strlen(file);
            if (pl < fl || strcmp(sp + pl - fl, file) != 0 || (pl > fl && sp[pl - fl - 1] != '/'))
                st = abl_fail(err, ABL_E_FORMAT, "%s: weight_map puts '%s' in %s but it is in %s",
                              index_path, json_quote(q1, sizeof q1, wm->keys[k]),
                              json_quote(q2, sizeof q2, file), sp);
        }
    }
    if (st == ABL_OK)
        for (int i = 0; i < f->n && st == ABL_OK; i++)
            if (!json_get(wm, f->t[i].name))
                st = abl_fail(err, ABL_E_FORMAT, "%s: tensor '%s' of %s is missing from weight_map",
                              index_path, json_quote(q1, sizeof q1, f->t[i].name),
                              f->shards[f->t[i].shard].path);
    json_free(doc);
    return st;
}

static bool is_file(const char *p)
{
    struct stat s;
    return stat(p, &s) == 0 && S_ISREG(s.st_mode);
}

abl_status st_open(st_file **out, const char *path, abl_err *err)
{
    ABL_ASSERT(out);
    *out = NULL;
    if (!path || !path[0])
        return abl_fail(err, ABL_E_ARG, "safetensors: no path given");
    if (strlen(path) > 3800)
        return abl_fail(err, ABL_E_ARG, "%.80s...: path longer than 3800 bytes", path);
    st_file *f = calloc(1, sizeof *f);
    if (!f)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", path);
    struct stat s;
    abl_status st;
    size_t pl = strlen(path);
    f->path = strdup(path);
    if (!f->path) {
        st = abl_fail(err, ABL_E_NOMEM, "%s: out of memory", path);
    } else if (stat(path, &s) != 0) {
        st = abl_fail(err, ABL_E_IO, "%s: cannot open: %s (hint: check the path)", path,
                      strerror(errno));
    } else if (S_ISDIR(s.st_mode)) {
        char p1[4096], p2[4096];
        snprintf(p1, sizeof p1, "%s/model.safetensors", path);
        snprintf(p2, sizeof p2, "%s/model.safetensors.index.json", path);
        if (is_file(p1))
            st = add_shard(f, p1, err);
        else if (is_file(p2))
            st = open_index(f, p2, err);
        else
            st = abl_fail(err, ABL_E_IO,
                          "%s: expected model.safetensors or model.safetensors.index.json in this "
                          "folder, found neither (hint: run `make model` or pass a model folder)",
                          path);
    } else if (pl >= 11 && strcmp(path + pl - 11, ".index.json") == 0) {
        st = open_index(f, path, err);
    } else {
        st = add_shard(f, path, err);
    }
    if (st != ABL_OK) {
        st_close(f);
        return st;
    }
    *out = f;
    return ABL_OK;
}

void st_close(st_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_shards; i++) {
        if (f->shards[i].map)
            munmap((void *)f->shards[i].map, f->shards[i].size);
        json_free(f->shards[i].hdr);
        free(f->shards[i].path);
    }
    free(f->shards);
    free(f->t);
    free(f->hash);
    free(f->path);
    free(f);
}

/* ---- conversion ---------------------------------------------------------------------------- */

/* IEEE half -> float, exact for every input (subnormals, +-0, +-Inf, NaN payload kept). */
float st_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0x1f)
        bits = sign | 0x7f800000u | (m << 13);
    else if (e != 0)
        bits = sign | ((e + 112) << 23) | (m << 13);
    else if (m == 0)
        bits = sign;
    else {
        /* subnormal: normalise the mantissa */
        int sh = 0;
        while (!(m & 0x400)) {
            m <<= 1;
            sh++;
        }
        bits = sign | ((uint32_t)(113 - sh) << 23) | ((m & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float st_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

abl_status st_copy_f32(const st_tensor *t, float *dst, size_t n, abl_err *err)
{
    ABL_ASSERT(t && (dst || n == 0));
    if (n != (size_t)t->numel)
        return abl_fail(err, ABL_E_SHAPE, "tensor '%.80s': expected %zu elements, found %lld",
                        t->name, n, (long long)t->numel);
    const unsigned char *p = t->data;
    size_t es = st_dtype_size(t->dtype);
    if (t->dtype == ST_F32) {
        memcpy(dst, p, n * sizeof *dst);
        return ABL_OK;
    }
    for (size_t i = 0; i < n; i++, p += es) {
        union { uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64; int8_t i8; int16_t i16;
                int32_t i32; int64_t i64; float f; double d; } u;
        memcpy(&u, p, es);
        float x = 0;
        switch (t->dtype) {
        case ST_F32: x = u.f; break;
        case ST_F16: x = st_f16_to_f32(u.u16); break;
        case ST_BF16: x = st_bf16_to_f32(u.u16); break;
        case ST_F64: x = (float)u.d; break;
        case ST_I8: x = (float)u.i8; break;
        case ST_I16: x = (float)u.i16; break;
        case ST_I32: x = (float)u.i32; break;
        case ST_I64: x = (float)u.i64; break;
        case ST_U8: x = (float)u.u8; break;
        case ST_U16: x = (float)u.u16; break;
        case ST_U32: x = (float)u.u32; break;
        case ST_U64: x = (float)u.u64; break;
        case ST_BOOL: x = u.u8 ? 1.0f : 0.0f; break;
        default: ABL_ASSERT(!"dtype");
        }
        dst[i] = x;
    }
    return ABL_OK;
}

abl_status st_read_f32(const st_tensor *t, const float **data, float **owned, abl_err *err)
{
    ABL_ASSERT(t && data && owned);
    *data = NULL;
    *owned = NULL;
    if (t->dtype == ST_F32 && ((uintptr_t)t->data & 3) == 0) {
        *data = t->data;
        return ABL_OK;
    }
    size_t n = (size_t)t->numel;
    float *o = malloc((n ? n : 1) * sizeof *o);
    if (!o)
        return abl_fail(err, ABL_E_NOMEM, "tensor '%.80s': out of memory for %zu floats", t->name, n);
    abl_status st = st_copy_f32(t, o, n, err);
    if (st != ABL_OK) {
        free(o);
        return st;
    }
    *data = o;
    *owned = o;
    return ABL_OK;
}
