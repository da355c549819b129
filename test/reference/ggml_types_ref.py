"""Independent reference for nine more ggml quantization types (Q4_1, Q5_0, Q5_1, IQ4_NL, IQ4_XS, Q2_K,
Q3_K, TQ1_0, TQ2_0), written from ggml's C code (github.com/ggml-org/ggml commit
d99724f2b141fed9e1a9f402213506c081433465) in NumPy float32 arithmetic, in the style of kquants_ref.py (whose
helpers it imports: nearest_int, ggml's fp16 bit routines, sequential float32 sums, running maxima). C's
float operations are repeated one by one in C's order, with no FMA; per-element loops that carry state run
sequentially over the element and are vectorized only across blocks. All blocks of a tensor are worked on at once.

The bytes are those llama-quantize writes without an importance matrix (ggml_quantize_chunk, imatrix NULL).
Ported from src/ggml-quants.c:
  q4_1    quantize_row_q4_1_ref, dequantize_row_q4_1
  q5_0    quantize_row_q5_0_ref, dequantize_row_q5_0
  q5_1    quantize_row_q5_1_ref, dequantize_row_q5_1
  iq4_nl  quantize_iq4_nl(..., NULL) = quantize_row_iq4_nl_impl(QK4_NL, 32, ..., kvalues_iq4nl, NULL, ntry 7)
          (not quantize_row_iq4_nl_ref, which passes ntry -1), best_index_int8, dequantize_row_iq4_nl
  iq4_xs  quantize_iq4_xs(..., NULL) = quantize_row_iq4_nl_impl(QK_K, 32, ..., NULL, 7), dequantize_row_iq4_xs
  q2_k    quantize_row_q2_K_ref (make_qkx2_quants(16, 3, x, |x|, ..., -0.5f, 0.1f, 15, use_mad true)),
          dequantize_row_q2_K
  q3_k    quantize_row_q3_K_ref (make_q3_quants(16, 4, x, L, do_rmse true)), dequantize_row_q3_K
  tq1_0   quantize_row_tq1_0_ref (quantize_tq1_0 ignores the imatrix), dequantize_row_tq1_0
  tq2_0   quantize_row_tq2_0_ref (likewise), dequantize_row_tq2_0
The (int8_t) / (uint8_t) casts of floats in q4_1 / q5_0 / q5_1 are taken as x86-64 gcc does them (truncate
to int32, INT32_MIN when out of range or NaN, keep the low byte); nearest_int runs with asserts off (NDEBUG,
as in release builds). The ternary types' lroundf is glibc's (half away from zero; LONG_MIN for NaN / Inf, as
come from x * id with id = 1/amax Inf for subnormal amax, or from NaN inputs).

Block bytes (little-endian, src/ggml-common.h):
  q4_1    20  = fp16 d, fp16 m, qs[16]               (element j: low nibble of qs[j], j + 16: high nibble)
  q5_0    22  = fp16 d, qh[4] (uint32 of 5th bits), qs[16]
  q5_1    24  = fp16 d, fp16 m, qh[4], qs[16]
  iq4_nl  18  = fp16 d, qs[16]                       (codes index kvalues_iq4nl)
  iq4_xs  136 = fp16 d, uint16 scales_h, scales_l[4], qs[128]   (6-bit scale per 32, stored + 32)
  q2_k    84  = scales[16] (scale | min << 4 per 16), qs[64], fp16 d, fp16 dmin
  q3_k    110 = hmask[32], qs[64], scales[12] (6-bit, stored + 32), fp16 d
  tq1_0   54  = qs[48] (5 trits a byte), qh[4] (4 trits a byte), fp16 d   (trits 0..2 = value + 1, most
              significant first, byte = ceil(trits base 3 * 256 / 243); layout in tq1_0_columns)
  tq2_0   66  = qs[64] (2-bit codes 0..2 = value + 1, the K-quants' plane order), fp16 d

Usage: python3 ggml_types_ref.py MANIFEST.json
Each case {id, dir, format (one of FORMATS), rows, cols (a multiple of 32 for q4_1, q5_0, q5_1, iq4_nl; of
256 for iq4_xs, q2_k, q3_k, tq1_0, tq2_0)} has <id>.w (float32 [rows, cols]) in `dir`. Writes <id>.data (each row's
blocks back to back, rows back to back) and <id>.deq (float32 [rows, cols], as ggml's dequantize_row_*
computes from those bytes). A case with "m" > 0 also has <id>.x (float32 [m, cols]); for it the script
writes <id>.int8 and <id>.int8mag (float64 [m, rows]): lowbit's int8-activation product from exact integer
block sums (activations quantized by matmul_ref.quantize_act) and the magnitude bounding its float rounding
(see matmul_int8).

Checked against ggml's C (the harness stays outside the repository, in /tmp/ggmlcheck): src/ggml-quants.c of
that commit with its headers (git show from the mirror), compiled by
`gcc -O2 -ffp-contract=off -fno-fast-math -DNDEBUG -march=x86-64` (no FMA, no F16C) and linked to a small
driver (stubs for ggml_abort, ggml_row_size, ggml_type_name, ggml_type_size) that runs
quantize_row_{q4_1,q5_0,q5_1,q2_K,q3_K}_ref, quantize_iq4_nl / quantize_iq4_xs (imatrix NULL) and the seven
dequantize_row_* on a float32 file. 64 x 1024 tensors of 22 kinds (normal, student-t df 2, lognormal-scaled,
spiky, sparse spikes, constant rows (0.75, -3, random), all-zero rows, zero 32-blocks or 16-halves among
nonzero ones, one-signed, grid values, small integers, few levels, constant 16-halves, kvalues_iq4nl midpoints
(ties in best_index_int8), scales 1e-8, 1e-30, 1e-38, 1e-39 and 1e-44 (subnormal: infinite inverse scales,
out-of-range casts) and 1e4), two seeds each, for all seven formats: 308 tensors, 11,286,528 block bytes
all identical, 20,185,088 dequantized floats all bitwise identical (this file's dequantizer also run on C's
bytes); 256 x 4096 student-t tensors likewise. Deliberate faults (best_index_int8's tie rule as <=, ntry 0,
no rmse refinement in make_q3_quants, squared instead of absolute error in make_qkx2_quants) were caught.
matmul_int8 was checked against (dx * xq) @ C's dequantized float32 weights (within 0.5 * 2^-24 * mag) and
against weights decoded from C's bytes by literal float64 ports of the dequantize_row_* loops (within
4 * 2^-52 * mag).
TQ1_0 and TQ2_0 were checked the same way (the driver also running quantize_row_tq{1,2}_0_ref and
dequantize_row_tq{1,2}_0), on those 22 kinds and six more: 256-blocks of +-amax, 0, amax / 4, +-amax / 2 and its
float32 neighbours, with amax random (x * id near 0.5), a power of two (x * id exactly +-0.5: lroundf's ties)
or near fp16's limits; all-equal blocks; subnormal amax among exact zeros (id Inf, 0 * Inf NaN); amax beyond
fp16's range (stored d Inf, a zero code dequantized to 0 * Inf = NaN). Two seeds, all nine formats: 504
tensors, 16,084,992 block bytes and 33,030,144 dequantized floats identical; the ternary types at 256 x 4096
(112 tensors) and NaN / +-Inf inputs (all nine formats) likewise. Faults caught: lroundf ties to even or toward
zero, trit order reversed, floor instead of ceiling division, no padding trit in qh, no uint8 wrap in the trit
extraction, id from the fp16 d, a NaN-skipping amax (by the NaN inputs only; C's MAX keeps a NaN only when it is
the last element), and in matmul_int8 a bias of 0 (by the matmul check, exact to 0 for these types).
"""
import sys

