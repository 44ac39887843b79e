/* study/config.c - what a study run is: its blocks, unit kind and the hashes of the model and
 * task data that go into its configuration fingerprint. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/sha256.h"
#include "study_int.h"

const char *study_unit_name(study_unit u)
{
    return u == STUDY_UNIT_ATTN ? "attn" : u == STUDY_UNIT_MLP ? "mlp" : "block";
}

/* "0-9,20" -> sorted unique blocks in [0, L). NULL or "all" = every block. */
abl_status study_parse_layers(const char *s, int L, int *out, int *n, abl_err *err)
{
    uint8_t on[STUDY_MAX_UNITS];
    if (L > STUDY_MAX_UNITS)
        return abl_fail(err, ABL_E_UNSUPPORTED, "model: %d blocks, at most %d supported", L,
                        STUDY_MAX_UNITS);
    abl_status st = abl_list_blocks(s, "--layers", L, on, err);
    *n = 0;
    for (int l = 0; l < L && !st; l++)
        if (on[l])
            out[(*n)++] = l;
    return st;
}

/* ---- hashes ------------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Feed every regular file under dir (recursively, sorted, *.md skipped) as name + bytes. */
static abl_status hash_tree(sha256_ctx *c, const char *dir, const char *rel, int depth,
                            abl_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", dir, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d)
        return abl_fail(err, ABL_E_IO, "%s: cannot list for hashing", path);
    char *names[4096];
    int n = 0;
    struct dirent *e;
    abl_status s = ABL_OK;
    while ((e = readdir(d)) && !s) {
        if (e->d_name[0] == '.')
            continue;
        if (n == 4096 || !(names[n] = strdup(e->d_name)))
            s = abl_fail(err, ABL_E_UNSUPPORTED, "%s: more than 4096 entries (or out of "
                         "memory) while hashing the task data", path);
        else
            n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n && !s; i++) {
        char sub[4096], full[8192];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
        snprintf(full, sizeof full, "%s/%s", dir, sub);
        struct stat st;
        size_t nl = strlen(names[i]);
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < 4) {
            s = hash_tree(c, dir, sub, depth + 1, err);
        } else if (S_ISREG(st.st_mode) && !(nl > 3 && !strcmp(names[i] + nl - 3, ".md"))) {
            char hex[65];
            s = sha256_file(full, hex, err);
            sha256_update(c, sub, strlen(sub) + 1);
            sha256_update(c, hex, 64);
        }
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    return s;
}

/* Hash of the data a task reads: the jsonl/corpus file, or the task's folder under data_dir. */
static void task_data_hash(const char *data_dir, const char *name, char hex[65])
{
    abl_err e;
    hex[0] = 0;
    if (!strncmp(name, "jsonl:", 6) || !strncmp(name, "corpus:", 7)) {
        if (sha256_file(strchr(name, ':') + 1, hex, &e))
            hex[0] = 0;
        return;
    }
    char base[128], path[4096];
    snprintf(base, sizeof base, "%.100s", name);
    const char *cand[3] = {base, NULL, NULL};
    char corpus[160], stem[128];
    snprintf(corpus, sizeof corpus, "corpus/%.100s", name);
    cand[1] = corpus;
    snprintf(stem, sizeof stem, "%.100s", name);
    char *us = strrchr(stem, '_');
    if (us)
        *us = 0;
    cand[2] = stem;
    for (int i = 0; i < 3; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", data_dir, cand[i]);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            sha256_ctx c;
            uint8_t d[32];
            sha256_init(&c);
            if (hash_tree(&c, path, "", 0, &e) == ABL_OK) {
                sha256_final(&c, d);
                for (int k = 0; k < 32; k++)
                    snprintf(hex + 2 * k, 3, "%02x", d[k]);
            }
            return;
        }
    }
}

void study_task_data_hash(const ev_task *t, const char *data_dir, char hex[65])
{
    task_data_hash(data_dir ? data_dir : "data/tasks", t->name, hex);
}
