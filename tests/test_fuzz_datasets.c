/* tests/test_fuzz_datasets.c - replays the committed dataset-reader fuzz corpus
 * (tests/fuzz/corpus/datasets/) through the checks of tests/fuzz/fuzz_datasets.c, so every saved
 * input (and crash found) stays a regression test of eval/task_*.c. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define ABL_FUZZ_NO_ENTRY
#include "fuzz/fuzz_datasets.c"
#include "t.h"

void test_fuzz_datasets_replay(tctx *t)
{
    const char *dir = "tests/fuzz/corpus/datasets";
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
        size_t n = buf ? fread(buf, 1, 1 << 20, fp) : 0;
        fclose(fp);
        if (buf)
            fuzz_datasets_one(buf, n); /* a failed check aborts this (forked) test */
        free(buf);
        files++;
        bytes += n;
    }
    closedir(d);
    fuzz_ds_cleanup();
    struct stat st;
    if (fuzz_ds_dir[0] && stat(fuzz_ds_dir, &st) == 0)
        t_note(t, "could not remove %s", fuzz_ds_dir);
    t_note(t, "%s: %d files, %zu bytes replayed", dir, files, bytes);
    T_CHECK(t, files > 0);
}
