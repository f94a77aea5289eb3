#!/usr/bin/env python3
"""PyTorch reference outputs and gradients for Gantry's tensor engine (scripts/parity).

For each case: random inputs and weights (seeded), the PyTorch forward output, and the gradients of
loss = sum(output * r) for a fixed random r, written to Tests/GantryNNTests/Fixtures/parity.safetensors
(tensor names `<case>.<x|w|b|r|y|gx|gw|gb>`; the case parameters are in the file's metadata as JSON).
Run: .venv-peers/bin/python scripts/parity/make_nn_fixtures.py   (torch CPU, see ../shared/PEERS.md)
"""
import json
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "GantryNNTests", "Fixtures", "parity.safetensors")
torch.manual_seed(0)
tensors, cases = {}, {}


def add(name, params, x, w=None, b=None, fn=None):
    x = x.clone().requires_grad_(True)
    args = [x]
    if w is not None:
        w = w.clone().requires_grad_(True); args.append(w)
    if b is not None:
        b = b.clone().requires_grad_(True); args.append(b)
    y = fn(*args)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    tensors.update({f"{name}.x": x.detach(), f"{name}.y": y.detach(), f"{name}.r": r, f"{name}.gx": x.grad})
    if w is not None:
        tensors.update({f"{name}.w": w.detach(), f"{name}.gw": w.grad})
    if b is not None:
        tensors.update({f"{name}.b": b.detach(), f"{name}.gb": b.grad})
    cases[name] = params


def conv(name, dims, n, cin, cout, size, k, stride=1, padding=0, dilation=1, groups=1):
    x = torch.randn(n, cin, *([size] * dims))
    w = torch.randn(cout, cin // groups, *([k] * dims)) * 0.3
    b = torch.randn(cout)
    f = F.conv3d if dims == 3 else F.conv2d
    add(name, {"op": "conv", "dims": dims, "stride": stride, "padding": padding, "dilation": dilation, "groups": groups},
        x, w, b, lambda x, w, b: f(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups))


conv("conv3d_k3_p1", 3, 2, 3, 4, 6, 3, padding=1)
conv("conv3d_s2", 3, 1, 4, 4, 7, 3, stride=2, padding=1)
conv("conv3d_d2", 3, 1, 2, 3, 8, 3, padding=2, dilation=2)
conv("conv3d_depthwise", 3, 1, 6, 6, 6, 3, padding=1, groups=6)
conv("conv3d_groups2_k1", 3, 2, 4, 6, 5, 1, groups=2)
conv("conv2d_k3_p1", 2, 2, 3, 5, 9, 3, padding=1)
conv("conv2d_k5_p2", 2, 1, 2, 4, 10, 5, padding=2)
conv("conv2d_s2_d2", 2, 1, 3, 3, 11, 3, stride=2, padding=2, dilation=2)
for act in ("relu", "sigmoid", "tanh"):
    add(act, {"op": act}, torch.randn(2, 3, 4, 5), fn=getattr(torch, act))
add("leaky_relu", {"op": "leaky_relu", "slope": 0.1}, torch.randn(2, 3, 4, 5), fn=lambda x: F.leaky_relu(x, 0.1))

# normalisation (weights are the per-channel affine γ, biases β)
c = 4
add("group_norm_g2", {"op": "group_norm", "groups": 2}, torch.randn(2, c, 3, 4, 5), torch.randn(c), torch.randn(c),
    lambda x, w, b: F.group_norm(x, 2, w, b, eps=1e-5))
add("instance_norm", {"op": "instance_norm"}, torch.randn(2, c, 4, 5, 3), torch.randn(c), torch.randn(c),
    lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-5))
rm, rv = torch.randn(c) * 0.1, torch.rand(c) + 0.5
bn_rm, bn_rv = rm.clone(), rv.clone()
add("batch_norm_train", {"op": "batch_norm", "training": True, "momentum": 0.1}, torch.randn(3, c, 4, 5), torch.randn(c), torch.randn(c),
    lambda x, w, b: F.batch_norm(x, bn_rm, bn_rv, w, b, training=True, momentum=0.1, eps=1e-5))
tensors.update({"batch_norm_train.rm0": rm, "batch_norm_train.rv0": rv, "batch_norm_train.rm1": bn_rm, "batch_norm_train.rv1": bn_rv})
add("batch_norm_eval", {"op": "batch_norm", "training": False}, torch.randn(2, c, 5), torch.randn(c), torch.randn(c),
    lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5))
