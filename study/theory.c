/* study/theory.c - the Theorem 1 counterexample, constructed in closed form and written as a
 * normal Hugging Face llama checkpoint (config.json, model.safetensors, tokenizer.json).
 *
 * The construction. Width D = 16; only four residual directions are used: e0 (a constant
 * "bias" direction every token's embedding points along), e1 (the signal), e2 (junk) and e3
 * (the readout). Every attention sub-block is a no-op (all projections zero, so it adds 0),
 * so every token carries the same residual and the task reduces to one decision.
 *   block 0  writes 3 e2: a large edit (cosine score 1 - 1/sqrt(10) = 0.68) in a direction the
 *            readout ignores.
 *   block 1  writes delta e1 with delta = |h| sqrt(1/(1-eps)^2 - 1), orthogonal to its input
 *            h = e0 + 3 e2, so cos(h, h + delta e1) = 1 - eps exactly: the smallest cosine score
 *            of the model, the block any cosine ranking prunes first.
 *   block 2  reads the signal through its RMSNorm with gain 1/delta on e1 (gain 1 on e0), so
 *            after normalisation n1/n0 = 1 when block 1 ran and 0 when it was removed - whatever
 *            the scale of the residual. Its MLP unit has gate 2 (n1 - n0/2) and up n0: silu of
 *            a positive gate when the signal is there, of a negative one when it is not, so it
 *            writes about +4 e3, or a negative multiple of e3, into the readout direction.
 *   head     logit(" A") = 4 n3, logit(" B") = -4 n3 + n0, every other logit 0 (n = the
 *            final RMSNorm of the residual). Intact: n3 > 0 and A wins by ~25 nats. Block 1
 *            removed: n3 < 0 and B wins. Block 2 removed: n3 = 0 and B wins by n0. Block 0
 *            removed: the signal ratio is unchanged and A still wins.
 * The toy task asks for " A" among " A" and " B" (order alternating), so the model scores
 * 100%, removing block 1 (cosine score eps) drops it to 0%, and removing block 0 (cosine score
 * 0.68) costs nothing: the cosine score ranks the blocks exactly backwards. */
#include "theory.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/jw.h"
#include "../loader/st_write.h"
#include "report.h"

enum { TD = 16, TH = 2, TDH = 8, TF = 8, TL = 3, TV = 257, T_ITEMS = 20 };
#define T_NORM_EPS 1e-5

static double silu(double x) { return x / (1 + exp(-x)); }

/* RMSNorm factor of a residual with squared norm sq (D = TD), as the engine computes it. */
static double inv_rms(double sq) { return 1 / sqrt(sq / TD + T_NORM_EPS); }

typedef struct {
    float emb[TV * TD], head[TV * TD], ones[TD], zeros_q[TH * TDH * TD], zeros_o[TD * TH * TDH];
    float mlp_norm[TL][TD];
    float gate[TL][TF * TD], up[TL][TF * TD], down[TL][TD * TF];
} theory_w;

/* Byte-level BPE alphabet (GPT-2): printable bytes map to themselves, the rest to U+0100+n. */
static unsigned byte_char(int b)
{
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
        return (unsigned)b;
    int n = 0;
    for (int c = 0; c < b; c++)
        if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)))
            n++;
    return 256u + (unsigned)n;
}

static void utf8(unsigned cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    }
}

