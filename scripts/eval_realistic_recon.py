#!/usr/bin/env python3
"""Held-out learned vs classical reconstruction on real anatomy at fastMRI size (issue #19).

Usage: eval_realistic_recon.py GANTRY DATA RESULTS.jsonl [label=model.safetensors ...]

DATA is `scripts/make_realistic_recon_data.py`'s folder; the test file is 12 axial slices of
Colin27's whole head, 16 coils, 320 × 320 (anatomy no model was trained on). For every cell of
{random, equispaced, gaussian1d} × {4 %, 8 % centre} × {4×, 8×} (mask seed 11: the trainer draws
seeds from 10⁶ up and validates on 500+), `gantry recon` runs CS-TV and CS-L1 at their defaults
and each given RIM/CIRIM checkpoint (`label=path`; `rim…` labels run as --method rim), all with
calibration coil maps, and reports PSNR/SSIM against `reconstruction_rss` (Gantry's --json metrics:
the same for every method). One JSON line per run, appended to RESULTS.jsonl (runs already there
are reused, so models can be added later), then a Markdown table of the runs asked for.
"""
import os
import json
import subprocess
import sys

KINDS = ("random", "equispaced", "gaussian1d")
CENTRES = (0.04, 0.08)
ACCELS = (4, 8)


def run(gantry, path, kind, centre, accel, method, model=None):
    cmd = [gantry, "recon", "--in", path, "--accel", str(accel), "--center", str(centre), "--mask-kind", kind, "--seed", "11",
           "--method", method, "--out", "/tmp/gantry-eval-realistic.nii.gz", "--json", "-q"]
    if model:
        cmd += ["--model", model]
    r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return r["psnr"], r["ssim"], r["reconstruction_seconds"]


def main():
    gantry, data, results = sys.argv[1], sys.argv[2], sys.argv[3]
    models = [a.split("=", 1) for a in sys.argv[4:]]
    path = f"{data}/test/colin27-16coil.h5"
    done = {}
    if os.path.exists(results):
        for line in open(results):
            r = json.loads(line)
            done[(r["mask"], r["centre"], r["accel"], r["method"], r.get("model"))] = (r["psnr"], r["ssim"])
    rows = []
    for kind in KINDS:
        for centre in CENTRES:
            for accel in ACCELS:
                cell = {"mask": kind, "centre": centre, "accel": accel}
                for label, method, model in [("CS-TV", "cs-tv", None), ("CS-L1", "cs-l1", None)] + \
                        [(lab, "rim" if lab.startswith("rim") else "cirim", m) for lab, m in models]:
                    key = (kind, centre, accel, label, model)
                    if key not in done:
                        psnr, ssim, secs = run(gantry, path, kind, centre, accel, method, model)
                        line = json.dumps({"mask": kind, "centre": centre, "accel": accel, "method": label, "model": model,
                                           "psnr": round(psnr, 3), "ssim": round(ssim, 4), "seconds": round(secs, 1)})
                        print(line, flush=True)
                        with open(results, "a") as f:
                            f.write(line + "\n")
                        done[key] = (round(psnr, 3), round(ssim, 4))
                    cell[label] = done[key]
                rows.append(cell)
    labels = ["CS-TV", "CS-L1"] + [lab for lab, _ in models]
    print("\n| mask | centre | R | " + " | ".join(f"{l} PSNR / SSIM" for l in labels) + " |")
    print("|---|---|---|" + "---|" * len(labels))
    for c in rows:
        print(f"| {c['mask']} | {c['centre']:.0%} | {c['accel']}× | " +
              " | ".join(f"{c[l][0]:.2f} / {c[l][1]:.4f}" for l in labels) + " |")


if __name__ == "__main__":
    main()
