"""Independent reference for lowbit's 16-bit float formats: IEEE binary16 through NumPy's float16 cast
(round to nearest-even, the IEEE default) and bfloat16 chosen by exact comparison in float64: of the two
bfloat16 values around each float32 (its top 16 bits, and the next one up in magnitude), the nearer, a tie
going to the one whose last bit is 0 (no bit tricks shared with lowbit's C).

Usage: python3 half_ref.py W.f32 OUT_PREFIX
Reads float32 values and writes OUT_PREFIX.f16 and OUT_PREFIX.bf16 (2 little-endian bytes per value) and
OUT_PREFIX.f16.f32 / OUT_PREFIX.bf16.f32 (the values decoded back to float32).
"""
import sys

import numpy as np


def to_bf16(w):
    u = w.view(np.uint32).astype(np.uint64)
    lo = (u >> 16) << 16  # truncation toward zero in magnitude
    hi = lo + 0x10000     # the next bfloat16 away from zero
    vlo = lo.astype(np.uint32).view(np.float32).astype(np.float64)
    vhi = hi.astype(np.uint32).view(np.float32).astype(np.float64)
    x = w.astype(np.float64)
    dlo, dhi = np.abs(x - vlo), np.abs(vhi - x)
    pick_hi = (dhi < dlo) | ((dhi == dlo) & (((lo >> 16) & 1) == 1))
    return np.where(pick_hi, hi >> 16, lo >> 16).astype(np.uint16)


def main():
    w = np.fromfile(sys.argv[1], "<f4")
    out = sys.argv[2]
    h = w.astype(np.float16)
    h.view(np.uint16).astype("<u2").tofile(out + ".f16")
    h.astype(np.float32).astype("<f4").tofile(out + ".f16.f32")
    b = to_bf16(w)
    b.astype("<u2").tofile(out + ".bf16")
    (b.astype(np.uint32) << 16).view(np.float32).astype("<f4").tofile(out + ".bf16.f32")


if __name__ == "__main__":
    main()
