/* tests/test_fuzz.c - replays every committed fuzz corpus file (tests/fuzz/corpus/<target>/) through
 * the same checks the libFuzzer targets run, so each saved crash stays a regression test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ABL_FUZZ_NO_ENTRY
#include "fuzz/fuzz_config.c"
#include "fuzz/fuzz_json.c"
#include "fuzz/fuzz_safetensors.c"
#include "t.h"

void test_fuzz_replay_json(tctx *t)
{
    t_replay_corpus(t, "tests/fuzz/corpus/json", fuzz_json_one);
}

void test_fuzz_replay_safetensors(tctx *t)
{
    t_replay_corpus(t, "tests/fuzz/corpus/safetensors", fuzz_safetensors_one);
}

void test_fuzz_replay_config(tctx *t)
{
    t_replay_corpus(t, "tests/fuzz/corpus/config", fuzz_config_one);
}
