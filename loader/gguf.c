/* loader/gguf.c - GGUF v2/v3 parser: a bounds-checked cursor over the mapped bytes builds the
 * key/value and tensor tables; nothing is read before its length has been checked. */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAX_KEY 65535u   /* the specification's limit on key length */
#define GGUF_MAX_NAME 1024u   /* generous; ggml itself allows 63 bytes */

struct gguf_file {
    char *label;
    const uint8_t *base;
    size_t size;
    void *map;           /* non-NULL when we mapped the file ourselves */
    size_t map_len;
    uint32_t version, alignment;
    uint64_t data_start;
    gguf_kv *kvs;
    int n_kv;
    gguf_tensor *tensors;
    int n_tensors;
};

typedef struct {
    const uint8_t *p;
    size_t len, pos;
    const char *name;
    abl_err *err;
} cursor;

typedef struct {
    int block, size;
    const char *name;
} type_info;

static const type_info TYPES[] = {
    [GGUF_T_F32] = {1, 4, "F32"},       [GGUF_T_F16] = {1, 2, "F16"},
    [GGUF_T_Q4_0] = {32, 18, "Q4_0"},   [GGUF_T_Q4_1] = {32, 20, "Q4_1"},
    [GGUF_T_Q5_0] = {32, 22, "Q5_0"},   [GGUF_T_Q5_1] = {32, 24, "Q5_1"},
    [GGUF_T_Q8_0] = {32, 34, "Q8_0"},   [GGUF_T_Q8_1] = {32, 40, "Q8_1"},
    [GGUF_T_Q2_K] = {256, 84, "Q2_K"},  [GGUF_T_Q3_K] = {256, 110, "Q3_K"},
    [GGUF_T_Q4_K] = {256, 144, "Q4_K"}, [GGUF_T_Q5_K] = {256, 176, "Q5_K"},
    [GGUF_T_Q6_K] = {256, 210, "Q6_K"}, [GGUF_T_Q8_K] = {256, 292, "Q8_K"},
    [GGUF_T_I8] = {1, 1, "I8"},         [GGUF_T_I16] = {1, 2, "I16"},
    [GGUF_T_I32] = {1, 4, "I32"},       [GGUF_T_I64] = {1, 8, "I64"},
    [GGUF_T_F64] = {1, 8, "F64"},       [GGUF_T_BF16] = {1, 2, "BF16"},
};

/* Byte size of one scalar of each value type (0 for STR and ARR, which are variable). */
static const int VSIZE[GGUF_V_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
static const char *VNAME[GGUF_V_COUNT] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                          "bool", "string", "array", "u64", "i64", "f64"};

int gguf_type_block(int type)
{
    return type >= 0 && (size_t)type < ABL_ARRAY_LEN(TYPES) ? TYPES[type].block : 0;
}

int gguf_type_size(int type)
{
    return type >= 0 && (size_t)type < ABL_ARRAY_LEN(TYPES) ? TYPES[type].size : 0;
}

const char *gguf_type_name(int type)
{
    return gguf_type_block(type) ? TYPES[type].name : "?";
}

