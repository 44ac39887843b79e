/* cli/cmd_generate.c - `ablate generate`: stream text from a prompt with the KV-cache session
 * (or, with --plain, the textbook forward in engine/forward_plain.c), optionally with blocks or
 * sub-blocks skipped (a teaching demo of what removal does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engine/chat.h"
#include "../engine/forward_plain.h"
#include "../engine/generate.h"
#include "../engine/model.h"
#include "../engine/sampler.h"
#include "../base/list.h"
#include "cli.h"

static const char *const usage_text =
    "usage: ablate generate --prompt TEXT [options]\n"
    "  --prompt TEXT     the prompt (required)\n"
    "  -n N              tokens to generate (default 64)\n"
    "  --temp T          temperature; 0 = greedy (default 0)\n"
    "  --top-p P         nucleus sampling mass in (0, 1] (default 0.9; with --temp > 0)\n"
    "  --seed S          sampling seed (default 1)\n"
    "  --chat            wrap the prompt in the model's chat template (ChatML)\n"
    "  --skip L,L,...    skip whole blocks (0-based)\n"
    "  --skip-attn L,..  skip the attention sub-block of these blocks\n"
    "  --skip-mlp L,..   skip the MLP sub-block of these blocks\n"
    "  --plain           run the textbook forward (engine/forward_plain.c): plain loops, one\n"
    "                    token at a time, one thread; slow, and the one to step through in gdb\n"
    "  --model DIR       model folder (default " DEFAULT_MODEL_DIR ")\n"
    "  --threads N       worker threads (default: all cores)\n"
    "Streams the text to stdout, then prints prompt and generation speed to stderr.\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Add the blocks of list s ("5,6,10", "0-3") to mask (L); false (with a message) on junk or
 * an out-of-range block. */
static bool parse_layers(const char *flag, const char *s, int L, uint8_t *mask)
{
    uint8_t *m = malloc((size_t)L + 1);
    abl_err err = {0};
    if (!m || abl_list_blocks(s, flag, L, m, &err)) {
        if (!m)
            cli_error("generate", "out of memory");
        else
            cli_report("generate", &err);
        free(m);
        return false;
    }
    for (int l = 0; l < L; l++)
        mask[l] |= m[l];
    free(m);
    return true;
}

typedef struct {
    const char *prompt, *model_dir, *skip, *skip_attn, *skip_mlp;
    long n, seed, threads;
    double temp, top_p;
    bool chat, plain;
} gen_args;

static int parse_args(int argc, char **argv, gen_args *a)
{
    *a = (gen_args){.model_dir = DEFAULT_MODEL_DIR, .n = 64, .seed = 1, .threads = 0,
                    .temp = 0.0, .top_p = 0.9};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(arg, "--chat")) {
            a->chat = true;
        } else if (!strcmp(arg, "--plain")) {
            a->plain = true;
        } else if (cli_flag("generate", argc, argv, &i, "--prompt", &v)) {
            if (!v)
                return 2;
            a->prompt = v;
        } else if (cli_flag("generate", argc, argv, &i, "-n", &v)) {
            if (!v || !cli_int("generate", "-n", v, 0, 1000000, &a->n))
                return 2;
        } else if (cli_flag("generate", argc, argv, &i, "--temp", &v)) {
            if (!v || !cli_double("generate", "--temp", v, 0.0, 100.0, &a->temp))
                return 2;
        } else if (cli_flag("generate", argc, argv, &i, "--top-p", &v)) {
            if (!v || !cli_double("generate", "--top-p", v, 1e-6, 1.0, &a->top_p))
                return 2;
        } else if (cli_flag("generate", argc, argv, &i, "--seed", &v)) {
            if (!v || !cli_int("generate", "--seed", v, 0, 0x7fffffffL, &a->seed))
                return 2;
        } else if (cli_flag("generate", argc, argv, &i, "--threads", &v)) {
            if (!v || !cli_int("generate", "--threads", v, 1, 1024, &a->threads))
                return 2;
        } else if (cli_flag("generate", argc, argv, &i, "--model", &v)) {
            if (!v)
                return 2;
            a->model_dir = v;
        } else if (cli_flag("generate", argc, argv, &i, "--skip-attn", &v)) {
            if (!v)
                return 2;
            a->skip_attn = v;
        } else if (cli_flag("generate", argc, argv, &i, "--skip-mlp", &v)) {
            if (!v)
                return 2;
            a->skip_mlp = v;
        } else if (cli_flag("generate", argc, argv, &i, "--skip", &v)) {
            if (!v)
                return 2;
            a->skip = v;
        } else {
            cli_error("generate", "unknown option '%s' (see ablate generate --help)", arg);
            return 2;
        }
    }
    if (!a->prompt) {
        cli_error("generate", "--prompt is required (see ablate generate --help)");
        return 2;
    }
    return -1; /* go on */
}

/* Where the next-token logits come from: the KV-cache session, or the plain forward. */
typedef struct {
    gen_session *g;   /* used when p is NULL */
    fwd_plain *p;
    float *logits;    /* (V) the plain forward's logits */
    int max_ctx;
} gen_src;

static abl_status src_feed(gen_src *src, const int32_t *ids, int n, abl_err *err)
{
    if (!src->p)
        return gen_feed(src->g, ids, n, err);
    abl_status s = ABL_OK;
    for (int i = 0; i < n && !s && !cli_interrupted; i++)
        s = fwdp_step(src->p, ids[i], src->logits, err);
    return s;
}