import numpy as np

from kquants_ref import (GROUP_MAX_EPS, make_qkx2_quants, run_manifest, fp16_bytes, fp16_to_fp32, fp32_to_fp16, nearest_int, running_max,
                         seqsum)
from matmul_ref import quantize_act  # the sibling reference's activation quantization

f32 = np.float32
QK_K = 256
FORMATS = ("q4_1", "q5_0", "q5_1", "iq4_nl", "iq4_xs", "q2_k", "q3_k", "tq1_0", "tq2_0")
BLOCK_BYTES = {"q4_1": 20, "q5_0": 22, "q5_1": 24, "iq4_nl": 18, "iq4_xs": 136, "q2_k": 84, "q3_k": 110, "tq1_0": 54,
               "tq2_0": 66}
BLOCK_COLS = {"q4_1": 32, "q5_0": 32, "q5_1": 32, "iq4_nl": 32, "iq4_xs": QK_K, "q2_k": QK_K, "q3_k": QK_K,
              "tq1_0": QK_K, "tq2_0": QK_K}
KVALUES_IQ4NL = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], np.int64)
KV_F = KVALUES_IQ4NL.astype(f32)
FLT_MAX = f32(np.finfo(np.float32).max)


# ---------------------------------------------------------------- scalar helpers, as in C

def c_float_to_byte(v):
    """(int8_t)(v) or (uint8_t)(v) for float32 v as x86-64 gcc does it: cvttss2si (truncate toward zero;
    INT32_MIN when out of range or NaN), then the low byte. Returned as the unsigned byte 0..255."""
    v = np.asarray(v, f32)
    ok = (v >= f32(-2.0 ** 31)) & (v < f32(2.0 ** 31))  # false for NaN
    t = np.where(ok, np.trunc(np.where(ok, v, f32(0))).astype(np.int64), -2 ** 31)
    return t & 0xFF


def to_int8(v):
    """An int stored into int8_t: the low byte, signed."""
    return ((np.asarray(v, np.int64) & 0xFF) ^ 0x80) - 0x80


def c_lroundf(v):
    """glibc's lroundf on float32 v, as a long (int64): round half away from zero; for NaN, +-Inf and
    |v| >= 2^63 x86-64's out-of-range (long) conversion, LONG_MIN (what glibc returns there)."""
    v = np.asarray(v, f32)
    a = np.abs(v).astype(np.float64)
    ok = a < 2.0 ** 63  # false for NaN
    r = np.floor(np.where(ok, a, 0) + 0.5).astype(np.int64)  # a float32 + 0.5 is exact in float64 where it matters
    return np.where(ok, np.where(v < 0, -r, r), np.int64(-2 ** 63))


def c_min_max(x):
    """C's `min = FLT_MAX; max = -FLT_MAX; if (v < min) min = v; if (v > max) max = v;` over the last axis."""
    mn = np.full(x.shape[:-1], FLT_MAX, f32)
    mx = np.full(x.shape[:-1], -FLT_MAX, f32)
    for i in range(x.shape[-1]):
        mn = np.where(x[..., i] < mn, x[..., i], mn)
        mx = np.where(x[..., i] > mx, x[..., i], mx)
    return mn, mx


