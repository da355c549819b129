#include "args.h"

#include <cmath>
#include <cstdio>

#include "../core/formats.h"
#include "../core/qmatrix.h"
#include "../formats/ggml_types.h"
#include "../formats/quantize.h"
#include "pinned.h"

namespace lowbit::napi {

void throw_type_error(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
void throw_range_error(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

namespace {

const char* typed_array_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "an Int8Array";
    case napi_uint8_array: return "a Uint8Array";
    case napi_uint8_clamped_array: return "a Uint8ClampedArray";
    case napi_int16_array: return "an Int16Array";
    case napi_uint16_array: return "a Uint16Array";
    case napi_int32_array: return "an Int32Array";
    case napi_uint32_array: return "a Uint32Array";
    case napi_float32_array: return "a Float32Array";
    case napi_float64_array: return "a Float64Array";
    case napi_bigint64_array: return "a BigInt64Array";
    case napi_biguint64_array: return "a BigUint64Array";
  }
  return "a typed array";
}

std::string number_text(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

Napi::Value get_field(Napi::Object o, const char* key) { return o.Get(key); }

template <typename T>
T to_typed_array(Napi::Value v, napi_typedarray_type type, const std::string& what, const char* type_name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    throw_type_error(v.Env(), what + " must be " + type_name + " (got " + describe(v) + ")");
  }
  return v.As<T>();
}

}  // namespace

std::string describe(Napi::Value v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return "a boolean";
  if (v.IsNumber()) return "the number " + number_text(v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) return "the string '" + v.As<Napi::String>().Utf8Value() + "'";
  if (v.IsBigInt()) return "a bigint";
  if (v.IsSymbol()) return "a symbol";
  if (v.IsTypedArray()) return typed_array_name(v.As<Napi::TypedArray>().TypedArrayType());
  if (v.IsArray()) return "an Array";
  if (v.IsArrayBuffer()) return "an ArrayBuffer";
  if (v.IsDataView()) return "a DataView";
  if (v.IsFunction()) return "a function";
  return "an object";
}

int64_t to_positive_int(Napi::Value v, const std::string& what) {
  if (!v.IsNumber()) throw_type_error(v.Env(), what + " must be a positive integer (got " + describe(v) + ")");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1) || d != std::floor(d) || d > 9007199254740991.0) {
    throw_range_error(v.Env(), what + " must be a positive integer (got " + number_text(d) + ")");
  }
  return static_cast<int64_t>(d);
}

Napi::Float32Array to_float32_array(Napi::Value v, const std::string& what) {
  return to_typed_array<Napi::Float32Array>(v, napi_float32_array, what, "a Float32Array");
}

Napi::Uint8Array to_uint8_array(Napi::Value v, const std::string& what) {
  return to_typed_array<Napi::Uint8Array>(v, napi_uint8_array, what, "a Uint8Array");
}

void require_finite(Napi::Float32Array a, const std::string& what) {
  // Read afresh: a getter may have detached or resized `a` since it was first looked at.
  const ArrayBytes b = array_bytes(a);
  const float* p = reinterpret_cast<const float*>(b.data);
  int64_t bad = first_non_finite(p, static_cast<int64_t>(b.bytes / 4));
  if (bad >= 0) {
    throw_range_error(a.Env(), what + "[" + std::to_string(bad) + "] is " + number_text(p[bad]) +
                                   "; values must be finite");
  }
}

namespace {

// 5 and 6 are the widths of q5_k and q6_k; check_format_rules holds every format to its own.
int parse_bits(Napi::Value v, const std::string& what) {
  if (!v.IsNumber()) throw_type_error(v.Env(), what + " must be 2, 3, 4 or 8 (got " + describe(v) + ")");
  double d = v.As<Napi::Number>().DoubleValue();
  // 2, 3, 5 and 6 are the ggml types' own widths; check_format_rules says which each format takes.
  if (d != 2 && d != 3 && d != 4 && d != 5 && d != 6 && d != 8 && d != 16) {
    throw_range_error(v.Env(), what + " must be 2, 3, 4 or 8 (got " + number_text(d) + ")");
  }
  return static_cast<int>(d);
}

Scheme parse_scheme(Napi::Value v, const std::string& what) {
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "symmetric") return Scheme::kSymmetric;
  if (s == "asymmetric") return Scheme::kAsymmetric;
  std::string msg = what + " must be 'symmetric' or 'asymmetric' (got " + describe(v) + ")";
  if (!v.IsString()) throw_type_error(v.Env(), msg);
  throw_range_error(v.Env(), msg);
}

