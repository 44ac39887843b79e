#!/usr/bin/env python3
# tools/golden/gguf_dequant_golden.py - writes the dequantization goldens for tests/test_dequant.c
# from the independent reference, the PyPI `gguf` package (gguf.quants.dequantize, numpy).
#
#   python3 tools/golden/gguf_dequant_golden.py [models/cache/SmolLM2-135M-Instruct.Q4_1.gguf]
#
# tests/golden/dequant.bin: synthetic random blocks of every supported type, plus real blocks
# copied from the model file (when given), each with the reference F32 output. Layout (LE):
#   "ABLDQG1\0", u32 n_cases, then per case: u32 type, u32 n_elems, u32 n_bytes,
#   char label[32] (NUL-padded), n_bytes raw block bytes, n_elems float32 expected values.
# tests/golden/dequant_rows.tsv: FNV-1a 64 hashes of whole dequantized rows of the real model
# file (checked by the model-tier test), columns: tensor, row, n_elems, fnv1a64 hex, first value.
# Scale fields are random finite halves (also subnormal and negative); signalling NaNs are left
# out of the F16 case because hardware conversion quiets them.
import struct
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

OUT_BIN = "tests/golden/dequant.bin"
OUT_ROWS = "tests/golden/dequant_rows.tsv"
rng = np.random.default_rng(20260525)


def rand_half(n, allow_sub=True):
    mag = rng.uniform(1e-3, 2.0, n) * rng.choice([-1, 1], n)
    h = mag.astype(np.float16)
    if allow_sub and n > 1:
        h[0] = np.float16(3e-6)  # a subnormal half scale
    return h.view(np.uint8).reshape(n, 2)


def synth(qt, n_blocks):
    blk, size = GGML_QUANT_SIZES[qt]
    raw = rng.integers(0, 256, (n_blocks, size), dtype=np.uint8)
    # half-precision scale fields per block layout
    halves = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
              T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}.get(qt, [])
    for off in halves:
        raw[:, off:off + 2] = rand_half(n_blocks)
    return raw.reshape(-1)


def plain_cases():
    cases = []
    f32 = rng.standard_normal(64).astype(np.float32)
    f32[:4] = [0.0, -0.0, np.float32(1e-45), np.float32(3.4e38)]
    cases.append(("f32 random+edges", T.F32, f32.view(np.uint8)))
    edges = [0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00,
             0x7e01, 0x3c00, 0xbc00, 0x3555, 0x8001, 0x83ff]
    r = rng.integers(0, 0x7c00, 48).astype(np.uint16) | (rng.integers(0, 2, 48).astype(np.uint16) << 15)
    f16 = np.concatenate([np.array(edges, dtype=np.uint16), r])
    cases.append(("f16 edges+random", T.F16, f16.view(np.uint8)))
    bf = rng.integers(0, 0x10000, 64).astype(np.uint16)
    bf[:4] = [0x0000, 0x8000, 0x7f80, 0x7fc1]
    cases.append(("bf16 random", T.BF16, bf.view(np.uint8)))
    return cases


def real_cases(path):
    cases, rows = [], []
    if not path:
        return cases, rows
    r = GGUFReader(path)
    by = {t.name: t for t in r.tensors}
    for name, qt, first_block in [("token_embd.weight", T.Q8_0, 18 * 1000),
                                  ("blk.0.attn_q.weight", T.Q4_1, 18 * 7),
                                  ("blk.29.ffn_down.weight", T.Q4_1, 48 * 3 + 5)]:
        t = by[name]
        assert t.tensor_type == qt
        size = GGML_QUANT_SIZES[qt][1]
        flat = np.asarray(t.data).reshape(-1).view(np.uint8)
        raw = flat[first_block * size:(first_block + 2) * size].copy()
        cases.append((f"real {name[:20]} b{first_block}", qt, raw))
    for name, row in [("token_embd.weight", 0), ("token_embd.weight", 19556),
                      ("blk.0.attn_q.weight", 5), ("blk.0.attn_k.weight", 101),
                      ("blk.29.ffn_down.weight", 575), ("output_norm.weight", 0)]:
        t = by[name]
        data = np.asarray(t.data)
        rowbytes = data if data.ndim == 1 else data[row]
        y = dequantize(np.ascontiguousarray(rowbytes), T(t.tensor_type.value)).astype(np.float32).reshape(-1)
        rows.append((name, row, y.size, fnv1a64(y.tobytes()), y[0]))
    return cases, rows


def fnv1a64(b):
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    cases = plain_cases()
    for qt in [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]:
        cases.append((f"synthetic {qt.name}", qt, synth(qt, 2)))
    for qt in [T.Q4_K, T.Q5_K, T.Q6_K]:
        cases.append((f"synthetic {qt.name}", qt, synth(qt, 2)))
    rc, rows = real_cases(sys.argv[1] if len(sys.argv) > 1 else None)
    cases += rc
    out = bytearray(b"ABLDQG1\0" + struct.pack("<I", len(cases)))
    for label, qt, raw in cases:
        blk, size = GGML_QUANT_SIZES[qt]
        n = raw.size // size * blk
        y = dequantize(raw.reshape(1, -1), qt).astype(np.float32).reshape(-1)
        assert y.size == n, (label, y.size, n)
        out += struct.pack("<III", qt.value, n, raw.size)
        out += label.encode()[:31].ljust(32, b"\0")
        out += raw.tobytes() + y.astype("<f4").tobytes()
    with open(OUT_BIN, "wb") as f:
        f.write(out)
    print(f"{OUT_BIN}: {len(cases)} cases, {len(out)} bytes")
    if rows:
        with open(OUT_ROWS, "w") as f:
            f.write("# tensor\trow\tn_elems\tfnv1a64\tfirst (gguf.quants.dequantize rows of "
                    "SmolLM2-135M-Instruct.Q4_1.gguf)\n")
            for name, row, n, h, first in rows:
                f.write(f"{name}\t{row}\t{n}\t{h:016x}\t{float(first)!r}\n")
        print(f"{OUT_ROWS}: {len(rows)} rows")


if __name__ == "__main__":
    main()
