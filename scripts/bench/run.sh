#!/usr/bin/env bash
# `make bench`: Gantry and its peers, side by side, section by section → BENCHMARKS.md.
# Every section runs Gantry and its peers in the same run and writes $WORK/results-<section>.jsonl;
# the report joins all section files. BENCH_ONLY="nn segnet" reruns just those sections and keeps
# the others' last results (each section's ratios still come from one run).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${BENCH_REPEATS:-5}
ROUNDS=${BENCH_ROUNDS:-5}
WORK=${BENCH_DIR:-bench-work}
PY=.venv-peers/bin/python
ONLY=${BENCH_ONLY:-wholejob nifti hdf5 fft pics fastmri nn segnet rim recon-quality registration}
mkdir -p "$WORK"
swift build -c release --product gantry-bench >/dev/null
BENCH=.build/release/gantry-bench
want() { [[ " $ONLY " == *" $1 "* ]]; }
section() { OUT="$WORK/results-$1.jsonl"; : > "$OUT"; echo "== $2" >&2; }
log() { tee -a "$OUT" >&2; }

if want wholejob && "$PY" -c "import torch, monai, atommic, ants" 2>/dev/null && command -v bart >/dev/null \
   && [ -f /usr/share/mricron/templates/ch2.nii.gz ]; then
  section wholejob "whole jobs: Gantry's commands vs MONAI, BART, atommic, ANTs end to end"
  swift build -c release --product gantry >/dev/null
  "$BENCH" machine | log
  "$PY" scripts/bench/wholejob.py .build/release/gantry "$WORK/wholejob" "${WHOLEJOB_ROUNDS:-3}" | log
fi

if want nifti; then
  section nifti "NIfTI: Gantry, nibabel, SimpleITK"
  "$BENCH" make-inputs "$WORK"
  "$PY" scripts/bench/peers_nifti.py "$WORK" make-inputs
  # alternating rounds, as in the tensor-engine section (single runs swung by 30 % between runs)
  for round in $(seq "$ROUNDS"); do
    "$BENCH" nifti "$WORK" "$REPS" | log
    "$PY" scripts/bench/peers_nifti.py "$WORK" "$REPS" | log
  done
fi

if want hdf5; then
  section hdf5 "HDF5 k-space: Gantry's reader, h5py (libhdf5)"
  "$PY" scripts/bench/peers_hdf5.py "$WORK" make-inputs
  for round in $(seq "$ROUNDS"); do
    "$BENCH" hdf5 "$WORK" 3 | log
    "$PY" scripts/bench/peers_hdf5.py "$WORK" 3 | log
  done
fi

if want fft; then
  section fft "FFT: Gantry, numpy"
  "$BENCH" fft "$WORK" "$REPS" | log
  "$PY" scripts/bench/peers_recon.py "$WORK" fft | log
fi

if want pics && command -v bart >/dev/null; then
  section pics "CS-L1: BART pics vs Gantry"
  "$PY" scripts/bench/peers_recon.py "$WORK" make-inputs >/dev/null
  "$BENCH" pics "$WORK" | log
  "$PY" scripts/bench/peers_recon.py "$WORK" pics | log
fi

if want fastmri && command -v bart >/dev/null && [ -f /usr/share/mricron/templates/ch2.nii.gz ]; then
  section fastmri "whole commands at fastMRI brain size: Gantry vs BART"
  swift build -c release --product gantry >/dev/null
  "$PY" scripts/bench/fastmri_size_recon.py .build/release/gantry "$WORK/fastmri" | log
fi

if "$PY" -c "import torch" 2>/dev/null; then
  if want nn; then
    section nn "tensor engine: Gantry vs PyTorch CPU (2 threads)"
    # Rounds alternate Gantry and the peer (the machine's speed drifts by tens of per cent over
    # minutes); the report takes the median of the rounds.
    for round in $(seq "$ROUNDS"); do
      "$BENCH" peak "$WORK" 5 | log
      "$BENCH" nn "$WORK" 3 | log
      "$PY" scripts/bench/peers_nn.py 3 | log
    done
    for i in 0 1 2 3 4 5; do
      "$BENCH" nn-memory "$WORK" "$i" | log
      "$PY" scripts/bench/peers_nn.py memory "$i" | log
    done
  fi
  if want segnet; then
    section segnet "segmentation networks: Gantry vs MONAI"
    for round in $(seq "$ROUNDS"); do
      "$BENCH" segnet "$WORK" 3 | log
      if "$PY" -c "import monai" 2>/dev/null; then "$PY" scripts/bench/peers_segnet.py 3 | log; fi
    done
    "$BENCH" segnet-full "$WORK" | log
    if "$PY" -c "import monai" 2>/dev/null; then "$PY" scripts/bench/peers_segnet.py full | log; fi
    for i in 0 1 2; do "$BENCH" segnet-memory "$WORK" "$i" 64 | log; done
    # The largest cube (a multiple of 8, for three stride-2 levels) each trains in 8 GiB, around
    # where the 48³/64³ points put it (one step each).
    for case in "0 48" "1 48" "0 120" "0 128" "1 80" "1 88"; do "$BENCH" segnet-memory "$WORK" $case | log; done
  fi
  if want rim && "$PY" -c "import atommic, omegaconf" 2>/dev/null; then
    section rim "RIM/CIRIM: Gantry vs atommic RIMBlock (PyTorch CPU, 2 threads)"
    for round in $(seq 3); do
      "$BENCH" rim "$WORK" 3 | log
      "$PY" scripts/bench/peers_rim.py 3 | log
    done
    for i in 0 1; do
      "$BENCH" rim-train "$WORK" "$i" | log
      "$PY" scripts/bench/peers_rim.py train "$i" | log
    done
  fi
fi

if want recon-quality && ls models/cirim-*.safetensors >/dev/null 2>&1; then
  section recon-quality "learned vs classical reconstruction quality"
  scripts/train_recon.sh data >/dev/null
  "$BENCH" recon-quality "$WORK" .build-data/recon/test | log
fi

if want registration && [ -f /usr/share/mricron/templates/ch2bet.nii.gz ]; then
  section registration "registration: Gantry, elastix, ANTs SyN"
  "$PY" scripts/bench/registration_compare.py "$WORK/registration" | log
fi

"$PY" scripts/bench/report.py "$WORK"/results-*.jsonl > BENCHMARKS.md
echo "wrote BENCHMARKS.md" >&2
