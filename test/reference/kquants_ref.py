"""Independent reference for ggml's K-quant reference quantizers (Q4_K, Q5_K, Q6_K), written from
ggml's C code (github.com/ggml-org/ggml commit d99724f2b141fed9e1a9f402213506c081433465,
src/ggml-quants.c: nearest_int, make_qx_quants, make_qkx2_quants, quantize_row_q{4,5,6}_K_ref,
dequantize_row_q{4,5,6}_K; block layouts from src/ggml-common.h; fp16 conversions from
src/ggml-impl.h) in NumPy float32 arithmetic. It repeats C's float operations one by one in C's
order, with no FMA: sums run sequentially (cumsum, never np.sum), nearest_int is the 12582912
trick done on float32 bits, and fp16 conversion is ggml's own bit routine (round to nearest even).
All super-blocks of a tensor are worked on at once.

Block bytes (little-endian): Q4_K 144 = fp16 d, fp16 dmin, scales[12], qs[128];
Q5_K 176 = d, dmin, scales[12], qh[32], qs[128]; Q6_K 210 = ql[128], qh[64], int8 scales[16], fp16 d.

Usage: python3 kquants_ref.py MANIFEST.json
Each case {id, dir, format ('q4_k' | 'q5_k' | 'q6_k'), rows, cols (a multiple of 256)} has <id>.w
(float32 [rows, cols]) in `dir`. Writes <id>.data (each row's blocks back to back, rows back to back:
the bytes lowbit must produce) and <id>.deq (float32 [rows, cols], dequantized from those bytes as
ggml's dequantize_row_* computes). A case with "m" > 0 also has <id>.x (float32 [m, cols]); for it the
script writes <id>.int8 and <id>.int8mag (float64 [m, rows]): lowbit's int8-activation product from exact
integer block sums (activations quantized by matmul_ref.quantize_act) and the magnitude bounding its
float rounding (see matmul_int8).
"""
import json
import os
import sys

import numpy as np

from matmul_ref import quantize_act  # the sibling reference's activation quantization

f32 = np.float32
QK_K = 256
BLOCK_BYTES = {"q4_k": 144, "q5_k": 176, "q6_k": 210}
GROUP_MAX_EPS = f32(1e-15)


# ---------------------------------------------------------------- scalar helpers, as in C

def nearest_int(v):
    """ggml's nearest_int: add 12582912.f in float32, read the bits as int32, (i & 0x7fffff) - 0x400000.
    Round half to even for |v| < 2^22; outside that (and for Inf / NaN) the same bit arithmetic as C."""
    val = (np.asarray(v, f32) + f32(12582912)).astype(f32)
    return (val.view(np.int32).astype(np.int64) & 0x007FFFFF) - 0x00400000


def fp32_to_fp16(f):
    """ggml_compute_fp32_to_fp16 on the bits: round to nearest even, overflow to Inf, NaN -> sign | 0x7E00."""
    f = np.asarray(f, f32)
    base = ((np.abs(f) * f32(2.0 ** 112)).astype(f32) * f32(2.0 ** -110)).astype(f32)
    w = f.view(np.uint32).astype(np.uint64)
    shl1_w = (w + w) & 0xFFFFFFFF
    sign = w & 0x80000000
    bias = np.maximum(shl1_w & 0xFF000000, 0x71000000)
    base = (((bias >> 1) + 0x07800000).astype(np.uint32).view(f32) + base).astype(f32)
    bits = base.view(np.uint32).astype(np.uint64)
    nonsign = ((bits >> 13) & 0x7C00) + (bits & 0x0FFF)
    return ((sign >> 16) | np.where(shl1_w > 0xFF000000, 0x7E00, nonsign)).astype(np.uint16)


def fp16_to_fp32(h):
    """ggml_compute_fp16_to_fp32 on the bits."""
    w = np.asarray(h, np.uint16).astype(np.uint64) << 16
    sign = w & 0x80000000
    two_w = (w + w) & 0xFFFFFFFF
    normalized = (((two_w >> 4) + (0xE0 << 23)).astype(np.uint32).view(f32) * f32(2.0 ** -112)).astype(f32)
    denormalized = (((two_w >> 17) | (126 << 23)).astype(np.uint32).view(f32) - f32(0.5)).astype(f32)
    res = np.where(two_w < (1 << 27), denormalized.view(np.uint32), normalized.view(np.uint32))
    return (sign | res.astype(np.uint64)).astype(np.uint32).view(f32)


