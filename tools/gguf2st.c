/* tools/gguf2st.c - converts a llama-architecture GGUF file into a standard Hugging Face folder:
 * config.json, model.safetensors (F32), tokenizer.json, tokenizer_config.json, generation_config.
 * Usage: gguf2st IN.gguf OUTDIR. The work is done by loader/gguf_convert. */
#include <stdio.h>

#include "../base/abl.h"
#include "../loader/gguf_convert.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gguf2st IN.gguf OUTDIR\n"
                        "  writes a Hugging Face folder (config.json, model.safetensors in F32,\n"
                        "  tokenizer.json, tokenizer_config.json, generation_config.json)\n");
        return 2;
    }
    abl_err err = {0};
    abl_status s = gguf_convert_hf(argv[1], argv[2], 1, &err);
    if (s) {
        fprintf(stderr, "gguf2st: error (%s): %s\n", abl_status_name(s), err.msg);
        return 1;
    }
    return 0;
}
