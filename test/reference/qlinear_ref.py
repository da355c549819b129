"""Independent NumPy references of the quantized-linear checkpoint layouts lowbit imports, written from the
public packing code of AutoGPTQ / GPTQModel (QuantLinear.pack, the v1 "zero minus one" and v2 zero-points,
act-order g_idx), AutoAWQ (WQLinear_GEMM: qweight along the input dimension with the 0,2,4,6,1,3,5,7
nibble order) and bitsandbytes (Linear4bit: flattened blocks, the even element in the high nibble, absmax
per block, double quantization of absmax with an offset, the packed quant_state JSON; NF4 and FP4).

  qlinear_ref.py gptq OUT.safetensors OUT.f32 SEED OUT_F IN_F BITS GROUP SYM DESC_ACT VERSION
  qlinear_ref.py awq  OUT.safetensors OUT.f32 SEED OUT_F IN_F GROUP
  qlinear_ref.py bnb  OUT.safetensors OUT.f32 SEED OUT_F IN_F BLOCK NESTED FP4   (FP4 0: nf4, 1: fp4)

Each writes one layer under the prefix "model.layers.0.mlp.down_proj" (with a bias) and the float32 weight
[OUT_F, IN_F] (original input order) that the checkpoint dequantizes to, computed in float32 exactly as the
tools' dequantizers do: scale * (q - zero) (GPTQ, AWQ), code[q] * absmax (bitsandbytes, float32 compute).
"""
import json
import sys

import numpy as np

from safetensors_ref import write_tensors

PREFIX = "model.layers.0.mlp.down_proj"
AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]
NF4 = np.array([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                0.7229568362236023, 1.0], dtype=np.float32)
# bitsandbytes get_4bit_type('fp4'): sign-magnitude codes over the largest magnitude, in float32.
# Its "-0" is a Python integer, so code 8 is +0.0 in the float table.
FP4 = (np.array([0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0, -0, -0.0625, -8.0, -12.0, -4.0, -6.0, -2.0, -3.0],
                np.float32) / np.float32(12)).astype(np.float32)


def fp4_encode(x):
    """bitsandbytes' dQuantizeFP4: the sign bit, then |x| against its float32 midpoint literals ('>')."""
    f = np.float32
    a = np.abs(x).astype(f)
    hi = np.where(a > f(0.583333), np.where(a > f(0.8333333), 3, 2), np.where(a > f(0.4166667), 5, 4))
    lo = np.where(a > f(0.0859375), np.where(a > f(0.20833333), 7, 6), np.where(a > f(0.00260417), 1, 0))
    return (np.where(x < 0, 8, 0) | np.where(a > f(0.29166667), hi, lo)).astype(np.uint8)


