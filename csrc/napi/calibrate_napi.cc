// Calibration bindings: statistics accumulation, SmoothQuant, AWQ, GPTQ, Hadamard
// rotation and the fake-quantization STE. The long ones (accumulation, AWQ, GPTQ)
// have async variants that report progress.
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "../core/awq.h"
#include "../core/calibrate.h"
#include "../core/dispatch.h"
#include "../core/gptq.h"
#include "../core/hadamard.h"
#include "../core/quantize.h"
#include "args.h"
#include "bindings.h"

namespace lowbit::napi {
namespace {

// Validated inputs and preallocated outputs of one long call; napi_values are only
// touched on the JS thread (constructor, result()).
struct Job {
  virtual ~Job() = default;
  // Runs off the JS thread; returns a RangeError message or "".
  virtual std::string run(std::atomic<int64_t>* progress) = 0;
  virtual Napi::Value result(Napi::Env env) = 0;
  int64_t units = 1;                 // progress total
  std::vector<Napi::Value> keep;     // objects the async worker must keep alive
};

// A [rows, cols] float32 matrix argument, finite.
Napi::Float32Array matrix_arg(Napi::Value v, int64_t rows, int64_t cols, const std::string& what) {
  Napi::Float32Array a = to_float32_array(v, what);
  if (static_cast<int64_t>(a.ElementLength()) != rows * cols) {
    throw_range_error(v.Env(), what + ".length (" + std::to_string(a.ElementLength()) + ") must be " +
                                   std::to_string(rows) + " * " + std::to_string(cols) + " = " +
                                   std::to_string(rows * cols));
  }
  require_finite(a, what);
  return a;
}

void check_shape(Napi::Env env, int64_t rows, int64_t cols, const std::string& fn) {
  if (rows > (int64_t{1} << 40) / cols) throw_range_error(env, fn + ": rows * cols is too large");
}

// Output buffers of a QuantizedMatrix, allocated on the JS thread.
struct QOut {
  QuantLayout L;
  Napi::ObjectReference data, scales, zeros;
  uint8_t* data_ptr = nullptr;
  void* scales_ptr = nullptr;
  uint8_t* zeros_ptr = nullptr;
  float tensor_scale = 1.0f;

  void allocate(Napi::Env env, const QuantLayout& layout) {
    L = layout;
    auto d = Napi::Uint8Array::New(env, static_cast<size_t>(L.data_bytes()));
    Napi::TypedArray s = new_scales_array(env, L);
    data_ptr = d.Data();
    scales_ptr = static_cast<uint8_t*>(s.ArrayBuffer().Data()) + s.ByteOffset();
    data = Napi::Persistent(static_cast<Napi::Object>(d));
    scales = Napi::Persistent(static_cast<Napi::Object>(s));
    if (L.scheme == Scheme::kAsymmetric) {
      auto z = Napi::Uint8Array::New(env, static_cast<size_t>(L.num_zeros()));
      zeros_ptr = z.Data();
      zeros = Napi::Persistent(static_cast<Napi::Object>(z));
    }
  }
  Napi::Object object(Napi::Env env) {
    Napi::Value z = zeros.IsEmpty() ? env.Null() : static_cast<Napi::Value>(zeros.Value());
    return make_qmatrix(env, L, data.Value().As<Napi::Uint8Array>(), scales.Value().As<Napi::TypedArray>(), z,
                        tensor_scale);
  }
};

Napi::Object options_object(Napi::Value v, const std::string& fn, const char* example) {
  if (!v.IsObject() || v.IsArray() || v.IsFunction() || v.IsTypedArray()) {
    throw_type_error(v.Env(), fn + ": options must be an object like " + example + " (got " + describe(v) + ")");
  }
  return v.As<Napi::Object>();
}

double number_option(Napi::Object o, const char* key, double def, double lo, double hi, const std::string& fn) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  const std::string what = fn + ": options." + key;
  if (!v.IsNumber()) throw_type_error(o.Env(), what + " must be a number (got " + describe(v) + ")");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi)) {
    throw_range_error(o.Env(), what + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "] (got " +
                                   (std::isnan(d) ? std::string("NaN") : std::to_string(d)) + ")");
  }
  return d;
}

