"""Independent reference for lowbit's quantization contract, written from the textbook section's
NumPy code (Code 22.2.1 and its asymmetric exercise) in float32 arithmetic.

Usage: python3 quant_ref.py MANIFEST.json
The manifest lists cases {id, rows, cols, bits, scheme, granularity, groupSize, input};
`input` is a float32 little-endian file. For each case it writes <id>.data (packed codes),
<id>.scales (float32), <id>.zeros (uint8, asymmetric only) and <id>.deq (float32) next to
the manifest, and prints a JSON list of {id, relativeError, maxAbsError}.
"""
import json
import os
import sys

import numpy as np

from matmul_ref import pack_nibbles  # the sibling reference's 4-bit row layout

f32 = np.float32


def scale_sets(W, granularity, group_size):
    """W reshaped to [n_scales, elements_per_scale], in the contract's scale order."""
    rows, cols = W.shape
    if granularity == "tensor":
        return W.reshape(1, -1)
    if granularity == "row":
        return W
    if granularity == "column":
        return W.T
    return W.reshape(rows * cols // group_size, group_size)


def unsets(X, shape, granularity):
    return X.T.copy() if granularity == "column" else X.reshape(shape)


def quantize(W, bits, scheme, granularity, group_size):
    X = scale_sets(W, granularity, group_size)
    if scheme == "symmetric":
        qmax = 2 ** (bits - 1) - 1
        s = np.max(np.abs(X), axis=1, keepdims=True) / f32(qmax)
        safe = np.where(s == 0, f32(1), s)
        q = np.clip(np.round(X / safe), -qmax - 1, qmax)
        z = np.zeros_like(s)
    else:
        levels = 2 ** bits - 1
        lo = np.minimum(np.min(X, axis=1, keepdims=True), f32(0))
        hi = np.maximum(np.max(X, axis=1, keepdims=True), f32(0))
        s = (hi - lo) / f32(levels)
        safe = np.where(s == 0, f32(1), s)
        z = np.where(s == 0, f32(0), np.round(-lo / safe))
        q = np.clip(np.round(X / safe) + z, 0, levels)
    q = np.where(s == 0, z, q)  # an all-zero set dequantizes to exactly 0
    assert q.dtype == np.float32 and s.dtype == np.float32
    deq = (s * (q - z)).astype(np.float32)
    return (unsets(q, W.shape, granularity).astype(np.int32), s.ravel(), z.ravel(),
            unsets(deq, W.shape, granularity))


def pack(q, bits, scheme):
    if bits == 8:
        return q.astype(np.int8).view(np.uint8) if scheme == "symmetric" else q.astype(np.uint8)
    if bits in (2, 3):
        # Each row a little-endian bit stream: bit j of column c's code is bit bits * c + j of the row
        # (2-bit: onnxruntime MatMulNBits' packing), rows padded to whole bytes; symmetric codes q + 2^(bits-1).
        u = (q + 2 ** (bits - 1) if scheme == "symmetric" else q).astype(np.uint8)
        rows, cols = u.shape
        stream = ((u[:, :, None] >> np.arange(bits, dtype=np.uint8)) & 1).reshape(rows, cols * bits)
        stream = np.pad(stream, ((0, 0), (0, -(cols * bits) % 8)))
        return np.packbits(stream, axis=1, bitorder="little")
    return pack_nibbles((q + 8 if scheme == "symmetric" else q).astype(np.uint8))


def main():
    manifest = sys.argv[1]
    out_dir = os.path.dirname(manifest)
    results = []
    for case in json.load(open(manifest)):
        W = np.fromfile(case["input"], dtype="<f4").reshape(case["rows"], case["cols"])
        q, s, z, deq = quantize(W, case["bits"], case["scheme"], case["granularity"], case.get("groupSize"))
        base = os.path.join(out_dir, case["id"])
        pack(q, case["bits"], case["scheme"]).tofile(base + ".data")
        s.astype("<f4").tofile(base + ".scales")
        if case["scheme"] == "asymmetric":
            z.astype(np.uint8).tofile(base + ".zeros")
        deq.astype("<f4").tofile(base + ".deq")
        diff = W.astype(np.float64) - deq.astype(np.float64)
        norm_w = np.linalg.norm(W.astype(np.float64))
        results.append({
            "id": case["id"],
            "relativeError": float(np.linalg.norm(diff) / norm_w) if norm_w > 0 else 0.0,
            "maxAbsError": float(np.max(np.abs(diff))),
        })
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
