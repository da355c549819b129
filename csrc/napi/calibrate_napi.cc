// Calibration bindings: statistics accumulation, SmoothQuant, AWQ, GPTQ, Hadamard
// rotation and the fake-quantization STE. The long ones (accumulation, AWQ, GPTQ)
// have async variants (async_call.h) that report progress and can be cancelled.
#include <cmath>
#include <memory>
#include <vector>

#include "../calibrate/awq.h"
#include "../calibrate/calibrate.h"
#include "../calibrate/gptq.h"
#include "../calibrate/hadamard.h"
#include "../core/formats.h"
#include "../formats/quantize.h"
#include "../runtime/dispatch.h"
#include "args.h"
#include "async_call.h"
#include "bindings.h"
#include "qmatrix_napi.h"

namespace lowbit::napi {
namespace {

using Access = PinnedArray::Access;

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

// The sync entry point of a job: the same validation and work, on the calling thread.

template <typename J>
Napi::Value run_async(const Napi::CallbackInfo& info, const char* fn) {
  return queue_async(info.Env(), fn, std::make_unique<J>(info, fn, true));
}

// ---- accumulateStats ------------------------------------------------------------

// The state arrays are lowbit's own memory (lib/calibrate/calibrate.ts allocates them natively), so an async
// call updates them in place; arrays from elsewhere are updated through a scratch copy.
class AccumulateJob : public AsyncJob {
 public:
  AccumulateJob(const Napi::CallbackInfo& info, const std::string& fn, bool async) {
    Napi::Env env = info.Env();
    k_ = to_positive_int(info[1], fn + ": inFeatures");
    Napi::Float32Array batch = to_float32_array(info[0], fn + ": batch");
    n_ = rows_of(batch, k_, fn + ": batch", "inFeatures");
    require_finite(batch, fn + ": batch");
    Napi::Float32Array absmax = to_float32_array(info[2], fn + ": state.absMax");
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      throw_type_error(env, fn + ": state.sumAbs must be a Float64Array");
    }
    Napi::TypedArray sum_abs = info[3].As<Napi::TypedArray>();
    Napi::TypedArray xtx;
    if (!info[4].IsNull()) {
      if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
        throw_type_error(env, fn + ": state.xtx must be a Float64Array or null");
      }
      xtx = info[4].As<Napi::TypedArray>();
      if (static_cast<int64_t>(xtx.ElementLength()) != k_ * k_) throw_range_error(env, fn + ": state.xtx has the wrong length");
    }
    if (static_cast<int64_t>(absmax.ElementLength()) != k_ || static_cast<int64_t>(sum_abs.ElementLength()) != k_) {
      throw_range_error(env, fn + ": state arrays must have inFeatures entries");
    }
    const size_t k = static_cast<size_t>(k_);
    batch_ = PinnedArray(batch, static_cast<size_t>(n_) * k * 4, Access::kRead, async, fn + ": batch");
    absmax_ = PinnedArray(absmax, k * 4, Access::kReadWrite, async, fn + ": state.absMax");
    sum_abs_ = PinnedArray(sum_abs, k * 8, Access::kReadWrite, async, fn + ": state.sumAbs");
    if (!xtx.IsEmpty()) xtx_ = PinnedArray(xtx, k * k * 8, Access::kReadWrite, async, fn + ": state.xtx");
  }
  std::string execute(Work&) override {
    accumulate_stats(batch_.as<const float>(), n_, k_, absmax_.as<float>(), sum_abs_.as<double>(),
                     xtx_.as<double>(), active_kernels(), ThreadPool::global());
    return "";
  }
  Napi::Value settle(Napi::Env env) override {
    absmax_.commit(env);
    sum_abs_.commit(env);
    xtx_.commit(env);
    return Napi::Number::New(env, static_cast<double>(n_));
  }

 private:
  int64_t n_ = 0, k_ = 0;
  PinnedArray batch_, absmax_, sum_abs_, xtx_;
};

// ---- gptq -------------------------------------------------------------------------

class GptqJob : public AsyncJob {
 public:
  GptqJob(const Napi::CallbackInfo& info, const std::string& fn, bool async) : fn_(fn) {
    Napi::Env env = info.Env();
    const int64_t rows = to_positive_int(info[1], fn + ": rows"), cols = to_positive_int(info[2], fn + ": cols");
    check_shape(env, rows, cols, fn);
    if (cols > 65536) throw_range_error(env, fn + ": cols must be at most 65536 (the Hessian is cols x cols)");
    Napi::Float32Array w = matrix_arg(info[0], rows, cols, fn + ": weights");
    Napi::Float32Array h = matrix_arg(info[3], cols, cols, fn + ": hessian");
    Napi::Object o = options_object(info[4], fn, "{ bits: 4, groupSize: 128 }");
    QuantLayout L = layout_option(o, rows, cols, {"damp", "blockSize", "actOrder"}, fn);
    if (L.format != Format::kInt) {
      throw_range_error(env, fn + ": GPTQ produces integer codes; options.format must be 'int' (got '" +
                                 format_name(L.format) + "')");
    }
    if (L.granularity == Granularity::kColumn) {
      throw_range_error(env, fn + ": GPTQ quantizes column by column, so options.granularity 'column' (a scale per "
                                  "column) is not supported; use 'tensor', 'row' or 'group'");
    }
    opts_.damp = number_option(o, "damp", 0.01, 0.0, 1e12, fn);
    opts_.block = static_cast<int64_t>(number_option(o, "blockSize", 128, 1, 4096, fn));
    opts_.act_order = bool_option(o, "actOrder", fn);
    w_ = PinnedArray(w, static_cast<size_t>(rows * cols) * 4, Access::kRead, async, fn + ": weights");
    h_ = PinnedArray(h, static_cast<size_t>(cols * cols) * 4, Access::kRead, async, fn + ": hessian");
    const float* hp = h_.as<const float>();
    for (int64_t i = 0; i < cols; ++i) {
      if (hp[i * cols + i] < 0.0f) {
        throw_range_error(env, fn + ": hessian[" + std::to_string(i) + ", " + std::to_string(i) + "] is negative; "
                                    "a Hessian proxy 2 X^T X / n has a non-negative diagonal");
      }
    }
    out_ = QMatrixOut(env, L);
  }
  std::string execute(Work& work) override {
    res_ = gptq_quantize(w_.as<const float>(), h_.as<const float>(), out_.layout(), opts_, out_.data(), out_.scales(),
                         out_.zeros(), active_kernels(), ThreadPool::global(), &work);
    return res_.error ? fn_ + ": " + res_.error : "";
  }
  Napi::Value settle(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("matrix", out_.object(env));
    r.Set("lambda", res_.lambda);
    r.Set("retries", res_.retries);
    return r;
  }

