// openGGUF's native half: parses and validates a mapped file's header (csrc/io/gguf.cc) and turns the
// metadata into JS values. The mapping itself and tensor views: file_napi.cc.
#include <memory>
#include <string>

#include "../io/gguf.h"
#include "args.h"
#include "bindings.h"
#include "file_napi.h"

namespace lowbit::napi {
namespace {

using io::GgufValue;

Napi::Value scalar_value(Napi::Env env, const uint8_t* p, uint32_t type) {
  auto get = [p](auto v) {
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  switch (type) {
    case io::kU8: return Napi::Number::New(env, get(uint8_t{}));
    case io::kI8: return Napi::Number::New(env, get(int8_t{}));
    case io::kU16: return Napi::Number::New(env, get(uint16_t{}));
    case io::kI16: return Napi::Number::New(env, get(int16_t{}));
    case io::kU32: return Napi::Number::New(env, get(uint32_t{}));
    case io::kI32: return Napi::Number::New(env, get(int32_t{}));
    case io::kF32: return Napi::Number::New(env, get(float{}));
    case io::kF64: return Napi::Number::New(env, get(double{}));
    case io::kBool: return Napi::Boolean::New(env, *p != 0);
    case io::kU64: return Napi::BigInt::New(env, get(uint64_t{}));
    case io::kI64: return Napi::BigInt::New(env, get(int64_t{}));
  }
  return env.Undefined();
}

napi_typedarray_type typed_array_type(uint32_t type) {
  switch (type) {
    case io::kU8: return napi_uint8_array;
    case io::kI8: return napi_int8_array;
    case io::kU16: return napi_uint16_array;
    case io::kI16: return napi_int16_array;
    case io::kU32: return napi_uint32_array;
    case io::kI32: return napi_int32_array;
    case io::kF32: return napi_float32_array;
    case io::kF64: return napi_float64_array;
    case io::kU64: return napi_biguint64_array;
    default: return napi_bigint64_array;  // kI64
  }
}

// Values were validated by parse_gguf; the reader re-checks bounds anyway.
Napi::Value to_js(Napi::Env env, const uint8_t* data, size_t size, const GgufValue& v) {
  if (v.type == io::kString)
    return Napi::String::New(env, reinterpret_cast<const char*>(data + v.offset), static_cast<size_t>(v.count));
  if (v.type != io::kArray) return scalar_value(env, data + v.offset, v.type);
  size_t n = static_cast<size_t>(v.count);
  if (v.elem_type == io::kString || v.elem_type == io::kBool) {
    Napi::Array a = Napi::Array::New(env, n);
    io::GgufReader r(data, size, v.offset);
    for (size_t i = 0; i < n; ++i) {
      if (v.elem_type == io::kBool) {
        a.Set(static_cast<uint32_t>(i), Napi::Boolean::New(env, r.read<uint8_t>("bool") != 0));
      } else {
        auto s = r.string_span("string");
        a.Set(static_cast<uint32_t>(i), Napi::String::New(env, reinterpret_cast<const char*>(data + s.first), s.second));
      }
    }
    return a;
  }
  // Numeric arrays become typed arrays (a copy: the file gives no alignment for them).
  size_t bytes = n * io::gguf_value_size(v.elem_type);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(ab.Data(), data + v.offset, bytes);
  napi_value out;
  NAPI_THROW_IF_FAILED(env, napi_create_typedarray(env, typed_array_type(v.elem_type), n, ab, 0, &out), Napi::Value());
  return Napi::Value(env, out);
}

std::string type_text(const GgufValue& v) {
  if (v.type == io::kArray) return std::string("array<") + io::gguf_value_type_name(v.elem_type) + ">";
  return io::gguf_value_type_name(v.type);
}

// ggufParse(handle) -> { version, alignment, dataOffset, metadata: [[key, type, value]...], tensors }
Napi::Value Parse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileHandle& h = open_file_handle(info[0], "ggufParse");
  const uint8_t* data = h.file->data();
  size_t size = h.file->size();
  io::GgufFile g;
  try {
    g = io::parse_gguf(data, size);
  } catch (const io::GgufError& e) {
    Napi::Error err = Napi::Error::New(env, "openGGUF: " + h.path + ": " + e.what());
    const char* code = e.kind == io::GgufError::Kind::kBadMagic    ? "BAD_MAGIC"
                       : e.kind == io::GgufError::Kind::kTruncated  ? "TRUNCATED"
                       : e.kind == io::GgufError::Kind::kUnsupported ? "UNSUPPORTED"
                                                                     : "BAD_HEADER";
    err.Set("code", Napi::String::New(env, code));
    err.Set("field", Napi::String::New(env, e.field));
    err.Set("offset", Napi::Number::New(env, static_cast<double>(e.offset)));
    throw err;
  } catch (const std::exception& e) {
    // bad_alloc and the like: a JS error, never std::terminate.
    throw Napi::Error::New(env, "openGGUF: " + h.path + ": " + e.what());
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("version", Napi::Number::New(env, g.version));
  out.Set("alignment", Napi::Number::New(env, static_cast<double>(g.alignment)));
  out.Set("dataOffset", Napi::Number::New(env, static_cast<double>(g.data_offset)));
  Napi::Array kv = Napi::Array::New(env, g.kv.size());
  for (size_t i = 0; i < g.kv.size(); ++i) {
    Napi::Array e = Napi::Array::New(env, 3);
    e.Set(0u, Napi::String::New(env, g.kv[i].key));
    e.Set(1u, Napi::String::New(env, type_text(g.kv[i].value)));
    e.Set(2u, to_js(env, data, size, g.kv[i].value));
    kv.Set(static_cast<uint32_t>(i), e);
  }
  out.Set("metadata", kv);
  Napi::Array ts = Napi::Array::New(env, g.tensors.size());
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    const io::GgufTensor& t = g.tensors[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", Napi::String::New(env, t.name));
    o.Set("typeId", Napi::Number::New(env, t.type));
    const io::GgmlType* ty = io::ggml_type(t.type);
    o.Set("type", ty ? Napi::String::New(env, ty->name) : Napi::String::New(env, "unknown(" + std::to_string(t.type) + ")"));
    Napi::Array shape = Napi::Array::New(env, t.n_dims);
    for (uint32_t d = 0; d < t.n_dims; ++d) shape.Set(d, Napi::Number::New(env, static_cast<double>(t.ne[d])));
    o.Set("shape", shape);
    o.Set("offset", Napi::Number::New(env, static_cast<double>(t.offset)));
    o.Set("byteLength", t.known ? Napi::Number::New(env, static_cast<double>(t.nbytes)) : env.Null());
    ts.Set(static_cast<uint32_t>(i), o);
  }
  out.Set("tensors", ts);
  return out;
}

// ggmlTypes() -> [{ id, name, block, bytes }]: the type table the parser checks sizes with.
Napi::Value Types(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (uint32_t id = 0; id < 256; ++id) {
    const io::GgmlType* t = io::ggml_type(id);
    if (t == nullptr) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", Napi::Number::New(env, id));
    o.Set("name", Napi::String::New(env, t->name));
    o.Set("block", Napi::Number::New(env, t->block));
    o.Set("bytes", Napi::Number::New(env, t->bytes));
    out.Set(n++, o);
  }
  return out;
}

}  // namespace

void register_gguf(Napi::Env env, Napi::Object exports) {
  exports.Set("ggufParse", Napi::Function::New(env, Parse, "ggufParse"));
  exports.Set("ggmlTypes", Napi::Function::New(env, Types, "ggmlTypes"));
}

}  // namespace lowbit::napi
