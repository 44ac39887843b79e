#!/usr/bin/env python3
# tools/golden/safetensors_golden.py - writes tests/golden/st_official.safetensors with the
# official `safetensors` package (safetensors.numpy.save_file) and tests/golden/st_official.tsv
# with the values numpy reads back as float32, for tests/test_safetensors.c (independent check of
# the header layout, padding, dtype names and F16 conversion).
#
#   python3 tools/golden/safetensors_golden.py
#
# TSV columns: tensor, dtype, shape (comma-separated), then the float32 values (%.9g, nan/inf
# spelled as numpy prints them) in row-major order.
import os

import numpy as np
from safetensors.numpy import save_file, load_file

OUT = "tests/golden/st_official"

f16_bits = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x3c00, 0xbc00, 0x3555,
                     0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0x4248, 0x1234, 0x0200],
                    dtype=np.uint16)
rng = np.random.default_rng(7)
tensors = {
    "w.f32": rng.standard_normal((3, 5)).astype(np.float32),
    "w.f16": f16_bits.view(np.float16).reshape(2, 9),
    "w.f64": np.array([1e-300, -2.5, 1e300, 3.141592653589793], dtype=np.float64),
    "w.i64": np.array([[-(2 ** 40), 7], [0, 2 ** 24 + 1]], dtype=np.int64),
    "w.i32": np.array([-5, 123456789], dtype=np.int32),
    "w.i8": np.array([-128, 127, 0], dtype=np.int8),
    "w.u8": np.array([0, 255], dtype=np.uint8),
    "w.bool": np.array([True, False, True]),
    "w.scalar": np.array(2.5, dtype=np.float32),
    "w.empty": np.zeros((0, 4), dtype=np.float32),
}
save_file(tensors, OUT + ".safetensors", metadata={"format": "np", "made_by": "safetensors_golden.py"})
back = load_file(OUT + ".safetensors")
names = {np.float32: "F32", np.float16: "F16", np.float64: "F64", np.int64: "I64", np.int32: "I32",
         np.int8: "I8", np.uint8: "U8", np.bool_: "BOOL"}
with open(OUT + ".tsv", "w") as f:
    for name in sorted(back):
        a = back[name]
        with np.errstate(over="ignore"):
            vals = a.astype(np.float32).ravel()
        f.write("%s\t%s\t%s\t%s\n" % (name, names[a.dtype.type], ",".join(str(d) for d in a.shape),
                                      " ".join("%.9g" % v for v in vals)))
os.chmod(OUT + ".safetensors", 0o644)
print("wrote", OUT + ".safetensors", OUT + ".tsv")
