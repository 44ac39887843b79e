#!/usr/bin/env python3
"""tools/golden/tokenizer_golden.py - golden token ids from HF `tokenizers` (developer-side).

Loads the converted models/smollm2-135m-instruct/tokenizer.json with the Python `tokenizers`
package (the independent reference) and writes tests/golden/tokenizer_smollm2.tsv: prompts and
answers sampled from every benchmark under ../shared/data (lm-eval-style prompt formats), the
two text corpora, hand-written edge cases and seeded random mixes of tricky characters.

Run from the repository root:  python3 tools/golden/tokenizer_golden.py [--data DIR] [--model DIR]

File format (read by tests/test_tokenizer.c): lines starting with '#' are comments; every other
line is TEXT<TAB>IDS<TAB>R, where TEXT is the string with backslash escapes (\\\\, \\n, \\t, \\r, \\xNN for
other bytes below 0x20 and 0x7f, and a leading '#'; UTF-8 above ASCII as is) and IDS the comma-separated ids of
encode(TEXT, add_special_tokens=False); R is '=' when HF decodes the ids back to TEXT and '~'
when it does not (SmolLM2's vocab lacks 21 byte tokens, e.g. 0x04 and 0x1d, which HF drops
without an unk token; so do we). The empty string is the line "<TAB><TAB>=".
"""
import argparse
import csv
import json
import os
import random

from tokenizers import Tokenizer
import tokenizers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_LEN = 200      # bytes per sampled string (longer ones are cut at a space)
PER_TASK = 80     # items sampled per benchmark (each gives a prompt and an answer)


