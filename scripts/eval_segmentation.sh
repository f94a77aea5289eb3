#!/usr/bin/env bash
# Scores a shipped segmentation checkpoint on held-out phantom subjects (a study seed never used
# in training: the shipped models trained on seed 7) with the brain-tumour-segmentation pipeline,
# the model swapped in. Usage: scripts/eval_segmentation.sh MODEL [OUT]  (default OUT .build-data/eval)
# Prints mean Dice per label and per BraTS region over the held-out subjects.
set -euo pipefail
G=${GANTRY:-.build/release/gantry}
model=${1:?usage: scripts/eval_segmentation.sh MODEL [OUT]}
out=${2:-.build-data/eval}
study=.build-data/heldout-seed99
[ -d "$study/sub-04" ] || "$G" phantom study --subjects 4 --seed 99 --kspace-slices 0 --out "$study" >/dev/null
name=$(basename "$model" .safetensors)
mkdir -p "$out"
sed "s#\.\./models/brain-tumour-unet3d.safetensors#$(realpath "$model")#" pipelines/brain-tumour-segmentation.yaml > "$out/$name.yaml"
start=$(date +%s)
"$G" run "$out/$name.yaml" --study "$study" --out "$out/$name" >/dev/null
echo "$name: $(( $(date +%s) - start )) s for 4 subjects"
csv=$(find "$out/$name/reports" -name '*.csv' | head -1)
python3 - "$csv" <<'P'
import csv, sys, collections
rows = list(csv.DictReader(open(sys.argv[1])))
keys = [k for k in rows[0] if k.lower() in ("label", "name", "region")]
dice = collections.defaultdict(list)
for r in rows:
    lab = r.get("name") or r.get("label")
    if r.get("dice") not in (None, ""):
        dice[lab].append(float(r["dice"]))
for lab, v in dice.items():
    print(f"  {lab:>14}: mean Dice {sum(v)/len(v):.3f} over {len(v)}")
P
