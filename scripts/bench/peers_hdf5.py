#!/usr/bin/env python3
"""HDF5 k-space read timings of h5py on the files gantry-bench hdf5 reads.

Usage: peers_hdf5.py DIR make-inputs | peers_hdf5.py DIR [REPEATS]. make-inputs writes a
fastMRI-size k-space (16 slices × 16 coils × 640 × 320 complex64, seeded noise) as the published
files store it (contiguous) and chunked per slice and coil with gzip level 1. Prints one JSON
object per line.
"""
import sys

import h5py
import numpy as np
from peers_nifti import timed  # one JSON row per timed name, as every peers script prints

SHAPE = (16, 16, 640, 320)


def make_inputs(d):
    rng = np.random.default_rng(7)
    k = (rng.standard_normal(SHAPE, dtype=np.float32) + 1j * rng.standard_normal(SHAPE, dtype=np.float32)).astype(np.complex64)
    with h5py.File(f"{d}/kspace_contiguous.h5", "w") as f:
        f.create_dataset("kspace", data=k)
    with h5py.File(f"{d}/kspace_gzip.h5", "w") as f:
        f.create_dataset("kspace", data=k, chunks=(1, 1, 640, 320), compression="gzip", compression_opts=1)


def read(path):
    with h5py.File(path, "r") as f:
        return f["kspace"][()]


if __name__ == "__main__":
    folder, mode = sys.argv[1], (sys.argv[2:] or ["3"])[0]
    if mode == "make-inputs":
        make_inputs(folder)
    else:
        for label, name in [("contiguous", "kspace_contiguous.h5"), ("chunked gzip", "kspace_gzip.h5")]:
            timed(f"hdf5 read k-space {label}", "h5py", int(mode), lambda: read(f"{folder}/{name}"), data_bytes=int(np.prod(SHAPE)) * 8)
