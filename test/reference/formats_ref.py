"""Independent reference for lowbit's weight formats, written from their definitions
(ggml's Q4_0/Q8_0 block rules, bitsandbytes' NF4 levels, OCP FP8 E4M3/E5M2, OCP MX FP4,
NVIDIA NVFP4) in NumPy float32 arithmetic. Small floats are encoded by searching the
format's value table (nearest value, ties to the even code), not by bit manipulation.

Usage: python3 formats_ref.py MANIFEST.json
Each case {id, dir, format, rows, cols, granularity, groupSize, scaleType, m} has <id>.w
(float32 [rows, cols]) and, when m > 0, <id>.x (float32 [m, cols]) in `dir`. Writes
<id>.data and <id>.scales (the bytes lowbit must produce), <id>.deq (float32),
<id>.meta.json ({tensorScale}), and for m > 0 the matmul references: <id>.float and
<id>.floatmag (fp64 x @ deq.T and sum |x * deq|), and for formats with int8 activations
<id>.int8 / <id>.int8mag (per-segment float32(d_b * s) times exact integer sums).
"""
import json
import os
import sys

import numpy as np

# The layout helpers and activation quantization are the sibling references' own.
from matmul_ref import expand, pack_nibbles, quantize_act
from quant_ref import scale_sets, unsets

f32 = np.float32

NF4 = np.array([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
                0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0], f32)
E2M1 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6], np.float64)
# bitsandbytes FP4 (get_4bit_type('fp4')): sign-magnitude codes, magnitudes divided by the largest in float32.
# Its "-0" is a Python integer: code 8 is +0.0.
BNB_FP4 = (np.array([0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0, -0, -0.0625, -8.0, -12.0, -4.0, -6.0, -2.0, -3.0],
                    f32) / f32(12)).astype(f32)


def bnb_fp4_encode(x):
    """bitsandbytes' dQuantizeFP4: the sign bit, then |x| against its float32 midpoint literals ('>')."""
    a = np.abs(x).astype(f32)
    hi = np.where(a > f32(0.583333), np.where(a > f32(0.8333333), 3, 2), np.where(a > f32(0.4166667), 5, 4))
    lo = np.where(a > f32(0.0859375), np.where(a > f32(0.20833333), 7, 6), np.where(a > f32(0.00260417), 1, 0))
    return (np.where(x < 0, 8, 0) | np.where(a > f32(0.29166667), hi, lo)).astype(np.int64)


def fp8_table(ebits, mbits, bias):
    """Values of the non-negative codes 0..127 (NaN/Inf where the format says)."""
    vals = np.empty(128)
    for c in range(128):
        e, m = c >> mbits, c & ((1 << mbits) - 1)
        if e == 0:
            vals[c] = m / 2 ** mbits * 2.0 ** (1 - bias)
        else:
            vals[c] = (1 + m / 2 ** mbits) * 2.0 ** (e - bias)
    if ebits == 4:  # E4M3FN: only S.1111.111 is NaN
        vals[127] = np.nan
    else:  # E5M2: exponent 31 is Inf / NaN
        vals[124] = np.inf
        vals[125:] = np.nan
    return vals


FP8 = {"fp8_e4m3": (fp8_table(4, 3, 7), 448.0), "fp8_e5m2": (fp8_table(5, 2, 15), 57344.0)}


def nearest_even(a, table):
    """Index of the nearest entry of the increasing `table` to each a >= 0 (ties: even index);
    values past the end saturate to the last entry."""
    a = np.asarray(a, np.float64)
    i = np.clip(np.searchsorted(table, a), 1, len(table) - 1)
    lo, hi = table[i - 1], table[i]
    dl, dh = a - lo, hi - a
    pick_hi = (dh < dl) | ((dh == dl) & (i % 2 == 0))
    idx = np.where(pick_hi, i, i - 1)
    return np.where(a >= table[-1], len(table) - 1, idx)


def fp8_encode(v, fmt):
    table, vmax = FP8[fmt]
    finite = table[: int(np.argmax(table == vmax)) + 1]
    code = nearest_even(np.abs(v), finite).astype(np.uint8)
    return code | np.where(np.signbit(v), 0x80, 0).astype(np.uint8)


def fp8_decode(c, fmt):
    table = FP8[fmt][0]
    c = np.asarray(c, np.int64)
    return np.where(c & 0x80, -1.0, 1.0) * table[c & 0x7F]


def e2m1_encode(v):
    return nearest_even(np.abs(v), E2M1).astype(np.uint8) | np.where(np.signbit(v), 8, 0).astype(np.uint8)


def e2m1_decode(c):
    c = np.asarray(c, np.int64)
    return np.where(c & 8, -1.0, 1.0) * E2M1[c & 7]


def pack4(codes):
    return pack_nibbles(codes)


def round_scale(s, scale_type):
    """The stored scale and its bytes."""
    if scale_type == "float16":
        h = s.astype(np.float16)
        return h.astype(f32), h.tobytes()
    return s.astype(f32), s.astype(f32).tobytes()


