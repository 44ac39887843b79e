#!/usr/bin/env python3
"""tools/golden/forward.py - independent numpy (float64) reference forward for llama-style
models; writes the goldens the engine tests compare against (developer-side, never at test time).

Usage (from the repository root):
  python3 tools/golden/forward.py tiny       -> tests/golden/tiny_forward.txt, tiny-qwen_forward.txt
  python3 tools/golden/forward.py real [DIR] -> tests/golden/smollm2_forward.txt

It reads safetensors itself (header length, JSON header, raw F32/F16/BF16 bytes) and does not
share code with the C engine. Prompts are tokenized with the HF `tokenizers` package.

Golden file format (text, one record per line, '#' comments):
  model NAME
  seq S N id_0 ... id_{N-1}          token ids of sequence S (a plain causal sequence)
  score S ROW TARGET LOGPROB TOP1    log P(TARGET | ids[0..ROW]) and 1 if TARGET is the argmax
  resid S LAYER POS v_0 ... v_{D-1}  residual stream leaving block LAYER (resid_post) at POS
"""
import json
import os
import struct
import sys

import numpy as np
from tokenizers import Tokenizer

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None}


def read_safetensors(path):
    with open(path, "rb") as fp:
        raw = fp.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen])
    base = 8 + hlen
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = raw[base + a:base + b]
        dt = info["dtype"]
        if dt == "BF16":
            u = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(buf, dtype=np.dtype(DTYPES[dt]).newbyteorder("<"))
        out[name] = arr.reshape(info["shape"])
    return out


class Model:
    def __init__(self, folder):
        with open(os.path.join(folder, "config.json")) as fp:
            c = json.load(fp)
        self.c = c
        self.d = c["hidden_size"]
        self.nl = c["num_hidden_layers"]
        self.h = c["num_attention_heads"]
        self.hkv = c.get("num_key_value_heads", self.h)
        self.dh = c.get("head_dim", self.d // self.h)
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.theta = c.get("rope_theta", 10000.0)
        self.w = read_safetensors(os.path.join(folder, "model.safetensors"))
        self.tied = c.get("tie_word_embeddings", False) or "lm_head.weight" not in self.w

    def get(self, name):
        return self.w[name].astype(np.float64)

    def opt(self, name):
        return self.get(name) if name in self.w else None

    def rmsnorm(self, x, g):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * g

    def rope(self, x, n):
        # x (T, nh, Dh); rotate-half convention of HF llama
        half = self.dh // 2
        inv = self.theta ** (-np.arange(0, half, dtype=np.float64) * 2.0 / self.dh)
        ang = np.arange(n, dtype=np.float64)[:, None] * inv[None, :]
        cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        x1, x2 = x[..., :half], x[..., half:]
        return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)

    def lin(self, x, p):
        y = x @ self.get(p + ".weight").T
        b = self.opt(p + ".bias")
        return y if b is None else y + b

    def forward(self, ids):
        """Returns (final-normed hidden (T, D), [resid_post of each block (T, D)])."""
        n = len(ids)
        x = self.get("model.embed_tokens.weight")[np.array(ids)]
        posts = []
        mask = np.triu(np.full((n, n), -np.inf), k=1)
        rep = self.h // self.hkv
        for i in range(self.nl):
            p = "model.layers.%d." % i
            xn = self.rmsnorm(x, self.get(p + "input_layernorm.weight"))
            q = self.lin(xn, p + "self_attn.q_proj").reshape(n, self.h, self.dh)
            k = self.lin(xn, p + "self_attn.k_proj").reshape(n, self.hkv, self.dh)
            v = self.lin(xn, p + "self_attn.v_proj").reshape(n, self.hkv, self.dh)
            q, k = self.rope(q, n), self.rope(k, n)
            att = np.empty((n, self.h, self.dh))
            for hh in range(self.h):
                kv = hh // rep
                s = q[:, hh, :] @ k[:, kv, :].T / np.sqrt(self.dh) + mask
                s = np.exp(s - s.max(axis=1, keepdims=True))
                s /= s.sum(axis=1, keepdims=True)
                att[:, hh, :] = s @ v[:, kv, :]
            x = x + self.lin(att.reshape(n, self.h * self.dh), p + "self_attn.o_proj")
            xn = self.rmsnorm(x, self.get(p + "post_attention_layernorm.weight"))
            g = self.lin(xn, p + "mlp.gate_proj")
            u = self.lin(xn, p + "mlp.up_proj")
            x = x + self.lin(g / (1.0 + np.exp(-g)) * u, p + "mlp.down_proj")
            posts.append(x.copy())
        return self.rmsnorm(x, self.get("model.norm.weight")), posts

    def head(self):
        return self.get("model.embed_tokens.weight" if self.tied else "lm_head.weight")


