/* loader/st_write.h - writes F32 safetensors files (header JSON + contiguous tensor data),
 * atomically: everything goes to a temp file in the same folder, renamed into place at the end. */
#ifndef ST_WRITE_H
#define ST_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "../base/abl.h"

typedef struct st_writer st_writer;

/* Fills dst (numel floats, writer-owned scratch) with the tensor's data; called once per tensor
 * during stw_finish, in the order tensors were added. Returns ABL_OK or fills err. */
typedef abl_status (*stw_fill_fn)(void *ctx, float *dst, int64_t numel, abl_err *err);

/* Start a file that will appear at path when stw_finish succeeds. Nothing is written yet.
 * Errors: ABL_E_NOMEM. Not thread-safe per writer. */
abl_status stw_open(st_writer **out, const char *path, abl_err *err);

/* Add a __metadata__ string pair (both copied). Duplicate keys are ABL_E_ARG. */
abl_status stw_meta(st_writer *w, const char *key, const char *value, abl_err *err);

/* Declare an F32 tensor (name and shape copied; shape (shape[0], ..., shape[ndim-1]), 0..8 dims,
 * each >= 0). data must stay valid until stw_finish; it is not copied. Duplicate names or bad
 * shapes are ABL_E_ARG. */
abl_status stw_add(st_writer *w, const char *name, const int64_t *shape, int ndim,
                   const float *data, abl_err *err);

/* Same, with the data produced on demand by fill(ctx, ...) at finish time, so a converter never
 * holds more than one tensor in memory. */
abl_status stw_add_fn(st_writer *w, const char *name, const int64_t *shape, int ndim,
                      stw_fill_fn fill, void *ctx, abl_err *err);

/* Write header and data to "<path>.tmp.<pid>", flush, fsync and rename onto path. On any
 * failure the temp file is removed and path is untouched. Header: compact JSON, padded with
 * spaces to a multiple of 8 bytes; tensors in the order added, no gaps. */
abl_status stw_finish(st_writer *w, abl_err *err);

/* Free the writer (after finish, or to abandon it). NULL is fine. */
void stw_close(st_writer *w);

#endif
