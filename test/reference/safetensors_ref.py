"""An independent safetensors reader and writer (the format: an 8-byte little-endian header length, a JSON
header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then the data), sharing no code with
lib/safetensors.ts.

  safetensors_ref.py write FILE   writes a fixed file (every dtype, metadata, a zero-size tensor) and prints
                                  it as `read` does
  safetensors_ref.py read FILE    prints {headerLength, metadata, tensors: [{name, dtype, shape, offset,
                                  byteLength, sha256}]} in data order
"""
import hashlib
import json
import struct
import sys

import numpy as np

NP = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
      "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?", "F8_E4M3": "u1", "F8_E5M2": "u1"}


def read(path):
    b = open(path, "rb").read()
    n = struct.unpack_from("<Q", b, 0)[0]
    header = json.loads(b[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    out = []
    for name, e in header.items():
        s, t = e["data_offsets"]
        out.append({"name": name, "dtype": e["dtype"], "shape": e["shape"], "offset": 8 + n + s, "byteLength": t - s,
                    "sha256": hashlib.sha256(b[8 + n + s:8 + n + t]).hexdigest()})
    out.sort(key=lambda x: x["offset"])
    return {"headerLength": n, "metadata": meta, "tensors": out}


def write_tensors(path, tensors, metadata=None):
    """tensors: [(name, dtype, shape, raw bytes)] written in that order."""
    header = {"__metadata__": metadata} if metadata else {}
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)


def write(path):
    rng = np.random.default_rng(5)
    tensors = []
    for i, (dtype, shape) in enumerate([("F64", [3]), ("F32", [2, 3]), ("F16", [5]), ("BF16", [2, 2]), ("I64", [2]),
                                        ("I32", [3]), ("I16", [3]), ("I8", [7]), ("U64", [1]), ("U32", [2]),
                                        ("U16", [3]), ("U8", [4, 1]), ("BOOL", [3]), ("F8_E4M3", [5]),
                                        ("F8_E5M2", [2]), ("F32", [0, 4])]):
        n = int(np.prod(shape, dtype=np.int64))
        size = np.dtype(NP[dtype]).itemsize
        raw = rng.integers(0, 256, n * size, dtype=np.uint8).tobytes()
        if dtype == "BOOL":
            raw = bytes(x & 1 for x in raw)
        if dtype in ("F64", "F32", "F16"):
            raw = (rng.standard_normal(n) * 3).astype(NP[dtype]).tobytes()
        tensors.append(("t%02d.%s" % (i, dtype.lower()), dtype, shape, raw))
    # Written in reverse name order so that data order differs from JSON key order.
    write_tensors(path, list(reversed(tensors)), {"format": "pt", "note": "caf\u00e9"})


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    print(json.dumps(read(sys.argv[2])))