def abs_max(x):
    """C's `amax = 0; max = 0; if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); max = x[i]; }` over the last
    axis: (amax, max)."""
    amax, idx = running_max(np.abs(x))
    mx = np.take_along_axis(x, np.maximum(idx, 0)[..., None], axis=-1)[..., 0]
    return amax, np.where(idx < 0, f32(0), mx).astype(f32)


def best_index_int8(x):
    """ggml's best_index_int8(16, kvalues_iq4nl, x) on float32 x, elementwise: the end codes for x at or
    beyond the table's ends, else the binary search (x < val[mav] -> mu = mav, else ml = mav) and the
    tie rule `x - val[mu-1] < val[mu] - x ? mu-1 : mu` in float32."""
    x = np.asarray(x, f32)
    ml = np.zeros(x.shape, np.int8)  # int8 indices: the same search, less memory traffic
    mu = np.full(x.shape, 15, np.int8)
    while True:
        active = mu - ml > 1
        if not active.any():
            break
        mav = (ml + mu) >> 1
        lt = x < KV_F[mav]
        mu = np.where(active & lt, mav, mu)
        ml = np.where(active & ~lt, mav, ml)
    r = np.where((x - KV_F[mu - 1]) < (KV_F[mu] - x), mu - 1, mu)
    r = np.where(x >= KV_F[15], 15, r)
    return np.where(x <= KV_F[0], 0, r).astype(np.int64)


def pack_nibbles(L):
    """Codes [NB, 32 * s] -> bytes [NB, 16 * s]: byte 16 i + j = L[32 i + j] | L[32 i + 16 + j] << 4."""
    NB = L.shape[0]
    Lc = L.reshape(NB, -1, 2, 16)
    return ((Lc[:, :, 0, :] | (Lc[:, :, 1, :] << 4)) & 0xFF).reshape(NB, -1)


def unpack_nibbles(qs):
    """The inverse of pack_nibbles: bytes [NB, 16 * s] -> codes [NB, 32 * s] (int64)."""
    NB = qs.shape[0]
    q = qs.astype(np.int64).reshape(NB, -1, 16)
    return np.stack([q & 0xF, q >> 4], axis=2).reshape(NB, -1)


def pack_2bit(L):
    """The K-quants' 2-bit packing of codes [NB, 256] -> qs [NB, 64]:
    qs[j/4 + l] = L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 | L[j + l + 96] << 6, j = 0, 128."""
    NB = L.shape[0]
    Lc = L.reshape(NB, 2, 4, 32)
    q = Lc[:, :, 0] | (Lc[:, :, 1] << 2) | (Lc[:, :, 2] << 4) | (Lc[:, :, 3] << 6)
    return (q & 0xFF).reshape(NB, 64)


def unpack_2bit(qs):
    """qs [NB, 64] -> the low 2 bits of the 256 codes [NB, 256] (element n + 32 k + l: qs[n/4 + l] >> 2k)."""
    NB = qs.shape[0]
    q = qs.astype(np.int64).reshape(NB, 2, 1, 32)
    return ((q >> (2 * np.arange(4)[None, None, :, None])) & 3).reshape(NB, QK_K)


def u16_le(b):
    """Two bytes [NB, 2] -> the little-endian uint16 values [NB] (int64)."""
    return b[:, 0].astype(np.int64) | (b[:, 1].astype(np.int64) << 8)


def u16_bytes(v):
    v = np.asarray(v, np.int64)
    return np.stack([v & 0xFF, (v >> 8) & 0xFF], axis=1)


def u32_bytes(v):
    v = np.asarray(v, np.int64)
    return np.stack([(v >> s) & 0xFF for s in (0, 8, 16, 24)], axis=1)


def u32_le(b):
    b = b.astype(np.int64)
    return b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16) | (b[:, 3] << 24)


def f16_at(blocks, off):
    """The fp16 at byte `off` of each block, as float32 [NB]."""
    return fp16_to_fp32(u16_le(blocks[:, off:off + 2]).astype(np.uint16))


# ---------------------------------------------------------------- Q4_1 / Q5_0 / Q5_1 (blocks of 32)

def quantize_q4_1(X):
    mn, mx = c_min_max(X)
    d = ((mx - mn) / f32(15)).astype(f32)
    idv = np.where(d != 0, (f32(1) / d).astype(f32), f32(0))
    x0 = ((X - mn[:, None]).astype(f32) * idv[:, None]).astype(f32)
    xi = np.minimum(15, to_int8(c_float_to_byte((x0 + f32(0.5)).astype(f32)))) & 0xFF  # MIN(15, (int8_t)(..))
    return np.concatenate([fp16_bytes(fp32_to_fp16(d)), fp16_bytes(fp32_to_fp16(mn)), pack_nibbles(xi)], axis=1)


def qh_bits(xi):
    """The uint32 qh of Q5_0 / Q5_1: bit j the 5th bit of element j (j < 32)."""
    return ((xi >> 4) & 1) @ (np.int64(1) << np.arange(32, dtype=np.int64))


