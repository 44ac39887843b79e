/* cli/cmd_prune.c - `ablate prune`: not built yet (placeholder until its issue lands).
 * Says so in one line and fails; never prints made-up output. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_prune(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: ablate prune [options]\n`ablate prune` is not built yet.\n");
            return 0;
        }
    cli_error("prune", "this subcommand is not built yet");
    return 1;
}
