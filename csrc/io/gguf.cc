#include "gguf.h"

#include <algorithm>
#include <unordered_set>

namespace lowbit::io {

namespace {

const char* const kValueTypeNames[kGgufValueTypeCount] = {"uint8",  "int8",   "uint16", "int16", "uint32",
                                                          "int32",  "float32", "bool",  "string", "array",
                                                          "uint64", "int64",  "float64"};
const size_t kValueSizes[kGgufValueTypeCount] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

// ggml's type traits (block length, block bytes), by type id; removed ids are empty.
constexpr uint32_t kQK = 256;  // QK_K
const GgmlType kTypes[] = {
    {"F32", 1, 4},
    {"F16", 1, 2},
    {"Q4_0", 32, 2 + 16},
    {"Q4_1", 32, 2 + 2 + 16},
    {nullptr, 0, 0},  // Q4_2, removed
    {nullptr, 0, 0},  // Q4_3, removed
    {"Q5_0", 32, 2 + 4 + 16},
    {"Q5_1", 32, 2 + 2 + 4 + 16},
    {"Q8_0", 32, 2 + 32},
    {"Q8_1", 32, 4 + 4 + 32},
    {"Q2_K", kQK, 2 + 2 + kQK / 16 + kQK / 4},
    {"Q3_K", kQK, 2 + kQK / 4 + kQK / 8 + 12},
    {"Q4_K", kQK, 2 + 2 + kQK / 2 + 12},
    {"Q5_K", kQK, 2 + 2 + kQK / 2 + kQK / 8 + 12},
    {"Q6_K", kQK, 2 + kQK / 2 + kQK / 4 + kQK / 16},
    {"Q8_K", kQK, 4 + kQK + kQK / 8},
    {"IQ2_XXS", kQK, 2 + kQK / 4},
    {"IQ2_XS", kQK, 2 + kQK / 4 + kQK / 32},
    {"IQ3_XXS", kQK, 2 + kQK / 4 + kQK / 8},
    {"IQ1_S", kQK, 2 + kQK / 8 + kQK / 16},
    {"IQ4_NL", 32, 2 + 16},
    {"IQ3_S", kQK, 2 + kQK / 4 + kQK / 8 + kQK / 32 + 4},
    {"IQ2_S", kQK, 2 + kQK / 4 + kQK / 16},
    {"IQ4_XS", kQK, 2 + 2 + kQK / 2 + kQK / 64},
    {"I8", 1, 1},
    {"I16", 1, 2},
    {"I32", 1, 4},
    {"I64", 1, 8},
    {"F64", 1, 8},
    {"IQ1_M", kQK, kQK / 8 + kQK / 16 + kQK / 32},
    {"BF16", 1, 2},
    {nullptr, 0, 0},  // Q4_0_4_4, removed
    {nullptr, 0, 0},  // Q4_0_4_8, removed
    {nullptr, 0, 0},  // Q4_0_8_8, removed
    {"TQ1_0", kQK, 2 + 4 * 13},
    {"TQ2_0", kQK, 2 + 64},
    {nullptr, 0, 0},  // IQ4_NL_4_4, removed
    {nullptr, 0, 0},  // IQ4_NL_4_8, removed
    {nullptr, 0, 0},  // IQ4_NL_8_8, removed
    {"MXFP4", 32, 1 + 16},
};
constexpr uint32_t kTypeCount = sizeof(kTypes) / sizeof(kTypes[0]);

// Largest shape dimension accepted: every size must stay exact as a JS number.
constexpr uint64_t kMaxDim = (uint64_t{1} << 53) - 1;

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > UINT64_MAX / a) return true;
  *out = a * b;
  return false;
}

// Validates one value of `type` at the reader's position and moves past it.
void skip_value(GgufReader& r, uint32_t type, const std::string& field) {
  if (type == kString) {
    r.string_span(field);
  } else {
    r.skip(gguf_value_size(type), field);
  }
}

