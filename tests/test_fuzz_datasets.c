/* tests/test_fuzz_datasets.c - replays the committed fuzz corpora of the dataset readers, of
 * tokenizer.json loading and of the run journal (tests/fuzz/corpus/{datasets,tokjson,journal}/)
 * through the checks of their libFuzzer targets: every saved input stays a regression test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define ABL_FUZZ_NO_ENTRY
#include "fuzz/fuzz_datasets.c"
#include "fuzz/fuzz_journal.c"
#include "fuzz/fuzz_tokjson.c"
#include "t.h"

void test_fuzz_datasets_replay(tctx *t)
{
    t_replay_corpus(t, "tests/fuzz/corpus/datasets", fuzz_datasets_one);
    fuzz_ds_cleanup();
    struct stat st;
    if (fuzz_ds_dir[0] && stat(fuzz_ds_dir, &st) == 0)
        t_note(t, "could not remove %s", fuzz_ds_dir);
}

void test_fuzz_datasets_replay_tokjson(tctx *t)
{
    t_replay_corpus(t, "tests/fuzz/corpus/tokjson", fuzz_tokjson_one);
}

void test_fuzz_datasets_replay_journal(tctx *t)
{
    t_replay_corpus(t, "tests/fuzz/corpus/journal", fuzz_journal_one);
    fuzz_jr_cleanup();
}
