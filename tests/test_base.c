/* tests/test_base.c - the error convention itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/abl.h"
#include "../base/file.h"
#include "../base/list.h"
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

static void put(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(s, 1, n, f);
        fclose(f);
    }
}

void test_base_read_file(tctx *t)
{
    char p[512], big[200000];
    snprintf(p, sizeof p, "%s/f.bin", t_tmpdir(t));
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    big[70000] = 0; /* binary contents survive, and the length is not strlen's */
    put(p, big, sizeof big);
    char *b = NULL;
    size_t n = 7;
    abl_err e = {0};
    T_CHECK(t, abl_read_file(p, 0, NULL, &b, &n, &e) == ABL_OK);
    T_CHECK(t, b && n == sizeof big && memcmp(b, big, n) == 0 && b[n] == 0);
    free(b);
    /* the cap: exactly max bytes is fine, one more is not */
    T_CHECK(t, abl_read_file(p, sizeof big, NULL, &b, &n, &e) == ABL_OK && n == sizeof big);
    free(b);
    T_CHECK(t, abl_read_file(p, sizeof big - 1, NULL, &b, &n, &e) == ABL_E_FORMAT);
    T_CHECK(t, !b && n == 0 && strstr(e.msg, "f.bin: larger than 199999 bytes"));
    put(p, "", 0);
    T_CHECK(t, abl_read_file(p, 0, NULL, &b, &n, &e) == ABL_OK && n == 0 && b && b[0] == 0);
    free(b);
    snprintf(p, sizeof p, "%s/missing", t_tmpdir(t));
    T_CHECK(t, abl_read_file(p, 0, "make it", &b, &n, &e) == ABL_E_IO && !b);
    T_CHECK(t, strstr(e.msg, "missing: cannot open (No such file or directory) (hint: make it)"));
    T_CHECK(t, abl_read_file(t_tmpdir(t), 0, "unused", &b, &n, &e) == ABL_E_IO && !b);
    T_CHECK(t, strstr(e.msg, ": read error (Is a directory)") && !strstr(e.msg, "hint"));
}

/* mkdir -p and the atomic writer: nested folders, a file in the way, replace in place, a
 * failed write that leaves the earlier file and no temp file behind. */
void test_base_mkdirs_and_atomic_write(tctx *t)
{
    char d[600], f[700], bad[800], g[900];
    abl_err e = {0};
    snprintf(d, sizeof d, "%s/a/b/c", t_tmpdir(t));
    T_CHECK(t, abl_mkdirs(d, &e) == ABL_OK);
    T_CHECK(t, abl_mkdirs(d, &e) == ABL_OK); /* existing is fine */
    snprintf(f, sizeof f, "%s/x.txt", d);
    T_CHECK(t, abl_write_file_atomic(f, "one", 3, &e) == ABL_OK);
    T_CHECK(t, abl_write_file_atomic(f, "second", 6, &e) == ABL_OK);
    char *b = NULL;
    size_t n = 0;
    T_CHECK(t, abl_read_file(f, 0, NULL, &b, &n, &e) == ABL_OK && n == 6 && !memcmp(b, "second", 6));
    free(b);
    snprintf(bad, sizeof bad, "%s/sub", f); /* a file in the way */
    T_CHECK(t, abl_mkdirs(bad, &e) == ABL_E_IO && strstr(e.msg, "cannot create directory"));
    T_CHECK(t, abl_mkdirs("", &e) == ABL_E_ARG);
    snprintf(g, sizeof g, "%s/y.txt", bad);
    T_CHECK(t, abl_write_file_atomic(g, "z", 1, &e) == ABL_E_IO && strstr(e.msg, "cannot create"));
    abl_afile af;
    T_CHECK(t, abl_afile_open(&af, d, "x.txt", &e) == ABL_OK);
    fputs("never", af.f);
    abl_afile_abort(&af); /* the target keeps its bytes, the temp file is gone */
    T_CHECK(t, abl_read_file(f, 0, NULL, &b, &n, &e) == ABL_OK && n == 6);
    free(b);
    T_CHECK(t, access(af.tmp, F_OK) != 0);
}

/* The one comma-list parser: names (no empty item, no duplicate) and block lists. */
void test_base_list_parser(tctx *t)
{
    abl_list l;
    abl_err e = {0};
    T_CHECK(t, abl_list_split("a,bb,c", "--x", &l, &e) == ABL_OK && l.n == 3 &&
                   !strcmp(l.v[1], "bb"));
    abl_list_free(&l);
    const char *bad[] = {"", "a,", ",a", "a,,b", "a,b,a", NULL};
    for (int i = 0; bad[i]; i++) {
        T_CHECK(t, abl_list_split(bad[i], "--x", &l, &e) == ABL_E_ARG && l.n == 0);
        T_CHECK(t, strstr(e.msg, "--x") != NULL);
    }
    T_CHECK(t, abl_list_split(NULL, "--x", &l, &e) == ABL_E_ARG);
    uint8_t m[8];
    T_CHECK(t, abl_list_blocks("0-2,5", "--layers", 8, m, &e) == ABL_OK);
    T_CHECK(t, m[0] && m[1] && m[2] && !m[3] && !m[4] && m[5] && !m[6] && !m[7]);
    T_CHECK(t, abl_list_blocks("all", "--layers", 8, m, &e) == ABL_OK && m[0] && m[7]);
    T_CHECK(t, abl_list_blocks(NULL, "--layers", 8, m, &e) == ABL_OK && m[3]);
    T_CHECK(t, abl_list_blocks("8", "--skip", 8, m, &e) == ABL_E_ARG &&
                   strstr(e.msg, "block 8 is out of range [0, 7]"));
    T_CHECK(t, abl_list_blocks("-3", "--skip", 8, m, &e) == ABL_E_ARG);
    T_CHECK(t, abl_list_blocks("3-1", "--layers", 8, m, &e) == ABL_E_ARG &&
                   strstr(e.msg, "a <= b"));
    const char *junk[] = {"", "x", "1,", "1,,2", "1-", "2 ", NULL};
    for (int i = 0; junk[i]; i++)
        T_CHECK(t, abl_list_blocks(junk[i], "--layers", 8, m, &e) == ABL_E_ARG &&
                       strstr(e.msg, "expected a list like"));
}
