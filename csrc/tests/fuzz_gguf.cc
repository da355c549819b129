// libFuzzer target for the GGUF parser (csrc/io/gguf.cc), built with ASan + UBSan by scripts/fuzz-gguf.sh.
// Whatever the bytes, parse_gguf either throws GgufError or returns a table whose every value and tensor
// lies inside the input: the target then reads all of it the way the Node binding does, so an
// out-of-bounds promise shows up as an ASan report.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "../io/gguf.h"

using namespace lowbit::io;

namespace {

volatile uint8_t sink;

void touch(const uint8_t* data, size_t size, size_t at, size_t n) {
  if (n == 0) return;
  if (at > size || n > size - at) std::abort();  // the parser promised these bytes
  sink = data[at];
  sink = data[at + n - 1];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  GgufFile f;
  try {
    f = parse_gguf(data, size);
  } catch (const GgufError&) {
    return 0;
  }
  for (const GgufKV& kv : f.kv) {
    const GgufValue& v = kv.value;
    if (v.type == kString) {
      touch(data, size, v.offset, v.count);
    } else if (v.type == kArray && v.elem_type == kString) {
      GgufReader r(data, size, v.offset);
      for (uint64_t i = 0; i < v.count; ++i) {
        auto s = r.string_span("string");
        touch(data, size, s.first, s.second);
      }
    } else if (v.type == kArray) {
      touch(data, size, v.offset, v.count * gguf_value_size(v.elem_type));
    } else {
      touch(data, size, v.offset, gguf_value_size(v.type));
    }
  }
  for (const GgufTensor& t : f.tensors) {
    if (t.known) touch(data, size, t.offset, t.nbytes);
  }
  return 0;
}
