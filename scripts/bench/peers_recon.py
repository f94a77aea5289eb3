#!/usr/bin/env python3
"""Reconstruction peers: numpy.fft (same centred orthonormal transform) and BART (Debian).

Usage: peers_recon.py DIR make-inputs | fft | pics. `make-inputs` makes 8-coil 256² and 320² BART
phantom k-space, ESPIRiT maps (bart ecalib) and a 4× random 1D mask (8 % centre), writing
DIR/pics{N}_{us,maps,mask,full}.cfl for both tools. `pics` times `bart ecalib` and
`bart pics -l1 -r 0.01 -i 50` (OMP_NUM_THREADS 1 and 2, whole command, median of 3) and prints
the PSNR of BART's and Gantry's reconstructions against the fully sampled RSS.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np


def readcfl(base):
    dims = [int(x) for x in open(base + ".hdr").read().split("\n")[1].split()]
    return np.fromfile(base + ".cfl", dtype=np.complex64).reshape(dims, order="F")


def writecfl(base, a):
    a = np.asarray(a, dtype=np.complex64)
    dims = list(a.shape) + [1] * (16 - a.ndim)
    open(base + ".hdr", "w").write("# Dimensions\n" + " ".join(map(str, dims)) + "\n")
    a.ravel(order="F").tofile(base + ".cfl")


def emit(**kw):
    print(json.dumps(kw), flush=True)


def timed(cmd, reps=3, env=None):
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        runs.append(time.perf_counter() - t0)
    return sorted(runs)[len(runs) // 2], runs


def psnr(x, ref):
    mse = np.mean((np.abs(x) - ref) ** 2)
    return 10 * np.log10(ref.max() ** 2 / mse)


def main():
    d, what = sys.argv[1], sys.argv[2]
    if what == "make-inputs":
        for n in (256, 320):
            b = f"{d}/pics{n}"
            subprocess.run(["bart", "phantom", "-k", "-s", "8", "-x", str(n), b + "_full"], check=True)
            subprocess.run(["bart", "ecalib", "-m", "1", b + "_full", b + "_maps"], check=True, capture_output=True)
            k = readcfl(b + "_full").reshape(n, n, 1, 8, order="F")
            rng = np.random.default_rng(0)
            low = round(n * 0.08)
            lines = rng.random(n) < (n / 4 - low) / (n - low)
            pad = (n - low + 1) // 2
            lines[pad:pad + low] = True
            mask = np.broadcast_to(lines[None, :], (n, n)).astype(np.complex64)   # lines along y (BART dim 1)
            writecfl(b + "_mask", mask)
            writecfl(b + "_us", k * mask[:, :, None, None])
        return
    if what == "fft":
        rng = np.random.default_rng(0)
        for label, shape in [("2D 15×320×320", (15, 320, 320)), ("3D 256³", (256, 256, 256))]:
            x = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
            axes = (-2, -1) if len(shape) == 3 and shape[0] == 15 else (0, 1, 2)
            runs = []
            for _ in range(5):
                t0 = time.perf_counter()
                np.fft.fftshift(np.fft.fftn(np.fft.ifftshift(x, axes=axes), axes=axes, norm="ortho"), axes=axes)
                runs.append(time.perf_counter() - t0)
            emit(name=f"fft {label} centred ortho", tool="numpy", median_s=sorted(runs)[2], runs=runs)
        return
    if what == "pics":
        for n in (256, 320):
            b = f"{d}/pics{n}"
            for threads in ("1", "2"):
                env = dict(os.environ, OMP_NUM_THREADS=threads)
                med, runs = timed(["bart", "pics", "-l1", "-r", "0.01", "-i", "50", "-e", "-S", b + "_us", b + "_maps", b + "_bart"], env=env)
                emit(name=f"pics -l1 8-coil {n}² 50 it", tool=f"BART ({threads} thr)", median_s=med, runs=runs)
                med, runs = timed(["bart", "ecalib", "-m", "1", b + "_us", b + "_ecal"], env=env)
                emit(name=f"ecalib 8-coil {n}²", tool=f"BART ({threads} thr)", median_s=med, runs=runs)
            full = readcfl(b + "_full").reshape(n, n, 8, order="F")
            ref = np.sqrt((np.abs(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(full, axes=(0, 1)), axes=(0, 1), norm="ortho"), axes=(0, 1))) ** 2).sum(axis=2))
            for tool, f in (("BART", b + "_bart"), ("gantry", b + "_gantry")):
                if os.path.exists(f + ".cfl"):
                    img = readcfl(f).reshape(n, n, order="F")
                    emit(name=f"pics -l1 8-coil {n}² PSNR", tool=tool, psnr_db=float(psnr(img, ref)))


if __name__ == "__main__":
    main()
