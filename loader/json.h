/* loader/json.h - strict RFC 8259 JSON parser (config.json, tokenizer.json, safetensors headers,
 * dataset JSONL). One arena per document; values are read-only views into it. */
#ifndef JSON_H
#define JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/abl.h"

typedef enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_val json_val;
struct json_val {
    json_type type;
    size_t len;            /* STRING: bytes (may hold \0); ARRAY/OBJECT: number of children */
    const char *str;       /* STRING: decoded UTF-8, NUL-terminated copy in the arena */
    double num;            /* NUMBER: value as double (+-inf when out of range) */
    int64_t i64;           /* NUMBER: exact value when is_int */
    bool is_int;           /* NUMBER: integer literal that fits int64 */
    json_val *kids;        /* ARRAY items / OBJECT values, len of them, in document order */
    const char **keys;     /* OBJECT keys (decoded, NUL-terminated), len of them */
    size_t *key_lens;      /* OBJECT key byte lengths */
};

typedef struct json_doc json_doc;

/* Parse text[0..len) (need not be NUL-terminated). name labels errors ("config.json").
 * On success *out owns every value; free with json_free. On failure *out is NULL and err says
 * "<name>: byte <offset>: expected ..., found ...". Nesting deeper than 512 is an error. Duplicate
 * object keys are kept (json_get returns the first). Thread-safe (no globals). */
abl_status json_parse(json_doc **out, const char *text, size_t len, const char *name, abl_err *err);

/* Root value of a parsed document. Never NULL for a parsed doc. */
const json_val *json_root(const json_doc *doc);

/* Frees the document and all its values. NULL is fine. */
void json_free(json_doc *doc);

/* Member `key` of an object, or NULL when obj is NULL, not an object, or lacks the key. */
const json_val *json_get(const json_val *obj, const char *key);

/* Convenience readers: return true and fill *out when v has the right type. */
bool json_as_int(const json_val *v, int64_t *out);
bool json_as_num(const json_val *v, double *out);
bool json_as_bool(const json_val *v, bool *out);
const char *json_as_str(const json_val *v); /* NULL unless STRING */

/* "null", "false", "true", "number", "string", "array", "object" (for error messages). */
const char *json_type_name(json_type t);

/* Printable copy of a (decoded) string for one-line error messages: control bytes become \xNN,
 * and text that does not fit in buf[n] is cut at a character boundary and ends in "...".
 * Returns buf. s NULL gives "(null)". */
const char *json_quote(char *buf, size_t n, const char *s);

/* Policy notes: a leading UTF-8 BOM is rejected (RFC 8259 section 8.1 forbids emitting it);
 * "byte N" in errors is the 0-based offset into text; JSONL callers parse one line at a time. */

#endif