 private:
  std::string fn_;
  PinnedArray w_, h_;
  QMatrixOut out_;
  GptqOptions opts_;
  GptqResult res_;
};

// ---- awq --------------------------------------------------------------------------

class AwqJob : public AsyncJob {
 public:
  AwqJob(const Napi::CallbackInfo& info, const std::string& fn, bool async) : fn_(fn) {
    Napi::Env env = info.Env();
    const int64_t rows = to_positive_int(info[1], fn + ": rows"), cols = to_positive_int(info[2], fn + ": cols");
    check_shape(env, rows, cols, fn);
    Napi::Float32Array w = matrix_arg(info[0], rows, cols, fn + ": weights");
    Napi::Float32Array x = to_float32_array(info[3], fn + ": activations");
    n_ = rows_of(x, cols, fn + ": activations", "cols");
    require_finite(x, fn + ": activations");
    Napi::Object o = options_object(info[4], fn, "{ bits: 4, groupSize: 128 }");
    QuantLayout L = layout_option(o, rows, cols, {"grid", "clipSearch"}, fn);
    opts_.grid = static_cast<int>(number_option(o, "grid", 20, 1, 1000, fn));
    opts_.clip_search = bool_option(o, "clipSearch", fn);
    if (opts_.clip_search && (L.format != Format::kInt || (L.granularity != Granularity::kGroup &&
                                                           L.granularity != Granularity::kRow))) {
      throw_range_error(env, fn + ": options.clipSearch needs format 'int' with granularity 'group' or 'row'");
    }
    w_ = PinnedArray(w, static_cast<size_t>(rows * cols) * 4, Access::kRead, async, fn + ": weights");
    x_ = PinnedArray(x, static_cast<size_t>(n_ * cols) * 4, Access::kRead, async, fn + ": activations");
    out_ = QMatrixOut(env, L);
    Napi::TypedArray s = owned_array(env, napi_float32_array, static_cast<size_t>(cols));
    s_ptr_ = reinterpret_cast<float*>(array_bytes(s).data);
    s_ = Napi::Persistent(s);
  }
  std::string execute(Work& work) override {
    res_ = awq_quantize(w_.as<const float>(), x_.as<const float>(), n_, out_.layout(), opts_, out_.data(),
                        out_.scales(), out_.zeros(), &out_.tensor_scale, s_ptr_, active_kernels(), ThreadPool::global(),
                        &work);
    return res_.error ? fn_ + ": " + res_.error : "";
  }
  Napi::Value settle(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("matrix", out_.object(env));
    r.Set("inputScales", s_.Value());
    r.Set("alpha", res_.alpha);
    auto errs = Napi::Float64Array::New(env, res_.errors.size());
    for (size_t i = 0; i < res_.errors.size(); ++i) errs[i] = res_.errors[i];
    r.Set("gridErrors", errs);
    return r;
  }

 private:
  std::string fn_;
  int64_t n_ = 0;
  PinnedArray w_, x_;
  QMatrixOut out_;
  Napi::Reference<Napi::TypedArray> s_;
  float* s_ptr_ = nullptr;
  AwqOptions opts_;
  AwqResult res_;
};

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
  QMatrixView q = parse_qmatrix(info[1], fn + ": q").view;
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
    return run_sync<AccumulateJob>(i, "CalibrationStats.add", false);
  }));
  exports.Set("accumulateStatsAsync", Napi::Function::New(env, [](const Napi::CallbackInfo& i) {
    return run_async<AccumulateJob>(i, "CalibrationStats.addAsync");
  }));
  exports.Set("gptq", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return run_sync<GptqJob>(i, "gptq", false); }));
  exports.Set("gptqAsync", Napi::Function::New(env, [](const Napi::CallbackInfo& i) {
    return run_async<GptqJob>(i, "gptqAsync");
  }));
  exports.Set("awq", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { return run_sync<AwqJob>(i, "awq", false); }));
  exports.Set("awqAsync", Napi::Function::New(env, [](const Napi::CallbackInfo& i) {
    return run_async<AwqJob>(i, "awqAsync");
  }));
  exports.Set("smoothQuant", Napi::Function::New(env, SmoothQuant, "smoothQuant"));
  exports.Set("rotate", Napi::Function::New(env, Rotate, "rotate"));
  exports.Set("fakeQuantizeBackward", Napi::Function::New(env, SteBackward, "fakeQuantizeBackward"));
}

}  // namespace lowbit::napi
