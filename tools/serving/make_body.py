#!/usr/bin/env python3
"""Writes a KServe v2 binary-tensor request body (Triton's binary extension) for the load tools.

    make_body.py OUT.bin BATCH CHANNELS SIZE   -> prints the JSON header length (Inference-Header-Content-Length)
"""
import json
import random
import struct
import sys

out, batch, channels, size = sys.argv[1], *map(int, sys.argv[2:5])
count = batch * channels * size * size
header = json.dumps({
    "inputs": [{"name": "input", "datatype": "FP32", "shape": [batch, channels, size, size],
                "parameters": {"binary_data_size": count * 4}}],
    "outputs": [{"name": "logits", "parameters": {"binary_data": True}}],
}).encode()
rng = random.Random(0)
with open(out, "wb") as f:
    f.write(header)
    f.write(struct.pack(f"<{count}f", *(rng.uniform(-2, 2) for _ in range(count))))
print(len(header))