def quantize_q5_0(X):
    _, mx = abs_max(X)  # `if (amax < fabsf(v))` is the same strict comparison
    d = (mx / f32(-16)).astype(f32)
    idv = np.where(d != 0, (f32(1) / d).astype(f32), f32(0))
    x0 = (X * idv[:, None]).astype(f32)
    xi = np.minimum(31, to_int8(c_float_to_byte((x0 + f32(16.5)).astype(f32)))) & 0xFF
    qs = (xi[:, :16] & 0xF) | ((xi[:, 16:] & 0xF) << 4)
    return np.concatenate([fp16_bytes(fp32_to_fp16(d)), u32_bytes(qh_bits(xi)), qs], axis=1)


def quantize_q5_1(X):
    mn, mx = c_min_max(X)
    d = ((mx - mn) / f32(31)).astype(f32)
    idv = np.where(d != 0, (f32(1) / d).astype(f32), f32(0))
    x0 = ((X - mn[:, None]).astype(f32) * idv[:, None]).astype(f32)
    xi = c_float_to_byte((x0 + f32(0.5)).astype(f32))  # (uint8_t)(x0 + 0.5f), no clamp
    qs = (xi[:, :16] & 0xF) | ((xi[:, 16:] & 0xF) << 4)
    return np.concatenate([fp16_bytes(fp32_to_fp16(d)), fp16_bytes(fp32_to_fp16(mn)), u32_bytes(qh_bits(xi)), qs],
                          axis=1)


def unpack_q5(qs, qh):
    """Q5_0 / Q5_1 codes 0..31 [NB, 32] from qs [NB, 16] and the uint32 qh [NB]."""
    hi = (qh[:, None] >> np.arange(32, dtype=np.int64)[None, :]) & 1
    return unpack_nibbles(qs) | (hi << 4)


# ---------------------------------------------------------------- IQ4_NL / IQ4_XS

def iq4_block_scales(xb, ntry=7):
    """The per-32 part of quantize_row_iq4_nl_impl without quant weights (weight = x^2), for blocks
    xb [B, 32]: scales[ib] [B] float32 (0 where amax < GROUP_MAX_EPS: `continue`)."""
    w = (xb * xb).astype(f32)
    amax, mx = abs_max(xb)
    zero = amax < GROUP_MAX_EPS

    def sums(idv):
        q = KV_F[best_index_int8((idv[:, None] * xb).astype(f32))]
        wq = (w * q).astype(f32)
        return seqsum((wq * xb).astype(f32)), seqsum((wq * q).astype(f32))  # w*q*x, w*q*q

    d = ((-mx) / KV_F[0]).astype(f32) if ntry > 0 else (mx / KV_F[0]).astype(f32)
    sumqx, sumq2 = sums((f32(1) / d).astype(f32))
    d = np.where(sumq2 > 0, (sumqx / sumq2).astype(f32), f32(0))
    best = (d * sumqx).astype(f32)
    for itry in range(-ntry, ntry + 1):
        idv = (f32(itry + int(KVALUES_IQ4NL[0])) / mx).astype(f32)  # (itry + values[0]) / max
        sumqx, sumq2 = sums(idv)
        upd = (sumq2 > 0) & ((sumqx * sumqx).astype(f32) > (best * sumq2).astype(f32))
        d = np.where(upd, (sumqx / sumq2).astype(f32), d)
        best = np.where(upd, (d * sumqx).astype(f32), best)
    return np.where(zero, f32(0), d).astype(f32)


def quantize_iq4_nl(X):
    scales = iq4_block_scales(X)
    # super_block_size / block_size == 1: d = fp16(scales[0]); ntry > 0 re-picks every code.
    idv = np.where(scales != 0, (f32(1) / scales).astype(f32), f32(0))
    L = best_index_int8((idv[:, None] * X).astype(f32))
    return np.concatenate([fp16_bytes(fp32_to_fp16(scales)), pack_nibbles(L)], axis=1)


def quantize_iq4_xs(X):
    NB = X.shape[0]
    xb = X.reshape(NB * 8, 32)
    scales = iq4_block_scales(xb).reshape(NB, 8)
    _, max_scale = abs_max(scales)  # `if (fabsf(d) > amax_scale)`
    d = ((-max_scale) / f32(32)).astype(f32)
    idv = np.where(d != 0, (f32(1) / d).astype(f32), f32(0))
    l = np.clip(nearest_int((idv[:, None] * scales).astype(f32)), -32, 31)
    dl = (d[:, None] * l.astype(f32)).astype(f32)
    idl = np.where(dl != 0, (f32(1) / dl).astype(f32), f32(0))
    L = best_index_int8((idl[:, :, None] * X.reshape(NB, 8, 32)).astype(f32)).reshape(NB, QK_K)
    ls = l + 32
    scales_l = (ls[:, 0::2] & 0xF) | ((ls[:, 1::2] & 0xF) << 4)
    scales_h = (ls >> 4) @ (np.int64(1) << (2 * np.arange(8, dtype=np.int64)))
    return np.concatenate([fp16_bytes(fp32_to_fp16(d)), u16_bytes(scales_h), scales_l, pack_nibbles(L)], axis=1)