const char *gguf_vtype_name(int vtype)
{
    return vtype >= 0 && vtype < GGUF_V_COUNT ? VNAME[vtype] : "?";
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---- cursor ------------------------------------------------------------------------------- */

static abl_status cur_fail(cursor *c, abl_status code, const char *what, const char *found,
                           const char *hint)
{
    return abl_fail(c->err, code, "%s: byte %zu: expected %s, found %s (hint: %s)", c->name,
                    c->pos, what, found, hint);
}

static abl_status need(cursor *c, uint64_t n, const char *what)
{
    if (n > c->len - c->pos) {
        char found[96];
        snprintf(found, sizeof found, "%zu bytes left but %llu needed", c->len - c->pos,
                 (unsigned long long)n);
        return cur_fail(c, ABL_E_FORMAT, what, found,
                        "the file is truncated or corrupt; download it again");
    }
    return ABL_OK;
}

static abl_status rd(cursor *c, int n, uint64_t *v, const char *what)
{
    abl_status s = need(c, (uint64_t)n, what);
    if (s)
        return s;
    *v = le(c->p + c->pos, n);
    c->pos += (size_t)n;
    return ABL_OK;
}

/* A length-prefixed string; max bounds its length (besides the file end). */
static abl_status rd_str(cursor *c, uint64_t max, gguf_str *out, const char *what)
{
    size_t at = c->pos;
    uint64_t n;
    abl_status s = rd(c, 8, &n, what);
    if (s)
        return s;
    if (n > max || n > c->len - c->pos) {
        c->pos = at;
        char found[96];
        snprintf(found, sizeof found, "a length of %llu bytes (%zu bytes remain)",
                 (unsigned long long)n, c->len - c->pos - 8);
        return cur_fail(c, ABL_E_FORMAT, what, found, "the file is truncated or corrupt");
    }
    out->ptr = (const char *)c->p + c->pos;
    out->len = (size_t)n;
    c->pos += (size_t)n;
    return ABL_OK;
}

/* Copy a name/key into a NUL-terminated string; empty or with a NUL byte is an error. */
static abl_status dup_name(cursor *c, gguf_str s, char **out, const char *what)
{
    if (s.len == 0 || memchr(s.ptr, 0, s.len))
        return cur_fail(c, ABL_E_FORMAT, what, s.len ? "a NUL byte inside" : "an empty string",
                        "the file is corrupt");
    *out = malloc(s.len + 1);
    if (!*out)
        return abl_fail(c->err, ABL_E_NOMEM, "%s: out of memory", c->name);
    memcpy(*out, s.ptr, s.len);
    (*out)[s.len] = 0;
    return ABL_OK;
}

/* ---- key/values ---------------------------------------------------------------------------- */

static abl_status rd_values(cursor *c, gguf_kv *kv, const char *key)
{
    char what[160];
    snprintf(what, sizeof what, "the value of '%.100s'", key);
    if (kv->arr_type >= GGUF_V_COUNT) {
        char found[48];
        snprintf(found, sizeof found, "value type %u", (unsigned)kv->arr_type);
        return cur_fail(c, ABL_E_FORMAT, "a value type 0..12", found, "the file is corrupt");
    }
    if (kv->arr_type == GGUF_V_ARR)
        return cur_fail(c, ABL_E_UNSUPPORTED, "an array of scalars or strings",
                        "a nested array", "nested metadata arrays are not supported");
    kv->data = c->p + c->pos;
    if (kv->arr_type != GGUF_V_STR) {
        uint64_t sz = (uint64_t)VSIZE[kv->arr_type];
        if (kv->n > (c->len - c->pos) / sz) {
            char found[96];
            snprintf(found, sizeof found, "%llu elements of %llu bytes past the end",
                     (unsigned long long)kv->n, (unsigned long long)sz);
            return cur_fail(c, ABL_E_FORMAT, what, found, "the file is truncated or corrupt");
        }
        if (kv->arr_type == GGUF_V_BOOL)
            for (uint64_t i = 0; i < kv->n; i++)
                if (c->p[c->pos + i] > 1) {
                    c->pos += (size_t)i;
                    return cur_fail(c, ABL_E_FORMAT, "a bool 0 or 1", "another byte value",
                                    "the file is corrupt");
                }
        c->pos += (size_t)(kv->n * sz);
        return ABL_OK;
    }
    /* every string takes at least 8 bytes: bound the count before allocating */
    if (kv->n > (c->len - c->pos) / 8) {
        char found[96];
        snprintf(found, sizeof found, "%llu strings in %zu bytes", (unsigned long long)kv->n,
                 c->len - c->pos);
        return cur_fail(c, ABL_E_FORMAT, what, found, "the file is truncated or corrupt");
    }
    gguf_str *strs = malloc((size_t)(kv->n ? kv->n : 1) * sizeof *strs);
    if (!strs)
        return abl_fail(c->err, ABL_E_NOMEM, "%s: out of memory", c->name);
    kv->strs = strs;
    for (uint64_t i = 0; i < kv->n; i++) {
        abl_status s = rd_str(c, UINT64_MAX, &strs[i], what);
        if (s)
            return s;
    }
    return ABL_OK;
}

static abl_status rd_kv(cursor *c, gguf_file *f, gguf_kv *kv)
{
    gguf_str key;
    abl_status s = rd_str(c, GGUF_MAX_KEY, &key, "a metadata key (at most 65535 bytes)");
    if (s)
        return s;
    char *k;
    if ((s = dup_name(c, key, &k, "a non-empty metadata key")))
        return s;
    kv->key = k;
    for (int i = 0; i < f->n_kv; i++)
        if (strcmp(f->kvs[i].key, k) == 0) {
            char found[160];
            snprintf(found, sizeof found, "'%.100s' twice", k);
            return cur_fail(c, ABL_E_FORMAT, "unique metadata keys", found,
                            "the file is corrupt");
        }
    uint64_t t;
    if ((s = rd(c, 4, &t, "a value type")))
        return s;
    if (t >= GGUF_V_COUNT) {
        char found[48];
        c->pos -= 4;
        snprintf(found, sizeof found, "value type %llu", (unsigned long long)t);
        return cur_fail(c, ABL_E_FORMAT, "a value type 0..12", found,
                        "the file is corrupt or from a newer GGUF version");
    }
    kv->type = kv->arr_type = (gguf_vtype)t;
    kv->n = 1;
    if (t == GGUF_V_ARR) {
        uint64_t at, n;
        if ((s = rd(c, 4, &at, "an array element type")) || (s = rd(c, 8, &n, "an array count")))
            return s;
        kv->arr_type = at < GGUF_V_COUNT ? (gguf_vtype)at : GGUF_V_COUNT;
        kv->n = n;
        if (at >= GGUF_V_COUNT) {
            c->pos -= 12;
            char found[48];
            snprintf(found, sizeof found, "element type %llu", (unsigned long long)at);
            return cur_fail(c, ABL_E_FORMAT, "an array element type 0..12", found,
                            "the file is corrupt");
        }
    }
    return rd_values(c, kv, k);
}

/* ---- tensors ------------------------------------------------------------------------------- */

static abl_status rd_tensor(cursor *c, gguf_file *f, gguf_tensor *t)
{
    gguf_str name;
    abl_status s = rd_str(c, GGUF_MAX_NAME, &name, "a tensor name (at most 1024 bytes)");
    if (s)
        return s;
    char *nm;
    if ((s = dup_name(c, name, &nm, "a non-empty tensor name")))
        return s;
    t->name = nm;
    uint64_t v;
    if ((s = rd(c, 4, &v, "a dimension count")))
        return s;
    if (v < 1 || v > GGUF_MAX_DIMS) {
        char found[112];
        c->pos -= 4;
        snprintf(found, sizeof found, "%llu for tensor '%.60s'", (unsigned long long)v, nm);
        return cur_fail(c, ABL_E_FORMAT, "1 to 4 dimensions", found, "the file is corrupt");
    }
    t->ndim = (int)v;
    uint64_t numel = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++)
        t->ne[d] = 1;
    for (int d = 0; d < t->ndim; d++) {
        if ((s = rd(c, 8, &v, "a dimension")))
            return s;
        if (v > (uint64_t)INT64_MAX || (v && numel > (uint64_t)INT64_MAX / v)) {
            char found[96];
            c->pos -= 8;
            snprintf(found, sizeof found, "dimension %llu of '%.60s' overflowing int64",
                     (unsigned long long)v, nm);
            return cur_fail(c, ABL_E_FORMAT, "a tensor size that fits in 64 bits", found,
                            "the file is corrupt");
        }
        t->ne[d] = (int64_t)v;
        numel *= v;
    }
    t->numel = (int64_t)numel;
    if ((s = rd(c, 4, &v, "a tensor type")))
        return s;
    int blk = gguf_type_block((int)(v > 1000 ? 1000 : v));
    if (!blk) {
        char found[96];
        c->pos -= 4;
        snprintf(found, sizeof found, "type number %llu for tensor '%.60s'",
                 (unsigned long long)v, nm);
        return cur_fail(c, ABL_E_UNSUPPORTED, "a known tensor type (F32, F16, BF16, Q4_0..Q8_K)",
                        found, "requantize the model to a supported type, e.g. Q8_0 or F16");
    }
    t->type = (gguf_ttype)v;
    if (t->ne[0] % blk) {
        char found[96];
        snprintf(found, sizeof found, "row length %lld for %s tensor '%.60s'",
                 (long long)t->ne[0], gguf_type_name(t->type), nm);
        return cur_fail(c, ABL_E_FORMAT, "a row length that is a multiple of the block size",
                        found, "the file is corrupt");
    }
    uint64_t blocks = numel / (uint64_t)blk, bsz = (uint64_t)gguf_type_size(t->type);
    if (blocks > (uint64_t)SIZE_MAX / bsz || blocks * bsz > c->len)
        return cur_fail(c, ABL_E_FORMAT, "a tensor no larger than the file",
                        "a tensor size past the end of the file", "the file is corrupt");
    t->nbytes = (size_t)(blocks * bsz);
    if ((s = rd(c, 8, &t->offset, "a tensor data offset")))
        return s;
    for (int i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, nm) == 0) {
            char found[100];
            snprintf(found, sizeof found, "'%.60s' twice", nm);
            return cur_fail(c, ABL_E_FORMAT, "unique tensor names", found, "the file is corrupt");
        }
    return ABL_OK;
}