def pack3(c):
    """AutoGPTQ's 3-bit packing of codes c [32 * n, ...] (uint32) along axis 0 into words [3 * n, ...], as its
    pack() loop writes them: 10 codes a word, the 11th split across two words (2 + 1 bits, then 1 + 2)."""
    c = c.reshape((c.shape[0] // 32, 32) + c.shape[1:])
    w = np.zeros((c.shape[0], 3) + c.shape[2:], dtype=np.uint32)
    for j in range(10):
        w[:, 0] |= c[:, j] << np.uint32(3 * j)
    w[:, 0] |= c[:, 10] << np.uint32(30)
    w[:, 1] |= (c[:, 10] >> np.uint32(2)) & np.uint32(1)
    for j in range(10):
        w[:, 1] |= c[:, 11 + j] << np.uint32(3 * j + 1)
    w[:, 1] |= c[:, 21] << np.uint32(31)
    w[:, 2] |= (c[:, 21] >> np.uint32(1)) & np.uint32(3)
    for j in range(10):
        w[:, 2] |= c[:, 22 + j] << np.uint32(3 * j + 2)
    return w.reshape((c.shape[0] * 3,) + c.shape[2:])


def pack_rows(q, bits):
    """AutoGPTQ qweight: [in, out] codes -> int32 [in * bits / 32, out]; code i of a word in bits (bits * i)."""
    if bits == 3:
        return pack3(q.astype(np.uint32)).view(np.int32)
    per = 32 // bits
    q = q.astype(np.uint32).reshape(q.shape[0] // per, per, q.shape[1])
    out = np.zeros((q.shape[0], q.shape[2]), dtype=np.uint32)
    for j in range(per):
        out |= q[:, j, :] << np.uint32(bits * j)
    return out.view(np.int32)


def pack_cols(z, bits, order=None):
    """[groups, out] codes -> int32 [groups, out * bits / 32] along the output dimension (AWQ: interleaved)."""
    if bits == 3:
        return np.ascontiguousarray(pack3((z.astype(np.uint32) & np.uint32(7)).T).T).view(np.int32)
    per = 32 // bits
    z = z.astype(np.uint32).reshape(z.shape[0], z.shape[1] // per, per)
    out = np.zeros((z.shape[0], z.shape[1]), dtype=np.uint32)
    for j in range(per):
        src = order[j] if order else j
        out |= (z[:, :, src] & np.uint32((1 << bits) - 1)) << np.uint32(bits * j)
    return out.view(np.int32)


def minmax_quantize(w, bits, sym):
    """GPTQ's Quantizer (find_params) per group: w [n, g] -> (scale fp16 [n], zero [n], q [n, g])."""
    maxq = (1 << bits) - 1
    xmin = np.minimum(w.min(axis=1), 0)
    xmax = np.maximum(w.max(axis=1), 0)
    if sym:
        xmax = np.maximum(np.abs(xmin), xmax)
        xmin = np.where(xmin < 0, -xmax, xmin)
    both0 = (xmin == 0) & (xmax == 0)
    xmin[both0], xmax[both0] = -1, 1
    scale = ((xmax - xmin) / maxq).astype(np.float16)
    zero = np.full(w.shape[0], (maxq + 1) // 2) if sym else np.round(-xmin / scale.astype(np.float32))
    zero = np.clip(zero, 0, maxq).astype(np.int64)
    q = np.clip(np.round(w / scale.astype(np.float32)[:, None]) + zero[:, None], 0, maxq).astype(np.int64)
    return scale, zero, q


def f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def gptq(out_path, w_path, seed, out_f, in_f, bits, group, sym, desc_act, version):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((out_f, in_f)).astype(np.float32)
    w[:, 0] *= 8  # an outlier column
    gs = in_f if group == -1 else group
    groups = in_f // gs
    perm = rng.permutation(in_f) if desc_act else np.arange(in_f)
    g_idx = np.empty(in_f, dtype=np.int32)
    g_idx[perm] = np.arange(in_f) // gs  # act order: groups are runs of the permuted inputs
    scales = np.zeros((groups, out_f), dtype=np.float16)
    zeros = np.zeros((groups, out_f), dtype=np.int64)
    q = np.zeros((in_f, out_f), dtype=np.int64)
    for g in range(groups):
        cols = perm[g * gs:(g + 1) * gs]
        s, z, qg = minmax_quantize(w[:, cols], bits, sym)
        scales[g], zeros[g] = s, z
        q[cols, :] = qg.T
    wrapped = version == 1 and bool((zeros == 0).any())
    if version == 1:
        # AutoGPTQ stores zero - 1, masked to the code width.
        stored = (zeros - 1) & ((1 << bits) - 1)
        if wrapped:
            # The wrapped -1 reads back as 2^bits: that is what a v1 loader dequantizes with.
            zeros = np.where(zeros == 0, 1 << bits, zeros)
    else:
        stored = zeros
    deq = scales.astype(np.float32)[g_idx, :] * (q - zeros[g_idx, :]).astype(np.float32)
    bias = rng.standard_normal(out_f).astype(np.float16)
    write_tensors(out_path, [
        (PREFIX + ".qweight", "I32", [in_f * bits // 32, out_f], pack_rows(q, bits).tobytes()),
        (PREFIX + ".qzeros", "I32", [groups, out_f * bits // 32], pack_cols(stored, bits).tobytes()),
        (PREFIX + ".scales", "F16", [groups, out_f], scales.tobytes()),
        (PREFIX + ".g_idx", "I32", [in_f], g_idx.tobytes()),
        (PREFIX + ".bias", "F16", [out_f], bias.tobytes()),
    ])
    f32(deq.T).tofile(w_path)
    print(json.dumps({"quant_method": "gptq", "bits": bits, "group_size": group, "sym": sym, "desc_act": desc_act,
                      "checkpoint_format": "gptq" if version == 1 else "gptq_v2", "bias": bias.astype(np.float32).tolist(),
                      "wrapped_zero": wrapped}))


def awq(out_path, w_path, seed, out_f, in_f, group):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((out_f, in_f)).astype(np.float32)
    groups = in_f // group
    scales = np.zeros((groups, out_f), dtype=np.float16)
    zeros = np.zeros((groups, out_f), dtype=np.int64)
    q = np.zeros((in_f, out_f), dtype=np.int64)
    for g in range(groups):
        s, z, qg = minmax_quantize(w[:, g * group:(g + 1) * group], 4, False)
        scales[g], zeros[g] = s, z
        q[g * group:(g + 1) * group, :] = qg.T
    deq = (q - np.repeat(zeros, group, axis=0)).astype(np.float32) * np.repeat(scales, group, axis=0).astype(np.float32)
    write_tensors(out_path, [
        (PREFIX + ".qweight", "I32", [in_f, out_f // 8], pack_cols(q, 4, AWQ_ORDER).tobytes()),
        (PREFIX + ".qzeros", "I32", [groups, out_f // 8], pack_cols(zeros, 4, AWQ_ORDER).tobytes()),
        (PREFIX + ".scales", "F16", [groups, out_f], scales.tobytes()),
    ])
    f32(deq.T).tofile(w_path)
    print(json.dumps({"quant_method": "awq", "bits": 4, "group_size": group, "zero_point": True, "version": "gemm"}))


def bnb(out_path, w_path, seed, out_f, in_f, block, nested, fp4):
    rng = np.random.default_rng(seed)
    flat = (rng.standard_normal(out_f * in_f) * 0.02).astype(np.float32)
    blocks = flat.reshape(-1, block)
    absmax = np.abs(blocks).max(axis=1).astype(np.float32)
    table = FP4 if fp4 else NF4
    if fp4:
        codes = fp4_encode((blocks * (np.float32(1) / absmax)[:, None]).astype(np.float32))
    else:
        codes = np.abs(blocks[:, :, None] / absmax[:, None, None] - NF4[None, None, :]).argmin(axis=2).astype(np.uint8)
    packed = (codes.reshape(-1)[0::2] << 4) | codes.reshape(-1)[1::2]  # the even element in the high nibble
    name = PREFIX + ".weight"
    qt = "fp4" if fp4 else "nf4"
    state = {"quant_type": qt, "blocksize": block, "dtype": "bfloat16", "shape": [out_f, in_f]}
    tensors = [(name, "U8", [out_f * in_f // 2, 1], packed.astype(np.uint8).tobytes())]
    if nested:
        # Double quantization: absmax - mean in blocks of 256 against a 256-entry code (here a signed
        # linear map), one float32 absmax per 256 blocks; dequantized as code[q] * absmax2 + offset in float32.
        nb = 256
        offset = np.float32(absmax.mean())
        centred = absmax - offset
        code2 = np.linspace(-1, 1, 256).astype(np.float32)
        pad = (-len(centred)) % nb
        cb = np.concatenate([centred, np.zeros(pad, np.float32)]).reshape(-1, nb)
        absmax2 = np.maximum(np.abs(cb).max(axis=1), np.float32(1e-12)).astype(np.float32)
        qabs = np.abs(cb[:, :, None] / absmax2[:, None, None] - code2[None, None, :]).argmin(axis=2).reshape(-1)[:len(centred)]
        absmax = (code2[qabs] * np.repeat(absmax2, nb)[:len(centred)]).astype(np.float32) + offset
        state.update({"nested_blocksize": nb, "nested_offset": float(offset)})
        tensors += [(name + ".absmax", "U8", [len(qabs)], qabs.astype(np.uint8).tobytes()),
                    (name + ".nested_absmax", "F32", [len(absmax2)], absmax2.tobytes()),
                    (name + ".nested_quant_map", "F32", [256], code2.tobytes())]
    else:
        tensors += [(name + ".absmax", "F32", [len(absmax)], absmax.tobytes())]
    state_bytes = json.dumps(state).encode("utf-8")
    tensors += [(name + ".quant_map", "F32", [16], table.tobytes()),
                (name + ".quant_state.bitsandbytes__" + qt, "U8", [len(state_bytes)], state_bytes)]
    deq = table[codes.reshape(-1)] * np.repeat(absmax.astype(np.float32), block)
    write_tensors(out_path, tensors)
    f32(deq.reshape(out_f, in_f)).tofile(w_path)
    print(json.dumps({"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": qt}))


def write(kind, out_path, w_path, a):
    if kind == "gptq":
        gptq(out_path, w_path, a[0], a[1], a[2], a[3], a[4], bool(a[5]), bool(a[6]), a[7])
    elif kind == "awq":
        awq(out_path, w_path, *a)
    else:
        bnb(out_path, w_path, a[0], a[1], a[2], a[3], bool(a[4]), bool(a[5]))


if __name__ == "__main__":
    if sys.argv[1] == "batch":
        # batch MANIFEST: a JSON list of [kind, out_path, w_path, args]; prints the list of configs (one
        # process for all of a test file's layers: starting Python and NumPy costs more than a layer).
        import contextlib
        import io
        configs = []
        for kind, out_path, w_path, a in json.load(open(sys.argv[2])):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                write(kind, out_path, w_path, [int(x) for x in a])
            configs.append(json.loads(buf.getvalue()))
        print(json.dumps(configs))
    else:
        write(sys.argv[1], sys.argv[2], sys.argv[3], [int(x) for x in sys.argv[4:]])
