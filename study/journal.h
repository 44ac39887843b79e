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

#define JOURNAL_READONLY 1    /* journal_open_at: load only */
#define JOURNAL_TRUSTED_DIR 2 /* journal_open_at: the caller vouches for the directory */

/* The same for the journal file dir/name ("journal.shard-0-of-4.tsv": each shard of a run
 * appends to its own file). flags JOURNAL_READONLY: load an existing journal another process
 * may be appending to: nothing is created, written or cut; a torn last line is skipped; a
 * missing file is ABL_E_IO, a first line that is not a journal header ABL_E_FORMAT (a file
 * with no complete line yet loads empty); journal_append is not allowed. A directory holding
 * only journals and config.txt is not "non-empty"; JOURNAL_TRUSTED_DIR skips that check (the
 * caller has checked the directory's configuration file). */
abl_status journal_open_at(journal **out, const char *dir, const char *name, const char *config,
                           int flags, abl_err *err);

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
