"""Tumour found in real healthy brains by the shipped segmentation models, and whether Gantry flags the input.

    .venv-peers/bin/python scripts/eval_healthy_real.py [GANTRY] [WORK] [MODELS_DIR]

No package ships a real four-contrast healthy brain. Two stand-ins, both from anatomy Gantry did
not make:
- each real T1 given for all four contrasts — what a user who has only a T1 does, and a stress test
  (the T2 and FLAIR channels then carry T1 contrast, bright white matter, which is what diffuse
  FLAIR hyperintensity looks like): Colin27 skull-stripped and whole head (mricron-data), MNI152
  2009a (nilearn) and MNI152NLin6Asym 1 mm (nimare);
- the MNI152 2009a tissue maps (nilearn's GM and WM probabilities; CSF the rest of its brain)
  rendered as T1w, ce-gd T1w (no enhancement in a healthy brain), T2w and FLAIR by the spin-echo
  and inversion-recovery signal equations with published 3 T relaxation times (Wansapura et al.
  1999; Rooney et al. 2007 for CSF) and 2 % Rician noise — real anatomy, contrast from physics, not
  from Gantry's phantom tables.
Prints, per model and image, the predicted tumour volume (mL) and what `gantry segment` warned of
(intensities unlike the training data; the same image given for several contrasts). Nothing tuned.
"""
import glob
import os
import subprocess
import sys

import nibabel as nib
import numpy as np

G = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/release/gantry")
WORK = sys.argv[2] if len(sys.argv) > 2 else ".build-data/healthy-real"
MODELS_DIR = sys.argv[3] if len(sys.argv) > 3 else "models"
os.makedirs(WORK, exist_ok=True)
SITE = glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".venv-peers", "lib", "python3*", "site-packages"))[0]
IMAGES = {
    "Colin27 skull-stripped": "/usr/share/mricron/templates/ch2bet.nii.gz",
    "Colin27 whole head": "/usr/share/mricron/templates/ch2.nii.gz",
    "MNI152 2009a (brain)": f"{SITE}/nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "MNI152NLin6Asym (whole head)": f"{SITE}/nimare/resources/templates/tpl-MNI152NLin6Asym_res-01_T1w.nii.gz",
}


def rendered_mni2009a():
    """The MNI152 2009a tissue maps as four contrasts (signal equations, 3 T relaxation times)."""
    data = f"{SITE}/nilearn/datasets/data"
    t1img = nib.load(f"{data}/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz")
    brain = np.asarray(t1img.dataobj) > 0
    # the maps are stored as uint8: probability × 255
    gm = np.asarray(nib.load(f"{data}/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz").dataobj, dtype=float) / 255
    wm = np.asarray(nib.load(f"{data}/mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz").dataobj, dtype=float) / 255
    gm, wm = gm * brain, wm * brain
    csf = np.clip(1 - gm - wm, 0, 1) * brain
    # (T1 ms, T2 ms, proton density)
    tissues = {"gm": (1331, 110, 0.80, gm), "wm": (832, 80, 0.69, wm), "csf": (4163, 2000, 1.0, csf)}
    def spin_echo(tr, te):
        return sum(p * (1 - np.exp(-tr / t1)) * np.exp(-te / t2) * w for t1, t2, p, w in tissues.values())
    def inversion_recovery(tr, ti, te):
        return sum(p * np.abs(1 - 2 * np.exp(-ti / t1) + np.exp(-tr / t1)) * np.exp(-te / t2) * w for t1, t2, p, w in tissues.values())
    rng = np.random.default_rng(2009)
    contrasts = {"T1w": spin_echo(500, 10), "ce-gd_T1w": spin_echo(500, 10), "T2w": spin_echo(4000, 100),
                 "FLAIR": inversion_recovery(9000, 2500, 100)}
    paths = []
    for name, s in contrasts.items():
        sigma = 0.02 * s[wm > 0.9].mean()
        noisy = np.hypot(s + rng.normal(0, sigma, s.shape), rng.normal(0, sigma, s.shape)) * brain
        path = f"{WORK}/mni2009a_rendered_{name}.nii.gz"
        nib.save(nib.Nifti1Image(noisy.astype(np.float32), t1img.affine), path)
        paths.append(path)
    return paths


IMAGES["MNI152 2009a tissues rendered as four contrasts"] = rendered_mni2009a()
MODELS = [m for m in ["brain-tumour-unet3d", "brain-tumour-attention-unet3d", "brain-tumour-revmbunet3d"]
          if os.path.exists(f"{MODELS_DIR}/{m}.safetensors")]
print("| healthy brain | " + " | ".join(MODELS) + " |")
print("|---|" + "---|" * len(MODELS))
for name, path in IMAGES.items():
    cells = []
    for m in MODELS:
        paths = path if isinstance(path, list) else [path] * 4
        out = f"{WORK}/{m}-{name.replace(' ', '_').replace('(', '').replace(')', '')}.nii.gz"
        r = subprocess.run([G, "segment", "--model", f"{MODELS_DIR}/{m}.safetensors", *sum([["--in", p] for p in paths], []),
                            "--out", out, "-q"], capture_output=True, text=True, check=True)
        img = nib.load(out)
        mL = float((np.asarray(img.dataobj) > 0).sum() * np.prod(img.header.get_zooms()[:3]) / 1000)
        flags = [w for w, text in (("intensities", "unlike the"), ("same image", "the same image")) if text in r.stderr]
        cells.append(f"{mL:.1f} mL, " + (f"flagged: {', '.join(flags)}" if flags else "not flagged"))
    print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
