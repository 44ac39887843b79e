/* loader/hf_names.c - expected Hugging Face tensor names/shapes for llama-family configs and the
 * checker that reports missing, mis-shaped or unexpected tensors in a checkpoint. */
#include "hf_names.h"

#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names per family: global roles in full, block roles after the family's layer prefix. */
typedef struct {
    const char *layer_prefix; /* "model.layers." */
    const char *name[HF_ROLE_COUNT];
} family_names;

#define LLAMA_ATTN_MLP                                                                            \
    [HF_EMBED] = "model.embed_tokens.weight", [HF_LM_HEAD] = "lm_head.weight",                   \
    [HF_WQ] = "self_attn.q_proj.weight", [HF_WK] = "self_attn.k_proj.weight",                    \
    [HF_WV] = "self_attn.v_proj.weight", [HF_WO] = "self_attn.o_proj.weight",                    \
    [HF_BQ] = "self_attn.q_proj.bias", [HF_BK] = "self_attn.k_proj.bias",                        \
    [HF_BV] = "self_attn.v_proj.bias", [HF_BO] = "self_attn.o_proj.bias",                        \
    [HF_WGATE] = "mlp.gate_proj.weight", [HF_WUP] = "mlp.up_proj.weight",                        \
    [HF_WDOWN] = "mlp.down_proj.weight", [HF_BGATE] = "mlp.gate_proj.bias",                      \
    [HF_BUP] = "mlp.up_proj.bias", [HF_BDOWN] = "mlp.down_proj.bias"

static const family_names families[] = {
    [ARCH_LLAMA] = {"model.layers.", {LLAMA_ATTN_MLP, [HF_FINAL_NORM] = "model.norm.weight",
                                      [HF_ATTN_NORM] = "input_layernorm.weight",
                                      [HF_MLP_NORM] = "post_attention_layernorm.weight"}},
    [ARCH_NEOX] = {"gpt_neox.layers.", {
        [HF_EMBED] = "gpt_neox.embed_in.weight", [HF_LM_HEAD] = "embed_out.weight",
        [HF_FINAL_NORM] = "gpt_neox.final_layer_norm.weight",
        [HF_FINAL_NORM_B] = "gpt_neox.final_layer_norm.bias",
        [HF_ATTN_NORM] = "input_layernorm.weight", [HF_ATTN_NORM_B] = "input_layernorm.bias",
        [HF_MLP_NORM] = "post_attention_layernorm.weight",
        [HF_MLP_NORM_B] = "post_attention_layernorm.bias",
        [HF_WQKV] = "attention.query_key_value.weight", [HF_BQKV] = "attention.query_key_value.bias",
        [HF_WO] = "attention.dense.weight", [HF_BO] = "attention.dense.bias",
        [HF_WUP] = "mlp.dense_h_to_4h.weight", [HF_BUP] = "mlp.dense_h_to_4h.bias",
        [HF_WDOWN] = "mlp.dense_4h_to_h.weight", [HF_BDOWN] = "mlp.dense_4h_to_h.bias"}},
    [ARCH_OLMO] = {"model.layers.", {LLAMA_ATTN_MLP}},
    [ARCH_OLMO2] = {"model.layers.", {LLAMA_ATTN_MLP, [HF_FINAL_NORM] = "model.norm.weight",
                                      [HF_QNORM] = "self_attn.q_norm.weight",
                                      [HF_KNORM] = "self_attn.k_norm.weight",
                                      [HF_ATTN_POST_NORM] = "post_attention_layernorm.weight",
                                      [HF_MLP_POST_NORM] = "post_feedforward_layernorm.weight"}},
};

static const family_names *names_of(const hf_config *c)
{
    ABL_ASSERT(c->family >= 0 && c->family < (int)ABL_ARRAY_LEN(families));
    return &families[c->family];
}

bool hf_role_used(const hf_config *c, hf_role r)
{
    ABL_ASSERT(c && (unsigned)r < HF_ROLE_COUNT);
    if (!names_of(c)->name[r])
        return false;
    switch (r) {
    case HF_LM_HEAD: return !c->tie_embeddings;
    case HF_BQ: case HF_BK: case HF_BV: case HF_BQKV: return c->attn_bias;
    case HF_BO: return cfg_has_o_bias(c);
    case HF_BGATE: case HF_BUP: case HF_BDOWN: return c->mlp_bias;
    default: return true;
    }
}

