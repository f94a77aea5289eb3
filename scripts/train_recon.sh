#!/usr/bin/env bash
# Makes the phantom multi-coil k-space the shipped RIM/CIRIM checkpoints were trained and evaluated
# on, and trains them — the exact commands. Usage:
#   scripts/train_recon.sh data [DIR]             # k-space files only (default DIR .build-data/recon)
#   scripts/train_recon.sh MODEL [DIR]            # MODEL: cirim-indrnn, cirim-gru, rim-indrnn, rim-gru
#   scripts/train_recon.sh cirim-indrnn-brain|rim-indrnn-brain [DIR]   # default DIR .build-data/recon-brain
#   scripts/train_recon.sh cirim-indrnn-4coil [DIR]                   # default DIR .build-data/recon-4coil
# The *-brain models fine-tune the phantom ones on real anatomy at fastMRI size
# (scripts/make_realistic_recon_data.py: MNI152 templates, 320², 8–20 coils, masks of three kinds,
# R 2–10, centre 4–16 %; Colin27 is held out for scripts/eval_realistic_recon.py).
# Training data: subjects 1–8 × T1w, ce-gd_T1w, T2w × 8 axial slices (FLAIR is never seen in
# training); validation: subject 9 (T1w, T2w, 3 slices); test: subjects 20–21 × all four contrasts.
set -euo pipefail
G=${GANTRY:-.build/release/gantry}
what=${1:?usage: scripts/train_recon.sh data|MODEL [DIR]}
DATA=${2:-.build-data/recon}

# Training and validation k-space in DIR; further arguments go to every `gantry phantom kspace`.
# CONTRASTS, SLICES (per subject and contrast) and VAL_CONTRASTS default to the phantom data's.
training_data() {
    local dir=$1; shift
    for s in 1 2 3 4 5 6 7 8; do for c in ${CONTRASTS:-T1w ce-gd_T1w T2w}; do
        [ -f "$dir/train/sub-$s-$c/kspace.h5" ] || "$G" phantom kspace --seed $s --contrast $c --kspace-slices ${SLICES:-8} --spread "$@" --out "$dir/train/sub-$s-$c" >/dev/null
    done; done
    for c in ${VAL_CONTRASTS:-T1w T2w}; do
        [ -f "$dir/val/sub-9-$c/kspace.h5" ] || "$G" phantom kspace --seed 9 --contrast $c --kspace-slices 3 --spread "$@" --out "$dir/val/sub-9-$c" >/dev/null
    done
}

make_data() {
    training_data "$DATA"
    for s in 20 21; do for c in T1w ce-gd_T1w T2w FLAIR; do
        [ -f "$DATA/test/sub-$s-$c/kspace.h5" ] || "$G" phantom kspace --seed $s --contrast $c --kspace-slices 4 --spread --out "$DATA/test/sub-$s-$c" >/dev/null
    done; done
}

brain() {
    local dir=$1; shift
    [ -f "$dir/test/colin27-16coil.h5" ] || .venv-peers/bin/python scripts/make_realistic_recon_data.py "$dir" >/dev/null
    "$G" train recon --kspace "$dir"/train/*.h5 --validation "$dir"/val/*.h5 --maps calibration --cell indrnn --hidden 32 --time-steps 8 \
        --epochs 6 --steps 64 --lr 0.0003 --accelerations 2,3,4,4,5,6,8,8,10 --center-fractions 0.16,0.12,0.08,0.04,0.16,0.06,0.08,0.04,0.04 \
        --mask-kinds random,equispaced,gaussian1d --seed 3 "$@"
}
# cirim-indrnn-4coil fine-tunes the phantom CIRIM for the phantom studies' acquisition (4 coils,
# calibration maps, as pipelines/accelerated-study.yaml reconstructs), in three stages. 1: the
# same subjects and slices as the phantom data, acquired with 4 coils; masks of three kinds, R 2–8,
# centre 8–10 %. 2: closer to the study — FLAIR too, 16 slices per subject and contrast, random
# masks (the study's kind) half the time, R 2–8 at an 8 % centre mostly. 3: stage 2 continued at a
# lower learning rate (its validation SSIM was still rising).
four_coil() {
    local dir=$1
    training_data "$dir" --coils 4
    "$G" train recon --kspace "$dir"/train/*/kspace.h5 --validation "$dir"/val/*/kspace.h5 --maps calibration --cell indrnn --hidden 32 \
        --time-steps 8 --cascades 3 --epochs 12 --steps 64 --lr 0.0003 --accelerations 2,3,4,4,6,8,8 \
        --center-fractions 0.08,0.08,0.08,0.1,0.08,0.08,0.1 --mask-kinds random,equispaced,gaussian1d --seed 3 \
        --initial-weights models/cirim-indrnn.safetensors --out "$dir/stage1.safetensors"
    CONTRASTS="T1w ce-gd_T1w T2w FLAIR" SLICES=16 VAL_CONTRASTS="T1w T2w FLAIR" training_data "$dir/stage2" --coils 4
    "$G" train recon --kspace "$dir"/stage2/train/*/kspace.h5 --validation "$dir"/stage2/val/*/kspace.h5 --maps calibration --cell indrnn \
        --hidden 32 --time-steps 8 --cascades 3 --epochs 16 --steps 64 --lr 0.0003 --accelerations 2,4,4,8,8,3,6 \
        --center-fractions 0.08,0.08,0.08,0.08,0.08,0.1,0.08 --mask-kinds random,random,equispaced,gaussian1d --seed 5 \
        --initial-weights "$dir/stage1.safetensors" --out "$dir/stage2.safetensors"
    "$G" train recon --kspace "$dir"/stage2/train/*/kspace.h5 --validation "$dir"/stage2/val/*/kspace.h5 --maps calibration --cell indrnn \
        --hidden 32 --time-steps 8 --cascades 3 --epochs 16 --steps 64 --lr 0.0002 --accelerations 2,4,4,8,8,3,6 \
        --center-fractions 0.08,0.08,0.08,0.08,0.08,0.1,0.08 --mask-kinds random,random,equispaced,gaussian1d --seed 6 \
        --initial-weights "$dir/stage2.safetensors" --out models/cirim-indrnn-4coil.safetensors
}
case "$what" in
    cirim-indrnn-4coil) four_coil "${2:-.build-data/recon-4coil}"; exit ;;
    cirim-indrnn-brain) brain "${2:-.build-data/recon-brain}" --cascades 3 --initial-weights models/cirim-indrnn.safetensors --out models/cirim-indrnn-brain.safetensors; exit ;;
    rim-indrnn-brain)   brain "${2:-.build-data/recon-brain}" --cascades 1 --initial-weights models/rim-indrnn.safetensors --out models/rim-indrnn-brain.safetensors; exit ;;
esac

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
