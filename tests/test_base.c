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

void test_base_messages_are_one_line(tctx *t)
{
    abl_err e = {0};
    abl_fail(&e, ABL_E_FORMAT, "f.json: pattern %s is not supported", "a\nb\rc\x01");
    T_CHECK(t, strchr(e.msg, '\n') == NULL && strchr(e.msg, '\r') == NULL);
    T_CHECK(t, strcmp(e.msg, "f.json: pattern a\\x0ab\\x0dc\\x01 is not supported") == 0);
    abl_wrap(&e, "loading %s", "x\ny");
    T_CHECK(t, strncmp(e.msg, "loading x\\x0ay: f.json", 22) == 0);
}
