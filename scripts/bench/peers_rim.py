#!/usr/bin/env python3
"""atommic 1.0.1's unmodified RIMBlock (PyTorch CPU, 2 threads) on the shapes of `gantry-bench rim`:
one 8-coil 320² slice, RIM IndRNN-64 / GRU-64 (8 steps) and CIRIM IndRNN-128 (5 cascades × 8 steps)
inference; `train I` runs one training step of RIM case I in this (fresh) process and reports its
time and peak RSS. JSON lines. Usage: peers_rim.py [REPEATS] | peers_rim.py train I
Needs `pip install --no-deps atommic==1.0.1` and omegaconf (see scripts/parity/make_atommic_cirim_fixtures.py)."""
import json
import os
import resource
import sys
import time

import torch

torch.set_num_threads(2)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from atommic_modules import load_rim_modules  # noqa: E402

load_rim_modules()
from atommic.collections.reconstruction.nn.rim_base.rim_block import RIMBlock  # noqa: E402


def block(cell, hidden):
    return RIMBlock(recurrent_layer=cell, conv_filters=[hidden, hidden, 2], conv_kernels=[5, 3, 3], conv_dilations=[1, 2, 1],
                    conv_bias=[True, True, False], recurrent_filters=[hidden, hidden, 0], recurrent_kernels=[1, 1, 0],
                    recurrent_dilations=[1, 1, 0], recurrent_bias=[True, True, False], depth=2, time_steps=8, conv_dim=2,
                    no_dc=True, fft_centered=True, fft_normalization="ortho", spatial_dims=[-2, -1], coil_dim=1,
                    dimensionality=2, coil_combination_method="SENSE")


def run(blocks, y, maps, mask):
    prediction, hx, out = y.clone(), None, []
    for i, b in enumerate(blocks):
        prediction, hx = b(prediction, y, maps, mask, None if i == 0 else prediction, hx, 1.0, keep_prediction=i > 0)
        out += prediction
        prediction = prediction[-1]
    return out


torch.manual_seed(0)
C, N = 8, 320
maps = torch.randn(1, C, N, N, 2) * 0.3
mask = torch.zeros(1, 1, 1, N, 1)
mask[..., ::4, :] = 1
mask[..., N // 2 - 13:N // 2 + 13, :] = 1
mask = mask.bool()
y = torch.randn(1, C, N, N, 2) * mask
RIMS = [("RIM IndRNN-64 8 steps", "IndRNN", 64, 1), ("RIM GRU-64 8 steps", "GRU", 64, 1)]


def emit(name, runs, **extra):
    print(json.dumps({"name": name, "tool": "atommic", "median_s": sorted(runs)[len(runs) // 2], "runs": runs, **extra}), flush=True)


if len(sys.argv) > 2 and sys.argv[1] == "train":
    name, cell, hidden, cascades = RIMS[int(sys.argv[2])]
    blocks = torch.nn.ModuleList([block(cell, hidden) for _ in range(cascades)])
    target = torch.rand(1, N, N)
    t0 = time.perf_counter()
    preds = run(blocks, y, maps, mask)
    loss = sum((torch.sqrt(p[..., 0] ** 2 + p[..., 1] ** 2 + 1e-12) - target).abs().mean() for p in preds)
    loss.backward()
    emit(f"{name} 8-coil 320² training step", [time.perf_counter() - t0])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"name": f"{name} 8-coil 320² training step peak RSS (MB)", "tool": "atommic", "score": peak}), flush=True)
    sys.exit(0)

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
for name, cell, hidden, cascades, r in [*(c + (reps,) for c in RIMS), ("CIRIM IndRNN-128 5×8 steps", "IndRNN", 128, 5, 1)]:
    blocks = torch.nn.ModuleList([block(cell, hidden) for _ in range(cascades)]).eval()
    runs = []
    for _ in range(r):
        t0 = time.perf_counter()
        with torch.no_grad():
            run(blocks, y, maps, mask)
        runs.append(time.perf_counter() - t0)
    emit(f"{name} 8-coil 320² inference", runs)
