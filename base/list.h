/* base/list.h - the one parser of comma lists on the command line: names ("piqa,arc_easy") and
 * block lists ("0-9,20"), with one set of rules and error messages. */
#ifndef ABL_LIST_H
#define ABL_LIST_H

#include <stdint.h>

#include "abl.h"

/* A split list: n items, each a NUL-terminated string owned by the list. */
typedef struct {
    int n;
    char **v; /* (n) */
} abl_list;

/* Split s at commas into out (cleared first). Rules: at least one item; no empty item (",a",
 * "a,,b", "a,"); no item longer than 4095 bytes; no item twice. what names the flag in messages
 * ("--tasks"). Errors (out left empty): ABL_E_ARG "WHAT 'S': expected a comma list of names,
 * found an empty item" (or "... 'X' twice", "... an item over 4095 bytes"); ABL_E_NOMEM. s NULL is
 * an empty list (an error). Thread-safe. */
abl_status abl_list_split(const char *s, const char *what, abl_list *out, abl_err *err);

/* Append a copy of item to l. ABL_E_NOMEM (l unchanged) when out of memory. */
abl_status abl_list_add(abl_list *l, const char *item, abl_err *err);

/* Frees the items; l becomes empty. NULL is fine. */
void abl_list_free(abl_list *l);

/* Block list s over a model of L blocks into mask (L entries, cleared first): "all" (or NULL)
 * is every block; else comma items "N" or "A-B" (inclusive). Errors, ABL_E_ARG naming what and
 * s: junk ("expected a list like 0-9,20 of block indices"), a block outside [0, L) ("block N is
 * out of range [0, L-1] for this model"), A > B, or an empty list. Thread-safe. */
abl_status abl_list_blocks(const char *s, const char *what, int L, uint8_t *mask, abl_err *err);

#endif
