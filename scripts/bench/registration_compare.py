#!/usr/bin/env python3
"""Registration side by side: Gantry (affine + log-domain demons), elastix (affine + B-spline,
default-style parameter maps) and ANTs SyN (antspyx defaults) on the same pair.

The pair: the real Colin27 T1 from Debian's mricron-data (`ch2bet`, skull-stripped) at 2 mm as the
fixed image; the moving image is the same brain moved by a known affine (≈ 5° rotations, ±4 %
scale, 4 mm translation) plus a smooth random warp (≈ 6 mm), made here with scipy (independent of
Gantry). Labels: the AAL atlas (116 regions, same package) and the brain mask move with it.
Score: Dice of the registered moving labels against the fixed ones (mean over AAL labels, and the
brain mask). Prints JSON lines for scripts/bench/report.py. Usage: registration_compare.py WORKDIR
"""
import json
import os
import subprocess
import sys
import time

import nibabel as nib
import numpy as np
from scipy import ndimage

T = "/usr/share/mricron/templates"
ELASTIX_COMMON = """(FixedInternalImagePixelType "float")
(MovingInternalImagePixelType "float")
(Registration "MultiResolutionRegistration")
(Interpolator "BSplineInterpolator")
(ResampleInterpolator "FinalBSplineInterpolator")
(Resampler "DefaultResampler")
(FixedImagePyramid "FixedRecursiveImagePyramid")
(MovingImagePyramid "MovingRecursiveImagePyramid")
(Optimizer "AdaptiveStochasticGradientDescent")
(Metric "AdvancedMattesMutualInformation")
(NumberOfHistogramBins 32)
(ImageSampler "RandomCoordinate")
(NumberOfSpatialSamples 2048)
(NewSamplesEveryIteration "true")
(BSplineInterpolationOrder 1)
(FinalBSplineInterpolationOrder 3)
(DefaultPixelValue 0)
(WriteResultImage "false")
(ResultImageFormat "nii.gz")
(HowToCombineTransforms "Compose")
"""
ELASTIX_AFFINE = ELASTIX_COMMON + """(Transform "AffineTransform")
(AutomaticScalesEstimation "true")
(AutomaticTransformInitialization "true")
(NumberOfResolutions 4)
(MaximumNumberOfIterations 250)
"""
ELASTIX_BSPLINE = ELASTIX_COMMON + """(Transform "BSplineTransform")
(FinalGridSpacingInPhysicalUnits 16)
(NumberOfResolutions 4)
(MaximumNumberOfIterations 500)
"""


def emit(**kw):
    print(json.dumps(kw), flush=True)


def dice_mean(a, b, labels):
    d = []
    for l in labels:
        x, y = a == l, b == l
        s = x.sum() + y.sum()
        d.append(2 * (x & y).sum() / s if s else 1.0)
    return float(np.mean(d))


def mask_dice(a, b):
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


def make_pair(work, seed=7, image="ch2bet"):
    """`image`: ch2bet (skull-stripped) or ch2 (whole head); the brain mask is ch2bet's either way."""
    t1 = nib.load(f"{T}/{image}.nii.gz")
    bet = nib.load(f"{T}/ch2bet.nii.gz")
    aal = nib.load(f"{T}/aal.nii.gz")
    zoom = 2.0
    aff = t1.affine @ np.diag([zoom, zoom, zoom, 1])
    shape = tuple(int(np.ceil(s / zoom)) for s in t1.shape)
    grid = np.indices(shape).reshape(3, -1) * zoom
    img = ndimage.map_coordinates(t1.get_fdata(), grid, order=1).reshape(shape)
    lab = ndimage.map_coordinates(np.asarray(aal.dataobj), grid, order=0).reshape(shape)
    mask = (ndimage.map_coordinates(bet.get_fdata(), grid, order=1).reshape(shape) > 0).astype(np.uint8)
    rng = np.random.default_rng(seed)
    # known affine in voxel space about the centre + smooth random warp (voxels of 2 mm)
    a = np.deg2rad([5, -4, 3])
    rx = np.array([[1, 0, 0], [0, np.cos(a[0]), -np.sin(a[0])], [0, np.sin(a[0]), np.cos(a[0])]])
    ry = np.array([[np.cos(a[1]), 0, np.sin(a[1])], [0, 1, 0], [-np.sin(a[1]), 0, np.cos(a[1])]])
    rz = np.array([[np.cos(a[2]), -np.sin(a[2]), 0], [np.sin(a[2]), np.cos(a[2]), 0], [0, 0, 1]])
    m = rz @ ry @ rx @ np.diag([1.04, 0.97, 1.02])
    c = np.array(shape) / 2
    p = np.indices(shape).reshape(3, -1).astype(np.float64)
    q = m @ (p - c[:, None]) + c[:, None] + np.array([2.0, -1.5, 1.0])[:, None]
    coarse = rng.standard_normal((3, 6, 7, 6))
    warp = np.stack([ndimage.zoom(coarse[i], np.array(shape) / np.array(coarse.shape[1:]), order=3) for i in range(3)])
    warp *= 3.0 / np.abs(warp).max()     # ≤ 3 voxels = 6 mm
    q += warp.reshape(3, -1)
    mov = ndimage.map_coordinates(img, q, order=1).reshape(shape)
    mlab = ndimage.map_coordinates(lab, q, order=0).reshape(shape)
    mmask = ndimage.map_coordinates(mask, q, order=0).reshape(shape)
    for name, data, dt in [("fixed", img, np.float32), ("moving", mov, np.float32), ("fixed_aal", lab, np.int16),
                           ("moving_aal", mlab, np.int16), ("fixed_mask", mask, np.uint8), ("moving_mask", mmask, np.uint8)]:
        im = nib.Nifti1Image(data.astype(dt), aff)
        im.set_qform(aff, code=1); im.set_sform(aff, code=1)
        nib.save(im, f"{work}/{name}.nii.gz")
    return lab, mask, mlab, mmask


