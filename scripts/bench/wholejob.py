#!/usr/bin/env python3
"""Whole jobs, as a user runs them, Gantry's whole command against the peer's whole job on the
same files, rounds alternating (the machine's speed drifts over minutes); one JSON line per run
for scripts/bench/report.py ("wholejob" rows: median of the rounds, peak resident memory, and a
quality figure showing both did the same job).

Usage: wholejob.py GANTRY DIR [ROUNDS]

1. Tumour segmentation of one BraTS-size case (4 × 240×240×155, 1 mm, nnU-Net names), shipped
   U-Net, 48³ windows, overlap 0.5, Gaussian weighting: `gantry segment --grid input` vs MONAI
   (wholejob_segment.py, same weights) — and Gantry's default (at the checkpoint's 2 mm).
2. CS-L1 of a 16-slice 16-coil fastMRI-size file ([16, 16, 640, 320], fastmri_size_recon.py):
   `gantry recon --method cs-l1` (ESPIRiT maps, and its default calibration maps) vs BART
   `ecalib -m1` + `pics -l1 -r 0.01 -i 50 -S` per slice on the slices with readout oversampling
   removed (what a careful BART user runs; 32 commands).
3. CIRIM of the same file: `gantry recon --method cirim` vs atommic's RIMBlock cascades with the
   same weights (wholejob_cirim.py).
4. Registration of a whole-head Colin27 pair (known affine + smooth warp, registration_compare.py)
   with two label maps carried along: `gantry register --type syn` vs ANTs SyN (antspyx defaults)
   reading, registering, warping image and labels and writing them.
5. `pipelines/full-study.yaml` on a 4-subject phantom study, `--jobs 2` (Gantry alone), with the
   stage breakdown from the stages' provenance.
"""
import glob
import json
import os
import statistics
import subprocess
import sys
import time

import h5py
import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, HERE)
import fastmri_size_recon as fastmri  # noqa: E402
import registration_compare as regcmp  # noqa: E402
import wholejob_segment as seg  # noqa: E402

PY = sys.executable
SEG_JOB = "tumour segmentation, one BraTS-size case 4×240×240×155 (shipped U-Net, 48³ windows, overlap 0.5, Gaussian)"
CS_JOB = "CS-L1, 16-slice 16-coil fastMRI-size volume [16, 16, 640, 320], coil maps + 50 iterations"
CIRIM_JOB = "CIRIM IndRNN 3×8 (shipped weights), the same 16-slice 16-coil volume"
REG_JOB = "registration, whole-head Colin27 pair 2 mm (known affine + 6 mm warp), SyN, image + 2 label maps warped"
STUDY_JOB = "pipelines/full-study.yaml, 4 phantom subjects (60 stages), local executor --jobs 2"


def emit(**kw):
    print(json.dumps(kw), flush=True)


