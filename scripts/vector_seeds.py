"""Write the shared wire vectors (tests/vectors/) as seed inputs for a fuzz target.

usage: vector_seeds.py TARGET CORPUS_DIR
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
for c in load("decode.json"):
    seeds.append(c["input"].encode())
for c in load("decode_bytes.json"):
    seeds.append(bytes.fromhex(c["input_hex"]))
for c in load("encode.json"):
    if "expect" in c:
        seeds.append(c["expect"].encode())
for c in load("packet.json"):
    seeds.append("\n".join(c["lines"]).encode())
for i, s in enumerate(seeds):
    with open(os.path.join(out, f"vector-{i:04d}"), "wb") as f:
        f.write(s)
