#!/usr/bin/env python3
# tools/golden/gguf_model_check.py - developer-side sanity check of a converted HF folder: a plain
# numpy llama forward pass (HF conventions: rotate_half RoPE) greedily continues a prompt.
# Usage: python3 tools/golden/gguf_model_check.py models/smollm2-135m-instruct ["prompt"]
# A wrong Q/K un-permutation or dequantization gives gibberish; a correct one gives fluent text.
import json
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer


def rms(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rope(x, pos, theta):  # x (T, heads, Dh), HF rotate_half convention
    dh = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, dh, 2) / dh)
    ang = np.outer(pos, inv)  # (T, Dh/2)
    cos = np.concatenate([np.cos(ang)] * 2, -1)[:, None, :]
    sin = np.concatenate([np.sin(ang)] * 2, -1)[:, None, :]
    rot = np.concatenate([-x[..., dh // 2:], x[..., : dh // 2]], -1)
    return x * cos + rot * sin


def forward(W, c, ids):
    D, H, Hk = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    Dh, eps, T = c["head_dim"], c["rms_norm_eps"], len(ids)
    x = W["model.embed_tokens.weight"][ids].astype(np.float64)
    pos = np.arange(T)
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms(x, W[p + "input_layernorm.weight"], eps)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).reshape(T, H, Dh)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).reshape(T, Hk, Dh)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).reshape(T, Hk, Dh)
        q, k = rope(q, pos, c["rope_theta"]), rope(k, pos, c["rope_theta"])
        k, v = np.repeat(k, H // Hk, 1), np.repeat(v, H // Hk, 1)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(Dh) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = np.einsum("hts,shd->thd", s, v).reshape(T, H * Dh)
        x = x + a @ W[p + "self_attn.o_proj.weight"].T
        h = rms(x, W[p + "post_attention_layernorm.weight"], eps)
        g = h @ W[p + "mlp.gate_proj.weight"].T
        u = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ W[p + "mlp.down_proj.weight"].T
    x = rms(x, W["model.norm.weight"], eps)
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return x[-1] @ head.T


def main():
    d = sys.argv[1]
    prompt = sys.argv[2] if len(sys.argv) > 2 else "The capital of France is"
    c = json.load(open(d + "/config.json"))
    W = load_file(d + "/model.safetensors")
    tok = Tokenizer.from_file(d + "/tokenizer.json")
    ids = tok.encode(prompt).ids
    for _ in range(12):
        ids.append(int(np.argmax(forward(W, c, ids))))
    print(repr(tok.decode(ids)))


if __name__ == "__main__":
    main()