bool bool_option(Napi::Object o, const char* key, const std::string& fn) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) throw_type_error(o.Env(), fn + ": options." + key + " must be a boolean (got " + describe(v) + ")");
  return v.As<Napi::Boolean>().Value();
}

// The quantization fields of `o` (those of quantize()), the method's own keys removed.
QuantLayout layout_option(Napi::Object o, int64_t rows, int64_t cols, std::initializer_list<const char*> own,
                          const std::string& fn) {
  Napi::Object q = Napi::Object::New(o.Env());
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string k = keys.Get(i).ToString().Utf8Value();
    bool mine = false;
    for (const char* m : own) mine |= k == m;
    if (!mine) q.Set(k, o.Get(k));
  }
  return parse_quantize_options(q, rows, cols, fn);
}

// ---- accumulateStats ------------------------------------------------------------

struct AccumulateJob : Job {
  Napi::Float32Array batch;
  Napi::Float32Array absmax;
  Napi::Float64Array sum_abs, xtx;
  int64_t n = 0, k = 0;
  AccumulateJob(const Napi::CallbackInfo& info, const std::string& fn) {
    k = to_positive_int(info[1], fn + ": inFeatures");
    batch = to_float32_array(info[0], fn + ": batch");
    n = rows_of(batch, k, fn + ": batch", "inFeatures");
    require_finite(batch, fn + ": batch");
    absmax = to_float32_array(info[2], fn + ": state.absMax");
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      throw_type_error(info.Env(), fn + ": state.sumAbs must be a Float64Array");
    }
    sum_abs = info[3].As<Napi::Float64Array>();
    if (!info[4].IsNull()) {
      if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
        throw_type_error(info.Env(), fn + ": state.xtx must be a Float64Array or null");
      }
      xtx = info[4].As<Napi::Float64Array>();
      if (static_cast<int64_t>(xtx.ElementLength()) != k * k) throw_range_error(info.Env(), fn + ": state.xtx has the wrong length");
    }
    if (static_cast<int64_t>(absmax.ElementLength()) != k || static_cast<int64_t>(sum_abs.ElementLength()) != k) {
      throw_range_error(info.Env(), fn + ": state arrays must have inFeatures entries");
    }
    keep = {batch, absmax, sum_abs};
    if (!xtx.IsEmpty()) keep.push_back(xtx);
  }
  std::string run(std::atomic<int64_t>* progress) override {
    accumulate_stats(batch.Data(), n, k, absmax.Data(), sum_abs.Data(), xtx.IsEmpty() ? nullptr : xtx.Data(),
                     active_kernels(), ThreadPool::global());
    if (progress) progress->store(1);
    return "";
  }
  Napi::Value result(Napi::Env env) override { return Napi::Number::New(env, static_cast<double>(n)); }
};

// ---- gptq -------------------------------------------------------------------------

