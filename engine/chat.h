/* engine/chat.h - chat formatting for instruct models in ChatML form (`<|im_start|>role\n...
 * <|im_end|>\n`, then `<|im_start|>assistant\n`), as `ablate generate --chat` uses. */
#ifndef CHAT_H
#define CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include "../base/abl.h"

/* One chat message; role is "system", "user" or "assistant" (any text is accepted). */
typedef struct {
    const char *role;
    const char *content;
} chat_msg;

/* SmolLM2-Instruct's chat template inserts this system message when the first one is not a
 * system message; chat_default_system() finds it in a model folder's template. */
#define CHAT_SMOLLM2_SYSTEM "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

/* Format msgs[0..n) as ChatML into a malloc'ed NUL-terminated string (*out, *len; the caller
 * frees). When default_system is non-NULL and msgs[0] is not a system message (or n == 0), a
 * system message with that text comes first, as SmolLM2's template does. With
 * add_generation_prompt the text ends with "<|im_start|>assistant\n". The result is meant for
 * tok_encode, which keeps <|im_start|> and <|im_end|> whole. NULL role/content: ABL_E_ARG.
 * ABL_E_NOMEM. Thread-safe. */
abl_status chat_format(const chat_msg *msgs, size_t n, const char *default_system,
                       bool add_generation_prompt, char **out, size_t *len, abl_err *err);

/* The default system message of the model folder dir: the text that its tokenizer_config.json
 * "chat_template" puts between a literal "<|im_start|>system\n" and "<|im_end|>". Returns a
 * malloc'ed string (caller frees), or NULL when the folder has no such template (no file, no
 * template, or a template without a literal system message). Never fails otherwise. */
char *chat_default_system(const char *dir);

/* Convenience for one user prompt: chat_format({user, prompt}) with dir's default system message
 * (none when dir is NULL or has none) and the assistant start. Same ownership and errors. */
abl_status chat_prompt(const char *dir, const char *prompt, char **out, size_t *len, abl_err *err);

#endif
