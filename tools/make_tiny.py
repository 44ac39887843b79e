#!/usr/bin/env python3
"""tools/make_tiny.py - writes the tiny random test models under tests/fixtures/ (developer-side).
Run from the repository root: python3 tools/make_tiny.py. Needs numpy, tokenizers, safetensors.

tests/fixtures/tiny/       llama: L=4 D=64 H=4 Hkv=2 Dh=16 F=128, tied embeddings, no biases
tests/fixtures/tiny-qwen/  Qwen2-style: L=2 D=32 H=4 Hkv=2 Dh=8 F=64, untied head, q/k/v biases
Both share one byte-level BPE tokenizer (vocab 384, specials <|endoftext|>=0, <|im_start|>=1,
<|im_end|>=2) trained here on a small built-in text. Weights are stored as F16 to stay small
(and to exercise the loader's F16 -> F32 path); the references read the same F16 values.
"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

VOCAB = 384
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

CORPUS = """The quick brown fox jumps over the lazy dog. Paris is the capital of France.
Berlin is the capital of Germany, and Rome is the capital of Italy. The cat sat on the mat.
Once upon a time there was a small model that learned to count: one, two, three, four, five.
Which transformer blocks matter? We remove a block and measure the accuracy of the model.
The residual stream carries information from layer to layer; attention mixes the tokens.
In 2024 the numbers 12345 and 67890 were written in a notebook next to the word hello.
Question: what is two plus two? Answer: four. Question: what colour is the sky? Answer: blue.
"""


def train_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator([CORPUS] * 4, trainer=trainer)
    return tok


def f16(a):
    return np.ascontiguousarray(a.astype(np.float16))


def make_weights(rng, cfg, qwen):
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    h, hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    dh = cfg["head_dim"]
    t = {}

    def lin(n, k, gain=1.0):
        return f16(rng.standard_normal((n, k)) * gain / np.sqrt(k))

    t["model.embed_tokens.weight"] = f16(0.25 * rng.standard_normal((v, d)))
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        t[p + "input_layernorm.weight"] = f16(1.0 + 0.2 * rng.standard_normal(d))
        t[p + "post_attention_layernorm.weight"] = f16(1.0 + 0.2 * rng.standard_normal(d))
        t[p + "self_attn.q_proj.weight"] = lin(h * dh, d, 2.0)
        t[p + "self_attn.k_proj.weight"] = lin(hkv * dh, d, 2.0)
        t[p + "self_attn.v_proj.weight"] = lin(hkv * dh, d)
        t[p + "self_attn.o_proj.weight"] = lin(d, h * dh)
        if qwen:
            t[p + "self_attn.q_proj.bias"] = f16(0.3 * rng.standard_normal(h * dh))
            t[p + "self_attn.k_proj.bias"] = f16(0.3 * rng.standard_normal(hkv * dh))
            t[p + "self_attn.v_proj.bias"] = f16(0.3 * rng.standard_normal(hkv * dh))
        t[p + "mlp.gate_proj.weight"] = lin(f, d)
        t[p + "mlp.up_proj.weight"] = lin(f, d)
        t[p + "mlp.down_proj.weight"] = lin(d, f)
    t["model.norm.weight"] = f16(1.0 + 0.2 * rng.standard_normal(d))
    if not cfg["tie_word_embeddings"]:
        t["lm_head.weight"] = lin(v, d, 1.5)
    return t


def write_model(root, name, cfg, qwen, tok, seed):
    out = os.path.join(root, name)
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    save_file(make_weights(rng, cfg, qwen), os.path.join(out, "model.safetensors"),
              metadata={"format": "pt"})
    with open(os.path.join(out, "config.json"), "w") as fp:
        json.dump(cfg, fp, indent=2)
        fp.write("\n")
    tok.save(os.path.join(out, "tokenizer.json"))
    print("wrote", out)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    tok = train_tokenizer()
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    for i, s in enumerate(SPECIALS):
        assert tok.token_to_id(s) == i
    base = {
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_act": "silu",
        "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 128,
        "vocab_size": VOCAB, "max_position_embeddings": 256, "rope_theta": 10000.0,
        "rms_norm_eps": 1e-5, "tie_word_embeddings": True, "attention_bias": False,
        "mlp_bias": False, "rope_scaling": None, "bos_token_id": 0, "eos_token_id": 2,
        "torch_dtype": "float16",
    }
    write_model(root, "tiny", base, False, tok, 1234)
    qwen = dict(base)
    qwen.update({
        "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_size": 32,
        "num_hidden_layers": 2, "head_dim": 8, "intermediate_size": 64,
        "tie_word_embeddings": False, "attention_bias": True, "rope_theta": 1000000.0,
        "rms_norm_eps": 1e-6,
    })
    write_model(root, "tiny-qwen", qwen, True, tok, 5678)


if __name__ == "__main__":
    main()
