/* tests/test_hard_util.c - helpers of the hardening tests (tests/test_bad_inputs.c,
 * tests/test_interrupt.c): child runs of the real binary, file fixtures, directory hashes. */
#include "test_hard_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../base/sha256.h"

const char *hx_binary(void)
{
    const char *b = getenv("ABLATE_BIN");
    return b && *b ? b : "./ablate";
}

int hx_need_binary(tctx *t)
{
    if (access(hx_binary(), X_OK) == 0)
        return 1;
    const char *b = getenv("ABLATE_BIN");
    if (b && *b)
        t_fail(t, "ABLATE_BIN=%s is not an executable", b);
    else
        t_skip(t, "./ablate is not built (run `make ablate`; `make test` builds it)");
    return 0;
}

double hx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void redirect(const char *path, int fd)
{
    int f = open(path ? path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f >= 0) {
        dup2(f, fd);
        close(f);
    }
}

pid_t hx_spawn(char *const argv[], const char *out_path, const char *err_path, long fsize)
{
    int n = 0;
    while (argv[n])
        n++;
    char **av = calloc((size_t)n + 2, sizeof *av);
    if (!av)
        return -1;
    av[0] = (char *)hx_binary();
    for (int i = 0; i < n; i++)
        av[i + 1] = argv[i];
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        redirect(out_path, 1);
        redirect(err_path, 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
            close(devnull);
        }
        signal(SIGINT, SIG_DFL); /* ablate installs its own handler */
        if (fsize > 0) {
            signal(SIGXFSZ, SIG_IGN); /* stays ignored across exec: writes fail with EFBIG */
            struct rlimit rl = {(rlim_t)fsize, (rlim_t)fsize};
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        execv(av[0], av);
        fprintf(stderr, "exec %s: %s\n", av[0], strerror(errno));
        _exit(127);
    }
    free(av);
    return pid;
}

void hx_wait(pid_t pid, double timeout_s, double started, hx_result *r)
{
    r->rc = -1;
    r->sig = 0;
    r->hung = 0;
    int st = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            r->secs = hx_now() - started;
            return;
        }
        if (hx_now() - started > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            r->hung = 1;
            break;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    r->secs = hx_now() - started;
    if (WIFEXITED(st) && !r->hung)
        r->rc = WEXITSTATUS(st);
    else if (WIFSIGNALED(st))
        r->sig = WTERMSIG(st);
}

void hx_run(char *const argv[], const char *dir, long fsize, double timeout_s, hx_result *r)
{
    char ep[1024];
    snprintf(ep, sizeof ep, "%s/.hx_stderr", dir);
    double t0 = hx_now();
    pid_t pid = hx_spawn(argv, NULL, ep, fsize);
    r->err[0] = 0;
    if (pid < 0) {
        r->rc = -1;
        r->sig = 0;
        r->hung = 0;
        snprintf(r->err, sizeof r->err, "fork failed: %s", strerror(errno));
        return;
    }
    hx_wait(pid, timeout_s, t0, r);
    size_t n = 0;
    char *e = hx_read(ep, &n);
    if (e) {
        snprintf(r->err, sizeof r->err, "%s", e);
        free(e);
    }
    unlink(ep);
}

int hx_argv(const char *tmpl, const char *const subst[26], char *buf, size_t n, char **argv, int max)
{
    int argc = 0;
    size_t used = 0;
    const char *p = tmpl;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (argc + 1 >= max)
            return -1;
        argv[argc++] = buf + used;
        for (; *p && *p != ' '; p++) {
            const char *rep = NULL;
            if (p[0] == '@' && p[1] >= 'A' && p[1] <= 'Z')
                rep = subst[p[1] - 'A'];
            size_t k = rep ? strlen(rep) : 1;
            if (used + k + 1 > n)
                return -1;
            memcpy(buf + used, rep ? rep : p, k);
            used += k;
            p += rep ? 1 : 0;
        }
        buf[used++] = 0;
    }
    argv[argc] = NULL;
    return argc;
}

