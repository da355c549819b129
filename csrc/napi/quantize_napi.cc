// quantize / quantizeAsync / dequantize / quantizationError / reorderNibbles bindings.
#include <memory>

#include "../formats/nibble_order.h"
#include "../formats/quantize.h"
#include "args.h"
#include "async_call.h"
#include "bindings.h"
#include "qmatrix_napi.h"

namespace lowbit::napi {
namespace {

// Validated arguments and preallocated outputs of one quantize call; the async variant only fills
// the outputs off the JS thread.
class QuantizeJob : public AsyncJob {
 public:
  QuantizeJob(const Napi::CallbackInfo& info, const std::string& fn, bool async) : fn_(fn) {
    Napi::Env env = info.Env();
    Napi::Float32Array weights = to_float32_array(info[0], fn + ": weights");
    const int64_t rows = to_positive_int(info[1], fn + ": rows");
    const int64_t cols = to_positive_int(info[2], fn + ": cols");
    if (rows > (int64_t{1} << 40) / cols) throw_range_error(env, fn + ": rows * cols is too large");
    if (static_cast<int64_t>(weights.ElementLength()) != rows * cols) {
      throw_range_error(env, fn + ": weights.length (" + std::to_string(weights.ElementLength()) +
                                 ") must equal rows * cols (" + std::to_string(rows) + " * " + std::to_string(cols) +
                                 " = " + std::to_string(rows * cols) + ")");
    }
    const QuantLayout layout = parse_quantize_options(info[3], rows, cols, fn);
    w_ = PinnedArray(weights, static_cast<size_t>(rows * cols) * 4, PinnedArray::Access::kRead, async, fn + ": weights");
    out_ = QMatrixOut(env, layout);
  }

  std::string execute(Work& work) override {
    const QuantLayout& L = out_.layout();
    const float* w = w_.as<const float>();
    const int64_t bad = first_non_finite(w, L.rows * L.cols);
    if (bad >= 0) {
      return fn_ + ": weights[" + std::to_string(bad) + "] is not finite (" + (w[bad] != w[bad] ? "NaN" : "Infinity") +
             "); weights must be finite";
    }
    if (const char* msg = quantize_matrix(w, L, out_.data(), out_.scales(), out_.zeros(), &out_.tensor_scale,
                                          &ThreadPool::global(), &work)) {
      return fn_ + ": " + msg;
    }
    return "";
  }

  Napi::Value settle(Napi::Env env) override { return out_.object(env); }

