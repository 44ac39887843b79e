/* tests/test_hard_util.h - helpers of the hardening tests: run the real `ablate` binary in a child
 * (timeout, file-size limit, captured output), copy and patch files, hash a directory tree. */
#ifndef TEST_HARD_UTIL_H
#define TEST_HARD_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "t.h"

/* How one child run ended. */
typedef struct {
    int rc;          /* exit status when it exited; -1 when killed by a signal or hung */
    int sig;         /* the signal that ended it (0 when it exited by itself) */
    int hung;        /* 1 when it ran past its timeout and was killed with SIGKILL */
    double secs;     /* wall time of the run */
    char err[8192];  /* its stderr (truncated to fit, NUL-terminated) */
} hx_result;

/* The binary under test: $ABLATE_BIN when set (make test-asan points it at an ASan build),
 * else ./ablate (tests run from the repository root). Static string; thread-unsafe getenv. */
const char *hx_binary(void);

/* 1 when hx_binary() is an executable. Otherwise 0, and: when ABLATE_BIN is unset the test is
 * skipped ("./ablate is not built": a runner built alone, e.g. on a GPU machine, has no
 * binary beside it; `make test` always builds it); when ABLATE_BIN names a missing file the
 * test fails. */
int hx_need_binary(tctx *t);

/* Start `hx_binary() argv[0] argv[1] ...` (argv NULL-terminated, argv[0] is the first argument
 * after the program, e.g. "run"). stdout goes to out_path, stderr to err_path (created or
 * truncated; NULL = /dev/null). fsize > 0 sets RLIMIT_FSIZE in the child (SIGXFSZ ignored, so
 * writes past the limit fail with EFBIG like on a full disk). Returns the pid, or -1 on failure. */
pid_t hx_spawn(char *const argv[], const char *out_path, const char *err_path, long fsize);

/* Wait for pid at most timeout_s seconds; past that it is killed (SIGKILL) and reaped.
 * Fills rc/sig/hung/secs of r (err untouched). started = when it was spawned (hx_now()). */
void hx_wait(pid_t pid, double timeout_s, double started, hx_result *r);

/* hx_spawn + hx_wait with stderr captured into r->err, through files under dir. */
void hx_run(char *const argv[], const char *dir, long fsize, double timeout_s, hx_result *r);

/* Seconds on a monotonic clock. */
double hx_now(void);

/* Split a space-separated command template into argv (at most max-1 words, NULL-terminated),
 * replacing every "@X" by subst[X - 'A'] (X an uppercase letter; NULL entries leave it as is).
 * Words live in buf (size n). Returns the word count, -1 when they do not fit. */
int hx_argv(const char *tmpl, const char *const subst[26], char *buf, size_t n, char **argv,
            int max);

/* Whole file into a malloc'ed buffer (NUL appended, *len without it); NULL on failure. */
char *hx_read(const char *path, size_t *len);
/* Write len bytes to path (created or truncated). Returns 0 on success. */
int hx_write(const char *path, const void *data, size_t len);
/* Copy the regular files of directory src into dst (created). Returns 0 on success. */
int hx_copy_dir(const char *src, const char *dst);
/* Replace the first occurrence of from by to in file path (keep the lengths equal in binary
 * files whose offsets matter). Returns 0 when done, -1 when from is absent or on I/O errors. */
int hx_patch(const char *path, const char *from, const char *to);

/* A listing of every regular file under dir as "relative/path sha256\n" lines, sorted, into a
 * malloc'ed string (also directories as "relative/dir/ dir\n"). NULL when dir cannot be read. */
char *hx_tree(const char *dir);

/* Number of lines of path (0 when missing). */
int hx_lines(const char *path);

#endif
