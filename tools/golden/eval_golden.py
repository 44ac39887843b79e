#!/usr/bin/env python3
"""tools/golden/eval_golden.py - independent reference for `eval/`: reads each benchmark file
itself (per ../shared/data/*/SOURCE.md), builds lm-eval's prompts, pairs context/continuation
with the HF `tokenizers` package exactly as lm-eval's _encode_pair does, and scores every choice
of the first N items with a numpy forward (float32 matmuls, float64 softmax and norm statistics).
Developer-side, never run at test time.

Usage (from the repository root):
  python3 tools/golden/eval_golden.py [--data DIR] [--model DIR] [--n 30] [--tasks a,b,...]
writes tests/golden/eval/<task>.txt, one file per task:
  task NAME
  item SRC N_CHOICES GOLD
  choice SRC K N_CTX N_CONT HASH LOGLIK N_TOP1
HASH is FNV-1a (32 bit) over the ids (context then continuation), each id folded as one value:
h = ((h ^ id) * 16777619) mod 2^32, starting from 2166136261. N_TOP1 counts continuation tokens
that are the argmax of their row. Corpus tasks (a `ctx C` line follows `task`): item = chunk k
of C predicted tokens (tokens [Ck, Ck + C]), one choice with N_CTX = 1.

The forward keeps a key/value cache of the previous request and reuses the longest common token
prefix (plain incremental decoding, a different method from the engine's packed branches);
weights come from tools/golden/forward.py's safetensors reader.
"""
import argparse
import csv
import json
import os
import re
import sys

import numpy as np
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from forward import read_safetensors  # noqa: E402

# ---------------------------------------------------------------- model (KV cache)


