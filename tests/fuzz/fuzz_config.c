/* tests/fuzz/fuzz_config.c - libFuzzer target for loader/config.c and loader/hf_names.c: a config
 * that parses must give sane sizes, a parameter count and an expected-tensor list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../loader/config.h"
#include "../../loader/hf_names.h"

/* One input: the checks the fuzzer runs; tests/test_fuzz.c replays the corpus through it. */
int fuzz_config_one(const uint8_t *data, size_t size)
{
    hf_config c;
    abl_err e = {0};
    if (cfg_parse(&c, (const char *)data, size, "fuzz-config.json", &e) == ABL_OK) {
        ABL_ASSERT(c.d_model > 0 && c.n_layers > 0 && c.n_heads > 0 && c.n_kv_heads > 0);
        ABL_ASSERT(c.head_dim > 0 && c.head_dim % 2 == 0 && c.n_heads % c.n_kv_heads == 0);
        ABL_ASSERT(c.d_ff > 0 && c.vocab > 0 && c.rope_theta > 0 && c.norm_eps > 0);
        ABL_ASSERT(cfg_param_count(&c) > 0);
        hf_tensor_spec s[64];
        int n = hf_expected_tensors(&c, s, 64);
        ABL_ASSERT(n >= 3 + 9 * c.n_layers - 1);
        hf_tensor_spec one;
        for (int r = HF_FIRST_LAYER_ROLE; r < HF_ROLE_COUNT; r++)
            (void)hf_tensor_spec_of(&c, (hf_role)r, c.n_layers - 1, &one);
    } else {
        ABL_ASSERT(e.msg[0] && !strchr(e.msg, '\n'));
    }
    return 0;
}

#ifndef ABL_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_config_one(data, size); }
#endif
