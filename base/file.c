/* base/file.c - reading a whole file into memory (see file.h). */
#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

abl_status abl_read_file(const char *path, size_t max, const char *hint, char **buf, size_t *len,
                         abl_err *err)
{
    ABL_ASSERT(path && buf && len);
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return abl_fail(err, ABL_E_IO, "%s: cannot open (%s)%s%s%s", path, strerror(errno),
                        hint ? " (hint: " : "", hint ? hint : "", hint ? ")" : "");
    abl_status st = ABL_OK;
    char *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 1 >= cap) { /* room for at least one byte and the NUL */
            size_t nc = cap ? cap * 2 : (size_t)1 << 16;
            char *q = nc > cap ? realloc(b, nc) : NULL;
            if (!q) {
                st = abl_fail(err, ABL_E_NOMEM, "%s: out of memory reading the file", path);
                break;
            }
            b = q;
            cap = nc;
        }
        size_t want = cap - n - 1;
        if (max > 0 && want > max + 1 - n)
            want = max + 1 - n; /* one byte past the cap tells "larger" from "exactly max" */
        size_t got = fread(b + n, 1, want, f);
        n += got;
        if (max > 0 && n > max) {
            st = abl_fail(err, ABL_E_FORMAT, "%s: larger than %zu bytes", path, max);
            break;
        }
        if (got < want) {
            if (ferror(f))
                st = abl_fail(err, ABL_E_IO, "%s: read error (%s)", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st) {
        free(b);
        return st;
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return ABL_OK;
}
