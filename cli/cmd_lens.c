/* cli/cmd_lens.c - `ablate lens`: the logit lens. For every block, the top next tokens read from
 * that block's resid_post (last prompt token) through the final norm and head, beside the
 * block's cosine score 1 - cos(resid_pre, resid_post) averaged over the prompt's tokens. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/model.h"
#include "cli.h"

static const char *const usage_text =
    "usage: ablate lens --prompt TEXT [options]\n"
    "  --prompt TEXT   the text whose next token is read at every block (required)\n"
    "  --top K         tokens shown per block (default 5)\n"
    "  --model DIR     model folder (default " DEFAULT_MODEL_DIR ")\n"
    "  --threads N     worker threads (default: all cores)\n"
    "Prints per block: the cosine score 1 - cos(h_in, h_out) averaged over the prompt's tokens\n"
    "and the top-K next tokens with their probabilities (logit lens on resid_post).\n";

#define LENS_MAX_TOP 20

/* What the hook keeps: the residual entering the current block, per-block cosine sums, and the
 * last token's resid_post of every block. */
typedef struct {
    int T, D;
    float *pre;       /* (T, D) resid_pre of the block being run */
    double *cos_sum;  /* (L) sum over tokens of 1 - cos */
    float *last;      /* (L, D) resid_post of the last token */
} lens_state;

static void lens_hook(void *user, int layer, hook_point p, float *x, const fwd_batch *b)
{
    lens_state *st = user;
    (void)b;
    size_t D = (size_t)st->D;
    if (p == HOOK_RESID_PRE) {
        memcpy(st->pre, x, (size_t)st->T * D * sizeof(float));
        return;
    }
    if (p != HOOK_RESID_POST)
        return;
    double acc = 0.0;
    for (int r = 0; r < st->T; r++) {
        double s[3];
        kern.dot3(st->pre + r * D, x + r * D, st->D, s);
        double den = sqrt(s[1]) * sqrt(s[2]);
        acc += 1.0 - (den > 0 ? s[0] / den : 1.0);
    }
    st->cos_sum[layer] = acc;
    memcpy(st->last + (size_t)layer * D, x + (size_t)(st->T - 1) * D, D * sizeof(float));
}

/* Length of the valid UTF-8 sequence at p[0..n), or 0 when p[0] does not start one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xf0 && p[0] < 0xf5 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (p[0] >= 0xf5 || len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* Print a token piece quoted, with control bytes and bytes outside complete UTF-8 characters
 * escaped (a piece may hold part of a character). */
static void put_piece(const tokenizer *tok, int32_t id)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)tok_piece(tok, id, &n);
    putchar('\'');
    for (size_t i = 0; p && i < n; i++) {
        unsigned char ch = p[i];
        size_t u = ch >= 0x80 ? utf8_len(p + i, n - i) : 0;
        if (u) {
            fwrite(p + i, 1, u, stdout);
            i += u - 1;
        } else if (ch == '\n') {
            fputs("\\n", stdout);
        } else if (ch == '\t') {
            fputs("\\t", stdout);
        } else if (ch == '\'' || ch == '\\') {
            printf("\\%c", ch);
        } else if (ch < 0x20 || ch >= 0x7f) {
            printf("\\x%02x", ch);
        } else {
            putchar(ch);
        }
    }
    putchar('\'');
}

/* The k largest logits (k <= LENS_MAX_TOP), best first. */
static void top_k(const float *logits, int V, int k, int32_t *ids)
{
    int n = 0;
    for (int v = 0; v < V; v++) {
        if (n == k && logits[v] <= logits[ids[k - 1]])
            continue;
        int i = n < k ? n++ : k - 1;
        while (i > 0 && logits[ids[i - 1]] < logits[v]) {
            ids[i] = ids[i - 1];
            i--;
        }
        ids[i] = v;
    }
}

