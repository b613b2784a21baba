"""Write the shared wire vectors (tests/vectors/) as seed inputs for a fuzz target.

usage: vector_seeds.py TARGET CORPUS_DIR

decode: every vector's wire text. encode: the encode vectors' names, prefixes, tags and expected
lines (the target splits its input with arbitrary::Unstructured, so the wire texts steer its
string choices). packet: each packet vector as a max-payload byte pair followed by its lines.
"""
import json
import os
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vectors")
target, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)


def load(name):
    with open(os.path.join(root, name), encoding="utf-8") as f:
        return json.load(f)


seeds = []
if target == "encode":
    for c in load("encode.json"):
        parts = [c["prefix"], str(c["metric"]), str(c["value"])]
        for t in c["global_tags"] + c["tags"]:
            parts.extend(str(x) for x in (t if isinstance(t, list) else [t]))
        if "expect" in c:
            parts.append(c["expect"])
        seeds.append("\x00".join(parts).encode())
if target == "packet":
    for c in load("packet.json"):
        m = c["max_payload"] & 0xFFFF
        seeds.append(bytes([m & 0xFF, m >> 8]) + "\n".join(c["lines"]).encode())
for c in load("decode.json"):
    seeds.append(c["input"].encode())
for c in load("decode_bytes.json"):
    seeds.append(bytes.fromhex(c["input_hex"]))
for c in load("encode.json"):
    if "expect" in c:
        seeds.append(c["expect"].encode())
for c in load("packet.json"):
    seeds.append("\n".join(c["lines"]).encode())
# Inputs that once crashed the target (core/fuzz/regressions/TARGET/), kept as seeds.
reg = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core", "fuzz", "regressions", target)
if os.path.isdir(reg):
    for name in sorted(os.listdir(reg)):
        with open(os.path.join(reg, name), "rb") as f:
            seeds.append(f.read())
for i, s in enumerate(seeds):
    with open(os.path.join(out, f"vector-{i:04d}"), "wb") as f:
        f.write(s)
