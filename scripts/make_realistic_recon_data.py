#!/usr/bin/env python3
"""Multi-coil k-space on real anatomy at fastMRI brain size, for training and holding out RIM/CIRIM.

Usage: make_realistic_recon_data.py DIR

Made with numpy/nibabel/scipy only (independent of Gantry's simulator), fully sampled, in fastMRI's
layout ([slices, coils, 320, 320] `kspace`, `reconstruction_rss`):

- DIR/train/*.h5 — the MNI152NLin6Asym whole-head T1 (nimare's wheel) and the MNI152 2009a
  skull-stripped T1 (nilearn's wheel), 1 mm, cut axially, coronally and sagittally (12 slices per
  orientation and template, spread over the head), one file per template × orientation × coil count
  (8, 12, 16, 20 coils, rotated coil rings of random radius and width, smooth random phase, complex
  noise at 1/25–1/60 of the mean object signal). Seeds 1–99.
- DIR/val/*.h5 — 4 slices of each template in other positions (validation picks the best epoch).
- DIR/test/colin27-16coil.h5 — the held-out set: 12 axial slices of Colin27's whole head (Debian
  mricron-data; a subject neither template was built from and the trainer never sees), 16 coils
  laid out as `scripts/bench/fastmri_size_recon.py`'s, noise 1/40, seed 2026.

Every slice is zoomed to 0.6875 mm and padded to 320 × 320 (fastMRI brain's in-plane grid), and
scaled so its maximum is 1.
"""
import os
import sys

import h5py
import nibabel as nib
import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
from fastmri_size_recon import fft2c, ifft2c  # noqa: E402

H = W = 320
SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".venv-peers", "lib")


def find(name):
    for root, _, files in os.walk(SITE):
        if name in files:
            return os.path.join(root, name)
    raise SystemExit(f"{name} not found under .venv-peers (make peers installs nilearn and nimare)")


def to_grid(sl):
    """A 1 mm slice (rows anterior→posterior or superior→inferior) on the 320² 0.6875 mm grid, max 1."""
    sl = ndimage.zoom(sl, 1 / 0.6875, order=1)
    out = np.zeros((H, W), np.float32)
    r, c = min(H, sl.shape[0]), min(W, sl.shape[1])
    out[(H - r) // 2:(H - r) // 2 + r, (W - c) // 2:(W - c) // 2 + c] = \
        sl[(sl.shape[0] - r) // 2:(sl.shape[0] - r) // 2 + r, (sl.shape[1] - c) // 2:(sl.shape[1] - c) // 2 + c]
    out = np.clip(out, 0, None)
    return out / max(1e-6, out.max())


def slices(vol, axis, count, offset):
    """`count` slices spread over the extent where the head has signal along `axis`, shifted by `offset` of a step."""
    other = tuple(a for a in range(3) if a != axis)
    profile = vol.max(axis=other)
    idx = np.nonzero(profile > 0.1 * profile.max())[0]
    lo, hi = idx[0] + 0.12 * (idx[-1] - idx[0]), idx[-1] - 0.12 * (idx[-1] - idx[0])
    step = (hi - lo) / count
    picks = [int(round(lo + (i + offset) * step)) for i in range(count)]
    take = {0: lambda i: vol[i, :, :], 1: lambda i: vol[:, i, :], 2: lambda i: vol[:, :, i]}[axis]
    return [to_grid(take(i).T[::-1]) for i in picks]


def coil_maps(coils, rng, radius=None, width=None, turn=None):
    yy, xx = np.mgrid[0:H, 0:W]
    v, u = (yy - H / 2 + 0.5) / (H / 2), (xx - W / 2 + 0.5) / (W / 2)
    radius = rng.uniform(1.1, 1.6) if radius is None else radius
    width = rng.uniform(0.7, 1.6) if width is None else width
    turn = rng.uniform(0, 2 * np.pi) if turn is None else turn
    maps = []
    for c in range(coils):
        t = turn + 2 * np.pi * c / coils
        d2 = (u - radius * np.cos(t)) ** 2 + (v - radius * np.sin(t)) ** 2
        maps.append(np.exp(-d2 / width) * np.exp(1j * (t + 0.4 * (u * np.cos(t) + v * np.sin(t)))))
    maps = np.stack(maps)
    return maps / np.sqrt((np.abs(maps) ** 2).sum(0, keepdims=True)), u, v


def acquire(imgs, coils, rng, noise=None, **geometry):
    maps, u, v = coil_maps(coils, rng, **geometry)
    kspace = np.zeros((len(imgs), coils, H, W), np.complex64)
    rss = np.zeros((len(imgs), H, W), np.float32)
    for s, img in enumerate(imgs):
        a = rng.uniform(-1, 1, 3)
        obj = img * np.exp(1j * (a[0] * u + a[1] * v + a[2] * u * v))
        coil = obj[None] * maps
        sigma = img[img > 0].mean() / (rng.uniform(25, 60) if noise is None else noise)
        k = fft2c(coil) + sigma * (rng.standard_normal(coil.shape) + 1j * rng.standard_normal(coil.shape))
        kspace[s] = k
        rss[s] = np.sqrt((np.abs(ifft2c(k)) ** 2).sum(0))
    return kspace, rss


def write(path, kspace, rss, source):
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f["kspace"] = kspace
        f["reconstruction_rss"] = rss
        f.attrs["acquisition"] = "AXT1"
        f.attrs["max"] = float(rss.max())
        f.attrs["norm"] = float(np.linalg.norm(rss))
        f.attrs["source"] = source
    os.replace(tmp, path)


def main():
    d = sys.argv[1]
    for sub in ("train", "val", "test"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    templates = {
        "mni152nlin6asym": find("tpl-MNI152NLin6Asym_res-01_T1w.nii.gz"),
        "mni152-2009a-brain": find("mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"),
    }
    seed = 1
    for name, path in templates.items():
        vol = nib.load(path).get_fdata().astype(np.float32)
        for axis, orient in ((2, "axial"), (1, "coronal"), (0, "sagittal")):
            imgs = slices(vol, axis, 12, 0.5)
            for coils, part in zip((8, 12, 16, 20), range(4)):
                rng = np.random.default_rng(seed)
                seed += 1
                k, rss = acquire(imgs[part * 3:part * 3 + 3], coils, rng)
                write(os.path.join(d, "train", f"{name}-{orient}-{coils}coil.h5"), k, rss, f"{os.path.basename(path)} {orient}")
        rng = np.random.default_rng(seed)
        seed += 1
        k, rss = acquire(slices(vol, 2, 4, 0.1), 12, rng)
        write(os.path.join(d, "val", f"{name}-axial-12coil.h5"), k, rss, f"{os.path.basename(path)} axial")
    head = nib.load("/usr/share/mricron/templates/ch2.nii.gz").get_fdata().astype(np.float32)
    rng = np.random.default_rng(2026)
    k, rss = acquire(slices(head, 2, 12, 0.5), 16, rng, noise=40, radius=1.3, width=1.2, turn=0.0)
    write(os.path.join(d, "test", "colin27-16coil.h5"), k, rss, "ch2.nii.gz axial (held out)")
    print(d)


if __name__ == "__main__":
    main()
