#!/usr/bin/env bash
# Seeds scripts/fuzz/corpus/<target>/ from the committed fixtures (small, valid files of each kind, plus
# the bad-input corpus). Run once; the seeds are committed and grown by `make fuzz` (minimised merges).
set -euo pipefail
cd "$(dirname "$0")/../.."
C=scripts/fuzz/corpus
mkdir -p $C/nifti $C/hdf5 $C/safetensors $C/pipeline $C/itk
cp Tests/GantryIOTests/Fixtures/nifti/*.nii Tests/GantryIOTests/Fixtures/nifti/*.nii.gz $C/nifti/
cp Tests/gantryTests/Fixtures/bad-inputs/*.nii Tests/gantryTests/Fixtures/bad-inputs/{one_voxel,two_d,one_slice,all_nan,declares_2gb}.nii.gz $C/nifti/
cp Tests/GantryIOTests/Fixtures/hdf5/*.h5 $C/hdf5/
for f in mask_wrong maps_wrong_rank huge_declared garbage kspace_zero_coils; do cp Tests/gantryTests/Fixtures/bad-inputs/$f.h5 $C/hdf5/; done
# The reader's layouts (libFuzzer's 64 KB input limit: the smaller files) and a small ISMRMRD file.
for f in contiguous_types latest dense user_block latest_unlimited scaleoffset; do cp Tests/GantryIOTests/Fixtures/hdf5/layouts/$f.h5 $C/hdf5/layout_$f.h5; done
ismrmrd_generate_cartesian_shepp_logan -m 8 -c 2 -O 2 -r 1 -o $C/hdf5/ismrmrd_small.h5 >/dev/null
cp models/rim-indrnn.safetensors $C/safetensors/
cp Tests/gantryTests/Fixtures/bad-inputs/header_*.safetensors $C/safetensors/
cp pipelines/*.yaml $C/pipeline/
cat > $C/itk/affine.txt <<'TXT'
#Insight Transform File V1.0
#Transform 0
Transform: AffineTransform_double_3_3
Parameters: 1.02 0.01 0 -0.01 0.98 0.02 0 -0.02 1.01 1.5 -2.25 3
FixedParameters: 0 0 0
TXT
cat > $C/itk/matrix_offset.txt <<'TXT'
#Insight Transform File V1.0
#Transform 0
Transform: MatrixOffsetTransformBase_double_3_3
Parameters: 1 0 0 0 1 0 0 0 1 0 0 0
FixedParameters: 10 -4 2.5
TXT
cp Tests/gantryTests/Fixtures/bad-inputs/affine_garbage.txt $C/itk/
echo "seeded: $(find $C -type f | wc -l) files, $(du -sh $C | cut -f1)"
