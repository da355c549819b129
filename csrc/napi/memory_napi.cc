// allocate(type, length): a zero-filled typed array in lowbit's own memory (pinned.h), for state that
// async calls update in place (CalibrationStats) and buffers lib/ builds matrices in.
#include "args.h"
#include "bindings.h"
#include "pinned.h"

namespace lowbit::napi {
namespace {

Napi::Value Allocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string type = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  napi_typedarray_type t;
  if (type == "uint8") t = napi_uint8_array;
  else if (type == "uint16") t = napi_uint16_array;
  else if (type == "float32") t = napi_float32_array;
  else if (type == "float64") t = napi_float64_array;
  else throw_range_error(env, "allocate: type must be 'uint8', 'uint16', 'float32' or 'float64' (got " + describe(info[0]) + ")");
  if (info[1].IsNumber() && info[1].As<Napi::Number>().DoubleValue() == 0) return owned_array(env, t, 0);
  const int64_t n = to_positive_int(info[1], "allocate: length");
  if (n > (int64_t{1} << 40)) throw_range_error(env, "allocate: length is too large");
  return owned_array(env, t, static_cast<size_t>(n));
}

// releaseViews(views): each typed array's (or ArrayBuffer's) lowbit memory let go of now (release_owned);
// returns how many were. Internal: lib/llm drops the views it read a model file through.
Napi::Value ReleaseViews(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "releaseViews: views must be an array");
  Napi::Array list = info[0].As<Napi::Array>();
  uint32_t released = 0;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value v = list.Get(i);
    napi_value ab = nullptr;
    if (v.IsTypedArray()) ab = v.As<Napi::TypedArray>().ArrayBuffer();
    else if (v.IsArrayBuffer()) ab = v;
    if (ab != nullptr && release_owned(env, ab)) ++released;
  }
  return Napi::Number::New(env, released);
}

}  // namespace

void register_memory(Napi::Env env, Napi::Object exports) {
  exports.Set("releaseViews", Napi::Function::New(env, ReleaseViews, "releaseViews"));
  exports.Set("allocate", Napi::Function::New(env, Allocate, "allocate"));
}

}  // namespace lowbit::napi
