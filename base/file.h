/* base/file.h - the storage primitives: reading a whole file, writing one atomically (temp file,
 * fsync, rename) and mkdir -p, each with one set of error messages. */
#ifndef ABL_FILE_H
#define ABL_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "abl.h"

/* Read the file at path up to its end into a malloc'd buffer with a NUL byte after the last
 * one (*buf, free with free(); *len bytes, not counting the NUL). Reads until EOF, so pipes and
 * /dev/stdin work and no size is trusted. max > 0 caps the length. hint (NULL = none) is added
 * to the cannot-open message only. Errors, each one line and naming path:
 *   ABL_E_IO      "PATH: cannot open (REASON) (hint: HINT)", "PATH: read error (REASON)"
 *                 (a directory is a read error: "Is a directory")
 *   ABL_E_FORMAT  "PATH: larger than MAX bytes"
 *   ABL_E_NOMEM   "PATH: out of memory reading the file"
 * On error *buf is NULL and *len is 0. */
abl_status abl_read_file(const char *path, size_t max, const char *hint, char **buf, size_t *len,
                         abl_err *err);

/* A file being written atomically: everything goes to "<dir>/.<name>.tmp.<pid>" in the target's
 * folder; commit flushes, fsyncs and renames it onto the target, so a reader (or another process
 * on a shared file system, NFS included) sees the old file or the whole new one, never a part. */
typedef struct {
    FILE *f;
    char tmp[4200], path[4200];
} abl_afile;

/* Open the temp file of dir/name (dir NULL: name is the whole path). ABL_E_IO names the temp
 * path and the reason (hint: is the folder there and writable?); ABL_E_ARG for a path over 4000
 * bytes. On error af->f is NULL. */
abl_status abl_afile_open(abl_afile *af, const char *dir, const char *name, abl_err *err);

/* Flush, fsync, close, rename onto the target (then remove stale temp files of the same target
 * left by killed processes). Any failure (disk full) gives ABL_E_IO naming the target and keeps
 * the earlier file; the temp file is removed either way. */
abl_status abl_afile_commit(abl_afile *af, abl_err *err);

/* Close and remove the temp file without touching the target. af->f NULL is fine. */
void abl_afile_abort(abl_afile *af);

/* The whole of data (len bytes) into path atomically (abl_afile_open + commit). */
abl_status abl_write_file_atomic(const char *path, const void *data, size_t len, abl_err *err);

/* mkdir -p: create dir and its parents; existing directories are fine. ABL_E_IO names the part
 * that could not be made, or dir when it is a file; ABL_E_ARG for an empty or over-long path. */
abl_status abl_mkdirs(const char *dir, abl_err *err);

#endif
