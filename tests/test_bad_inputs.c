/* tests/test_bad_inputs.c - a table of bad command lines run through the real `ablate` binary
 * (fork/exec, timeout): exit code, a stderr substring, no crash or hang, runs/ left unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/abl.h"
#include "test_hard_util.h"

/* Substitutions in the command templates (a leading @X of a word):
 *   @M  models folder: @M/good is a copy of tests/fixtures/tiny, the others corrupt copies
 *   @D  datasets folder (good.jsonl and broken variants)
 *   @R  a prepared runs/ folder: @R/prev is a finished study of @M/good on @D/good.jsonl,
 *       @R/notes/keep.txt a user's file; its listing and hashes are checked after every case
 *   @F  a regular file (for paths whose parent is not a directory)
 *   @X  the scratch root */
enum { CAT_FLAGS, CAT_FILES, CAT_MODEL, CAT_DATA, CAT_OUTPUT };

typedef struct {
    int cat;
    const char *cmd;  /* space-separated words */
    int rc;           /* expected exit status */
    const char *want; /* expected substring of stderr */
    long fsize;       /* RLIMIT_FSIZE in bytes for the child (full disk), 0 = none */
} bad_case;

#define RUN_GOOD "--model @M/good --tasks jsonl:@D/good.jsonl --quiet --threads 1"

