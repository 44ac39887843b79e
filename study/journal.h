/* study/journal.h - the run directory's journal: one line per finished work unit, appended and
 * fsync'ed, so an interrupted study resumes where it stopped and never mixes configurations. */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stddef.h>

#include "../base/abl.h"

typedef struct journal journal;

/* Open (creating dir and dir/journal.tsv if needed) the journal of the run directory dir for the
 * configuration described by config (one line of text, no tab or newline; its sha256 is the
 * fingerprint). An existing journal made by another configuration, or a non-empty directory
 * holding study outputs but no journal, gives ABL_E_STATE and leaves the directory untouched.
 * Finished units of an earlier run of the same configuration are loaded; a torn or corrupt
 * last line (kill -9 mid-write) is dropped and cut off the file. On failure *out is NULL.
 * Not thread-safe. */
abl_status journal_open(journal **out, const char *dir, const char *config, abl_err *err);

/* Closes the file and frees everything. NULL is fine. */
void journal_close(journal *j);

/* Number of finished units loaded or appended. */
int journal_count(const journal *j);

/* Payload recorded for key, or NULL when that unit is not finished. The pointer stays valid
 * until journal_close. */
const char *journal_find(const journal *j, const char *key);

/* Record a finished unit: writes "key\tpayload\tcheck\n" with one write() and fsync()s it.
 * key and payload must not contain tab or newline (ABL_E_ARG). Appending a key twice is an
 * ABL_E_STATE error. ABL_E_IO when the write or fsync fails (disk full): the unit then counts
 * as unfinished and the file keeps its earlier lines. */
abl_status journal_append(journal *j, const char *key, const char *payload, abl_err *err);

/* The run directory this journal lives in. */
const char *journal_dir(const journal *j);

#endif