def measured(cmd, env=None):
    """Runs a command; its wall time and peak resident memory (MB) from the kernel's accounting."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate()
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err.decode()[-500:]}")
    return seconds, out.decode()


def peak_of(cmd, env=None):
    """Peak RSS (MB) of a command, run once more under /usr/bin/time (wait4 accounting)."""
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True, env=env)
    return int(r.stderr.strip().splitlines()[-1]) / 1024


def row(job, tool, runs, **extra):
    emit(wholejob=job, tool=tool, median_s=statistics.median(runs), runs=[round(r, 3) for r in runs], **extra)


def volume_psnr(path, ref):
    v = np.asarray(nib.load(path).dataobj).squeeze()                 # NIfTI (x, y, slice) → [slice, y, x]
    return fastmri.psnr_scaled(v.transpose(2, 1, 0), ref)


def segmentation(gantry, d, rounds):
    os.makedirs(d, exist_ok=True)
    seg.make_case(gantry, d)
    inputs = sum((["--in", f"{d}/CASE_{k:04d}.nii.gz"] for k in range(4)), [])
    model = os.path.join(ROOT, "models", "brain-tumour-unet3d.safetensors")
    # MONAI-identical mode: the input grid and no lesion clean-up (MONAI's inferer has neither step)
    g_cmd = [gantry, "segment", "--model", model, *inputs, "--grid", "input", "--min-component-mm3", "0", "--out", f"{d}/gantry.nii.gz", "-q"]
    d_cmd = [gantry, "segment", "--model", model, *inputs, "--out", f"{d}/gantry-default.nii.gz", "-q"]
    g, m, dflt, m_peak = [], [], [], []
    for _ in range(rounds):
        g.append(measured(g_cmd)[0])
        _, out = measured([PY, os.path.join(HERE, "wholejob_segment.py"), "monai", d, f"{d}/monai.nii.gz"])
        r = json.loads(out.strip().splitlines()[-1])
        m.append(r["seconds"]); m_peak.append(r["peak_mb"])
        dflt.append(measured(d_cmd)[0])
    agree = json.loads(subprocess.run([PY, os.path.join(HERE, "wholejob_segment.py"), "agree", f"{d}/gantry.nii.gz", f"{d}/monai.nii.gz"],
                                      capture_output=True, text=True, check=True).stdout)["agree"]
    row(SEG_JOB, "gantry", g, peak_mb=peak_of(g_cmd), quality=f"labels equal to MONAI's on {100 * agree:.2f} % of voxels")
    row(SEG_JOB, "MONAI", m, peak_mb=max(m_peak), quality="sliding_window_inference, sw_batch_size 1, weights loaded to mask saved")
    row(SEG_JOB, "gantry (default: at the model's 2 mm, probabilities resampled back)", dflt, peak_mb=peak_of(d_cmd), peer="none")


def fastmri_file(d):
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(f"{d}/volume.h5"):
        fastmri.make(d)
    with h5py.File(f"{d}/volume.h5", "r") as f:
        k, cols, ref = f["kspace"][()], np.asarray(f["mask"][()], bool), f["reconstruction_rss"][()]
    h = k.shape[2] // 2
    for s in range(k.shape[0]):                                        # per-slice BART inputs, oversampling removed
        cropped = fastmri.fft2c(fastmri.ifft2c(k[s])[:, h // 2:h // 2 + h]) * cols[None, None, :]
        fastmri.writecfl(f"{d}/bart_s{s:02d}", np.transpose(cropped, (1, 2, 0))[:, :, None, :])
    return ref, k.shape[0]


def cs_volume(gantry, d, rounds, ref, slices):
    env = dict(os.environ, OMP_NUM_THREADS=str(os.cpu_count()))
    bart = [c for s in range(slices) for c in (
        ["bart", "ecalib", "-m", "1", f"{d}/bart_s{s:02d}", f"{d}/bart_s{s:02d}_maps"],
        ["bart", "pics", "-l1", "-r", "0.01", "-i", "50", "-S", f"{d}/bart_s{s:02d}", f"{d}/bart_s{s:02d}_maps", f"{d}/bart_s{s:02d}_img"])]
    runs = {"espirit": [], "calibration": [], "bart": []}
    for _ in range(rounds):
        for maps in ("espirit", "calibration"):
            runs[maps].append(measured([gantry, "recon", "--in", f"{d}/volume.h5", "--method", "cs-l1", "--maps", maps,
                                        "--out", f"{d}/gantry_cs_{maps}.nii.gz", "-q"])[0])
        t0 = time.perf_counter()
        for c in bart:
            measured(c, env)
        runs["bart"].append(time.perf_counter() - t0)
    bart_img = np.stack([fastmri.readcfl(f"{d}/bart_s{s:02d}_img").reshape(ref.shape[1:], order="F") for s in range(slices)])
    for maps in ("espirit", "calibration"):
        row(CS_JOB, "gantry" if maps == "espirit" else "gantry (default calibration maps)", runs[maps],
            quality=f"PSNR {volume_psnr(f'{d}/gantry_cs_{maps}.nii.gz', ref):.2f} dB",
            **({} if maps == "espirit" else {"peer": "BART"}))
    row(CS_JOB, "BART", runs["bart"], quality=f"PSNR {fastmri.psnr_scaled(bart_img, ref):.2f} dB")


def cirim_volume(gantry, d, rounds, ref):
    model = os.path.join(ROOT, "models", "cirim-indrnn.safetensors")
    g_cmd = [gantry, "recon", "--in", f"{d}/volume.h5", "--method", "cirim", "--model", model, "--out", f"{d}/gantry_cirim.nii.gz", "-q"]
    g, a, a_peak = [], [], []
    for _ in range(rounds):
        g.append(measured(g_cmd)[0])
        _, out = measured([PY, os.path.join(HERE, "wholejob_cirim.py"), f"{d}/volume.h5", f"{d}/atommic_cirim.nii.gz"])
        r = json.loads(out.strip().splitlines()[-1])
        a.append(r["seconds"]); a_peak.append(r["peak_mb"])
    row(CIRIM_JOB, "gantry", g, peak_mb=peak_of(g_cmd), quality=f"PSNR {volume_psnr(f'{d}/gantry_cirim.nii.gz', ref):.2f} dB")
    row(CIRIM_JOB, "atommic", a, peak_mb=max(a_peak), quality=f"PSNR {volume_psnr(f'{d}/atommic_cirim.nii.gz', ref):.2f} dB")


ANTS_JOB = """
import json, sys, time
import ants
d = sys.argv[1]
t0 = time.perf_counter()
fixed, moving = ants.image_read(f"{d}/fixed.nii.gz"), ants.image_read(f"{d}/moving.nii.gz")
reg = ants.registration(fixed=fixed, moving=moving, type_of_transform="SyN")
ants.image_write(reg["warpedmovout"], f"{d}/ants_warped.nii.gz")
for what in ("aal", "mask"):
    out = ants.apply_transforms(fixed=fixed, moving=ants.image_read(f"{d}/moving_{what}.nii.gz"), transformlist=reg["fwdtransforms"], interpolator="genericLabel")
    ants.image_write(out, f"{d}/ants_{what}.nii.gz")
