/* tests/runner.c - runs every registered test in its own child process and prints one line per
 * test (PASS / FAIL name: why / SKIP name: why), then "N passed, N failed[, N skipped]".
 * Usage: runner [--tier model|all] [--no-fork] [-v] [SUBSTRING...] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"
#include "t_int.h"

static int selected(const char *name, int argc, char **argv, int first)
{
    if (first >= argc)
        return 1;
    for (int i = first; i < argc; i++)
        if (strstr(name, argv[i]))
            return 1;
    return 0;
}

static void rm_tree(const char *dir)
{
    if (!dir[0] || strncmp(dir, "/tmp/ablate-test-", 17) != 0)
        return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "note: could not remove %s\n", dir);
}

/* Run one case; fills *res. In the child the context is sent back through a pipe. */
static void run_case(const t_case *c, int fork_it, struct tctx *res)
{
    memset(res, 0, sizeof *res);
    if (!fork_it) {
        c->fn(res);
        return;
    }
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(res->why, sizeof res->why, "pipe: %s", strerror(errno));
        res->failed = 1;
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        c->fn(res);
        ssize_t off = 0, n = (ssize_t)sizeof *res;
        while (off < n) {
            ssize_t w = write(fd[1], (char *)res + off, (size_t)(n - off));
            if (w <= 0)
                break;
            off += w;
        }
        close(fd[1]);
        fflush(stdout);
        _exit(0);
    }
    close(fd[1]);
    ssize_t off = 0, n = (ssize_t)sizeof *res;
    while (off < n) {
        ssize_t r = read(fd[0], (char *)res + off, (size_t)(n - off));
        if (r <= 0)
            break;
        off += r;
    }
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (off != n || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        memset(res, 0, sizeof *res);
        res->failed = 1;
        if (WIFSIGNALED(st))
            snprintf(res->why, sizeof res->why, "crashed with signal %d", WTERMSIG(st));
        else
            snprintf(res->why, sizeof res->why, "child exited with status %d",
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
}

int main(int argc, char **argv)
{
    int tier = 0, fork_it = 1, verbose = 0, first = 1;
    while (first < argc && argv[first][0] == '-') {
        if (!strcmp(argv[first], "--tier") && first + 1 < argc) {
            tier = !strcmp(argv[first + 1], "model") ? 1 : !strcmp(argv[first + 1], "all") ? 2 : 0;
            first += 2;
        } else if (!strcmp(argv[first], "--no-fork")) {
            fork_it = 0;
            first++;
        } else if (!strcmp(argv[first], "-v")) {
            verbose = 1;
            first++;
        } else {
            fprintf(stderr, "usage: runner [--tier fast|model|all] [--no-fork] [-v] [NAME...]\n");
            return 2;
        }
    }
    int passed = 0, failed = 0, skipped = 0;
    for (const t_case *c = t_cases; c->name; c++) {
        if (tier != 2 && c->tier != tier)
            continue;
        if (!selected(c->name, argc, argv, first))
            continue;
        struct tctx res;
        run_case(c, fork_it, &res);
        if (res.failed) {
            printf("FAIL %s: %s\n", c->name, res.why);
            failed++;
        } else if (res.skipped) {
            printf("SKIP %s: %s\n", c->name, res.skip_why);
            skipped++;
        } else {
            printf("PASS %s\n", c->name);
            passed++;
        }
        if ((verbose || res.failed) && res.notes[0])
            fputs(res.notes, stdout);
        if (!res.failed)
            rm_tree(res.tmp);
        fflush(stdout);
    }
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
