// matmul / matmulAsync / matmulF32 bindings.
#include <memory>
#include <vector>

#include "../core/dispatch.h"
#include "../core/formats.h"
#include "../core/matmul.h"
#include "args.h"
#include "bindings.h"
#include "prepare_napi.h"

namespace lowbit::napi {
namespace {

// Validated arguments of one matmul call; napi_values are only used on the JS thread.
struct MatmulJob {
  Napi::Float32Array x, out;
  Napi::Object w;
  QMatrixView q;
  std::shared_ptr<const Prepared> prepared;  // set when w is a PreparedMatrix
  int64_t m = 0;
  Activations act = Activations::kInt8;
  std::vector<Napi::Value> keep;  // typed arrays the async worker must keep alive

  MatmulJob(const Napi::CallbackInfo& info, const std::string& fn) {
    Napi::Env env = info.Env();
    x = to_float32_array(info[0], fn + ": x");
    prepared = unwrap_prepared(info[1], fn + ": w");
    if (prepared) {
      q.layout = prepared->layout();
    } else {
      q = parse_qmatrix(info[1], fn + ": w", /*check_values=*/false);
    }
    w = info[1].As<Napi::Object>();
    const int64_t k = q.layout.cols, n = q.layout.rows;
    m = rows_of(x, k, fn + ": x", "w.cols");
    const FormatInfo& fi = format_info(q.layout.format);
    // int8 activations where the format's codes have an integer form, else float.
    act = prepared ? prepared->activations() : fi.int8_activations ? Activations::kInt8 : Activations::kFloat;
    Napi::Value opts = info[2];
    Napi::Value out_v;
    if (!opts.IsUndefined()) {
      if (!opts.IsObject() || opts.IsArray() || opts.IsTypedArray()) {
        throw_type_error(env, fn + ": options must be an object like { activations: 'int8' } (got " + describe(opts) + ")");
      }
      Napi::Object o = opts.As<Napi::Object>();
      reject_unknown_keys(o, {"out", "activations"}, fn);
      Napi::Value a = o.Get("activations");
      if (!a.IsUndefined()) {
        std::string s = a.IsString() ? a.As<Napi::String>().Utf8Value() : "";
        if (prepared && (s == "float" || s == "int8") && s != (act == Activations::kInt8 ? "int8" : "float")) {
          throw_range_error(env, fn + ": options.activations '" + s + "' differs from the prepared matrix's '" +
                                     (act == Activations::kInt8 ? "int8" : "float") +
                                     "'; prepare it with { activations: '" + s + "' }");
        }
        if (s == "float") act = Activations::kFloat;
        else if (s == "int8" && fi.int8_activations) act = Activations::kInt8;
        else if (s == "int8") {
          throw_range_error(env, fn + ": options.activations 'int8' is not available for format '" +
                                     format_name(q.layout.format) +
                                     "' (its values have no integer form); use 'float' or omit it");
        } else {
          std::string msg = fn + ": options.activations must be 'float' or 'int8' (got " + describe(a) + ")";
          if (!a.IsString()) throw_type_error(env, msg);
          throw_range_error(env, msg);
        }
      }
      out_v = o.Get("out");
    }
    out = output_array(env, out_v, m * n, fn + ": options.out",
                       "m * w.rows (" + std::to_string(m) + " * " + std::to_string(n) + ")",
                       {{x.Data(), x.ByteLength()},
                        // A prepared matrix's weights are the addon's own memory: nothing to alias.
                        {q.data, prepared ? 0 : static_cast<size_t>(q.layout.data_bytes())},
                        {q.scales, prepared ? 0 : static_cast<size_t>(q.layout.stored_scales() *
                                                                      scale_type_bytes(q.layout.scale_type))},
                        {q.zeros, prepared ? 0 : static_cast<size_t>(q.layout.num_zeros())}});
    if (act == Activations::kInt8) {
      // Quantizing NaN or Infinity to int8 has no meaning; the float path propagates them.
      require_finite(x, fn + ": x (with activations 'int8'; use 'float' to propagate NaN/Infinity)");
    }
    if (prepared) {
      keep = {x, out};  // the shared pointer keeps the weights alive, even through dispose()
      return;
    }
    keep = {x, out, w.Get("data"), w.Get("scales")};
    if (q.zeros) keep.push_back(w.Get("zeros"));
  }

  void run() {
    if (prepared) {
      prepared->matmul(active_kernels(), x.Data(), m, out.Data(), ThreadPool::global());
    } else {
      matmul(active_kernels(), q, x.Data(), m, act, out.Data(), ThreadPool::global());
    }
  }
};

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  MatmulJob job(info, "matmul");
  job.run();
  return job.out;
}

class MatmulWorker : public Napi::AsyncWorker {
 public:
  MatmulWorker(Napi::Env env, std::unique_ptr<MatmulJob> job)
      : Napi::AsyncWorker(env, "lowbit.matmul"), job_(std::move(job)), deferred_(Napi::Promise::Deferred::New(env)) {
    // The job's napi_values die with the calling scope: references keep x, out
    // and w's buffers (even if w's fields are reassigned) alive until we settle.
    for (Napi::Value v : job_->keep) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    out_ = Napi::Persistent(job_->out);
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { job_->run(); }
  void OnOK() override { deferred_.Resolve(out_.Value()); }

 private:
  std::unique_ptr<MatmulJob> job_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
  Napi::Reference<Napi::Float32Array> out_;
};

Napi::Value MatmulAsync(const Napi::CallbackInfo& info) {
  auto* worker = new MatmulWorker(info.Env(), std::make_unique<MatmulJob>(info, "matmulAsync"));
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
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
  Napi::Float32Array out = output_array(env, info[4], m * rows, "matmulF32: out",
                                        "m * rows (" + std::to_string(m * rows) + ")",
                                        {{x.Data(), x.ByteLength()}, {w.Data(), w.ByteLength()}});
  sgemm(active_kernels(), x.Data(), w.Data(), m, rows, cols, out.Data(), ThreadPool::global());
  return out;
}

}  // namespace

void register_matmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul, "matmul"));
  exports.Set("matmulAsync", Napi::Function::New(env, MatmulAsync, "matmulAsync"));
  exports.Set("matmulF32", Napi::Function::New(env, MatmulF32, "matmulF32"));
}

}  // namespace lowbit::napi