def fmt(v):
    return "%.9g" % v


def write_golden(out, name, model, seqs, scores, resids):
    """seqs: list of id lists; scores: list of (seq, row, target); resids: (seq, layer, pos)."""
    head = model.head()
    lines = ["# golden forward for %s: numpy float64 reference (tools/golden/forward.py)" % name,
             "model %s" % name]
    cache = {}
    for s, ids in enumerate(seqs):
        lines.append("seq %d %d %s" % (s, len(ids), " ".join(str(i) for i in ids)))
        cache[s] = model.forward(ids)
    for s, row, tgt in scores:
        h, _ = cache[s]
        logits = h[row] @ head.T
        m = logits.max()
        lse = m + np.log(np.exp(logits - m).sum())
        top1 = 1 if logits[tgt] >= m else 0
        lines.append("score %d %d %d %s %d" % (s, row, tgt, fmt(logits[tgt] - lse), top1))
    for s, layer, pos in resids:
        _, posts = cache[s]
        vals = " ".join(fmt(v) for v in posts[layer][pos])
        lines.append("resid %d %d %d %s" % (s, layer, pos, vals))
    with open(out, "w") as fp:
        fp.write("\n".join(lines) + "\n")
    print("wrote", out, "(%d scores, %d residual rows)" % (len(scores), len(resids)))


def teacher_scores(seqs, extra=()):
    """Score every row's next token, plus (seq, row, target) extras."""
    sc = [(s, r, ids[r + 1]) for s, ids in enumerate(seqs) for r in range(len(ids) - 1)]
    return sc + list(extra)


def tiny():
    prompts = ["The cat sat on the mat.", "Paris is the capital of France",
               "one, two, three, four", "Question: what is two plus two? Answer: four."]
    for name in ("tiny", "tiny-qwen"):
        folder = os.path.join("tests/fixtures", name)
        tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        model = Model(folder)
        seqs = [tok.encode(p).ids for p in prompts]
        extra = [(s, len(ids) - 1, (7 * s + 33) % model.c["vocab_size"])
                 for s, ids in enumerate(seqs)]
        resids = [(s, layer, pos) for s in (0, 3) for layer in range(model.nl)
                  for pos in (0, len(seqs[s]) - 1)]
        write_golden("tests/golden/%s_forward.txt" % name, name, model, seqs,
                     teacher_scores(seqs, extra), resids)


def real(folder):
    texts = ["The capital of France is Paris, and the capital of Germany is Berlin.",
             "def add(a, b):\n    return a + b\n",
             "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4",
             "Once upon a time, there was a little girl who loved to read books."]
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    model = Model(folder)
    seqs = [tok.encode(t).ids for t in texts]
    n = len(seqs[0])
    resids = [(0, layer, pos) for layer in (0, 14, model.nl - 1) for pos in (0, n // 2, n - 1)]
    write_golden("tests/golden/smollm2_forward.txt", "smollm2-135m-instruct", model, seqs,
                 teacher_scores(seqs), resids)


def main():
    os.makedirs("tests/golden", exist_ok=True)
    what = sys.argv[1] if len(sys.argv) > 1 else "tiny"
    if what == "tiny":
        tiny()
    elif what == "real":
        real(sys.argv[2] if len(sys.argv) > 2 else "models/smollm2-135m-instruct")
    else:
        sys.exit("usage: forward.py tiny | real [DIR]")


if __name__ == "__main__":
    main()
