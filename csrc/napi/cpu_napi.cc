// cpuInfo / setIsa / setThreads / probe bindings.
#include <memory>

#include "../runtime/cpu_features.h"
#include "../runtime/dispatch.h"
#include "../runtime/probe.h"
#include "../runtime/thread_pool.h"
#include "args.h"
#include "async_call.h"
#include "bindings.h"

namespace lowbit::napi {
namespace {

Napi::Array string_array(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::String::New(env, v[i]));
  return a;
}

Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("arch", cpu_features().arch);
  o.Set("features", string_array(env, cpu_features().names()));
  o.Set("isa", active_kernels().name);
  o.Set("isas", string_array(env, supported_isas()));
  o.Set("threads", ThreadPool::global().threads());
  return o;
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw_type_error(info.Env(), "setIsa: name must be a string (got " + describe(info[0]) + ")");
  std::string err = select_isa(info[0].As<Napi::String>().Utf8Value());
  if (!err.empty()) throw_range_error(info.Env(), "setIsa: " + err);
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int64_t n = to_positive_int(info[0], "setThreads: n");
  if (n > 1024) throw_range_error(info.Env(), "setThreads: n must be at most 1024 (got " + std::to_string(n) + ")");
  Napi::Value opts = info[1];
  int spin = -1;
  if (!opts.IsUndefined()) {
    if (!opts.IsObject() || opts.IsArray() || opts.IsTypedArray()) {
      throw_type_error(info.Env(), "setThreads: options must be an object like { spinMicroseconds: 0 } (got " +
                                       describe(opts) + ")");
    }
    Napi::Object o = opts.As<Napi::Object>();
    reject_unknown_keys(o, {"spinMicroseconds"}, "setThreads");
    Napi::Value s = o.Get("spinMicroseconds");
    if (!s.IsUndefined()) {
      if (!s.IsNumber()) {
        throw_type_error(info.Env(), "setThreads: options.spinMicroseconds must be a number (got " + describe(s) + ")");
      }
      const double v = s.As<Napi::Number>().DoubleValue();
      if (!(v >= 0 && v <= 1e6) || v != static_cast<double>(static_cast<int>(v))) {
        throw_range_error(info.Env(), "setThreads: options.spinMicroseconds must be an integer from 0 to 1000000 (got " +
                                          std::to_string(v) + ")");
      }
      spin = static_cast<int>(v);
    }
  }
  if (spin >= 0) ThreadPool::global().set_spin_us(spin);
  ThreadPool::global().set_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

// probe('bandwidth', bytes?) -> GB/s; probe('fma') -> GFLOP/s; probe('dot') -> GOP/s.
class ProbeJob : public AsyncJob {
 public:
  ProbeJob(const Napi::CallbackInfo& info, const std::string& fn) {
    kind_ = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (kind_ != "bandwidth" && kind_ != "fma" && kind_ != "dot") {
      throw_range_error(info.Env(), fn + ": kind must be 'bandwidth', 'fma' or 'dot' (got " + describe(info[0]) + ")");
    }
    if (kind_ == "bandwidth" && !info[1].IsUndefined()) {
      bytes_ = to_positive_int(info[1], fn + ": bytes");
      if (bytes_ > (int64_t{1} << 40)) throw_range_error(info.Env(), fn + ": bytes must be at most 2^40");
    }
  }
  std::string execute(Work& work) override {
    const KernelTable& kt = active_kernels();
    ThreadPool& pool = ThreadPool::global();
    constexpr int kReps = 5;
    if (kind_ == "bandwidth") result_ = probe_read_bandwidth(kt, pool, bytes_, kReps, &work);
    else if (kind_ == "fma") result_ = probe_fma_peak(kt, pool, kReps, &work);
    else result_ = probe_dot_peak(kt, pool, kReps, &work);
    return "";
  }
  Napi::Value settle(Napi::Env env) override { return Napi::Number::New(env, result_); }

 private:
  std::string kind_;
  int64_t bytes_ = int64_t{1} << 30;
  double result_ = 0.0;
};

Napi::Value Probe(const Napi::CallbackInfo& info) { return run_sync<ProbeJob>(info, "probe"); }

Napi::Value ProbeAsync(const Napi::CallbackInfo& info) {
  return queue_async(info.Env(), "lowbit.probe", std::make_unique<ProbeJob>(info, "probeAsync"));
}

}  // namespace

void register_cpu(Napi::Env env, Napi::Object exports) {
  std::string err = init_dispatch_from_env();
  if (!err.empty()) throw_range_error(env, "lowbit: " + err);
  exports.Set("cpuInfo", Napi::Function::New(env, CpuInfo, "cpuInfo"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("probeAsync", Napi::Function::New(env, ProbeAsync, "probeAsync"));
}

}  // namespace lowbit::napi
