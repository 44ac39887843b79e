/* tests/test_layers.c - the layering check (tools/check_layers.sh, `make check-layers`): the
 * repository is clean, and includes planted in a scratch tree are caught, each with file:line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../base/file.h"
#include "t.h"

/* Run the check on root; returns its exit status and its output (free) in *out. */
static int layers_run(tctx *t, const char *root, char **out)
{
    char cmd[2048], path[1024];
    snprintf(path, sizeof path, "%s/layers.out", t_tmpdir(t));
    snprintf(cmd, sizeof cmd, "sh tools/check_layers.sh %s >%s 2>&1", root, path);
    int st = system(cmd);
    size_t n;
    abl_err e = {0};
    if (abl_read_file(path, 0, NULL, out, &n, &e))
        t_fail(t, "%s", e.msg);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void test_layers_repo_clean(tctx *t)
{
    char *out = NULL;
    int rc = layers_run(t, ".", &out);
    if (rc != 0 || !out || !strstr(out, " 0 violations"))
        t_fail(t, "exit %d: %s", rc, out ? out : "");
    else
        t_note(t, "%s", out);
    free(out);
}

static void plant(tctx *t, const char *rel, const char *text)
{
    char path[1024], dir[1100];
    snprintf(path, sizeof path, "%s/tree/%s", t_tmpdir(t), rel);
    snprintf(dir, sizeof dir, "mkdir -p \"$(dirname '%s')\"", path);
    FILE *f = system(dir) == 0 ? fopen(path, "w") : NULL;
    if (!f) {
        t_fail(t, "cannot write %s", path);
        return;
    }
    fputs(text, f);
    fclose(f);
}

void test_layers_planted_violations(tctx *t)
{
    plant(t, "base/a.h", "#include <stdio.h>\n");
    plant(t, "loader/b.c", "#include \"../base/a.h\"\n#include \"b.h\"\n");
    plant(t, "kernels/k.c", "/* ok */\n#include \"../base/a.h\"\n#include \"../engine/model.h\"\n");
    plant(t, "kernels_cuda/c.cu", "#include \"../kernels/k.h\"\n#include \"../loader/b.h\"\n");
    plant(t, "engine/e.c", "#include \"../kernels_cuda/c.h\"\n  #  include \"../eval/x.h\"\n");
    plant(t, "eval/x.c", "#include \"../engine/e.h\"\n#include \"../../outside.h\"\n");
    plant(t, "study/s.c", "#include \"../eval/x.h\"\n#include \"../tests/t.h\"\n");
    plant(t, "cli/x.c", "#include \"../study/s.h\"\n");
    plant(t, "ablate.c", "#include \"cli/cli.h\"\n#include \"engine/model.h\"\n");
    if (t_failed(t))
        return;
    char root[1024], *out = NULL;
    snprintf(root, sizeof root, "%s/tree", t_tmpdir(t));
    int rc = layers_run(t, root, &out);
    static const char *const want[] = {
        "kernels/k.c:3: includes \"../engine/model.h\" (engine)",
        "kernels_cuda/c.cu:2: includes \"../loader/b.h\" (loader)",
        "engine/e.c:2: includes \"../eval/x.h\" (eval)",
        "eval/x.c:2: includes \"../../outside.h\" ((outside the repository))",
        "study/s.c:2: includes \"../tests/t.h\" (tests)",
        "check-layers: 9 files, 5 violations"};
    T_CHECK(t, rc == 1);
    for (size_t i = 0; out && i < sizeof want / sizeof want[0]; i++)
        if (!strstr(out, want[i]))
            t_fail(t, "output lacks '%s':\n%s", want[i], out);
    free(out);
}
