/* base/abl.h - the error convention and programmer-bug assertions shared by every module.
 * Library code returns an abl_status and fills an abl_err; only ablate.c exits. */
#ifndef ABL_H
#define ABL_H

#include <stddef.h>

typedef enum {
    ABL_OK = 0,
    ABL_E_ARG,          /* bad flag, value or argument from the user */
    ABL_E_IO,           /* missing, unreadable or unwritable file */
    ABL_E_FORMAT,       /* malformed file contents (JSON, safetensors, GGUF, dataset) */
    ABL_E_SHAPE,        /* tensor present but of the wrong shape or dtype */
    ABL_E_UNSUPPORTED,  /* well-formed but not something we implement */
    ABL_E_NOMEM,        /* allocation failed */
    ABL_E_NUMERIC,      /* NaN/Inf where finite numbers are required */
    ABL_E_INTERRUPTED,  /* SIGINT or similar; work so far is saved */
    ABL_E_STATE,        /* e.g. run directory made by another configuration */
    ABL_E_DEVICE        /* CUDA or kernel variant not available */
} abl_status;

/* One error message, filled by the function that detected the problem.
 * Convention: "<file or object>: expected <X>, found <Y> (hint: <fix>)". */
typedef struct {
    abl_status code;
    char msg[768];
} abl_err;

/* Fill *err (if non-NULL) with code and a printf-style message; returns code so callers can
 * write `return abl_fail(err, ABL_E_IO, "...")`. Never allocates. Thread-safe per err. */
abl_status abl_fail(abl_err *err, abl_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with context ("loading model: ..."); keeps the code. */
abl_status abl_wrap(abl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Short name of a status code ("io", "format", ...). Never NULL. */
const char *abl_status_name(abl_status s);

/* Programmer bugs only (broken invariants), never bad input: prints file:line and aborts. */
void abl_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define ABL_ASSERT(c) ((c) ? (void)0 : abl_assert_fail(#c, __FILE__, __LINE__))

#define ABL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
