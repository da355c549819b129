// quantize / quantizeAsync / dequantize / quantizationError bindings.
#include <memory>

#include "../core/quantize.h"
#include "args.h"
#include "bindings.h"

namespace lowbit::napi {
namespace {

// Validated arguments and preallocated outputs of one quantize call. Outputs
// are allocated on the JS thread so the async variant only fills them.
struct QuantizeJob {
  Napi::Float32Array weights;
  QuantLayout layout;
  Napi::Uint8Array data;
  Napi::TypedArray scales;
  Napi::Value zeros;
  const float* w = nullptr;
  uint8_t* data_ptr = nullptr;
  void* scales_ptr = nullptr;
  uint8_t* zeros_ptr = nullptr;
  float tensor_scale = 1.0f;
  std::string error;  // a RangeError message after run(), or empty

  QuantizeJob(const Napi::CallbackInfo& info, const std::string& fn) {
    Napi::Env env = info.Env();
    weights = to_float32_array(info[0], fn + ": weights");
    int64_t rows = to_positive_int(info[1], fn + ": rows");
    int64_t cols = to_positive_int(info[2], fn + ": cols");
    if (rows > (int64_t{1} << 40) / cols) throw_range_error(env, fn + ": rows * cols is too large");
    if (static_cast<int64_t>(weights.ElementLength()) != rows * cols) {
      throw_range_error(env, fn + ": weights.length (" + std::to_string(weights.ElementLength()) +
                                 ") must equal rows * cols (" + std::to_string(rows) + " * " + std::to_string(cols) +
                                 " = " + std::to_string(rows * cols) + ")");
    }
    layout = parse_quantize_options(info[3], rows, cols, fn);
    data = Napi::Uint8Array::New(env, static_cast<size_t>(layout.data_bytes()));
    scales = new_scales_array(env, layout);
    if (layout.scheme == Scheme::kAsymmetric) {
      auto z = Napi::Uint8Array::New(env, static_cast<size_t>(layout.num_zeros()));
      zeros_ptr = z.Data();
      zeros = z;
    } else {
      zeros = env.Null();
    }
    w = weights.Data();
    data_ptr = data.Data();
    scales_ptr = static_cast<uint8_t*>(scales.ArrayBuffer().Data()) + scales.ByteOffset();
    fn_ = fn;
  }

  void run() {
    int64_t bad = first_non_finite(w, layout.rows * layout.cols);
    if (bad >= 0) {
      error = fn_ + ": weights[" + std::to_string(bad) + "] is not finite (" + (w[bad] != w[bad] ? "NaN" : "Infinity") +
              "); weights must be finite";
      return;
    }
    if (const char* msg = quantize_matrix(w, layout, data_ptr, scales_ptr, zeros_ptr, &tensor_scale, &ThreadPool::global())) {
      error = fn_ + ": " + msg;
    }
  }

  // Only valid in the scope that constructed the job (the sync path).
  Napi::Object result(Napi::Env env) { return make_qmatrix(env, layout, data, scales, zeros, tensor_scale); }

 private:
  std::string fn_;
};

Napi::Value Quantize(const Napi::CallbackInfo& info) {
  QuantizeJob job(info, "quantize");
  job.run();
  if (!job.error.empty()) throw_range_error(info.Env(), job.error);
  return job.result(info.Env());
}

class QuantizeWorker : public Napi::AsyncWorker {
 public:
  QuantizeWorker(Napi::Env env, std::unique_ptr<QuantizeJob> job)
      : Napi::AsyncWorker(env, "lowbit.quantize"),
        job_(std::move(job)),
        deferred_(Napi::Promise::Deferred::New(env)),
        // The job's napi_values die with the calling scope: hold references that
        // keep the input and outputs alive until the promise settles.
        weights_(Napi::Persistent(job_->weights)),
        data_(Napi::Persistent(job_->data)),
        scales_(Napi::Persistent(job_->scales)) {
    if (job_->zeros.IsObject()) zeros_ = Napi::Persistent(job_->zeros.As<Napi::Object>());
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    job_->run();
    if (!job_->error.empty()) SetError(job_->error);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Value zeros = zeros_.IsEmpty() ? env.Null() : static_cast<Napi::Value>(zeros_.Value());
    deferred_.Resolve(make_qmatrix(env, job_->layout, data_.Value(), scales_.Value(), zeros, job_->tensor_scale));
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(Napi::RangeError::New(Env(), e.Message()).Value());
  }

 private:
  std::unique_ptr<QuantizeJob> job_;
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Float32Array> weights_;
  Napi::Reference<Napi::Uint8Array> data_;
  Napi::Reference<Napi::TypedArray> scales_;
  Napi::ObjectReference zeros_;
};

Napi::Value QuantizeAsync(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<QuantizeJob>(info, "quantizeAsync");
  auto* worker = new QuantizeWorker(info.Env(), std::move(job));
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

Napi::Value Dequantize(const Napi::CallbackInfo& info) {
  QMatrixView q = parse_qmatrix(info[0], "dequantize: q");
  auto out = Napi::Float32Array::New(info.Env(), static_cast<size_t>(q.layout.rows * q.layout.cols));
  dequantize_matrix(q, out.Data(), &ThreadPool::global());
  return out;
}

// checkQuantized(q, what): the checks every function taking a QuantizedMatrix runs (shapes, lengths,
// the format's rules, scale and zero-point values), for JS code that reads q's bytes itself.
Napi::Value CheckQuantized(const Napi::CallbackInfo& info) {
  const std::string what = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string("q");
  parse_qmatrix(info[0], what);
  return info.Env().Undefined();
}

Napi::Value QuantizationError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto w = to_float32_array(info[0], "quantizationError: weights");
  QMatrixView q = parse_qmatrix(info[1], "quantizationError: q");
  int64_t n = q.layout.rows * q.layout.cols;
  if (static_cast<int64_t>(w.ElementLength()) != n) {
    throw_range_error(env, "quantizationError: weights.length (" + std::to_string(w.ElementLength()) +
                               ") must equal q.rows * q.cols (" + std::to_string(n) + ")");
  }
  require_finite(w, "quantizationError: weights");
  ErrorStats st = quantization_error(w.Data(), q);
  double bytes = static_cast<double>(q.layout.byte_length());
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
}

}  // namespace lowbit::napi