static int cmp_offset(const void *a, const void *b)
{
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Offsets aligned, spans inside the data section, no two spans overlapping. */
static abl_status check_spans(gguf_file *f, abl_err *err)
{
    uint64_t avail = f->data_start <= f->size ? f->size - f->data_start : 0;
    for (int i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        if (t->offset % f->alignment)
            return abl_fail(err, ABL_E_FORMAT,
                            "%s: tensor '%s': expected a data offset aligned to %u, found %llu "
                            "(hint: the file is corrupt)",
                            f->label, t->name, f->alignment, (unsigned long long)t->offset);
        if (t->offset > avail || t->nbytes > avail - t->offset)
            return abl_fail(err, ABL_E_FORMAT,
                            "%s: tensor '%s': expected its %zu bytes at data offset %llu inside "
                            "the %llu-byte data section, found them past the end (hint: the "
                            "file is truncated; download it again)",
                            f->label, t->name, t->nbytes, (unsigned long long)t->offset,
                            (unsigned long long)avail);
        /* an empty tensor may sit at the very end, where the data section can start past EOF */
        t->data = t->nbytes ? f->base + f->data_start + t->offset : f->base;
    }
    if (f->n_tensors < 2)
        return ABL_OK;
    const gguf_tensor **order = malloc((size_t)f->n_tensors * sizeof *order);
    if (!order)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", f->label);
    for (int i = 0; i < f->n_tensors; i++)
        order[i] = &f->tensors[i];
    qsort(order, (size_t)f->n_tensors, sizeof *order, cmp_offset);
    abl_status s = ABL_OK;
    for (int i = 1; i < f->n_tensors && !s; i++)
        if (order[i - 1]->offset + order[i - 1]->nbytes > order[i]->offset)
            s = abl_fail(err, ABL_E_FORMAT,
                         "%s: expected non-overlapping tensors, found '%s' (offset %llu, %zu "
                         "bytes) overlapping '%s' (offset %llu) (hint: the file is corrupt)",
                         f->label, order[i - 1]->name, (unsigned long long)order[i - 1]->offset,
                         order[i - 1]->nbytes, order[i]->name,
                         (unsigned long long)order[i]->offset);
    free(order);
    return s;
}

/* ---- whole file ---------------------------------------------------------------------------- */

static abl_status grow(void **arr, int *cap, int need_n, size_t elem)
{
    if (need_n <= *cap)
        return ABL_OK;
    int nc = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p)
        return ABL_E_NOMEM;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = p;
    *cap = nc;
    return ABL_OK;
}

