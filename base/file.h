/* base/file.h - reading a whole file into memory, with one set of error messages. */
#ifndef ABL_FILE_H
#define ABL_FILE_H

#include <stddef.h>

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

#endif
