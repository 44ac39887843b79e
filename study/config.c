/* study/config.c - what a study run removes: its blocks (the --layers list) and the name of its
 * unit kind. */
#include <string.h>

#include "study_int.h"

const char *study_unit_name(study_unit u)
{
    return u == STUDY_UNIT_ATTN ? "attn" : u == STUDY_UNIT_MLP ? "mlp" : "block";
}

/* "0-9,20" -> sorted unique blocks in [0, L). NULL or "all" = every block. */
abl_status study_parse_layers(const char *s, int L, int *out, int *n, abl_err *err)
{
    uint8_t on[STUDY_MAX_UNITS];
    if (L > STUDY_MAX_UNITS)
        return abl_fail(err, ABL_E_UNSUPPORTED, "model: %d blocks, at most %d supported", L,
                        STUDY_MAX_UNITS);
    abl_status st = abl_list_blocks(s, "--layers", L, on, err);
    *n = 0;
    for (int l = 0; l < L && !st; l++)
        if (on[l])
            out[(*n)++] = l;
    return st;
}