bool hf_tensor_spec_of(const hf_config *c, hf_role r, int layer, hf_tensor_spec *o)
{
    ABL_ASSERT(c && o && (unsigned)r < HF_ROLE_COUNT);
    if (!hf_role_used(c, r))
        return false;
    int64_t D = c->d_model, F = c->d_ff, V = c->vocab, Q = (int64_t)c->n_heads * c->head_dim,
            KV = (int64_t)c->n_kv_heads * c->head_dim;
    int64_t a = 0, b = 0; /* b == 0: 1-D */
    switch (r) {
    case HF_EMBED: case HF_LM_HEAD: a = V; b = D; break;
    case HF_FINAL_NORM: case HF_ATTN_NORM: case HF_MLP_NORM: a = D; break;
    case HF_FINAL_NORM_B: case HF_ATTN_NORM_B: case HF_MLP_NORM_B: a = D; break;
    case HF_ATTN_POST_NORM: case HF_MLP_POST_NORM: a = D; break;
    case HF_WQKV: a = 3 * Q; b = D; break;
    case HF_BQKV: a = 3 * Q; break;
    case HF_QNORM: a = Q; break;
    case HF_KNORM: a = KV; break;
    case HF_WQ: a = Q; b = D; break;
    case HF_WK: case HF_WV: a = KV; b = D; break;
    case HF_WO: a = D; b = Q; break;
    case HF_BQ: a = Q; break;
    case HF_BK: case HF_BV: a = KV; break;
    case HF_BO: a = D; break;
    case HF_WGATE: case HF_WUP: a = F; b = D; break;
    case HF_WDOWN: a = D; b = F; break;
    case HF_BGATE: case HF_BUP: a = F; break;
    case HF_BDOWN: a = D; break;
    default: ABL_ASSERT(!"role");
    }
    o->role = r;
    if (r < HF_FIRST_LAYER_ROLE) {
        o->layer = -1;
        snprintf(o->name, sizeof o->name, "%s", names_of(c)->name[r]);
    } else {
        ABL_ASSERT(layer >= 0 && layer < c->n_layers);
        o->layer = layer;
        snprintf(o->name, sizeof o->name, "%s%d.%s", names_of(c)->layer_prefix, layer,
                 names_of(c)->name[r]);
    }
    o->ndim = b ? 2 : 1;
    o->shape[0] = a;
    o->shape[1] = b;
    return true;
}

int hf_layer_tensors(const hf_config *c, int layer, hf_tensor_spec *out, int cap)
{
    int n = 0;
    hf_tensor_spec tmp;
    for (int r = HF_FIRST_LAYER_ROLE; r < HF_ROLE_COUNT; r++)
        if (hf_tensor_spec_of(c, (hf_role)r, layer, n < cap ? &out[n] : &tmp))
            n++;
    return n;
}

int hf_expected_tensors(const hf_config *c, hf_tensor_spec *out, int cap)
{
    int n = 0;
    hf_tensor_spec tmp;
    if (hf_tensor_spec_of(c, HF_EMBED, -1, n < cap ? &out[n] : &tmp))
        n++;
    for (int l = 0; l < c->n_layers; l++)
        n += hf_layer_tensors(c, l, n < cap ? out + n : NULL, n < cap ? cap - n : 0);
    for (int r = HF_FINAL_NORM; r < HF_FIRST_LAYER_ROLE; r++)
        if (hf_tensor_spec_of(c, (hf_role)r, -1, n < cap ? &out[n] : &tmp))
            n++;
    return n;
}

const char *hf_shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t w = 0;
    w += (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ndim && w < n; i++)
        w += (size_t)snprintf(buf + w, n - w, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (w < n)
        snprintf(buf + w, n - w, ")");
    return buf;
}

static bool is_float(st_dtype d)
{
    return d == ST_F32 || d == ST_F16 || d == ST_BF16 || d == ST_F64;
}

