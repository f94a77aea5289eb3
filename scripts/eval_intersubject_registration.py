"""Real inter-subject registration, side by side with ANTs SyN: Colin27 onto two MNI152 templates.

    .venv-peers/bin/python scripts/eval_intersubject_registration.py [GANTRY] [WORK]

Nobody here made these images and no warp is known: the moving image is Colin27 (Debian's
mricron-data), the fixed one a different brain (an average of 152) as two packages ship it:
- whole head: `ch2` (skull and scalp) onto nimare's MNI152NLin6Asym 2 mm T1w (skull and scalp),
- skull-stripped: `ch2bet` onto nilearn's MNI152 2009a symmetric T1 (brain only, taken to 2 mm).
Scores, the same for both tools: Dice of the brain masks (Colin27's `ch2bet` mask moved, against the
template's own brain mask), and the tissue overlap — grey matter, white matter and CSF labelled
in each image by the same three-class intensity clustering inside its brain mask, Colin27's labels
moved and compared with the template's (mean of the three Dice, and GM and WM alone). Gantry:
`register --type syn` with the defaults, then with `--fixed-mask/--moving-mask`; ANTs: antspyx
`registration(type_of_transform="SyN")` defaults, then with `mask/moving_mask`. Nothing was tuned
on these pairs. Prints a Markdown table.
"""
import glob
import os
import subprocess
import sys
import time

import ants
import nibabel as nib
import numpy as np
from nibabel.processing import resample_to_output

T = "/usr/share/mricron/templates"
SITE = glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".venv-peers", "lib", "python3*", "site-packages"))
SITE = SITE[0] if SITE else os.path.dirname(os.path.dirname(nib.__file__))
NIMARE = os.path.join(SITE, "nimare", "resources", "templates")
NILEARN = os.path.join(SITE, "nilearn", "datasets", "data")

G = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/release/gantry")
WORK = sys.argv[2] if len(sys.argv) > 2 else ".build-data/intersubject"


def tissue_labels(image, brain):
    """CSF 1, GM 2, WM 3 by 1D k-means (k = 3) of the T1 intensities inside `brain`, started at
    quantiles so the result is deterministic."""
    v = image[brain].astype(np.float64)
    centres = np.quantile(v, [0.15, 0.5, 0.85])
    for _ in range(100):
        assign = np.argmin(np.abs(v[:, None] - centres[None, :]), axis=1)
        new = np.array([v[assign == k].mean() for k in range(3)])
        if np.allclose(new, centres):
            break
        centres = new
    out = np.zeros(image.shape, np.uint8)
    out[brain] = (np.argsort(np.argsort(centres))[assign] + 1).astype(np.uint8)
    return out


def dice(a, b):
    s = a.sum() + b.sum()
    return float(2 * (a & b).sum() / s) if s else 1.0


def save(data, like, path):
    nib.save(nib.Nifti1Image(data, like.affine), path)


def prepare(work, moving_name, fixed_img, fixed_mask):
    os.makedirs(work, exist_ok=True)
    mov = nib.load(f"{T}/{moving_name}.nii.gz")
    bet = nib.load(f"{T}/ch2bet.nii.gz")
    mbrain = np.asarray(bet.dataobj) > 0
    fdata = np.asarray(fixed_img.dataobj, dtype=np.float32)
    paths = {"fixed": f"{work}/fixed.nii.gz", "moving": f"{work}/moving.nii.gz",
             "fixed_mask": f"{work}/fixed_mask.nii.gz", "moving_mask": f"{work}/moving_mask.nii.gz",
             "moving_tissue": f"{work}/moving_tissue.nii.gz"}
    save(fdata, fixed_img, paths["fixed"])
    save(np.asarray(mov.dataobj, dtype=np.float32), mov, paths["moving"])
    save(fixed_mask.astype(np.uint8), fixed_img, paths["fixed_mask"])
    save(mbrain.astype(np.uint8), mov, paths["moving_mask"])
    # Colin27's tissue classes from the skull-stripped image (same grid as ch2).
    save(tissue_labels(np.asarray(bet.dataobj, dtype=np.float32), mbrain), mov, paths["moving_tissue"])
    return paths, tissue_labels(fdata, fixed_mask)


