/* loader/config_rope.c - the RoPE part of config.json in both layouts (transformers 4: top-level
 * rope_theta + rope_scaling; transformers 5: rope_parameters), refusing types not implemented. */
#include <math.h>
#include <string.h>

#include "config_int.h"

/* A required positive number of a scaling object (field names the object in messages). */
static abl_status need_pos(const json_val *obj, const char *field, const char *ty, const char *key,
                           double *out, const char *name, abl_err *err)
{
    const json_val *v = json_get(obj, key);
    if (!v || v->type == JSON_NULL)
        return abl_fail(err, ABL_E_FORMAT, "%s: %s of type '%s': expected a number \"%s\", "
                        "found none", name, field, ty, key);
    return cfg_get_pos(obj, key, 0, out, name, err);
}

abl_status cfg_read_rope(hf_config *cfg, const json_val *r, bool partial_ok, const char *name,
                         abl_err *err)
{
    const json_val *rp = json_get(r, "rope_parameters"), *rs = json_get(r, "rope_scaling");
    const json_val *src = NULL;
    const char *field = NULL;
    if (rp && rp->type != JSON_NULL) {
        src = rp;
        field = "rope_parameters";
    } else if (rs && rs->type != JSON_NULL) {
        src = rs;
        field = "rope_scaling";
    }
    if (src && src->type != JSON_OBJECT)
        return abl_fail(err, ABL_E_FORMAT, "%s: \"%s\": expected an object or null, found %s",
                        name, field, json_type_name(src->type));
    abl_status st;
    /* theta: rope_parameters.rope_theta wins over the top-level field (transformers 5 writes it
     * there only); the top-level one, then 10000, otherwise */
    cfg->rope_theta = 10000.0;
    if ((partial_ok &&
         (st = cfg_get_pos(r, "rotary_emb_base", 10000.0, &cfg->rope_theta, name, err))) ||
        (st = cfg_get_pos(r, "rope_theta", cfg->rope_theta, &cfg->rope_theta, name, err)))
        return st; /* rotary_emb_base: GPT-NeoX's transformers-4 name */
    if (src == rp && (st = cfg_get_pos(rp, "rope_theta", cfg->rope_theta, &cfg->rope_theta, name,
                                       err)))
        return st;
    const char *ty = "default";
    if (src) {
        const json_val *tv = json_get(src, "rope_type");
        if (!tv || tv->type == JSON_NULL)
            tv = json_get(src, "type");
        if (tv && tv->type != JSON_NULL && !json_as_str(tv))
            return abl_fail(err, ABL_E_FORMAT, "%s: %s: \"rope_type\": expected a string, found "
                            "%s", name, field, json_type_name(tv->type));
        if (tv && tv->type != JSON_NULL)
            ty = json_as_str(tv);
    }
    cfg->rope_type = ROPE_DEFAULT;
    cfg->rope_factor = 1.0;
    char q[64];
    if (strcmp(ty, "default") == 0) {
        /* plain RoPE */
    } else if (strcmp(ty, "linear") == 0) {
        cfg->rope_type = ROPE_LINEAR;
        if ((st = need_pos(src, field, ty, "factor", &cfg->rope_factor, name, err)))
            return st;
    } else if (strcmp(ty, "llama3") == 0) {
        cfg->rope_type = ROPE_LLAMA3;
        double om = 0;
        if ((st = need_pos(src, field, ty, "factor", &cfg->rope_factor, name, err)) ||
            (st = need_pos(src, field, ty, "low_freq_factor", &cfg->rope_low_freq, name, err)) ||
            (st = need_pos(src, field, ty, "high_freq_factor", &cfg->rope_high_freq, name, err)) ||
            (st = need_pos(src, field, ty, "original_max_position_embeddings", &om, name, err)))
            return st;
        if (om != floor(om) || om > (1 << 24))
            return abl_fail(err, ABL_E_FORMAT, "%s: %s: \"original_max_position_embeddings\": "
                            "expected a positive integer, found %g", name, field, om);
        cfg->rope_orig_max = (int)om;
        if (!(cfg->rope_high_freq > cfg->rope_low_freq))
            return abl_fail(err, ABL_E_FORMAT, "%s: %s of type 'llama3': expected "
                            "high_freq_factor > low_freq_factor, found %g and %g", name, field,
                            cfg->rope_high_freq, cfg->rope_low_freq);
    } else {
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: %s of type '%s' is not supported (hint: "
                        "implemented are default, linear and llama3; the model would compute "
                        "wrong values)", name, field, json_quote(q, sizeof q, ty));
    }
    /* partial rotary: inside rope_parameters (transformers 5) or top-level */
    double prf = 1.0; /* rotary_pct: GPT-NeoX's transformers-4 name */
    if ((partial_ok && (st = cfg_get_pos(r, "rotary_pct", 1.0, &prf, name, err))) ||
        (st = cfg_get_pos(r, "partial_rotary_factor", prf, &prf, name, err)) ||
        (src == rp && (st = cfg_get_pos(rp, "partial_rotary_factor", prf, &prf, name, err))))
        return st;
    if (prf > 1.0)
        return abl_fail(err, ABL_E_FORMAT, "%s: partial_rotary_factor: expected a number in "
                        "(0, 1], found %g", name, prf);
    cfg->rotary_dim = (int)(cfg->head_dim * prf); /* transformers truncates the same way */
    if (cfg->rotary_dim != cfg->head_dim && !partial_ok)
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: partial_rotary_factor %g is not supported "
                        "for %s (hint: only GPT-NeoX models rotate part of each head)", name,
                        prf, cfg->arch);
    if (cfg->rotary_dim < 2 || cfg->rotary_dim % 2 != 0)
        return abl_fail(err, ABL_E_UNSUPPORTED, "%s: RoPE would rotate %d dims of each head "
                        "(head_dim %d x partial_rotary_factor %g); expected an even number >= 2",
                        name, cfg->rotary_dim, cfg->head_dim, prf);
    return ABL_OK;
}
