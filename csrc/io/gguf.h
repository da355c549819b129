// GGUF (ggml's model file, versions 2 and 3, little-endian) parsed from untrusted bytes: every count,
// length, shape and offset is checked against the bytes there are before anything points into
// them, so a truncated or hostile file gives a GgufError naming the field and its byte offset,
// never an out-of-bounds read. No Node here: the same parser runs under the fuzzer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace lowbit::io {

struct GgufError : std::runtime_error {
  // What kind of fault: not GGUF at all, cut short, or malformed / unsupported within.
  enum class Kind { kBadMagic, kTruncated, kBadHeader, kUnsupported };
  GgufError(const std::string& field, uint64_t offset, const std::string& problem, Kind kind = Kind::kBadHeader)
      : std::runtime_error(field + " at byte " + std::to_string(offset) + ": " + problem), field(field),
        offset(offset), kind(kind) {}
  std::string field;
  uint64_t offset;
  Kind kind;
};

enum GgufValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
constexpr uint32_t kGgufValueTypeCount = 13;

// "uint8", "string", ...; nullptr past the last type.
const char* gguf_value_type_name(uint32_t type);
// Bytes of a fixed-size value type; 0 for string and array.
size_t gguf_value_size(uint32_t type);

// A ggml tensor type: elements per block and bytes per block (ggml's type traits).
struct GgmlType {
  const char* name;
  uint32_t block;
  uint32_t bytes;
};
// nullptr for ids ggml never defined or has removed (4, 5, 31-33, 36-38) and ids past the table.
const GgmlType* ggml_type(uint32_t id);
// The id of a type name ("Q4_0"), or -1.
int ggml_type_id(const std::string& name);

// A bounds-checked little-endian cursor over [data, data + size).
class GgufReader {
 public:
  GgufReader(const uint8_t* data, size_t size, size_t pos = 0) : data_(data), size_(size), pos_(pos) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  // Throws GgufError(field, pos, ...) when fewer than n bytes remain.
  void need(uint64_t n, const std::string& field) const;
  template <typename T>
  T read(const std::string& field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  // A GGUF string: uint64 length then bytes. Returns the bytes' offset and length.
  std::pair<size_t, size_t> string_span(const std::string& field);
  std::string string(const std::string& field);
  void skip(uint64_t n, const std::string& field) {
    need(n, field);
    pos_ += static_cast<size_t>(n);
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_;
};

// A metadata value, left in the file: scalars and strings at `offset`, arrays as `count` elements of
// `elem_type` starting at `offset` (strings back to back, each with its length).
struct GgufValue {
  uint32_t type;
  uint32_t elem_type;  // arrays only
  uint64_t count;      // arrays: elements; strings: bytes
  size_t offset;
};

struct GgufKV {
  std::string key;
  size_t key_offset;
  GgufValue value;
};

constexpr uint32_t kGgufMaxDims = 4;
// Arrays of strings and bools become one JS value per element: a count past this (16M; a tokenizer has
// a few hundred thousand) is refused instead of exhausting the JS heap.
constexpr uint64_t kMaxJsArrayElements = uint64_t{1} << 24;

struct GgufTensor {
  std::string name;
  uint32_t n_dims;
  uint64_t ne[kGgufMaxDims];  // ggml order: ne[0] is the contiguous (column) dimension; unused dims 1
  uint32_t type;
  bool known;                 // type is in the table: nbytes is known and the bytes are in bounds
  uint64_t offset;            // from the start of the file (data section start + the stored offset)
  uint64_t nbytes;            // 0 when !known
  size_t info_offset;         // where its description starts, for error messages
};

struct GgufFile {
  uint32_t version;
  uint64_t alignment;
  uint64_t data_offset;  // start of the tensor data section
  std::vector<GgufKV> kv;
  std::vector<GgufTensor> tensors;
};

// Parses and validates the header, metadata and tensor table of a file of `size` bytes.
GgufFile parse_gguf(const uint8_t* data, size_t size);

}  // namespace lowbit::io
