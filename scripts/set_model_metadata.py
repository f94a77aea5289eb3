"""Adds or changes metadata keys of a checkpoint, tensors untouched (safetensors' own writer).

    .venv-peers/bin/python scripts/set_model_metadata.py MODEL.safetensors key=value [key=value …]

Used to record `spacing_mm=2.0,2.0,2.0` in the shipped segmentation models, trained on 2 mm phantom
studies before the trainer wrote the key itself (models/README.md).
"""
import sys

from safetensors.numpy import load_file, save_file
from safetensors import safe_open

path = sys.argv[1]
with safe_open(path, "np") as f:
    meta = dict(f.metadata() or {})
tensors = load_file(path)
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    meta[k] = v
save_file(tensors, path, metadata=meta)
print(path, {k: meta[k] for k in (kv.split("=", 1)[0] for kv in sys.argv[2:])})
