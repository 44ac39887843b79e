#!/usr/bin/env python3
"""tools/golden/hf_arch_golden.py - tiny random checkpoints of every architecture and config
feature ablate supports, with transformers' own log-probs, hidden states and skipped-block results
as goldens (developer-side: needs torch + transformers; never run at build or test time).

Usage (from the repository root):
  python3 tools/golden/hf_arch_golden.py            -> tests/fixtures/arch/NAME/ and
                                                       tests/golden/arch/NAME.txt for every case
  python3 tools/golden/hf_arch_golden.py NAME ...   -> only those cases

Each checkpoint is made by transformers (random weights, scaled so that every part matters),
saved with save_pretrained as F16 safetensors, then loaded back in float32: the reference runs on
exactly the weights ablate reads. Some cases rewrite config.json into the transformers-4 layout
(top-level rope_theta / rope_scaling) to check that reader too; the math is unchanged.

Golden format (text, '#' comments), read by tests/test_model_util.c:
  model NAME
  seq S N id_0 ... id_{N-1}              a plain causal sequence
  score S ROW TARGET LOGPROB TOP1        intact log P(TARGET | ids[0..ROW]), 1 if TARGET is argmax
  resid S LAYER POS v_0 ... v_{D-1}      residual stream leaving block LAYER at POS
  skip LAYER S ROW TARGET LOGPROB        log-prob with block LAYER replaced by the identity
"""
import json
import os
import shutil
import sys

import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKENIZER = os.path.join(ROOT, "tests/fixtures/tiny/tokenizer.json")
FIX = os.path.join(ROOT, "tests/fixtures/arch")
GOLD = os.path.join(ROOT, "tests/golden/arch")
VOCAB = 384
PROMPTS = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "In 1969, 3 astronauts flew to the moon and back again safely!",
    "hello hello hello world, said the small robot to its friend",
]

BASE = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
            bos_token_id=0, eos_token_id=2, pad_token_id=None)

NEOX = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
            num_attention_heads=4, max_position_embeddings=256, bos_token_id=0, eos_token_id=2,
            hidden_act="gelu", layer_norm_eps=1e-5, attention_bias=True,
            tie_word_embeddings=False)

# name -> (config class name, config kwargs, transformers-4 rewrite of config.json or None)
CASES = {
    # transformers-5 layout: theta under rope_parameters; untied head; head_dim != D/H;
    # attention and MLP biases (o_proj bias included)
    "llama_t5": ("LlamaConfig", dict(BASE, head_dim=16, tie_word_embeddings=False,
                                     attention_bias=True, mlp_bias=True,
                                     rope_parameters={"rope_type": "default",
                                                      "rope_theta": 500000.0}), None),
    # Llama-3 rope scaling with a short original context so all three bands occur
    "llama3": ("LlamaConfig", dict(BASE, head_dim=16, tie_word_embeddings=False,
                                   rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0,
                                                    "factor": 8.0, "low_freq_factor": 1.0,
                                                    "high_freq_factor": 4.0,
                                                    "original_max_position_embeddings": 16}),
               None),
    # linear scaling, written in the transformers-4 layout (top-level rope_theta, rope_scaling)
    "llama_linear_t4": ("LlamaConfig", dict(BASE, tie_word_embeddings=True,
                                            rope_parameters={"rope_type": "linear",
                                                             "rope_theta": 20000.0,
                                                             "factor": 2.5}),
                        {"rope_theta": 20000.0, "rope_scaling": {"type": "linear",
                                                                 "factor": 2.5}}),
    # sliding window shorter than the inputs
    "mistral_sw": ("MistralConfig", dict(BASE, head_dim=8, sliding_window=4,
                                         tie_word_embeddings=False,
                                         rope_parameters={"rope_type": "default",
                                                          "rope_theta": 10000.0}), None),
    # Qwen2 sliding window from max_window_layers on (blocks 1 and 2 slide, block 0 does not)
    "qwen2_sw": ("Qwen2Config", dict(BASE, use_sliding_window=True, sliding_window=5,
                                     max_window_layers=1, tie_word_embeddings=True,
                                     rope_parameters={"rope_type": "default",
                                                      "rope_theta": 10000.0}), None),
    # GPT-NeoX (Pythia): parallel residual, partial rotary (half of each head), LayerNorm with
    # bias, GELU MLP, fused per-head query_key_value, untied embed_out
    "neox": ("GPTNeoXConfig", dict(NEOX, use_parallel_residual=True,
                                   rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                                    "partial_rotary_factor": 0.5}), None),
    # GPT-NeoX with the sequential residual, in the transformers-4 layout (rotary_pct,
    # rotary_emb_base)
    "neox_seq_t4": ("GPTNeoXConfig", dict(NEOX, use_parallel_residual=False, num_attention_heads=2,
                                          rope_parameters={"rope_type": "default",
                                                           "rope_theta": 5000.0,
                                                           "partial_rotary_factor": 0.25}),
                    {"rotary_pct": 0.25, "rotary_emb_base": 5000}),
    # OLMo: LayerNorm without parameters, clip_qkv active
    "olmo": ("OlmoConfig", dict(BASE, clip_qkv=0.8, tie_word_embeddings=False,
                                rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
             None),
    # OLMo-2: RMSNorm on the attention and MLP outputs, QK-norm over all heads
    "olmo2": ("Olmo2Config", dict(BASE, tie_word_embeddings=False, rms_norm_eps=1e-6,
                                  rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
              None),
    # QKV biases, tied embeddings
    "qwen2": ("Qwen2Config", dict(BASE, tie_word_embeddings=True,
                                  rope_parameters={"rope_type": "default",
                                                   "rope_theta": 1000000.0}), None),
}


def randomize(model):
    """Weights large enough that attention, norms, biases and every block matter."""
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and name.endswith("weight"):      # norm gains
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:                                 # biases
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            else:                                              # matrices (out, in)
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / p.shape[-1] ** 0.5))


