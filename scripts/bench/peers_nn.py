#!/usr/bin/env python3
"""PyTorch CPU (2 threads) on the same conv shapes as `gantry-bench nn`: forward (no grad) and
forward + backward of sum(out · r). Prints JSON lines. Usage: peers_nn.py [REPEATS]
GANTRY_BENCH_FILTER=substring runs only the matching cases (as gantry-bench does)."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
memory_case = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "memory" else None
reps = int(sys.argv[1]) if len(sys.argv) > 1 and memory_case is None else 3
cases = [
    ("conv3d 1×32×64³→32 k3", (1, 32, 64, 64, 64), (32, 32, 3, 3, 3), lambda x, w: F.conv3d(x, w, padding=1)),
    ("conv3d 1×16×128³→16 k3", (1, 16, 128, 128, 128), (16, 16, 3, 3, 3), lambda x, w: F.conv3d(x, w, padding=1)),
    ("depthwise conv3d 3³ 1×64×64³", (1, 64, 64, 64, 64), (64, 1, 3, 3, 3), lambda x, w: F.conv3d(x, w, padding=1, groups=64)),
    ("conv-transpose3d 2× 1×32×32³→16", (1, 32, 32, 32, 32), (32, 16, 2, 2, 2), lambda x, w: F.conv_transpose3d(x, w, stride=2)),
    ("conv2d 1×64×320²→64 k3", (1, 64, 320, 320), (64, 64, 3, 3), lambda x, w: F.conv2d(x, w, padding=1)),
    ("conv2d 1×128×320²→128 k3 d2", (1, 128, 320, 320), (128, 128, 3, 3), lambda x, w: F.conv2d(x, w, padding=2, dilation=2)),
]
if memory_case is not None:
    import resource
    name, xs, ws, f = cases[memory_case]
    x = (torch.rand(xs) * 2 - 1).requires_grad_(True)
    w = (torch.rand(ws) * 0.2 - 0.1).requires_grad_(True)
    y = f(x, w)
    (y * torch.rand_like(y)).sum().backward()
    print(json.dumps({"name": f"{name} fwd+bwd peak RSS (MB)", "tool": "PyTorch", "score": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    sys.exit(0)
for name, xs, ws, f in cases:
    if os.environ.get("GANTRY_BENCH_FILTER", name) not in name:
        continue
    x = (torch.rand(xs) * 2 - 1).requires_grad_(True)
    w = (torch.rand(ws) * 0.2 - 0.1).requires_grad_(True)
    with torch.no_grad():
        f(x, w)
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        with torch.no_grad():
            f(x, w)
        runs.append(time.perf_counter() - t0)
    print(json.dumps({"name": f"{name} forward", "tool": "PyTorch", "median_s": sorted(runs)[len(runs) // 2], "runs": runs}), flush=True)
    r = torch.rand_like(f(x, w))
    runs = []
    for _ in range(reps):
        x.grad = None; w.grad = None
        t0 = time.perf_counter()
        (f(x, w) * r).sum().backward()
        runs.append(time.perf_counter() - t0)
    print(json.dumps({"name": f"{name} forward+backward", "tool": "PyTorch", "median_s": sorted(runs)[len(runs) // 2], "runs": runs}), flush=True)