Granularity parse_granularity(Napi::Value v, const std::string& what) {
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "tensor") return Granularity::kTensor;
  if (s == "row") return Granularity::kRow;
  if (s == "column") return Granularity::kColumn;
  if (s == "group") return Granularity::kGroup;
  std::string msg = what + " must be 'tensor', 'row', 'column' or 'group' (got " + describe(v) + ")";
  if (!v.IsString()) throw_type_error(v.Env(), msg);
  throw_range_error(v.Env(), msg);
}

int64_t parse_group_size(Napi::Value v, int64_t cols, const std::string& what) {
  int64_t g = to_positive_int(v, what);
  if (cols % g != 0) {
    throw_range_error(v.Env(), what + " (" + std::to_string(g) + ") must divide cols (" + std::to_string(cols) + ")");
  }
  return g;
}

template <typename E, size_t N>
E parse_name(Napi::Value v, const std::string& what, const E (&all)[N], const char* (*name)(E)) {
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  std::string list;
  for (size_t i = 0; i < N; ++i) {
    if (s == name(all[i])) return all[i];
    list += std::string(i == 0 ? "'" : i + 1 == N ? " or '" : ", '") + name(all[i]) + "'";
  }
  std::string msg = what + " must be " + list + " (got " + describe(v) + ")";
  if (!v.IsString()) throw_type_error(v.Env(), msg);
  throw_range_error(v.Env(), msg);
}

constexpr ScaleType kAllScaleTypes[] = {ScaleType::kF32, ScaleType::kF16, ScaleType::kE8M0, ScaleType::kE4M3};

Format parse_format(Napi::Value v, const std::string& what) {
  return parse_name(v, what, kAllFormats, format_name);
}

ScaleType parse_scale_type(Napi::Value v, const std::string& what) {
  return parse_name(v, what, kAllScaleTypes, scale_type_name);
}

// Checks that L's bits, scheme, granularity, group size and scale type are ones its
// format allows; `what` prefixes the field names ("quantize: options", "matmul: w").
void check_format_rules(Napi::Env env, const QuantLayout& L, const std::string& what) {
  const FormatInfo& fi = format_info(L.format);
  const std::string f = std::string("format '") + format_name(L.format) + "'";
  if (fi.bits == 0 && L.bits != 2 && L.bits != 3 && L.bits != 4 && L.bits != 8) {
    throw_range_error(env, what + ".bits must be 2, 3, 4 or 8 for " + f + " (got " + std::to_string(L.bits) + ")");
  }
  if (fi.bits != 0 && L.bits != fi.bits) {
    throw_range_error(env, what + ".bits must be " + std::to_string(fi.bits) + " for " + f + " (got " +
                               std::to_string(L.bits) + ")");
  }
  if (!fi.any_scheme && L.scheme != Scheme::kSymmetric) {
    throw_range_error(env, what + ".scheme must be 'symmetric' for " + f + " (its codes have no zero-point)");
  }
  if (!fi.any_granularity && L.granularity != fi.granularity) {
    throw_range_error(env, what + ".granularity must be '" + granularity_name(fi.granularity) + "' for " + f + " (got '" +
                               granularity_name(L.granularity) + "')");
  }
  if (fi.fixed_group && L.group_size != fi.group_size) {
    throw_range_error(env, what + ".groupSize must be " + std::to_string(fi.group_size) + " for " + f +
                               " (its blocks are fixed; got " + std::to_string(L.group_size) + ")");
  }
  const bool scale_ok = fi.float_scale_choice
                            ? (L.scale_type == ScaleType::kF32 || L.scale_type == ScaleType::kF16)
                            : L.scale_type == fi.scale_type;
  if (!scale_ok) {
    throw_range_error(env, what + ".scaleType must be " +
                               (fi.float_scale_choice ? std::string("'float32' or 'float16'")
                                                      : "'" + std::string(scale_type_name(fi.scale_type)) + "'") +
                               " for " + f + " (got '" + scale_type_name(L.scale_type) + "')");
  }
}

}  // namespace

void reject_unknown_keys(Napi::Object o, std::initializer_list<const char*> allowed, const std::string& fn) {
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string k = keys.Get(i).ToString().Utf8Value();
    bool known = false;
    std::string list;
    for (const char* a : allowed) {
      known |= k == a;
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    if (!known) throw_range_error(o.Env(), fn + ": unknown option '" + k + "'; allowed: " + list);
  }
}