import resource
print(json.dumps({"seconds": time.perf_counter() - t0, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def registration(gantry, d, rounds):
    os.makedirs(d, exist_ok=True)
    lab, mask, _, _ = regcmp.make_pair(d, image="ch2")
    labels = [v for v in np.unique(lab) if v != 0]
    g_cmd = [gantry, "register", "--fixed", f"{d}/fixed.nii.gz", "--moving", f"{d}/moving.nii.gz", "--moving-labels", f"{d}/moving_aal.nii.gz",
             "--moving-labels", f"{d}/moving_mask.nii.gz", "--type", "syn", "--out", f"{d}/gantry"]
    g, a, a_peak = [], [], []
    for _ in range(rounds):
        g.append(measured(g_cmd)[0])
        _, out = measured([PY, "-c", ANTS_JOB, d])
        r = json.loads(out.strip().splitlines()[-1])
        a.append(r["seconds"]); a_peak.append(r["peak_mb"])
    gd = regcmp.dice_mean(np.asarray(nib.load(f"{d}/gantry/warped_labels.nii.gz").dataobj), lab, labels)
    ad = regcmp.dice_mean(np.rint(np.asarray(nib.load(f"{d}/ants_aal.nii.gz").dataobj)), lab, labels)
    row(REG_JOB, "gantry", g, peak_mb=peak_of(g_cmd), quality=f"AAL mean Dice {gd:.3f}")
    row(REG_JOB, "ANTs SyN", a, peak_mb=max(a_peak), quality=f"AAL mean Dice {ad:.3f}")


def study(gantry, d, rounds):
    study_dir = f"{d}/study"
    if not os.path.exists(study_dir):
        subprocess.run([gantry, "phantom", "study", "--subjects", "4", "--seed", "11", "--out", study_dir, "-q"], check=True, stdout=subprocess.DEVNULL)
    runs, stages = [], {}
    for _ in range(rounds):
        out = f"{d}/out"
        subprocess.run(["rm", "-rf", out], check=True)
        runs.append(measured([gantry, "run", os.path.join(ROOT, "pipelines", "full-study.yaml"), "--study", study_dir, "--out", out, "--jobs", "2", "-q"])[0])
    for p in glob.glob(f"{d}/out/stages/*/*/provenance.json"):
        stage = os.path.basename(os.path.dirname(p))
        stages[stage] = stages.get(stage, 0) + json.load(open(p)).get("seconds", 0)
    top = sorted(stages.items(), key=lambda kv: -kv[1])
    row(STUDY_JOB, "gantry", runs, peer="none",
        quality="stage seconds summed over subjects: " + ", ".join(f"{k} {v:.1f}" for k, v in top[:8]))


def main():
    gantry, d = os.path.abspath(sys.argv[1]), sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    only = os.environ.get("WHOLEJOB_ONLY", "segment cs cirim register study").split()
    os.makedirs(d, exist_ok=True)
    emit(machine=subprocess.run(["lscpu"], capture_output=True, text=True).stdout.split("Model name:")[1].split("\n")[0].strip())
    if "segment" in only:
        segmentation(gantry, f"{d}/brats", rounds)
    if "cs" in only or "cirim" in only:
        ref, slices = fastmri_file(f"{d}/fastmri")
        if "cs" in only:
            cs_volume(gantry, f"{d}/fastmri", rounds, ref, slices)
        if "cirim" in only:
            cirim_volume(gantry, f"{d}/fastmri", rounds, ref)
    if "register" in only:
        registration(gantry, f"{d}/registration", rounds)
    if "study" in only:
        study(gantry, f"{d}/study", rounds)


if __name__ == "__main__":
    main()
