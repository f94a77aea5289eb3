#!/usr/bin/env bash
# `make demo`: the most complete end-to-end job Gantry does today, on phantoms.
# Grows a stage with every capability (see README "Demo").
set -euo pipefail
GANTRY=${1:-.build/release/gantry}
OUT=${2:-out/demo}
mkdir -p "$OUT"

echo "== 1. phantom study: 3 brain-tumour subjects on real anatomy (Colin27), 4 contrasts, labels, k-space"
"$GANTRY" phantom study --subjects 3 --seed 1 --out "$OUT/study"

echo "== 2. convert: .nii.gz → .h5 → .nii (geometry kept)"
"$GANTRY" convert "$OUT/study/sub-01/anat/sub-01_T1w.nii.gz" "$OUT/sub-01_T1w.h5"
"$GANTRY" convert "$OUT/sub-01_T1w.h5" "$OUT/sub-01_T1w_from_h5.nii"

echo "== 3. info"
"$GANTRY" info "$OUT/sub-01_T1w_from_h5.nii" "$OUT/study/sub-01/kspace/sub-01_T1w_kspace.h5"

echo "== 4. pictures"
"$GANTRY" snapshot "$OUT/study/sub-01/anat/sub-01_FLAIR.nii.gz" --labels "$OUT/study/sub-01/anat/sub-01_label-tumour_dseg.nii.gz" --out "$OUT/sub-01_FLAIR.png"

echo
echo "Demo outputs are in $OUT/"
