#!/usr/bin/env python3
"""Exports an atommic RIM/CIRIM checkpoint to a Gantry checkpoint (safetensors).

Input: a PyTorch Lightning `.ckpt` written by atommic (state dict under `state_dict`, the model
config under `hyper_parameters.cfg`), or a plain state dict saved with torch.save. Only the
`reconstruction_module.*` tensors are kept (atommic may also hold a coil-sensitivity network,
which Gantry does not use: give it coil maps instead). The configuration comes from the
checkpoint, else from --config (an atommic YAML with a `model:` section), else it is inferred from
the tensor shapes with atommic's dilations [1, 2, 1] and --time-steps. atommic's CIRIM rounds
time_steps up to a multiple of 8; the exported config stores the rounded value it really ran.

Usage: export_atommic_cirim.py IN.ckpt OUT.safetensors [--config cirim.yaml] [--time-steps 8]
Then: gantry recon --method cirim --model OUT.safetensors --in kspace.h5 --out recon.nii.gz
"""
import argparse
import json
import math
import os
import re

import torch
from safetensors.torch import save_file

KEYS = ["recurrent_layer", "conv_filters", "conv_kernels", "conv_dilations", "conv_bias", "recurrent_filters",
        "recurrent_kernels", "recurrent_dilations", "recurrent_bias", "time_steps", "num_cascades", "no_dc"]


def infer(state, time_steps):
    cascades = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"reconstruction_module\.(\d+)\.", k)))
    p = "reconstruction_module.0."
    w0, w1, wf = state[p + "layers.0.convs.conv_layer.weight"], state[p + "layers.1.convs.conv_layer.weight"], state[p + "final_layer.0.conv_layer.weight"]
    h0, h1 = w0.shape[0], w1.shape[0]
    if p + "layers.0.rnn.hh" in state:
        cell = "IndRNN"
    else:
        cell = {3: "GRU", 2: "MGU"}[state[p + "layers.0.rnn.hh.weight"].shape[0] // h0]
    rk = [state[p + f"layers.{i}.rnn.ih.weight"].shape[-1] for i in (0, 1)]
    return {"recurrent_layer": cell, "conv_filters": [h0, h1, wf.shape[0]], "conv_kernels": [w0.shape[-1], w1.shape[-1], wf.shape[-1]],
            "conv_dilations": [1, 2, 1], "conv_bias": [p + "layers.0.convs.conv_layer.bias" in state, p + "layers.1.convs.conv_layer.bias" in state,
                                                        p + "final_layer.0.conv_layer.bias" in state],
            "recurrent_filters": [h0, h1, 0], "recurrent_kernels": rk + [0], "recurrent_dilations": [1, 1, 0],
            "recurrent_bias": [p + "layers.0.rnn.ih.bias" in state, p + "layers.1.rnn.ih.bias" in state, False],
            "time_steps": time_steps, "num_cascades": cascades, "no_dc": p + "dc_weight" not in state}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--config")
    ap.add_argument("--time-steps", type=int, default=8)
    a = ap.parse_args()
    ckpt = torch.load(a.input, map_location="cpu", weights_only=False)
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else ckpt
    state = {k[len("model."):] if k.startswith("model.") else k: v for k, v in state.items()}
    state = {k: v.detach().float().contiguous() for k, v in state.items() if k.startswith("reconstruction_module.")}
    if not state:
        raise SystemExit(f"{a.input}: no reconstruction_module.* tensors (not an atommic RIM/CIRIM checkpoint)")
    cfg = None
    if isinstance(ckpt, dict) and isinstance(ckpt.get("hyper_parameters"), dict) and "cfg" in ckpt["hyper_parameters"]:
        cfg = dict(ckpt["hyper_parameters"]["cfg"])
    elif a.config:
        import yaml
        cfg = yaml.safe_load(open(a.config))["model"]
    cfg = {k: cfg[k] for k in KEYS if k in cfg} if cfg else infer(state, a.time_steps)
    if "num_cascades" not in cfg:
        cfg["num_cascades"] = 1 + max(int(re.match(r"reconstruction_module\.(\d+)\.", k).group(1)) for k in state)
    cfg["time_steps"] = 8 * math.ceil(cfg.get("time_steps", a.time_steps) / 8)
    cfg.setdefault("no_dc", True)
    save_file(state, a.output, metadata={"gantry_model": "CIRIM", "config": json.dumps(cfg, sort_keys=True), "format": "pt",
                                         "source": f"atommic checkpoint {os.path.basename(a.input)}"})
    print(a.output, cfg)


if __name__ == "__main__":
    main()
