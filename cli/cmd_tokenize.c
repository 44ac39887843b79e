/* cli/cmd_tokenize.c - `ablate tokenize`: the token ids and pieces of a text (or of a file), or
 * the text of a list of ids (--decode), with a model folder's tokenizer.json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/file.h"
#include "../engine/chat.h"
#include "../engine/tokenizer.h"
#include "cli.h"

static const char *const usage_text =
    "usage: ablate tokenize [options] TEXT\n"
    "       ablate tokenize [options] -f FILE\n"
    "       ablate tokenize [options] --decode ID,ID,...\n"
    "Prints one line per token: its id and its piece (quoted, C escapes for control and\n"
    "invalid UTF-8 bytes), then a count. --decode writes the exact decoded bytes instead.\n"
    "  -f FILE          tokenize the contents of FILE ('-' reads standard input)\n"
    "  --decode IDS     ids separated by commas or spaces\n"
    "  --ids            print only the ids, comma-separated, on one line\n"
    "  --chat           wrap TEXT as a user message in the model's ChatML chat template\n"
    "  --model DIR      model folder holding tokenizer.json, or a tokenizer.json file\n"
    "                   (default " DEFAULT_MODEL_DIR ")\n";

typedef struct {
    const char *text, *file, *decode, *model;
    bool ids_only, chat;
} tok_args;

/* 0 ok, else the exit status to return. */
static int parse_args(int argc, char **argv, tok_args *a)
{
    memset(a, 0, sizeof *a);
    a->model = DEFAULT_MODEL_DIR;
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(usage_text, stdout);
            return -1;
        } else if (!strcmp(arg, "--ids")) {
            a->ids_only = true;
        } else if (!strcmp(arg, "--chat")) {
            a->chat = true;
        } else if (cli_flag("tokenize", argc, argv, &i, "--model", &v)) {
            if (!v)
                return 2;
            a->model = v;
        } else if (cli_flag("tokenize", argc, argv, &i, "--decode", &v)) {
            if (!v)
                return 2;
            a->decode = v;
        } else if (cli_flag("tokenize", argc, argv, &i, "-f", &v)) {
            if (!v)
                return 2;
            a->file = v;
        } else if (arg[0] == '-' && arg[1] && strcmp(arg, "--")) {
            cli_error("tokenize", "unknown option '%s' (see ablate tokenize --help)", arg);
            return 2;
        } else {
            if (!strcmp(arg, "--") && ++i >= argc)
                break;
            if (a->text) {
                cli_error("tokenize", "expected one TEXT argument, found a second: '%s' (hint: "
                          "quote the text)", argv[i]);
                return 2;
            }
            a->text = argv[i];
        }
    }
    int sources = (a->text != NULL) + (a->file != NULL) + (a->decode != NULL);
    if (sources != 1) {
        cli_error("tokenize", "expected exactly one of TEXT, -f FILE or --decode IDS, found %d "
                  "(see ablate tokenize --help)", sources);
        return 2;
    }
    if (a->chat && a->decode) {
        cli_error("tokenize", "--chat applies to a text, not to --decode");
        return 2;
    }
    return 0;
}

/* Print bytes quoted: valid UTF-8 as is, the rest as C escapes. */
static void print_piece(const char *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)p[i];
        size_t len = 1;
        if (c >= 0xC2 && c <= 0xF4) { /* a multi-byte character when complete and valid */
            size_t need = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4, k = 1;
            while (k < need && i + k < n && ((unsigned char)p[i + k] & 0xC0) == 0x80)
                k++;
            len = k == need ? need : 0;
        }
        if (len > 1) {
            fwrite(p + i, 1, len, stdout);
            i += len;
            continue;
        }
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c < 0x20 || c >= 0x7F)
            printf("\\x%02x", c);
        else
            putchar(c);
        i++;
    }
    putchar('"');
}