struct GptqJob : Job {
  Napi::Float32Array w, h;
  QOut out;
  GptqOptions opts;
  GptqResult res;
  GptqJob(const Napi::CallbackInfo& info, const std::string& fn) {
    Napi::Env env = info.Env();
    const int64_t rows = to_positive_int(info[1], fn + ": rows"), cols = to_positive_int(info[2], fn + ": cols");
    check_shape(env, rows, cols, fn);
    if (cols > 65536) throw_range_error(env, fn + ": cols must be at most 65536 (the Hessian is cols x cols)");
    w = matrix_arg(info[0], rows, cols, fn + ": weights");
    h = matrix_arg(info[3], cols, cols, fn + ": hessian");
    Napi::Object o = options_object(info[4], fn, "{ bits: 4, groupSize: 128 }");
    const std::initializer_list<const char*> own = {"damp", "blockSize", "actOrder", "onProgress"};
    QuantLayout L = layout_option(o, rows, cols, own, fn);
    if (L.format != Format::kInt) {
      throw_range_error(env, fn + ": GPTQ produces integer codes; options.format must be 'int' (got '" +
                                 format_name(L.format) + "')");
    }
    if (L.granularity == Granularity::kColumn) {
      throw_range_error(env, fn + ": GPTQ quantizes column by column, so options.granularity 'column' (a scale per "
                                  "column) is not supported; use 'tensor', 'row' or 'group'");
    }
    opts.damp = number_option(o, "damp", 0.01, 0.0, 1e12, fn);
    opts.block = static_cast<int64_t>(number_option(o, "blockSize", 128, 1, 4096, fn));
    opts.act_order = bool_option(o, "actOrder", fn);
    for (int64_t i = 0; i < cols; ++i) {
      if (h.Data()[i * cols + i] < 0.0f) {
        throw_range_error(env, fn + ": hessian[" + std::to_string(i) + ", " + std::to_string(i) + "] is negative; "
                                    "a Hessian proxy 2 X^T X / n has a non-negative diagonal");
      }
    }
    out.allocate(env, L);
    units = gptq_work_units(L, opts);
    keep = {w, h};
  }
  std::string run(std::atomic<int64_t>* progress) override {
    res = gptq_quantize(w.Data(), h.Data(), out.L, opts, out.data_ptr, out.scales_ptr, out.zeros_ptr,
                        active_kernels(), ThreadPool::global(), progress);
    return res.error ? res.error : "";
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("matrix", out.object(env));
    r.Set("lambda", res.lambda);
    r.Set("retries", res.retries);
    return r;
  }
};

// ---- awq --------------------------------------------------------------------------

struct AwqJob : Job {
  Napi::Float32Array w, x;
  int64_t n = 0;
  QOut out;
  Napi::Reference<Napi::Float32Array> s;
  float* s_ptr = nullptr;
  AwqOptions opts;
  AwqResult res;
  AwqJob(const Napi::CallbackInfo& info, const std::string& fn) {
    Napi::Env env = info.Env();
    const int64_t rows = to_positive_int(info[1], fn + ": rows"), cols = to_positive_int(info[2], fn + ": cols");
    check_shape(env, rows, cols, fn);
    w = matrix_arg(info[0], rows, cols, fn + ": weights");
    x = to_float32_array(info[3], fn + ": activations");
    n = rows_of(x, cols, fn + ": activations", "cols");
    require_finite(x, fn + ": activations");
    Napi::Object o = options_object(info[4], fn, "{ bits: 4, groupSize: 128 }");
    QuantLayout L = layout_option(o, rows, cols, {"grid", "clipSearch", "onProgress"}, fn);
    opts.grid = static_cast<int>(number_option(o, "grid", 20, 1, 1000, fn));
    opts.clip_search = bool_option(o, "clipSearch", fn);
    if (opts.clip_search && (L.format != Format::kInt || (L.granularity != Granularity::kGroup &&
                                                          L.granularity != Granularity::kRow))) {
      throw_range_error(env, fn + ": options.clipSearch needs format 'int' with granularity 'group' or 'row'");
    }
    out.allocate(env, L);
    auto sa = Napi::Float32Array::New(env, static_cast<size_t>(cols));
    s_ptr = sa.Data();
    s = Napi::Persistent(sa);
    units = opts.grid + 1;
    keep = {w, x};
  }
  std::string run(std::atomic<int64_t>* progress) override {
    res = awq_quantize(w.Data(), x.Data(), n, out.L, opts, out.data_ptr, out.scales_ptr, out.zeros_ptr,
                       &out.tensor_scale, s_ptr, active_kernels(), ThreadPool::global(), progress);
    return res.error ? res.error : "";
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("matrix", out.object(env));
    r.Set("inputScales", s.Value());
    r.Set("alpha", res.alpha);
    auto errs = Napi::Float64Array::New(env, res.errors.size());
    for (size_t i = 0; i < res.errors.size(); ++i) errs[i] = res.errors[i];
    r.Set("gridErrors", errs);
    return r;
  }
};