GgufValue read_value(GgufReader& r, const std::string& field) {
  size_t at = r.pos();
  GgufValue v{};
  v.type = r.read<uint32_t>(field + " type");
  if (v.type >= kGgufValueTypeCount) throw GgufError(field + " type", at, "unknown value type " + std::to_string(v.type));
  if (v.type == kArray) {
    size_t et_at = r.pos();
    v.elem_type = r.read<uint32_t>(field + " element type");
    if (v.elem_type >= kGgufValueTypeCount)
      throw GgufError(field + " element type", et_at, "unknown value type " + std::to_string(v.elem_type));
    if (v.elem_type == kArray) throw GgufError(field + " element type", et_at, "arrays of arrays are not supported");
    size_t n_at = r.pos();
    v.count = r.read<uint64_t>(field + " count");
    // Every element takes at least its fixed size (a string at least its 8-byte length).
    uint64_t min_bytes;
    size_t min_elem = v.elem_type == kString ? 8 : gguf_value_size(v.elem_type);
    if (mul_overflows(v.count, min_elem, &min_bytes) || min_bytes > r.remaining())
      throw GgufError(field + " count", n_at,
                      std::to_string(v.count) + " elements do not fit in the " + std::to_string(r.remaining()) +
                          " bytes left");
    if ((v.elem_type == kString || v.elem_type == kBool) && v.count > kMaxJsArrayElements)
      throw GgufError(field + " count", n_at,
                      std::to_string(v.count) + " elements; arrays of strings or bools are read into JS values, at most " +
                          std::to_string(kMaxJsArrayElements));
    v.offset = r.pos();
    if (v.elem_type == kString) {
      for (uint64_t i = 0; i < v.count; ++i) r.string_span(field + "[" + std::to_string(i) + "]");
    } else {
      r.skip(min_bytes, field);
    }
    return v;
  }
  if (v.type == kString) {
    auto span = r.string_span(field);
    v.offset = span.first;
    v.count = span.second;
    return v;
  }
  v.offset = r.pos();
  skip_value(r, v.type, field);
  return v;
}

}  // namespace

const char* gguf_value_type_name(uint32_t type) { return type < kGgufValueTypeCount ? kValueTypeNames[type] : nullptr; }
size_t gguf_value_size(uint32_t type) { return type < kGgufValueTypeCount ? kValueSizes[type] : 0; }

const GgmlType* ggml_type(uint32_t id) {
  if (id >= kTypeCount || kTypes[id].name == nullptr) return nullptr;
  return &kTypes[id];
}

int ggml_type_id(const std::string& name) {
  for (uint32_t i = 0; i < kTypeCount; ++i)
    if (kTypes[i].name != nullptr && name == kTypes[i].name) return static_cast<int>(i);
  return -1;
}

void GgufReader::need(uint64_t n, const std::string& field) const {
  if (n > remaining())
    throw GgufError(field, pos_,
                    "needs " + std::to_string(n) + " bytes but the file ends " + std::to_string(remaining()) +
                        " bytes later (truncated?)",
                    GgufError::Kind::kTruncated);
}

std::pair<size_t, size_t> GgufReader::string_span(const std::string& field) {
  size_t at = pos_;
  uint64_t n = read<uint64_t>(field + " length");
  if (n > remaining())
    throw GgufError(field + " length", at,
                    "string of " + std::to_string(n) + " bytes runs past the end of the file (" +
                        std::to_string(remaining()) + " bytes left)",
                    GgufError::Kind::kTruncated);
  size_t start = pos_;
  pos_ += static_cast<size_t>(n);
  return {start, static_cast<size_t>(n)};
}

std::string GgufReader::string(const std::string& field) {
  auto s = string_span(field);
  return std::string(reinterpret_cast<const char*>(data_ + s.first), s.second);
}