def cut(s):
    b = s.encode("utf-8")
    if len(b) <= MAX_LEN:
        return s
    s = b[:MAX_LEN].decode("utf-8", "ignore")
    sp = s.rfind(" ", MAX_LEN // 2)
    return s[:sp] if sp > 0 else s


def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def sample(rng, items, k=PER_TASK):
    return rng.sample(items, min(k, len(items)))


def benchmark_strings(data, rng):
    out = []  # (source, text)

    def add(src, prompt, answer):
        out.append((src, cut(prompt)))
        out.append((src, cut(answer)))

    for it in sample(rng, jsonl(f"{data}/piqa/valid.jsonl")):
        add("piqa", f"Question: {it['goal']}\nAnswer:", " " + it[rng.choice(["sol1", "sol2"])])
    for name in ("arc_challenge",):
        for it in sample(rng, jsonl(f"{data}/{name}/test.jsonl")):
            add(name, f"Question: {it['question']}\nAnswer:", " " + rng.choice(it["choices"]["text"]))
    with open(f"{data}/arc_easy/test.json", encoding="utf-8") as f:
        for it in sample(rng, json.load(f)):
            add("arc_easy", f"Question: {it['question']}\nAnswer:", " " + rng.choice(it["choices"]["text"]))
    with open(f"{data}/hellaswag/hellaswag_val_full.txt", encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    items = [lines[i:i + 6] for i in range(0, len(lines) - 5, 6)]
    for it in sample(rng, items):
        add("hellaswag", it[0], " " + it[2 + rng.randrange(4)])
    for it in sample(rng, jsonl(f"{data}/winogrande/winogrande.jsonl")):
        add("winogrande", rng.choice(it["context_options"]), " " + it["continuation"])
    for it in sample(rng, jsonl(f"{data}/boolq/boolq.jsonl")):
        q = it["query"]
        add("boolq", q if len(q.encode()) <= MAX_LEN else q[-MAX_LEN:].split(" ", 1)[-1], " " + rng.choice(it["choices"]))
    for it in sample(rng, jsonl(f"{data}/openbookqa/openbook_qa.jsonl")):
        add("openbookqa", it["query"], " " + rng.choice(it["choices"]))
    for it in sample(rng, jsonl(f"{data}/copa/copa.jsonl")):
        add("copa", it["query"], " " + rng.choice(it["choices"]))
    for it in sample(rng, jsonl(f"{data}/lambada_openai/lambada_openai.jsonl")):
        add("lambada", it["context"][-MAX_LEN:], " " + it["continuation"])
    rows = []
    mmlu_dir = f"{data}/mmlu/test"
    for fn in sorted(os.listdir(mmlu_dir)):
        with open(os.path.join(mmlu_dir, fn), encoding="utf-8", newline="") as f:
            r = list(csv.reader(f))
        subject = fn.replace("_test.csv", "").replace("_", " ")
        rows += [(subject, row) for row in r[1:] if len(row) >= 6]
    for subject, row in sample(rng, rows):
        q = (f"The following are multiple choice questions (with answers) about {subject}.\n\n"
             f"{row[0].strip()}\nA. {row[1]}\nB. {row[2]}\nC. {row[3]}\nD. {row[4]}\nAnswer:")
        add("mmlu", q, " " + "ABCD"[int(row[5])] if row[5].isdigit() else " " + row[5])
    with open(f"{data}/truthfulqa/mc_task.json", encoding="utf-8") as f:
        for it in sample(rng, json.load(f)):
            add("truthfulqa", f"Q: {it['question']}\nA:", " " + rng.choice(list(it["mc1_targets"])))
    for name, path in (("wikitext", "corpus/wikitext2/wiki.test.raw"),
                       ("shakespeare", "corpus/tinyshakespeare/input.txt")):
        with open(f"{data}/{path}", "rb") as f:
            text = f.read().decode("utf-8")
        for _ in range(2 * PER_TASK):
            a = rng.randrange(len(text) - MAX_LEN)
            out.append((name, text[a:a + rng.randrange(1, MAX_LEN // 2)]))
    return out


EDGE = [
    "", " ", "  ", "   ", "\n", "\n\n", "\n\n\n", "\t", "\t\t", "\r\n", "\r\n\r\n", " \n", "\n ",
    " \n ", "  \n\n  ", "a  b", "a   b", "a    b", "a\tb", "a \tb", "a\t b", "a\n\nb", "a \n\n b",
    "trailing ", "trailing  ", " leading", "  leading", "  both  ", "\tindented\n\tcode\n",
    "x\u00a0y", "x\u3000y", "\u2003em space", "\u2028line sep", "\u0085nel", "\x0b\x0c", "\x1c\x1d\x1e\x1f",
    "\x00", "a\x00b", "\x01\x02\x03", "\x7f", "\u200b zero width", "\ufeffbom",
    "0", "7", "42", "123", "1234567890", "00001", "3.14159", "1,000,000", "-42", "+7", "1e10",
    "12abc34", "v1.2.3", "2024-11-25", "10:30pm", "$1,234.56", "50%", "#1", "x²+y³", "½ ¼ ¾",
    "٣٤٥", "१२३", "Ⅻ", "ⅷ", "①②③", "𝟙𝟚𝟛", "９９", " 99", "  99", "a1b2c3", "9" * 120,
    "I'm", "you're", "they've", "we'll", "he'd", "it's", "don't", "can't", "won't",
    "DON'T", "I'M", "YOU'RE", "We'Ll", "O'Neil", "rock 'n' roll", "'s", "'", "''", "'''",
    "the '90s", "it's'", "x's'y", "' s", "'ſ", "ſ", "Kelvin \u212a",
    "🙂", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "I ❤️ NY", " 🙂🙂 ", "😀😃😄😁😆😅😂🤣",
    "日本語のテキスト", "中文字符测试。", "한국어 텍스트", "漢字かなカナ", " 日本", "東京2024年",
    "café", "naïve", "Ångström", "résumé", "e\u0301", "a\u0308o\u0308u\u0308", "\u0301",
    " \u0301", "Z̷̢a̴l̸g̵o̶", "ﬁ ligature", "Straße", "ǅ", "İstanbul",
    "مرحبا بالعالم", "שלום עולם", "สวัสดีครับ", "नमस्ते दुनिया", "Привет, мир!", "Γειά σου Κόσμε",
    "Ελληνικά123", "ქართული", "Հայերեն", "ትግርኛ", "ᚠᚢᚦ", "𐌰𐌱𐌲", "𖿤", "\U00011de3",
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "hello<|im_end|>world",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|><|im_end|>", "<|im_start", "<|im_start|", "<|im_end|>>", "<<|im_start|>>",
    "<|endoftext|><|endoftext|>", " <|endoftext|> ", "<file_sep>", "<repo_name>x<reponame>y",
    "<|IM_START|>", "<|im_start|>user", "a<|endoftext|>1", "<filename>main.c<empty_output>",
    "a" * 1000, " " * 300, "\n" * 64, "ab" * 300, "!!!!????....", "----------", "==========",
    "...", "…", "—", "«quotes»", "“smart” ‘quotes’", "(parens) [brackets] {braces}",
    "https://example.com/path?q=1&b=2#frag", "user@example.org", "C++ and C# and F#",
    "def f(x):\n    return x ** 2\n", "if (a && b || !c) { return; }", '{"key": [1, 2, 3]}',
    "<html><body>Hi</body></html>", "#include <stdio.h>\n", "$$\\frac{a}{b}$$", "a_b-c.d",
    "snake_case_name", "CamelCaseName", "ALLCAPS", "MiXeD", "abc日本def", "Ωmega", "ǈ",
    " = Robert Boulter = \r\n", " @-@ ", " , ", "A. B. C.", "e.g. i.e. etc.",
    "a <mask> b", "  <mask>", "\t<mask>x", "x<sep>  y", "<sep>\n\nz", "hello world",
    "say hello world<sep> ok", "<sep><mask>", "hello worldhello world", "<|begin_of_text|>Hi",
    "<|eot_id|><|end_of_text|>", "\n\n\n  x", "x \r\n\r\n y", "  \n  \n  ", "(hello", "\thello",
    "\nhello", "123456789", "x1234y", "!!\n\n", "?? \r\n",
]

POOL = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") * 3 + list("0123456789") * 3 +
        list(" " * 20) + list("\n\n\n\t\r") + list("'\"!?.,;:-_()[]{}<>/\\|@#$%^&*+=~`") +
        ["é", "ü", "ñ", "ß", "ø", "e\u0301", "日", "本", "語", "한", "ア", "中", "🙂", "👍", "🏽",
         "\u200d", "\u00a0", "\u3000", "\u2003", "٣", "१", "½", "²", "Ⅻ", "ſ", "Ж", "λ", "ا", "ש",
         "<|im_start|>", "<|im_end|>", "<|endoftext|>", "'s", "'re", "'ll", "'T", "\x0b", "\x1c",
         "\u0301", "…", "—", "€"])


def nfc_strings(rng, n=150):
    """Bases followed by combining marks (in random order), Hangul jamo, singletons: NFC work."""
    import unicodedata
    marks = [c for c in range(0x300, 0x2000) if unicodedata.combining(chr(c))] + [0x1DFA, 0x1ACC]
    bases = list("aeiouAEOnczsSKR") + ["\u03b1", "\u0391", "\u0415", "\u05d0", "\u0915", "\u1100",
                                      "\uac00", "\u212b", "\u0958", "\u1e9b", "\u0344", "\u2126"]
    jamo = [chr(c) for c in list(range(0x1161, 0x1176)) + list(range(0x11A8, 0x11C3))]
    out = []
    for _ in range(n):
        s = ""
        for _ in range(rng.randrange(1, 4)):
            s += rng.choice(bases) + "".join(rng.choice([chr(rng.choice(marks))] * 3 + jamo)
                                             for _ in range(rng.randrange(0, 4)))
            s += rng.choice(["", " ", "x"])
        out.append(("nfc", s))
    return out


def random_strings(rng, n=200):
    return [("random", "".join(rng.choice(POOL) for _ in range(rng.randrange(1, 60)))) for _ in range(n)]


def esc(s):
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif ch == "#" and not out:
            out.append("\\x23")  # a leading '#' would read as a comment line
        else:
            out.append(ch)
    return "".join(out)


LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
          r"\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}")
TINY_CORPUS = """The quick brown fox jumps over the lazy dog. It's 2024; we'll see 12345 or 3.14159!
Don't SHOUT: I'M fine, you're fine, they've gone. O'Neil's café serves naïve crème brûlée.
日本語のテキスト、中文字符测试。한국어 텍스트. Привет, мир! Γειά σου Κόσμε. مرحبا بالعالم
    indented code(x) { return x ** 2; }\n\n\tTabs\tand  double  spaces  here.\r\n
Emoji 🙂👍🏽 and numbers ٣٤٥ १२३ ½ ² Ⅻ. https://example.com/a?b=1 user@example.org
"""


def tiny_tokenizers():
    """Small HF-trained tokenizers exercising the other pre-tokenizer shapes (fast-tier goldens)."""
    from tokenizers import (AddedToken, Regex, decoders, models, normalizers, pre_tokenizers,
                            processors, trainers)

    def train(pre, specials, vocab=400):
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre
        tok.decoder = decoders.ByteLevel()
        tr = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials, show_progress=False,
                                 initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator([TINY_CORPUS] * 3, trainer=tr)
        return tok

    out = {}
    # Llama-3: Split(regex) + ByteLevel without regex, ignore_merges, BOS added by a template.
    t = train(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"])
    t.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                                     special_tokens=[("<|begin_of_text|>", 0)])
    j = json.loads(t.to_str())
    j["model"]["ignore_merges"] = True
    out["llama3"] = Tokenizer.from_str(json.dumps(j))
    # Qwen2: NFC normalizer, single digits in the regex.
    t = train(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    t.normalizer = normalizers.NFC()
    out["qwen2"] = t
    # HF SmolLM2 shape (Digits) with a prefix space per piece, and added tokens with lstrip,
    # rstrip and normalized=true.
    t = train(pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                       pre_tokenizers.ByteLevel(add_prefix_space=True)]),
              ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    t.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False)])
    t.add_tokens([AddedToken("<sep>", rstrip=True, normalized=True),
                  AddedToken("hello world", normalized=True)])
    out["digits"] = t
    return out


def write_golden(path, tok, cases, header):
    seen, lines, per = set(), [], {}
    for src, s in cases:
        if s in seen:
            continue
        seen.add(s)
        enc = tok.encode(s, add_special_tokens=False)
        same = tok.decode(enc.ids, skip_special_tokens=False) == s
        lines.append(esc(s) + "\t" + ",".join(map(str, enc.ids)) + "\t" + ("=" if same else "~"))
        per[src] = per.get(src, 0) + 1
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(f"# tokenizer goldens: HF tokenizers {tokenizers.__version__} on {header}; made by "
                f"tools/golden/tokenizer_golden.py\n")
        f.write("# " + ", ".join(f"{k} {v}" for k, v in per.items()) + "\n")
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}: {len(lines)} strings, {os.path.getsize(path)} bytes; {per}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "smollm2-135m-instruct"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "golden", "tokenizer_smollm2.tsv"))
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    gold = os.path.join(ROOT, "tests", "golden")
    rng = random.Random(a.seed)
    small = ([("edge", s) for s in EDGE] + [("corpus", s) for s in TINY_CORPUS.splitlines(True)] +
             random_strings(random.Random(a.seed + 1), 100) + nfc_strings(random.Random(a.seed + 2), 100))
    for name, tok in tiny_tokenizers().items():
        tok.save(os.path.join(gold, f"tok_tiny_{name}.json"))
        write_golden(os.path.join(gold, f"tok_tiny_{name}.tsv"), tok, small,
                     f"tests/golden/tok_tiny_{name}.json")
    fixture = os.path.join(ROOT, "tests", "fixtures", "tiny", "tokenizer.json")
    if os.path.exists(fixture):
        write_golden(os.path.join(gold, "tok_tiny_gpt2.tsv"), Tokenizer.from_file(fixture), small,
                     "tests/fixtures/tiny/tokenizer.json")
    model = os.path.join(a.model, "tokenizer.json")
    if not os.path.exists(model):
        print(f"{model} is missing: run `make model` for the SmolLM2 goldens")
        return
    cases = [("edge", s) for s in EDGE] + benchmark_strings(a.data, rng) + random_strings(rng)
    write_golden(a.out, Tokenizer.from_file(model), cases,
                 os.path.relpath(model, ROOT) + f" (seed {a.seed})")


if __name__ == "__main__":
    main()
