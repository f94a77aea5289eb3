"""Checks a Gantry output folder as a BIDS derivatives dataset with pybids (an independent parser).

    .venv-peers/bin/python scripts/check_bids_derivatives.py RAW_STUDY OUT

pybids indexes OUT as a derivatives dataset of RAW_STUDY; every published file must be indexed,
its entities parsed back must be those its name states, every `bids:raw:` source in a sidecar must
exist in the raw dataset, and every dseg must have its label table. Prints one line per check and
exits non-zero on the first failure. (The Python `bids-validator` package checks raw-dataset names
only, so it cannot judge derivative names; pybids' derivatives configuration can.)
"""
import json
import os
import sys

import bids

raw, out = sys.argv[1], sys.argv[2]
layout = bids.BIDSLayout(raw, validate=False, derivatives=[out])
deriv = layout.derivatives["Gantry"] if "Gantry" in layout.derivatives else list(layout.derivatives.values())[0]
ignored = [l.strip() for l in open(os.path.join(out, ".bidsignore")) if l.strip()]
published = []
for root, dirs, files in os.walk(out):
    rel_root = os.path.relpath(root, out)
    dirs[:] = [d for d in dirs if not d.startswith(".") and not any((os.path.join(rel_root, d) + "/").lstrip("./").startswith(i) for i in ignored)]
    for f in files:
        rel = os.path.normpath(os.path.join(rel_root, f))
        if rel in ("dataset_description.json", ".bidsignore"):
            continue
        published.append(rel)
indexed = {os.path.relpath(f.path, out) for f in deriv.get()}
failures = 0
for rel in sorted(published):
    if rel not in indexed:
        print(f"FAIL not indexed by pybids: {rel}"); failures += 1; continue
    ents = deriv.get_file(os.path.join(out, rel)).get_entities()
    name = os.path.basename(rel)
    stated = dict(kv.split("-", 1) for kv in name.split("_")[:-1])
    for key, bids_key in [("sub", "subject"), ("ses", "session"), ("space", "space"), ("desc", "desc"), ("from", "from"), ("to", "to"), ("mode", "mode")]:
        if key in stated and str(ents.get(bids_key)) != stated[key]:
            print(f"FAIL {rel}: {bids_key} parsed as {ents.get(bids_key)!r}, name says {stated[key]!r}"); failures += 1
    suffix = name.split("_")[-1].split(".")[0]
    if ents.get("suffix") != suffix:
        print(f"FAIL {rel}: suffix parsed as {ents.get('suffix')!r}"); failures += 1
    if rel.endswith(".json"):
        for src in json.load(open(os.path.join(out, rel))).get("Sources", []):
            if src.startswith("bids:raw:") and not os.path.exists(os.path.join(raw, src[len("bids:raw:"):])):
                print(f"FAIL {rel}: source {src} does not exist"); failures += 1
    if rel.endswith("_dseg.nii.gz") and not os.path.exists(os.path.join(out, rel[:-7] + ".tsv")):
        print(f"FAIL {rel}: no label table"); failures += 1
desc = json.load(open(os.path.join(out, "dataset_description.json")))
if desc.get("DatasetType") != "derivative" or not desc.get("GeneratedBy"):
    print("FAIL dataset_description.json: DatasetType/GeneratedBy"); failures += 1
print(f"{len(published)} published files, {len(indexed)} indexed by pybids {bids.__version__}, "
      f"{len(deriv.get(suffix='dseg', extension='.nii.gz'))} dseg images; {failures} failure(s)")
sys.exit(1 if failures else 0)
