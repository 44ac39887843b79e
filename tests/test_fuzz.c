/* tests/test_fuzz.c - replays every committed fuzz corpus file (tests/fuzz/corpus/<target>/) through
 * the same checks the libFuzzer targets run, so each saved crash stays a regression test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ABL_FUZZ_NO_ENTRY
#include "fuzz/fuzz_config.c"
#include "fuzz/fuzz_json.c"
#include "fuzz/fuzz_safetensors.c"
#include "t.h"

/* Run one(data, size) on every regular file of dir; a failed check aborts the (forked) test. */
static void replay(tctx *t, const char *dir, int (*one)(const uint8_t *, size_t))
{
    DIR *d = opendir(dir);
    if (!d) {
        t_fail(t, "%s: cannot open the corpus (run the tests from the repository root)", dir);
        return;
    }
    int files = 0;
    size_t bytes = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *fp = fopen(path, "rb");
        if (!fp)
            continue;
        uint8_t *buf = malloc(1 << 20);
        size_t n = fread(buf, 1, 1 << 20, fp);
        fclose(fp);
        one(buf, n);
        free(buf);
        files++;
        bytes += n;
    }
    closedir(d);
    t_note(t, "%s: %d files, %zu bytes replayed", dir, files, bytes);
    T_CHECK(t, files > 0);
}

void test_fuzz_replay_json(tctx *t)
{
    replay(t, "tests/fuzz/corpus/json", fuzz_json_one);
}

void test_fuzz_replay_safetensors(tctx *t)
{
    replay(t, "tests/fuzz/corpus/safetensors", fuzz_safetensors_one);
}

void test_fuzz_replay_config(tctx *t)
{
    replay(t, "tests/fuzz/corpus/config", fuzz_config_one);
}
