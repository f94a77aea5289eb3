#!/usr/bin/env python3
"""MONAI reference for Gantry's AttentionUNet3D (scripts/parity): a MONAI `AttentionUnet` with random
weights, random batch-norm affine/running statistics and PReLU slopes. Records
- eval mode: input, output, r, input_grad (gradient of sum(output · r));
- training mode (batch statistics, batch of 2): train_input, train_output and the running
  statistics after that one step (`after/<name>`).
Writes Tests/GantrySegmentationTests/Fixtures/monai_attention_unet.safetensors.
Run: .venv-peers/bin/python scripts/parity/make_monai_attention_fixtures.py  (needs torch CPU + monai)
"""
import json
import os

import torch
from monai.networks.nets import AttentionUnet
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "GantrySegmentationTests", "Fixtures", "monai_attention_unet.safetensors")
torch.manual_seed(0)
cfg = dict(spatial_dims=3, in_channels=2, out_channels=3, channels=(4, 8, 16), strides=(2, 2))
net = AttentionUnet(**cfg)
with torch.no_grad():
    for name, t in net.state_dict().items():
        if name.endswith("adn.A.weight"):
            t.copy_(torch.rand_like(t) * 0.5)
        elif name.endswith("running_mean"):
            t.copy_(torch.randn_like(t) * 0.1)
        elif name.endswith("running_var"):
            t.copy_(0.5 + torch.rand_like(t))
        elif ("adn.N." in name or ".W_g.1." in name or ".W_x.1." in name or ".psi.1." in name) and (name.endswith(".weight") or name.endswith(".bias")):
            t.copy_((1.0 if name.endswith(".weight") else 0.0) + 0.2 * torch.randn_like(t))
tensors = {f"state/{k}": v.detach().clone().float().contiguous() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}

net.eval()
x = torch.randn(1, 2, 16, 16, 16, requires_grad=True)
y = net(x)
r = torch.randn_like(y)
(y * r).sum().backward()
tensors.update({"input": x.detach().clone(), "output": y.detach().clone(), "r": r, "input_grad": x.grad.clone()})

net.train()
xt = torch.randn(2, 2, 16, 16, 16)
with torch.no_grad():
    yt = net(xt)
tensors.update({"train_input": xt, "train_output": yt.clone()})
for k, v in net.state_dict().items():
    if k.endswith("running_mean") or k.endswith("running_var"):
        tensors[f"after/{k}"] = v.detach().clone().float()
meta = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()} | {"parameters": sum(p.numel() for p in net.parameters())}
save_file(tensors, OUT, metadata={"config": json.dumps(meta)})
print(OUT, meta["parameters"])
