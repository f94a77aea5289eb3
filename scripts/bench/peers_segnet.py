#!/usr/bin/env python3
"""MONAI (PyTorch CPU, 2 threads) on the same networks as `gantry-bench segnet`: UNet and
AttentionUnet 8-16-32-64, 4 contrasts → 4 classes; inference on 1×4×64³ (no grad, eval) and one
training step (forward + backward of sum(out · r), train mode) on 1×4×48³. JSON lines.
Usage: peers_segnet.py [REPEATS]"""
import json
import sys
import time

import torch
from monai.networks.nets import AttentionUnet, UNet

torch.set_num_threads(2)
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
nets = [
    ("UNet", UNet(spatial_dims=3, in_channels=4, out_channels=4, channels=(8, 16, 32, 64), strides=(2, 2, 2), num_res_units=2)),
    ("AttentionUnet", AttentionUnet(spatial_dims=3, in_channels=4, out_channels=4, channels=(8, 16, 32, 64), strides=(2, 2, 2))),
]


def timed(name, body):
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        body()
        runs.append(time.perf_counter() - t0)
    print(json.dumps({"name": name, "tool": "MONAI", "median_s": sorted(runs)[len(runs) // 2], "runs": runs}), flush=True)


for name, net in nets:
    x = torch.rand(1, 4, 64, 64, 64) * 2 - 1
    net.eval()
    with torch.no_grad():
        net(x)

    def infer():
        with torch.no_grad():
            net(x)
    timed(f"segnet {name} 8-16-32-64 1×4×64³ inference", infer)
    net.train()
    patch = torch.rand(1, 4, 48, 48, 48) * 2 - 1
    r = torch.rand(1, 4, 48, 48, 48) * 2 - 1

    def step():
        net.zero_grad()
        (net(patch) * r).sum().backward()
    timed(f"segnet {name} 8-16-32-64 1×4×48³ training step", step)