 private:
  std::string fn_;
  PinnedArray w_;
  QMatrixOut out_;
};

Napi::Value Quantize(const Napi::CallbackInfo& info) { return run_sync<QuantizeJob>(info, "quantize", false); }

Napi::Value QuantizeAsync(const Napi::CallbackInfo& info) {
  return queue_async(info.Env(), "lowbit.quantize", std::make_unique<QuantizeJob>(info, "quantizeAsync", true));
}

// dequantize(q, out?): into `out` when given (q.rows * q.cols floats, not sharing q's memory), else a
// new array.
Napi::Value Dequantize(const Napi::CallbackInfo& info) {
  const QMatrixArg qa = parse_qmatrix(info[0], "dequantize: q");
  const int64_t count = qa.view.layout.rows * qa.view.layout.cols;
  Napi::Float32Array out = output_array(info.Env(), info[1], count, "dequantize: out",
                                        "q.rows * q.cols (" + std::to_string(count) + ")");
  check_no_alias(out, {qa.data, qa.scales, qa.zeros}, "dequantize: out", "q's data, scales or zeros");
  PinnedQMatrix q(qa, false, "dequantize: q");
  PinnedArray op(out, static_cast<size_t>(count) * 4, PinnedArray::Access::kWrite, false, "dequantize: out");
  dequantize_matrix(q.view(), op.as<float>(), &ThreadPool::global());
  return out;
}

// checkQuantized(q, what): the checks every function taking a QuantizedMatrix runs (shapes, lengths,
// the format's rules, scale and zero-point values), for JS code that reads q's bytes itself.
Napi::Value CheckQuantized(const Napi::CallbackInfo& info) {
  const std::string what = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string("q");
  parse_qmatrix(info[0], what);
  return info.Env().Undefined();
}

// reorderNibbles(data, rows, cols, toInterleaved): a new Uint8Array with the 4-bit rows of `data` in the
// other nibble order (formats/nibble_order.h), for the importers and exporters of other tools' layouts.
Napi::Value ReorderNibbles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string fn = "reorderNibbles";
  Napi::Uint8Array src = to_uint8_array(info[0], fn + ": data");
  const int64_t rows = to_positive_int(info[1], fn + ": rows");
  const int64_t cols = to_positive_int(info[2], fn + ": cols");
  if (!info[3].IsBoolean()) throw_type_error(env, fn + ": toInterleaved must be a boolean (got " + describe(info[3]) + ")");
  const int64_t rb = (cols + 1) / 2;
  if (rows > (int64_t{1} << 40) / rb || static_cast<int64_t>(src.ElementLength()) != rows * rb) {
    throw_range_error(env, fn + ": data has " + std::to_string(src.ElementLength()) + " bytes; " + std::to_string(rows) +
                               " rows of " + std::to_string(cols) + " 4-bit codes need rows * ceil(cols / 2)");
  }
  Napi::TypedArray out = owned_array(env, napi_uint8_array, static_cast<size_t>(rows * rb));
  const uint8_t* s = array_bytes(src).data;
  uint8_t* d = array_bytes(out).data;
  if (info[3].As<Napi::Boolean>().Value()) nibbles_to_interleaved(s, d, rows, cols);
  else nibbles_from_interleaved(s, d, rows, cols);
  return out;
}

Napi::Value QuantizationError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto w = to_float32_array(info[0], "quantizationError: weights");
  QMatrixArg qa = parse_qmatrix(info[1], "quantizationError: q");
  const int64_t n = qa.view.layout.rows * qa.view.layout.cols;
  if (static_cast<int64_t>(w.ElementLength()) != n) {
    throw_range_error(env, "quantizationError: weights.length (" + std::to_string(w.ElementLength()) +
                               ") must equal q.rows * q.cols (" + std::to_string(n) + ")");
  }
  require_finite(w, "quantizationError: weights");
  PinnedArray wp(w, static_cast<size_t>(n) * 4, PinnedArray::Access::kRead, false, "quantizationError: weights");
  PinnedQMatrix q(qa, false, "quantizationError: q");
  ErrorStats st = quantization_error(wp.as<const float>(), q.view());
  double bytes = static_cast<double>(q.view().layout.byte_length());
  double fp16 = 2.0 * static_cast<double>(n);
  Napi::Object o = Napi::Object::New(env);
  o.Set("relativeError", st.relative_error);
  o.Set("maxAbsError", st.max_abs_error);
  o.Set("bytes", bytes);
  o.Set("fp16Bytes", fp16);
  o.Set("shrinkVsFp16", fp16 / bytes);
  return o;
}

}  // namespace

void register_quantize(Napi::Env env, Napi::Object exports) {
  exports.Set("quantize", Napi::Function::New(env, Quantize, "quantize"));
  exports.Set("quantizeAsync", Napi::Function::New(env, QuantizeAsync, "quantizeAsync"));
  exports.Set("dequantize", Napi::Function::New(env, Dequantize, "dequantize"));
  exports.Set("checkQuantized", Napi::Function::New(env, CheckQuantized, "checkQuantized"));
  exports.Set("quantizationError", Napi::Function::New(env, QuantizationError, "quantizationError"));
  exports.Set("reorderNibbles", Napi::Function::New(env, ReorderNibbles, "reorderNibbles"));
}

}  // namespace lowbit::napi
