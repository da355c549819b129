// matmul / matmulAsync / matmulF32 bindings.
#include <memory>

#include "../core/formats.h"
#include "../gemm/matmul.h"
#include "../runtime/dispatch.h"
#include "args.h"
#include "async_call.h"
#include "bindings.h"
#include "prepare_napi.h"
#include "qmatrix_napi.h"

namespace lowbit::napi {
namespace {

// One matmul call: arguments validated, then x, w's buffers and out pinned (pinned.h).
class MatmulJob : public AsyncJob {
 public:
  MatmulJob(const Napi::CallbackInfo& info, const std::string& fn, bool async) {
    Napi::Env env = info.Env();
    Napi::Float32Array x = to_float32_array(info[0], fn + ": x");
    prepared_ = unwrap_prepared(info[1], fn + ": w");
    QMatrixArg qa;
    if (prepared_) {
      qa.view.layout = prepared_->layout();
    } else {
      qa = parse_qmatrix(info[1], fn + ": w", /*check_values=*/false);
    }
    const QuantLayout& L = qa.view.layout;
    const int64_t k = L.cols, n = L.rows;
    m_ = rows_of(x, k, fn + ": x", "w.cols");
    const FormatInfo& fi = format_info(L.format);
    // int8 activations where the format's codes have an integer form, else float.
    act_ = prepared_ ? prepared_->activations() : fi.int8_activations ? Activations::kInt8 : Activations::kFloat;
    Napi::Value opts = info[2];
    Napi::Value out_v;
    if (!opts.IsUndefined()) {
      if (!opts.IsObject() || opts.IsArray() || opts.IsTypedArray()) {
        throw_type_error(env, fn + ": options must be an object like { activations: 'int8' } (got " + describe(opts) + ")");
      }
      Napi::Object o = opts.As<Napi::Object>();
      reject_unknown_keys(o, {"out", "activations"}, fn);
      Napi::Value a = o.Get("activations");
      out_v = o.Get("out");
      if (!a.IsUndefined()) {
        std::string s = a.IsString() ? a.As<Napi::String>().Utf8Value() : "";
        if (prepared_ && (s == "float" || s == "int8") && s != (act_ == Activations::kInt8 ? "int8" : "float")) {
          throw_range_error(env, fn + ": options.activations '" + s + "' differs from the prepared matrix's '" +
                                     (act_ == Activations::kInt8 ? "int8" : "float") +
                                     "'; prepare it with { activations: '" + s + "' }");
        }
        if (s == "float") act_ = Activations::kFloat;
        else if (s == "int8" && fi.int8_activations) act_ = Activations::kInt8;
        else if (s == "int8") {
          throw_range_error(env, fn + ": options.activations 'int8' is not available for format '" +
                                     format_name(L.format) + "' (its values have no integer form); use 'float' or omit it");
        } else {
          std::string msg = fn + ": options.activations must be 'float' or 'int8' (got " + describe(a) + ")";
          if (!a.IsString()) throw_type_error(env, msg);
          throw_range_error(env, msg);
        }
      }
    }
    // No getter runs past this point: the buffers are checked and pinned as they now are.
    bool fresh = false;
    Napi::Float32Array out = output_array(env, out_v, m_ * n, fn + ": options.out",
                                          "m * w.rows (" + std::to_string(m_) + " * " + std::to_string(n) + ")", &fresh);
    check_no_alias(out, {x, qa.data, qa.scales, qa.zeros}, fn + ": options.out", "x or w");
    if (act_ == Activations::kInt8) {
      // Quantizing NaN or Infinity to int8 has no meaning; the float path propagates them.
      require_finite(x, fn + ": x (with activations 'int8'; use 'float' to propagate NaN/Infinity)");
    }
    using A = PinnedArray::Access;
    x_ = PinnedArray(x, static_cast<size_t>(m_ * k) * 4, A::kRead, async, fn + ": x");
    // A prepared matrix's weights are the addon's own memory, held by prepared_ even through dispose().
    if (!prepared_) w_ = PinnedQMatrix(qa, async, fn + ": w");
    out_ = PinnedArray(out, static_cast<size_t>(m_ * n) * 4, A::kWrite, async, fn + ": options.out", fresh);
  }

  std::string execute(Work&) override {
    if (prepared_) {
      prepared_->matmul(active_kernels(), x_.as<const float>(), m_, out_.as<float>(), ThreadPool::global());
    } else {
      matmul(active_kernels(), w_.view(), x_.as<const float>(), m_, act_, out_.as<float>(), ThreadPool::global());
    }
    return "";
  }

  Napi::Value settle(Napi::Env env) override {
    out_.commit(env);
    return out_.array();
  }

 private:
  std::shared_ptr<const Prepared> prepared_;  // set when w is a PreparedMatrix
  PinnedQMatrix w_;
  PinnedArray x_, out_;
  int64_t m_ = 0;
  Activations act_ = Activations::kInt8;
};

Napi::Value Matmul(const Napi::CallbackInfo& info) { return run_sync<MatmulJob>(info, "matmul", false); }

Napi::Value MatmulAsync(const Napi::CallbackInfo& info) {
  return queue_async(info.Env(), "lowbit.matmul", std::make_unique<MatmulJob>(info, "matmulAsync", true));
}

// y = x * w^T in plain fp32, w row-major [rows, cols]: the baseline kernel.
Napi::Value MatmulF32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto x = to_float32_array(info[0], "matmulF32: x");
  auto w = to_float32_array(info[1], "matmulF32: w");
  const int64_t rows = to_positive_int(info[2], "matmulF32: rows");
  const int64_t cols = to_positive_int(info[3], "matmulF32: cols");
  if (static_cast<int64_t>(w.ElementLength()) != rows * cols) {
    throw_range_error(env, "matmulF32: w.length (" + std::to_string(w.ElementLength()) + ") must equal rows * cols (" +
                               std::to_string(rows * cols) + ")");
  }
  const int64_t m = rows_of(x, cols, "matmulF32: x", "cols");
  Napi::Float32Array out = output_array(env, info[4], m * rows, "matmulF32: out", "m * rows (" + std::to_string(m * rows) + ")");
  check_no_alias(out, {x, w}, "matmulF32: out", "x or w");
  using A = PinnedArray::Access;
  PinnedArray xp(x, static_cast<size_t>(m * cols) * 4, A::kRead, false, "matmulF32: x");
  PinnedArray wp(w, static_cast<size_t>(rows * cols) * 4, A::kRead, false, "matmulF32: w");
  PinnedArray op(out, static_cast<size_t>(m * rows) * 4, A::kWrite, false, "matmulF32: out");
  sgemm(active_kernels(), xp.as<const float>(), wp.as<const float>(), m, rows, cols, op.as<float>(), ThreadPool::global());
  return out;
}

}  // namespace

void register_matmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul, "matmul"));
  exports.Set("matmulAsync", Napi::Function::New(env, MatmulAsync, "matmulAsync"));
  exports.Set("matmulF32", Napi::Function::New(env, MatmulF32, "matmulF32"));
}

}  // namespace lowbit::napi
