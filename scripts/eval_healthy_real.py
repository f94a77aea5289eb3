"""Tumour found in real healthy brains by the shipped segmentation models, and whether Gantry flags the input.

    .venv-peers/bin/python scripts/eval_healthy_real.py [GANTRY] [WORK]

No package ships a real four-contrast healthy brain, so each real T1 is given for all four contrasts
— what a user does who has only a T1 (an input the phantom-trained models never saw): Colin27
skull-stripped and whole head (mricron-data), MNI152 2009a (nilearn) and MNI152NLin6Asym 1 mm
(nimare). Prints, per model and image, the predicted tumour volume (mL) and whether `gantry segment`
warned that the inputs are unlike the training data. Nothing tuned.
"""
import glob
import os
import subprocess
import sys

import nibabel as nib
import numpy as np

G = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/release/gantry")
WORK = sys.argv[2] if len(sys.argv) > 2 else ".build-data/healthy-real"
os.makedirs(WORK, exist_ok=True)
SITE = glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".venv-peers", "lib", "python3*", "site-packages"))[0]
IMAGES = {
    "Colin27 skull-stripped": "/usr/share/mricron/templates/ch2bet.nii.gz",
    "Colin27 whole head": "/usr/share/mricron/templates/ch2.nii.gz",
    "MNI152 2009a (brain)": f"{SITE}/nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "MNI152NLin6Asym (whole head)": f"{SITE}/nimare/resources/templates/tpl-MNI152NLin6Asym_res-01_T1w.nii.gz",
}
MODELS = ["brain-tumour-unet3d", "brain-tumour-attention-unet3d", "brain-tumour-revmbunet3d"]
print("| image (T1 as all four contrasts) | " + " | ".join(MODELS) + " |")
print("|---|" + "---|" * len(MODELS))
for name, path in IMAGES.items():
    cells = []
    for m in MODELS:
        out = f"{WORK}/{m}-{abs(hash(name)) % 10**6}.nii.gz"
        r = subprocess.run([G, "segment", "--model", f"models/{m}.safetensors", "--in", path, "--in", path, "--in", path, "--in", path,
                            "--out", out, "-q"], capture_output=True, text=True, check=True)
        img = nib.load(out)
        mL = float((np.asarray(img.dataobj) > 0).sum() * np.prod(img.header.get_zooms()[:3]) / 1000)
        cells.append(f"{mL:.1f} mL, {'flagged' if 'unlike the' in r.stderr else 'not flagged'}")
    print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
