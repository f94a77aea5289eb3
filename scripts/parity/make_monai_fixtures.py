#!/usr/bin/env python3
"""MONAI reference for Gantry's UNet3D (scripts/parity): a MONAI 1.6 `UNet` with random weights
(PReLU slopes randomised too), an input, its output and the input gradient of sum(output · r).
Writes Tests/GantrySegmentationTests/Fixtures/monai_unet.safetensors: the state dict under its own
names, plus `input`, `output`, `r`, `input_grad`; the configuration is in the metadata.
Run: .venv-peers/bin/python scripts/parity/make_monai_fixtures.py  (needs torch CPU + monai)
"""
import json
import os

import torch
from monai.networks.nets import UNet
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "GantrySegmentationTests", "Fixtures", "monai_unet.safetensors")
torch.manual_seed(0)
configs = {
    "unet3d": dict(spatial_dims=3, in_channels=2, out_channels=3, channels=(4, 8, 16, 32), strides=(2, 2, 2), num_res_units=2),
    "unet2d": dict(spatial_dims=2, in_channels=1, out_channels=2, channels=(4, 8, 16), strides=(2, 2), num_res_units=1),
}
tensors, meta = {}, {}
for key, cfg in configs.items():
    net = UNet(**cfg).eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("adn.A.weight"):
                p.copy_(torch.rand_like(p) * 0.5)
    size = 16
    x = torch.randn(1, cfg["in_channels"], *([size] * cfg["spatial_dims"]), requires_grad=True)
    y = net(x)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    for name, t in net.state_dict().items():
        tensors[f"{key}/{name}"] = t.detach().clone().float().contiguous()
    tensors.update({f"{key}/input": x.detach().clone(), f"{key}/output": y.detach().clone(), f"{key}/r": r, f"{key}/input_grad": x.grad.clone()})
    meta[key] = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()} | {"parameters": sum(p.numel() for p in net.parameters())}
save_file(tensors, OUT, metadata={"configs": json.dumps(meta)})
print(OUT, {k: v["parameters"] for k, v in meta.items()})