/* Compare one spec with the file. Returns ABL_OK or fills err (when non-NULL). */
static abl_status check_one(const hf_config *c, const st_file *f, const hf_tensor_spec *s,
                            const st_tensor **out, abl_err *err)
{
    char want[64], got[160];
    const st_tensor *t = st_find(f, s->name);
    hf_shape_str(want, sizeof want, s->ndim, s->shape);
    if (!t)
        return abl_fail(err, ABL_E_FORMAT,
                        "%s: missing tensor '%s' (expected shape %s for %s) (hint: the checkpoint "
                        "does not match config.json)", st_path(f), s->name, want, c->arch);
    bool same = t->ndim == s->ndim;
    for (int i = 0; same && i < s->ndim; i++)
        same = t->shape[i] == s->shape[i];
    if (!same)
        return abl_fail(err, ABL_E_SHAPE, "%s: tensor '%s': expected shape %s, found %s "
                        "(hint: the checkpoint does not match config.json)", st_path(f), s->name,
                        want, hf_shape_str(got, sizeof got, t->ndim, t->shape));
    if (!is_float(t->dtype))
        return abl_fail(err, ABL_E_SHAPE, "%s: tensor '%s': expected dtype F32, F16, BF16 or F64, "
                        "found %s", st_path(f), s->name, st_dtype_name(t->dtype));
    if (out)
        *out = t;
    return ABL_OK;
}

abl_status hf_get_tensor(const hf_config *c, const st_file *f, hf_role role, int layer,
                         const st_tensor **out, abl_err *err)
{
    ABL_ASSERT(c && f && out);
    *out = NULL;
    hf_tensor_spec s;
    if (!hf_tensor_spec_of(c, role, layer, &s))
        return abl_fail(err, ABL_E_ARG, "%s: tensor role %d is not used by this %s config",
                        st_path(f), (int)role, c->arch);
    return check_one(c, f, &s, out, err);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

abl_status hf_check_tensors(const hf_config *c, const st_file *f, abl_err *err)
{
    ABL_ASSERT(c && f);
    int n = hf_expected_tensors(c, NULL, 0);
    hf_tensor_spec *specs = malloc((size_t)(n ? n : 1) * sizeof *specs);
    if (!specs)
        return abl_fail(err, ABL_E_NOMEM, "%s: out of memory", st_path(f));
    hf_expected_tensors(c, specs, n);
    abl_status first = ABL_OK;
    int problems = 0;
    for (int i = 0; i < n; i++) {
        abl_err tmp;
        abl_status s = check_one(c, f, &specs[i], NULL, first == ABL_OK ? err : &tmp);
        if (s != ABL_OK) {
            problems++;
            if (first == ABL_OK)
                first = s;
        }
    }
    /* extras: anything in the file that is not expected */
    for (int i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_at(f, i);
        bool known = false;
        hf_tensor_spec probe;
        const char *nm = t->name;
        const family_names *fn = names_of(c);
        size_t pl = strlen(fn->layer_prefix);
        if (strncmp(nm, fn->layer_prefix, pl) == 0) {
            char *end;
            long l = strtol(nm + pl, &end, 10);
            if (end != nm + pl && *end == '.' && l >= 0 && l < c->n_layers)
                for (int r = HF_FIRST_LAYER_ROLE; r < HF_ROLE_COUNT && !known; r++)
                    known = fn->name[r] && strcmp(end + 1, fn->name[r]) == 0 &&
                            hf_tensor_spec_of(c, (hf_role)r, (int)l, &probe) &&
                            strcmp(probe.name, nm) == 0;
        } else {
            for (int r = 0; r < HF_FIRST_LAYER_ROLE && !known; r++)
                known = fn->name[r] && strcmp(nm, fn->name[r]) == 0 && hf_role_used(c, (hf_role)r);
        }
        if (known)
            continue;
        if (ends_with(nm, ".rotary_emb.inv_freq"))
            continue;
        if (c->family == ARCH_NEOX &&
            (ends_with(nm, ".attention.bias") || ends_with(nm, ".attention.masked_bias")))
            continue; /* old GPT-NeoX checkpoints store their causal-mask buffers */
        if (c->tie_embeddings && names_of(c)->name[HF_LM_HEAD] &&
            strcmp(nm, names_of(c)->name[HF_LM_HEAD]) == 0 && hf_tensor_spec_of(
                c, HF_EMBED, -1, &probe) && t->ndim == 2 && t->shape[0] == probe.shape[0] &&
            t->shape[1] == probe.shape[1])
            continue;
        problems++;
        if (first == ABL_OK) {
            char got[160], qn[96];
            first = abl_fail(err, ABL_E_FORMAT,
                             "%s: unexpected tensor '%s' %s (hint: not part of a %s with %d layers; "
                             "the checkpoint does not match config.json)", st_path(f),
                             json_quote(qn, sizeof qn, nm),
                             hf_shape_str(got, sizeof got, t->ndim, t->shape), c->arch,
                             c->n_layers);
        }
    }
    free(specs);
    if (problems > 1 && err) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, "; %d problems in all", problems);
    }
    return first;
}