int64_t rows_of(Napi::Float32Array x, int64_t cols, const std::string& what, const std::string& cols_name) {
  if (x.ElementLength() == 0 || x.ElementLength() % cols != 0) {
    throw_range_error(x.Env(), what + ".length (" + std::to_string(x.ElementLength()) +
                                   ") must be a positive multiple of " + cols_name + " (" + std::to_string(cols) + ")");
  }
  return static_cast<int64_t>(x.ElementLength()) / cols;
}

Napi::Float32Array output_array(Napi::Env env, Napi::Value v, int64_t n, const std::string& what,
                                const std::string& need, bool* fresh) {
  if (fresh) *fresh = v.IsEmpty() || v.IsUndefined();
  if (v.IsEmpty() || v.IsUndefined()) return Napi::Float32Array::New(env, static_cast<size_t>(n));
  Napi::Float32Array out = to_float32_array(v, what);
  if (static_cast<int64_t>(out.ElementLength()) != n) {
    throw_range_error(env, what + ".length (" + std::to_string(out.ElementLength()) + ") must be " + need);
  }
  return out;
}

void check_no_alias(Napi::TypedArray out, std::initializer_list<Napi::TypedArray> inputs, const std::string& what,
                    const std::string& names) {
  const ArrayBytes o = array_bytes(out);
  for (const Napi::TypedArray& in : inputs) {
    if (in.IsEmpty()) continue;
    const ArrayBytes b = array_bytes(in);
    if (b.bytes && o.bytes && o.data < b.data + b.bytes && b.data < o.data + o.bytes) {
      throw_range_error(out.Env(), what + " must not share memory with " + names);
    }
  }
}

QuantLayout parse_quantize_options(Napi::Value opts, int64_t rows, int64_t cols, const std::string& fn) {
  Napi::Env env = opts.Env();
  if (!opts.IsObject() || opts.IsArray() || opts.IsFunction()) {
    throw_type_error(env, fn + ": options must be an object like { bits: 4 } or { format: 'q4_0' } (got " +
                              describe(opts) + ")");
  }
  Napi::Object o = opts.As<Napi::Object>();
  reject_unknown_keys(o, {"format", "bits", "scheme", "granularity", "groupSize", "scaleType"}, fn);
  const std::string what = fn + ": options";
  QuantLayout L;
  L.rows = rows;
  L.cols = cols;
  Napi::Value format = get_field(o, "format");
  L.format = format.IsUndefined() ? Format::kInt : parse_format(format, what + ".format");
  const FormatInfo& fi = format_info(L.format);
  Napi::Value bits = get_field(o, "bits");
  if (fi.bits == 0 || !bits.IsUndefined()) {
    L.bits = parse_bits(bits, what + ".bits");
  } else {
    L.bits = fi.bits;
  }
  Napi::Value scheme = get_field(o, "scheme");
  L.scheme = scheme.IsUndefined() ? Scheme::kSymmetric : parse_scheme(scheme, what + ".scheme");
  Napi::Value gran = get_field(o, "granularity");
  L.granularity = gran.IsUndefined() ? fi.granularity : parse_granularity(gran, what + ".granularity");
  Napi::Value gs = get_field(o, "groupSize");
  if (L.granularity == Granularity::kGroup) {
    if (gs.IsUndefined()) {
      L.group_size = fi.group_size;
    } else {
      L.group_size = fi.fixed_group ? to_positive_int(gs, what + ".groupSize")
                                    : parse_group_size(gs, cols, what + ".groupSize");
    }
  } else if (!gs.IsUndefined()) {
    throw_range_error(env, what + ".groupSize is only allowed with granularity 'group' (got granularity '" +
                               granularity_name(L.granularity) + "')");
  }
  Napi::Value st = get_field(o, "scaleType");
  L.scale_type = st.IsUndefined() ? fi.scale_type : parse_scale_type(st, what + ".scaleType");
  check_format_rules(env, L, what);
  if (L.granularity == Granularity::kGroup && cols % L.group_size != 0) {
    throw_range_error(env, fn + ": cols (" + std::to_string(cols) + ") must be a multiple of the group size (" +
                               std::to_string(L.group_size) + ")" +
                               (fi.fixed_group ? std::string(", the block length of format '") +
                                                     format_name(L.format) + "'"
                                               : "; pass options.groupSize that divides cols"));
  }
  return L;
}