def roundf(v):
    """C's roundf: halves away from zero (exact in float64 for float32 inputs)."""
    v = v.astype(np.float64)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def quantize(W, fmt, gran, group, scale_type):
    """Returns (data bytes, scales bytes, tensor scale, deq float32, int values, int8-path scales)."""
    rows, cols = W.shape
    if fmt in ("q4_0", "q8_0"):
        B = W.reshape(rows, cols // 32, 32)
        if fmt == "q8_0":
            d = np.max(np.abs(B), axis=2) / f32(127)
            idv = np.where(d == 0, f32(0), f32(1) / np.where(d == 0, f32(1), d))
            q = roundf((B * idv[:, :, None]).astype(f32)).astype(np.int8)
            payload = q.view(np.uint8)
            ival = q.astype(np.int64)
        else:
            first = np.argmax(np.abs(B), axis=2)
            mx = np.take_along_axis(B, first[:, :, None], axis=2)[:, :, 0]
            d = mx / f32(-8)
            idv = np.where(d == 0, f32(0), f32(1) / np.where(d == 0, f32(1), d))
            t = (B * idv[:, :, None]).astype(f32) + f32(8.5)
            q = np.minimum(15, np.trunc(t).astype(np.int64))
            payload = (q[:, :, :16] | (q[:, :, 16:] << 4)).astype(np.uint8)
            ival = q - 8
        dh = d.astype(np.float16)
        blocks = np.concatenate([dh.view(np.uint8).reshape(rows, cols // 32, 2), payload], axis=2)
        S = np.repeat(dh.astype(f32), 32, axis=1)
        deq = (S * ival.reshape(rows, cols).astype(f32)).astype(f32)
        return blocks.tobytes(), b"", 1.0, deq, ival.reshape(rows, cols), S
    X = scale_sets(W, gran, group)
    amax = np.max(np.abs(X), axis=1)
    ts = 1.0
    if fmt == "nf4":
        s, sbytes = round_scale(amax, scale_type)
        safe = np.where(s == 0, f32(1), s)
        xn = (X / safe[:, None]).astype(f32)
        codes = np.argmin(np.abs(xn[:, :, None] - NF4[None, None, :]), axis=2)
        codes = np.where(s[:, None] == 0, 7, codes)
        values = NF4[codes].astype(f32)
        ival = np.round(f32(127) * NF4.astype(f32)).astype(np.int64)[codes]
        s_i8 = (s * (f32(1) / f32(127))).astype(f32)
    elif fmt == "bnb_fp4":
        s, sbytes = round_scale(amax, scale_type)
        safe = np.where(s == 0, f32(1), s)
        # bitsandbytes multiplies by the reciprocal of absmax (float32), then compares.
        codes = np.where(s[:, None] == 0, 0, bnb_fp4_encode((X * (f32(1) / safe)[:, None]).astype(f32)))
        values = BNB_FP4[codes].astype(f32)
        ival = np.round(f32(127) * BNB_FP4).astype(np.int64)[codes]
        s_i8 = (s * (f32(1) / f32(127))).astype(f32)
    elif fmt in FP8:
        s, sbytes = round_scale(amax / f32(FP8[fmt][1]), scale_type)
        safe = np.where(s == 0, f32(1), s)
        codes = np.where(s[:, None] == 0, 0, fp8_encode((X / safe[:, None]).astype(f32), fmt))
        values = fp8_decode(codes, fmt).astype(f32)
        ival = None
        s_i8 = None
    elif fmt == "mxfp4":
        _, e = np.frexp(amax.astype(np.float64))
        code = np.where(amax == 0, 0, np.clip(e - 1 - 2 + 127, 0, 254)).astype(np.uint8)
        s = (2.0 ** (code.astype(np.float64) - 127)).astype(f32)
        sbytes = code.tobytes()
        codes = e2m1_encode((X / s[:, None]).astype(f32))
        values = e2m1_decode(codes).astype(f32)
        ival = (2 * e2m1_decode(codes)).astype(np.int64)
        s_i8 = (s * f32(0.5)).astype(f32)
    elif fmt == "nvfp4":
        ts = f32(np.max(amax)) / f32(448 * 6)
        if ts > 0:
            bcode = fp8_encode(((amax / f32(6)).astype(f32) / ts).astype(f32), "fp8_e4m3")
        else:
            bcode = np.zeros(len(amax), np.uint8)
        bs = fp8_decode(bcode, "fp8_e4m3").astype(f32)
        s = (bs * ts).astype(f32)
        sbytes = bcode.tobytes()
        safe = np.where(s == 0, f32(1), s)
        codes = np.where(s[:, None] == 0, 0, e2m1_encode((X / safe[:, None]).astype(f32)))
        values = e2m1_decode(codes).astype(f32)
        ival = (2 * e2m1_decode(codes)).astype(np.int64)
        s_i8 = (bs * f32(ts * f32(0.5))).astype(f32)
        ts = float(ts)
    elif fmt == "int":
        raise ValueError("use quantize_int")
    codes = unsets(codes, (rows, cols), gran).astype(np.uint8)
    deq = (expand(s, rows, cols, gran, group) * unsets(values, (rows, cols), gran)).astype(f32)
    data = (codes if fmt in FP8 else pack4(codes)).tobytes()
    if ival is not None:
        ival = unsets(ival, (rows, cols), gran)
        s_i8 = expand(s_i8, rows, cols, gran, group)
    return data, sbytes, ts, deq, ival, s_i8


def quantize_int(W, bits, scheme, gran, group, scale_type):
    """The integer codes with the scale rounded to its stored type first (float16 scales);
    returns (data, scales bytes, zeros bytes, deq)."""
    rows, cols = W.shape
    X = scale_sets(W, gran, group)
    if scheme == "symmetric":
        qmax = 2 ** (bits - 1) - 1
        s, sbytes = round_scale(np.max(np.abs(X), axis=1) / f32(qmax), scale_type)
        safe = np.where(s == 0, f32(1), s)
        q = np.where(s[:, None] == 0, 0, np.clip(np.round(X / safe[:, None]), -qmax - 1, qmax)).astype(np.int64)
        z = np.zeros(len(s), np.int64)
        zbytes = b""
    else:
        qmax = 2 ** bits - 1
        lo = np.minimum(np.min(X, axis=1), f32(0))
        hi = np.maximum(np.max(X, axis=1), f32(0))
        s, sbytes = round_scale((hi - lo) / f32(qmax), scale_type)
        safe = np.where(s == 0, f32(1), s)
        z = np.where(s == 0, 0, np.clip(np.round(-lo / safe), 0, qmax)).astype(np.int64)
        q = np.where(s[:, None] == 0, z[:, None],
                     np.clip(np.round(X / safe[:, None]) + z[:, None], 0, qmax)).astype(np.int64)
        zbytes = z.astype(np.uint8).tobytes()
    deq = (s[:, None] * (q - z[:, None]).astype(f32)).astype(f32)
    q = unsets(q, (rows, cols), gran)
    deq = unsets(deq, (rows, cols), gran)
    if bits == 8:
        data = q.astype(np.int8 if scheme == "symmetric" else np.uint8).view(np.uint8).tobytes()
    else:
        data = pack4((q + 8 if scheme == "symmetric" else q).astype(np.uint8)).tobytes()
    return data, sbytes, zbytes, deq


def main():
    for case in json.load(open(sys.argv[1])):
        base = os.path.join(case["dir"], case["id"])
        rows, cols, fmt = case["rows"], case["cols"], case["format"]
        gran, group = case["granularity"], case.get("groupSize") or cols
        W = np.fromfile(base + ".w", "<f4").reshape(rows, cols)
        if fmt == "int":
            data, sbytes, zbytes, deq = quantize_int(W, case["bits"], case["scheme"], gran, group, case["scaleType"])
            open(base + ".zeros", "wb").write(zbytes)
            ts, ival, s_i8 = 1.0, None, None
        else:
            data, sbytes, ts, deq, ival, s_i8 = quantize(W, fmt, gran, group, case["scaleType"])
        open(base + ".data", "wb").write(data)
        open(base + ".scales", "wb").write(sbytes)
        deq.tofile(base + ".deq")
        json.dump({"tensorScale": ts}, open(base + ".meta.json", "w"))
        m = case.get("m", 0)
        if not m:
            continue
        x = np.fromfile(base + ".x", "<f4").reshape(m, cols)
        (x.astype(np.float64) @ deq.astype(np.float64).T).tofile(base + ".float")
        (np.abs(x.astype(np.float64)) @ np.abs(deq.astype(np.float64)).T).tofile(base + ".floatmag")
        if ival is None:
            continue
        if gran == "column":
            # Column scales fold into x; the kernels then see unit scales (times the table's factor).
            xs = (x * deq_scale_column(W, fmt, case["scaleType"])[None, :]).astype(f32)
            sc_el = np.full((rows, cols), f32(1) / f32(127), f32)
        else:
            xs, sc_el = x, s_i8
        xq, d = quantize_act(xs)
        y = np.zeros((m, rows))
        mag = np.zeros((m, rows))
        seg = min(group, 32) if gran == "group" else 32
        for a in range(0, cols, seg):
            e = a + seg
            b = a // 32
            isum = xq[:, a:e] @ ival[:, a:e].T
            ds = (d[:, b][:, None] * sc_el[:, a][None, :]).astype(f32).astype(np.float64)
            y += ds * isum
            mag += np.abs(ds) * (np.abs(xq[:, a:e]) @ np.abs(ival[:, a:e]).T)
        y.tofile(base + ".int8")
        mag.tofile(base + ".int8mag")


def deq_scale_column(W, fmt, scale_type):
    """Per-column stored scales (column granularity, nf4 only in the tests)."""
    assert fmt == "nf4"
    s, _ = round_scale(np.max(np.abs(W), axis=0), scale_type)
    return s


if __name__ == "__main__":
    main()
