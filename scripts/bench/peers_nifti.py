#!/usr/bin/env python3
"""NIfTI read/write timings of the peers (nibabel, SimpleITK), same files and sizes as gantry-bench.

Usage: peers_nifti.py DIR [REPEATS]. `make-inputs` first converts Gantry's raw inputs into
nibabel-written .nii/.nii.gz files that every tool then reads. Prints one JSON object per line.
"""
import json
import os
import sys
import time

import nibabel as nib
import numpy as np
import SimpleITK as sitk


def timed(name, tool, reps, fn, **extra):
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    print(json.dumps({"name": name, "tool": tool, "median_s": sorted(runs)[len(runs) // 2], "runs": runs, **extra}), flush=True)


def make_inputs(d):
    for stem in ["vol256_f32", "brats_i16"]:
        img = nib.load(f"{d}/{stem}_gantry.nii")
        data = np.asanyarray(img.dataobj)
        out = nib.Nifti1Image(data, img.affine, img.header)
        nib.save(out, f"{d}/{stem}_nibabel.nii")
        nib.save(out, f"{d}/{stem}_nibabel.nii.gz")  # nibabel's default gzip level (1)


def main():
    d = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "make-inputs":
        make_inputs(d)
        return
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(2)
    for label, stem in [("256³ float32", "vol256_f32"), ("240×240×155 int16", "brats_i16")]:
        for ext in ["nii", "nii.gz"]:
            path = f"{d}/{stem}_nibabel.{ext}"
            timed(f"nifti read {label} .{ext}", "nibabel", reps,
                  lambda: nib.load(path, mmap=False).get_fdata(dtype=np.float32))
            timed(f"nifti read {label} .{ext}", "SimpleITK", reps,
                  lambda: sitk.GetArrayViewFromImage(sitk.ReadImage(path, sitk.sitkFloat32)))
            img = nib.load(path)
            data = np.asanyarray(img.dataobj)
            out = nib.Nifti1Image(data, img.affine, img.header)
            timed(f"nifti write {label} .{ext}", "nibabel", reps,
                  lambda: nib.save(out, f"{d}/{stem}_nib_out.{ext}"), gzip_level=1)
            simg = sitk.ReadImage(path)
            timed(f"nifti write {label} .{ext}", "SimpleITK", reps,
                  lambda: sitk.WriteImage(simg, f"{d}/{stem}_sitk_out.{ext}", useCompression=ext.endswith("gz"), compressionLevel=1),
                  gzip_level=1)
            if ext == "nii.gz":
                for tool, f in [("nibabel", f"{d}/{stem}_nib_out.{ext}"), ("SimpleITK", f"{d}/{stem}_sitk_out.{ext}")]:
                    print(json.dumps({"name": f"nifti size {label} .nii.gz", "tool": tool, "bytes": os.path.getsize(f)}), flush=True)


if __name__ == "__main__":
    main()
