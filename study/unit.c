/* study/unit.c - work units: the journals of a run directory (this process's own plus every
 * shard's, read-only), its configuration file, and the one decode-or-compute-and-append step. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/file.h"
#include "journal.h"
#include "study_int.h"

#define CONFIG_FILE "config.txt"

struct study_store {
    char *dir, *config, own_name[96];
    journal *own;
    journal **others;
    int n_others, cap_others;
    int *other_n;               /* (n_others) N of each shard journal, 0 for journal.tsv */
};

void study_store_close(study_store *st)
{
    if (!st)
        return;
    journal_close(st->own);
    for (int i = 0; i < st->n_others; i++)
        journal_close(st->others[i]);
    free(st->others);
    free(st->other_n);
    free(st->dir);
    free(st->config);
    free(st);
}

/* N of a journal file name: 0 for journal.tsv, N for journal.shard-I-of-N.tsv, -1 otherwise. */
static int journal_kind(const char *name)
{
    if (!strcmp(name, "journal.tsv"))
        return 0;
    int i, n, len = 0;
    if (sscanf(name, "journal.shard-%d-of-%d.tsv%n", &i, &n, &len) == 2 &&
        (size_t)len == strlen(name) && i >= 0 && n > 0 && i < n)
        return n;
    return -1;
}

static void drop_others(study_store *st)
{
    for (int i = 0; i < st->n_others; i++)
        journal_close(st->others[i]);
    st->n_others = 0;
}

abl_status study_store_refresh(study_store *st, abl_err *err)
{
    drop_others(st);
    DIR *d = opendir(st->dir);
    if (!d)
        return abl_fail(err, ABL_E_IO, "%s: cannot list: %s", st->dir, strerror(errno));
    abl_status s = ABL_OK;
    char *names[4096];
    int n = 0;
    for (struct dirent *e; !s && (e = readdir(d));) {
        if (journal_kind(e->d_name) < 0 || !strcmp(e->d_name, st->own_name))
            continue;
        if (n == 4096 || !(names[n] = strdup(e->d_name)))
            s = abl_fail(err, ABL_E_NOMEM, "%s: out of memory (or over 4096 journals)", st->dir);
        else
            n++;
    }
    closedir(d);
    for (int i = 1; i < n; i++) /* sorted: the same lookup order everywhere */
        for (int k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
            char *x = names[k];
            names[k] = names[k - 1];
            names[k - 1] = x;
        }
    for (int i = 0; i < n && !s; i++) {
        if (st->n_others == st->cap_others) {
            int nc = st->cap_others ? 2 * st->cap_others : 8;
            journal **no = realloc(st->others, sizeof *no * (size_t)nc);
            if (no)
                st->others = no;
            int *nn = realloc(st->other_n, sizeof *nn * (size_t)nc);
            if (nn)
                st->other_n = nn;
            if (!no || !nn) {
                s = abl_fail(err, ABL_E_NOMEM, "%s: out of memory loading journals", st->dir);
                break;
            }
            st->cap_others = nc;
        }
        journal *j = NULL;
        s = journal_open_at(&j, st->dir, names[i], st->config, JOURNAL_READONLY, err);
        if (!s) {
            st->others[st->n_others] = j;
            st->other_n[st->n_others++] = journal_kind(names[i]);
        } else if (s == ABL_E_IO) {
            char p[4400];
            snprintf(p, sizeof p, "%s/%s", st->dir, names[i]);
            if (access(p, F_OK) != 0)
                s = ABL_OK; /* removed since it was listed */
        }
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    if (s)
        drop_others(st);
    return s;
}

/* A directory with entries but neither config.txt nor journal.tsv was not made by a study. */
static abl_status check_dir(const char *dir, abl_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return ABL_OK;
    int foreign = 0, ours = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!strcmp(e->d_name, CONFIG_FILE) || journal_kind(e->d_name) >= 0)
            ours = 1;
        else if (strncmp(e->d_name, "." CONFIG_FILE ".tmp.", sizeof CONFIG_FILE + 5) != 0)
            foreign = 1;
    }
    closedir(d);
    if (foreign && !ours)
        return abl_fail(err, ABL_E_STATE, "%s: expected an empty or new run directory, found a "
                        "non-empty one without journal.tsv (hint: pass another --out, or delete "
                        "the directory)", dir);
    return ABL_OK;
}

