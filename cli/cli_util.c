/* cli/cli_util.c - flag parsing and one-line error printing shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile int cli_interrupted = 0;

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ablate %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_report(const char *cmd, const abl_err *err)
{
    fprintf(stderr, "ablate %s: %s\n", cmd, err->msg[0] ? err->msg : abl_status_name(err->code));
    return err->code == ABL_E_INTERRUPTED ? 130 : err->code == ABL_E_ARG ? 2 : 1;
}

bool cli_int(const char *cmd, const char *flag, const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || errno == ERANGE) {
        cli_error(cmd, "%s: expected an integer, found '%s'", flag, s ? s : "");
        return false;
    }
    if (v < lo || v > hi) {
        cli_error(cmd, "%s: %ld is out of range [%ld, %ld]", flag, v, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

bool cli_duration(const char *cmd, const char *flag, const char *s, double *out)
{
    double total = 0;
    const char *p = s ? s : "";
    bool any = false;
    while (*p) {
        char *end = NULL;
        errno = 0;
        double v = (*p >= '0' && *p <= '9') || *p == '.' ? strtod(p, &end) : -1;
        double unit = 0;
        if (end && end > p && !errno && isfinite(v))
            unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
        if (!(unit > 0)) {
            cli_error(cmd, "%s: expected a duration such as 90s, 5m, 2h or 1h30m, found '%s'",
                      flag, s ? s : "");
            return false;
        }
        total += v * unit;
        p = end + 1;
        any = true;
    }
    if (!any) {
        cli_error(cmd, "%s: expected a duration such as 90s, 5m, 2h or 1h30m, found ''", flag);
        return false;
    }
    if (!(total >= 1) || total > 30 * 86400.0) {
        cli_error(cmd, "%s: %s is out of range [1s, 30d]", flag, s);
        return false;
    }
    *out = total;
    return true;
}

bool cli_double(const char *cmd, const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || errno == ERANGE || !isfinite(v)) {
        cli_error(cmd, "%s: expected a number, found '%s'", flag, s ? s : "");
        return false;
    }
    if (v < lo || v > hi) {
        cli_error(cmd, "%s: %g is out of range [%g, %g]", flag, v, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

bool cli_flag(const char *cmd, int argc, char **argv, int *i, const char *flag, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(flag);
    if (strncmp(a, flag, n) != 0)
        return false;
    if (a[n] == '=') {
        *val = a + n + 1;
        return true;
    }
    if (a[n] != 0)
        return false;
    if (*i + 1 >= argc) {
        cli_error(cmd, "%s needs a value", flag);
        *val = NULL;
        return true;
    }
    *val = argv[++*i];
    return true;
}

bool cli_common_flag(const char *cmd, int argc, char **argv, int *i, cli_common *c, bool *bad)
{
    const char *v = NULL;
    long n;
    *bad = false;
    if (cli_flag(cmd, argc, argv, i, "--model", &v))
        c->model_dir = v;
    else if (cli_flag(cmd, argc, argv, i, "--data-dir", &v))
        c->data_dir = v;
    else if (cli_flag(cmd, argc, argv, i, "--device", &v))
        c->device = v;
    else if (cli_flag(cmd, argc, argv, i, "--seed", &v)) {
        if (v && cli_int(cmd, "--seed", v, 0, 0x7fffffffL, &n))
            c->seed = (uint64_t)n;
        else
            v = NULL;
    } else if (cli_flag(cmd, argc, argv, i, "--threads", &v)) {
        if (v && cli_int(cmd, "--threads", v, 1, 1024, &n))
            c->threads = (int)n;
        else
            v = NULL;
    } else
        return false;
    *bad = v == NULL;
    return true;
}

int cli_device(const char *cmd, const char *device)
{
    if (!strcmp(device, "cpu"))
        return 0;
    if (!strcmp(device, "cuda"))
        return 1;
    cli_error(cmd, "--device: expected cpu or cuda, found '%s'", device);
    return -1;
}
