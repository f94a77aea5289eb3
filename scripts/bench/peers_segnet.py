#!/usr/bin/env python3
"""MONAI (PyTorch CPU, 2 threads) on the same networks as `gantry-bench segnet`: UNet and
AttentionUnet 8-16-32-64, 4 contrasts → 4 classes; inference on 1×4×64³ and 1×4×128³ (no grad,
eval) and one training step (forward + backward of sum(out · r), train mode) on 1×4×48³; with
`full`, a whole 4×240×240×155 case through sliding_window_inference (48³, overlap 0.5, Gaussian),
time and peak RSS. JSON lines.
Usage: peers_segnet.py [REPEATS] | peers_segnet.py full"""
import json
import resource
import sys
import time

import torch
from monai.networks.nets import AttentionUnet, UNet

torch.set_num_threads(2)
full = len(sys.argv) > 1 and sys.argv[1] == "full"
reps = 1 if full else int(sys.argv[1]) if len(sys.argv) > 1 else 3
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


if full:
    from monai.inferers import sliding_window_inference
    net = nets[0][1].eval()
    x = torch.rand(1, 4, 155, 240, 240) * 2 - 1

    def whole():
        with torch.no_grad():
            sliding_window_inference(x, (48, 48, 48), 1, lambda p: torch.softmax(net(p), 1), overlap=0.5, mode="gaussian")
    timed("segnet UNet 8-16-32-64 sliding window 4×240×240×155 (48³, overlap 0.5)", whole)
    print(json.dumps({"name": "segnet UNet sliding window 4×240×240×155 peak RSS (MB)", "tool": "MONAI",
                      "score": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    sys.exit(0)

for name, net in nets:
    x = torch.rand(1, 4, 64, 64, 64) * 2 - 1
    net.eval()
    with torch.no_grad():
        net(x)

    def infer():
        with torch.no_grad():
            net(x)
    timed(f"segnet {name} 8-16-32-64 1×4×64³ inference", infer)
    big = torch.rand(1, 4, 128, 128, 128) * 2 - 1

    def infer_big():
        with torch.no_grad():
            net(big)
    timed(f"segnet {name} 8-16-32-64 1×4×128³ inference", infer_big)
    net.train()
    patch = torch.rand(1, 4, 48, 48, 48) * 2 - 1
    r = torch.rand(1, 4, 48, 48, 48) * 2 - 1

    def step():
        net.zero_grad()
        (net(patch) * r).sum().backward()
    timed(f"segnet {name} 8-16-32-64 1×4×48³ training step", step)
