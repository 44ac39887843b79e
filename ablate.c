/* ablate.c - the command line: picks a subcommand, installs the SIGINT handler, and is the only
 * place in the program that exits. Each subcommand lives in cli/cmd_<name>.c. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *what;
} subcommand;

static const subcommand commands[] = {
    {"run", cli_run, "the study: cosine score vs accuracy relevance per block (default)"},
    {"eval", cli_eval, "zero-shot benchmark accuracy, perplexity on a corpus"},
    {"generate", cli_generate, "generate text, optionally with blocks skipped"},
    {"tokenize", cli_tokenize, "show token ids and pieces of a text (or decode ids)"},
    {"inspect", cli_inspect, "architecture, parameter count and tensors of a model folder"},
    {"lens", cli_lens, "logit lens: top next tokens read from every block"},
    {"prune", cli_prune, "greedy block pruning by accuracy or cosine score"},
    {"theory", cli_theory, "Theorem 1: a model where cosine score misses the crucial block"},
    {"bench", cli_bench, "kernel, forward and study benchmarks"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ablate [SUBCOMMAND] [OPTIONS]\n\n"
               "Which transformer blocks matter, and does the cosine-similarity score tell you?\n\n"
               "subcommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
    fprintf(f, "\nWith no subcommand, `ablate` runs the default study (`ablate run`).\n"
               "`ablate SUBCOMMAND --help` describes each one. `ablate --version` prints the "
               "version.\n");
}

static void on_sigint(int sig)
{
    (void)sig;
    if (cli_interrupted) /* second Ctrl-C: stop now */
        signal(SIGINT, SIG_DFL);
    cli_interrupted = 1;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);

    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
                      !strcmp(argv[1], "help"))) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("ablate %s\n", ABLATE_VERSION);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') /* no subcommand: flags go to `run` */
        return cli_run(argc, argv);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "ablate: unknown subcommand '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
