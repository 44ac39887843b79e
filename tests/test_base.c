/* tests/test_base.c - the error convention itself. */
#include <string.h>

#include "../base/abl.h"
#include "t.h"

void test_base_fail_fills_message(tctx *t)
{
    abl_err e = {0};
    abl_status s = abl_fail(&e, ABL_E_IO, "x.json: expected %s, found %d", "object", 3);
    T_CHECK(t, s == ABL_E_IO);
    T_CHECK(t, e.code == ABL_E_IO);
    T_CHECK(t, strcmp(e.msg, "x.json: expected object, found 3") == 0);
    abl_wrap(&e, "loading %s", "m");
    T_CHECK(t, strcmp(e.msg, "loading m: x.json: expected object, found 3") == 0);
    T_CHECK(t, abl_fail(NULL, ABL_E_ARG, "ignored") == ABL_E_ARG);
    T_CHECK(t, strcmp(abl_status_name(ABL_E_FORMAT), "format") == 0);
}