def score(tissue, brain, fixed_tissue, fixed_mask):
    d = [dice(tissue == k, fixed_tissue == k) for k in (1, 2, 3)]
    return {"brain": dice(brain > 0, fixed_mask), "tissue": float(np.mean(d)), "gm": d[1], "wm": d[2]}


def run_pair(name, moving_name, fixed_img, fixed_mask):
    work = f"{WORK}/{name}"
    p, fixed_tissue = prepare(work, moving_name, fixed_img, fixed_mask)
    rows = {}
    # Before: Colin27's labels taken onto the template grid by the scanner coordinates alone.
    fi = ants.image_read(p["fixed"])
    ident = lambda path: ants.apply_transforms(fi, ants.image_read(path), [], interpolator="genericLabel").numpy()
    rows["before"] = (score(ident(p["moving_tissue"]), ident(p["moving_mask"]), fixed_tissue, fixed_mask), 0.0)
    for label, extra in [("Gantry SyN", []), ("Gantry SyN + masks", ["--fixed-mask", p["fixed_mask"], "--moving-mask", p["moving_mask"]])]:
        out = f"{work}/{label.replace(' ', '_').replace('+', 'plus')}"
        t0 = time.perf_counter()
        subprocess.run([G, "register", "--fixed", p["fixed"], "--moving", p["moving"], "--type", "syn",
                        "--moving-labels", p["moving_tissue"], "--moving-labels", p["moving_mask"],
                        "--out", out, "-q", *extra], check=True, capture_output=True)
        secs = time.perf_counter() - t0
        load = lambda f: np.asarray(nib.load(f"{out}/{f}").dataobj)
        rows[label] = (score(load("warped_labels.nii.gz"), load("warped_labels_2.nii.gz"), fixed_tissue, fixed_mask), secs)
    mi = ants.image_read(p["moving"])
    for label, kw in [("ANTs SyN", {}), ("ANTs SyN + masks", {"mask": ants.image_read(p["fixed_mask"]), "moving_mask": ants.image_read(p["moving_mask"])})]:
        t0 = time.perf_counter()
        reg = ants.registration(fixed=fi, moving=mi, type_of_transform="SyN", **kw)
        secs = time.perf_counter() - t0
        warp = lambda path: ants.apply_transforms(fi, ants.image_read(path), reg["fwdtransforms"], interpolator="genericLabel").numpy()
        rows[label] = (score(warp(p["moving_tissue"]), warp(p["moving_mask"]), fixed_tissue, fixed_mask), secs)
    for k, (s, t) in rows.items():
        print(name, k, {a: round(b, 3) for a, b in s.items()}, f"{t:.1f} s", flush=True)
    return rows


if __name__ == "__main__":
    nlin6 = nib.load(f"{NIMARE}/tpl-MNI152NLin6Asym_res-02_T1w.nii.gz")
    nlin6_mask = np.asarray(nib.load(f"{NIMARE}/tpl-MNI152NLin6Asym_res-02_desc-brain_mask.nii.gz").dataobj) > 0
    sym = resample_to_output(nib.load(f"{NILEARN}/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"), voxel_sizes=(2, 2, 2), order=1)
    sym_mask = np.asarray(sym.dataobj) > 0.05 * float(np.max(sym.dataobj))
    results = {"whole head → MNI152NLin6Asym": run_pair("wholehead", "ch2", nlin6, nlin6_mask),
               "skull-stripped → MNI152 2009a sym": run_pair("skullstripped", "ch2bet", sym, sym_mask)}
    print("\n| pair | method | brain-mask Dice | tissue Dice (mean CSF/GM/WM) | GM | WM | time |")
    print("|---|---|---|---|---|---|---|")
    for pair, rows in results.items():
        for k, (s, t) in rows.items():
            print(f"| {pair} | {k} | {s['brain']:.3f} | {s['tissue']:.3f} | {s['gm']:.3f} | {s['wm']:.3f} | {'—' if k == 'before' else f'{t:.1f} s'} |")
