/* tests/test_fuzz_datasets.c - replays the committed fuzz corpora of the dataset readers, of
 * tokenizer.json loading and of the run journal (tests/fuzz/corpus/{datasets,tokjson,journal}/)
 * through the checks of their libFuzzer targets: every saved input stays a regression test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define ABL_FUZZ_NO_ENTRY
#include "fuzz/fuzz_datasets.c"
#include "fuzz/fuzz_journal.c"
#include "fuzz/fuzz_tokjson.c"
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
        size_t n = buf ? fread(buf, 1, 1 << 20, fp) : 0;
        fclose(fp);
        if (buf)
            one(buf, n);
        free(buf);
        files++;
        bytes += n;
    }
    closedir(d);
    t_note(t, "%s: %d files, %zu bytes replayed", dir, files, bytes);
    T_CHECK(t, files > 0);
}

void test_fuzz_datasets_replay(tctx *t)
{
    replay(t, "tests/fuzz/corpus/datasets", fuzz_datasets_one);
    fuzz_ds_cleanup();
    struct stat st;
    if (fuzz_ds_dir[0] && stat(fuzz_ds_dir, &st) == 0)
        t_note(t, "could not remove %s", fuzz_ds_dir);
}

void test_fuzz_datasets_replay_tokjson(tctx *t)
{
    replay(t, "tests/fuzz/corpus/tokjson", fuzz_tokjson_one);
}

void test_fuzz_datasets_replay_journal(tctx *t)
{
    replay(t, "tests/fuzz/corpus/journal", fuzz_journal_one);
    fuzz_jr_cleanup();
}
