/* base/jw.h - a small streaming JSON writer to a FILE*: escaped strings, round-trippable
 * numbers, nested objects/arrays with optional indentation. */
#ifndef JW_H
#define JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "abl.h"

#define JW_MAX_DEPTH 64

/* Writer state; plain struct so it can live on the stack. Fields are private. */
typedef struct {
    FILE *f;
    int indent;                  /* spaces per level; 0 = compact, one line */
    int depth;
    bool has_items[JW_MAX_DEPTH + 1]; /* per level: something written at this level already */
    bool is_obj[JW_MAX_DEPTH + 1];
    bool want_value;             /* a key was written, its value comes next */
    bool bad_utf8;               /* a string was not valid UTF-8 (written escaped as U+FFFD) */
    bool nonfinite;              /* a NaN/Inf number was written (as null) */
} jw;

/* Start writing one JSON value to f (not owned; not closed). indent 0 = compact. */
void jw_init(jw *w, FILE *f, int indent);

/* Containers. Calls must nest properly and a key must precede every value inside an object;
 * misuse is a programmer bug (ABL_ASSERT). Nesting deeper than JW_MAX_DEPTH asserts. */
void jw_obj_begin(jw *w);
void jw_obj_end(jw *w);
void jw_arr_begin(jw *w);
void jw_arr_end(jw *w);
void jw_key(jw *w, const char *key);        /* NUL-terminated key, escaped */
void jw_keyn(jw *w, const char *key, size_t n); /* key of n bytes (may hold NUL, escaped) */

/* Values. Strings are escaped per RFC 8259 (quote, backslash, control characters); UTF-8 is
 * kept as is. Invalid UTF-8 bytes are written as \ufffd and reported by jw_finish. */
void jw_str(jw *w, const char *s);          /* NULL writes null */
void jw_strn(jw *w, const char *s, size_t n);
void jw_int(jw *w, int64_t v);
void jw_uint(jw *w, uint64_t v);
void jw_num(jw *w, double v);   /* shortest %.{15,16,17}g that reads back equal; NaN/Inf -> null */
void jw_f32(jw *w, float v);    /* shortest %.{6..9}g that reads back as the same float */
void jw_bool(jw *w, bool v);
void jw_null(jw *w);
/* Write raw JSON text as a value (caller guarantees it is valid JSON). */
void jw_raw(jw *w, const char *json);

/* Finish: asserts all containers are closed, writes a final newline when indenting, flushes,
 * and reports write errors (ABL_E_IO), invalid UTF-8 or non-finite numbers (ABL_E_FORMAT).
 * what labels the message ("config.json"). Does not close the FILE. */
abl_status jw_finish(jw *w, const char *what, abl_err *err);

#endif