static int lens_print(model *m, lens_state *st, int k, const char *prompt, int T)
{
    const hf_config *c = model_config(m);
    float *logits = malloc((size_t)c->vocab * sizeof(float));
    if (!logits) {
        cli_error("lens", "out of memory");
        return 1;
    }
    printf("logit lens on %d prompt tokens: \"%s\"\n", T, prompt);
    printf("%5s  %9s  top-%d next tokens (probability)\n", "block", "cos-score", k);
    for (int l = 0; l < c->n_layers; l++) {
        model_logits(m, st->last + (size_t)l * c->d_model, logits, true);
        double lse = kern.logsumexp(logits, c->vocab);
        int32_t ids[LENS_MAX_TOP];
        top_k(logits, c->vocab, k, ids);
        printf("%5d  %9.5f ", l, st->cos_sum[l] / T);
        for (int i = 0; i < k; i++) {
            putchar(' ');
            put_piece(model_tok(m), ids[i]);
            printf(" %.3f", exp((double)logits[ids[i]] - lse));
        }
        putchar('\n');
    }
    free(logits);
    return 0;
}

int cli_lens(int argc, char **argv)
{
    const char *prompt = NULL, *dir = DEFAULT_MODEL_DIR;
    long k = 5, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (cli_flag("lens", argc, argv, &i, "--prompt", &v)) {
            if (!v)
                return 2;
            prompt = v;
        } else if (cli_flag("lens", argc, argv, &i, "--model", &v)) {
            if (!v)
                return 2;
            dir = v;
        } else if (cli_flag("lens", argc, argv, &i, "--top", &v)) {
            if (!v || !cli_int("lens", "--top", v, 1, LENS_MAX_TOP, &k))
                return 2;
        } else if (cli_flag("lens", argc, argv, &i, "--threads", &v)) {
            if (!v || !cli_int("lens", "--threads", v, 1, 1024, &threads))
                return 2;
        } else {
            cli_error("lens", "unknown option '%s' (see ablate lens --help)", argv[i]);
            return 2;
        }
    }
    if (!prompt) {
        cli_error("lens", "--prompt is required (see ablate lens --help)");
        return 2;
    }
    abl_err err = {0};
    model *m = NULL;
    model_opts mo = model_opts_default();
    mo.threads = (int)threads;
    if (kern_init(NULL, &err) || model_load(&m, dir, &mo, &err))
        return cli_report("lens", &err);
    const hf_config *c = model_config(m);
    tok_ids ids = {0};
    fwd_batch b;
    batch_init(&b);
    lens_state st = {.D = c->d_model};
    int rc = 1;
    if (tok_encode(model_tok(m), prompt, strlen(prompt), &ids, &err)) {
        rc = cli_report("lens", &err);
        goto done;
    }
    if (ids.n == 0) {
        cli_error("lens", "--prompt: expected some text, found an empty prompt");
        rc = 2;
        goto done;
    }
    st.T = (int)ids.n;
    st.pre = malloc((size_t)st.T * c->d_model * sizeof(float));
    st.cos_sum = calloc((size_t)c->n_layers, sizeof(double));
    st.last = malloc((size_t)c->n_layers * c->d_model * sizeof(float));
    if (!st.pre || !st.cos_sum || !st.last || batch_add_seq(&b, 0, ids.v, st.T) < 0) {
        cli_error("lens", "out of memory");
        goto done;
    }
    run_plan plan = {.hook = lens_hook, .hook_user = &st,
                     .hook_mask = (1u << HOOK_RESID_PRE) | (1u << HOOK_RESID_POST)};
    if (model_forward(m, &b, &plan, &err)) {
        rc = cli_report("lens", &err);
        goto done;
    }
    rc = lens_print(m, &st, (int)k, prompt, st.T);
done:
    free(st.pre);
    free(st.cos_sum);
    free(st.last);
    batch_free(&b);
    tok_ids_free(&ids);
    model_free(m);
    return rc;
}
