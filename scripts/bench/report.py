#!/usr/bin/env python3
"""Joins benchmark JSON lines (Gantry and peers, same run) into BENCHMARKS.md.

Usage: report.py RESULTS.jsonl… > BENCHMARKS.md (one file per section). For each benchmark name: the median time of every
tool and the ratio Gantry / peer (below 1 means Gantry is faster).
"""
import json
import platform
import subprocess
import sys
from collections import OrderedDict


def main():
    rows = OrderedDict()
    sizes = OrderedDict()
    quality = OrderedDict()
    scores = OrderedDict()
    recon = []
    jobs = []
    wholejobs = OrderedDict()
    peak_rounds = []
    blas_kernels = None
    lines = [line for path in sys.argv[1:] for line in open(path)]
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        if "machine" in r:
            blas_kernels = r.get("blas_kernels", blas_kernels)
            continue
        if "wholejob" in r:
            wholejobs.setdefault(r["wholejob"], {})[r["tool"]] = r
            continue
        if "job" in r:
            jobs.append(r)
            continue
        if "method" in r and "ssim" in r:
            recon.append(r)
            continue
        if "bytes" in r:
            sizes.setdefault(r["name"], {})[r["tool"]] = r["bytes"]
            continue
        if "psnr_db" in r:
            quality.setdefault(r["name"], {})[r["tool"]] = r["psnr_db"]
            continue
        if "score" in r:
            scores.setdefault(r["name"], {})[r["tool"]] = r["score"]
            continue
        if r.get("peak"):
            # the FP32 ceiling (gantry-bench peak): GFLOP/s of each round, reported as their median
            peak_rounds.append(r["gflop"] / r["median_s"])
            blas_kernels = r.get("blas_kernels", blas_kernels)
            continue
        # A name timed in several rounds (sections that alternate Gantry and its peer, since the
        # machine's speed drifts): the median of the rounds' medians, all runs kept.
        prev = rows.setdefault(r["name"], {}).get(r["tool"])
        if prev is not None and "median_s" in prev and "median_s" in r:
            r = dict(r, rounds=prev.get("rounds", [prev["median_s"]]) + [r["median_s"]], runs=prev.get("runs", []) + r.get("runs", []))
            r["median_s"] = sorted(r["rounds"])[len(r["rounds"]) // 2]
        rows[r["name"]][r["tool"]] = r
    cpu = subprocess.run(["sh", "-c", "lscpu | grep 'Model name' | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
    print("# Benchmarks\n")
    print(f"Made by `make bench` (scripts/bench/run.sh): within each section every row ran side by side in one run on this machine "
          f"({cpu or platform.processor()}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores). "
          "Times are medians of repeated runs inside each tool's own process (interpreter start-up excluded). "
          "In the NIfTI, tensor-engine and segmentation sections Gantry and its peers alternate for five rounds "
          "(RIM/CIRIM inference: three), since the machine's speed drifts over minutes, and the table "
          "shows the median of the rounds. "
          "Ratio = Gantry ÷ peer: below 1.0 Gantry is faster. Absolute times swing with machine load; "
          "compare ratios within one run.\n")
    peak = sorted(peak_rounds)[len(peak_rounds) // 2] if peak_rounds else None
    if peak:
        print(f"FP32 peak of this machine as Gantry's binary reaches it (`gantry-bench peak`: fused multiply-adds on "
              f"registers, all cores, median of {len(peak_rounds)} rounds in the tensor-engine run): **{peak:.0f} GFLOP/s**. "
              "Rows with an operation count show GFLOP/s (the direct convolution's multiply-adds × 2 over the median time, "
              "for every tool alike) and Gantry's share of that peak; where Gantry takes a layer by Winograd (the "
              "2D 3×3 rows) it does fewer operations than counted, so its share there is an effective one."
              + (f" OpenBLAS ran its {blas_kernels} kernels (see docs/engine.md: Gantry picks them when OpenBLAS does not know the CPU)." if blas_kernels else "") + "\n")
    if wholejobs:
        print_wholejobs(wholejobs, blas_kernels)
    groups = OrderedDict()
    for name, tools in rows.items():
        groups.setdefault(name.split(" ")[0], []).append((name, tools))
    for group, items in groups.items():
        peers = sorted({t for _, tools in items for t in tools if t != "gantry"})
        print(f"## {group}\n")
        flops = any("gflop" in tools.get("gantry", {}) for _, tools in items)
        header = "| benchmark | Gantry | " + " | ".join(peers) + " | " + " | ".join(f"ratio vs {p}" for p in peers) + " |"
        if flops:
            header += " Gantry GFLOP/s | " + " | ".join(f"{p} GFLOP/s" for p in peers) + " |" + (" Gantry % of peak |" if peak else "")
        print(header)
        print("|" + "---|" * (header.count("|") - 1))
        for name, tools in items:
            g = tools.get("gantry", {}).get("median_s")
            cells = [f"{g:.3f} s" if g is not None else "—"]
            cells += [f"{tools[p]['median_s']:.3f} s" if p in tools else "—" for p in peers]
            cells += [f"**{g / tools[p]['median_s']:.2f}×**" if (g is not None and p in tools) else "—" for p in peers]
            if flops:
                work = tools.get("gantry", {}).get("gflop")
                cells += [f"{work / t['median_s']:.0f}" if (work and t is not None and "median_s" in t) else "—"
                          for t in [tools.get("gantry")] + [tools.get(p) for p in peers]]
                if peak:
                    cells.append(f"{100 * work / g / peak:.0f} %" if (work and g) else "—")
            print(f"| {name} | " + " | ".join(cells) + " |")
        print()
        gq = [(n, q) for n, q in quality.items() if n.split(" ")[0] == group]
        if gq:
            print("Quality of the timed reconstructions (PSNR against the fully sampled RSS):\n")
            for n, q in gq:
                print(f"- {n}: " + ", ".join(f"{t} {v:.2f} dB" for t, v in q.items()))
            print()
        gs = [(n, q) for n, q in scores.items() if n.split(" ")[0] == group]
        if gs:
            print("Quality:\n")
            print("| measure | " + " | ".join(sorted({t for _, q in gs for t in q})) + " |")
            tools = sorted({t for _, q in gs for t in q})
            print("|" + "---|" * (1 + len(tools)))
            for n, q in gs:
                print(f"| {n} | " + " | ".join(f"{q[t]:.3f}" if q.get(t) is not None else "—" for t in tools) + " |")
            print()
        gsizes = [(n, s) for n, s in sizes.items() if n.split(" ")[0] == group]
        if gsizes:
            print("Compressed sizes (all gzip level 1):\n")
            for n, s in gsizes:
                print(f"- {n}: " + ", ".join(f"{t} {b / 1e6:.1f} MB" for t, b in s.items()))
            print()
    if recon:
        print("## Learned vs classical reconstruction (held-out phantoms)\n")
        print("Test slices of `scripts/train_recon.sh` (subjects never trained on, all four contrasts; FLAIR is never "
              "seen in training), equispaced 1D masks (a kind never used in training), coil maps from the file, "
              "scored against the fully sampled RSS. Seconds per slice include coil-map handling (2 threads).\n")
        print("| acceleration | method | NMSE | PSNR (dB) | SSIM | SSIM, FLAIR only | s / slice |")
        print("|---|---|---|---|---|---|---|")
        for r in recon:
            print(f"| {r['acceleration']:.0f}× | {r['method']} | {r['nmse']:.4f} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
                  f"{r['ssim_flair']:.4f} | {r['seconds_per_slice']:.3f} |")
        print()
    if jobs:
        print("## Whole jobs at fastMRI brain size (`scripts/bench/fastmri_size_recon.py`)\n")
        print("Whole commands (process start, reading and writing included), median of 3, on a 16-coil "
              "[16, 16, 640, 320] file made by the script (Colin27 whole head, fastMRI's random 4× mask); "
              "PSNR against `reconstruction_rss` after the best scalar scale. Ratio = Gantry ÷ the peer row "
              "with the same threads.\n")
        print("| job | tool | threads | median (s) | PSNR (dB) | ratio |")
        print("|---|---|---|---|---|---|")
        for r in jobs:
            ratios = ""
            if r["tool"].startswith("Gantry"):
                peers = [p for p in jobs if p["job"] == r["job"] and p["threads"] == r["threads"] and not p["tool"].startswith("Gantry")]
                ratios = "; ".join(f"**{r['median_s'] / p['median_s']:.2f}×** {p['tool']}" for p in peers)
            psnr = f"{r['psnr_db']:.2f}" if r.get("psnr_db") is not None else "—"
            print(f"| {r['job']} | {r['tool']} | {r['threads']} | {r['median_s']:.2f} | {psnr} | {ratios or '—'} |")
        print()


def print_wholejobs(wholejobs, blas_kernels=None):
    """The section users read first: whole commands against whole peer jobs (scripts/bench/wholejob.py)."""
    print("## Whole jobs (`scripts/bench/wholejob.py`)\n")
    print("Each job as a user runs it: Gantry's whole command (process start, reading, writing) against the "
          "peer's whole job on the same files, rounds alternating; median of the rounds. Peers run in-process "
          "from reading the inputs (or loading the weights) to the written output, interpreter start-up and "
          "imports excluded; BART's time is its 32 commands. Peak memory is the process's maximum resident "
          "set. Ratio = Gantry ÷ peer; the quality column shows both did the same job."
          + (f" Gantry's GEMMs ran OpenBLAS's {blas_kernels} kernels." if blas_kernels else "") + "\n")
    print("| job | tool | median (s) | rounds (s) | peak memory (MB) | ratio (time) | ratio (memory) | quality |")
    print("|---|---|---|---|---|---|---|---|")
    for job, tools in wholejobs.items():
        peers = [t for t in tools.values() if not t["tool"].startswith("gantry")]
        for t in tools.values():
            ratio = mem = "—"
            peer = next((p for p in peers if p["tool"] == t.get("peer")), peers[0] if peers else None) if t.get("peer") != "none" else None
            if t["tool"].startswith("gantry") and peer:
                ratio = f"**{t['median_s'] / peer['median_s']:.2f}×** {peer['tool']}"
                if t.get("peak_mb") and peer.get("peak_mb"):
                    mem = f"**{t['peak_mb'] / peer['peak_mb']:.2f}×**"
            peak = f"{t['peak_mb']:.0f}" if t.get("peak_mb") else "—"
            rounds = ", ".join(f"{x:.1f}" for x in t.get("runs", []))
            print(f"| {job} | {t['tool']} | {t['median_s']:.2f} | {rounds} | {peak} | {ratio} | {mem} | {t.get('quality', '')} |")
    print()


NOTES = """## Notes

- Gantry runs with its default of all cores (2 here); nibabel is single-threaded; SimpleITK was set to
  2 threads. NIfTI reads are "load + to a float32 array" (nibabel `nib.load(p, mmap=False).get_fdata(np.float32)`,
  SimpleITK `GetArrayViewFromImage(ReadImage(p, sitkFloat32))`) of the *nibabel-written* file, so
  Gantry's gzip path is the serial one there; the "(Gantry-written)" rows show its parallel path.
  Writes use gzip level 1 everywhere (nibabel's default; SimpleITK asked for level 1 but its writer
  is visibly slower, so it may not honour it).
- FFT rows: "FFTW (bare execute)" is `fftwf_execute` on the same plan with no centring, scaling or
  copies — the floor; numpy does the same centred orthonormal transform with `ifftshift`/`fftshift`.
- BART rows time the whole `bart` command (process start and .cfl I/O included, a few ms) with
  `OMP_NUM_THREADS` 1 and 2; Gantry's `pics` row is its CS-L1 (FISTA, Daubechies-4, cycle spinning)
  with BART's ESPIRiT maps, λ 0.01, 50 iterations, timed in-process; its `ecalib` row is Gantry's
  ESPIRiT (24² calibration, 6² kernel, threshold 0.001, crop 0.8).
"""


if __name__ == "__main__":
    main()
    # Whole jobs measured by their own scripts (registration, pipelines), kept by hand.
    import os
    outside = os.path.join(os.path.dirname(os.path.abspath(__file__)), "outside.md")
    if os.path.exists(outside):
        print(open(outside).read())
    print(NOTES)