def fp16_bytes(h):
    """fp16 bit patterns [NB] -> their little-endian bytes [NB, 2]."""
    return np.ascontiguousarray(h, '<u2').view(np.uint8).reshape(-1, 2)


def seqsum(a, from_zero=True):
    """C's `float s = 0; for (i...) s += a[i];` over the last axis: cumsum adds in order, in float32
    (the final + 0 gives C's +0 where every term is -0). from_zero=False: `float s = a[0]; s += a[i]...`."""
    s = np.cumsum(a, axis=-1, dtype=f32)[..., -1]
    return s + f32(0) if from_zero else s


def first_min_max(x):
    """C's `min = max = x[0]; if (x[i] < min) min = x[i]; if (x[i] > max) max = x[i];` over the last axis."""
    mn = x[..., 0].copy()
    mx = x[..., 0].copy()
    for i in range(1, x.shape[-1]):
        mn = np.where(x[..., i] < mn, x[..., i], mn)
        mx = np.where(x[..., i] > mx, x[..., i], mx)
    return mn, mx


def running_max(v, init=0):
    """C's `m = 0; if (v[i] > m) m = v[i];` over the last axis (index of the winner too, -1 if none)."""
    m = np.full(v.shape[:-1], init, f32)
    idx = np.full(v.shape[:-1], -1, np.int64)
    for i in range(v.shape[-1]):
        take = v[..., i] > m
        m = np.where(take, v[..., i], m)
        idx = np.where(take, i, idx)
    return m, idx


# ---------------------------------------------------------------- make_qkx2_quants / make_qx_quants

def make_qkx2_quants(x, weights, nmax, rmin, rdelta, nstep, use_mad=False):
    """make_qkx2_quants(n, nmax, x, weights, L, &the_min, Laux, rmin, rdelta, nstep, use_mad) for every row of
    x [S, n] (use_mad: errors w * |diff| instead of w * diff^2); returns (scale [S], the_min [S], L [S, n] int64)."""
    def err(diff):
        return np.abs(diff) if use_mad else (diff * diff)

    fn = f32(nmax)
    mn, mx = first_min_max(x)
    sum_w = seqsum(weights, from_zero=False)  # sum_w = w[0]; sum_x = sum_w * x[0]; then += over i >= 1
    sum_x = seqsum((weights * x).astype(f32), from_zero=False)
    mn = np.where(mn > 0, f32(0), mn)
    flat = mx == mn
    flat_min = mn.copy()
    iscale = (fn / (mx - mn)).astype(f32)
    scale = (f32(1) / iscale).astype(f32)
    L = np.clip(nearest_int(iscale[:, None] * (x - mn[:, None])), 0, nmax)
    diff = ((scale[:, None] * L.astype(f32)).astype(f32) + mn[:, None] - x).astype(f32)
    best_error = seqsum((weights * err(diff)).astype(f32))
    for step in range(nstep + 1):
        # `min` is the best min so far: the trial scales and offsets move with it.
        iscale = (((f32(rmin) + f32(rdelta) * f32(step)) + fn) / (mx - mn)).astype(f32)
        laux = np.clip(nearest_int(iscale[:, None] * (x - mn[:, None])), 0, nmax)
        lf = laux.astype(f32)
        wl = (weights * lf).astype(f32)
        sum_l = seqsum(wl)
        sum_l2 = seqsum((wl * lf).astype(f32))
        sum_xl = seqsum((wl * x).astype(f32))
        D = (sum_w * sum_l2 - sum_l * sum_l).astype(f32)
        this_scale = ((sum_w * sum_xl - sum_x * sum_l) / D).astype(f32)
        this_min = ((sum_l2 * sum_x - sum_l * sum_xl) / D).astype(f32)
        pos = this_min > 0
        this_min = np.where(pos, f32(0), this_min)
        this_scale = np.where(pos, (sum_xl / sum_l2).astype(f32), this_scale)
        diff = ((this_scale[:, None] * lf).astype(f32) + this_min[:, None] - x).astype(f32)
        cur_error = seqsum((weights * err(diff)).astype(f32))
        better = (D > 0) & (cur_error < best_error)
        L = np.where(better[:, None], laux, L)
        best_error = np.where(better, cur_error, best_error)
        scale = np.where(better, this_scale, scale)
        mn = np.where(better, this_min, mn)
    # max == min: L = 0, *the_min = -min, return 0
    L = np.where(flat[:, None], 0, L)
    scale = np.where(flat, f32(0), scale)
    return scale.astype(f32), (-np.where(flat, flat_min, mn)).astype(f32), L