namespace {

Napi::TypedArray scales_array(Napi::Value v, ScaleType t, const std::string& what) {
  switch (t) {
    case ScaleType::kF32: return to_typed_array<Napi::Float32Array>(v, napi_float32_array, what, "a Float32Array");
    case ScaleType::kF16:
      return to_typed_array<Napi::Uint16Array>(v, napi_uint16_array, what,
                                               "a Uint16Array (float16 bit patterns)");
    default: return to_typed_array<Napi::Uint8Array>(v, napi_uint8_array, what, "a Uint8Array");
  }
}

// Scales must decode to finite, non-negative numbers (ggml's q4_0 scale is signed:
// d = max / -8). Fp8 element codes may be NaN/Inf: they are values, like a float's.
void check_scale_values(Napi::Env env, const QMatrixView& q, const std::string& what) {
  const QuantLayout& L = q.layout;
  if (L.float_halves()) return;  // values, any of them (a float's NaN and infinities included)
  if (L.super_blocks()) {
    // d and dmin may be any finite value (ggml's are signed); the 6-bit scales and codes have no invalid values.
    const int64_t blocks = L.data_bytes() / L.block_bytes();
    for (int64_t b = 0; b < blocks; ++b) {
      float d, dmin;
      ggml_block_scales(L.format, q.data + b * L.block_bytes(), &d, &dmin);
      if (std::isfinite(d) && std::isfinite(dmin)) continue;
      throw_range_error(env, what + ".data: block " + std::to_string(b) + "'s fp16 " +
                                 (std::isfinite(d) ? "dmin is " + number_text(dmin) : "d is " + number_text(d)) +
                                 "; block scales must be finite");
    }
    return;
  }
  const int64_t ns = L.ggml_blocks() ? L.num_scales() : L.stored_scales();
  const int sb = scale_type_bytes(L.scale_type);
  for (int64_t i = 0; i < ns; ++i) {
    float s;
    if (L.ggml_blocks()) {
      s = scale_at(q, i);
    } else {
      s = decode_scale(L.scale_type, static_cast<const uint8_t*>(q.scales) + i * sb);
    }
    if (std::isfinite(s) && (s >= 0.0f || L.ggml_blocks())) continue;
    if (L.ggml_blocks()) {
      throw_range_error(env, what + ".data: block " + std::to_string(i) + "'s fp16 scale is " + number_text(s) +
                                 "; block scales must be finite");
    }
    throw_range_error(env, what + ".scales[" + std::to_string(i) + "] is " + number_text(s) + " (as " +
                               scale_type_name(L.scale_type) + "); scales must be finite and non-negative");
  }
}

}  // namespace

