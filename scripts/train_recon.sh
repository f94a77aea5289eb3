#!/usr/bin/env bash
# Makes the phantom multi-coil k-space the shipped RIM/CIRIM checkpoints were trained and evaluated
# on, and trains them — the exact commands. Usage:
#   scripts/train_recon.sh data [DIR]             # k-space files only (default DIR .build-data/recon)
#   scripts/train_recon.sh MODEL [DIR]            # MODEL: cirim-indrnn, cirim-gru, rim-indrnn, rim-gru
# Training data: subjects 1–8 × T1w, ce-gd_T1w, T2w × 8 axial slices (FLAIR is never seen in
# training); validation: subject 9 (T1w, T2w, 3 slices); test: subjects 20–21 × all four contrasts.
set -euo pipefail
G=${GANTRY:-.build/release/gantry}
what=${1:?usage: scripts/train_recon.sh data|MODEL [DIR]}
DATA=${2:-.build-data/recon}

make_data() {
    for s in 1 2 3 4 5 6 7 8; do for c in T1w ce-gd_T1w T2w; do
        [ -f "$DATA/train/sub-$s-$c/kspace.h5" ] || "$G" phantom kspace --seed $s --contrast $c --kspace-slices 8 --spread --out "$DATA/train/sub-$s-$c" >/dev/null
    done; done
    for c in T1w T2w; do
        [ -f "$DATA/val/sub-9-$c/kspace.h5" ] || "$G" phantom kspace --seed 9 --contrast $c --kspace-slices 3 --spread --out "$DATA/val/sub-9-$c" >/dev/null
    done
    for s in 20 21; do for c in T1w ce-gd_T1w T2w FLAIR; do
        [ -f "$DATA/test/sub-$s-$c/kspace.h5" ] || "$G" phantom kspace --seed $s --contrast $c --kspace-slices 4 --spread --out "$DATA/test/sub-$s-$c" >/dev/null
    done; done
}

make_data
train() { "$G" train recon --kspace "$DATA"/train/*/kspace.h5 --validation "$DATA"/val/*/kspace.h5 "$@"; }
case "$what" in
    data) echo "$DATA" ;;
    cirim-indrnn) train --cell indrnn --hidden 32 --time-steps 8 --cascades 3 --epochs 12 --steps 60 --lr 0.001 --seed 1 --out models/cirim-indrnn.safetensors ;;
    cirim-gru)    train --cell gru    --hidden 32 --time-steps 8 --cascades 3 --epochs 12 --steps 60 --lr 0.001 --seed 1 --out models/cirim-gru.safetensors ;;
    rim-indrnn)   train --cell indrnn --hidden 32 --time-steps 8 --cascades 1 --epochs 12 --steps 60 --lr 0.001 --seed 1 --out models/rim-indrnn.safetensors ;;
    rim-gru)      train --cell gru    --hidden 32 --time-steps 8 --cascades 1 --epochs 12 --steps 60 --lr 0.001 --seed 1 --out models/rim-gru.safetensors ;;
    *) echo "unknown: $what" >&2; exit 2 ;;
esac