tensors.update({"batch_norm_eval.rm0": rm, "batch_norm_eval.rv0": rv})
# pooling and up-sampling
add("max_pool3d", {"op": "max_pool", "k": 2}, torch.randn(2, 3, 4, 6, 4), fn=lambda x: F.max_pool3d(x, 2))
add("max_pool2d", {"op": "max_pool", "k": 2}, torch.randn(1, 3, 6, 8), fn=lambda x: F.max_pool2d(x, 2))
add("avg_pool3d", {"op": "avg_pool", "k": 2}, torch.randn(1, 2, 4, 4, 6), fn=lambda x: F.avg_pool3d(x, 2))
add("upsample_nearest3d", {"op": "upsample_nearest", "f": 2}, torch.randn(1, 2, 2, 3, 2), fn=lambda x: F.interpolate(x, scale_factor=2, mode="nearest"))
add("upsample_nearest2d", {"op": "upsample_nearest", "f": 2}, torch.randn(2, 2, 3, 4), fn=lambda x: F.interpolate(x, scale_factor=2, mode="nearest"))
# softmax family and losses (labels stored as floats in `<case>.labels`)
add("softmax", {"op": "softmax"}, torch.randn(2, 4, 3, 5), fn=lambda x: torch.softmax(x, 1))
add("log_softmax", {"op": "log_softmax"}, torch.randn(2, 4, 3, 5), fn=lambda x: torch.log_softmax(x, 1))
labels = torch.randint(0, 4, (2, 3, 4, 5))
add("cross_entropy", {"op": "cross_entropy"}, torch.randn(2, 4, 3, 4, 5), fn=lambda x: F.cross_entropy(x, labels).reshape(1))
tensors["cross_entropy.labels"] = labels.float().unsqueeze(1)


def soft_dice(x, include_background):
    # MONAI DiceLoss(softmax=True, to_onehot_y=True, include_background=…, smooth_nr=smooth_dr=1e-5), batch=False
    p = torch.softmax(x, 1)
    onehot = F.one_hot(labels, 4).permute(0, 4, 1, 2, 3).float()
    if not include_background:
        p, onehot = p[:, 1:], onehot[:, 1:]
    dims = tuple(range(2, p.ndim))
    inter = (p * onehot).sum(dims)
    den = p.sum(dims) + onehot.sum(dims)
    return (1 - (2 * inter + 1e-5) / (den + 1e-5)).mean().reshape(1)


add("dice_loss", {"op": "dice_loss", "background": True}, torch.randn(2, 4, 3, 4, 5), fn=lambda x: soft_dice(x, True))
tensors["dice_loss.labels"] = labels.float().unsqueeze(1)
add("dice_loss_nobg", {"op": "dice_loss", "background": False}, torch.randn(2, 4, 3, 4, 5), fn=lambda x: soft_dice(x, False))
tensors["dice_loss_nobg.labels"] = labels.float().unsqueeze(1)

