/* base/sha256.h - SHA-256 (FIPS 180-4) of memory and of files, for the model and data hashes
 * recorded in a run's summary.json and for the journal's configuration fingerprint. */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "abl.h"

/* Streaming state; plain data, no allocation. */
typedef struct {
    uint32_t h[8];
    uint64_t n_bytes;      /* total bytes fed so far */
    uint8_t buf[64];
    size_t n_buf;          /* bytes pending in buf (< 64) */
} sha256_ctx;

/* Start, feed (data may be NULL when len == 0), finish into 32 raw bytes. Thread-safe per ctx. */
void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[32]);

/* One-shot hash of data[0..len) as 64 lowercase hex chars + NUL into hex. */
void sha256_hex(const void *data, size_t len, char hex[65]);

/* Hash of the whole file at path as hex. ABL_E_IO (names the file) when it cannot be opened or
 * read. Reads in 1 MiB chunks (one heap buffer per call).
 * Thread-safe. */
abl_status sha256_file(const char *path, char hex[65], abl_err *err);

#endif