static const bad_case cases[] = {
    /* ---- bad flags and values ---- */
    {CAT_FLAGS, "frobnicate", 2, "unknown subcommand 'frobnicate'", 0},
    {CAT_FLAGS, "run --frobnicate", 2, "unknown option '--frobnicate'", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --limit -1", 2, "--limit: -1 is out of range", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --limit 999999999999", 2, "out of range", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --limit 99999999999999999999999", 2,
     "--limit: expected an integer", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --limit", 2, "--limit needs a value", 0},
    {CAT_FLAGS, "eval " RUN_GOOD " --limit -3", 2, "--limit: -3 is out of range", 0},
    {CAT_FLAGS, "run --model @M/good --tasks nosuchtask --out @X/o --quiet", 2,
     "unknown task 'nosuchtask'", 0},
    {CAT_FLAGS, "eval --model @M/good --tasks nosuchtask --quiet", 2, "unknown task 'nosuchtask'", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --layers 99", 2, "--layers '99'", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --layers -3", 2, "--layers '-3'", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --layers abc", 2, "expected a list like", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --layers 3-1", 2, "--layers '3-1'", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --threads 0", 2, "--threads: 0 is out of range", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --threads -1", 2, "--threads: -1 is out of range", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --threads abc", 2, "--threads: expected an integer", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --threads 100000", 2, "--threads: 100000 is out of range", 0},
    {CAT_FLAGS, "generate --model @M/good --prompt hi --threads abc", 2, "expected an integer", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --unit foo", 2, "--unit: expected block, attn or mlp", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --device tpu", 2, "--device: expected cpu or cuda", 0},
    {CAT_FLAGS, "eval " RUN_GOOD " --device tpu", 2, "--device: expected cpu or cuda", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --boot 5", 2, "--boot: 5 is out of range", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --prune -1", 2, "--prune: -1 is out of range", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --prune two", 2, "--prune: expected an integer", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --pool some", 2, "--pool: expected above-chance or all", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --pool", 2, "--pool", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --estimate --limit x", 2, "--limit: expected", 0},
    {CAT_FLAGS, "theory --eps 0 --out @X/th", 2, "--eps: 0 is out of range", 0},
    {CAT_FLAGS, "theory --eps -1e-3 --out @X/th", 2, "out of range", 0},
    {CAT_FLAGS, "theory --eps nan --out @X/th", 2, "--eps: expected a number", 0},
    {CAT_FLAGS, "theory --eps 1e999 --out @X/th", 2, "--eps: expected a number", 0},
    {CAT_FLAGS, "generate --model @M/good --prompt hi -n -5", 2, "-n: -5 is out of range", 0},
    {CAT_FLAGS, "generate --model @M/good --prompt hi --skip 99", 2, "block 99 is out of range", 0},
    {CAT_FLAGS, "generate --model @M/good --prompt hi --skip 1,,2", 2, "expected a list like", 0},
    {CAT_FLAGS, "bench kernels --variant ref,foo", 2, "unknown name 'foo'", 0},
    {CAT_FLAGS, "bench kernels --ops sgemm,,rows", 2, "found an empty item", 0},
    {CAT_FLAGS, "prune --model @M/good --calib piqa,piqa --quiet", 2, "'piqa' twice", 0},
    {CAT_FLAGS, "run " RUN_GOOD " --out @X/o --shard 2/2", 2, "--shard: expected I/N", 0},
    {CAT_FLAGS, "tokenize --model @M/good --decode 999999", 2, "id 999999 is out of range", 0},
    {CAT_FLAGS, "prune --model @M/good --blocks -1 --out @X/p", 2, "--blocks: -1 is out of range", 0},
    {CAT_FLAGS, "bench nothing", 2, "found 'nothing'", 0},
    {CAT_FLAGS, "eval --model @M/good --corpus @D/good.jsonl --ctx 0", 2, "--ctx: 0 is out of range", 0},

    /* ---- missing and unreadable files and folders ---- */
    {CAT_FILES, "run --model @X/nowhere --tasks jsonl:@D/good.jsonl --out @X/o --quiet", 1,
     "config.json: cannot open", 0},
    {CAT_FILES, "inspect --model @X/emptydir", 1, "config.json: cannot open", 0},
    {CAT_FILES, "inspect --model @F", 1, "config.json: cannot open", 0},
    {CAT_FILES, "inspect --model @M/cfgdir", 1, "config.json: read error", 0},
    {CAT_FILES, "eval --model @M/stdir --tasks jsonl:@D/good.jsonl --quiet", 1,
     "expected model.safetensors or model.safetensors.index.json", 0},
    {CAT_FILES, "eval --model @M/notok --tasks jsonl:@D/good.jsonl --quiet", 1,
     "tokenizer.json: cannot open", 0},
    {CAT_FILES, "eval --model @M/good --tasks jsonl:@D/nowhere.jsonl --quiet", 1, "cannot open", 0},
    {CAT_FILES, "eval --model @M/good --tasks jsonl:@D --quiet", 1, "read error", 0},
    {CAT_FILES, "tokenize --model @M/good -f @D", 1, "read error", 0},
    {CAT_FILES, "run --model @M/good --tasks piqa --data-dir @X/nowhere --out @X/o --quiet", 1,
     "piqa/valid.jsonl: cannot open", 0},

    /* ---- truncated and malicious model files ---- */
    {CAT_MODEL, "inspect --model @M/trunc", 1, "run past the end of the data section", 0},
    {CAT_MODEL, "eval --model @M/trunc --tasks jsonl:@D/good.jsonl --quiet", 1, "truncated or corrupt", 0},
    {CAT_MODEL, "inspect --model @M/trunc5", 1, "expected at least 8 bytes (header length), found 5", 0},
    {CAT_MODEL, "inspect --model @M/empty", 1, "expected at least 8 bytes (header length), found 0", 0},
    {CAT_MODEL, "inspect --model @M/hugehdr", 1, "header too long", 0},
    {CAT_MODEL, "inspect --model @M/pasteof", 1, "runs past the end of the file", 0},
    {CAT_MODEL, "inspect --model @M/hdrjunk", 1, "(header): byte 0: expected a JSON value", 0},
    {CAT_MODEL, "inspect --model @M/trail", 1, "trailing bytes", 0},
    {CAT_MODEL, "inspect --model @M/shape", 1, "expected shape (64, 128), found (128, 64)", 0},
    {CAT_MODEL, "eval --model @M/shape --tasks jsonl:@D/good.jsonl --quiet", 1,
     "expected shape (64, 128), found (128, 64)", 0},
    {CAT_MODEL, "inspect --model @M/i16", 1, "found I16", 0},
    {CAT_MODEL, "eval --model @M/nan --tasks jsonl:@D/good.jsonl --quiet", 1, "found nan", 0},
    {CAT_MODEL, "eval --model @M/inf --tasks jsonl:@D/good.jsonl --quiet", 1, "found -inf", 0},
    {CAT_MODEL, "run --model @M/nan --tasks jsonl:@D/good.jsonl --out @X/o --quiet", 1, "found nan", 0},
    {CAT_MODEL, "generate --model @M/inf --prompt hi -n 2", 1, "found -inf", 0},
    {CAT_MODEL, "inspect --model @M/arch", 1, "unsupported architecture 'GPT2LMHeadModel'", 0},
    {CAT_MODEL, "eval --model @M/arch --tasks jsonl:@D/good.jsonl --quiet", 1,
     "unsupported architecture 'GPT2LMHeadModel'", 0},
    {CAT_MODEL, "inspect --model @M/badjson", 1, "config.json: byte", 0},
    {CAT_MODEL, "inspect --model @M/cfgneg", 1, "expected a positive integer, found -3", 0},
    {CAT_MODEL, "inspect --model @M/cfgheads", 1, "is not divisible by num_key_value_heads 3", 0},
    {CAT_MODEL, "inspect --model @M/cfgdims", 1, "expected shape (384, 96), found (384, 64)", 0},
    {CAT_MODEL, "inspect --model @M/rope", 1, "rope_scaling of type 'dynamic'", 0},
    {CAT_MODEL, "eval --model @M/badtok --tasks jsonl:@D/good.jsonl --quiet", 1,
     "tokenizer.json: expected model.vocab", 0},

    /* ---- malformed dataset lines ---- */
    {CAT_DATA, "eval --model @M/good --tasks jsonl:@D/brokenline.jsonl --quiet", 1,
     "brokenline.jsonl:2: byte", 0},
    {CAT_DATA, "eval --model @M/good --tasks jsonl:@D/label.jsonl --quiet", 1,
     "label.jsonl:1: expected \"label\" in [0, 2), found 5", 0},
    {CAT_DATA, "eval --model @M/good --tasks jsonl:@D/nochoices.jsonl --quiet", 1, "non-empty array", 0},
    {CAT_DATA, "eval --model @M/good --tasks jsonl:@D/utf8.jsonl --quiet", 1, "utf8.jsonl:2: byte", 0},
    {CAT_DATA, "eval --model @M/good --tasks jsonl:@D/type.jsonl --quiet", 1, "found another type", 0},
    {CAT_DATA, "eval --model @M/good --tasks jsonl:@D/array.jsonl --quiet", 1,
     "expected string field \"context\"", 0},
    {CAT_DATA, "eval --model @M/good --tasks jsonl:@D/empty.jsonl --quiet", 1,
     "expected at least one item", 0},
    {CAT_DATA, "eval --model @M/good --tasks jsonl:@D/deep.jsonl --quiet", 1, "nesting depth", 0},
    {CAT_DATA, "eval --model @M/good --corpus @D/empty.txt --ctx 32 --quiet", 1, "empty file", 0},
    {CAT_DATA, "run --model @M/good --tasks jsonl:@D/brokenline.jsonl --out @R/new --quiet", 1,
     "brokenline.jsonl:2: byte", 0},

    /* ---- unwritable outputs, full disk, foreign run directories ---- */
    {CAT_OUTPUT, "run " RUN_GOOD " --out @F/sub", 1, "cannot create directory: Not a directory", 0},
    {CAT_OUTPUT, "eval " RUN_GOOD " --json @F/x.json", 1, "cannot create: Not a directory", 0},
    {CAT_OUTPUT, "theory --out @F/th --quiet", 1, "Not a directory", 0},
    {CAT_OUTPUT, "prune --model @M/good --calib jsonl:@D/good.jsonl --eval jsonl:@D/good.jsonl "
                 "--blocks 1 --quiet --out @F/p", 1, "Not a directory", 0},
    {CAT_OUTPUT, "run " RUN_GOOD " --out @R/prev/layers.csv", 1, "expected a directory, found a file", 0},
    {CAT_OUTPUT, "run " RUN_GOOD " --out @R/prev --limit 5", 1, "another configuration", 0},
    {CAT_OUTPUT, "run " RUN_GOOD " --out @R/prev --layers 1", 1, "another configuration", 0},
    {CAT_OUTPUT, "run " RUN_GOOD " --out @R/prev --unit attn", 1, "another configuration", 0},
    {CAT_OUTPUT, "run --model @M/nan --tasks jsonl:@D/good.jsonl --out @R/prev --quiet", 1, "ablate run: ", 0},
    {CAT_OUTPUT, "run " RUN_GOOD " --out @X/full1 --batch-tokens 64", 1, "File too large", 1024},
    {CAT_OUTPUT, "run " RUN_GOOD " --out @X/full8 --batch-tokens 64", 1, "File too large", 8192},
    {CAT_OUTPUT, "eval " RUN_GOOD " --json @X/full.json", 1, "write failed", 1024},
    {CAT_OUTPUT, "theory --out @X/fullth --quiet", 1, "File too large", 4096},
    {CAT_OUTPUT, "prune --model @M/good --calib jsonl:@D/good.jsonl --eval jsonl:@D/good.jsonl "
                 "--blocks 1 --quiet --out @X/fullp", 1, "File too large", 1024},
};

/* ---- fixtures ------------------------------------------------------------------------------ */

static int put(tctx *t, const char *dir, const char *name, const void *data, size_t n)
{
    char p[8448];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (hx_write(p, data, n) != 0) {
        t_fail(t, "cannot write fixture %s", p);
        return -1;
    }
    return 0;
}

static int puts_file(tctx *t, const char *dir, const char *name, const char *text)
{
    return put(t, dir, name, text, strlen(text));
}

/* A copy of the tiny model as @M/name; returns its path in buf (static per call site). */
static const char *model_copy(tctx *t, const char *mdir, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", mdir, name);
    if (hx_copy_dir("tests/fixtures/tiny", buf) != 0)
        t_fail(t, "cannot copy tests/fixtures/tiny to %s (run from the repository root)", buf);
    return buf;
}

/* Patch one file of a model copy; a failed patch (text not found) fails the test. */
static void patch(tctx *t, const char *dir, const char *file, const char *from, const char *to)
{
    char p[8448];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    if (hx_patch(p, from, to) != 0)
        t_fail(t, "fixture %s: cannot replace '%s' (did tests/fixtures/tiny change?)", p, from);
}

/* First element of tensor name in the safetensors at path set to the F16 bit pattern bits. */
static void poke_f16(tctx *t, const char *path, const char *name, unsigned bits)
{
    size_t n = 0;
    char *b = hx_read(path, &n);
    char key[256];
    snprintf(key, sizeof key, "\"%s\":{\"dtype\":\"F16\"", name);
    char *k = b && n > 8 ? memmem(b, n, key, strlen(key)) : NULL;
    char *o = k ? strstr(k, "\"data_offsets\":[") : NULL;
    unsigned long long hl = 0;
    for (int i = 7; b && n >= 8 && i >= 0; i--)
        hl = hl << 8 | (unsigned char)b[i];
    size_t at = o ? 8 + (size_t)hl + (size_t)strtoull(o + 16, NULL, 10) : 0;
    if (!o || at + 2 > n) {
        t_fail(t, "fixture %s: no F16 tensor '%s'", path, name);
    } else {
        b[at] = (char)(bits & 0xff);
        b[at + 1] = (char)(bits >> 8);
        if (hx_write(path, b, n) != 0)
            t_fail(t, "cannot write %s", path);
    }
    free(b);
}

static void make_models(tctx *t, const char *m)
{
    char d[4096], p[8448];
    mkdir(m, 0755);
    model_copy(t, m, "good", d, sizeof d);
    snprintf(p, sizeof p, "%s/good/model.safetensors", m);
    size_t n = 0;
    char *st = hx_read(p, &n);
    if (!st || n < 1000) {
        t_fail(t, "cannot read %s", p);
        free(st);
        return;
    }
    put(t, model_copy(t, m, "trunc", d, sizeof d), "model.safetensors", st, n / 2);
    put(t, model_copy(t, m, "trunc5", d, sizeof d), "model.safetensors", st, 5);
    put(t, model_copy(t, m, "empty", d, sizeof d), "model.safetensors", st, 0);
    char huge[24] = {0, 0, 0, 0, 0, 0, 0, 0x40, '{', '}'};
    put(t, model_copy(t, m, "hugehdr", d, sizeof d), "model.safetensors", huge, 10);
    char past[16] = {64, 0, 0, 0, 0, 0, 0, 0, '{', '"', 'a', '"', ':', '1', '}'};
    put(t, model_copy(t, m, "pasteof", d, sizeof d), "model.safetensors", past, 15);
    char junk[24] = {16, 0, 0, 0, 0, 0, 0, 0};
    memcpy(junk + 8, "not a json obj!!", 16);
    put(t, model_copy(t, m, "hdrjunk", d, sizeof d), "model.safetensors", junk, 24);
    char *tr = malloc(n + 2);
    if (tr) {
        memcpy(tr, st, n);
        memcpy(tr + n, "xx", 2);
        put(t, model_copy(t, m, "trail", d, sizeof d), "model.safetensors", tr, n + 2);
        free(tr);
    }
    free(st);
    patch(t, model_copy(t, m, "shape", d, sizeof d), "model.safetensors",
          "down_proj.weight\":{\"dtype\":\"F16\",\"shape\":[64,128]",
          "down_proj.weight\":{\"dtype\":\"F16\",\"shape\":[128,64]");
    patch(t, model_copy(t, m, "i16", d, sizeof d), "model.safetensors",
          "down_proj.weight\":{\"dtype\":\"F16\"", "down_proj.weight\":{\"dtype\":\"I16\"");
    model_copy(t, m, "nan", d, sizeof d);
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    poke_f16(t, p, "model.layers.0.self_attn.q_proj.weight", 0x7e00);
    model_copy(t, m, "inf", d, sizeof d);
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    poke_f16(t, p, "model.layers.1.mlp.up_proj.weight", 0xfc00);
    patch(t, model_copy(t, m, "arch", d, sizeof d), "config.json", "\"LlamaForCausalLM\"",
          "\"GPT2LMHeadModel\" ");
    puts_file(t, model_copy(t, m, "badjson", d, sizeof d), "config.json",
              "{\"architectures\": [\"LlamaForCausalLM\"], ");
    patch(t, model_copy(t, m, "cfgneg", d, sizeof d), "config.json", "\"num_hidden_layers\": 4",
          "\"num_hidden_layers\":-3");
    patch(t, model_copy(t, m, "cfgheads", d, sizeof d), "config.json", "\"num_key_value_heads\": 2",
          "\"num_key_value_heads\": 3");
    patch(t, model_copy(t, m, "cfgdims", d, sizeof d), "config.json", "\"hidden_size\": 64",
          "\"hidden_size\": 96");
    patch(t, model_copy(t, m, "rope", d, sizeof d), "config.json", "\"rope_scaling\": null",
          "\"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2.0}");
    puts_file(t, model_copy(t, m, "badtok", d, sizeof d), "tokenizer.json",
              "{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}");
    model_copy(t, m, "notok", d, sizeof d);
    snprintf(p, sizeof p, "%s/tokenizer.json", d);
    unlink(p);
    model_copy(t, m, "stdir", d, sizeof d);
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    unlink(p);
    mkdir(p, 0755);
    model_copy(t, m, "cfgdir", d, sizeof d);
    snprintf(p, sizeof p, "%s/config.json", d);
    unlink(p);
    mkdir(p, 0755);
}

static void make_data(tctx *t, const char *dd)
{
    mkdir(dd, 0755);
    char good[4096] = "";
    const char *w[] = {"the", "cat", "sat", "on", "a", "mat", "red", "sun"};
    for (int i = 0; i < 12; i++) {
        char line[256];
        snprintf(line, sizeof line,
                 "{\"context\": \"%s %s %s %s\", \"choices\": [\"%s %s\", \"%s\", \"%s %s\"], "
                 "\"label\": %d}\n", w[i % 8], w[(i + 3) % 8], w[(i * 5) % 8], w[(i + 1) % 8],
                 w[(i + 2) % 8], w[(i * 3) % 8], w[(i + 6) % 8], w[(i + 7) % 8], w[i % 5], i % 3);
        strcat(good, line);
    }
    puts_file(t, dd, "good.jsonl", good);
    puts_file(t, dd, "brokenline.jsonl",
              "{\"context\": \"a b\", \"choices\": [\"x\", \"y\"], \"label\": 0}\n"
              "{\"context\": \"a b\", \"choices\": [\"x\", \"y\"], \"label\": 0\n");
    puts_file(t, dd, "label.jsonl", "{\"context\": \"a\", \"choices\": [\"x\", \"y\"], \"label\": 5}\n");
    puts_file(t, dd, "nochoices.jsonl", "{\"context\": \"a\", \"choices\": [], \"label\": 0}\n");
    puts_file(t, dd, "utf8.jsonl", "{\"context\": \"a\", \"choices\": [\"x\"], \"label\": 0}\n"
                                   "{\"context\": \"\xff\xfe\", \"choices\": [\"x\"], \"label\": 0}\n");
    puts_file(t, dd, "type.jsonl", "{\"context\": 7, \"choices\": [\"x\", \"y\"], \"label\": 0}\n");
    puts_file(t, dd, "array.jsonl", "[1, 2]\n");
    puts_file(t, dd, "empty.jsonl", "");
    puts_file(t, dd, "empty.txt", "");
    static char deep[100002];
    memset(deep, '[', sizeof deep - 2);
    deep[sizeof deep - 2] = '\n';
    puts_file(t, dd, "deep.jsonl", deep);
}

/* The scratch tree: models, data, a finished run in runs/, a regular file. */
static void setup(tctx *t, char sub[5][512])
{
    const char *root = t_tmpdir(t);
    snprintf(sub[0], 512, "%s/m", root);
    snprintf(sub[1], 512, "%s/d", root);
    snprintf(sub[2], 512, "%s/runs", root);
    snprintf(sub[3], 512, "%s/afile", root);
    snprintf(sub[4], 512, "%s", root);
    make_models(t, sub[0]);
    make_data(t, sub[1]);
    puts_file(t, root, "afile", "a regular file\n");
    char p[4096];
    snprintf(p, sizeof p, "%s/emptydir", root);
    mkdir(p, 0755);
    mkdir(sub[2], 0755);
    snprintf(p, sizeof p, "%s/notes", sub[2]);
    mkdir(p, 0755);
    puts_file(t, p, "keep.txt", "a file of the user's in runs/\n");
}

/* Run the study that @R/prev holds (a real, finished run directory). */
static void make_prev_run(tctx *t, const char *const subst[26])
{
    char buf[4096], *argv[64];
    hx_argv("run " RUN_GOOD " --out @R/prev", subst, buf, sizeof buf, argv, 64);
    hx_result r;
    hx_run(argv, t_tmpdir(t), 0, 120, &r);
    if (r.rc != 0)
        t_fail(t, "setup: `%s run ... --out runs/prev` on the tiny model failed (rc %d, signal %d): "
               "%.300s", hx_binary(), r.rc, r.sig, r.err);
}

/* Any leftover temp file ("*.tmp" or "*.tmp.<n>") under dir: atomic writes must clean up. */
static int find_tmp(const char *tree, char *name, size_t n)
{
    for (const char *l = tree; l && *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        char row[2200];
        snprintf(row, sizeof row, "%.*s", (int)len, l);
        char *sp = strrchr(row, ' ');
        if (sp)
            *sp = 0;
        if (strstr(row, ".tmp")) {
            snprintf(name, n, "%s", row);
            return 1;
        }
        l = e ? e + 1 : l + len;
    }
    return 0;
}

static void run_category(tctx *t, int cat)
{
    char sub[5][512];
    setup(t, sub);
    const char *subst[26] = {0};
    subst['M' - 'A'] = sub[0];
    subst['D' - 'A'] = sub[1];
    subst['R' - 'A'] = sub[2];
    subst['F' - 'A'] = sub[3];
    subst['X' - 'A'] = sub[4];
    if (!hx_need_binary(t))
        return;
    make_prev_run(t, subst);
    if (t_failed(t))
        return;
    char *before = hx_tree(sub[2]);
    if (!before || !strstr(before, "prev/journal.tsv")) {
        t_fail(t, "setup: runs/prev has no journal.tsv");
        free(before);
        return;
    }
    int n = 0, skipped = 0;
    double worst = 0;
    for (size_t i = 0; i < ABL_ARRAY_LEN(cases); i++) {
        const bad_case *c = &cases[i];
        if (c->cat != cat)
            continue;
        n++;
        char buf[8192], *argv[64];
        if (hx_argv(c->cmd, subst, buf, sizeof buf, argv, 64) < 0) {
            t_fail(t, "case %zu: command template too long", i);
            continue;
        }
        hx_result r;
        hx_run(argv, t_tmpdir(t), c->fsize, 60, &r);
        worst = r.secs > worst ? r.secs : worst;
        if (strstr(r.err, "not built yet")) { /* honest: a subcommand still missing */
            t_note(t, "SKIP case %zu `%s`: %.200s", i, c->cmd, r.err);
            skipped++;
            continue;
        }
        const char *bad = NULL;
        char why[256] = "";
        if (r.hung)
            snprintf(why, sizeof why, "hung (killed after %.0f s)", r.secs), bad = why;
        else if (r.sig)
            snprintf(why, sizeof why, "crashed with signal %d", r.sig), bad = why;
        else if (strstr(r.err, "Sanitizer") || strstr(r.err, "runtime error:"))
            bad = "sanitizer report on stderr";
        else if (r.rc != c->rc)
            snprintf(why, sizeof why, "exit %d, expected %d", r.rc, c->rc), bad = why;
        else if (!strstr(r.err, c->want))
            snprintf(why, sizeof why, "stderr lacks '%.200s'", c->want), bad = why;
        else if (strncmp(r.err, "ablate", 6) != 0)
            bad = "stderr does not start with 'ablate'";
        if (bad)
            t_fail(t, "case %zu `%s`: %s; stderr: %.600s", i, c->cmd, bad, r.err);
        char *after = hx_tree(sub[2]);
        if (!after || strcmp(before, after) != 0)
            t_fail(t, "case %zu `%s`: the earlier contents of runs/ changed:\nbefore:\n%s\nafter:\n%s",
                   i, c->cmd, before, after ? after : "(unreadable)");
        free(after);
        char *all = hx_tree(sub[4]);
        char tmpname[2200];
        if (all && find_tmp(all, tmpname, sizeof tmpname))
            t_fail(t, "case %zu `%s`: a temporary file was left behind: %s", i, c->cmd, tmpname);
        free(all);
    }
    free(before);
    t_note(t, "%d cases (%d skipped: subcommand not built yet), slowest %.2f s, binary %s", n,
           skipped, worst, hx_binary());
    if (skipped && skipped == n)
        t_skip(t, "every case of this group needs a subcommand that is not built yet");
}

void test_bad_inputs_table_size(tctx *t)
{
    T_CHECK(t, ABL_ARRAY_LEN(cases) >= 40);
    int per[5] = {0};
    for (size_t i = 0; i < ABL_ARRAY_LEN(cases); i++)
        per[cases[i].cat]++;
    t_note(t, "%zu cases: %d flags, %d files, %d model, %d data, %d output", ABL_ARRAY_LEN(cases),
           per[0], per[1], per[2], per[3], per[4]);
    for (int k = 0; k < 5; k++)
        T_CHECK(t, per[k] > 0);
}

void test_bad_inputs_flags(tctx *t)
{
    run_category(t, CAT_FLAGS);
}

void test_bad_inputs_missing_files(tctx *t)
{
    run_category(t, CAT_FILES);
}

void test_bad_inputs_model_files(tctx *t)
{
    run_category(t, CAT_MODEL);
}

void test_bad_inputs_datasets(tctx *t)
{
    run_category(t, CAT_DATA);
}

void test_bad_inputs_outputs(tctx *t)
{
    run_category(t, CAT_OUTPUT);
}