static abl_status parse_ids(const char *s, int vocab, tok_ids *ids, abl_err *err)
{
    const char *p = s;
    for (;;) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        bool sep = !*end || *end == ',' || *end == ' ' || *end == '\t' || *end == '\n';
        if (end == p || errno || !sep)
            return abl_fail(err, ABL_E_ARG, "--decode: expected ids separated by commas, found "
                            "'%.40s'", p);
        if (v < 0 || v >= vocab)
            return abl_fail(err, ABL_E_ARG, "--decode: id %ld is out of range [0, %d)", v, vocab);
        if (ids->n == ids->cap) {
            size_t cap = ids->cap ? 2 * ids->cap : 64;
            int32_t *nv = realloc(ids->v, cap * sizeof *nv);
            if (!nv)
                return abl_fail(err, ABL_E_NOMEM, "--decode: out of memory");
            ids->v = nv;
            ids->cap = cap;
        }
        ids->v[ids->n++] = (int32_t)v;
        p = end;
    }
    if (!ids->n)
        return abl_fail(err, ABL_E_ARG, "--decode: expected at least one id, found '%s'", s);
    return ABL_OK;
}

/* The tokenizer.json path for --model: a .json file as is, else DIR/tokenizer.json. */
static void tokenizer_path(const char *model, char *out, size_t cap, char *dir, size_t dcap)
{
    size_t n = strlen(model);
    if (n >= 5 && !strcmp(model + n - 5, ".json")) {
        snprintf(out, cap, "%s", model);
        const char *slash = strrchr(model, '/');
        snprintf(dir, dcap, "%.*s", slash ? (int)(slash - model) : 1, slash ? model : ".");
    } else {
        snprintf(out, cap, "%s/tokenizer.json", model);
        snprintf(dir, dcap, "%s", model);
    }
}

int cli_tokenize(int argc, char **argv)
{
    tok_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    char path[4096], dir[4096];
    tokenizer_path(a.model, path, sizeof path, dir, sizeof dir);
    abl_err err = {0};
    tokenizer *t = NULL;
    tok_ids ids = {0};
    char *text = NULL, *chat = NULL, *dec = NULL;
    size_t len = 0, dlen;
    abl_status st = tok_load(&t, path, &err);
    if (!st && a.decode) {
        if (!(st = parse_ids(a.decode, tok_vocab_size(t), &ids, &err)) &&
            !(st = tok_decode(t, ids.v, ids.n, &dec, &dlen, &err))) {
            fwrite(dec, 1, dlen, stdout);
            if (dlen == 0 || dec[dlen - 1] != '\n')
                putchar('\n');
        }
    } else if (!st) {
        if (a.file)
            st = abl_read_file(strcmp(a.file, "-") ? a.file : "/dev/stdin", 0, NULL, &text, &len,
                               &err);
        else
            len = strlen(a.text);
        const char *src = a.file ? text : a.text;
        if (!st && a.chat && !(st = chat_prompt(dir, src, &chat, &len, &err)))
            src = chat;
        if (!st)
            st = tok_encode(t, src, len, &ids, &err);
        for (size_t i = 0; !st && i < ids.n; i++) {
            if (a.ids_only) {
                printf(i ? ",%d" : "%d", ids.v[i]);
                continue;
            }
            size_t plen;
            const char *p = tok_piece(t, ids.v[i], &plen);
            printf("%6d  ", ids.v[i]);
            print_piece(p, plen);
            putchar('\n');
        }
        if (!st && a.ids_only)
            putchar('\n');
        else if (!st)
            printf("%zu tokens, %zu bytes\n", ids.n, len);
        if (!st && !(st = tok_decode(t, ids.v, ids.n, &dec, &dlen, &err)) && dlen != len)
            cli_error("tokenize", "note: %zu input bytes have no token in this vocabulary and were "
                      "dropped (as HF tokenizers drops them)", len - dlen);
    }
    if (st)
        rc = cli_report("tokenize", &err);
    free(dec);
    free(chat);
    free(text);
    tok_ids_free(&ids);
    tok_free(t);
    return rc;
}
