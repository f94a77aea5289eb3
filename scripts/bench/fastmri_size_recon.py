#!/usr/bin/env python3
"""Whole-command reconstruction at fastMRI brain size: Gantry vs BART on the same 16-coil data.

Usage: fastmri_size_recon.py GANTRY DIR

Makes, with numpy and nibabel only (independent of Gantry's simulator), a file laid out as fastMRI's
brain files: 16 axial slices of Colin27's whole head (Debian mricron-data, 1 mm, zoomed to 0.6875 mm
and padded to 320 × 320), 16 smooth Gaussian receive coils, a smooth random phase, readout
oversampling 2× (k-space [16, 16, 640, 320]), complex noise, `reconstruction_rss` [16, 320, 320],
an `ismrmrd_header` (encoded 640 × 320, recon 320 × 320, FOV 440 × 220 mm), and fastMRI's random 4×
mask (8 % centre) applied to the data and stored as the boolean `mask` — a challenge-style file.
The same undersampled k-space of the middle slice goes to BART as .cfl.

Times (median of 3, whole commands, OMP_NUM_THREADS / --threads 1 and 2): BART `ecalib -m 1` +
`pics -l1 -r 0.01 -i 50 -S` on the 640 × 320 slice as given, and on the same slice with readout
oversampling removed first (what a careful BART user does); Gantry `recon --method cs-l1` on that
slice (its own file) with ESPIRiT maps and with its default calibration maps, and `recon --method zf`
on the whole 16-slice volume. PSNR of
each against `reconstruction_rss`, after the least-squares scale that best matches it (BART's `-S`
and Gantry's scaling differ). One JSON line per figure.
"""
import json
import os
import subprocess
import sys
import time

import h5py
import nibabel as nib
import numpy as np
from scipy import ndimage

SLICES, COILS, H, W = 16, 16, 320, 320


def emit(**kw):
    print(json.dumps(kw), flush=True)


def fft2c(x):
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def ifft2c(x):
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def writecfl(base, a):
    a = np.asarray(a, dtype=np.complex64)
    dims = list(a.shape) + [1] * (16 - a.ndim)
    open(base + ".hdr", "w").write("# Dimensions\n" + " ".join(map(str, dims)) + "\n")
    a.ravel(order="F").tofile(base + ".cfl")


def readcfl(base):
    dims = [int(x) for x in open(base + ".hdr").read().split("\n")[1].split()]
    return np.fromfile(base + ".cfl", dtype=np.complex64).reshape(dims, order="F")


