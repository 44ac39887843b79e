"""tools/cuda_emu/transform.py - rewrites a kernels_cuda .cu file into C++ that g++ compiles
against the emulated runtime: kernel<<<grid, block[, shm]>>>(args) becomes emu_launch(...) and
__shared__ becomes static (blocks run one at a time). Developer aid only (run.sh)."""
import re, sys, os
src, dst = sys.argv[1], sys.argv[2]
s = open(src).read()
# dynamic shared memory: a static array per kernel instantiation (64K floats is plenty here)
s = re.sub(r'extern __shared__ (\w+) (\w+)\[\];', r'static \1 \2[1 << 16];', s)
s = s.replace('__shared__', 'static')
out = []
for line in s.split('\n'):
    i = line.find('<<<')
    if i < 0:
        out.append(line); continue
    j = line.find('>>>', i)
    name = line[:i].strip()
    indent = line[:len(line) - len(line.lstrip())]
    inner = line[i+3:j]
    parts, depth, cur = [], 0, ''
    for ch in inner:
        if ch in '(<': depth += 1
        if ch in ')>': depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur); cur = ''
        else:
            cur += ch
    parts.append(cur)
    rest = line[j+3:].strip()
    assert rest.startswith('(') and rest.endswith(');'), line
    args = rest[1:-2]
    out.append(f'{indent}emu_launch(dim3({parts[0]}), dim3({parts[1]}), [&] {{ {name}({args}); }});')
open(dst, 'w').write('\n'.join(out))
