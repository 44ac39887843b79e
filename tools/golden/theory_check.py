#!/usr/bin/env python3
"""tools/golden/theory_check.py - independent float64 check of the Theorem 1 checkpoint that
`ablate theory` writes (developer-side): reruns it with tools/golden/forward.py's numpy model.

Usage: python3 tools/golden/theory_check.py DIR   (DIR = the --out of `ablate theory`)
Prints each block's cosine score 1 - cos(in, out) over the task's tokens and the accuracy of
the intact model and of the model with each block skipped (output = input).
"""
import json
import os
import sys

import numpy as np
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from forward import Model  # noqa: E402


def run(m, ids, skip):
    """Residuals entering and leaving every block, with block `skip` passed through."""
    x = m.get("model.embed_tokens.weight")[np.array(ids)]
    ins, outs = [], []
    for i in range(m.nl):
        p = "model.layers.%d." % i
        ins.append(x.copy())
        if i != skip:
            # attention projections are zero in this checkpoint; check, then apply the MLP
            assert not m.get(p + "self_attn.o_proj.weight").any()
            xn = m.rmsnorm(x, m.get(p + "post_attention_layernorm.weight"))
            g = m.lin(xn, p + "mlp.gate_proj")
            u = m.lin(xn, p + "mlp.up_proj")
            x = x + m.lin(g / (1.0 + np.exp(-g)) * u, p + "mlp.down_proj")
        outs.append(x.copy())
    return m.rmsnorm(x, m.get("model.norm.weight")), ins, outs


def main():
    d = sys.argv[1]
    m = Model(os.path.join(d, "model"))
    tok = Tokenizer.from_file(os.path.join(d, "model", "tokenizer.json"))
    items = [json.loads(l) for l in open(os.path.join(d, "task.jsonl"))]
    head = m.head()
    for skip in [-1] + list(range(m.nl)):
        right, cs, n = 0, np.zeros(m.nl), 0
        for it in items:
            ctx = tok.encode(it["context"]).ids
            lls = []
            for c in it["choices"]:
                full = tok.encode(it["context"] + " " + c).ids
                hn, ins, outs = run(m, full, skip)
                logits = hn @ head.T
                lp = logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1,
                     keepdims=True)) - logits.max(1, keepdims=True)
                lls.append(sum(lp[r - 1, full[r]] for r in range(len(ctx), len(full))))
                if skip < 0:
                    for i in range(m.nl):
                        a, b = ins[i], outs[i]
                        cos = (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
                        cs[i] += (1 - cos).sum()
                    n += len(full)
            right += int(np.argmax(lls) == it["label"])
        if skip < 0:
            print("cosine scores:", " ".join("%.9g" % v for v in cs / n))
        print("%-16s accuracy %.1f%%" % ("intact" if skip < 0 else "without block %d" % skip,
                                          100.0 * right / len(items)))


if __name__ == "__main__":
    main()
