#!/usr/bin/env python3
"""atommic reference for Gantry's CIRIM (scripts/parity): the unmodified atommic 1.0.1 `RIMBlock`
(imported from the installed wheel without its package __init__s, which pull in the whole training
stack), in cascades as atommic's `CIRIM.forward` runs them: cascade 0 starts from the SENSE
combination of the zero-filled data, later cascades from the previous estimate
(keep_prediction: true), the hidden state carried across cascades, implicit data consistency
(no_dc: true), centred orthonormal FFTs (fft_centered: true, fft_normalization: ortho).

For each recurrent cell (GRU, MGU, IndRNN) it writes
Tests/GantryReconTests/Fixtures/atommic_cirim_<cell>.safetensors with
- `state/<name>`: the random weights under atommic's state-dict names;
- `kspace`, `maps` (coil-first, [B, C, H, W, 2]), `mask` [B, H, W], `initial` [B, 2, H, W];
- `pred/<cascade>/<step>` [B, 2, H, W]: every estimate;
- `r/<cascade>/<step>` and `grad/<name>`: weight gradients of Σ pred·r.
Run: .venv-peers/bin/python scripts/parity/make_atommic_cirim_fixtures.py
(needs torch CPU, `pip install --no-deps atommic==1.0.1`, omegaconf, h5py, safetensors).
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from atommic_modules import load_rim_modules  # noqa: E402

load_rim_modules()
from atommic.collections.common.parts.utils import coil_combination_method  # noqa: E402
from atommic.collections.reconstruction.nn.rim_base.rim_block import RIMBlock  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "GantryReconTests", "Fixtures")
B, C, H, W = 2, 3, 10, 12
HIDDEN, T, CASCADES = 6, 2, 2
FFT = dict(fft_centered=True, fft_normalization="ortho", spatial_dims=[-2, -1], coil_dim=1)


class Cascades(torch.nn.Module):
    """Holds the blocks under atommic CIRIM's attribute name so the state-dict names match."""

    def __init__(self, cell):
        super().__init__()
        self.reconstruction_module = torch.nn.ModuleList([
            RIMBlock(recurrent_layer=cell, conv_filters=[HIDDEN, HIDDEN, 2], conv_kernels=[5, 3, 3], conv_dilations=[1, 2, 1],
                     conv_bias=[True, True, False], recurrent_filters=[HIDDEN, HIDDEN, 0], recurrent_kernels=[1, 1, 0],
                     recurrent_dilations=[1, 1, 0], recurrent_bias=[True, True, False], depth=2, time_steps=T, conv_dim=2,
                     no_dc=True, dimensionality=2, coil_combination_method="SENSE", **FFT)
            for _ in range(CASCADES)])

    def forward(self, y, maps, mask, initial):
        prediction, hx, out = y.clone(), None, []
        for i, cascade in enumerate(self.reconstruction_module):
            prediction, hx = cascade(prediction, y, maps, mask, initial if i == 0 else prediction, hx, 1.0,
                                     keep_prediction=i > 0)
            out.append(list(prediction))
            prediction = prediction[-1]
        return out


def channels(x):  # [B, H, W, 2] -> [B, 2, H, W]
    return x.permute(0, 3, 1, 2).contiguous()


for seed, cell in enumerate(["GRU", "MGU", "IndRNN"]):
    torch.manual_seed(100 + seed)
    net = Cascades(cell)
    with torch.no_grad():  # make biases and recurrent weights non-trivial (atommic initialises biases to 0)
        for name, t in net.state_dict().items():
            if name.endswith(".bias") or name.endswith("rnn.hh"):
                t.copy_(0.1 * torch.randn_like(t))
    maps = torch.randn(B, C, H, W, 2) * 0.5
    mask = (torch.rand(B, 1, H, W, 1) < 0.5).float()
    kspace = torch.randn(B, C, H, W, 2) * mask
    initial = coil_combination_method(
        __import__("atommic.collections.common.parts.fft", fromlist=["ifft2"]).ifft2(kspace, True, "ortho", [-2, -1]),
        maps, method="SENSE", dim=1)
    preds = net(kspace, maps, mask, initial)
    tensors = {f"state/{k}": v.detach().clone().float().contiguous() for k, v in net.state_dict().items()}
    loss = 0
    for c, steps in enumerate(preds):
        for t, p in enumerate(steps):
            r = torch.randn_like(p)
            loss = loss + (p * r).sum()
            tensors[f"pred/{c}/{t}"] = channels(p.detach())
            tensors[f"r/{c}/{t}"] = channels(r)
    loss.backward()
    for k, p in net.named_parameters():
        tensors[f"grad/{k}"] = p.grad.detach().clone().contiguous()
    tensors.update({"kspace": kspace.contiguous(), "maps": maps.contiguous(), "mask": mask[:, 0, :, :, 0].contiguous(),
                    "initial": channels(initial.detach())})
    meta = {"recurrent_layer": cell, "hidden": HIDDEN, "time_steps": T, "num_cascades": CASCADES,
            "parameters": sum(p.numel() for p in net.parameters())}
    path = os.path.join(OUT, f"atommic_cirim_{cell.lower()}.safetensors")
    save_file(tensors, path, metadata={"config": json.dumps(meta)})
    print(path, meta["parameters"])
    if cell == "GRU":
        # A Lightning-style atommic checkpoint of the same weights (time_steps 2 as configured; the
        # exporter rounds to atommic's multiple of 8, so Gantry's export test sets it back to 2),
        # run through scripts/export_atommic_cirim.py → atommic_cirim_export.safetensors.
        import subprocess
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = os.path.join(tmp, "cirim.ckpt")
            torch.save({"state_dict": dict(net.state_dict()),
                        "hyper_parameters": {"cfg": {"recurrent_layer": cell, "conv_filters": [HIDDEN, HIDDEN, 2], "conv_kernels": [5, 3, 3],
                                                     "conv_dilations": [1, 2, 1], "conv_bias": [True, True, False],
                                                     "recurrent_filters": [HIDDEN, HIDDEN, 0], "recurrent_kernels": [1, 1, 0],
                                                     "recurrent_dilations": [1, 1, 0], "recurrent_bias": [True, True, False],
                                                     "time_steps": T, "num_cascades": CASCADES, "no_dc": True, "depth": 2}}}, ckpt)
            subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "export_atommic_cirim.py"),
                            ckpt, os.path.join(OUT, "atommic_cirim_export.safetensors")], check=True)
