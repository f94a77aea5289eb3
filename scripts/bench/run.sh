#!/usr/bin/env bash
# `make bench`: Gantry and its peers, side by side in one run → BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${BENCH_REPEATS:-5}
WORK=${BENCH_DIR:-bench-work}
PY=.venv-peers/bin/python
mkdir -p "$WORK"
swift build -c release --product gantry-bench >/dev/null
BENCH=.build/release/gantry-bench
RESULTS="$WORK/results.jsonl"
: > "$RESULTS"

echo "== inputs" >&2
"$BENCH" make-inputs "$WORK"
"$PY" scripts/bench/peers_nifti.py "$WORK" make-inputs

echo "== NIfTI: Gantry" >&2
"$BENCH" nifti "$WORK" "$REPS" | tee -a "$RESULTS" >&2
echo "== NIfTI: nibabel, SimpleITK" >&2
"$PY" scripts/bench/peers_nifti.py "$WORK" "$REPS" | tee -a "$RESULTS" >&2

echo "== FFT: Gantry, numpy" >&2
"$BENCH" fft "$WORK" "$REPS" | tee -a "$RESULTS" >&2
"$PY" scripts/bench/peers_recon.py "$WORK" fft | tee -a "$RESULTS" >&2

if command -v bart >/dev/null; then
  echo "== CS-L1: BART pics vs Gantry" >&2
  "$PY" scripts/bench/peers_recon.py "$WORK" make-inputs >/dev/null
  "$BENCH" pics "$WORK" | tee -a "$RESULTS" >&2
  "$PY" scripts/bench/peers_recon.py "$WORK" pics | tee -a "$RESULTS" >&2
fi

if "$PY" -c "import torch" 2>/dev/null; then
  echo "== tensor engine: Gantry vs PyTorch CPU (2 threads)" >&2
  "$BENCH" nn "$WORK" 3 | tee -a "$RESULTS" >&2
  "$PY" scripts/bench/peers_nn.py 3 | tee -a "$RESULTS" >&2
  "$BENCH" segnet "$WORK" 3 | tee -a "$RESULTS" >&2
  if "$PY" -c "import monai" 2>/dev/null; then "$PY" scripts/bench/peers_segnet.py 3 | tee -a "$RESULTS" >&2; fi
  for i in 0 1 2 3 4; do
    "$BENCH" nn-memory "$WORK" "$i" | tee -a "$RESULTS" >&2
    "$PY" scripts/bench/peers_nn.py memory "$i" | tee -a "$RESULTS" >&2
  done
fi

if "$PY" -c "import atommic, omegaconf" 2>/dev/null; then
  echo "== RIM/CIRIM: Gantry vs atommic RIMBlock (PyTorch CPU, 2 threads)" >&2
  "$BENCH" rim "$WORK" 3 | tee -a "$RESULTS" >&2
  "$PY" scripts/bench/peers_rim.py 3 | tee -a "$RESULTS" >&2
  for i in 0 1; do
    "$BENCH" rim-train "$WORK" "$i" | tee -a "$RESULTS" >&2
    "$PY" scripts/bench/peers_rim.py train "$i" | tee -a "$RESULTS" >&2
  done
fi

if ls models/cirim-*.safetensors >/dev/null 2>&1; then
  echo "== learned vs classical reconstruction quality" >&2
  scripts/train_recon.sh data >/dev/null
  "$BENCH" recon-quality "$WORK" .build-data/recon/test | tee -a "$RESULTS" >&2
fi

if [ -f /usr/share/mricron/templates/ch2bet.nii.gz ]; then
  echo "== registration: Gantry, elastix, ANTs SyN" >&2
  "$PY" scripts/bench/registration_compare.py "$WORK/registration" | tee -a "$RESULTS" >&2
fi

"$PY" scripts/bench/report.py "$RESULTS" > BENCHMARKS.md
echo "wrote BENCHMARKS.md" >&2
