/* cli/cmd_bench.c - `ablate bench WHAT`: dispatches to the kernel benchmark (cli/bench_kernels.c),
 * the forward-pass benchmark (cli/bench_forward.c), the study or the tokenizer benchmark. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: ablate bench WHAT [options]\n"
    "  kernels   time every CPU kernel variant at the model's shapes (GFLOPS, GB/s, % of peak)\n"
    "  forward   prefill and decode tokens/s of the whole model\n"
    "  study     time the units of work of a study\n"
    "  tokenizer encode MB/s of the tokenizer on wikitext-2 (one core)\n"
    "  --device cuda   SGEMM TFLOPS, prefill tokens/s and study times on the GPU (`make cuda`)\n"
    "`ablate bench WHAT --help` lists the options of each.\n";

int cli_bench(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--device=cuda") ||
            (!strcmp(argv[i], "--device") && i + 1 < argc && !strcmp(argv[i + 1], "cuda")))
            return cli_bench_cuda(argc, argv);
    if (!strcmp(argv[1], "kernels"))
        return cli_bench_kernels(argc - 1, argv + 1);
    if (!strcmp(argv[1], "forward"))
        return cli_bench_forward(argc - 1, argv + 1);
    if (!strcmp(argv[1], "study"))
        return cli_bench_study(argc - 1, argv + 1);
    if (!strcmp(argv[1], "tokenizer"))
        return cli_bench_tokenizer(argc - 1, argv + 1);
    cli_error("bench", "expected kernels, forward, study or tokenizer, found '%s' (hint: ablate "
              "bench --help)",
              argv[1]);
    return 2;
}
