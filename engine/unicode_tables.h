/* engine/unicode_tables.h - Unicode classes for the tokenizer's pre-tokenizers and NFC data. The
 * tables (engine/unicode_tables.c, unicode_nfc.c) come from tools/gen_unicode.py (see versions). */
#ifndef UNICODE_TABLES_H
#define UNICODE_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The classes the byte-level regex distinguishes; they are disjoint. */
typedef enum {
    UNI_OTHER = 0,  /* anything else (punctuation, symbols, marks, controls, unassigned) */
    UNI_LETTER = 1, /* \p{L}: Lu Ll Lt Lm Lo */
    UNI_NUMBER = 2, /* \p{N}: Nd Nl No */
    UNI_SPACE = 3   /* \s: the White_Space property */
} uni_class;

/* Class of code point cp as HF tokenizers' regex engine sees it. Any cp (beyond U+10FFFF or a
 * surrogate gives UNI_OTHER). Pure function, thread-safe. */
uni_class uni_classify(uint32_t cp);

/* Whether cp is numeric for the Digits pre-tokenizer (Rust char::is_numeric, Nd|Nl|No, which
 * can be a newer Unicode version than the regex's). Pure function, thread-safe. */
bool uni_is_numeric(uint32_t cp);

/* ---- NFC data (engine/unicode_nfc.c, also generated) ------------------------------------ */

/* Canonical combining class of cp (0 for starters and unknown code points). Pure, thread-safe. */
uint8_t uni_ccc(uint32_t cp);

/* One level of cp's canonical decomposition (Hangul syllables excluded) into out: returns 1 or 2,
 * or 0 when cp has none. Pure, thread-safe. */
size_t uni_decompose1(uint32_t cp, uint32_t out[2]);

/* The primary composite of the pair (a, b), 0 when none (Hangul excluded). Pure, thread-safe. */
uint32_t uni_compose(uint32_t a, uint32_t b);

#endif
