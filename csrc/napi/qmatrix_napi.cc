#include "qmatrix_napi.h"

#include "../core/formats.h"

namespace lowbit::napi {

namespace {

Napi::Object make_qmatrix(Napi::Env env, const QuantLayout& L, Napi::TypedArray data, Napi::TypedArray scales,
                          Napi::Value zeros, float tensor_scale) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("format", Napi::String::New(env, format_name(L.format)));
  o.Set("rows", Napi::Number::New(env, static_cast<double>(L.rows)));
  o.Set("cols", Napi::Number::New(env, static_cast<double>(L.cols)));
  o.Set("bits", Napi::Number::New(env, L.bits));
  o.Set("scheme", Napi::String::New(env, scheme_name(L.scheme)));
  o.Set("granularity", Napi::String::New(env, granularity_name(L.granularity)));
  o.Set("groupSize", Napi::Number::New(env, static_cast<double>(L.group_size)));
  o.Set("scaleType", Napi::String::New(env, scale_type_name(L.scale_type)));
  o.Set("data", data);
  o.Set("scales", scales);
  o.Set("zeros", zeros);
  if (format_info(L.format).tensor_scale) o.Set("tensorScale", Napi::Number::New(env, tensor_scale));
  o.Set("byteLength", Napi::Number::New(env, static_cast<double>(L.byte_length())));
  o.Set("layout", Napi::Number::New(env, kLayoutVersion));
  return o;
}

napi_typedarray_type scales_type(ScaleType t) {
  switch (t) {
    case ScaleType::kF32: return napi_float32_array;
    case ScaleType::kF16: return napi_uint16_array;
    default: return napi_uint8_array;
  }
}

}  // namespace

PinnedQMatrix::PinnedQMatrix(const QMatrixArg& q, bool async, const std::string& what) : view_(q.view) {
  using A = PinnedArray::Access;
  const QuantLayout& L = q.view.layout;
  data_ = PinnedArray(q.data, static_cast<size_t>(L.data_bytes()), A::kRead, async, what + ".data");
  scales_ = PinnedArray(q.scales, static_cast<size_t>(L.stored_scales() * scale_type_bytes(L.scale_type)), A::kRead,
                        async, what + ".scales");
  view_.data = data_.as<const uint8_t>();
  view_.scales = scales_.data();
  if (!q.zeros.IsEmpty()) {
    zeros_ = PinnedArray(q.zeros, static_cast<size_t>(L.num_zeros()), A::kRead, async, what + ".zeros");
    view_.zeros = zeros_.as<const uint8_t>();
  }
}

QMatrixOut::QMatrixOut(Napi::Env env, const QuantLayout& L) : L_(L) {
  Napi::TypedArray d = owned_array(env, napi_uint8_array, static_cast<size_t>(L.data_bytes()));
  Napi::TypedArray s = owned_array(env, scales_type(L.scale_type), static_cast<size_t>(L.stored_scales()));
  data_ptr_ = array_bytes(d).data;
  scales_ptr_ = array_bytes(s).data;
  data_ = Napi::Persistent(d);
  scales_ = Napi::Persistent(s);
  if (L.scheme == Scheme::kAsymmetric) {
    Napi::TypedArray z = owned_array(env, napi_uint8_array, static_cast<size_t>(L.num_zeros()));
    zeros_ptr_ = array_bytes(z).data;
    zeros_ = Napi::Persistent(z);
  }
}

Napi::Object QMatrixOut::object(Napi::Env env) const {
  Napi::Value z = zeros_.IsEmpty() ? env.Null() : static_cast<Napi::Value>(zeros_.Value());
  return make_qmatrix(env, L_, data_.Value(), scales_.Value(), z, tensor_scale);
}

}  // namespace lowbit::napi