static abl_status parse(gguf_file *f, abl_err *err)
{
    cursor c = {f->base, f->size, 0, f->label, err};
    uint64_t magic, ver, n_t, n_kv;
    abl_status s = rd(&c, 4, &magic, "the 4-byte magic 'GGUF'");
    if (s)
        return s;
    if (magic != 0x46554747u) {
        c.pos = 0;
        return cur_fail(&c, ABL_E_FORMAT, "the magic 'GGUF'", "other bytes",
                        "this is not a GGUF file");
    }
    if ((s = rd(&c, 4, &ver, "a version")))
        return s;
    if (ver != 2 && ver != 3) {
        char found[64];
        c.pos = 4;
        snprintf(found, sizeof found, "version %llu%s", (unsigned long long)ver,
                 (ver & 0xffff) == 0 ? " (a big-endian file)" : "");
        return cur_fail(&c, ABL_E_UNSUPPORTED, "GGUF version 2 or 3", found,
                        "convert the model with a current llama.cpp to little-endian GGUF v3");
    }
    f->version = (uint32_t)ver;
    if ((s = rd(&c, 8, &n_t, "a tensor count")) || (s = rd(&c, 8, &n_kv, "a metadata count")))
        return s;
    /* a tensor descriptor takes >= 33 bytes and a key/value >= 14: bound both counts */
    size_t left = c.len - c.pos;
    if (n_t > left / 33 || n_kv > left / 14 || n_t > INT32_MAX || n_kv > INT32_MAX) {
        char found[96];
        c.pos = 8;
        snprintf(found, sizeof found, "%llu tensors and %llu keys in %zu bytes",
                 (unsigned long long)n_t, (unsigned long long)n_kv, left);
        return cur_fail(&c, ABL_E_FORMAT, "counts that fit in the file", found,
                        "the file is truncated or corrupt");
    }
    int cap = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        if (grow((void **)&f->kvs, &cap, f->n_kv + 1, sizeof *f->kvs))
            return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", f->label);
        gguf_kv *kv = &f->kvs[f->n_kv];
        s = rd_kv(&c, f, kv);
        f->n_kv++; /* counted even on failure so gguf_close frees its parts */
        if (s)
            return s;
    }
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *al = gguf_find_kv(f, "general.alignment");
    if (al) {
        uint64_t a = al->type == GGUF_V_U32 ? le(al->data, 4) : 0;
        if (a == 0 || (a & (a - 1)))
            return abl_fail(err, ABL_E_FORMAT,
                            "%s: general.alignment: expected a u32 power of two, found %s %llu "
                            "(hint: the file is corrupt)",
                            f->label, gguf_vtype_name(al->type), (unsigned long long)a);
        f->alignment = (uint32_t)a;
    }
    cap = 0;
    for (uint64_t i = 0; i < n_t; i++) {
        if (grow((void **)&f->tensors, &cap, f->n_tensors + 1, sizeof *f->tensors))
            return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", f->label);
        s = rd_tensor(&c, f, &f->tensors[f->n_tensors]);
        f->n_tensors++;
        if (s)
            return s;
    }
    f->data_start = ((uint64_t)c.pos + f->alignment - 1) / f->alignment * f->alignment;
    return check_spans(f, err);
}

