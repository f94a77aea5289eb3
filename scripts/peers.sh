#!/usr/bin/env bash
# Installs the Python peers used for fixtures and benchmarks into .venv-peers (ignored by git).
# Never a dependency of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-peers
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# nilearn and nimare for the MNI152 templates their wheels ship (the held-out evaluations).
want="numpy nibabel h5py SimpleITK scikit-image scipy antspyx pybids nilearn nimare"
missing=""
for p in $want; do
  "$VENV/bin/python" -c "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec('${p,,}'.replace('simpleitk','SimpleITK').replace('scikit-image','skimage').replace('antspyx','ants').replace('pybids','bids')) else 1)" 2>/dev/null || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing Python peers:$missing" >&2
  "$VENV/bin/pip" install -q $missing
fi
# PyTorch (CPU wheel from the machine's find-links; installed first so nothing pulls the CUDA build)
# and safetensors, for the tensor-engine parity fixtures and benchmarks: `scripts/peers.sh torch`.
if [ "${1:-}" = "torch" ] && ! "$VENV/bin/python" -c "import torch, safetensors" 2>/dev/null; then
  echo "installing PyTorch (CPU) and safetensors" >&2
  "$VENV/bin/pip" install -q torch==2.13.0+cpu safetensors
fi
if [ "${1:-}" = "torch" ] && ! "$VENV/bin/python" -c "import monai" 2>/dev/null; then
  "$VENV/bin/pip" install -q monai
fi
# atommic 1.0.1 (the CIRIM author's toolbox) for the RIM/CIRIM parity fixtures and benchmarks: only its
# model modules are imported, so its training stack is not installed (--no-deps) — omegaconf is the
# one import those modules need beyond torch/numpy/h5py.
if [ "${1:-}" = "torch" ] && ! "$VENV/bin/python" -c "import atommic, omegaconf" 2>/dev/null; then
  "$VENV/bin/pip" install -q --no-deps atommic==1.0.1
  "$VENV/bin/pip" install -q omegaconf
fi
