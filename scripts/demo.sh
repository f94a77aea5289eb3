#!/usr/bin/env bash
# `make demo`: the most complete end-to-end job Gantry does today, on a phantom.
# Grows a stage with every capability (see README "Demo").
set -euo pipefail
GANTRY=${1:-.build/release/gantry}
OUT=${2:-out/demo}
mkdir -p "$OUT"

echo "== 1. phantom: 3D modified Shepp–Logan, 96³ at 2 mm"
"$GANTRY" phantom shepp-logan --size 96 --spacing 2 --out "$OUT" >/dev/null

echo "== 2. convert: .nii.gz → .h5 → .nii (geometry kept)"
"$GANTRY" convert "$OUT/shepp-logan.nii.gz" "$OUT/shepp-logan.h5"
"$GANTRY" convert "$OUT/shepp-logan.h5" "$OUT/shepp-logan-from-h5.nii"

echo "== 3. info on each"
"$GANTRY" info "$OUT/shepp-logan.nii.gz" "$OUT/shepp-logan.h5" "$OUT/shepp-logan-from-h5.nii"

echo
echo "Demo outputs are in $OUT/"