QMatrixArg parse_qmatrix(Napi::Value v, const std::string& what, bool check_values) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray() || v.IsFunction()) {
    throw_type_error(env, what + " must be a QuantizedMatrix object as returned by quantize() (got " + describe(v) + ")");
  }
  Napi::Object o = v.As<Napi::Object>();
  // Every field is read before any is looked into: a getter may run JavaScript, which could detach
  // or resize a buffer already checked.
  const char* keys[] = {"rows", "cols", "format", "scaleType", "bits", "scheme", "granularity", "groupSize",
                        "data", "scales", "tensorScale", "zeros", "layout"};
  Napi::Value f[13];
  for (int i = 0; i < 13; ++i) f[i] = get_field(o, keys[i]);
  Napi::Value &rows = f[0], &cols = f[1], &format = f[2], &st = f[3], &bits = f[4], &scheme = f[5], &gran = f[6],
              &gs = f[7], &data_v = f[8], &scales_v = f[9], &ts = f[10], &zeros = f[11], &layout = f[12];
  QMatrixArg arg;
  QMatrixView& q = arg.view;
  QuantLayout& L = q.layout;
  L.rows = to_positive_int(rows, what + ".rows");
  L.cols = to_positive_int(cols, what + ".cols");
  // Matrices stored before formats existed have neither field: integer codes, fp32 scales.
  L.format = format.IsUndefined() ? Format::kInt : parse_format(format, what + ".format");
  const FormatInfo& fi = format_info(L.format);
  L.scale_type = st.IsUndefined() ? fi.scale_type : parse_scale_type(st, what + ".scaleType");
  L.bits = parse_bits(bits, what + ".bits");
  L.scheme = parse_scheme(scheme, what + ".scheme");
  L.granularity = parse_granularity(gran, what + ".granularity");
  if (L.granularity == Granularity::kGroup) {
    L.group_size = parse_group_size(gs, L.cols, what + ".groupSize");
  } else if (!gs.IsUndefined() && !(gs.IsNumber() && gs.As<Napi::Number>().DoubleValue() == 0)) {
    throw_range_error(env, what + ".groupSize must be 0 when granularity is '" +
                               std::string(granularity_name(L.granularity)) + "' (got " + describe(gs) + ")");
  }
  check_format_rules(env, L, what);
  if (L.rows > (int64_t{1} << 40) / L.cols) throw_range_error(env, what + ": rows * cols is too large");
  // Objects without `layout` are version 1 (core/layout.h), the same bytes except 4-bit codes.
  const double version = layout.IsUndefined() ? 1 : layout.IsNumber() ? layout.As<Napi::Number>().DoubleValue() : NAN;
  if (version != 1 && version != kLayoutVersion) {
    throw_range_error(env, what + ".layout must be " + std::to_string(kLayoutVersion) +
                               " (this version's byte layout) or absent (got " + describe(layout) + ")");
  }
  if (version == 1 && L.nibble_codes()) {
    throw_range_error(env, what + " is a 4-bit matrix in byte layout 1 (" +
                               (layout.IsUndefined() ? std::string("it has no layout field") : "layout: 1") +
                               "), made by lowbit before 2026-12-06, whose nibbles are in another order; "
                               "upgradeQuantizedMatrix(q) converts it to layout " + std::to_string(kLayoutVersion));
  }

  auto data = to_typed_array<Napi::Uint8Array>(data_v, napi_uint8_array, what + ".data", "a Uint8Array");
  if (static_cast<int64_t>(data.ElementLength()) != L.data_bytes()) {
    throw_range_error(env, what + ".data has " + std::to_string(data.ElementLength()) + " bytes; a " +
                               std::to_string(L.rows) + "x" + std::to_string(L.cols) + " matrix in " +
                               (L.format == Format::kInt ? std::to_string(L.bits) + "-bit codes"
                                                         : std::string("format '") + format_name(L.format) + "'") +
                               " needs " + std::to_string(L.data_bytes()));
  }
  arg.data = data;
  q.data = array_bytes(data).data;
  const int64_t ns = L.stored_scales();
  Napi::TypedArray scales = scales_array(scales_v, L.scale_type, what + ".scales");
  if (static_cast<int64_t>(scales.ElementLength()) != ns) {
    throw_range_error(env, what + ".scales has " + std::to_string(scales.ElementLength()) + " values; " +
                               (L.float_halves() ? std::string("format '") + format_name(L.format) +
                                                      "' has no scales, so it must be empty"
                                : L.ggml_blocks() || L.super_blocks() ? std::string("format '") + format_name(L.format) +
                                                      "' keeps its scales in data, so it must be empty"
                                                : "granularity '" + std::string(granularity_name(L.granularity)) +
                                                      "' needs " + std::to_string(ns)));
  }
  arg.scales = scales;
  q.scales = array_bytes(scales).data;
  if (format_info(L.format).tensor_scale) {
    const double t = ts.IsNumber() ? ts.As<Napi::Number>().DoubleValue() : NAN;
    if (!ts.IsNumber()) {
      throw_type_error(env, what + ".tensorScale must be a number for format '" + format_name(L.format) + "' (got " +
                                describe(ts) + ")");
    }
    if (!(std::isfinite(t) && t >= 0)) {
      throw_range_error(env, what + ".tensorScale is " + number_text(t) + "; it must be finite and non-negative");
    }
    q.tensor_scale = static_cast<float>(t);
  } else if (!ts.IsUndefined()) {
    throw_range_error(env, what + ".tensorScale is only used by formats with a tensor scale (" + tensor_scale_formats() +
                               "; got format '" + format_name(L.format) + "')");
  }
  if (check_values) check_scale_values(env, q, what);
  if (L.scheme == Scheme::kSymmetric) {
    if (!zeros.IsNull() && !zeros.IsUndefined()) {
      throw_type_error(env, what + ".zeros must be null for the symmetric scheme (got " + describe(zeros) + ")");
    }
  } else {
    auto z = to_typed_array<Napi::Uint8Array>(zeros, napi_uint8_array, what + ".zeros", "a Uint8Array");
    if (static_cast<int64_t>(z.ElementLength()) != L.num_scales()) {
      throw_range_error(env, what + ".zeros has " + std::to_string(z.ElementLength()) + " values; needs " +
                                 std::to_string(L.num_scales()) + ", one per scale");
    }
    const uint8_t* zp = array_bytes(z).data;
    for (size_t i = 0; check_values && i < z.ElementLength(); ++i) {
      if (zp[i] > L.qmax()) {
        throw_range_error(env, what + ".zeros[" + std::to_string(i) + "] is " + std::to_string(zp[i]) +
                                   "; a " + std::to_string(L.bits) + "-bit zero-point must be at most " +
                                   std::to_string(L.qmax()));
      }
    }
    arg.zeros = z;
    q.zeros = zp;
  }
  return arg;
}

}  // namespace lowbit::napi
