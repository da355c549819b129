"""Independent float64 references for lowbit's calibration methods, written from the papers
and the issue's definitions: activation statistics, SmoothQuant, GPTQ (Frantar et al., with
lazy batches, act-order with static groups, dead columns, dampening) and orthogonality checks.

Usage: python3 calib_ref.py MANIFEST.json
Cases (in `dir`): {id, kind: "stats" | "smooth" | "gptq", ...}; inputs and outputs are
little-endian float32 files named <id>.<name>; GPTQ writes <id>.codes (int64 codes before the
+8 / zero-point storage offset, row-major) and <id>.deq (float64 dequantized weights).
"""
import json
import os
import sys

import numpy as np

f32 = np.float32


def load(base, name, shape=None):
    a = np.fromfile(base + "." + name, "<f4")
    return a.reshape(shape) if shape else a


def params(v, bits, sym, f16):
    """Scale and zero-point of values v (last axis), in float32 like the quantizer."""
    v = v.astype(f32)
    if sym:
        s = np.max(np.abs(v), axis=-1) / f32(2 ** (bits - 1) - 1)
    else:
        lo = np.minimum(np.min(v, axis=-1), f32(0))
        hi = np.maximum(np.max(v, axis=-1), f32(0))
        s = (hi - lo) / f32(2 ** bits - 1)
    s = s.astype(f32)
    if f16:
        s = s.astype(np.float16).astype(f32)
    if sym:
        z = np.zeros_like(s)
    else:
        safe = np.where(s == 0, f32(1), s)
        z = np.where(s == 0, f32(0), np.clip(np.round(-lo / safe), 0, 2 ** bits - 1)).astype(f32)
    return s, z


def quant(w, s, z, bits, sym):
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if sym else (0, 2 ** bits - 1)
    safe = np.where(s == 0, f32(1), s)
    q = np.where(s == 0, z, np.clip(np.round(w.astype(f32) / safe) + z, qmin, qmax))
    return q.astype(np.int64)


def gptq(W, H, bits, sym, gran, group, damp, block, act_order, f16):
    rows, n = W.shape
    W = W.astype(np.float64).copy()
    H = H.astype(np.float64).copy()
    dead = np.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    perm = np.argsort(-np.diag(H), kind="stable") if act_order else np.arange(n)
    W = W[:, perm]
    H = H[perm][:, perm]
    H[np.diag_indices(n)] += damp * np.mean(np.diag(H))
    U = np.linalg.cholesky(np.linalg.inv(H)).T  # upper, U^T U = H^-1
    G = group if gran == "group" else n
    codes = np.zeros((rows, n), np.int64)
    deq = np.zeros((rows, n))
    W0 = W.copy()  # permuted original, for static parameters
    if gran == "tensor":
        s_all, z_all = params(W0.reshape(1, -1), bits, sym, f16)
        fixed = lambda c: (np.full(rows, s_all[0], f32), np.full(rows, z_all[0], f32))
    elif gran == "row" or act_order:
        orig = np.zeros_like(W0)
        orig[:, perm] = W0
        sg, zg = params(orig.reshape(rows, n // G, G), bits, sym, f16)
        fixed = lambda c: (sg[:, c // G], zg[:, c // G])
    cur = None
    for i1 in range(0, n, block):
        i2 = min(n, i1 + block)
        W1 = W[:, i1:i2].copy()
        Err = np.zeros((rows, i2 - i1))
        for i in range(i1, i2):
            c = perm[i]
            if gran == "group" and not act_order:
                if c % G == 0:
                    cur = params(W[:, i:i + G], bits, sym, f16)  # values as of the block's start
                s, z = cur
            else:
                s, z = fixed(c)
            w = W1[:, i - i1]
            q = quant(w, s, z, bits, sym)
            d = s.astype(np.float64) * (q - z)
            codes[:, c] = q
            deq[:, c] = d
            e = (w - d) / U[i, i]
            W1[:, i - i1 + 1:] -= np.outer(e, U[i, i + 1:i2])
            Err[:, i - i1] = e
        W[:, i2:] -= Err @ U[i1:i2, i2:]
    return codes, deq


def main():
    for case in json.load(open(sys.argv[1])):
        base = os.path.join(case["dir"], case["id"])
        kind = case["kind"]
        if kind == "stats":
            n, k = case["n"], case["k"]
            X = load(base, "x", (n, k)).astype(np.float64)
            np.max(np.abs(X), axis=0).astype(np.float64).tofile(base + ".absmax")
            np.mean(np.abs(X), axis=0).tofile(base + ".meanabs")
            (2 * X.T @ X / n).tofile(base + ".hessian")
            (2 * np.abs(X).T @ np.abs(X) / n).tofile(base + ".hessianmag")
        elif kind == "smooth":
            rows, cols, alpha = case["rows"], case["cols"], case["alpha"]
            W = load(base, "w", (rows, cols)).astype(np.float64)
            a = load(base, "absmax").astype(np.float64)
            wmax = np.max(np.abs(W), axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                s = np.where((a == 0) | (wmax == 0), 1.0, a ** alpha / wmax ** (1 - alpha))
            np.clip(s, 1e-5, 1e5).tofile(base + ".factors")
        elif kind == "gptq":
            rows, cols = case["rows"], case["cols"]
            W = load(base, "w", (rows, cols))
            H = load(base, "h", (cols, cols))
            codes, deq = gptq(W, H, case["bits"], case["scheme"] == "symmetric", case["granularity"],
                              case.get("groupSize") or cols, case["damp"], case["blockSize"], case["actOrder"],
                              case["scaleType"] == "float16")
            codes.tofile(base + ".codes")
            deq.tofile(base + ".deq")


if __name__ == "__main__":
    main()
