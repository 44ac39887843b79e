/* tests/fuzz/fuzz_journal.c - libFuzzer target for the run journal (study/journal.c): any bytes in
 * journal.tsv must open (dropping a torn or corrupt tail) or be refused with a one-line message;
 * after an open and one append, reopening finds exactly one more record. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../study/journal.h"

static char fuzz_jr_dir[64], fuzz_jr_file[96];

static void fuzz_jr_cleanup(void)
{
    if (!fuzz_jr_dir[0])
        return;
    unlink(fuzz_jr_file);
    rmdir(fuzz_jr_dir);
}

/* One input: the checks the fuzzer runs (a corpus replay can call it too). The configuration
 * line the seeds use is "cfg". */
int fuzz_journal_one(const uint8_t *data, size_t size)
{
    if (!fuzz_jr_dir[0]) {
        snprintf(fuzz_jr_dir, sizeof fuzz_jr_dir, "/tmp/ablate-fuzz-journal-%d", (int)getpid());
        snprintf(fuzz_jr_file, sizeof fuzz_jr_file, "%s/journal.tsv", fuzz_jr_dir);
        mkdir(fuzz_jr_dir, 0755);
        atexit(fuzz_jr_cleanup);
    }
    FILE *f = fopen(fuzz_jr_file, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    journal *j = NULL;
    abl_err e = {0};
    abl_status so = journal_open(&j, fuzz_jr_dir, "cfg", &e);
    if (so != ABL_OK) { /* every message is one line (abl_fail escapes control bytes) */
        ABL_ASSERT(j == NULL && e.msg[0] && !strchr(e.msg, '\n'));
        return 0;
    }
    int n = journal_count(j);
    ABL_ASSERT(n >= 0);
    (void)journal_find(j, "piqa/0");
    (void)journal_find(j, "");
    abl_status s = journal_append(j, "fuzz/unit", "0x1p-3 1 2", &e);
    journal_close(j);
    j = NULL;
    ABL_ASSERT(journal_open(&j, fuzz_jr_dir, "cfg", &e) == ABL_OK);
    /* the appended unit is there (unless the input already held that key: then it was refused) */
    ABL_ASSERT(journal_count(j) == n + (s == ABL_OK));
    ABL_ASSERT(journal_find(j, "fuzz/unit") != NULL);
    journal_close(j);
    return 0;
}

#ifndef ABL_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_journal_one(data, size); }
#endif