static abl_status open_common(gguf_file **out, gguf_file *f, abl_err *err)
{
    abl_status s = parse(f, err);
    if (s) {
        gguf_close(f);
        return s;
    }
    *out = f;
    return ABL_OK;
}

static gguf_file *new_file(const char *name)
{
    gguf_file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->label = strdup(name ? name : "(gguf)");
    if (!f->label) {
        free(f);
        return NULL;
    }
    return f;
}

abl_status gguf_open_mem(gguf_file **out, const void *buf, size_t len, const char *name,
                         abl_err *err)
{
    *out = NULL;
    gguf_file *f = new_file(name);
    if (!f)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", name ? name : "(gguf)");
    f->base = buf ? buf : (const uint8_t *)"";
    f->size = buf ? len : 0;
    return open_common(out, f, err);
}

abl_status gguf_open(gguf_file **out, const char *path, abl_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return abl_fail(err, ABL_E_IO, "%s: cannot open: %s (hint: check the path; `make model` "
                        "fetches the default model)", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return abl_fail(err, ABL_E_IO, "%s: expected a regular file, found %s", path,
                        "something else (a directory or device)");
    }
    gguf_file *f = new_file(path);
    if (!f) {
        close(fd);
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", path);
    }
    size_t size = (size_t)st.st_size;
    if (size > 0) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            gguf_close(f);
            return abl_fail(err, ABL_E_IO, "%s: cannot map %zu bytes: %s", path, size,
                            strerror(e));
        }
        f->map = m;
        f->map_len = size;
        f->base = m;
    } else {
        f->base = (const uint8_t *)"";
    }
    close(fd);
    f->size = size;
    return open_common(out, f, err);
}

