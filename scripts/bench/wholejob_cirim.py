#!/usr/bin/env python3
"""Whole-job CIRIM reconstruction of a fastMRI-layout file with atommic 1.0.1's unmodified
`RIMBlock` cascades (PyTorch CPU) and Gantry's shipped weights (`models/cirim-indrnn.safetensors`
uses atommic's state-dict names), the steps `gantry recon --method cirim` takes, written the way an
atommic user would: read the file with h5py, remove the 2× readout oversampling, coil maps from the
calibration region (Hann-windowed centre, RSS-normalised, as atommic/DIRECT estimate them), scale
so the SENSE combination peaks at 1, run the cascades slice by slice, magnitude × scale, write
NIfTI with nibabel. Timed in-process from reading the file to the written output (interpreter
start-up and imports excluded).

Usage: wholejob_cirim.py FILE.h5 OUT.nii.gz   (prints one JSON line: seconds, peak_mb)
"""
import json
import os
import resource
import sys
import time

import h5py
import nibabel as nib
import numpy as np
import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from atommic_modules import load_rim_modules  # noqa: E402

load_rim_modules()
from atommic.collections.reconstruction.nn.rim_base.rim_block import RIMBlock  # noqa: E402

MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "cirim-indrnn.safetensors")
DIMS = (-2, -1)


def fft2c(x):
    return torch.fft.fftshift(torch.fft.fft2(torch.fft.ifftshift(x, dim=DIMS), dim=DIMS, norm="ortho"), dim=DIMS)


def ifft2c(x):
    return torch.fft.fftshift(torch.fft.ifft2(torch.fft.ifftshift(x, dim=DIMS), dim=DIMS, norm="ortho"), dim=DIMS)


class Cascades(torch.nn.Module):
    """atommic CIRIM's blocks under its attribute name, so the checkpoint's names load as they are."""

    def __init__(self, cfg):
        super().__init__()
        hidden = cfg["conv_filters"][0]
        self.reconstruction_module = torch.nn.ModuleList([
            RIMBlock(recurrent_layer=cfg["recurrent_layer"], conv_filters=cfg["conv_filters"], conv_kernels=cfg["conv_kernels"],
                     conv_dilations=cfg["conv_dilations"], conv_bias=cfg["conv_bias"], recurrent_filters=[hidden, hidden, 0],
                     recurrent_kernels=cfg["recurrent_kernels"], recurrent_dilations=cfg["recurrent_dilations"],
                     recurrent_bias=cfg["recurrent_bias"], depth=2, time_steps=cfg["time_steps"], conv_dim=2, no_dc=True,
                     fft_centered=True, fft_normalization="ortho", spatial_dims=[-2, -1], coil_dim=1, dimensionality=2,
                     coil_combination_method="SENSE")
            for _ in range(cfg["num_cascades"])])

    def forward(self, y, maps, mask, initial):
        prediction, hx = y.clone(), None
        for i, cascade in enumerate(self.reconstruction_module):
            prediction, hx = cascade(prediction, y, maps, mask, initial if i == 0 else prediction, hx, 1.0, keep_prediction=i > 0)
            prediction = prediction[-1]
        return prediction


def calibration_maps(k, cols):
    """[coils, H, W] complex k-space, sampled columns → RSS-normalised low-resolution maps."""
    h, w = k.shape[-2:]
    c = w // 2
    lo, hi = c, c
    while lo > 0 and cols[lo - 1]:
        lo -= 1
    while hi < w - 1 and cols[hi + 1]:
        hi += 1
    width = hi - lo + 1
    x = torch.arange(w, dtype=torch.float32) - c
    window = torch.where(x.abs() <= width / 2, 0.5 + 0.5 * torch.cos(2 * torch.pi * x / width), torch.zeros(()))
    low = ifft2c(k * window[None, None, :])
    rss = (low.abs() ** 2).sum(0, keepdim=True).sqrt()
    return low / torch.where(rss > 0, rss, torch.ones(()))


def main():
    path, out = sys.argv[1], sys.argv[2]
    torch.set_num_threads(int(os.environ.get("GANTRY_NUM_THREADS", os.cpu_count())))
    start = time.perf_counter()
    state = load_file(MODEL)
    from safetensors import safe_open
    with safe_open(MODEL, "pt") as f:
        cfg = json.loads(f.metadata()["config"])
    net = Cascades(cfg).eval()
    net.load_state_dict(state)
    with h5py.File(path, "r") as f:
        kspace = torch.from_numpy(f["kspace"][()])                       # [slices, coils, 2H, W]
        cols = torch.from_numpy(np.asarray(f["mask"][()], dtype=bool))   # [W]
    slices, coils, h2, w = kspace.shape
    h = h2 // 2
    # readout oversampling: image domain along the readout, keep the central half, back to k-space
    img = torch.fft.fftshift(torch.fft.ifft(torch.fft.ifftshift(kspace, dim=-2), dim=-2, norm="ortho"), dim=-2)[..., h // 2:h // 2 + h, :]
    kspace = torch.fft.fftshift(torch.fft.fft(torch.fft.ifftshift(img, dim=-2), dim=-2, norm="ortho"), dim=-2) * cols
    mask = cols.view(1, 1, 1, w, 1).float().expand(1, 1, h, w, 1)
    result = np.zeros((slices, h, w), np.float32)
    with torch.inference_mode():
        for s in range(slices):
            k = kspace[s]
            maps = calibration_maps(k, cols)
            initial = (ifft2c(k) * maps.conj()).sum(0)
            scale = float(initial.abs().max()) or 1.0
            y = torch.view_as_real(k / scale)[None].float()                  # [1, coils, H, W, 2]
            m = torch.view_as_real(maps)[None].float()
            x0 = torch.view_as_real(initial / scale)[None].float()           # [1, H, W, 2]
            pred = net(y, m, mask, x0)
            result[s] = (torch.view_as_complex(pred[0].contiguous()).abs() * scale).numpy()
    volume = np.ascontiguousarray(result.transpose(2, 1, 0))                # NIfTI (x, y, slice)
    tmp = out + ".tmp.nii.gz"
    nib.save(nib.Nifti1Image(volume, np.eye(4)), tmp)
    os.replace(tmp, out)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