def make(d):
    head = nib.load("/usr/share/mricron/templates/ch2.nii.gz").get_fdata().astype(np.float32)
    centre = head.shape[2] // 2
    rng = np.random.default_rng(2026)
    imgs = []
    for z in range(centre - SLICES // 2, centre + SLICES // 2):
        sl = ndimage.zoom(head[:, :, z].T[::-1], 1 / 0.6875, order=1)          # rows: anterior → posterior
        out = np.zeros((H, W), np.float32)
        r, c = min(H, sl.shape[0]), min(W, sl.shape[1])
        out[(H - r) // 2:(H - r) // 2 + r, (W - c) // 2:(W - c) // 2 + c] = sl[(sl.shape[0] - r) // 2:(sl.shape[0] - r) // 2 + r, (sl.shape[1] - c) // 2:(sl.shape[1] - c) // 2 + c]
        imgs.append(out / max(1e-6, out.max()))
    imgs = np.stack(imgs)
    yy, xx = np.mgrid[0:2 * H, 0:W]
    v, u = (yy - H + 0.5) / (H / 2), (xx - W / 2 + 0.5) / (W / 2)         # the object spans v ∈ [-1, 1]
    maps = []
    for c in range(COILS):
        t = 2 * np.pi * c / COILS
        d2 = (u - 1.3 * np.cos(t)) ** 2 + (v - 1.3 * np.sin(t)) ** 2
        maps.append(np.exp(-d2 / 1.2) * np.exp(1j * (t + 0.4 * (u * np.cos(t) + v * np.sin(t)))))
    maps = np.stack(maps)
    maps /= np.sqrt((np.abs(maps) ** 2).sum(0, keepdims=True))
    kspace = np.zeros((SLICES, COILS, 2 * H, W), np.complex64)
    rss = np.zeros((SLICES, H, W), np.float32)
    for s in range(SLICES):
        a = rng.uniform(-1, 1, 3)
        padded = np.zeros((2 * H, W), np.complex64)
        padded[H // 2:H // 2 + H] = imgs[s]
        padded *= np.exp(1j * (a[0] * u + a[1] * v + a[2] * u * v))
        coil = padded[None] * maps
        sigma = imgs[s][imgs[s] > 0].mean() / 40
        k = fft2c(coil) + sigma * (rng.standard_normal(coil.shape) + 1j * rng.standard_normal(coil.shape))
        kspace[s] = k
        rss[s] = np.sqrt((np.abs(ifft2c(k)) ** 2).sum(0))[H // 2:H // 2 + H]
    # fastMRI's RandomMaskFunc: 4×, 8 % centre, over the 320 phase-encode columns.
    low = round(W * 0.08)
    cols = rng.random(W) < (W / 4 - low) / (W - low)
    pad = (W - low + 1) // 2
    cols[pad:pad + low] = True
    kspace *= cols[None, None, None, :]
    header = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><ismrmrdHeader xmlns=\"http://www.ismrm.org/ISMRMRD\"><encoding>"
              "<encodedSpace><matrixSize><x>640</x><y>320</y><z>1</z></matrixSize><fieldOfView_mm><x>440</x><y>220</y><z>5</z></fieldOfView_mm></encodedSpace>"
              "<reconSpace><matrixSize><x>320</x><y>320</y><z>1</z></matrixSize><fieldOfView_mm><x>220</x><y>220</y><z>5</z></fieldOfView_mm></reconSpace>"
              "<trajectory>cartesian</trajectory></encoding></ismrmrdHeader>")
    for name, sl in (("volume", slice(0, SLICES)), ("slice", slice(SLICES // 2, SLICES // 2 + 1))):
        with h5py.File(f"{d}/{name}.h5", "w") as f:
            f["kspace"] = kspace[sl]
            f["mask"] = cols
            f["reconstruction_rss"] = rss[sl]
            f["ismrmrd_header"] = header
            f.attrs["acquisition"] = "AXT1"
            f.attrs["max"] = float(rss[sl].max())
            f.attrs["norm"] = float(np.linalg.norm(rss[sl]))
    k = kspace[SLICES // 2]                                  # [coils, 640, 320]
    writecfl(f"{d}/bart_os", np.transpose(k, (1, 2, 0))[:, :, None, :])       # [640, 320, 1, 16]
    cropped = fft2c(ifft2c(k)[:, H // 2:H // 2 + H]) * cols[None, None, :]
    writecfl(f"{d}/bart_crop", np.transpose(cropped, (1, 2, 0))[:, :, None, :])
    np.save(f"{d}/ref.npy", rss[SLICES // 2])


def timed(cmds, env=None, reps=3):
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for c in cmds:
            subprocess.run(c, check=True, capture_output=True, env=env)
        runs.append(time.perf_counter() - t0)
    return sorted(runs)[len(runs) // 2], runs


def psnr_scaled(img, ref):
    img = np.abs(img).astype(np.float64)
    scale = (img * ref).sum() / max(1e-12, (img * img).sum())
    mse = np.mean((scale * img - ref) ** 2)
    return float(10 * np.log10(ref.max() ** 2 / mse))


def main():
    gantry, d = sys.argv[1], sys.argv[2]
    os.makedirs(d, exist_ok=True)
    make(d)
    ref = np.load(f"{d}/ref.npy")
    emit(machine=subprocess.run(["lscpu"], capture_output=True, text=True).stdout.split("Model name:")[1].split("\n")[0].strip())
    for threads in ("1", "2"):
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        for label, base in (("as given 640×320", "bart_os"), ("readout oversampling removed first, 320×320", "bart_crop")):
            med, runs = timed([["bart", "ecalib", "-m", "1", f"{d}/{base}", f"{d}/{base}_maps"],
                               ["bart", "pics", "-l1", "-r", "0.01", "-i", "50", "-S", f"{d}/{base}", f"{d}/{base}_maps", f"{d}/{base}_img"]], env=env)
            img = readcfl(f"{d}/{base}_img").reshape(readcfl(f"{d}/{base}_img").shape[:2], order="F")
            if img.shape[0] == 2 * H:
                img = img[H // 2:H // 2 + H]
            emit(job="CS-L1, one 16-coil slice, coil maps + 50 iterations", tool=f"BART ecalib + pics ({label})", threads=int(threads),
                 median_s=round(med, 3), runs=[round(r, 3) for r in runs], psnr_db=round(psnr_scaled(img, ref), 2))
        for maps in ("espirit", "calibration"):
            med, runs = timed([[gantry, "recon", "--in", f"{d}/slice.h5", "--method", "cs-l1", "--maps", maps, "--out", f"{d}/gantry_cs.nii.gz",
                                "--threads", threads, "-q"]])
            img = nib.load(f"{d}/gantry_cs.nii.gz").get_fdata()[:, :, 0].T          # NIfTI (x, y) → rows × columns
            emit(job="CS-L1, one 16-coil slice, coil maps + 50 iterations", tool=f"Gantry recon --method cs-l1 --maps {maps}", threads=int(threads),
                 median_s=round(med, 3), runs=[round(r, 3) for r in runs], psnr_db=round(psnr_scaled(img, ref), 2))
        med, runs = timed([[gantry, "recon", "--in", f"{d}/volume.h5", "--method", "zf", "--out", f"{d}/gantry_zf.nii.gz", "--threads", threads, "-q"]])
        emit(job="zero-filled, 16-slice 16-coil volume", tool="Gantry recon --method zf", threads=int(threads), median_s=round(med, 3), runs=[round(r, 3) for r in runs])


if __name__ == "__main__":
    main()