/* config.txt holds the configuration line: compare it, or create it race-free. */
static abl_status check_config(study_store *st, bool create, abl_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" CONFIG_FILE, st->dir);
    size_t cl = strlen(st->config);
    for (int tries = 0; tries < 2; tries++) {
        char *text = NULL;
        size_t len = 0;
        if (access(path, F_OK) == 0) {
            abl_status s = abl_read_file(path, 1 << 20, NULL, &text, &len, err);
            if (s)
                return s;
            int same = len == cl + 1 && !memcmp(text, st->config, cl) && text[cl] == '\n';
            if (!same) {
                int tl = (int)strcspn(text, "\n");
                s = abl_fail(err, ABL_E_STATE, "%s: this run directory was made by another "
                             "configuration (there: %.*s; now: %.200s) (hint: pass another "
                             "--out, or delete the directory to start over)", path,
                             tl > 200 ? 200 : tl, text, st->config);
            }
            free(text);
            return s;
        }
        if (!create)
            return ABL_OK;
        /* temp file, then link(): exactly one process creates config.txt, never a rename
         * over another's (atomic on NFS too, no locks); the others compare. */
        abl_afile af;
        abl_status s = abl_afile_open(&af, st->dir, CONFIG_FILE, err);
        if (s)
            return s;
        fprintf(af.f, "%s\n", st->config);
        int bad = fflush(af.f) != 0 || fsync(fileno(af.f)) != 0;
        fclose(af.f);
        af.f = NULL;
        int linked = !bad && link(af.tmp, path) == 0, e = errno;
        if (!bad && !linked && e != EEXIST && rename(af.tmp, path) == 0)
            linked = 1; /* a file system without hard links: compare after the rename */
        remove(af.tmp);
        if (bad)
            return abl_fail(err, ABL_E_IO, "%s: write failed (hint: disk full?)", af.tmp);
        if (linked && tries == 0)
            create = false; /* read it back: a racing rename may have replaced it */
    }
    return ABL_OK;
}

abl_status study_store_open(study_store **out, const char *dir, const char *config, int shard,
                            int n_shards, abl_err *err)
{
    *out = NULL;
    study_store *st = calloc(1, sizeof *st);
    if (!st || !(st->dir = strdup(dir)) || !(st->config = strdup(config))) {
        study_store_close(st);
        return abl_fail(err, ABL_E_NOMEM, "study: out of memory");
    }
    if (shard < 0)
        snprintf(st->own_name, sizeof st->own_name, "journal.tsv");
    else
        snprintf(st->own_name, sizeof st->own_name, "journal.shard-%d-of-%d.tsv", shard,
                 n_shards);
    abl_status s = abl_mkdirs(dir, err);
    if (!s)
        s = check_dir(dir, err);
    if (!s)
        s = check_config(st, false, err); /* refuse before writing anything */
    if (!s)
        s = journal_open_at(&st->own, dir, st->own_name, config, JOURNAL_TRUSTED_DIR, err);
    if (!s)
        s = check_config(st, true, err);
    if (!s)
        s = study_store_refresh(st, err);
    if (s) {
        study_store_close(st);
        return s;
    }
    *out = st;
    return ABL_OK;
}

const char *study_store_find(const study_store *st, const char *key)
{
    const char *p = journal_find(st->own, key);
    for (int i = 0; !p && i < st->n_others; i++)
        p = journal_find(st->others[i], key);
    return p;
}

int study_store_shard_counts(const study_store *st, int *ns, int cap)
{
    int n = 0;
    for (int i = 0; i < st->n_others; i++) {
        int v = st->other_n[i], k = 0;
        while (k < n && ns[k] < v)
            k++;
        if (v <= 0 || (k < n && ns[k] == v) || n == cap)
            continue;
        memmove(ns + k + 1, ns + k, sizeof *ns * (size_t)(n - k));
        ns[k] = v;
        n++;
    }
    return n;
}

static abl_status append(study_store *st, const char *key, const char *payload, abl_err *err)
{
    return journal_append(st->own, key, payload, err);
}

bool study_unit_mine(const study_ctx *c, int u)
{
    if (c->my < 0)
        return !c->o->no_compute;
    return c->owner && c->owner[u] == c->my;
}

abl_status study_unit_do(study_ctx *c, const char *key, int u, const study_unit_ops *ops,
                         void *user, study_unit_state *state, abl_err *err)
{
    c->units_total++;
    const char *rec = c->store ? study_store_find(c->store, key) : NULL;
    if (rec) {
        if (ops->decode(c, user, rec) != 0)
            return abl_fail(err, ABL_E_FORMAT, "%s: journaled unit '%s' does not match this "
                            "run's batches (hint: delete the run directory)", c->dir, key);
        c->units_resumed++;
        *state = UNIT_RESUMED;
        return ABL_OK;
    }
    if (!study_unit_mine(c, u)) {
        c->units_missing++;
        if (c->missing)
            c->missing[u] = 1;
        *state = UNIT_MISSING;
        return ABL_OK;
    }
    if (c->o->stop && *c->o->stop)
        return abl_fail(err, ABL_E_INTERRUPTED, "interrupted");
    abl_status s = ops->compute(c, user, err);
    if (s)
        return s;
    if (c->store) {
        const char *p = ops->encode(c, user);
        if (!p)
            return abl_fail(err, ABL_E_NOMEM, "study: out of memory encoding a unit");
        if ((s = append(c->store, key, p, err)))
            return s;
    }
    c->units_new++;
    *state = UNIT_COMPUTED;
    if (c->o->stop_after_units > 0 && c->units_new >= c->o->stop_after_units)
        return abl_fail(err, ABL_E_INTERRUPTED, "stopped after %d units (test hook)",
                        c->units_new);
    return ABL_OK;
}
