/* base/list.c - comma lists of names and of blocks (see list.h). */
#include "list.h"

#include <stdlib.h>
#include <string.h>

void abl_list_free(abl_list *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

abl_status abl_list_add(abl_list *l, const char *item, abl_err *err)
{
    size_t len = strlen(item);
    char **nv = realloc(l->v, sizeof *nv * (size_t)(l->n + 1));
    if (!nv)
        return abl_fail(err, ABL_E_NOMEM, "out of memory for a list");
    l->v = nv;
    if (!(l->v[l->n] = malloc(len + 1)))
        return abl_fail(err, ABL_E_NOMEM, "out of memory for a list");
    memcpy(l->v[l->n++], item, len + 1);
    return ABL_OK;
}

abl_status abl_list_split(const char *s, const char *what, abl_list *out, abl_err *err)
{
    out->n = 0;
    out->v = NULL;
    const char *p = s ? s : "";
    char item[4096];
    for (;;) {
        size_t len = strcspn(p, ",");
        abl_status st = ABL_OK;
        if (len == 0)
            st = abl_fail(err, ABL_E_ARG, "%s '%s': expected a comma list of names, found an "
                          "empty item", what, s ? s : "");
        else if (len >= sizeof item)
            st = abl_fail(err, ABL_E_ARG, "%s: expected a comma list of names, found an item "
                          "over %zu bytes", what, sizeof item - 1);
        if (!st) {
            memcpy(item, p, len);
            item[len] = 0;
            for (int k = 0; k < out->n && !st; k++)
                if (!strcmp(out->v[k], item))
                    st = abl_fail(err, ABL_E_ARG, "%s '%s': expected a comma list of names, "
                                  "found '%s' twice", what, s, item);
        }
        if (!st)
            st = abl_list_add(out, item, err);
        if (st) {
            abl_list_free(out);
            return st;
        }
        if (!p[len])
            return ABL_OK;
        p += len + 1;
    }
}

abl_status abl_list_blocks(const char *s, const char *what, int L, uint8_t *mask, abl_err *err)
{
    memset(mask, 0, (size_t)(L > 0 ? L : 0));
    if (!s || !strcmp(s, "all")) {
        memset(mask, 1, (size_t)(L > 0 ? L : 0));
        return L > 0 ? ABL_OK : abl_fail(err, ABL_E_ARG, "%s: the model has no blocks", what);
    }
    const char *p = s;
    if (!*p)
        goto bad;
    while (*p) {
        char *e;
        long a = strtol(p, &e, 10), b = a;
        if (e == p)
            goto bad;
        p = e;
        if (*p == '-') {
            b = strtol(p + 1, &e, 10);
            if (e == p + 1)
                goto bad;
            p = e;
        }
        if (a < 0 || a >= L || b < 0 || b >= L)
            return abl_fail(err, ABL_E_ARG, "%s '%s': block %ld is out of range [0, %d] for "
                            "this model", what, s, a < 0 || a >= L ? a : b, L - 1);
        if (a > b)
            return abl_fail(err, ABL_E_ARG, "%s '%s': expected a <= b in a-b, found %ld-%ld",
                            what, s, a, b);
        for (long l = a; l <= b; l++)
            mask[l] = 1;
        if (*p == ',' && p[1])
            p++;
        else if (*p)
            goto bad;
    }
    return ABL_OK;
bad:
    return abl_fail(err, ABL_E_ARG, "%s '%s': expected a list like 0-9,20 of block indices",
                    what, s);
}
