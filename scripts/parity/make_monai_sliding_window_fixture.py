#!/usr/bin/env python3
"""MONAI reference for Gantry's SlidingWindow (scripts/parity): `sliding_window_inference` with
Gaussian weighting of a 3×3×3 convolution (zero padding, so each window's answer depends on where
the window lies), on an image larger than the window in some axes and smaller in one, for several
overlaps. Writes Tests/GantrySegmentationTests/Fixtures/monai_sliding_window.safetensors:
`weight`, `bias`, `input`, and `output_<overlap×100>`.
Run: .venv-peers/bin/python scripts/parity/make_monai_sliding_window_fixture.py  (needs torch CPU + monai)
"""
import os

import torch
from monai.inferers import sliding_window_inference
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "GantrySegmentationTests", "Fixtures", "monai_sliding_window.safetensors")
torch.manual_seed(0)
weight = torch.randn(3, 2, 3, 3, 3)
bias = torch.randn(3)
x = torch.randn(1, 2, 21, 30, 7)  # the last axis is smaller than the window: padded and cropped back
tensors = {"weight": weight, "bias": bias, "input": x}
with torch.no_grad():
    for overlap in (0.25, 0.5, 0.75):
        y = sliding_window_inference(x, (8, 12, 8), 2, lambda p: torch.nn.functional.conv3d(p, weight, bias, padding=1), overlap=overlap, mode="gaussian")
        tensors[f"output_{int(overlap * 100)}"] = y.contiguous()
save_file(tensors, OUT, metadata={"roi": "8,12,8"})
print(OUT)
