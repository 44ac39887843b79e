/* base/file.c - the storage primitives: whole-file reads, atomic writes, mkdir -p (see file.h). */
#include "file.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

abl_status abl_read_file(const char *path, size_t max, const char *hint, char **buf, size_t *len,
                         abl_err *err)
{
    ABL_ASSERT(path && buf && len);
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return abl_fail(err, ABL_E_IO, "%s: cannot open (%s)%s%s%s", path, strerror(errno),
                        hint ? " (hint: " : "", hint ? hint : "", hint ? ")" : "");
    abl_status st = ABL_OK;
    char *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 1 >= cap) { /* room for at least one byte and the NUL */
            size_t nc = cap ? cap * 2 : (size_t)1 << 16;
            char *q = nc > cap ? realloc(b, nc) : NULL;
            if (!q) {
                st = abl_fail(err, ABL_E_NOMEM, "%s: out of memory reading the file", path);
                break;
            }
            b = q;
            cap = nc;
        }
        size_t want = cap - n - 1;
        if (max > 0 && want > max + 1 - n)
            want = max + 1 - n; /* one byte past the cap tells "larger" from "exactly max" */
        size_t got = fread(b + n, 1, want, f);
        n += got;
        if (max > 0 && n > max) {
            st = abl_fail(err, ABL_E_FORMAT, "%s: larger than %zu bytes", path, max);
            break;
        }
        if (got < want) {
            if (ferror(f))
                st = abl_fail(err, ABL_E_IO, "%s: read error (%s)", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st) {
        free(b);
        return st;
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return ABL_OK;
}

/* ---- atomic writes ---------------------------------------------------------------------- */

abl_status abl_afile_open(abl_afile *af, const char *dir, const char *name, abl_err *err)
{
    af->f = NULL;
    int n = dir ? snprintf(af->path, sizeof af->path, "%s/%s", dir, name)
                : snprintf(af->path, sizeof af->path, "%s", name);
    if (n < 0 || n > 4000)
        return abl_fail(err, ABL_E_ARG, "%.200s...: path too long (at most 4000 bytes)", name);
    const char *slash = strrchr(af->path, '/');
    int dl = slash ? (int)(slash - af->path + 1) : 0;
    char pid[24];
    snprintf(pid, sizeof pid, ".tmp.%ld", (long)getpid());
    memcpy(af->tmp, af->path, (size_t)dl); /* "<dir>/" ".<name>" ".tmp.<pid>": n + 26 bytes */
    af->tmp[dl] = '.';
    memcpy(af->tmp + dl + 1, af->path + dl, (size_t)n - (size_t)dl);
    memcpy(af->tmp + n + 1, pid, strlen(pid) + 1);
    af->f = fopen(af->tmp, "wb");
    if (!af->f)
        return abl_fail(err, ABL_E_IO, "%s: cannot create: %s (hint: is the folder there and "
                        "writable?)", af->tmp, strerror(errno));
    return ABL_OK;
}

/* Remove temp files of the same target left by processes that were killed (kill -9) between
 * open and commit: ".NAME.tmp.PID" whose PID is not alive here. Best effort. */
static void sweep_stale_tmp(const abl_afile *af)
{
    char dir[sizeof af->tmp];
    snprintf(dir, sizeof dir, "%s", af->tmp);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    const char *mark = strstr(base, ".tmp.");
    if (!mark)
        return;
    size_t plen = (size_t)(mark - base) + 5; /* ".NAME.tmp." */
    char prefix[256];
    if (plen >= sizeof prefix)
        return;
    memcpy(prefix, base, plen);
    prefix[plen] = 0;
    if (slash)
        *slash = 0;
    DIR *d = opendir(slash ? dir : ".");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        char *end;
        long pid = strtol(e->d_name + plen, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* a live process (another run) may still own it */
        char path[sizeof af->tmp + 256];
        snprintf(path, sizeof path, "%s/%s", slash ? dir : ".", e->d_name);
        remove(path);
    }
    closedir(d);
}

abl_status abl_afile_commit(abl_afile *af, abl_err *err)
{
    ABL_ASSERT(af->f);
    int bad = fflush(af->f) != 0 || ferror(af->f);
    int e = errno;
    if (!bad && fsync(fileno(af->f)) != 0) {
        bad = 1;
        e = errno;
    }
    if (fclose(af->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    af->f = NULL;
    if (!bad && rename(af->tmp, af->path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        remove(af->tmp);
        return abl_fail(err, ABL_E_IO, "%s: write failed: %s (hint: disk full?); the earlier "
                        "file, if any, is unchanged", af->path, strerror(e));
    }
    sweep_stale_tmp(af);
    return ABL_OK;
}

void abl_afile_abort(abl_afile *af)
{
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
        remove(af->tmp);
    }
}

abl_status abl_write_file_atomic(const char *path, const void *data, size_t len, abl_err *err)
{
    abl_afile af;
    abl_status s = abl_afile_open(&af, NULL, path, err);
    if (s)
        return s;
    if (len && fwrite(data, 1, len, af.f) != len) {
        int e = errno;
        abl_afile_abort(&af);
        return abl_fail(err, ABL_E_IO, "%s: write failed: %s (hint: disk full?); the earlier "
                        "file, if any, is unchanged", path, strerror(e));
    }
    return abl_afile_commit(&af, err);
}

abl_status abl_mkdirs(const char *dir, abl_err *err)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf)
        return abl_fail(err, ABL_E_ARG, "run directory '%s': expected a path of 1..4095 bytes",
                        dir);
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0)
            continue;
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return abl_fail(err, ABL_E_IO, "%s: cannot create directory: %s (hint: check the "
                            "--out path and its permissions)", buf, strerror(errno));
        buf[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return abl_fail(err, ABL_E_IO, "%s: expected a directory, found a file", dir);
    return ABL_OK;
}
