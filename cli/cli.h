/* cli/cli.h - one function per subcommand, called by ablate.c (the only file that exits).
 * Each returns the process exit status: 0 ok, 1 failure, 2 usage error, 130 interrupted. */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/abl.h"

#define ABLATE_VERSION "0.1.0"
#define DEFAULT_MODEL_DIR "models/smollm2-135m-instruct"

int cli_run(int argc, char **argv);      /* the study (default subcommand) */
int cli_eval(int argc, char **argv);
int cli_generate(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_inspect(int argc, char **argv);
int cli_lens(int argc, char **argv);
int cli_prune(int argc, char **argv);
int cli_theory(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_bench_tokenizer(int argc, char **argv); /* `ablate bench tokenizer` (cli/bench_tokenizer.c) */
/* `ablate bench forward` (cli/bench_forward.c), dispatched by cli_bench. */
int cli_bench_forward(int argc, char **argv);
/* `ablate bench kernels` (cli/bench_kernels.c) and `ablate bench study` (cli/cmd_run.c: the
 * run options, --estimate, plus the study's own figures). argv[0] is the bench name. */
int cli_bench_kernels(int argc, char **argv);
int cli_bench_study(int argc, char **argv);
/* One core's FMA peak of the active kernel variant, GFLOP/s, measured now (best of 5 probes,
 * about 0.1 s); kern_init must have run. */
double cli_fma_peak_gflops(void);
/* `ablate bench --device cuda ...` (cli/bench_cuda.c): SGEMM TFLOPS at the model's shapes (F32
 * and TF32), attention and prefill timings. argv[0] is "bench". Returns the exit status (0 ok,
 * 1 failure, 2 usage). Without a CUDA backend or GPU it prints kc_init's one-line error and
 * returns 1. */
int cli_bench_cuda(int argc, char **argv);

/* ---- shared flag helpers (cli/cli_util.c) ------------------------------------------------ */

/* Print "ablate CMD: MESSAGE" to stderr (one line). */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print an abl_err as one line: "ablate CMD: <msg>". Returns the exit status for it (1). */
int cli_report(const char *cmd, const abl_err *err);

/* Parse a duration: one or more NUMBER UNIT parts, unit s, m, h or d ("90s", "5m", "2h",
 * "1h30m"; decimals allowed), within [1 s, 30 days]. false after a one-line error naming flag.
 * *out (seconds) is set only on success. */
bool cli_duration(const char *cmd, const char *flag, const char *s, double *out);

/* Parse a decimal integer in [lo, hi] for flag; prints a one-line error and returns false on
 * junk, overflow or out-of-range values. */
bool cli_int(const char *cmd, const char *flag, const char *s, long lo, long hi, long *out);
/* Parse a finite double in [lo, hi]. */
bool cli_double(const char *cmd, const char *flag, const char *s, double lo, double hi, double *out);

/* For "--flag VALUE" / "--flag=VALUE": when argv[*i] is flag, sets *val, advances *i, returns
 * true. A missing value prints an error and sets *val = NULL (caller returns 2). */
bool cli_flag(const char *cmd, int argc, char **argv, int *i, const char *flag, const char **val);

/* Options shared by the study commands (run, prune): the caller fills the defaults. */
typedef struct {
    const char *model_dir;  /* --model DIR */
    const char *data_dir;   /* --data-dir DIR (NULL: the library default) */
    const char *device;     /* --device cpu|cuda, checked by cli_device */
    uint64_t seed;          /* --seed N in [0, 2^31) */
    int threads;            /* --threads N in [1, 1024] */
} cli_common;

/* When argv[*i] is --model, --data-dir, --seed, --threads or --device (either form): parse its
 * value into c, advance *i and return true, with *bad set when the value is missing or
 * malformed (a one-line error is printed; the caller returns 2). Otherwise returns false and
 * changes nothing. Strings point into argv. */
bool cli_common_flag(const char *cmd, int argc, char **argv, int *i, cli_common *c, bool *bad);

/* "cpu" -> 0, "cuda" -> 1; anything else prints "--device: expected cpu or cuda" and gives -1. */
int cli_device(const char *cmd, const char *device);

/* Set by the SIGINT handler installed by ablate.c; long loops poll it and stop cleanly. */
extern volatile int cli_interrupted;

#endif