void gguf_close(gguf_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_kv; i++) {
        free((void *)f->kvs[i].key);
        free((void *)f->kvs[i].strs);
    }
    for (int i = 0; i < f->n_tensors; i++)
        free((void *)f->tensors[i].name);
    free(f->kvs);
    free(f->tensors);
    if (f->map)
        munmap(f->map, f->map_len);
    free(f->label);
    free(f);
}

uint32_t gguf_version(const gguf_file *f) { return f->version; }
uint32_t gguf_alignment(const gguf_file *f) { return f->alignment; }
const char *gguf_name(const gguf_file *f) { return f->label; }
int gguf_kv_count(const gguf_file *f) { return f->n_kv; }
int gguf_tensor_count(const gguf_file *f) { return f->n_tensors; }

const gguf_kv *gguf_kv_at(const gguf_file *f, int i)
{
    ABL_ASSERT(i >= 0 && i < f->n_kv);
    return &f->kvs[i];
}

const gguf_tensor *gguf_tensor_at(const gguf_file *f, int i)
{
    ABL_ASSERT(i >= 0 && i < f->n_tensors);
    return &f->tensors[i];
}

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key)
{
    for (int i = 0; i < f->n_kv; i++)
        if (f->kvs[i].key && strcmp(f->kvs[i].key, key) == 0)
            return &f->kvs[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    for (int i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].name && strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

bool gguf_kv_int(const gguf_kv *kv, uint64_t i, int64_t *out)
{
    if (!kv || i >= kv->n)
        return false;
    gguf_vtype t = kv->arr_type;
    if (t >= GGUF_V_COUNT || t == GGUF_V_F32 || t == GGUF_V_F64 || t == GGUF_V_STR ||
        t == GGUF_V_ARR)
        return false;
    int sz = VSIZE[t];
    uint64_t v = le(kv->data + i * (uint64_t)sz, sz);
    switch (t) {
    case GGUF_V_I8: *out = (int8_t)v; break;
    case GGUF_V_I16: *out = (int16_t)v; break;
    case GGUF_V_I32: *out = (int32_t)v; break;
    case GGUF_V_I64: *out = (int64_t)v; break;
    case GGUF_V_U64:
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
        break;
    default: *out = (int64_t)v; break; /* u8, u16, u32, bool */
    }
    return true;
}

bool gguf_kv_num(const gguf_kv *kv, uint64_t i, double *out)
{
    if (!kv || i >= kv->n)
        return false;
    if (kv->arr_type == GGUF_V_F32) {
        uint32_t b = (uint32_t)le(kv->data + i * 4, 4);
        float x;
        memcpy(&x, &b, 4);
        *out = x;
        return true;
    }
    if (kv->arr_type == GGUF_V_F64) {
        uint64_t b = le(kv->data + i * 8, 8);
        memcpy(out, &b, 8);
        return true;
    }
    if (kv->arr_type == GGUF_V_U64) {
        *out = (double)le(kv->data + i * 8, 8);
        return true;
    }
    int64_t v;
    if (!gguf_kv_int(kv, i, &v))
        return false;
    *out = (double)v;
    return true;
}

bool gguf_kv_str(const gguf_kv *kv, uint64_t i, gguf_str *out)
{
    if (!kv || i >= kv->n || kv->arr_type != GGUF_V_STR || !kv->strs)
        return false;
    *out = kv->strs[i];
    return true;
}