char *hx_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (n < cap) {
            if (ferror(f)) {
                free(b);
                b = NULL;
            }
            break;
        }
        char *nb = realloc(b, 2 * cap + 1);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    fclose(f);
    if (!b)
        return NULL;
    b[n] = 0;
    if (len)
        *len = n;
    return b;
}

int hx_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

int hx_copy_dir(const char *src, const char *dst)
{
    if (mkdir(dst, 0755) != 0 && errno != EEXIST)
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return -1;
    struct dirent *e;
    int bad = 0;
    while ((e = readdir(d)) && !bad) {
        char a[2048], b[2048];
        snprintf(a, sizeof a, "%s/%s", src, e->d_name);
        snprintf(b, sizeof b, "%s/%s", dst, e->d_name);
        struct stat st;
        if (e->d_name[0] == '.' || stat(a, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        size_t n = 0;
        char *data = hx_read(a, &n);
        bad = !data || hx_write(b, data, n) != 0;
        free(data);
    }
    closedir(d);
    return bad ? -1 : 0;
}

int hx_patch(const char *path, const char *from, const char *to)
{
    size_t n = 0, lf = strlen(from), lt = strlen(to);
    char *b = hx_read(path, &n);
    if (!b)
        return -1;
    char *hit = memmem(b, n, from, lf);
    char *o = hit ? malloc(n - lf + lt + 1) : NULL;
    int rc = -1;
    if (o) {
        size_t at = (size_t)(hit - b);
        memcpy(o, b, at);
        memcpy(o + at, to, lt);
        memcpy(o + at + lt, hit + lf, n - at - lf);
        rc = hx_write(path, o, n - lf + lt);
    }
    free(o);
    free(b);
    return rc;
}

typedef struct {
    char **line;
    int n, cap;
} lines;

static int add_line(lines *l, const char *s)
{
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 64;
        char **nl = realloc(l->line, sizeof *nl * (size_t)nc);
        if (!nl)
            return -1;
        l->line = nl;
        l->cap = nc;
    }
    return (l->line[l->n] = strdup(s)) ? (l->n++, 0) : -1;
}

static int walk(const char *root, const char *rel, int depth, lines *l)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    int bad = 0;
    while ((e = readdir(d)) && !bad) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[2048], full[6200], row[2200];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        if (lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            snprintf(row, sizeof row, "%s/ dir\n", sub);
            bad = add_line(l, row) || (depth < 8 && walk(root, sub, depth + 1, l));
        } else {
            char hex[65] = "unreadable";
            abl_err err;
            if (S_ISREG(st.st_mode) && sha256_file(full, hex, &err) != ABL_OK)
                snprintf(hex, sizeof hex, "unreadable");
            snprintf(row, sizeof row, "%s %s\n", sub, S_ISREG(st.st_mode) ? hex : "special");
            bad = add_line(l, row);
        }
    }
    closedir(d);
    return bad ? -1 : 0;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *hx_tree(const char *dir)
{
    lines l = {0};
    int bad = walk(dir, "", 0, &l);
    size_t total = 1;
    for (int i = 0; i < l.n; i++)
        total += strlen(l.line[i]);
    char *out = bad ? NULL : malloc(total);
    if (out) {
        qsort(l.line, (size_t)l.n, sizeof *l.line, cmp_line);
        out[0] = 0;
        size_t at = 0;
        for (int i = 0; i < l.n; i++) {
            size_t k = strlen(l.line[i]);
            memcpy(out + at, l.line[i], k + 1);
            at += k;
        }
    }
    for (int i = 0; i < l.n; i++)
        free(l.line[i]);
    free(l.line);
    return out;
}

int hx_lines(const char *path)
{
    size_t n = 0;
    char *b = hx_read(path, &n);
    int c = 0;
    for (size_t i = 0; b && i < n; i++)
        c += b[i] == '\n';
    free(b);
    return c;
}
