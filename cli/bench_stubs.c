/* cli/bench_stubs.c - weak "not built yet" defaults for the bench subcommands other issues own;
 * a strong definition elsewhere (cli/bench_study.c) replaces each one at link time. */
#include <stdio.h>

#include "cli.h"

__attribute__((weak)) int cli_bench_study(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("bench study", "this benchmark is not built yet");
    return 1;
}