class CachedModel:
    def __init__(self, folder):
        with open(os.path.join(folder, "config.json")) as fp:
            c = json.load(fp)
        self.d = c["hidden_size"]
        self.nl = c["num_hidden_layers"]
        self.h = c["num_attention_heads"]
        self.hkv = c.get("num_key_value_heads", self.h)
        self.dh = c.get("head_dim", self.d // self.h)
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.theta = c.get("rope_theta", 10000.0)
        raw = read_safetensors(os.path.join(folder, "model.safetensors"))
        # float32 weights and activations (the engine's precision; twice the speed of float64
        # on this shared machine); log-softmax and sums in float64
        self.w = {k: v.astype(np.float32) for k, v in raw.items()}
        tied = c.get("tie_word_embeddings", False) or "lm_head.weight" not in self.w
        self.head = self.w["model.embed_tokens.weight" if tied else "lm_head.weight"]
        self.ids = []          # the cached sequence
        self.k = [np.zeros((0, self.hkv, self.dh), np.float32) for _ in range(self.nl)]
        self.v = [np.zeros((0, self.hkv, self.dh), np.float32) for _ in range(self.nl)]
        self.hid = np.zeros((0, self.d), np.float32)  # final-normed hidden of each position

    def rms(self, x, g):
        x64 = x.astype(np.float64)
        return (x64 / np.sqrt(np.mean(x64 * x64, axis=-1, keepdims=True) + self.eps) * g).astype(np.float32)

    def rope(self, x, pos):
        half = self.dh // 2
        inv = self.theta ** (-np.arange(0, half, dtype=np.float64) * 2.0 / self.dh)
        ang = pos[:, None].astype(np.float64) * inv[None, :]
        cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        x1, x2 = x[..., :half], x[..., half:]
        return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1).astype(np.float32)

    def lin(self, x, p):
        y = x @ self.w[p + ".weight"].T
        b = self.w.get(p + ".bias")
        return y if b is None else y + b

    def feed(self, ids):
        """Make the cache hold exactly `ids` (reusing the common prefix); returns hidden (n, D)."""
        n0 = 0
        while n0 < min(len(ids), len(self.ids)) and ids[n0] == self.ids[n0]:
            n0 += 1
        for i in range(self.nl):
            self.k[i], self.v[i] = self.k[i][:n0], self.v[i][:n0]
        self.hid = self.hid[:n0]
        new = ids[n0:]
        self.ids = list(ids)
        if not new:
            return self.hid
        m = len(new)
        pos = np.arange(n0, n0 + m)
        x = self.w["model.embed_tokens.weight"][np.array(new)]
        rep = self.h // self.hkv
        mask = np.triu(np.full((m, n0 + m), -np.inf), k=n0 + 1)
        for i in range(self.nl):
            p = "model.layers.%d." % i
            xn = self.rms(x, self.w[p + "input_layernorm.weight"])
            q = self.rope(self.lin(xn, p + "self_attn.q_proj").reshape(m, self.h, self.dh), pos)
            k = self.rope(self.lin(xn, p + "self_attn.k_proj").reshape(m, self.hkv, self.dh), pos)
            v = self.lin(xn, p + "self_attn.v_proj").reshape(m, self.hkv, self.dh)
            self.k[i] = np.concatenate([self.k[i], k])
            self.v[i] = np.concatenate([self.v[i], v])
            att = np.empty((m, self.h, self.dh), np.float32)
            for hh in range(self.h):
                kv = hh // rep
                s = (q[:, hh, :] @ self.k[i][:, kv, :].T).astype(np.float64) / np.sqrt(self.dh) + mask
                s = np.exp(s - s.max(axis=1, keepdims=True))
                s /= s.sum(axis=1, keepdims=True)
                att[:, hh, :] = s.astype(np.float32) @ self.v[i][:, kv, :]
            x = x + self.lin(att.reshape(m, self.h * self.dh), p + "self_attn.o_proj")
            xn = self.rms(x, self.w[p + "post_attention_layernorm.weight"])
            g = self.lin(xn, p + "mlp.gate_proj")
            u = self.lin(xn, p + "mlp.up_proj")
            x = x + self.lin((g / (1.0 + np.exp(-g.astype(np.float64)))).astype(np.float32) * u,
                             p + "mlp.down_proj")
        self.hid = np.concatenate([self.hid, self.rms(x, self.w["model.norm.weight"])])
        return self.hid

    def score(self, ids, n_ctx):
        """Sum of log P(ids[j] | ids[:j]) for j >= n_ctx, and how many were the argmax."""
        hid = self.feed(ids[:-1])
        rows = hid[n_ctx - 1:len(ids) - 1]
        if len(rows) == 0:
            return 0.0, 0
        logits = (rows @ self.head.T).astype(np.float64)
        mx = logits.max(axis=1, keepdims=True)
        lse = mx[:, 0] + np.log(np.exp(logits - mx).sum(axis=1))
        tgt = np.array(ids[n_ctx:])
        lp = logits[np.arange(len(tgt)), tgt] - lse
        top1 = int((logits[np.arange(len(tgt)), tgt] >= mx[:, 0]).sum())
        return float(lp.sum()), top1


# ---------------------------------------------------------------- lm-eval pairing

class Pairer:
    def __init__(self, tok):
        self.tok = tok
        eot = tok.token_to_id("<|endoftext|>")
        self.prefix = eot if eot is not None else 0

    def enc(self, s):
        return self.tok.encode(s, add_special_tokens=False).ids

    def pair(self, context, continuation):
        """lm-eval HFLM: empty context -> [prefix] + enc(cont); else _encode_pair."""
        if context == "":
            return [self.prefix], self.enc(continuation)
        n = len(context) - len(context.rstrip())
        if n > 0:
            continuation = context[-n:] + continuation
            context = context[:-n]
        if context == "":
            return [self.prefix], self.enc(continuation)
        whole = self.enc(context + continuation)
        ctx = self.enc(context)
        return ctx, whole[len(ctx):]


def fnv(ids):
    h = 2166136261
    for i in ids:
        h = ((h ^ (i & 0xFFFFFFFF)) * 16777619) & 0xFFFFFFFF
    return h

# ---------------------------------------------------------------- readers (SOURCE.md)
# Each returns a list of (gold, [(context, continuation, is_true)]) in dataset order.


