"""Imports atommic 1.0.1's model modules without running its package __init__s (which pull in the
whole training stack: Lightning, Hydra, wandb…): each package on the path to rim_base becomes an
empty module pointing at the installed folder. Used by the parity fixtures and the benchmarks."""
import importlib.util
import os
import sys
import types


def load_rim_modules():
    root = os.path.dirname(importlib.util.find_spec("atommic").origin)
    for name in ["atommic", "atommic.collections", "atommic.collections.common", "atommic.collections.common.parts",
                 "atommic.collections.reconstruction", "atommic.collections.reconstruction.nn",
                 "atommic.collections.reconstruction.nn.rim_base"]:
        if name not in sys.modules:
            m = types.ModuleType(name)
            m.__path__ = [os.path.join(root, *name.split(".")[1:])]
            sys.modules[name] = m
