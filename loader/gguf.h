/* loader/gguf.h - validating reader for GGUF v2/v3 files (llama.cpp's model format): metadata
 * key/values and tensor descriptors, every count, length, offset and size checked before use. */
#ifndef GGUF_H
#define GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/abl.h"

/* Metadata value types, numbered as in the GGUF specification. */
typedef enum {
    GGUF_V_U8 = 0, GGUF_V_I8 = 1, GGUF_V_U16 = 2, GGUF_V_I16 = 3, GGUF_V_U32 = 4,
    GGUF_V_I32 = 5, GGUF_V_F32 = 6, GGUF_V_BOOL = 7, GGUF_V_STR = 8, GGUF_V_ARR = 9,
    GGUF_V_U64 = 10, GGUF_V_I64 = 11, GGUF_V_F64 = 12, GGUF_V_COUNT
} gguf_vtype;

/* Tensor types (ggml_type numbers). Only the ones with a known block layout are listed; a file
 * using any other number is rejected with ABL_E_UNSUPPORTED. */
typedef enum {
    GGUF_T_F32 = 0, GGUF_T_F16 = 1, GGUF_T_Q4_0 = 2, GGUF_T_Q4_1 = 3, GGUF_T_Q5_0 = 6,
    GGUF_T_Q5_1 = 7, GGUF_T_Q8_0 = 8, GGUF_T_Q8_1 = 9, GGUF_T_Q2_K = 10, GGUF_T_Q3_K = 11,
    GGUF_T_Q4_K = 12, GGUF_T_Q5_K = 13, GGUF_T_Q6_K = 14, GGUF_T_Q8_K = 15, GGUF_T_I8 = 24,
    GGUF_T_I16 = 25, GGUF_T_I32 = 26, GGUF_T_I64 = 27, GGUF_T_F64 = 28, GGUF_T_BF16 = 30
} gguf_ttype;

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32

/* A string inside the file: not NUL-terminated, may hold any bytes. */
typedef struct {
    const char *ptr;
    size_t len;
} gguf_str;

/* One metadata entry. Scalars have n == 1; arrays have type GGUF_V_ARR, elements of arr_type. */
typedef struct {
    const char *key;        /* NUL-terminated copy owned by the file handle */
    gguf_vtype type;
    gguf_vtype arr_type;    /* element type when type == GGUF_V_ARR, else == type */
    uint64_t n;             /* element count (1 for scalars) */
    const uint8_t *data;    /* first value byte, little-endian, unaligned, inside the file */
    const gguf_str *strs;   /* n strings when the (element) type is STR, else NULL */
} gguf_kv;

/* One tensor descriptor. ne[0] is the fastest-varying dimension (a row), as in ggml; the
 * Hugging Face / numpy shape is ne reversed: (ne[ndim-1], ..., ne[0]). */
typedef struct {
    const char *name;       /* NUL-terminated copy owned by the file handle */
    gguf_ttype type;
    int ndim;               /* 1..GGUF_MAX_DIMS */
    int64_t ne[GGUF_MAX_DIMS]; /* unused dims are 1 */
    int64_t numel;
    uint64_t offset;        /* from the start of the data section, a multiple of the alignment */
    size_t nbytes;          /* numel / block elems * block bytes */
    const void *data;       /* inside the file */
} gguf_tensor;

typedef struct gguf_file gguf_file;

/* Open and validate the GGUF file at path (mapped read-only). Checks: magic, version 2 or 3
 * (big-endian files are refused), tensor and key counts bounded by the file size, every string
 * and array length inside the file, known value types (nested arrays are refused), bools 0/1,
 * unique keys and tensor names, general.alignment (u32 power of two, default 32), known tensor
 * types, dims >= 0 with overflow-checked sizes, row length a multiple of the block size, tensor
 * offsets aligned, inside the file and non-overlapping. On failure *out is NULL and err says
 * "<path>: byte <offset>: expected X, found Y (hint: ...)". Thread-safe (no globals). */
abl_status gguf_open(gguf_file **out, const char *path, abl_err *err);

/* Same, over the caller's bytes buf[0..len), which must outlive the handle (not copied).
 * name labels errors. Used by tests and the fuzz target. */
abl_status gguf_open_mem(gguf_file **out, const void *buf, size_t len, const char *name,
                         abl_err *err);

/* Unmap (when opened from a path) and free everything. NULL is fine. */
void gguf_close(gguf_file *f);

uint32_t gguf_version(const gguf_file *f);
uint32_t gguf_alignment(const gguf_file *f);
const char *gguf_name(const gguf_file *f);  /* the path or label given at open */

int gguf_kv_count(const gguf_file *f);
const gguf_kv *gguf_kv_at(const gguf_file *f, int i);           /* i in [0, count) */
const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key); /* NULL when absent */

/* Element i (0 for scalars) of an integer or bool entry as int64. False when kv is NULL, not an
 * integer/bool, i >= n, or a U64 value above INT64_MAX. */
bool gguf_kv_int(const gguf_kv *kv, uint64_t i, int64_t *out);
/* Element i of any numeric entry (integers, bools, F32, F64) as double. False otherwise. */
bool gguf_kv_num(const gguf_kv *kv, uint64_t i, double *out);
/* Element i of a STR entry (or array of STR). False otherwise. */
bool gguf_kv_str(const gguf_kv *kv, uint64_t i, gguf_str *out);

int gguf_tensor_count(const gguf_file *f);
const gguf_tensor *gguf_tensor_at(const gguf_file *f, int i);               /* file order */
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);  /* NULL when absent */

/* Per-type layout: elements per block and bytes per block; 0 for an unknown type number.
 * gguf_type_name returns "F32", "Q4_K", ... or "?" (never NULL). */
int gguf_type_block(int type);
int gguf_type_size(int type);
const char *gguf_type_name(int type);
const char *gguf_vtype_name(int vtype);

#endif