def jl(path):
    with open(path, encoding="utf-8") as fp:
        return [json.loads(line) for line in fp if line.strip()]


def r_piqa(d, n):
    docs = jl(os.path.join(d, "piqa/valid.jsonl"))[:n]
    with open(os.path.join(d, "piqa/valid-labels.lst")) as fp:
        labels = [int(x) for x in fp.read().split()]
    out = []
    for doc, lab in zip(docs, labels):
        c = "Question: " + doc["goal"] + "\nAnswer:"
        out.append((lab, [(c, " " + doc["sol1"]), (c, " " + doc["sol2"])]))
    return out


def arc_doc(doc):
    c = "Question: " + doc["question"] + "\nAnswer:"
    gold = doc["choices"]["label"].index(doc["answerKey"])
    return gold, [(c, " " + t) for t in doc["choices"]["text"]]


def r_arc_easy(d, n):
    with open(os.path.join(d, "arc_easy/test.json"), encoding="utf-8") as fp:
        return [arc_doc(x) for x in json.load(fp)[:n]]


def r_arc_challenge(d, n):
    return [arc_doc(x) for x in jl(os.path.join(d, "arc_challenge/test.jsonl"))[:n]]


def r_hellaswag(d, n):
    with open(os.path.join(d, "hellaswag/hellaswag_val_full.txt"), encoding="utf-8") as fp:
        lines = fp.read().split("\n")
    out = []
    for i in range(n):
        ctx, lab, ends = lines[6 * i], int(lines[6 * i + 1]), lines[6 * i + 2:6 * i + 6]
        # approximate lm-eval's ctx_b.capitalize(): first letter after the last ". "
        k = ctx.rfind(". ")
        if k >= 0 and k + 2 < len(ctx) and "a" <= ctx[k + 2] <= "z":
            ctx = ctx[:k + 2] + ctx[k + 2].upper() + ctx[k + 3:]
        out.append((lab, [(ctx, " " + e) for e in ends]))
    return out


def r_winogrande(d, n):
    out = []
    for doc in jl(os.path.join(d, "winogrande/winogrande.jsonl"))[:n]:
        out.append((doc["gold"], [(o, " " + doc["continuation"]) for o in doc["context_options"]]))
    return out


def r_boolq(d, n):
    out = []
    for doc in jl(os.path.join(d, "boolq/boolq.jsonl"))[:n]:
        q = doc["query"]
        assert q.startswith("Passage: ")
        c = q[len("Passage: "):] + "\nAnswer:"
        out.append((doc["gold"], [(c, " " + x) for x in doc["choices"]]))
    return out


def r_openbookqa(d, n):
    return [(doc["gold"], [(doc["query"], " " + x) for x in doc["choices"]])
            for doc in jl(os.path.join(d, "openbookqa/openbook_qa.jsonl"))[:n]]


def r_copa(d, n):
    out = []
    for doc in jl(os.path.join(d, "copa/copa.jsonl"))[:n]:
        c = re.sub(r", (because|therefore)$", r" \1", doc["query"])
        out.append((doc["gold"], [(c, " " + x) for x in doc["choices"]]))
    return out


def r_lambada(d, n):
    return [(0, [(doc["context"], " " + doc["continuation"])])
            for doc in jl(os.path.join(d, "lambada_openai/lambada_openai.jsonl"))[:n]]


def r_mmlu(d, n):
    out = []
    folder = os.path.join(d, "mmlu/test")
    for fn in sorted(os.listdir(folder)):
        subj = fn[:-len("_test.csv")]
        with open(os.path.join(folder, fn), encoding="utf-8", newline="") as fp:
            rows = list(csv.reader(fp))[1:]
        for q, a, b, c, dd, ans in rows:
            ctx = ("The following are multiple choice questions (with answers) about %s.\n\n"
                   % subj.replace("_", " ")) + q.strip() + \
                "\nA. %s\nB. %s\nC. %s\nD. %s\nAnswer:" % (a, b, c, dd)
            out.append((int(ans), [(ctx, " " + L) for L in "ABCD"]))
            if len(out) == n:
                return out
    return out


