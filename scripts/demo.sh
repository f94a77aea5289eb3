#!/usr/bin/env bash
# `make demo`: the most complete end-to-end job Gantry does today, on phantoms.
# Grows a stage with every capability (see README.md, "Demo").
set -euo pipefail
GANTRY=${1:-.build/release/gantry}
OUT=${2:-out/demo}
mkdir -p "$OUT"

echo "== 1. phantom study: 4 brain-tumour subjects on real anatomy (Colin27), 4 contrasts, labels, k-space"
"$GANTRY" phantom study --subjects 4 --seed 1 --out "$OUT/study"

echo "== 2. pipeline: pipelines/full-study.yaml"
"$GANTRY" run pipelines/full-study.yaml --study "$OUT/study" --out "$OUT/run" --jobs 2

echo "== 3. interoperability: .nii.gz → .h5 → .nii, geometry kept"
"$GANTRY" convert "$OUT/run/sub-01/anat/sub-01_space-orig_desc-tissue_dseg.nii.gz" "$OUT/sub-01_tissue.h5"
"$GANTRY" info "$OUT/sub-01_tissue.h5" | tail -8

echo "== 4. the run as gantry status reads it (the same on a Slurm cluster; see docs/cluster.md)"
"$GANTRY" status "$OUT/run" | tail -3

echo "== 5. the same study as a BIDS App, group level (every stage cached): gantry bids STUDY OUT group"
"$GANTRY" bids "$OUT/study" "$OUT/run" group --pipeline pipelines/full-study.yaml -q | tail -1

echo "== 6. from k-space to masks: one subject's four contrasts acquired as whole-volume k-space (2.5 mm),"
echo "      undersampled 4× and 8×, reconstructed (zero-filled, CS-TV, CIRIM), segmented, scored"
"$GANTRY" phantom study --subjects 1 --seed 2 --spacing 2.5 --kspace all --kspace-slices all --readout-oversampling 2 --coils 4 \
  --out "$OUT/accelerated-study" -q
sed -e 's/acceleration: \[2, 4, 8\]/acceleration: [4, 8]/' pipelines/accelerated-study.yaml > "$OUT/accelerated-study.yaml"
"$GANTRY" run "$OUT/accelerated-study.yaml" --study "$OUT/accelerated-study" --out "$OUT/accelerated" --models models -q >/dev/null
awk -F, '{ w = NR == 1 ? 9 : 6; printf "  %-12s %-13s %-9s %-9s %-9s %s\n", $2, $3, substr($12, 1, w), substr($13, 1, w), substr($14, 1, w), $NF }' \
  "$OUT/accelerated/reports/acceleration.csv"

echo
echo "BIDS derivatives: $OUT/run/sub-*/anat/ (masks, warped images, transforms with sidecars)"
echo "Report: $OUT/run/reports/report.html"
echo "Acceleration report: $OUT/accelerated/reports/report.html"
