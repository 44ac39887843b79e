/* study/journal.c - append-only, fsync'ed record of finished work units with a configuration
 * fingerprint on its first line; each record carries a checksum so torn writes are detected. */
#include "journal.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/file.h"
#include "../base/sha256.h"

#define JOURNAL_MAGIC "ablate-journal-v1"

typedef struct {
    char *key, *payload;
} jrec;

struct journal {
    char *dir, *path;
    int fd;
    jrec *rec;
    int n, cap;
};

static void check8(const char *key, const char *payload, char out[9])
{
    sha256_ctx c;
    uint8_t d[32];
    sha256_init(&c);
    sha256_update(&c, key, strlen(key));
    sha256_update(&c, "\t", 1);
    sha256_update(&c, payload, strlen(payload));
    sha256_final(&c, d);
    snprintf(out, 9, "%02x%02x%02x%02x", d[0], d[1], d[2], d[3]);
}

static abl_status add_rec(journal *j, const char *key, size_t kl, const char *pl, size_t pn)
{
    if (j->n == j->cap) {
        int nc = j->cap ? 2 * j->cap : 64;
        jrec *r = realloc(j->rec, sizeof *r * (size_t)nc);
        if (!r)
            return ABL_E_NOMEM;
        j->rec = r;
        j->cap = nc;
    }
    char *k = malloc(kl + 1), *p = malloc(pn + 1);
    if (!k || !p) {
        free(k);
        free(p);
        return ABL_E_NOMEM;
    }
    memcpy(k, key, kl);
    k[kl] = 0;
    memcpy(p, pl, pn);
    p[pn] = 0;
    j->rec[j->n].key = k;
    j->rec[j->n].payload = p;
    j->n++;
    return ABL_OK;
}

/* Parse the journal text; returns the byte length of the valid prefix in *good. */
static abl_status parse(journal *j, const char *text, size_t len, const char *config,
                        size_t *good, abl_err *err)
{
    const char *nl = memchr(text, '\n', len);
    size_t hl = strlen(JOURNAL_MAGIC);
    if (!nl || (size_t)(nl - text) < hl + 1 || memcmp(text, JOURNAL_MAGIC "\t", hl + 1) != 0) {
        *good = 0; /* empty or torn header: start over */
        return ABL_OK;
    }
    const char *cfg = text + hl + 1;
    size_t cl = (size_t)(nl - cfg);
    if (cl != strlen(config) || memcmp(cfg, config, cl) != 0)
        return abl_fail(err, ABL_E_STATE,
                        "%s: this run directory was made by another configuration "
                        "(there: %.*s; now: %.200s) (hint: pass another --out, or delete the "
                        "directory to start over)", j->path, (int)(cl > 200 ? 200 : cl), cfg,
                        config);
    size_t pos = (size_t)(nl - text) + 1;
    *good = pos;
    while (pos < len) {
        const char *line = text + pos, *end = memchr(line, '\n', len - pos);
        if (!end)
            break; /* torn last line */
        const char *t1 = memchr(line, '\t', (size_t)(end - line));
        const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(end - t1 - 1)) : NULL;
        if (!t1 || !t2 || end - t2 - 1 != 8)
            break;
        abl_status s = add_rec(j, line, (size_t)(t1 - line), t1 + 1, (size_t)(t2 - t1 - 1));
        if (s)
            return abl_fail(err, s, "%s: out of memory loading the journal", j->path);
        char want[9];
        check8(j->rec[j->n - 1].key, j->rec[j->n - 1].payload, want);
        if (memcmp(want, t2 + 1, 8) != 0) { /* corrupt record: drop it and what follows */
            j->n--;
            free(j->rec[j->n].key);
            free(j->rec[j->n].payload);
            break;
        }
        pos = (size_t)(end - text) + 1;
        *good = pos;
    }
    return ABL_OK;
}

/* A directory that holds anything but journals and the configuration file was not made by a
 * study run (or its journal was removed): its configuration cannot be checked, so it is never
 * written into. */
static int has_outputs(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    for (struct dirent *e; !found && (e = readdir(d));)
        found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
                strncmp(e->d_name, "journal.", 8) != 0 && strcmp(e->d_name, "config.txt") != 0 &&
                strncmp(e->d_name, ".config.txt.tmp.", 16) != 0;
    closedir(d);
    return found;
}

static abl_status write_full(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ABL_E_IO;
        s += w;
        n -= (size_t)w;
    }
    return ABL_OK;
}

abl_status journal_open(journal **out, const char *dir, const char *config, abl_err *err)
{
    return journal_open_at(out, dir, "journal.tsv", config, 0, err);
}

