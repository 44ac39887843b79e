/* loader/config_int.h - helpers shared by the config.json reader's files (config.c, config_rope.c):
 * typed field readers that fail with one-line messages naming the file and the field. */
#ifndef CONFIG_INT_H
#define CONFIG_INT_H

#include <stdint.h>

#include "config.h"
#include "json.h"

/* Required (def < 0) or optional (absent/null -> def) positive integer field obj[key] <= max. */
abl_status cfg_get_dim(const json_val *obj, const char *key, int64_t def, int64_t max, int *out,
                       const char *name, abl_err *err);

/* Optional positive finite number obj[key] (absent/null -> def). */
abl_status cfg_get_pos(const json_val *obj, const char *key, double def, double *out,
                       const char *name, abl_err *err);

/* Optional boolean obj[key] (absent/null -> def). */
abl_status cfg_get_bool(const json_val *obj, const char *key, bool def, bool *out,
                        const char *name, abl_err *err);

/* RoPE settings from root (either layout) into cfg's rope_* fields and rotary_dim; needs
 * cfg->head_dim. partial_ok: a GPT-NeoX config, which applies partial_rotary_factor (and has the
 * transformers-4 names rotary_pct and rotary_emb_base); otherwise a factor other than 1 is
 * refused. ABL_E_FORMAT for malformed values, ABL_E_UNSUPPORTED for RoPE
 * types that are not implemented. */
abl_status cfg_read_rope(hf_config *cfg, const json_val *root, bool partial_ok, const char *name,
                         abl_err *err);

#endif