// ---- sync and async runners -----------------------------------------------------------

template <typename J>
Napi::Value run_sync(const Napi::CallbackInfo& info, const char* fn) {
  J job(info, fn);
  const std::string err = job.run(nullptr);
  if (!err.empty()) throw_range_error(info.Env(), std::string(fn) + ": " + err);
  return job.result(info.Env());
}

// Runs a job on a libuv worker; its computation runs on a helper thread so this one can
// report progress (fraction of units done) to options.onProgress about every 50 ms.
class CalibWorker : public Napi::AsyncProgressWorker<double> {
 public:
  CalibWorker(Napi::Env env, const char* fn, std::unique_ptr<Job> job, Napi::Value on_progress)
      : Napi::AsyncProgressWorker<double>(env, fn), fn_(fn), job_(std::move(job)),
        deferred_(Napi::Promise::Deferred::New(env)) {
    for (Napi::Value v : job_->keep) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    if (on_progress.IsFunction()) progress_fn_ = Napi::Persistent(on_progress.As<Napi::Function>());
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& p) override {
    std::atomic<int64_t> done{0};
    std::atomic<bool> finished{false};
    std::string err;
    std::thread t([&] {
      err = job_->run(&done);
      finished = true;
    });
    double last = -1.0;
    while (!finished) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const double f = std::min(1.0, static_cast<double>(done.load()) / static_cast<double>(job_->units));
      if (!progress_fn_.IsEmpty() && f != last) {
        p.Send(&f, 1);
        last = f;
      }
    }
    t.join();
    if (!err.empty()) SetError(fn_ + ": " + err);
  }
  void OnProgress(const double* data, size_t count) override {
    if (count == 0 || progress_fn_.IsEmpty()) return;
    Napi::HandleScope scope(Env());
    progress_fn_.Call({Napi::Number::New(Env(), data[count - 1])});
  }
  void OnOK() override { deferred_.Resolve(job_->result(Env())); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(Napi::RangeError::New(Env(), e.Message()).Value()); }

 private:
  std::string fn_;
  std::unique_ptr<Job> job_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
  Napi::FunctionReference progress_fn_;
};

