"""An independent GGUF v3 reader and writer, written from the format's specification (ggml's docs/gguf.md),
sharing no code with lowbit's parser (csrc/io/gguf.cc) or writer (lib/io/gguf-write.ts).

  gguf_ref.py read FILE          prints the file as JSON: version, alignment, data offset, metadata as
                                 {key: [type, value]} (64-bit integers as decimal strings, floats as
                                 float64 bit patterns in hex so nothing is lost), tensors with the SHA-256
                                 of their data bytes (MXFP4 ones also with their values, float64 hex)
  gguf_ref.py write FILE         writes a fixed file (every value type, F32/F16/BF16/Q8_0/Q4_0/Q6_K/IQ2_XXS/MXFP4
                                 tensors of deterministic bytes, alignment 64) and prints it as `read` would
"""
import hashlib
import json
import struct
import sys

import numpy as np

VALUE_TYPES = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array",
               "uint64", "int64", "float64"]
FMT = {"uint8": "<B", "int8": "<b", "uint16": "<H", "int16": "<h", "uint32": "<I", "int32": "<i",
       "float32": "<f", "bool": "<?", "uint64": "<Q", "int64": "<q", "float64": "<d"}
# (elements per block, bytes per block) for the types this reference writes or checks.
TENSOR_TYPES = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 30: ("BF16", 1, 2), 2: ("Q4_0", 32, 18), 8: ("Q8_0", 32, 34),
                14: ("Q6_K", 256, 210), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 10: ("Q2_K", 256, 84), 39: ("MXFP4", 32, 17),
                3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 11: ("Q3_K", 256, 110), 20: ("IQ4_NL", 32, 18),
                23: ("IQ4_XS", 256, 136), 16: ("IQ2_XXS", 256, 66), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66)}
# ggml's MXFP4: a block is an E8M0 byte e then 16 bytes, element j in the low nibble of byte j and element
# j + 16 in the high one; value = kvalues_mxfp4[code] * 2^(e - 128) (doubled E2M1 values, half the scale).
KVALUES_MXFP4 = np.array([0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12], np.float32)


def mxfp4_dequant(raw):
    b = np.frombuffer(raw, np.uint8).reshape(-1, 17)
    scale = np.ldexp(np.float32(1), b[:, 0].astype(np.int32) - 128).astype(np.float32)
    q = np.concatenate([b[:, 1:] & 15, b[:, 1:] >> 4], axis=1)
    return (KVALUES_MXFP4[q] * scale[:, None]).astype(np.float32).reshape(-1)


def show(type_name, v):
    if type_name in ("uint64", "int64"):
        return str(v)
    if type_name in ("float32", "float64"):
        return struct.pack("<d", v).hex()
    return v


class Reader:
    def __init__(self, b):
        self.b, self.p = b, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.p)[0]
        self.p += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = self.b[self.p:self.p + n].decode("utf-8")
        self.p += n
        return s

    def value(self, t):
        name = VALUE_TYPES[t]
        if name == "string":
            return name, self.string()
        if name == "array":
            et = VALUE_TYPES[self.take("<I")]
            n = self.take("<Q")
            vals = [self.value(VALUE_TYPES.index(et))[1] for _ in range(n)]
            return "array<%s>" % et, vals
        return name, show(name, self.take(FMT[name]))


def read(path):
    b = open(path, "rb").read()
    r = Reader(b)
    assert b[:4] == b"GGUF"
    r.p = 4
    version = r.take("<I")
    n_tensors, n_kv = r.take("<Q"), r.take("<Q")
    meta = {}
    for _ in range(n_kv):
        k = r.string()
        meta[k] = list(r.value(r.take("<I")))
    align = int(meta.get("general.alignment", ["uint32", 32])[1])
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.take("<I")
        dims = [r.take("<Q") for _ in range(nd)]
        t = r.take("<I")
        off = r.take("<Q")
        infos.append((name, dims, t, off))
    data = (r.p + align - 1) // align * align
    tensors = []
    for name, dims, t, off in infos:
        _, blk, size = TENSOR_TYPES[t]
        nbytes = dims[0] // blk * size * int(np.prod(dims[1:], dtype=np.int64))
        start = data + off
        assert start + nbytes <= len(b)
        entry = {"name": name, "typeId": t, "shape": dims, "offset": start, "byteLength": nbytes,
                 "sha256": hashlib.sha256(b[start:start + nbytes]).hexdigest()}
        if t == 39:
            entry["dequantized"] = mxfp4_dequant(b[start:start + nbytes]).astype(np.float64).tobytes().hex()
        tensors.append(entry)
    return {"version": version, "alignment": align, "dataOffset": data, "metadata": meta, "tensors": tensors}