def main():
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    lab, mask, mlab, mmask = make_pair(work)
    labels = [l for l in np.unique(lab) if l != 0]
    name = "registration Colin27 2 mm (known affine + 6 mm warp)"
    emit(name=name + " AAL mean Dice", tool="before", score=dice_mean(mlab, lab, labels))
    emit(name=name + " brain-mask Dice", tool="before", score=mask_dice(mmask > 0, mask > 0))
    f, m = f"{work}/fixed.nii.gz", f"{work}/moving.nii.gz"

    # Gantry and ANTs SyN, three runs each, alternating (the machine's speed drifts between runs;
    # the medians are compared). Gantry's time is the whole command, reading and writing included;
    # ANTs' is ants.registration alone.
    gantry = os.environ.get("GANTRY", ".build/release/gantry")
    try:
        import ants
        fi, mi = ants.image_read(f), ants.image_read(m)
    except ImportError:
        ants = None
    g_runs, a_runs, reg = [], [], None
    for _ in range(int(os.environ.get("REG_RUNS", "3"))):
        t0 = time.perf_counter()
        subprocess.run([gantry, "register", "--fixed", f, "--moving", m, "--moving-labels", f"{work}/moving_aal.nii.gz",
                        "--moving-labels", f"{work}/moving_mask.nii.gz", "--type", "syn", "--out", f"{work}/gantry"], check=True, capture_output=True)
        g_runs.append(time.perf_counter() - t0)
        if ants is not None:
            t0 = time.perf_counter()
            reg = ants.registration(fixed=fi, moving=mi, type_of_transform="SyN")
            a_runs.append(time.perf_counter() - t0)
    emit(name=name, tool="gantry", median_s=float(np.median(g_runs)), runs=g_runs)
    g = np.asarray(nib.load(f"{work}/gantry/warped_labels.nii.gz").dataobj)
    gm = np.asarray(nib.load(f"{work}/gantry/warped_labels_2.nii.gz").dataobj)
    emit(name=name + " AAL mean Dice", tool="gantry", score=dice_mean(g, lab, labels))
    emit(name=name + " brain-mask Dice", tool="gantry", score=mask_dice(gm > 0, mask > 0))
    jac = json.load(open(f"{work}/gantry/registration.json")).get("jacobian_min")
    emit(name=name + " min Jacobian", tool="gantry", score=jac)
    if ants is not None:
        emit(name=name, tool="ANTs SyN", median_s=float(np.median(a_runs)), runs=a_runs)
        for what in ("aal", "mask"):
            out = ants.apply_transforms(fixed=fi, moving=ants.image_read(f"{work}/moving_{what}.nii.gz"), transformlist=reg["fwdtransforms"], interpolator="genericLabel")
            arr = out.numpy()
            if what == "aal":
                emit(name=name + " AAL mean Dice", tool="ANTs SyN", score=dice_mean(np.rint(arr), lab, labels))
            else:
                emit(name=name + " brain-mask Dice", tool="ANTs SyN", score=mask_dice(arr > 0.5, mask > 0))

    # elastix affine + B-spline
    if subprocess.run(["which", "elastix"], capture_output=True).returncode == 0:
        e = f"{work}/elastix"
        os.makedirs(e, exist_ok=True)
        open(f"{e}/affine.txt", "w").write(ELASTIX_AFFINE)
        open(f"{e}/bspline.txt", "w").write(ELASTIX_BSPLINE)
        t0 = time.perf_counter()
        subprocess.run(["elastix", "-f", f, "-m", m, "-p", f"{e}/affine.txt", "-p", f"{e}/bspline.txt", "-out", e, "-threads", "2"], check=True, capture_output=True)
        emit(name=name, tool="elastix", median_s=time.perf_counter() - t0, runs=[])
        for src, dst in [("TransformParameters.0.txt", "label0.txt"), ("TransformParameters.1.txt", "label1.txt")]:
            txt = open(f"{e}/{src}").read().replace("(FinalBSplineInterpolationOrder 3)", "(FinalBSplineInterpolationOrder 0)")
            txt = txt.replace('(ResultImagePixelType "float")', '(ResultImagePixelType "short")').replace("TransformParameters.0.txt", "label0.txt")
            open(f"{e}/{dst}", "w").write(txt)
        for what in ("aal", "mask"):
            os.makedirs(f"{e}/{what}", exist_ok=True)
            subprocess.run(["transformix", "-in", f"{work}/moving_{what}.nii.gz", "-tp", f"{e}/label1.txt", "-out", f"{e}/{what}"], check=True, capture_output=True)
        el = np.asarray(nib.load(f"{e}/aal/result.nii.gz").dataobj)
        em = np.asarray(nib.load(f"{e}/mask/result.nii.gz").dataobj)
        emit(name=name + " AAL mean Dice", tool="elastix", score=dice_mean(el, lab, labels))
        emit(name=name + " brain-mask Dice", tool="elastix", score=mask_dice(em > 0, mask > 0))


if __name__ == "__main__":
    main()
