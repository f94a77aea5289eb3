#!/usr/bin/env python3
"""PyTorch reference outputs and gradients for Gantry's tensor engine (scripts/parity).

For each case: random inputs and weights (seeded), the PyTorch forward output, and the gradients of
loss = sum(output * r) for a fixed random r, written to Tests/GantryNNTests/Fixtures/parity.safetensors
(tensor names `<case>.<x|w|b|r|y|gx|gw|gb>`; the case parameters are in the file's metadata as JSON).
Run: .venv-peers/bin/python scripts/parity/make_nn_fixtures.py   (torch CPU, see ../shared/PEERS.md)
"""
import json
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "GantryNNTests", "Fixtures", "parity.safetensors")
torch.manual_seed(0)
tensors, cases = {}, {}


def add(name, params, x, w=None, b=None, fn=None):
    x = x.clone().requires_grad_(True)
    args = [x]
    if w is not None:
        w = w.clone().requires_grad_(True); args.append(w)
    if b is not None:
        b = b.clone().requires_grad_(True); args.append(b)
    y = fn(*args)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    tensors.update({f"{name}.x": x.detach(), f"{name}.y": y.detach(), f"{name}.r": r, f"{name}.gx": x.grad})
    if w is not None:
        tensors.update({f"{name}.w": w.detach(), f"{name}.gw": w.grad})
    if b is not None:
        tensors.update({f"{name}.b": b.detach(), f"{name}.gb": b.grad})
    cases[name] = params


def conv(name, dims, n, cin, cout, size, k, stride=1, padding=0, dilation=1, groups=1):
    x = torch.randn(n, cin, *([size] * dims))
    w = torch.randn(cout, cin // groups, *([k] * dims)) * 0.3
    b = torch.randn(cout)
    f = F.conv3d if dims == 3 else F.conv2d
    add(name, {"op": "conv", "dims": dims, "stride": stride, "padding": padding, "dilation": dilation, "groups": groups},
        x, w, b, lambda x, w, b: f(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups))


conv("conv3d_k3_p1", 3, 2, 3, 4, 6, 3, padding=1)
conv("conv3d_s2", 3, 1, 4, 4, 7, 3, stride=2, padding=1)
conv("conv3d_d2", 3, 1, 2, 3, 8, 3, padding=2, dilation=2)
conv("conv3d_depthwise", 3, 1, 6, 6, 6, 3, padding=1, groups=6)
conv("conv3d_groups2_k1", 3, 2, 4, 6, 5, 1, groups=2)
conv("conv2d_k3_p1", 2, 2, 3, 5, 9, 3, padding=1)
conv("conv2d_k5_p2", 2, 1, 2, 4, 10, 5, padding=2)
conv("conv2d_s2_d2", 2, 1, 3, 3, 11, 3, stride=2, padding=2, dilation=2)
for act in ("relu", "sigmoid", "tanh"):
    add(act, {"op": act}, torch.randn(2, 3, 4, 5), fn=getattr(torch, act))
add("leaky_relu", {"op": "leaky_relu", "slope": 0.1}, torch.randn(2, 3, 4, 5), fn=lambda x: F.leaky_relu(x, 0.1))

save_file({k: v.contiguous().float() for k, v in tensors.items()}, OUT, metadata={"cases": json.dumps(cases), "torch": torch.__version__})
print(OUT, len(cases), "cases,", sum(v.numel() for v in tensors.values()), "values")
