/* loader/safetensors.h - validating, mmap-based reader for Hugging Face safetensors files
 * (single file or sharded through model.safetensors.index.json). */
#ifndef SAFETENSORS_H
#define SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "../base/abl.h"

typedef enum {
    ST_F32, ST_F16, ST_BF16, ST_F64, ST_I8, ST_I16, ST_I32, ST_I64,
    ST_U8, ST_U16, ST_U32, ST_U64, ST_BOOL, ST_DTYPE_COUNT
} st_dtype;

#define ST_MAX_DIMS 8

typedef struct {
    const char *name;           /* tensor name, NUL-terminated */
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    const void *data;           /* points into the mmap */
    size_t nbytes;
    int shard;                  /* which file of a sharded set */
} st_tensor;

typedef struct st_file st_file;

/* Open a .safetensors file, or a directory holding model.safetensors or
 * model.safetensors.index.json (shards). Validates everything (header size <= 100 MB, JSON
 * object, dtypes, shape x dtype size == span, spans in bounds, no overlap, no gap, exact file
 * size). On failure *out is NULL and err names the file and the problem. */
abl_status st_open(st_file **out, const char *path, abl_err *err);

/* Unmaps and frees. NULL is fine. */
void st_close(st_file *f);

int st_count(const st_file *f);
const st_tensor *st_at(const st_file *f, int i);          /* i in [0, st_count) */
const st_tensor *st_find(const st_file *f, const char *name); /* NULL when absent */
const char *st_metadata(const st_file *f, const char *key);  /* __metadata__ value or NULL */
const char *st_path(const st_file *f);   /* the path given to st_open (for messages) */
/* The file that holds shard `shard` (st_tensor.shard): the full .safetensors path, for
 * messages; st_path(f) when out of range. Borrowed, valid until st_close. Thread-safe. */
const char *st_shard_path(const st_file *f, int shard);

const char *st_dtype_name(st_dtype d);   /* "F32", ... */
size_t st_dtype_size(st_dtype d);        /* bytes per element (BOOL = 1) */

/* The tensor as F32. When it is F32 and 4-byte aligned, *data points into the mmap and
 * *owned = NULL; otherwise the tensor is converted (F16/BF16 round-to-nearest-even exact,
 * NaN/Inf preserved; F64 rounded; integers converted) into a malloc'ed buffer returned in both
 * *data and *owned, which the caller frees. */
abl_status st_read_f32(const st_tensor *t, const float **data, float **owned, abl_err *err);

/* Convert the tensor to F32 into caller-owned dst of n floats (n must equal numel, else
 * ABL_E_SHAPE); same conversions as st_read_f32. For loaders that allocate once up front. */
abl_status st_copy_f32(const st_tensor *t, float *dst, size_t n, abl_err *err);

/* Exact widening of one IEEE half / bfloat16 value (subnormals, +-0, +-Inf and NaN payloads
 * kept). Pure functions, thread-safe. */
float st_f16_to_f32(uint16_t h);
float st_bf16_to_f32(uint16_t h);

#endif
