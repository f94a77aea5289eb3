"""Held-out scores for the shipped tumour networks at BraTS's 1 mm voxel size and on healthy brains.

    .venv-peers/bin/python scripts/eval_heldout_spacing.py [GANTRY] [OUT] [MODELS_DIR]

Subjects are Colin27 phantoms (Debian's mricron-data) with seeds 901–904, never used in training
(seed 7) nor in any tuning; nothing here was tuned. For each shipped checkpoint: WT/TC/ET Dice at
1 mm (segmented at the checkpoint's 2 mm training spacing and brought back, as `gantry segment`
does) and at 2 mm, and the predicted tumour volume on the same four brains without a tumour
(the phantom spec with tumourRadiusMM [0, 0]) at 1 mm and 2 mm. Prints a Markdown table.
"""
import json
import os
import subprocess
import sys

import nibabel as nib
import numpy as np

G = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/release/gantry")
OUT = sys.argv[2] if len(sys.argv) > 2 else ".build-data/heldout-spacing"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS_DIR = os.path.abspath(sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "models"))
# Held-out seeds; EVAL_SEEDS=801,802,803,804 gives the development set choices are tuned on.
SEEDS = [int(s) for s in os.environ.get("EVAL_SEEDS", "901,902,903,904").split(",")]
MODELS = [m for m in ["brain-tumour-unet3d", "brain-tumour-attention-unet3d", "brain-tumour-revmbunet3d"]
          if os.path.exists(os.path.join(MODELS_DIR, m + ".safetensors"))]
CONTRASTS = ["T1w", "ce-gd_T1w", "T2w", "FLAIR"]
os.makedirs(OUT, exist_ok=True)
spec = json.load(open(os.path.join(ROOT, "phantoms", "brain-tumour.json")))
spec["tumourRadiusMM"] = [0, 0]
healthy_spec = os.path.join(OUT, "healthy.json")
json.dump(spec, open(healthy_spec, "w"))


def run(*args):
    subprocess.run([G, *args, "-q"], check=True, stdout=subprocess.DEVNULL)


def phantom(seed, spacing, healthy):
    d = os.path.join(OUT, f"{'healthy' if healthy else 'tumour'}-{seed}-{spacing}mm")
    if not os.path.exists(os.path.join(d, "FLAIR.nii.gz")):
        size = "192" if spacing == 1 else "96"
        run("phantom", "brain-tumour", "--spacing", str(spacing), "--size", size, "--seed", str(seed), "--out", d,
            *(["--spec", healthy_spec] if healthy else []))
    return d


def segment(model, d):
    out = os.path.join(d, f"{os.path.basename(MODELS_DIR)}-{model}.nii.gz")
    run("segment", "--model", os.path.join(MODELS_DIR, model + ".safetensors"),
        *sum([["--in", os.path.join(d, c + ".nii.gz")] for c in CONTRASTS], []), "--out", out)
    return out


rows = []
for model in MODELS:
    row = {"model": model}
    for spacing in (1, 2):
        wt, tc, et = [], [], []
        for seed in SEEDS:
            d = phantom(seed, spacing, False)
            r = subprocess.run([G, "dice", "--pred", segment(model, d), "--ref", os.path.join(d, "label-tumour_dseg.nii.gz"), "--brats", "--json"],
                               check=True, capture_output=True, text=True)
            j = json.loads(r.stdout)
            wt.append(j["WT"]["dice"]); tc.append(j["TC"]["dice"]); et.append(j["ET"]["dice"])
        row[f"{spacing}mm"] = (np.mean(wt), np.min(wt), np.mean(tc), np.mean(et))
        vols = []
        for seed in SEEDS:
            m = nib.load(segment(model, phantom(seed, spacing, True)))
            vols.append(float((np.asarray(m.dataobj) > 0).sum() * np.prod(m.header.get_zooms()[:3]) / 1000))
        row[f"healthy{spacing}mm"] = (np.mean(vols), np.max(vols))
    rows.append(row)
    print(model, row, flush=True)

print("\n| model | WT Dice 1 mm (mean, min) | TC / ET 1 mm | WT Dice 2 mm (mean, min) | TC / ET 2 mm | healthy brain tumour volume 1 mm (mean, max) | 2 mm (mean, max) |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    a, b = r["1mm"], r["2mm"]
    h1, h2 = r["healthy1mm"], r["healthy2mm"]
    print(f"| {r['model']} | {a[0]:.3f}, {a[1]:.3f} | {a[2]:.3f} / {a[3]:.3f} | {b[0]:.3f}, {b[1]:.3f} | {b[2]:.3f} / {b[3]:.3f} | "
          f"{h1[0]:.2f} mL, {h1[1]:.2f} mL | {h2[0]:.2f} mL, {h2[1]:.2f} mL |")