GgufFile parse_gguf(const uint8_t* data, size_t size) {
  GgufReader r(data, size);
  GgufFile f{};
  // Bytes that cannot start "GGUF" say the file is something else, however short it is.
  if (size > 0 && std::memcmp(data, "GGUF", size < 4 ? size : 4) != 0)
    throw GgufError("magic", 0, "not a GGUF file (the first 4 bytes are not \"GGUF\")", GgufError::Kind::kBadMagic);
  r.need(4, "magic");
  r.skip(4, "magic");
  f.version = r.read<uint32_t>("version");
  if (f.version != 2 && f.version != 3) {
    if ((f.version & 0xffff) == 0 && (f.version >> 16) != 0)
      throw GgufError("version", 4, "a big-endian GGUF file; only little-endian files are supported",
                      GgufError::Kind::kUnsupported);
    throw GgufError("version", 4, "version " + std::to_string(f.version) + " is not supported (versions 2 and 3 are)",
                    GgufError::Kind::kUnsupported);
  }
  size_t at = r.pos();
  uint64_t n_tensors = r.read<uint64_t>("tensor_count");
  // A tensor description takes at least 8 (name length) + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset) bytes.
  if (n_tensors > r.remaining() / 32)
    throw GgufError("tensor_count", at, std::to_string(n_tensors) + " tensors cannot be described in a file this size",
                    GgufError::Kind::kTruncated);
  at = r.pos();
  uint64_t n_kv = r.read<uint64_t>("metadata_kv_count");
  // A key-value pair takes at least 8 (key length) + 4 (type) + 1 bytes.
  if (n_kv > r.remaining() / 13)
    throw GgufError("metadata_kv_count", at, std::to_string(n_kv) + " key-value pairs cannot fit in a file this size",
                    GgufError::Kind::kTruncated);

  f.alignment = 32;
  std::unordered_set<std::string> keys;
  // Capped: a hostile count would otherwise reserve several times the file's size up front.
  f.kv.reserve(static_cast<size_t>(std::min<uint64_t>(n_kv, 4096)));
  for (uint64_t i = 0; i < n_kv; ++i) {
    GgufKV kv;
    kv.key_offset = r.pos();
    std::string field = "metadata[" + std::to_string(i) + "]";
    kv.key = r.string(field + " key");
    if (!keys.insert(kv.key).second) throw GgufError(field + " key", kv.key_offset, "duplicate key \"" + kv.key + "\"");
    kv.value = read_value(r, "metadata \"" + kv.key + "\"");
    if (kv.key == "general.alignment") {
      if (kv.value.type != kU32)
        throw GgufError("metadata \"general.alignment\"", kv.value.offset,
                        std::string("must be a uint32 (is ") + gguf_value_type_name(kv.value.type) + ")");
      uint32_t a;
      std::memcpy(&a, data + kv.value.offset, 4);
      if (a == 0 || (a & (a - 1)) != 0)
        throw GgufError("metadata \"general.alignment\"", kv.value.offset,
                        std::to_string(a) + " is not a power of two");
      f.alignment = a;
    }
    f.kv.push_back(std::move(kv));
  }

  std::unordered_set<std::string> names;
  f.tensors.reserve(static_cast<size_t>(std::min<uint64_t>(n_tensors, 4096)));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t{};
    t.info_offset = r.pos();
    std::string field = "tensor[" + std::to_string(i) + "]";
    t.name = r.string(field + " name");
    field = "tensor \"" + t.name + "\"";
    if (!names.insert(t.name).second) throw GgufError(field, t.info_offset, "duplicate tensor name");
    at = r.pos();
    t.n_dims = r.read<uint32_t>(field + " n_dimensions");
    if (t.n_dims < 1 || t.n_dims > kGgufMaxDims)
      throw GgufError(field + " n_dimensions", at, std::to_string(t.n_dims) + " dimensions (1 to 4 are allowed)");
    uint64_t elements = 1;
    for (uint32_t d = 0; d < kGgufMaxDims; ++d) t.ne[d] = 1;
    for (uint32_t d = 0; d < t.n_dims; ++d) {
      at = r.pos();
      t.ne[d] = r.read<uint64_t>(field + " dimension " + std::to_string(d));
      if (t.ne[d] > kMaxDim) throw GgufError(field + " dimension " + std::to_string(d), at, "larger than 2^53 - 1");
      if (mul_overflows(elements, t.ne[d], &elements) || elements > kMaxDim)
        throw GgufError(field + " dimensions", at, "the element count overflows");
    }
    at = r.pos();
    t.type = r.read<uint32_t>(field + " type");
    const GgmlType* ty = ggml_type(t.type);
    t.known = ty != nullptr;
    size_t off_at = r.pos();
    uint64_t rel = r.read<uint64_t>(field + " offset");
    if (rel % f.alignment != 0)
      throw GgufError(field + " offset", off_at,
                      std::to_string(rel) + " is not a multiple of the alignment " + std::to_string(f.alignment));
    t.offset = rel;  // made absolute below, once the data section's start is known
    if (t.known) {
      if (t.ne[0] % ty->block != 0)
        throw GgufError(field + " dimension 0", t.info_offset,
                        std::to_string(t.ne[0]) + " is not a multiple of " + ty->name + "'s block of " +
                            std::to_string(ty->block));
      uint64_t nbytes = t.ne[0] / ty->block * ty->bytes;
      for (uint32_t d = 1; d < kGgufMaxDims; ++d)
        if (mul_overflows(nbytes, t.ne[d], &nbytes)) throw GgufError(field + " dimensions", at, "the byte size overflows");
      t.nbytes = nbytes;
    }
    f.tensors.push_back(std::move(t));
  }

  uint64_t header_end = r.pos();
  f.data_offset = (header_end + f.alignment - 1) / f.alignment * f.alignment;
  uint64_t data_bytes = f.data_offset <= size ? size - f.data_offset : 0;
  std::vector<size_t> order;
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    GgufTensor& t = f.tensors[i];
    std::string field = "tensor \"" + t.name + "\"";
    if (t.offset > data_bytes || t.nbytes > data_bytes - t.offset)
      throw GgufError(field + " offset", t.info_offset,
                      "data [" + std::to_string(t.offset) + ", +" + std::to_string(t.nbytes) +
                          ") lies past the end of the file (the data section holds " + std::to_string(data_bytes) +
                          " bytes; truncated?)",
                      GgufError::Kind::kTruncated);
    t.offset += f.data_offset;
    if (t.known && t.nbytes > 0) order.push_back(i);
  }
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return f.tensors[a].offset < f.tensors[b].offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const GgufTensor& prev = f.tensors[order[k - 1]];
    const GgufTensor& t = f.tensors[order[k]];
    if (prev.offset + prev.nbytes > t.offset)
      throw GgufError("tensor \"" + t.name + "\" offset", t.info_offset,
                      "its data overlaps tensor \"" + prev.name + "\"'s");
  }
  return f;
}

}  // namespace lowbit::io