def make_qx_quants_rmse1(x, nmax):
    """make_qx_quants(n, nmax, x, L, rmse_type=1, qw=NULL) for every row of x [S, n];
    returns (scale [S], L [S, n] int64 in 0..2*nmax-1)."""
    amax, idx = running_max(np.abs(x))
    mx = np.take_along_axis(x, np.maximum(idx, 0)[:, None], axis=1)[:, 0]
    mx = np.where(idx < 0, f32(0), mx)
    zero = amax < GROUP_MAX_EPS
    w = (x * x).astype(f32)
    wx = (w * x).astype(f32)

    def sums(iscale):
        l = np.clip(nearest_int(iscale[:, None] * x), -nmax, nmax - 1)
        lf = l.astype(f32)
        return l, seqsum((wx * lf).astype(f32)), seqsum(((w * lf).astype(f32) * lf).astype(f32))

    iscale = (f32(-nmax) / mx).astype(f32)
    l, sumlx, suml2 = sums(iscale)
    L = l + nmax
    scale = np.where(suml2 != 0, (sumlx / suml2).astype(f32), f32(0))
    best = (scale * sumlx).astype(f32)
    for step in range(-9, 10):
        if step == 0:
            continue
        iscale = ((-(f32(nmax) + f32(0.1) * f32(step))) / mx).astype(f32)
        l, sumlx, suml2 = sums(iscale)
        upd = (suml2 > 0) & ((sumlx * sumlx).astype(f32) > (best * suml2).astype(f32))
        L = np.where(upd[:, None], l + nmax, L)
        scale = np.where(upd, (sumlx / suml2).astype(f32), scale)
        best = np.where(upd, (scale * sumlx).astype(f32), best)
    L = np.where(zero[:, None], 0, L)
    scale = np.where(zero, f32(0), scale)
    return scale.astype(f32), L


# ---------------------------------------------------------------- Q4_K / Q5_K

def pack_scales_k4(ls, lm):
    """The 12 scale bytes of Q4_K / Q5_K from the 6-bit ls, lm [NB, 8]."""
    out = np.zeros((ls.shape[0], 12), np.int64)
    out[:, 0:4] = ls[:, 0:4]
    out[:, 4:8] = lm[:, 0:4]
    out[:, 8:12] = (ls[:, 4:8] & 0xF) | ((lm[:, 4:8] & 0xF) << 4)
    out[:, 0:4] |= (ls[:, 4:8] >> 4) << 6
    out[:, 4:8] |= (lm[:, 4:8] >> 4) << 6
    return out.astype(np.uint8)


def unpack_scales_k4(s):
    """get_scale_min_k4 for j = 0..7 on the scale bytes [NB, 12] -> (sc, m) [NB, 8]."""
    s = s.astype(np.int64)
    sc = np.empty((s.shape[0], 8), np.int64)
    m = np.empty_like(sc)
    sc[:, 0:4] = s[:, 0:4] & 63
    m[:, 0:4] = s[:, 4:8] & 63
    sc[:, 4:8] = (s[:, 8:12] & 0xF) | ((s[:, 0:4] >> 6) << 4)
    m[:, 4:8] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, m


def quantize_qk(X, nmax, rmin, rdelta, nstep):
    """The shared part of quantize_row_q4_K_ref / q5_K_ref on super-blocks X [NB, 256]:
    returns (d, dmin fp16 bits [NB], scale bytes [NB, 12], L [NB, 256])."""
    NB = X.shape[0]
    x = X.reshape(NB * 8, 32)
    sum_x2 = seqsum((x * x).astype(f32))
    av_x = np.sqrt((sum_x2 / f32(32)).astype(f32)).astype(f32)
    weights = (av_x[:, None] + np.abs(x)).astype(f32)
    scales, mins, L = make_qkx2_quants(x, weights, nmax, rmin, rdelta, nstep)
    scales, mins, L = scales.reshape(NB, 8), mins.reshape(NB, 8), L.reshape(NB, 8, 32)
    max_scale, _ = running_max(scales)
    max_min, _ = running_max(mins)
    inv_scale = np.where(max_scale > 0, (f32(63) / max_scale).astype(f32), f32(0))
    inv_min = np.where(max_min > 0, (f32(63) / max_min).astype(f32), f32(0))
    ls = np.minimum(63, nearest_int(inv_scale[:, None] * scales) & 0xFF)  # uint8_t ls = nearest_int(...)
    lm = np.minimum(63, nearest_int(inv_min[:, None] * mins) & 0xFF)
    sbytes = pack_scales_k4(ls, lm)
    dh = fp32_to_fp16((max_scale / f32(63)).astype(f32))
    mh = fp32_to_fp16((max_min / f32(63)).astype(f32))
    d = (fp16_to_fp32(dh)[:, None] * ls.astype(f32)).astype(f32)
    dm = (fp16_to_fp32(mh)[:, None] * lm.astype(f32)).astype(f32)
    xb = X.reshape(NB, 8, 32)
    l = np.clip(nearest_int(((xb + dm[:, :, None]).astype(f32) / d[:, :, None]).astype(f32)), 0, nmax)
    L = np.where((d != 0)[:, :, None], l, L)  # `if (!d) continue;` keeps make_qkx2_quants' L
    return dh, mh, sbytes, L.reshape(NB, QK_K)


