#!/usr/bin/env python3
"""HDF5 k-space read timings of h5py on the files gantry-bench hdf5 reads.

Usage: peers_hdf5.py DIR make-inputs | peers_hdf5.py DIR [REPEATS]. make-inputs writes a
fastMRI-size k-space (16 slices × 16 coils × 640 × 320 complex64, seeded noise) as the published
files store it (contiguous) and chunked per slice and coil with gzip level 1. Prints one JSON
object per line.
"""
import json
import sys
import time

import h5py
import numpy as np

SHAPE = (16, 16, 640, 320)


def make_inputs(d):
    rng = np.random.default_rng(7)
    k = (rng.standard_normal(SHAPE, dtype=np.float32) + 1j * rng.standard_normal(SHAPE, dtype=np.float32)).astype(np.complex64)
    with h5py.File(f"{d}/kspace_contiguous.h5", "w") as f:
        f.create_dataset("kspace", data=k)
    with h5py.File(f"{d}/kspace_gzip.h5", "w") as f:
        f.create_dataset("kspace", data=k, chunks=(1, 1, 640, 320), compression="gzip", compression_opts=1)


def main():
    d = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "make-inputs":
        make_inputs(d)
        return
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    for label, name in [("contiguous", "kspace_contiguous.h5"), ("chunked gzip", "kspace_gzip.h5")]:
        runs = []
        for _ in range(reps):
            t0 = time.perf_counter()
            with h5py.File(f"{d}/{name}", "r") as f:
                k = f["kspace"][()]
            runs.append(time.perf_counter() - t0)
        print(json.dumps({"name": f"hdf5 read k-space {label}", "tool": "h5py", "median_s": sorted(runs)[len(runs) // 2],
                          "runs": runs, "data_bytes": int(k.nbytes)}), flush=True)


if __name__ == "__main__":
    main()
