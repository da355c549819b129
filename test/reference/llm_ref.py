"""Independent float64 reference of lowbit's model runner (csrc/llm, lib/llm), written from the architectures'
definitions (llama.cpp's graphs for llama, qwen2 and qwen3: RMSNorm, rotary embeddings with normal or NeoX
pairing and optional frequency factors, causal grouped-query attention, SwiGLU), sharing no code with lowbit.
The file is read by gguf_ref.py's reader and dequantized here (Q4_0, Q8_0, F32, F16, BF16) and by
kquants_ref.py (Q4_K, Q5_K, Q6_K) and ggml_types_ref.py (Q2_K, Q3_K, IQ4_XS, IQ4_NL, Q4_1, Q5_0, Q5_1, TQ1_0, TQ2_0).

Usage: python3 llm_ref.py MANIFEST.json
Each case {model, tokens, kv, int8, out} writes `out`: float64 logits [len(tokens), vocab] of every position;
with `greedy`: n, it instead continues `tokens` greedily for n tokens and writes float64 pairs [token, margin]
(margin: the winning logit minus the runner-up, so a test can tell a near tie from a wrong token).
- kv 'f16' or 'q8_0': keys and values are rounded as the cache stores them (ggml's fp16, or Q8_0 blocks:
  d = amax / 127 in float32, codes roundf(x / d), then d stored as fp16), everything else in float64.
- int8 true: the input of every product with a quantized matrix is replaced by lowbit's int8 activations
  (blocks of 32, d = amax / 127, round half to even in float32: matmul_ref.quantize_act), which is what the
  int8-activation contract computes exactly (integer block sums times the two scales); false: plain float64.
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_ref  # noqa: E402  the sibling GGUF reader
import kquants_ref  # noqa: E402  the sibling K-quant dequantizers
import ggml_types_ref  # noqa: E402  the other ggml types' dequantizers
from matmul_ref import quantize_act  # noqa: E402

f32 = np.float32
QUANTIZED = {"Q4_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K", "Q2_K", "Q3_K", "IQ4_XS", "IQ4_NL", "Q4_1", "Q5_0", "Q5_1", "TQ1_0",
             "TQ2_0"}


def meta_value(entry):
    """gguf_ref shows floats as the hex of their float64 bits; everything else as is."""
    t, v = entry
    if t in ("float32", "float64"):
        return struct.unpack("<d", bytes.fromhex(v))[0]
    return v


def fp16(raw):
    return np.frombuffer(raw, "<f2").astype(np.float64)


def dequantize(raw, type_name, rows, cols):
    if type_name == "F32":
        return np.frombuffer(raw, "<f4").astype(np.float64).reshape(rows, cols)
    if type_name == "F16":
        return fp16(raw).reshape(rows, cols)
    if type_name == "BF16":
        u = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
        return u.view(np.float32).astype(np.float64).reshape(rows, cols)
    if type_name == "Q8_0":
        b = np.frombuffer(raw, np.uint8).reshape(-1, 34)
        d = fp16(b[:, :2].tobytes())
        q = b[:, 2:].view(np.int8).astype(np.float64)
        return (d[:, None] * q).reshape(rows, cols)
    if type_name == "Q4_0":
        # Element j of a block is the low nibble of byte j, element j + 16 its high nibble; value (q - 8) * d.
        b = np.frombuffer(raw, np.uint8).reshape(-1, 18)
        d = fp16(b[:, :2].tobytes())
        qs = b[:, 2:]
        q = np.concatenate([qs & 15, qs >> 4], axis=1).astype(np.float64) - 8
        return (d[:, None] * q).reshape(rows, cols)
    if type_name in ("Q4_K", "Q5_K", "Q6_K"):
        return kquants_ref.dequantize(np.frombuffer(raw, np.uint8), type_name.lower(), rows, cols).astype(np.float64)
    if type_name.lower() in ggml_types_ref.FORMATS:
        return ggml_types_ref.dequantize(np.frombuffer(raw, np.uint8), type_name.lower(), rows, cols).astype(np.float64)
    raise ValueError("no dequantizer for " + type_name)


class Model:
    def __init__(self, path):
        g = gguf_ref.read(path)
        raw = open(path, "rb").read()
        self.meta = {k: meta_value(v) for k, v in g["metadata"].items()}
        self.arch = self.meta["general.architecture"]
        self.w, self.types = {}, {}
        for t in g["tensors"]:
            name = gguf_ref.TENSOR_TYPES[t["typeId"]][0]
            cols = t["shape"][0]
            rows = int(np.prod(t["shape"][1:], dtype=np.int64))
            data = raw[t["offset"]:t["offset"] + t["byteLength"]]
            self.w[t["name"]] = dequantize(data, name, rows, cols)
            self.types[t["name"]] = name

    def key(self, k, default=None):
        return self.meta.get(self.arch + "." + k, default)


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(v, pos, base, neox, factors):
    """v [n, heads, hd] rotated by the angles of positions pos [n]."""
    hd = v.shape[-1]
    half = hd // 2
    inv = base ** (-2.0 * np.arange(half) / hd)
    if factors is not None:
        inv = inv / factors
    a = pos[:, None] * inv[None, :]  # [n, half]
    c, s = np.cos(a)[:, None, :], np.sin(a)[:, None, :]
    out = v.copy()
    if neox:
        x0, x1 = v[..., :half], v[..., half:]
        out[..., :half] = x0 * c - x1 * s
        out[..., half:] = x0 * s + x1 * c
    else:
        x0, x1 = v[..., 0::2], v[..., 1::2]
        out[..., 0::2] = x0 * c - x1 * s
        out[..., 1::2] = x0 * s + x1 * c
    return out


def kv_round(v, kv):
    """v [..., hd] as the cache gives it back."""
    x = v.astype(f32)
    if kv == "f16":
        return x.astype(np.float16).astype(np.float64)
    blocks = x.reshape(-1, 32)
    amax = np.max(np.abs(blocks), axis=1)
    d = amax / f32(127)
    inv = np.where(d == 0, f32(0), f32(1) / np.where(d == 0, f32(1), d))
    p = blocks * inv[:, None]
    q = np.sign(p) * np.floor(np.abs(p) + f32(0.5))  # roundf: halves away from zero
    return (d.astype(np.float16).astype(np.float64)[:, None] * q).reshape(v.shape)


def forward(m, tokens, kv, int8):
    n = len(tokens)
    embd = m.key("embedding_length")
    heads = m.key("attention.head_count")
    heads_kv = m.key("attention.head_count_kv", heads)
    hd = m.key("attention.key_length", embd // heads)
    eps = m.key("attention.layer_norm_rms_epsilon")
    base = m.key("rope.freq_base", 10000.0)
    neox = m.arch != "llama"
    factors = m.w["rope_freqs.weight"][0] if "rope_freqs.weight" in m.w else None
    group = heads // heads_kv
    pos = np.arange(n, dtype=np.float64)

    def lin(x, name):
        w = m.w[name]
        if int8 and m.types[name] in QUANTIZED:
            q, d = quantize_act(x.astype(f32))
            x = (q.reshape(n, -1, 32) * d.astype(np.float64)[:, :, None]).reshape(n, -1)
        return x @ w.T

    def vec(name):
        return m.w[name][0]

    x = m.w["token_embd.weight"][np.array(tokens)]
    for i in range(m.key("block_count")):
        p = "blk.%d." % i
        h = rms_norm(x, vec(p + "attn_norm.weight"), eps)
        q, k, v = lin(h, p + "attn_q.weight"), lin(h, p + "attn_k.weight"), lin(h, p + "attn_v.weight")
        if p + "attn_q.bias" in m.w:
            q, k, v = q + vec(p + "attn_q.bias"), k + vec(p + "attn_k.bias"), v + vec(p + "attn_v.bias")
        q, k, v = q.reshape(n, heads, hd), k.reshape(n, heads_kv, hd), v.reshape(n, heads_kv, hd)
        if p + "attn_q_norm.weight" in m.w:
            q = rms_norm(q, vec(p + "attn_q_norm.weight"), eps)
            k = rms_norm(k, vec(p + "attn_k_norm.weight"), eps)
        q, k = rope(q, pos, base, neox, factors), rope(k, pos, base, neox, factors)
        k, v = kv_round(k, kv), kv_round(v, kv)
        att = np.empty((n, heads, hd))
        causal = np.tril(np.ones((n, n), bool))
        for hh in range(heads):
            s = q[:, hh, :] @ k[:, hh // group, :].T / np.sqrt(hd)
            s = np.where(causal, s, -np.inf)
            s = np.exp(s - s.max(axis=1, keepdims=True))
            att[:, hh, :] = (s / s.sum(axis=1, keepdims=True)) @ v[:, hh // group, :]
        x = x + lin(att.reshape(n, heads * hd), p + "attn_output.weight")
        h = rms_norm(x, vec(p + "ffn_norm.weight"), eps)
        g, u = lin(h, p + "ffn_gate.weight"), lin(h, p + "ffn_up.weight")
        x = x + lin(g / (1 + np.exp(-g)) * u, p + "ffn_down.weight")
    h = rms_norm(x, vec("output_norm.weight"), eps)
    return lin(h, "output.weight" if "output.weight" in m.w else "token_embd.weight")


def main():
    models = {}
    for case in json.load(open(sys.argv[1])):
        if case["model"] not in models:
            models[case["model"]] = Model(case["model"])
        m, tokens = models[case["model"]], list(case["tokens"])
        if "greedy" in case:
            out = []
            for _ in range(case["greedy"]):
                last = forward(m, tokens, case["kv"], case["int8"])[-1]
                order = np.argsort(-last, kind="stable")
                out += [float(order[0]), float(last[order[0]] - last[order[1]])]
                tokens.append(int(order[0]))
            np.array(out, "<f8").tofile(case["out"])
        else:
            forward(m, tokens, case["kv"], case["int8"]).astype("<f8").tofile(case["out"])


if __name__ == "__main__":
    main()