def quantize_q4_k(X):
    NB = X.shape[0]
    dh, mh, sbytes, L = quantize_qk(X, 15, -1.0, 0.1, 20)
    Lc = L.reshape(NB, 4, 2, 32)
    qs = (Lc[:, :, 0, :] | (Lc[:, :, 1, :] << 4)).reshape(NB, 128).astype(np.uint8)
    return np.concatenate([fp16_bytes(dh), fp16_bytes(mh),
                           sbytes, qs], axis=1)


def quantize_q5_k(X):
    NB = X.shape[0]
    dh, mh, sbytes, L = quantize_qk(X, 31, -0.5, 0.1, 15)
    Lc = L.reshape(NB, 4, 2, 32)
    lo, hi = Lc & 0xF, Lc >> 4
    qs = (lo[:, :, 0, :] | (lo[:, :, 1, :] << 4)).reshape(NB, 128).astype(np.uint8)
    qh = np.zeros((NB, 32), np.int64)
    for n in range(4):
        qh |= (hi[:, n, 0, :] << (2 * n)) | (hi[:, n, 1, :] << (2 * n + 1))
    return np.concatenate([fp16_bytes(dh), fp16_bytes(mh),
                           sbytes, qh.astype(np.uint8), qs], axis=1)


def unpack_qk(blocks, five):
    """d, dmin (float32 [NB]), the 6-bit scales and mins [NB, 8] and the unsigned codes [NB, 8, 32] of
    Q4_K (five false) or Q5_K blocks."""
    NB = blocks.shape[0]
    d = fp16_to_fp32(blocks[:, 0:2].copy().view('<u2')[:, 0])
    mn = fp16_to_fp32(blocks[:, 2:4].copy().view('<u2')[:, 0])
    sc, m = unpack_scales_k4(blocks[:, 4:16])
    qs = blocks[:, 48:176] if five else blocks[:, 16:144]
    qs = qs.astype(np.int64).reshape(NB, 4, 32)
    q = np.stack([qs & 0xF, qs >> 4], axis=2)  # [NB, 4, 2, 32]
    if five:
        qh = blocks[:, 16:48].astype(np.int64)
        for n in range(4):
            q[:, n, 0, :] += ((qh >> (2 * n)) & 1) * 16
            q[:, n, 1, :] += ((qh >> (2 * n + 1)) & 1) * 16
    return d, mn, sc, m, q.reshape(NB, 8, 32)


def dequantize_qk(blocks, five):
    NB = blocks.shape[0]
    d, mn, sc, m, q = unpack_qk(blocks, five)
    d1 = (d[:, None] * sc.astype(f32)).astype(f32)
    m1 = (mn[:, None] * m.astype(f32)).astype(f32)
    return ((d1[:, :, None] * q.astype(f32)).astype(f32) - m1[:, :, None]).astype(f32).reshape(NB, QK_K)


# ---------------------------------------------------------------- Q6_K

