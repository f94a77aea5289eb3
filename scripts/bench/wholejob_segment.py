#!/usr/bin/env python3
"""Whole-job tumour segmentation of one BraTS-size case: the shipped U-Net through `gantry segment`
(whole command) against MONAI end to end with the same weights, window, overlap and Gaussian
weighting (from loading the weights to the saved mask; interpreter start-up and imports excluded,
as a user's long-running MONAI process would have them).

  wholejob_segment.py make-case GANTRY DIR   a Gantry phantom (Colin27 anatomy, 1 mm, seed 3) on
                                             BraTS's grid, 240×240×155, nnU-Net names CASE_000k
  wholejob_segment.py monai DIR OUT          MONAI: one run, prints a JSON result line
  wholejob_segment.py agree A B              share of voxels where two label maps agree

The case is made by Gantry's phantom and re-gridded here with nibabel (zero padding in x/y, five
slices cropped in z, the affine moved with it), so both tools read the same files.
"""
import json
import os
import resource
import subprocess
import sys
import time

import nibabel as nib
import numpy as np

CONTRASTS = ["T1w", "ce-gd_T1w", "T2w", "FLAIR"]
MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "brain-tumour-unet3d.safetensors")
BRATS = (240, 240, 155)


def make_case(gantry, folder):
    phantom = os.path.join(folder, "phantom")
    subprocess.run([gantry, "phantom", "brain-tumour", "--spacing", "1", "--seed", "3", "--out", phantom, "-q"], check=True, stdout=subprocess.DEVNULL)
    for k, name in enumerate(CONTRASTS):
        img = nib.load(os.path.join(phantom, f"{name}.nii.gz"))
        data = np.asarray(img.dataobj, dtype=np.float32)
        out = np.zeros(BRATS, np.float32)
        start = [(b - s) // 2 for s, b in zip(data.shape, BRATS)]  # negative: crop
        src = tuple(slice(max(0, -o), max(0, -o) + min(s, b)) for o, s, b in zip(start, data.shape, BRATS))
        dst = tuple(slice(max(0, o), max(0, o) + min(s, b)) for o, s, b in zip(start, data.shape, BRATS))
        out[dst] = data[src]
        affine = img.affine.copy()
        affine[:3, 3] = img.affine[:3, :3] @ -np.array(start, float) + img.affine[:3, 3]
        nib.save(nib.Nifti1Image(out, affine), os.path.join(folder, f"CASE_{k:04d}.nii.gz"))


def monai_run(folder, out):
    import torch
    from monai.inferers import sliding_window_inference
    from monai.networks.nets import UNet
    from safetensors import safe_open
    from safetensors.torch import load_file

    torch.set_num_threads(int(os.environ.get("GANTRY_NUM_THREADS", os.cpu_count())))
    start = time.perf_counter()
    net = UNet(spatial_dims=3, in_channels=4, out_channels=4, channels=(8, 16, 32, 64), strides=(2, 2, 2), num_res_units=2).eval()
    net.load_state_dict(load_file(MODEL))
    images = [nib.load(os.path.join(folder, f"CASE_{k:04d}.nii.gz")) for k in range(4)]
    channels = []
    # The checkpoint's normalisation: `nonzero` (no key) is MONAI's NormalizeIntensity(nonzero=True,
    # channel_wise=True); `foreground` is the same on an image a tenth or more of which is exactly 0,
    # as this case is (zero-padded to BraTS's grid) — its Otsu branch is not needed here.
    with safe_open(MODEL, "pt") as f:
        rule = (f.metadata() or {}).get("normalisation", "nonzero")
    for img in images:
        v = np.asarray(img.dataobj, dtype=np.float32)
        nz = v != 0
        if rule not in ("nonzero", "foreground") or (rule == "foreground" and (~nz).mean() < 0.1):
            raise SystemExit(f"normalisation {rule} on this case is not reproduced here")
        mean, std = v[nz].mean(), v[nz].std()
        channels.append(np.where(nz, (v - mean) / (std if std > 0 else 1), 0).astype(np.float32))
    # Gantry's networks take the NIfTI array as stored, x fastest: [C, z, y, x] in PyTorch's order
    x = torch.from_numpy(np.ascontiguousarray(np.stack(channels).transpose(0, 3, 2, 1))[None])
    with torch.inference_mode():
        prob = sliding_window_inference(x, (48, 48, 48), 1, lambda p: torch.softmax(net(p), 1), overlap=0.5, mode="gaussian")
    labels = torch.argmax(prob[0], 0).numpy().astype(np.uint8).transpose(2, 1, 0)  # class k is label k (BraTS 2023)
    mask = nib.Nifti1Image(labels, images[0].affine, images[0].header)
    mask.set_data_dtype(np.uint8)
    tmp = out + ".tmp.nii.gz"
    nib.save(mask, tmp)
    os.replace(tmp, out)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": rss}))


def agree(a, b):
    x = np.asarray(nib.load(a).dataobj)
    y = np.asarray(nib.load(b).dataobj)
    print(json.dumps({"agree": float((x == y).mean()), "wt_a": int((x > 0).sum()), "wt_b": int((y > 0).sum())}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make-case":
        make_case(sys.argv[2], sys.argv[3])
    elif cmd == "monai":
        monai_run(sys.argv[2], sys.argv[3])
    elif cmd == "agree":
        agree(sys.argv[2], sys.argv[3])