static const float *src_logits(const gen_src *src) { return src->p ? src->logits : src->g->logits; }
static int src_past(const gen_src *src) { return src->p ? fwdp_n_past(src->p) : src->g->n_past; }

/* Generate after the prompt ids: greedy or sampled, streaming pieces; stops at EOS or n. */
static abl_status run_generation(model *m, gen_src *src, sampler *sm, const tok_ids *ids,
                                 const gen_args *a, int32_t stop2, abl_err *err)
{
    tokenizer *tok = model_tok(m);
    double t0 = now_s();
    abl_status s = src_feed(src, ids->v, (int)ids->n, err);
    if (s)
        return s;
    double t1 = now_s();
    int32_t eos = tok_eos_id(tok);
    tok_stream ts = {0};
    char buf[1024]; /* tok_stream_feed needs tok_max_piece_len + 8 (81 + 8 for SmolLM2) */
    long made = 0;
    while (made < a->n && !cli_interrupted) {
        int32_t id = sampler_pick(sm, src_logits(src));
        if (id == eos || id == stop2)
            break;
        size_t nb = tok_stream_feed(tok, &ts, id, buf, sizeof buf);
        fwrite(buf, 1, nb, stdout);
        fflush(stdout);
        made++;
        if (made == a->n || src_past(src) >= src->max_ctx)
            break; /* the last token needs no pass through the model */
        if ((s = src_feed(src, &id, 1, err)))
            return s;
    }
    double t2 = now_s();
    fputc('\n', stdout);
    fflush(stdout);
    fprintf(stderr, "prompt: %zu tokens, %.1f tokens/s; generation: %ld tokens, %.1f tokens/s%s\n",
            ids->n, (double)ids->n / (t1 - t0 > 0 ? t1 - t0 : 1e-9), made,
            made > 0 ? (double)made / (t2 - t1 > 0 ? t2 - t1 : 1e-9) : 0.0,
            src->p ? " (plain forward)" : "");
    return cli_interrupted ? abl_fail(err, ABL_E_INTERRUPTED, "interrupted") : ABL_OK;
}

int cli_generate(int argc, char **argv)
{
    gen_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    abl_err err = {0};
    model *m = NULL;
    model_opts mo = model_opts_default();
    mo.threads = (int)a.threads;
    if (kern_init(NULL, &err) || model_load(&m, a.model_dir, &mo, &err))
        return cli_report("generate", &err);
    int L = model_config(m)->n_layers;
    uint8_t *skip_attn = calloc((size_t)L, 1), *skip_mlp = calloc((size_t)L, 1);
    tok_ids ids = {0};
    gen_session g = {0};
    fwd_plain *plain = NULL;
    float *plain_logits = NULL;
    sampler sm = {0};
    rc = 1;
    if (!skip_attn || !skip_mlp) {
        cli_error("generate", "out of memory");
        goto done;
    }
    if ((a.skip && !(parse_layers("--skip", a.skip, L, skip_attn) &&
                     parse_layers("--skip", a.skip, L, skip_mlp))) ||
        (a.skip_attn && !parse_layers("--skip-attn", a.skip_attn, L, skip_attn)) ||
        (a.skip_mlp && !parse_layers("--skip-mlp", a.skip_mlp, L, skip_mlp))) {
        rc = 2;
        goto done;
    }
    tokenizer *tok = model_tok(m);
    abl_status s;
    int32_t stop2 = -1;
    if (a.chat) {
        char *text = NULL;
        size_t len = 0;
        stop2 = tok_special_id(tok, "<|im_end|>");
        s = chat_prompt(a.model_dir, a.prompt, &text, &len, &err);
        if (!s)
            s = tok_encode(tok, text, len, &ids, &err);
        free(text);
    } else {
        if (tok_adds_bos(tok) && tok_bos_id(tok) >= 0 && (ids.v = malloc(sizeof *ids.v))) {
            ids.v[0] = tok_bos_id(tok);
            ids.n = ids.cap = 1;
        }
        s = tok_encode(tok, a.prompt, strlen(a.prompt), &ids, &err);
    }
    if (s)
        goto report;
    if (ids.n == 0) {
        cli_error("generate", "--prompt: expected some text, found an empty prompt");
        rc = 2;
        goto done;
    }
    run_plan plan = {.skip_attn = skip_attn, .skip_mlp = skip_mlp};
    gen_src src = {.g = &g};
    int ctx = (int)ids.n + (int)a.n;
    if (a.plain) {
        s = fwdp_open(&plain, m, ctx, skip_attn, skip_mlp, &err);
        src.p = plain;
        src.max_ctx = plain ? fwdp_max_ctx(plain) : 0;
        if (!s && !(src.logits = plain_logits = malloc((size_t)model_config(m)->vocab *
                                                        sizeof(float))))
            s = abl_fail(&err, ABL_E_NOMEM, "generate: out of memory for the logits");
    } else {
        s = gen_open(&g, m, ctx, &plan, &err);
        src.max_ctx = g.max_ctx;
    }
    if (s || (s = sampler_init(&sm, model_config(m)->vocab, (float)a.temp, (float)a.top_p,
                               (uint64_t)a.seed, &err)))
        goto report;
    if ((s = run_generation(m, &src, &sm, &ids, &a, stop2, &err)))
        goto report;
    rc = 0;
    goto done;
report:
    rc = cli_report("generate", &err);
done:
    sampler_free(&sm);
    gen_close(&g);
    fwdp_close(plain);
    free(plain_logits);
    tok_ids_free(&ids);
    free(skip_attn);
    free(skip_mlp);
    model_free(m);
    return rc;
}