static void build(theory_w *w, double eps, theory_info *info)
{
    memset(w, 0, sizeof *w);
    for (int i = 0; i < TD; i++)
        w->ones[i] = 1;
    for (int v = 0; v < TV; v++)
        w->emb[v * TD + 0] = 1; /* every token: h = e0 */
    /* block 0: gate = up = 1 on the normalised e0 component, down writes 3 e2 */
    double n0 = inv_rms(1.0);
    for (int l = 0; l < TL; l++)
        for (int i = 0; i < TD; i++)
            w->mlp_norm[l][i] = 1;
    w->gate[0][0 * TD + 0] = (float)(1 / n0);
    w->up[0][0 * TD + 0] = (float)(1 / n0);
    w->down[0][2 * TF + 0] = (float)(3 / silu(1.0));
    /* block 1: input e0 + 3 e2 (|h|^2 = 10); writes delta e1 */
    double R = sqrt(10.0), delta = R * sqrt(1 / ((1 - eps) * (1 - eps)) - 1);
    double n1 = inv_rms(10.0);
    w->gate[1][0 * TD + 0] = (float)(1 / n1);
    w->up[1][0 * TD + 0] = (float)(1 / n1);
    w->down[1][1 * TF + 0] = (float)(delta / silu(1.0));
    /* block 2: gain 1/delta on e1; gate = 2 (n1 - n0 / 2) scaled to n0, up = n0 */
    double G = 1 / delta, sq2 = 10 + delta * delta, m0 = inv_rms(sq2); /* n0 = m0, n1 = m0 */
    w->mlp_norm[2][1] = (float)G;
    double k = 1 / m0; /* gate = k * 2 (n1 - n0 / 2) = 1 when intact */
    w->gate[2][0 * TD + 1] = (float)(2 * k);
    w->gate[2][0 * TD + 0] = (float)(-k);
    w->up[2][0 * TD + 0] = (float)(1 / m0); /* up = 1 when intact */
    w->down[2][3 * TF + 0] = (float)(4 / silu(1.0)); /* writes 4 e3 when intact */
    /* head: " A" = byte 'A' (id 1 + 65), " B" = id 1 + 66; the space token is shared */
    int ida = 1 + 'A', idb = 1 + 'B';
    w->head[ida * TD + 3] = 4;
    w->head[idb * TD + 3] = -4;
    w->head[idb * TD + 0] = 1;
    info->eps = eps;
    info->crucial = 1;
    info->delta = delta;
    info->gain = G;
    info->cos_score[0] = 1 - 1 / sqrt(10.0);
    info->cos_score[1] = 1 - R / sqrt(R * R + delta * delta);
    info->cos_score[2] = 1 - sqrt(sq2) / sqrt(sq2 + 16);
    info->n_items = T_ITEMS;
}

static abl_status write_config(const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "config.json", err);
    if (s)
        return s;
    jw w;
    jw_init(&w, rf.f, 2);
    jw_obj_begin(&w);
    jw_key(&w, "architectures");
    jw_arr_begin(&w);
    jw_str(&w, "LlamaForCausalLM");
    jw_arr_end(&w);
    jw_key(&w, "model_type");
    jw_str(&w, "llama");
    jw_key(&w, "hidden_act");
    jw_str(&w, "silu");
    const struct {
        const char *k;
        int v;
    } ints[] = {{"hidden_size", TD}, {"num_hidden_layers", TL}, {"num_attention_heads", TH},
                {"num_key_value_heads", TH}, {"head_dim", TDH}, {"intermediate_size", TF},
                {"vocab_size", TV}, {"max_position_embeddings", 512}, {"bos_token_id", 0},
                {"eos_token_id", 0}};
    for (size_t i = 0; i < ABL_ARRAY_LEN(ints); i++) {
        jw_key(&w, ints[i].k);
        jw_int(&w, ints[i].v);
    }
    jw_key(&w, "rope_theta");
    jw_num(&w, 10000.0);
    jw_key(&w, "rms_norm_eps");
    jw_num(&w, T_NORM_EPS);
    jw_key(&w, "tie_word_embeddings");
    jw_bool(&w, false);
    jw_key(&w, "attention_bias");
    jw_bool(&w, false);
    jw_key(&w, "mlp_bias");
    jw_bool(&w, false);
    jw_key(&w, "rope_scaling");
    jw_null(&w);
    jw_key(&w, "torch_dtype");
    jw_str(&w, "float32");
    jw_obj_end(&w);
    if ((s = jw_finish(&w, rf.path, err))) {
        abl_afile_abort(&rf);
        return s;
    }
    return abl_afile_commit(&rf, err);
}

