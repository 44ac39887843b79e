/* cli/cmd_bench.c - `ablate bench`: not built yet (placeholder until its issue lands).
 * Says so in one line and fails; never prints made-up output. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_bench(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: ablate bench [options]\n`ablate bench` is not built yet.\n");
            return 0;
        }
    cli_error("bench", "this subcommand is not built yet");
    return 1;
}