template <typename J>
Napi::Value run_async(const Napi::CallbackInfo& info, const char* fn, int options_index) {
  auto job = std::make_unique<J>(info, fn);
  Napi::Value on_progress = info.Env().Undefined();
  if (options_index >= 0 && info[options_index].IsObject()) {
    on_progress = info[options_index].As<Napi::Object>().Get("onProgress");
    if (!on_progress.IsUndefined() && !on_progress.IsFunction()) {
      throw_type_error(info.Env(), std::string(fn) + ": options.onProgress must be a function (got " +
                                       describe(on_progress) + ")");
    }
  }
  auto* worker = new CalibWorker(info.Env(), fn, std::move(job), on_progress);
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

// ---- the quick ones ---------------------------------------------------------------------

Napi::Value SmoothQuant(const Napi::CallbackInfo& info) {
  const std::string fn = "smoothQuant";
  Napi::Env env = info.Env();
  const int64_t rows = to_positive_int(info[1], fn + ": rows"), cols = to_positive_int(info[2], fn + ": cols");
  check_shape(env, rows, cols, fn);
  auto w = matrix_arg(info[0], rows, cols, fn + ": weights");
  auto a = matrix_arg(info[3], 1, cols, fn + ": activationAbsMax");
  for (int64_t c = 0; c < cols; ++c) {
    if (a.Data()[c] < 0.0f) throw_range_error(env, fn + ": activationAbsMax[" + std::to_string(c) + "] is negative");
  }
  double alpha = 0.5;
  if (!info[4].IsUndefined()) {
    if (!info[4].IsNumber()) throw_type_error(env, fn + ": alpha must be a number (got " + describe(info[4]) + ")");
    alpha = info[4].As<Napi::Number>().DoubleValue();
    if (!(alpha >= 0.0 && alpha <= 1.0)) throw_range_error(env, fn + ": alpha must be in [0, 1]");
  }
  auto wo = Napi::Float32Array::New(env, static_cast<size_t>(rows * cols));
  auto so = Napi::Float32Array::New(env, static_cast<size_t>(cols));
  smooth_quant(w.Data(), rows, cols, a.Data(), alpha, wo.Data(), so.Data(), ThreadPool::global());
  Napi::Object r = Napi::Object::New(env);
  r.Set("weights", wo);
  r.Set("factors", so);
  return r;
}

Napi::Value Rotate(const Napi::CallbackInfo& info) {
  const std::string fn = "rotate";
  Napi::Env env = info.Env();
  const int64_t rows = to_positive_int(info[1], fn + ": rows"), cols = to_positive_int(info[2], fn + ": cols");
  check_shape(env, rows, cols, fn);
  auto m = matrix_arg(info[0], rows, cols, fn + ": matrix");
  double seed = 0;
  if (!info[3].IsUndefined()) {
    if (!info[3].IsNumber()) throw_type_error(env, fn + ": seed must be a number (got " + describe(info[3]) + ")");
    seed = info[3].As<Napi::Number>().DoubleValue();
    if (!(seed >= 0 && seed <= 9007199254740991.0 && seed == std::floor(seed))) {
      throw_range_error(env, fn + ": seed must be a non-negative safe integer");
    }
  }
  const HadamardPlan plan = plan_hadamard(cols);
  auto out = Napi::Float32Array::New(env, static_cast<size_t>(rows * cols));
  std::copy(m.Data(), m.Data() + rows * cols, out.Data());
  rotate_rows(out.Data(), rows, plan, static_cast<uint64_t>(seed), active_kernels(), ThreadPool::global());
  Napi::Object r = Napi::Object::New(env);
  r.Set("data", out);
  r.Set("kind", plan.describe());
  return r;
}

Napi::Value SteBackward(const Napi::CallbackInfo& info) {
  const std::string fn = "fakeQuantizeBackward";
  Napi::Env env = info.Env();
  QMatrixView q = parse_qmatrix(info[1], fn + ": q");
  if (q.layout.format != Format::kInt) {
    throw_range_error(env, fn + ": q.format must be 'int' (got '" + std::string(format_name(q.layout.format)) + "')");
  }
  auto w = matrix_arg(info[0], q.layout.rows, q.layout.cols, fn + ": weights");
  auto g = matrix_arg(info[2], q.layout.rows, q.layout.cols, fn + ": grad");
  auto out = Napi::Float32Array::New(env, g.ElementLength());
  ste_backward(w.Data(), q, g.Data(), out.Data(), ThreadPool::global());
  return out;
}

}  // namespace

void register_calibrate(Napi::Env env, Napi::Object exports) {
  exports.Set("accumulateStats", Napi::Function::New(env, [](const Napi::CallbackInfo& i) {
    return run_sync<AccumulateJob>(i, "CalibrationStats.add");
  }));
  exports.Set("accumulateStatsAsync", Napi::Function::New(env, [](const Napi::CallbackInfo& i) {
    return run_async<AccumulateJob>(i, "CalibrationStats.addAsync", -1);
  }));
  exports.Set("gptq", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return run_sync<GptqJob>(i, "gptq"); }));
  exports.Set("gptqAsync", Napi::Function::New(env, [](const Napi::CallbackInfo& i) {
    return run_async<GptqJob>(i, "gptqAsync", 4);
  }));
  exports.Set("awq", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return run_sync<AwqJob>(i, "awq"); }));
  exports.Set("awqAsync", Napi::Function::New(env, [](const Napi::CallbackInfo& i) {
    return run_async<AwqJob>(i, "awqAsync", 4);
  }));
  exports.Set("smoothQuant", Napi::Function::New(env, SmoothQuant, "smoothQuant"));
  exports.Set("rotate", Napi::Function::New(env, Rotate, "rotate"));
  exports.Set("fakeQuantizeBackward", Napi::Function::New(env, SteBackward, "fakeQuantizeBackward"));
}

}  // namespace lowbit::napi