static abl_status write_tokenizer(const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "tokenizer.json", err);
    if (s)
        return s;
    jw w;
    jw_init(&w, rf.f, 1);
    jw_obj_begin(&w);
    jw_key(&w, "version");
    jw_str(&w, "1.0");
    jw_key(&w, "truncation");
    jw_null(&w);
    jw_key(&w, "padding");
    jw_null(&w);
    jw_key(&w, "added_tokens");
    jw_arr_begin(&w);
    jw_obj_begin(&w);
    jw_key(&w, "id");
    jw_int(&w, 0);
    jw_key(&w, "content");
    jw_str(&w, "<|endoftext|>");
    const char *flags[] = {"single_word", "lstrip", "rstrip", "normalized"};
    for (int i = 0; i < 4; i++) {
        jw_key(&w, flags[i]);
        jw_bool(&w, false);
    }
    jw_key(&w, "special");
    jw_bool(&w, true);
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_key(&w, "normalizer");
    jw_null(&w);
    for (int k = 0; k < 2; k++) {
        jw_key(&w, k ? "decoder" : "pre_tokenizer");
        jw_obj_begin(&w);
        jw_key(&w, "type");
        jw_str(&w, "ByteLevel");
        jw_key(&w, "add_prefix_space");
        jw_bool(&w, false);
        jw_key(&w, "trim_offsets");
        jw_bool(&w, true);
        jw_key(&w, "use_regex");
        jw_bool(&w, true);
        jw_obj_end(&w);
    }
    jw_key(&w, "post_processor");
    jw_null(&w);
    jw_key(&w, "model");
    jw_obj_begin(&w);
    jw_key(&w, "type");
    jw_str(&w, "BPE");
    jw_key(&w, "dropout");
    jw_null(&w);
    jw_key(&w, "unk_token");
    jw_null(&w);
    jw_key(&w, "continuing_subword_prefix");
    jw_null(&w);
    jw_key(&w, "end_of_word_suffix");
    jw_null(&w);
    jw_key(&w, "fuse_unk");
    jw_bool(&w, false);
    jw_key(&w, "byte_fallback");
    jw_bool(&w, false);
    jw_key(&w, "vocab");
    jw_obj_begin(&w);
    jw_key(&w, "<|endoftext|>");
    jw_int(&w, 0);
    for (int b = 0; b < 256; b++) {
        char ch[4];
        utf8(byte_char(b), ch);
        jw_key(&w, ch);
        jw_int(&w, 1 + b);
    }
    jw_obj_end(&w);
    jw_key(&w, "merges");
    jw_arr_begin(&w);
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_obj_end(&w);
    if ((s = jw_finish(&w, rf.path, err))) {
        abl_afile_abort(&rf);
        return s;
    }
    return abl_afile_commit(&rf, err);
}

static abl_status write_task(const char *dir, abl_err *err)
{
    abl_afile rf;
    abl_status s = abl_afile_open(&rf, dir, "task.jsonl", err);
    if (s)
        return s;
    static const char *things[] = {"lamp", "river", "violin", "pencil", "cloud"};
    for (int i = 0; i < T_ITEMS; i++) {
        jw w;
        char ctx[160];
        snprintf(ctx, sizeof ctx, "Question %d: which letter marks the %s? Answer:", i + 1,
                 things[i % 5]);
        jw_init(&w, rf.f, 0);
        jw_obj_begin(&w);
        jw_key(&w, "context");
        jw_str(&w, ctx);
        jw_key(&w, "choices");
        jw_arr_begin(&w);
        jw_str(&w, i % 2 ? "B" : "A");
        jw_str(&w, i % 2 ? "A" : "B");
        jw_arr_end(&w);
        jw_key(&w, "label");
        jw_int(&w, i % 2);
        jw_obj_end(&w);
        if ((s = jw_finish(&w, rf.path, err))) {
            abl_afile_abort(&rf);
            return s;
        }
        fputc('\n', rf.f);
    }
    return abl_afile_commit(&rf, err);
}

