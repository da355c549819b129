// formats(): what each weight format stores, from the table of format traits (core/formats.h) that
// quantize() checks against.
#include "../core/formats.h"
#include "args.h"
#include "bindings.h"

namespace lowbit::napi {
namespace {

Napi::Object describe_format(Napi::Env env, const FormatInfo& fi, int bits, int64_t size) {
  QuantLayout L;
  L.rows = size;
  L.cols = size;
  L.format = fi.format;
  L.bits = bits;
  L.granularity = fi.granularity;
  L.group_size = fi.group_size;
  L.scale_type = fi.scale_type;
  Napi::Object o = Napi::Object::New(env);
  o.Set("format", format_name(fi.format));
  o.Set("bits", bits);
  o.Set("granularity", granularity_name(fi.granularity));
  o.Set("groupSize", fi.granularity == Granularity::kGroup ? static_cast<double>(fi.group_size) : 0.0);
  o.Set("fixedGroupSize", fi.fixed_group);
  o.Set("scaleType", scale_type_name(fi.scale_type));
  o.Set("bitsPerWeight", 8.0 * static_cast<double>(L.byte_length()) / static_cast<double>(size * size));
  Napi::Array acts = Napi::Array::New(env);
  if (fi.int8_activations) acts.Set(acts.Length(), "int8");
  acts.Set(acts.Length(), "float");
  o.Set("activations", acts);
  o.Set("ggmlType", fi.ggml_type ? Napi::Value(Napi::String::New(env, fi.ggml_type)) : env.Null());
  o.Set("storage", storage_name(fi.storage));
  o.Set("kernel", kernel_family_name(fi.kernel));
  o.Set("description", fi.description);
  return o;
}

Napi::Value Formats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t size = info[0].IsUndefined() ? 4096 : to_positive_int(info[0], "formats: size");
  if (size > (int64_t{1} << 20)) throw_range_error(env, "formats: size must be at most 1048576");
  Napi::Array out = Napi::Array::New(env);
  for (Format f : kAllFormats) {
    const FormatInfo& fi = format_info(f);
    if (fi.bits == 0) {
      for (int bits : {2, 3, 4, 8}) out.Set(out.Length(), describe_format(env, fi, bits, size));
    } else {
      out.Set(out.Length(), describe_format(env, fi, fi.bits, size));
    }
  }
  return out;
}

}  // namespace

void register_formats(Napi::Env env, Napi::Object exports) {
  exports.Set("formats", Napi::Function::New(env, Formats, "formats"));
}

}  // namespace lowbit::napi