abl_status journal_open_at(journal **out, const char *dir, const char *name, const char *config,
                           int flags, abl_err *err)
{
    *out = NULL;
    bool ro = flags & JOURNAL_READONLY;
    if (strpbrk(config, "\t\n"))
        return abl_fail(err, ABL_E_ARG, "journal: configuration text must be one line");
    journal *j = calloc(1, sizeof *j);
    if (!j)
        return abl_fail(err, ABL_E_NOMEM, "journal: out of memory");
    j->fd = -1;
    size_t dl = strlen(dir);
    j->dir = malloc(dl + 1);
    j->path = malloc(dl + strlen(name) + 2);
    if (!j->dir || !j->path) {
        journal_close(j);
        return abl_fail(err, ABL_E_NOMEM, "journal: out of memory");
    }
    memcpy(j->dir, dir, dl + 1);
    snprintf(j->path, dl + strlen(name) + 2, "%s/%s", dir, name);
    abl_status s = ro ? ABL_OK : abl_mkdirs(dir, err);
    if (s) {
        journal_close(j);
        return s;
    }
    size_t len = 0, good = 0;
    char *text = NULL;
    if ((ro || access(j->path, F_OK) == 0) &&
        (s = abl_read_file(j->path, 0, NULL, &text, &len, err))) {
        journal_close(j);
        return s;
    }
    if (ro) { /* a live writer may be mid-line: its torn tail is skipped, never cut */
        s = parse(j, text, len, config, &good, err);
        if (!s && good == 0 && memchr(text, '\n', len)) /* no line at all: not yet written */
            s = abl_fail(err, ABL_E_FORMAT, "%s: not a journal (hint: delete it if no shard is "
                         "writing it)", j->path);
        free(text);
        if (s) {
            journal_close(j);
            return s;
        }
        *out = j;
        return ABL_OK;
    }
    if (!text && !(flags & JOURNAL_TRUSTED_DIR) && has_outputs(dir)) {
        journal_close(j);
        return abl_fail(err, ABL_E_STATE, "%s: expected an empty or new run directory, found a "
                        "non-empty one without journal.tsv (hint: pass another --out, or delete "
                        "the directory)", dir);
    }
    if (text) {
        s = parse(j, text, len, config, &good, err);
        free(text);
        if (s) {
            journal_close(j);
            return s;
        }
    }
    j->fd = open(j->path, O_WRONLY | O_CREAT, 0666);
    if (j->fd < 0) {
        s = abl_fail(err, ABL_E_IO, "%s: cannot open for writing: %s (hint: is the run "
                     "directory writable?)", j->path, strerror(errno));
        journal_close(j);
        return s;
    }
    if (ftruncate(j->fd, (off_t)good) != 0 || lseek(j->fd, 0, SEEK_END) < 0) {
        s = abl_fail(err, ABL_E_IO, "%s: cannot cut the torn tail: %s", j->path, strerror(errno));
        journal_close(j);
        return s;
    }
    if (good == 0) {
        size_t hl = strlen(JOURNAL_MAGIC) + strlen(config) + 3;
        char *h = malloc(hl);
        if (!h) {
            journal_close(j);
            return abl_fail(err, ABL_E_NOMEM, "journal: out of memory");
        }
        snprintf(h, hl, "%s\t%s\n", JOURNAL_MAGIC, config);
        s = write_full(j->fd, h, strlen(h));
        free(h);
        if (s || fsync(j->fd) != 0) {
            s = abl_fail(err, ABL_E_IO, "%s: cannot write the header: %s (hint: disk full?)",
                         j->path, strerror(errno));
            journal_close(j);
            return s;
        }
    }
    *out = j;
    return ABL_OK;
}

void journal_close(journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    for (int i = 0; i < j->n; i++) {
        free(j->rec[i].key);
        free(j->rec[i].payload);
    }
    free(j->rec);
    free(j->dir);
    free(j->path);
    free(j);
}

int journal_count(const journal *j) { return j->n; }

const char *journal_dir(const journal *j) { return j->dir; }

const char *journal_find(const journal *j, const char *key)
{
    for (int i = j->n - 1; i >= 0; i--)
        if (!strcmp(j->rec[i].key, key))
            return j->rec[i].payload;
    return NULL;
}

abl_status journal_append(journal *j, const char *key, const char *payload, abl_err *err)
{
    if (strpbrk(key, "\t\n") || strpbrk(payload, "\t\n") || !*key)
        return abl_fail(err, ABL_E_ARG, "journal: key and payload must be one tab-free line");
    if (j->fd < 0)
        return abl_fail(err, ABL_E_STATE, "%s: opened read-only", j->path);
    if (journal_find(j, key))
        return abl_fail(err, ABL_E_STATE, "%s: unit '%s' is already recorded", j->path, key);
    size_t kl = strlen(key), pl = strlen(payload);
    char *line = malloc(kl + pl + 12);
    if (!line)
        return abl_fail(err, ABL_E_NOMEM, "journal: out of memory");
    memcpy(line, key, kl);
    line[kl] = '\t';
    memcpy(line + kl + 1, payload, pl);
    line[kl + 1 + pl] = '\t';
    check8(key, payload, line + kl + pl + 2);
    line[kl + pl + 10] = '\n';
    off_t before = lseek(j->fd, 0, SEEK_END);
    abl_status s = write_full(j->fd, line, kl + pl + 11);
    free(line);
    if (s || fsync(j->fd) != 0) {
        int e = errno;
        if (before >= 0 && ftruncate(j->fd, before) == 0)
            lseek(j->fd, before, SEEK_SET);
        return abl_fail(err, ABL_E_IO, "%s: cannot append: %s (hint: disk full?)", j->path,
                        strerror(e));
    }
    if (add_rec(j, key, kl, payload, pl))
        return abl_fail(err, ABL_E_NOMEM, "journal: out of memory");
    return ABL_OK;
}
