/* base/abl.c - error-message filling and the assertion handler.
 * Nothing here exits except abl_assert_fail, which is for programmer bugs. */
#include "abl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages are one line: control bytes that came from file contents (a newline inside a
 * tokenizer pattern, say) are written as \xNN; the result is cut to fit. */
static void one_line(char *msg, size_t cap)
{
    char tmp[sizeof ((abl_err *)0)->msg];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p && o + 1 < sizeof tmp; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            if (o + 5 >= sizeof tmp)
                break;
            snprintf(tmp + o, 5, "\\x%02x", *p);
            o += 4;
        } else {
            tmp[o++] = (char)*p;
        }
    }
    tmp[o] = 0;
    snprintf(msg, cap, "%s", tmp);
}

abl_status abl_fail(abl_err *err, abl_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        one_line(err->msg, sizeof err->msg);
        err->code = code;
    }
    return code;
}

abl_status abl_wrap(abl_err *err, const char *fmt, ...)
{
    if (!err)
        return ABL_E_ARG;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t np = strlen(prefix);
    if (np + 2 >= sizeof err->msg)
        np = sizeof err->msg - 3;
    memcpy(err->msg, prefix, np);
    memcpy(err->msg + np, ": ", 2);
    size_t room = sizeof err->msg - np - 3, no = strnlen(old, sizeof old);
    if (no > room)
        no = room;
    memcpy(err->msg + np + 2, old, no);
    err->msg[np + 2 + no] = 0;
    one_line(err->msg, sizeof err->msg);
    return err->code;
}

const char *abl_status_name(abl_status s)
{
    static const char *names[] = {"ok", "argument", "io", "format", "shape", "unsupported",
                                  "out of memory", "numeric", "interrupted", "state", "device"};
    return (unsigned)s < ABL_ARRAY_LEN(names) ? names[s] : "unknown";
}

void abl_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: internal error: assertion '%s' failed\n", file, line, expr);
    abort();
}
