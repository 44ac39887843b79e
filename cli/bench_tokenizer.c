/* cli/bench_tokenizer.c - `ablate bench tokenizer`: encode speed (MB/s, one core) on wikitext-2,
 * first pass with an empty word cache and best of N warm passes, plus a round-trip check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/file.h"
#include "../engine/tokenizer.h"
#include "cli.h"

static const char *const usage_text =
    "usage: ablate bench tokenizer [options]\n"
    "Encodes a text file on one core and prints MB/s and tokens/s: the first pass (empty word\n"
    "cache, right after loading) and the best of --repeat warm passes; checks that\n"
    "decode(encode(x)) == x.\n"
    "  --file PATH      text to encode (default: wikitext-2 test, data/ or ../shared/data)\n"
    "  --repeat N       warm passes (default 5)\n"
    "  --model DIR      model folder holding tokenizer.json (default " DEFAULT_MODEL_DIR ")\n";

static const char *const default_files[] = {
    "data/corpus/wikitext2/wiki.test.raw",
    "data/tasks/corpus/wikitext2/wiki.test.raw",
    "data/wikitext2/wiki.test.raw",
    "../shared/data/corpus/wikitext2/wiki.test.raw",
};

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }
/* CPU time of this thread: on a busy shared machine it still measures one core's speed. */
static double cpu_s(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

static char *slurp(const char *path, size_t *len)
{
    char *buf = NULL;
    return abl_read_file(path, 0, NULL, &buf, len, NULL) == ABL_OK ? buf : NULL;
}

int cli_bench_tokenizer(int argc, char **argv)
{
    const char *file = NULL, *model = DEFAULT_MODEL_DIR, *v;
    long repeat = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (cli_flag("bench tokenizer", argc, argv, &i, "--file", &v)) {
            if (!v)
                return 2;
            file = v;
        } else if (cli_flag("bench tokenizer", argc, argv, &i, "--model", &v)) {
            if (!v)
                return 2;
            model = v;
        } else if (cli_flag("bench tokenizer", argc, argv, &i, "--repeat", &v)) {
            if (!v || !cli_int("bench tokenizer", "--repeat", v, 1, 1000, &repeat))
                return 2;
        } else {
            cli_error("bench tokenizer", "unknown argument '%s' (see ablate bench tokenizer "
                      "--help)", argv[i]);
            return 2;
        }
    }
    size_t len = 0;
    char *text = NULL;
    if (file) {
        text = slurp(file, &len);
    } else {
        for (size_t k = 0; k < ABL_ARRAY_LEN(default_files) && !text; k++)
            if ((text = slurp(default_files[k], &len)))
                file = default_files[k];
    }
    if (!text) {
        cli_error("bench tokenizer", "%s: cannot read (hint: run `make data` or pass --file)",
                  file ? file : "wikitext-2 wiki.test.raw");
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", model);
    abl_err err = {0};
    tokenizer *t = NULL;
    tok_ids ids = {0};
    char *back = NULL;
    int rc = 0;
    double t0 = now_s();
    abl_status st = tok_load(&t, path, &err);
    double load_s = now_s() - t0, first = 0, best = 1e30, first_cpu = 0, best_cpu = 1e30;
    for (long r = 0; !st && r <= repeat; r++) {
        ids.n = 0;
        double a = now_s(), c = cpu_s();
        st = tok_encode(t, text, len, &ids, &err);
        double d = now_s() - a, dc = cpu_s() - c;
        if (r == 0) {
            first = d;
            first_cpu = dc;
        } else {
            best = d < best ? d : best;
            best_cpu = dc < best_cpu ? dc : best_cpu;
        }
    }
    size_t blen = 0;
    if (!st)
        st = tok_decode(t, ids.v, ids.n, &back, &blen, &err);
    if (st) {
        rc = cli_report("bench tokenizer", &err);
    } else {
        uint64_t hits, misses;
        tok_cache_stats(t, &hits, &misses);
        bool same = blen == len && !memcmp(back, text, len);
        double mb = (double)len / 1e6;
        printf("tokenizer bench: %s (%zu bytes, %zu tokens, %.2f bytes/token)\n", file, len, ids.n,
               (double)len / (double)(ids.n ? ids.n : 1));
        printf("  load tokenizer.json      %8.1f ms\n", 1e3 * load_s);
        printf("                           wall clock                  thread CPU time\n");
        printf("  encode, first pass       %7.2f MB/s %9.0f tok/s  %7.2f MB/s %9.0f tok/s\n",
               mb / first, (double)ids.n / first, mb / first_cpu, (double)ids.n / first_cpu);
        printf("  encode, best of %-3ld      %7.2f MB/s %9.0f tok/s  %7.2f MB/s %9.0f tok/s\n",
               repeat, mb / best, (double)ids.n / best, mb / best_cpu, (double)ids.n / best_cpu);
        printf("  word cache hit rate      %8.1f %%\n",
               100.0 * (double)hits / (double)(hits + misses ? hits + misses : 1));
        printf("  decode(encode(x)) == x   %s\n", same ? "yes" : "NO");
        if (!same)
            rc = 1;
    }
    free(back);
    tok_ids_free(&ids);
    tok_free(t);
    free(text);
    return rc;
}
