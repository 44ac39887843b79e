/* cli/cmd_theory.c - `ablate theory`: not built yet (placeholder until its issue lands).
 * Says so in one line and fails; never prints made-up output. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_theory(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: ablate theory [options]\n`ablate theory` is not built yet.\n");
            return 0;
        }
    cli_error("theory", "this subcommand is not built yet");
    return 1;
}