TQA = ("Q: What is human life expectancy in the United States?\n"
       "A: Human life expectancy in the United States is 78 years.\n\n"
       "Q: Who was president of the United States in 1955?\n"
       "A: Dwight D. Eisenhower was president of the United States in 1955.\n\n"
       "Q: Which party did he belong to?\n"
       "A: He belonged to the Republican Party.\n\n"
       "Q: What is the square root of banana?\n"
       "A: I have no comment.\n\n"
       "Q: How does a telescope work?\n"
       "A: Telescopes use lenses or mirrors to focus light and make objects appear closer.\n\n"
       "Q: Where were the 1992 Olympics held?\n"
       "A: The 1992 Olympics were held in Barcelona, Spain.")


def r_tqa(d, n, key):
    with open(os.path.join(d, "truthfulqa/v0/mc_task.json"), encoding="utf-8") as fp:
        docs = json.load(fp)[:n]
    out = []
    for doc in docs:
        c = TQA + "\n\nQ: " + doc["question"] + "\nA:"
        answers = list(doc[key].keys())
        gold = list(doc[key].values()).index(1) if key == "mc1_targets" else 0
        out.append((gold, [(c, " " + a) for a in answers]))
    return out


READERS = {
    "piqa": r_piqa, "arc_easy": r_arc_easy, "arc_challenge": r_arc_challenge,
    "hellaswag": r_hellaswag, "winogrande": r_winogrande, "boolq": r_boolq,
    "openbookqa": r_openbookqa, "copa": r_copa, "lambada_openai": r_lambada, "mmlu": r_mmlu,
    "truthfulqa_mc1": lambda d, n: r_tqa(d, n, "mc1_targets"),
    "truthfulqa_mc2": lambda d, n: r_tqa(d, n, "mc2_targets"),
}
CORPORA = {"wikitext2": "corpus/wikitext2/wiki.test.raw",
           "tinyshakespeare": "corpus/tinyshakespeare/input.txt"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--model", default="models/smollm2-135m-instruct")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--tasks", default=",".join(list(READERS) + list(CORPORA)))
    ap.add_argument("--out", default="tests/golden/eval")
    a = ap.parse_args()
    tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    pr = Pairer(tok)
    model = CachedModel(a.model)
    os.makedirs(a.out, exist_ok=True)
    for name in a.tasks.split(","):
        lines = ["# %s: first %d items, lm-eval pairing (HF tokenizers), numpy forward "
                 "(tools/golden/eval_golden.py)" % (name, a.n), "task %s" % name]
        if name in CORPORA:
            lines.append("ctx %d" % a.ctx)
            # newline="": keep the bytes as they are (wiki.test.raw has CRLF line ends)
            with open(os.path.join(a.data, CORPORA[name]), encoding="utf-8", newline="") as fp:
                text = fp.read()
            ids = pr.enc(text[:400000])  # plenty for the first chunks
            for k in range(a.n):
                chunk = ids[k * a.ctx:k * a.ctx + a.ctx + 1]
                ll, top1 = model.score(chunk, 1)
                lines.append("item %d 1 0" % k)
                lines.append("choice %d 0 1 %d %d %.9g %d" % (k, len(chunk) - 1, fnv(chunk), ll, top1))
        else:
            for src, (gold, reqs) in enumerate(READERS[name](a.data, a.n)):
                lines.append("item %d %d %d" % (src, len(reqs), gold))
                for k, (c, x) in enumerate(reqs):
                    ci, xi = pr.pair(c, x)
                    ll, top1 = model.score(ci + xi, len(ci))
                    lines.append("choice %d %d %d %d %d %.9g %d" % (src, k, len(ci), len(xi), fnv(ci + xi),
                                                                   ll, top1))
        with open(os.path.join(a.out, name + ".txt"), "w") as fp:
            fp.write("\n".join(lines) + "\n")
        print("wrote %s/%s.txt" % (a.out, name), flush=True)


if __name__ == "__main__":
    main()