# transposed convolutions (weight [Cin, Cout/groups, k…]) and PReLU
def convT(name, dims, n, cin, cout, size, k, stride=1, padding=0, dilation=1, groups=1, output_padding=0):
    x = torch.randn(n, cin, *([size] * dims))
    w = torch.randn(cin, cout // groups, *([k] * dims)) * 0.3
    b = torch.randn(cout)
    f = F.conv_transpose3d if dims == 3 else F.conv_transpose2d
    add(name, {"op": "conv_transpose", "dims": dims, "stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
               "output_padding": output_padding}, x, w, b,
        lambda x, w, b: f(x, w, b, stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation))


convT("convT3d_s2_k2", 3, 2, 4, 3, 3, 2, stride=2)
convT("convT3d_s2_k3_p1_op1", 3, 1, 3, 2, 4, 3, stride=2, padding=1, output_padding=1)
convT("convT2d_s2_k3_p1_op1", 2, 2, 3, 4, 5, 3, stride=2, padding=1, output_padding=1)
convT("convT2d_groups2_d2", 2, 1, 4, 4, 5, 3, padding=1, dilation=2, groups=2)
add("prelu", {"op": "prelu"}, torch.randn(2, 3, 4, 5), torch.rand(3) * 0.5, fn=lambda x, a: F.prelu(x, a))

# broadcasting, slicing, padding, linear up-sampling, L1 and SSIM losses
add("broadcast_add", {"op": "broadcast", "fn": "add"}, torch.randn(2, 3, 4, 5), torch.randn(3, 1, 1), fn=lambda x, w: x + w)
add("broadcast_mul", {"op": "broadcast", "fn": "mul"}, torch.randn(2, 3, 4, 5), torch.randn(1, 3, 1, 5), fn=lambda x, w: x * w)
add("broadcast_div", {"op": "broadcast", "fn": "div"}, torch.randn(2, 3, 4), torch.rand(4) + 0.5, fn=lambda x, w: x / w)
add("slice", {"op": "slice"}, torch.randn(2, 5, 6, 7), fn=lambda x: x[:, 1:4, 2:6, :5])
add("pad3d", {"op": "pad"}, torch.randn(1, 2, 3, 4, 2), fn=lambda x: F.pad(x, (1, 2, 0, 1, 2, 0)))
add("upsample_trilinear", {"op": "upsample_linear", "f": 2}, torch.randn(1, 2, 3, 4, 3), fn=lambda x: F.interpolate(x, scale_factor=2, mode="trilinear", align_corners=False))
add("upsample_bilinear", {"op": "upsample_linear", "f": 2}, torch.randn(2, 3, 4, 5), fn=lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
l1_target = torch.randn(2, 3, 4, 5)
add("l1", {"op": "l1"}, torch.randn(2, 3, 4, 5), fn=lambda x: F.l1_loss(x, l1_target).reshape(1))
tensors["l1.target"] = l1_target


def ssim_loss(x, y, data_range, win=7, k1=0.01, k2=0.03):
    # fastMRI's SSIMLoss (fastmri/losses.py), written out with torch ops
    w = torch.ones(1, 1, win, win) / win ** 2
    np_ = win * win
    cov_norm = np_ / (np_ - 1)
    ux, uy = F.conv2d(x, w), F.conv2d(y, w)
    uxx, uyy, uxy = F.conv2d(x * x, w), F.conv2d(y * y, w), F.conv2d(x * y, w)
    vx, vy, vxy = cov_norm * (uxx - ux * ux), cov_norm * (uyy - uy * uy), cov_norm * (uxy - ux * uy)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    return (1 - s.mean()).reshape(1)


ssim_target = torch.rand(2, 1, 12, 11)
add("ssim_loss", {"op": "ssim_loss", "range": 1.0}, (ssim_target + 0.1 * torch.randn(2, 1, 12, 11)), fn=lambda x: ssim_loss(x, ssim_target, 1.0))
tensors["ssim_loss.target"] = ssim_target

# optimisers: 5 steps on a fixed quadratic-ish loss, parameters after each run
def optimise(name, make, steps=5):
    torch.manual_seed(3)
    p = torch.randn(6, requires_grad=True)
    target = torch.randn(6)
    tensors[f"{name}.p0"] = p.detach().clone()
    tensors[f"{name}.target"] = target
    opt = make([p])
    for _ in range(steps):
        opt.zero_grad()
        loss = ((p - target) ** 2 * torch.arange(1, 7)).sum() + (p ** 3).sum() * 0.1
        loss.backward()
        opt.step()
    tensors[f"{name}.p5"] = p.detach().clone()
    cases[name] = {"op": "optimizer"}


optimise("opt_sgd_momentum", lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, weight_decay=0.01))
optimise("opt_sgd_nesterov", lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, nesterov=True))
optimise("opt_adam", lambda ps: torch.optim.Adam(ps, lr=0.05, weight_decay=0.01))
optimise("opt_adamw", lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.1))

# Stride-1 dense convolutions run as per-tap GEMMs on the padded input: grouped, unpadded ("valid"),
# dilated 2D (the CIRIM layer shape) and a 3D volume longer than one work unit (two runs of output positions).
conv("conv3d_groups2_k3_p1", 3, 2, 4, 6, 5, 3, padding=1, groups=2)
conv("conv2d_k3_p0", 2, 1, 3, 2, 8, 3)
conv("conv2d_d2_p2", 2, 1, 4, 5, 12, 3, padding=2, dilation=2)
conv("conv3d_k3_p1_long", 3, 1, 3, 2, 30, 3, padding=1)

save_file({k: v.detach().clone().contiguous().float() for k, v in tensors.items()}, OUT, metadata={"cases": json.dumps(cases), "torch": torch.__version__})
print(OUT, len(cases), "cases,", sum(v.numel() for v in tensors.values()), "values")