def pack_string(s):
    e = s.encode("utf-8")
    return struct.pack("<Q", len(e)) + e


def pack_value(type_name, v):
    if type_name.startswith("array<"):
        et = type_name[6:-1]
        return (struct.pack("<IIQ", VALUE_TYPES.index("array"), VALUE_TYPES.index(et), len(v)) +
                b"".join(pack_value(et, x)[4:] for x in v))
    body = pack_string(v) if type_name == "string" else struct.pack(FMT[type_name], v)
    return struct.pack("<I", VALUE_TYPES.index(type_name)) + body


def write(path):
    align = 64
    meta = [
        ("general.architecture", "string", "llama"),
        ("general.alignment", "uint32", align),
        ("u8", "uint8", 255), ("i8", "int8", -128), ("u16", "uint16", 65535), ("i16", "int16", -32768),
        ("u32", "uint32", 4294967295), ("i32", "int32", -2147483648), ("f32", "float32", 1e-5),
        ("b", "bool", True), ("u64", "uint64", 2 ** 64 - 1), ("i64", "int64", -2 ** 63), ("f64", "float64", 0.1),
        ("unicode", "string", "\u00e9\u4e2d\U0001F600"),
        ("tokens", "array<string>", ["<s>", "</s>", "", "\u2581the"]),
        ("scores", "array<float32>", [0.0, -1.5, 3.25]),
        ("types", "array<int32>", [1, 2, -3]),
        ("flags", "array<bool>", [True, False, True]),
        ("ids", "array<uint64>", [0, 2 ** 64 - 1]),
        ("empty", "array<uint8>", []),
    ]
    rng = np.random.default_rng(7)
    tensors = [
        ("token_embd.weight", [64, 3], 0),
        ("norm.weight", [64], 1),
        ("bf.weight", [32, 2], 30),
        ("blk.0.attn_q.weight", [64, 4], 8),
        ("blk.0.ffn_up.weight", [96, 2, 2], 2),
        ("blk.0.ffn_down.weight", [256, 2], 14),
        ("blk.0.attn_v.weight", [256, 2], 16),
        ("blk.0.ffn_gate_exps.weight", [64, 3, 2], 39),
    ]
    blobs = []
    for name, dims, t in tensors:
        _, blk, size = TENSOR_TYPES[t]
        n = dims[0] // blk * size * int(np.prod(dims[1:], dtype=np.int64))
        raw = bytearray(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
        if t in (1, 30):  # keep halves finite: clear the top exponent bit
            for i in range(1, n, 2):
                raw[i] &= 0x3F
        if t == 0:
            raw = bytearray(rng.standard_normal(n // 4).astype("<f4").tobytes())
        if t == 39:  # E8M0 scales in a moderate range
            for i in range(0, n, size):
                raw[i] = 100 + raw[i] % 50
        if t in (2, 8):  # finite fp16 block scales
            step = size
            for i in range(0, n, step):
                raw[i + 1] &= 0x3F
        if t == 14:  # Q6_K: a finite fp16 d at the end of each block
            for i in range(0, n, size):
                raw[i + 209] &= 0x3F
        blobs.append(bytes(raw))
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta))
    for k, t, v in meta:
        head += pack_string(k) + pack_value(t, v)
    off = 0
    offsets = []
    for (name, dims, t), blob in zip(tensors, blobs):
        head += pack_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", t, off)
        offsets.append(off)
        off += (len(blob) + align - 1) // align * align
    head += b"\0" * ((-len(head)) % align)
    body = b""
    for blob in blobs:
        body += blob + b"\0" * ((-len(blob)) % align)
    open(path, "wb").write(head + body)


if __name__ == "__main__":
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "write":
        write(path)
    print(json.dumps(read(path)))