def quantize_q6_k(X):
    NB = X.shape[0]
    x = X.reshape(NB * 16, 16)
    scales, L = make_qx_quants_rmse1(x, 32)
    scales, L = scales.reshape(NB, 16), L.reshape(NB, 16, 16)
    max_abs_scale, idx = running_max(np.abs(scales))
    max_scale = np.take_along_axis(scales, np.maximum(idx, 0)[:, None], axis=1)[:, 0]
    max_scale = np.where(idx < 0, f32(0), max_scale)
    zero = max_abs_scale < GROUP_MAX_EPS
    iscale = (f32(-128) / max_scale).astype(f32)
    dh = fp32_to_fp16((f32(1) / iscale).astype(f32))
    sc8 = np.minimum(127, nearest_int(iscale[:, None] * scales))
    sc8 = ((sc8 & 0xFF) ^ 0x80) - 0x80  # stored into int8_t
    d = (fp16_to_fp32(dh)[:, None] * sc8.astype(f32)).astype(f32)
    l = np.clip(nearest_int((X.reshape(NB, 16, 16) / d[:, :, None]).astype(f32)), -32, 31) + 32
    L = np.where((d != 0)[:, :, None], l, L).reshape(NB, 2, 4, 32)  # `if (!d) continue;`
    lo, hi = L & 0xF, L >> 4
    ql = np.concatenate([lo[:, :, 0, :] | (lo[:, :, 2, :] << 4), lo[:, :, 1, :] | (lo[:, :, 3, :] << 4)], axis=2)
    qh = hi[:, :, 0, :] | (hi[:, :, 1, :] << 2) | (hi[:, :, 2, :] << 4) | (hi[:, :, 3, :] << 6)
    out = np.concatenate([ql.reshape(NB, 128), qh.reshape(NB, 64), sc8 & 0xFF,
                          fp16_bytes(dh).astype(np.int64)], axis=1).astype(np.uint8)
    out[zero] = 0  # memset(&y[i], 0, ...); d = fp16(0)
    return out


def unpack_q6_k(blocks):
    """d (float32 [NB]), the int8 scales [NB, 16] in column order and the unsigned codes (value q - 32)
    [NB, 2, 4, 32] of Q6_K blocks."""
    NB = blocks.shape[0]
    ql = blocks[:, 0:128].astype(np.int64).reshape(NB, 2, 64)
    qh = blocks[:, 128:192].astype(np.int64).reshape(NB, 2, 32)
    sc = blocks[:, 192:208].copy().view(np.int8).astype(np.int64)
    d = fp16_to_fp32(blocks[:, 208:210].copy().view('<u2')[:, 0])
    q = np.stack([(ql[:, :, 0:32] & 0xF) | (((qh >> 0) & 3) << 4),
                  (ql[:, :, 32:64] & 0xF) | (((qh >> 2) & 3) << 4),
                  (ql[:, :, 0:32] >> 4) | (((qh >> 4) & 3) << 4),
                  (ql[:, :, 32:64] >> 4) | (((qh >> 6) & 3) << 4)], axis=2)  # [NB, 2, 4, 32]
    return d, sc, q


def dequantize_q6_k(blocks):
    NB = blocks.shape[0]
    d, sc, q = unpack_q6_k(blocks)
    # element (n, k, l) uses scale sc[n][l/16 + 2k]
    s = sc.astype(f32).reshape(NB, 2, 4, 2)[:, :, :, :, None]
    ds = (d[:, None, None, None, None] * s).astype(f32)
    y = (ds * (q - 32).reshape(NB, 2, 4, 2, 16).astype(f32)).astype(f32)
    return y.reshape(NB, QK_K)


# ---------------------------------------------------------------- API

def quantize(W, fmt):
    """ggml's quantize_row_<fmt>_ref on each row of W (float32 [rows, cols], cols % 256 == 0):
    uint8 [rows * cols / 256 * block bytes], rows' blocks back to back."""
    W = np.ascontiguousarray(W, f32)
    rows, cols = W.shape
    assert cols % QK_K == 0
    X = W.reshape(-1, QK_K)
    with np.errstate(all="ignore"):
        if fmt == "q4_k":
            out = quantize_q4_k(X)
        elif fmt == "q5_k":
            out = quantize_q5_k(X)
        elif fmt == "q6_k":
            out = quantize_q6_k(X)
        else:
            raise ValueError(fmt)
    assert out.shape == (X.shape[0], BLOCK_BYTES[fmt])
    return np.ascontiguousarray(out, np.uint8).reshape(-1)


def dequantize(data, fmt, rows, cols):
    """ggml's dequantize_row_<fmt>: float32 [rows, cols] from the block bytes."""
    blocks = np.frombuffer(bytes(data), np.uint8).reshape(-1, BLOCK_BYTES[fmt])
    assert blocks.shape[0] * QK_K == rows * cols
    with np.errstate(all="ignore"):
        if fmt == "q6_k":
            y = dequantize_q6_k(blocks)
        else:
            y = dequantize_qk(blocks, fmt == "q5_k")
    return y.reshape(rows, cols)


