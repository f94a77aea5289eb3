"""Whole-head registration with and without brain masks, side by side with ANTs SyN, on held-out pairs.

    .venv-peers/bin/python scripts/eval_wholehead_registration.py [GANTRY] [WORK] [IMAGE]

IMAGE: ch2 (whole head, the default) or ch2bet (the same pairs skull-stripped).

Pairs: Colin27 whole head (`ch2`, skull and scalp present) at 2 mm moved by the known affine and a
smooth random warp of scripts/bench/registration_compare.py, seeds 31–33 (never used before; nothing
tuned). Gantry `register --type syn` without masks and with `--fixed-mask/--moving-mask` (the
brain masks from `ch2bet`, moved with the image); ANTs SyN (antspyx defaults) without masks and
with `mask`/`moving_mask`. Score: AAL mean Dice of the registered moving labels against the fixed
ones. Prints a Markdown table.
"""
import os
import subprocess
import sys
import time

import ants
import nibabel as nib
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
from registration_compare import dice_mean, make_pair  # noqa: E402

G = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/release/gantry")
WORK = sys.argv[2] if len(sys.argv) > 2 else ".build-data/wholehead"
IMAGE = sys.argv[3] if len(sys.argv) > 3 else "ch2"
rows = []
for seed in (31, 32, 33):
    work = f"{WORK}/seed{seed}"
    os.makedirs(work, exist_ok=True)
    lab, mask, mlab, mmask = make_pair(work, seed=seed, image=IMAGE)
    labels = [l for l in np.unique(lab) if l != 0]
    f, m = f"{work}/fixed.nii.gz", f"{work}/moving.nii.gz"
    row = {"seed": seed, "before": dice_mean(mlab, lab, labels)}
    for name, extra in [("gantry", []), ("gantry_masks", ["--fixed-mask", f"{work}/fixed_mask.nii.gz", "--moving-mask", f"{work}/moving_mask.nii.gz"])]:
        t0 = time.perf_counter()
        subprocess.run([G, "register", "--fixed", f, "--moving", m, "--moving-labels", f"{work}/moving_aal.nii.gz", "--type", "syn",
                        "--out", f"{work}/{name}", "-q", *extra], check=True, capture_output=True)
        row[name] = (dice_mean(np.asarray(nib.load(f"{work}/{name}/warped_labels.nii.gz").dataobj), lab, labels), time.perf_counter() - t0)
    fi, mi = ants.image_read(f), ants.image_read(m)
    for name, kw in [("ants", {}), ("ants_masks", {"mask": ants.image_read(f"{work}/fixed_mask.nii.gz"), "moving_mask": ants.image_read(f"{work}/moving_mask.nii.gz")})]:
        t0 = time.perf_counter()
        reg = ants.registration(fixed=fi, moving=mi, type_of_transform="SyN", **kw)
        secs = time.perf_counter() - t0
        w = ants.apply_transforms(fi, ants.image_read(f"{work}/moving_aal.nii.gz"), reg["fwdtransforms"], interpolator="genericLabel")
        row[name] = (dice_mean(w.numpy(), lab, labels), secs)
    rows.append(row)
    print(row, flush=True)

print("\n| pair (seed) | before | Gantry SyN | Gantry SyN + masks | ANTs SyN | ANTs SyN + masks |")
print("|---|---|---|---|---|---|")
for r in rows:
    cells = " | ".join(f"{r[k][0]:.3f} ({r[k][1]:.1f} s)" for k in ("gantry", "gantry_masks", "ants", "ants_masks"))
    print(f"| {r['seed']} | {r['before']:.3f} | {cells} |")
mean = {k: np.mean([r[k][0] for r in rows]) for k in ("gantry", "gantry_masks", "ants", "ants_masks")}
print("| mean | " + f"{np.mean([r['before'] for r in rows]):.3f} | " + " | ".join(f"{mean[k]:.3f}" for k in ("gantry", "gantry_masks", "ants", "ants_masks")) + " |")
