/* engine/chat.c - ChatML formatting (`<|im_start|>role\n...<|im_end|>\n` + assistant start) and
 * the default system message read from a model folder's chat template. */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/file.h"
#include "../loader/json.h"

static const char IM_START[] = "<|im_start|>", IM_END[] = "<|im_end|>";

/* Append one "<|im_start|>role\ncontent<|im_end|>\n" (or just the start when content is NULL). */
static size_t put_msg(char *dst, const char *role, const char *content)
{
    size_t k = 0, n;
    n = strlen(IM_START);
    if (dst)
        memcpy(dst + k, IM_START, n);
    k += n;
    n = strlen(role);
    if (dst)
        memcpy(dst + k, role, n);
    k += n;
    if (dst)
        dst[k] = '\n';
    k++;
    if (!content)
        return k;
    n = strlen(content);
    if (dst)
        memcpy(dst + k, content, n);
    k += n;
    n = strlen(IM_END);
    if (dst)
        memcpy(dst + k, IM_END, n);
    k += n;
    if (dst)
        dst[k] = '\n';
    return k + 1;
}

/* Two passes: measure (dst NULL), then write. */
static size_t layout(char *dst, const chat_msg *msgs, size_t n, const char *sys, bool gen)
{
    size_t k = 0;
    if (sys && (n == 0 || strcmp(msgs[0].role, "system")))
        k += put_msg(dst ? dst + k : NULL, "system", sys);
    for (size_t i = 0; i < n; i++)
        k += put_msg(dst ? dst + k : NULL, msgs[i].role, msgs[i].content);
    if (gen)
        k += put_msg(dst ? dst + k : NULL, "assistant", NULL);
    return k;
}

abl_status chat_format(const chat_msg *msgs, size_t n, const char *default_system,
                       bool add_generation_prompt, char **out, size_t *len, abl_err *err)
{
    *out = NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return abl_fail(err, ABL_E_ARG, "chat: message %zu: expected a role and a content, "
                            "found NULL", i);
    size_t total = layout(NULL, msgs, n, default_system, add_generation_prompt);
    char *s = malloc(total + 1);
    if (!s)
        return abl_fail(err, ABL_E_NOMEM, "chat: out of memory for %zu bytes", total);
    size_t k = layout(s, msgs, n, default_system, add_generation_prompt);
    ABL_ASSERT(k == total);
    s[k] = 0;
    *out = s;
    *len = k;
    return ABL_OK;
}

char *chat_default_system(const char *dir)
{
    if (!dir)
        return NULL;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/tokenizer_config.json", dir) >= (int)sizeof path)
        return NULL;
    char *buf = NULL, *res = NULL;
    size_t size = 0;
    if (abl_read_file(path, 0, NULL, &buf, &size, NULL) == ABL_OK) {
        json_doc *doc = NULL;
        if (json_parse(&doc, buf, size, path, NULL) == ABL_OK) {
            const char *tpl = json_as_str(json_get(json_root(doc), "chat_template"));
            static const char open_sys[] = "<|im_start|>system\n";
            const char *a = tpl ? strstr(tpl, open_sys) : NULL;
            const char *b = a ? strstr(a + strlen(open_sys), IM_END) : NULL;
            if (b) {
                a += strlen(open_sys);
                /* a literal message only: no template syntax or quotes inside */
                size_t n = (size_t)(b - a);
                bool literal = true;
                for (size_t i = 0; i < n; i++)
                    if (a[i] == '{' || a[i] == '}' || a[i] == '\'' || a[i] == '"' || a[i] == '+')
                        literal = false;
                if (literal && n > 0 && (res = malloc(n + 1))) {
                    memcpy(res, a, n);
                    res[n] = 0;
                }
            }
        }
        json_free(doc);
    }
    free(buf);
    return res;
}

abl_status chat_prompt(const char *dir, const char *prompt, char **out, size_t *len, abl_err *err)
{
    char *sys = chat_default_system(dir);
    chat_msg m = {"user", prompt};
    abl_status st = chat_format(&m, 1, sys, true, out, len, err);
    free(sys);
    return st;
}