def layers_of(model):
    base = model.gpt_neox if hasattr(model, "gpt_neox") else model.model
    return base.layers


def logprobs(model, ids):
    with torch.no_grad():
        out = model(torch.tensor([ids]), output_hidden_states=False)
    return torch.log_softmax(out.logits[0].double(), dim=-1)


def fmt(v):
    return "%.9g" % v


def make(name):
    cls_name, kw, t4 = CASES[name]
    torch.manual_seed(0)
    cfg = getattr(transformers, cls_name)(**kw)
    cfg.architectures = [cls_name.replace("Config", "ForCausalLM")]
    model = getattr(transformers, cls_name.replace("Config", "ForCausalLM"))(cfg)
    randomize(model)
    d = os.path.join(FIX, name)
    shutil.rmtree(d, ignore_errors=True)
    model.half().save_pretrained(d)
    shutil.copy(TOKENIZER, os.path.join(d, "tokenizer.json"))
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(d, extra)):
            os.remove(os.path.join(d, extra))
    if t4:  # the transformers-4 layout of the same settings
        cpath = os.path.join(d, "config.json")
        with open(cpath) as fp:
            c = json.load(fp)
        c.pop("rope_parameters", None)
        c.pop("partial_rotary_factor", None)
        c.update(t4)
        with open(cpath, "w") as fp:
            json.dump(c, fp, indent=2, sort_keys=True)
    # the reference: transformers on the saved weights, in float32
    ref = getattr(transformers, cls_name.replace("Config", "ForCausalLM")).from_pretrained(
        d, dtype=torch.float32, attn_implementation="eager")
    ref.eval()
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(TOKENIZER)
    seqs = [tok.encode(p).ids for p in PROMPTS]
    L = len(layers_of(ref))
    lines = ["# golden for %s: transformers %s, torch %s (tools/golden/hf_arch_golden.py)"
             % (name, transformers.__version__, torch.__version__), "model " + name]
    # resid_post of every block, by forward hooks on the decoder layers
    grabbed = {}

    def hook(i):
        def f(mod, args, out):
            grabbed[i] = (out[0] if isinstance(out, tuple) else out)[0].detach().clone()
        return f
    handles = [layers_of(ref)[i].register_forward_hook(hook(i)) for i in range(L)]
    resid = []
    for s, ids in enumerate(seqs):
        lines.append("seq %d %d %s" % (s, len(ids), " ".join(map(str, ids))))
        lp = logprobs(ref, ids)
        for r in range(len(ids) - 1):
            top1 = int(lp[r].argmax().item() == ids[r + 1])
            lines.append("score %d %d %d %s %d" % (s, r, ids[r + 1], fmt(lp[r, ids[r + 1]]), top1))
        for l in range(L):
            for pos in (1, len(ids) - 1):
                resid.append("resid %d %d %d %s" % (s, l, pos,
                                                    " ".join(fmt(v) for v in grabbed[l][pos])))
    for h in handles:
        h.remove()
    lines += resid
    # each block replaced by the identity
    for l in range(L):
        layer = layers_of(ref)[l]
        layer.forward = lambda hidden_states, *a, **k: hidden_states
        for s, ids in enumerate(seqs):
            lp = logprobs(ref, ids)
            for r in range(len(ids) - 1):
                lines.append("skip %d %d %d %d %s" % (l, s, r, ids[r + 1], fmt(lp[r, ids[r + 1]])))
        del layer.forward
    os.makedirs(GOLD, exist_ok=True)
    with open(os.path.join(GOLD, name + ".txt"), "w") as fp:
        fp.write("\n".join(lines) + "\n")
    print("%s: %d layers, %d sequences" % (name, L, len(seqs)))


def main():
    names = sys.argv[1:] or list(CASES)
    for n in names:
        if n not in CASES:
            sys.exit("unknown case %s (known: %s)" % (n, ", ".join(CASES)))
        make(n)


if __name__ == "__main__":
    main()