def iq4_xs_scales(blocks):
    """The 6-bit scales ls [NB, 8] of IQ4_XS blocks (the stored value, 32 more than the signed scale)."""
    sh = u16_le(blocks[:, 2:4])
    sl = blocks[:, 4:8].astype(np.int64)
    ib = np.arange(8)
    return ((sl[:, ib // 2] >> (4 * (ib % 2))) & 0xF) | (((sh[:, None] >> (2 * ib)) & 3) << 4)


# ---------------------------------------------------------------- Q2_K

def quantize_q2_k(X):
    NB = X.shape[0]
    x = X.reshape(NB * 16, 16)
    scales, mins, L = make_qkx2_quants(x, np.abs(x), 3, -0.5, 0.1, 15, use_mad=True)
    scales, mins, L = scales.reshape(NB, 16), mins.reshape(NB, 16), L.reshape(NB, 16, 16)
    max_scale, _ = running_max(scales)
    max_min, _ = running_max(mins)
    q4scale = f32(15)
    has_s, has_m = max_scale > 0, max_min > 0
    iscale = (q4scale / np.where(has_s, max_scale, f32(1))).astype(f32)
    sc = np.where(has_s[:, None], nearest_int((iscale[:, None] * scales).astype(f32)) & 0xFF, 0)
    dh = fp32_to_fp16(np.where(has_s, (max_scale / q4scale).astype(f32), f32(0)))
    imin = (q4scale / np.where(has_m, max_min, f32(1))).astype(f32)
    sc = np.where(has_m[:, None], (sc | (nearest_int((imin[:, None] * mins).astype(f32)) << 4)) & 0xFF, sc)
    mh = fp32_to_fp16(np.where(has_m, (max_min / q4scale).astype(f32), f32(0)))
    d = (fp16_to_fp32(dh)[:, None] * (sc & 0xF).astype(f32)).astype(f32)
    dm = (fp16_to_fp32(mh)[:, None] * (sc >> 4).astype(f32)).astype(f32)
    xb = X.reshape(NB, 16, 16)
    l = np.clip(nearest_int(((xb + dm[:, :, None]).astype(f32) / d[:, :, None]).astype(f32)), 0, 3)
    L = np.where((d != 0)[:, :, None], l, L).reshape(NB, QK_K)  # `if (!d) continue;`
    return np.concatenate([sc, pack_2bit(L), fp16_bytes(dh), fp16_bytes(mh)], axis=1)


# ---------------------------------------------------------------- Q3_K

def make_q3_quants_rmse(x, nmax):
    """make_q3_quants(n, nmax, x, L, do_rmse=true) for every row of x [S, n]; the refinement runs over
    i = 0..n-1 in order with running sums, as in C (up to 5 passes, a row stopping after a pass without a
    change). Returns (scale [S], L [S, n] int64: l + nmax, or 0 everywhere for an all-zero row)."""
    amax, mx = abs_max(x)
    zero = amax < GROUP_MAX_EPS
    iscale = (f32(-nmax) / mx).astype(f32)
    L = np.clip(nearest_int((iscale[:, None] * x).astype(f32)), -nmax, nmax - 1)
    w = (x * x).astype(f32)
    wx = (w * x).astype(f32)
    lf = L.astype(f32)
    sumlx = seqsum((wx * lf).astype(f32))  # w*x[i]*l
    suml2 = seqsum(((w * lf).astype(f32) * lf).astype(f32))  # w*l*l
    active = ~zero
    for _ in range(5):
        changed = np.zeros(x.shape[0], bool)
        for i in range(x.shape[1]):
            Li = L[:, i].astype(f32)
            slx = (sumlx - (wx[:, i] * Li).astype(f32)).astype(f32)
            sl2 = (suml2 - ((w[:, i] * Li).astype(f32) * Li).astype(f32)).astype(f32)
            new_l = np.clip(nearest_int(((x[:, i] * sl2).astype(f32) / slx).astype(f32)), -nmax, nmax - 1)
            nl = new_l.astype(f32)
            slx_n = (slx + (wx[:, i] * nl).astype(f32)).astype(f32)
            sl2_n = (sl2 + ((w[:, i] * nl).astype(f32) * nl).astype(f32)).astype(f32)
            lhs = ((slx_n * slx_n).astype(f32) * suml2).astype(f32)  # slx*slx*suml2 > sumlx*sumlx*sl2
            rhs = ((sumlx * sumlx).astype(f32) * sl2_n).astype(f32)
            acc = active & (slx > 0) & (new_l != L[:, i]) & (sl2_n > 0) & (lhs > rhs)
            L[:, i] = np.where(acc, new_l, L[:, i])
            sumlx = np.where(acc, slx_n, sumlx)
            suml2 = np.where(acc, sl2_n, suml2)
            changed |= acc
        active &= changed
        if not active.any():
            break
    scale = np.where(suml2 > 0, (sumlx / suml2).astype(f32), f32(0))
    L = np.where(zero[:, None], 0, L + nmax)
    return np.where(zero, f32(0), scale).astype(f32), L


def q3_k_scales(sbytes):
    """The signed 6-bit scales [NB, 16] (stored value - 32) from the 12 scale bytes of Q3_K blocks."""
    s = sbytes.astype(np.int64)
    j = np.arange(16)
    lo = np.where(j < 8, s[:, j % 8] & 0xF, s[:, j % 8] >> 4)
    hi = (s[:, 8 + j % 4] >> (2 * (j // 4))) & 3
    return (lo | (hi << 4)) - 32


def quantize_q3_k(X):
    NB = X.shape[0]
    scales, L = make_q3_quants_rmse(X.reshape(NB * 16, 16), 4)
    scales, L = scales.reshape(NB, 16), L.reshape(NB, 16, 16)
    _, max_scale = abs_max(scales)  # `if (fabsf(scales[j]) > amax)`
    has = max_scale != 0
    iscale = (f32(-32) / np.where(has, max_scale, f32(1))).astype(f32)
    l = np.clip(to_int8(nearest_int((iscale[:, None] * scales).astype(f32))), -32, 31) + 32  # int8_t l = ...
    l = np.where(has[:, None], l, 0)
    sb = np.zeros((NB, 12), np.int64)
    sb[:, 0:8] = l[:, 0:8] & 0xF
    sb[:, 0:8] |= (l[:, 8:16] & 0xF) << 4
    for j in range(16):
        sb[:, 8 + j % 4] |= (l[:, j] >> 4) << (2 * (j // 4))
    sb = np.where(has[:, None], sb, 0)
    dh = fp32_to_fp16(np.where(has, (f32(1) / iscale).astype(f32), f32(0)))
    d = (fp16_to_fp32(dh)[:, None] * q3_k_scales(sb).astype(f32)).astype(f32)
    xb = X.reshape(NB, 16, 16)
    lq = np.clip(nearest_int((xb / d[:, :, None]).astype(f32)), -4, 3) + 4
    L = np.where((d != 0)[:, :, None], lq, L).reshape(NB, QK_K)  # `if (!d) continue;`
    high = L > 3
    hmask = (high.reshape(NB, 8, 32).astype(np.int64) << np.arange(8, dtype=np.int64)[None, :, None]).sum(axis=1)
    L = np.where(high, L - 4, L)
    return np.concatenate([hmask, pack_2bit(L), sb, fp16_bytes(dh)], axis=1)


# ---------------------------------------------------------------- TQ1_0 / TQ2_0 (ternary)

def tq_codes(X):
    """The part quantize_row_tq{1,2}_0_ref share, for blocks X [NB, 256]: amax = MAX(amax, fabsf(v)) from 0
    (`amax > |v| ? amax : |v|`, so a NaN is kept only if no element follows it), d = amax, id = d ? 1/d : 0,
    xi = lroundf(x * id) + 1 (int64 [NB, 256], codes 0..2 for finite x * id; lroundf's LONG_MIN + 1 for
    NaN / Inf, whose low bits are 1) and the fp16 bits of d."""
    amax = np.zeros(X.shape[0], f32)
    for j in range(X.shape[1]):
        a = np.abs(X[:, j])
        amax = np.where(amax > a, amax, a)
    idv = np.where(amax != 0, (f32(1) / amax).astype(f32), f32(0))  # NaN is true in C: id = 1/NaN
    return c_lroundf((X * idv[:, None]).astype(f32)) + 1, fp32_to_fp16(amax)


def tq1_0_columns():
    """The column of each trit of a TQ1_0 block, [52 bytes, 5 trits] (most significant trit first):
    qs[m] (m < 32) holds columns m + 32 n; qs[32 + m] (m < 16) columns 160 + m + 16 n; qh[j] columns
    240 + j + 4 n for n < 4, its 5th trit 256 (no column: the final `q *= 3`)."""
    n = np.arange(5)
    c = np.empty((52, 5), np.int64)
    c[:32] = np.arange(32)[:, None] + 32 * n
    c[32:48] = 160 + np.arange(16)[:, None] + 16 * n
    c[48:] = 240 + np.arange(4)[:, None] + 4 * n
    c[48:, 4] = QK_K
    return c


TQ1_COLS = tq1_0_columns()
TQ1_ORDER = np.argsort(TQ1_COLS.reshape(-1), kind="stable")[:QK_K]  # the (byte, trit) slot of each column
POW3 = np.array([1, 3, 9, 27, 81], np.int64)


def quantize_tq1_0(X):
    xi, dh = tq_codes(X)
    xp = np.concatenate([xi, np.zeros((X.shape[0], 1), np.int64)], axis=1)  # column 256: the qh padding trit
    q = np.zeros((X.shape[0], 52), np.int64)
    for n in range(5):  # uint8 q: q *= 3; q += xi
        q = (q * 3 + xp[:, TQ1_COLS[:, n]]) & 0xFF
    q = ((q * 256 + (243 - 1)) // 243) & 0xFF  # ceiling division, stored as uint8
    return np.concatenate([q, fp16_bytes(dh)], axis=1)


def quantize_tq2_0(X):
    xi, dh = tq_codes(X)
    return np.concatenate([pack_2bit(xi & 3), fp16_bytes(dh)], axis=1)


def tq1_0_trits(b):
    """dequantize_row_tq1_0's trit extraction on bytes b [NB, 52]: ((uint8_t)(b * pow3[n]) * 3) >> 8 for
    n = 0..4 -> the codes 0..2 in column order [NB, 256]."""
    t = (((b.astype(np.int64)[:, :, None] * POW3) & 0xFF) * 3) >> 8
    return t.reshape(b.shape[0], -1)[:, TQ1_ORDER]


# ---------------------------------------------------------------- decoding

def decode(blocks, fmt):
    """The block contents as integers and float32 fp16 scales: a dict with
      u   unsigned codes [NB, block cols] (q3_k: low 2 bits + 4 * hmask bit, value u - 4; q5_0: value u - 16;
          iq4_*: value kvalues_iq4nl[u]; tq1_0, tq2_0: the ternary codes 0..2, value u - 1, in column order),
      d   float32 [NB]; m (q4_1 / q5_1) or dmin (q2_k) float32 [NB];
      sc  integer scales: iq4_xs the signed per-32 scale ls - 32 [NB, 8]; q3_k the signed per-16 scale [NB, 16];
          q2_k the per-16 scale (low nibble) [NB, 16]; mins (q2_k) the per-16 min (high nibble) [NB, 16]."""
    if fmt in ("q4_1", "q5_1"):
        out = {"d": f16_at(blocks, 0), "m": f16_at(blocks, 2)}
        if fmt == "q4_1":
            out["u"] = unpack_nibbles(blocks[:, 4:20])
        else:
            out["u"] = unpack_q5(blocks[:, 8:24], u32_le(blocks[:, 4:8]))
        return out
    if fmt == "q5_0":
        return {"d": f16_at(blocks, 0), "u": unpack_q5(blocks[:, 6:22], u32_le(blocks[:, 2:6]))}
    if fmt == "iq4_nl":
        return {"d": f16_at(blocks, 0), "u": unpack_nibbles(blocks[:, 2:18])}
    if fmt == "iq4_xs":
        return {"d": f16_at(blocks, 0), "u": unpack_nibbles(blocks[:, 8:136]), "sc": iq4_xs_scales(blocks) - 32}
    if fmt == "q2_k":
        s = blocks[:, 0:16].astype(np.int64)
        return {"u": unpack_2bit(blocks[:, 16:80]), "d": f16_at(blocks, 80), "dmin": f16_at(blocks, 82),
                "sc": s & 0xF, "mins": s >> 4}
    if fmt == "q3_k":
        hm = blocks[:, 0:32].astype(np.int64)
        h = (hm[:, None, :] >> np.arange(8, dtype=np.int64)[None, :, None]) & 1  # element 32 b + l: bit b of hmask[l]
        return {"u": unpack_2bit(blocks[:, 32:96]) + 4 * h.reshape(-1, QK_K), "sc": q3_k_scales(blocks[:, 96:108]),
                "d": f16_at(blocks, 108)}
    if fmt == "tq1_0":
        return {"u": tq1_0_trits(blocks[:, 0:52]), "d": f16_at(blocks, 52)}
    if fmt == "tq2_0":  # qs[32 j + m] >> 2 l: column 128 j + 32 l + m, as the K-quants' 2-bit planes
        return {"u": unpack_2bit(blocks[:, 0:64]), "d": f16_at(blocks, 64)}
    raise ValueError(fmt)


def dequantize_blocks(blocks, fmt):
    """dequantize_row_<fmt> on blocks [NB, bytes]: float32 [NB, block cols], C's expressions in order."""
    k = decode(blocks, fmt)
    u, d = k["u"], k["d"][:, None]
    if fmt in ("q4_1", "q5_1"):
        return ((u.astype(f32) * d).astype(f32) + k["m"][:, None]).astype(f32)  # x0*d + m
    if fmt == "q5_0":
        return ((u - 16).astype(f32) * d).astype(f32)
    if fmt in ("tq1_0", "tq2_0"):
        return ((u - 1).astype(f32) * d).astype(f32)  # (float)(xi - 1) * d
    if fmt == "iq4_nl":
        return (d * KV_F[u]).astype(f32)
    NB = u.shape[0]
    if fmt == "iq4_xs":
        dl = (d * k["sc"].astype(f32)).astype(f32)  # d * (ls - 32)
        return (dl[:, :, None] * KV_F[u].reshape(NB, 8, 32)).astype(f32).reshape(NB, QK_K)
    if fmt == "q2_k":
        dl = (d * k["sc"].astype(f32)).astype(f32)
        ml = (k["dmin"][:, None] * k["mins"].astype(f32)).astype(f32)
        y = ((dl[:, :, None] * u.reshape(NB, 16, 16).astype(f32)).astype(f32) - ml[:, :, None]).astype(f32)
        return y.reshape(NB, QK_K)
    if fmt == "q3_k":
        dl = (d * k["sc"].astype(f32)).astype(f32)  # d_all * (scales[is] - 32)
        return (dl[:, :, None] * (u - 4).reshape(NB, 16, 16).astype(f32)).astype(f32).reshape(NB, QK_K)
    raise ValueError(fmt)


# ---------------------------------------------------------------- API

QUANTIZERS = {"q4_1": quantize_q4_1, "q5_0": quantize_q5_0, "q5_1": quantize_q5_1, "iq4_nl": quantize_iq4_nl,
              "iq4_xs": quantize_iq4_xs, "q2_k": quantize_q2_k, "q3_k": quantize_q3_k, "tq1_0": quantize_tq1_0,
              "tq2_0": quantize_tq2_0}


def quantize(W, fmt):
    """The bytes ggml's quantizer for `fmt` (imatrix NULL) writes for W (float32 [rows, cols]):
    uint8 [rows * cols / block cols * block bytes], rows' blocks back to back."""
    W = np.ascontiguousarray(W, f32)
    rows, cols = W.shape
    assert cols % BLOCK_COLS[fmt] == 0
    X = W.reshape(-1, BLOCK_COLS[fmt])
    with np.errstate(all="ignore"):
        out = QUANTIZERS[fmt](X)
    assert out.shape == (X.shape[0], BLOCK_BYTES[fmt])
    return np.ascontiguousarray(out.astype(np.uint8)).reshape(-1)


def dequantize(data, fmt, rows, cols):
    """ggml's dequantize_row_<fmt>: float32 [rows, cols] from the block bytes."""
    blocks = np.frombuffer(bytes(data), np.uint8).reshape(-1, BLOCK_BYTES[fmt])
    assert blocks.shape[0] * BLOCK_COLS[fmt] == rows * cols
    with np.errstate(all="ignore"):
        y = dequantize_blocks(blocks, fmt)
    return y.reshape(rows, cols)


# ---------------------------------------------------------------- int8 activations (lowbit's contract)

def matmul_int8(data, fmt, rows, cols, x):
    """lowbit's int8-activation product in float64 from the exact integer sums of each 32-column block b:
    y[i, j] = sum_b dx[i, b] * T_b with (d, m, dmin the fp16 scales, exact in float64)
      q4_1, q5_1  T_b = d * sum(u xq) + m * sum(xq)
      q5_0        T_b = d * sum((u - 16) xq)
      tq1_0, tq2_0  T_b = d * sum((u - 1) xq)
      iq4_nl      T_b = d * sum(kv[u] xq)
      iq4_xs      T_b = d * (ls_b - 32) * sum(kv[u] xq)
      q3_k        T_b = d * sum_h sc_h * sum_h((u - 4) xq)           (h the two 16-column halves)
      q2_k        T_b = d * sum_h sc_h * sum_h(u xq) - dmin * sum_h m_h * sum_h(xq),
    and the magnitude sum |term| over every integer partial the kernels may scale separately, as in
    kquants_ref.matmul_int8: unsigned codes and their bias sums apart (q5_0: 16 |sum xq|, tq1_0 / tq2_0: |sum xq|,
    q3_k: 4 |sum_h xq|, per half for the K-quants), the mins' terms apart (q2_k per half)."""
    xq, dx = quantize_act(x)  # [m, cols] int64, [m, nb] float32
    m, nb = x.shape[0], cols // 32
    blocks = np.asarray(data, np.uint8).reshape(-1, BLOCK_BYTES[fmt])
    k = decode(blocks, fmt)
    per = BLOCK_COLS[fmt] // 32  # 32-column blocks per ggml block
    u = k["u"].reshape(rows, nb, 32)
    xb = xq.reshape(m, nb, 32)
    axb = np.abs(xb)
    dx64 = dx.astype(np.float64)

    def rep(v):  # a per-ggml-block value -> float64 per 32-column block [rows, nb]
        return np.repeat(v.astype(np.float64).reshape(rows, -1), per, axis=1)

    def fin(t, a):  # T_b [m, rows, nb] and its magnitude -> (y, mag) [m, rows]
        return (dx64[:, None, :] * t).sum(axis=2), (np.abs(dx64)[:, None, :] * a).sum(axis=2)

    d = rep(k["d"])
    if fmt in ("q4_1", "q5_1", "q5_0", "iq4_nl", "iq4_xs", "tq1_0", "tq2_0"):
        xs = xb.sum(axis=2)  # [m, nb]
        if fmt.startswith("iq4"):
            v = KVALUES_IQ4NL[u]
            dot = np.einsum("jbc,ibc->ijb", v, xb)
            adot = np.einsum("jbc,ibc->ijb", np.abs(v), axb)
            s = k["sc"].reshape(rows, nb).astype(np.float64) if fmt == "iq4_xs" else np.ones((rows, nb))
            return fin(d[None] * s[None] * dot, np.abs(d[None] * s[None]) * adot)
        dot = np.einsum("jbc,ibc->ijb", u, xb)
        adot = np.einsum("jbc,ibc->ijb", u, axb)
        if fmt in ("q5_0", "tq1_0", "tq2_0"):
            bias = 16 if fmt == "q5_0" else 1
            bs = bias * xs[:, None, :]
            return fin(d[None] * (dot - bs), np.abs(d)[None] * (adot + np.abs(bs)))
        mm = rep(k["m"])
        mb = mm[None] * xs[:, None, :]
        return fin(d[None] * dot + mb, np.abs(d)[None] * adot + np.abs(mb))
    # q2_k / q3_k: two 16-column halves per 32-column block, each with its own integer scale
    uh, xh = u.reshape(rows, nb, 2, 16), xb.reshape(m, nb, 2, 16)
    dot = np.einsum("jbhc,ibhc->ijbh", uh, xh)  # exact int64 [m, rows, nb, 2]
    adot = np.einsum("jbhc,ibhc->ijbh", uh, np.abs(xh))
    hs = xh.sum(axis=3)[:, None]  # [m, 1, nb, 2]
    sc = k["sc"].reshape(rows, nb, 2)[None]
    if fmt == "q3_k":
        ib = (sc * (dot - 4 * hs)).sum(axis=3)
        part = (np.abs(sc) * (adot + 4 * np.abs(hs))).sum(axis=3)
        return fin(d[None] * ib, np.abs(d)[None] * part)
    mins = k["mins"].reshape(rows, nb, 2)[None]
    dmin = rep(k["dmin"])[None]
    ib = (sc * dot).sum(axis=3)
    mb = (mins * hs).sum(axis=3)
    return fin(d[None] * ib - dmin * mb,
               np.abs(d)[None] * (sc * adot).sum(axis=3) + np.abs(dmin) * (mins * np.abs(hs)).sum(axis=3))


if __name__ == "__main__":
    run_manifest(sys.argv[1], quantize, dequantize, matmul_int8)