static abl_status mkdir1(const char *p, abl_err *err)
{
    if (mkdir(p, 0777) != 0 && errno != EEXIST)
        return abl_fail(err, ABL_E_IO, "%s: cannot create directory: %s", p, strerror(errno));
    return ABL_OK;
}

/* A theory folder holds only model/, task.jsonl (and its temporary) and study-eps* run
 * directories: refuse to write into any other non-empty folder (e.g. a study run directory). */
static abl_status check_out_dir(const char *dir, abl_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return ABL_OK; /* missing (created next) or not a folder (mkdir reports it) */
    const struct dirent *e;
    char bad[256] = "";
    while ((e = readdir(d)) && !bad[0]) {
        const char *n = e->d_name;
        if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "model") &&
            strncmp(n, "task.jsonl", 10) && strncmp(n, ".task.jsonl.tmp", 15) &&
            strncmp(n, "study-eps", 9))
            snprintf(bad, sizeof bad, "%.200s", n);
    }
    closedir(d);
    if (bad[0])
        return abl_fail(err, ABL_E_ARG, "%s: expected a new, empty or earlier `ablate theory` "
                        "folder, found a non-empty folder holding '%s' (hint: pick another "
                        "--out, e.g. runs/theory)", dir, bad);
    return ABL_OK;
}

abl_status theory_write(const char *dir, double eps, theory_info *info, abl_err *err)
{
    if (!(eps >= 1e-9 && eps <= 0.1))
        return abl_fail(err, ABL_E_ARG, "--eps: expected a value in [1e-9, 0.1], found %g", eps);
    char mdir[4096], path[4200];
    snprintf(mdir, sizeof mdir, "%s/model", dir);
    abl_status s;
    if ((s = check_out_dir(dir, err)) || (s = mkdir1(dir, err)) || (s = mkdir1(mdir, err)))
        return s;
    theory_w *w = malloc(sizeof *w);
    if (!w)
        return abl_fail(err, ABL_E_NOMEM, "theory: out of memory");
    build(w, eps, info);
    snprintf(path, sizeof path, "%s/model.safetensors", mdir);
    st_writer *sw = NULL;
    if ((s = stw_open(&sw, path, err)))
        goto done;
    int64_t vd[2] = {TV, TD}, d1[1] = {TD}, qd[2] = {TH * TDH, TD}, od[2] = {TD, TH * TDH},
            fd[2] = {TF, TD}, dd[2] = {TD, TF};
    s = stw_meta(sw, "format", "pt", err);
    if (!s)
        s = stw_add(sw, "model.embed_tokens.weight", vd, 2, w->emb, err);
    for (int l = 0; l < TL && !s; l++) {
        const char *names[9] = {"input_layernorm", "self_attn.q_proj", "self_attn.k_proj",
                                "self_attn.v_proj", "self_attn.o_proj",
                                "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj",
                                "mlp.down_proj"};
        const int64_t *shapes[9] = {d1, qd, qd, qd, od, d1, fd, fd, dd};
        const float *data[9] = {w->ones, w->zeros_q, w->zeros_q, w->zeros_q, w->zeros_o,
                                w->mlp_norm[l], w->gate[l], w->up[l], w->down[l]};
        for (int k = 0; k < 9 && !s; k++) {
            char n[128];
            snprintf(n, sizeof n, "model.layers.%d.%s.weight", l, names[k]);
            s = stw_add(sw, n, shapes[k], shapes[k] == d1 ? 1 : 2, data[k], err);
        }
    }
    if (!s)
        s = stw_add(sw, "model.norm.weight", d1, 1, w->ones, err);
    if (!s)
        s = stw_add(sw, "lm_head.weight", vd, 2, w->head, err);
    if (!s)
        s = stw_finish(sw, err);
    if (!s)
        s = write_config(mdir, err);
    if (!s)
        s = write_tokenizer(mdir, err);
    if (!s)
        s = write_task(dir, err);
done:
    stw_close(sw);
    free(w);
    return s;
}
