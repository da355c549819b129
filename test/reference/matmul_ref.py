"""Independent reference for lowbit's matmul, written from the API contract.

Usage: python3 matmul_ref.py MANIFEST.json
Each case {id, rows, cols, bits, scheme, granularity, groupSize, m, dir} has, in `dir`,
<id>.x (float32 [m, cols]) and the QuantizedMatrix buffers <id>.data, <id>.scales and
<id>.zeros (asymmetric). Writes <id>.float (fp64 x @ dequantize(w).T) and, for the int8
path, <id>.int8 (fp64 sum over blocks of float32(d_b * s) * exact integer block sums) with
<id>.int8mag (a bound on the sum of |terms| the kernels accumulate in fp32).
"""
import json
import os
import sys

import numpy as np

f32 = np.float32


def pack_nibbles(u):
    """lowbit's 4-bit rows of codes u [rows, cols]: per block of w = 32 columns (fewer at a row's end),
    ceil(w / 2) bytes, byte j holding column j low and column j + ceil(w / 2) high."""
    u = np.asarray(u, np.uint8)
    rows, cols = u.shape
    out = np.zeros((rows, (cols + 1) // 2), np.uint8)
    for b0 in range(0, cols, 32):
        w = min(32, cols - b0)
        h = (w + 1) // 2
        hi = np.zeros((rows, h), np.uint8)
        hi[:, : w - h] = u[:, b0 + h : b0 + w]
        out[:, b0 // 2 : b0 // 2 + h] = u[:, b0 : b0 + h] | (hi << 4)
    return out


def unpack_nibbles(packed, rows, cols):
    """pack_nibbles' inverse: the codes [rows, cols] (int64)."""
    packed = np.asarray(packed, np.uint8).reshape(rows, (cols + 1) // 2)
    u = np.empty((rows, cols), np.int64)
    for b0 in range(0, cols, 32):
        w = min(32, cols - b0)
        h = (w + 1) // 2
        blk = packed[:, b0 // 2 : b0 // 2 + h].astype(np.int64)
        u[:, b0 : b0 + h] = blk & 15
        u[:, b0 + h : b0 + w] = (blk >> 4)[:, : w - h]
    return u


def codes(data, rows, cols, bits, scheme):
    if bits == 8:
        q = data.reshape(rows, cols)
        return (q.view(np.int8) if scheme == "symmetric" else q).astype(np.int64)
    if bits in (2, 3):
        # Each row a little-endian bit stream of `bits`-bit codes, padded to whole bytes.
        row_bytes = (cols * bits + 7) // 8
        stream = np.unpackbits(data.reshape(rows, row_bytes), axis=1, bitorder="little")[:, : cols * bits]
        u = (stream.reshape(rows, cols, bits).astype(np.int64) << np.arange(bits)).sum(axis=2)
        return u - 2 ** (bits - 1) if scheme == "symmetric" else u
    nib = unpack_nibbles(data, rows, cols)
    return nib - 8 if scheme == "symmetric" else nib


def expand(v, rows, cols, granularity, group):
    """Per-element [rows, cols] view of a per-scale array."""
    if granularity == "tensor":
        return np.broadcast_to(v[0], (rows, cols))
    if granularity == "row":
        return np.broadcast_to(v[:, None], (rows, cols))
    if granularity == "column":
        return np.broadcast_to(v[None, :], (rows, cols))
    return np.repeat(v.reshape(rows, cols // group), group, axis=1)


def quantize_act(x):
    """Blocks of 32 along each row: d = amax / 127, q = round-half-even(x / d), in float32."""
    m, k = x.shape
    nb = (k + 31) // 32
    xp = np.zeros((m, nb * 32), f32)
    xp[:, :k] = x
    blocks = xp.reshape(m, nb, 32)
    d = np.max(np.abs(blocks), axis=2) / f32(127)
    safe = np.where(d == 0, f32(1), d)
    q = np.where(d[:, :, None] == 0, f32(0), np.round(blocks / safe[:, :, None]))
    return q.reshape(m, nb * 32)[:, :k].astype(np.int64), d


def main():
    for case in json.load(open(sys.argv[1])):
        base = os.path.join(case["dir"], case["id"])
        rows, cols, bits, scheme = case["rows"], case["cols"], case["bits"], case["scheme"]
        gran, group, m = case["granularity"], case.get("groupSize") or cols, case["m"]
        x = np.fromfile(base + ".x", "<f4").reshape(m, cols)
        q = codes(np.fromfile(base + ".data", np.uint8), rows, cols, bits, scheme)
        s = np.fromfile(base + ".scales", "<f4")
        z = np.fromfile(base + ".zeros", np.uint8).astype(np.int64) if scheme == "asymmetric" else np.zeros(len(s), np.int64)
        S = expand(s, rows, cols, gran, group)
        Z = expand(z, rows, cols, gran, group)
        wh = (S * (q - Z).astype(f32)).astype(f32)  # dequantize(w), float32
        (x.astype(np.float64) @ wh.astype(np.float64).T).tofile(base + ".float")
        if gran == "column" and scheme == "asymmetric":
            # The kernels sum x*s times raw codes and subtract x*s times zero-points.
            mag_f = np.abs((x * s[None, :]).astype(np.float64)) @ (q + Z).astype(np.float64).T
        else:
            mag_f = np.abs(x.astype(np.float64)) @ np.abs(wh.astype(np.float64)).T
        mag_f.tofile(base + ".floatmag")

        # int8 activations: column scales fold into x (float32), then blocks of 32.
        xs = (x * s[None, :]).astype(f32) if gran == "column" else x
        xq, d = quantize_act(xs)
        nb = d.shape[1]
        y = np.zeros((m, rows))
        mag = np.zeros((m, rows))
        for b in range(nb):
            c0, c1 = b * 32, min(cols, b * 32 + 32)
            # Within one activation block the weight scale may change (groups < 32): split.
            bounds = sorted({c0, c1} | {g for g in range(c0, c1) if gran == "group" and g % group == 0})
            for a, e in zip(bounds[:-1], bounds[1:]):
                if gran == "column":
                    # Unit scales; asymmetric codes stay raw (zero-points are corrected below).
                    sc = np.ones(rows, f32)
                    w_int = q[:, a:e]
                else:
                    sc = S[:, a]
                    w_int = q[:, a:e] - Z[:, a:e]
                isum = xq[:, a:e] @ w_int.T  # exact integers [m, rows]
                ds = (d[:, b][:, None] * sc[None, :]).astype(f32).astype(np.float64)
                y += ds * isum
                mag += np.abs(ds) * (np.abs(xq[:, a:e]) @ np.abs(w_int).T)
                if bits == 8 and scheme == "asymmetric":
                    zz = (Z[:, a] if gran != "column" else np.zeros(rows, np.int64)) - 128
                    mag += np.abs(ds) * np.abs(np.outer(xq[:, a:e].sum(axis=1), zz))
        if gran == "column" and scheme == "asymmetric":
            # y -= sum_c x'_c z_c, per x row, from the same int8 codes.
            corr = np.zeros(m)
            cmag = np.zeros(m)
            for b in range(nb):
                c0, c1 = b * 32, min(cols, b * 32 + 32)
                t = d[:, b].astype(np.float64) * (xq[:, c0:c1] @ z[c0:c1])
                corr += t
                cmag += np.abs(t)
            y -= corr[:, None]
            mag += cmag[:, None]
        y.tofile(base + ".int8")
        mag.tofile(base + ".int8mag")


if __name__ == "__main__":
    main()