# ---------------------------------------------------------------- int8 activations (lowbit's contract)

def decode(data, fmt, rows, cols):
    """Unsigned codes [rows, cols], integer scales per 32 (q4_k/q5_k) or per 16 (q6_k) columns, mins per 32
    (None for q6_k), and the super-block d and dmin [rows, cols / 256] as float32, from the block bytes."""
    blocks = data.reshape(-1, BLOCK_BYTES[fmt])
    if fmt == "q6_k":
        d, sc, q = unpack_q6_k(blocks)
        return (q.reshape(rows, cols), sc.reshape(rows, cols // 16), None,
                d.reshape(rows, -1), np.zeros((rows, cols // 256), f32))
    d, mn, sc, m, q = unpack_qk(blocks, fmt == "q5_k")
    return (q.reshape(rows, cols), np.asarray(sc, np.int64).reshape(rows, cols // 32),
            np.asarray(m, np.int64).reshape(rows, cols // 32), d.reshape(rows, -1), mn.reshape(rows, -1))


def matmul_int8(data, fmt, rows, cols, x):
    """lowbit's int8-activation product (kernels.h, GemmI8KQuantFn) in float64 from the exact integer
    sums of each 32-column block, and the magnitude sum |term| over every integer partial the kernels
    may scale separately (per 16 columns for q6_k, unsigned codes and their bias sums included)."""
    xq, dx = quantize_act(x)  # [m, cols] int64, [m, nb] float32
    m, nb = x.shape[0], cols // 32
    q, sc, mins, d, dmin = decode(data, fmt, rows, cols)
    d32 = np.repeat(d.astype(np.float64), 8, axis=1)  # per 32-column block [rows, nb]
    dmin32 = np.repeat(dmin.astype(np.float64), 8, axis=1)
    xb = xq.reshape(m, nb, 32)
    qb = q.reshape(rows, nb, 32)
    dx64 = dx.astype(np.float64)
    if fmt == "q6_k":
        xh, qh = xb.reshape(m, nb, 2, 16), qb.reshape(rows, nb, 2, 16)
        dot = np.einsum("jbhc,ibhc->ijbh", qh, xh)  # exact int64
        hs = xh.sum(axis=3)  # [m, nb, 2]
        s = sc.reshape(rows, nb, 2)
        ib = (s[None] * (dot - 32 * hs[:, None])).sum(axis=3)  # [m, rows, nb]
        y = (dx64[:, None, :] * d32[None] * ib).sum(axis=2)
        adot = np.einsum("jbhc,ibhc->ijbh", qh, np.abs(xh))
        part = (np.abs(s)[None] * (adot + 32 * np.abs(hs)[:, None])).sum(axis=3)
        mag = (np.abs(dx64)[:, None, :] * np.abs(d32)[None] * part).sum(axis=2)
        return y, mag
    dot = np.einsum("jbc,ibc->ijb", qb, xb)
    xs = xb.sum(axis=2)  # [m, nb]
    ib = sc[None] * dot
    mb = mins[None] * xs[:, None, :]
    y = (dx64[:, None, :] * (d32[None] * ib - dmin32[None] * mb)).sum(axis=2)
    adot = np.einsum("jbc,ibc->ijb", qb, np.abs(xb))
    mag = (np.abs(dx64)[:, None, :] * (np.abs(d32[None]) * sc[None] * adot + np.abs(dmin32[None] * mb))).sum(axis=2)
    return y, mag


def run_manifest(manifest, quantize, dequantize, matmul_int8):
    """The manifest protocol of the module docstring, over a reference's quantize / dequantize / matmul_int8."""
    for case in json.load(open(manifest)):
        base = os.path.join(case["dir"], case["id"])
        rows, cols, fmt = case["rows"], case["cols"], case["format"]
        W = np.fromfile(base + ".w", "<f4").reshape(rows, cols)
        data = quantize(W, fmt)
        open(base + ".data", "wb").write(data.tobytes())
        dequantize(data, fmt, rows, cols).astype("<f4").tofile(base + ".deq")
        if case.get("m"):
            x = np.fromfile(base + ".x", "<f4").reshape(case["m"], cols)
            y, mag = matmul_int8(data, fmt, rows, cols, x)
            y.astype("<f8").tofile(base + ".int8")
            mag.astype("<f8").tofile(base + ".int8mag")


if __name__ == "__main__":
    run_manifest(sys.argv[1], quantize, dequantize, matmul_int8)
