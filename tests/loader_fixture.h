/* tests/loader_fixture.h - writes tiny llama-family model folders (config.json + model.safetensors)
 * for loader and inspect tests; defined in tests/test_hf_names.c. */
#ifndef LOADER_FIXTURE_H
#define LOADER_FIXTURE_H

/* A 2-layer LlamaForCausalLM: D=8, H=2, Hkv=1, Dh=4, F=12, V=16, untied embeddings. */
extern const char *const lt_tiny_config;

typedef enum {
    LT_GOOD,        /* exactly the expected tensors */
    LT_MISSING,     /* drops model.layers.1.mlp.up_proj.weight */
    LT_BADSHAPE,    /* model.layers.0.self_attn.k_proj.weight has one row too many */
    LT_EXTRA,       /* adds model.layers.7.mlp.extra.weight */
    LT_INT_DTYPE,   /* model.norm.weight stored as I32 */
    LT_TIED_EXTRA,  /* adds rotary_emb.inv_freq buffers (tolerated) */
} lt_variant;

/* Write dir/config.json (config_json) and dir/model.safetensors holding the tensors the config
 * needs, changed as the variant says. Returns 1 on success. */
int lt_write_model(const char *dir, const char *config_json, lt_variant v);

#endif
